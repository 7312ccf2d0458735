//! `cargo xtask`: the project's own automation.
//!
//! Everything a newcomer or CI needs runs through here, so that a fresh
//! machine needs nothing but cargo and Go to build, test and demo Weir.

mod bench;
mod cluster;
mod controllers;
mod crds;
mod demo;
mod patch_meta;
mod prereqs;
mod test;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Weir project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate the CRD YAML for the Helm chart and deploy/ from crates/api.
    Crds {
        /// Fail instead of writing when the committed YAML is stale.
        #[arg(long)]
        check: bool,
    },
    /// Manage the local Kubernetes control plane used by tests and the demo.
    Cluster {
        #[command(subcommand)]
        cmd: cluster::ClusterCommand,
    },
    /// Run everything CI runs: prerequisites, formatting, lints, all tests.
    Test {
        /// Extra arguments passed to `cargo test` (e.g. a test name filter).
        #[arg(trailing_var_arg = true)]
        cargo_test_args: Vec<String>,
    },
    /// The demo: the local control plane, a Git server with an app, source-
    /// and kustomize-controller applying it, a push timed until applied.
    /// The controllers keep running until Ctrl-C.
    Run {
        /// Stop the controllers and exit right after the timed push
        /// (non-interactive, for CI).
        #[arg(long)]
        no_wait: bool,
    },
    /// Regenerate the strategic-merge-patch table of crates/kustomize from the
    /// OpenAPI schema kustomize itself merges with.
    PatchMeta {
        /// Build from this swagger.json instead (e.g. a newer Kubernetes
        /// schema, to compare against what kustomize uses).
        #[arg(long)]
        swagger: Option<std::path::PathBuf>,
    },
    /// Benchmarks: wall time and peak memory, medians over several runs.
    Bench {
        #[command(subcommand)]
        target: bench::BenchTarget,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Crds { check } => crds::run(check),
        Command::Cluster { cmd } => cluster::run(cmd),
        Command::Test { cargo_test_args } => test::run(&cargo_test_args),
        Command::Run { no_wait } => demo::run(no_wait),
        Command::Bench { target } => bench::run(target),
        Command::PatchMeta { swagger } => {
            let out = workspace_root().join(patch_meta::DEFAULT_OUTPUT);
            match swagger {
                Some(path) => patch_meta::run_from_swagger_json(&path, &out),
                None => patch_meta::run(&out),
            }
        }
    }
}

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}
