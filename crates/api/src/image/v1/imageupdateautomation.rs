//! `ImageUpdateAutomation`: commits the images selected by ImagePolicies back to Git.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ImageRef;
use crate::meta::LocalObjectReference;
use crate::source::v1::GitRepositoryRef;

/// Desired state of an ImageUpdateAutomation: the Git source, how to commit and push, and
/// which files to update.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1",
    kind = "ImageUpdateAutomation",
    plural = "imageupdateautomations",
    singular = "imageupdateautomation",
    shortname = "iua",
    shortname = "imgupd",
    shortname = "imgauto",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-images",
    namespaced,
    status = "ImageUpdateAutomationStatus",
    derive = "PartialEq",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "ImageUpdateAutomation rewrites image references in a Git repository to the images selected by ImagePolicies, then commits and pushes.",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Last run","type":"string","jsonPath":".status.lastAutomationRunTime","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateAutomationSpec {
    /// The GitRepository giving the repository address and credentials.
    pub source_ref: CrossNamespaceSourceReference,
    /// Checkout, commit and push settings (needed in practice).
    #[serde(rename = "git", default, skip_serializing_if = "Option::is_none")]
    pub git_spec: Option<GitSpec>,
    /// Minimum time between two automation runs.
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: String,
    /// Labels selecting the ImagePolicies to apply; all policies of the namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::label_selector")]
    pub policy_selector: Option<LabelSelector>,
    /// How files are updated; the `Setters` strategy at the root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = {"strategy": "Setters"}))]
    pub update: Option<UpdateStrategy>,
    /// Do not run the automation while true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// Kind of source an ImageUpdateAutomation can write to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum AutomationSourceKind {
    /// A GitRepository.
    #[default]
    GitRepository,
}

/// Reference to the Git source, optionally in another namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    /// API version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source.
    #[schemars(extend("default" = "GitRepository"))]
    pub kind: AutomationSourceKind,
    /// Name of the source.
    pub name: String,
    /// Namespace of the source; the automation's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Git settings of an automation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitSpec {
    /// Reference to clone and modify; the GitRepository's `spec.ref` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<GitCheckoutSpec>,
    /// How commits are made.
    pub commit: CommitSpec,
    /// Where commits are pushed; back to the checked-out branch when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushSpec>,
}

impl GitSpec {
    /// Whether a push refspec is configured.
    pub fn has_refspec(&self) -> bool {
        self.push
            .as_ref()
            .and_then(|p| p.refspec.as_deref())
            .is_some_and(|r| !r.is_empty())
    }
}

/// The Git reference to check out before updating.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitCheckoutSpec {
    /// Branch, tag or commit to clone.
    #[serde(rename = "ref")]
    pub reference: GitRepositoryRef,
}

/// How the automation commits its changes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitSpec {
    /// Author of the commits.
    pub author: CommitUser,
    /// Key used to sign the commits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<SigningKey>,
    /// Go template of the commit message, filled with the changes made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template: Option<String>,
    /// Extra values available to the message template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_values: Option<BTreeMap<String, String>>,
}

/// Commit author identity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitUser {
    /// Author name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Author email.
    pub email: String,
}

/// Format of a commit signing key.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SigningKeyType {
    /// OpenPGP key under `git.asc` (with an optional `passphrase`).
    #[default]
    Gpg,
    /// SSH private key under `identity` (with an optional `password`).
    Ssh,
}

/// Secret holding the key that signs the automation's commits.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    /// Secret, in the automation's namespace, holding the key.
    pub secret_ref: LocalObjectReference,
    /// Key format; `gpg` when unset.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "gpg"))]
    pub type_: Option<SigningKeyType>,
}

impl SigningKey {
    /// The key format, `gpg` when unset.
    pub fn key_type(&self) -> SigningKeyType {
        self.type_.unwrap_or_default()
    }
}

/// Where and how commits are pushed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSpec {
    /// Branch to push to, created from the checkout branch if missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Refspec to push with (in addition to `branch` if both are set); no deletes or
    /// forced updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^$|^[^+:]"))]
    pub refspec: Option<String>,
    /// Push options sent to the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

/// Name of an update strategy.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum UpdateStrategyName {
    /// Rewrite fields marked with `$imagepolicy` setter comments.
    #[default]
    Setters,
}

/// How files in the repository are updated.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStrategy {
    /// Strategy to use; `Setters` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Setters"))]
    pub strategy: Option<UpdateStrategyName>,
    /// Directory to update; the repository root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Observed state of an ImageUpdateAutomation.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("default" = {"observedGeneration": -1}))]
pub struct ImageUpdateAutomationStatus {
    /// When the automation last ran to completion, changes or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_automation_run_time: Option<Time>,
    /// SHA of the last commit pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push_commit: Option<String>,
    /// When a change was last pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push_time: Option<Time>,
    /// Generation of the object last handled by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions of the ImageUpdateAutomation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,
    /// Latest image of each ImagePolicy considered in the last run, by policy name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_policies: Option<BTreeMap<String, ImageRef>>,
    /// Source revision seen in the last run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_source_revision: Option<String>,
    /// Last reconcile-request annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl ImageUpdateAutomation {
    /// The update strategy, `Setters` when unset.
    pub fn update_strategy(&self) -> UpdateStrategyName {
        self.spec
            .update
            .as_ref()
            .and_then(|u| u.strategy)
            .unwrap_or_default()
    }

    /// The directory to update, if restricted.
    pub fn update_path(&self) -> Option<&str> {
        self.spec.update.as_ref()?.path.as_deref()
    }
}

crate::accessors!(ImageUpdateAutomation {
    interval,
    suspended
});

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;
    use serde_json::{Value, json};

    fn crd() -> Value {
        serde_json::to_value(ImageUpdateAutomation::crd()).unwrap()
    }

    #[test]
    fn crd_names_and_columns_match_flux() {
        let crd = crd();
        assert_eq!(
            crd["metadata"]["name"],
            "imageupdateautomations.image.toolkit.fluxcd.io"
        );
        let names = &crd["spec"]["names"];
        assert_eq!(names["kind"], "ImageUpdateAutomation");
        assert_eq!(names["singular"], "imageupdateautomation");
        assert_eq!(names["shortNames"], json!(["iua", "imgupd", "imgauto"]));
        assert_eq!(
            names["categories"],
            json!(["all", "fluxcd", "fluxcd-images"])
        );
        let cols = crd["spec"]["versions"][0]["additionalPrinterColumns"]
            .as_array()
            .unwrap();
        let names: Vec<&str> = cols.iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Ready", "Status", "Last run", "Age"]);
        assert_eq!(cols[2]["priority"], 1);
    }

    #[test]
    fn schema_facts_match_flux() {
        let crd = crd();
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"];
        let spec = &root["spec"];
        assert_eq!(spec["required"], json!(["interval", "sourceRef"]));
        let p = &spec["properties"];
        assert_eq!(
            p["sourceRef"]["properties"]["kind"]["default"],
            "GitRepository"
        );
        assert_eq!(
            p["sourceRef"]["properties"]["kind"]["enum"],
            json!(["GitRepository"])
        );
        assert_eq!(p["update"]["default"], json!({"strategy": "Setters"}));
        assert_eq!(
            p["update"]["properties"]["strategy"]["enum"],
            json!(["Setters"])
        );
        let git = &p["git"];
        assert_eq!(git["required"], json!(["commit"]));
        assert_eq!(git["properties"]["checkout"]["required"], json!(["ref"]));
        let signing = &git["properties"]["commit"]["properties"]["signingKey"];
        assert_eq!(signing["properties"]["type"]["default"], "gpg");
        assert_eq!(signing["properties"]["type"]["enum"], json!(["gpg", "ssh"]));
        assert_eq!(
            git["properties"]["push"]["properties"]["refspec"]["pattern"],
            "^$|^[^+:]"
        );
        assert_eq!(p["policySelector"]["x-kubernetes-map-type"], "atomic");
        assert_eq!(
            root["status"]["properties"]["observedPolicies"]["additionalProperties"]["required"],
            json!(["name", "tag"])
        );
        assert_eq!(root["status"]["default"], json!({"observedGeneration": -1}));
    }

    const EXAMPLE: &str = r#"
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 30m
  sourceRef:
    kind: GitRepository
    name: flux-system
  git:
    checkout:
      ref:
        branch: main
    commit:
      author:
        email: fluxcdbot@users.noreply.github.com
        name: fluxcdbot
      messageTemplate: |
        Automated image update

        {{ range .Changed.Changes }}{{ .OldValue }} -> {{ .NewValue }}
        {{ end }}
      messageTemplateValues:
        cluster: production
      signingKey:
        secretRef:
          name: signing-key
        type: ssh
    push:
      branch: image-updates
      options:
        merge_request.create: ""
  policySelector:
    matchLabels:
      app.kubernetes.io/part-of: podinfo
  update:
    path: ./clusters/production
    strategy: Setters
status:
  observedGeneration: 1
  lastAutomationRunTime: "2025-01-01T10:00:00Z"
  lastPushCommit: 132f4e719209eb10b9485302f8593fc0e680f4fc
  lastPushTime: "2025-01-01T10:00:00Z"
  observedSourceRevision: main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc
  observedPolicies:
    podinfo:
      name: ghcr.io/stefanprodan/podinfo
      tag: 6.7.1
"#;

    #[test]
    fn yaml_round_trip() {
        let obj: ImageUpdateAutomation = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(obj.update_strategy(), UpdateStrategyName::Setters);
        assert_eq!(obj.update_path(), Some("./clusters/production"));
        let git = obj.spec.git_spec.as_ref().unwrap();
        assert!(!git.has_refspec());
        assert_eq!(
            git.commit.signing_key.as_ref().unwrap().key_type(),
            SigningKeyType::Ssh
        );
        let value = serde_json::to_value(&obj).unwrap();
        let original: Value = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(value, original);
    }
}
