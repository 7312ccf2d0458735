//! The GitRepository controller: wiring of watches, queue and reconciler.
//!
//! Reconciles are triggered by a change of generation, a new
//! `reconcile.fluxcd.io/requestedAt` token or deletion — not by this
//! controller's own status writes, which would otherwise make every object
//! fetch twice — plus the interval and retry timers, and a new artifact of a
//! repository that another one includes.

mod auth;
mod include;
mod reconcile;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use weir_api::source::v1::GitRepository;
use weir_artifact::Storage;
use weir_runtime::backoff::RetryBackoff;
use weir_runtime::events::EventRecorder;
use weir_runtime::metrics::Metrics;

use crate::artifact_hub::ArtifactHub;
use crate::options::Options;

pub use reconcile::ReconcileError;

pub const KIND: &str = "GitRepository";

/// Settings of the GitRepository reconciler.
#[derive(Clone, Debug)]
pub struct Config {
    /// Only this namespace, or every namespace when `None`.
    pub namespace: Option<String>,
    pub concurrency: u16,
    pub max_file_size: u64,
    pub min_retry_delay: Duration,
    pub max_retry_delay: Duration,
}

impl Config {
    pub fn from_options(o: &Options) -> Self {
        let namespace = weir_runtime::options::watch_namespace(o.watch_all_namespaces);
        Self {
            namespace,
            concurrency: o.concurrent.max(1),
            max_file_size: o.artifact_max_file_size,
            min_retry_delay: o.min_retry_delay,
            max_retry_delay: o.max_retry_delay,
        }
    }
}

/// Everything a reconcile needs, shared by all of them.
pub struct Context {
    pub client: kube::Client,
    pub storage: Storage,
    pub hub: Arc<ArtifactHub>,
    pub recorder: EventRecorder,
    pub metrics: Arc<Metrics>,
    pub config: Config,
    store: Mutex<Option<Store<GitRepository>>>,
    retries: RetryBackoff,
    includers: mpsc::UnboundedSender<ObjectRef<GitRepository>>,
    includers_rx: Mutex<Option<mpsc::UnboundedReceiver<ObjectRef<GitRepository>>>>,
}

impl Context {
    pub fn new(
        client: kube::Client,
        storage: Storage,
        hub: Arc<ArtifactHub>,
        recorder: EventRecorder,
        metrics: Arc<Metrics>,
        config: Config,
    ) -> Arc<Self> {
        let (includers, rx) = mpsc::unbounded_channel();
        let retries = RetryBackoff::new(config.min_retry_delay, config.max_retry_delay);
        Arc::new(Self {
            client,
            storage,
            hub,
            recorder,
            metrics,
            config,
            store: Mutex::new(None),
            retries,
            includers,
            includers_rx: Mutex::new(Some(rx)),
        })
    }

    fn store(&self) -> Option<Store<GitRepository>> {
        self.store.lock().ok().and_then(|s| s.clone())
    }

    /// Queues every repository that includes `name` in `namespace`.
    fn notify_includers(&self, namespace: &str, name: &str) {
        let Some(store) = self.store() else { return };
        for repo in store.state() {
            let same_ns = repo.metadata.namespace.as_deref() == Some(namespace);
            let includes = repo
                .spec
                .include
                .as_ref()
                .is_some_and(|inc| inc.iter().any(|i| i.repository.name == name));
            if same_ns && includes {
                let _ = self.includers.send(ObjectRef::from_obj(repo.as_ref()));
            }
        }
    }
}

/// Runs the controller until the watch ends (it does not, short of shutdown).
pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let api: Api<GitRepository> =
        weir_runtime::controller::api_for(ctx.client.clone(), ctx.config.namespace.as_deref());
    let (reader, writer) = reflector::store();
    if let Ok(mut s) = ctx.store.lock() {
        *s = Some(reader.clone());
    }
    let includers = ctx
        .includers_rx
        .lock()
        .ok()
        .and_then(|mut r| r.take())
        .ok_or_else(|| anyhow::anyhow!("GitRepository controller started twice"))?;
    let events = weir_runtime::controller::watch_changes(api, writer);
    let config = kube::runtime::controller::Config::default().concurrency(ctx.config.concurrency);
    let results = Controller::for_stream(events, reader)
        .with_config(config)
        .reconcile_on(UnboundedReceiverStream::new(includers))
        .run(reconcile::reconcile, error_policy, ctx);
    weir_runtime::controller::drain(results).await;
    Ok(())
}

fn error_policy(obj: Arc<GitRepository>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    weir_runtime::controller::retry_after_error(obj.as_ref(), error, &ctx.retries)
}
