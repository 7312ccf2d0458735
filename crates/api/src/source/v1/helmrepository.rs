//! `HelmRepository`: a Helm chart repository (HTTP index or OCI registry).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::OCIProvider;
use crate::meta::{AccessFrom, Artifact, LocalObjectReference};

/// Desired state of a HelmRepository: the repository address and how to reach it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "HelmRepository",
    plural = "helmrepositories",
    singular = "helmrepository",
    shortname = "helmrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    namespaced,
    status = "HelmRepositoryStatus",
    derive = "PartialEq",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "HelmRepository points at a Helm chart repository; for HTTP repositories its index is published as an artifact.",
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.url"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct HelmRepositorySpec {
    /// Repository address with protocol and host; `oci://` when `type` is `oci`.
    #[schemars(regex(pattern = r"^(http|https|oci)://.*$"))]
    pub url: String,
    /// Secret with `username`/`password` for basic auth (TLS keys here are deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Secret with a client certificate and key (`tls.crt`, `tls.key`) and/or a CA (`ca.crt`);
    /// takes precedence over TLS data in `secretRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Send the `secretRef` credentials to chart hosts other than the repository host too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_credentials: Option<bool>,
    /// How often the index is fetched (approximate, may be jittered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: Option<String>,
    /// Allow a plain-HTTP registry (`oci` type only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Time limit for index downloads and OCI operations; 60 seconds when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$"))]
    pub timeout: Option<String>,
    /// Stop reconciling this object while true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Namespaces allowed to reference this object (not enforced by Flux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
    /// Repository type: `default` (HTTP index) or `oci`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<HelmRepositoryType>,
    /// Authentication provider for `oci` repositories; `generic` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "generic"))]
    pub provider: Option<OCIProvider>,
}

/// Kind of Helm repository.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HelmRepositoryType {
    /// A classic repository serving `index.yaml` over HTTP(S).
    #[default]
    Default,
    /// Charts stored in an OCI registry.
    Oci,
}

/// Observed state of a HelmRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("default" = {"observedGeneration": -1}))]
pub struct HelmRepositoryStatus {
    /// Generation of the object last handled by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions of the HelmRepository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,
    /// Download address of the current index artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Artifact (the repository index) of the last successful reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Last reconcile-request annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl HelmRepository {
    /// The repository type, `default` when unset.
    pub fn repository_type(&self) -> HelmRepositoryType {
        self.spec.type_.unwrap_or_default()
    }

    /// Whether this repository lives in an OCI registry.
    pub fn is_oci(&self) -> bool {
        self.repository_type() == HelmRepositoryType::Oci
    }

    /// The authentication provider, `generic` when unset.
    pub fn provider(&self) -> OCIProvider {
        self.spec.provider.unwrap_or_default()
    }

    /// The reconciliation interval, one minute when unset.
    pub fn interval(&self) -> std::time::Duration {
        self.spec
            .interval
            .as_deref()
            .and_then(|d| crate::duration::parse(d).ok())
            .filter(|d| !d.is_zero())
            .unwrap_or(std::time::Duration::from_secs(60))
    }
}

crate::accessors!(HelmRepository {
    artifact,
    timeout_60s,
    suspended
});

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;
    use serde_json::{Value, json};

    fn crd() -> Value {
        serde_json::to_value(HelmRepository::crd()).unwrap()
    }

    #[test]
    fn crd_names_and_columns_match_flux() {
        let crd = crd();
        assert_eq!(
            crd["metadata"]["name"],
            "helmrepositories.source.toolkit.fluxcd.io"
        );
        let names = &crd["spec"]["names"];
        assert_eq!(names["kind"], "HelmRepository");
        assert_eq!(names["singular"], "helmrepository");
        assert_eq!(names["shortNames"], json!(["helmrepo"]));
        assert_eq!(
            names["categories"],
            json!(["all", "fluxcd", "fluxcd-sources"])
        );
        let cols: Vec<&str> = crd["spec"]["versions"][0]["additionalPrinterColumns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(cols, ["URL", "Age", "Ready", "Status"]);
    }

    #[test]
    fn schema_facts_match_flux() {
        let crd = crd();
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"];
        let spec = &root["spec"];
        assert_eq!(spec["required"], json!(["url"]));
        let p = &spec["properties"];
        assert_eq!(p["url"]["pattern"], "^(http|https|oci)://.*$");
        assert_eq!(p["type"]["enum"], json!(["default", "oci"]));
        assert!(p["type"].get("default").is_none());
        assert_eq!(p["provider"]["default"], "generic");
        assert!(p["timeout"].get("default").is_none());
        assert_eq!(p["accessFrom"]["required"], json!(["namespaceSelectors"]));
        assert_eq!(root["status"]["default"], json!({"observedGeneration": -1}));
    }

    const EXAMPLE: &str = r#"
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: podinfo
  namespace: default
spec:
  interval: 5m0s
  url: https://stefanprodan.github.io/podinfo
  secretRef:
    name: basic-auth
  certSecretRef:
    name: registry-tls
  passCredentials: true
  timeout: 1m
  accessFrom:
    namespaceSelectors:
      - matchLabels:
          kubernetes.io/metadata.name: apps
status:
  observedGeneration: 1
  url: http://source-controller.flux-system.svc.cluster.local./helmrepository/default/podinfo/index.yaml
  artifact:
    digest: sha256:d5d2c0bc7d6fcc3ab5cb3cc1a1c2a8e0bbd1a7b2ab0c1d4b7b8c1a2e3f4a5b6c
    lastUpdateTime: "2025-01-01T10:00:00Z"
    path: helmrepository/default/podinfo/index-d5d2c0bc.yaml
    revision: sha256:d5d2c0bc7d6fcc3ab5cb3cc1a1c2a8e0bbd1a7b2ab0c1d4b7b8c1a2e3f4a5b6c
    size: 40960
    url: http://source-controller.flux-system.svc.cluster.local./helmrepository/default/podinfo/index-d5d2c0bc.yaml
"#;

    #[test]
    fn yaml_round_trip() {
        let obj: HelmRepository = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert!(!obj.is_oci());
        assert_eq!(obj.interval(), std::time::Duration::from_secs(300));
        assert_eq!(obj.timeout(), std::time::Duration::from_secs(60));
        let value = serde_json::to_value(&obj).unwrap();
        let original: Value = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(value, original);
    }
}
