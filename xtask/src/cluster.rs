//! `cargo xtask cluster up|down|status|kubectl`: the local control plane.

use std::time::Instant;

use anyhow::{Context as _, bail};
use weir_test_support::cluster;

#[derive(clap::Subcommand)]
pub enum ClusterCommand {
    /// Start the local control plane (building it on first use); a no-op when it already runs.
    Up,
    /// Stop every control-plane process.
    Down,
    /// Tell whether the control plane is running, and where.
    Status,
    /// Run kubectl against the local control plane (`cargo xtask cluster kubectl get pods -A`).
    Kubectl {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

pub fn run(cmd: ClusterCommand) -> anyhow::Result<()> {
    match cmd {
        ClusterCommand::Up => {
            let started = Instant::now();
            let info = cluster::up().context("starting the local control plane")?;
            println!(
                "control plane running at {} ({:.1}s)",
                info.server,
                started.elapsed().as_secs_f64()
            );
            println!("kubeconfig: {}", info.kubeconfig.display());
            println!("export KUBECONFIG={}", info.kubeconfig.display());
        }
        ClusterCommand::Down => {
            cluster::down().context("stopping the local control plane")?;
            println!("control plane stopped");
        }
        ClusterCommand::Status => match cluster::status()? {
            Some(info) => {
                println!("running: {}", info.server);
                println!("kubeconfig: {}", info.kubeconfig.display());
                for p in &info.processes {
                    let ports: Vec<String> = p.ports.iter().map(u16::to_string).collect();
                    println!(
                        "  {:<24} pid {:<8} 127.0.0.1:{:<12} log {}",
                        p.name,
                        p.pid,
                        ports.join(","),
                        p.log.display()
                    );
                }
            }
            None => println!("stopped (state in {})", cluster::state_dir().display()),
        },
        ClusterCommand::Kubectl { args } => {
            let status = cluster::kubectl_command()?
                .args(&args)
                .status()
                .context("running kubectl")?;
            if !status.success() {
                bail!("kubectl {} failed ({status})", args.join(" "));
            }
        }
    }
    Ok(())
}
