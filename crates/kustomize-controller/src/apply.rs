//! Server-side apply of a build, in Flux's stages, and pruning.
//!
//! Stage one applies CustomResourceDefinitions and Namespaces and waits for
//! them to be ready, so custom resources and namespaced objects of the same
//! build can follow in the same reconcile; stage two applies `*Class`
//! kinds; stage three the rest. Every object is applied with field manager
//! `kustomize-controller`; the API server does not write an object whose
//! applied fields are unchanged, so its resourceVersion stays put.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::{StreamExt as _, TryStreamExt as _};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PropagationPolicy};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{Scope, pinned_kind};
use serde_json::Value;
use weir_api::kustomize::v1::{
    DISABLED_VALUE, FORCE_ANNOTATION, IF_NOT_PRESENT_VALUE, IGNORE_VALUE, PRUNE_ANNOTATION,
    RECONCILE_ANNOTATION, SSA_ANNOTATION,
};
use weir_api::meta::ResourceRef;

use crate::build::object_id;

pub const FIELD_MANAGER: &str = "kustomize-controller";
/// Objects applied at once within a stage.
const APPLY_CONCURRENCY: usize = 8;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ApplyError(pub String);

#[derive(Clone, Debug)]
struct Kind {
    resource: ApiResource,
    namespaced: bool,
}

/// What happened to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Created,
    Configured,
    Unchanged,
    Skipped,
}

/// An applied object, for the inventory and health checks.
#[derive(Clone, Debug)]
pub struct AppliedObject {
    pub id: String,
    pub entry: ResourceRef,
    pub change: Change,
    resource: ApiResource,
    namespace: Option<String>,
    name: String,
}

/// Resolves kinds (cached per group/version/kind) and talks to the API.
pub struct Applier {
    client: kube::Client,
    kinds: Mutex<HashMap<GroupVersionKind, Kind>>,
}

fn gvk_of(obj: &Value) -> Result<GroupVersionKind, ApplyError> {
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    if api_version.is_empty() || kind.is_empty() {
        return Err(ApplyError(format!(
            "{} has no apiVersion or kind",
            object_id(obj)
        )));
    }
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    Ok(GroupVersionKind::gvk(group, version, kind))
}

fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

fn stage_of(obj: &Value) -> usize {
    match obj.get("kind").and_then(Value::as_str).unwrap_or_default() {
        "CustomResourceDefinition" | "Namespace" => 0,
        k if k.ends_with("Class") => 1,
        _ => 2,
    }
}

/// `<namespace>_<name>_<group>_<kind>` split back into its parts.
pub fn parse_id(id: &str) -> Option<(&str, &str, &str, &str)> {
    let mut parts = id.splitn(4, '_');
    Some((parts.next()?, parts.next()?, parts.next()?, parts.next()?))
}

impl Applier {
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            kinds: Mutex::new(HashMap::new()),
        }
    }

    async fn kind(&self, gvk: &GroupVersionKind) -> Result<Kind, ApplyError> {
        if let Some(k) = self.kinds.lock().ok().and_then(|m| m.get(gvk).cloned()) {
            return Ok(k);
        }
        let (resource, caps) = pinned_kind(&self.client, gvk).await.map_err(|e| {
            ApplyError(format!(
                "no API for {}/{} {}: {e}",
                gvk.group, gvk.version, gvk.kind
            ))
        })?;
        let kind = Kind {
            resource,
            namespaced: matches!(caps.scope, Scope::Namespaced),
        };
        if let Ok(mut m) = self.kinds.lock() {
            m.insert(gvk.clone(), kind.clone());
        }
        Ok(kind)
    }

    fn api(&self, kind: &Kind, namespace: Option<&str>) -> Api<DynamicObject> {
        match (kind.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &kind.resource),
            _ => Api::all_with(self.client.clone(), &kind.resource),
        }
    }

    /// Applies `objects` in stages; fails on the first object the API
    /// server refuses (objects of earlier stages stay applied, as in Flux).
    pub async fn apply_all(
        &self,
        objects: Vec<Value>,
        force: bool,
        health_timeout: Duration,
    ) -> Result<Vec<AppliedObject>, ApplyError> {
        let mut stages: [Vec<Value>; 3] = Default::default();
        for obj in objects {
            stages[stage_of(&obj)].push(obj);
        }
        let mut applied = Vec::new();
        for (i, stage) in stages.into_iter().enumerate() {
            if stage.is_empty() {
                continue;
            }
            let started = jiff::Timestamp::now();
            let results: Vec<AppliedObject> = futures::stream::iter(stage)
                .map(|obj| self.apply_one(obj, force, started))
                .buffer_unordered(APPLY_CONCURRENCY)
                .try_collect()
                .await?;
            if i == 0 {
                // Custom resources of this build need their CRDs served.
                let crds: Vec<AppliedObject> = results
                    .iter()
                    .filter(|a| a.resource.kind == "CustomResourceDefinition")
                    .cloned()
                    .collect();
                self.wait_current(&crds, health_timeout.min(Duration::from_secs(60)))
                    .await
                    .map_err(|e| {
                        ApplyError(format!("CustomResourceDefinitions not established: {e}"))
                    })?;
            }
            applied.extend(results);
        }
        applied.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(applied)
    }

    async fn apply_one(
        &self,
        mut obj: Value,
        force: bool,
        started: jiff::Timestamp,
    ) -> Result<AppliedObject, ApplyError> {
        let id = object_id(&obj);
        let gvk = gvk_of(&obj)?;
        let kind = self.kind(&gvk).await?;
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if name.is_empty() {
            return Err(ApplyError(format!("{id} has no name")));
        }
        let namespace = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if kind.namespaced && namespace.is_none() {
            return Err(ApplyError(format!("{id} namespace not specified")));
        }
        if !kind.namespaced
            && let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.remove("namespace");
        }
        let namespace = if kind.namespaced { namespace } else { None };
        let entry = ResourceRef {
            id: ResourceRef::make_id(
                namespace.as_deref().unwrap_or(""),
                &name,
                &gvk.group,
                &gvk.kind,
            ),
            version: gvk.version.clone(),
        };
        let api = self.api(&kind, namespace.as_deref());
        let done = |change| AppliedObject {
            id: id.clone(),
            entry: entry.clone(),
            change,
            resource: kind.resource.clone(),
            namespace: namespace.clone(),
            name: name.clone(),
        };

        let ssa = annotation(&obj, SSA_ANNOTATION);
        let reconcile_disabled = annotation(&obj, RECONCILE_ANNOTATION) == Some(DISABLED_VALUE);
        if ssa == Some(IGNORE_VALUE) {
            return Ok(done(Change::Skipped));
        }
        if ssa == Some(IF_NOT_PRESENT_VALUE) || reconcile_disabled {
            let exists = api
                .get_opt(&name)
                .await
                .map_err(|e| ApplyError(format!("{id}: {}", kube_message(&e))))?
                .is_some();
            if exists {
                return Ok(done(Change::Skipped));
            }
        }

        let force = force || annotation(&obj, FORCE_ANNOTATION) == Some("enabled");
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let result = match api.patch(&name, &params, &Patch::Apply(&obj)).await {
            Ok(r) => r,
            Err(kube::Error::Api(s))
                if force && s.code == 422 && s.message.contains("immutable") =>
            {
                // Immutable fields changed: recreate, as Flux does with force.
                api.delete(&name, &DeleteParams::background())
                    .await
                    .map_err(|e| ApplyError(format!("{id} recreate: {}", kube_message(&e))))?;
                wait_deleted(&api, &name).await;
                api.patch(&name, &params, &Patch::Apply(&obj))
                    .await
                    .map_err(|e| ApplyError(format!("{id} {}", kube_message(&e))))?
            }
            Err(e) => return Err(ApplyError(format!("{id} {}", kube_message(&e)))),
        };
        Ok(done(classify(&result, started)))
    }

    /// Waits until every object is Current by kstatus rules; the error
    /// lists the ones that are not, with their status.
    pub async fn wait_current(
        &self,
        objects: &[AppliedObject],
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut pending = Vec::new();
            for o in objects {
                let kind = Kind {
                    resource: o.resource.clone(),
                    namespaced: o.namespace.is_some(),
                };
                let api = self.api(&kind, o.namespace.as_deref());
                let status = match api.get_opt(&o.name).await {
                    Ok(Some(obj)) => match serde_json::to_value(&obj) {
                        Ok(v) => weir_kstatus::compute(&v),
                        Err(e) => weir_kstatus::Result {
                            status: weir_kstatus::Status::Unknown,
                            message: e.to_string(),
                        },
                    },
                    Ok(None) => weir_kstatus::Result {
                        status: weir_kstatus::Status::NotFound,
                        message: "not found".into(),
                    },
                    Err(e) => weir_kstatus::Result {
                        status: weir_kstatus::Status::Unknown,
                        message: kube_message(&e),
                    },
                };
                if status.status != weir_kstatus::Status::Current {
                    pending.push(format!("{} status: '{}'", o.id, status.status));
                }
            }
            if pending.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("timeout waiting for: [{}]", pending.join(", ")));
            }
            tokio::time::sleep(
                Duration::from_millis(500).min(
                    deadline
                        .saturating_duration_since(Instant::now())
                        .max(Duration::from_millis(50)),
                ),
            )
            .await;
        }
    }

    /// Deletes inventory entries no longer in the build, except objects
    /// marked `prune: disabled` or no longer labelled as ours. Returns the
    /// deleted objects' ids.
    pub async fn prune(
        &self,
        stale: &[ResourceRef],
        owner: (&str, &str),
    ) -> Result<Vec<String>, ApplyError> {
        let mut deleted = Vec::new();
        for entry in stale {
            let Some((ns, name, group, kind_name)) = parse_id(&entry.id) else {
                continue;
            };
            let gvk = GroupVersionKind::gvk(group, &entry.version, kind_name);
            let kind = match self.kind(&gvk).await {
                Ok(k) => k,
                // The kind is gone (its CRD was removed): nothing to delete.
                Err(_) => continue,
            };
            let api = self.api(&kind, (!ns.is_empty()).then_some(ns));
            let Some(obj) = api
                .get_opt(name)
                .await
                .map_err(|e| ApplyError(format!("prune {}: {}", entry.id, kube_message(&e))))?
            else {
                continue;
            };
            let annotations = obj.metadata.annotations.clone().unwrap_or_default();
            let labels = obj.metadata.labels.clone().unwrap_or_default();
            let ours = labels.get(crate::OWNER_NAME_LABEL).map(String::as_str) == Some(owner.0)
                && labels.get(crate::OWNER_NAMESPACE_LABEL).map(String::as_str) == Some(owner.1);
            if annotations.get(PRUNE_ANNOTATION).map(String::as_str) == Some(DISABLED_VALUE)
                || !ours
            {
                continue;
            }
            let params = DeleteParams {
                propagation_policy: Some(PropagationPolicy::Background),
                ..Default::default()
            };
            match api.delete(name, &params).await {
                Ok(_) => deleted.push(format!(
                    "{kind_name}/{}{name}",
                    if ns.is_empty() {
                        String::new()
                    } else {
                        format!("{ns}/")
                    }
                )),
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => {
                    return Err(ApplyError(format!(
                        "prune {}: {}",
                        entry.id,
                        kube_message(&e)
                    )));
                }
            }
        }
        Ok(deleted)
    }
}

/// Created, configured (our fields changed now) or unchanged, read from the
/// object the API server returned.
fn classify(obj: &DynamicObject, started: jiff::Timestamp) -> Change {
    let recent = |t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time| {
        t.0.as_second() >= started.as_second() - 1
    };
    if obj.metadata.creation_timestamp.as_ref().is_some_and(recent) {
        return Change::Created;
    }
    let touched = obj.metadata.managed_fields.iter().flatten().any(|m| {
        m.manager.as_deref() == Some(FIELD_MANAGER) && m.time.as_ref().is_some_and(recent)
    });
    if touched {
        Change::Configured
    } else {
        Change::Unchanged
    }
}

async fn wait_deleted(api: &Api<DynamicObject>, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match api.get_opt(name).await {
            Ok(None) | Err(_) => return,
            Ok(Some(_)) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

pub fn kube_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

/// The inventory entries in `old` that `new` no longer has.
pub fn stale(old: &[ResourceRef], new: &[ResourceRef]) -> Vec<ResourceRef> {
    let keep: BTreeSet<&str> = new.iter().map(|r| r.id.as_str()).collect();
    old.iter()
        .filter(|r| !keep.contains(r.id.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stages_and_ids() {
        assert_eq!(stage_of(&json!({"kind": "CustomResourceDefinition"})), 0);
        assert_eq!(stage_of(&json!({"kind": "Namespace"})), 0);
        assert_eq!(stage_of(&json!({"kind": "StorageClass"})), 1);
        assert_eq!(stage_of(&json!({"kind": "Deployment"})), 2);
        assert_eq!(
            parse_id("default_web_apps_Deployment"),
            Some(("default", "web", "apps", "Deployment"))
        );
        assert_eq!(
            parse_id("_ns__Namespace"),
            Some(("", "ns", "", "Namespace"))
        );
        let gvk = gvk_of(&json!({"apiVersion": "apps/v1", "kind": "Deployment"})).unwrap();
        assert_eq!((gvk.group.as_str(), gvk.version.as_str()), ("apps", "v1"));
        let gvk = gvk_of(&json!({"apiVersion": "v1", "kind": "ConfigMap"})).unwrap();
        assert_eq!(gvk.group, "");
        assert!(gvk_of(&json!({"kind": "ConfigMap"})).is_err());
    }

    #[test]
    fn stale_entries() {
        let r = |id: &str| ResourceRef {
            id: id.into(),
            version: "v1".into(),
        };
        assert_eq!(stale(&[r("a"), r("b")], &[r("b"), r("c")]), vec![r("a")]);
    }
}
