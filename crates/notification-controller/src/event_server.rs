//! The event server: Flux's event API (`POST /`, port 9090).
//!
//! A request is answered after in-memory work only: the body is parsed and
//! validated (400), repeats within the de-duplication window are refused
//! (429), the event is matched against the watched Alerts and queued for
//! delivery (202). Only `matchLabels` needs the API server (the object's
//! labels). When the delivery queue is full the answer is 503 and the event
//! is not remembered, so the sender's retry goes through.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use kube::ResourceExt as _;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use weir_api::notification::v1::{
    INVALID_CONFIG_REASON, METADATA_APPEND_FAILED_REASON, NOTIFICATION_DISPATCH_FAILED_REASON,
    SOURCE_FETCH_FAILED_REASON,
};
use weir_api::notification::v1beta3::Alert;
use weir_runtime::events::{Event, EventRecorder, FluxEvent};

use crate::dedup::Deduplicator;
use crate::dispatch::{Dispatcher, Job};
use crate::event::{self, object_string};
use crate::index::Index;
use crate::matching::{self, RegexCache, SourceMatch};

/// The largest event accepted, as Flux (3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Shared state of the event server.
pub struct EventServer {
    pub index: Index,
    pub dedup: Deduplicator,
    pub dispatcher: Dispatcher,
    pub client: kube::Client,
    pub recorder: EventRecorder,
    pub no_cross_namespace_refs: bool,
    pub regexes: RegexCache,
}

/// The HTTP routes: every path, as Flux's handler is mounted at `/`.
pub fn router(server: Arc<EventServer>) -> axum::Router {
    axum::Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(server)
}

fn reply(status: StatusCode, text: impl Into<String>) -> Response {
    (status, text.into()).into_response()
}

async fn handle(State(server): State<Arc<EventServer>>, method: Method, body: Bytes) -> Response {
    if method != Method::POST {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "events are POSTed\n");
    }
    let mut event = match event::parse(&body) {
        Ok(e) => e,
        Err(e) => {
            tracing::debug!("refusing an event: {e}");
            return reply(StatusCode::BAD_REQUEST, format!("{e}\n"));
        }
    };
    event::cleanup_metadata(&mut event);
    let key = event::event_key(&event);
    if !server.dedup.admit(key) {
        tracing::debug!(object = %object_string(&event), "discarding event, rate limiting duplicate events");
        return reply(
            StatusCode::TOO_MANY_REQUESTS,
            "duplicate event within the rate-limit interval\n",
        );
    }
    event::exclude_internal_metadata(&mut event);

    let jobs = server.jobs_for(&event).await;
    if jobs.is_empty() {
        tracing::debug!(object = %object_string(&event), "discarding event, no alerts found for the involved object");
        return reply(StatusCode::ACCEPTED, "");
    }
    tracing::info!(object = %object_string(&event), alerts = jobs.len(), message = %event.message, "dispatching event");
    match server.dispatcher.try_enqueue(jobs) {
        Ok(()) => reply(StatusCode::ACCEPTED, ""),
        Err(e) => {
            server.dedup.forget(&key);
            tracing::warn!(object = %object_string(&event), "{e}; asking the sender to retry");
            reply(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{e}, retry later\n"),
            )
        }
    }
}

impl EventServer {
    /// The deliveries `event` makes: one per matching, unsuspended Alert
    /// whose Provider exists and is not suspended.
    pub async fn jobs_for(&self, event: &FluxEvent) -> Vec<Job> {
        let mut labels: Option<Option<BTreeMap<String, String>>> = None;
        let mut jobs = Vec::new();
        for alert in self.index.alerts.state() {
            if alert.spec.suspend == Some(true) {
                continue;
            }
            if !self.matches_sources(event, &alert, &mut labels).await {
                continue;
            }
            let mut bad = Vec::new();
            let allowed =
                matching::message_allowed(&event.message, &alert, &self.regexes, &mut bad);
            for b in bad {
                self.warn(
                    &alert,
                    INVALID_CONFIG_REASON,
                    format!("failed to compile {} regex: {}", b.list, b.error),
                );
            }
            if !allowed {
                continue;
            }
            if let Some(job) = self.job(event, alert) {
                jobs.push(job);
            }
        }
        jobs
    }

    async fn matches_sources(
        &self,
        event: &FluxEvent,
        alert: &Arc<Alert>,
        labels: &mut Option<Option<BTreeMap<String, String>>>,
    ) -> bool {
        for source in &alert.spec.event_sources {
            match matching::match_source(event, alert, source) {
                SourceMatch::No => {}
                SourceMatch::Yes => return true,
                SourceMatch::IfLabels(selector) => {
                    if labels.is_none() {
                        *labels = Some(self.object_labels(event, alert).await);
                    }
                    // An object whose labels cannot be read matches no selector.
                    if let Some(Some(l)) = labels.as_ref()
                        && matching::labels_match(selector, Some(l))
                    {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// The labels of the event's object, or `None` when it cannot be read
    /// (reported on the Alert, and no label selector matches).
    async fn object_labels(
        &self,
        event: &FluxEvent,
        alert: &Alert,
    ) -> Option<BTreeMap<String, String>> {
        let o = &event.involved_object;
        let (group, version) = match o
            .api_version
            .as_deref()
            .unwrap_or_default()
            .rsplit_once('/')
        {
            Some((g, v)) => (g.to_owned(), v.to_owned()),
            None => (String::new(), o.api_version.clone().unwrap_or_default()),
        };
        let gvk = GroupVersionKind::gvk(&group, &version, o.kind.as_deref().unwrap_or_default());
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            o.namespace.as_deref().unwrap_or_default(),
            &ApiResource::from_gvk(&gvk),
        );
        match api
            .get_metadata(o.name.as_deref().unwrap_or_default())
            .await
        {
            Ok(m) => Some(m.metadata.labels.unwrap_or_default()),
            Err(e) => {
                tracing::warn!(object = %object_string(event), "error getting the involved object: {e}");
                self.warn(
                    alert,
                    SOURCE_FETCH_FAILED_REASON,
                    format!("error getting source object {}", object_string(event)),
                );
                None
            }
        }
    }

    fn job(&self, event: &FluxEvent, alert: Arc<Alert>) -> Option<Job> {
        let alert_ns = alert.namespace().unwrap_or_default();
        if self.no_cross_namespace_refs
            && event.involved_object.namespace.as_deref() != Some(alert_ns.as_str())
        {
            self.warn(
                &alert,
                NOTIFICATION_DISPATCH_FAILED_REASON,
                format!(
                    "failed to dispatch notification for {}: discarding event, access denied to cross-namespace sources: alert '{alert_ns}/{}' can't process event from '{}', cross-namespace references have been blocked",
                    object_string(event),
                    alert.name_any(),
                    object_string(event)
                ),
            );
            return None;
        }
        let provider_name = &alert.spec.provider_ref.name;
        let Some(provider) = self.index.provider(&alert_ns, provider_name) else {
            self.warn(
                &alert,
                NOTIFICATION_DISPATCH_FAILED_REASON,
                format!(
                    "failed to dispatch notification for {}: failed to read provider: Provider '{alert_ns}/{provider_name}' not found",
                    object_string(event)
                ),
            );
            return None;
        };
        if provider.spec.suspend == Some(true) {
            return None;
        }
        let (forwarded, conflicts) = event::for_alert(event, &alert);
        if !conflicts.is_empty() {
            tracing::info!(alert = %alert.name_any(), keys = ?conflicts, "metadata key conflicts detected");
            self.warn(
                &alert,
                METADATA_APPEND_FAILED_REASON,
                format!(
                    "metadata key conflicts detected (please refer to the Alert API docs and Flux RFC 0008 for more information): {}",
                    conflicts.join(", ")
                ),
            );
        }
        Some(Job {
            alert,
            provider,
            event: forwarded,
        })
    }

    fn warn(&self, alert: &Alert, reason: &str, message: String) {
        self.recorder.publish(alert, Event::error(reason, message));
    }
}
