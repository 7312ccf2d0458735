//! The controllers in-process for one test namespace: source-controller
//! (artifact store, HTTP and gRPC servers, GitRepository loop) and
//! kustomize-controller wired to its gRPC stream.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use weir_api::kustomize::v1::Kustomization;
use weir_runtime::events::EventRecorder;
use weir_runtime::metrics::Metrics;
use weir_source_controller::LocalSourceController;
use weir_test_support::TestNamespace;

pub const WAIT: Duration = Duration::from_secs(60);

pub struct Controllers {
    _source: LocalSourceController,
    kustomize: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Drop for Controllers {
    fn drop(&mut self) {
        self.kustomize.abort();
    }
}

pub async fn start(ns: &TestNamespace) -> Controllers {
    start_with(ns, None, |_| {}).await
}

/// [`start`] with kustomize-controller's events also POSTed to
/// `events_addr` and its configuration adjusted by `tune`.
pub async fn start_with(
    ns: &TestNamespace,
    events_addr: Option<&str>,
    tune: impl FnOnce(&mut weir_kustomize_controller::kustomization::Config),
) -> Controllers {
    let client = ns.client().clone();
    let source = LocalSourceController::start(client.clone(), ns.name(), None)
        .await
        .unwrap();
    let mut config = weir_kustomize_controller::kustomization::Config {
        namespace: Some(ns.name().to_owned()),
        concurrency: 4,
        no_cross_namespace_refs: false,
        requeue_dependency: Duration::from_secs(1),
        artifact_stream_addr: Some(source.grpc_url()),
        min_retry_delay: Duration::from_millis(500),
        max_retry_delay: Duration::from_secs(4),
        default_service_account: None,
    };
    tune(&mut config);
    let clients = weir_runtime::client::ClientFactory::new(
        weir_test_support::config().await.unwrap(),
        client.clone(),
        false,
        false,
    );
    let ks_ctx = weir_kustomize_controller::kustomization::Context::new(
        clients,
        EventRecorder::new(client.clone(), "kustomize-controller", events_addr),
        Arc::new(Metrics::new("kustomize-controller")),
        config,
    )
    .unwrap();
    Controllers {
        _source: source,
        kustomize: tokio::spawn(weir_kustomize_controller::kustomization::run(ks_ctx)),
    }
}

pub async fn create<K>(api: &Api<K>, doc: serde_json::Value) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    api.create(
        &PostParams::default(),
        &serde_json::from_value(doc).unwrap(),
    )
    .await
    .unwrap()
}

pub async fn git_repository(ns: &TestNamespace, name: &str, url: &str) {
    let api: Api<DynamicObject> = Api::namespaced_with(
        ns.client().clone(),
        ns.name(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk(
            "source.toolkit.fluxcd.io",
            "v1",
            "GitRepository",
        )),
    );
    let obj: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": name, "namespace": ns.name()},
        "spec": {"url": url, "interval": "1s", "ref": {"branch": "main"}},
    }))
    .unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
}

pub async fn kustomization(ns: &TestNamespace, name: &str, spec: serde_json::Value) {
    let api = ns.api::<Kustomization>();
    create(
        &api,
        serde_json::json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": ns.name()},
            "spec": spec,
        }),
    )
    .await;
}

pub fn ready(ks: &Kustomization) -> Option<(String, String, String)> {
    let c = ks
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

pub async fn wait_ks(
    api: &Api<Kustomization>,
    name: &str,
    check: impl Fn(&Kustomization) -> bool,
) -> Kustomization {
    let deadline = Instant::now() + WAIT;
    loop {
        let ks = api.get(name).await.unwrap();
        if check(&ks) {
            return ks;
        }
        assert!(
            Instant::now() < deadline,
            "timed out on Kustomization {name}: {:#?}",
            ks.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Ready=False with this reason. Waiting for any False is racy: an object
/// passes through other failure reasons (ArtifactFailed while its source has
/// no artifact yet) on the way to the one a test is about.
pub fn failed_with(reason: &'static str) -> impl Fn(&Kustomization) -> bool {
    move |ks| ready(ks).is_some_and(|(s, r, _)| s == "False" && r == reason)
}

pub fn applied(rev: String) -> impl Fn(&Kustomization) -> bool {
    move |ks| {
        ready(ks).is_some_and(|(s, _, _)| s == "True")
            && ks
                .status
                .as_ref()
                .and_then(|s| s.last_applied_revision.as_deref())
                == Some(rev.as_str())
    }
}

/// Runs the real kubectl (built with the local control plane) against it;
/// returns stdout, panics with stderr on failure.
pub fn kubectl(args: &[&str]) -> String {
    kubectl_with_input(args, None)
}

pub fn kubectl_with_input(args: &[&str], input: Option<&str>) -> String {
    use std::io::Write as _;
    let mut command = weir_test_support::cluster::kubectl_command().unwrap();
    command
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    if let Some(input) = input {
        stdin.write_all(input.as_bytes()).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
