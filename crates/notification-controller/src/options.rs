//! Command-line flags, named as Flux's notification-controller names them.
//!
//! One flag means something else here than in the other controllers: in
//! Flux's notification-controller `--events-addr` is the address its event
//! server *binds to* (`:9090`), not where to send events. The shared
//! [`RuntimeOptions`] declares the flag, so this binary re-documents it and
//! gives it Flux's default, and [`Options::manager_options`] keeps the
//! manager's event recorder from posting to it (the controller records
//! Kubernetes Events only, as Flux's does).

use std::net::SocketAddr;
use std::time::Duration;

use weir_runtime::RuntimeOptions;
use weir_runtime::duration;
use weir_runtime::options::parse_addr;

/// The event server's listen address when `--events-addr` is not given.
pub const DEFAULT_EVENTS_ADDR: &str = ":9090";

#[derive(clap::Parser, Clone, Debug)]
#[command(
    name = "notification-controller",
    about = "Weir's notification-controller: Flux events forwarded by Alerts to Providers, and webhook Receivers",
    mut_arg("events_addr", |a| a
        .help("The address the event server binds to (Flux's event API: POST /)")
        .default_value(DEFAULT_EVENTS_ADDR))
)]
pub struct Options {
    #[command(flatten)]
    pub runtime: RuntimeOptions,

    /// The address the webhook receiver server binds to.
    #[arg(long = "receiverAddr", default_value = ":9292", value_parser = parse_addr)]
    pub receiver_addr: SocketAddr,

    /// The number of Receivers reconciled at once.
    #[arg(long, default_value_t = 4)]
    pub concurrent: u16,

    /// Watch objects in every namespace; when false, only in the namespace
    /// named by `RUNTIME_NAMESPACE`.
    #[arg(long, action = clap::ArgAction::Set, num_args = 0..=1, default_value_t = true, default_missing_value = "true")]
    pub watch_all_namespaces: bool,

    /// How long an event is remembered for de-duplication: the same event
    /// (object, message, revision, token) posted again within this window is
    /// answered 429 and not forwarded.
    #[arg(long, default_value = "5m", value_parser = duration::parse_flag)]
    pub rate_limit_interval: Duration,

    /// Refuse events from, and Receiver resources in, namespaces other than
    /// the Alert's or Receiver's own.
    #[arg(long, action = clap::ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true")]
    pub no_cross_namespace_refs: bool,

    /// The shortest delay before retrying a failed Receiver reconcile.
    #[arg(long, default_value = "750ms", value_parser = duration::parse_flag)]
    pub min_retry_delay: Duration,

    /// The longest delay before retrying a failed Receiver reconcile.
    #[arg(long, default_value = "15m", value_parser = duration::parse_flag)]
    pub max_retry_delay: Duration,
}

impl Options {
    /// The event server's listen address (`--events-addr`).
    pub fn events_addr(&self) -> anyhow::Result<SocketAddr> {
        let raw = self
            .runtime
            .events_addr
            .as_deref()
            .unwrap_or(DEFAULT_EVENTS_ADDR);
        parse_addr(raw).map_err(|e| anyhow::anyhow!("--events-addr: {e}"))
    }

    /// The shared runtime options for [`weir_runtime::manager::start`]:
    /// `--events-addr` is this controller's own listen address, so the
    /// manager must not treat it as a place to send events to.
    pub fn manager_options(&self) -> RuntimeOptions {
        let mut runtime = self.runtime.clone();
        runtime.events_addr = None;
        runtime
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[test]
    fn flux_flag_names_and_defaults() {
        let o = Options::try_parse_from(["notification-controller"]).expect("defaults parse");
        assert_eq!(
            o.events_addr().expect("addr"),
            "0.0.0.0:9090".parse::<SocketAddr>().expect("addr")
        );
        assert_eq!(o.receiver_addr.port(), 9292);
        assert_eq!(o.rate_limit_interval, Duration::from_secs(300));
        assert!(o.watch_all_namespaces);
        assert!(!o.no_cross_namespace_refs);
        assert_eq!(o.concurrent, 4);
        assert!(o.manager_options().events_addr.is_none());
    }

    #[test]
    fn flux_style_arguments() {
        let o = Options::try_parse_from([
            "notification-controller",
            "--events-addr=:9999",
            "--receiverAddr=127.0.0.1:9393",
            "--rate-limit-interval=30s",
            "--no-cross-namespace-refs=true",
            "--watch-all-namespaces=false",
            "--enable-leader-election=false",
        ])
        .expect("flags parse");
        assert_eq!(o.events_addr().expect("addr").port(), 9999);
        assert_eq!(
            o.receiver_addr,
            "127.0.0.1:9393".parse::<SocketAddr>().expect("addr")
        );
        assert_eq!(o.rate_limit_interval, Duration::from_secs(30));
        assert!(o.no_cross_namespace_refs);
        assert!(!o.watch_all_namespaces);
        assert!(!o.runtime.enable_leader_election);
        assert!(o.manager_options().events_addr.is_none());
        assert!(
            Options::try_parse_from(["n", "--events-addr=nonsense"])
                .expect("parses as text")
                .events_addr()
                .is_err()
        );
    }
}
