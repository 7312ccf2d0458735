//! Runs the GitRepository controller in-process against the local control
//! plane, scoped to one test namespace, with its own store and servers.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use weir_api::source::v1::GitRepository;
use weir_runtime::events::EventRecorder;
use weir_runtime::metrics::Metrics;
use weir_source_controller::artifact_hub::ArtifactHub;
use weir_source_controller::gitrepository::{self, Config};
use weir_test_support::TestNamespace;

pub struct Controller {
    pub storage_dir: std::sync::Arc<tempfile::TempDir>,
    pub storage: weir_artifact::Storage,
    pub hub: Arc<ArtifactHub>,
    pub metrics: Arc<Metrics>,
    pub grpc_addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub struct Settings {
    pub max_file_size: u64,
    pub retention_records: usize,
    pub retention_ttl: Duration,
    /// Flux's `--events-addr`.
    pub events_addr: Option<String>,
    /// Reuse another controller's storage (a restart).
    pub storage_dir: Option<std::sync::Arc<tempfile::TempDir>>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_file_size: 1024 * 1024,
            retention_records: 2,
            retention_ttl: Duration::from_secs(3600),
            events_addr: None,
            storage_dir: None,
        }
    }
}

pub async fn start(ns: &TestNamespace, settings: Settings) -> Controller {
    let storage_dir = settings
        .storage_dir
        .clone()
        .unwrap_or_else(|| std::sync::Arc::new(tempfile::tempdir().unwrap()));
    let servers = weir_source_controller::start_servers(
        storage_dir.path(),
        "127.0.0.1:0".parse().unwrap(),
        "",
        "127.0.0.1:0".parse().unwrap(),
        settings.retention_ttl,
        settings.retention_records,
    )
    .await
    .unwrap();
    let metrics = Arc::new(Metrics::new("source-controller"));
    let recorder = EventRecorder::new(
        ns.client().clone(),
        "source-controller",
        settings.events_addr.as_deref(),
    );
    let ctx = gitrepository::Context::new(
        ns.client().clone(),
        servers.storage.clone(),
        servers.hub.clone(),
        recorder,
        metrics.clone(),
        Config {
            namespace: Some(ns.name().to_owned()),
            concurrency: 4,
            max_file_size: settings.max_file_size,
            min_retry_delay: Duration::from_millis(500),
            max_retry_delay: Duration::from_secs(4),
        },
    );
    let task = tokio::spawn(gitrepository::run(ctx));
    Controller {
        storage_dir,
        storage: servers.storage,
        hub: servers.hub,
        metrics,
        grpc_addr: servers.grpc_addr,
        task,
    }
}

/// A GitRepository from YAML-ish JSON, created in the namespace.
pub async fn create(ns: &TestNamespace, name: &str, spec: serde_json::Value) -> GitRepository {
    let repo: GitRepository = serde_json::from_value(serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": { "name": name, "namespace": ns.name() },
        "spec": spec,
    }))
    .unwrap();
    ns.api::<GitRepository>()
        .create(&PostParams::default(), &repo)
        .await
        .unwrap()
}

pub async fn secret(ns: &TestNamespace, name: &str, data: &[(&str, &str)]) {
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": { "name": name, "namespace": ns.name() },
        "stringData": data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<std::collections::BTreeMap<_, _>>(),
    }))
    .unwrap();
    ns.api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
}

/// Polls until `check` accepts the object, or fails with its last state.
pub async fn wait_for(
    api: &Api<GitRepository>,
    name: &str,
    timeout: Duration,
    check: impl Fn(&GitRepository) -> bool,
) -> GitRepository {
    let deadline = Instant::now() + timeout;
    loop {
        let obj = api.get(name).await.unwrap();
        if check(&obj) {
            return obj;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for GitRepository {name}; status: {:#?}",
                obj.status
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn ready(obj: &GitRepository) -> Option<(String, String, String)> {
    let c = obj
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

pub fn is_ready_at(obj: &GitRepository, revision: &str) -> bool {
    ready(obj).is_some_and(|(s, _, _)| s == "True")
        && obj
            .status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .is_some_and(|a| a.revision == revision)
}

pub fn revision(obj: &GitRepository) -> String {
    obj.status
        .as_ref()
        .and_then(|s| s.artifact.as_ref())
        .map(|a| a.revision.clone())
        .unwrap_or_default()
}

/// Entry names of a stored artifact.
pub fn entries(path: &std::path::Path) -> Vec<(String, u32, bool)> {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            (
                String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                h.mode().unwrap(),
                h.entry_type().is_dir(),
            )
        })
        .collect()
}

pub fn artifact_file(c: &Controller, obj: &GitRepository) -> PathBuf {
    let path = &obj.status.as_ref().unwrap().artifact.as_ref().unwrap().path;
    c.storage.local_path(path).unwrap()
}
