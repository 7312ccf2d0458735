//! Built-in kinds, with fixtures from kstatus's `status_compute_test.go`
//! (expected statuses from there, expected messages from kstatus's rules).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use weir_kstatus::{Status, compute, compute_at};

#[track_caller]
fn check(obj: Value, status: Status, message: &str) {
    let result = compute(&obj);
    assert_eq!(
        (result.status, result.message.as_str()),
        (status, message),
        "object: {obj}"
    );
}

// ---------------------------------------------------------------- Pod

#[test]
fn pod_without_status_is_not_observed() {
    check(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"generation": 1, "name": "test"}}),
        Status::InProgress,
        "Pod phase not available",
    );
}

fn pod(status: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generation": 1, "name": "test", "namespace": "qual"},
        "status": status,
    })
}

#[test]
fn pod_running_and_ready_is_current() {
    check(
        pod(json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]})),
        Status::Current,
        "Pod is Ready",
    );
}

#[test]
fn pod_completed_either_way_is_current() {
    let not_ready = json!([{"type": "Ready", "status": "False", "reason": "PodCompleted"}]);
    check(
        pod(json!({"phase": "Succeeded", "conditions": not_ready})),
        Status::Current,
        "Pod has completed successfully",
    );
    check(
        pod(json!({"phase": "Failed", "conditions": not_ready})),
        Status::Current,
        "Pod has completed, but not successfully",
    );
}

#[test]
fn pod_running_not_ready_is_in_progress() {
    check(
        pod(json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]})),
        Status::InProgress,
        "Pod is running but is not Ready",
    );
}

#[test]
fn pod_crash_looping_is_failed() {
    check(
        pod(json!({
            "phase": "Running",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
            "containerStatuses": [
                {"name": "nginx", "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                {"name": "sidecar", "state": {"running": {}}},
                {"name": "init", "state": {"waiting": {"reason": "ContainerCreating"}}},
                {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                {"state": {"waiting": {"reason": "CrashLoopBackOff"}}},
            ],
        })),
        Status::Failed,
        "Containers in CrashLoop state: nginx,app",
    );
}

#[test]
fn pod_pending_is_in_progress() {
    check(
        pod(json!({"phase": "Pending"})),
        Status::InProgress,
        "Pod is in the Pending phase",
    );
}

fn unschedulable_pod(created: Option<&str>) -> Value {
    let mut obj = pod(json!({
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
    }));
    if let Some(created) = created {
        obj["metadata"]["creationTimestamp"] = json!(created);
    }
    obj
}

#[test]
fn pod_unschedulable_gets_a_grace_window() {
    // 2019-06-04T01:17:13Z
    let created = UNIX_EPOCH + Duration::from_secs(1_559_611_033);
    let obj = unschedulable_pod(Some("2019-06-04T01:17:13Z"));

    let soon = compute_at(&obj, created + Duration::from_secs(5));
    assert_eq!(soon.status, Status::InProgress);
    assert_eq!(soon.message, "Pod has not been scheduled");

    let later = compute_at(&obj, created + Duration::from_secs(15));
    assert_eq!(later.status, Status::Failed);
    assert_eq!(later.message, "Pod could not be scheduled");
}

#[test]
fn pod_unschedulable_without_timestamp_is_failed() {
    check(
        unschedulable_pod(None),
        Status::Failed,
        "Pod could not be scheduled",
    );
    check(
        unschedulable_pod(Some("yesterday")),
        Status::Failed,
        "Pod could not be scheduled",
    );
}

#[test]
fn pod_unschedulable_just_created_is_in_progress() {
    let obj = unschedulable_pod(Some("2019-06-04T01:17:13Z"));
    let created = UNIX_EPOCH + Duration::from_secs(1_559_611_033);
    assert_eq!(compute_at(&obj, created).status, Status::InProgress);
    // The real clock is long past 2019.
    assert!(SystemTime::now() > created);
    assert_eq!(compute(&obj).status, Status::Failed);
}

#[test]
fn pod_unknown_phase_is_unknown() {
    check(
        pod(json!({"phase": "Exploded"})),
        Status::Unknown,
        "unknown phase Exploded",
    );
}

// ---------------------------------------------------------------- PersistentVolumeClaim

#[test]
fn pvc_not_bound_is_in_progress() {
    check(
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"generation": 1, "name": "test"}}),
        Status::InProgress,
        "PVC is not Bound. phase: unknown",
    );
    check(
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": "test"}, "status": {"phase": "Pending"}}),
        Status::InProgress,
        "PVC is not Bound. phase: Pending",
    );
}

#[test]
fn pvc_bound_is_current() {
    check(
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"generation": 1, "name": "test", "namespace": "qual"},
               "status": {"phase": "Bound"}}),
        Status::Current,
        "PVC is Bound",
    );
}

// ---------------------------------------------------------------- StatefulSet

fn sts(spec: Value, status: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"generation": 1, "name": "test", "namespace": "qual"},
        "spec": spec, "status": status,
    })
}

#[test]
fn sts_without_status_lacks_replicas() {
    check(
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": {"generation": 1, "name": "test"}}),
        Status::InProgress,
        "Replicas: 0/1",
    );
    // stsBadStatus
    check(
        sts(
            json!({}),
            json!({"observedGeneration": 1, "currentReplicas": 1}),
        ),
        Status::InProgress,
        "Replicas: 0/1",
    );
}

#[test]
fn sts_all_replicas_current() {
    check(
        sts(
            json!({"replicas": 4}),
            json!({"observedGeneration": 1, "currentReplicas": 4, "readyReplicas": 4, "replicas": 4}),
        ),
        Status::Current,
        "All replicas scheduled as expected. Replicas: 4",
    );
}

#[test]
fn sts_less_ready_less_current_extra_pods() {
    check(
        sts(
            json!({"replicas": 4}),
            json!({"observedGeneration": 1, "currentReplicas": 4, "readyReplicas": 2, "replicas": 4}),
        ),
        Status::InProgress,
        "Ready: 2/4",
    );
    check(
        sts(
            json!({"replicas": 4}),
            json!({"observedGeneration": 1, "currentReplicas": 2, "readyReplicas": 4, "replicas": 4}),
        ),
        Status::InProgress,
        "current: 2/4",
    );
    check(
        sts(
            json!({"replicas": 4}),
            json!({"observedGeneration": 1, "currentReplicas": 4, "readyReplicas": 4, "replicas": 8}),
        ),
        Status::InProgress,
        "Pending termination: 4",
    );
}

#[test]
fn sts_on_delete_is_always_current() {
    check(
        sts(
            json!({"replicas": 4, "updateStrategy": {"type": "OnDelete"}}),
            json!({"observedGeneration": 1}),
        ),
        Status::Current,
        "StatefulSet is using the ondelete update strategy",
    );
}

#[test]
fn sts_partitioned_rollout() {
    let spec = json!({"replicas": 4,
                      "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}});
    check(
        sts(
            spec.clone(),
            json!({"observedGeneration": 1, "replicas": 4, "readyReplicas": 4,
                   "currentReplicas": 3, "updatedReplicas": 1,
                   "currentRevision": "a", "updateRevision": "b"}),
        ),
        Status::InProgress,
        "updated: 1/2",
    );
    // Revisions legitimately differ while a partition holds old pods back.
    check(
        sts(
            spec,
            json!({"observedGeneration": 1, "replicas": 4, "readyReplicas": 4,
                   "currentReplicas": 2, "updatedReplicas": 2,
                   "currentRevision": "a", "updateRevision": "b"}),
        ),
        Status::Current,
        "Partition rollout complete. updated: 2",
    );
}

#[test]
fn sts_revision_mismatch_is_in_progress() {
    check(
        sts(
            json!({"replicas": 2}),
            json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 2,
                   "currentReplicas": 2, "currentRevision": "web-1", "updateRevision": "web-2"}),
        ),
        Status::InProgress,
        "Waiting for updated revision to match current",
    );
}

// ---------------------------------------------------------------- DaemonSet

fn ds(generation: Value, status: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "test", "namespace": "qual", "generation": generation},
        "status": status,
    })
}

fn ds_status(desired: i64, current: i64, updated: i64, available: i64, ready: i64) -> Value {
    json!({
        "observedGeneration": 1,
        "desiredNumberScheduled": desired, "currentNumberScheduled": current,
        "updatedNumberScheduled": updated, "numberAvailable": available, "numberReady": ready,
    })
}

#[test]
fn ds_requires_generation_fields() {
    check(
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
               "metadata": {"name": "test", "generation": 1}}),
        Status::InProgress,
        "DaemonSet status.observedGeneration not found",
    );
    check(
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "test"},
               "status": ds_status(1, 1, 1, 1, 1)}),
        Status::InProgress,
        "DaemonSet metadata.generation not found",
    );
}

#[test]
fn ds_missing_desired_number() {
    check(
        ds(
            json!(1),
            json!({"observedGeneration": 1, "currentReplicas": 1}),
        ),
        Status::InProgress,
        "Missing .status.desiredNumberScheduled",
    );
}

#[test]
fn ds_all_scheduled_is_current() {
    check(
        ds(json!(1), ds_status(4, 4, 4, 4, 4)),
        Status::Current,
        "All replicas scheduled as expected. Replicas: 4",
    );
}

#[test]
fn ds_different_generation() {
    check(
        ds(json!(2), ds_status(4, 4, 4, 4, 4)),
        Status::InProgress,
        "DaemonSet generation is 2, but latest observed generation is 1",
    );
}

#[test]
fn ds_counters_in_order() {
    let cases = [
        (ds_status(4, 3, 2, 1, 0), "Current: 3/4"),
        (ds_status(4, 4, 3, 2, 1), "Updated: 3/4"),
        (ds_status(4, 4, 4, 2, 4), "Available: 2/4"),
        (ds_status(4, 4, 4, 4, 2), "Ready: 2/4"),
    ];
    for (status, message) in cases {
        check(ds(json!(1), status), Status::InProgress, message);
    }
}

// ---------------------------------------------------------------- Deployment

fn dep(spec: Value, status: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "test", "generation": 1, "namespace": "qual"},
        "spec": spec, "status": status,
    })
}

fn dep_status(replicas: i64, updated: i64, ready: i64, available: i64, conditions: Value) -> Value {
    json!({
        "observedGeneration": 1, "replicas": replicas, "updatedReplicas": updated,
        "readyReplicas": ready, "availableReplicas": available, "conditions": conditions,
    })
}

fn healthy_conditions() -> Value {
    json!([
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        {"type": "Available", "status": "True"},
    ])
}

#[test]
fn dep_without_status_lacks_replicas() {
    check(
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "test", "generation": 1}}),
        Status::InProgress,
        "Replicas: 0/1",
    );
}

#[test]
fn dep_ok_is_current() {
    check(
        dep(json!({}), dep_status(1, 1, 1, 1, healthy_conditions())),
        Status::Current,
        "Deployment is available. Replicas: 1",
    );
    // The old "extensions" group uses the same rule.
    let mut old = dep(
        json!({"replicas": 2}),
        dep_status(2, 2, 2, 2, healthy_conditions()),
    );
    old["apiVersion"] = json!("extensions/v1beta1");
    check(old, Status::Current, "Deployment is available. Replicas: 2");
}

#[test]
fn dep_not_progressing_with_deadline() {
    check(
        dep(
            json!({"progressDeadlineSeconds": 45}),
            dep_status(
                1,
                1,
                1,
                1,
                json!([
                    {"type": "Progressing", "status": "False", "reason": "Some reason"},
                    {"type": "Available", "status": "True"},
                ]),
            ),
        ),
        Status::InProgress,
        "ReplicaSet not Available",
    );
}

#[test]
fn dep_without_progress_deadline_needs_no_progressing_condition() {
    check(
        dep(
            json!({}),
            dep_status(1, 1, 1, 1, json!([{"type": "Available", "status": "True"}])),
        ),
        Status::Current,
        "Deployment is available. Replicas: 1",
    );
}

#[test]
fn dep_not_available() {
    check(
        dep(
            json!({}),
            dep_status(
                1,
                1,
                1,
                1,
                json!([
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                    {"type": "Available", "status": "False"},
                ]),
            ),
        ),
        Status::InProgress,
        "Deployment not Available",
    );
}

#[test]
fn dep_progress_deadline_exceeded_is_failed() {
    check(
        dep(
            json!({"replicas": 2, "progressDeadlineSeconds": 600}),
            dep_status(
                2,
                1,
                1,
                1,
                json!([
                    {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                     "message": "ReplicaSet \"web-5d\" has timed out progressing."},
                ]),
            ),
        ),
        Status::Failed,
        "Progress deadline exceeded",
    );
}

#[test]
fn dep_counters_in_order() {
    let cases = [
        (
            dep_status(1, 1, 1, 1, healthy_conditions()),
            "Replicas: 1/2",
        ),
        (dep_status(2, 1, 2, 2, healthy_conditions()), "Updated: 1/2"),
        (
            dep_status(3, 2, 2, 2, healthy_conditions()),
            "Pending termination: 1",
        ),
        (
            dep_status(2, 2, 2, 1, healthy_conditions()),
            "Available: 1/2",
        ),
        (dep_status(2, 2, 1, 2, healthy_conditions()), "Ready: 1/2"),
    ];
    for (status, message) in cases {
        check(
            dep(json!({"replicas": 2}), status),
            Status::InProgress,
            message,
        );
    }
}

// ---------------------------------------------------------------- ReplicaSet

fn rs(spec_replicas: i64, status: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "test", "namespace": "qual", "generation": 1},
        "spec": {"replicas": spec_replicas}, "status": status,
    })
}

#[test]
fn rs_without_status_lacks_labelled() {
    check(
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
               "metadata": {"name": "test", "generation": 1}}),
        Status::InProgress,
        "Labelled: 0/1",
    );
}

#[test]
fn rs_ok_is_current() {
    let ok = json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 2,
                    "availableReplicas": 2, "fullyLabeledReplicas": 2});
    check(
        rs(2, ok.clone()),
        Status::Current,
        "ReplicaSet is available. Replicas: 2",
    );
    let mut with_false_failure = ok;
    with_false_failure["conditions"] = json!([{"type": "ReplicaFailure", "status": "False"}]);
    check(
        rs(2, with_false_failure),
        Status::Current,
        "ReplicaSet is available. Replicas: 2",
    );
}

#[test]
fn rs_counters_in_order() {
    let status = |replicas: i64, labelled: i64, available: i64, ready: i64| {
        json!({"observedGeneration": 1, "replicas": replicas, "fullyLabeledReplicas": labelled,
               "availableReplicas": available, "readyReplicas": ready})
    };
    check(
        rs(4, status(4, 4, 2, 4)),
        Status::InProgress,
        "Available: 2/4",
    );
    check(rs(4, status(4, 4, 4, 2)), Status::InProgress, "Ready: 2/4");
    check(
        rs(4, status(4, 3, 4, 4)),
        Status::InProgress,
        "Labelled: 3/4",
    );
    check(
        rs(4, status(5, 4, 4, 4)),
        Status::InProgress,
        "Pending termination: 1",
    );
}

#[test]
fn rs_replica_failure_is_in_progress() {
    check(
        rs(
            4,
            json!({"observedGeneration": 1, "replicas": 4, "readyReplicas": 4,
                     "fullyLabeledReplicas": 4, "availableReplicas": 4,
                     "conditions": [{"type": "ReplicaFailure", "status": "True"}]}),
        ),
        Status::InProgress,
        "Replica Failure condition. Check Pods",
    );
}

// ---------------------------------------------------------------- PodDisruptionBudget

#[test]
fn pdb_follows_observed_generation() {
    let pdb = |generation: i64| {
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
               "metadata": {"generation": generation, "name": "test", "namespace": "qual"},
               "status": {"observedGeneration": 1, "currentHealthy": 1, "desiredHealthy": 2}})
    };
    check(
        pdb(2),
        Status::InProgress,
        "PodDisruptionBudget generation is 2, but latest observed generation is 1",
    );
    check(
        pdb(1),
        Status::Current,
        "AllowedDisruptions has been computed.",
    );
}

// ---------------------------------------------------------------- Job and CronJob

fn job(spec: Value, status: Value) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "test", "namespace": "qual", "generation": 1},
        "spec": spec, "status": status,
    })
}

#[test]
fn job_not_started() {
    check(
        json!({"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "test", "namespace": "qual", "generation": 1}}),
        Status::InProgress,
        "Job not started",
    );
}

#[test]
fn job_complete_is_current() {
    check(
        job(
            json!({}),
            json!({"succeeded": 1, "active": 0,
                              "conditions": [{"type": "Complete", "status": "True"}]}),
        ),
        Status::Current,
        "Job Completed. succeeded: 1/1",
    );
}

#[test]
fn job_failed_is_failed() {
    check(
        job(
            json!({"completions": 4}),
            json!({"succeeded": 3, "failed": 1,
                   "conditions": [{"type": "Failed", "status": "True", "reason": "JobFailed"}]}),
        ),
        Status::Failed,
        "Job Failed. failed: 1/4",
    );
}

#[test]
fn job_running_is_current() {
    check(
        job(
            json!({"completions": 10, "parallelism": 2}),
            json!({"startTime": "2019-06-04T01:17:13Z", "succeeded": 3, "failed": 1, "active": 2,
                   "conditions": [{"type": "Failed", "status": "False"},
                                  {"type": "Complete", "status": "False"}]}),
        ),
        Status::Current,
        "Job in progress. success:3, active: 2, failed: 1",
    );
}

#[test]
fn job_completions_default_to_parallelism() {
    check(
        job(
            json!({"parallelism": 3}),
            json!({"succeeded": 3, "conditions": [{"type": "Complete", "status": "True"}]}),
        ),
        Status::Current,
        "Job Completed. succeeded: 3/3",
    );
}

#[test]
fn job_suspended_is_current() {
    let suspended = |status: &str| {
        job(
            json!({}),
            json!({"conditions": [
            {"type": "Suspended", "status": status, "reason": "JobSuspended"}]}),
        )
    };
    check(suspended("True"), Status::Current, "Job is suspended");
    check(suspended("False"), Status::InProgress, "Job not started");
}

#[test]
fn always_ready_kinds() {
    for obj in [
        json!({"apiVersion": "batch/v1", "kind": "CronJob",
               "metadata": {"name": "test", "namespace": "qual", "generation": 1}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob",
               "metadata": {"name": "test", "namespace": "qual", "generation": 1},
               "status": null}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}),
    ] {
        check(obj, Status::Current, "Resource is always ready");
    }
}

// ---------------------------------------------------------------- Service

fn service(spec: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "test", "namespace": "qual", "generation": 1},
        "spec": spec,
    })
}

#[test]
fn service_types() {
    check(service(json!({})), Status::Current, "Service is ready");
    check(
        service(json!({"type": "NodePort"})),
        Status::Current,
        "Service is ready",
    );
    check(
        service(json!({"type": "LoadBalancer", "clusterIP": "1.2.3.4"})),
        Status::Current,
        "Service is ready",
    );
    check(
        service(json!({"type": "LoadBalancer"})),
        Status::InProgress,
        "ClusterIP not set. Service type: LoadBalancer",
    );
}

// ---------------------------------------------------------------- CustomResourceDefinition

fn crd(conditions: Option<Value>) -> Value {
    let mut obj = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"generation": 1},
    });
    if let Some(conditions) = conditions {
        obj["status"] = json!({"conditions": conditions});
    }
    obj
}

#[test]
fn crd_installing() {
    check(crd(None), Status::InProgress, "Install in progress");
    check(
        crd(Some(json!([
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
            {"type": "Established", "status": "False", "reason": "Installing"},
        ]))),
        Status::InProgress,
        "Install in progress",
    );
}

#[test]
fn crd_names_not_accepted_is_failed() {
    check(
        crd(Some(
            json!([{"type": "NamesAccepted", "status": "False", "reason": "SomeReason"}]),
        )),
        Status::Failed,
        "",
    );
    check(
        crd(Some(
            json!([{"type": "NamesAccepted", "status": "False", "reason": "NameConflict",
                         "message": "\"widgets\" is already in use"}]),
        )),
        Status::Failed,
        "\"widgets\" is already in use",
    );
}

#[test]
fn crd_not_established_for_another_reason_is_failed() {
    check(
        crd(Some(
            json!([{"type": "Established", "status": "False", "reason": "NotAccepted",
                         "message": "not all names are accepted"}]),
        )),
        Status::Failed,
        "not all names are accepted",
    );
}

#[test]
fn crd_established_is_current() {
    check(
        crd(Some(json!([
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
        ]))),
        Status::Current,
        "CRD is established",
    );
}
