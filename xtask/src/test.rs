//! `cargo xtask test`: everything CI runs.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};
use weir_test_support::cluster;

/// Runs a command from the workspace root, echoing it, failing on non-zero exit.
fn step(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let started = Instant::now();
    println!("==> {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(crate::workspace_root())
        .status()
        .with_context(|| format!("starting {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    println!("==> done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

pub fn run(cargo_test_args: &[String]) -> anyhow::Result<()> {
    let started = Instant::now();
    crate::prereqs::ensure()?;
    step("cargo", &["fmt", "--all", "--check"])?;
    step(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;

    // The integration tests start the control plane on demand; bringing it up
    // here first keeps its build out of any single test's time budget.
    let was_running = cluster::status()?.is_some();
    let build = Instant::now();
    let info = cluster::up().context("starting the local control plane")?;
    println!(
        "==> control plane at {} ({:.1}s)",
        info.server,
        build.elapsed().as_secs_f64()
    );

    let mut args = vec!["test", "--workspace"];
    args.extend(cargo_test_args.iter().map(String::as_str));
    let result = step("cargo", &args);

    if !was_running {
        cluster::down().context("stopping the local control plane")?;
        let left = leftover_processes(&info);
        if !left.is_empty() {
            bail!("`cluster down` left control-plane processes running: {left:?}");
        }
        println!("==> control plane stopped, no process left behind");
    }
    result?;
    println!(
        "==> all checks passed in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Processes still running from the control-plane binary's directory.
fn leftover_processes(info: &cluster::ClusterInfo) -> Vec<u32> {
    let Some(bin_dir) = info.binary.parent() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe.starts_with(bin_dir))
        })
        .collect()
}
