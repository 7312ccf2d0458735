//! Types, constants and validation patterns shared by every Flux-compatible API group.
//!
//! These mirror the shapes of Flux's `fluxcd/pkg` `apis/meta`, `apis/acl` and
//! `apis/kustomize` packages so that the generated CRD schemas match Flux's.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// Validation patterns
// ---------------------------------------------------------------------------

/// Go-style duration made of `ms`, `s`, `m` or `h` units (e.g. `1m30s`), as Flux validates intervals.
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";

/// Go-style duration limited to `ms`, `s` and `m` units, used by Flux for most `timeout` fields.
pub const TIMEOUT_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$";

/// Go-style duration that may also be the bare literal `0`.
///
/// Flux's CRDs never use this (a zero duration is written `0s`, which [`DURATION_PATTERN`]
/// accepts); it is for Weir-side settings such as controller flags, not for CRD fields.
pub const DURATION_OR_ZERO: &str = r"^(0|([0-9]+(\.[0-9]+)?(ms|s|m|h))+)$";

/// Flux's pattern for artifact digests: `<algorithm>:<encoded checksum>`.
pub const DIGEST_PATTERN: &str = r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$";

/// Pattern that a Helm values key must follow.
pub const VALUES_KEY_PATTERN: &str = r"^[\-._a-zA-Z0-9]+$";

/// Pattern that a Helm values target path must follow.
pub const TARGET_PATH_PATTERN: &str = r"^([a-zA-Z0-9_\-.\\\/]|\[[0-9]{1,5}\])+$";

// ---------------------------------------------------------------------------
// Annotations and labels
// ---------------------------------------------------------------------------

/// Annotation whose change of value asks a controller to reconcile an object now.
pub const RECONCILE_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";
/// Annotation that, together with the request annotation, forces a one-off action (e.g. a Helm upgrade).
pub const FORCE_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/forceAt";
/// Annotation that, together with the request annotation, resets failure counters (Helm).
pub const RESET_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/resetAt";
/// Legacy reconcile-request annotation understood by old Flux tooling.
pub const RECONCILE_AT_ANNOTATION: &str = "fluxcd.io/reconcileAt";
/// Label put on Secrets/ConfigMaps so changes to them trigger reconciliation of their consumers.
pub const WATCH_LABEL: &str = "reconcile.fluxcd.io/watch";
/// Value of [`WATCH_LABEL`] enabling the watch.
pub const WATCH_LABEL_ENABLED: &str = "Enabled";

// ---------------------------------------------------------------------------
// Conditions
// ---------------------------------------------------------------------------

/// Condition type: the object is fully reconciled.
pub const READY_CONDITION: &str = "Ready";
/// Condition type: the controller is working on the object.
pub const RECONCILING_CONDITION: &str = "Reconciling";
/// Condition type: reconciliation cannot progress without a change to the object.
pub const STALLED_CONDITION: &str = "Stalled";
/// Condition type: the applied workloads pass their health checks.
pub const HEALTHY_CONDITION: &str = "Healthy";

/// Reason: the operation succeeded.
pub const SUCCEEDED_REASON: &str = "Succeeded";
/// Reason: the operation failed.
pub const FAILED_REASON: &str = "Failed";
/// Reason: reconciliation is in progress.
pub const PROGRESSING_REASON: &str = "Progressing";
/// Reason: reconciliation is in progress after a failure, with a retry scheduled.
pub const PROGRESSING_WITH_RETRY_REASON: &str = "ProgressingWithRetry";
/// Reason: the object is suspended.
pub const SUSPENDED_REASON: &str = "Suspended";
/// Reason: a dependency is not ready yet.
pub const DEPENDENCY_NOT_READY_REASON: &str = "DependencyNotReady";
/// Reason: the reconciliation succeeded (legacy Flux reason).
pub const RECONCILIATION_SUCCEEDED_REASON: &str = "ReconciliationSucceeded";
/// Reason: the reconciliation failed (legacy Flux reason).
pub const RECONCILIATION_FAILED_REASON: &str = "ReconciliationFailed";
/// Reason: a health check failed.
pub const HEALTH_CHECK_FAILED_REASON: &str = "HealthCheckFailed";
/// Reason: fetching the source artifact failed.
pub const ARTIFACT_FAILED_REASON: &str = "ArtifactFailed";
/// Reason: building the manifests failed.
pub const BUILD_FAILED_REASON: &str = "BuildFailed";
/// Reason: the object's spec is invalid.
pub const INVALID_SPEC_REASON: &str = "InvalidSpec";
/// Reason: a CEL expression in the spec is invalid.
pub const INVALID_CEL_EXPRESSION_REASON: &str = "InvalidCELExpression";
/// Reason: a feature gate needed by the spec is disabled.
pub const FEATURE_GATE_DISABLED_REASON: &str = "FeatureGateDisabled";
/// Reason: a referenced object's access is denied (cross-namespace ACL).
pub const ACCESS_DENIED_REASON: &str = "AccessDenied";

// ---------------------------------------------------------------------------
// Object references
// ---------------------------------------------------------------------------

/// Reference to an object in the same namespace, by name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalObjectReference {
    /// Name of the referenced object.
    pub name: String,
}

/// Reference to an object by name, optionally in another namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedObjectReference {
    /// Name of the referenced object.
    pub name: String,
    /// Namespace of the referenced object; the referrer's namespace when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Reference to a typed object, optionally in another namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedObjectKindReference {
    /// API version of the referenced object; the preferred version when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referenced object.
    pub kind: String,
    /// Name of the referenced object.
    pub name: String,
    /// Namespace of the referenced object; the referrer's namespace when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Reference to a Secret in the same namespace, with an optional data key.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyReference {
    /// Name of the Secret.
    pub name: String,
    /// Data key in the Secret; a controller-specific default when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Where to find the credentials for a remote cluster: a kubeconfig Secret or a provider ConfigMap.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "has(self.configMapRef) || has(self.secretRef)",
        "message": "exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef must be specified"
    },
    {
        "rule": "!has(self.configMapRef) || !has(self.secretRef)",
        "message": "exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef must be specified"
    }
]))]
pub struct KubeConfigReference {
    /// ConfigMap holding the cloud provider settings (provider, cluster, address, ca.crt,
    /// audiences, serviceAccountName) used to build a kubeconfig; excludes `secretRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<LocalObjectReference>,
    /// Secret holding a kubeconfig file (key `value` unless set); excludes `configMapRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeyReference>,
}

/// Reference to a Flux object (or, with CEL, any object) that must be ready first.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DependencyReference {
    /// Name of the dependency.
    pub name: String,
    /// Namespace of the dependency; the referrer's namespace when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// CEL expression deciding whether the dependency counts as ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_expr: Option<String>,
}

/// Kind of object a [`ValuesReference`] points at.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ValuesReferenceKind {
    /// A Secret.
    Secret,
    /// A ConfigMap.
    ConfigMap,
}

// ---------------------------------------------------------------------------
// Artifacts
// ---------------------------------------------------------------------------

/// A versioned tarball produced by a source and served over HTTP by its controller.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Path of the artifact relative to the storage root.
    pub path: String,
    /// HTTP address from which the artifact can be downloaded.
    pub url: String,
    /// Human-readable identifier of the source version (e.g. `main@sha1:<commit>`).
    pub revision: String,
    /// Checksum of the artifact file, as `<algorithm>:<checksum>`.
    #[schemars(regex(pattern = r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"))]
    pub digest: String,
    /// When the artifact was last updated.
    pub last_update_time: Time,
    /// Size of the artifact file in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Extra key/value information attached to the artifact (e.g. OCI annotations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

// ---------------------------------------------------------------------------
// Reconcile request status helpers
// ---------------------------------------------------------------------------

/// Status fragment remembering the last reconcile request a controller handled.
///
/// Embed with `#[serde(flatten)]`, or copy the field into a status struct.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileRequestStatus {
    /// Value of the most recent reconcile-request annotation handled, to detect a new request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// One entry of a reconciliation history: a revision digest and how its reconciliations went.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Checksum `<algo>:<hex>` of the reconciled resources.
    pub digest: String,
    /// When this revision was first reconciled.
    pub first_reconciled: Time,
    /// When this revision was last reconciled.
    pub last_reconciled: Time,
    /// How long the last reconciliation of this revision took (Go duration).
    pub last_reconciled_duration: String,
    /// Outcome of the last reconciliation of this revision.
    pub last_reconciled_status: String,
    /// Extra information about the snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// How many times this revision has been reconciled.
    pub total_reconciliations: i64,
}

/// Snapshots a reconciliation history keeps, newest first.
pub const MAX_HISTORY: usize = 5;

/// Records one reconciliation in `history` (newest first, at most
/// [`MAX_HISTORY`] entries): a snapshot with the same digest and status is
/// counted again and moved to the front; otherwise a new one is put there
/// and the oldest dropped.
pub fn upsert_history(
    history: &mut Vec<Snapshot>,
    digest: &str,
    now: Time,
    duration: &str,
    status: &str,
    metadata: Option<BTreeMap<String, String>>,
) {
    if let Some(i) = history
        .iter()
        .position(|s| s.digest == digest && s.last_reconciled_status == status)
    {
        let mut snapshot = history.remove(i);
        snapshot.last_reconciled = now;
        snapshot.last_reconciled_duration = duration.to_owned();
        snapshot.total_reconciliations += 1;
        snapshot.metadata = metadata;
        history.insert(0, snapshot);
        return;
    }
    history.insert(
        0,
        Snapshot {
            digest: digest.to_owned(),
            first_reconciled: now.clone(),
            last_reconciled: now,
            last_reconciled_duration: duration.to_owned(),
            last_reconciled_status: status.to_owned(),
            metadata,
            total_reconciliations: 1,
        },
    );
    history.truncate(MAX_HISTORY);
}

// ---------------------------------------------------------------------------
// Cross-namespace access control (fluxcd/pkg apis/acl)
// ---------------------------------------------------------------------------

/// Which namespaces may reference an object from another namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessFrom {
    /// Namespace selectors; a namespace matching any of them is granted access.
    pub namespace_selectors: Vec<NamespaceSelector>,
}

/// Selects namespaces by their labels.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelector {
    /// Labels a namespace must carry, all of them, to be selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
}

// ---------------------------------------------------------------------------
// Kustomize shared types (fluxcd/pkg apis/kustomize)
// ---------------------------------------------------------------------------

/// Replaces an image name, tag or digest in rendered manifests.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// Image name without tag, as written in the manifests.
    pub name: String,
    /// Replacement image name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
    /// Replacement tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_tag: Option<String>,
    /// Replacement digest; takes precedence over `newTag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Selects resources; a resource matching every set field is selected.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    /// API group of the resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version of the resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind of the resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Namespace of the resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name (regular expression) of the resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Label-selector expression matched against the resources' annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
    /// Label-selector expression matched against the resources' labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
}

/// An inline strategic-merge or JSON6902 patch and the resources it applies to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Patch {
    /// The patch document: a strategic-merge patch or a JSON6902 operation list.
    pub patch: String,
    /// Resources the patch applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Selector>,
}

/// Labels and annotations added to every object a controller applies.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommonMetadata {
    /// Annotations to add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels to add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

// ---------------------------------------------------------------------------
// Shared by the kustomize and helm groups
// ---------------------------------------------------------------------------

/// Reference to a Secret or ConfigMap holding Helm values.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValuesReference {
    /// Kind of the referenced object.
    #[schemars(schema_with = "values_reference_kind_schema")]
    pub kind: ValuesReferenceKind,
    /// Merge the value at `targetPath` verbatim, without `--set` parsing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub literal: Option<bool>,
    /// Name of the referenced object.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Ignore a missing object (other errors still fail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    /// Dot-notation path at which a single value is merged; the root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 250),
        regex(pattern = r"^([a-zA-Z0-9_\-.\\\/]|\[[0-9]{1,5}\])+$")
    )]
    pub target_path: Option<String>,
    /// Data key holding the values (`values.yaml` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253), regex(pattern = r"^[\-._a-zA-Z0-9]+$"))]
    pub values_key: Option<String>,
}

impl ValuesReference {
    /// The data key to read, `values.yaml` when unset.
    pub fn values_key(&self) -> &str {
        self.values_key.as_deref().unwrap_or("values.yaml")
    }
}

/// `Secret` or `ConfigMap`, as a plain string enum.
fn values_reference_kind_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "string", "enum": ["Secret", "ConfigMap"] })
}

/// The objects a Kustomization or HelmRelease applied (Flux's inventory).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInventory {
    /// References to the applied objects.
    pub entries: Vec<ResourceRef>,
}

/// Compact reference to an applied object.
#[derive(
    Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
pub struct ResourceRef {
    /// Object identifier `<namespace>_<name>_<group>_<kind>`.
    pub id: String,
    /// API version of the object.
    #[serde(rename = "v")]
    pub version: String,
}

impl ResourceRef {
    /// Builds the inventory identifier of an object (`<namespace>_<name>_<group>_<kind>`).
    pub fn make_id(namespace: &str, name: &str, group: &str, kind: &str) -> String {
        format!("{namespace}_{name}_{group}_{kind}")
    }
}

/// CEL expressions assessing the health of objects of one kind.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomHealthCheck {
    /// API version of the objects the expressions apply to.
    pub api_version: String,
    /// Kind of the objects the expressions apply to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Expression true when the object reached its desired state.
    pub current: String,
    /// Expression true while the object is still progressing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<String>,
    /// Expression true when the object failed to reach its desired state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_counts_repeats_and_keeps_five() {
        let t = |s: i64| Time(k8s_openapi::jiff::Timestamp::from_second(s).unwrap());
        let mut h = Vec::new();
        upsert_history(
            &mut h,
            "sha256:a",
            t(1),
            "1s",
            "ReconciliationSucceeded",
            None,
        );
        upsert_history(
            &mut h,
            "sha256:a",
            t(2),
            "2s",
            "ReconciliationSucceeded",
            None,
        );
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].total_reconciliations, 2);
        assert_eq!(
            (h[0].first_reconciled.clone(), h[0].last_reconciled.clone()),
            (t(1), t(2))
        );
        // Same digest, other outcome: a snapshot of its own.
        upsert_history(&mut h, "sha256:a", t(3), "1s", "HealthCheckFailed", None);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].last_reconciled_status, "HealthCheckFailed");
        // Back to the first: it moves to the front.
        upsert_history(
            &mut h,
            "sha256:a",
            t(4),
            "1s",
            "ReconciliationSucceeded",
            None,
        );
        assert_eq!(
            (
                h[0].total_reconciliations,
                h[1].last_reconciled_status.as_str()
            ),
            (3, "HealthCheckFailed")
        );
        for (i, d) in ["b", "c", "d", "e", "f"].iter().enumerate() {
            upsert_history(
                &mut h,
                d,
                t(10 + i as i64),
                "1s",
                "ReconciliationSucceeded",
                None,
            );
        }
        let digests: Vec<&str> = h.iter().map(|s| s.digest.as_str()).collect();
        assert_eq!(digests, ["f", "e", "d", "c", "b"]);
    }

    fn schema_json<T: JsonSchema>() -> serde_json::Value {
        let generator = schemars::generate::SchemaSettings::openapi3()
            .with(|s| s.inline_subschemas = true)
            .into_generator();
        serde_json::to_value(generator.into_root_schema_for::<T>()).unwrap()
    }

    #[test]
    fn artifact_schema_has_flux_facts() {
        let s = schema_json::<Artifact>();
        let props = &s["properties"];
        assert_eq!(props["digest"]["pattern"], DIGEST_PATTERN);
        assert_eq!(props["size"]["format"], "int64");
        assert_eq!(props["lastUpdateTime"]["format"], "date-time");
        let req: Vec<&str> = s["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(req, ["path", "url", "revision", "digest", "lastUpdateTime"]);
    }

    #[test]
    fn values_reference_schema() {
        let s = schema_json::<ValuesReference>();
        let text = s.to_string();
        assert!(text.contains(VALUES_KEY_PATTERN.replace('\\', "\\\\").as_str()));
        assert!(text.contains("\"ConfigMap\""));
        let v: ValuesReference =
            serde_json::from_str(r#"{"kind":"ConfigMap","name":"vals"}"#).unwrap();
        assert_eq!(v.values_key(), "values.yaml");
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"kind":"ConfigMap","name":"vals"}"#
        );
    }

    #[test]
    fn kubeconfig_has_cel_rules() {
        let s = schema_json::<KubeConfigReference>();
        assert_eq!(s["x-kubernetes-validations"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn duration_patterns_are_flux_ones() {
        assert_eq!(DURATION_PATTERN, r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$");
        assert_eq!(TIMEOUT_PATTERN, r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$");
    }
}
