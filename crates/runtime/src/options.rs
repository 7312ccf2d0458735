//! Command-line options every controller takes, named as Flux names them.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{ArgAction, Args};

use crate::duration;
use crate::logging::{LogEncoding, LogLevel};

/// Flags shared by all controllers; flatten into each controller's `clap` struct.
#[derive(Args, Clone, Debug)]
pub struct RuntimeOptions {
    /// The address the Prometheus metrics endpoint binds to.
    #[arg(long, default_value = ":8080", value_parser = parse_addr)]
    pub metrics_addr: SocketAddr,

    /// The address the health endpoints (/healthz, /readyz) bind to.
    #[arg(long, default_value = ":9440", value_parser = parse_addr)]
    pub health_addr: SocketAddr,

    /// Log verbosity.
    #[arg(long, value_enum, default_value = "info")]
    pub log_level: LogLevel,

    /// Log format.
    #[arg(long, value_enum, default_value = "json")]
    pub log_encoding: LogEncoding,

    /// Where to POST Flux-format events (notification-controller's event
    /// server, e.g. `http://notification-controller.flux-system.svc.cluster.local./`);
    /// unset means Kubernetes Events only.
    #[arg(long)]
    pub events_addr: Option<String>,

    /// Run only while holding the leader lease, so replicas can stand by.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = true, default_missing_value = "true")]
    pub enable_leader_election: bool,

    /// How long a lease is valid without renewal.
    #[arg(long, default_value = "35s", value_parser = duration::parse_flag)]
    pub leader_election_lease_duration: Duration,

    /// How often the leader renews its lease.
    #[arg(long, default_value = "5s", value_parser = duration::parse_flag)]
    pub leader_election_retry_period: Duration,
}

/// The namespace to watch: `None` (every namespace) unless
/// `--watch-all-namespaces=false`, then the one named by `RUNTIME_NAMESPACE`,
/// as Flux's controllers do.
pub fn watch_namespace(watch_all_namespaces: bool) -> Option<String> {
    if watch_all_namespaces {
        return None;
    }
    std::env::var("RUNTIME_NAMESPACE")
        .ok()
        .filter(|n| !n.is_empty())
}

/// Accepts Go-style listen addresses: `:8080` means every interface.
pub fn parse_addr(input: &str) -> Result<SocketAddr, String> {
    let full = if input.starts_with(':') {
        format!("0.0.0.0{input}")
    } else {
        input.to_owned()
    };
    full.parse()
        .map_err(|e| format!("invalid listen address {input:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        runtime: RuntimeOptions,
    }

    #[test]
    fn defaults_match_flux() {
        let cli = Cli::try_parse_from(["c"]).expect("defaults parse");
        assert_eq!(
            cli.runtime.metrics_addr,
            "0.0.0.0:8080".parse().expect("addr")
        );
        assert_eq!(
            cli.runtime.health_addr,
            "0.0.0.0:9440".parse().expect("addr")
        );
        assert!(cli.runtime.enable_leader_election);
        assert_eq!(cli.runtime.log_encoding, LogEncoding::Json);
        assert_eq!(
            cli.runtime.leader_election_lease_duration,
            Duration::from_secs(35)
        );
    }

    #[test]
    fn go_style_bool_and_addresses() {
        let cli = Cli::try_parse_from([
            "c",
            "--enable-leader-election=false",
            "--metrics-addr=127.0.0.1:9000",
            "--log-level",
            "debug",
            "--log-encoding=console",
        ])
        .expect("flags parse");
        assert!(!cli.runtime.enable_leader_election);
        assert_eq!(
            cli.runtime.metrics_addr,
            "127.0.0.1:9000".parse().expect("addr")
        );
        assert_eq!(cli.runtime.log_level, LogLevel::Debug);
        let cli = Cli::try_parse_from(["c", "--enable-leader-election"]).expect("bare flag");
        assert!(cli.runtime.enable_leader_election);
        assert!(Cli::try_parse_from(["c", "--health-addr=nonsense"]).is_err());
    }
}
