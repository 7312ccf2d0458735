//! Receivers end to end on the local control plane: the webhook path in
//! status, a signed GitHub push making a GitRepository reconcile, and
//! refused calls changing nothing.

mod common;

use std::time::{Duration, Instant};

use common::*;
use hmac::{Hmac, Mac as _};
use kube::api::Api;
use sha2::{Digest as _, Sha256};
use weir_api::notification::v1::Receiver;
use weir_api::source::v1::GitRepository;
use weir_test_support::TestNamespace;
use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";

fn sign(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn handled(repo: &GitRepository) -> Option<String> {
    repo.status.as_ref()?.last_handled_reconcile_at.clone()
}

fn requested(repo: &GitRepository) -> Option<String> {
    repo.metadata
        .annotations
        .as_ref()?
        .get(REQUESTED_AT)
        .cloned()
}

async fn ready_receiver(api: &Api<Receiver>, name: &str) -> Receiver {
    wait_until(
        "the Receiver to be Ready",
        WAIT,
        || async { api.get(name).await.unwrap() },
        |r: &Receiver| {
            r.status.as_ref().is_some_and(|s| {
                s.webhook_path.is_some()
                    && s.conditions
                        .iter()
                        .flatten()
                        .any(|c| c.type_ == "Ready" && c.status == "True")
            })
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_github_push_reconciles_and_bad_signatures_change_nothing() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "notify-github").await.unwrap();
    let nc = start(&ns).await;
    let _source = start_source(&ns, None).await;
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    repo.commit("main", &[("a.yaml", Entry::File(b"a: 1\n"))], "one")
        .unwrap();
    apply::<GitRepository>(
        &ns,
        serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app"},
            "spec": {"url": server.http_url("app"), "interval": "1h", "ref": {"branch": "main"}},
        }),
    )
    .await;
    let repos = ns.api::<GitRepository>();
    wait_until(
        "the GitRepository to be Ready",
        WAIT,
        || async { repos.get("app").await.unwrap() },
        |r: &GitRepository| {
            r.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .flatten()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            })
        },
    )
    .await;

    secret(&ns, "webhook-token", &[("token", "gh-secret")]).await;
    apply::<Receiver>(
        &ns,
        serde_json::json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": "github"},
            "spec": {
                "type": "github",
                "events": ["ping", "push"],
                "secretRef": {"name": "webhook-token"},
                "resources": [{"kind": "GitRepository", "name": "app"}],
            },
        }),
    )
    .await;
    let receivers = ns.api::<Receiver>();
    let rcv = ready_receiver(&receivers, "github").await;
    let status = rcv.status.unwrap();
    let want_path = format!(
        "/hook/{}",
        hex::encode(Sha256::digest(format!(
            "gh-secret{}{}",
            "github",
            ns.name()
        )))
    );
    assert_eq!(status.webhook_path.as_deref(), Some(want_path.as_str()));
    let ready = status
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.reason, "Succeeded");
    assert_eq!(
        ready.message,
        format!("Receiver initialized for path: {want_path}")
    );
    let finalizers = receivers.get("github").await.unwrap().metadata.finalizers;
    assert_eq!(finalizers, Some(vec!["finalizers.fluxcd.io".to_owned()]));

    let url = format!("{}{want_path}", nc.receiver_url);
    let body = br#"{"ref":"refs/heads/main","repository":{"full_name":"org/app"}}"#.to_vec();
    let http = reqwest::Client::new();
    // Wait for the receiver server's watch to see the path.
    wait_until(
        "the receiver server to know the path",
        WAIT,
        || async {
            http.post(&url)
                .header("Content-Type", "application/json")
                .header("X-GitHub-Event", "push")
                .body(b"{}".to_vec())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        },
        |s: &u16| *s != 404,
    )
    .await;

    let before = repos.get("app").await.unwrap();
    // Wrongly signed, unsigned, and signed with the SHA-256 of another key: 401.
    for signature in [
        Some(sign(b"wrong", &body)),
        None,
        Some("sha256=00".to_owned()),
    ] {
        let mut req = http
            .post(&url)
            .header("Content-Type", "application/json")
            .header("X-GitHub-Event", "push")
            .body(body.clone());
        if let Some(s) = &signature {
            req = req.header("X-Hub-Signature-256", s);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{signature:?}");
    }
    // An event type the Receiver does not accept: refused, too.
    let resp = http
        .post(&url)
        .header("Content-Type", "application/json")
        .header("X-GitHub-Event", "issues")
        .header("X-Hub-Signature-256", sign(b"gh-secret", &body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = repos.get("app").await.unwrap();
    assert_eq!(
        requested(&after),
        requested(&before),
        "refused calls must not annotate"
    );
    assert_eq!(handled(&after), handled(&before));

    // Correctly signed push: annotated, and source-controller reconciles.
    let sent = Instant::now();
    let resp = http
        .post(&url)
        .header("Content-Type", "application/json")
        .header("X-GitHub-Event", "push")
        .header("X-Hub-Signature-256", sign(b"gh-secret", &body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let reconciled = wait_until(
        "lastHandledReconcileAt to change",
        Duration::from_secs(10),
        || async { repos.get("app").await.unwrap() },
        |r: &GitRepository| handled(r).is_some() && handled(r) != handled(&before),
    )
    .await;
    let took = sent.elapsed();
    let token = requested(&reconciled).expect("requestedAt set");
    assert_eq!(handled(&reconciled).as_deref(), Some(token.as_str()));
    assert!(token.ends_with(" +0000 UTC"), "{token}");
    assert!(took < Duration::from_secs(2), "reconciled after {took:?}");
    println!("signed push to lastHandledReconcileAt: {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_without_token_are_not_ready_and_wildcards_use_labels() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "notify-rcv").await.unwrap();
    let nc = start(&ns).await;
    let receivers = ns.api::<Receiver>();
    apply::<Receiver>(
        &ns,
        serde_json::json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": "generic"},
            "spec": {
                "type": "generic",
                "secretRef": {"name": "later"},
                "resources": [{"kind": "GitRepository", "name": "*", "matchLabels": {"team": "a"}}],
            },
        }),
    )
    .await;
    let failing = wait_until(
        "Ready=False TokenNotFound",
        WAIT,
        || async { receivers.get("generic").await.unwrap() },
        |r: &Receiver| {
            r.status.as_ref().is_some_and(|s| {
                s.conditions.iter().flatten().any(|c| {
                    c.type_ == "Ready" && c.status == "False" && c.reason == "TokenNotFound"
                })
            })
        },
    )
    .await;
    assert!(failing.status.unwrap().webhook_path.is_none());

    for (name, team) in [("a1", "a"), ("a2", "a"), ("b1", "b")] {
        apply::<GitRepository>(
            &ns,
            serde_json::json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": {"name": name, "labels": {"team": team}},
                "spec": {"url": "https://example.invalid/x", "interval": "1h"},
            }),
        )
        .await;
    }
    secret(&ns, "later", &[("token", "t0k")]).await;
    // Retries pick the Secret up.
    let rcv = ready_receiver(&receivers, "generic").await;
    let path = rcv.status.unwrap().webhook_path.unwrap();
    let url = format!("{}{path}", nc.receiver_url);
    let http = reqwest::Client::new();
    wait_until(
        "the receiver server to accept the call",
        WAIT,
        || async { http.post(&url).send().await.unwrap().status().as_u16() },
        |s: &u16| *s == 200,
    )
    .await;
    let repos = ns.api::<GitRepository>();
    for (name, annotated) in [("a1", true), ("a2", true), ("b1", false)] {
        let r = repos.get(name).await.unwrap();
        assert_eq!(requested(&r).is_some(), annotated, "{name}");
    }
    let unknown = format!("{}/hook/{}", nc.receiver_url, "0".repeat(64));
    assert_eq!(
        http.post(&unknown).send().await.unwrap().status().as_u16(),
        404
    );
}
