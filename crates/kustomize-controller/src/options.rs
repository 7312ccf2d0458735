//! Command-line flags, named as Flux's kustomize-controller names them.

use std::time::Duration;

use weir_runtime::RuntimeOptions;
use weir_runtime::duration;

#[derive(clap::Parser, Clone, Debug)]
#[command(
    name = "kustomize-controller",
    about = "Weir's kustomize-controller: Kustomizations built and applied"
)]
pub struct Options {
    #[command(flatten)]
    pub runtime: RuntimeOptions,

    /// The number of Kustomizations reconciled at once (builds run in
    /// parallel: there is no global build lock).
    #[arg(long, default_value_t = 4)]
    pub concurrent: u16,

    /// Watch objects in every namespace; when false, only in the namespace
    /// named by `RUNTIME_NAMESPACE`.
    #[arg(long, action = clap::ArgAction::Set, num_args = 0..=1, default_value_t = true, default_missing_value = "true")]
    pub watch_all_namespaces: bool,

    /// Refuse sourceRefs and dependsOn entries in other namespaces.
    #[arg(long, default_value_t = false)]
    pub no_cross_namespace_refs: bool,

    /// How long to wait before checking again whether dependencies are Ready.
    #[arg(long, default_value = "30s", value_parser = duration::parse_flag)]
    pub requeue_dependency: Duration,

    /// source-controller's gRPC artifact stream (e.g.
    /// `http://source-controller.flux-system.svc.cluster.local.:9091`). New
    /// revisions then trigger reconciles at once; without it, changes are
    /// seen through the API server watch only.
    #[arg(long, env = "ARTIFACT_STREAM_ADDR", default_value = "")]
    pub artifact_stream_addr: String,

    /// The shortest delay before retrying a failed reconcile.
    #[arg(long, default_value = "750ms", value_parser = duration::parse_flag)]
    pub min_retry_delay: Duration,

    /// The longest delay before retrying a failed reconcile.
    #[arg(long, default_value = "15m", value_parser = duration::parse_flag)]
    pub max_retry_delay: Duration,

    /// The service account impersonated by Kustomizations that name none
    /// (Flux's lockdown setting); empty: act as the controller.
    #[arg(long, default_value = "")]
    pub default_service_account: String,

    /// Allow kubeconfigs from `spec.kubeConfig` to run programs (exec
    /// credential plugins and auth providers).
    #[arg(long, default_value_t = false)]
    pub insecure_kubeconfig_exec: bool,

    /// Allow kubeconfigs from `spec.kubeConfig` to skip TLS verification.
    #[arg(long, default_value_t = false)]
    pub insecure_kubeconfig_tls: bool,
}
