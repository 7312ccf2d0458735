//! Events: Kubernetes Events on the object, and Flux-format events POSTed to
//! `--events-addr` (here a local sink standing in for notification-controller).

mod common;

use std::time::{Duration, Instant};

use common::*;
use k8s_openapi::api::events::v1::Event as KubeEvent;
use kube::api::ListParams;
use weir_test_support::TestNamespace;
use weir_test_support::event_sink::EventSink;
use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_kubernetes_and_the_events_address() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "src-events").await.unwrap();
    let server = GitServer::start(GitServerOptions {
        basic_auth: Some(("u".into(), "right".into())),
        ..Default::default()
    })
    .unwrap();
    let repo = server.repo("app").unwrap();
    let commit = repo
        .commit("main", &[("a.yaml", Entry::File(b"a: 1\n"))], "one")
        .unwrap();
    let mut sink = EventSink::start().await.unwrap();
    let _controller = start(
        &ns,
        Settings {
            events_addr: Some(sink.url.clone()),
            ..Default::default()
        },
    )
    .await;
    secret(&ns, "right", &[("username", "u"), ("password", "right")]).await;
    secret(&ns, "wrong", &[("username", "u"), ("password", "wrong")]).await;
    let url = server.http_url("app");
    create(&ns, "good", serde_json::json!({"url": url, "interval": "10m", "ref": {"branch": "main"}, "secretRef": {"name": "right"}})).await;

    let event = sink.next_for("good").await;
    let revision = format!("main@sha1:{commit}");
    assert_eq!(event["involvedObject"]["kind"], "GitRepository");
    assert_eq!(
        event["involvedObject"]["apiVersion"],
        "source.toolkit.fluxcd.io/v1"
    );
    assert_eq!(event["involvedObject"]["namespace"], ns.name());
    assert!(event["involvedObject"]["uid"].is_string());
    assert_eq!(event["severity"], "info");
    assert_eq!(event["reason"], "NewArtifact");
    assert_eq!(
        event["message"],
        format!("stored artifact for revision '{revision}'")
    );
    assert_eq!(
        event["metadata"]["source.toolkit.fluxcd.io/revision"],
        revision.as_str()
    );
    assert!(
        event["metadata"]["source.toolkit.fluxcd.io/digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(event["reportingController"], "source-controller");
    let ts = event["timestamp"].as_str().unwrap();
    assert!(
        ts.ends_with('Z') && ts.parse::<jiff::Timestamp>().is_ok(),
        "{ts}"
    );

    create(&ns, "bad", serde_json::json!({"url": url, "interval": "10m", "ref": {"branch": "main"}, "secretRef": {"name": "wrong"}})).await;
    let event = sink.next_for("bad").await;
    assert_eq!(event["severity"], "error");
    assert_eq!(event["reason"], "AuthenticationFailed");
    assert!(
        !event["message"].as_str().unwrap().contains("wrong"),
        "{}",
        event["message"]
    );

    // The same on the Kubernetes side (what `kubectl describe` shows).
    let events = ns.api::<KubeEvent>();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = events.list(&ListParams::default()).await.unwrap();
        let find = |name: &str, reason: &str| {
            list.items
                .iter()
                .find(|e| {
                    e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
                        && e.reason.as_deref() == Some(reason)
                })
                .cloned()
        };
        if let (Some(good), Some(bad)) = (
            find("good", "NewArtifact"),
            find("bad", "AuthenticationFailed"),
        ) {
            assert_eq!(good.type_.as_deref(), Some("Normal"));
            assert_eq!(bad.type_.as_deref(), Some("Warning"));
            assert_eq!(
                good.reporting_controller.as_deref(),
                Some("source-controller")
            );
            assert_eq!(
                good.regarding.as_ref().unwrap().kind.as_deref(),
                Some("GitRepository")
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Kubernetes Events missing: {:?}",
            list.items
                .iter()
                .map(|e| (&e.reason, &e.regarding))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
