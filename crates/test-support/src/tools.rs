//! Pinned oracle binaries (the real `kustomize` and `helm`), installed from
//! Go modules into `$HOME/.cache/weir/tools/<name>-<version>/` on first use.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, bail};

/// The kustomize release the conformance suite and benchmarks compare against.
pub const KUSTOMIZE_VERSION: &str = "v5.8.0";

/// The Helm release the chart in `charts/weir` is linted and rendered with.
pub const HELM_VERSION: &str = "v3.22.0";

fn tools_dir() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache/weir/tools")
}

/// Installs `module@version` with `go install` into its own directory unless
/// the binary is already there. A file lock makes concurrent callers (test
/// binaries run in parallel) install once.
fn go_install(
    module: &str,
    version: &str,
    binary: &str,
    dir_name: &str,
) -> anyhow::Result<PathBuf> {
    let dir = tools_dir().join(dir_name);
    let bin = dir.join(binary);
    if bin.is_file() {
        return Ok(bin);
    }
    crate::lock::with_file_lock(&dir.join(".lock"), || {
        if !bin.is_file() {
            let status = Command::new("go")
                .args(["install", &format!("{module}@{version}")])
                .env("GOBIN", &dir)
                .env("GOFLAGS", "-mod=mod")
                .status()
                .context("running `go install` (is Go installed?)")?;
            if !status.success() {
                bail!("go install {module}@{version} failed: {status}");
            }
            if !bin.is_file() {
                bail!("{} missing after go install", bin.display());
            }
        }
        Ok(bin.clone())
    })
}

/// The real kustomize binary (`WEIR_KUSTOMIZE_BIN` overrides).
pub fn kustomize() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("WEIR_KUSTOMIZE_BIN") {
        return Ok(PathBuf::from(path));
    }
    go_install(
        "sigs.k8s.io/kustomize/kustomize/v5",
        KUSTOMIZE_VERSION,
        "kustomize",
        &format!("kustomize-{KUSTOMIZE_VERSION}"),
    )
}

/// The real helm binary (`WEIR_HELM_BIN` overrides).
pub fn helm() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("WEIR_HELM_BIN") {
        return Ok(PathBuf::from(path));
    }
    go_install(
        "helm.sh/helm/v3/cmd/helm",
        HELM_VERSION,
        "helm",
        &format!("helm-{HELM_VERSION}"),
    )
}
