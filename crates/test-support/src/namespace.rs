//! A namespace of a test's own, deleted when the test ends.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};

/// Label put on every test namespace, so leftovers of killed runs can be found.
pub const TEST_LABEL: &str = "weir.test/namespace";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A namespace created for one test. Dropping it deletes the namespace
/// (and so everything in it); keep it alive for the whole test.
pub struct TestNamespace {
    name: String,
    client: kube::Client,
}

impl TestNamespace {
    /// Creates `<prefix>-<unique suffix>`.
    pub async fn new(client: &kube::Client, prefix: &str) -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let suffix = format!(
            "{:x}{:x}{:x}",
            std::process::id() & 0xffff,
            COUNTER.fetch_add(1, Ordering::Relaxed),
            nanos & 0xfffff
        );
        let prefix: String = prefix
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .take(40)
            .collect();
        let name = format!("{}-{suffix}", prefix.trim_matches('-'));
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(BTreeMap::from([(TEST_LABEL.to_owned(), "true".to_owned())])),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .with_context(|| format!("creating test namespace {name}"))?;
        Ok(TestNamespace {
            name,
            client: client.clone(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// A namespaced API handle for this namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // Drop cannot await: delete from a short-lived thread with its own
        // runtime and its own client (the test's client is driven by the
        // test's runtime, which this thread blocks), and wait for the API
        // call, not for the namespace to finish terminating.
        let name = std::mem::take(&mut self.name);
        let handle = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let client = weir_runtime::client::client_from_kubeconfig(
                    &crate::cluster::kubeconfig_path(),
                )
                .await
                .ok()?;
                Api::<Namespace>::all(client)
                    .delete(&name, &DeleteParams::background())
                    .await
                    .ok()
            })
        });
        let _ = handle.join();
    }
}
