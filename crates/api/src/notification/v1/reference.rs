//! Object references shared by Alerts (event sources) and Receivers (resources).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Reference to Flux objects of one kind: by name, or all (`*`) optionally filtered by labels.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceObjectReference {
    /// API version of the objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the objects.
    pub kind: ObjectKind,
    /// Name of the object, or `*` for all objects of the kind.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the objects, or `*` (with name `*`) for all namespaces; the referrer's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub namespace: Option<String>,
    /// Labels the objects must carry; only with name `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
}

/// Kinds of Flux object that can emit events or be reconciled by a Receiver.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ObjectKind {
    Bucket,
    GitRepository,
    Kustomization,
    HelmRelease,
    HelmChart,
    HelmRepository,
    ImageRepository,
    ImagePolicy,
    ImageUpdateAutomation,
    #[serde(rename = "OCIRepository")]
    OciRepository,
    ArtifactGenerator,
    ExternalArtifact,
}

impl ObjectKind {
    /// The kind's name as written in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Bucket => "Bucket",
            ObjectKind::GitRepository => "GitRepository",
            ObjectKind::Kustomization => "Kustomization",
            ObjectKind::HelmRelease => "HelmRelease",
            ObjectKind::HelmChart => "HelmChart",
            ObjectKind::HelmRepository => "HelmRepository",
            ObjectKind::ImageRepository => "ImageRepository",
            ObjectKind::ImagePolicy => "ImagePolicy",
            ObjectKind::ImageUpdateAutomation => "ImageUpdateAutomation",
            ObjectKind::OciRepository => "OCIRepository",
            ObjectKind::ArtifactGenerator => "ArtifactGenerator",
            ObjectKind::ExternalArtifact => "ExternalArtifact",
        }
    }
}

impl CrossNamespaceObjectReference {
    /// Whether the reference selects every object of its kind (name `*`).
    pub fn is_wildcard(&self) -> bool {
        self.name == "*"
    }
}
