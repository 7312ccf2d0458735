//! One reconcile of a Kustomization, as an explicit sequence of steps:
//! finalise on deletion → finalizer → suspend → dependencies → source
//! artifact → fetch → decrypt → build → substitute → apply (staged) →
//! prune → health → status.
//!
//! A failing step records Flux's reason on the object (`ArtifactFailed`,
//! `BuildFailed`, `ReconciliationFailed`, `PruneFailed`,
//! `HealthCheckFailed`, `DependencyNotReady`) with an event, applies
//! nothing after the failure, and retries with back-off.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource as _, ResourceExt as _};
use serde_json::Value;
use weir_api::kustomize::v1::{
    self as ks_api, DeletionPolicy, Kustomization, KustomizationStatus, SubstituteReferenceKind,
};
use weir_api::meta::{self, ResourceInventory, ResourceRef};
use weir_runtime::conditions;
use weir_runtime::events::Event;
use weir_runtime::metrics::ReconcileResult;

use super::{Context, KIND};
use crate::apply::{AppliedObject, Applier, Change, kube_message, stale};
use crate::build;
use crate::source::{self, SourceError};
use crate::{CONTROLLER_NAME, OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL};

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("{0:#}")]
    Kube(#[from] anyhow::Error),
}

struct Failure {
    reason: &'static str,
    message: String,
    /// Retry after this long instead of the back-off.
    requeue: Option<Duration>,
    /// A spec problem: wait for a change.
    stalled: bool,
    /// Waiting on something else (a dependency, the source's first
    /// artifact) rather than failing: logged, no event, as in Flux.
    waiting: bool,
}

impl Failure {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            requeue: None,
            stalled: false,
            waiting: false,
        }
    }
}

struct Applied {
    revision: String,
    changes: Vec<String>,
    pruned: Vec<String>,
    healthy: Option<bool>,
}

fn parse_duration(s: Option<&str>, fallback: Duration) -> Duration {
    s.and_then(|d| weir_runtime::duration::parse(d).ok())
        .filter(|d| !d.is_zero())
        .unwrap_or(fallback)
}

pub async fn reconcile(
    ks: Arc<Kustomization>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let namespace = ks.namespace().unwrap_or_default();
    let name = ks.name_any();
    let api: Api<Kustomization> = Api::namespaced(ctx.client.clone(), &namespace);

    if ks.meta().deletion_timestamp.is_some() {
        finalize(&ks, &api, &ctx).await?;
        return Ok(Action::await_change());
    }
    weir_runtime::finalizer::ensure(&api, ks.as_ref(), ks_api::KUSTOMIZATION_FINALIZER).await?;
    if ks.spec.suspend == Some(true) {
        tracing::info!(%namespace, %name, "reconciliation is suspended for this object");
        return Ok(Action::await_change());
    }

    let interval = parse_duration(Some(&ks.spec.interval), Duration::from_secs(600));
    let generation = ks.meta().generation;
    let old_status = ks.status.clone().unwrap_or_default();
    let mut status = old_status.clone();
    status.last_handled_reconcile_at = weir_runtime::reconcile_request::handled_value(
        &ks.metadata,
        old_status.last_handled_reconcile_at.as_deref(),
    );

    let mut digest = None;
    let outcome = run_steps(&ks, &ctx, &mut status, &mut digest).await;
    let mut conds = status.conditions.take().unwrap_or_default();
    let action = match &outcome {
        Ok(done) => {
            let message = format!("Applied revision: {}", done.revision);
            conditions::delete(&mut conds, conditions::RECONCILING);
            conditions::delete(&mut conds, conditions::STALLED);
            match done.healthy {
                Some(true) => conditions::mark_true(
                    &mut conds,
                    ks_api::HEALTHY_CONDITION,
                    meta::SUCCEEDED_REASON,
                    "Health check passed",
                    generation,
                ),
                _ => conditions::delete(&mut conds, ks_api::HEALTHY_CONDITION),
            }
            conditions::mark_true(
                &mut conds,
                conditions::READY,
                ks_api::RECONCILIATION_SUCCEEDED_REASON,
                &message,
                generation,
            );
            status.observed_generation = generation;
            status.last_applied_revision = Some(done.revision.clone());
            ctx.retries.reset_for(ks.as_ref());
            Action::requeue(interval)
        }
        Err(f) => {
            conditions::mark_false(
                &mut conds,
                conditions::READY,
                f.reason,
                &f.message,
                generation,
            );
            if f.reason == ks_api::HEALTH_CHECK_FAILED_REASON {
                conditions::mark_false(
                    &mut conds,
                    ks_api::HEALTHY_CONDITION,
                    f.reason,
                    &f.message,
                    generation,
                );
            }
            if f.stalled {
                conditions::mark_stalled(&mut conds, f.reason, &f.message, generation);
                status.observed_generation = generation;
                Action::await_change()
            } else {
                conditions::mark_reconciling(
                    &mut conds,
                    meta::PROGRESSING_WITH_RETRY_REASON,
                    &f.message,
                    generation,
                );
                let retry = parse_duration(ks.spec.retry_interval.as_deref(), interval);
                Action::requeue(
                    f.requeue
                        .unwrap_or_else(|| ctx.retries.next_for(ks.as_ref()).min(retry)),
                )
            }
        }
    };
    // The history records each build's outcome: what was built (its
    // digest), how the reconcile ended (the Ready reason) and when.
    if let Some(digest) = &digest {
        let reason = conditions::get(&conds, conditions::READY)
            .map(|c| c.reason.clone())
            .unwrap_or_default();
        let took = Duration::from_millis(started.elapsed().as_millis() as u64);
        let revision = status.last_attempted_revision.clone().unwrap_or_default();
        meta::upsert_history(
            status.history.get_or_insert_default(),
            digest,
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::now()),
            &weir_api::duration::format(took),
            &reason,
            Some(BTreeMap::from([("revision".to_owned(), revision)])),
        );
    }
    status.conditions = Some(conds);
    if status != old_status {
        weir_runtime::status::apply_status(&api, &name, CONTROLLER_NAME, &status).await?;
    }

    // Became Ready, or Ready with a new revision: dependents may go now.
    let was_ready = conditions::get(
        old_status.conditions.as_deref().unwrap_or_default(),
        conditions::READY,
    )
    .is_some_and(|c| c.status == "True");
    if outcome.is_ok()
        && (!was_ready || old_status.last_applied_revision != status.last_applied_revision)
    {
        ctx.queue_dependents(&namespace, &name);
    }
    match &outcome {
        Ok(done) if !done.changes.is_empty() || !done.pruned.is_empty() => {
            let mut lines = done.changes.clone();
            lines.extend(done.pruned.iter().map(|p| format!("{p} deleted")));
            ctx.recorder.publish(
                ks.as_ref(),
                Event::info(ks_api::RECONCILIATION_SUCCEEDED_REASON, lines.join("\n"))
                    .with("revision", done.revision.clone()),
            );
        }
        Ok(_) => {}
        Err(f) => {
            let repeated = conditions::get(
                old_status.conditions.as_deref().unwrap_or_default(),
                conditions::READY,
            )
            .is_some_and(|c| c.reason == f.reason && c.message == f.message);
            if !repeated && !f.waiting {
                let mut event = Event::error(f.reason, f.message.clone());
                if let Some(rev) = &status.last_attempted_revision {
                    event = event.with("revision", rev.clone());
                }
                ctx.recorder.publish(ks.as_ref(), event);
            }
            tracing::warn!(%namespace, %name, reason = f.reason, "{}", f.message);
        }
    }
    let result = if outcome.is_ok() {
        ReconcileResult::Success
    } else {
        ReconcileResult::Error
    };
    ctx.metrics
        .record_reconcile(KIND, &namespace, &name, started.elapsed(), result);
    Ok(action)
}

/// The steps of one reconcile. `digest` receives the checksum of the built
/// objects once the build succeeded (for `status.history`).
async fn run_steps(
    ks: &Kustomization,
    ctx: &Context,
    status: &mut KustomizationStatus,
    digest: &mut Option<String>,
) -> Result<Applied, Failure> {
    let namespace = ks.namespace().unwrap_or_default();
    let name = ks.name_any();

    check_dependency_access(ks, ctx)?;
    let artifact = source::artifact(&ctx.client, ks, ctx.config.no_cross_namespace_refs)
        .await
        .map_err(|e| match e {
            SourceError::NotReady(m) => Failure {
                requeue: Some(ctx.config.requeue_dependency.min(Duration::from_secs(30))),
                waiting: true,
                ..Failure::new(ks_api::ARTIFACT_FAILED_REASON, m)
            },
            SourceError::Invalid(m) => Failure {
                stalled: true,
                ..Failure::new(meta::ACCESS_DENIED_REASON, m)
            },
        })?;
    let revision = artifact.revision.clone();
    check_dependencies(ks, ctx, &revision).await?;
    status.last_attempted_revision = Some(revision.clone());

    let work = tempfile::Builder::new()
        .prefix("kustomization-")
        .tempdir()
        .map_err(|e| {
            Failure::new(
                ks_api::ARTIFACT_FAILED_REASON,
                format!("creating a work directory: {e}"),
            )
        })?;
    let root = work.path().join("source");
    source::fetch(&ctx.http, &artifact, &root)
        .await
        .map_err(|m| Failure::new(ks_api::ARTIFACT_FAILED_REASON, m))?;

    let keys = decryption_keys(ks, ctx).await?;
    let vars = substitution_vars(ks, ctx).await?;

    let objects = {
        let ks = ks.clone();
        let root = root.clone();
        tokio::task::spawn_blocking(move || -> Result<Vec<Value>, build::BuildError> {
            let dir = build::resolve_path(&root, ks.spec.path.as_deref())?;
            if let Some(keys) = &keys {
                decrypt_tree(&root, keys)?;
            }
            let objects = build::build(&root, &dir, &ks)?;
            match &vars {
                Some(vars) => build::substitute(objects, vars, true),
                None => Ok(objects),
            }
        })
        .await
        .map_err(|e| {
            Failure::new(
                ks_api::BUILD_FAILED_REASON,
                format!("build task failed: {e}"),
            )
        })?
        .map_err(|e| Failure::new(ks_api::BUILD_FAILED_REASON, e.0))?
    };
    drop(work);

    let mut objects = objects;
    let mut labels = BTreeMap::from([
        (OWNER_NAME_LABEL.to_owned(), name.clone()),
        (OWNER_NAMESPACE_LABEL.to_owned(), namespace.clone()),
    ]);
    let mut annotations = BTreeMap::new();
    if let Some(common) = &ks.spec.common_metadata {
        labels.extend(common.labels.clone().unwrap_or_default());
        annotations.extend(common.annotations.clone().unwrap_or_default());
    }
    build::add_metadata(&mut objects, &labels, &annotations);
    *digest = Some(objects_digest(&objects));

    let interval = parse_duration(Some(&ks.spec.interval), Duration::from_secs(600));
    let timeout = parse_duration(ks.spec.timeout.as_deref(), interval);
    let checks = health_check_exprs(ks)?;
    let applier = target_applier(ks, ctx).await?;
    let applied = applier
        .apply_all(objects, ks.spec.force == Some(true), timeout)
        .await
        .map_err(|e| Failure::new(ks_api::RECONCILIATION_FAILED_REASON, e.0))?;

    let entries: Vec<ResourceRef> = applied.iter().map(|a| a.entry.clone()).collect();
    let old_entries = status
        .inventory
        .as_ref()
        .map(|i| i.entries.clone())
        .unwrap_or_default();
    status.inventory = Some(ResourceInventory {
        entries: entries.clone(),
    });

    let pruned = if ks.spec.prune {
        applier
            .prune(&stale(&old_entries, &entries), (&name, &namespace))
            .await
            .map_err(|e| Failure::new(ks_api::PRUNE_FAILED_REASON, e.0))?
    } else {
        Vec::new()
    };

    let healthy = health(ks, &applier, &checks, &applied, timeout).await?;
    let changes = applied
        .iter()
        .filter_map(|a| match a.change {
            Change::Created => Some(format!("{} created", a.id)),
            Change::Configured => Some(format!("{} configured", a.id)),
            _ => None,
        })
        .collect();
    Ok(Applied {
        revision,
        changes,
        pruned,
        healthy,
    })
}

/// `sha256:<hex>` of the objects as they are applied.
fn objects_digest(objects: &[Value]) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    for obj in objects {
        // serde_json writes maps in key order: equal objects, equal bytes.
        if let Ok(bytes) = serde_json::to_vec(obj) {
            hasher.update(&bytes);
        }
        hasher.update(b"\n---\n");
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// `dependsOn`: every dependency must be Ready for its current generation.
/// With `--no-cross-namespace-refs`, a dependency in another namespace is a
/// spec error, found before anything is fetched.
fn check_dependency_access(ks: &Kustomization, ctx: &Context) -> Result<(), Failure> {
    if !ctx.config.no_cross_namespace_refs {
        return Ok(());
    }
    let own = ks.namespace().unwrap_or_default();
    for dep in ks.spec.depends_on.iter().flatten() {
        let ns = dep.namespace.as_deref().unwrap_or(&own);
        if ns != own {
            return Err(Failure {
                stalled: true,
                ..Failure::new(
                    meta::ACCESS_DENIED_REASON,
                    format!(
                        "cannot access dependency '{ns}/{}': cross-namespace references are not allowed",
                        dep.name
                    ),
                )
            });
        }
    }
    Ok(())
}

/// A dependency on the same source must also have applied `revision`
/// (the source's current one), so a new revision rolls out in dependency
/// order rather than all at once.
async fn check_dependencies(
    ks: &Kustomization,
    ctx: &Context,
    revision: &str,
) -> Result<(), Failure> {
    let own = ks.namespace().unwrap_or_default();
    for dep in ks.spec.depends_on.iter().flatten() {
        let ns = dep.namespace.clone().unwrap_or_else(|| own.clone());
        // A readyExpr replaces the built-in check (Flux without the
        // AdditiveCELDependencyCheck gate); it does not compile: stall.
        let expr = match dep.ready_expr.as_deref().filter(|e| !e.trim().is_empty()) {
            Some(e) => Some(weir_kstatus::cel::ReadyExpr::new(e).map_err(|err| Failure {
                stalled: true,
                ..Failure::new(
                    meta::INVALID_CEL_EXPRESSION_REASON,
                    format!("invalid readyExpr of dependency '{ns}/{}': {err}", dep.name),
                )
            })?),
            None => None,
        };
        let api: Api<Kustomization> = Api::namespaced(ctx.client.clone(), &ns);
        let not_ready = |message: String| Failure {
            requeue: Some(ctx.config.requeue_dependency),
            waiting: true,
            ..Failure::new(ks_api::DEPENDENCY_NOT_READY_REASON, message)
        };
        let d = match api.get_opt(&dep.name).await {
            Ok(Some(d)) => d,
            Ok(None) => {
                return Err(not_ready(format!(
                    "dependency '{ns}/{}' not found",
                    dep.name
                )));
            }
            Err(e) => {
                return Err(Failure::new(
                    ks_api::DEPENDENCY_NOT_READY_REASON,
                    format!("dependency '{ns}/{}': {}", dep.name, kube_message(&e)),
                ));
            }
        };
        match expr {
            Some(expr) => {
                let (this, that) = match (serde_json::to_value(ks), serde_json::to_value(&d)) {
                    (Ok(a), Ok(b)) => (a, b),
                    _ => {
                        return Err(not_ready(format!(
                            "dependency '{ns}/{}': not serialisable",
                            dep.name
                        )));
                    }
                };
                match expr.evaluate(&this, &that) {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(not_ready(weir_kstatus::cel::not_ready_message(&format!(
                            "{ns}/{}",
                            dep.name
                        ))));
                    }
                    Err(e) => {
                        return Err(not_ready(format!(
                            "dependency '{ns}/{}': readyExpr: {e}",
                            dep.name
                        )));
                    }
                }
            }
            None => {
                let conds = d
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.clone())
                    .unwrap_or_default();
                if !conditions::is_ready_for(&conds, d.metadata.generation) {
                    return Err(not_ready(format!(
                        "dependency '{ns}/{}' is not ready",
                        dep.name
                    )));
                }
                let same_source = source::source_key(&d) == source::source_key(ks)
                    && d.spec.source_ref.kind == ks.spec.source_ref.kind;
                let applied = d
                    .status
                    .as_ref()
                    .and_then(|s| s.last_applied_revision.as_deref());
                if same_source && applied != Some(revision) {
                    return Err(not_ready(format!(
                        "dependency '{ns}/{}' revision is not up to date",
                        dep.name
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The applier for the Kustomization's target: the cluster of
/// `spec.kubeConfig` (else this one), acting as `spec.serviceAccountName`
/// (else the controller's `--default-service-account`, else itself).
async fn target_applier(ks: &Kustomization, ctx: &Context) -> Result<Arc<Applier>, Failure> {
    let namespace = ks.namespace().unwrap_or_default();
    let kubeconfig = match &ks.spec.kube_config {
        None => None,
        Some(k) => Some(remote_kubeconfig(k, &namespace, ctx).await?),
    };
    let account = ks
        .spec
        .service_account_name
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| ctx.config.default_service_account.clone());
    ctx.applier(
        kubeconfig.as_deref(),
        account.as_deref().map(|a| (namespace.as_str(), a)),
    )
    .await
    .map_err(|e| {
        Failure::new(
            ks_api::RECONCILIATION_FAILED_REASON,
            format!("failed to build the Kubernetes client: {e:#}"),
        )
    })
}

/// The kubeconfig bytes `spec.kubeConfig.secretRef` points at (key
/// `value`, else `value.yaml`, unless the reference names one).
async fn remote_kubeconfig(
    reference: &meta::KubeConfigReference,
    namespace: &str,
    ctx: &Context,
) -> Result<Vec<u8>, Failure> {
    let Some(secret_ref) = &reference.secret_ref else {
        return Err(Failure {
            stalled: true,
            ..Failure::new(
                ks_api::RECONCILIATION_FAILED_REASON,
                "spec.kubeConfig.configMapRef (cloud provider authentication) is not supported; use spec.kubeConfig.secretRef",
            )
        });
    };
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let secret = api.get(&secret_ref.name).await.map_err(|e| {
        Failure::new(
            ks_api::RECONCILIATION_FAILED_REASON,
            format!(
                "failed to get kubeconfig secret '{namespace}/{}': {}",
                secret_ref.name,
                kube_message(&e)
            ),
        )
    })?;
    let mut data = secret.data.unwrap_or_default();
    let keys: Vec<&str> = match secret_ref.key.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => vec![k],
        None => vec!["value", "value.yaml"],
    };
    keys.iter()
        .find_map(|k| data.remove(*k))
        .map(|b| b.0)
        .ok_or_else(|| {
            Failure::new(
                ks_api::RECONCILIATION_FAILED_REASON,
                format!(
                    "kubeconfig secret '{namespace}/{}' has no key {}",
                    secret_ref.name,
                    keys.join(" or ")
                ),
            )
        })
}

/// Health: every applied object with `wait`, else the listed `healthChecks`.
async fn health(
    ks: &Kustomization,
    applier: &Applier,
    checks: &weir_kstatus::cel::HealthChecks,
    applied: &[AppliedObject],
    timeout: Duration,
) -> Result<Option<bool>, Failure> {
    let targets: Vec<AppliedObject> = if ks.spec.wait == Some(true) {
        applied
            .iter()
            .filter(|a| a.change != Change::Skipped)
            .cloned()
            .collect()
    } else if let Some(checks) = &ks.spec.health_checks {
        let own = ks.namespace().unwrap_or_default();
        applied
            .iter()
            .filter(|a| {
                checks.iter().any(|c| {
                    let (ns, name, _, kind) =
                        crate::apply::parse_id(&a.entry.id).unwrap_or_default();
                    c.kind == kind
                        && c.name == name
                        && (ns.is_empty() || c.namespace.as_deref().unwrap_or(&own) == ns)
                })
            })
            .cloned()
            .collect()
    } else {
        return Ok(None);
    };
    applier
        .wait_current(&targets, checks, timeout)
        .await
        .map(|()| Some(true))
        .map_err(|m| {
            Failure::new(
                ks_api::HEALTH_CHECK_FAILED_REASON,
                format!("Health check failed after {timeout:?}: {m}"),
            )
        })
}

/// `spec.healthCheckExprs` compiled; an expression that does not compile
/// stalls the Kustomization until its spec changes.
fn health_check_exprs(ks: &Kustomization) -> Result<weir_kstatus::cel::HealthChecks, Failure> {
    let exprs = ks.spec.health_check_exprs.as_deref().unwrap_or_default();
    weir_kstatus::cel::HealthChecks::new(exprs.iter().map(|c| {
        weir_kstatus::cel::CustomHealthCheck {
            api_version: &c.api_version,
            kind: c.kind.as_deref(),
            current: &c.current,
            in_progress: c.in_progress.as_deref(),
            failed: c.failed.as_deref(),
        }
    }))
    .map_err(|e| Failure {
        stalled: true,
        ..Failure::new(
            meta::INVALID_CEL_EXPRESSION_REASON,
            format!("invalid spec.healthCheckExprs: {e}"),
        )
    })
}

/// SOPS keys from `decryption.secretRef`, when decryption is configured.
async fn decryption_keys(
    ks: &Kustomization,
    ctx: &Context,
) -> Result<Option<weir_sops::Keys>, Failure> {
    let Some(decryption) = &ks.spec.decryption else {
        return Ok(None);
    };
    let Some(secret_ref) = &decryption.secret_ref else {
        return Ok(None);
    };
    let namespace = ks.namespace().unwrap_or_default();
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let secret = api.get(&secret_ref.name).await.map_err(|e| {
        Failure::new(
            ks_api::BUILD_FAILED_REASON,
            format!(
                "decryption secret '{namespace}/{}': {}",
                secret_ref.name,
                kube_message(&e)
            ),
        )
    })?;
    let data: BTreeMap<String, Vec<u8>> = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    weir_sops::Keys::from_secret_data(&data)
        .map(Some)
        .map_err(|e| {
            Failure::new(
                ks_api::BUILD_FAILED_REASON,
                format!("decryption secret '{namespace}/{}': {e}", secret_ref.name),
            )
        })
}

/// Decrypts every SOPS-encrypted file of the tree in place (manifests and
/// the files secret generators read), before kustomize sees them.
fn decrypt_tree(root: &std::path::Path, keys: &weir_sops::Keys) -> Result<(), build::BuildError> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| build::BuildError(format!("reading {}: {e}", dir.display())))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let format = weir_sops::format_for_path(&path);
            if !weir_sops::is_encrypted(&bytes, format) {
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            let plain = weir_sops::decrypt(&bytes, format, keys)
                .map_err(|e| build::BuildError(format!("failed to decrypt '{rel}': {e}")))?;
            std::fs::write(&path, plain)
                .map_err(|e| build::BuildError(format!("writing '{rel}': {e}")))?;
        }
    }
    Ok(())
}

/// `postBuild.substitute` merged over `substituteFrom` (in order), or
/// `None` when there is no postBuild.
async fn substitution_vars(
    ks: &Kustomization,
    ctx: &Context,
) -> Result<Option<BTreeMap<String, String>>, Failure> {
    let Some(post) = &ks.spec.post_build else {
        return Ok(None);
    };
    let namespace = ks.namespace().unwrap_or_default();
    let mut vars = BTreeMap::new();
    for from in post.substitute_from.iter().flatten() {
        let optional = from.optional == Some(true);
        let data: Option<BTreeMap<String, String>> = match from.kind {
            SubstituteReferenceKind::ConfigMap => {
                let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
                api.get_opt(&from.name)
                    .await
                    .map_err(|e| {
                        Failure::new(
                            ks_api::BUILD_FAILED_REASON,
                            format!(
                                "substitute from ConfigMap '{}': {}",
                                from.name,
                                kube_message(&e)
                            ),
                        )
                    })?
                    .map(|c| c.data.unwrap_or_default())
            }
            SubstituteReferenceKind::Secret => {
                let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
                api.get_opt(&from.name)
                    .await
                    .map_err(|e| {
                        Failure::new(
                            ks_api::BUILD_FAILED_REASON,
                            format!(
                                "substitute from Secret '{}': {}",
                                from.name,
                                kube_message(&e)
                            ),
                        )
                    })?
                    .map(|s| {
                        s.data
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                            .collect()
                    })
            }
        };
        match data {
            Some(d) => vars.extend(d),
            None if optional => {}
            None => {
                let kind = match from.kind {
                    SubstituteReferenceKind::ConfigMap => "ConfigMap",
                    SubstituteReferenceKind::Secret => "Secret",
                };
                return Err(Failure::new(
                    ks_api::BUILD_FAILED_REASON,
                    format!(
                        "substitute from {kind} '{namespace}/{}': not found",
                        from.name
                    ),
                ));
            }
        }
    }
    vars.extend(post.substitute.clone().unwrap_or_default());
    Ok(Some(vars))
}

/// Deletion: remove the applied objects per `deletionPolicy`, then the finalizer.
async fn finalize(
    ks: &Kustomization,
    api: &Api<Kustomization>,
    ctx: &Context,
) -> Result<(), ReconcileError> {
    if !weir_runtime::finalizer::has(ks, ks_api::KUSTOMIZATION_FINALIZER) {
        return Ok(());
    }
    let namespace = ks.namespace().unwrap_or_default();
    let name = ks.name_any();
    let delete = match ks.deletion_policy() {
        DeletionPolicy::MirrorPrune => ks.spec.prune,
        DeletionPolicy::Delete | DeletionPolicy::WaitForTermination => true,
        DeletionPolicy::Orphan => false,
    };
    if delete && ks.spec.suspend != Some(true) {
        let entries = ks
            .status
            .as_ref()
            .and_then(|s| s.inventory.as_ref())
            .map(|i| i.entries.clone())
            .unwrap_or_default();
        // Without a client for the target (its kubeconfig Secret or
        // service account is gone) nothing can be deleted; as Flux does,
        // say so and let the Kustomization go rather than block it forever.
        match target_applier(ks, ctx).await {
            Ok(applier) => {
                applier
                    .prune(&entries, (&name, &namespace))
                    .await
                    .map_err(|e| anyhow::anyhow!("deleting the applied objects: {e}"))?;
            }
            Err(f) => {
                tracing::warn!(%namespace, %name, "objects not deleted: {}", f.message);
                ctx.recorder.publish(
                    ks,
                    Event::error(
                        ks_api::PRUNE_FAILED_REASON,
                        format!("applied objects not deleted: {}", f.message),
                    ),
                );
            }
        }
    }
    ctx.metrics.forget(KIND, &namespace, &name);
    ctx.retries.reset_for(ks);
    weir_runtime::finalizer::remove(api, ks, ks_api::KUSTOMIZATION_FINALIZER).await?;
    Ok(())
}
