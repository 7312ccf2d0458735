//! Leader election on a coordination.k8s.io Lease (via `kube-lease-manager`).
//!
//! A controller with several replicas runs its reconcilers only in the
//! replica that holds the lease; the others wait. Losing the lease ends the
//! leader's work (the process exits and Kubernetes restarts it as a standby),
//! the same contract as controller-runtime's manager.

use std::time::Duration;

use anyhow::Context as _;
use kube_lease_manager::LeaseManagerBuilder;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where and how to hold the lease.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// Lease object name, e.g. `source-controller-leader-election`.
    pub name: String,
    /// Namespace of the Lease, normally the controller's own.
    pub namespace: String,
    /// This replica's identity: pod name plus a random suffix.
    pub identity: String,
    /// Lease validity without renewal.
    pub duration: Duration,
    /// How long before expiry the holder renews.
    pub renew_grace: Duration,
}

impl LeaseConfig {
    /// A config for `controller` in the pod's namespace (`POD_NAMESPACE`, the
    /// service-account namespace file, else `flux-system`), identified by the
    /// pod name (`HOSTNAME`) and a per-process suffix.
    pub fn for_controller(controller: &str, duration: Duration, renew_grace: Duration) -> Self {
        let namespace = std::env::var("POD_NAMESPACE")
            .ok()
            .or_else(|| {
                std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
                    .ok()
                    .map(|s| s.trim().to_owned())
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "flux-system".to_owned());
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| controller.to_owned());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        LeaseConfig {
            name: format!("{controller}-leader-election"),
            namespace,
            identity: format!("{host}_{:x}{:08x}", std::process::id(), nanos),
            duration,
            renew_grace,
        }
    }
}

/// A held lease. Dropping it releases the lease.
pub struct Leadership {
    state: watch::Receiver<bool>,
    _task:
        JoinHandle<Result<kube_lease_manager::LeaseManager, kube_lease_manager::LeaseManagerError>>,
}

impl Leadership {
    /// Resolves when this replica is no longer the leader.
    pub async fn lost(&mut self) {
        loop {
            if !*self.state.borrow_and_update() {
                return;
            }
            if self.state.changed().await.is_err() {
                return;
            }
        }
    }

    /// Whether the lease is still held right now.
    pub fn is_leader(&self) -> bool {
        *self.state.borrow()
    }
}

/// Waits until this replica holds the lease.
pub async fn acquire(client: kube::Client, config: &LeaseConfig) -> anyhow::Result<Leadership> {
    let duration = config.duration.as_secs().max(2);
    let grace = config.renew_grace.as_secs().clamp(1, duration - 1);
    let manager = LeaseManagerBuilder::new(client, &config.name)
        .with_namespace(&config.namespace)
        .with_identity(&config.identity)
        .with_duration(duration)
        .with_grace(grace)
        .with_field_manager(format!("{}-lease", config.name))
        .build()
        .await
        .with_context(|| format!("preparing lease {}/{}", config.namespace, config.name))?;
    let (mut state, task) = manager.watch().await;
    tracing::info!(lease = %config.name, namespace = %config.namespace, identity = %config.identity, "waiting for the leader lease");
    while !*state.borrow_and_update() {
        state.changed().await.with_context(|| {
            format!("lease {}/{} watcher stopped", config.namespace, config.name)
        })?;
    }
    tracing::info!(lease = %config.name, identity = %config.identity, "acquired the leader lease");
    Ok(Leadership { state, _task: task })
}
