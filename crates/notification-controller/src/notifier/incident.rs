//! Alerting and observability providers: Prometheus Alertmanager (API v2
//! alerts), Grafana (annotations, Graphite format), PagerDuty (Events API
//! v2 and change events) and Opsgenie (alerts API).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Value, json};
use weir_runtime::events::FluxEvent;

use super::{
    HttpRequest, NotifierError, Target, go_time, is_error, name_and_description, object_title,
    require_url,
};

fn body(v: &Value) -> Result<Vec<u8>, NotifierError> {
    serde_json::to_vec(v).map_err(|e| NotifierError::Config(format!("encoding the payload: {e}")))
}

/// Uppercases the first letter (Go's `strings.Title` on one word).
fn title(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Alertmanager: one firing alert; the metadata (but `summary`, which is an
/// annotation) become labels with the object, severity and reason.
pub fn alertmanager(target: &Target, event: &FluxEvent) -> Result<HttpRequest, NotifierError> {
    require_url(&target.address)?;
    let o = &event.involved_object;
    let mut labels = event.metadata.clone();
    let mut annotations = BTreeMap::from([("message".to_owned(), event.message.clone())]);
    if let Some(summary) = labels.remove("summary") {
        annotations.insert("summary".to_owned(), summary);
    }
    let kind = o.kind.clone().unwrap_or_default();
    labels.insert(
        "alertname".into(),
        format!("Flux{kind}{}", title(&event.reason)),
    );
    labels.insert("severity".into(), event.severity.clone());
    labels.insert("reason".into(), event.reason.clone());
    labels.insert("timestamp".into(), go_time(&event.timestamp));
    labels.insert("kind".into(), kind);
    labels.insert("name".into(), o.name.clone().unwrap_or_default());
    labels.insert("namespace".into(), o.namespace.clone().unwrap_or_default());
    labels.insert(
        "reportingcontroller".into(),
        event.reporting_controller.clone(),
    );
    let payload = json!([{"status": "firing", "labels": labels, "annotations": annotations}]);
    let mut req = HttpRequest::post_json(&target.address, body(&payload)?);
    if !target.token.is_empty() {
        req = req.header("Authorization", format!("Bearer {}", target.token));
    } else if !target.password.is_empty() {
        req = req.header("Authorization", basic(&target.username, &target.password));
    }
    Ok(req)
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Grafana: an annotation in the Graphite format (`/api/annotations/graphite`)
/// tagged `flux`, the controller, the metadata and the object.
pub fn grafana(target: &Target, event: &FluxEvent) -> Result<HttpRequest, NotifierError> {
    require_url(&target.address)?;
    let o = &event.involved_object;
    let mut tags = vec!["flux".to_owned(), event.reporting_controller.clone()];
    for (k, v) in &event.metadata {
        tags.push(format!("{}: {}", k.replace(':', "|"), v.replace(':', "|")));
    }
    tags.push(format!("kind: {}", o.kind.as_deref().unwrap_or_default()));
    tags.push(format!("name: {}", o.name.as_deref().unwrap_or_default()));
    tags.push(format!(
        "namespace: {}",
        o.namespace.as_deref().unwrap_or_default()
    ));
    let when = event
        .timestamp
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_second())
        .unwrap_or_default();
    let payload = json!({"when": when, "text": object_title(event), "tags": tags});
    let mut req = HttpRequest::post_json(&target.address, body(&payload)?);
    if !target.token.is_empty() {
        req = req.header("Authorization", format!("Bearer {}", target.token));
    } else if !target.password.is_empty() {
        req = req.header("Authorization", basic(&target.username, &target.password));
    }
    Ok(req)
}

/// PagerDuty: errors trigger an incident keyed by the object's UID; other
/// events resolve it and are recorded as change events. The routing key is
/// `spec.channel`. Progressing events are skipped.
pub fn pagerduty(target: &Target, event: &FluxEvent) -> Result<Vec<HttpRequest>, NotifierError> {
    if event.reason == "Progressing" {
        return Ok(Vec::new());
    }
    let address = if target.address.is_empty() {
        "https://events.pagerduty.com"
    } else {
        target.address.as_str()
    };
    require_url(address)?;
    let url = reqwest::Url::parse(address)
        .map_err(|e| NotifierError::Config(format!("invalid PagerDuty endpoint URL: {e}")))?;
    let endpoint = format!("{}://{}", url.scheme(), url.authority());
    let (name, desc) = name_and_description(event);
    let dedup = event.involved_object.uid.clone().unwrap_or_default();
    let summary = format!("{desc}: {name}");
    let source = format!("Flux {}", event.reporting_controller);
    let details = json!({"message": event.message, "metadata": event.metadata});
    let v2 = if is_error(event) {
        json!({
            "routing_key": target.channel,
            "event_action": "trigger",
            "dedup_key": dedup,
            "payload": {
                "summary": summary,
                "source": source,
                "severity": "error",
                "timestamp": event.timestamp,
                "component": event.involved_object.name,
                "group": event.involved_object.kind,
                "custom_details": details,
            },
        })
    } else {
        json!({"routing_key": target.channel, "event_action": "resolve", "dedup_key": dedup})
    };
    let mut out = vec![HttpRequest::post_json(
        &format!("{endpoint}/v2/enqueue"),
        body(&v2)?,
    )];
    if !is_error(event) {
        let change = json!({
            "routing_key": target.channel,
            "payload": {
                "summary": summary,
                "source": source,
                "timestamp": event.timestamp,
                "custom_details": details,
            },
        });
        out.push(HttpRequest::post_json(
            &format!("{endpoint}/v2/change/enqueue"),
            body(&change)?,
        ));
    }
    Ok(out)
}

/// Opsgenie: an alert named after the object, with the message as its
/// description and the metadata and severity as details.
pub fn opsgenie(target: &Target, event: &FluxEvent) -> Result<HttpRequest, NotifierError> {
    require_url(&target.address)?;
    let o = &event.involved_object;
    let mut details = event.metadata.clone();
    details.insert("severity".into(), event.severity.clone());
    let payload = json!({
        "message": format!("{}/{}", o.kind.as_deref().unwrap_or_default(), o.name.as_deref().unwrap_or_default()),
        "description": event.message,
        "details": details,
    });
    Ok(HttpRequest::post_json(&target.address, body(&payload)?)
        .header("Authorization", format!("GenieKey {}", target.token)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifier::testing::{event, json, target};
    use crate::notifier::{ProviderType, requests};

    #[test]
    fn alertmanager_alert() {
        let e = event("error", &[("revision", "r1"), ("summary", "prod impacted")]);
        let r = requests(
            ProviderType::AlertManager,
            &target("http://am:9093/api/v2/alerts"),
            &e,
        )
        .unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(
            json(&r[0]),
            json!([{
                "status": "firing",
                "annotations": {"message": "Service/apps/webapp configured", "summary": "prod impacted"},
                "labels": {
                    "alertname": "FluxKustomizationReconciliationSucceeded",
                    "severity": "error",
                    "reason": "ReconciliationSucceeded",
                    "timestamp": "2026-03-01 10:20:30 +0000 UTC",
                    "kind": "Kustomization",
                    "name": "webapp",
                    "namespace": "apps",
                    "reportingcontroller": "kustomize-controller",
                    "revision": "r1",
                },
            }])
        );
    }

    #[test]
    fn grafana_annotation() {
        let mut t = target("https://grafana.example/api/annotations/graphite");
        t.token = "glsa".into();
        let r = &requests(
            ProviderType::Grafana,
            &t,
            &event("info", &[("revision", "main@sha1:a")]),
        )
        .unwrap()[0];
        assert_eq!(r.header_value("authorization"), Some("Bearer glsa"));
        assert_eq!(
            json(r),
            json!({
                "when": 1772360430,
                "text": "kustomization/webapp.apps",
                "tags": ["flux", "kustomize-controller", "revision: main@sha1|a", "kind: Kustomization", "name: webapp", "namespace: apps"],
            })
        );
        let mut basic_auth = target("https://grafana.example/api/annotations/graphite");
        basic_auth.username = "admin".into();
        basic_auth.password = "pw".into();
        let r = &requests(ProviderType::Grafana, &basic_auth, &event("info", &[])).unwrap()[0];
        assert_eq!(r.header_value("authorization"), Some("Basic YWRtaW46cHc="));
    }

    #[test]
    fn pagerduty_trigger_resolve_and_change() {
        let mut t = target("https://events.pagerduty.com/whatever");
        t.channel = "routing-key".into();
        let err = requests(
            ProviderType::PagerDuty,
            &t,
            &event("error", &[("revision", "r1")]),
        )
        .unwrap();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].url, "https://events.pagerduty.com/v2/enqueue");
        assert_eq!(
            json(&err[0]),
            json!({
                "routing_key": "routing-key",
                "event_action": "trigger",
                "dedup_key": "7d0cdc51-ddcf-4743-b223-83ca5c699632",
                "payload": {
                    "summary": "reconciliation succeeded: kustomization/webapp",
                    "source": "Flux kustomize-controller",
                    "severity": "error",
                    "timestamp": "2026-03-01T10:20:30Z",
                    "component": "webapp",
                    "group": "Kustomization",
                    "custom_details": {"message": "Service/apps/webapp configured", "metadata": {"revision": "r1"}},
                },
            })
        );
        let ok = requests(ProviderType::PagerDuty, &t, &event("info", &[])).unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(json(&ok[0])["event_action"], "resolve");
        assert_eq!(ok[1].url, "https://events.pagerduty.com/v2/change/enqueue");
        assert_eq!(
            json(&ok[1])["payload"]["summary"],
            "reconciliation succeeded: kustomization/webapp"
        );
        let mut progressing = event("info", &[]);
        progressing.reason = "Progressing".into();
        assert!(
            requests(ProviderType::PagerDuty, &t, &progressing)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn opsgenie_alert() {
        let mut t = target("https://api.opsgenie.com/v2/alerts");
        t.token = "key".into();
        let r = &requests(
            ProviderType::Opsgenie,
            &t,
            &event("error", &[("revision", "r1")]),
        )
        .unwrap()[0];
        assert_eq!(r.header_value("authorization"), Some("GenieKey key"));
        assert_eq!(
            json(r),
            json!({
                "message": "Kustomization/webapp",
                "description": "Service/apps/webapp configured",
                "details": {"revision": "r1", "severity": "error"},
            })
        );
    }
}
