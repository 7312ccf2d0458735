//! Fetch a single Git commit and write its tree to a directory, the way Flux's source-controller
//! does for `GitRepository` objects, using gitoxide (`gix`).
//!
//! * Only the needed ref is fetched, with depth 1; refs are listed first so that an unchanged
//!   commit costs one ls-refs round trip and no pack.
//! * The tree is written by walking git objects directly (no worktree checkout): symlinks are
//!   skipped, entry names are validated, blob sizes are bounded before reading.
//! * The git object database lives in a private temporary directory that is removed afterwards.
//!
//! This crate has no Kubernetes dependency; [`fetch`] is blocking (use `spawn_blocking`).

mod checkout;
mod error;
mod remote;
mod semver_range;
mod urls;

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

pub use error::GitError;

/// What to check out; mirrors Flux `GitRepository` `spec.ref`.
///
/// Precedence (Flux's): commit > name > semver > tag > branch; empty means branch `master`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitRef {
    pub branch: Option<String>,
    pub tag: Option<String>,
    pub semver: Option<String>,
    pub name: Option<String>,
    pub commit: Option<String>,
}

/// Credentials and trust settings. `Debug` never prints secrets.
#[derive(Clone, Default)]
pub struct Auth {
    /// HTTPS basic auth (username, password); offered when the server asks for credentials.
    pub basic: Option<(String, String)>,
    /// HTTPS: sent as `Authorization: Bearer <token>` on every request.
    pub bearer_token: Option<String>,
    /// Extra trusted CA certificate(s) in PEM for HTTPS server verification, added to the system roots.
    pub ca_pem: Option<Vec<u8>>,
    pub ssh: Option<SshAuth>,
}

/// SSH key material. `Debug` never prints secrets.
#[derive(Clone)]
pub struct SshAuth {
    /// Private key, OpenSSH or PEM format.
    pub identity: Vec<u8>,
    /// `known_hosts` lines; the host key must match one of them.
    pub known_hosts: Vec<u8>,
    /// Passphrase of `identity`, if it is encrypted.
    pub password: Option<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field(
                "basic",
                &self.basic.as_ref().map(|(user, _)| (user, "<redacted>")),
            )
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "ca_pem",
                &self.ca_pem.as_ref().map(|c| format!("<{} bytes>", c.len())),
            )
            .field("ssh", &self.ssh)
            .finish()
    }
}

impl std::fmt::Debug for SshAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshAuth")
            .field("identity", &"<redacted>")
            .field(
                "known_hosts",
                &format!("<{} bytes>", self.known_hosts.len()),
            )
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Input of [`fetch`].
#[derive(Debug)]
pub struct FetchOptions<'a> {
    /// `http://`, `https://`, `ssh://[user@]host[:port]/path` or `file://`.
    pub url: &'a str,
    pub reference: &'a GitRef,
    pub auth: &'a Auth,
    /// Limit for the whole operation; on expiry [`GitError::Timeout`] is returned.
    pub timeout: Duration,
    /// Hex SHA-1 of the commit already stored: when the remote resolves to it, no objects are
    /// fetched and [`FetchOutcome::Unchanged`] is returned.
    pub last_commit: Option<&'a str>,
    pub recurse_submodules: bool,
    /// A blob larger than this fails the checkout with [`GitError::FileTooLarge`].
    pub max_file_size: u64,
}

/// The commit a reference resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// 40 lowercase hex characters.
    pub commit: String,
    /// Flux v1 revision string, e.g. `main@sha1:<hex>`, `v1.0.0@sha1:<hex>`, `sha1:<hex>`.
    pub revision: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The remote resolved to `last_commit`; nothing was fetched and `dest` was not touched.
    Unchanged(Resolved),
    /// The tree of the resolved commit was written to `dest`.
    CheckedOut(Resolved),
}

impl FetchOutcome {
    pub fn resolved(&self) -> &Resolved {
        match self {
            FetchOutcome::Unchanged(r) | FetchOutcome::CheckedOut(r) => r,
        }
    }
}

/// Fetch the commit selected by `opts.reference` from `opts.url` and write its tree into `dest`,
/// an existing empty directory owned by the caller.
///
/// Blocking. The git database is kept in a private temporary directory and removed afterwards.
/// On error `dest` may contain a partial tree. After this returns (including on timeout),
/// nothing more is written to `dest`.
pub fn fetch(opts: &FetchOptions<'_>, dest: &Path) -> Result<FetchOutcome, GitError> {
    let job = Job {
        url: opts.url.to_owned(),
        reference: opts.reference.clone(),
        auth: opts.auth.clone(),
        last_commit: opts.last_commit.map(str::to_ascii_lowercase),
        recurse_submodules: opts.recurse_submodules,
        max_file_size: opts.max_file_size,
        dest: dest.to_path_buf(),
        deadline: Instant::now() + opts.timeout,
        timeout: opts.timeout,
    };
    let cancel = Arc::new(Cancel::new(opts.timeout));
    let (tx, rx) = mpsc::channel();
    let worker_cancel = Arc::clone(&cancel);
    // The work runs on its own thread because connecting, the handshake and ssh/file transports
    // cannot be interrupted; the caller gets `Timeout` on time and the worker winds down on its own
    // (it checks the flag between network steps and before every write to `dest`).
    std::thread::Builder::new()
        .name("weir-git-fetch".into())
        .spawn(move || {
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(&worker_cancel)))
                    .unwrap_or_else(|_| {
                        Err(GitError::Checkout(
                            "internal error: git worker panicked".into(),
                        ))
                    });
            // The receiver is gone after a timeout; nothing left to report then.
            let _ = tx.send(result);
        })
        .map_err(|e| GitError::Checkout(format!("cannot start git worker thread: {e}")))?;

    match rx.recv_timeout(opts.timeout) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            cancel.trip();
            // The worker may have finished between the timeout and the trip; a complete result
            // is still valid because nothing is written after a trip.
            match rx.try_recv() {
                Ok(Ok(outcome)) => Ok(outcome),
                _ => Err(GitError::Timeout(opts.timeout)),
            }
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(GitError::Checkout(
            "internal error: git worker ended without a result".into(),
        )),
    }
}

/// Cancellation shared between [`fetch`] and its worker.
pub(crate) struct Cancel {
    /// Also handed to gix as its interrupt flag.
    flag: AtomicBool,
    /// Held by the worker while writing to `dest` and by [`Cancel::trip`], so a trip never
    /// overlaps with a write and no write starts after it.
    gate: Mutex<()>,
    timeout: Duration,
}

impl Cancel {
    fn new(timeout: Duration) -> Self {
        Cancel {
            flag: AtomicBool::new(false),
            gate: Mutex::new(()),
            timeout,
        }
    }

    fn trip(&self) {
        let _gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        self.flag.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_tripped(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.flag
    }

    pub(crate) fn check(&self) -> Result<(), GitError> {
        if self.is_tripped() {
            Err(GitError::Timeout(self.timeout))
        } else {
            Ok(())
        }
    }

    /// Permission to write to `dest`; hold the guard for the duration of one write.
    pub(crate) fn write_permit(&self) -> Result<MutexGuard<'_, ()>, GitError> {
        let guard = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        self.check()?;
        Ok(guard)
    }
}

/// Owned copy of the request, moved to the worker thread.
struct Job {
    url: String,
    reference: GitRef,
    auth: Auth,
    last_commit: Option<String>,
    recurse_submodules: bool,
    max_file_size: u64,
    dest: PathBuf,
    deadline: Instant,
    timeout: Duration,
}

/// The reference after applying Flux's precedence rules.
enum Plan {
    Commit {
        id: gix::ObjectId,
        branch: Option<String>,
    },
    Name(String),
    Semver(String),
    Tag(String),
    Branch(String),
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Plan {
    fn from_ref(r: &GitRef) -> Result<Plan, GitError> {
        if let Some(commit) = non_empty(&r.commit) {
            let id = parse_full_sha1(commit)?;
            return Ok(Plan::Commit {
                id,
                branch: non_empty(&r.branch).map(str::to_owned),
            });
        }
        if let Some(name) = non_empty(&r.name) {
            validate_ref_name(name)?;
            if !name.starts_with("refs/") {
                return Err(GitError::InvalidRef(format!(
                    "ref name {name:?} must be a full reference starting with \"refs/\""
                )));
            }
            return Ok(Plan::Name(name.to_owned()));
        }
        if let Some(range) = non_empty(&r.semver) {
            return Ok(Plan::Semver(range.to_owned()));
        }
        if let Some(tag) = non_empty(&r.tag) {
            let tag = tag.strip_prefix("refs/tags/").unwrap_or(tag);
            validate_ref_name(&format!("refs/tags/{tag}"))?;
            return Ok(Plan::Tag(tag.to_owned()));
        }
        let branch = non_empty(&r.branch).unwrap_or("master");
        let branch = branch.strip_prefix("refs/heads/").unwrap_or(branch);
        validate_ref_name(&format!("refs/heads/{branch}"))?;
        Ok(Plan::Branch(branch.to_owned()))
    }
}

fn parse_full_sha1(hex: &str) -> Result<gix::ObjectId, GitError> {
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(GitError::InvalidRef(format!(
            "commit {hex:?} is not a full 40-character SHA-1"
        )));
    }
    gix::ObjectId::from_hex(hex.to_ascii_lowercase().as_bytes())
        .map_err(|e| GitError::InvalidRef(format!("commit {hex:?}: {e}")))
}

/// Reject names that git would reject, and anything that would change the meaning of the refspec
/// we build from it (`:`, `*`, leading `+`/`^`).
fn validate_ref_name(name: &str) -> Result<(), GitError> {
    gix::validate::reference::name(name.into())
        .map_err(|e| GitError::InvalidRef(format!("invalid ref name {name:?}: {e}")))?;
    if name.contains([':', '*', '^', '~', '?', '[', '\\', ' ']) || name.starts_with('+') {
        return Err(GitError::InvalidRef(format!("invalid ref name {name:?}")));
    }
    Ok(())
}

impl Job {
    fn run(&self, cancel: &Arc<Cancel>) -> Result<FetchOutcome, GitError> {
        let plan = Plan::from_ref(&self.reference)?;
        let semver = match &plan {
            Plan::Semver(range) => {
                Some(semver_range::Constraint::parse(range).map_err(GitError::InvalidRef)?)
            }
            _ => None,
        };
        let ctx = remote::Context {
            auth: &self.auth,
            cancel,
            deadline: self.deadline,
            timeout: self.timeout,
        };

        if let Plan::Commit { id, branch } = &plan {
            let resolved = commit_resolved(*id, branch.as_deref());
            // A commit id is immutable: if it is what we have, there is nothing to ask the remote.
            if self.last_commit.as_deref() == Some(resolved.commit.as_str()) {
                return Ok(FetchOutcome::Unchanged(resolved));
            }
            let session = remote::fetch_commit(&self.url, &ctx, true, *id, branch.as_deref())?;
            self.checkout(&session, *id, &ctx)?;
            return Ok(FetchOutcome::CheckedOut(resolved));
        }

        let session = remote::Session::new(&self.url, &ctx)?;
        // (full ref name on the remote, name used in the revision string)
        let (full_name, display) = match &plan {
            Plan::Name(name) => (name.clone(), name.clone()),
            Plan::Tag(tag) => (format!("refs/tags/{tag}"), tag.clone()),
            Plan::Branch(branch) => (format!("refs/heads/{branch}"), branch.clone()),
            Plan::Semver(range) => {
                let constraint = semver.as_ref().ok_or_else(|| {
                    GitError::InvalidRef(format!("semver range {range:?} was not parsed"))
                })?;
                let tags = session.list_tags()?;
                let tag = pick_semver_tag(&tags, constraint).ok_or_else(|| {
                    GitError::RefNotFound(format!(
                        "no tag on {} matches semver range {range:?}",
                        session.display_url()
                    ))
                })?;
                (format!("refs/tags/{tag}"), tag)
            }
            Plan::Commit { .. } => unreachable!("handled above"),
        };

        let last = self.last_commit.clone();
        let outcome = session.fetch_ref(&full_name, |commit| last.as_deref() == Some(commit))?;
        let resolved = Resolved {
            commit: outcome.commit.to_string(),
            revision: format!("{display}@sha1:{}", outcome.commit),
        };
        if !outcome.fetched {
            return Ok(FetchOutcome::Unchanged(resolved));
        }
        self.checkout(&session, outcome.commit, &ctx)?;
        Ok(FetchOutcome::CheckedOut(resolved))
    }

    fn checkout(
        &self,
        session: &remote::Session,
        commit: gix::ObjectId,
        ctx: &remote::Context<'_>,
    ) -> Result<(), GitError> {
        let writer = checkout::Writer {
            max_file_size: self.max_file_size,
            recurse_submodules: self.recurse_submodules,
            ctx,
        };
        writer.write_commit(session, commit, &self.dest, "", 0)
    }
}

fn commit_resolved(id: gix::ObjectId, branch: Option<&str>) -> Resolved {
    let commit = id.to_string();
    let revision = match branch {
        Some(branch) => format!("{branch}@sha1:{commit}"),
        None => format!("sha1:{commit}"),
    };
    Resolved { commit, revision }
}

/// Highest version satisfying the constraint; ties (e.g. `v1.0.0` and `1.0.0`) go to the
/// lexicographically greatest tag name so the choice is stable.
fn pick_semver_tag(tags: &[String], constraint: &semver_range::Constraint) -> Option<String> {
    tags.iter()
        .filter_map(|tag| semver_range::parse_tag_version(tag).map(|v| (v, tag)))
        .filter(|(v, _)| constraint.matches(v))
        .max_by(|(va, ta), (vb, tb)| va.cmp(vb).then_with(|| ta.cmp(tb)))
        .map(|(_, tag)| tag.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_secrets() {
        let auth = Auth {
            basic: Some(("alice".into(), "hunter2".into())),
            bearer_token: Some("tok-secret".into()),
            ca_pem: Some(b"-----BEGIN CERTIFICATE-----".to_vec()),
            ssh: Some(SshAuth {
                identity: b"PRIVATE-KEY-BYTES".to_vec(),
                known_hosts: b"host ssh-ed25519 AAAA".to_vec(),
                password: Some("passphrase-secret".into()),
            }),
        };
        let printed = format!("{auth:?} {auth:#?}");
        for secret in [
            "hunter2",
            "tok-secret",
            "PRIVATE-KEY-BYTES",
            "passphrase-secret",
        ] {
            assert!(!printed.contains(secret), "{secret} leaked in {printed}");
        }
        assert!(printed.contains("alice"));
        assert!(printed.contains("<redacted>"));
    }

    #[test]
    fn plan_precedence_follows_flux() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let all = GitRef {
            branch: Some("main".into()),
            tag: Some("v1".into()),
            semver: Some(">=1".into()),
            name: Some("refs/heads/x".into()),
            commit: Some(sha.into()),
        };
        assert!(
            matches!(Plan::from_ref(&all), Ok(Plan::Commit { branch: Some(b), .. }) if b == "main")
        );
        let no_commit = GitRef {
            commit: None,
            ..all.clone()
        };
        assert!(matches!(Plan::from_ref(&no_commit), Ok(Plan::Name(n)) if n == "refs/heads/x"));
        let no_name = GitRef {
            name: None,
            ..no_commit
        };
        assert!(matches!(Plan::from_ref(&no_name), Ok(Plan::Semver(s)) if s == ">=1"));
        let no_semver = GitRef {
            semver: None,
            ..no_name
        };
        assert!(matches!(Plan::from_ref(&no_semver), Ok(Plan::Tag(t)) if t == "v1"));
        let no_tag = GitRef {
            tag: None,
            ..no_semver
        };
        assert!(matches!(Plan::from_ref(&no_tag), Ok(Plan::Branch(b)) if b == "main"));
        assert!(matches!(Plan::from_ref(&GitRef::default()), Ok(Plan::Branch(b)) if b == "master"));
    }

    #[test]
    fn invalid_refs_are_rejected() {
        for r in [
            GitRef {
                commit: Some("abc123".into()),
                ..Default::default()
            },
            GitRef {
                branch: Some("a:b".into()),
                ..Default::default()
            },
            GitRef {
                branch: Some("a..b".into()),
                ..Default::default()
            },
            GitRef {
                tag: Some("v1*".into()),
                ..Default::default()
            },
            GitRef {
                name: Some("main".into()),
                ..Default::default()
            },
            GitRef {
                name: Some("refs/heads/+x:y".into()),
                ..Default::default()
            },
        ] {
            assert!(
                matches!(Plan::from_ref(&r), Err(GitError::InvalidRef(_))),
                "{r:?}"
            );
        }
    }

    #[test]
    fn semver_tag_choice() {
        let tags: Vec<String> = [
            "v1.0.0",
            "1.2",
            "v1.10.0",
            "v2.0.0-rc.1",
            "latest",
            "v0.9.0",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let pick =
            |range: &str| pick_semver_tag(&tags, &semver_range::Constraint::parse(range).unwrap());
        assert_eq!(pick(">=1.0.0").as_deref(), Some("v1.10.0"));
        assert_eq!(pick("~1.2").as_deref(), Some("1.2"));
        assert_eq!(pick("<1.0.0").as_deref(), Some("v0.9.0"));
        assert_eq!(pick(">=3.0.0"), None);
    }

    #[test]
    fn commit_revisions() {
        let id = gix::ObjectId::from_hex(b"0123456789abcdef0123456789abcdef01234567").unwrap();
        assert_eq!(
            commit_resolved(id, None).revision,
            "sha1:0123456789abcdef0123456789abcdef01234567"
        );
        assert_eq!(
            commit_resolved(id, Some("main")).revision,
            "main@sha1:0123456789abcdef0123456789abcdef01234567"
        );
    }
}
