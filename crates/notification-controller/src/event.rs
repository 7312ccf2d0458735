//! Flux's event document as it arrives at the event server: parsing with
//! validation, the metadata clean-up Flux applies before alerting, the
//! de-duplication key, and the per-Alert metadata merge.
//!
//! The document type is the one every Weir controller sends,
//! [`weir_runtime::events::FluxEvent`]; it is built here field by field from
//! the JSON so that each missing or malformed field gets its own message.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ObjectReference;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use weir_api::notification::v1beta3::Alert;
use weir_runtime::events::FluxEvent;

/// The API group of Flux's event API; metadata keys under it are kept.
pub const EVENT_GROUP: &str = "event.toolkit.fluxcd.io";
/// Metadata keys (after the object's group prefix) with special meaning.
pub const META_REVISION: &str = "revision";
pub const META_ORIGIN_REVISION: &str = "originRevision";
pub const META_TOKEN: &str = "token";
pub const META_CHECKSUM: &str = "checksum";
pub const META_DIGEST: &str = "digest";
/// The key an Alert's `summary` is added under.
pub const META_SUMMARY: &str = "summary";

pub const SEVERITY_INFO: &str = "info";
pub const SEVERITY_ERROR: &str = "error";

/// Why a request body is not a Flux event; the text is the HTTP 400 body.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid event: {0}")]
pub struct InvalidEvent(pub String);

fn invalid(msg: impl Into<String>) -> InvalidEvent {
    InvalidEvent(msg.into())
}

/// Parses and validates one event document.
pub fn parse(body: &[u8]) -> Result<FluxEvent, InvalidEvent> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("the body is not JSON: {e}")))?;
    let Value::Object(doc) = value else {
        return Err(invalid("the body must be a JSON object"));
    };
    let involved = doc
        .get("involvedObject")
        .ok_or_else(|| invalid("involvedObject is required"))?;
    let involved_object: ObjectReference = serde_json::from_value(involved.clone())
        .map_err(|e| invalid(format!("involvedObject: {e}")))?;
    for (field, value) in [
        ("kind", &involved_object.kind),
        ("name", &involved_object.name),
        ("namespace", &involved_object.namespace),
    ] {
        if value.as_deref().unwrap_or_default().is_empty() {
            return Err(invalid(format!("involvedObject.{field} is required")));
        }
    }
    let text = |field: &str| -> Result<String, InvalidEvent> {
        match doc.get(field) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(invalid(format!("{field} must be a string"))),
        }
    };
    let severity = text("severity")?;
    if severity != SEVERITY_INFO && severity != SEVERITY_ERROR {
        return Err(invalid(format!(
            "severity must be '{SEVERITY_INFO}' or '{SEVERITY_ERROR}', got '{severity}'"
        )));
    }
    let timestamp = text("timestamp")?;
    if timestamp.is_empty() {
        return Err(invalid("timestamp is required"));
    }
    let parsed: jiff::Timestamp = timestamp
        .parse()
        .map_err(|e| invalid(format!("timestamp '{timestamp}' is not RFC 3339: {e}")))?;
    // Go writes metav1.Time as RFC 3339 in UTC, whole seconds.
    let timestamp = jiff::Timestamp::from_second(parsed.as_second())
        .unwrap_or(parsed)
        .to_string();
    let message = text("message")?;
    if message.is_empty() {
        return Err(invalid("message is required"));
    }
    let reason = text("reason")?;
    if reason.is_empty() {
        return Err(invalid("reason is required"));
    }
    let reporting_controller = text("reportingController")?;
    if reporting_controller.is_empty() {
        return Err(invalid("reportingController is required"));
    }
    let metadata = match doc.get("metadata") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(invalid(format!("metadata.{k} must be a string"))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("metadata must be an object of strings")),
    };
    Ok(FluxEvent {
        involved_object,
        severity,
        timestamp,
        message,
        reason,
        metadata,
        reporting_controller,
        reporting_instance: text("reportingInstance")?,
    })
}

/// The API group of the event's object (`source.toolkit.fluxcd.io` for
/// `source.toolkit.fluxcd.io/v1`; empty for the core group).
pub fn object_group(event: &FluxEvent) -> &str {
    match event.involved_object.api_version.as_deref() {
        Some(av) => av.rsplit_once('/').map(|(g, _)| g).unwrap_or_default(),
        None => "",
    }
}

/// `Kind/namespace/name`, as Flux names an event's object in messages.
pub fn object_string(event: &FluxEvent) -> String {
    let o = &event.involved_object;
    format!(
        "{}/{}/{}",
        o.kind.as_deref().unwrap_or_default(),
        o.namespace.as_deref().unwrap_or_default(),
        o.name.as_deref().unwrap_or_default()
    )
}

/// Keeps only the metadata used for alerting, as Flux's event server does on
/// arrival: keys under the event API group or the object's API group,
/// without the object group's `checksum` and `digest`.
pub fn cleanup_metadata(event: &mut FluxEvent) {
    let event_prefix = format!("{EVENT_GROUP}/");
    let object_prefix = format!("{}/", object_group(event));
    let excluded = [
        format!("{object_prefix}{META_CHECKSUM}"),
        format!("{object_prefix}{META_DIGEST}"),
    ];
    event.metadata.retain(|k, _| {
        !excluded.iter().any(|x| x.eq_ignore_ascii_case(k))
            && (k.starts_with(&event_prefix) || k.starts_with(&object_prefix))
    });
}

/// Flux's event identity (`notifier.EventKey`): SHA-256 over the object's
/// name, namespace and kind, the message, and the origin revision, revision
/// and token metadata when present. Computed after [`cleanup_metadata`].
pub fn event_key(event: &FluxEvent) -> [u8; 32] {
    let o = &event.involved_object;
    let mut parts = vec![
        "event".to_owned(),
        format!("name={}", o.name.as_deref().unwrap_or_default()),
        format!("namespace={}", o.namespace.as_deref().unwrap_or_default()),
        format!("kind={}", o.kind.as_deref().unwrap_or_default()),
        format!("message={}", event.message),
    ];
    let group = object_group(event);
    for (key, label) in [
        (META_ORIGIN_REVISION, "originRevision"),
        (META_REVISION, "revision"),
        (META_TOKEN, "token"),
    ] {
        if let Some(v) = event.metadata.get(&format!("{group}/{key}")) {
            parts.push(format!("{label}={v}"));
        }
    }
    Sha256::digest(parts.join("/").as_bytes()).into()
}

/// Removes metadata meant for the event server only (the object group's
/// `token`), before the event is matched and forwarded.
pub fn exclude_internal_metadata(event: &mut FluxEvent) {
    let key = format!("{}/{META_TOKEN}", object_group(event));
    event.metadata.remove(&key);
}

/// The metadata an Alert forwards, merged as Flux does (RFC 0008), from
/// lowest to highest precedence: event-API-group keys without their prefix,
/// the Alert's `eventMetadata`, its `summary` (key `summary`), then the
/// object-group keys without their prefix. Returns the merged map and the
/// keys set by more than one source.
pub fn combine_metadata(
    event: &FluxEvent,
    alert: &Alert,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut merged = BTreeMap::new();
    let mut sources: BTreeMap<String, u8> = BTreeMap::new();
    let mut put = |k: &str, v: &str, merged: &mut BTreeMap<String, String>| {
        merged.insert(k.to_owned(), v.to_owned());
        *sources.entry(k.to_owned()).or_default() += 1;
    };
    let event_prefix = format!("{EVENT_GROUP}/");
    for (k, v) in &event.metadata {
        if let Some(key) = k.strip_prefix(&event_prefix) {
            put(key, v, &mut merged);
        }
    }
    for (k, v) in alert.spec.event_metadata.iter().flatten() {
        put(k, v, &mut merged);
    }
    if let Some(summary) = alert.spec.summary.as_deref().filter(|s| !s.is_empty()) {
        put(META_SUMMARY, summary, &mut merged);
    }
    let object_prefix = format!("{}/", object_group(event));
    for (k, v) in &event.metadata {
        if let Some(key) = k.strip_prefix(&object_prefix) {
            put(key, v, &mut merged);
        }
    }
    let conflicts = sources
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(k, _)| k)
        .collect();
    (merged, conflicts)
}

/// The event as an Alert forwards it: its metadata replaced by
/// [`combine_metadata`] (kept as is when that is empty, as Flux does).
pub fn for_alert(event: &FluxEvent, alert: &Alert) -> (FluxEvent, Vec<String>) {
    let (merged, conflicts) = combine_metadata(event, alert);
    let mut out = event.clone();
    if !merged.is_empty() {
        out.metadata = merged;
    }
    (out, conflicts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn sample() -> Value {
        json!({
            "involvedObject": {
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "GitRepository",
                "name": "podinfo",
                "namespace": "flux-system",
                "uid": "7d0cdc51-ddcf-4743-b223-83ca5c699632"
            },
            "severity": "info",
            "timestamp": "2026-03-01T10:20:30.123456Z",
            "message": "stored artifact for revision 'main@sha1:abc'",
            "reason": "NewArtifact",
            "metadata": {
                "source.toolkit.fluxcd.io/revision": "main@sha1:abc",
                "source.toolkit.fluxcd.io/digest": "sha256:def",
                "source.toolkit.fluxcd.io/token": "t1",
                "event.toolkit.fluxcd.io/env": "prod",
                "other.example.com/x": "dropped"
            },
            "reportingController": "source-controller",
            "reportingInstance": "source-controller-abc"
        })
    }

    fn parse_value(v: &Value) -> Result<FluxEvent, InvalidEvent> {
        parse(&serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn parses_flux_events() {
        let e = parse_value(&sample()).unwrap();
        assert_eq!(e.involved_object.kind.as_deref(), Some("GitRepository"));
        assert_eq!(e.timestamp, "2026-03-01T10:20:30Z");
        assert_eq!(e.reporting_instance, "source-controller-abc");
        assert_eq!(object_group(&e), "source.toolkit.fluxcd.io");
        assert_eq!(object_string(&e), "GitRepository/flux-system/podinfo");
        assert_eq!(e.metadata.len(), 5);
    }

    #[test]
    fn validation_messages_name_the_field() {
        let cases: Vec<(Value, &str)> = vec![
            (json!([1]), "the body must be a JSON object"),
            (json!({}), "involvedObject is required"),
            (
                {
                    let mut v = sample();
                    v["involvedObject"]["name"] = json!("");
                    v
                },
                "involvedObject.name is required",
            ),
            (
                {
                    let mut v = sample();
                    v["severity"] = json!("warning");
                    v
                },
                "severity must be 'info' or 'error', got 'warning'",
            ),
            (
                {
                    let mut v = sample();
                    v["timestamp"] = json!("yesterday");
                    v
                },
                "timestamp 'yesterday' is not RFC 3339",
            ),
            (
                {
                    let mut v = sample();
                    v.as_object_mut().unwrap().remove("reason");
                    v
                },
                "reason is required",
            ),
            (
                {
                    let mut v = sample();
                    v["metadata"]["n"] = json!(1);
                    v
                },
                "metadata.n must be a string",
            ),
            (
                {
                    let mut v = sample();
                    v["message"] = json!(3);
                    v
                },
                "message must be a string",
            ),
        ];
        for (doc, want) in cases {
            let err = parse_value(&doc).unwrap_err();
            assert!(err.to_string().contains(want), "{err} lacks {want}");
        }
        assert!(
            parse(b"{not json")
                .unwrap_err()
                .to_string()
                .starts_with("invalid event: the body is not JSON")
        );
    }

    #[test]
    fn cleanup_keeps_event_and_object_groups_without_digest() {
        let mut e = parse_value(&sample()).unwrap();
        cleanup_metadata(&mut e);
        let keys: Vec<_> = e.metadata.keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "event.toolkit.fluxcd.io/env",
                "source.toolkit.fluxcd.io/revision",
                "source.toolkit.fluxcd.io/token"
            ]
        );
        exclude_internal_metadata(&mut e);
        assert!(!e.metadata.contains_key("source.toolkit.fluxcd.io/token"));
    }

    #[test]
    fn event_key_is_fluxs() {
        let mut e = parse_value(&sample()).unwrap();
        cleanup_metadata(&mut e);
        // sha256 of Flux's joined components, computed independently.
        let joined = "event/name=podinfo/namespace=flux-system/kind=GitRepository/\
                      message=stored artifact for revision 'main@sha1:abc'/\
                      revision=main@sha1:abc/token=t1";
        let want: [u8; 32] = Sha256::digest(joined.as_bytes()).into();
        assert_eq!(event_key(&e), want);
        // The timestamp and reason do not count; the revision does.
        let mut later = e.clone();
        later.timestamp = "2030-01-01T00:00:00Z".into();
        later.reason = "Other".into();
        assert_eq!(event_key(&later), want);
        let mut other = e.clone();
        other.metadata.insert(
            "source.toolkit.fluxcd.io/revision".into(),
            "main@sha1:x".into(),
        );
        assert_ne!(event_key(&other), want);
    }

    #[test]
    fn metadata_merge_precedence() {
        let mut e = parse_value(&sample()).unwrap();
        e.metadata
            .insert("event.toolkit.fluxcd.io/revision".into(), "low".into());
        cleanup_metadata(&mut e);
        exclude_internal_metadata(&mut e);
        let alert: Alert = serde_json::from_value(json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3",
            "kind": "Alert",
            "metadata": {"name": "a", "namespace": "flux-system"},
            "spec": {
                "providerRef": {"name": "p"},
                "eventSources": [{"kind": "GitRepository", "name": "*"}],
                "summary": "cluster us-east",
                "eventMetadata": {"env": "staging", "cluster": "c1"}
            }
        }))
        .unwrap();
        let (out, conflicts) = for_alert(&e, &alert);
        assert_eq!(
            out.metadata,
            BTreeMap::from([
                ("cluster".to_owned(), "c1".to_owned()),
                ("env".to_owned(), "staging".to_owned()),
                ("revision".to_owned(), "main@sha1:abc".to_owned()),
                ("summary".to_owned(), "cluster us-east".to_owned()),
            ])
        );
        assert_eq!(conflicts, ["env", "revision"]);
    }
}
