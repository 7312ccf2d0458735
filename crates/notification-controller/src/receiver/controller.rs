//! The Receiver reconciler: reads the token from `spec.secretRef` and
//! publishes the webhook path `/hook/<sha256 hex of token+name+namespace>`
//! in `status.webhookPath`, with `Ready=True` (`Succeeded`, "Receiver
//! initialized for path: ..."), or `Ready=False` (`TokenNotFound`) and no
//! path. Requeued every `spec.interval` (10m), so a rotated token is picked
//! up; suspended Receivers are left alone, as in Flux.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector;
use kube::{Resource as _, ResourceExt as _};
use sha2::{Digest as _, Sha256};
use weir_api::meta;
use weir_api::notification::v1::{
    NOTIFICATION_FINALIZER, RECEIVER_WEBHOOK_PATH, Receiver, TOKEN_NOT_FOUND_REASON,
};
use weir_runtime::backoff::RetryBackoff;
use weir_runtime::conditions;
use weir_runtime::events::{Event, EventRecorder};
use weir_runtime::metrics::{Metrics, ReconcileResult};

use crate::CONTROLLER_NAME;

pub const KIND: &str = "Receiver";

/// The webhook path of a Receiver with this token, as Flux computes it.
pub fn webhook_path(token: &[u8], name: &str, namespace: &str) -> String {
    let mut h = Sha256::new();
    h.update(token);
    h.update(name.as_bytes());
    h.update(namespace.as_bytes());
    format!("{RECEIVER_WEBHOOK_PATH}{}", hex::encode(h.finalize()))
}

/// Settings of the Receiver reconciler.
#[derive(Clone, Debug)]
pub struct Config {
    pub namespace: Option<String>,
    pub concurrency: u16,
    pub min_retry_delay: Duration,
    pub max_retry_delay: Duration,
}

pub struct Context {
    pub client: kube::Client,
    pub recorder: EventRecorder,
    pub metrics: Arc<Metrics>,
    pub config: Config,
    retries: RetryBackoff,
}

impl Context {
    pub fn new(
        client: kube::Client,
        recorder: EventRecorder,
        metrics: Arc<Metrics>,
        config: Config,
    ) -> Arc<Self> {
        let retries = RetryBackoff::new(config.min_retry_delay, config.max_retry_delay);
        Arc::new(Self {
            client,
            recorder,
            metrics,
            config,
            retries,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("{0:#}")]
    Kube(#[from] anyhow::Error),
    #[error("{0}")]
    Token(String),
}

/// Runs the Receiver controller until shutdown.
pub async fn run(ctx: Arc<Context>) -> anyhow::Result<()> {
    let api: Api<Receiver> =
        weir_runtime::controller::api_for(ctx.client.clone(), ctx.config.namespace.as_deref());
    let (reader, writer) = reflector::store();
    let events = weir_runtime::controller::watch_changes(api, writer);
    let config =
        kube::runtime::controller::Config::default().concurrency(ctx.config.concurrency.max(1));
    let results = Controller::for_stream(events, reader)
        .with_config(config)
        .run(reconcile, error_policy, ctx);
    weir_runtime::controller::drain(results).await;
    Ok(())
}

fn error_policy(obj: Arc<Receiver>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    weir_runtime::controller::retry_after_error(obj.as_ref(), error, &ctx.retries)
}

async fn token(ctx: &Context, receiver: &Receiver) -> Result<Vec<u8>, String> {
    let namespace = receiver.namespace().unwrap_or_default();
    let Some(secret_ref) = receiver.spec.secret_ref.as_ref() else {
        return Err("spec.secretRef is required to compute the webhook path".into());
    };
    let secret = Api::<Secret>::namespaced(ctx.client.clone(), &namespace)
        .get(&secret_ref.name)
        .await
        .map_err(|e| {
            format!(
                "unable to read token from secret '{namespace}/{}' error: {e}",
                secret_ref.name
            )
        })?;
    secret
        .data
        .and_then(|mut d| d.remove("token"))
        .map(|b| b.0)
        .ok_or_else(|| {
            format!(
                "invalid '{namespace}/{}' secret data: required fields 'token'",
                secret_ref.name
            )
        })
}

pub async fn reconcile(
    receiver: Arc<Receiver>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let started = std::time::Instant::now();
    let namespace = receiver.namespace().unwrap_or_default();
    let name = receiver.name_any();
    let api: Api<Receiver> = Api::namespaced(ctx.client.clone(), &namespace);

    if receiver.meta().deletion_timestamp.is_some() {
        ctx.metrics.forget(KIND, &namespace, &name);
        ctx.retries.reset_for(receiver.as_ref());
        weir_runtime::finalizer::remove(&api, receiver.as_ref(), NOTIFICATION_FINALIZER).await?;
        return Ok(Action::await_change());
    }
    weir_runtime::finalizer::ensure(&api, receiver.as_ref(), NOTIFICATION_FINALIZER).await?;
    if receiver.spec.suspend == Some(true) {
        tracing::info!(%namespace, %name, "reconciliation is suspended for this object");
        return Ok(Action::await_change());
    }

    let generation = receiver.meta().generation;
    let old = receiver.status.clone().unwrap_or_default();
    let mut status = old.clone();
    status.last_handled_reconcile_at = weir_runtime::reconcile_request::handled_value(
        &receiver.metadata,
        old.last_handled_reconcile_at.as_deref(),
    );
    let mut conds = status.conditions.take().unwrap_or_default();
    let interval = weir_api::duration::parse(receiver.interval())
        .ok()
        .filter(|d| !d.is_zero())
        .unwrap_or(Duration::from_secs(600));

    let outcome = token(&ctx, &receiver).await;
    let action = match &outcome {
        Ok(token) => {
            let path = webhook_path(token, &name, &namespace);
            let message = format!("Receiver initialized for path: {path}");
            conditions::mark_true(
                &mut conds,
                conditions::READY,
                meta::SUCCEEDED_REASON,
                &message,
                generation,
            );
            conditions::delete(&mut conds, conditions::RECONCILING);
            conditions::delete(&mut conds, conditions::STALLED);
            if old.webhook_path.as_deref() != Some(path.as_str()) {
                tracing::info!(%namespace, %name, "{message}");
            }
            status.webhook_path = Some(path);
            status.observed_generation = generation;
            ctx.retries.reset_for(receiver.as_ref());
            Action::requeue(interval)
        }
        Err(error) => {
            conditions::mark_false(
                &mut conds,
                conditions::READY,
                TOKEN_NOT_FOUND_REASON,
                error,
                generation,
            );
            conditions::mark_reconciling(
                &mut conds,
                meta::PROGRESSING_WITH_RETRY_REASON,
                error,
                generation,
            );
            status.webhook_path = None;
            Action::requeue(ctx.retries.next_for(receiver.as_ref()))
        }
    };
    status.conditions = Some(conds);
    if status != old {
        weir_runtime::status::apply_status(&api, &name, CONTROLLER_NAME, &status).await?;
    }
    let result = match &outcome {
        Ok(_) => ReconcileResult::RequeueAfter,
        Err(error) => {
            ctx.recorder.publish(
                receiver.as_ref(),
                Event::error(meta::FAILED_REASON, error.clone()),
            );
            ReconcileResult::Error
        }
    };
    ctx.metrics
        .record_reconcile(KIND, &namespace, &name, started.elapsed(), result);
    Ok(action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_path_is_sha256_of_token_name_namespace() {
        // sha256("tokenwebappflux-system"), computed independently.
        let want = hex::encode(Sha256::digest(b"tokenwebappflux-system"));
        assert_eq!(
            webhook_path(b"token", "webapp", "flux-system"),
            format!("/hook/{want}")
        );
        assert_eq!(
            webhook_path(b"token", "webapp", "flux-system").len(),
            6 + 64
        );
    }
}
