use std::time::Duration;

/// Everything that can go wrong while fetching and checking out.
///
/// Messages never contain credentials: URLs are shown with any password removed, and secrets are
/// never put into URLs or configuration that could end up in an error.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The server rejected the credentials (HTTP 401/403, ssh permission denied or host key mismatch).
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The branch, tag, ref name or commit does not exist, or no tag matches the semver range.
    #[error("reference not found: {0}")]
    RefNotFound(String),
    /// The reference specification itself is invalid (e.g. an unparsable semver range).
    #[error("invalid reference: {0}")]
    InvalidRef(String),
    /// Network, TLS and protocol failures.
    #[error("transport error: {0}")]
    Transport(String),
    /// The whole operation took longer than the configured timeout.
    #[error("git operation timed out after {0:?}")]
    Timeout(Duration),
    /// A blob is larger than the configured limit.
    #[error("file {path:?} is {size} bytes, larger than the limit of {limit} bytes")]
    FileTooLarge { path: String, size: u64, limit: u64 },
    /// A tree entry name could escape the destination or write into git metadata.
    #[error("unsafe path in repository tree: {0:?}")]
    UnsafePath(String),
    /// Other local failures (I/O, object database).
    #[error("checkout failed: {0}")]
    Checkout(String),
}

/// Which stage an error happened in; decides how unclassified errors are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Connecting, handshake, listing refs, receiving the pack.
    Network,
    /// Local repository set-up and object access.
    Local,
}

/// Render the whole error tree of a gix error as one line (gix's own `Display` shows only the top).
pub(crate) fn describe(err: &gix::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in err.iter_errors() {
        let s = e.to_string();
        let s = s.trim();
        // Wrapping layers often repeat their cause verbatim.
        if s.is_empty() || parts.iter().any(|p| p.contains(s)) {
            continue;
        }
        parts.push(s.to_owned());
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}

/// Map a gix error into our taxonomy. `url` is already redacted; `ssh_log` is the ssh client's
/// own log (stderr), which carries the only useful detail for ssh failures.
pub(crate) fn classify(
    err: &gix::Error,
    stage: Stage,
    url: &str,
    ssh_log: Option<&str>,
) -> GitError {
    let detail = describe(err);
    let ssh_detail = ssh_log.map(str::trim).filter(|s| !s.is_empty());
    if let Some(log) = ssh_detail {
        if ssh_log_means_auth(log) {
            return GitError::Auth(format!("{url}: {}", last_lines(log)));
        }
        if stage == Stage::Network {
            return GitError::Transport(format!("{url}: {detail}; ssh: {}", last_lines(log)));
        }
    }
    if stage == Stage::Network {
        if err.is_unauthenticated() {
            // gix's own wording here talks about credential helpers, which we never use.
            return GitError::Auth(format!(
                "{url}: the server requires authentication and rejected the request (HTTP 401); \
                 check the configured credentials"
            ));
        }
        if err.is_permission_denied() || http_status_is_auth(&detail) {
            return GitError::Auth(format!("{url}: access denied: {detail}"));
        }
        if is_missing_object(&detail) {
            return GitError::RefNotFound(format!("{url}: {detail}"));
        }
        return GitError::Transport(format!("{url}: {detail}"));
    }
    GitError::Checkout(detail)
}

fn http_status_is_auth(detail: &str) -> bool {
    detail.contains("HTTP status 401") || detail.contains("HTTP status 403")
}

/// Servers answer a `want` for an unknown or unadvertised object with one of these.
fn is_missing_object(detail: &str) -> bool {
    ["not our ref", "unadvertised object", "no such remote ref"]
        .iter()
        .any(|m| detail.contains(m))
}

fn ssh_log_means_auth(log: &str) -> bool {
    [
        "Permission denied",
        "Host key verification failed",
        "REMOTE HOST IDENTIFICATION HAS CHANGED",
        "host key is known for",
        "No ED25519 host key is known",
        "No RSA host key is known",
        "No ECDSA host key is known",
        "Load key",
        "incorrect passphrase",
    ]
    .iter()
    .any(|m| log.contains(m))
}

/// ssh logs can be long with banners; the reason is at the end.
fn last_lines(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(3);
    lines[start..].join(" | ")
}
