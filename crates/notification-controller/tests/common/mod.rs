//! notification-controller in-process for one test namespace (event and
//! receiver servers on loopback ports, the Receiver reconciler), optionally
//! source-controller posting its events to it, and a capturing HTTP sink.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use weir_runtime::events::EventRecorder;
use weir_runtime::metrics::Metrics;
use weir_test_support::TestNamespace;

pub const WAIT: Duration = Duration::from_secs(60);

/// notification-controller running for one namespace.
pub struct Notification {
    pub events_url: String,
    pub receiver_url: String,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub servers: weir_notification_controller::Servers,
}

impl Drop for Notification {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Notification {
    /// Waits until the watches have seen the named Alerts and Providers.
    pub async fn indexed(&self, alerts: &[&str], providers: &[&str]) {
        let index = &self.servers.index;
        let deadline = Instant::now() + WAIT;
        loop {
            let a = index.alerts.state();
            let p = index.providers.state();
            let has = |names: &[&str], objs: Vec<String>| {
                names.iter().all(|n| objs.iter().any(|o| o == n))
            };
            if has(
                alerts,
                a.iter()
                    .map(|x| x.metadata.name.clone().unwrap_or_default())
                    .collect(),
            ) && has(
                providers,
                p.iter()
                    .map(|x| x.metadata.name.clone().unwrap_or_default())
                    .collect(),
            ) {
                return;
            }
            assert!(Instant::now() < deadline, "alerts/providers not indexed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub async fn start(ns: &TestNamespace) -> Notification {
    start_with(ns, Duration::from_secs(300), false).await
}

pub async fn start_with(
    ns: &TestNamespace,
    rate_limit_interval: Duration,
    no_cross_namespace_refs: bool,
) -> Notification {
    let client = ns.client().clone();
    let recorder = EventRecorder::new(client.clone(), "notification-controller", None);
    let servers = weir_notification_controller::start_servers(
        client.clone(),
        recorder.clone(),
        weir_notification_controller::ServerConfig {
            namespace: Some(ns.name().to_owned()),
            events_addr: "127.0.0.1:0".parse().unwrap(),
            receiver_addr: "127.0.0.1:0".parse().unwrap(),
            rate_limit_interval,
            no_cross_namespace_refs,
        },
    )
    .await
    .unwrap();
    let ctx = weir_notification_controller::receiver::controller::Context::new(
        client,
        recorder,
        Arc::new(Metrics::new("notification-controller")),
        weir_notification_controller::receiver::controller::Config {
            namespace: Some(ns.name().to_owned()),
            concurrency: 2,
            min_retry_delay: Duration::from_millis(300),
            max_retry_delay: Duration::from_secs(2),
        },
    );
    Notification {
        events_url: format!("http://{}/", servers.events_addr),
        receiver_url: format!("http://{}", servers.receiver_addr),
        tasks: vec![tokio::spawn(
            weir_notification_controller::receiver::controller::run(ctx),
        )],
        servers,
    }
}

/// source-controller in-process for the namespace, posting its events to
/// `events_addr`.
pub type Source = weir_source_controller::LocalSourceController;

pub async fn start_source(ns: &TestNamespace, events_addr: Option<&str>) -> Source {
    Source::start(ns.client().clone(), ns.name(), events_addr)
        .await
        .unwrap()
}

#[allow(unused_imports)]
pub use weir_test_support::event_sink::{Captured, EventSink as CaptureSink};

pub async fn apply<K>(ns: &TestNamespace, doc: serde_json::Value) -> K
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let mut doc = doc;
    doc["metadata"]["namespace"] = serde_json::json!(ns.name());
    ns.api::<K>()
        .create(
            &PostParams::default(),
            &serde_json::from_value(doc).unwrap(),
        )
        .await
        .unwrap()
}

pub async fn secret(ns: &TestNamespace, name: &str, data: &[(&str, &str)]) {
    let s: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": ns.name()},
        "stringData": data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<std::collections::BTreeMap<_, _>>(),
    }))
    .unwrap();
    Api::<Secret>::namespaced(ns.client().clone(), ns.name())
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
}

pub fn provider(name: &str, spec: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
        "metadata": {"name": name}, "spec": spec,
    })
}

pub fn alert(name: &str, spec: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
        "metadata": {"name": name}, "spec": spec,
    })
}

/// A Flux event about `kind/name` in the namespace.
pub fn event(
    ns: &TestNamespace,
    kind: &str,
    name: &str,
    severity: &str,
    message: &str,
    revision: &str,
) -> serde_json::Value {
    serde_json::json!({
        "involvedObject": {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": kind,
            "name": name, "namespace": ns.name(), "uid": "b9f0a6c2-1111-4a5e-9d1e-0d9f00000001",
        },
        "severity": severity,
        "timestamp": "2026-03-01T10:20:30Z",
        "message": message,
        "reason": if severity == "error" { "ReconciliationFailed" } else { "ReconciliationSucceeded" },
        "metadata": {
            "kustomize.toolkit.fluxcd.io/revision": revision,
            "kustomize.toolkit.fluxcd.io/checksum": "deadbeef",
        },
        "reportingController": "kustomize-controller",
    })
}

/// POSTs an event; returns the status code and body.
pub async fn post_event(url: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// Polls `get` until `check` accepts its value; panics with the last value.
pub async fn wait_until<T: std::fmt::Debug, F, Fut>(
    what: &str,
    timeout: Duration,
    get: F,
    check: impl Fn(&T) -> bool,
) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let v = get().await;
        if check(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {v:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
