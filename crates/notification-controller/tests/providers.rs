//! Every supported provider type end to end: a Provider per type pointed
//! at a local sink (its credentials in a Secret), one Alert each, one error
//! event posted; each request must arrive with the path, authentication and
//! payload shape its service documents.

mod common;

use std::collections::BTreeMap;

use common::*;
use weir_api::notification::v1beta3::{Alert, Provider};
use weir_test_support::TestNamespace;

const SHA: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";

/// A Provider under test: type, address, channel and its Secret's data.
type ProviderCase<'a> = (&'a str, String, &'a str, Vec<(&'a str, &'a str)>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_provider_sends_its_services_payload() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "notify-providers")
        .await
        .unwrap();
    let nc = start(&ns).await;
    let mut sink = CaptureSink::start().await.unwrap();
    let s = sink.url.clone();
    // (type, address, channel, secret data)
    let providers: Vec<ProviderCase> = vec![
        (
            "slack",
            format!("{s}/slack/api/chat.postMessage"),
            "general",
            vec![("token", "xoxb-t")],
        ),
        (
            "discord",
            format!("{s}/discord/api/webhooks/1/x"),
            "",
            vec![],
        ),
        ("rocket", format!("{s}/rocket/hooks/x"), "", vec![]),
        ("msteams", format!("{s}/msteams/workflows/x"), "", vec![]),
        (
            "googlechat",
            format!("{s}/googlechat/v1/spaces/x/messages"),
            "",
            vec![],
        ),
        (
            "webex",
            format!("{s}/webex/v1/messages"),
            "room-1",
            vec![("token", "webex-t")],
        ),
        (
            "telegram",
            format!("{s}/telegram"),
            "-100123",
            vec![("token", "42:tg")],
        ),
        (
            "matrix",
            format!("{s}/matrix"),
            "!room:example.org",
            vec![("token", "syt-t")],
        ),
        (
            "alertmanager",
            format!("{s}/alertmanager/api/v2/alerts"),
            "",
            vec![],
        ),
        (
            "grafana",
            format!("{s}/grafana/api/annotations/graphite"),
            "",
            vec![("token", "glsa-t")],
        ),
        ("pagerduty", format!("{s}/pagerduty"), "routing-key", vec![]),
        (
            "opsgenie",
            format!("{s}/opsgenie/v2/alerts"),
            "",
            vec![("token", "genie-t")],
        ),
        (
            "github",
            format!("{s}/org/app"),
            "",
            vec![("token", "ghp-t")],
        ),
        (
            "gitlab",
            format!("{s}/group/app"),
            "",
            vec![("token", "glpat-t")],
        ),
        (
            "gitea",
            format!("{s}/org/app"),
            "",
            vec![("token", "gitea-t")],
        ),
    ];
    let mut names = Vec::new();
    for (type_, address, channel, data) in &providers {
        let mut spec = serde_json::json!({"type": type_, "address": address});
        if !channel.is_empty() {
            spec["channel"] = serde_json::json!(channel);
        }
        if !data.is_empty() {
            secret(&ns, type_, data).await;
            spec["secretRef"] = serde_json::json!({"name": type_});
        }
        apply::<Provider>(&ns, provider(type_, spec)).await;
        apply::<Alert>(
            &ns,
            alert(
                type_,
                serde_json::json!({"providerRef": {"name": type_}, "eventSources": [{"kind": "Kustomization", "name": "*"}]}),
            ),
        )
        .await;
        names.push(*type_);
    }
    nc.indexed(&names, &names).await;

    let ev = event(
        &ns,
        "Kustomization",
        "webapp",
        "error",
        "health check failed",
        &format!("main@sha1:{SHA}"),
    );
    let (status, text) = post_event(&nc.events_url, ev.to_string()).await;
    assert_eq!(status, 202, "{text}");

    let mut got: BTreeMap<String, Captured> = BTreeMap::new();
    while got.len() < providers.len() {
        let c = sink.next_matching(|_| true).await;
        got.insert(c.path.clone(), c);
    }
    let title = format!("kustomization/webapp.{}", ns.name());
    let at = |path: &str| -> &Captured {
        got.get(path).unwrap_or_else(|| {
            panic!(
                "nothing at {path}; got {:?}",
                got.keys().collect::<Vec<_>>()
            )
        })
    };

    let slack = at("/slack/api/chat.postMessage");
    assert_eq!(slack.header("authorization"), Some("Bearer xoxb-t"));
    let b = slack.json();
    assert_eq!(b["channel"], "general");
    assert_eq!(b["attachments"][0]["color"], "danger");
    assert_eq!(b["attachments"][0]["author_name"], title.as_str());
    assert_eq!(b["attachments"][0]["text"], "health check failed");

    assert_eq!(
        at("/discord/api/webhooks/1/x/slack").json()["attachments"][0]["author_name"],
        title.as_str()
    );
    assert_eq!(
        at("/rocket/hooks/x").json()["attachments"][0]["text"],
        "health check failed"
    );

    let teams = at("/msteams/workflows/x").json();
    assert_eq!(
        teams["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(
        teams["attachments"][0]["content"]["body"][1]["text"],
        "health check failed"
    );

    let chat = at("/googlechat/v1/spaces/x/messages").json();
    assert_eq!(chat["cards"][0]["header"]["title"], title.as_str());

    let webex = at("/webex/v1/messages");
    assert_eq!(webex.header("authorization"), Some("Bearer webex-t"));
    assert_eq!(webex.json()["roomId"], "room-1");
    assert!(
        webex.json()["markdown"]
            .as_str()
            .unwrap()
            .starts_with("💣 **kustomization/webapp.")
    );

    let tg = at("/telegram/bot42:tg/sendMessage").json();
    assert_eq!(tg["chat_id"], "-100123");
    assert_eq!(tg["parse_mode"], "MarkdownV2");

    let matrix = got
        .iter()
        .find(|(p, _)| p.starts_with("/matrix/_matrix/client/r0/rooms/"))
        .map(|(_, c)| c)
        .expect("a Matrix request");
    assert_eq!(matrix.header("authorization"), Some("Bearer syt-t"));
    assert_eq!(matrix.json()["msgtype"], "m.text");
    assert!(
        matrix.path.contains("/send/m.room.message/"),
        "{}",
        matrix.path
    );

    let am = at("/alertmanager/api/v2/alerts").json();
    assert_eq!(am[0]["status"], "firing");
    assert_eq!(
        am[0]["labels"]["alertname"],
        "FluxKustomizationReconciliationFailed"
    );
    assert_eq!(am[0]["labels"]["revision"], format!("main@sha1:{SHA}"));
    assert_eq!(am[0]["annotations"]["message"], "health check failed");

    let grafana = at("/grafana/api/annotations/graphite");
    assert_eq!(grafana.header("authorization"), Some("Bearer glsa-t"));
    assert_eq!(grafana.json()["text"], title.as_str());

    let pd = at("/v2/enqueue").json();
    assert_eq!(pd["routing_key"], "routing-key");
    assert_eq!(pd["event_action"], "trigger");
    assert_eq!(
        pd["payload"]["summary"],
        "reconciliation failed: kustomization/webapp"
    );

    let genie = at("/opsgenie/v2/alerts");
    assert_eq!(genie.header("authorization"), Some("GenieKey genie-t"));
    assert_eq!(genie.json()["message"], "Kustomization/webapp");

    let gh = at(&format!("/api/v3/repos/org/app/statuses/{SHA}"));
    assert_eq!(gh.header("authorization"), Some("Bearer ghp-t"));
    assert_eq!(gh.json()["state"], "failure");
    assert_eq!(gh.json()["description"], "reconciliation failed");
    let gl = at(&format!("/api/v4/projects/group%2Fapp/statuses/{SHA}"));
    assert_eq!(gl.header("private-token"), Some("glpat-t"));
    assert_eq!(gl.json()["state"], "failed");
    let gt = at(&format!("/api/v1/repos/org/app/statuses/{SHA}"));
    assert_eq!(gt.header("authorization"), Some("token gitea-t"));
    assert_eq!(gt.json()["state"], "failure");
    // Status names are kind/name/<first block of the Provider's UID>.
    for name in [
        gh.json()["context"].clone(),
        gl.json()["name"].clone(),
        gt.json()["context"].clone(),
    ] {
        let name = name.as_str().unwrap().to_owned();
        let (prefix, uid) = name.rsplit_once('/').unwrap();
        assert_eq!(prefix, "kustomization/webapp");
        assert_eq!(uid.len(), 8, "{name}");
    }
}
