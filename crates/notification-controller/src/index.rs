//! In-memory copies of the Alerts, Providers and Receivers, kept current by
//! watches, so the event and receiver servers never call the API server to
//! find them.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Resource, ResourceExt as _};
use serde::de::DeserializeOwned;
use weir_api::notification::v1::Receiver;
use weir_api::notification::v1beta3::{Alert, Provider};

/// The watched objects, shared by the servers. Cheap to clone.
#[derive(Clone)]
pub struct Index {
    pub alerts: Store<Alert>,
    pub providers: Store<Provider>,
    pub receivers: Store<Receiver>,
    _watches: Arc<Watches>,
}

/// The watch tasks, stopped when the last clone of the index is dropped.
struct Watches(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Watches {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

impl Index {
    /// Starts the watches (in `namespace`, or everywhere) in the background.
    pub fn start(client: &kube::Client, namespace: Option<&str>) -> Self {
        let (alerts, a) = reflect::<Alert>(client, namespace);
        let (providers, p) = reflect::<Provider>(client, namespace);
        let (receivers, r) = reflect::<Receiver>(client, namespace);
        Self {
            alerts,
            providers,
            receivers,
            _watches: Arc::new(Watches(vec![a, p, r])),
        }
    }

    /// Waits for the first complete list of every kind.
    pub async fn ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let all = async {
            self.alerts.wait_until_ready().await?;
            self.providers.wait_until_ready().await?;
            self.receivers.wait_until_ready().await
        };
        match tokio::time::timeout(timeout, all).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow::anyhow!("watching notification objects: {e}")),
            Err(_) => Err(anyhow::anyhow!(
                "the Alert, Provider and Receiver watches did not list within {timeout:?}"
            )),
        }
    }

    pub fn provider(&self, namespace: &str, name: &str) -> Option<Arc<Provider>> {
        self.providers.get(&ObjectRef::new(name).within(namespace))
    }

    /// The Receiver whose `status.webhookPath` is `path`.
    pub fn receiver_for_path(&self, path: &str) -> Option<Arc<Receiver>> {
        self.receivers.find(|r| {
            r.status
                .as_ref()
                .and_then(|s| s.webhook_path.as_deref())
                .is_some_and(|p| p == path)
        })
    }
}

fn reflect<K>(
    client: &kube::Client,
    namespace: Option<&str>,
) -> (Store<K>, tokio::task::JoinHandle<()>)
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
    K::DynamicType: Eq + Hash + Clone + Default,
{
    let api = weir_runtime::controller::api_for::<K>(client.clone(), namespace);
    let (reader, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default().any_semantic())
        .default_backoff()
        .modify(|obj| obj.managed_fields_mut().clear())
        .reflect(writer)
        .touched_objects();
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            if let Err(e) = item {
                tracing::warn!(kind = %K::kind(&Default::default()), "watch error: {e}");
            }
        }
    });
    (reader, task)
}
