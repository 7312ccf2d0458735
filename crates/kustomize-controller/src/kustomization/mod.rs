//! The Kustomization controller: watches, triggers and the reconcile queue.
//!
//! A Kustomization reconciles when its spec or request token changes, on
//! its interval and retry timers, when its source object changes, and — at
//! once — when source-controller's gRPC stream announces a new artifact of
//! its source. The API-server watch of sources stays as the fallback when
//! the stream is down.

mod reconcile;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use kube::ResourceExt as _;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use weir_api::kustomize::v1::Kustomization;
use weir_runtime::backoff::RetryBackoff;
use weir_runtime::client::ClientFactory;
use weir_runtime::events::EventRecorder;
use weir_runtime::metrics::Metrics;

use crate::apply::Applier;
use crate::options::Options;
use crate::source::{kind_name, source_key};

pub use reconcile::ReconcileError;

pub const KIND: &str = "Kustomization";

#[derive(Clone, Debug)]
pub struct Config {
    pub namespace: Option<String>,
    pub concurrency: u16,
    pub no_cross_namespace_refs: bool,
    pub requeue_dependency: Duration,
    pub artifact_stream_addr: Option<String>,
    pub min_retry_delay: Duration,
    pub max_retry_delay: Duration,
    /// Impersonated when a Kustomization names no service account.
    pub default_service_account: Option<String>,
}

impl Config {
    pub fn from_options(o: &Options) -> Self {
        let namespace = weir_runtime::options::watch_namespace(o.watch_all_namespaces);
        Self {
            namespace,
            concurrency: o.concurrent.max(1),
            no_cross_namespace_refs: o.no_cross_namespace_refs,
            requeue_dependency: o.requeue_dependency,
            artifact_stream_addr: (!o.artifact_stream_addr.is_empty())
                .then(|| o.artifact_stream_addr.clone()),
            min_retry_delay: o.min_retry_delay,
            max_retry_delay: o.max_retry_delay,
            default_service_account: (!o.default_service_account.is_empty())
                .then(|| o.default_service_account.clone()),
        }
    }
}

pub struct Context {
    /// The controller's own client: Kustomizations, sources, secrets.
    pub client: kube::Client,
    pub recorder: EventRecorder,
    pub metrics: Arc<Metrics>,
    pub config: Config,
    /// Clients that apply: the controller's own, an impersonated service
    /// account's, or a remote cluster's.
    clients: ClientFactory,
    /// Appliers by target (cluster and identity), each with the discovery
    /// cache of its cluster.
    appliers: Mutex<HashMap<String, Arc<Applier>>>,
    http: reqwest::Client,
    retries: RetryBackoff,
    /// The Kustomization cache and the reconcile queue, once `run` made
    /// them: a Kustomization that became Ready queues its dependents.
    queue: std::sync::OnceLock<(
        Store<Kustomization>,
        mpsc::UnboundedSender<ObjectRef<Kustomization>>,
    )>,
}

impl Context {
    pub fn new(
        clients: ClientFactory,
        recorder: EventRecorder,
        metrics: Arc<Metrics>,
        config: Config,
    ) -> anyhow::Result<Arc<Self>> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| anyhow::anyhow!("building the artifact HTTP client: {e}"))?;
        Ok(Arc::new(Self {
            retries: RetryBackoff::new(config.min_retry_delay, config.max_retry_delay),
            client: clients.base().clone(),
            clients,
            appliers: Mutex::default(),
            queue: std::sync::OnceLock::new(),
            recorder,
            metrics,
            config,
            http,
        }))
    }

    /// Queues the Kustomizations that depend on `namespace/name` (which
    /// just applied a revision), instead of leaving them to their
    /// `--requeue-dependency` timer.
    pub fn queue_dependents(&self, namespace: &str, name: &str) {
        let Some((store, tx)) = self.queue.get() else {
            return;
        };
        for ks in store.state() {
            let own = ks.metadata.namespace.as_deref().unwrap_or_default();
            let depends = ks
                .spec
                .depends_on
                .iter()
                .flatten()
                .any(|d| d.name == name && d.namespace.as_deref().unwrap_or(own) == namespace);
            if depends {
                let _ = tx.send(ObjectRef::from_obj(ks.as_ref()));
            }
        }
    }

    /// The applier acting in `kubeconfig`'s cluster (else this one) as
    /// `service_account` (else the controller). Appliers of one cluster
    /// share its discovery cache.
    pub async fn applier(
        &self,
        kubeconfig: Option<&[u8]>,
        service_account: Option<(&str, &str)>,
    ) -> anyhow::Result<Arc<Applier>> {
        let (client, cluster) = self.clients.client(kubeconfig, service_account).await?;
        let key = format!(
            "{cluster}|{}",
            service_account
                .map(|(ns, n)| format!("{ns}/{n}"))
                .unwrap_or_default()
        );
        let mut appliers = self
            .appliers
            .lock()
            .map_err(|_| anyhow::anyhow!("applier cache poisoned"))?;
        if let Some(a) = appliers.get(&key) {
            return Ok(a.clone());
        }
        let kinds = appliers
            .iter()
            .find(|(k, _)| k.split('|').next() == Some(cluster.as_str()))
            .map(|(_, a)| a.kinds());
        if appliers.len() >= 256 {
            appliers.clear();
        }
        let applier = Arc::new(Applier::new(client, kinds));
        appliers.insert(key, applier.clone());
        Ok(applier)
    }
}

/// The Kustomizations whose source is `kind/namespace/name`.
fn dependents(
    store: &Store<Kustomization>,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Vec<ObjectRef<Kustomization>> {
    store
        .state()
        .iter()
        .filter(|ks| {
            let (ns, n) = source_key(ks);
            kind_name(ks.spec.source_ref.kind) == kind && ns == namespace && n == name
        })
        .map(|ks| ObjectRef::from_obj(ks.as_ref()))
        .collect()
}

pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let api: Api<Kustomization> =
        weir_runtime::controller::api_for(ctx.client.clone(), ctx.config.namespace.as_deref());
    let (reader, writer) = reflector::store();
    let events = weir_runtime::controller::watch_changes(api, writer);

    // Source changes seen through the API server (the fallback path): a
    // new artifact revision of any source kind maps to its Kustomizations.
    let (tx, rx) = mpsc::unbounded_channel::<ObjectRef<Kustomization>>();
    let _ = ctx.queue.set((reader.clone(), tx.clone()));
    for kind in SOURCE_KINDS {
        tokio::spawn(watch_source_revisions(
            ctx.clone(),
            kind,
            reader.clone(),
            tx.clone(),
        ));
    }
    if let Some(addr) = ctx.config.artifact_stream_addr.clone() {
        tokio::spawn(subscribe(addr, reader.clone(), tx.clone()));
    }

    let config = kube::runtime::controller::Config::default().concurrency(ctx.config.concurrency);
    let results = Controller::for_stream(events, reader)
        .with_config(config)
        .reconcile_on(UnboundedReceiverStream::new(rx))
        .run(reconcile::reconcile, error_policy, ctx);
    weir_runtime::controller::drain(results).await;
    Ok(())
}

/// The kinds a Kustomization's sourceRef may name.
const SOURCE_KINDS: [&str; 4] = [
    "GitRepository",
    "OCIRepository",
    "Bucket",
    "ExternalArtifact",
];

/// Queues the Kustomizations of every `kind` source whose artifact revision
/// changes, as seen through the API server.
async fn watch_source_revisions(
    ctx: Arc<Context>,
    kind: &'static str,
    store: Store<Kustomization>,
    tx: mpsc::UnboundedSender<ObjectRef<Kustomization>>,
) {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "source.toolkit.fluxcd.io",
        "v1",
        kind,
    ));
    let api: Api<DynamicObject> = match &ctx.config.namespace {
        Some(ns) => Api::namespaced_with(ctx.client.clone(), ns, &resource),
        None => Api::all_with(ctx.client.clone(), &resource),
    };
    let revision = |o: &DynamicObject| {
        o.data
            .pointer("/status/artifact/revision")
            .and_then(|r| r.as_str())
            .map(|r| {
                use std::hash::{DefaultHasher, Hash, Hasher};
                let mut h = DefaultHasher::new();
                r.hash(&mut h);
                h.finish()
            })
    };
    let mut stream = std::pin::pin!(
        watcher(api, watcher::Config::default())
            .default_backoff()
            .applied_objects()
            .predicate_filter(revision, Default::default())
    );
    while let Some(item) = stream.next().await {
        match item {
            Ok(source) => {
                let ns = source.namespace().unwrap_or_default();
                for r in dependents(&store, kind, &ns, &source.name_any()) {
                    let _ = tx.send(r);
                }
            }
            Err(e) => tracing::debug!(kind, "source watch: {e}"),
        }
    }
}

/// Follows source-controller's artifact stream, reconnecting with back-off,
/// and queues the Kustomizations of every source with a new artifact.
async fn subscribe(
    addr: String,
    store: Store<Kustomization>,
    tx: mpsc::UnboundedSender<ObjectRef<Kustomization>>,
) {
    use weir_proto::artifact::WatchRequest;
    use weir_proto::artifact::artifact_service_client::ArtifactServiceClient;
    let mut delay = Duration::from_millis(500);
    loop {
        match ArtifactServiceClient::connect(addr.clone()).await {
            Ok(mut client) => match client.watch(WatchRequest::default()).await {
                Ok(response) => {
                    delay = Duration::from_millis(500);
                    let mut stream = response.into_inner();
                    while let Ok(Some(event)) = stream.message().await {
                        // Replays only matter for objects that missed a revision
                        // while disconnected; the reconcile is cheap when nothing changed.
                        if let Some(src) = event.source {
                            for r in dependents(&store, &src.kind, &src.namespace, &src.name) {
                                let _ = tx.send(r);
                            }
                        }
                    }
                    tracing::info!(%addr, "artifact stream ended; reconnecting");
                }
                Err(e) => tracing::warn!(%addr, "artifact stream refused: {e}"),
            },
            Err(e) => tracing::debug!(%addr, "artifact stream unavailable: {e}"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

fn error_policy(obj: Arc<Kustomization>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    weir_runtime::controller::retry_after_error(obj.as_ref(), error, &ctx.retries)
}
