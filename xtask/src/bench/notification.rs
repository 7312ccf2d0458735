//! `cargo xtask bench notification`: issue 6's two measurements of the
//! release notification-controller on the local control plane.
//!
//! The flood. In a fresh namespace: a generic Provider posting to a local
//! sink and an Alert forwarding every Kustomization's events to it; then
//! notification-controller, and one warm-up event through to the sink. For
//! `--seconds` seconds, `--connections` keep-alive connections then share a
//! schedule of `--rate` requests a second (connection `c` sends slots `c`,
//! `c + connections`, …, slot `k` due `k / rate` seconds after the start; a
//! connection behind its schedule sends at once). Each connection speaks
//! for one Kustomization (`app-<c>`): every tenth of its requests is a new
//! event, the nine after it repeat that event, so a tenth of the requests
//! should be accepted (202) and forwarded and the rest refused as repeats
//! within the de-duplication window (429). A 503 (delivery queue full) is
//! retried after 50 ms, as the controllers' event recorder does. Then the
//! bench waits until every distinct event is at the sink. Reported: the
//! requests and the rate achieved, the answers by status, response times,
//! distinct events delivered against those sent, the controller's peak RSS
//! (`VmHWM`) and CPU time, and xtask's own CPU time (load generator and
//! sink), which shows when the load generator rather than the controller
//! is the limit. The load generator is [`super::http1`] on plain threads:
//! cheap enough unoptimised.
//!
//! The webhook latency: [`super::push_latency`] with [`Trigger::Webhook`],
//! on the same control plane and builds.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::bail;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams};
use weir_api::notification::v1beta3::{Alert, Provider};
use weir_test_support::event_sink::EventSink;

use super::http1;
use super::push_latency::{self, Trigger};
use super::{mib, percentile, verdict};
use crate::controllers::{Binaries, NotificationController};

/// Every this many requests of a connection, a new event.
const DISTINCT_EVERY: usize = 10;
/// How long a sender waits after a 503 before it sends the event again.
const RETRY_AFTER_503: Duration = Duration::from_millis(50);
/// How long the warm-up event may take to reach the sink.
const WARM_UP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long, after the last request, the distinct events may take to
/// reach the sink.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);
/// Issue 6's memory bound for the flood.
const RSS_LIMIT_KIB: u64 = 64 * 1024;
const PROVIDER: &str = "sink";
const ALERT: &str = "every-kustomization";

/// The flood's shape (`cargo xtask bench notification`'s flags).
#[derive(Clone, Copy, Debug)]
pub struct Flood {
    /// Requests a second.
    pub rate: u64,
    pub seconds: u64,
    /// Keep-alive connections (and so Kustomizations) sharing the schedule.
    pub connections: usize,
}

impl Flood {
    fn requests(self) -> u64 {
        self.rate * self.seconds
    }
}

/// The flood, then (unless `pushes` is 0) the webhook latency over
/// `pushes` pushes.
pub fn run(flood: Flood, pushes: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        flood.rate >= 1 && flood.seconds >= 1 && flood.connections >= 1,
        "--rate, --seconds and --connections must be at least 1"
    );
    let bench = push_latency::bench()?;
    let result =
        bench
            .runtime
            .block_on(measure(&bench.binaries, &bench.cluster.kubeconfig, flood))?;
    result.print(flood);
    if pushes > 0 {
        println!();
        push_latency::run_on(&bench, pushes, Trigger::Webhook)?;
    }
    Ok(())
}

/// What the sink has received.
#[derive(Default)]
struct Received {
    /// A warm-up event arrived.
    warmed_up: bool,
    /// The flood's events, by message.
    distinct: HashSet<String>,
    /// The flood's deliveries, repeated ones included.
    deliveries: u64,
    /// When the latest new message was seen (to the sink's polling, 20 ms).
    last_new: Option<Instant>,
}

impl Received {
    fn note(&mut self, message: &str) {
        if message.starts_with("warm-up") {
            self.warmed_up = true;
            return;
        }
        self.deliveries += 1;
        if self.distinct.insert(message.to_owned()) {
            self.last_new = Some(Instant::now());
        }
    }
}

type Shared = Arc<Mutex<Received>>;

fn lock(received: &Shared) -> std::sync::MutexGuard<'_, Received> {
    received.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes what reaches the sink into `received`, until aborted.
async fn collect(mut sink: EventSink, received: Shared) {
    loop {
        let batch = sink.drain_for(Duration::from_millis(20)).await;
        let messages: Vec<String> = batch
            .iter()
            .filter_map(|c| {
                let event: serde_json::Value = serde_json::from_slice(&c.body).ok()?;
                event["message"].as_str().map(str::to_owned)
            })
            .collect();
        let mut received = lock(&received);
        for message in &messages {
            received.note(message);
        }
    }
}

/// A Flux event about Kustomization `name` in `namespace`, as
/// kustomize-controller sends it.
fn event_body(namespace: &str, name: &str, message: &str, revision: &str) -> String {
    serde_json::json!({
        "involvedObject": {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "name": name,
            "namespace": namespace,
        },
        "severity": "info",
        "timestamp": "2026-03-01T10:20:30Z",
        "message": message,
        "reason": "ReconciliationSucceeded",
        "metadata": { "kustomize.toolkit.fluxcd.io/revision": revision },
        "reportingController": "kustomize-controller",
    })
    .to_string()
}

fn post_event(addr: SocketAddr, body: &str) -> Vec<u8> {
    http1::request(
        "POST",
        addr,
        "/",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// What one connection, or all of them, saw.
#[derive(Default)]
struct Tally {
    /// Requests sent, retries after 503 included.
    requests: u64,
    /// New events among them (each counted once).
    distinct: u64,
    /// The final answer to each scheduled request, by status.
    answers: BTreeMap<u16, u64>,
    /// 503s (each followed by a retry).
    retried: u64,
    /// Requests that got no answer (the connection failed), and the first
    /// failure.
    errors: u64,
    first_error: Option<String>,
    /// From sending a request to reading its answer.
    latencies: Vec<Duration>,
    /// How late against its schedule the latest request went out.
    max_lag: Duration,
    /// When the last answer was read.
    finished: Option<Instant>,
}

impl Tally {
    fn merge(mut self, other: Tally) -> Tally {
        self.requests += other.requests;
        self.distinct += other.distinct;
        for (status, n) in other.answers {
            *self.answers.entry(status).or_default() += n;
        }
        self.retried += other.retried;
        self.errors += other.errors;
        self.first_error = self.first_error.or(other.first_error);
        self.latencies.extend(other.latencies);
        self.max_lag = self.max_lag.max(other.max_lag);
        self.finished = self.finished.max(other.finished);
        self
    }

    fn answered(&self, status: u16) -> u64 {
        self.answers.get(&status).copied().unwrap_or(0)
    }
}

/// Connection `c`'s share of the schedule.
fn send_share(
    c: usize,
    flood: Flood,
    addr: SocketAddr,
    namespace: &str,
    started: Instant,
) -> Tally {
    let mut connection = http1::Connection::new(addr);
    let mut tally = Tally::default();
    let name = format!("app-{c}");
    let mut request = Vec::new();
    let slots = (c as u64..flood.requests()).step_by(flood.connections);
    for (i, slot) in slots.enumerate() {
        if i % DISTINCT_EVERY == 0 {
            let n = i / DISTINCT_EVERY;
            let body = event_body(
                namespace,
                &name,
                &format!("{name} event {n}"),
                &format!("rev-{n}"),
            );
            request = post_event(addr, &body);
            tally.distinct += 1;
        }
        let due = started + Duration::from_nanos(slot * 1_000_000_000 / flood.rate);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        } else {
            tally.max_lag = tally.max_lag.max(now - due);
        }
        loop {
            let sent = Instant::now();
            tally.requests += 1;
            match connection.send(&request) {
                Ok(response) if response.status == 503 => {
                    tally.retried += 1;
                    std::thread::sleep(RETRY_AFTER_503);
                    continue;
                }
                Ok(response) => {
                    tally.latencies.push(sent.elapsed());
                    *tally.answers.entry(response.status).or_default() += 1;
                }
                Err(e) => {
                    tally.errors += 1;
                    tally.first_error.get_or_insert_with(|| e.to_string());
                }
            }
            break;
        }
    }
    tally.finished = Some(Instant::now());
    tally
}

/// The whole schedule, one thread per connection.
fn send_all(flood: Flood, addr: SocketAddr, namespace: &str, started: Instant) -> Tally {
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..flood.connections)
            .map(|c| scope.spawn(move || send_share(c, flood, addr, namespace, started)))
            .collect();
        threads.into_iter().fold(Tally::default(), |all, thread| {
            all.merge(
                thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            )
        })
    })
}

/// This process's user and system CPU time so far.
fn own_cpu_time() -> Duration {
    // SAFETY: rusage is plain old data, zero is a valid bit pattern.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// The flood's figures.
struct FloodResult {
    tally: Tally,
    /// From the start to the last answer.
    sent_for: Duration,
    delivered: u64,
    deliveries: u64,
    /// From the start to the last distinct event's arrival at the sink.
    delivered_after: Option<Duration>,
    /// `VmRSS` after the warm-up, `VmHWM` after the delivery, `ru_maxrss`
    /// at exit; KiB.
    rss_warm_kib: u64,
    peak_kib: u64,
    exit_kib: u64,
    controller_cpu: Duration,
    own_cpu: Duration,
}

async fn measure(
    binaries: &Binaries,
    kubeconfig: &Path,
    flood: Flood,
) -> anyhow::Result<FloodResult> {
    let ns_name = format!("bench-flood-{}", std::process::id());
    let client = super::bench_namespace(kubeconfig, &ns_name).await?;
    let sink = EventSink::start().await?;
    let sink_url = format!("{}/", sink.url);
    let received = Shared::default();
    let collector = tokio::spawn(collect(sink, received.clone()));

    super::create_in::<Provider>(
        &client,
        &ns_name,
        serde_json::json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3",
            "kind": "Provider",
            "metadata": { "name": PROVIDER },
            "spec": { "type": "generic", "address": sink_url },
        }),
    )
    .await?;
    super::create_in::<Alert>(
        &client,
        &ns_name,
        serde_json::json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3",
            "kind": "Alert",
            "metadata": { "name": ALERT },
            "spec": {
                "providerRef": { "name": PROVIDER },
                "eventSources": [{ "kind": "Kustomization", "name": "*" }],
            },
        }),
    )
    .await?;

    let env = super::bench_env(kubeconfig, &ns_name);
    let mut controller = NotificationController::start(binaries, &env, &[])?;
    let addr = controller.events_addr;
    // Each attempt is a new event: one sent before the Alert was seen would
    // make its repeats 429s.
    let warming = Instant::now();
    for attempt in 0.. {
        controller.process.check()?;
        let request = post_event(
            addr,
            &event_body(
                &ns_name,
                "warm-up",
                &format!("warm-up {attempt}"),
                "warm-up",
            ),
        );
        // Refused while it lists the Alerts and Providers before listening.
        let _ = tokio::task::spawn_blocking(move || http1::Connection::new(addr).send(&request))
            .await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        if lock(&received).warmed_up {
            break;
        }
        if warming.elapsed() > WARM_UP_TIMEOUT {
            bail!("no warm-up event reached the sink within {WARM_UP_TIMEOUT:?}");
        }
    }
    println!(
        "  notification-controller forwarding to the sink after {:.2}s",
        warming.elapsed().as_secs_f64()
    );
    let rss_warm_kib = controller.process.rss_kib().unwrap_or(0);
    let cpu_before = controller.process.cpu_time().unwrap_or_default();
    let own_before = own_cpu_time();

    let started = Instant::now();
    let namespace = ns_name.clone();
    let tally =
        tokio::task::spawn_blocking(move || send_all(flood, addr, &namespace, started)).await?;
    let sent_for = tally.finished.unwrap_or(started) - started;

    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    while (lock(&received).distinct.len() as u64) < tally.distinct && Instant::now() < deadline {
        controller.process.check()?;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let peak_kib = controller.process.peak_rss_kib().unwrap_or(0);
    let controller_cpu = controller
        .process
        .cpu_time()
        .unwrap_or_default()
        .saturating_sub(cpu_before);
    let own_cpu = own_cpu_time().saturating_sub(own_before);
    let exit_kib = controller.process.stop()?.max_rss_kib;
    collector.abort();
    let (delivered, deliveries, delivered_after) = {
        let received = lock(&received);
        (
            received.distinct.len() as u64,
            received.deliveries,
            received.last_new.map(|at| at - started),
        )
    };
    Api::<Namespace>::all(client)
        .delete(&ns_name, &DeleteParams::default())
        .await?;
    Ok(FloodResult {
        tally,
        sent_for,
        delivered,
        deliveries,
        delivered_after,
        rss_warm_kib,
        peak_kib,
        exit_kib,
        controller_cpu,
        own_cpu,
    })
}

impl FloodResult {
    fn print(&self, flood: Flood) {
        let Flood {
            rate,
            seconds,
            connections,
        } = flood;
        let t = &self.tally;
        let scheduled = flood.requests();
        let achieved = scheduled as f64 / self.sent_for.as_secs_f64().max(1e-9);
        let (accepted, refused) = (t.answered(202), t.answered(429));
        let others: Vec<String> = t
            .answers
            .iter()
            .filter(|(status, _)| !matches!(status, 202 | 429))
            .map(|(status, n)| format!("{n} × {status}"))
            .collect();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "\nnotification --rate {rate} --seconds {seconds} --connections {connections} (each connection one Kustomization; every {DISTINCT_EVERY}th request a new event, the others repeats; a generic Provider to a local sink):"
        );
        println!(
            "  sent        {scheduled} requests (+{} retries after 503) in {:.2}s: {achieved:.0}/s (target {rate}/s; the latest request went out {:.1} ms behind its schedule)",
            t.retried,
            self.sent_for.as_secs_f64(),
            ms(t.max_lag)
        );
        println!(
            "  answers     {accepted} × 202, {refused} × 429, {} other{}, {} without an answer{}",
            others.len(),
            if others.is_empty() {
                String::new()
            } else {
                format!(" ({})", others.join(", "))
            },
            t.errors,
            t.first_error
                .as_ref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
        println!(
            "  response    p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.1} ms",
            ms(percentile(&t.latencies, 50.0)),
            ms(percentile(&t.latencies, 90.0)),
            ms(percentile(&t.latencies, 99.0)),
            ms(t.latencies.iter().max().copied().unwrap_or_default())
        );
        println!(
            "  delivered   {}/{} distinct events at the sink ({} deliveries){}",
            self.delivered,
            t.distinct,
            self.deliveries,
            self.delivered_after
                .map(|d| format!(", the last {:.2}s after the flood began", d.as_secs_f64()))
                .unwrap_or_default()
        );
        println!(
            "  memory      controller peak RSS {:.1} MiB (VmHWM; {:.1} MiB after the warm-up, {:.1} MiB ru_maxrss at exit)",
            mib(self.peak_kib),
            mib(self.rss_warm_kib),
            mib(self.exit_kib)
        );
        println!(
            "  CPU         controller {:.2}s over the flood and the delivery ({:.0} µs a request); xtask (load generator and sink) {:.2}s",
            self.controller_cpu.as_secs_f64(),
            self.controller_cpu.as_secs_f64() * 1e6 / t.requests.max(1) as f64,
            self.own_cpu.as_secs_f64()
        );
        println!(
            "  targets     {rate}/s achieved: {}; under 64 MiB RSS: {}; 429 to every repeat: {}; every distinct event delivered: {}",
            verdict(achieved >= rate as f64 * 0.99),
            verdict(self.peak_kib.max(self.exit_kib) < RSS_LIMIT_KIB),
            verdict(refused == scheduled - t.distinct && accepted == t.distinct),
            verdict(self.delivered == t.distinct),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connections_share_the_schedule_and_send_a_new_event_every_tenth() {
        let flood = Flood {
            rate: 1000,
            seconds: 1,
            connections: 7,
        };
        let slots: Vec<u64> = (0..flood.connections)
            .flat_map(|c| (c as u64..flood.requests()).step_by(flood.connections))
            .collect();
        let unique: HashSet<u64> = slots.iter().copied().collect();
        assert_eq!(slots.len(), 1000);
        assert_eq!(unique.len(), 1000);
        let body = event_body("ns", "app-3", "app-3 event 2", "rev-2");
        let event: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(event["involvedObject"]["name"], "app-3");
        assert_eq!(
            event["metadata"]["kustomize.toolkit.fluxcd.io/revision"],
            "rev-2"
        );
        let mut received = Received::default();
        for message in [
            "warm-up 0",
            "app-3 event 2",
            "app-3 event 2",
            "app-4 event 0",
        ] {
            received.note(message);
        }
        assert!(received.warmed_up);
        assert_eq!((received.distinct.len(), received.deliveries), (2, 3));
    }
}
