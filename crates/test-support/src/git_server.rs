//! A real Git server for tests, benchmarks and demos.
//!
//! [`GitServer::start`] serves the bare repositories under a temporary
//! directory with git's smart HTTP protocol — every request is handled by
//! the real `git http-backend` run as a CGI program — optionally over TLS
//! (a freshly generated CA) and behind basic or bearer authentication, and
//! optionally over `ssh://` through a real OpenSSH `sshd`. Repositories are
//! created and filled with git plumbing ([`Repo`]), without work trees.
//!
//! The API is synchronous so it works from plain code (xtask) and from
//! tokio tests alike; dropping the server stops everything it started and
//! removes its directory.
//!
//! ```no_run
//! use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};
//! # fn main() -> anyhow::Result<()> {
//! let server = GitServer::start(GitServerOptions::default())?;
//! let repo = server.repo("podinfo")?;
//! let sha = repo.commit("main", &[("kustomization.yaml", Entry::File(b"resources: []\n"))], "init")?;
//! println!("clone {} and check out {sha}", server.http_url("podinfo"));
//! # Ok(())
//! # }
//! ```

mod http;
mod repo;
mod ssh;

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};

pub use repo::{AUTHOR_EMAIL, AUTHOR_NAME, Entry, Repo};

/// What [`GitServer::start`] serves.
#[derive(Clone, Debug, Default)]
pub struct GitServerOptions {
    /// When set, HTTP requires this user and password (or the bearer token);
    /// other requests get `401` with `WWW-Authenticate: Basic realm="git"`.
    pub basic_auth: Option<(String, String)>,
    /// When set, `Authorization: Bearer <token>` is accepted (and required
    /// unless basic credentials are given instead).
    pub bearer_token: Option<String>,
    /// Serve HTTPS with a certificate for 127.0.0.1 and localhost, issued by
    /// a freshly generated CA ([`GitServer::ca_pem`]).
    pub tls: bool,
    /// Also start sshd for `ssh://` URLs.
    pub ssh: bool,
}

/// A running Git server. Dropping it stops the HTTP server (killing any
/// `git http-backend` still running), kills sshd and removes the directory
/// holding the repositories and keys.
pub struct GitServer {
    // Declared (and so dropped) before `dir`: servers stop before their
    // files go away.
    http: Option<http::HttpServer>,
    sshd: Option<ssh::Sshd>,
    dir: PathBuf,
    root: PathBuf,
    tls: bool,
    ca_pem: Option<String>,
    ca_file: Option<PathBuf>,
    /// Serialises repository creation, which appends to the new config.
    create: Mutex<()>,
}

impl GitServer {
    /// Starts the HTTP(S) server, and sshd when `opts.ssh`, on free
    /// 127.0.0.1 ports.
    pub fn start(opts: GitServerOptions) -> anyhow::Result<GitServer> {
        let dir = make_temp_dir()?;
        // From here on, a failure must still remove `dir`; the guard's Drop
        // does that (and stops whatever had started).
        let mut server = GitServer {
            http: None,
            sshd: None,
            root: dir.join("repos"),
            dir,
            tls: opts.tls,
            ca_pem: None,
            ca_file: None,
            create: Mutex::new(()),
        };
        fs::create_dir_all(&server.root)
            .with_context(|| format!("creating {}", server.root.display()))?;
        let tls_config = if opts.tls {
            let (ca_pem, config) = tls_config()?;
            let ca_file = server.dir.join("ca.pem");
            fs::write(&ca_file, &ca_pem)
                .with_context(|| format!("writing {}", ca_file.display()))?;
            server.ca_pem = Some(ca_pem);
            server.ca_file = Some(ca_file);
            Some(config)
        } else {
            None
        };
        server.http = Some(http::HttpServer::start(
            server.root.clone(),
            http::Auth {
                basic: opts.basic_auth,
                bearer: opts.bearer_token,
            },
            tls_config,
        )?);
        if opts.ssh {
            server.sshd = Some(ssh::Sshd::start(&server.dir.join("ssh")).context("starting sshd")?);
        }
        Ok(server)
    }

    /// The directory holding the bare repositories `<name>.git`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The HTTP server's port.
    pub fn http_port(&self) -> u16 {
        self.http.as_ref().map_or(0, |h| h.port())
    }

    /// `http(s)://127.0.0.1:<port>/<repo>.git`.
    pub fn http_url(&self, repo: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!(
            "{scheme}://127.0.0.1:{}/{}.git",
            self.http_port(),
            strip_git(repo)
        )
    }

    /// `ssh://<user>@127.0.0.1:<port><root>/<repo>.git`, when sshd runs.
    pub fn ssh_url(&self, repo: &str) -> Option<String> {
        let sshd = self.sshd.as_ref()?;
        Some(format!(
            "ssh://{}@127.0.0.1:{}{}/{}.git",
            sshd.user,
            sshd.port,
            self.root.display(),
            strip_git(repo)
        ))
    }

    /// The sshd port, when sshd runs.
    pub fn ssh_port(&self) -> Option<u16> {
        self.sshd.as_ref().map(|s| s.port)
    }

    /// The CA certificate (PEM) the HTTPS certificate is issued by.
    pub fn ca_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// [`ca_pem`](Self::ca_pem) written to a file (for `GIT_SSL_CAINFO`).
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// The client's private key (ed25519, OpenSSH format) sshd accepts.
    pub fn ssh_identity(&self) -> Option<String> {
        self.sshd.as_ref().map(|s| s.identity.clone())
    }

    /// [`ssh_identity`](Self::ssh_identity) as a file with mode 0600.
    pub fn ssh_identity_file(&self) -> Option<&Path> {
        self.sshd.as_ref().map(|s| s.identity_file.as_path())
    }

    /// known_hosts lines for `[127.0.0.1]:<port>` and `[localhost]:<port>`
    /// with sshd's host key.
    pub fn ssh_known_hosts(&self) -> Option<String> {
        self.sshd.as_ref().map(|s| s.known_hosts.clone())
    }

    /// [`ssh_known_hosts`](Self::ssh_known_hosts) as a file.
    pub fn ssh_known_hosts_file(&self) -> Option<&Path> {
        self.sshd.as_ref().map(|s| s.known_hosts_file.as_path())
    }

    /// sshd's configuration file (unique to this server).
    pub fn sshd_config(&self) -> Option<&Path> {
        self.sshd.as_ref().map(|s| s.config.as_path())
    }

    /// A `GIT_SSH_COMMAND` value that authenticates with the generated key
    /// and checks the host key strictly.
    pub fn git_ssh_command(&self) -> Option<String> {
        Some(format!(
            "ssh -i {} -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes",
            self.ssh_identity_file()?.display(),
            self.ssh_known_hosts_file()?.display()
        ))
    }

    /// The bare repository `<root>/<name>.git`, created when missing.
    pub fn repo(&self, name: &str) -> anyhow::Result<Repo> {
        let path = self.repo_path(name)?;
        let _guard = self
            .create
            .lock()
            .map_err(|_| anyhow::anyhow!("repository creation lock poisoned"))?;
        if path.join("HEAD").is_file() {
            return Ok(Repo::open(path));
        }
        Repo::init(path).with_context(|| format!("creating repository {name}"))
    }

    /// Copies repository `from` to a new repository `to` (object files are
    /// hard-linked, which is safe as git never rewrites them in place):
    /// much faster than building many identical repositories commit by
    /// commit.
    pub fn copy_repo(&self, from: &str, to: &str) -> anyhow::Result<Repo> {
        let src = self.repo_path(from)?;
        let dst = self.repo_path(to)?;
        if !src.join("HEAD").is_file() {
            bail!("repository {from} does not exist");
        }
        if dst.exists() {
            bail!("repository {to} already exists");
        }
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        // Copy into a temporary name and rename, so a concurrent reader
        // never sees a half-copied repository.
        let tmp = dst.with_extension(format!("git.tmp-{}", unique_suffix()));
        let result = copy_tree(&src, &tmp, &src.join("objects"))
            .and_then(|()| {
                fs::rename(&tmp, &dst).with_context(|| format!("renaming to {}", dst.display()))
            })
            .with_context(|| format!("copying repository {from} to {to}"));
        if result.is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        result.map(|()| Repo::open(dst))
    }

    /// The number of HTTP requests received so far (including refused ones).
    pub fn requests(&self) -> u64 {
        self.http.as_ref().map_or(0, |h| h.requests())
    }

    fn repo_path(&self, name: &str) -> anyhow::Result<PathBuf> {
        let name = strip_git(name);
        let relative = Path::new(name);
        if name.is_empty()
            || !relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        {
            bail!("invalid repository name {name:?}");
        }
        Ok(self.root.join(format!("{name}.git")))
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        drop(self.http.take());
        drop(self.sshd.take());
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn strip_git(repo: &str) -> &str {
    repo.strip_suffix(".git").unwrap_or(repo)
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh directory under the system temp dir, with an absolute,
/// symlink-free path (it appears in ssh URLs).
fn make_temp_dir() -> anyhow::Result<PathBuf> {
    let base = std::env::temp_dir();
    let base = base
        .canonicalize()
        .with_context(|| format!("resolving {}", base.display()))?;
    for _ in 0..16 {
        let dir = base.join(format!("weir-git-{}", unique_suffix()));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    bail!(
        "could not create a unique directory under {}",
        base.display()
    )
}

/// Recursively copies `src` to `dst`, hard-linking files under `objects`
/// (falling back to copying, e.g. across file systems).
fn copy_tree(src: &Path, dst: &Path, objects: &Path) -> anyhow::Result<()> {
    fs::create_dir(dst).with_context(|| format!("creating {}", dst.display()))?;
    for entry in fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let entry = entry.with_context(|| format!("reading {}", src.display()))?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let kind = entry
            .file_type()
            .with_context(|| format!("inspecting {}", from.display()))?;
        if kind.is_dir() {
            copy_tree(&from, &to, objects)?;
        } else if kind.is_symlink() {
            let target =
                fs::read_link(&from).with_context(|| format!("reading {}", from.display()))?;
            std::os::unix::fs::symlink(&target, &to)
                .with_context(|| format!("creating {}", to.display()))?;
        } else if !(from.starts_with(objects) && fs::hard_link(&from, &to).is_ok()) {
            fs::copy(&from, &to)
                .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        }
    }
    Ok(())
}

/// A CA and a server certificate for 127.0.0.1 and localhost issued by it:
/// the CA's PEM and the rustls server configuration.
fn tls_config() -> anyhow::Result<(String, Arc<rustls::ServerConfig>)> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    let ca = crate::pki::Ca::new("weir-git-test-ca")?;
    let server = ca.issue(
        "weir-git-test-server",
        &[],
        &["127.0.0.1", "localhost"],
        &[rcgen::ExtendedKeyUsagePurpose::ServerAuth],
    )?;
    let (cert, key) = (server.cert, server.key);
    let ca_pem = ca.pem;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .context("building the git server TLS configuration")?;
    // Only HTTP/1.1 is served.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((ca_pem, Arc::new(config)))
}
