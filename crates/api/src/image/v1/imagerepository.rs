//! `ImageRepository`: periodic scan of the tags of a container image repository.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{AccessFrom, LocalObjectReference};
use crate::source::v1::OCIProvider;

/// Tag exclusion applied when `exclusionList` is unset: cosign signature tags.
pub const DEFAULT_EXCLUSION_LIST: &[&str] = &[r"^.*\.sig$"];

/// Desired state of an ImageRepository: which image to scan, how often and with which credentials.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1",
    kind = "ImageRepository",
    plural = "imagerepositories",
    singular = "imagerepository",
    shortname = "imgrepo",
    shortname = "imagerepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-images",
    namespaced,
    status = "ImageRepositoryStatus",
    derive = "PartialEq",
    doc = "ImageRepository scans a container image repository and records its tags.",
    printcolumn = r#"{"name":"Image","type":"string","jsonPath":".spec.image"}"#,
    printcolumn = r#"{"name":"Tags","type":"string","jsonPath":".status.lastScanResult.tagCount"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Last scan","type":"string","jsonPath":".status.lastScanResult.scanTime","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ImageRepositorySpec {
    /// Image repository to scan, e.g. `ghcr.io/stefanprodan/podinfo`.
    pub image: String,
    /// Time between two scans.
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: String,
    /// Time limit of a scan; the interval when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$"))]
    pub timeout: Option<String>,
    /// Secret of type `kubernetes.io/dockerconfigjson` with registry credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Secret with the proxy settings to reach the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// ServiceAccount whose image pull secrets (or workload identity) are used to authenticate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub service_account_name: Option<String>,
    /// Secret with a client certificate and key (`tls.crt`, `tls.key`) and/or a CA (`ca.crt`)
    /// for the registry connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Stop scanning while true (a scan in progress completes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Namespaces whose ImagePolicies may reference this repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
    /// Regular expressions of tags to leave out of the scan results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 25), extend("default" = [r"^.*\.sig$"]))]
    pub exclusion_list: Option<Vec<String>>,
    /// Registry authentication provider; `generic` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "generic"))]
    pub provider: Option<OCIProvider>,
    /// Allow a plain-HTTP registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
}

/// Summary of the last scan of an image repository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanResult {
    /// Stable hash of the scanned tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Number of tags found.
    #[schemars(schema_with = "crate::schema::go_int")]
    pub tag_count: i64,
    /// When the scan ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_time: Option<Time>,
    /// Up to ten tags, the first ones in descending alphabetical order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_tags: Option<Vec<String>>,
}

/// Observed state of an ImageRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("default" = {"observedGeneration": -1}))]
pub struct ImageRepositoryStatus {
    /// Current conditions of the ImageRepository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,
    /// Generation of the object last handled by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Fully qualified image name, e.g. `docker.io/library/alpine` for `alpine`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_image_name: Option<String>,
    /// Result of the last scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scan_result: Option<ScanResult>,
    /// Exclusion list applied to produce the last scan result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_exclusion_list: Option<Vec<String>>,
    /// Last reconcile-request annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl ImageRepository {
    /// The scan timeout: `timeout`, else the interval, and never below one second.
    pub fn timeout(&self) -> std::time::Duration {
        let configured = self
            .spec
            .timeout
            .as_deref()
            .and_then(|d| crate::duration::parse(d).ok())
            .or_else(|| self.interval())
            .unwrap_or_default();
        configured.max(std::time::Duration::from_secs(1))
    }

    /// The tag exclusion patterns, with Flux's default when unset or empty.
    pub fn exclusion_list(&self) -> Vec<String> {
        match self.spec.exclusion_list.as_deref() {
            Some(list) if !list.is_empty() => list.to_vec(),
            _ => DEFAULT_EXCLUSION_LIST
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }

    /// The authentication provider, `generic` when unset.
    pub fn provider(&self) -> OCIProvider {
        self.spec.provider.unwrap_or_default()
    }
}

crate::accessors!(ImageRepository {
    interval,
    suspended
});

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;
    use serde_json::{Value, json};

    fn crd() -> Value {
        serde_json::to_value(ImageRepository::crd()).unwrap()
    }

    #[test]
    fn crd_names_and_columns_match_flux() {
        let crd = crd();
        assert_eq!(
            crd["metadata"]["name"],
            "imagerepositories.image.toolkit.fluxcd.io"
        );
        let names = &crd["spec"]["names"];
        assert_eq!(names["kind"], "ImageRepository");
        assert_eq!(names["singular"], "imagerepository");
        assert_eq!(names["shortNames"], json!(["imgrepo", "imagerepo"]));
        assert_eq!(
            names["categories"],
            json!(["all", "fluxcd", "fluxcd-images"])
        );
        let cols = crd["spec"]["versions"][0]["additionalPrinterColumns"]
            .as_array()
            .unwrap();
        let names: Vec<&str> = cols.iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["Image", "Tags", "Ready", "Status", "Last scan", "Age"]
        );
        assert_eq!(cols[4]["priority"], 1);
    }

    #[test]
    fn schema_facts_match_flux() {
        let crd = crd();
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"];
        let spec = &root["spec"];
        assert_eq!(spec["required"], json!(["image", "interval"]));
        let p = &spec["properties"];
        assert_eq!(p["exclusionList"]["default"], json!([r"^.*\.sig$"]));
        assert_eq!(p["exclusionList"]["maxItems"], 25);
        assert_eq!(p["serviceAccountName"]["maxLength"], 253);
        assert_eq!(p["provider"]["default"], "generic");
        assert_eq!(
            p["provider"]["enum"],
            json!(["generic", "aws", "azure", "gcp"])
        );
        let scan = &root["status"]["properties"]["lastScanResult"];
        assert_eq!(scan["required"], json!(["tagCount"]));
        assert_eq!(scan["properties"]["tagCount"]["type"], "integer");
        assert!(scan["properties"]["tagCount"].get("format").is_none());
        assert_eq!(root["status"]["default"], json!({"observedGeneration": -1}));
    }

    const EXAMPLE: &str = r#"
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  image: ghcr.io/stefanprodan/podinfo
  interval: 5m
  timeout: 1m
  provider: generic
  secretRef:
    name: regcred
  exclusionList:
    - "^.*\\.sig$"
    - "^.*-rc.*$"
  accessFrom:
    namespaceSelectors:
      - matchLabels:
          kubernetes.io/metadata.name: apps
status:
  observedGeneration: 1
  canonicalImageName: ghcr.io/stefanprodan/podinfo
  lastScanResult:
    revision: sha256:2c1a4f2e0c4ea5b5e8a7bdf2cf9e64ebb9e6b0b1d2d6a3dbf9c3f8a1a0c1b2d3
    tagCount: 42
    scanTime: "2025-01-01T10:00:00Z"
    latestTags:
      - 6.7.1
      - 6.7.0
  observedExclusionList:
    - "^.*\\.sig$"
    - "^.*-rc.*$"
"#;

    #[test]
    fn yaml_round_trip() {
        let obj: ImageRepository = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(obj.timeout(), std::time::Duration::from_secs(60));
        assert_eq!(obj.exclusion_list().len(), 2);
        assert_eq!(
            obj.status
                .as_ref()
                .unwrap()
                .last_scan_result
                .as_ref()
                .unwrap()
                .tag_count,
            42
        );
        let value = serde_json::to_value(&obj).unwrap();
        let original: Value = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(value, original);
    }
}
