//! `HelmChart`: a Helm chart fetched from a source and packaged as an artifact.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{OCIVerificationProvider, OIDCIdentityMatch};
use crate::meta::{Artifact, LocalObjectReference};

/// Desired state of a HelmChart: which chart, from which source, at which version.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "HelmChart",
    plural = "helmcharts",
    singular = "helmchart",
    shortname = "hc",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    namespaced,
    status = "HelmChartStatus",
    derive = "PartialEq",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "HelmChart fetches (or packages) a Helm chart from a source and publishes it as an artifact.",
    printcolumn = r#"{"name":"Chart","type":"string","jsonPath":".spec.chart"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".spec.version"}"#,
    printcolumn = r#"{"name":"Source Kind","type":"string","jsonPath":".spec.sourceRef.kind"}"#,
    printcolumn = r#"{"name":"Source Name","type":"string","jsonPath":".spec.sourceRef.name"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!has(self.verify) || self.sourceRef.kind == 'HelmRepository'",
    "message": "spec.verify is only supported when spec.sourceRef.kind is 'HelmRepository'"
}]))]
pub struct HelmChartSpec {
    /// Chart name (in a HelmRepository) or path (in a GitRepository or Bucket).
    pub chart: String,
    /// Semantic-version range of the chart; ignored for Git and Bucket sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "*"))]
    pub version: Option<String>,
    /// Source the chart comes from.
    pub source_ref: LocalHelmChartSourceReference,
    /// How often the source is checked for a new chart (approximate, may be jittered).
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: String,
    /// What triggers a new artifact: a new chart version, or any new source revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "ChartVersion"))]
    pub reconcile_strategy: Option<ReconcileStrategy>,
    /// Values files, relative to the source, merged in order to replace the chart's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_files: Option<Vec<String>>,
    /// Skip missing values files instead of failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_missing_values_files: Option<bool>,
    /// Stop reconciling this object while true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Signature verification of OCI charts (HelmRepository sources of type `oci` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<HelmChartVerification>,
}

/// Kind of source a HelmChart can come from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum HelmChartSourceKind {
    /// A HelmRepository.
    HelmRepository,
    /// A GitRepository.
    GitRepository,
    /// A Bucket.
    Bucket,
}

impl HelmChartSourceKind {
    /// The kind name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::HelmRepository => "HelmRepository",
            Self::GitRepository => "GitRepository",
            Self::Bucket => "Bucket",
        }
    }
}

/// Reference to the source of a HelmChart, in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalHelmChartSourceReference {
    /// API version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source.
    pub kind: HelmChartSourceKind,
    /// Name of the source.
    pub name: String,
}

/// When a HelmChart produces a new artifact.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ReconcileStrategy {
    /// When the chart version changes.
    #[default]
    ChartVersion,
    /// When the source revision changes.
    Revision,
}

/// Signature verification settings for an OCI Helm chart.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartVerification {
    /// Signing technology to verify with.
    #[schemars(extend("default" = "cosign"))]
    pub provider: OCIVerificationProvider,
    /// Secret holding the trusted public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Accepted keyless-signing identities; any match verifies the chart.
    #[serde(
        rename = "matchOIDCIdentity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub match_oidc_identity: Option<Vec<OIDCIdentityMatch>>,
}

/// Observed state of a HelmChart.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("default" = {"observedGeneration": -1}))]
pub struct HelmChartStatus {
    /// Generation of the object last handled by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Source artifact revision the current chart was built from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_source_artifact_revision: Option<String>,
    /// Chart name resolved from the chart reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_chart_name: Option<String>,
    /// Values files merged into the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_values_files: Option<Vec<String>>,
    /// Current conditions of the HelmChart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,
    /// Download address of the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Artifact (the packaged chart) of the last successful reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Last reconcile-request annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl HelmChart {
    /// The version range, `*` when unset.
    pub fn version(&self) -> &str {
        match self.spec.version.as_deref() {
            Some(v) if !v.is_empty() => v,
            _ => "*",
        }
    }

    /// The reconcile strategy, `ChartVersion` when unset.
    pub fn reconcile_strategy(&self) -> ReconcileStrategy {
        self.spec.reconcile_strategy.unwrap_or_default()
    }

    /// The values files to merge, in order.
    pub fn values_files(&self) -> &[String] {
        self.spec.values_files.as_deref().unwrap_or(&[])
    }
}

crate::accessors!(HelmChart {
    artifact,
    interval,
    suspended
});

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;
    use serde_json::{Value, json};

    fn crd() -> Value {
        serde_json::to_value(HelmChart::crd()).unwrap()
    }

    #[test]
    fn crd_names_and_columns_match_flux() {
        let crd = crd();
        assert_eq!(
            crd["metadata"]["name"],
            "helmcharts.source.toolkit.fluxcd.io"
        );
        let names = &crd["spec"]["names"];
        assert_eq!(names["kind"], "HelmChart");
        assert_eq!(names["singular"], "helmchart");
        assert_eq!(names["shortNames"], json!(["hc"]));
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
        assert_eq!(
            cols,
            [
                "Chart",
                "Version",
                "Source Kind",
                "Source Name",
                "Age",
                "Ready",
                "Status"
            ]
        );
    }

    #[test]
    fn schema_facts_match_flux() {
        let crd = crd();
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"];
        let spec = &root["spec"];
        assert_eq!(spec["required"], json!(["chart", "interval", "sourceRef"]));
        let p = &spec["properties"];
        assert_eq!(p["version"]["default"], "*");
        assert_eq!(p["reconcileStrategy"]["default"], "ChartVersion");
        assert_eq!(
            p["reconcileStrategy"]["enum"],
            json!(["ChartVersion", "Revision"])
        );
        assert_eq!(
            p["sourceRef"]["properties"]["kind"]["enum"],
            json!(["HelmRepository", "GitRepository", "Bucket"])
        );
        assert_eq!(p["sourceRef"]["required"], json!(["kind", "name"]));
        assert_eq!(p["verify"]["required"], json!(["provider"]));
        assert!(
            p["verify"]["properties"]
                .get("trustedRootSecretRef")
                .is_none()
        );
        assert_eq!(
            spec["x-kubernetes-validations"].as_array().unwrap().len(),
            1
        );
        assert_eq!(root["status"]["default"], json!({"observedGeneration": -1}));
    }

    const EXAMPLE: &str = r#"
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata:
  name: podinfo
  namespace: default
spec:
  interval: 5m0s
  chart: podinfo
  reconcileStrategy: ChartVersion
  sourceRef:
    kind: HelmRepository
    name: podinfo
  version: "5.*"
  valuesFiles:
    - values.yaml
    - values-prod.yaml
  ignoreMissingValuesFiles: true
  verify:
    provider: cosign
    secretRef:
      name: cosign-public-keys
status:
  observedGeneration: 1
  observedChartName: podinfo
  observedSourceArtifactRevision: sha256:d5d2c0bc7d6fcc3ab5cb3cc1a1c2a8e0bbd1a7b2ab0c1d4b7b8c1a2e3f4a5b6c
  observedValuesFiles:
    - values.yaml
    - values-prod.yaml
  url: http://source-controller.flux-system.svc.cluster.local./helmchart/default/podinfo/latest.tar.gz
  artifact:
    digest: sha256:6c3cc3b955bce1686036ae6822ee2ca0ef6ecb994e3f2d19eaf3ec03dcba84b3
    lastUpdateTime: "2025-01-01T10:00:00Z"
    path: helmchart/default/podinfo/podinfo-5.2.1.tgz
    revision: 5.2.1
    size: 14166
    url: http://source-controller.flux-system.svc.cluster.local./helmchart/default/podinfo/podinfo-5.2.1.tgz
"#;

    #[test]
    fn yaml_round_trip() {
        let obj: HelmChart = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(
            obj.spec.source_ref.kind,
            HelmChartSourceKind::HelmRepository
        );
        assert_eq!(obj.version(), "5.*");
        assert_eq!(obj.values_files().len(), 2);
        let value = serde_json::to_value(&obj).unwrap();
        let original: Value = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(value, original);
    }
}
