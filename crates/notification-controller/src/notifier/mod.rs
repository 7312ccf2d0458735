//! What each Provider type sends: pure functions from a resolved provider
//! ([`Target`]) and an event to the HTTP requests to make. No I/O here; the
//! requests are executed by [`crate::dispatch`].

mod chat;
mod generic;
mod git;
mod incident;

pub use generic::{SIGNATURE_HEADER, signature};
pub use git::{commit_status_id, parse_revision};

use std::collections::BTreeMap;

use weir_api::notification::v1beta3::ProviderType;
use weir_runtime::events::FluxEvent;

/// The header Flux's generic providers name the reporting controller in.
pub const COMPONENT_HEADER: &str = "gotk-component";

/// A provider with its Secret resolved: everything a payload is built from.
#[derive(Clone, Debug, Default)]
pub struct Target {
    /// The endpoint (`spec.address`, or the Secret's `address`).
    pub address: String,
    /// `spec.channel`.
    pub channel: String,
    /// `spec.username`, or the Secret's `username`.
    pub username: String,
    /// The Secret's `token`.
    pub token: String,
    /// The Secret's `password`.
    pub password: String,
    /// The Secret's `headers` (YAML map), for the generic providers.
    pub headers: BTreeMap<String, String>,
    pub provider_uid: String,
    pub provider_name: String,
    pub provider_namespace: String,
}

/// One HTTP request to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    fn post_json(url: &str, body: Vec<u8>) -> Self {
        Self {
            method: reqwest::Method::POST,
            url: url.to_owned(),
            headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
            body,
        }
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The value of a header (for tests and logs).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A provider that cannot send this event; the text is reported on the Alert.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotifierError {
    #[error("provider type '{0}' is not supported by Weir yet")]
    Unsupported(String),
    #[error("invalid provider configuration: {0}")]
    Config(String),
}

/// The provider type as written in the API.
pub fn type_name(t: ProviderType) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{t:?}"))
}

/// The requests that deliver `event` to the provider.
pub fn requests(
    provider_type: ProviderType,
    target: &Target,
    event: &FluxEvent,
) -> Result<Vec<HttpRequest>, NotifierError> {
    // Commit status updates are meant for the git providers only.
    if !provider_type.is_commit_status()
        && event.metadata.get(META_COMMIT_STATUS).map(String::as_str) == Some("update")
    {
        return Ok(Vec::new());
    }
    let one = |r: Result<HttpRequest, NotifierError>| r.map(|r| vec![r]);
    match provider_type {
        ProviderType::Generic => one(generic::forward(target, event, false)),
        ProviderType::GenericHmac => one(generic::forward(target, event, true)),
        ProviderType::Slack => one(chat::slack(target, event)),
        ProviderType::Discord => one(chat::discord(target, event)),
        ProviderType::Rocket => one(chat::rocket(target, event)),
        ProviderType::MsTeams => one(chat::msteams(target, event)),
        ProviderType::GoogleChat => one(chat::google_chat(target, event)),
        ProviderType::Webex => one(chat::webex(target, event)),
        ProviderType::Telegram => one(chat::telegram(target, event)),
        ProviderType::Matrix => one(chat::matrix(target, event)),
        ProviderType::AlertManager => one(incident::alertmanager(target, event)),
        ProviderType::Grafana => one(incident::grafana(target, event)),
        ProviderType::PagerDuty => incident::pagerduty(target, event),
        ProviderType::Opsgenie => one(incident::opsgenie(target, event)),
        ProviderType::GitHub => git::github(target, event),
        ProviderType::GitLab => git::gitlab(target, event),
        ProviderType::Gitea => git::gitea(target, event),
        ProviderType::Bitbucket => git::bitbucket(target, event),
        other => Err(NotifierError::Unsupported(type_name(other))),
    }
}

/// The metadata key marking commit status updates (after the group prefix is stripped).
pub const META_COMMIT_STATUS: &str = "commit_status";

fn is_error(event: &FluxEvent) -> bool {
    event.severity == crate::event::SEVERITY_ERROR
}

/// `kind/name.namespace` with the kind in lowercase, as Flux titles messages.
fn object_title(event: &FluxEvent) -> String {
    let o = &event.involved_object;
    format!(
        "{}/{}.{}",
        o.kind.as_deref().unwrap_or_default().to_lowercase(),
        o.name.as_deref().unwrap_or_default(),
        o.namespace.as_deref().unwrap_or_default()
    )
}

/// Flux's `formatNameAndDescription`: `kind/name` in lowercase, and the
/// reason split at its camel-case humps, in lowercase.
fn name_and_description(event: &FluxEvent) -> (String, String) {
    let o = &event.involved_object;
    let name = format!(
        "{}/{}",
        o.kind.as_deref().unwrap_or_default(),
        o.name.as_deref().unwrap_or_default()
    )
    .to_lowercase();
    (
        name,
        split_camel_case(&event.reason).join(" ").to_lowercase(),
    )
}

/// Splits `ReconciliationSucceeded` into `Reconciliation`, `Succeeded`
/// (and `PDFLoader` into `PDF`, `Loader`), like Go's camelcase package.
fn split_camel_case(src: &str) -> Vec<String> {
    let class = |c: char| {
        if c.is_lowercase() {
            1
        } else if c.is_uppercase() {
            2
        } else if c.is_numeric() {
            3
        } else {
            4
        }
    };
    let mut runs: Vec<Vec<char>> = Vec::new();
    let mut last = 0;
    for c in src.chars() {
        let k = class(c);
        match runs.last_mut() {
            Some(run) if k == last => run.push(c),
            _ => runs.push(vec![c]),
        }
        last = k;
    }
    for i in 0..runs.len().saturating_sub(1) {
        let upper_then_lower = runs[i].first().is_some_and(|c| c.is_uppercase())
            && runs[i + 1].first().is_some_and(|c| c.is_lowercase());
        if upper_then_lower && let Some(moved) = runs[i].pop() {
            runs[i + 1].insert(0, moved);
        }
    }
    runs.into_iter()
        .filter(|r| !r.is_empty())
        .map(|r| r.into_iter().collect())
        .collect()
}

/// A timestamp as Go prints a `time.Time`: `2006-01-02 15:04:05 +0000 UTC`.
fn go_time(timestamp: &str) -> String {
    match timestamp.parse::<jiff::Timestamp>() {
        Ok(t) => t
            .to_zoned(jiff::tz::TimeZone::UTC)
            .strftime("%Y-%m-%d %H:%M:%S +0000 UTC")
            .to_string(),
        Err(_) => timestamp.to_owned(),
    }
}

/// Checks that `address` is an absolute http(s) URL.
fn require_url(address: &str) -> Result<(), NotifierError> {
    let parsed = reqwest::Url::parse(address)
        .map_err(|e| NotifierError::Config(format!("invalid address '{address}': {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(NotifierError::Config(format!(
            "invalid address '{address}': the scheme must be http or https"
        )));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A representative event, as it leaves the event server for a provider.
    pub fn event(severity: &str, metadata: &[(&str, &str)]) -> FluxEvent {
        FluxEvent {
            involved_object: k8s_openapi::api::core::v1::ObjectReference {
                api_version: Some("kustomize.toolkit.fluxcd.io/v1".into()),
                kind: Some("Kustomization".into()),
                name: Some("webapp".into()),
                namespace: Some("apps".into()),
                uid: Some("7d0cdc51-ddcf-4743-b223-83ca5c699632".into()),
                ..Default::default()
            },
            severity: severity.into(),
            timestamp: "2026-03-01T10:20:30Z".into(),
            message: "Service/apps/webapp configured".into(),
            reason: "ReconciliationSucceeded".into(),
            metadata: metadata
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            reporting_controller: "kustomize-controller".into(),
            reporting_instance: "kustomize-controller-7f9c".into(),
        }
    }

    pub fn target(address: &str) -> Target {
        Target {
            address: address.into(),
            provider_uid: "0c9c2e41-d2f9-4f9b-9c41-bebc1984d67a".into(),
            provider_name: "p".into(),
            provider_namespace: "apps".into(),
            ..Default::default()
        }
    }

    pub fn json(req: &HttpRequest) -> serde_json::Value {
        serde_json::from_slice(&req.body).expect("JSON body")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_the_api_names() {
        assert_eq!(type_name(ProviderType::GenericHmac), "generic-hmac");
        assert_eq!(type_name(ProviderType::MsTeams), "msteams");
    }

    #[test]
    fn camel_case_and_titles_as_flux() {
        assert_eq!(
            split_camel_case("ReconciliationSucceeded"),
            ["Reconciliation", "Succeeded"]
        );
        assert_eq!(split_camel_case("PDFLoader"), ["PDF", "Loader"]);
        assert_eq!(
            split_camel_case("HealthCheckFailed"),
            ["Health", "Check", "Failed"]
        );
        let e = testing::event("info", &[]);
        assert_eq!(
            name_and_description(&e),
            (
                "kustomization/webapp".to_owned(),
                "reconciliation succeeded".to_owned()
            )
        );
        assert_eq!(object_title(&e), "kustomization/webapp.apps");
        assert_eq!(
            go_time("2026-03-01T10:20:30Z"),
            "2026-03-01 10:20:30 +0000 UTC"
        );
    }

    #[test]
    fn commit_status_updates_only_reach_git_providers() {
        let e = testing::event(
            "info",
            &[
                ("commit_status", "update"),
                (
                    "revision",
                    "main@sha1:1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c",
                ),
            ],
        );
        let mut t = testing::target("https://hooks.slack.com/x");
        assert!(requests(ProviderType::Slack, &t, &e).unwrap().is_empty());
        t.address = "https://github.com/org/app".into();
        t.token = "t".into();
        assert_eq!(requests(ProviderType::GitHub, &t, &e).unwrap().len(), 1);
        assert!(matches!(
            requests(ProviderType::Sentry, &t, &testing::event("info", &[])),
            Err(NotifierError::Unsupported(n)) if n == "sentry"
        ));
    }

    #[test]
    fn addresses_must_be_http_urls() {
        assert!(require_url("https://example.com/x").is_ok());
        assert!(require_url("ftp://example.com").is_err());
        assert!(require_url("not a url").is_err());
    }
}
