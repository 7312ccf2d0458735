//! A real OpenSSH `sshd` for `ssh://` access: its own config, host key and
//! authorized client key in a temporary directory, listening on a free
//! loopback port, accepting only the current user with the generated key.
//! Clients run `git-upload-pack '<root>/<repo>.git'` through it.

use std::fs;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// Where Debian installs sshd; sshd must be started by absolute path (it
/// re-executes itself for every connection).
const SSHD_CANDIDATES: &[&str] = &["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"];
/// How long sshd gets to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// Attempts with a fresh port, in case another process took ours.
const ATTEMPTS: usize = 3;

/// A running sshd; dropping it kills it and its connection processes.
pub(super) struct Sshd {
    child: Child,
    pub(super) port: u16,
    pub(super) user: String,
    pub(super) config: PathBuf,
    pub(super) identity: String,
    pub(super) identity_file: PathBuf,
    pub(super) known_hosts: String,
    pub(super) known_hosts_file: PathBuf,
}

fn sshd_binary() -> anyhow::Result<PathBuf> {
    SSHD_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .context("sshd not found in /usr/sbin (install the openssh-server package)")
}

fn current_user() -> anyhow::Result<String> {
    let out = super::repo::run(Command::new("id").arg("-un"), None)?;
    Ok(out.trim().to_owned())
}

/// `ssh-keygen -t ed25519` into `path` (and `path.pub`), without passphrase.
fn keygen(path: &Path, comment: &str) -> anyhow::Result<()> {
    super::repo::run(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
            .arg(path),
        None,
    )
    .context("running ssh-keygen (install the openssh-client package)")?;
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn write(path: &Path, contents: &str) -> anyhow::Result<()> {
    fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

fn free_port() -> anyhow::Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port for sshd")?;
    Ok(listener.local_addr().context("sshd port")?.port())
}

impl Sshd {
    /// Generates keys and config under `dir` and starts sshd.
    pub(super) fn start(dir: &Path) -> anyhow::Result<Sshd> {
        let sshd = sshd_binary()?;
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let user = current_user()?;
        let host_key = dir.join("host_ed25519");
        let identity_file = dir.join("id_ed25519");
        keygen(&host_key, "weir-test-host")?;
        keygen(&identity_file, "weir-test-client")?;
        // ssh refuses private keys others can read.
        fs::set_permissions(&identity_file, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", identity_file.display()))?;
        let authorized_keys = dir.join("authorized_keys");
        write(
            &authorized_keys,
            &read(&identity_file.with_extension("pub"))?,
        )?;
        let host_pub = read(&host_key.with_extension("pub"))?;
        let host_pub = host_pub
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let identity = read(&identity_file)?;
        // Privilege separation needs this directory when running as root.
        if Path::new("/run").is_dir() {
            let _ = fs::create_dir_all("/run/sshd");
        }

        let config = dir.join("sshd_config");
        let log = dir.join("sshd.log");
        let mut last_error = None;
        for _ in 0..ATTEMPTS {
            let port = free_port()?;
            write(
                &config,
                &format!(
                    "ListenAddress 127.0.0.1\n\
                     Port {port}\n\
                     HostKey {host_key}\n\
                     AuthorizedKeysFile {authorized_keys}\n\
                     PubkeyAuthentication yes\n\
                     PasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\n\
                     UsePAM no\n\
                     StrictModes no\n\
                     PidFile {pid_file}\n\
                     PermitRootLogin prohibit-password\n\
                     AllowUsers {user}\n\
                     AcceptEnv GIT_PROTOCOL\n\
                     UseDNS no\n\
                     PrintMotd no\n\
                     PrintLastLog no\n\
                     X11Forwarding no\n\
                     AllowTcpForwarding no\n\
                     AllowAgentForwarding no\n\
                     PermitTunnel no\n\
                     MaxStartups 256\n\
                     MaxSessions 64\n\
                     LoginGraceTime 60\n\
                     LogLevel INFO\n",
                    host_key = host_key.display(),
                    authorized_keys = authorized_keys.display(),
                    pid_file = dir.join("sshd.pid").display(),
                ),
            )?;
            let log_file =
                fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
            let child = Command::new(&sshd)
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .with_context(|| format!("starting {}", sshd.display()))?;
            let mut server = Sshd {
                child,
                port,
                user: user.clone(),
                config: config.clone(),
                identity: identity.clone(),
                identity_file: identity_file.clone(),
                known_hosts: format!(
                    "[127.0.0.1]:{port} {host_pub}\n[localhost]:{port} {host_pub}\n"
                ),
                known_hosts_file: dir.join("known_hosts"),
            };
            write(&server.known_hosts_file, &server.known_hosts)?;
            match server.wait_ready(&log) {
                Ok(()) => return Ok(server),
                // Dropping `server` kills what is left of this attempt.
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("sshd did not start")))
    }

    fn wait_ready(&mut self, log: &Path) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().context("checking on sshd")? {
                bail!(
                    "sshd exited ({status}): {}",
                    fs::read_to_string(log).unwrap_or_default().trim()
                );
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "sshd not listening on port {} after {READY_TIMEOUT:?}: {}",
                    self.port,
                    fs::read_to_string(log).unwrap_or_default().trim()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Parent pid from `/proc/<pid>/stat` (the field after the `(comm)`).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(1)?.parse().ok()
}

/// Every live descendant of `root` (per-connection sshd processes call
/// setsid, so a process group would not cover them).
fn descendants(root: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, parent_of(pid)?)))
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    found.remove(0);
    found
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // Connection processes first, while they are still found through
        // sshd, then sshd itself, reaped so it leaves no zombie.
        for pid in descendants(self.child.id()) {
            if let Ok(pid) = libc::pid_t::try_from(pid) {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
