//! The current artifact of every source, and the gRPC stream announcing them.
//!
//! The reconcilers tell the hub about each artifact they store or remove;
//! the hub keeps the latest per object and broadcasts a change to every
//! `Watch` stream. A new stream first gets a replay of the current state, so
//! a consumer that (re)connects never misses the newest revision. A stream
//! that falls behind the broadcast buffer is resynchronised with another
//! replay rather than dropped.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use futures::Stream;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Request, Response, Status};
use weir_proto::artifact::artifact_event::Type as EventType;
use weir_proto::artifact::artifact_service_server::{ArtifactService, ArtifactServiceServer};
use weir_proto::artifact::{
    Artifact, ArtifactEvent, GetRequest, GetResponse, SourceRef, WatchRequest,
};

/// Identifies one source object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceKey {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl SourceKey {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    fn to_proto(&self) -> SourceRef {
        SourceRef {
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

/// Converts a status artifact to its wire form.
pub fn to_proto(artifact: &weir_api::meta::Artifact) -> Artifact {
    Artifact {
        revision: artifact.revision.clone(),
        digest: artifact.digest.clone(),
        url: artifact.url.clone(),
        path: artifact.path.clone(),
        size: artifact.size.unwrap_or_default(),
        last_update_time: artifact.last_update_time.0.to_string(),
    }
}

const BROADCAST_CAPACITY: usize = 1024;
const STREAM_BUFFER: usize = 256;

pub struct ArtifactHub {
    current: RwLock<BTreeMap<SourceKey, Artifact>>,
    events: broadcast::Sender<ArtifactEvent>,
}

impl Default for ArtifactHub {
    fn default() -> Self {
        Self::new()
    }
}

impl ArtifactHub {
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        Self {
            current: RwLock::new(BTreeMap::new()),
            events,
        }
    }

    /// Records `artifact` as the current one of `key`; announces it when it
    /// differs from what was known (so re-seeding after a restart is quiet).
    pub fn stored(&self, key: &SourceKey, artifact: Artifact) {
        let mut current = match self.current.write() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        let changed = current.get(key).is_none_or(|known| {
            known.digest != artifact.digest
                || known.revision != artifact.revision
                || known.url != artifact.url
        });
        if !changed {
            return;
        }
        current.insert(key.clone(), artifact.clone());
        drop(current);
        // No receivers is fine: nobody is watching yet.
        let _ = self.events.send(ArtifactEvent {
            r#type: EventType::Stored.into(),
            source: Some(key.to_proto()),
            artifact: Some(artifact),
            replay: false,
        });
    }

    /// Forgets `key` (its object was deleted) and announces the removal.
    pub fn removed(&self, key: &SourceKey) {
        let existed = match self.current.write() {
            Ok(mut c) => c.remove(key).is_some(),
            Err(poisoned) => poisoned.into_inner().remove(key).is_some(),
        };
        if existed {
            let _ = self.events.send(ArtifactEvent {
                r#type: EventType::Removed.into(),
                source: Some(key.to_proto()),
                artifact: None,
                replay: false,
            });
        }
    }

    pub fn get(&self, key: &SourceKey) -> Option<Artifact> {
        let current = match self.current.read() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        current.get(key).cloned()
    }

    fn snapshot(&self, filter: &WatchRequest) -> Vec<ArtifactEvent> {
        let current = match self.current.read() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        current
            .iter()
            .filter(|(key, _)| matches(filter, key.kind.as_str(), key.namespace.as_str()))
            .map(|(key, artifact)| ArtifactEvent {
                r#type: EventType::Stored.into(),
                source: Some(key.to_proto()),
                artifact: Some(artifact.clone()),
                replay: true,
            })
            .collect()
    }
}

fn matches(filter: &WatchRequest, kind: &str, namespace: &str) -> bool {
    (filter.kinds.is_empty() || filter.kinds.iter().any(|k| k == kind))
        && (filter.namespace.is_empty() || filter.namespace == namespace)
}

type EventStream = Pin<Box<dyn Stream<Item = Result<ArtifactEvent, Status>> + Send>>;

/// The tonic service over a shared hub.
#[derive(Clone)]
pub struct HubService(pub Arc<ArtifactHub>);

#[tonic::async_trait]
impl ArtifactService for HubService {
    type WatchStream = EventStream;

    async fn watch(
        &self,
        request: Request<WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let filter = request.into_inner();
        // Subscribe before taking the snapshot: an artifact stored in between
        // is then sent twice rather than never.
        let mut live = self.0.events.subscribe();
        let hub = self.0.clone();
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(async move {
            let mut pending = hub.snapshot(&filter);
            loop {
                for event in pending.drain(..) {
                    if tx.send(Ok(event)).await.is_err() {
                        return;
                    }
                }
                match live.recv().await {
                    Ok(event) => {
                        let wanted = event
                            .source
                            .as_ref()
                            .is_some_and(|s| matches(&filter, &s.kind, &s.namespace));
                        if wanted {
                            pending.push(event);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::debug!(
                            missed,
                            "artifact watch fell behind; replaying current state"
                        );
                        pending = hub.snapshot(&filter);
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get(&self, request: Request<GetRequest>) -> Result<Response<GetResponse>, Status> {
        let source = request
            .into_inner()
            .source
            .ok_or_else(|| Status::invalid_argument("source is required"))?;
        let key = SourceKey::new(&source.kind, &source.namespace, &source.name);
        Ok(Response::new(GetResponse {
            artifact: self.0.get(&key),
        }))
    }
}

/// Binds `addr` and serves the gRPC artifact stream in the background.
pub async fn serve(addr: SocketAddr, hub: Arc<ArtifactHub>) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the gRPC server to {addr}"))?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        let result = tonic::transport::Server::builder()
            .add_service(ArtifactServiceServer::new(HubService(hub)))
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await;
        if let Err(e) = result {
            tracing::error!("gRPC server stopped: {e}");
        }
    });
    Ok(bound)
}
