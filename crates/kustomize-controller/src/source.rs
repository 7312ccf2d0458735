//! The Kustomization's source: its artifact, fetched over HTTP from
//! source-controller, checked against its digest and unpacked safely.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use sha2::{Digest as _, Sha256};
use weir_api::kustomize::v1::{Kustomization, SourceKind};
use weir_api::meta::Artifact;
use weir_artifact::unpack::{UnpackLimits, unpack_tar_gz};

/// Largest artifact accepted over the network.
const MAX_ARTIFACT_BYTES: u64 = 100 * 1024 * 1024;
const FETCH_ATTEMPTS: u32 = 3;

pub fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::GitRepository => "GitRepository",
        SourceKind::OciRepository => "OCIRepository",
        SourceKind::Bucket => "Bucket",
        SourceKind::ExternalArtifact => "ExternalArtifact",
    }
}

/// Why the source is not usable (yet).
pub enum SourceError {
    /// The object or its artifact is missing: retry later.
    NotReady(String),
    /// The reference is not allowed: wait for a spec change.
    Invalid(String),
}

/// The namespace and name of the source object.
pub fn source_key(ks: &Kustomization) -> (String, String) {
    let own = ks.metadata.namespace.clone().unwrap_or_default();
    (
        ks.spec.source_ref.namespace.clone().unwrap_or(own),
        ks.spec.source_ref.name.clone(),
    )
}

/// Reads the source object's current artifact.
pub async fn artifact(
    client: &kube::Client,
    ks: &Kustomization,
    no_cross_namespace_refs: bool,
) -> Result<Artifact, SourceError> {
    let kind = kind_name(ks.spec.source_ref.kind);
    let (namespace, name) = source_key(ks);
    if no_cross_namespace_refs && Some(&namespace) != ks.metadata.namespace.as_ref() {
        return Err(SourceError::Invalid(format!(
            "cannot access {kind}/{namespace}/{name}: cross-namespace references are not allowed"
        )));
    }
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "source.toolkit.fluxcd.io",
        "v1",
        kind,
    ));
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    let obj = match api.get_opt(&name).await {
        Ok(Some(obj)) => obj,
        Ok(None) => {
            return Err(SourceError::NotReady(format!(
                "Source '{kind}/{namespace}/{name}' not found"
            )));
        }
        Err(e) => {
            return Err(SourceError::NotReady(format!(
                "getting {kind}/{namespace}/{name}: {}",
                crate::apply::kube_message(&e)
            )));
        }
    };
    obj.data
        .pointer("/status/artifact")
        .cloned()
        .and_then(|a| serde_json::from_value::<Artifact>(a).ok())
        .ok_or_else(|| {
            SourceError::NotReady(format!(
                "Source artifact not found: {kind}/{namespace}/{name} has no artifact yet"
            ))
        })
}

/// The artifact's URL, with the host replaced by `SOURCE_CONTROLLER_LOCALHOST`
/// when set (Flux's switch for running the controller outside the cluster).
fn artifact_url(artifact: &Artifact) -> String {
    match std::env::var("SOURCE_CONTROLLER_LOCALHOST") {
        Ok(host) if !host.is_empty() => match artifact
            .url
            .split_once("://")
            .and_then(|(scheme, rest)| rest.split_once('/').map(|(_, path)| (scheme, path)))
        {
            Some((scheme, path)) => format!("{scheme}://{host}/{path}"),
            None => artifact.url.clone(),
        },
        _ => artifact.url.clone(),
    }
}

/// Downloads the artifact into a temporary file, verifies its digest and
/// unpacks it into `dest`. Retries transient failures a few times.
pub async fn fetch(http: &reqwest::Client, artifact: &Artifact, dest: &Path) -> Result<(), String> {
    let url = artifact_url(artifact);
    let mut last = String::new();
    for attempt in 0..FETCH_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
        }
        match download(http, &url, &artifact.digest).await {
            Ok(file) => {
                let dest = dest.to_path_buf();
                return tokio::task::spawn_blocking(move || {
                    let reader = std::fs::File::open(file.path())
                        .map_err(|e| format!("reading the artifact: {e}"))?;
                    unpack_tar_gz(reader, &dest, UnpackLimits::default())
                        .map_err(|e| format!("unpacking the artifact: {e}"))
                })
                .await
                .map_err(|e| format!("unpack task failed: {e}"))?;
            }
            Err((message, retry)) => {
                last = message;
                if !retry {
                    break;
                }
            }
        }
    }
    Err(last)
}

async fn download(
    http: &reqwest::Client,
    url: &str,
    digest: &str,
) -> Result<tempfile::NamedTempFile, (String, bool)> {
    let mut resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| (format!("failed to download artifact from {url}: {e}"), true))?;
    let status = resp.status();
    if !status.is_success() {
        // 404: the artifact was replaced in between; retry with the next status.
        return Err((
            format!("failed to download artifact from {url}: status {status}"),
            status.is_server_error(),
        ));
    }
    let mut file = tempfile::NamedTempFile::new()
        .map_err(|e| (format!("creating a temporary file: {e}"), false))?;
    let mut hash = Sha256::new();
    let mut total: u64 = 0;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| (format!("failed to download artifact from {url}: {e}"), true))?
    {
        total += chunk.len() as u64;
        if total > MAX_ARTIFACT_BYTES {
            return Err((
                format!("artifact from {url} is larger than {MAX_ARTIFACT_BYTES} bytes"),
                false,
            ));
        }
        hash.update(&chunk);
        file.write_all(&chunk)
            .map_err(|e| (format!("writing the artifact: {e}"), false))?;
    }
    let got = format!("sha256:{}", hex::encode(hash.finalize()));
    if got != digest {
        return Err((
            format!(
                "failed to verify artifact from {url}: computed digest {got} does not match {digest}"
            ),
            true,
        ));
    }
    Ok(file)
}
