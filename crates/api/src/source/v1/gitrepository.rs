//! `GitRepository`: a Git repository checked out and packaged as an artifact.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{Artifact, LocalObjectReference};

/// Desired state of a GitRepository: where to clone from, what to check out and how often.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "GitRepository",
    plural = "gitrepositories",
    singular = "gitrepository",
    shortname = "gitrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    namespaced,
    status = "GitRepositoryStatus",
    derive = "PartialEq",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "GitRepository fetches a Git repository and publishes its content as an artifact.",
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.url"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!has(self.serviceAccountName) || (has(self.provider) && (self.provider == 'azure' || self.provider == 'aws'))",
    "message": "serviceAccountName can only be set when provider is 'azure' or 'aws'"
}]))]
pub struct GitRepositorySpec {
    /// HTTP(S) or SSH address of the repository.
    #[schemars(regex(pattern = r"^(http|https|ssh)://.*$"))]
    pub url: String,
    /// Secret with the credentials: `username`/`password` or `bearerToken` for HTTPS,
    /// `identity`/`known_hosts` for SSH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Authentication provider; `generic` (credentials from `secretRef`) when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<GitProvider>,
    /// ServiceAccount used for workload-identity authentication (`azure` and `aws` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// How often the repository is checked for new commits (approximate, may be jittered).
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: String,
    /// Time limit for Git operations such as cloning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$"),
        extend("default" = "60s")
    )]
    pub timeout: Option<String>,
    /// Git reference to check out and watch; the `master` branch when unset.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRepositoryRef>,
    /// Commit or tag signature verification settings.
    #[serde(rename = "verify", default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<GitRepositoryVerification>,
    /// Secret with the proxy settings (`address`, `username`, `password`) to reach the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// `.sourceignore`-style patterns replacing the default exclusions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Stop reconciling this object while true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Also clone every submodule, with its default settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurse_submodules: Option<bool>,
    /// Other GitRepositories whose artifact content is copied into this artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<GitRepositoryInclude>>,
    /// Only these directories are checked out and packaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparse_checkout: Option<Vec<String>>,
}

/// How the controller authenticates to the Git server.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GitProvider {
    /// Credentials from `secretRef`.
    #[default]
    Generic,
    /// AWS CodeCommit with IAM credentials.
    Aws,
    /// Azure DevOps with workload identity.
    Azure,
    /// GitHub App authentication.
    Github,
}

/// A GitRepository whose artifact is copied into the including repository's artifact.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryInclude {
    /// The included GitRepository, in the same namespace.
    pub repository: LocalObjectReference,
    /// Directory of the included artifact to copy; its root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_path: Option<String>,
    /// Destination directory; the included repository's name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_path: Option<String>,
}

impl GitRepositoryInclude {
    /// Source directory inside the included artifact (empty for its root).
    pub fn from_path(&self) -> &str {
        self.from_path.as_deref().unwrap_or("")
    }

    /// Destination directory, defaulting to the included repository's name.
    pub fn to_path(&self) -> &str {
        match self.to_path.as_deref() {
            Some(p) if !p.is_empty() => p,
            _ => &self.repository.name,
        }
    }
}

/// Which Git reference to check out; the most specific field that is set wins
/// (commit, then name, then semver, then tag, then branch).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryRef {
    /// Branch to check out (`master` when nothing else is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Tag to check out; wins over `branch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Semantic-version range selecting the highest matching tag; wins over `tag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// Full reference name such as `refs/heads/main` or `refs/pull/1/head`; wins over
    /// `branch`, `tag` and `semver`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Commit SHA to check out; wins over every other field (can be combined with `branch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// Which Git objects have their signature verified.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum GitVerificationMode {
    /// Legacy spelling of `HEAD`.
    #[serde(rename = "head")]
    LegacyHead,
    /// The commit HEAD points to after checkout.
    #[default]
    #[serde(rename = "HEAD")]
    Head,
    /// The checked-out tag object.
    #[serde(rename = "Tag")]
    Tag,
    /// Both the tag object and the commit it points to.
    #[serde(rename = "TagAndHEAD")]
    TagAndHead,
}

/// Signature verification settings for a GitRepository.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryVerification {
    /// Objects to verify; `HEAD` when unset (`head` is accepted as an alias).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "HEAD"))]
    pub mode: Option<GitVerificationMode>,
    /// Secret holding trusted public keys: PGP keys under `*.asc`, SSH keys under `*.sshpub`.
    pub secret_ref: LocalObjectReference,
}

impl GitRepositoryVerification {
    /// The effective mode, with `head` folded into `HEAD`.
    pub fn mode(&self) -> GitVerificationMode {
        match self.mode {
            None | Some(GitVerificationMode::LegacyHead) => GitVerificationMode::Head,
            Some(m) => m,
        }
    }

    /// Whether the HEAD commit must be verified.
    pub fn verify_head(&self) -> bool {
        matches!(
            self.mode(),
            GitVerificationMode::Head | GitVerificationMode::TagAndHead
        )
    }

    /// Whether the tag object must be verified.
    pub fn verify_tag(&self) -> bool {
        matches!(
            self.mode(),
            GitVerificationMode::Tag | GitVerificationMode::TagAndHead
        )
    }
}

/// Observed state of a GitRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("default" = {"observedGeneration": -1}))]
pub struct GitRepositoryStatus {
    /// Generation of the object last handled by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions of the GitRepository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,
    /// Artifact produced by the last successful reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Artifacts of the included repositories used for the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_artifacts: Option<Vec<Artifact>>,
    /// Ignore patterns used to build the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// Submodule setting used to build the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_recurse_submodules: Option<bool>,
    /// Includes used to build the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_include: Option<Vec<GitRepositoryInclude>>,
    /// Sparse-checkout directories used to build the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_sparse_checkout: Option<Vec<String>>,
    /// Verification mode last applied, telling which Git objects were verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_verification_mode: Option<String>,
    /// Last reconcile-request annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl GitRepository {
    /// The authentication provider, `generic` when unset.
    pub fn provider(&self) -> GitProvider {
        self.spec.provider.unwrap_or_default()
    }
}

crate::accessors!(GitRepository {
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
        serde_json::to_value(GitRepository::crd()).unwrap()
    }

    fn spec_schema(crd: &Value) -> &Value {
        &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    }

    #[test]
    fn crd_names_and_columns_match_flux() {
        let crd = crd();
        assert_eq!(
            crd["metadata"]["name"],
            "gitrepositories.source.toolkit.fluxcd.io"
        );
        let names = &crd["spec"]["names"];
        assert_eq!(names["kind"], "GitRepository");
        assert_eq!(names["singular"], "gitrepository");
        assert_eq!(names["shortNames"], json!(["gitrepo"]));
        assert_eq!(
            names["categories"],
            json!(["all", "fluxcd", "fluxcd-sources"])
        );
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], "v1");
        assert_eq!(version["subresources"]["status"], json!({}));
        let cols: Vec<&str> = version["additionalPrinterColumns"]
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
        let spec = spec_schema(&crd);
        assert_eq!(spec["required"], json!(["interval", "url"]));
        let p = &spec["properties"];
        assert_eq!(p["url"]["pattern"], "^(http|https|ssh)://.*$");
        assert_eq!(p["interval"]["pattern"], crate::meta::DURATION_PATTERN);
        assert_eq!(p["timeout"]["default"], "60s");
        assert_eq!(p["timeout"]["pattern"], crate::meta::TIMEOUT_PATTERN);
        assert_eq!(
            p["provider"]["enum"],
            json!(["generic", "aws", "azure", "github"])
        );
        assert_eq!(p["verify"]["properties"]["mode"]["default"], "HEAD");
        assert_eq!(
            p["verify"]["properties"]["mode"]["enum"],
            json!(["head", "HEAD", "Tag", "TagAndHEAD"])
        );
        assert_eq!(p["verify"]["required"], json!(["secretRef"]));
        assert_eq!(p["include"]["items"]["required"], json!(["repository"]));
        assert_eq!(
            spec["x-kubernetes-validations"].as_array().unwrap().len(),
            1
        );
        let status =
            &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"];
        assert_eq!(status["default"], json!({"observedGeneration": -1}));
        assert_eq!(
            status["properties"]["artifact"]["properties"]["digest"]["pattern"],
            crate::meta::DIGEST_PATTERN
        );
    }

    const EXAMPLE: &str = r#"
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: podinfo
  namespace: default
spec:
  interval: 5m0s
  url: https://github.com/stefanprodan/podinfo
  ref:
    branch: master
  secretRef:
    name: https-credentials
  timeout: 60s
  ignore: |
    /*
    !/deploy
  include:
    - repository:
        name: shared-config
      fromPath: deploy/base
      toPath: base
  verify:
    mode: HEAD
    secretRef:
      name: pgp-public-keys
  sparseCheckout:
    - deploy
status:
  observedGeneration: 2
  artifact:
    digest: sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
    lastUpdateTime: "2025-01-01T10:00:00Z"
    path: gitrepository/default/podinfo/e3b0c442.tar.gz
    revision: master@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc
    size: 1024
    url: http://source-controller.flux-system.svc.cluster.local./gitrepository/default/podinfo/e3b0c442.tar.gz
  conditions:
    - type: Ready
      status: "True"
      reason: Succeeded
      message: "stored artifact for revision 'master@sha1:132f4e71'"
      lastTransitionTime: "2025-01-01T10:00:00Z"
      observedGeneration: 2
  lastHandledReconcileAt: "2025-01-01T09:59:00Z"
"#;

    #[test]
    fn yaml_round_trip() {
        let obj: GitRepository = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(obj.spec.interval, "5m0s");
        assert_eq!(
            obj.spec.verification.as_ref().unwrap().mode(),
            GitVerificationMode::Head
        );
        assert_eq!(obj.spec.include.as_ref().unwrap()[0].to_path(), "base");
        assert_eq!(obj.interval(), Some(std::time::Duration::from_secs(300)));
        assert_eq!(obj.provider(), GitProvider::Generic);
        assert!(obj.artifact().is_some());
        let value = serde_json::to_value(&obj).unwrap();
        let original: Value = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(value, original);
        let back: GitRepository = serde_json::from_value(value).unwrap();
        assert_eq!(back, obj);
    }
}
