//! Helpers shared by the integration tests in `tests/`: the example
//! manifests under `manifests/` and the API resources they address.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ApiResource, GroupVersionKind};
use serde_json::Value;

/// `tests/integration/manifests`.
pub fn manifests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests")
}

/// Every non-empty YAML document of a file, as JSON.
pub fn documents(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
        .with_context(|| format!("parsing {}", path.display()))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// The first document of `manifests/<kind in lower case>.yaml`.
pub fn example_manifest(kind: &str) -> anyhow::Result<Value> {
    let path = manifests_dir().join(format!("{}.yaml", kind.to_lowercase()));
    documents(&path)?
        .into_iter()
        .next()
        .with_context(|| format!("{} is empty", path.display()))
}

/// The API resource for a manifest's apiVersion and kind, from Weir's own CRDs.
pub fn api_resource(doc: &Value) -> anyhow::Result<ApiResource> {
    let api_version = doc["apiVersion"]
        .as_str()
        .context("manifest without apiVersion")?;
    let kind = doc["kind"].as_str().context("manifest without kind")?;
    let (group, version) = api_version
        .split_once('/')
        .context("apiVersion without group")?;
    let crd: CustomResourceDefinition = weir_api::crds()
        .into_iter()
        .find(|c| c.spec.group == group && c.spec.names.kind == kind)
        .with_context(|| format!("no CRD for {api_version} {kind}"))?;
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Ok(ApiResource::from_gvk_with_plural(
        &gvk,
        &crd.spec.names.plural,
    ))
}
