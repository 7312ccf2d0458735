//! The `weir` command-line tool.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use weir_kustomize::fs::RealFs;
use weir_kustomize::{LoadRestrictions, Options, Reorder};

#[derive(Parser)]
#[command(name = "weir", about = "Weir GitOps tooling", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Kustomize operations.
    Kustomize {
        #[command(subcommand)]
        command: KustomizeCommand,
    },
}

#[derive(Subcommand)]
enum KustomizeCommand {
    /// Build a kustomization directory and print the resources.
    Build {
        /// The directory holding kustomization.yaml (default: current directory).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Output order: `legacy` (kind order) or `none` (input order).
        #[arg(long, value_enum, default_value_t = ReorderArg::Legacy)]
        reorder: ReorderArg,
        /// Which files kustomizations may read, as kustomize's flag:
        /// `LoadRestrictionsRootOnly` (default) or `LoadRestrictionsNone`.
        #[arg(long = "load-restrictor", value_enum, default_value_t = LoadRestrictorArg::LoadRestrictionsRootOnly)]
        load_restrictor: LoadRestrictorArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "verbatim")]
#[allow(clippy::enum_variant_names)]
enum LoadRestrictorArg {
    LoadRestrictionsRootOnly,
    LoadRestrictionsNone,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReorderArg {
    Legacy,
    None,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Kustomize {
            command:
                KustomizeCommand::Build {
                    dir,
                    reorder,
                    load_restrictor,
                },
        } => {
            let opts = Options {
                reorder: match reorder {
                    ReorderArg::Legacy => Reorder::Legacy,
                    ReorderArg::None => Reorder::None,
                },
                load_restrictions: match load_restrictor {
                    LoadRestrictorArg::LoadRestrictionsRootOnly => LoadRestrictions::RootOnly,
                    LoadRestrictorArg::LoadRestrictionsNone => LoadRestrictions::None,
                },
                ..Options::default()
            };
            match weir_kustomize::build_yaml(Arc::new(RealFs), &dir, &opts) {
                Ok(out) => {
                    let mut stdout = std::io::stdout().lock();
                    if let Err(e) = stdout
                        .write_all(out.as_bytes())
                        .and_then(|_| stdout.flush())
                    {
                        eprintln!("Error: writing output: {e}");
                        return ExitCode::FAILURE;
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("Error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
