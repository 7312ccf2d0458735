//! The `Kustomization` kind: builds a kustomize overlay (or plain manifests) from a
//! source artifact and applies the result to a cluster, with pruning and health checks.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{
    CommonMetadata, DependencyReference, Image, KubeConfigReference, LocalObjectReference,
    NamespacedObjectKindReference, Patch, Selector, Snapshot,
};
pub use crate::meta::{CustomHealthCheck, ResourceInventory, ResourceRef};
use crate::schema;

/// Kind name of the Kustomization API.
pub const KUSTOMIZATION_KIND: &str = "Kustomization";
/// Finalizer the kustomize controller puts on Kustomizations.
pub const KUSTOMIZATION_FINALIZER: &str = "finalizers.fluxcd.io";
/// Longest condition message the controller writes.
pub const MAX_CONDITION_MESSAGE_LENGTH: usize = 20000;

/// Annotation value turning a per-object behaviour on.
pub const ENABLED_VALUE: &str = "enabled";
/// Annotation value turning a per-object behaviour off.
pub const DISABLED_VALUE: &str = "disabled";
/// `kustomize.toolkit.fluxcd.io/ssa` value: merge fields instead of overriding them.
pub const MERGE_VALUE: &str = "Merge";
/// `kustomize.toolkit.fluxcd.io/ssa` value: create the object only when it is missing.
pub const IF_NOT_PRESENT_VALUE: &str = "IfNotPresent";
/// `kustomize.toolkit.fluxcd.io/ssa` value: never apply the object.
pub const IGNORE_VALUE: &str = "Ignore";

/// Annotation selecting the server-side apply policy of an applied object.
pub const SSA_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/ssa";
/// Annotation (`disabled`) protecting an applied object from garbage collection.
pub const PRUNE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/prune";
/// Annotation (`enabled`) letting the controller recreate an object on immutable-field errors.
pub const FORCE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/force";
/// Annotation (`disabled`) excluding an object from reconciliation.
pub const RECONCILE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/reconcile";
/// Annotation (`disabled`) switching off variable substitution for an object.
pub const SUBSTITUTE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// Condition type: result of the last health assessment.
pub const HEALTHY_CONDITION: &str = "Healthy";
/// Reason: garbage collection of stale objects failed.
pub const PRUNE_FAILED_REASON: &str = "PruneFailed";
/// Reason: downloading the source artifact failed.
pub const ARTIFACT_FAILED_REASON: &str = "ArtifactFailed";
/// Reason: building the kustomize overlay failed.
pub const BUILD_FAILED_REASON: &str = "BuildFailed";
/// Reason: at least one health check failed.
pub const HEALTH_CHECK_FAILED_REASON: &str = "HealthCheckFailed";
/// Reason: a dependency is not ready.
pub const DEPENDENCY_NOT_READY_REASON: &str = "DependencyNotReady";
/// Reason: the reconciliation succeeded.
pub const RECONCILIATION_SUCCEEDED_REASON: &str = "ReconciliationSucceeded";
/// Reason: the reconciliation failed.
pub const RECONCILIATION_FAILED_REASON: &str = "ReconciliationFailed";
/// Reason: the reconciliation hit an error and will be retried.
pub const PROGRESSING_WITH_RETRY_REASON: &str = "ProgressingWithRetry";

/// Desired state of a Kustomization: which source path to build, how, and how to apply it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kustomize.toolkit.fluxcd.io",
    version = "v1",
    kind = "Kustomization",
    plural = "kustomizations",
    shortname = "ks",
    namespaced,
    status = "KustomizationStatus",
    derive = "PartialEq",
    doc = "Kustomization builds and applies the manifests found at a path of a source artifact.",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    /// Kustomize build metadata to record on the built objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_metadata: Option<Vec<BuildMetadataOption>>,

    /// Labels and annotations set on every applied object, overriding existing keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,

    /// Kustomize components to include, as paths relative to `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,

    /// How to decrypt encrypted Secrets before they are applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,

    /// What happens to the applied objects when the Kustomization is deleted; `MirrorPrune` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::optional::<DeletionPolicy>")]
    pub deletion_policy: Option<DeletionPolicy>,

    /// Objects that must be ready before this Kustomization is reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<DependencyReference>>,

    /// Recreate objects whose update fails because of an immutable field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub force: Option<bool>,

    /// CEL expressions telling how to assess the health of custom resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_exprs: Option<Vec<CustomHealthCheck>>,

    /// Objects whose health is assessed after applying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_checks: Option<Vec<NamespacedObjectKindReference>>,

    /// Rules naming JSON pointers to leave alone during drift detection and apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<IgnoreRule>>,

    /// Drop component paths missing from the source instead of failing the build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_missing_components: Option<bool>,

    /// Image name, tag or digest overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<Image>>,

    /// How often to reconcile (Go duration).
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: String,

    /// Credentials of a remote cluster to apply to instead of the local one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,

    /// Prefix added to the names of all applied objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub name_prefix: Option<String>,

    /// Suffix added to the names of all applied objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub name_suffix: Option<String>,

    /// Strategic-merge or JSON6902 patches applied to the build output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches: Option<Vec<Patch>>,

    /// Directory in the source holding the kustomization (the source root when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,

    /// Steps run on the built manifests, such as variable substitution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_build: Option<PostBuild>,

    /// Delete objects that disappear from the build output.
    pub prune: bool,

    /// How soon to retry after a failed reconciliation (defaults to `interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub retry_interval: Option<String>,

    /// Service account to impersonate when applying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,

    /// Source providing the artifact to build.
    pub source_ref: CrossNamespaceSourceReference,

    /// Stop reconciling until unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,

    /// Namespace set on all namespaced objects of the build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub target_namespace: Option<String>,

    /// Deadline for validation, apply and health checks (defaults to `interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub timeout: Option<String>,

    /// Wait for every applied object to become ready (replaces `healthChecks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<bool>,
}

/// Kind of build metadata kustomize can annotate objects with.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum BuildMetadataOption {
    #[serde(rename = "originAnnotations")]
    OriginAnnotations,
    #[serde(rename = "transformerAnnotations")]
    TransformerAnnotations,
}

/// Garbage-collection behaviour when a Kustomization is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum DeletionPolicy {
    // Delete when `prune` is true, orphan otherwise.
    #[default]
    MirrorPrune,
    // Always delete the applied objects.
    Delete,
    // Delete and wait until the objects are gone.
    WaitForTermination,
    // Leave the applied objects in place.
    Orphan,
}

impl DeletionPolicy {
    /// The policy's name as written in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionPolicy::MirrorPrune => "MirrorPrune",
            DeletionPolicy::Delete => "Delete",
            DeletionPolicy::WaitForTermination => "WaitForTermination",
            DeletionPolicy::Orphan => "Orphan",
        }
    }
}

/// Reference to the source object (in any namespace) whose artifact is built.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    /// API version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source.
    pub kind: SourceKind,
    /// Name of the source.
    pub name: String,
    /// Namespace of the source; the Kustomization's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Kinds of source a Kustomization can build from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum SourceKind {
    #[serde(rename = "OCIRepository")]
    OciRepository,
    GitRepository,
    Bucket,
    ExternalArtifact,
}

impl SourceKind {
    /// The kind's name as written in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::OciRepository => "OCIRepository",
            SourceKind::GitRepository => "GitRepository",
            SourceKind::Bucket => "Bucket",
            SourceKind::ExternalArtifact => "ExternalArtifact",
        }
    }
}

/// Secret decryption settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decryption {
    /// Decryption engine.
    pub provider: DecryptionProvider,
    /// Secret holding decryption keys or cloud KMS credentials (these win over `serviceAccountName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Service account used for secret-less authentication to cloud KMS services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
}

/// Supported decryption engines.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum DecryptionProvider {
    #[serde(rename = "sops")]
    Sops,
}

/// Actions run on the manifests after kustomize built them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    /// Variables substituted in the manifests (`${var}`, with bash-like defaults and replacements).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substitute: Option<BTreeMap<String, String>>,
    /// ConfigMaps and Secrets whose data keys provide more substitution variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substitute_from: Option<Vec<SubstituteReference>>,
    /// When substitution runs: `WithVariables` (default, only if a variable is defined) or `Always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::optional::<SubstituteStrategy>")]
    pub substitute_strategy: Option<SubstituteStrategy>,
}

/// When variable substitution runs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum SubstituteStrategy {
    // Substitute only when at least one variable is defined.
    #[default]
    WithVariables,
    // Substitute even without any variable.
    Always,
}

/// A ConfigMap or Secret in the Kustomization's namespace holding substitution variables.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubstituteReference {
    /// Kind of the referenced object.
    pub kind: SubstituteReferenceKind,
    /// Name of the referenced object.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Treat a missing object as an empty one instead of failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub optional: Option<bool>,
}

/// Kinds of object that can hold substitution variables.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum SubstituteReferenceKind {
    Secret,
    ConfigMap,
}

/// JSON pointers to ignore on the objects matched by a selector.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreRule {
    /// JSON pointers (RFC 6901) excluded from drift detection and apply.
    pub paths: Vec<String>,
    /// Objects the rule applies to; all objects when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Selector>,
}

/// Observed state of a Kustomization.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("default" = {"observedGeneration": -1}))]
pub struct KustomizationStatus {
    /// Conditions of the Kustomization (Ready, Reconciling, Stalled, Healthy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,

    /// Snapshots of the latest reconciliations, newest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Snapshot>>,

    /// Objects applied by the last successful reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,

    /// Origin revision (e.g. the OCI `org.opencontainers.image.revision`) of the last applied artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_origin_revision: Option<String>,

    /// Revision of the last successfully applied artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,

    /// Revision of the last attempted reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,

    /// Last reconcile-request annotation value acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,

    /// Generation of the object last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl Kustomization {
    /// The deletion policy, `MirrorPrune` when unset.
    pub fn deletion_policy(&self) -> DeletionPolicy {
        self.spec.deletion_policy.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;
    use serde_json::{Value, json};

    fn crd_json() -> Value {
        serde_json::to_value(Kustomization::crd()).unwrap()
    }

    fn schema(crd: &Value) -> &Value {
        &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    }

    #[test]
    fn crd_names_match_flux() {
        let crd = crd_json();
        assert_eq!(
            crd["metadata"]["name"],
            "kustomizations.kustomize.toolkit.fluxcd.io"
        );
        let names = &crd["spec"]["names"];
        assert_eq!(names["kind"], "Kustomization");
        assert_eq!(names["plural"], "kustomizations");
        assert_eq!(names["singular"], "kustomization");
        assert_eq!(names["shortNames"], json!(["ks"]));
        assert_eq!(
            names["categories"],
            json!(["all", "fluxcd", "fluxcd-appliers"])
        );
        assert_eq!(crd["spec"]["scope"], "Namespaced");
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], "v1");
        assert_eq!(version["subresources"], json!({"status": {}}));
    }

    #[test]
    fn crd_printer_columns_match_flux() {
        let crd = crd_json();
        let cols = &crd["spec"]["versions"][0]["additionalPrinterColumns"];
        assert_eq!(
            cols,
            &json!([
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                {"name": "Status", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].message"}
            ])
        );
    }

    #[test]
    fn crd_schema_facts() {
        let crd = crd_json();
        let s = schema(&crd);
        let spec = &s["properties"]["spec"];
        assert_eq!(spec["required"], json!(["interval", "prune", "sourceRef"]));
        let p = &spec["properties"];
        assert_eq!(p["interval"]["pattern"], crate::meta::DURATION_PATTERN);
        assert_eq!(p["timeout"]["pattern"], crate::meta::DURATION_PATTERN);
        assert_eq!(p["force"]["default"], json!(false));
        assert_eq!(
            p["deletionPolicy"]["enum"],
            json!(["MirrorPrune", "Delete", "WaitForTermination", "Orphan"])
        );
        assert_eq!(
            p["sourceRef"]["properties"]["kind"]["enum"],
            json!([
                "OCIRepository",
                "GitRepository",
                "Bucket",
                "ExternalArtifact"
            ])
        );
        assert_eq!(
            p["decryption"]["properties"]["provider"]["enum"],
            json!(["sops"])
        );
        assert_eq!(p["targetNamespace"]["maxLength"], json!(63));
        assert_eq!(p["namePrefix"]["minLength"], json!(1));
        assert_eq!(
            p["postBuild"]["properties"]["substituteStrategy"]["enum"],
            json!(["WithVariables", "Always"])
        );
        let subst = &p["postBuild"]["properties"]["substituteFrom"]["items"];
        assert_eq!(
            subst["properties"]["kind"]["enum"],
            json!(["Secret", "ConfigMap"])
        );
        assert_eq!(subst["properties"]["optional"]["default"], json!(false));
        assert_eq!(
            p["buildMetadata"]["items"]["enum"],
            json!(["originAnnotations", "transformerAnnotations"])
        );
        assert_eq!(
            p["kubeConfig"]["x-kubernetes-validations"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let status = &s["properties"]["status"];
        assert_eq!(status["default"], json!({"observedGeneration": -1}));
        let entry = &status["properties"]["inventory"]["properties"]["entries"]["items"];
        assert_eq!(entry["required"], json!(["id", "v"]));
        assert_eq!(
            status["properties"]["observedGeneration"]["format"],
            "int64"
        );
    }

    const EXAMPLE: &str = r#"
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: podinfo
  namespace: apps
spec:
  interval: 10m
  retryInterval: 2m
  timeout: 5m
  targetNamespace: podinfo
  sourceRef:
    kind: GitRepository
    name: podinfo
    namespace: flux-system
  path: ./kustomize
  prune: true
  wait: true
  deletionPolicy: WaitForTermination
  dependsOn:
    - name: infra
      namespace: flux-system
      readyExpr: self.status.observedGeneration == self.metadata.generation
  commonMetadata:
    labels:
      team: apps
  components:
    - ../components/ingress
  ignoreMissingComponents: true
  decryption:
    provider: sops
    secretRef:
      name: sops-age
  postBuild:
    substitute:
      cluster_env: prod
    substituteFrom:
      - kind: ConfigMap
        name: cluster-vars
      - kind: Secret
        name: cluster-secrets
        optional: true
    substituteStrategy: Always
  healthChecks:
    - apiVersion: apps/v1
      kind: Deployment
      name: podinfo
      namespace: podinfo
  healthCheckExprs:
    - apiVersion: example.com/v1
      kind: Widget
      current: status.phase == 'Ready'
      failed: status.phase == 'Failed'
  images:
    - name: ghcr.io/stefanprodan/podinfo
      newTag: 6.7.0
  patches:
    - patch: |
        - op: replace
          path: /spec/replicas
          value: 2
      target:
        kind: Deployment
        name: podinfo
  ignore:
    - paths: ["/spec/replicas"]
      target:
        kind: Deployment
status:
  observedGeneration: 3
  lastAppliedRevision: main@sha1:2b9e2a8d7c1f
  lastAttemptedRevision: main@sha1:2b9e2a8d7c1f
  conditions:
    - type: Ready
      status: "True"
      reason: ReconciliationSucceeded
      message: "Applied revision: main@sha1:2b9e2a8d7c1f"
      lastTransitionTime: "2024-05-01T10:00:00Z"
      observedGeneration: 3
  inventory:
    entries:
      - id: podinfo_podinfo_apps_Deployment
        v: v1
      - id: podinfo_podinfo__Service
        v: v1
  history:
    - digest: sha256:1f2e3d
      firstReconciled: "2024-05-01T09:00:00Z"
      lastReconciled: "2024-05-01T10:00:00Z"
      lastReconciledDuration: 2.5s
      lastReconciledStatus: ReconciliationSucceeded
      totalReconciliations: 4
      metadata:
        revision: main@sha1:2b9e2a8d7c1f
"#;

    #[test]
    fn yaml_round_trip() {
        let ks: Kustomization = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(ks.spec.source_ref.kind, SourceKind::GitRepository);
        assert_eq!(ks.deletion_policy(), DeletionPolicy::WaitForTermination);
        let status = ks.status.as_ref().unwrap();
        assert_eq!(status.inventory.as_ref().unwrap().entries[0].version, "v1");
        let value = serde_json::to_value(&ks).unwrap();
        let original: Value = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(value, original);
        let back: Kustomization = serde_json::from_value(value).unwrap();
        assert_eq!(back, ks);
    }
}
