//! Events: Kubernetes Events and Flux-format events for notification-controller.
//!
//! Every event goes two ways, as in Flux: a Kubernetes Event on the object
//! (what `kubectl describe` and `flux events` show), and, when `--events-addr`
//! is set, a JSON document POSTed to notification-controller's event server.
//! Neither path may slow a reconcile down: Kubernetes Events are written from
//! a spawned task, and Flux events go through a bounded queue drained by one
//! background task that retries while the endpoint is down. When the queue is
//! full the event is dropped with a warning rather than blocking.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder, Reporter};
use serde::Serialize;
use tokio::sync::mpsc;

/// How many Flux events may wait for delivery before new ones are dropped.
const QUEUE_CAPACITY: usize = 4096;
/// Delivery attempts per event, with doubling back-off from `FIRST_RETRY`.
const MAX_ATTEMPTS: u32 = 6;
const FIRST_RETRY: Duration = Duration::from_millis(200);
const POST_TIMEOUT: Duration = Duration::from_secs(15);

/// Severity as Flux names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Info,
    Error,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Error => "error",
        }
    }
}

/// One event about one object.
#[derive(Clone, Debug)]
pub struct Event {
    pub severity: Severity,
    /// PascalCase reason, e.g. `NewArtifact`, `GitOperationFailed`.
    pub reason: String,
    pub message: String,
    /// Extra data (e.g. `revision`); keys without a `/` get the object's API
    /// group as prefix, as Flux does (`source.toolkit.fluxcd.io/revision`).
    pub metadata: BTreeMap<String, String>,
}

impl Event {
    pub fn info(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Info,
            reason: reason.into(),
            message: message.into(),
            metadata: BTreeMap::new(),
        }
    }

    pub fn error(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            ..Self::info(reason, message)
        }
    }

    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// Flux's event document (fluxcd/pkg/apis/event v1beta1 `Event`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FluxEvent {
    pub involved_object: ObjectReference,
    pub severity: String,
    pub timestamp: String,
    pub message: String,
    pub reason: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    pub reporting_controller: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reporting_instance: String,
}

/// Records events for one controller. Cheap to clone.
#[derive(Clone)]
pub struct EventRecorder {
    kube: Recorder,
    controller: String,
    instance: String,
    flux: Option<mpsc::Sender<FluxEvent>>,
}

impl EventRecorder {
    /// `events_addr` is Flux's `--events-addr`; the delivery task is spawned
    /// on the current Tokio runtime.
    pub fn new(client: kube::Client, controller: &str, events_addr: Option<&str>) -> Self {
        let instance = std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_default();
        let reporter = Reporter {
            controller: controller.to_owned(),
            instance: (!instance.is_empty()).then(|| instance.clone()),
        };
        let flux = events_addr.filter(|a| !a.is_empty()).map(|addr| {
            let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
            tokio::spawn(deliver(addr.to_owned(), rx));
            tx
        });
        Self {
            kube: Recorder::new(client, reporter),
            controller: controller.to_owned(),
            instance,
            flux,
        }
    }

    /// Records `event` about `obj` without waiting for either delivery.
    pub fn publish<K>(&self, obj: &K, event: Event)
    where
        K: Resource<DynamicType = ()>,
    {
        let reference = obj.object_ref(&());
        let group = K::group(&()).into_owned();
        let metadata: BTreeMap<String, String> = event
            .metadata
            .iter()
            .map(|(k, v)| {
                let key = if k.contains('/') || group.is_empty() {
                    k.clone()
                } else {
                    format!("{group}/{k}")
                };
                (key, v.clone())
            })
            .collect();

        if let Some(tx) = &self.flux {
            let doc = FluxEvent {
                involved_object: reference.clone(),
                severity: event.severity.as_str().to_owned(),
                timestamp: jiff::Timestamp::now()
                    .round(jiff::Unit::Second)
                    .unwrap_or_else(|_| jiff::Timestamp::now())
                    .to_string(),
                message: event.message.clone(),
                reason: event.reason.clone(),
                metadata,
                reporting_controller: self.controller.clone(),
                reporting_instance: self.instance.clone(),
            };
            if let Err(e) = tx.try_send(doc) {
                tracing::warn!(reason = %event.reason, "dropping event for the events address: {e}");
            }
        }

        let kube_event = KubeEvent {
            type_: match event.severity {
                Severity::Info => EventType::Normal,
                Severity::Error => EventType::Warning,
            },
            reason: event.reason,
            // The API server caps notes at 1 KiB.
            note: Some(truncate(&event.message, 1024)),
            action: "Reconcile".to_owned(),
            secondary: None,
        };
        let recorder = self.kube.clone();
        tokio::spawn(async move {
            if let Err(e) = recorder.publish(&kube_event, &reference).await {
                tracing::warn!(
                    object = ?reference.name,
                    reason = %kube_event.reason,
                    "writing a Kubernetes Event failed: {e}"
                );
            }
        });
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// Posts queued events in order, retrying each with back-off while the
/// endpoint is unreachable or answers 5xx.
async fn deliver(addr: String, mut rx: mpsc::Receiver<FluxEvent>) {
    let client = match reqwest::Client::builder().timeout(POST_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("cannot build the HTTP client for --events-addr: {e}");
            return;
        }
    };
    while let Some(event) = rx.recv().await {
        let mut delay = FIRST_RETRY;
        for attempt in 1..=MAX_ATTEMPTS {
            match client.post(&addr).json(&event).send().await {
                Ok(resp) if resp.status().is_success() => break,
                // 429 means notification-controller saw this event already
                // (its de-duplication): delivered as far as we are concerned.
                Ok(resp) if resp.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => break,
                Ok(resp) if resp.status().is_client_error() => {
                    tracing::warn!(status = %resp.status(), reason = %event.reason, "events address refused an event");
                    break;
                }
                Ok(resp) if attempt == MAX_ATTEMPTS => {
                    tracing::warn!(status = %resp.status(), reason = %event.reason, "giving up on an event");
                }
                Err(e) if attempt == MAX_ATTEMPTS => {
                    tracing::warn!(reason = %event.reason, "giving up on an event: {e}");
                }
                _ => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 5), "abc");
    }

    #[test]
    fn flux_event_shape() {
        let ev = FluxEvent {
            involved_object: ObjectReference {
                kind: Some("GitRepository".into()),
                namespace: Some("flux-system".into()),
                name: Some("podinfo".into()),
                ..Default::default()
            },
            severity: "info".into(),
            timestamp: "2026-01-01T00:00:00Z".into(),
            message: "stored artifact".into(),
            reason: "NewArtifact".into(),
            metadata: BTreeMap::from([(
                "source.toolkit.fluxcd.io/revision".into(),
                "main@sha1:abc".into(),
            )]),
            reporting_controller: "source-controller".into(),
            reporting_instance: String::new(),
        };
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["involvedObject"]["kind"], "GitRepository");
        assert_eq!(v["reportingController"], "source-controller");
        assert_eq!(
            v["metadata"]["source.toolkit.fluxcd.io/revision"],
            "main@sha1:abc"
        );
        assert!(v.get("reportingInstance").is_none());
    }
}
