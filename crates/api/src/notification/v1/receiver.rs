//! The `Receiver` kind: an incoming webhook endpoint that, once a request is
//! authenticated, asks the referenced Flux objects to reconcile.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::CrossNamespaceObjectReference;
use crate::meta::LocalObjectReference;

/// Kind name of the Receiver API.
pub const RECEIVER_KIND: &str = "Receiver";
/// Path prefix of the generated webhook addresses.
pub const RECEIVER_WEBHOOK_PATH: &str = "/hook/";
/// Audience expected in `generic-oidc` tokens when a provider sets none.
pub const DEFAULT_OIDC_AUDIENCE: &str = "notification-controller";
/// Reconcile interval of a Receiver when `interval` is unset (Go duration).
pub const DEFAULT_RECEIVER_INTERVAL: &str = "10m";

/// Desired state of a Receiver: who calls it, how calls are authenticated, what to reconcile.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1",
    kind = "Receiver",
    plural = "receivers",
    namespaced,
    status = "ReceiverStatus",
    derive = "PartialEq",
    doc = "Receiver exposes a webhook that triggers the reconciliation of Flux objects.",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.type != 'generic-oidc' || (has(self.oidcProviders) && size(self.oidcProviders) > 0)",
        "message": "generic-oidc receivers must define at least one oidcProvider"
    },
    {
        "rule": "self.type == 'generic-oidc' || !has(self.oidcProviders) || size(self.oidcProviders) == 0",
        "message": "oidcProviders can only be set when type is generic-oidc"
    },
    {
        "rule": "self.type == 'generic-oidc' || has(self.secretRef)",
        "message": "secretRef is required when type is not generic-oidc"
    }
]))]
pub struct ReceiverSpec {
    /// Event types to act on, e.g. `push` (GitHub) or `Push Hook` (GitLab); all when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,

    /// How often the Receiver is reconciled with its Secret references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"),
        extend("default" = "10m")
    )]
    pub interval: Option<String>,

    /// OIDC issuers accepted by a `generic-oidc` Receiver, keyed by issuer URL.
    #[serde(
        default,
        rename = "oidcProviders",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(extend(
        "x-kubernetes-list-type" = "map",
        "x-kubernetes-list-map-keys" = ["issuerURL"]
    ))]
    pub oidc_providers: Option<Vec<OidcProvider>>,

    /// CEL expression, evaluated per resource, deciding whether it is asked to reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_filter: Option<String>,

    /// Objects asked to reconcile when a valid request arrives.
    pub resources: Vec<CrossNamespaceObjectReference>,

    /// Secret with the `token` validating requests (required except for `generic-oidc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,

    /// Stop handling requests until unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,

    /// Kind of webhook sender, which selects the authentication and payload format.
    #[serde(rename = "type")]
    pub type_: ReceiverType,
}

/// Supported webhook senders.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ReceiverType {
    #[serde(rename = "generic")]
    Generic,
    #[serde(rename = "generic-hmac")]
    GenericHmac,
    #[serde(rename = "generic-oidc")]
    GenericOidc,
    #[serde(rename = "github")]
    GitHub,
    #[serde(rename = "gitlab")]
    GitLab,
    #[serde(rename = "bitbucket")]
    Bitbucket,
    #[serde(rename = "harbor")]
    Harbor,
    #[serde(rename = "dockerhub")]
    DockerHub,
    #[serde(rename = "quay")]
    Quay,
    #[serde(rename = "gcr")]
    Gcr,
    #[serde(rename = "nexus")]
    Nexus,
    #[serde(rename = "acr")]
    Acr,
    #[serde(rename = "cdevents")]
    CdEvents,
}

/// An OIDC issuer trusted by a `generic-oidc` Receiver.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcProvider {
    /// Expected token audience (`notification-controller` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Issuer URL, matched against the token's `iss` claim and used for discovery.
    #[serde(rename = "issuerURL")]
    #[schemars(regex(pattern = r"^https?://"))]
    pub issuer_url: String,
    /// CEL boolean expressions on the claims; all must hold for a request to be accepted.
    #[schemars(length(min = 1))]
    pub validations: Vec<OidcValidation>,
    /// Named CEL expressions on the claims, exposed to later ones as `vars.<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<OidcVariable>>,
}

impl OidcProvider {
    /// The expected token audience.
    pub fn audience(&self) -> &str {
        self.audience.as_deref().unwrap_or(DEFAULT_OIDC_AUDIENCE)
    }
}

/// A named CEL expression over the token claims.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcVariable {
    /// The CEL expression.
    pub expression: String,
    /// Name of the variable (a CEL identifier).
    pub name: String,
}

/// A CEL boolean check over the token claims.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcValidation {
    /// The CEL boolean expression.
    pub expression: String,
    /// Message returned to the caller when the expression is false.
    pub message: String,
}

/// Observed state of a Receiver.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("default" = {"observedGeneration": -1}))]
pub struct ReceiverStatus {
    /// Conditions of the Receiver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,

    /// Last reconcile-request annotation value acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,

    /// Generation of the object last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Generated webhook path, `/hook/<sha256 of token + name + namespace>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_path: Option<String>,
}

impl Receiver {
    /// The reconcile interval as written, `10m` when unset.
    pub fn interval(&self) -> &str {
        self.spec
            .interval
            .as_deref()
            .unwrap_or(DEFAULT_RECEIVER_INTERVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;
    use serde_json::{Value, json};

    fn crd_json() -> Value {
        serde_json::to_value(Receiver::crd()).unwrap()
    }

    #[test]
    fn crd_names_match_flux() {
        let crd = crd_json();
        assert_eq!(
            crd["metadata"]["name"],
            "receivers.notification.toolkit.fluxcd.io"
        );
        let names = &crd["spec"]["names"];
        assert_eq!(names["kind"], "Receiver");
        assert_eq!(names["plural"], "receivers");
        assert_eq!(names["singular"], "receiver");
        assert!(names.get("shortNames").is_none());
        assert_eq!(
            names["categories"],
            json!(["all", "fluxcd", "fluxcd-notifications"])
        );
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], "v1");
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
        assert_eq!(spec["required"], json!(["resources", "type"]));
        assert_eq!(
            spec["x-kubernetes-validations"].as_array().unwrap().len(),
            3
        );
        let p = &spec["properties"];
        assert_eq!(
            p["type"]["enum"],
            json!([
                "generic",
                "generic-hmac",
                "generic-oidc",
                "github",
                "gitlab",
                "bitbucket",
                "harbor",
                "dockerhub",
                "quay",
                "gcr",
                "nexus",
                "acr",
                "cdevents"
            ])
        );
        assert_eq!(p["interval"]["default"], "10m");
        assert_eq!(p["interval"]["pattern"], crate::meta::DURATION_PATTERN);
        let res = &p["resources"]["items"];
        assert_eq!(res["required"], json!(["kind", "name"]));
        assert_eq!(
            res["properties"]["kind"]["enum"],
            json!([
                "Bucket",
                "GitRepository",
                "Kustomization",
                "HelmRelease",
                "HelmChart",
                "HelmRepository",
                "ImageRepository",
                "ImagePolicy",
                "ImageUpdateAutomation",
                "OCIRepository",
                "ArtifactGenerator",
                "ExternalArtifact"
            ])
        );
        assert_eq!(res["properties"]["name"]["maxLength"], json!(253));
        let oidc = &p["oidcProviders"];
        assert_eq!(oidc["x-kubernetes-list-type"], "map");
        assert_eq!(oidc["x-kubernetes-list-map-keys"], json!(["issuerURL"]));
        assert_eq!(
            oidc["items"]["required"],
            json!(["issuerURL", "validations"])
        );
        assert_eq!(
            oidc["items"]["properties"]["validations"]["minItems"],
            json!(1)
        );
        let status = &root["properties"]["status"];
        assert_eq!(status["default"], json!({"observedGeneration": -1}));
        assert!(status["properties"]["webhookPath"].is_object());
    }

    const EXAMPLE: &str = r#"
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata:
  name: github-receiver
  namespace: flux-system
spec:
  type: github
  interval: 1h
  events:
    - ping
    - push
  secretRef:
    name: webhook-token
  resourceFilter: request.body.ref == 'refs/heads/main'
  resources:
    - apiVersion: source.toolkit.fluxcd.io/v1
      kind: GitRepository
      name: webapp
      namespace: flux-system
    - kind: Kustomization
      name: "*"
      matchLabels:
        app: webapp
status:
  observedGeneration: 1
  webhookPath: /hook/bed6d00b5555b1603e1f59b94d7fdbca58089cb5663633fb83f2815dc626d92b
  conditions:
    - type: Ready
      status: "True"
      reason: Succeeded
      message: "Receiver initialized for path: /hook/bed6d00b5555b1603e1f59b94d7fdbca58089cb5663633fb83f2815dc626d92b"
      lastTransitionTime: "2024-05-01T10:00:00Z"
      observedGeneration: 1
"#;

    #[test]
    fn yaml_round_trip() {
        let rcv: Receiver = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(rcv.spec.type_, ReceiverType::GitHub);
        assert_eq!(rcv.interval(), "1h");
        assert!(rcv.spec.resources[1].is_wildcard());
        let value = serde_json::to_value(&rcv).unwrap();
        let original: Value = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert_eq!(value, original);
        let back: Receiver = serde_json::from_value(value).unwrap();
        assert_eq!(back, rcv);
    }

    #[test]
    fn oidc_receiver_parses() {
        let rcv: Receiver = serde_saphyr::from_str(
            r#"
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata:
  name: ci
spec:
  type: generic-oidc
  resources:
    - kind: OCIRepository
      name: app
  oidcProviders:
    - issuerURL: https://token.actions.githubusercontent.com
      variables:
        - name: owner
          expression: claims.repository_owner
      validations:
        - expression: vars.owner == 'example'
          message: wrong owner
"#,
        )
        .unwrap();
        let provider = &rcv.spec.oidc_providers.as_ref().unwrap()[0];
        assert_eq!(provider.audience(), DEFAULT_OIDC_AUDIENCE);
        let json = serde_json::to_value(&rcv).unwrap();
        assert_eq!(
            json["spec"]["oidcProviders"][0]["issuerURL"],
            "https://token.actions.githubusercontent.com"
        );
    }
}
