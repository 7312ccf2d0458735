//! Pinned oracle binaries (the real `kustomize`, `helm` and `flux`),
//! installed from Go modules into `$HOME/.cache/weir/tools/<name>-<version>/`
//! on first use.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, bail};

/// The kustomize release the conformance suite and benchmarks compare against.
pub const KUSTOMIZE_VERSION: &str = "v5.8.0";

/// The Helm release the chart in `charts/weir` is linted and rendered with.
pub const HELM_VERSION: &str = "v3.22.0";

/// The Flux CLI release Weir's compatibility tests drive.
pub const FLUX_VERSION: &str = "v2.9.5";

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

/// Runs the real `flux` CLI against the local control plane in
/// `namespace` (60 s timeout): whether it succeeded, and its stdout and
/// stderr together.
pub fn run_flux(namespace: &str, args: &[&str]) -> anyhow::Result<(bool, String)> {
    let out = Command::new(flux()?)
        .args(args)
        .args(["--namespace", namespace, "--timeout", "60s"])
        .env("KUBECONFIG", crate::cluster::kubeconfig_path())
        .output()
        .context("running flux")?;
    Ok((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

/// The real `flux` CLI (`WEIR_FLUX_BIN` overrides).
///
/// flux2's go.mod has a `replace` directive, so `go install module@version`
/// refuses it; instead the module source is downloaded from the Go module
/// proxy and built in a scratch copy. `cmd/flux` embeds the install
/// manifests, which releases generate at build time; the tests never run
/// `flux install`, so a placeholder stands in for them.
pub fn flux() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("WEIR_FLUX_BIN") {
        return Ok(PathBuf::from(path));
    }
    let dir = tools_dir().join(format!("flux-{FLUX_VERSION}"));
    let bin = dir.join("flux");
    if bin.is_file() {
        return Ok(bin);
    }
    crate::lock::with_file_lock(&dir.join(".lock"), || {
        if bin.is_file() {
            return Ok(bin.clone());
        }
        let module = format!("github.com/fluxcd/flux2/v2@{FLUX_VERSION}");
        let out = Command::new("go")
            .args(["mod", "download", "-json", &module])
            .output()
            .context("running `go mod download` (is Go installed?)")?;
        if !out.status.success() {
            bail!(
                "go mod download {module} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let info: serde_json::Value =
            serde_json::from_slice(&out.stdout).context("reading go mod download output")?;
        let source = info["Dir"]
            .as_str()
            .context("go mod download printed no Dir")?;
        let scratch = dir.join("src");
        let _ = std::fs::remove_dir_all(&scratch);
        let status = Command::new("cp")
            .args(["-r", source, &scratch.display().to_string()])
            .status()
            .context("copying the flux2 module source")?;
        if !status.success() {
            bail!("copying {source} failed");
        }
        // The module cache is read-only; the copy must be writable.
        Command::new("chmod")
            .args(["-R", "u+w", &scratch.display().to_string()])
            .status()
            .context("chmod")?;
        let manifests = scratch.join("cmd/flux/manifests");
        std::fs::create_dir_all(&manifests).context("creating cmd/flux/manifests")?;
        std::fs::write(
            manifests.join("placeholder.yaml"),
            "# flux install is not used by Weir's tests\n",
        )
        .context("writing the placeholder manifest")?;
        let status = Command::new("go")
            .args(["build", "-o", &bin.display().to_string(), "./cmd/flux"])
            .current_dir(&scratch)
            .status()
            .context("running go build for flux")?;
        let _ = std::fs::remove_dir_all(&scratch);
        if !status.success() || !bin.is_file() {
            bail!("building flux {FLUX_VERSION} failed: {status}");
        }
        Ok(bin.clone())
    })
}
