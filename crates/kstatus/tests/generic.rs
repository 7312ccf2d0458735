//! Rules for every kind, Flux's kinds, and malformed input.

use serde_json::{Value, json};
use weir_kstatus::{Result, Status, compute};

#[track_caller]
fn check(obj: Value, status: Status, message: &str) {
    let result = compute(&obj);
    assert_eq!(
        (result.status, result.message.as_str()),
        (status, message),
        "object: {obj}"
    );
}

fn custom(metadata: Value, status: Option<Value>) -> Value {
    let mut obj = json!({"apiVersion": "something/v1", "kind": "MyCR", "metadata": metadata});
    if let Some(status) = status {
        obj["status"] = status;
    }
    obj
}

// ---------------------------------------------------------------- Status and Result

#[test]
fn status_displays_like_kstatus() {
    let names: Vec<String> = [
        Status::InProgress,
        Status::Failed,
        Status::Current,
        Status::Terminating,
        Status::NotFound,
        Status::Unknown,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        names,
        [
            "InProgress",
            "Failed",
            "Current",
            "Terminating",
            "NotFound",
            "Unknown"
        ]
    );
    assert_eq!(Status::InProgress.as_str(), "InProgress");
}

#[test]
fn result_compares_by_value() {
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    assert_eq!(
        compute(&obj),
        Result {
            status: Status::Current,
            message: "Resource is always ready".to_owned()
        }
    );
}

// ---------------------------------------------------------------- generic rules

#[test]
fn deletion_timestamp_is_terminating() {
    // Deletion wins over everything, even a failing kind-specific rule.
    check(
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "generation": 2,
                            "deletionTimestamp": "2024-01-01T00:00:00Z"},
               "status": {"observedGeneration": 1}}),
        Status::Terminating,
        "Resource scheduled for deletion",
    );
    // An empty timestamp is not a deletion.
    check(
        custom(json!({"name": "x", "deletionTimestamp": ""}), None),
        Status::Current,
        "Resource is current",
    );
}

#[test]
fn generation_mismatch_is_in_progress() {
    check(
        custom(
            json!({"name": "test", "namespace": "qual", "generation": 2}),
            Some(json!({"observedGeneration": 1})),
        ),
        Status::InProgress,
        "MyCR generation is 2, but latest observed generation is 1",
    );
    // Stale conditions do not count while the generation is unobserved.
    check(
        custom(
            json!({"generation": 3}),
            Some(json!({"observedGeneration": 2,
                        "conditions": [{"type": "Ready", "status": "True"}]})),
        ),
        Status::InProgress,
        "MyCR generation is 3, but latest observed generation is 2",
    );
}

#[test]
fn missing_generation_fields_skip_the_check() {
    check(
        custom(json!({"name": "x"}), Some(json!({"observedGeneration": 7}))),
        Status::Current,
        "Resource is current",
    );
    // Without a generation, a malformed observedGeneration is never read.
    check(
        custom(
            json!({"name": "x"}),
            Some(json!({"observedGeneration": "seven"})),
        ),
        Status::Current,
        "Resource is current",
    );
    check(
        custom(json!({"name": "x", "generation": 4}), Some(json!({}))),
        Status::Current,
        "Resource is current",
    );
}

#[test]
fn reconciling_true_is_in_progress() {
    check(
        custom(
            json!({"generation": 1}),
            Some(json!({"observedGeneration": 1, "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "Reconciling", "status": "True", "reason": "Progressing",
                 "message": "Applying revision 42"},
            ]})),
        ),
        Status::InProgress,
        "Applying revision 42",
    );
}

#[test]
fn stalled_true_is_failed() {
    check(
        custom(
            json!({"generation": 1}),
            Some(json!({"conditions": [
                {"type": "Stalled", "status": "True", "reason": "InvalidSpec",
                 "message": "spec.url is not a URL"},
            ]})),
        ),
        Status::Failed,
        "spec.url is not a URL",
    );
}

#[test]
fn standard_conditions_override_kind_rules() {
    // A Deployment far from its replica count still reports the standard condition.
    check(
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"replicas": 3},
               "status": {"conditions": [{"type": "Stalled", "status": "True", "message": "stuck"}]}}),
        Status::Failed,
        "stuck",
    );
}

#[test]
fn false_standard_conditions_are_ignored() {
    check(
        custom(
            json!({"generation": 1}),
            Some(json!({"conditions": [
                {"type": "Reconciling", "status": "False"},
                {"type": "Stalled", "status": "False"},
            ]})),
        ),
        Status::Current,
        "Resource is current",
    );
}

#[test]
fn unknown_kind_without_status_is_current() {
    check(
        custom(
            json!({"generation": 1, "name": "test", "namespace": "qual"}),
            None,
        ),
        Status::Current,
        "Resource is current",
    );
    check(
        custom(
            json!({"generation": 1}),
            Some(json!({"conditions": [{"type": "SomeCondition", "status": "False"}]})),
        ),
        Status::Current,
        "Resource is current",
    );
}

#[test]
fn ready_condition_decides_unknown_kinds() {
    check(
        custom(
            json!({"generation": 1}),
            Some(json!({"conditions": [{"type": "Ready", "status": "True",
                                        "message": "All looks ok", "reason": "AllOk"}]})),
        ),
        Status::Current,
        "Resource is Ready",
    );
    // crdNotReady: kstatus reports the condition's (here empty) message.
    check(
        custom(
            json!({"generation": 1}),
            Some(json!({"observedGeneration": 1,
                        "conditions": [{"type": "Ready", "status": "False", "reason": "NotReadyYet"}]})),
        ),
        Status::InProgress,
        "",
    );
    check(
        custom(
            json!({"generation": 1}),
            Some(json!({"conditions": [{"type": "Ready", "status": "Unknown",
                                        "message": "waiting for the database"}]})),
        ),
        Status::InProgress,
        "waiting for the database",
    );
    // A nonsense Ready status says nothing.
    check(
        custom(
            json!({"generation": 1}),
            Some(json!({"conditions": [{"type": "Ready", "status": "Maybe"}]})),
        ),
        Status::Current,
        "Resource is current",
    );
}

#[test]
fn kind_rules_take_precedence_over_ready() {
    // A Pod's Ready=False does not make it InProgress once it has succeeded.
    check(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "status": {"phase": "Succeeded",
                          "conditions": [{"type": "Ready", "status": "False"}]}}),
        Status::Current,
        "Pod has completed successfully",
    );
}

#[test]
fn kind_rules_need_the_right_group() {
    // A "Deployment" in another group is an unknown kind.
    check(
        json!({"apiVersion": "example.com/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"replicas": 3}}),
        Status::Current,
        "Resource is current",
    );
    // An unparseable apiVersion disables kind rules, as in kstatus.
    check(
        json!({"apiVersion": "apps/v1/extra", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"replicas": 3}}),
        Status::Current,
        "Resource is current",
    );
}

// ---------------------------------------------------------------- Flux kinds

fn kustomization(generation: Option<i64>, status: Value) -> Value {
    let mut obj = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system"},
        "status": status,
    });
    if let Some(generation) = generation {
        obj["metadata"]["generation"] = json!(generation);
    }
    obj
}

#[test]
fn flux_ready_true_with_observed_generation_is_current() {
    check(
        kustomization(
            Some(2),
            json!({"observedGeneration": 2, "conditions": [
                {"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                 "message": "Applied revision: main@sha1:abc"}]}),
        ),
        Status::Current,
        "Resource is Ready",
    );
}

#[test]
fn flux_ready_true_without_observed_generation_is_in_progress() {
    check(
        kustomization(
            Some(2),
            json!({"conditions": [{"type": "Ready", "status": "True"}]}),
        ),
        Status::InProgress,
        "Kustomization status.observedGeneration not found",
    );
    // A manifest that was never applied has no generation to compare.
    check(
        kustomization(
            None,
            json!({"conditions": [{"type": "Ready", "status": "True"}]}),
        ),
        Status::Current,
        "Resource is Ready",
    );
}

#[test]
fn flux_ready_false_is_failed() {
    check(
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
               "metadata": {"name": "repo", "generation": 1},
               "status": {"observedGeneration": 1, "conditions": [
                   {"type": "Ready", "status": "False", "reason": "GitOperationFailed",
                    "message": "failed to checkout and determine revision"}]}}),
        Status::Failed,
        "failed to checkout and determine revision",
    );
    check(
        kustomization(
            Some(1),
            json!({"observedGeneration": 1, "conditions": [
                {"type": "Ready", "status": "False", "reason": "BuildFailed"}]}),
        ),
        Status::Failed,
        "Ready is False: BuildFailed",
    );
}

#[test]
fn flux_missing_ready_is_in_progress() {
    check(
        json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
               "metadata": {"name": "podinfo", "generation": 1}}),
        Status::InProgress,
        "HelmRelease has no Ready condition yet",
    );
}

#[test]
fn flux_ready_unknown_is_in_progress() {
    check(
        kustomization(
            Some(1),
            json!({"observedGeneration": 1, "conditions": [
                {"type": "Ready", "status": "Unknown", "reason": "Progressing",
                 "message": "Reconciliation in progress"}]}),
        ),
        Status::InProgress,
        "Reconciliation in progress",
    );
    check(
        kustomization(
            Some(1),
            json!({"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "Unknown"}]}),
        ),
        Status::InProgress,
        "Ready is Unknown",
    );
}

#[test]
fn flux_generic_rules_come_first() {
    // Reconciling=True while a retry runs outranks the previous Ready=False.
    check(
        kustomization(
            Some(1),
            json!({"observedGeneration": 1, "conditions": [
                {"type": "Ready", "status": "False", "reason": "ArtifactFailed", "message": "boom"},
                {"type": "Reconciling", "status": "True", "reason": "ProgressingWithRetry",
                 "message": "retrying"}]}),
        ),
        Status::InProgress,
        "retrying",
    );
    check(
        kustomization(
            Some(1),
            json!({"observedGeneration": 1, "conditions": [
                {"type": "Ready", "status": "False", "message": "invalid path"},
                {"type": "Stalled", "status": "True", "message": "invalid path"}]}),
        ),
        Status::Failed,
        "invalid path",
    );
    check(
        kustomization(
            Some(3),
            json!({"observedGeneration": 2, "conditions": [{"type": "Ready", "status": "True"}]}),
        ),
        Status::InProgress,
        "Kustomization generation is 3, but latest observed generation is 2",
    );
}

#[test]
fn flux_detection_uses_the_group_suffix() {
    // "toolkit.fluxcd.io" itself is not a Flux API group; an unknown kind with
    // no conditions is simply current.
    check(
        json!({"apiVersion": "toolkit.fluxcd.io/v1", "kind": "Thing", "metadata": {"generation": 1}}),
        Status::Current,
        "Resource is current",
    );
    check(
        json!({"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
               "metadata": {"generation": 1}}),
        Status::InProgress,
        "Alert has no Ready condition yet",
    );
}

// ---------------------------------------------------------------- malformed input

#[test]
fn non_objects_are_unknown() {
    for (value, found) in [
        (json!(null), "null"),
        (json!([1, 2]), "an array"),
        (json!("Deployment"), "a string"),
        (json!(42), "a number"),
        (json!(true), "a boolean"),
    ] {
        check(
            value,
            Status::Unknown,
            &format!("the object is not a JSON object but {found}"),
        );
    }
}

#[test]
fn empty_object_is_current() {
    check(json!({}), Status::Current, "Resource is current");
}

#[test]
fn wrongly_typed_generic_fields_are_unknown() {
    let cases = [
        (
            json!({"metadata": {"deletionTimestamp": 12}}),
            "looking up metadata.deletionTimestamp from resource: expected a string, found a number",
        ),
        (
            json!({"metadata": {"generation": "1"}}),
            "looking up metadata.generation from resource: expected an integer, found a string",
        ),
        (
            json!({"metadata": {"generation": 1.5}}),
            "looking up metadata.generation from resource: expected an integer, found a number",
        ),
        (
            json!({"metadata": "oops"}),
            "looking up metadata from resource: expected an object, found a string",
        ),
        (
            json!({"metadata": {"generation": 1}, "status": {"observedGeneration": [1]}}),
            "looking up status.observedGeneration from resource: expected an integer, found an array",
        ),
        (
            json!({"status": "Ready"}),
            "looking up status from resource: expected an object, found a string",
        ),
        (
            json!({"status": {"conditions": {"Ready": true}}}),
            "looking up status.conditions from resource: expected an array, found an object",
        ),
        (
            json!({"status": {"conditions": [{"type": "Ready", "status": true}]}}),
            "looking up status.conditions[0].status from resource: expected a string, found a boolean",
        ),
        (
            json!({"status": {"conditions": [{"type": "Ready", "status": "True"}, "Stalled"]}}),
            "looking up status.conditions[1] from resource: expected an object, found a string",
        ),
    ];
    for (obj, message) in cases {
        check(obj, Status::Unknown, message);
    }
}

#[test]
fn malformed_kind_specific_fields() {
    // Counters of the wrong type fall back to their defaults, as kstatus's
    // GetIntField does, rather than failing.
    check(
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"replicas": "2"}, "status": {"replicas": true}}),
        Status::InProgress,
        "Replicas: 0/1",
    );
    // Absurd counters do not overflow.
    check(
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
               "spec": {"replicas": i64::MIN},
               "status": {"replicas": i64::MAX, "readyReplicas": 0}}),
        Status::InProgress,
        "Pending termination: 18446744073709551615",
    );
    // A wrongly shaped container status list is reported, not skipped.
    check(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "status": {"phase": "Running", "containerStatuses": {"nginx": {}}}}),
        Status::Unknown,
        "looking up status.containerStatuses from resource: expected an array, found an object",
    );
    check(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "status": {"phase": "Running",
                          "containerStatuses": [{"name": "nginx", "state": {"waiting": "yes"}}]}}),
        Status::Unknown,
        "looking up status.containerStatuses[0].state.waiting from resource: expected an object, found a string",
    );
    check(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "status": {"phase": "Running",
                          "containerStatuses": [{"name": 3, "state": {}}]}}),
        Status::Unknown,
        "looking up status.containerStatuses[0].name from resource: expected a string, found a number",
    );
    check(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "status": {"phase": "Running", "containerStatuses": [
                   {"name": "nginx", "state": {"waiting": {"reason": ["CrashLoopBackOff"]}}}]}}),
        Status::Unknown,
        "looking up status.containerStatuses[0].state.waiting.reason from resource: expected a string, found an array",
    );
    // A DaemonSet with a string generation cannot be evaluated.
    check(
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
               "metadata": {"name": "d", "generation": "1"}}),
        Status::Unknown,
        "looking up metadata.generation from resource: expected an integer, found a string",
    );
}

#[test]
fn odd_but_valid_shapes_do_not_panic() {
    // A grab bag of shapes: each must produce some answer without panicking.
    let shapes = [
        json!({"kind": 5, "apiVersion": ["v1"]}),
        json!({"apiVersion": "v1", "kind": "Pod", "status": null}),
        json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": 1}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"creationTimestamp": 0},
               "status": {"phase": "Pending", "conditions": [
                   {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "spec": {"completions": null}}),
        json!({"apiVersion": "v1", "kind": "Service", "spec": []}),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
               "spec": {"updateStrategy": {"rollingUpdate": {"partition": i64::MIN}}}}),
    ];
    for shape in shapes {
        let _ = compute(&shape);
    }
}
