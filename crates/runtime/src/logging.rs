//! Logging through `tracing-subscriber`, configured by Flux's flags.

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// `--log-level`: the most verbose level printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Error,
}

/// `--log-encoding`: JSON lines for machines (Flux's default) or console text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogEncoding {
    Json,
    Console,
}

impl LogLevel {
    fn directive(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Error => "error",
        }
    }
}

/// Installs the global subscriber. `RUST_LOG`, when set, refines the level
/// per module (e.g. `RUST_LOG=info,kube=debug`).
pub fn init(level: LogLevel, encoding: LogEncoding) -> anyhow::Result<()> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level.directive()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true);
    let result = match encoding {
        LogEncoding::Json => builder.json().flatten_event(true).try_init(),
        LogEncoding::Console => builder.try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("installing the log subscriber: {e}"))
}
