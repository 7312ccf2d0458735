//! The `HelmRelease` kind: installs, upgrades, tests, rolls back and uninstalls a Helm
//! release from a chart provided by a source, and corrects drift of the release.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use crate::meta::{
    CommonMetadata, CustomHealthCheck, DependencyReference, Image, KubeConfigReference,
    LocalObjectReference, Patch, Selector,
};
pub use crate::meta::{ResourceInventory, ResourceRef, ValuesReference};
use crate::schema;

/// Kind name of the HelmRelease API.
pub const HELM_RELEASE_KIND: &str = "HelmRelease";
/// Finalizer the helm controller puts on HelmReleases.
pub const HELM_RELEASE_FINALIZER: &str = "finalizers.fluxcd.io";
/// Number of Helm release revisions kept when `maxHistory` is unset.
pub const DEFAULT_MAX_HISTORY: i64 = 5;
/// Timeout of Helm actions when `timeout` is unset (Go duration).
pub const DEFAULT_TIMEOUT: &str = "5m0s";
/// Label or annotation key excluding an object of a release from drift detection.
pub const DRIFT_DETECTION_METADATA_KEY: &str = "helm.toolkit.fluxcd.io/driftDetection";
/// Value of [`DRIFT_DETECTION_METADATA_KEY`] excluding the object.
pub const DRIFT_DETECTION_DISABLED_VALUE: &str = "disabled";

/// Condition type: outcome of the last install or upgrade.
pub const RELEASED_CONDITION: &str = "Released";
/// Condition type: outcome of the last Helm test run.
pub const TEST_SUCCESS_CONDITION: &str = "TestSuccess";
/// Condition type: outcome of the last rollback or uninstall done as remediation.
pub const REMEDIATED_CONDITION: &str = "Remediated";

/// Reason: the Helm install succeeded.
pub const INSTALL_SUCCEEDED_REASON: &str = "InstallSucceeded";
/// Reason: the Helm install failed.
pub const INSTALL_FAILED_REASON: &str = "InstallFailed";
/// Reason: the Helm upgrade succeeded.
pub const UPGRADE_SUCCEEDED_REASON: &str = "UpgradeSucceeded";
/// Reason: the Helm upgrade failed.
pub const UPGRADE_FAILED_REASON: &str = "UpgradeFailed";
/// Reason: the Helm tests passed.
pub const TEST_SUCCEEDED_REASON: &str = "TestSucceeded";
/// Reason: the Helm tests failed.
pub const TEST_FAILED_REASON: &str = "TestFailed";
/// Reason: the Helm rollback succeeded.
pub const ROLLBACK_SUCCEEDED_REASON: &str = "RollbackSucceeded";
/// Reason: the Helm rollback failed.
pub const ROLLBACK_FAILED_REASON: &str = "RollbackFailed";
/// Reason: the Helm uninstall succeeded.
pub const UNINSTALL_SUCCEEDED_REASON: &str = "UninstallSucceeded";
/// Reason: the Helm uninstall failed.
pub const UNINSTALL_FAILED_REASON: &str = "UninstallFailed";
/// Reason: downloading the chart artifact failed.
pub const ARTIFACT_FAILED_REASON: &str = "ArtifactFailed";
/// Reason: setting up the Helm configuration failed.
pub const INIT_FAILED_REASON: &str = "InitFailed";
/// Reason: reading the current release from the Helm storage failed.
pub const GET_LAST_RELEASE_FAILED_REASON: &str = "GetLastReleaseFailed";
/// Reason: a dependency is not ready.
pub const DEPENDENCY_NOT_READY_REASON: &str = "DependencyNotReady";
/// Reason: the reconciliation succeeded.
pub const RECONCILIATION_SUCCEEDED_REASON: &str = "ReconciliationSucceeded";
/// Reason: the reconciliation failed.
pub const RECONCILIATION_FAILED_REASON: &str = "ReconciliationFailed";
/// Reason (Stalled): no install or upgrade retries are left.
pub const RETRIES_EXCEEDED_REASON: &str = "RetriesExceeded";
/// Reason: computing the inventory of the release failed.
pub const INVENTORY_BUILD_FAILED_REASON: &str = "InventoryBuildFailed";
/// Reason: the namespace scope check was skipped because of a REST mapping error.
pub const NAMESPACE_CHECK_SKIPPED_REASON: &str = "NamespaceCheckSkipped";

/// Desired state of a HelmRelease: the chart, its values and how each Helm action runs.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "helm.toolkit.fluxcd.io",
    version = "v2",
    kind = "HelmRelease",
    plural = "helmreleases",
    shortname = "hr",
    namespaced,
    status = "HelmReleaseStatus",
    derive = "PartialEq",
    doc = "HelmRelease reconciles a Helm release from a chart and a set of values.",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))",
    "message": "either chart or chartRef must be set"
}]))]
pub struct HelmReleaseSpec {
    /// Template of the HelmChart the controller creates for this release (excludes `chartRef`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<HelmChartTemplate>,

    /// Source object whose artifact is the chart (excludes `chart`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_ref: Option<CrossNamespaceSourceReference>,

    /// Labels and annotations set on every object of the release, overriding existing keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,

    /// Objects that must be ready before this HelmRelease is reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<DependencyReference>>,

    /// How differences between the release manifest and the cluster are detected and handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_detection: Option<DriftDetection>,

    /// CEL health checks for custom resources, used when waiting with the `poller` strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_exprs: Option<Vec<CustomHealthCheck>>,

    /// Settings of Helm install actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<Install>,

    /// How often to reconcile (Go duration).
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: String,

    /// Credentials of a remote cluster to release to instead of the local one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,

    /// Release revisions kept by Helm; 0 for unlimited, 5 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::go_int")]
    pub max_history: Option<i64>,

    /// Reuse one Kubernetes client for the whole reconciliation (true when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_client: Option<bool>,

    /// How hooks are passed to post-renderers (`combined` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::optional::<PostRenderStrategy>")]
    pub post_render_strategy: Option<PostRenderStrategy>,

    /// Post-renderers applied, in order, to the rendered manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_renderers: Option<Vec<PostRenderer>>,

    /// Name of the Helm release; `[<targetNamespace>-]<name>` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 53))]
    pub release_name: Option<String>,

    /// Settings of Helm rollback actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,

    /// Service account to impersonate for the Helm actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub service_account_name: Option<String>,

    /// Namespace of the Helm storage; the HelmRelease's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub storage_namespace: Option<String>,

    /// Stop reconciling until unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,

    /// Namespace the release is installed into; the HelmRelease's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub target_namespace: Option<String>,

    /// Settings of Helm test actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Test>,

    /// Deadline of each Kubernetes operation during a Helm action (`5m0s` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub timeout: Option<String>,

    /// Settings of Helm uninstall actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uninstall: Option<Uninstall>,

    /// Settings of Helm upgrade actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<Upgrade>,

    /// Inline chart values, merged last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_fields")]
    pub values: Option<serde_json::Value>,

    /// ConfigMaps and Secrets holding values, merged in order before `values`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_from: Option<Vec<ValuesReference>>,

    /// How Helm waits for the applied objects to become ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_strategy: Option<WaitStrategy>,
}

/// Arbitrary JSON kept as is by the API server.
fn preserve_unknown_fields(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// Template of the HelmChart object generated for a HelmRelease.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplate {
    /// Labels and annotations of the generated HelmChart.
    #[serde(default, rename = "metadata", skip_serializing_if = "Option::is_none")]
    pub object_meta: Option<HelmChartTemplateObjectMeta>,
    /// Spec of the generated HelmChart.
    pub spec: HelmChartTemplateSpec,
}

/// Metadata template of the generated HelmChart.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplateObjectMeta {
    /// Annotations of the HelmChart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels of the HelmChart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// Spec template of the generated HelmChart.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplateSpec {
    /// Chart name (Helm repository) or path (Git repository, bucket) in the source.
    #[schemars(length(min = 1, max = 2048))]
    pub chart: String,
    /// Tolerate values files missing from the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_missing_values_files: Option<bool>,
    /// How often the source is checked for a new chart (defaults to the release interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: Option<String>,
    /// What produces a new chart artifact: a new chart version or any source revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::optional::<ReconcileStrategy>")]
    #[schemars(extend("default" = "ChartVersion"))]
    pub reconcile_strategy: Option<ReconcileStrategy>,
    /// Source holding the chart.
    pub source_ref: CrossNamespaceObjectReference,
    /// Values files of the chart merged in order (replacing the chart's `values.yaml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_files: Option<Vec<String>>,
    /// Signature verification of OCI charts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<HelmChartTemplateVerification>,
    /// Semver range of the chart version (ignored for Git and bucket sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "*"))]
    pub version: Option<String>,
}

/// What triggers a new chart artifact.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ReconcileStrategy {
    #[default]
    ChartVersion,
    Revision,
}

/// Signature verification settings of an OCI chart.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplateVerification {
    /// Signing technology.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::optional::<VerificationProvider>")]
    #[schemars(extend("default" = "cosign"))]
    pub provider: Option<VerificationProvider>,
    /// Secret holding the trusted public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// Chart signing technologies.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum VerificationProvider {
    #[default]
    #[serde(rename = "cosign")]
    Cosign,
    #[serde(rename = "notation")]
    Notation,
}

/// Reference to the source (in any namespace) a HelmChart is built from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceObjectReference {
    /// API version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source.
    pub kind: ChartSourceKind,
    /// Name of the source.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the source; the HelmRelease's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

/// Kinds of source a chart template can use.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ChartSourceKind {
    HelmRepository,
    GitRepository,
    Bucket,
}

/// Reference to a source object (in any namespace) whose artifact is a chart.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    /// API version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source.
    pub kind: ChartRefKind,
    /// Name of the source.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the source; the HelmRelease's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

/// Kinds of source `chartRef` can point at.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ChartRefKind {
    #[serde(rename = "OCIRepository")]
    OciRepository,
    HelmChart,
    ExternalArtifact,
}

/// Drift detection settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftDetection {
    /// Rules naming JSON pointers to ignore when comparing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<IgnoreRule>>,
    /// Whether drift is corrected, only reported, or not looked for (`disabled` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::optional::<DriftDetectionMode>")]
    pub mode: Option<DriftDetectionMode>,
}

/// Drift detection modes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum DriftDetectionMode {
    // Detect drift and correct it with an upgrade.
    #[serde(rename = "enabled")]
    Enabled,
    // Detect drift and only emit a warning.
    #[serde(rename = "warn")]
    Warn,
    // Do not look for drift.
    #[default]
    #[serde(rename = "disabled")]
    Disabled,
}

/// JSON pointers to ignore on the release objects matched by a selector.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreRule {
    /// JSON pointers (RFC 6901) excluded from the comparison.
    pub paths: Vec<String>,
    /// Objects the rule applies to; all objects of the release when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Selector>,
}

/// Settings of Helm install actions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Install {
    /// CRD policy for the chart's `crds/` directory (`Create` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::optional::<CrdsPolicy>")]
    pub crds: Option<CrdsPolicy>,
    /// Create the target namespace if missing (it is not deleted on uninstall).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_namespace: Option<bool>,
    /// Skip the chart hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,
    /// Skip validating the rendered manifests against the cluster's OpenAPI schema.
    #[serde(
        default,
        rename = "disableOpenAPIValidation",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_open_api_validation: Option<bool>,
    /// Skip validating the values against the chart's JSON schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_schema_validation: Option<bool>,
    /// Do not adopt existing objects of the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_take_ownership: Option<bool>,
    /// Do not wait for the objects to become ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,
    /// Do not wait for Jobs to complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait_for_jobs: Option<bool>,
    /// Failure handling of install actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<InstallRemediation>,
    /// Reuse the name of a deleted release still in the history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace: Option<bool>,
    /// Apply the objects with server-side apply (true when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_side_apply: Option<bool>,
    /// Do not install CRDs (deprecated, use `crds: Skip`).
    #[serde(default, rename = "skipCRDs", skip_serializing_if = "Option::is_none")]
    pub skip_crds: Option<bool>,
    /// Failure strategy of install actions (`RemediateOnFailure` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<ActionStrategy>,
    /// Deadline of each Kubernetes operation during the install (defaults to `spec.timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
}

/// Failure handling of install actions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallRemediation {
    /// Do not remediate failed tests run after an install (defaults to `test.ignoreFailures`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_test_failures: Option<bool>,
    /// Remediate (uninstall) the last failure when no retries are left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediate_last_failure: Option<bool>,
    /// Retries after a failed install, each after an uninstall; negative for unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::go_int")]
    pub retries: Option<i64>,
}

/// Strategy followed when an install or upgrade fails.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionStrategy {
    /// Name of the strategy.
    pub name: ActionStrategyName,
    /// Delay between retries with `RetryOnFailure` (`5m` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub retry_interval: Option<String>,
}

/// Names of the install/upgrade failure strategies.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ActionStrategyName {
    // Remediate (uninstall or roll back) then retry, as configured by `remediation`.
    RemediateOnFailure,
    // Retry at `retryInterval` without remediating.
    RetryOnFailure,
}

/// CRD handling policies for the chart's `crds/` directory.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum CrdsPolicy {
    // Neither create nor update CRDs.
    Skip,
    // Create missing CRDs, leave existing ones.
    Create,
    // Create missing CRDs and replace existing ones.
    CreateReplace,
}

/// Settings of Helm upgrade actions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upgrade {
    /// What to do when the chart name changes (`Reinstall` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::optional::<ChartNameChangeStrategy>")]
    pub chart_name_change_strategy: Option<ChartNameChangeStrategy>,
    /// Delete objects created by a failed upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup_on_fail: Option<bool>,
    /// CRD policy for the chart's `crds/` directory (`Skip` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::optional::<CrdsPolicy>")]
    pub crds: Option<CrdsPolicy>,
    /// Skip the chart hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,
    /// Skip validating the rendered manifests against the cluster's OpenAPI schema.
    #[serde(
        default,
        rename = "disableOpenAPIValidation",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_open_api_validation: Option<bool>,
    /// Skip validating the values against the chart's JSON schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_schema_validation: Option<bool>,
    /// Do not adopt existing objects of the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_take_ownership: Option<bool>,
    /// Do not wait for the objects to become ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,
    /// Do not wait for Jobs to complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait_for_jobs: Option<bool>,
    /// Replace objects on update conflicts (client-side apply only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Reuse the values of the previous release and merge `values` into them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_values: Option<bool>,
    /// Failure handling of upgrade actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<UpgradeRemediation>,
    /// Server-side apply usage (`auto`, following the previous release, when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::optional::<ServerSideApplyMode>")]
    pub server_side_apply: Option<ServerSideApplyMode>,
    /// Failure strategy of upgrade actions (`RemediateOnFailure` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<ActionStrategy>,
    /// Deadline of each Kubernetes operation during the upgrade (defaults to `spec.timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
}

/// Handling of a change of the chart name.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ChartNameChangeStrategy {
    // Uninstall the old release and install the new one.
    #[default]
    Reinstall,
    // Upgrade the release in place.
    InPlaceUpdate,
}

/// Server-side apply modes of upgrades and rollbacks.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ServerSideApplyMode {
    #[serde(rename = "enabled")]
    Enabled,
    #[serde(rename = "disabled")]
    Disabled,
    // Follow what the previous release used.
    #[default]
    #[serde(rename = "auto")]
    Auto,
}

/// Failure handling of upgrade actions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeRemediation {
    /// Do not remediate failed tests run after an upgrade (defaults to `test.ignoreFailures`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_test_failures: Option<bool>,
    /// Remediate the last failure when no retries are left (true when `retries` > 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediate_last_failure: Option<bool>,
    /// Retries after a failed upgrade, each after a remediation; negative for unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::go_int")]
    pub retries: Option<i64>,
    /// Remediation done between retries (`rollback` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::optional::<RemediationStrategy>")]
    pub strategy: Option<RemediationStrategy>,
}

/// Remediations of a failed upgrade.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum RemediationStrategy {
    #[default]
    #[serde(rename = "rollback")]
    Rollback,
    #[serde(rename = "uninstall")]
    Uninstall,
}

/// Settings of Helm test actions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Test {
    /// Run the chart tests after each install or upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    /// Tests to run or to skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<Filter>>,
    /// Do not remediate failed tests (overridable per action in `remediation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_failures: Option<bool>,
    /// Deadline of each Kubernetes operation during the tests (defaults to `spec.timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
}

/// Selects one Helm test.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Skip the test instead of running it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
    /// Name of the test.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Settings of Helm rollback actions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rollback {
    /// Delete objects created by a failed rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup_on_fail: Option<bool>,
    /// Skip the chart hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,
    /// Do not wait for the objects to become ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,
    /// Do not wait for Jobs to complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait_for_jobs: Option<bool>,
    /// Replace objects on update conflicts (client-side apply only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Restart the pods of the release (deprecated, no effect with Helm 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recreate: Option<bool>,
    /// Server-side apply usage (`auto`, following the previous release, when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::optional::<ServerSideApplyMode>")]
    pub server_side_apply: Option<ServerSideApplyMode>,
    /// Deadline of each Kubernetes operation during the rollback (defaults to `spec.timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
}

/// Settings of Helm uninstall actions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Uninstall {
    /// Deletion propagation policy of the release objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::optional::<DeletionPropagation>")]
    #[schemars(extend("default" = "background"))]
    pub deletion_propagation: Option<DeletionPropagation>,
    /// Skip the chart hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,
    /// Do not wait for the objects to be deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,
    /// Keep the release history, marking the release as uninstalled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_history: Option<bool>,
    /// Deadline of each Kubernetes operation during the uninstall (defaults to `spec.timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
}

/// Deletion propagation policies.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum DeletionPropagation {
    #[default]
    #[serde(rename = "background")]
    Background,
    #[serde(rename = "foreground")]
    Foreground,
    #[serde(rename = "orphan")]
    Orphan,
}

/// Strategies for passing hooks to post-renderers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum PostRenderStrategy {
    // Hooks bypass the post-renderers (Helm 3 behaviour).
    #[serde(rename = "nohooks")]
    NoHooks,
    // Hooks and templates go through the post-renderers together.
    #[serde(rename = "combined")]
    Combined,
    // Hooks and templates go through the post-renderers separately.
    #[serde(rename = "separate")]
    Separate,
}

/// A post-renderer of the rendered manifests.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostRenderer {
    /// Kustomize patches and image overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<Kustomize>,
}

/// Kustomize post-renderer settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Kustomize {
    /// Image name, tag or digest overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<Image>>,
    /// Strategic-merge or JSON6902 patches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches: Option<Vec<Patch>>,
}

/// How Helm waits for applied objects.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitStrategy {
    /// Wait strategy (`poller` when unset).
    pub name: WaitStrategyName,
}

/// Helm wait strategies.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum WaitStrategyName {
    // Poll object statuses with kstatus.
    #[serde(rename = "poller")]
    Poller,
    // Helm 3's waiting logic.
    #[serde(rename = "legacy")]
    Legacy,
}

/// Observed state of a HelmRelease.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("default" = {"observedGeneration": -1}))]
pub struct HelmReleaseStatus {
    /// Conditions of the HelmRelease (Ready, Released, TestSuccess, Remediated, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,

    /// Failed reconciliations since the desired state last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<i64>,

    /// `<namespace>/<name>` of the HelmChart created for the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_chart: Option<String>,

    /// Releases made for this HelmRelease, newest first, down to the last successful one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Snapshot>>,

    /// Failed installs since the desired state last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_failures: Option<i64>,

    /// Objects applied by the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,

    /// Digest of the values of the last attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_config_digest: Option<String>,

    /// Generation of the object last attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_generation: Option<i64>,

    /// Last release action attempted; selects the active retry or remediation settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::optional::<ReleaseAction>")]
    pub last_attempted_release_action: Option<ReleaseAction>,

    /// How long the last release action took (Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_release_action_duration: Option<String>,

    /// Chart version of the last attempt (with `+<digest prefix>` for OCI sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,

    /// Artifact digest of the last attempt (OCI sources only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision_digest: Option<String>,

    /// SHA1 of the values of the last attempt (deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_values_checksum: Option<String>,

    /// Last force-request annotation value acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_force_at: Option<String>,

    /// Last reconcile-request annotation value acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,

    /// Last reset-request annotation value acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reset_at: Option<String>,

    /// Revision of the last successful release (deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::go_int")]
    pub last_release_revision: Option<i64>,

    /// Digest of `commonMetadata` at the last successful reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_common_metadata_digest: Option<String>,

    /// Generation of the object last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Digest of the post-renderers at the last successful reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_post_renderers_digest: Option<String>,

    /// Namespace of the Helm storage of the current release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub storage_namespace: Option<String>,

    /// Failed upgrades since the desired state last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_failures: Option<i64>,
}

/// Helm release actions that count for remediation.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ReleaseAction {
    #[serde(rename = "install")]
    Install,
    #[serde(rename = "upgrade")]
    Upgrade,
}

/// Point-in-time record of a Helm release made by the controller.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Action that produced this release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Version of the snapshot format (tells how `digest` was computed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// App version of the chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// Name of the chart.
    pub chart_name: String,
    /// Version of the chart.
    pub chart_version: String,
    /// Digest `<algo>:<checksum>` of the release values.
    pub config_digest: String,
    /// When the release was deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Time>,
    /// Digest `<algo>:<checksum>` of the release object in storage.
    pub digest: String,
    /// When the release was first deployed.
    pub first_deployed: Time,
    /// When the release was last deployed.
    pub last_deployed: Time,
    /// Name of the release.
    pub name: String,
    /// Namespace of the release.
    pub namespace: String,
    /// Digest of the OCI artifact the chart came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci_digest: Option<String>,
    /// Helm status of the release (`deployed`, `superseded`, `failed`, ...).
    pub status: String,
    /// Test hooks of the release as observed by the controller, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_hooks: Option<BTreeMap<String, TestHookStatus>>,
    /// Revision of the release in storage.
    #[schemars(schema_with = "schema::go_int")]
    pub version: i64,
}

impl Snapshot {
    /// `<namespace>/<name>.v<version>`.
    pub fn full_release_name(&self) -> String {
        format!("{}/{}.v{}", self.namespace, self.name, self.version)
    }

    /// `<chart name>@<chart version>`.
    pub fn versioned_chart_name(&self) -> String {
        format!("{}@{}", self.chart_name, self.chart_version)
    }
}

/// Observed run of a Helm test hook.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestHookStatus {
    /// When the hook last completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_completed: Option<Time>,
    /// When the hook last started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_started: Option<Time>,
    /// Phase the hook was last seen in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

impl HelmRelease {
    /// Name of the Helm release: `releaseName`, else `[<targetNamespace>-]<name>`
    /// (without the shortening Flux applies past 53 characters).
    pub fn release_name(&self) -> String {
        if let Some(name) = &self.spec.release_name {
            return name.clone();
        }
        let name = self.metadata.name.clone().unwrap_or_default();
        match &self.spec.target_namespace {
            Some(ns) => format!("{ns}-{name}"),
            None => name,
        }
    }

    /// Namespace the release is installed into.
    pub fn release_namespace(&self) -> Option<String> {
        self.spec
            .target_namespace
            .clone()
            .or_else(|| self.metadata.namespace.clone())
    }

    /// Namespace of the Helm storage.
    pub fn storage_namespace(&self) -> Option<String> {
        self.spec
            .storage_namespace
            .clone()
            .or_else(|| self.metadata.namespace.clone())
    }

    /// Number of release revisions Helm keeps.
    pub fn max_history(&self) -> i64 {
        self.spec.max_history.unwrap_or(DEFAULT_MAX_HISTORY)
    }

    /// Whether a persistent Kubernetes client is used.
    pub fn persistent_client(&self) -> bool {
        self.spec.persistent_client.unwrap_or(true)
    }

    /// Name of the HelmChart generated for a chart template: `<namespace>-<name>`.
    pub fn helm_chart_name(&self) -> String {
        format!(
            "{}-{}",
            self.metadata.namespace.as_deref().unwrap_or_default(),
            self.metadata.name.as_deref().unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;
    use serde_json::{Value, json};

    fn crd_json() -> Value {
        serde_json::to_value(HelmRelease::crd()).unwrap()
    }

    #[test]
    fn crd_names_match_flux() {
        let crd = crd_json();
        assert_eq!(
            crd["metadata"]["name"],
            "helmreleases.helm.toolkit.fluxcd.io"
        );
        let names = &crd["spec"]["names"];
        assert_eq!(names["kind"], "HelmRelease");
        assert_eq!(names["plural"], "helmreleases");
        assert_eq!(names["singular"], "helmrelease");
        assert_eq!(names["shortNames"], json!(["hr"]));
        assert_eq!(
            names["categories"],
            json!(["all", "fluxcd", "fluxcd-appliers"])
        );
        assert_eq!(crd["spec"]["scope"], "Namespaced");
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], "v2");
        assert_eq!(version["subresources"], json!({"status": {}}));
        assert_eq!(
            version["additionalPrinterColumns"],
            json!([
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                {"name": "Status", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].message"}
            ])
        );
    }

    #[test]
    fn crd_schema_facts() {
        let crd = crd_json();
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let spec = &root["properties"]["spec"];
        assert_eq!(spec["required"], json!(["interval"]));
        assert_eq!(
            spec["x-kubernetes-validations"][0]["message"],
            "either chart or chartRef must be set"
        );
        let p = &spec["properties"];
        assert_eq!(
            p["values"],
            json!({
                "description": "Inline chart values, merged last.",
                "x-kubernetes-preserve-unknown-fields": true
            })
        );
        assert_eq!(p["maxHistory"]["type"], "integer");
        assert!(p["maxHistory"].get("format").is_none());
        assert_eq!(p["releaseName"]["maxLength"], json!(53));
        let chart_spec = &p["chart"]["properties"]["spec"];
        assert_eq!(chart_spec["required"], json!(["chart", "sourceRef"]));
        assert_eq!(chart_spec["properties"]["version"]["default"], "*");
        assert_eq!(
            chart_spec["properties"]["reconcileStrategy"]["default"],
            "ChartVersion"
        );
        assert_eq!(
            chart_spec["properties"]["reconcileStrategy"]["enum"],
            json!(["ChartVersion", "Revision"])
        );
        assert_eq!(
            chart_spec["properties"]["sourceRef"]["properties"]["kind"]["enum"],
            json!(["HelmRepository", "GitRepository", "Bucket"])
        );
        assert_eq!(
            p["chartRef"]["properties"]["kind"]["enum"],
            json!(["OCIRepository", "HelmChart", "ExternalArtifact"])
        );
        assert_eq!(
            p["install"]["properties"]["crds"]["enum"],
            json!(["Skip", "Create", "CreateReplace"])
        );
        assert!(p["install"]["properties"]["disableOpenAPIValidation"].is_object());
        assert!(p["install"]["properties"]["skipCRDs"].is_object());
        assert_eq!(
            p["install"]["properties"]["strategy"]["properties"]["name"]["enum"],
            json!(["RemediateOnFailure", "RetryOnFailure"])
        );
        assert_eq!(
            p["upgrade"]["properties"]["remediation"]["properties"]["strategy"]["enum"],
            json!(["rollback", "uninstall"])
        );
        assert_eq!(
            p["upgrade"]["properties"]["serverSideApply"]["enum"],
            json!(["enabled", "disabled", "auto"])
        );
        assert_eq!(
            p["uninstall"]["properties"]["deletionPropagation"]["default"],
            "background"
        );
        assert_eq!(
            p["driftDetection"]["properties"]["mode"]["enum"],
            json!(["enabled", "warn", "disabled"])
        );
        assert_eq!(
            p["valuesFrom"]["items"]["properties"]["kind"],
            json!({"description": "Kind of the referenced object.", "type": "string", "enum": ["Secret", "ConfigMap"]})
        );
        assert_eq!(
            p["postRenderStrategy"]["enum"],
            json!(["nohooks", "combined", "separate"])
        );
        let status = &root["properties"]["status"];
        assert_eq!(status["default"], json!({"observedGeneration": -1}));
        let sp = &status["properties"];
        assert_eq!(
            sp["lastAttemptedReleaseAction"]["enum"],
            json!(["install", "upgrade"])
        );
        assert_eq!(sp["failures"]["format"], "int64");
        let hist = &sp["history"]["items"];
        assert_eq!(
            hist["required"],
            json!([
                "chartName",
                "chartVersion",
                "configDigest",
                "digest",
                "firstDeployed",
                "lastDeployed",
                "name",
                "namespace",
                "status",
                "version"
            ])
        );
        assert_eq!(hist["properties"]["firstDeployed"]["format"], "date-time");
        assert_eq!(
            sp["conditions"]["items"]["properties"]["status"]["enum"],
            json!(["True", "False", "Unknown"])
        );
    }

    const EXAMPLE: &str = r#"
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: default
spec:
  interval: 15m
  timeout: 5m
  chart:
    metadata:
      labels:
        team: apps
    spec:
      chart: podinfo
      version: '6.5.*'
      sourceRef:
        kind: HelmRepository
        name: podinfo
        namespace: flux-system
      interval: 5m
      reconcileStrategy: ChartVersion
      valuesFiles:
        - values.yaml
        - values-prod.yaml
      verify:
        provider: cosign
        secretRef:
          name: cosign-pub
  releaseName: podinfo
  targetNamespace: podinfo
  storageNamespace: default
  maxHistory: 3
  dependsOn:
    - name: cert-manager
      namespace: cert-manager
  install:
    crds: CreateReplace
    createNamespace: true
    disableOpenAPIValidation: false
    skipCRDs: false
    remediation:
      retries: 3
    strategy:
      name: RetryOnFailure
      retryInterval: 2m
  upgrade:
    cleanupOnFail: true
    crds: CreateReplace
    serverSideApply: auto
    remediation:
      retries: -1
      remediateLastFailure: true
      strategy: rollback
  test:
    enable: true
    filters:
      - name: podinfo-jwt-test
        exclude: true
  rollback:
    cleanupOnFail: true
    recreate: false
  uninstall:
    keepHistory: false
    deletionPropagation: foreground
  driftDetection:
    mode: enabled
    ignore:
      - paths: ["/spec/replicas"]
        target:
          kind: Deployment
  waitStrategy:
    name: poller
  postRenderStrategy: combined
  postRenderers:
    - kustomize:
        patches:
          - target:
              kind: Deployment
              name: podinfo
            patch: |
              - op: add
                path: /metadata/annotations/team
                value: apps
        images:
          - name: ghcr.io/stefanprodan/podinfo
            newTag: 6.5.4
  valuesFrom:
    - kind: ConfigMap
      name: podinfo-values
      valuesKey: values.yaml
    - kind: Secret
      name: podinfo-secret
      targetPath: ingress.tls[0].secretName
      literal: true
      optional: true
  values:
    replicaCount: 2
    ingress:
      enabled: true
      hosts:
        - host: podinfo.example.com
status:
  observedGeneration: 2
  lastAttemptedGeneration: 2
  helmChart: flux-system/default-podinfo
  storageNamespace: default
  lastAttemptedRevision: 6.5.4
  lastAttemptedConfigDigest: sha256:e15c415d62760896bd8bec192a44c5716dc224db9e0fc609b9ac14718f8f9e56
  lastAttemptedReleaseAction: upgrade
  lastAttemptedReleaseActionDuration: 12.5s
  failures: 1
  upgradeFailures: 1
  conditions:
    - type: Ready
      status: "True"
      reason: UpgradeSucceeded
      message: Helm upgrade succeeded for release podinfo/podinfo.v2 with chart podinfo@6.5.4
      lastTransitionTime: "2024-05-07T04:54:55Z"
      observedGeneration: 2
  history:
    - name: podinfo
      namespace: podinfo
      version: 2
      status: deployed
      action: upgrade
      chartName: podinfo
      chartVersion: 6.5.4
      appVersion: 6.5.4
      configDigest: sha256:e15c415d62760896bd8bec192a44c5716dc224db9e0fc609b9ac14718f8f9e56
      digest: sha256:e59349a6d8cf01d625de9fe73efd94b5e2a8cc8453d1b893ec367cfa2105bae9
      firstDeployed: "2024-05-07T04:54:21Z"
      lastDeployed: "2024-05-07T04:54:55Z"
      testHooks:
        podinfo-grpc-test-goyey:
          lastStarted: "2024-05-07T04:55:09Z"
          lastCompleted: "2024-05-07T04:55:11Z"
          phase: Succeeded
  inventory:
    entries:
      - id: podinfo_podinfo_apps_Deployment
        v: v1
"#;

    #[test]
    fn yaml_round_trip() {
        let hr: HelmRelease = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(hr.release_name(), "podinfo");
        assert_eq!(hr.max_history(), 3);
        assert_eq!(hr.spec.values.as_ref().unwrap()["replicaCount"], json!(2));
        let install = hr.spec.install.as_ref().unwrap();
        assert_eq!(
            install.strategy.as_ref().unwrap().name,
            ActionStrategyName::RetryOnFailure
        );
        let history = hr.status.as_ref().unwrap().history.as_ref().unwrap();
        assert_eq!(history[0].full_release_name(), "podinfo/podinfo.v2");
        let value = serde_json::to_value(&hr).unwrap();
        let original: Value = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(value, original);
        let back: HelmRelease = serde_json::from_value(value).unwrap();
        assert_eq!(back, hr);
    }
}
