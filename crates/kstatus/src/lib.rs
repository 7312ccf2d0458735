//! Health status of Kubernetes objects, computed with the rules of kstatus
//! (`sigs.k8s.io/cli-utils/pkg/kstatus/status`), which Flux's
//! kustomize-controller uses for `wait` and `healthChecks`.
//!
//! A pure library: the input is the object as the API server returns it, held
//! as a [`serde_json::Value`]; nothing talks to a cluster.
//!
//! The rules run in kstatus's order, and the first that reaches a verdict wins:
//!
//! 1. `metadata.deletionTimestamp` set: [`Status::Terminating`].
//! 2. `metadata.generation` differs from `status.observedGeneration`:
//!    [`Status::InProgress`].
//! 3. `Reconciling=True`: [`Status::InProgress`]; `Stalled=True`: [`Status::Failed`].
//! 4. Flux kinds (`*.toolkit.fluxcd.io`): the `Ready` condition decides
//!    (missing: InProgress, False: Failed, True: Current).
//! 5. Built-in kinds with a specific rule: Deployment, StatefulSet, DaemonSet,
//!    ReplicaSet, Pod, PersistentVolumeClaim, Service, Job, CronJob,
//!    CustomResourceDefinition, PodDisruptionBudget, ConfigMap, Secret.
//! 6. Any other kind with a `Ready` condition: True is Current, False or
//!    Unknown is InProgress.
//! 7. Otherwise [`Status::Current`]: a kind that reports nothing is assumed
//!    reconciled.
//!
//! Messages match kstatus's word for word, so they read the same in Weir's
//! events and conditions as in Flux's.
//!
//! Flux's CEL-based checks live in [`cel`]: `spec.healthCheckExprs`, which
//! replace these rules for the kinds they name, and `spec.dependsOn[].readyExpr`.
//!
//! ```
//! use serde_json::json;
//! use weir_kstatus::{Status, compute};
//!
//! let deployment = json!({
//!     "apiVersion": "apps/v1",
//!     "kind": "Deployment",
//!     "metadata": {"name": "web", "generation": 3},
//!     "spec": {"replicas": 2},
//!     "status": {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2,
//!                "readyReplicas": 1, "availableReplicas": 1},
//! });
//! let result = compute(&deployment);
//! assert_eq!(result.status, Status::InProgress);
//! assert_eq!(result.message, "Available: 1/2");
//! ```

mod builtin;
pub mod cel;
mod fields;
mod flux;
mod generic;
mod time;

use std::fmt;
use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::fields::{Error, Outcome, string_field};

/// The reconcile state of an object at one point in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// The object has not reached the state its spec asks for yet.
    InProgress,
    /// Reconciling the object hit an error or made insufficient progress.
    Failed,
    /// The object's actual state matches its spec.
    Current,
    /// The object is being deleted.
    Terminating,
    /// The object does not exist. Never returned by [`compute`]; it exists for
    /// callers that look objects up, as in kstatus.
    NotFound,
    /// The status could not be determined (for example, a malformed object).
    Unknown,
}

impl Status {
    /// The name kstatus uses for this status.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "InProgress",
            Status::Failed => "Failed",
            Status::Current => "Current",
            Status::Terminating => "Terminating",
            Status::NotFound => "NotFound",
            Status::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A computed status and a human-readable explanation of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Result {
    pub status: Status,
    pub message: String,
}

/// Computes the status of `obj` as of now.
///
/// Never panics: an object that cannot be evaluated (not a JSON object, or a
/// field of the wrong type where kstatus would report an error) yields
/// [`Status::Unknown`] with a message saying why.
pub fn compute(obj: &Value) -> Result {
    compute_at(obj, SystemTime::now())
}

/// Like [`compute`], with an explicit current time.
///
/// Time matters for one rule only: an unschedulable Pod is reported
/// InProgress for its first 15 seconds and Failed afterwards.
pub fn compute_at(obj: &Value, now: SystemTime) -> Result {
    evaluate(obj, time::system_time_nanos(now)).unwrap_or_else(|err| Result {
        status: Status::Unknown,
        message: err.to_string(),
    })
}

fn evaluate(obj: &Value, now: time::UnixNanos) -> Outcome<Result> {
    let obj = obj
        .as_object()
        .ok_or_else(|| Error::NotAnObject(fields::type_name(obj)))?;
    let kind = string_field(obj, &["kind"], "");
    let group = api_group(obj);

    if let Some(result) = generic::check_lifecycle(obj, kind)? {
        return Ok(result);
    }
    let conds = fields::conditions(obj)?;
    if let Some(result) = generic::check_standard_conditions(&conds) {
        return Ok(result);
    }
    if let Some(group) = group {
        if flux::is_flux_group(group) {
            return flux::status(obj, kind, &conds);
        }
        if let Some(rule) = builtin::rule_for(group, kind) {
            return rule.apply(obj, kind, now);
        }
    }
    if let Some(result) = generic::check_ready_condition(&conds) {
        return Ok(result);
    }
    Ok(Result {
        status: Status::Current,
        message: "Resource is current".to_owned(),
    })
}

/// The API group from `apiVersion` ("" for the core group), or `None` when
/// `apiVersion` cannot be parsed; kstatus then applies no kind-specific rule.
fn api_group(obj: &Map<String, Value>) -> Option<&str> {
    let api_version = string_field(obj, &["apiVersion"], "");
    match api_version.split_once('/') {
        None => Some(""),
        Some((_, version)) if version.contains('/') => None,
        Some((group, _)) => Some(group),
    }
}
