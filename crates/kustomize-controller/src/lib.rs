//! Weir's kustomize-controller.
//!
//! It reconciles `Kustomization` objects: fetches the source artifact
//! ([`source`]), builds it with the native kustomize engine and applies
//! Flux's post-build steps ([`build`]), server-side applies the result in
//! stages, prunes what left the build and checks health ([`apply`]). New
//! revisions arrive over source-controller's gRPC artifact stream.

pub mod apply;
pub mod build;
pub mod kustomization;
mod options;
pub mod source;

pub use options::Options;

use weir_runtime::manager::Manager;

/// The name Flux gives this controller: field manager, event reporter, lease.
pub const CONTROLLER_NAME: &str = "kustomize-controller";

/// Labels Flux puts on every applied object, naming its Kustomization.
pub const OWNER_NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
pub const OWNER_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";

/// Runs the reconcile loop until shutdown.
pub async fn run(manager: Manager, options: Options) -> anyhow::Result<()> {
    let clients = weir_runtime::client::ClientFactory::new(
        manager.config.clone(),
        manager.client.clone(),
        options.insecure_kubeconfig_exec,
        options.insecure_kubeconfig_tls,
    );
    let ctx = kustomization::Context::new(
        clients,
        manager.recorder.clone(),
        manager.metrics.clone(),
        kustomization::Config::from_options(&options),
    )?;
    manager.run(kustomization::run(ctx)).await
}
