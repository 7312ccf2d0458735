//! The event server end to end on the local control plane: source-controller
//! events through an Alert and a generic Provider to a local sink, the
//! generic-hmac signature, the filters, suspend, de-duplication and
//! validation.

mod common;

use std::time::Duration;

use common::*;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use weir_api::notification::v1beta3::{Alert, Provider};
use weir_api::source::v1::GitRepository;
use weir_test_support::TestNamespace;
use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_git_revision_reaches_a_generic_provider_in_fluxs_shape() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "notify-generic").await.unwrap();
    let nc = start(&ns).await;
    let mut sink = CaptureSink::start().await.unwrap();
    apply::<Provider>(
        &ns,
        provider(
            "sink",
            serde_json::json!({"type": "generic", "address": format!("{}/flux", sink.url)}),
        ),
    )
    .await;
    apply::<Alert>(
        &ns,
        alert(
            "git",
            serde_json::json!({
                "providerRef": {"name": "sink"},
                "eventSources": [{"kind": "GitRepository", "name": "*"}],
                "eventMetadata": {"cluster": "test-1"},
            }),
        ),
    )
    .await;
    nc.indexed(&["git"], &["sink"]).await;

    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    let first = repo
        .commit("main", &[("a.yaml", Entry::File(b"a: 1\n"))], "one")
        .unwrap();
    let _source = start_source(&ns, Some(&nc.events_url)).await;
    apply::<GitRepository>(
        &ns,
        serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app"},
            "spec": {"url": server.http_url("app"), "interval": "1s", "ref": {"branch": "main"}},
        }),
    )
    .await;

    let revision = format!("main@sha1:{first}");
    let got = sink
        .next_matching(|c| c.json()["reason"] == "NewArtifact")
        .await;
    assert_eq!(got.path, "/flux");
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("gotk-component"), Some("source-controller"));
    let e = got.json();
    assert_eq!(e["involvedObject"]["kind"], "GitRepository");
    assert_eq!(e["involvedObject"]["name"], "app");
    assert_eq!(e["involvedObject"]["namespace"], ns.name());
    assert_eq!(
        e["involvedObject"]["apiVersion"],
        "source.toolkit.fluxcd.io/v1"
    );
    assert!(
        e["involvedObject"]["uid"]
            .as_str()
            .is_some_and(|u| u.len() == 36)
    );
    assert_eq!(e["severity"], "info");
    assert_eq!(
        e["message"],
        format!("stored artifact for revision '{revision}'")
    );
    assert_eq!(e["reportingController"], "source-controller");
    // The metadata as Flux forwards it: group prefixes stripped, the digest
    // dropped, the Alert's eventMetadata merged in.
    assert_eq!(
        e["metadata"],
        serde_json::json!({"revision": revision, "cluster": "test-1"})
    );
    let ts = e["timestamp"].as_str().unwrap();
    assert!(
        ts.ends_with('Z') && ts.parse::<jiff::Timestamp>().is_ok(),
        "{ts}"
    );

    // A new commit is a new revision and a new notification.
    let second = repo
        .commit("main", &[("a.yaml", Entry::File(b"a: 2\n"))], "two")
        .unwrap();
    let revision2 = format!("main@sha1:{second}");
    let got = sink
        .next_matching(|c| c.json()["metadata"]["revision"] == revision2.as_str())
        .await;
    assert_eq!(
        got.json()["message"],
        format!("stored artifact for revision '{revision2}'")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_hmac_signature_verifies_with_the_secret_token() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "notify-hmac").await.unwrap();
    let nc = start(&ns).await;
    let mut sink = CaptureSink::start().await.unwrap();
    // Address, token and extra headers come from the Secret, as in Flux.
    secret(
        &ns,
        "hmac",
        &[
            ("address", &format!("{}/signed", sink.url)),
            ("token", "hmac-key-1"),
            ("headers", "X-Team: platform\nX-Env: test\n"),
        ],
    )
    .await;
    apply::<Provider>(
        &ns,
        provider(
            "signed",
            serde_json::json!({"type": "generic-hmac", "address": "http://unused.invalid/", "secretRef": {"name": "hmac"}}),
        ),
    )
    .await;
    apply::<Alert>(
        &ns,
        alert(
            "all",
            serde_json::json!({"providerRef": {"name": "signed"}, "eventSources": [{"kind": "Kustomization", "name": "*"}]}),
        ),
    )
    .await;
    nc.indexed(&["all"], &["signed"]).await;

    let ev = event(
        &ns,
        "Kustomization",
        "web",
        "info",
        "Service/web configured",
        "main@sha1:1",
    );
    let (status, _) = post_event(&nc.events_url, ev.to_string()).await;
    assert_eq!(status, 202);
    let got = sink.next_matching(|_| true).await;
    assert_eq!(got.path, "/signed");
    assert_eq!(got.header("x-team"), Some("platform"));
    assert_eq!(got.header("x-env"), Some("test"));
    let sig = got.header("x-signature").expect("X-Signature header");
    let mut mac = Hmac::<Sha256>::new_from_slice(b"hmac-key-1").unwrap();
    mac.update(&got.body);
    assert_eq!(
        sig,
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    let mut wrong = Hmac::<Sha256>::new_from_slice(b"another-key").unwrap();
    wrong.update(&got.body);
    assert_ne!(
        sig,
        format!("sha256={}", hex::encode(wrong.finalize().into_bytes()))
    );
    let body = got.json();
    assert_eq!(body["message"], "Service/web configured");
    // The checksum is dropped, the revision kept without its prefix.
    assert_eq!(
        body["metadata"],
        serde_json::json!({"revision": "main@sha1:1"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn severity_inclusion_exclusion_and_suspend_filter_events() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "notify-filters").await.unwrap();
    let nc = start(&ns).await;
    let mut sink = CaptureSink::start().await.unwrap();
    for p in ["all", "errors", "included", "suspended", "labelled"] {
        apply::<Provider>(
            &ns,
            provider(
                p,
                serde_json::json!({"type": "generic", "address": format!("{}/{p}", sink.url)}),
            ),
        )
        .await;
    }
    let source = serde_json::json!([{"kind": "Kustomization", "name": "*"}]);
    apply::<Alert>(
        &ns,
        alert(
            "all",
            serde_json::json!({"providerRef": {"name": "all"}, "eventSources": source}),
        ),
    )
    .await;
    apply::<Alert>(&ns, alert("errors", serde_json::json!({"providerRef": {"name": "errors"}, "eventSources": source, "eventSeverity": "error"}))).await;
    apply::<Alert>(
        &ns,
        alert(
            "included",
            serde_json::json!({
                "providerRef": {"name": "included"}, "eventSources": source,
                "inclusionList": [".*succeeded.*"], "exclusionList": ["^Dependencies"],
            }),
        ),
    )
    .await;
    apply::<Alert>(&ns, alert("suspended", serde_json::json!({"providerRef": {"name": "suspended"}, "eventSources": source, "suspend": true}))).await;
    // A source selecting by name only: events of other objects do not match.
    apply::<Alert>(
        &ns,
        alert(
            "labelled",
            serde_json::json!({"providerRef": {"name": "labelled"}, "eventSources": [{"kind": "Kustomization", "name": "only-this"}]}),
        ),
    )
    .await;
    nc.indexed(
        &["all", "errors", "included", "suspended", "labelled"],
        &["all", "errors", "included", "suspended", "labelled"],
    )
    .await;

    let sent = [
        ("info", "apply succeeded"),
        ("error", "apply failed"),
        ("info", "Dependencies succeeded"),
        ("info", "health check passed"),
    ];
    for (i, (severity, message)) in sent.iter().enumerate() {
        let ev = event(
            &ns,
            "Kustomization",
            "web",
            severity,
            message,
            &format!("rev-{i}"),
        );
        let (status, text) = post_event(&nc.events_url, ev.to_string()).await;
        assert_eq!(status, 202, "{text}");
    }
    // The "all" Alert gets every event; once it has them all, the others
    // have been queued too. Wait a little more for the rest to arrive.
    let mut got: Vec<Captured> = Vec::new();
    while got.iter().filter(|c| c.path == "/all").count() < sent.len() {
        got.push(sink.next_matching(|_| true).await);
    }
    got.extend(sink.drain_for(Duration::from_secs(2)).await);
    let messages = |path: &str| {
        let mut m: Vec<String> = got
            .iter()
            .filter(|c| c.path == path)
            .map(|c| c.json()["message"].as_str().unwrap().to_owned())
            .collect();
        m.sort();
        m
    };
    assert_eq!(
        messages("/all"),
        [
            "Dependencies succeeded",
            "apply failed",
            "apply succeeded",
            "health check passed"
        ]
    );
    assert_eq!(messages("/errors"), ["apply failed"]);
    assert_eq!(messages("/included"), ["apply succeeded"]);
    assert!(messages("/suspended").is_empty());
    assert!(messages("/labelled").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn match_labels_select_by_the_objects_labels() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "notify-labels").await.unwrap();
    let nc = start(&ns).await;
    let mut sink = CaptureSink::start().await.unwrap();
    apply::<Provider>(
        &ns,
        provider(
            "p",
            serde_json::json!({"type": "generic", "address": sink.url}),
        ),
    )
    .await;
    apply::<Alert>(
        &ns,
        alert(
            "team-a",
            serde_json::json!({"providerRef": {"name": "p"}, "eventSources": [{"kind": "GitRepository", "name": "*", "matchLabels": {"team": "a"}}]}),
        ),
    )
    .await;
    nc.indexed(&["team-a"], &["p"]).await;
    for (name, team) in [("repo-a", "a"), ("repo-b", "b")] {
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
    for name in ["repo-b", "repo-a", "missing"] {
        let mut ev = event(&ns, "GitRepository", name, "info", "stored", name);
        ev["involvedObject"]["apiVersion"] = serde_json::json!("source.toolkit.fluxcd.io/v1");
        let (status, _) = post_event(&nc.events_url, ev.to_string()).await;
        assert_eq!(status, 202);
    }
    let first = sink.next_matching(|_| true).await;
    assert_eq!(first.json()["involvedObject"]["name"], "repo-a");
    assert!(sink.drain_for(Duration::from_secs(1)).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeats_are_refused_and_bad_events_explained() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "notify-dedup").await.unwrap();
    let nc = start(&ns).await;
    let mut sink = CaptureSink::start().await.unwrap();
    apply::<Provider>(
        &ns,
        provider(
            "p",
            serde_json::json!({"type": "generic", "address": sink.url}),
        ),
    )
    .await;
    apply::<Alert>(&ns, alert("a", serde_json::json!({"providerRef": {"name": "p"}, "eventSources": [{"kind": "Kustomization", "name": "*"}]}))).await;
    nc.indexed(&["a"], &["p"]).await;

    let ev = event(&ns, "Kustomization", "web", "info", "applied", "rev-1");
    assert_eq!(post_event(&nc.events_url, ev.to_string()).await.0, 202);
    // Same object, message and revision: a repeat, even with another timestamp.
    let mut again = ev.clone();
    again["timestamp"] = serde_json::json!("2026-03-01T10:25:00Z");
    assert_eq!(post_event(&nc.events_url, again.to_string()).await.0, 429);
    let mut other_rev = ev.clone();
    other_rev["metadata"]["kustomize.toolkit.fluxcd.io/revision"] = serde_json::json!("rev-2");
    assert_eq!(
        post_event(&nc.events_url, other_rev.to_string()).await.0,
        202
    );
    let got = sink.next_matching(|_| true).await;
    let got2 = sink.next_matching(|_| true).await;
    let mut revs = [
        got.json()["metadata"]["revision"]
            .as_str()
            .unwrap()
            .to_owned(),
        got2.json()["metadata"]["revision"]
            .as_str()
            .unwrap()
            .to_owned(),
    ];
    revs.sort();
    assert_eq!(revs, ["rev-1", "rev-2"]);
    assert!(sink.drain_for(Duration::from_millis(500)).await.is_empty());

    let (status, text) = post_event(&nc.events_url, "{\"severity\":\"info\"}").await;
    assert_eq!(status, 400);
    assert_eq!(text.trim(), "invalid event: involvedObject is required");
    let mut bad = ev.clone();
    bad["severity"] = serde_json::json!("fatal");
    let (status, text) = post_event(&nc.events_url, bad.to_string()).await;
    assert_eq!(status, 400);
    assert!(
        text.contains("severity must be 'info' or 'error', got 'fatal'"),
        "{text}"
    );
    let (status, _) = post_event(&nc.events_url, vec![b' '; 3 * 1024 * 1024 + 1]).await;
    assert_eq!(status, 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cross_namespace_refs_drops_events_from_other_namespaces() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "notify-xns").await.unwrap();
    let nc = start_with(&ns, Duration::from_secs(300), true).await;
    let mut sink = CaptureSink::start().await.unwrap();
    apply::<Provider>(
        &ns,
        provider(
            "p",
            serde_json::json!({"type": "generic", "address": sink.url}),
        ),
    )
    .await;
    apply::<Alert>(
        &ns,
        alert(
            "a",
            serde_json::json!({"providerRef": {"name": "p"}, "eventSources": [
                {"kind": "Kustomization", "name": "*", "namespace": "elsewhere"},
                {"kind": "Kustomization", "name": "*"},
            ]}),
        ),
    )
    .await;
    nc.indexed(&["a"], &["p"]).await;
    let mut foreign = event(&ns, "Kustomization", "web", "info", "foreign", "r1");
    foreign["involvedObject"]["namespace"] = serde_json::json!("elsewhere");
    assert_eq!(post_event(&nc.events_url, foreign.to_string()).await.0, 202);
    let own = event(&ns, "Kustomization", "web", "info", "own", "r1");
    assert_eq!(post_event(&nc.events_url, own.to_string()).await.0, 202);
    let got = sink.next_matching(|_| true).await;
    assert_eq!(got.json()["message"], "own");
    assert!(sink.drain_for(Duration::from_secs(1)).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deliveries_are_reported_on_the_alert_without_secrets() {
    use k8s_openapi::api::events::v1::Event as KubeEvent;
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "notify-fail").await.unwrap();
    let nc = start(&ns).await;
    // Nothing listens on port 1; the token also appears in the address.
    secret(
        &ns,
        "creds",
        &[
            (
                "address",
                "http://127.0.0.1:1/hook/s3cr3t-t0ken?key=s3cr3t-t0ken",
            ),
            ("token", "s3cr3t-t0ken"),
        ],
    )
    .await;
    apply::<Provider>(
        &ns,
        provider(
            "down",
            serde_json::json!({"type": "generic-hmac", "timeout": "2s", "secretRef": {"name": "creds"}}),
        ),
    )
    .await;
    apply::<Alert>(
        &ns,
        alert(
            "a",
            serde_json::json!({"providerRef": {"name": "down"}, "eventSources": [{"kind": "Kustomization", "name": "*"}]}),
        ),
    )
    .await;
    nc.indexed(&["a"], &["down"]).await;
    let ev = event(&ns, "Kustomization", "web", "error", "apply failed", "r1");
    assert_eq!(post_event(&nc.events_url, ev.to_string()).await.0, 202);

    let events: kube::Api<KubeEvent> = ns.api();
    let found = wait_until(
        "a NotificationDispatchFailed event on the Alert",
        WAIT,
        || async { events.list(&Default::default()).await.unwrap().items },
        |items: &Vec<KubeEvent>| {
            items.iter().any(|e| {
                e.reason.as_deref() == Some("NotificationDispatchFailed")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("a")
            })
        },
    )
    .await;
    let e = found
        .iter()
        .find(|e| e.reason.as_deref() == Some("NotificationDispatchFailed"))
        .unwrap();
    assert_eq!(e.type_.as_deref(), Some("Warning"));
    let note = e.note.clone().unwrap_or_default();
    assert!(
        note.starts_with(&format!(
            "failed to send notification for Kustomization/{}/web: ",
            ns.name()
        )),
        "{note}"
    );
    assert!(note.contains("127.0.0.1:1"), "{note}");
    assert!(!note.contains("s3cr3t-t0ken"), "the token leaked: {note}");
    assert!(note.contains("*****"), "{note}");
}
