//! Adding and removing a controller's finalizer.
//!
//! The patch carries the object's resourceVersion, so it fails rather than
//! overwrite a finalizer list another controller changed in the meantime;
//! the reconcile then retries with a fresh object.

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt as _};
use serde::de::DeserializeOwned;

/// Whether `obj` carries `finalizer`.
pub fn has<K: Resource>(obj: &K, finalizer: &str) -> bool {
    obj.finalizers().iter().any(|f| f == finalizer)
}

/// Adds `finalizer` to `obj` unless present.
pub async fn ensure<K>(api: &Api<K>, obj: &K, finalizer: &str) -> anyhow::Result<()>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    if has(obj, finalizer) {
        return Ok(());
    }
    let mut finalizers = obj.finalizers().to_vec();
    finalizers.push(finalizer.to_owned());
    patch(api, obj, finalizers)
        .await
        .map_err(|e| anyhow::anyhow!("adding the finalizer: {e}"))
}

/// Removes `finalizer` from `obj`; an object already gone is fine.
pub async fn remove<K>(api: &Api<K>, obj: &K, finalizer: &str) -> anyhow::Result<()>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let remaining: Vec<String> = obj
        .finalizers()
        .iter()
        .filter(|f| *f != finalizer)
        .cloned()
        .collect();
    match patch(api, obj, remaining).await {
        Ok(()) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(anyhow::anyhow!("removing the finalizer: {e}")),
    }
}

async fn patch<K>(api: &Api<K>, obj: &K, finalizers: Vec<String>) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let body = serde_json::json!({
        "metadata": { "finalizers": finalizers, "resourceVersion": obj.resource_version() }
    });
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&body),
    )
    .await
    .map(|_| ())
}
