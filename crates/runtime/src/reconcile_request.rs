//! Flux's on-demand reconcile protocol.
//!
//! `flux reconcile` (and notification-controller's receivers) set the
//! annotation `reconcile.fluxcd.io/requestedAt` to an opaque token, usually a
//! timestamp. A controller reconciles the object and then echoes the token into
//! `status.lastHandledReconcileAt`; the CLI waits for that echo.

use kube::api::ObjectMeta;

pub use weir_api::meta::RECONCILE_REQUEST_ANNOTATION as REQUESTED_AT_ANNOTATION;

/// What must change for a watch event to start a reconcile: the generation
/// (a spec change), the request token, or deletion. Controllers filter their
/// watch with it (`predicate_filter`) so their own status writes do not
/// trigger another reconcile.
pub fn trigger_hash<K: kube::Resource>(obj: &K) -> Option<u64> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let meta = obj.meta();
    let mut h = DefaultHasher::new();
    meta.generation.hash(&mut h);
    requested_at(meta).hash(&mut h);
    meta.deletion_timestamp.is_some().hash(&mut h);
    Some(h.finish())
}

/// The token of the pending reconcile request, if any.
pub fn requested_at(meta: &ObjectMeta) -> Option<&str> {
    meta.annotations
        .as_ref()?
        .get(REQUESTED_AT_ANNOTATION)
        .map(String::as_str)
}

/// The token to echo into `status.lastHandledReconcileAt` after this
/// reconcile, or `None` when the request was already handled.
pub fn pending_request<'a>(meta: &'a ObjectMeta, last_handled: Option<&str>) -> Option<&'a str> {
    requested_at(meta).filter(|token| Some(*token) != last_handled)
}

/// The value `status.lastHandledReconcileAt` should hold after a reconcile:
/// the current token when there is one, else whatever was recorded before.
pub fn handled_value(meta: &ObjectMeta, last_handled: Option<&str>) -> Option<String> {
    requested_at(meta).or(last_handled).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn meta(token: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            annotations: token
                .map(|t| BTreeMap::from([(REQUESTED_AT_ANNOTATION.to_owned(), t.to_owned())])),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn new_token_is_pending_until_echoed() {
        let m = meta(Some("2026-11-23T12:00:00Z"));
        assert_eq!(pending_request(&m, None), Some("2026-11-23T12:00:00Z"));
        assert_eq!(
            pending_request(&m, Some("older")),
            Some("2026-11-23T12:00:00Z")
        );
        assert_eq!(pending_request(&m, Some("2026-11-23T12:00:00Z")), None);
    }

    #[test]
    fn handled_value_keeps_last_when_annotation_removed() {
        assert_eq!(
            handled_value(&meta(None), Some("t1")).as_deref(),
            Some("t1")
        );
        assert_eq!(
            handled_value(&meta(Some("t2")), Some("t1")).as_deref(),
            Some("t2")
        );
        assert_eq!(handled_value(&meta(None), None), None);
    }
}
