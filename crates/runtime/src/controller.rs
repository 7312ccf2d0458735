//! The watch-and-queue plumbing every controller builds its loop from.
//!
//! [`watch_changes`] is the primary watch: objects of one kind (in one
//! namespace or all), cached without their managedFields, passed on only
//! when a reconcile is due ([`crate::reconcile_request::trigger_hash`]).
//! [`retry_after_error`] is the shared error policy and [`drain`] consumes
//! the controller's result stream.

use std::fmt::{Debug, Display};
use std::hash::Hash;

use futures::{Stream, StreamExt as _};
use kube::runtime::controller::Action;
use kube::runtime::reflector::store::Writer;
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Resource, ResourceExt as _};
use serde::de::DeserializeOwned;

use crate::backoff::RetryBackoff;

/// `Api` for `namespace`, or for every namespace.
pub fn api_for<K>(client: kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    }
}

/// The objects of `api`, reflected into `writer`'s store, yielded when
/// their generation, reconcile-request token or deletion changes — not on
/// the controller's own status writes.
pub fn watch_changes<K>(
    api: Api<K>,
    writer: Writer<K>,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Default,
{
    watcher(api, watcher::Config::default().any_semantic())
        .default_backoff()
        // managedFields are most of an object's size and never read.
        .modify(|obj| obj.managed_fields_mut().clear())
        .reflect(writer)
        .applied_objects()
        .predicate_filter(crate::reconcile_request::trigger_hash, Default::default())
}

/// Error policy: logs the failure and retries with the object's back-off.
pub fn retry_after_error<K, E>(obj: &K, error: &E, retries: &RetryBackoff) -> Action
where
    K: Resource,
    E: Display,
{
    let delay = retries.next_for(obj);
    tracing::warn!(
        namespace = obj.meta().namespace.as_deref().unwrap_or_default(),
        name = obj.meta().name.as_deref().unwrap_or_default(),
        retry_in = ?delay,
        "reconcile failed: {error:#}"
    );
    Action::requeue(delay)
}

/// Runs a controller's result stream to its end.
pub async fn drain<T, E: Display>(results: impl Stream<Item = Result<T, E>>) {
    results
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!("reconcile loop: {e}");
            }
        })
        .await;
}
