//! Rules that apply to every kind: deletion, observed generation, the
//! standard `Reconciling`/`Stalled` conditions, and the `Ready` fallback.

use serde_json::{Map, Value};

use crate::fields::{Condition, Outcome, nested_i64, nested_str};
use crate::{Result, Status};

type Object = Map<String, Value>;

/// A verdict from deletion and generation alone, before conditions are read.
///
/// kstatus checks these first so that stale conditions (written for an older
/// generation) never decide the status.
pub(crate) fn check_lifecycle(obj: &Object, kind: &str) -> Outcome<Option<Result>> {
    if nested_str(obj, &["metadata", "deletionTimestamp"])?.is_some_and(|ts| !ts.is_empty()) {
        return Ok(Some(Result {
            status: Status::Terminating,
            message: "Resource scheduled for deletion".to_owned(),
        }));
    }

    // Without metadata.generation (e.g. a manifest that was never applied)
    // there is nothing to compare; the observed generation is not even read.
    let Some(generation) = nested_i64(obj, &["metadata", "generation"])? else {
        return Ok(None);
    };
    // Kinds without status.observedGeneration cannot be checked this way.
    if let Some(observed) = nested_i64(obj, &["status", "observedGeneration"])?
        && observed != generation
    {
        return Ok(Some(Result {
            status: Status::InProgress,
            message: format!(
                "{kind} generation is {generation}, but latest observed generation is {observed}"
            ),
        }));
    }
    Ok(None)
}

/// The standard "abnormal-true" conditions: when a controller publishes them
/// they decide the status outright, whatever the kind.
pub(crate) fn check_standard_conditions(conds: &[Condition]) -> Option<Result> {
    conds.iter().find_map(|cond| {
        let status = if cond.is("Reconciling", "True") {
            Status::InProgress
        } else if cond.is("Stalled", "True") {
            Status::Failed
        } else {
            return None;
        };
        Some(Result {
            status,
            message: cond.message.clone(),
        })
    })
}

/// kstatus's last resort for kinds it has no rule for: many controllers only
/// publish `Ready`, so honour it when present.
pub(crate) fn check_ready_condition(conds: &[Condition]) -> Option<Result> {
    let ready = conds.iter().find(|c| c.type_ == "Ready")?;
    let status = match ready.status.as_str() {
        "True" => {
            return Some(Result {
                status: Status::Current,
                message: "Resource is Ready".to_owned(),
            });
        }
        // kstatus cannot tell a doomed Ready=False from one still converging,
        // so both False and Unknown wait.
        "False" | "Unknown" => Status::InProgress,
        _ => return None,
    };
    Some(Result {
        status,
        message: ready.message.clone(),
    })
}
