//! `cargo xtask bench push-latency`: how long from a push until the change
//! is in the cluster, with the release source-controller polling the
//! repository every second and the release kustomize-controller subscribed
//! to its gRPC artifact stream, on the local control plane.
//!
//! Set-up: one repository on the local Git server holding a ConfigMap (and
//! the kustomization.yaml listing it), one GitRepository (`interval: 1s`,
//! the short poll) and one Kustomization (`interval: 10m`, `prune: true`)
//! applying it.
//!
//! Then, one push at a time: commit a new `value` (the push's number) to
//! the ConfigMap on `main`, take the instant the commit returned, and wait
//! until the ConfigMap in the cluster holds that value. Two watches, each
//! in a task of its own, timestamp events as they arrive: one on the
//! ConfigMap (applied) and one on the GitRepository (the instant its
//! `status.artifact.revision` became the new commit). Reported per push and
//! as p50, p90 and max: push → applied, split into push → artifact
//! (waiting for the next poll, fetching, storing) and artifact → applied
//! (the gRPC stream, the build and the apply). source-controller writes
//! the status before it announces the artifact on the stream, but the two
//! watches are separate streams: an artifact event seen after the apply
//! counts as at the apply.
//!
//! Between pushes: push `i` waits `frac(i × 0.618…)` seconds (the golden
//! ratio sequence) after push `i - 1` was applied. The waits are spread
//! evenly over 0–1 s, so the pushes fall at every phase of the 1 s poll
//! rather than in step with it (push → artifact is then 0–1 s of waiting
//! for the poll plus the fetch, about half a second on average), and they
//! are the same on every run.
//!
//! With `--webhook` ([`Trigger::Webhook`]) the GitRepository is polled only
//! every 10 minutes, never within the run: a github `Receiver` for it,
//! served by the release notification-controller, is what makes
//! source-controller fetch. Right after each push the bench POSTs GitHub's
//! push event to the Receiver's `status.webhookPath`, signed with its token
//! as a Git host does ([`super::webhook`]); the timings then also show when
//! the webhook was answered (the GitRepository annotated), and the spacing
//! only keeps the runs alike.

use std::fmt::Debug;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::serde::de::DeserializeOwned;
use kube::Resource;
use kube::api::{Api, DeleteParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use tokio::sync::mpsc;
use weir_api::kustomize::v1::Kustomization;
use weir_api::source::v1::GitRepository;
use weir_test_support::git_server::{Entry, Repo};

use super::wait::{wait_all, wait_gone};
use super::webhook::GitHubWebhook;
use super::{ControllerBench, mib};
use crate::controllers::{self, Binaries, Controllers, Exit};

/// The GitRepository and the Kustomization.
const NAME: &str = "app";
/// The repository (the only one [`super::controller_bench`] makes).
const REPO: &str = "app-0";
/// The ConfigMap each push changes.
const CONFIGMAP: &str = "push-latency";
/// How long one push may take to be applied.
const PUSH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the GitRepository's new revision may be seen after the apply.
const ARTIFACT_GRACE: Duration = Duration::from_secs(5);
/// The fractional part of the golden ratio.
const GOLDEN: f64 = 0.618_033_988_749_895;

const KUSTOMIZATION_YAML: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - configmap.yaml\n";

fn configmap_yaml(value: usize) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {CONFIGMAP}\ndata:\n  value: \"{value}\"\n"
    )
}

/// What makes source-controller fetch a push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Its poll of the GitRepository, every second.
    Poll,
    /// A signed GitHub push webhook to notification-controller's Receiver,
    /// sent right after the push; the GitRepository's poll is 10 minutes.
    Webhook,
}

impl Trigger {
    /// The GitRepository's poll interval.
    fn source_interval(self) -> &'static str {
        match self {
            Trigger::Poll => "1s",
            Trigger::Webhook => "10m",
        }
    }
}

/// The wait before push `push`: `frac(push × 0.618…)` seconds.
fn spacing(push: usize) -> Duration {
    Duration::from_secs_f64((push as f64 * GOLDEN).fract())
}

/// One push's timings, from the instant its commit returned.
struct Push {
    /// The webhook answered ([`Trigger::Webhook`] only).
    webhook: Option<Duration>,
    artifact: Duration,
    applied: Duration,
}

/// A controller's peak RSS after the last push (`VmHWM`) and over its
/// whole life (`ru_maxrss` at exit), KiB.
struct Memory {
    name: &'static str,
    peak_kib: u64,
    exit_kib: u64,
}

impl Memory {
    fn of(name: &'static str, peak_kib: Option<u64>, exit: Exit) -> Memory {
        Memory {
            name,
            peak_kib: peak_kib.unwrap_or(0),
            exit_kib: exit.max_rss_kib,
        }
    }
}

/// The prerequisites, the controllers, the local control plane and the
/// repository the pushes go to.
pub(super) fn bench() -> anyhow::Result<ControllerBench> {
    let configmap = configmap_yaml(0);
    super::controller_bench(
        &[
            ("app/kustomization.yaml", KUSTOMIZATION_YAML),
            ("app/configmap.yaml", &configmap),
        ],
        1,
    )
}

pub fn run(pushes: usize, trigger: Trigger) -> anyhow::Result<()> {
    anyhow::ensure!(pushes >= 1, "--pushes must be at least 1");
    run_on(&bench()?, pushes, trigger)
}

/// The measurement on `bench` (from [`bench`]), and its report.
pub(super) fn run_on(
    bench: &ControllerBench,
    pushes: usize,
    trigger: Trigger,
) -> anyhow::Result<()> {
    let repo = bench.git.repo(REPO)?;
    let (results, memory) = bench.runtime.block_on(measure(
        &bench.binaries,
        &bench.cluster.kubeconfig,
        &bench.git.http_url(REPO),
        &repo,
        pushes,
        trigger,
    ))?;

    let applied: Vec<Duration> = results.iter().map(|p| p.applied).collect();
    let artifact: Vec<Duration> = results.iter().map(|p| p.artifact).collect();
    let split: Vec<Duration> = results.iter().map(|p| p.applied - p.artifact).collect();
    let webhook: Vec<Duration> = results.iter().filter_map(|p| p.webhook).collect();
    let interval = trigger.source_interval();
    match trigger {
        Trigger::Poll => println!(
            "\npush-latency --pushes {pushes} (GitRepository interval {interval}, kustomize-controller on source-controller's gRPC artifact stream; 0-1 s between pushes, golden-ratio steps):"
        ),
        Trigger::Webhook => println!(
            "\npush-latency --webhook --pushes {pushes} (a signed GitHub push webhook to notification-controller's Receiver after each push, GitRepository interval {interval}, kustomize-controller on source-controller's gRPC artifact stream; 0-1 s between pushes, golden-ratio steps):"
        ),
    }
    let mut rows = vec![
        ("push -> applied    ", &applied),
        ("push -> artifact   ", &artifact),
        ("artifact -> applied", &split),
    ];
    if !webhook.is_empty() {
        rows.insert(1, ("push -> webhook 200", &webhook));
    }
    for (what, values) in rows {
        println!(
            "  {what}  p50 {:.3}s  p90 {:.3}s  max {:.3}s",
            super::percentile(values, 50.0).as_secs_f64(),
            super::percentile(values, 90.0).as_secs_f64(),
            values
                .iter()
                .max()
                .copied()
                .unwrap_or_default()
                .as_secs_f64(),
        );
    }
    let memory: Vec<String> = memory
        .iter()
        .map(|m| {
            format!(
                "{} peak RSS {:.1} MiB ({:.1} MiB at exit)",
                m.name,
                mib(m.peak_kib),
                mib(m.exit_kib)
            )
        })
        .collect();
    println!(
        "  {}; {} HTTP requests to the Git server in all",
        memory.join("; "),
        bench.git.requests()
    );
    Ok(())
}

/// The pushes' timings, then each controller's memory.
async fn measure(
    binaries: &Binaries,
    kubeconfig: &Path,
    url: &str,
    repo: &Repo,
    pushes: usize,
    trigger: Trigger,
) -> anyhow::Result<(Vec<Push>, Vec<Memory>)> {
    let ns_name = format!("bench-push-{}", std::process::id());
    let client = super::bench_namespace(kubeconfig, &ns_name).await?;
    let storage = tempfile::tempdir()?;
    let env = super::bench_env(kubeconfig, &ns_name);
    let mut controllers = Controllers::start(binaries, &env, storage.path(), &[], &[])?;
    let interval = trigger.source_interval();

    let repos: Api<GitRepository> = Api::namespaced(client.clone(), &ns_name);
    let kustomizations: Api<Kustomization> = Api::namespaced(client.clone(), &ns_name);
    let started = Instant::now();
    controllers::create_git_repository_and_kustomization(
        &client,
        &ns_name,
        NAME,
        (url, interval),
        serde_json::json!({
            "interval": "10m",
            "path": "./app",
            "prune": true,
            "targetNamespace": ns_name,
        }),
    )
    .await?;
    wait_all(&repos, 1, started, &mut controllers).await?;
    wait_all(&kustomizations, 1, started, &mut controllers).await?;
    println!(
        "  GitRepository (interval {interval}) and Kustomization Ready in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    let mut webhook = match trigger {
        Trigger::Poll => None,
        Trigger::Webhook => Some(GitHubWebhook::start(binaries, &env, &client, NAME).await?),
    };
    // The commit the GitRepository holds: the first push's `before`.
    let mut before = repos
        .get(NAME)
        .await?
        .status
        .and_then(|s| s.artifact)
        .and_then(|a| a.revision.rsplit_once(':').map(|(_, sha)| sha.to_owned()))
        .unwrap_or_default();

    let (mut revisions, revisions_task) = watch_timed(repos.clone(), NAME, |r: GitRepository| {
        r.status.and_then(|s| s.artifact).map(|a| a.revision)
    });
    let (mut values, values_task) = watch_timed(
        Api::<ConfigMap>::namespaced(client.clone(), &ns_name),
        CONFIGMAP,
        |cm: ConfigMap| cm.data.and_then(|mut d| d.remove("value")),
    );

    let mut results = Vec::new();
    for push in 1..=pushes {
        let wait = spacing(push);
        tokio::time::sleep(wait).await;
        let configmap = configmap_yaml(push);
        let sha = repo.commit(
            "main",
            &[("app/configmap.yaml", Entry::File(configmap.as_bytes()))],
            &format!("value {push}"),
        )?;
        let pushed = Instant::now();
        let revision = format!("main@sha1:{sha}");
        let value = push.to_string();
        let mut webhook_answered = None;
        if let Some(webhook) = webhook.as_mut() {
            webhook.push(url, &before, &sha).await?;
            webhook_answered = Some(pushed.elapsed());
        }
        before = sha;

        let deadline = tokio::time::Instant::from_std(pushed + PUSH_TIMEOUT);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut artifact_at = None;
        let applied_at = loop {
            tokio::select! {
                Some((at, r)) = revisions.recv() => {
                    if r == revision {
                        artifact_at.get_or_insert(at);
                    }
                }
                Some((at, v)) = values.recv() => {
                    if v == value {
                        break at;
                    }
                }
                _ = tick.tick() => {
                    controllers.check()?;
                    if let Some(webhook) = webhook.as_mut() {
                        webhook.notification.process.check()?;
                    }
                }
                () = tokio::time::sleep_until(deadline) => bail!(
                    "push {push} ({revision}) not applied within {PUSH_TIMEOUT:?} ({})",
                    if artifact_at.is_some() { "its artifact was stored" } else { "no artifact for it either" }
                ),
            }
        };
        let artifact_at = match artifact_at {
            Some(at) => at,
            None => {
                let grace = tokio::time::Instant::now() + ARTIFACT_GRACE;
                loop {
                    tokio::select! {
                        Some((at, r)) = revisions.recv() => if r == revision { break at },
                        () = tokio::time::sleep_until(grace) => bail!(
                            "push {push} was applied but the GitRepository never showed {revision}"
                        ),
                    }
                }
            }
        }
        .min(applied_at);

        let result = Push {
            webhook: webhook_answered,
            artifact: artifact_at - pushed,
            applied: applied_at - pushed,
        };
        println!(
            "push {push}: applied {:.3}s after the push ({}artifact stored after {:.3}s, applied {:.3}s after that); {:.3}s wait before it",
            result.applied.as_secs_f64(),
            result
                .webhook
                .map(|w| format!("webhook answered after {:.3}s, ", w.as_secs_f64()))
                .unwrap_or_default(),
            result.artifact.as_secs_f64(),
            (result.applied - result.artifact).as_secs_f64(),
            wait.as_secs_f64()
        );
        results.push(result);
    }
    revisions_task.abort();
    values_task.abort();

    let ks_peak = controllers.kustomize.peak_rss_kib();
    let sc_peak = controllers.source.peak_rss_kib();
    let notification = match webhook {
        Some(mut webhook) => {
            let peak = webhook.notification.process.peak_rss_kib();
            let exit = webhook.notification.process.stop()?;
            Some(Memory::of("notification-controller", peak, exit))
        }
        None => None,
    };
    // Deleting lets the finalizers prune the ConfigMap before the
    // controllers stop.
    kustomizations
        .delete(NAME, &DeleteParams::default())
        .await?;
    wait_gone(&kustomizations, &mut controllers).await?;
    repos.delete(NAME, &DeleteParams::default()).await?;
    wait_gone(&repos, &mut controllers).await?;
    let (ks_exit, sc_exit) = controllers.stop()?;
    let mut memory = vec![
        Memory::of("kustomize-controller", ks_peak, ks_exit),
        Memory::of("source-controller", sc_peak, sc_exit),
    ];
    memory.extend(notification);
    Api::<Namespace>::all(client)
        .delete(&ns_name, &DeleteParams::default())
        .await?;
    Ok((results, memory))
}

/// Watches the object `name` of `api` in a task of its own, sending what
/// `read` takes from each state of it with the instant the event arrived.
fn watch_timed<K, T>(
    api: Api<K>,
    name: &str,
    read: fn(K) -> Option<T>,
) -> (
    mpsc::UnboundedReceiver<(Instant, T)>,
    tokio::task::JoinHandle<()>,
)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher(api, config).default_backoff());
        while let Some(event) = stream.next().await {
            let at = Instant::now();
            match event {
                Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                    if let Some(v) = read(o)
                        && tx.send((at, v)).is_err()
                    {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => println!("  (watch error: {e}; retrying)"),
            }
        }
    });
    (rx, task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spacing_covers_the_poll_phase_evenly() {
        let mut waits: Vec<f64> = (1..=20).map(|i| spacing(i).as_secs_f64()).collect();
        assert!(waits.iter().all(|w| (0.0..1.0).contains(w)), "{waits:?}");
        waits.sort_by(f64::total_cmp);
        // Twenty points of the golden-ratio sequence leave no gap wider
        // than a few twentieths of the second.
        let widest = waits.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
        assert!(widest < 0.1, "{waits:?}");
        assert!(configmap_yaml(7).contains("value: \"7\""));
    }
}
