//! Talking to the remote: a throw-away bare repository per fetch, configured in memory.

use std::{
    any::Any,
    fs,
    io::Write,
    num::NonZeroU32,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use base64::Engine as _;
use gix::{
    ObjectId,
    bstr::ByteSlice,
    protocol::{
        handshake::Ref,
        transport::client::blocking_io::http::{self, reqwest as gix_reqwest},
    },
    remote::{Direction, fetch::Tags},
};

use crate::{
    Auth, Cancel, GitError,
    error::{Stage, classify},
    urls,
};

/// Shared, per-`fetch` settings.
pub(crate) struct Context<'a> {
    pub auth: &'a Auth,
    pub cancel: &'a Arc<Cancel>,
    pub deadline: Instant,
    pub timeout: Duration,
}

/// Result of [`Session::fetch_ref`].
pub(crate) struct RefOutcome {
    /// The commit the ref peels to.
    pub commit: ObjectId,
    /// `false` when the commit was already known and no pack was requested.
    pub fetched: bool,
}

/// A temporary bare repository connected to one remote URL.
pub(crate) struct Session<'c> {
    repo: gix::Repository,
    url: String,
    display_url: String,
    is_http: bool,
    ssh_log: Option<PathBuf>,
    ctx: &'c Context<'c>,
    /// Credentials are only sent when the server is the one they were configured for.
    send_credentials: bool,
    /// Holds the object database and secret files; removed on drop, after `repo` (field order).
    _dir: tempfile::TempDir,
}

enum Step {
    Stop,
    Receive,
}

/// Errors of [`Session::connect_and`], telling whether the pack transfer itself failed.
enum Phased {
    Before(GitError),
    Receive(GitError),
}

impl From<GitError> for Phased {
    fn from(e: GitError) -> Self {
        Phased::Before(e)
    }
}

impl From<Phased> for GitError {
    fn from(e: Phased) -> Self {
        match e {
            Phased::Before(e) | Phased::Receive(e) => e,
        }
    }
}

impl<'c> Session<'c> {
    pub(crate) fn new(url: &str, ctx: &'c Context<'c>) -> Result<Self, GitError> {
        Self::with_credentials(url, ctx, true)
    }

    /// `send_credentials = false` is for submodules on other hosts: never leak secrets there.
    pub(crate) fn with_credentials(
        url: &str,
        ctx: &'c Context<'c>,
        send_credentials: bool,
    ) -> Result<Self, GitError> {
        let display_url = urls::redact(url);
        let scheme = urls::scheme(url);
        let (is_http, is_ssh) = match scheme.as_deref() {
            Some("http" | "https") => (true, false),
            Some("ssh") => (false, true),
            Some("file") => (false, false),
            _ => {
                return Err(GitError::Transport(format!(
                    "unsupported URL {display_url:?}: expected http://, https://, ssh:// or file://"
                )));
            }
        };
        if is_http {
            // reqwest is built without a default provider; the workspace standardises on ring.
            // Ignoring the error keeps whatever provider the process installed first.
            let _ = rustls::crypto::ring::default_provider().install_default();
            if let Some(pem) = &ctx.auth.ca_pem {
                let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                    GitError::Transport(format!("invalid CA certificate for {display_url}: {e}"))
                })?;
                if certs.is_empty() {
                    return Err(GitError::Transport(format!(
                        "CA data for {display_url} contains no PEM certificate"
                    )));
                }
            }
        }

        let dir = tempfile::Builder::new()
            .prefix("weir-git-")
            .tempdir()
            .map_err(|e| GitError::Checkout(format!("cannot create temporary directory: {e}")))?;
        let mut overrides: Vec<String> = vec![
            "protocol.version=2".into(),
            // Object database hygiene for a short-lived repo: nothing should run in the background.
            "gc.auto=0".into(),
            "maintenance.auto=false".into(),
        ];
        let mut ssh_log = None;
        if is_ssh {
            let (command, log) = prepare_ssh(dir.path(), ctx)?;
            overrides.push(format!("core.sshCommand={command}"));
            overrides.push("ssh.variant=ssh".into());
            ssh_log = Some(log);
        }
        // Isolated: no global/system config, no environment, no credential helpers or URL rewrites.
        let open = gix::open::Options::isolated().config_overrides(overrides);
        let repo = gix::ThreadSafeRepository::init_opts(
            dir.path().join("db"),
            gix::create::Kind::Bare,
            gix::create::Options::default(),
            open,
        )
        .map_err(|e| GitError::Checkout(format!("cannot create temporary repository: {e}")))?
        .to_thread_local();
        Ok(Session {
            _dir: dir,
            repo,
            url: url.to_owned(),
            display_url,
            is_http,
            ssh_log,
            ctx,
            send_credentials,
        })
    }

    pub(crate) fn repo(&self) -> &gix::Repository {
        &self.repo
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn display_url(&self) -> &str {
        &self.display_url
    }

    /// Names of all tags on the remote (without `refs/tags/`), via ls-refs only.
    pub(crate) fn list_tags(&self) -> Result<Vec<String>, GitError> {
        let mut tags = Vec::new();
        self.connect_and(&["+refs/tags/*:refs/tags/*".to_owned()], false, |map| {
            for r in &map.remote_refs {
                let (name, _, _) = r.unpack();
                if let Some(tag) = name
                    .to_str()
                    .ok()
                    .and_then(|n| n.strip_prefix("refs/tags/"))
                {
                    tags.push(tag.to_owned());
                }
            }
            Ok(Step::Stop)
        })?;
        Ok(tags)
    }

    /// Resolve `full_name` on the remote; unless `is_known(commit)`, fetch it with depth 1.
    pub(crate) fn fetch_ref(
        &self,
        full_name: &str,
        is_known: impl FnOnce(&str) -> bool,
    ) -> Result<RefOutcome, GitError> {
        let mut commit = None;
        let fetched = self.connect_and(&[format!("+{full_name}:{full_name}")], true, |map| {
            let found = map
                .remote_refs
                .iter()
                .find(|r| r.unpack().0 == full_name.as_bytes())
                .and_then(peeled_commit);
            let Some(id) = found else {
                return Err(GitError::RefNotFound(format!(
                    "{full_name} not found on {}",
                    self.display_url
                )));
            };
            commit = Some(id);
            Ok(if is_known(&id.to_string()) {
                Step::Stop
            } else {
                Step::Receive
            })
        })?;
        let commit = commit.ok_or_else(|| {
            GitError::RefNotFound(format!("{full_name} not found on {}", self.display_url))
        })?;
        if fetched {
            self.ensure_commit(commit, full_name)?;
        }
        Ok(RefOutcome { commit, fetched })
    }

    /// Fetch a commit by id with depth 1.
    fn fetch_commit_by_id(&self, id: ObjectId) -> Result<(), GitError> {
        self.connect_and(&[id.to_string()], true, |_| Ok(Step::Receive))
            .map_err(|e| match e {
                // The server accepted the connection and listed refs, then failed on our `want`:
                // upload-pack answers unknown ids with an error packet or by hanging up.
                Phased::Receive(GitError::Transport(detail)) => GitError::RefNotFound(format!(
                    "commit {id} not found (the server refused to send it): {detail}"
                )),
                other => other.into(),
            })?;
        self.ensure_commit(id, &id.to_string())
    }

    fn ensure_commit(&self, id: ObjectId, what: &str) -> Result<(), GitError> {
        match self.repo.find_header(id) {
            Ok(h) if h.kind() == gix::objs::Kind::Commit => Ok(()),
            Ok(h) => Err(GitError::RefNotFound(format!(
                "{what} on {} points to a {}, not a commit",
                self.display_url,
                h.kind()
            ))),
            Err(_) => Err(GitError::RefNotFound(format!(
                "commit {id} not found on {}",
                self.display_url
            ))),
        }
    }

    /// Connect with `refspecs`, list refs (ls-refs with the refspecs' prefixes), let `decide`
    /// look at them, then optionally receive the pack. Returns whether a pack was received.
    fn connect_and(
        &self,
        refspecs: &[String],
        shallow: bool,
        decide: impl FnOnce(&gix::remote::fetch::RefMap) -> Result<Step, GitError>,
    ) -> Result<bool, Phased> {
        self.ctx.cancel.check()?;
        let remote = self
            .repo
            .remote_at(self.url.as_str())
            .map_err(|e| self.err(&e, Stage::Local))?
            .with_fetch_tags(Tags::None)
            .with_refspecs(refspecs.iter().map(String::as_str), Direction::Fetch)
            .map_err(|e| self.err(&e, Stage::Local))?;
        let mut connection = remote
            .connect(Direction::Fetch)
            .map_err(|e| self.err(&e, Stage::Network))?;
        if self.is_http {
            connection = connection.with_transport_options(self.http_options()?);
        }
        // Credentials never come from helpers or prompts: HTTP auth is sent as headers (see
        // `http_options`), so a 401 surfaces as an authentication error.
        let connection = connection.with_credentials(|_| Ok(None));
        let prepare = connection
            .prepare_fetch(gix::progress::Discard, Default::default())
            .map_err(|e| self.err(&e, Stage::Network))?;
        match decide(prepare.ref_map())? {
            Step::Stop => Ok(false),
            Step::Receive => {
                self.ctx.cancel.check()?;
                let prepare = if shallow {
                    prepare
                        .with_shallow(gix::remote::fetch::Shallow::DepthAtRemote(NonZeroU32::MIN))
                } else {
                    prepare
                };
                prepare
                    .receive(gix::progress::Discard, self.ctx.cancel.flag())
                    .map_err(|e| Phased::Receive(self.err(&e, Stage::Network)))?;
                Ok(true)
            }
        }
    }

    /// HTTP transport options: bearer header, CA roots and timeouts for the reqwest client.
    fn http_options(&self) -> Result<Box<dyn Any>, GitError> {
        let mut options = self
            .repo
            .transport_options(self.url.as_str(), None)
            .map_err(|e| self.err(&e, Stage::Local))?
            .ok_or_else(|| {
                GitError::Transport(format!(
                    "no HTTP transport available for {}",
                    self.display_url
                ))
            })?;
        let http_options = options.downcast_mut::<http::Options>().ok_or_else(|| {
            GitError::Transport(format!(
                "unexpected HTTP transport options type for {}",
                self.display_url
            ))
        })?;
        if let Some(token) = self
            .ctx
            .auth
            .bearer_token
            .as_ref()
            .filter(|_| self.send_credentials)
        {
            http_options
                .extra_headers
                .push(format!("Authorization: Bearer {token}"));
        }
        // Basic auth is sent up front as a header (like go-git does for Flux) rather than through
        // gix's credential flow, which refuses plain-http servers.
        let basic_header = match (&self.ctx.auth.basic, &self.ctx.auth.bearer_token) {
            (Some((user, pass)), None) if self.send_credentials => {
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
                let mut value = reqwest::header::HeaderValue::from_str(&format!("Basic {encoded}"))
                    .map_err(|_| {
                        GitError::Auth(format!(
                            "basic auth username/password for {} contain invalid characters",
                            self.display_url
                        ))
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
            _ => None,
        };
        let configure_request: Option<Box<gix_reqwest::ConfigureRequestFn>> =
            basic_header.map(|value| {
                Box::new(move |request: &mut reqwest::blocking::Request| {
                    request
                        .headers_mut()
                        .insert(reqwest::header::AUTHORIZATION, value.clone());
                    Ok(())
                }) as Box<gix_reqwest::ConfigureRequestFn>
            });
        let remaining = self
            .ctx
            .deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let ca = self.ctx.auth.ca_pem.clone();
        let configure_client: Box<gix_reqwest::ConfigureClientFn> = Box::new(move |builder| {
            // gix leaves reqwest's 30s default per-request timeout in place, which would cut off
            // large clones; the whole-operation deadline is what bounds us.
            let mut builder = builder
                .timeout(remaining)
                .connect_timeout(remaining.min(Duration::from_secs(30)));
            if let Some(pem) = &ca {
                let certs =
                    reqwest::Certificate::from_pem_bundle(pem).map_err(gix::Error::from_error)?;
                builder = builder.tls_certs_merge(certs);
            }
            Ok(builder)
        });
        http_options.backend = Some(Arc::new(Mutex::new(gix_reqwest::Options {
            configure_client: Some(configure_client),
            configure_request,
        })));
        Ok(options)
    }

    fn err(&self, e: &gix::Error, stage: Stage) -> GitError {
        if self.ctx.cancel.is_tripped() || Instant::now() >= self.ctx.deadline {
            return GitError::Timeout(self.ctx.timeout);
        }
        let log = self
            .ssh_log
            .as_ref()
            .and_then(|p| fs::read_to_string(p).ok());
        classify(e, stage, &self.display_url, log.as_deref())
    }
}

/// Fetch commit `id` from `url` into a new session: depth 1 by id first; when the server refuses
/// (older servers only serve advertised tips), fetch `branch` — or all branches and tags — with
/// full history and look for the commit there.
pub(crate) fn fetch_commit<'c>(
    url: &str,
    ctx: &'c Context<'c>,
    send_credentials: bool,
    id: ObjectId,
    branch: Option<&str>,
) -> Result<Session<'c>, GitError> {
    let session = Session::with_credentials(url, ctx, send_credentials)?;
    let refused = match session.fetch_commit_by_id(id) {
        Ok(()) => return Ok(session),
        Err(GitError::RefNotFound(msg)) => msg,
        Err(e) => return Err(e),
    };
    drop(session);
    let session = Session::with_credentials(url, ctx, send_credentials)?;
    let specs = match branch {
        Some(b) => vec![format!("+refs/heads/{b}:refs/heads/{b}")],
        None => vec![
            "+refs/heads/*:refs/heads/*".to_owned(),
            "+refs/tags/*:refs/tags/*".to_owned(),
        ],
    };
    session.connect_and(&specs, false, |map| {
        if map.mappings.is_empty() {
            return Err(GitError::RefNotFound(format!(
                "{}: {refused}",
                branch.map_or_else(
                    || "the remote has no branches or tags".to_owned(),
                    |b| format!("branch {b:?} not found"),
                )
            )));
        }
        Ok(Step::Receive)
    })?;
    session.ensure_commit(id, &id.to_string()).map_err(|_| {
        GitError::RefNotFound(format!(
            "commit {id} not found on {} (also not in a full fetch of {})",
            session.display_url(),
            branch.map_or_else(
                || "all branches and tags".to_owned(),
                |b| format!("branch {b:?}")
            )
        ))
    })?;
    Ok(session)
}

/// The commit a listed ref points to, peeling annotated tags.
fn peeled_commit(r: &Ref) -> Option<ObjectId> {
    match r {
        Ref::Peeled { object, .. } | Ref::Direct { object, .. } | Ref::Symbolic { object, .. } => {
            Some(*object)
        }
        Ref::Unborn { .. } => None,
    }
}

/// Write key material to private files and build the `core.sshCommand` for them.
/// Returns the command and the path of ssh's log file (its stderr).
fn prepare_ssh(dir: &Path, ctx: &Context<'_>) -> Result<(String, PathBuf), GitError> {
    let q = |p: &Path| shell_quote(&p.to_string_lossy());
    let log = dir.join("ssh.log");
    let connect_timeout = ctx.timeout.as_secs().clamp(1, 60);
    let mut cmd = format!(
        "ssh -F /dev/null -o IdentitiesOnly=yes -o IdentityAgent=none \
         -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \
         -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
         -o ConnectTimeout={connect_timeout} -o ServerAliveInterval=15 -o ServerAliveCountMax=4 \
         -E {}",
        q(&log)
    );
    match &ctx.auth.ssh {
        Some(ssh) => {
            let identity = dir.join("identity");
            let mut key = ssh.identity.clone();
            // OpenSSH refuses keys without a trailing newline.
            if !key.ends_with(b"\n") {
                key.push(b'\n');
            }
            write_private(&identity, &key, 0o600)?;
            let known_hosts = dir.join("known_hosts");
            write_private(&known_hosts, &ssh.known_hosts, 0o600)?;
            cmd.push_str(&format!(
                " -i {} -o UserKnownHostsFile={}",
                q(&identity),
                q(&known_hosts)
            ));
            match &ssh.password {
                Some(pass) if !pass.is_empty() => {
                    // BatchMode would refuse to ask for the passphrase, so ssh gets it from an
                    // askpass helper reading a private file (never from argv or the environment).
                    let pass_file = dir.join("passphrase");
                    write_private(&pass_file, pass.as_bytes(), 0o600)?;
                    let askpass = dir.join("askpass.sh");
                    write_private(
                        &askpass,
                        format!("#!/bin/sh\ncat {}\n", q(&pass_file)).as_bytes(),
                        0o700,
                    )?;
                    cmd = format!(
                        "SSH_ASKPASS={} SSH_ASKPASS_REQUIRE=force DISPLAY=none {cmd} -o NumberOfPasswordPrompts=1",
                        q(&askpass)
                    );
                }
                _ => cmd.push_str(" -o BatchMode=yes"),
            }
        }
        None => {
            cmd.push_str(" -o BatchMode=yes -o UserKnownHostsFile=/dev/null");
        }
    }
    Ok((cmd, log))
}

fn write_private(path: &Path, data: &[u8], mode: u32) -> Result<(), GitError> {
    let write = || -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)?;
        f.write_all(data)?;
        // The umask may have masked bits we need (askpass must be executable).
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        Ok(())
    };
    write().map_err(|e| GitError::Checkout(format!("cannot write {}: {e}", path.display())))
}

/// Single-quote for `sh`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
