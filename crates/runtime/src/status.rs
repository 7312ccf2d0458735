//! Status writes through server-side apply on the status subresource.
//!
//! Each controller applies status under its own stable field manager, so the
//! fields it stops sending (a `Reconciling` condition that ended, say) are
//! removed by the API server rather than left behind, and a status written by
//! another manager is never clobbered by accident.

use anyhow::Context as _;
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Applies `status` to the named object's status subresource as `field_manager`.
pub async fn apply_status<K, S>(
    api: &Api<K>,
    name: &str,
    field_manager: &str,
    status: &S,
) -> anyhow::Result<K>
where
    K: Resource<DynamicType = ()> + DeserializeOwned + Clone + std::fmt::Debug,
    S: Serialize,
{
    let body = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": { "name": name },
        "status": status,
    });
    let params = PatchParams::apply(field_manager).force();
    api.patch_status(name, &params, &Patch::Apply(&body))
        .await
        .with_context(|| format!("applying status of {} {name}", K::kind(&())))
}
