//! Smart HTTP(S): authentication, TLS trust, failures and timeouts, against `git http-backend`.

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use common::*;
use weir_git::{FetchOutcome, GitError, GitRef};

/// A served bare repository: master = c1 <- c2; branch `dev` = c3 (from c1).
struct Served {
    root: tempfile::TempDir,
    c1: String,
    c2: String,
    c3: String,
}

fn served() -> Served {
    let repo = Repo::new();
    repo.write("a.txt", "a1\n");
    let c1 = repo.commit("c1");
    repo.write("a.txt", "a2\n");
    let c2 = repo.commit("c2");
    repo.git(&["checkout", "-q", "-b", "dev", &c1]);
    repo.write("dev.txt", "dev\n");
    let c3 = repo.commit("c3");
    repo.git(&["checkout", "-q", "master"]);
    let root = tempfile::tempdir().unwrap();
    bare_clone(&repo, root.path(), "repo.git");
    Served { root, c1, c2, c3 }
}

fn url(server: &HttpServer) -> String {
    format!("http://127.0.0.1:{}/repo.git", server.port)
}

#[test]
fn fetch_over_http_and_unchanged() {
    let s = served();
    let server = HttpServer::start(s.root.path(), HttpConfig::default());
    let mut fetch = Fetch::new(url(&server)).reference(branch("dev"));
    let (dest, res) = fetch.run();
    match res {
        Ok(FetchOutcome::CheckedOut(r)) => assert_eq!(r.revision, format!("dev@sha1:{}", s.c3)),
        other => panic!("{other:?}"),
    }
    assert_eq!(listing(dest.path()), ["a.txt", "dev.txt"]);
    fetch.last_commit = Some(s.c3.clone());
    let (dest, res) = fetch.run();
    assert!(matches!(res, Ok(FetchOutcome::Unchanged(_))), "{res:?}");
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn basic_auth() {
    let s = served();
    let config = HttpConfig {
        basic: Some(("alice".into(), "s3cret-pw".into())),
        ..Default::default()
    };
    let server = HttpServer::start(s.root.path(), config);
    let mut fetch = Fetch::new(url(&server));

    let (_d, res) = fetch.run();
    assert!(
        matches!(res, Err(GitError::Auth(_))),
        "no credentials: {res:?}"
    );

    fetch.auth.basic = Some(("alice".into(), "wrong-pw".into()));
    let (_d, res) = fetch.run();
    match &res {
        Err(GitError::Auth(msg)) => assert!(!msg.contains("wrong-pw"), "{msg}"),
        other => panic!("wrong password: {other:?}"),
    }

    fetch.auth.basic = Some(("alice".into(), "s3cret-pw".into()));
    let (dest, res) = fetch.run();
    assert!(
        matches!(res, Ok(FetchOutcome::CheckedOut(ref r)) if r.commit == s.c2),
        "{res:?}"
    );
    assert_eq!(listing(dest.path()), ["a.txt"]);
}

#[test]
fn bearer_token() {
    let s = served();
    let config = HttpConfig {
        bearer: Some("tok-123".into()),
        ..Default::default()
    };
    let server = HttpServer::start(s.root.path(), config);
    let mut fetch = Fetch::new(url(&server));
    let (_d, res) = fetch.run();
    assert!(matches!(res, Err(GitError::Auth(_))), "{res:?}");

    fetch.auth.bearer_token = Some("tok-wrong".into());
    let (_d, res) = fetch.run();
    assert!(matches!(res, Err(GitError::Auth(_))), "{res:?}");

    fetch.auth.bearer_token = Some("tok-123".into());
    let (_d, res) = fetch.run();
    assert!(matches!(res, Ok(FetchOutcome::CheckedOut(_))), "{res:?}");
}

#[test]
fn unreachable_host_fails_fast_with_url_and_without_password() {
    let started = Instant::now();
    let (_d, res) = Fetch::new("http://bob:hunter2@127.0.0.1:1/x.git").run();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    match res {
        Err(GitError::Transport(msg)) => {
            assert!(msg.contains("127.0.0.1:1/x.git"), "{msg}");
            assert!(!msg.contains("hunter2"), "{msg}");
        }
        other => panic!("expected Transport, got {other:?}"),
    }
}

#[test]
fn timeout_on_unresponsive_server() {
    let root = tempfile::tempdir().unwrap();
    let server = HttpServer::start(
        root.path(),
        HttpConfig {
            hang: true,
            ..Default::default()
        },
    );
    let mut fetch = Fetch::new(format!("http://127.0.0.1:{}/x.git", server.port));
    fetch.timeout = Duration::from_secs(1);
    let started = Instant::now();
    let (_d, res) = fetch.run();
    let elapsed = started.elapsed();
    assert!(
        matches!(res, Err(GitError::Timeout(d)) if d == Duration::from_secs(1)),
        "{res:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[test]
fn missing_ref_over_http() {
    let s = served();
    let server = HttpServer::start(s.root.path(), HttpConfig::default());
    let (_d, res) = Fetch::new(url(&server)).reference(branch("nope")).run();
    assert!(matches!(res, Err(GitError::RefNotFound(_))), "{res:?}");
    let (_d, res) = Fetch::new(url(&server))
        .reference(commit("0123456789abcdef0123456789abcdef01234567"))
        .run();
    assert!(matches!(res, Err(GitError::RefNotFound(_))), "{res:?}");
}

#[test]
fn commit_fetch_falls_back_when_server_only_serves_tips() {
    let s = served();
    let server = HttpServer::start(
        s.root.path(),
        HttpConfig {
            v0_only: true,
            ..Default::default()
        },
    );
    for root_config in ["allowAnySHA1InWant", "allowReachableSHA1InWant"] {
        git(
            &s.root.path().join("repo.git"),
            &["config", &format!("uploadpack.{root_config}"), "false"],
        );
    }
    // c1 is no branch tip, so a v0 server refuses it by id.
    let (dest, res) = Fetch::new(url(&server)).reference(commit(&s.c1)).run();
    assert!(
        matches!(res, Ok(FetchOutcome::CheckedOut(ref r)) if r.revision == format!("sha1:{}", s.c1)),
        "{res:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dest.path().join("a.txt")).unwrap(),
        "a1\n"
    );

    let with_branch = GitRef {
        branch: Some("dev".into()),
        commit: Some(s.c1.clone()),
        ..Default::default()
    };
    let (_d, res) = Fetch::new(url(&server)).reference(with_branch).run();
    assert!(
        matches!(res, Ok(FetchOutcome::CheckedOut(ref r)) if r.revision == format!("dev@sha1:{}", s.c1)),
        "{res:?}"
    );

    let (_d, res) = Fetch::new(url(&server))
        .reference(commit("0123456789abcdef0123456789abcdef01234567"))
        .run();
    assert!(matches!(res, Err(GitError::RefNotFound(_))), "{res:?}");
}

fn tls_setup() -> (Arc<rustls::ServerConfig>, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "weir test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    (Arc::new(config), ca_cert.pem())
}

#[test]
fn https_with_custom_ca() {
    let s = served();
    let (tls, ca_pem) = tls_setup();
    let server = HttpServer::start(
        s.root.path(),
        HttpConfig {
            tls: Some(tls),
            ..Default::default()
        },
    );
    let mut fetch = Fetch::new(format!("https://localhost:{}/repo.git", server.port));

    let (_d, res) = fetch.run();
    match &res {
        Err(GitError::Transport(msg)) => assert!(msg.contains("localhost"), "{msg}"),
        other => panic!("untrusted certificate must fail: {other:?}"),
    }

    fetch.auth.ca_pem = Some(ca_pem.into_bytes());
    let (dest, res) = fetch.run();
    assert!(
        matches!(res, Ok(FetchOutcome::CheckedOut(ref r)) if r.commit == s.c2),
        "{res:?}"
    );
    assert_eq!(listing(dest.path()), ["a.txt"]);

    fetch.auth.ca_pem = Some(b"not a certificate".to_vec());
    let (_d, res) = fetch.run();
    assert!(matches!(res, Err(GitError::Transport(_))), "{res:?}");
}
