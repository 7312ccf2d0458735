//! Weir's source-controller.
//!
//! It reconciles `GitRepository` objects into artifacts: a commit is fetched
//! ([`weir_git`]), packaged as a normalised tarball into the store
//! ([`weir_artifact`]), served over HTTP at Flux's URL layout
//! ([`artifact_server`]) and announced to consumers over gRPC
//! ([`artifact_hub`]).

pub mod artifact_hub;
pub mod artifact_server;
pub mod gitrepository;
mod options;

pub use options::Options;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use weir_artifact::Storage;
use weir_runtime::manager::Manager;

use crate::artifact_hub::ArtifactHub;

/// The name Flux gives this controller: field manager, event reporter, lease.
pub const CONTROLLER_NAME: &str = "source-controller";

/// The artifact store with its HTTP and gRPC servers running.
pub struct Servers {
    pub storage: Storage,
    pub hub: Arc<ArtifactHub>,
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
}

/// Binds the artifact file server and the gRPC stream and prepares the
/// store. With an empty `adv_addr`, artifact URLs use the bound address
/// (or, when bound to every interface, this host's name).
pub async fn start_servers(
    storage_path: &Path,
    storage_addr: SocketAddr,
    adv_addr: &str,
    grpc_addr: SocketAddr,
    retention_ttl: Duration,
    retention_records: usize,
) -> anyhow::Result<Servers> {
    std::fs::create_dir_all(storage_path)
        .with_context(|| format!("creating the storage directory {}", storage_path.display()))?;
    // The file server runs on every replica, leader or not, so the artifacts
    // a previous leader stored stay downloadable during a handover.
    let http_addr = weir_runtime::manager::serve(
        storage_addr,
        artifact_server::router(storage_path),
        "artifact",
    )
    .await?;
    let adv = if !adv_addr.is_empty() {
        adv_addr.to_owned()
    } else if http_addr.ip().is_unspecified() {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_owned());
        format!("{host}:{}", http_addr.port())
    } else {
        http_addr.to_string()
    };
    let storage = Storage::new(storage_path, &adv, retention_ttl, retention_records)
        .with_context(|| format!("preparing the storage directory {}", storage_path.display()))?;
    let hub = Arc::new(ArtifactHub::new());
    let grpc_addr = artifact_hub::serve(grpc_addr, hub.clone()).await?;
    tracing::info!(http = %http_addr, grpc = %grpc_addr, root = %storage_path.display(), artifact_urls = %storage.url_for(""), "serving artifacts");
    Ok(Servers {
        storage,
        hub,
        http_addr,
        grpc_addr,
    })
}

/// Runs the artifact servers and the reconcile loops until shutdown.
pub async fn run(manager: Manager, options: Options) -> anyhow::Result<()> {
    let servers = start_servers(
        &options.storage_path,
        options.storage_addr,
        &options.storage_adv_addr,
        options.grpc_addr,
        options.artifact_retention_ttl,
        options.artifact_retention_records,
    )
    .await?;
    let ctx = gitrepository::Context::new(
        manager.client.clone(),
        servers.storage,
        servers.hub,
        manager.recorder.clone(),
        manager.metrics.clone(),
        gitrepository::Config::from_options(&options),
    );
    manager.run(gitrepository::run(ctx)).await
}

/// source-controller inside the current process, on loopback ports, for
/// one namespace, with its storage in a temporary directory: what the
/// other controllers' integration tests run against. Stops when dropped.
pub struct LocalSourceController {
    /// The artifact HTTP server and the gRPC artifact stream.
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _storage: tempfile::TempDir,
}

impl LocalSourceController {
    /// Starts the servers and the GitRepository loop for `namespace`;
    /// events also go to `events_addr` when given.
    pub async fn start(
        client: kube::Client,
        namespace: &str,
        events_addr: Option<&str>,
    ) -> anyhow::Result<Self> {
        let storage = tempfile::tempdir().context("creating the artifact storage directory")?;
        let servers = start_servers(
            storage.path(),
            SocketAddr::from(([127, 0, 0, 1], 0)),
            "",
            SocketAddr::from(([127, 0, 0, 1], 0)),
            std::time::Duration::from_secs(3600),
            2,
        )
        .await?;
        let ctx = gitrepository::Context::new(
            client.clone(),
            servers.storage,
            servers.hub,
            weir_runtime::events::EventRecorder::new(client, CONTROLLER_NAME, events_addr),
            Arc::new(weir_runtime::metrics::Metrics::new(CONTROLLER_NAME)),
            gitrepository::Config {
                namespace: Some(namespace.to_owned()),
                concurrency: 4,
                max_file_size: 1 << 20,
                min_retry_delay: std::time::Duration::from_millis(500),
                max_retry_delay: std::time::Duration::from_secs(4),
            },
        );
        Ok(Self {
            http_addr: servers.http_addr,
            grpc_addr: servers.grpc_addr,
            task: tokio::spawn(gitrepository::run(ctx)),
            _storage: storage,
        })
    }

    /// The gRPC artifact stream's address as a URL
    /// (kustomize-controller's `--artifact-stream-addr`).
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }
}

impl Drop for LocalSourceController {
    fn drop(&mut self) {
        self.task.abort();
    }
}
