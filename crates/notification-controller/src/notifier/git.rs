//! Commit-status providers: GitHub, GitLab, Gitea and Bitbucket Cloud.
//!
//! The commit is the one in the event's `revision` metadata
//! (`main@sha1:<sha>`, `sha1:<sha>` or the legacy `main/<sha>`); the state
//! is success for info events and failure for errors; the status is named
//! `<kind>/<name>/<first block of the Provider's UID>` (Flux's default, so
//! several clusters can report on one commit) and described by the event's
//! reason in words (`ReconciliationSucceeded` → "reconciliation
//! succeeded"). Progressing events are skipped, as in Flux.

use serde_json::{Value, json};
use sha1::{Digest as _, Sha1};
use weir_runtime::events::FluxEvent;

use super::{HttpRequest, NotifierError, Target, is_error, name_and_description};
use crate::notifier::chat::url_encode;

fn body(v: &Value) -> Result<Vec<u8>, NotifierError> {
    serde_json::to_vec(v).map_err(|e| NotifierError::Config(format!("encoding the payload: {e}")))
}

/// The commit SHA of a Flux revision string.
pub fn parse_revision(revision: &str) -> Result<String, NotifierError> {
    let tail = revision
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(revision);
    let hash = match tail.split_once(':') {
        Some((alg, h)) if alg == "sha1" || alg == "sha256" => h,
        Some(_) => "",
        // Legacy `<branch>/<sha>`.
        None => tail.rsplit_once('/').map(|(_, h)| h).unwrap_or(tail),
    };
    let valid =
        (hash.len() == 40 || hash.len() == 64) && hash.bytes().all(|b| b.is_ascii_hexdigit());
    if valid {
        Ok(hash.to_owned())
    } else {
        Err(NotifierError::Config(format!(
            "failed to extract commit hash from '{revision}' revision"
        )))
    }
}

/// Flux's default commit status name: `kind/name/<uid prefix>`, lowercase.
pub fn commit_status_id(provider_uid: &str, event: &FluxEvent) -> String {
    let o = &event.involved_object;
    let uid = provider_uid.split('-').next().unwrap_or_default();
    format!(
        "{}/{}/{uid}",
        o.kind.as_deref().unwrap_or_default(),
        o.name.as_deref().unwrap_or_default()
    )
    .to_lowercase()
}

/// `(scheme://host, path)` of a repository address (`https://host/org/repo(.git)`
/// or `ssh://git@host/org/repo`); SSH addresses map to https.
fn repository(address: &str) -> Result<(String, String), NotifierError> {
    let url = reqwest::Url::parse(address)
        .map_err(|e| NotifierError::Config(format!("failed parsing URL '{address}': {e}")))?;
    let scheme = if url.scheme() == "ssh" {
        "https"
    } else {
        url.scheme()
    };
    let host = url
        .host_str()
        .ok_or_else(|| NotifierError::Config(format!("no host in '{address}'")))?;
    let host = match url.port() {
        Some(p) if scheme != "https" || p != 443 => format!("{host}:{p}"),
        _ => host.to_owned(),
    };
    let id = url
        .path()
        .trim_start_matches('/')
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_owned();
    if id.is_empty() {
        return Err(NotifierError::Config(format!(
            "no repository path in '{address}'"
        )));
    }
    Ok((format!("{scheme}://{host}"), id))
}

fn owner_repo(id: &str) -> Result<(&str, &str), NotifierError> {
    match id.split('/').collect::<Vec<_>>().as_slice() {
        [owner, repo] => Ok((owner, repo)),
        _ => Err(NotifierError::Config(format!(
            "invalid repository id '{id}': expected <owner>/<repository>"
        ))),
    }
}

struct Status {
    sha: String,
    id: String,
    description: String,
}

fn status(target: &Target, event: &FluxEvent) -> Result<Option<Status>, NotifierError> {
    if event.reason == "Progressing" {
        return Ok(None);
    }
    if target.token.is_empty() {
        return Err(NotifierError::Config(
            "a 'token' in the Secret referenced by spec.secretRef is required".into(),
        ));
    }
    let revision = event
        .metadata
        .get(crate::event::META_REVISION)
        .ok_or_else(|| NotifierError::Config("missing revision metadata".into()))?;
    let (_, description) = name_and_description(event);
    Ok(Some(Status {
        sha: parse_revision(revision)?,
        id: commit_status_id(&target.provider_uid, event),
        description,
    }))
}

/// GitHub: `POST /repos/{owner}/{repo}/statuses/{sha}` on api.github.com,
/// or `<host>/api/v3` for GitHub Enterprise.
pub fn github(target: &Target, event: &FluxEvent) -> Result<Vec<HttpRequest>, NotifierError> {
    let Some(s) = status(target, event)? else {
        return Ok(Vec::new());
    };
    let (host, id) = repository(&target.address)?;
    let (owner, repo) = owner_repo(&id)?;
    let api = if host == "https://github.com" {
        "https://api.github.com".to_owned()
    } else {
        format!("{host}/api/v3")
    };
    let payload = json!({
        "state": if is_error(event) { "failure" } else { "success" },
        "context": s.id,
        "description": s.description,
    });
    Ok(vec![
        HttpRequest::post_json(
            &format!("{api}/repos/{owner}/{repo}/statuses/{}", s.sha),
            body(&payload)?,
        )
        .header("Authorization", format!("Bearer {}", target.token))
        .header("Accept", "application/vnd.github+json"),
    ])
}

/// GitLab: `POST /api/v4/projects/{url-encoded path}/statuses/{sha}`.
pub fn gitlab(target: &Target, event: &FluxEvent) -> Result<Vec<HttpRequest>, NotifierError> {
    let Some(s) = status(target, event)? else {
        return Ok(Vec::new());
    };
    let (host, id) = repository(&target.address)?;
    let payload = json!({
        "state": if is_error(event) { "failed" } else { "success" },
        "name": s.id,
        "description": s.description,
    });
    Ok(vec![
        HttpRequest::post_json(
            &format!(
                "{host}/api/v4/projects/{}/statuses/{}",
                url_encode(&id),
                s.sha
            ),
            body(&payload)?,
        )
        .header("PRIVATE-TOKEN", target.token.clone()),
    ])
}

/// Gitea: `POST /api/v1/repos/{owner}/{repo}/statuses/{sha}`.
pub fn gitea(target: &Target, event: &FluxEvent) -> Result<Vec<HttpRequest>, NotifierError> {
    let Some(s) = status(target, event)? else {
        return Ok(Vec::new());
    };
    let (host, id) = repository(&target.address)?;
    let (owner, repo) = owner_repo(&id)?;
    let payload = json!({
        "state": if is_error(event) { "failure" } else { "success" },
        "context": s.id,
        "description": s.description,
        "target_url": "",
    });
    Ok(vec![
        HttpRequest::post_json(
            &format!("{host}/api/v1/repos/{owner}/{repo}/statuses/{}", s.sha),
            body(&payload)?,
        )
        .header("Authorization", format!("token {}", target.token)),
    ])
}

/// Bitbucket Cloud: a build status, authenticated with the `<user>:<app
/// password>` token; the key is the SHA-1 of the status name (40 chars max).
pub fn bitbucket(target: &Target, event: &FluxEvent) -> Result<Vec<HttpRequest>, NotifierError> {
    let Some(s) = status(target, event)? else {
        return Ok(Vec::new());
    };
    let (user, password) = target.token.split_once(':').ok_or_else(|| {
        NotifierError::Config("invalid token format, expected to be <user>:<password>".into())
    })?;
    let (_, id) = repository(&target.address)?;
    let (owner, repo) = owner_repo(&id)?;
    let payload = json!({
        "state": if is_error(event) { "FAILED" } else { "SUCCESSFUL" },
        "key": hex::encode(Sha1::digest(s.id.as_bytes())),
        "name": s.id,
        "description": s.description,
        "url": "https://bitbucket.org",
    });
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Ok(vec![
        HttpRequest::post_json(
            &format!(
                "https://api.bitbucket.org/2.0/repositories/{owner}/{repo}/commit/{}/statuses/build",
                s.sha
            ),
            body(&payload)?,
        )
        .header("Authorization", format!("Basic {auth}")),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifier::testing::{event, json, target};
    use crate::notifier::{ProviderType, requests};

    const SHA: &str = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c";

    fn git_target(address: &str, token: &str) -> Target {
        let mut t = target(address);
        t.token = token.into();
        t
    }

    #[test]
    fn revisions_to_commits() {
        assert_eq!(parse_revision(&format!("main@sha1:{SHA}")).unwrap(), SHA);
        assert_eq!(parse_revision(&format!("sha1:{SHA}")).unwrap(), SHA);
        assert_eq!(parse_revision(&format!("feature/x/{SHA}")).unwrap(), SHA);
        assert_eq!(parse_revision(&format!("v1.0@sha1:{SHA}")).unwrap(), SHA);
        assert!(parse_revision("main@sha1:zzz").is_err());
        assert!(parse_revision("6.1.0@sha256:abcd").is_err());
    }

    #[test]
    fn github_status() {
        let t = git_target("https://github.com/org/app.git", "ghp");
        let e = event("info", &[("revision", &format!("main@sha1:{SHA}"))]);
        let r = requests(ProviderType::GitHub, &t, &e).unwrap();
        assert_eq!(
            r[0].url,
            format!("https://api.github.com/repos/org/app/statuses/{SHA}")
        );
        assert_eq!(r[0].header_value("authorization"), Some("Bearer ghp"));
        assert_eq!(
            json(&r[0]),
            json!({"state": "success", "context": "kustomization/webapp/0c9c2e41", "description": "reconciliation succeeded"})
        );
        let enterprise = git_target("https://ghe.example.com/org/app", "ghp");
        let e = event("error", &[("revision", &format!("main@sha1:{SHA}"))]);
        let r = requests(ProviderType::GitHub, &enterprise, &e).unwrap();
        assert_eq!(
            r[0].url,
            format!("https://ghe.example.com/api/v3/repos/org/app/statuses/{SHA}")
        );
        assert_eq!(json(&r[0])["state"], "failure");
        assert!(matches!(
            requests(ProviderType::GitHub, &t, &event("info", &[])),
            Err(NotifierError::Config(m)) if m == "missing revision metadata"
        ));
        let mut progressing = event("info", &[]);
        progressing.reason = "Progressing".into();
        assert!(
            requests(ProviderType::GitHub, &t, &progressing)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn gitlab_gitea_bitbucket_statuses() {
        let e = event("error", &[("revision", &format!("main@sha1:{SHA}"))]);
        let r = requests(
            ProviderType::GitLab,
            &git_target("https://gitlab.com/group/sub/app", "glpat"),
            &e,
        )
        .unwrap();
        assert_eq!(
            r[0].url,
            format!("https://gitlab.com/api/v4/projects/group%2Fsub%2Fapp/statuses/{SHA}")
        );
        assert_eq!(r[0].header_value("private-token"), Some("glpat"));
        assert_eq!(
            json(&r[0]),
            json!({"state": "failed", "name": "kustomization/webapp/0c9c2e41", "description": "reconciliation succeeded"})
        );

        let r = requests(
            ProviderType::Gitea,
            &git_target("https://gitea.example:3000/org/app", "tok"),
            &e,
        )
        .unwrap();
        assert_eq!(
            r[0].url,
            format!("https://gitea.example:3000/api/v1/repos/org/app/statuses/{SHA}")
        );
        assert_eq!(r[0].header_value("authorization"), Some("token tok"));
        assert_eq!(json(&r[0])["state"], "failure");
        assert_eq!(json(&r[0])["context"], "kustomization/webapp/0c9c2e41");

        let r = requests(
            ProviderType::Bitbucket,
            &git_target("https://bitbucket.org/org/app", "user:pass"),
            &e,
        )
        .unwrap();
        assert_eq!(
            r[0].url,
            format!(
                "https://api.bitbucket.org/2.0/repositories/org/app/commit/{SHA}/statuses/build"
            )
        );
        assert_eq!(
            r[0].header_value("authorization"),
            Some("Basic dXNlcjpwYXNz")
        );
        let b = json(&r[0]);
        assert_eq!(b["state"], "FAILED");
        assert_eq!(
            b["key"],
            hex::encode(Sha1::digest(b"kustomization/webapp/0c9c2e41"))
        );
        assert_eq!(b["name"], "kustomization/webapp/0c9c2e41");
        assert_eq!(b["url"], "https://bitbucket.org");
        assert!(
            requests(
                ProviderType::Bitbucket,
                &git_target("https://bitbucket.org/org/app", "nocolon"),
                &e
            )
            .is_err()
        );
    }
}
