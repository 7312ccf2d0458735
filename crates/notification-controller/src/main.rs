//! notification-controller: forwards Flux events to Providers, and turns
//! webhooks into reconcile requests.

use clap::Parser as _;
use weir_notification_controller::Options;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let manager = weir_runtime::manager::start(
        weir_notification_controller::CONTROLLER_NAME,
        &options.manager_options(),
    )
    .await?;
    weir_notification_controller::run(manager, options).await
}
