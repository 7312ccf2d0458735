//! `OCIRepository`: an OCI artifact pulled from a container registry.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{Artifact, LocalObjectReference};

/// Desired state of an OCIRepository: which registry artifact to pull and how.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "OCIRepository",
    plural = "ocirepositories",
    singular = "ocirepository",
    shortname = "ocirepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    namespaced,
    status = "OCIRepositoryStatus",
    derive = "PartialEq",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "OCIRepository pulls an OCI artifact from a registry and publishes its content as an artifact.",
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.url"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct OCIRepositorySpec {
    /// Repository address in the registry, `oci://` followed by host and path.
    #[schemars(regex(pattern = r"^oci://.*$"))]
    pub url: String,
    /// Tag, semver range or digest to pull and watch; the `latest` tag when unset.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<OCIRepositoryRef>,
    /// Layer to take from the artifact; the first layer when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_selector: Option<OCILayerSelector>,
    /// Authentication provider; `generic` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "generic"))]
    pub provider: Option<OCIProvider>,
    /// Secret of type `kubernetes.io/dockerconfigjson` with registry credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Signature verification settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<OCIRepositoryVerification>,
    /// ServiceAccount whose image pull secrets (or workload identity) are used to authenticate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Secret with a client certificate and key (`tls.crt`, `tls.key`) and/or a CA (`ca.crt`)
    /// for the registry connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Secret with the proxy settings to reach the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// How often the registry is checked for a new artifact (approximate, may be jittered).
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: String,
    /// Time limit for registry operations such as pulling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$"),
        extend("default" = "60s")
    )]
    pub timeout: Option<String>,
    /// `.sourceignore`-style patterns replacing the default exclusions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Allow a plain-HTTP registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Stop reconciling this object while true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// Registry authentication provider of an OCIRepository or OCI HelmRepository.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OCIProvider {
    /// Static credentials, any registry.
    #[default]
    Generic,
    /// Amazon ECR with IAM / workload identity.
    Aws,
    /// Azure Container Registry with workload identity.
    Azure,
    /// Google Artifact Registry with workload identity.
    Gcp,
}

/// Which version of the artifact to pull; digest wins over semver, semver over tag.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OCIRepositoryRef {
    /// Exact digest to pull, `sha256:<hash>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Semantic-version range; the highest matching tag is pulled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// Regular expression restricting the tags considered by `semver`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver_filter: Option<String>,
    /// Tag to pull; `latest` when nothing is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// What to do with the selected layer.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OCILayerOperation {
    /// Decompress and unpack the layer into storage.
    #[default]
    Extract,
    /// Store the compressed layer as is.
    Copy,
}

/// Picks the layer of the OCI artifact that becomes the source content.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OCILayerSelector {
    /// Media type of the wanted layer; the first matching layer is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// How the layer is stored; `extract` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<OCILayerOperation>,
}

/// Signing technology used to verify an OCI artifact.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OCIVerificationProvider {
    /// Sigstore Cosign.
    #[default]
    Cosign,
    /// Notary Project Notation.
    Notation,
}

/// Signature verification settings for an OCIRepository.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OCIRepositoryVerification {
    /// Signing technology to verify with.
    #[schemars(extend("default" = "cosign"))]
    pub provider: OCIVerificationProvider,
    /// Secret holding the trusted public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Accepted keyless-signing identities; any match verifies the artifact.
    #[serde(
        rename = "matchOIDCIdentity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub match_oidc_identity: Option<Vec<OIDCIdentityMatch>>,
    /// Secret with a Sigstore `trusted_root.json`, for self-hosted Sigstore infrastructure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_root_secret_ref: Option<LocalObjectReference>,
}

/// Issuer and subject regular expressions a keyless-signing certificate must match.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OIDCIdentityMatch {
    /// Regular expression for the OIDC issuer of the certificate.
    pub issuer: String,
    /// Regular expression for the identity subject of the certificate.
    pub subject: String,
}

/// Observed state of an OCIRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("default" = {"observedGeneration": -1}))]
pub struct OCIRepositoryStatus {
    /// Generation of the object last handled by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions of the OCIRepository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,
    /// Download address of the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Artifact produced by the last successful reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Ignore patterns used to build the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// Layer selector used to build the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_layer_selector: Option<OCILayerSelector>,
    /// Last reconcile-request annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl OCIRepository {
    /// The authentication provider, `generic` when unset.
    pub fn provider(&self) -> OCIProvider {
        self.spec.provider.unwrap_or_default()
    }

    /// The media type requested by the layer selector, if any.
    pub fn layer_media_type(&self) -> Option<&str> {
        self.spec.layer_selector.as_ref()?.media_type.as_deref()
    }

    /// The layer operation, `extract` when unset.
    pub fn layer_operation(&self) -> OCILayerOperation {
        self.spec
            .layer_selector
            .as_ref()
            .and_then(|s| s.operation)
            .unwrap_or_default()
    }
}

crate::accessors!(OCIRepository {
    artifact,
    interval,
    timeout_60s,
    suspended
});

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;
    use serde_json::{Value, json};

    fn crd() -> Value {
        serde_json::to_value(OCIRepository::crd()).unwrap()
    }

    #[test]
    fn crd_names_and_columns_match_flux() {
        let crd = crd();
        assert_eq!(
            crd["metadata"]["name"],
            "ocirepositories.source.toolkit.fluxcd.io"
        );
        let names = &crd["spec"]["names"];
        assert_eq!(names["kind"], "OCIRepository");
        assert_eq!(names["singular"], "ocirepository");
        assert_eq!(names["shortNames"], json!(["ocirepo"]));
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
        assert_eq!(cols, ["URL", "Ready", "Status", "Age"]);
    }

    #[test]
    fn schema_facts_match_flux() {
        let crd = crd();
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"];
        let spec = &root["spec"];
        assert_eq!(spec["required"], json!(["interval", "url"]));
        let p = &spec["properties"];
        assert_eq!(p["url"]["pattern"], "^oci://.*$");
        assert_eq!(p["provider"]["default"], "generic");
        assert_eq!(
            p["provider"]["enum"],
            json!(["generic", "aws", "azure", "gcp"])
        );
        assert_eq!(
            p["layerSelector"]["properties"]["operation"]["enum"],
            json!(["extract", "copy"])
        );
        let verify = &p["verify"];
        assert_eq!(verify["required"], json!(["provider"]));
        assert_eq!(verify["properties"]["provider"]["default"], "cosign");
        assert_eq!(
            verify["properties"]["provider"]["enum"],
            json!(["cosign", "notation"])
        );
        assert_eq!(
            verify["properties"]["matchOIDCIdentity"]["items"]["required"],
            json!(["issuer", "subject"])
        );
        assert_eq!(root["status"]["default"], json!({"observedGeneration": -1}));
    }

    const EXAMPLE: &str = r#"
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: podinfo
  namespace: default
spec:
  interval: 5m0s
  url: oci://ghcr.io/stefanprodan/manifests/podinfo
  ref:
    semver: ">=6.0.0"
    semverFilter: ".*-rc.*"
  layerSelector:
    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip
    operation: copy
  provider: generic
  secretRef:
    name: ghcr-auth
  verify:
    provider: cosign
    matchOIDCIdentity:
      - issuer: ^https://token.actions.githubusercontent.com$
        subject: ^https://github.com/stefanprodan/podinfo.*$
  timeout: 60s
status:
  observedGeneration: 1
  url: http://source-controller.flux-system.svc.cluster.local./ocirepository/default/podinfo/latest.tar.gz
  artifact:
    digest: sha256:2fe9a6ae1d6c6b7d5b4b9f0b9b4a51bb9d2cc39df2b53f8b46d05af7b3fe1b54
    lastUpdateTime: "2025-01-01T10:00:00Z"
    metadata:
      org.opencontainers.image.created: "2025-01-01T09:00:00Z"
      org.opencontainers.image.revision: 6.7.1@sha1:0123456789abcdef0123456789abcdef01234567
    path: ocirepository/default/podinfo/sha256:2fe9a6ae.tar.gz
    revision: 6.7.1@sha256:2fe9a6ae1d6c6b7d5b4b9f0b9b4a51bb9d2cc39df2b53f8b46d05af7b3fe1b54
    size: 2048
    url: http://source-controller.flux-system.svc.cluster.local./ocirepository/default/podinfo/sha256:2fe9a6ae.tar.gz
  observedLayerSelector:
    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip
    operation: copy
"#;

    #[test]
    fn yaml_round_trip() {
        let obj: OCIRepository = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(obj.layer_operation(), OCILayerOperation::Copy);
        assert_eq!(obj.provider(), OCIProvider::Generic);
        assert_eq!(obj.timeout(), std::time::Duration::from_secs(60));
        assert!(obj.artifact().is_some());
        let value = serde_json::to_value(&obj).unwrap();
        let original: Value = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(value, original);
    }
}
