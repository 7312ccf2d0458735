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

/// Loads the client configuration from the in-cluster environment or
/// `KUBECONFIG`, the way kubectl resolves it.
pub async fn config() -> anyhow::Result<kube::Config> {
    install_crypto_provider();
    kube::Config::infer()
        .await
        .context("loading Kubernetes client configuration (in-cluster or KUBECONFIG)")
}

/// Builds a client from the in-cluster environment or `KUBECONFIG`.
pub async fn client() -> anyhow::Result<kube::Client> {
    kube::Client::try_from(config().await?).context("building the Kubernetes client")
}

/// Loads the client configuration from an explicit kubeconfig file.
pub async fn config_from_kubeconfig(path: &std::path::Path) -> anyhow::Result<kube::Config> {
    install_crypto_provider();
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("reading kubeconfig {}", path.display()))?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
        .await
        .with_context(|| format!("loading kubeconfig {}", path.display()))
}

/// Builds a client from an explicit kubeconfig file.
pub async fn client_from_kubeconfig(path: &std::path::Path) -> anyhow::Result<kube::Client> {
    kube::Client::try_from(config_from_kubeconfig(path).await?)
        .context("building the Kubernetes client")
}

/// Builds the clients a reconcile acts with: the controller's own identity,
/// a service account it impersonates (`spec.serviceAccountName`), or a
/// remote cluster from a kubeconfig held in a Secret (`spec.kubeConfig`).
/// Clients are cached by what they were built from, so a reconcile reuses
/// the connection pool of the previous one.
pub struct ClientFactory {
    base: kube::Config,
    base_client: kube::Client,
    cache: std::sync::Mutex<std::collections::HashMap<String, kube::Client>>,
    insecure_kubeconfig_exec: bool,
    insecure_kubeconfig_tls: bool,
}

/// Entries kept before the cache starts over (rotated kubeconfigs leave old
/// keys behind).
const CLIENT_CACHE_LIMIT: usize = 256;

impl ClientFactory {
    /// `insecure_kubeconfig_exec` and `insecure_kubeconfig_tls` are Flux's
    /// flags of the same names: without them a kubeconfig from a Secret may
    /// not run programs nor skip TLS verification.
    pub fn new(
        base: kube::Config,
        base_client: kube::Client,
        insecure_kubeconfig_exec: bool,
        insecure_kubeconfig_tls: bool,
    ) -> Self {
        Self {
            base,
            base_client,
            cache: Default::default(),
            insecure_kubeconfig_exec,
            insecure_kubeconfig_tls,
        }
    }

    /// The controller's own client.
    pub fn base(&self) -> &kube::Client {
        &self.base_client
    }

    /// A client for the target cluster (`kubeconfig`, else the controller's
    /// own) acting as `service_account` (`(namespace, name)`) when given.
    /// Returns the client and a key naming the target, equal for equal
    /// inputs (for caches of per-cluster state such as discovery).
    pub async fn client(
        &self,
        kubeconfig: Option<&[u8]>,
        service_account: Option<(&str, &str)>,
    ) -> anyhow::Result<(kube::Client, String)> {
        if kubeconfig.is_none() && service_account.is_none() {
            return Ok((self.base_client.clone(), String::new()));
        }
        let cluster_key = kubeconfig
            .map(|k| {
                use sha2::Digest as _;
                hex::encode(sha2::Sha256::digest(k))
            })
            .unwrap_or_default();
        let user = service_account
            .map(|(ns, name)| format!("system:serviceaccount:{ns}:{name}"))
            .unwrap_or_default();
        let key = format!("{cluster_key}|{user}");
        if let Some(c) = self.cache.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok((c, cluster_key));
        }
        let mut config = match kubeconfig {
            Some(bytes) => self.remote_config(bytes).await?,
            None => self.base.clone(),
        };
        if !user.is_empty() {
            config.auth_info.impersonate = Some(user);
            config.auth_info.impersonate_groups = None;
        }
        let client = kube::Client::try_from(config).context("building the Kubernetes client")?;
        if let Ok(mut m) = self.cache.lock() {
            if m.len() >= CLIENT_CACHE_LIMIT {
                m.clear();
            }
            m.insert(key, client.clone());
        }
        Ok((client, cluster_key))
    }

    async fn remote_config(&self, bytes: &[u8]) -> anyhow::Result<kube::Config> {
        let text = std::str::from_utf8(bytes).context("the kubeconfig is not UTF-8")?;
        let kubeconfig =
            kube::config::Kubeconfig::from_yaml(text).context("parsing the kubeconfig")?;
        check_kubeconfig(
            &kubeconfig,
            self.insecure_kubeconfig_exec,
            self.insecure_kubeconfig_tls,
        )?;
        kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .context("loading the kubeconfig")
    }
}

/// Refuses what a kubeconfig from a Secret must not make the controller
/// do: read the controller's own files, run programs (unless allowed), or
/// skip TLS verification (unless allowed).
pub fn check_kubeconfig(
    kubeconfig: &kube::config::Kubeconfig,
    allow_exec: bool,
    allow_insecure_tls: bool,
) -> anyhow::Result<()> {
    for named in &kubeconfig.clusters {
        let Some(cluster) = &named.cluster else {
            continue;
        };
        if cluster.certificate_authority.is_some() {
            anyhow::bail!(
                "kubeconfig cluster '{}' refers to a file (certificate-authority); embed it as certificate-authority-data",
                named.name
            );
        }
        if cluster.insecure_skip_tls_verify == Some(true) && !allow_insecure_tls {
            anyhow::bail!(
                "kubeconfig cluster '{}' skips TLS verification, which is not allowed (--insecure-kubeconfig-tls)",
                named.name
            );
        }
    }
    for named in &kubeconfig.auth_infos {
        let Some(auth) = &named.auth_info else {
            continue;
        };
        if auth.client_certificate.is_some()
            || auth.client_key.is_some()
            || auth.token_file.is_some()
        {
            anyhow::bail!(
                "kubeconfig user '{}' refers to a file; embed the credentials as data",
                named.name
            );
        }
        if (auth.exec.is_some() || auth.auth_provider.is_some()) && !allow_exec {
            anyhow::bail!(
                "kubeconfig user '{}' runs a program or auth provider, which is not allowed (--insecure-kubeconfig-exec)",
                named.name
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> kube::config::Kubeconfig {
        kube::config::Kubeconfig::from_yaml(yaml).unwrap()
    }

    const BASE: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://example.invalid\n    certificate-authority-data: Zm9v\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n";

    #[test]
    fn embedded_credentials_pass() {
        let k = parse(&format!(
            "{BASE}users:\n- name: u\n  user:\n    token: abc\n"
        ));
        check_kubeconfig(&k, false, false).unwrap();
    }

    #[test]
    fn files_exec_and_insecure_tls_are_refused() {
        let file = parse(&format!(
            "{BASE}users:\n- name: u\n  user:\n    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token\n"
        ));
        let e = check_kubeconfig(&file, true, true).unwrap_err().to_string();
        assert!(e.contains("refers to a file"), "{e}");

        let exec = parse(&format!(
            "{BASE}users:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n"
        ));
        let e = check_kubeconfig(&exec, false, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--insecure-kubeconfig-exec"), "{e}");
        check_kubeconfig(&exec, true, false).unwrap();

        let insecure = parse(&BASE.replace(
            "    certificate-authority-data: Zm9v\n",
            "    insecure-skip-tls-verify: true\n",
        ));
        let e = check_kubeconfig(&insecure, false, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--insecure-kubeconfig-tls"), "{e}");
        check_kubeconfig(&insecure, false, true).unwrap();

        let ca_file = parse(&BASE.replace(
            "certificate-authority-data: Zm9v",
            "certificate-authority: /etc/passwd",
        ));
        assert!(check_kubeconfig(&ca_file, true, true).is_err());
    }
}
