//! The webhook receiver server (port 9292): `/hook/<sha256(token+name+namespace)>`.
//!
//! The Receiver is found by its `status.webhookPath` in the watched set; the
//! call is authenticated as its type requires ([`super::verify`]); then each
//! of its `resources` (by name, or `*` with `matchLabels`) gets a fresh
//! `reconcile.fluxcd.io/requestedAt` annotation. Answers: 404 unknown path,
//! 503 suspended or not Ready Receiver, 401 failed authentication, 400
//! malformed call, 413 body over 3 MiB, 500 when annotating failed, 200 done.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt as _;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use weir_api::notification::v1::{CrossNamespaceObjectReference, Receiver};
use weir_runtime::conditions;
use weir_runtime::reconcile_request::REQUESTED_AT_ANNOTATION;

use super::verify::{self, Check, Refusal};
use crate::index::Index;

/// The largest webhook body accepted, as Flux (3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Shared state of the receiver server.
pub struct ReceiverServer {
    pub index: Index,
    pub client: kube::Client,
    pub no_cross_namespace_refs: bool,
}

pub fn router(server: Arc<ReceiverServer>) -> axum::Router {
    axum::Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(server)
}

fn reply(status: StatusCode, text: impl Into<String>) -> Response {
    (status, text.into()).into_response()
}

/// The API version a resource is addressed with when it names none (Flux's table).
fn default_api_version(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Bucket" | "HelmChart" | "HelmRepository" | "GitRepository" | "OCIRepository" => {
            "source.toolkit.fluxcd.io/v1"
        }
        "ImageRepository" => "image.toolkit.fluxcd.io/v1",
        "ArtifactGenerator" => "source.extensions.fluxcd.io/v1beta1",
        _ => return None,
    })
}

/// `requestedAt` in the form Go prints `metav1.Now()`:
/// `2006-01-02 15:04:05.999999999 +0000 UTC`.
pub fn request_token(now: jiff::Timestamp) -> String {
    let utc = now.to_zoned(jiff::tz::TimeZone::UTC);
    let base = utc.strftime("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = utc.subsec_nanosecond();
    let frac = if nanos == 0 {
        String::new()
    } else {
        let digits = format!("{nanos:09}");
        format!(".{}", digits.trim_end_matches('0'))
    };
    format!("{base}{frac} +0000 UTC")
}

async fn handle(
    State(server): State<Arc<ReceiverServer>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    if !path.starts_with(weir_api::notification::v1::RECEIVER_WEBHOOK_PATH) {
        return reply(StatusCode::NOT_FOUND, "not found\n");
    }
    let Some(receiver) = server.index.receiver_for_path(path) else {
        tracing::debug!(%path, "no receiver for the webhook path");
        return reply(StatusCode::NOT_FOUND, "no receiver for this path\n");
    };
    let namespace = receiver.namespace().unwrap_or_default();
    let name = receiver.name_any();
    let log_ref = format!("{namespace}/{name}");
    if receiver.spec.suspend == Some(true) {
        tracing::warn!(receiver = %log_ref, "unable to process request: receiver is suspended");
        return reply(StatusCode::SERVICE_UNAVAILABLE, "receiver is suspended\n");
    }
    let ready = receiver
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .is_some_and(|c| conditions::is_true(c, conditions::READY));
    if !ready {
        tracing::warn!(receiver = %log_ref, "unable to process request: receiver is not ready");
        return reply(StatusCode::SERVICE_UNAVAILABLE, "receiver is not ready\n");
    }

    let token = match server.token(&receiver).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(receiver = %log_ref, "unable to validate payload: {e:#}");
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                "unable to read the receiver's secret\n",
            );
        }
    };
    let events = receiver.spec.events.clone().unwrap_or_default();
    let check = Check {
        receiver_type: receiver.spec.type_,
        events: &events,
        token: &token,
    };
    let accepted = match verify::verify(&check, &headers, &body) {
        Ok(a) => a,
        Err(refusal) => {
            tracing::warn!(receiver = %log_ref, "unable to validate payload: {refusal}");
            let status = match refusal {
                Refusal::Unauthorized(_) => StatusCode::UNAUTHORIZED,
                Refusal::BadRequest(_) | Refusal::Unsupported(_) => StatusCode::BAD_REQUEST,
            };
            return reply(status, format!("{refusal}\n"));
        }
    };
    tracing::info!(receiver = %log_ref, event = accepted.event.as_deref().unwrap_or_default(), "handling webhook");
    if receiver
        .spec
        .resource_filter
        .as_deref()
        .is_some_and(|f| !f.trim().is_empty())
    {
        tracing::error!(receiver = %log_ref, "unable to create resource filter: spec.resourceFilter is not supported by Weir yet");
        return reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "spec.resourceFilter is not supported by Weir yet\n",
        );
    }

    let token = request_token(jiff::Timestamp::now());
    let mut failed = false;
    for resource in &receiver.spec.resources {
        if let Err(e) = server.request_reconcile(resource, &namespace, &token).await {
            tracing::error!(receiver = %log_ref, resource = %format!("{}/{}", resource.kind.as_str(), resource.name), "unable to request reconciliation: {e:#}");
            failed = true;
        }
    }
    if failed {
        reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "some resources could not be annotated\n",
        )
    } else {
        reply(StatusCode::OK, "")
    }
}

impl ReceiverServer {
    async fn token(&self, receiver: &Receiver) -> anyhow::Result<Vec<u8>> {
        let namespace = receiver.namespace().unwrap_or_default();
        let secret_name = receiver
            .spec
            .secret_ref
            .as_ref()
            .map(|r| r.name.clone())
            .ok_or_else(|| anyhow::anyhow!("spec.secretRef is not set"))?;
        let secret = Api::<Secret>::namespaced(self.client.clone(), &namespace)
            .get(&secret_name)
            .await
            .map_err(|e| {
                anyhow::anyhow!("unable to read secret '{namespace}/{secret_name}': {e}")
            })?;
        secret
            .data
            .and_then(|mut d| d.remove("token"))
            .map(|b| b.0)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "invalid '{namespace}/{secret_name}' secret data: required field 'token'"
                )
            })
    }

    /// Annotates the objects `resource` names (one, or all with its labels).
    async fn request_reconcile(
        &self,
        resource: &CrossNamespaceObjectReference,
        receiver_namespace: &str,
        token: &str,
    ) -> anyhow::Result<()> {
        let namespace = match resource.namespace.as_deref().filter(|n| !n.is_empty()) {
            Some(ns) if self.no_cross_namespace_refs && ns != receiver_namespace => {
                anyhow::bail!("cross-namespace references are not allowed")
            }
            Some(ns) => ns,
            None => receiver_namespace,
        };
        let kind = resource.kind.as_str();
        let api_version = match resource.api_version.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => v,
            None => default_api_version(kind)
                .ok_or_else(|| anyhow::anyhow!("apiVersion must be specified for kind '{kind}'"))?,
        };
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, &ar);
        let patch = serde_json::json!({
            "metadata": { "annotations": { REQUESTED_AT_ANNOTATION: token } }
        });
        let annotate = |name: String| {
            let api = api.clone();
            let patch = patch.clone();
            async move {
                api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        anyhow::anyhow!("unable to annotate {kind} '{namespace}/{name}': {e}")
                    })
            }
        };
        if !resource.is_wildcard() {
            return annotate(resource.name.clone()).await;
        }
        let labels = resource.match_labels.as_ref().ok_or_else(|| {
            anyhow::anyhow!("matchLabels field not set when using wildcard '*' as name")
        })?;
        let selector = labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let objects = api
            .list_metadata(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| {
                anyhow::anyhow!("failed listing resources in namespace '{namespace}' by matching labels '{selector}': {e}")
            })?;
        if objects.items.is_empty() {
            tracing::warn!(%kind, %namespace, %selector, "no resources found with matching labels");
        }
        for object in objects.items {
            annotate(object.name_any()).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_token_looks_like_go_time() {
        let t: jiff::Timestamp = "2026-03-01T10:20:30.120Z".parse().unwrap();
        assert_eq!(request_token(t), "2026-03-01 10:20:30.12 +0000 UTC");
        let t: jiff::Timestamp = "2026-03-01T10:20:30Z".parse().unwrap();
        assert_eq!(request_token(t), "2026-03-01 10:20:30 +0000 UTC");
    }

    #[test]
    fn default_api_versions_as_flux() {
        assert_eq!(
            default_api_version("GitRepository"),
            Some("source.toolkit.fluxcd.io/v1")
        );
        assert_eq!(
            default_api_version("ImageRepository"),
            Some("image.toolkit.fluxcd.io/v1")
        );
        assert_eq!(default_api_version("Kustomization"), None);
    }
}
