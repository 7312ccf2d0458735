//! `ImagePolicy`: selection of the latest image tag of an ImageRepository.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::NamespacedObjectReference;

/// Desired state of an ImagePolicy: the scanned repository and the rule that picks the latest tag.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1",
    kind = "ImagePolicy",
    plural = "imagepolicies",
    singular = "imagepolicy",
    shortname = "imgpol",
    shortname = "imagepol",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-images",
    namespaced,
    status = "ImagePolicyStatus",
    derive = "PartialEq",
    doc = "ImagePolicy picks the latest image from the tags scanned by an ImageRepository.",
    printcolumn = r#"{"name":"Image","type":"string","jsonPath":".status.latestRef.name"}"#,
    printcolumn = r#"{"name":"Tag","type":"string","jsonPath":".status.latestRef.tag"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.interval) || (has(self.digestReflectionPolicy) && self.digestReflectionPolicy == 'Always')",
        "message": "spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'"
    },
    {
        "rule": "has(self.interval) || !has(self.digestReflectionPolicy) || self.digestReflectionPolicy != 'Always'",
        "message": "spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'"
    }
]))]
pub struct ImagePolicySpec {
    /// The ImageRepository whose scanned tags are considered.
    pub image_repository_ref: NamespacedObjectReference,
    /// Rule ordering the tags; the first one wins.
    pub policy: ImagePolicyChoice,
    /// Restricts (and optionally rewrites) the tags before ordering; all tags when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_tags: Option<TagFilter>,
    /// When `status.latestRef.digest` is filled in; `Never` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Never"))]
    pub digest_reflection_policy: Option<ReflectionPolicy>,
    /// How often the digest of the latest tag is refreshed (`Always` only; 10m when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: Option<String>,
    /// Stop evaluating the policy while true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// When a value read from the registry is copied into the object.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ReflectionPolicy {
    /// Always refresh, overwriting the current value.
    Always,
    /// Only fill an empty value; never overwrite it afterwards.
    IfNotPresent,
    /// Never reflect; the value stays empty.
    #[default]
    Never,
}

/// The ordering rule of an ImagePolicy; exactly one is expected to be set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImagePolicyChoice {
    /// Highest tag within a semantic-version range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<SemVerPolicy>,
    /// Tags ordered as strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alphabetical: Option<AlphabeticalPolicy>,
    /// Tags ordered as numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerical: Option<NumericalPolicy>,
}

/// Select the highest version within a range.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SemVerPolicy {
    /// Semantic-version range the tag must satisfy.
    pub range: String,
}

/// Sort direction of alphabetical and numerical policies.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Ascending: the last tag (Z, 9) is selected.
    #[default]
    Asc,
    /// Descending: the first tag (A, 0) is selected.
    Desc,
}

/// Select by alphabetical order of the tags.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlphabeticalPolicy {
    /// Sort direction; `asc` (selects Z over A) when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "asc"))]
    pub order: Option<SortOrder>,
}

/// Select by numerical order of the tags.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NumericalPolicy {
    /// Sort direction; `asc` (selects 9 over 0) when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "asc"))]
    pub order: Option<SortOrder>,
}

/// Regular-expression filter applied to tags before ordering.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagFilter {
    /// Regular expression a tag must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Replacement template (e.g. `$ts`) built from the pattern's capture groups and used
    /// for ordering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<String>,
}

/// A selected image: name, tag and optionally digest.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageRef {
    /// Image name without tag or digest.
    pub name: String,
    /// Image tag.
    pub tag: String,
    /// Image digest, when reflected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)?;
        match self.digest.as_deref() {
            Some(d) if !d.is_empty() => write!(f, "@{d}"),
            _ => Ok(()),
        }
    }
}

/// Observed state of an ImagePolicy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("default" = {"observedGeneration": -1}))]
pub struct ImagePolicyStatus {
    /// The image currently selected by the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_ref: Option<ImageRef>,
    /// The image selected before the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_previous_ref: Option<ImageRef>,
    /// Generation of the object last handled by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions of the ImagePolicy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,
    /// Last reconcile-request annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl ImagePolicy {
    /// The digest reflection policy, `Never` when unset.
    pub fn digest_reflection_policy(&self) -> ReflectionPolicy {
        self.spec.digest_reflection_policy.unwrap_or_default()
    }

    /// The refresh interval: 10 minutes (or `spec.interval`) with `Always`, otherwise none.
    pub fn interval(&self) -> Option<std::time::Duration> {
        if self.digest_reflection_policy() != ReflectionPolicy::Always {
            return None;
        }
        let configured = self
            .spec
            .interval
            .as_deref()
            .and_then(|d| crate::duration::parse(d).ok())
            .filter(|d| !d.is_zero());
        Some(configured.unwrap_or(std::time::Duration::from_secs(600)))
    }

    /// The currently selected image, if any.
    pub fn latest_ref(&self) -> Option<&ImageRef> {
        self.status.as_ref()?.latest_ref.as_ref()
    }
}

crate::accessors!(ImagePolicy { suspended });

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;
    use serde_json::{Value, json};

    fn crd() -> Value {
        serde_json::to_value(ImagePolicy::crd()).unwrap()
    }

    #[test]
    fn crd_names_and_columns_match_flux() {
        let crd = crd();
        assert_eq!(
            crd["metadata"]["name"],
            "imagepolicies.image.toolkit.fluxcd.io"
        );
        let names = &crd["spec"]["names"];
        assert_eq!(names["kind"], "ImagePolicy");
        assert_eq!(names["singular"], "imagepolicy");
        assert_eq!(names["shortNames"], json!(["imgpol", "imagepol"]));
        assert_eq!(
            names["categories"],
            json!(["all", "fluxcd", "fluxcd-images"])
        );
        let cols: Vec<&str> = crd["spec"]["versions"][0]["additionalPrinterColumns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(cols, ["Image", "Tag", "Ready", "Status", "Age"]);
    }

    #[test]
    fn schema_facts_match_flux() {
        let crd = crd();
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"];
        let spec = &root["spec"];
        assert_eq!(spec["required"], json!(["imageRepositoryRef", "policy"]));
        let p = &spec["properties"];
        assert_eq!(p["digestReflectionPolicy"]["default"], "Never");
        assert_eq!(
            p["digestReflectionPolicy"]["enum"],
            json!(["Always", "IfNotPresent", "Never"])
        );
        let order = &p["policy"]["properties"]["alphabetical"]["properties"]["order"];
        assert_eq!(order["default"], "asc");
        assert_eq!(order["enum"], json!(["asc", "desc"]));
        assert_eq!(
            p["policy"]["properties"]["semver"]["required"],
            json!(["range"])
        );
        assert_eq!(
            spec["x-kubernetes-validations"].as_array().unwrap().len(),
            2
        );
        assert_eq!(
            root["status"]["properties"]["latestRef"]["required"],
            json!(["name", "tag"])
        );
        assert_eq!(root["status"]["default"], json!({"observedGeneration": -1}));
    }

    const EXAMPLE: &str = r#"
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: podinfo
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: podinfo
    namespace: flux-system
  filterTags:
    pattern: '^main-[a-fA-F0-9]+-(?P<ts>.*)'
    extract: '$ts'
  policy:
    numerical:
      order: asc
  digestReflectionPolicy: Always
  interval: 10m
status:
  observedGeneration: 1
  latestRef:
    name: ghcr.io/stefanprodan/podinfo
    tag: main-2a1b3c4d-1735725600
    digest: sha256:2c1a4f2e0c4ea5b5e8a7bdf2cf9e64ebb9e6b0b1d2d6a3dbf9c3f8a1a0c1b2d3
  observedPreviousRef:
    name: ghcr.io/stefanprodan/podinfo
    tag: main-1a2b3c4d-1735639200
"#;

    #[test]
    fn yaml_round_trip() {
        let obj: ImagePolicy = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(obj.digest_reflection_policy(), ReflectionPolicy::Always);
        assert_eq!(obj.interval(), Some(std::time::Duration::from_secs(600)));
        assert_eq!(
            obj.latest_ref().unwrap().to_string(),
            "ghcr.io/stefanprodan/podinfo:main-2a1b3c4d-1735725600@sha256:2c1a4f2e0c4ea5b5e8a7bdf2cf9e64ebb9e6b0b1d2d6a3dbf9c3f8a1a0c1b2d3"
        );
        let value = serde_json::to_value(&obj).unwrap();
        let original: Value = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(value, original);
    }
}
