//! Flux's own kinds (any group under `toolkit.fluxcd.io`).
//!
//! Flux objects follow the kstatus conventions (`Reconciling`, `Stalled`,
//! `observedGeneration`), which the generic rules already handle. On top of
//! that, `Ready` is authoritative for them: every Flux controller writes it on
//! each reconciliation, so a missing `Ready` means "not reconciled yet" and
//! `Ready=False` without `Reconciling` means the last attempt failed.

use serde_json::{Map, Value};

use crate::fields::{Condition, Outcome, nested_i64};
use crate::{Result, Status};

const FLUX_GROUP_SUFFIX: &str = ".toolkit.fluxcd.io";

pub(crate) fn is_flux_group(group: &str) -> bool {
    group.ends_with(FLUX_GROUP_SUFFIX)
}

/// Runs after the generic checks, so the generation matches (when both are
/// set) and neither `Reconciling` nor `Stalled` is True.
pub(crate) fn status(obj: &Map<String, Value>, kind: &str, conds: &[Condition]) -> Outcome<Result> {
    let Some(ready) = conds.iter().find(|c| c.type_ == "Ready") else {
        return Ok(Result {
            status: Status::InProgress,
            message: format!("{kind} has no Ready condition yet"),
        });
    };
    let result = match ready.status.as_str() {
        "True" => {
            // A Ready=True written before the controller recorded which
            // generation it acted on cannot vouch for the current spec.
            let generation = nested_i64(obj, &["metadata", "generation"])?;
            let observed = nested_i64(obj, &["status", "observedGeneration"])?;
            if generation.is_some() && observed.is_none() {
                Result {
                    status: Status::InProgress,
                    message: format!("{kind} status.observedGeneration not found"),
                }
            } else {
                Result {
                    status: Status::Current,
                    message: "Resource is Ready".to_owned(),
                }
            }
        }
        "False" => Result {
            status: Status::Failed,
            message: describe(ready),
        },
        // Unknown (or anything unexpected) means a reconciliation is under way.
        _ => Result {
            status: Status::InProgress,
            message: describe(ready),
        },
    };
    Ok(result)
}

/// The condition's message, or its reason when the controller left no message.
fn describe(cond: &Condition) -> String {
    if !cond.message.is_empty() {
        cond.message.clone()
    } else if !cond.reason.is_empty() {
        format!("Ready is {}: {}", cond.status, cond.reason)
    } else {
        format!("Ready is {}", cond.status)
    }
}
