//! Kind-specific rules for built-in Kubernetes types.
//!
//! Most built-in controllers do not publish the standard `Reconciling` and
//! `Stalled` conditions, so kstatus derives a status from each kind's own
//! counters and conditions. These rules run only when the generic checks
//! (deletion, generation, standard conditions) reached no verdict.

use serde_json::{Map, Value};

use crate::fields::{
    Error, Outcome, conditions, int_field, nested_array, nested_i64, string_field, type_name,
};
use crate::time::{UnixNanos, duration_nanos, parse_rfc3339};
use crate::{Result, Status};

type Object = Map<String, Value>;

/// The rule for a group and kind, keyed like kstatus's `legacyTypes`.
pub(crate) fn rule_for(group: &str, kind: &str) -> Option<Rule> {
    let rule = match (group, kind) {
        ("", "Service") => Rule::Service,
        ("", "Pod") => Rule::Pod,
        ("", "Secret" | "ConfigMap") | ("batch", "CronJob") => Rule::AlwaysReady,
        ("", "PersistentVolumeClaim") => Rule::PersistentVolumeClaim,
        ("apps", "StatefulSet") => Rule::StatefulSet,
        ("apps" | "extensions", "DaemonSet") => Rule::DaemonSet,
        ("apps" | "extensions", "Deployment") => Rule::Deployment,
        ("apps" | "extensions", "ReplicaSet") => Rule::ReplicaSet,
        ("policy", "PodDisruptionBudget") => Rule::PodDisruptionBudget,
        ("batch", "Job") => Rule::Job,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => Rule::CustomResourceDefinition,
        _ => return None,
    };
    Some(rule)
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Rule {
    AlwaysReady,
    Service,
    Pod,
    PersistentVolumeClaim,
    StatefulSet,
    DaemonSet,
    Deployment,
    ReplicaSet,
    PodDisruptionBudget,
    Job,
    CustomResourceDefinition,
}

impl Rule {
    pub(crate) fn apply(self, obj: &Object, kind: &str, now: UnixNanos) -> Outcome<Result> {
        match self {
            Rule::AlwaysReady => Ok(current("Resource is always ready")),
            Rule::Service => Ok(service(obj)),
            Rule::Pod => pod(obj, now),
            Rule::PersistentVolumeClaim => Ok(pvc(obj)),
            Rule::StatefulSet => Ok(stateful_set(obj)),
            Rule::DaemonSet => daemon_set(obj, kind),
            Rule::Deployment => deployment(obj),
            Rule::ReplicaSet => replica_set(obj),
            // The generic generation check already passed, which is all kstatus
            // asks of a PDB: the disruption controller has seen the latest spec.
            Rule::PodDisruptionBudget => Ok(current("AllowedDisruptions has been computed.")),
            Rule::Job => job(obj),
            Rule::CustomResourceDefinition => crd(obj),
        }
    }
}

fn current(message: impl Into<String>) -> Result {
    Result {
        status: Status::Current,
        message: message.into(),
    }
}

fn in_progress(message: impl Into<String>) -> Result {
    Result {
        status: Status::InProgress,
        message: message.into(),
    }
}

fn failed(message: impl Into<String>) -> Result {
    Result {
        status: Status::Failed,
        message: message.into(),
    }
}

/// `a - b` without overflow on absurd inputs.
fn diff(a: i64, b: i64) -> i128 {
    i128::from(a) - i128::from(b)
}

fn service(obj: &Object) -> Result {
    let spec_type = string_field(obj, &["spec", "type"], "ClusterIP");
    let cluster_ip = string_field(obj, &["spec", "clusterIP"], "");
    // kstatus only waits for the cluster IP; it does not wait for an external
    // load balancer address, which some clusters never provide.
    if spec_type == "LoadBalancer" && cluster_ip.is_empty() {
        return in_progress("ClusterIP not set. Service type: LoadBalancer");
    }
    current("Service is ready")
}

fn pvc(obj: &Object) -> Result {
    let phase = string_field(obj, &["status", "phase"], "unknown");
    if phase != "Bound" {
        return in_progress(format!("PVC is not Bound. phase: {phase}"));
    }
    current("PVC is Bound")
}

/// How long a Pod may stay unscheduled before it is reported as unschedulable.
const SCHEDULE_WINDOW_SECS: u64 = 15;

fn pod(obj: &Object, now: UnixNanos) -> Outcome<Result> {
    let conds = conditions(obj)?;
    let phase = string_field(obj, &["status", "phase"], "");
    match phase {
        "Succeeded" => Ok(current("Pod has completed successfully")),
        // A pod that ran to completion unsuccessfully is still "done": kstatus
        // reports it Current, leaving the failure to whatever owns the pod.
        "Failed" => Ok(current("Pod has completed, but not successfully")),
        "Running" => {
            if conds.iter().any(|c| c.is("Ready", "True")) {
                return Ok(current("Pod is Ready"));
            }
            let crash_looping = crash_looping_containers(obj)?;
            if !crash_looping.is_empty() {
                return Ok(failed(format!(
                    "Containers in CrashLoop state: {}",
                    crash_looping.join(",")
                )));
            }
            Ok(in_progress("Pod is running but is not Ready"))
        }
        "Pending" => {
            let unschedulable = conds
                .iter()
                .find(|c| c.is("PodScheduled", "False"))
                .is_some_and(|c| c.reason == "Unschedulable");
            if unschedulable {
                // The scheduler may report Unschedulable briefly while, for
                // example, a volume is bound; give it a short grace window. A
                // missing or unreadable timestamp counts as long ago.
                let window = duration_nanos(std::time::Duration::from_secs(SCHEDULE_WINDOW_SECS));
                let created = string_field(obj, &["metadata", "creationTimestamp"], "");
                if parse_rfc3339(created).is_some_and(|created| now - window < created) {
                    return Ok(in_progress("Pod has not been scheduled"));
                }
                return Ok(failed("Pod could not be scheduled"));
            }
            Ok(in_progress("Pod is in the Pending phase"))
        }
        // No phase yet: the kubelet has not reported on the pod.
        "" => Ok(in_progress("Pod phase not available")),
        other => Err(Error::UnknownPodPhase(other.to_owned())),
    }
}

/// Names of containers waiting with reason `CrashLoopBackOff`.
fn crash_looping_containers(obj: &Object) -> Outcome<Vec<String>> {
    let Some(statuses) = nested_array(obj, &["status", "containerStatuses"])? else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    for (index, item) in statuses.iter().enumerate() {
        let malformed = |what: &str, expected: &'static str, value: &Value| Error::WrongType {
            path: format!("status.containerStatuses[{index}]{what}"),
            expected,
            found: type_name(value),
        };
        let entry = item
            .as_object()
            .ok_or_else(|| malformed("", "an object", item))?;
        let name = match entry.get("name") {
            None | Some(Value::Null) => continue,
            Some(Value::String(name)) => name,
            Some(other) => return Err(malformed(".name", "a string", other)),
        };
        let state = match entry.get("state") {
            None | Some(Value::Null) => continue,
            Some(Value::Object(state)) => state,
            Some(other) => return Err(malformed(".state", "an object", other)),
        };
        let waiting = match state.get("waiting") {
            None | Some(Value::Null) => continue,
            Some(Value::Object(waiting)) => waiting,
            Some(other) => return Err(malformed(".state.waiting", "an object", other)),
        };
        match waiting.get("reason") {
            None | Some(Value::Null) => {}
            Some(Value::String(reason)) if reason == "CrashLoopBackOff" => names.push(name.clone()),
            Some(Value::String(_)) => {}
            Some(other) => return Err(malformed(".state.waiting.reason", "a string", other)),
        }
    }
    Ok(names)
}

/// StatefulSets never set conditions, so only the counters and revisions tell
/// whether a rollout finished; a failed rollout cannot be detected.
fn stateful_set(obj: &Object) -> Result {
    // With OnDelete the user replaces pods by hand; there is no rollout to wait for.
    if string_field(obj, &["spec", "updateStrategy", "type"], "") == "OnDelete" {
        return current("StatefulSet is using the ondelete update strategy");
    }

    let spec_replicas = int_field(obj, &["spec", "replicas"], 1);
    let ready = int_field(obj, &["status", "readyReplicas"], 0);
    let current_replicas = int_field(obj, &["status", "currentReplicas"], 0);
    let updated = int_field(obj, &["status", "updatedReplicas"], 0);
    let status_replicas = int_field(obj, &["status", "replicas"], 0);
    let partition = int_field(
        obj,
        &["spec", "updateStrategy", "rollingUpdate", "partition"],
        -1,
    );

    if spec_replicas > status_replicas {
        return in_progress(format!("Replicas: {status_replicas}/{spec_replicas}"));
    }
    if spec_replicas > ready {
        return in_progress(format!("Ready: {ready}/{spec_replicas}"));
    }
    if status_replicas > spec_replicas {
        return in_progress(format!(
            "Pending termination: {}",
            diff(status_replicas, spec_replicas)
        ));
    }

    // A partitioned rolling update only replaces pods with an ordinal at or
    // above the partition, so only that many need the new revision.
    if partition != -1 {
        let expected = diff(spec_replicas, partition);
        if i128::from(updated) < expected {
            return in_progress(format!("updated: {updated}/{expected}"));
        }
        return current(format!("Partition rollout complete. updated: {updated}"));
    }

    if spec_replicas > current_replicas {
        return in_progress(format!("current: {current_replicas}/{spec_replicas}"));
    }

    let current_revision = string_field(obj, &["status", "currentRevision"], "");
    let update_revision = string_field(obj, &["status", "updateRevision"], "");
    if current_revision != update_revision {
        return in_progress("Waiting for updated revision to match current");
    }

    current(format!(
        "All replicas scheduled as expected. Replicas: {status_replicas}"
    ))
}

fn daemon_set(obj: &Object, kind: &str) -> Outcome<Result> {
    // The generic check skips objects without generation fields. The DaemonSet
    // controller always sets observedGeneration once it has acted, so here a
    // missing field means "not yet observed".
    if nested_i64(obj, &["metadata", "generation"])?.is_none() {
        return Ok(in_progress(format!("{kind} metadata.generation not found")));
    }
    if nested_i64(obj, &["status", "observedGeneration"])?.is_none() {
        return Ok(in_progress(format!(
            "{kind} status.observedGeneration not found"
        )));
    }

    let desired = int_field(obj, &["status", "desiredNumberScheduled"], -1);
    let current_scheduled = int_field(obj, &["status", "currentNumberScheduled"], 0);
    let updated = int_field(obj, &["status", "updatedNumberScheduled"], 0);
    let available = int_field(obj, &["status", "numberAvailable"], 0);
    let ready = int_field(obj, &["status", "numberReady"], 0);

    let result = if desired == -1 {
        in_progress("Missing .status.desiredNumberScheduled")
    } else if desired > current_scheduled {
        in_progress(format!("Current: {current_scheduled}/{desired}"))
    } else if desired > updated {
        in_progress(format!("Updated: {updated}/{desired}"))
    } else if desired > available {
        in_progress(format!("Available: {available}/{desired}"))
    } else if desired > ready {
        in_progress(format!("Ready: {ready}/{desired}"))
    } else {
        current(format!(
            "All replicas scheduled as expected. Replicas: {desired}"
        ))
    };
    Ok(result)
}

/// The deployment controller's sentinel for "no progress deadline".
const NO_PROGRESS_DEADLINE: i64 = i32::MAX as i64;

fn deployment(obj: &Object) -> Outcome<Result> {
    // Without progressDeadlineSeconds the controller never sets the
    // Progressing condition, so its absence must not hold the rollout back.
    let mut progressing = int_field(
        obj,
        &["spec", "progressDeadlineSeconds"],
        NO_PROGRESS_DEADLINE,
    ) == NO_PROGRESS_DEADLINE;
    let mut available = false;

    for cond in conditions(obj)? {
        match cond.type_.as_str() {
            "Progressing" => {
                if cond.reason == "ProgressDeadlineExceeded" {
                    return Ok(failed("Progress deadline exceeded"));
                }
                if cond.status == "True" && cond.reason == "NewReplicaSetAvailable" {
                    progressing = true;
                }
            }
            "Available" if cond.status == "True" => available = true,
            _ => {}
        }
    }

    let spec_replicas = int_field(obj, &["spec", "replicas"], 1);
    let status_replicas = int_field(obj, &["status", "replicas"], 0);
    let updated = int_field(obj, &["status", "updatedReplicas"], 0);
    let ready = int_field(obj, &["status", "readyReplicas"], 0);
    let available_replicas = int_field(obj, &["status", "availableReplicas"], 0);

    let result = if spec_replicas > status_replicas {
        in_progress(format!("Replicas: {status_replicas}/{spec_replicas}"))
    } else if spec_replicas > updated {
        in_progress(format!("Updated: {updated}/{spec_replicas}"))
    } else if status_replicas > spec_replicas {
        in_progress(format!(
            "Pending termination: {}",
            diff(status_replicas, spec_replicas)
        ))
    } else if updated > available_replicas {
        in_progress(format!("Available: {available_replicas}/{updated}"))
    } else if spec_replicas > ready {
        in_progress(format!("Ready: {ready}/{spec_replicas}"))
    } else if !progressing {
        in_progress("ReplicaSet not Available")
    } else if !available {
        in_progress("Deployment not Available")
    } else {
        current(format!(
            "Deployment is available. Replicas: {status_replicas}"
        ))
    };
    Ok(result)
}

fn replica_set(obj: &Object) -> Outcome<Result> {
    // ReplicaFailure (e.g. quota exceeded) may clear on its own, so kstatus
    // keeps the ReplicaSet InProgress rather than Failed.
    if conditions(obj)?
        .iter()
        .any(|c| c.is("ReplicaFailure", "True"))
    {
        return Ok(in_progress("Replica Failure condition. Check Pods"));
    }

    let spec_replicas = int_field(obj, &["spec", "replicas"], 1);
    let status_replicas = int_field(obj, &["status", "replicas"], 0);
    let ready = int_field(obj, &["status", "readyReplicas"], 0);
    let available = int_field(obj, &["status", "availableReplicas"], 0);
    let labelled = int_field(obj, &["status", "fullyLabeledReplicas"], 0);

    let result = if spec_replicas > labelled {
        in_progress(format!("Labelled: {labelled}/{spec_replicas}"))
    } else if spec_replicas > available {
        in_progress(format!("Available: {available}/{spec_replicas}"))
    } else if spec_replicas > ready {
        in_progress(format!("Ready: {ready}/{spec_replicas}"))
    } else if status_replicas > spec_replicas {
        in_progress(format!(
            "Pending termination: {}",
            diff(status_replicas, spec_replicas)
        ))
    } else {
        current(format!(
            "ReplicaSet is available. Replicas: {status_replicas}"
        ))
    };
    Ok(result)
}

/// A Job is Current once it has started (it is doing what was asked), and
/// Failed only when the controller says so.
fn job(obj: &Object) -> Outcome<Result> {
    let parallelism = int_field(obj, &["spec", "parallelism"], 1);
    let completions = int_field(obj, &["spec", "completions"], parallelism);
    let succeeded = int_field(obj, &["status", "succeeded"], 0);
    let active = int_field(obj, &["status", "active"], 0);
    let failed_pods = int_field(obj, &["status", "failed"], 0);
    let start_time = string_field(obj, &["status", "startTime"], "");

    for cond in conditions(obj)? {
        if cond.status != "True" {
            continue;
        }
        match cond.type_.as_str() {
            "Complete" => {
                return Ok(current(format!(
                    "Job Completed. succeeded: {succeeded}/{completions}"
                )));
            }
            "Failed" => {
                return Ok(failed(format!(
                    "Job Failed. failed: {failed_pods}/{completions}"
                )));
            }
            // A suspended Job is deliberately idle, not stuck.
            "Suspended" => return Ok(current("Job is suspended")),
            _ => {}
        }
    }

    if start_time.is_empty() {
        return Ok(in_progress("Job not started"));
    }
    Ok(current(format!(
        "Job in progress. success:{succeeded}, active: {active}, failed: {failed_pods}"
    )))
}

fn crd(obj: &Object) -> Outcome<Result> {
    for cond in conditions(obj)? {
        if cond.is("NamesAccepted", "False") {
            return Ok(failed(cond.message));
        }
        if cond.type_ == "Established" {
            // "Installing" is the API server's transient reason while it
            // prepares the new resource's storage.
            if cond.status == "False" && cond.reason != "Installing" {
                return Ok(failed(cond.message));
            }
            if cond.status == "True" {
                return Ok(current("CRD is established"));
            }
        }
    }
    Ok(in_progress("Install in progress"))
}
