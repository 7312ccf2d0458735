//! Server-side apply of a build, in Flux's stages, and pruning.
//!
//! Stage one applies CustomResourceDefinitions and Namespaces and waits for
//! them to be ready, so custom resources and namespaced objects of the same
//! build can follow in the same reconcile; stage two applies `*Class`
//! kinds; stage three the rest. Every object is applied with field manager
//! `kustomize-controller`; the API server does not write an object whose
//! applied fields are unchanged, so its resourceVersion stays put.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PropagationPolicy};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{Scope, pinned_kind};
use serde_json::Value;
use weir_api::kustomize::v1::{
    DISABLED_VALUE, ENABLED_VALUE, FORCE_ANNOTATION, IF_NOT_PRESENT_VALUE, IGNORE_VALUE,
    MERGE_VALUE, PRUNE_ANNOTATION, RECONCILE_ANNOTATION, SSA_ANNOTATION,
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

/// What the dry run decided for one object.
enum Action {
    /// Unchanged, or skipped by its annotations.
    Skip,
    /// Apply, after moving the fields of `kubectl` and pre-SSA managers to
    /// ours with this JSON patch.
    Apply { takeover: Option<json_patch::Patch> },
    /// Delete and create again: an immutable field changed under `force`.
    Recreate,
}

struct Plan {
    applied: AppliedObject,
    api: Api<DynamicObject>,
    action: Action,
    obj: Value,
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
    kinds: KindCache,
}

/// Discovery results of one cluster, shared by its appliers.
#[derive(Clone, Default)]
pub struct KindCache(Arc<Mutex<HashMap<GroupVersionKind, Kind>>>);

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
    /// An applier acting with `client`; `kinds` shares the discovery cache
    /// of another applier of the same cluster.
    pub fn new(client: kube::Client, kinds: Option<KindCache>) -> Self {
        Self {
            client,
            kinds: kinds.unwrap_or_default(),
        }
    }

    pub fn kinds(&self) -> KindCache {
        self.kinds.clone()
    }

    async fn kind(&self, gvk: &GroupVersionKind) -> Result<Kind, ApplyError> {
        if let Some(k) = self.kinds.0.lock().ok().and_then(|m| m.get(gvk).cloned()) {
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
        if let Ok(mut m) = self.kinds.0.lock() {
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

    /// Applies `objects` in stages. Each stage is first applied as a
    /// server-side dry run, all of it: when the API server refuses any
    /// object, none of the stage is written and the error lists every
    /// refused object. Then only the objects the dry run shows as new or
    /// changed are written (objects of earlier stages stay applied, as in
    /// Flux).
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
            let plans: Vec<Result<Plan, ApplyError>> = futures::stream::iter(stage)
                .map(|obj| self.plan(obj, force, started))
                .buffer_unordered(APPLY_CONCURRENCY)
                .collect()
                .await;
            let mut refused: Vec<String> = plans
                .iter()
                .filter_map(|p| p.as_ref().err().map(|e| e.0.clone()))
                .collect();
            if !refused.is_empty() {
                refused.sort();
                return Err(ApplyError(refused.join("\n")));
            }
            let results: Vec<AppliedObject> = futures::stream::iter(plans.into_iter().flatten())
                .map(|plan| self.execute(plan))
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
                let no_exprs = weir_kstatus::cel::HealthChecks::default();
                self.wait_current(
                    &crds,
                    &no_exprs,
                    health_timeout.min(Duration::from_secs(60)),
                )
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

    /// Decides what to do with one object: skip it (annotations), or
    /// dry-run the apply and read from the result whether it would change,
    /// must be recreated, or holds fields of kubectl to take over.
    async fn plan(
        &self,
        mut obj: Value,
        force: bool,
        started: jiff::Timestamp,
    ) -> Result<Plan, ApplyError> {
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
        let mut plan = Plan {
            applied: AppliedObject {
                id: id.clone(),
                entry,
                change: Change::Unchanged,
                resource: kind.resource.clone(),
                namespace,
                name: name.clone(),
            },
            api,
            action: Action::Skip,
            obj: Value::Null,
        };

        let ssa = annotation(&obj, SSA_ANNOTATION);
        let reconcile_disabled = annotation(&obj, RECONCILE_ANNOTATION) == Some(DISABLED_VALUE);
        if ssa == Some(IGNORE_VALUE) {
            plan.applied.change = Change::Skipped;
            return Ok(plan);
        }
        if ssa == Some(IF_NOT_PRESENT_VALUE) || reconcile_disabled {
            let exists = plan
                .api
                .get_opt(&name)
                .await
                .map_err(|e| ApplyError(format!("{id}: {}", kube_message(&e))))?
                .is_some();
            if exists {
                plan.applied.change = Change::Skipped;
                return Ok(plan);
            }
        }

        let force = force || annotation(&obj, FORCE_ANNOTATION) == Some(ENABLED_VALUE);
        let params = PatchParams::apply(FIELD_MANAGER).force().dry_run();
        match plan.api.patch(&name, &params, &Patch::Apply(&obj)).await {
            Ok(dry) => {
                plan.applied.change = match classify(&dry, started) {
                    Some(change) => change,
                    // Our last write is too recent to tell from timestamps:
                    // compare with the live object.
                    None => match plan.api.get_opt(&name).await {
                        Ok(None) => Change::Created,
                        Ok(Some(live)) if same_object(&live, &dry) => Change::Unchanged,
                        Ok(Some(_)) => Change::Configured,
                        Err(e) => {
                            return Err(ApplyError(format!("{id}: {}", kube_message(&e))));
                        }
                    },
                };
                let takeover = if ssa == Some(MERGE_VALUE) {
                    None
                } else {
                    takeover_patch(&dry)
                };
                plan.action = match (plan.applied.change, takeover) {
                    (Change::Unchanged, None) => Action::Skip,
                    (_, takeover) => Action::Apply { takeover },
                };
            }
            Err(kube::Error::Api(s))
                if force && s.code == 422 && s.message.contains("immutable") =>
            {
                plan.applied.change = Change::Created;
                plan.action = Action::Recreate;
            }
            Err(e) => {
                return Err(ApplyError(format!(
                    "{id} dry-run failed: {}",
                    kube_message(&e)
                )));
            }
        }
        plan.obj = obj;
        Ok(plan)
    }

    async fn execute(&self, plan: Plan) -> Result<AppliedObject, ApplyError> {
        let Plan {
            applied,
            api,
            action,
            obj,
        } = plan;
        let id = &applied.id;
        let name = &applied.name;
        let params = PatchParams::apply(FIELD_MANAGER).force();
        match action {
            Action::Skip => return Ok(applied),
            Action::Recreate => {
                // Immutable fields changed: recreate, as Flux does with force.
                api.delete(name, &DeleteParams::background())
                    .await
                    .map_err(|e| ApplyError(format!("{id} recreate: {}", kube_message(&e))))?;
                wait_deleted(&api, name).await;
            }
            Action::Apply {
                takeover: Some(patch),
            } => {
                api.patch(name, &PatchParams::default(), &Patch::<Value>::Json(patch))
                    .await
                    .map_err(|e| {
                        ApplyError(format!(
                            "{id} taking over fields from other managers: {}",
                            kube_message(&e)
                        ))
                    })?;
            }
            Action::Apply { takeover: None } => {}
        }
        api.patch(name, &params, &Patch::Apply(&obj))
            .await
            .map_err(|e| ApplyError(format!("{id} {}", kube_message(&e))))?;
        Ok(applied)
    }

    /// Waits until every object is Current by kstatus rules; the error
    /// lists the ones that are not, with their status.
    /// `checks` are the Kustomization's `healthCheckExprs`: objects of
    /// their kinds are judged by those CEL expressions instead of kstatus.
    pub async fn wait_current(
        &self,
        objects: &[AppliedObject],
        checks: &weir_kstatus::cel::HealthChecks,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut pending = Vec::new();
            let mut failed = Vec::new();
            for o in objects {
                let kind = Kind {
                    resource: o.resource.clone(),
                    namespaced: o.namespace.is_some(),
                };
                let api = self.api(&kind, o.namespace.as_deref());
                let status = match api.get_opt(&o.name).await {
                    Ok(Some(obj)) => match serde_json::to_value(&obj) {
                        Ok(v) => checks.compute(&v),
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
                match status.status {
                    weir_kstatus::Status::Current => {}
                    weir_kstatus::Status::Failed => {
                        failed.push(format!("{} status: 'Failed': {}", o.id, status.message));
                    }
                    s => pending.push(format!("{} status: '{s}'", o.id)),
                }
            }
            // A failed object will not recover by waiting: report it now,
            // as Flux's health check does.
            if !failed.is_empty() {
                failed.extend(pending);
                return Err(failed.join(", "));
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
            // Already being deleted (an earlier attempt got this far): a
            // second delete of a terminating Namespace is refused with 409,
            // which must not block the retry.
            if obj.metadata.deletion_timestamp.is_some() {
                continue;
            }
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
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
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

/// Created, configured or unchanged, read from the object a dry-run apply
/// returned: a create has no resourceVersion yet, and a change stamps our
/// managedFields entry with the time of the request, which an unchanged
/// object keeps. Timestamps have one-second resolution, so when our last
/// real write falls in the second before `started` this cannot tell, and
/// says `None`.
fn classify(obj: &DynamicObject, started: jiff::Timestamp) -> Option<Change> {
    let recent = |t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time| {
        t.0.as_second() >= started.as_second() - 1
    };
    // Only a stored object has a resourceVersion: a dry-run create has none.
    if obj
        .metadata
        .resource_version
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        return Some(Change::Created);
    }
    if obj.metadata.creation_timestamp.as_ref().is_some_and(recent) {
        return None;
    }
    let touched = obj.metadata.managed_fields.iter().flatten().any(|m| {
        m.manager.as_deref() == Some(FIELD_MANAGER) && m.time.as_ref().is_some_and(recent)
    });
    if touched {
        None
    } else {
        Some(Change::Unchanged)
    }
}

/// Whether `live` and the dry-run result `dry` are the same object, apart
/// from managedFields timestamps.
fn same_object(live: &DynamicObject, dry: &DynamicObject) -> bool {
    let strip = |o: &DynamicObject| {
        let mut o = o.clone();
        for m in o.metadata.managed_fields.iter_mut().flatten() {
            m.time = None;
        }
        serde_json::to_value(o).ok()
    };
    strip(live).is_some_and(|l| Some(l) == strip(dry))
}

/// Annotation kubectl's client-side apply keeps the last applied object in.
const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Whether a managedFields entry belongs to a writer whose fields Flux takes
/// over: `kubectl` (edit, patch, client-side apply, server-side apply with
/// force), `before-first-apply` (what the API server names fields written
/// before the first server-side apply) and this controller's own pre-SSA
/// updates. Their fields become ours, so removing a field from Git removes
/// it from the cluster instead of leaving it behind, owned by someone else.
fn taken_over(entry: &ManagedFieldsEntry) -> bool {
    if entry.subresource.as_deref().is_some_and(|s| !s.is_empty()) {
        return false;
    }
    let manager = entry.manager.as_deref().unwrap_or_default();
    match entry.operation.as_deref() {
        Some("Update") => {
            manager.starts_with("kubectl")
                || manager == "before-first-apply"
                || manager == FIELD_MANAGER
        }
        Some("Apply") => manager.starts_with("kubectl"),
        _ => false,
    }
}

/// Union of two managedFields `fieldsV1` trees.
fn merge_fields(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(existing) => merge_fields(existing, v),
                    None => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, from) if slot.is_null() => *slot = from.clone(),
        _ => {}
    }
}

/// The JSON patch that hands the fields of kubectl-like managers (see
/// [`taken_over`]) to our apply entry and drops kubectl's last-applied
/// annotation, or `None` when there is nothing to take over.
fn takeover_patch(obj: &DynamicObject) -> Option<json_patch::Patch> {
    let entries = obj.metadata.managed_fields.as_deref().unwrap_or_default();
    let has_last_applied = obj
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(LAST_APPLIED_ANNOTATION));
    if !entries.iter().any(taken_over) && !has_last_applied {
        return None;
    }
    let mut kept = Vec::new();
    let mut ours: Option<ManagedFieldsEntry> = None;
    let mut moved = Value::Null;
    for entry in entries {
        if taken_over(entry) {
            if let Some(f) = &entry.fields_v1 {
                merge_fields(&mut moved, &f.0);
            }
        } else if entry.manager.as_deref() == Some(FIELD_MANAGER)
            && entry.operation.as_deref() == Some("Apply")
            && ours.is_none()
        {
            ours = Some(entry.clone());
        } else {
            kept.push(entry.clone());
        }
    }
    if !moved.is_null() {
        let mut entry = ours.take().unwrap_or_else(|| ManagedFieldsEntry {
            api_version: obj.types.as_ref().map(|t| t.api_version.clone()),
            fields_type: Some("FieldsV1".into()),
            manager: Some(FIELD_MANAGER.into()),
            operation: Some("Apply".into()),
            time: entries.iter().find_map(|e| e.time.clone()),
            ..Default::default()
        });
        let mut fields = entry.fields_v1.take().map(|f| f.0).unwrap_or(Value::Null);
        merge_fields(&mut fields, &moved);
        entry.fields_v1 = Some(FieldsV1(fields));
        ours = Some(entry);
    }
    kept.extend(ours);
    let mut ops = vec![serde_json::json!({
        "op": "replace", "path": "/metadata/managedFields", "value": kept,
    })];
    if has_last_applied {
        ops.push(serde_json::json!({
            "op": "remove",
            "path": format!("/metadata/annotations/{}", LAST_APPLIED_ANNOTATION.replace('~', "~0").replace('/', "~1")),
        }));
    }
    serde_json::from_value(Value::Array(ops)).ok()
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
