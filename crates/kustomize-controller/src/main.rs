//! kustomize-controller: builds Kustomizations and applies them.

use clap::Parser as _;
use weir_kustomize_controller::Options;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let manager =
        weir_runtime::manager::start(weir_kustomize_controller::CONTROLLER_NAME, &options.runtime)
            .await?;
    weir_kustomize_controller::run(manager, options).await
}
