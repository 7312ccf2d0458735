//! Strategic merge patch and JSON 6902 patch application, with kustomize's
//! (v5.8) semantics.
//!
//! * [`strategic_merge`] merges a patch into a resource the way kustomize's
//!   `patchStrategicMerge` filter does (kyaml `merge2`), using the Kubernetes
//!   patch metadata kustomize compiles in ([`schema`], generated into
//!   `schema_table.rs` by `cargo xtask patch-meta`). See [`smp`] for the
//!   exact semantics, including custom resources (JSON-merge-patch-like) and
//!   the SMP directives kustomize does and does not honour.
//! * [`json6902`] applies RFC 6902 operations the way kustomize's
//!   `patchjson6902` filter does (through JSON, with evanphx/json-patch v4's
//!   rules); [`json6902_ops_from_text`] decodes patch text as kustomize does.
//!
//! Both work on a whole resource. What kustomize does around them (keeping
//! the name, kind and namespace after a strategic merge patch unless allowed,
//! its internal annotations during a JSON patch) is up to the caller.

mod json6902;
pub mod schema;
#[rustfmt::skip]
mod schema_table;
pub mod smp;

pub use json6902::{json6902, json6902_ops_from_text};
pub use schema::Schema;
pub use smp::strategic_merge;

/// A patch that could not be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatchError {
    /// A strategic merge patch failed at a field path (dotted; list elements
    /// as `[key=value]`).
    #[error("strategic merge patch failed at {}: {message}", if path.is_empty() { "the top level" } else { path.as_str() })]
    Smp { path: String, message: String },
    /// A JSON 6902 operation failed (`index` counts from 0).
    #[error("json patch operation {} ({op} {path:?}) failed: {message}", index + 1)]
    Json6902 {
        index: usize,
        op: String,
        path: String,
        message: String,
    },
    /// The JSON 6902 patch (or the patched document) is malformed.
    #[error("json patch: {0}")]
    Json6902Decode(String),
}

impl PatchError {
    pub(crate) fn smp(path: impl Into<String>, message: impl Into<String>) -> PatchError {
        PatchError::Smp {
            path: path.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests;
