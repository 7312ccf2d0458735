//! The controllers as processes on this machine: their release builds, and
//! source-controller, kustomize-controller and notification-controller
//! started, watched, measured and stopped. `cargo xtask run` and the
//! controller benchmarks all go through here.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use kube::api::{Api, PostParams};
use weir_api::kustomize::v1::Kustomization;
use weir_api::source::v1::GitRepository;

/// How long a controller gets to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a controller gets to listen on its health address.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(30);

/// `$CARGO_TARGET_DIR`, or `target/` in the workspace.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"))
}

/// `cargo build --release -p <each package>`, in one invocation; `quiet`
/// passes `--quiet`.
pub fn cargo_build_release(packages: &[&str], quiet: bool) -> anyhow::Result<()> {
    let mut command = Command::new("cargo");
    command.args(["build", "--release"]);
    if quiet {
        command.arg("--quiet");
    }
    for package in packages {
        command.args(["-p", package]);
    }
    let status = command
        .current_dir(crate::workspace_root())
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!(
            "cargo build --release -p {} failed ({status})",
            packages.join(" -p ")
        );
    }
    Ok(())
}

/// The release binaries of the controllers.
pub struct Binaries {
    pub source: PathBuf,
    pub kustomize: PathBuf,
    pub notification: PathBuf,
}

/// The controllers' packages, as [`build_release`] builds them.
const CONTROLLER_PACKAGES: [&str; 3] = [
    "weir-source-controller",
    "weir-kustomize-controller",
    "weir-notification-controller",
];

/// Builds the controllers (release) in one cargo invocation, always all of
/// them: built one package at a time, their shared dependencies would get
/// other feature sets (and be compiled again) than in the usual
/// `-p a -p b -p c` build.
pub fn build_release(quiet: bool) -> anyhow::Result<Binaries> {
    cargo_build_release(&CONTROLLER_PACKAGES, quiet)?;
    let release = target_dir().join("release");
    let binaries = Binaries {
        source: release.join("source-controller"),
        kustomize: release.join("kustomize-controller"),
        notification: release.join("notification-controller"),
    };
    for binary in [
        &binaries.source,
        &binaries.kustomize,
        &binaries.notification,
    ] {
        if !binary.is_file() {
            bail!(
                "{} is missing after the build (is the cargo target directory elsewhere than \
                 $CARGO_TARGET_DIR or ./target?)",
                binary.display()
            );
        }
    }
    Ok(binaries)
}

/// What every controller process is started with.
pub struct Env<'a> {
    pub kubeconfig: &'a Path,
    /// `RUNTIME_NAMESPACE`, the one namespace it watches
    /// (`--watch-all-namespaces=false`).
    pub namespace: &'a str,
    /// `--log-level`.
    pub log_level: &'a str,
    /// `Some(dir)`: stdout and stderr go to `<dir>/<name>.log`, in console
    /// encoding (for people to read). `None`: stdout (the log) is discarded,
    /// stderr (panics) inherited.
    pub log_dir: Option<&'a Path>,
    /// Print `==> <name> stopped` (or killed) when it stops.
    pub report_stop: bool,
}

/// How a controller process ended.
#[derive(Clone, Copy, Debug)]
pub struct Exit {
    pub status: ExitStatus,
    /// Its peak resident set size over its whole life (`ru_maxrss`), KiB.
    pub max_rss_kib: u64,
    /// It ignored SIGTERM for [`STOP_TIMEOUT`] and was killed.
    pub killed: bool,
}

/// A controller running as a child process. Dropping it stops it.
pub struct ControllerProcess {
    name: &'static str,
    child: Child,
    log: Option<PathBuf>,
    /// Its `--health-addr`, listening once it runs.
    health_addr: SocketAddr,
    report_stop: bool,
    /// Set once reaped (by us, with `wait4`: `child` is not waited on again).
    exit: Option<Exit>,
}

impl ControllerProcess {
    /// Starts `binary` with the flags every controller takes (a free
    /// `--health-addr`, any `--metrics-addr`, no leader election, only
    /// `env.namespace` watched, `env.log_level`) and then `args`.
    ///
    /// The child is in its own process group (the terminal's Ctrl-C reaches
    /// only xtask, which then stops it) and gets SIGTERM when xtask dies,
    /// however that happens.
    pub fn spawn(
        name: &'static str,
        binary: &Path,
        args: &[String],
        env: &Env<'_>,
    ) -> anyhow::Result<ControllerProcess> {
        let health_addr = free_port()?;
        let mut command = Command::new(binary);
        command
            .args([
                format!("--health-addr={health_addr}"),
                "--metrics-addr=127.0.0.1:0".to_owned(),
                "--enable-leader-election=false".to_owned(),
                "--watch-all-namespaces=false".to_owned(),
                format!("--log-level={}", env.log_level),
            ])
            .env("KUBECONFIG", env.kubeconfig)
            .env("RUNTIME_NAMESPACE", env.namespace)
            .stdin(Stdio::null())
            .process_group(0);
        let log = match env.log_dir {
            Some(dir) => {
                let log = dir.join(format!("{name}.log"));
                let out =
                    File::create(&log).with_context(|| format!("creating {}", log.display()))?;
                let err = out
                    .try_clone()
                    .with_context(|| format!("opening {}", log.display()))?;
                command
                    .arg("--log-encoding=console")
                    .stdout(out)
                    .stderr(err);
                Some(log)
            }
            None => {
                command.stdout(Stdio::null());
                None
            }
        };
        command.args(args);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(ControllerProcess {
            name,
            child,
            log,
            health_addr,
            report_stop: env.report_stop,
            exit: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its log file, when it writes one.
    pub fn log(&self) -> Option<&Path> {
        self.log.as_deref()
    }

    /// Fails, with the end of its log, when it has exited.
    pub fn check(&mut self) -> anyhow::Result<()> {
        let exit = match self.exit {
            Some(exit) => Some(exit),
            None => self.reap(false)?,
        };
        if let Some(exit) = exit {
            bail!(
                "{} exited unexpectedly ({}){}",
                self.name,
                exit.status,
                self.log_tail(30)
                    .map(|t| format!("; {t}"))
                    .unwrap_or_default()
            );
        }
        Ok(())
    }

    /// Waits until its health endpoint accepts connections.
    pub async fn wait_listening(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + LISTEN_TIMEOUT;
        loop {
            self.check()?;
            if TcpStream::connect_timeout(&self.health_addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} is not listening on {} after {}s{}",
                    self.name,
                    self.health_addr,
                    LISTEN_TIMEOUT.as_secs(),
                    self.log_tail(15)
                        .map(|t| format!("\n{t}"))
                        .unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Its resident set size now, KiB (`VmRSS`); None once it has exited.
    pub fn rss_kib(&self) -> Option<u64> {
        self.proc_status_kib("VmRSS:")
    }

    /// Its peak resident set size so far, KiB (`VmHWM`); None once it has
    /// exited (then [`Exit::max_rss_kib`] has it).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.proc_status_kib("VmHWM:")
    }

    /// User plus system CPU time so far (`/proc/<pid>/stat`).
    pub fn cpu_time(&self) -> Option<Duration> {
        if self.exit.is_some() {
            return None;
        }
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // Fields after the parenthesised command name; utime and stime are
        // the 14th and 15th fields overall, so the 12th and 13th after it.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Some(Duration::from_millis(ticks * 1000 / hz))
    }

    /// A size line of `/proc/<pid>/status`, KiB.
    fn proc_status_kib(&self, field: &str) -> Option<u64> {
        if self.exit.is_some() {
            return None;
        }
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find(|l| l.starts_with(field))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    /// SIGTERM, then SIGKILL after [`STOP_TIMEOUT`]; reaped with `wait4`
    /// for its own `ru_maxrss`. Stopping again returns the same [`Exit`].
    pub fn stop(&mut self) -> anyhow::Result<Exit> {
        if let Some(exit) = self.exit {
            return Ok(exit);
        }
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        let exit = loop {
            if let Some(exit) = self.reap(false)? {
                break exit;
            }
            if Instant::now() > deadline {
                self.signal(libc::SIGKILL);
                let mut exit = self
                    .reap(true)?
                    .with_context(|| format!("{} did not exit after SIGKILL", self.name))?;
                exit.killed = true;
                self.exit = Some(exit);
                break exit;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if self.report_stop {
            if exit.killed {
                println!("==> {} killed (it ignored SIGTERM)", self.name);
            } else {
                println!("==> {} stopped", self.name);
            }
        }
        Ok(exit)
    }

    fn signal(&self, signal: libc::c_int) {
        if let Ok(pid) = libc::pid_t::try_from(self.pid()) {
            // SAFETY: signalling our own, not yet reaped, child.
            unsafe { libc::kill(pid, signal) };
        }
    }

    /// `wait4` on the child (blocking or not); records and returns its
    /// [`Exit`] once it has exited.
    fn reap(&mut self, block: bool) -> anyhow::Result<Option<Exit>> {
        let pid = libc::pid_t::try_from(self.pid()).context("pid out of range")?;
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain old data, zero is a valid bit pattern.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if block { 0 } else { libc::WNOHANG };
        // SAFETY: pid is our own child, not yet reaped (`exit` is None);
        // status and usage are valid pointers.
        let reaped = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        if reaped == 0 {
            return Ok(None);
        }
        if reaped != pid {
            bail!(
                "waiting for {}: {}",
                self.name,
                std::io::Error::last_os_error()
            );
        }
        let exit = Exit {
            status: ExitStatus::from_raw(status),
            max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
            killed: false,
        };
        self.exit = Some(exit);
        Ok(Some(exit))
    }

    /// "the end of <name> (<log>):" and its last `lines` lines, when it
    /// writes a log file.
    pub fn log_tail(&self, lines: usize) -> Option<String> {
        let log = self.log.as_ref()?;
        Some(format!(
            "the end of {} ({}):\n{}",
            self.name,
            log.display(),
            log_tail(log, lines)
        ))
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("stopping {}: {e:#}", self.name);
        }
    }
}

/// The flags of a source-controller storing artifacts in `storage`, served
/// at `storage_addr`, with its gRPC artifact stream at `grpc_addr`.
pub fn source_args(storage: &Path, storage_addr: SocketAddr, grpc_addr: SocketAddr) -> Vec<String> {
    vec![
        format!("--storage-path={}", storage.display()),
        format!("--storage-addr={storage_addr}"),
        format!("--grpc-addr={grpc_addr}"),
    ]
}

/// notification-controller with its event server (Flux's event API) and
/// its webhook receiver server on free loopback ports.
pub struct NotificationController {
    pub process: ControllerProcess,
    /// `--events-addr`: where events are POSTed.
    pub events_addr: SocketAddr,
    /// `--receiverAddr`: where Receivers' `status.webhookPath`s are served.
    pub receiver_addr: SocketAddr,
}

impl NotificationController {
    /// Starts it; `extra` flags come after the shared ones. Both servers
    /// listen once it has listed the Alerts, Providers and Receivers of
    /// `env.namespace`.
    pub fn start(
        binaries: &Binaries,
        env: &Env<'_>,
        extra: &[String],
    ) -> anyhow::Result<NotificationController> {
        let events_addr = free_port()?;
        let receiver_addr = free_port()?;
        let mut args = vec![
            format!("--events-addr={events_addr}"),
            format!("--receiverAddr={receiver_addr}"),
        ];
        args.extend_from_slice(extra);
        let process = ControllerProcess::spawn(
            "notification-controller",
            &binaries.notification,
            &args,
            env,
        )?;
        Ok(NotificationController {
            process,
            events_addr,
            receiver_addr,
        })
    }
}

/// source-controller, and kustomize-controller subscribed to its gRPC
/// artifact stream (`--artifact-stream-addr`).
pub struct Controllers {
    // Declared, and so dropped, kustomize-controller first: it stops before
    // the source it streams from.
    pub kustomize: ControllerProcess,
    pub source: ControllerProcess,
    pub storage_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
}

impl Controllers {
    /// Starts both on free ports, source-controller with its artifacts in
    /// `storage`; each gets its extra flags after the shared ones.
    pub fn start(
        binaries: &Binaries,
        env: &Env<'_>,
        storage: &Path,
        source_extra: &[String],
        kustomize_extra: &[String],
    ) -> anyhow::Result<Controllers> {
        let storage_addr = free_port()?;
        let grpc_addr = free_port()?;
        let mut source_args = source_args(storage, storage_addr, grpc_addr);
        source_args.extend_from_slice(source_extra);
        let source =
            ControllerProcess::spawn("source-controller", &binaries.source, &source_args, env)?;
        let mut kustomize_args = vec![format!("--artifact-stream-addr=http://{grpc_addr}")];
        kustomize_args.extend_from_slice(kustomize_extra);
        let kustomize = ControllerProcess::spawn(
            "kustomize-controller",
            &binaries.kustomize,
            &kustomize_args,
            env,
        )?;
        Ok(Controllers {
            kustomize,
            source,
            storage_addr,
            grpc_addr,
        })
    }

    /// Fails when either has exited.
    pub fn check(&mut self) -> anyhow::Result<()> {
        self.source.check()?;
        self.kustomize.check()
    }

    /// Waits until both listen on their health addresses.
    pub async fn wait_listening(&mut self) -> anyhow::Result<()> {
        self.source.wait_listening().await?;
        self.kustomize.wait_listening().await
    }

    /// Stops kustomize-controller, then source-controller: their exits, in
    /// that order.
    pub fn stop(&mut self) -> anyhow::Result<(Exit, Exit)> {
        let kustomize = self.kustomize.stop()?;
        Ok((kustomize, self.source.stop()?))
    }

    /// Their log files, source-controller's first.
    pub fn log_paths(&self) -> String {
        [&self.source, &self.kustomize]
            .iter()
            .filter_map(|c| c.log())
            .map(|l| l.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The ends of both logs (empty without log files).
    pub fn log_tails(&self) -> String {
        [&self.source, &self.kustomize]
            .iter()
            .filter_map(|c| c.log_tail(15))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A GitRepository following `main` of `url`, polled every `interval`.
pub fn git_repository(name: &str, url: &str, interval: &str) -> anyhow::Result<GitRepository> {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": { "name": name },
        "spec": { "url": url, "interval": interval, "ref": { "branch": "main" } },
    }))
    .context("building a GitRepository")
}

/// A Kustomization of GitRepository `source`: `spec` (a JSON object) with
/// the `sourceRef` added.
pub fn kustomization(
    name: &str,
    source: &str,
    mut spec: serde_json::Value,
) -> anyhow::Result<Kustomization> {
    spec["sourceRef"] = serde_json::json!({ "kind": "GitRepository", "name": source });
    serde_json::from_value(serde_json::json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": { "name": name },
        "spec": spec,
    }))
    .context("building a Kustomization")
}

/// Creates GitRepository `name` (following `main` of `url`, polled every
/// `interval`) in `namespace`, and Kustomization `name` of it there
/// (`spec` with the `sourceRef` added).
pub async fn create_git_repository_and_kustomization(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    (url, interval): (&str, &str),
    spec: serde_json::Value,
) -> anyhow::Result<()> {
    Api::<GitRepository>::namespaced(client.clone(), namespace)
        .create(
            &PostParams::default(),
            &git_repository(name, url, interval)?,
        )
        .await
        .context("creating the GitRepository")?;
    Api::<Kustomization>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &kustomization(name, name, spec)?)
        .await
        .context("creating the Kustomization")?;
    Ok(())
}

/// A free loopback port (bound, read and released: the controller binds it
/// a moment later).
pub fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    listener.local_addr().context("reading a free port")
}

fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            if all.is_empty() {
                return "    (empty)".to_owned();
            }
            let start = all.len().saturating_sub(lines);
            all[start..]
                .iter()
                .map(|l| format!("    {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        }
        Err(e) => format!("    (cannot read it: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    /// A stand-in controller: a script that takes any flags and sleeps.
    fn sleeper(dir: &Path, script: &str) -> PathBuf {
        let path = dir.join("controller");
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    fn env(log_dir: Option<&Path>) -> Env<'_> {
        Env {
            kubeconfig: Path::new("/nonexistent"),
            namespace: "default",
            log_level: "error",
            log_dir,
            report_stop: false,
        }
    }

    #[test]
    fn stop_reaps_once_and_reports_the_peak_memory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let binary = sleeper(dir.path(), "exec sleep 30");
        let mut process =
            ControllerProcess::spawn("sleeper", &binary, &[], &env(None)).expect("spawn");
        process.check().expect("running");
        assert!(process.rss_kib().is_some() && process.cpu_time().is_some());
        let exit = process.stop().expect("stop");
        assert!(!exit.killed && exit.max_rss_kib > 0, "{exit:?}");
        assert_eq!(exit.status.signal(), Some(libc::SIGTERM));
        let again = process.stop().expect("stop again");
        assert_eq!(exit.max_rss_kib, again.max_rss_kib);
        assert!(process.peak_rss_kib().is_none());
    }

    #[test]
    fn an_early_exit_is_an_error_with_the_end_of_the_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let binary = sleeper(dir.path(), "echo \"flags: $*\"; exit 3");
        let mut process = ControllerProcess::spawn(
            "quitter",
            &binary,
            &["--extra".to_owned()],
            &env(Some(dir.path())),
        )
        .expect("spawn");
        let started = Instant::now();
        let err = loop {
            if let Err(e) = process.check() {
                break e.to_string();
            }
            assert!(started.elapsed() < Duration::from_secs(10), "still running");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(
            err.contains("quitter exited unexpectedly (exit status: 3)"),
            "{err}"
        );
        assert!(err.contains("--log-encoding=console --extra"), "{err}");
        assert!(
            err.contains("--watch-all-namespaces=false --log-level=error"),
            "{err}"
        );
        assert!(free_port().expect("port").port() > 0);
    }
}
