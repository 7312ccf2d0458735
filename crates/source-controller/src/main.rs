//! source-controller: fetches sources into artifacts and serves them.

use clap::Parser as _;
use weir_source_controller::Options;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let manager =
        weir_runtime::manager::start(weir_source_controller::CONTROLLER_NAME, &options.runtime)
            .await?;
    weir_source_controller::run(manager, options).await
}
