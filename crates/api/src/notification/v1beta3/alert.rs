//! The `Alert` kind: selects events emitted by Flux objects and forwards them to a
//! Provider.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::LocalObjectReference;
use crate::notification::v1::CrossNamespaceObjectReference;
use crate::schema;

/// Kind name of the Alert API.
pub const ALERT_KIND: &str = "Alert";

/// Desired state of an Alert: which events to forward, filtered how, to which Provider.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta3",
    kind = "Alert",
    plural = "alerts",
    namespaced,
    derive = "PartialEq",
    doc = "Alert forwards the events of selected Flux objects to a Provider.",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct AlertSpec {
    /// Metadata added to the forwarded events; keys already set by the emitter are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_metadata: Option<BTreeMap<String, String>>,

    /// Minimum severity forwarded: `info` forwards everything, `error` only errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::optional::<EventSeverity>")]
    #[schemars(extend("default" = "info"))]
    pub event_severity: Option<EventSeverity>,

    /// Objects whose events are forwarded, by kind, name, namespace and labels.
    pub event_sources: Vec<CrossNamespaceObjectReference>,

    /// Regular expressions; matching messages are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_list: Option<Vec<String>>,

    /// Regular expressions; when set, only matching messages are forwarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_list: Option<Vec<String>>,

    /// Provider the events are sent to.
    pub provider_ref: LocalObjectReference,

    /// Short description of the impact and the affected cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub summary: Option<String>,

    /// Stop forwarding events until unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// Event severities an Alert filters on.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum EventSeverity {
    #[default]
    #[serde(rename = "info")]
    Info,
    #[serde(rename = "error")]
    Error,
}

impl Alert {
    /// The severity filter, `info` when unset.
    pub fn event_severity(&self) -> EventSeverity {
        self.spec.event_severity.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::v1::ObjectKind;
    use kube::CustomResourceExt;
    use serde_json::{Value, json};

    fn crd_json() -> Value {
        serde_json::to_value(Alert::crd()).unwrap()
    }

    #[test]
    fn crd_names_match_flux() {
        let crd = crd_json();
        assert_eq!(
            crd["metadata"]["name"],
            "alerts.notification.toolkit.fluxcd.io"
        );
        let names = &crd["spec"]["names"];
        assert_eq!(names["kind"], "Alert");
        assert_eq!(names["plural"], "alerts");
        assert_eq!(names["singular"], "alert");
        assert!(names.get("shortNames").is_none());
        assert_eq!(
            names["categories"],
            json!(["all", "fluxcd", "fluxcd-notifications"])
        );
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], "v1beta3");
        assert!(version.get("subresources").is_none());
        assert_eq!(
            version["additionalPrinterColumns"],
            json!([{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}])
        );
    }

    #[test]
    fn crd_schema_facts() {
        let crd = crd_json();
        let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert_eq!(spec["required"], json!(["eventSources", "providerRef"]));
        let p = &spec["properties"];
        assert_eq!(p["eventSeverity"]["enum"], json!(["info", "error"]));
        assert_eq!(p["eventSeverity"]["default"], "info");
        assert_eq!(p["summary"]["maxLength"], json!(255));
        let kinds = p["eventSources"]["items"]["properties"]["kind"]["enum"]
            .as_array()
            .unwrap();
        assert_eq!(kinds.len(), 12);
        assert!(kinds.contains(&json!("OCIRepository")));
        assert_eq!(p["providerRef"]["required"], json!(["name"]));
    }

    const EXAMPLE: &str = r#"
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: on-call-webapp
  namespace: flux-system
spec:
  summary: "Cluster addons impacted in us-east-2"
  providerRef:
    name: slack-bot
  eventSeverity: error
  eventSources:
    - kind: GitRepository
      name: "*"
    - kind: Kustomization
      name: "*"
      namespace: apps
      matchLabels:
        team: webapp
    - kind: HelmRelease
      name: podinfo
      namespace: default
  eventMetadata:
    env: production
    cluster: us-east-2
  inclusionList:
    - ".*succeeded.*"
  exclusionList:
    - "^Dependencies.*"
"#;

    #[test]
    fn yaml_round_trip() {
        let alert: Alert = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(alert.event_severity(), EventSeverity::Error);
        assert_eq!(alert.spec.event_sources[1].kind, ObjectKind::Kustomization);
        let value = serde_json::to_value(&alert).unwrap();
        let original: Value = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(value, original);
        let back: Alert = serde_json::from_value(value).unwrap();
        assert_eq!(back, alert);
    }
}
