//! The `Provider` kind: an external system (chat, git forge, event bus, ...) that
//! notifications are sent to.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::LocalObjectReference;

/// Kind name of the Provider API.
pub const PROVIDER_KIND: &str = "Provider";
/// Timeout for sending a notification when `timeout` is unset (Go duration).
pub const DEFAULT_PROVIDER_TIMEOUT: &str = "15s";

/// Desired state of a Provider: which system to notify and how to reach it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta3",
    kind = "Provider",
    plural = "providers",
    namespaced,
    derive = "PartialEq",
    doc = "Provider describes an external system that receives notifications.",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self.type == 'github' || self.type == 'gitlab' || self.type == 'gitea' || self.type == 'bitbucketserver' || self.type == 'bitbucket' || self.type == 'azuredevops' || !has(self.commitStatusExpr)",
    "message": "spec.commitStatusExpr is only supported for the 'github', 'gitlab', 'gitea', 'bitbucketserver', 'bitbucket', 'azuredevops' provider types"
}]))]
pub struct ProviderSpec {
    /// Endpoint notifications are sent to; an HTTP/S URL, project ID or namespace depending on the type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub address: Option<String>,

    /// Secret with TLS material (`ca.crt`, `tls.crt`, `tls.key`) for the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,

    /// Channel (or room, topic) notifications are posted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub channel: Option<String>,

    /// CEL expression building a custom commit status (git forge types only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_status_expr: Option<String>,

    /// Unused since v1beta3 (deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: Option<String>,

    /// HTTP/S proxy address (deprecated, use `proxySecretRef`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = r"^(http|https)://.*$"))]
    pub proxy: Option<String>,

    /// Secret with the proxy `address` and optional `username`/`password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,

    /// Secret with the credentials (token, address, headers, ...) of the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,

    /// Service account used for workload-identity authentication to cloud services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,

    /// Stop sending notifications until unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,

    /// Deadline for sending one notification (15s when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$"))]
    pub timeout: Option<String>,

    /// Kind of provider.
    #[serde(rename = "type")]
    pub type_: ProviderType,

    /// Name notifications are posted under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub username: Option<String>,
}

/// Supported notification providers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ProviderType {
    #[serde(rename = "slack")]
    Slack,
    #[serde(rename = "discord")]
    Discord,
    #[serde(rename = "msteams")]
    MsTeams,
    #[serde(rename = "rocket")]
    Rocket,
    #[serde(rename = "generic")]
    Generic,
    #[serde(rename = "generic-hmac")]
    GenericHmac,
    #[serde(rename = "github")]
    GitHub,
    #[serde(rename = "gitlab")]
    GitLab,
    #[serde(rename = "gitea")]
    Gitea,
    #[serde(rename = "bitbucketserver")]
    BitbucketServer,
    #[serde(rename = "bitbucket")]
    Bitbucket,
    #[serde(rename = "azuredevops")]
    AzureDevOps,
    #[serde(rename = "googlechat")]
    GoogleChat,
    #[serde(rename = "googlepubsub")]
    GooglePubSub,
    #[serde(rename = "webex")]
    Webex,
    #[serde(rename = "sentry")]
    Sentry,
    #[serde(rename = "azureeventhub")]
    AzureEventHub,
    #[serde(rename = "telegram")]
    Telegram,
    #[serde(rename = "lark")]
    Lark,
    #[serde(rename = "matrix")]
    Matrix,
    #[serde(rename = "opsgenie")]
    Opsgenie,
    #[serde(rename = "alertmanager")]
    AlertManager,
    #[serde(rename = "grafana")]
    Grafana,
    #[serde(rename = "githubdispatch")]
    GitHubDispatch,
    #[serde(rename = "githubpullrequestcomment")]
    GitHubPullRequestComment,
    #[serde(rename = "pagerduty")]
    PagerDuty,
    #[serde(rename = "datadog")]
    DataDog,
    #[serde(rename = "nats")]
    Nats,
    #[serde(rename = "zulip")]
    Zulip,
    #[serde(rename = "otel")]
    Otel,
}

impl ProviderType {
    /// Whether the provider reports commit statuses on a git forge (and accepts `commitStatusExpr`).
    pub fn is_commit_status(self) -> bool {
        matches!(
            self,
            ProviderType::GitHub
                | ProviderType::GitLab
                | ProviderType::Gitea
                | ProviderType::BitbucketServer
                | ProviderType::Bitbucket
                | ProviderType::AzureDevOps
        )
    }
}

impl Provider {
    /// The send timeout as written, `15s` when unset.
    pub fn timeout(&self) -> &str {
        self.spec
            .timeout
            .as_deref()
            .unwrap_or(DEFAULT_PROVIDER_TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;
    use serde_json::{Value, json};

    fn crd_json() -> Value {
        serde_json::to_value(Provider::crd()).unwrap()
    }

    #[test]
    fn crd_names_match_flux() {
        let crd = crd_json();
        assert_eq!(
            crd["metadata"]["name"],
            "providers.notification.toolkit.fluxcd.io"
        );
        let names = &crd["spec"]["names"];
        assert_eq!(names["kind"], "Provider");
        assert_eq!(names["plural"], "providers");
        assert_eq!(names["singular"], "provider");
        assert!(names.get("shortNames").is_none());
        assert_eq!(
            names["categories"],
            json!(["all", "fluxcd", "fluxcd-notifications"])
        );
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], "v1beta3");
        assert!(version.get("subresources").is_none());
        assert_eq!(
            version["additionalPrinterColumns"],
            json!([{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}])
        );
        let root = &version["schema"]["openAPIV3Schema"];
        assert!(root["properties"].get("status").is_none());
    }

    #[test]
    fn crd_schema_facts() {
        let crd = crd_json();
        let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert_eq!(spec["required"], json!(["type"]));
        assert_eq!(
            spec["x-kubernetes-validations"].as_array().unwrap().len(),
            1
        );
        let p = &spec["properties"];
        let types = p["type"]["enum"].as_array().unwrap();
        assert_eq!(types.len(), 30);
        assert_eq!(types[0], "slack");
        assert!(types.contains(&json!("generic-hmac")));
        assert!(types.contains(&json!("githubpullrequestcomment")));
        assert_eq!(types[29], "otel");
        assert_eq!(p["timeout"]["pattern"], crate::meta::TIMEOUT_PATTERN);
        assert_eq!(p["interval"]["pattern"], crate::meta::DURATION_PATTERN);
        assert_eq!(p["proxy"]["pattern"], "^(http|https)://.*$");
        assert_eq!(p["address"]["maxLength"], json!(2048));
    }

    const EXAMPLE: &str = r#"
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: github-status
  namespace: flux-system
spec:
  type: github
  address: https://github.com/stefanprodan/podinfo
  secretRef:
    name: github-token
  certSecretRef:
    name: github-ca
  proxySecretRef:
    name: corp-proxy
  timeout: 30s
  commitStatusExpr: "(event.involvedObject.kind + '/' + event.involvedObject.name) + '/' + provider.metadata.uid.lowerAscii()"
"#;

    #[test]
    fn yaml_round_trip() {
        let provider: Provider = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(provider.spec.type_, ProviderType::GitHub);
        assert!(provider.spec.type_.is_commit_status());
        assert_eq!(provider.timeout(), "30s");
        let value = serde_json::to_value(&provider).unwrap();
        let original: Value = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(value, original);
        let back: Provider = serde_json::from_value(value).unwrap();
        assert_eq!(back, provider);
    }
}
