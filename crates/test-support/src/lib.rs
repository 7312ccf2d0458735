//! Test harness for Weir's integration tests.
//!
//! Tests run against a real local control plane (see [`cluster`]): the first
//! test to need it starts it, every test gets a client with the Flux CRDs
//! installed, and each test works in its own namespace ([`TestNamespace`]) so
//! tests run in parallel without seeing each other's objects.

pub mod cluster;
pub mod crds;
pub mod event_sink;
pub mod git_server;
mod lock;
mod namespace;
mod pki;
pub mod tools;

pub use namespace::TestNamespace;

use anyhow::Context as _;
use tokio::sync::OnceCell;

/// The kubeconfig of the running control plane, once it is up and has the
/// CRDs installed; done once per test process.
static READY_CLUSTER: OnceCell<std::path::PathBuf> = OnceCell::const_new();

/// A client for the local control plane, started if absent, with Weir's CRDs
/// installed and established.
pub async fn client() -> anyhow::Result<kube::Client> {
    kube::Client::try_from(config().await?).context("building the Kubernetes client")
}

/// The client configuration of the local control plane (started and given
/// Weir's CRDs on first use).
pub async fn config() -> anyhow::Result<kube::Config> {
    let kubeconfig = READY_CLUSTER
        .get_or_try_init(|| async {
            let info = tokio::task::spawn_blocking(cluster::up)
                .await
                .context("control-plane start-up task panicked")?
                .context("starting the local control plane")?;
            let client = weir_runtime::client::client_from_kubeconfig(&info.kubeconfig).await?;
            crds::install(&client).await?;
            anyhow::Ok(info.kubeconfig)
        })
        .await?;
    weir_runtime::client::config_from_kubeconfig(kubeconfig).await
}
