//! Status conditions with Flux's semantics.
//!
//! - `Ready` is always present once an object has been reconciled;
//!   `Reconciling` and `Stalled` are "abnormal-true" conditions, present only
//!   while True and deleted otherwise (kstatus reads them that way).
//! - A condition's `lastTransitionTime` moves only when its status, reason or
//!   message changes, so re-applying the same state is a no-op for watchers.
//! - Conditions are kept sorted for humans: `Ready` first, the rest by type.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

pub use weir_api::meta::{
    READY_CONDITION as READY, RECONCILING_CONDITION as RECONCILING, STALLED_CONDITION as STALLED,
};

const TRUE: &str = "True";
const FALSE: &str = "False";
const UNKNOWN: &str = "Unknown";

/// Returns the condition of the given type, if present.
pub fn get<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// True when the condition is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    get(conditions, type_).is_some_and(|c| c.status == TRUE)
}

/// True when the condition is present with status `False`.
pub fn is_false(conditions: &[Condition], type_: &str) -> bool {
    get(conditions, type_).is_some_and(|c| c.status == FALSE)
}

/// True when `Ready=True` and it was computed for the object's current generation.
pub fn is_ready_for(conditions: &[Condition], generation: Option<i64>) -> bool {
    get(conditions, READY).is_some_and(|c| {
        c.status == TRUE && (generation.is_none() || c.observed_generation == generation)
    })
}

/// Sets a condition, keeping `lastTransitionTime` when nothing but the
/// generation changed, then re-sorts the list.
pub fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: Status,
    reason: &str,
    message: &str,
    observed_generation: Option<i64>,
) {
    let status = status.as_str();
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => {
            let changed = existing.status != status
                || existing.reason != reason
                || existing.message != message;
            if changed {
                existing.last_transition_time = now();
            }
            existing.status = status.to_owned();
            existing.reason = reason.to_owned();
            existing.message = message.to_owned();
            existing.observed_generation = observed_generation;
        }
        None => conditions.push(Condition {
            type_: type_.to_owned(),
            status: status.to_owned(),
            reason: reason.to_owned(),
            message: message.to_owned(),
            observed_generation,
            last_transition_time: now(),
        }),
    }
    sort(conditions);
}

/// Sets `type_=True`.
pub fn mark_true(
    conditions: &mut Vec<Condition>,
    type_: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    set(conditions, type_, Status::True, reason, message, generation);
}

/// Sets `type_=False`.
pub fn mark_false(
    conditions: &mut Vec<Condition>,
    type_: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    set(
        conditions,
        type_,
        Status::False,
        reason,
        message,
        generation,
    );
}

/// Sets `type_=Unknown`.
pub fn mark_unknown(
    conditions: &mut Vec<Condition>,
    type_: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    set(
        conditions,
        type_,
        Status::Unknown,
        reason,
        message,
        generation,
    );
}

/// Marks the object as being reconciled (`Reconciling=True`) and clears `Stalled`:
/// an object cannot make progress and be stalled at once.
pub fn mark_reconciling(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    delete(conditions, STALLED);
    mark_true(conditions, RECONCILING, reason, message, generation);
}

/// Marks the object as stalled (`Stalled=True`): it will not progress without
/// a change to its spec. Clears `Reconciling`.
pub fn mark_stalled(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    delete(conditions, RECONCILING);
    mark_true(conditions, STALLED, reason, message, generation);
}

/// Removes the condition of the given type.
pub fn delete(conditions: &mut Vec<Condition>, type_: &str) {
    conditions.retain(|c| c.type_ != type_);
}

/// Enforces Flux's invariant that `Reconciling` and `Stalled` exist only while
/// True; call before writing status.
pub fn prune_abnormal_false(conditions: &mut Vec<Condition>) {
    conditions.retain(|c| !((c.type_ == RECONCILING || c.type_ == STALLED) && c.status != TRUE));
}

fn sort(conditions: &mut [Condition]) {
    conditions.sort_by(|a, b| {
        (a.type_ != READY, a.type_.as_str()).cmp(&(b.type_ != READY, b.type_.as_str()))
    });
}

fn now() -> Time {
    // Kubernetes serialises condition times with second precision.
    let now = jiff::Timestamp::now();
    Time(jiff::Timestamp::from_second(now.as_second()).unwrap_or(now))
}

/// A condition status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    True,
    False,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::True => TRUE,
            Status::False => FALSE,
            Status::Unknown => UNKNOWN,
        }
    }
}

impl From<bool> for Status {
    fn from(value: bool) -> Self {
        if value { Status::True } else { Status::False }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_sorts_first_then_by_type() {
        let mut c = Vec::new();
        mark_true(&mut c, "ArtifactInStorage", "Succeeded", "stored", Some(1));
        mark_reconciling(&mut c, "Progressing", "working", Some(1));
        mark_false(&mut c, READY, "Progressing", "working", Some(1));
        let types: Vec<_> = c.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["Ready", "ArtifactInStorage", "Reconciling"]);
    }

    #[test]
    fn transition_time_kept_when_state_unchanged() {
        let mut c = Vec::new();
        mark_true(&mut c, READY, "Succeeded", "ok", Some(1));
        let old = Time(jiff::Timestamp::from_second(1_000).expect("valid timestamp"));
        c[0].last_transition_time = old.clone();
        mark_true(&mut c, READY, "Succeeded", "ok", Some(2));
        assert_eq!(
            c[0].last_transition_time, old,
            "same state must keep the time"
        );
        assert_eq!(c[0].observed_generation, Some(2));
        mark_true(&mut c, READY, "Succeeded", "new message", Some(2));
        assert_ne!(
            c[0].last_transition_time, old,
            "a new message is a transition"
        );
    }

    #[test]
    fn reconciling_and_stalled_exclude_each_other() {
        let mut c = Vec::new();
        mark_reconciling(&mut c, "Progressing", "", None);
        mark_stalled(&mut c, "InvalidURL", "bad url", None);
        assert!(get(&c, RECONCILING).is_none());
        assert!(is_true(&c, STALLED));
        mark_reconciling(&mut c, "Progressing", "", None);
        assert!(get(&c, STALLED).is_none());
        assert!(is_true(&c, RECONCILING));
    }

    #[test]
    fn abnormal_conditions_present_only_when_true() {
        let mut c = Vec::new();
        mark_false(&mut c, RECONCILING, "Done", "", None);
        mark_unknown(&mut c, STALLED, "Unknown", "", None);
        mark_false(&mut c, READY, "Failed", "boom", None);
        prune_abnormal_false(&mut c);
        assert_eq!(c.len(), 1);
        assert!(is_false(&c, READY));
    }

    #[test]
    fn ready_for_generation() {
        let mut c = Vec::new();
        mark_true(&mut c, READY, "Succeeded", "", Some(3));
        assert!(is_ready_for(&c, Some(3)));
        assert!(!is_ready_for(&c, Some(4)));
        assert!(is_ready_for(&c, None));
    }
}
