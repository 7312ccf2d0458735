//! A flood of events against the real binary (ignored by default: a
//! measurement, not a unit of behaviour). For 10 s, requests are sent at a
//! target of 10,000 per second; one in ten is a new event, the rest repeat
//! recent ones. Repeats must be answered 429, every distinct event must
//! reach the sink through an Alert and a generic Provider, and the
//! controller's peak RSS must stay under 64 MiB.
//!
//! Run with the release binary:
//!   cargo build --release -p weir-notification-controller
//!   WEIR_NOTIFICATION_CONTROLLER_BIN=<target>/release/notification-controller \
//!     cargo test -p weir-notification-controller --test flood -- --ignored --nocapture

mod common;

use std::collections::HashSet;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use common::*;
use tokio::sync::Mutex;
use weir_api::notification::v1beta3::{Alert, Provider};
use weir_test_support::TestNamespace;

const RATE: u64 = 10_000;
const SECONDS: u64 = 10;
const SENDERS: u64 = 64;
const DISTINCT_EVERY: u64 = 10;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// User plus system CPU time of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a load measurement; run explicitly with the release binary"]
async fn flood_of_events() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "notify-flood").await.unwrap();

    // A counting sink: the distinct messages it received.
    let received: Arc<Mutex<HashSet<String>>> = Arc::default();
    let deliveries = Arc::new(AtomicU64::new(0));
    let (r, d) = (received.clone(), deliveries.clone());
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let (r, d) = (r.clone(), d.clone());
        async move {
            d.fetch_add(1, Ordering::Relaxed);
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body)
                && let Some(m) = v["message"].as_str()
            {
                r.lock().await.insert(m.to_owned());
            }
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    apply::<Provider>(
        &ns,
        provider(
            "sink",
            serde_json::json!({"type": "generic", "address": sink}),
        ),
    )
    .await;
    apply::<Alert>(
        &ns,
        alert(
            "all",
            serde_json::json!({"providerRef": {"name": "sink"}, "eventSources": [{"kind": "Kustomization", "name": "*"}]}),
        ),
    )
    .await;

    let bin = std::env::var("WEIR_NOTIFICATION_CONTROLLER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_notification-controller").to_owned());
    let (events, receiver, health, metrics) = (free_port(), free_port(), free_port(), free_port());
    let mut child = tokio::process::Command::new(&bin)
        .args([
            "--enable-leader-election=false",
            "--watch-all-namespaces=false",
            "--log-level=error",
            &format!("--events-addr=127.0.0.1:{events}"),
            &format!("--receiverAddr=127.0.0.1:{receiver}"),
            &format!("--health-addr=127.0.0.1:{health}"),
            &format!("--metrics-addr=127.0.0.1:{metrics}"),
        ])
        .env("KUBECONFIG", weir_test_support::cluster::kubeconfig_path())
        .env("RUNTIME_NAMESPACE", ns.name())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(SENDERS as usize)
        .build()
        .unwrap();
    wait_until(
        "the controller to be ready",
        WAIT,
        || async {
            http.get(format!("http://127.0.0.1:{health}/readyz"))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        },
        |s: &u16| *s == 200,
    )
    .await;
    // The Alert and Provider are in the controller's index once an event is delivered.
    let url = format!("http://127.0.0.1:{events}/");
    let warm = event(&ns, "Kustomization", "warm", "info", "warm-up", "w");
    wait_until(
        "the warm-up event to reach the sink",
        WAIT,
        || async {
            let _ = http.post(&url).body(warm.to_string()).send().await;
            received.lock().await.contains("warm-up")
        },
        |ok: &bool| *ok,
    )
    .await;
    let rss_before = peak_rss_kib(pid);
    let cpu_before = cpu_seconds(pid);

    let accepted = Arc::new(AtomicU64::new(0));
    let limited = Arc::new(AtomicU64::new(0));
    let busy = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let distinct_sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let per_sender = RATE * SECONDS / SENDERS;
    let mut tasks = Vec::new();
    for s in 0..SENDERS {
        let (http, url, ns_name) = (http.clone(), url.clone(), ns.name().to_owned());
        let (accepted, limited, busy, other, distinct_sent) = (
            accepted.clone(),
            limited.clone(),
            busy.clone(),
            other.clone(),
            distinct_sent.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let interval = Duration::from_secs(SECONDS) / per_sender as u32;
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            for i in 0..per_sender {
                tick.tick().await;
                // Every tenth request is new; the others repeat the sender's latest.
                let n = i / DISTINCT_EVERY;
                let message = format!("sender {s} event {n}");
                let is_new = i % DISTINCT_EVERY == 0;
                let body = format!(
                    r#"{{"involvedObject":{{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"Kustomization","name":"app-{s}","namespace":"{ns_name}"}},"severity":"info","timestamp":"2026-03-01T10:20:30Z","message":"{message}","reason":"ReconciliationSucceeded","metadata":{{"kustomize.toolkit.fluxcd.io/revision":"rev-{n}"}},"reportingController":"kustomize-controller"}}"#
                );
                if is_new {
                    distinct_sent.fetch_add(1, Ordering::Relaxed);
                }
                // 503 asks for a retry, as the controllers' recorder does.
                loop {
                    let status = match http.post(&url).body(body.clone()).send().await {
                        Ok(r) => r.status().as_u16(),
                        Err(_) => 0,
                    };
                    match status {
                        202 => accepted.fetch_add(1, Ordering::Relaxed),
                        429 => limited.fetch_add(1, Ordering::Relaxed),
                        503 => {
                            busy.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                        _ => other.fetch_add(1, Ordering::Relaxed),
                    };
                    break;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let sent_for = started.elapsed();
    let distinct = distinct_sent.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(120);
    while (received.lock().await.len() as u64) < distinct + 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let delivered_for = started.elapsed();
    let got = (received.lock().await.len() as u64).saturating_sub(1);
    let peak = peak_rss_kib(pid);
    let cpu = cpu_seconds(pid) - cpu_before;
    let _ = child.kill().await;

    let total = per_sender * SENDERS;
    println!(
        "flood: {total} requests in {:.1} s ({:.0}/s); {distinct} distinct, {} accepted (202), {} repeats refused (429), {} retried after 503, {} other; {got} distinct delivered after {:.1} s ({} deliveries); peak RSS {:.1} MiB (after warm-up {:.1} MiB); controller CPU {:.1} s ({:.0} µs per request)",
        sent_for.as_secs_f64(),
        total as f64 / sent_for.as_secs_f64(),
        accepted.load(Ordering::Relaxed),
        limited.load(Ordering::Relaxed),
        busy.load(Ordering::Relaxed),
        other.load(Ordering::Relaxed),
        delivered_for.as_secs_f64(),
        deliveries.load(Ordering::Relaxed).saturating_sub(1),
        peak as f64 / 1024.0,
        rss_before as f64 / 1024.0,
        cpu,
        cpu * 1e6 / total as f64,
    );
    assert_eq!(other.load(Ordering::Relaxed), 0);
    assert_eq!(accepted.load(Ordering::Relaxed), distinct);
    assert_eq!(limited.load(Ordering::Relaxed), total - distinct);
    assert_eq!(got, distinct, "every distinct event reaches the sink");
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
}
