//! One reconcile of a GitRepository, as an explicit sequence of steps:
//! finalise on deletion → ensure the finalizer → skip when suspended →
//! resolve credentials and includes → fetch (or learn the remote is
//! unchanged) → archive into storage → garbage collect → write status →
//! announce the artifact.
//!
//! Failures of a step become a condition with Flux's type, reason and
//! message, an event, and a retry with back-off; only a failed status write
//! is returned as an error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource as _, ResourceExt as _};
use weir_api::meta::{self, Artifact};
use weir_api::source::v1::{self as source, GitRepository, GitRepositoryStatus};
use weir_artifact::ignore::IgnoreRules;
use weir_artifact::{ArchiveError, ArchiveLimits};
use weir_git::{FetchOptions, FetchOutcome, GitError, GitRef};
use weir_runtime::conditions;
use weir_runtime::events::Event;
use weir_runtime::metrics::ReconcileResult;

use super::include;
use super::{Context, KIND, auth};
use crate::CONTROLLER_NAME;
use crate::artifact_hub::{SourceKey, to_proto};

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("{0:#}")]
    Kube(#[from] anyhow::Error),
}

/// Why a reconcile did not produce an artifact.
struct Failure {
    /// The abnormal condition to raise (`FetchFailed`, ...).
    condition: &'static str,
    reason: &'static str,
    message: String,
    /// A spec error: no retry until the object changes.
    stalled: bool,
}

impl Failure {
    fn new(condition: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            condition,
            reason,
            message: message.into(),
            stalled: false,
        }
    }

    fn stalled(mut self) -> Self {
        self.stalled = true;
        self
    }
}

/// What a successful sync produced.
enum Synced {
    /// A new artifact was written.
    New(Artifact),
    /// The stored artifact is still current.
    UpToDate(Artifact),
}

const ABNORMAL: &[&str] = &[
    source::FETCH_FAILED_CONDITION,
    source::STORAGE_OPERATION_FAILED_CONDITION,
    source::INCLUDE_UNAVAILABLE_CONDITION,
];

pub async fn reconcile(
    repo: Arc<GitRepository>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let namespace = repo.namespace().unwrap_or_default();
    let name = repo.name_any();
    let api: Api<GitRepository> = Api::namespaced(ctx.client.clone(), &namespace);

    if repo.meta().deletion_timestamp.is_some() {
        finalize(&repo, &api, &ctx).await?;
        return Ok(Action::await_change());
    }
    weir_runtime::finalizer::ensure(&api, repo.as_ref(), source::SOURCE_FINALIZER).await?;
    if repo.spec.suspend == Some(true) {
        tracing::info!(%namespace, %name, "reconciliation is suspended for this object");
        return Ok(Action::await_change());
    }

    let generation = repo.meta().generation;
    let old_status = repo.status.clone().unwrap_or_default();
    let mut status = old_status.clone();
    status.last_handled_reconcile_at = weir_runtime::reconcile_request::handled_value(
        &repo.metadata,
        old_status.last_handled_reconcile_at.as_deref(),
    );

    let outcome = sync(&repo, &ctx, &mut status).await;
    let mut conds = status.conditions.take().unwrap_or_default();
    let action = match &outcome {
        Ok(synced) => {
            let artifact = match synced {
                Synced::New(a) | Synced::UpToDate(a) => a,
            };
            let message = format!("stored artifact for revision '{}'", artifact.revision);
            for c in ABNORMAL {
                conditions::delete(&mut conds, c);
            }
            conditions::delete(&mut conds, conditions::RECONCILING);
            conditions::delete(&mut conds, conditions::STALLED);
            conditions::mark_true(
                &mut conds,
                source::ARTIFACT_IN_STORAGE_CONDITION,
                meta::SUCCEEDED_REASON,
                &message,
                generation,
            );
            conditions::mark_true(
                &mut conds,
                conditions::READY,
                meta::SUCCEEDED_REASON,
                &message,
                generation,
            );
            status.observed_generation = generation;
            ctx.retries.reset_for(repo.as_ref());
            Action::requeue(
                repo.interval()
                    .filter(|d| !d.is_zero())
                    .unwrap_or(Duration::from_secs(60)),
            )
        }
        Err(failure) => {
            for c in ABNORMAL {
                if *c != failure.condition {
                    conditions::delete(&mut conds, c);
                }
            }
            conditions::mark_true(
                &mut conds,
                failure.condition,
                failure.reason,
                &failure.message,
                generation,
            );
            conditions::mark_false(
                &mut conds,
                conditions::READY,
                failure.reason,
                &failure.message,
                generation,
            );
            if failure.stalled {
                conditions::mark_stalled(&mut conds, failure.reason, &failure.message, generation);
                status.observed_generation = generation;
                Action::await_change()
            } else {
                conditions::mark_reconciling(
                    &mut conds,
                    meta::PROGRESSING_WITH_RETRY_REASON,
                    &failure.message,
                    generation,
                );
                Action::requeue(ctx.retries.next_for(repo.as_ref()))
            }
        }
    };
    status.conditions = Some(conds);

    if status != old_status {
        weir_runtime::status::apply_status(&api, &name, CONTROLLER_NAME, &status).await?;
    }

    let key = SourceKey::new(KIND, &namespace, &name);
    match &outcome {
        Ok(Synced::New(artifact)) => {
            ctx.hub.stored(&key, to_proto(artifact));
            ctx.notify_includers(&namespace, &name);
            ctx.recorder.publish(
                repo.as_ref(),
                Event::info(
                    "NewArtifact",
                    format!("stored artifact for revision '{}'", artifact.revision),
                )
                .with("revision", artifact.revision.clone())
                .with("digest", artifact.digest.clone()),
            );
        }
        Ok(Synced::UpToDate(artifact)) => {
            // Quiet unless the hub did not know it (first pass after a restart).
            ctx.hub.stored(&key, to_proto(artifact));
        }
        Err(failure) => {
            let was_failing = conditions::get(
                old_status.conditions.as_deref().unwrap_or_default(),
                failure.condition,
            )
            .is_some_and(|c| c.reason == failure.reason && c.message == failure.message);
            // Repeating the same failure on every retry would flood events.
            if !was_failing {
                ctx.recorder.publish(
                    repo.as_ref(),
                    Event::error(failure.reason, failure.message.clone()),
                );
            }
            tracing::warn!(%namespace, %name, reason = failure.reason, "{}", failure.message);
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

async fn sync(
    repo: &GitRepository,
    ctx: &Context,
    status: &mut GitRepositoryStatus,
) -> Result<Synced, Failure> {
    let namespace = repo.namespace().unwrap_or_default();
    let name = repo.name_any();
    let url = repo.spec.url.as_str();
    if !(url.starts_with("http://") || url.starts_with("https://") || url.starts_with("ssh://")) {
        return Err(Failure::new(
            source::FETCH_FAILED_CONDITION,
            source::URL_INVALID_REASON,
            format!("URL scheme of '{url}' is not supported: use http, https or ssh"),
        )
        .stalled());
    }

    let auth = match &repo.spec.secret_ref {
        Some(secret) => auth::load(&ctx.client, &namespace, &secret.name, url)
            .await
            .map_err(|m| {
                Failure::new(
                    source::FETCH_FAILED_CONDITION,
                    source::AUTHENTICATION_FAILED_REASON,
                    m,
                )
            })?,
        None => weir_git::Auth::default(),
    };

    let includes = if repo.spec.include.as_ref().is_some_and(|i| !i.is_empty()) {
        // Read the included repositories from the API server, not the watch
        // cache: an includer is queued right after an included repository
        // stored a new artifact, before the cache may have seen it.
        let api: Api<GitRepository> = Api::namespaced(ctx.client.clone(), &namespace);
        let mut repos = Vec::new();
        for include in repo.spec.include.iter().flatten() {
            match api.get_opt(&include.repository.name).await {
                Ok(Some(r)) => repos.push(std::sync::Arc::new(r)),
                Ok(None) => {}
                Err(e) => {
                    return Err(Failure::new(
                        source::INCLUDE_UNAVAILABLE_CONDITION,
                        "IncludeUnavailable",
                        format!(
                            "could not get resource for include '{}': {e}",
                            include.repository.name
                        ),
                    ));
                }
            }
        }
        include::resolve(repo, &repos, &ctx.storage).map_err(|m| {
            Failure::new(
                source::INCLUDE_UNAVAILABLE_CONDITION,
                "IncludeUnavailable",
                m,
            )
        })?
    } else {
        Vec::new()
    };
    let included: Vec<Artifact> = includes.iter().map(|i| i.artifact.clone()).collect();

    // Skip the transfer when the remote still points at the stored commit and
    // nothing else that shapes the artifact changed.
    let current = status
        .artifact
        .clone()
        .filter(|a| ctx.storage.exists(&a.path));
    let same_shape = status.observed_ignore == repo.spec.ignore
        && status.observed_recurse_submodules.unwrap_or(false)
            == repo.spec.recurse_submodules.unwrap_or(false)
        && status.observed_include.clone().unwrap_or_default()
            == repo.spec.include.clone().unwrap_or_default()
        && status
            .included_artifacts
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|a| &a.digest)
            .eq(included.iter().map(|a| &a.digest));
    let last_commit = current
        .as_ref()
        .filter(|_| same_shape)
        .and_then(|a| a.revision.rsplit_once("sha1:").map(|(_, c)| c.to_owned()));

    let reference = repo.spec.reference.clone().unwrap_or_default();
    let git_ref = GitRef {
        branch: reference.branch,
        tag: reference.tag,
        semver: reference.semver,
        name: reference.name,
        commit: reference.commit,
    };
    let timeout = repo.timeout();
    let work = tempfile::Builder::new()
        .prefix("gitrepository-")
        .tempdir()
        .map_err(|e| storage_failure(format!("creating a work directory: {e}")))?;
    let tree = work.path().join("tree");
    std::fs::create_dir(&tree)
        .map_err(|e| storage_failure(format!("creating a work directory: {e}")))?;

    let fetched = {
        let url = url.to_owned();
        let tree = tree.clone();
        let max_file_size = ctx.config.max_file_size;
        let recurse = repo.spec.recurse_submodules.unwrap_or(false);
        tokio::task::spawn_blocking(move || {
            let opts = FetchOptions {
                url: &url,
                reference: &git_ref,
                auth: &auth,
                timeout,
                last_commit: last_commit.as_deref(),
                recurse_submodules: recurse,
                max_file_size,
            };
            let first = weir_git::fetch(&opts, &tree)?;
            // Same commit under a different ref name (e.g. branch → tag):
            // the revision string changes, so build the artifact again.
            if let (FetchOutcome::Unchanged(r), Some(current)) = (&first, current.as_ref())
                && r.revision != current.revision
            {
                let opts = FetchOptions {
                    last_commit: None,
                    ..opts
                };
                return weir_git::fetch(&opts, &tree);
            }
            Ok(first)
        })
        .await
        .map_err(|e| {
            Failure::new(
                source::FETCH_FAILED_CONDITION,
                source::GIT_OPERATION_FAILED_REASON,
                format!("git task failed: {e}"),
            )
        })?
    };
    let outcome = fetched.map_err(|e| git_failure(url, e))?;

    let resolved = match outcome {
        FetchOutcome::Unchanged(resolved) => {
            if let Some(mut artifact) = status
                .artifact
                .clone()
                .filter(|a| a.revision == resolved.revision)
            {
                // The advertised address may have changed since it was stored
                // (a new --storage-adv-addr); Flux rewrites the URL too.
                let url = ctx.storage.url_for(&artifact.path);
                if artifact.url != url {
                    artifact.url = url;
                    status.artifact = Some(artifact.clone());
                }
                return Ok(Synced::UpToDate(artifact));
            }
            // The stored artifact vanished in between; fall through is not
            // possible without a tree, so ask for a fresh fetch next time.
            return Err(Failure::new(
                source::STORAGE_OPERATION_FAILED_CONDITION,
                source::STAT_OPERATION_FAILED_REASON,
                "stored artifact disappeared during reconcile",
            ));
        }
        FetchOutcome::CheckedOut(resolved) => resolved,
    };

    for (i, inc) in includes.iter().enumerate() {
        let scratch = work.path().join(format!("include-{i}"));
        std::fs::create_dir(&scratch)
            .map_err(|e| storage_failure(format!("creating include directory: {e}")))?;
        include::copy_into(&ctx.storage, inc, &tree, &scratch).map_err(|m| {
            Failure::new(
                source::INCLUDE_UNAVAILABLE_CONDITION,
                "IncludeUnavailable",
                m,
            )
        })?;
    }

    let path = weir_artifact::Storage::artifact_path(
        KIND,
        &namespace,
        &name,
        &format!("{}.tar.gz", resolved.commit),
    );
    let stored = {
        let storage = ctx.storage.clone();
        let spec_ignore = repo.spec.ignore.clone();
        let limits = ArchiveLimits {
            max_file_size: ctx.config.max_file_size,
        };
        let path = path.clone();
        let revision = resolved.revision.clone();
        tokio::task::spawn_blocking(move || {
            let rules = IgnoreRules::load(&tree, spec_ignore.as_deref()).map_err(|e| {
                Failure::new(
                    source::STORAGE_OPERATION_FAILED_CONDITION,
                    source::ARCHIVE_OPERATION_FAILED_REASON,
                    format!("reading ignore rules: {e}"),
                )
            })?;
            storage
                .archive_dir(
                    &path,
                    &tree,
                    &|p, is_dir| rules.is_ignored(p, is_dir),
                    limits,
                )
                .map_err(|e| match e {
                    ArchiveError::FileTooLarge { .. } => Failure::new(
                        source::STORAGE_OPERATION_FAILED_CONDITION,
                        source::ARCHIVE_OPERATION_FAILED_REASON,
                        e.to_string(),
                    ),
                    other => storage_failure(format!("archiving revision '{revision}': {other}")),
                })
        })
        .await
        .map_err(|e| storage_failure(format!("archive task failed: {e}")))??
    };
    drop(work);

    if let Err(e) = ctx.storage.garbage_collect(&path) {
        // Not fatal: the new artifact is in place; the next reconcile retries.
        tracing::warn!(%namespace, %name, "garbage collection failed: {e}");
    }

    let artifact = Artifact {
        path: stored.path,
        url: stored.url,
        revision: resolved.revision,
        digest: stored.digest,
        last_update_time: Time(
            jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_else(|_| jiff::Timestamp::now()),
        ),
        size: i64::try_from(stored.size).ok(),
        metadata: None,
    };
    status.artifact = Some(artifact.clone());
    status.observed_ignore = repo.spec.ignore.clone();
    status.observed_recurse_submodules = repo.spec.recurse_submodules;
    status.observed_include = repo.spec.include.clone();
    status.included_artifacts = (!included.is_empty()).then_some(included);
    Ok(Synced::New(artifact))
}

fn storage_failure(message: String) -> Failure {
    Failure::new(
        source::STORAGE_OPERATION_FAILED_CONDITION,
        source::ARCHIVE_OPERATION_FAILED_REASON,
        message,
    )
}

fn git_failure(url: &str, e: GitError) -> Failure {
    let message =
        format!("failed to checkout and determine revision: unable to fetch '{url}': {e}");
    match e {
        GitError::Auth(_) => Failure::new(
            source::FETCH_FAILED_CONDITION,
            source::AUTHENTICATION_FAILED_REASON,
            message,
        ),
        GitError::InvalidRef(_) => Failure::new(
            source::FETCH_FAILED_CONDITION,
            source::GIT_OPERATION_FAILED_REASON,
            message,
        )
        .stalled(),
        GitError::FileTooLarge { .. } | GitError::UnsafePath(_) => Failure::new(
            source::STORAGE_OPERATION_FAILED_CONDITION,
            source::ARCHIVE_OPERATION_FAILED_REASON,
            message,
        ),
        _ => Failure::new(
            source::FETCH_FAILED_CONDITION,
            source::GIT_OPERATION_FAILED_REASON,
            message,
        ),
    }
}

/// Removes the object's artifacts, tells consumers, and lets it go.
async fn finalize(
    repo: &GitRepository,
    api: &Api<GitRepository>,
    ctx: &Context,
) -> Result<(), ReconcileError> {
    if !weir_runtime::finalizer::has(repo, source::SOURCE_FINALIZER) {
        return Ok(());
    }
    let namespace = repo.namespace().unwrap_or_default();
    let name = repo.name_any();
    ctx.storage
        .remove_object(KIND, &namespace, &name)
        .map_err(|e| anyhow::anyhow!("removing the artifacts of {namespace}/{name}: {e}"))?;
    ctx.hub.removed(&SourceKey::new(KIND, &namespace, &name));
    ctx.metrics.forget(KIND, &namespace, &name);
    ctx.retries.reset_for(repo);
    weir_runtime::finalizer::remove(api, repo, source::SOURCE_FINALIZER).await?;
    Ok(())
}
