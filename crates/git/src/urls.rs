//! URL helpers that work on the textual form, so that what users wrote is what they see in errors.

/// Remove a password from `scheme://user:password@host/...` for use in messages.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..]
        .find('/')
        .map_or(url.len(), |i| authority_start + i);
    let authority = &url[authority_start..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            let redacted_userinfo = if userinfo.contains(':') {
                format!("{user}:<redacted>")
            } else {
                user.to_owned()
            };
            format!(
                "{}{}@{}{}",
                &url[..authority_start],
                redacted_userinfo,
                &authority[at + 1..],
                &url[authority_end..]
            )
        }
        None => url.to_owned(),
    }
}

/// The scheme in lower case, or `None` for scp-like or local-path URLs.
pub(crate) fn scheme(url: &str) -> Option<String> {
    url.find("://").map(|i| url[..i].to_ascii_lowercase())
}

/// `scheme://host:port` without user information, to decide whether credentials may follow a
/// submodule URL.
pub(crate) fn origin(url: &str) -> Option<String> {
    let scheme_end = url.find("://")?;
    let rest = &url[scheme_end + 3..];
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    Some(format!(
        "{}://{}",
        url[..scheme_end].to_ascii_lowercase(),
        host_port.to_ascii_lowercase()
    ))
}

/// Resolve a submodule URL from `.gitmodules` against the superproject URL, like
/// `git submodule` does: `./x` and `../x` are relative to the superproject's URL.
pub(crate) fn resolve_submodule(parent: &str, sub: &str) -> String {
    if !(sub.starts_with("./") || sub.starts_with("../")) {
        return sub.to_owned();
    }
    let mut base = parent.trim_end_matches('/').to_owned();
    let mut rest = sub;
    loop {
        if let Some(r) = rest.strip_prefix("./") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("../") {
            rest = r;
            // Never climb above the authority of the URL.
            let floor = base.find("://").map_or(0, |i| {
                let after = i + 3;
                base[after..].find('/').map_or(base.len(), |j| after + j)
            });
            match base.rfind('/') {
                Some(slash) if slash >= floor => base.truncate(slash),
                _ => {}
            }
        } else {
            break;
        }
    }
    if rest.is_empty() {
        base
    } else {
        format!("{base}/{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        assert_eq!(
            redact("https://alice:s3cret@example.com/x.git"),
            "https://alice:<redacted>@example.com/x.git"
        );
        assert_eq!(
            redact("ssh://git@example.com:22/x"),
            "ssh://git@example.com:22/x"
        );
        assert_eq!(redact("https://example.com/a@b"), "https://example.com/a@b");
        assert_eq!(redact("/local/path"), "/local/path");
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin("HTTPS://u:p@Example.com:8443/a/b").as_deref(),
            Some("https://example.com:8443")
        );
        assert_eq!(origin("git@example.com:a/b"), None);
    }

    #[test]
    fn submodule_urls() {
        let parent = "https://example.com/org/repo.git";
        assert_eq!(
            resolve_submodule(parent, "../lib.git"),
            "https://example.com/org/lib.git"
        );
        assert_eq!(
            resolve_submodule(parent, "./sub"),
            "https://example.com/org/repo.git/sub"
        );
        assert_eq!(
            resolve_submodule(parent, "../../other/lib"),
            "https://example.com/other/lib"
        );
        assert_eq!(
            resolve_submodule(parent, "../../../../x"),
            "https://example.com/x"
        );
        assert_eq!(
            resolve_submodule("file:///tmp/a/super/", "../sub"),
            "file:///tmp/a/sub"
        );
        assert_eq!(resolve_submodule(parent, "ssh://h/x"), "ssh://h/x");
    }
}
