//! `ExternalArtifact`: an artifact produced by a third-party controller.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{Artifact, NamespacedObjectKindReference};

/// Desired state of an ExternalArtifact: the object it was generated for.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "ExternalArtifact",
    plural = "externalartifacts",
    singular = "externalartifact",
    shortname = "ea",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    namespaced,
    status = "ExternalArtifactStatus",
    derive = "PartialEq",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "ExternalArtifact exposes an artifact produced outside Flux's source controller to Flux consumers.",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Source","type":"string","jsonPath":".spec.sourceRef.name"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalArtifactSpec {
    /// The custom resource the artifact is generated for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<NamespacedObjectKindReference>,
}

/// Observed state of an ExternalArtifact, written by the producing controller.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalArtifactStatus {
    /// The artifact currently published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Current conditions of the ExternalArtifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,
}

crate::accessors!(ExternalArtifact { artifact });

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;
    use serde_json::{Value, json};

    fn crd() -> Value {
        serde_json::to_value(ExternalArtifact::crd()).unwrap()
    }

    #[test]
    fn crd_names_and_columns_match_flux() {
        let crd = crd();
        assert_eq!(
            crd["metadata"]["name"],
            "externalartifacts.source.toolkit.fluxcd.io"
        );
        let names = &crd["spec"]["names"];
        assert_eq!(names["kind"], "ExternalArtifact");
        assert_eq!(names["singular"], "externalartifact");
        assert_eq!(names["shortNames"], json!(["ea"]));
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
        assert_eq!(cols, ["Age", "Ready", "Status", "Source"]);
    }

    #[test]
    fn schema_facts_match_flux() {
        let crd = crd();
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"];
        let source_ref = &root["spec"]["properties"]["sourceRef"];
        assert_eq!(source_ref["required"], json!(["kind", "name"]));
        assert!(root["spec"].get("required").is_none());
        assert!(root["status"].get("default").is_none());
        assert_eq!(
            root["status"]["properties"]["artifact"]["required"],
            json!(["digest", "lastUpdateTime", "path", "revision", "url"])
        );
    }

    const EXAMPLE: &str = r#"
apiVersion: source.toolkit.fluxcd.io/v1
kind: ExternalArtifact
metadata:
  name: podinfo
  namespace: default
spec:
  sourceRef:
    apiVersion: source.extensions.fluxcd.io/v1beta1
    kind: ArtifactGenerator
    name: podinfo
    namespace: default
status:
  artifact:
    digest: sha256:35d47c9db0eee6ffe08a404dfb416bee31b2b79eabc3f2eb26749163ce487f52
    lastUpdateTime: "2025-08-21T13:37:31Z"
    path: artifactgenerator/default/podinfo/35d47c9d.tar.gz
    revision: latest@sha256:35d47c9db0eee6ffe08a404dfb416bee31b2b79eabc3f2eb26749163ce487f52
    size: 20914
    url: http://source-watcher.flux-system.svc.cluster.local./artifactgenerator/default/podinfo/35d47c9d.tar.gz
  conditions:
    - lastTransitionTime: "2025-08-21T13:37:31Z"
      message: "Artifact is ready"
      observedGeneration: 1
      reason: Succeeded
      status: "True"
      type: Ready
"#;

    #[test]
    fn yaml_round_trip() {
        let obj: ExternalArtifact = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(obj.artifact().unwrap().size, Some(20914));
        let value = serde_json::to_value(&obj).unwrap();
        let original: Value = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(value, original);
    }
}
