//! Kubernetes client construction.

use anyhow::Context as _;

/// Installs the process-wide rustls crypto provider exactly once.
///
/// kube and reqwest would otherwise each pick a provider, and rustls panics
/// when more than one is compiled in and none was chosen. Call this first
/// thing in `main`; later calls are no-ops.
pub fn install_crypto_provider() {
    // An error only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds a client from the in-cluster environment or `KUBECONFIG`,
/// the way kubectl resolves it.
pub async fn client() -> anyhow::Result<kube::Client> {
    install_crypto_provider();
    let config = kube::Config::infer()
        .await
        .context("loading Kubernetes client configuration (in-cluster or KUBECONFIG)")?;
    kube::Client::try_from(config).context("building the Kubernetes client")
}

/// Builds a client from an explicit kubeconfig file.
pub async fn client_from_kubeconfig(path: &std::path::Path) -> anyhow::Result<kube::Client> {
    install_crypto_provider();
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("reading kubeconfig {}", path.display()))?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .with_context(|| format!("loading kubeconfig {}", path.display()))?;
    kube::Client::try_from(config).context("building the Kubernetes client")
}
