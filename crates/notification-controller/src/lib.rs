//! Weir's notification-controller.
//!
//! - The event server ([`event_server`], `--events-addr`, port 9090) takes
//!   Flux's event documents from the other controllers, drops repeats within
//!   the de-duplication window ([`dedup`]), matches them against Alerts
//!   ([`matching`]) and queues them for their Providers ([`dispatch`], with
//!   payloads from [`notifier`]).
//! - The receiver server ([`receiver::server`], `--receiverAddr`, port 9292)
//!   turns authenticated webhook calls into reconcile requests; the Receiver
//!   reconciler ([`receiver::controller`]) publishes their paths.
//!
//! Alerts, Providers and Receivers are read from watches ([`index`]), never
//! fetched per request. Both servers run on every replica; the Receiver
//! reconciler runs on the leader only.

pub mod dedup;
pub mod dispatch;
pub mod event;
pub mod event_server;
pub mod index;
pub mod matching;
pub mod notifier;
mod options;
pub mod receiver;

pub use options::Options;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use weir_runtime::events::EventRecorder;
use weir_runtime::manager::Manager;

/// The name Flux gives this controller: field manager, event reporter, lease.
pub const CONTROLLER_NAME: &str = "notification-controller";

/// How long start-up waits for the first list of Alerts, Providers and Receivers.
const INDEX_READY_TIMEOUT: Duration = Duration::from_secs(120);

/// What the servers are started with.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Only this namespace, or every namespace when `None`.
    pub namespace: Option<String>,
    pub events_addr: SocketAddr,
    pub receiver_addr: SocketAddr,
    pub rate_limit_interval: Duration,
    pub no_cross_namespace_refs: bool,
}

/// The running servers.
pub struct Servers {
    pub events_addr: SocketAddr,
    pub receiver_addr: SocketAddr,
    pub index: index::Index,
}

/// Starts the watches, waits for their first list, then binds and serves
/// the event and receiver servers in the background.
pub async fn start_servers(
    client: kube::Client,
    recorder: EventRecorder,
    config: ServerConfig,
) -> anyhow::Result<Servers> {
    let index = index::Index::start(&client, config.namespace.as_deref());
    index.ready(INDEX_READY_TIMEOUT).await?;
    let dispatcher = dispatch::Dispatcher::start(client.clone(), recorder.clone());
    let events = Arc::new(event_server::EventServer {
        index: index.clone(),
        dedup: dedup::Deduplicator::new(config.rate_limit_interval),
        dispatcher,
        client: client.clone(),
        recorder,
        no_cross_namespace_refs: config.no_cross_namespace_refs,
        regexes: matching::RegexCache::default(),
    });
    let events_addr =
        weir_runtime::manager::serve(config.events_addr, event_server::router(events), "event")
            .await?;
    let receivers = Arc::new(receiver::server::ReceiverServer {
        index: index.clone(),
        client,
        no_cross_namespace_refs: config.no_cross_namespace_refs,
    });
    let receiver_addr = weir_runtime::manager::serve(
        config.receiver_addr,
        receiver::server::router(receivers),
        "webhook receiver",
    )
    .await?;
    tracing::info!(events = %events_addr, receiver = %receiver_addr, "serving events and webhooks");
    Ok(Servers {
        events_addr,
        receiver_addr,
        index,
    })
}

/// Runs the servers and the Receiver reconciler until shutdown.
pub async fn run(manager: Manager, options: Options) -> anyhow::Result<()> {
    let namespace = weir_runtime::options::watch_namespace(options.watch_all_namespaces);
    let _servers = start_servers(
        manager.client.clone(),
        manager.recorder.clone(),
        ServerConfig {
            namespace: namespace.clone(),
            events_addr: options.events_addr()?,
            receiver_addr: options.receiver_addr,
            rate_limit_interval: options.rate_limit_interval,
            no_cross_namespace_refs: options.no_cross_namespace_refs,
        },
    )
    .await?;
    let ctx = receiver::controller::Context::new(
        manager.client.clone(),
        manager.recorder.clone(),
        manager.metrics.clone(),
        receiver::controller::Config {
            namespace,
            concurrency: options.concurrent,
            min_retry_delay: options.min_retry_delay,
            max_retry_delay: options.max_retry_delay,
        },
    );
    manager.run(receiver::controller::run(ctx)).await
}
