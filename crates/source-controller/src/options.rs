//! Command-line flags, named as Flux's source-controller names them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use weir_runtime::RuntimeOptions;
use weir_runtime::duration;
use weir_runtime::options::parse_addr;

#[derive(clap::Parser, Clone, Debug)]
#[command(
    name = "source-controller",
    about = "Weir's source-controller: Git repositories to Flux artifacts"
)]
pub struct Options {
    #[command(flatten)]
    pub runtime: RuntimeOptions,

    /// Local directory where artifacts are stored.
    #[arg(long, env = "STORAGE_PATH", default_value = "/data")]
    pub storage_path: PathBuf,

    /// The address the artifact file server binds to.
    #[arg(long, default_value = ":9090", value_parser = parse_addr)]
    pub storage_addr: SocketAddr,

    /// The advertised address of the file server, used in
    /// `status.artifact.url` (`host:port` or a full URL). Defaults to the
    /// bound address, or this host's name when bound to every interface.
    #[arg(long, env = "STORAGE_ADV_ADDR", default_value = "")]
    pub storage_adv_addr: String,

    /// The address the gRPC artifact stream binds to.
    #[arg(long, default_value = ":9091", value_parser = parse_addr)]
    pub grpc_addr: SocketAddr,

    /// Watch objects in every namespace; when false, only in the namespace
    /// named by the `RUNTIME_NAMESPACE` environment variable (as Flux).
    #[arg(long, action = clap::ArgAction::Set, num_args = 0..=1, default_value_t = true, default_missing_value = "true")]
    pub watch_all_namespaces: bool,

    /// The number of objects reconciled at once.
    #[arg(long, default_value_t = 2)]
    pub concurrent: u16,

    /// How long superseded artifacts are kept before garbage collection.
    #[arg(long, default_value = "60s", value_parser = duration::parse_flag)]
    pub artifact_retention_ttl: Duration,

    /// How many artifacts per object are kept after garbage collection.
    #[arg(long, default_value_t = 2)]
    pub artifact_retention_records: usize,

    /// The largest single file a source may put into an artifact, in bytes.
    #[arg(long, default_value_t = 50 * 1024 * 1024)]
    pub artifact_max_file_size: u64,

    /// The shortest delay before retrying a failed reconcile.
    #[arg(long, default_value = "750ms", value_parser = duration::parse_flag)]
    pub min_retry_delay: Duration,

    /// The longest delay before retrying a failed reconcile.
    #[arg(long, default_value = "15m", value_parser = duration::parse_flag)]
    pub max_retry_delay: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[test]
    fn flux_flag_names_and_defaults() {
        let o = Options::try_parse_from([
            "source-controller",
            "--storage-path=/tmp/s",
            "--storage-adv-addr=source-controller.flux-system.svc.cluster.local.",
            "--events-addr=http://notification-controller/",
            "--artifact-retention-ttl=2m",
            "--artifact-retention-records=3",
            "--concurrent=8",
            "--enable-leader-election=false",
        ])
        .unwrap();
        assert_eq!(o.storage_addr.port(), 9090);
        assert_eq!(o.artifact_retention_ttl, Duration::from_secs(120));
        assert_eq!(o.artifact_retention_records, 3);
        assert_eq!(o.concurrent, 8);
        assert!(!o.runtime.enable_leader_election);
        assert_eq!(
            o.storage_adv_addr,
            "source-controller.flux-system.svc.cluster.local."
        );
        assert!(o.watch_all_namespaces);
    }
}
