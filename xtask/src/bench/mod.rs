//! `cargo xtask bench`: performance benchmarks, reporting medians of wall
//! time and peak resident memory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Subcommand;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use weir_test_support::cluster::{self, ClusterInfo};
use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

use crate::controllers::{self, Binaries, Env};

mod http1;
mod kustomizations;
mod notification;
mod push_latency;
mod sources;
mod wait;
mod webhook;

#[derive(Subcommand)]
pub enum BenchTarget {
    /// `weir kustomize build` against the real kustomize on a large overlay.
    Kustomize {
        /// Resources in the base (four per app: Deployment, Service, ConfigMap, ServiceAccount).
        #[arg(long, default_value_t = 1200)]
        resources: usize,
        /// Timed runs of each binary (after one warm-up run each).
        #[arg(long, default_value_t = 7)]
        runs: usize,
    },
    /// source-controller: many GitRepositories against the local Git server
    /// on the local control plane; time until all are Ready, peak RSS.
    Sources {
        /// Number of GitRepositories, each with its own Git repository.
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// source-controller's --concurrent.
        #[arg(long, default_value_t = 16)]
        concurrent: u16,
        /// Timed runs (a fresh namespace and controller each).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// kustomize-controller: many Kustomizations, each a small app from its
    /// own GitRepository (served by source-controller) on the local control
    /// plane; time until all are Ready, peak RSS of both controllers.
    Kustomizations {
        /// Number of Kustomizations, each with its own GitRepository.
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// kustomize-controller's --concurrent.
        #[arg(long, default_value_t = 16)]
        concurrent: u16,
        /// Timed runs (a fresh namespace and controllers each).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Set `wait: true` on the Kustomizations: Ready then also means
        /// every applied object is Current (Deployments rolled out).
        #[arg(long)]
        wait: bool,
    },
    /// Latency from a push to the change applied: one GitRepository polled
    /// every second, one Kustomization applying a ConfigMap whose value
    /// each push changes; p50, p90 and max over the pushes, split at the
    /// new artifact, and both controllers' peak RSS.
    PushLatency {
        /// Pushes, one at a time, each waited for until applied.
        #[arg(long, default_value_t = 20)]
        pushes: usize,
        /// Fetch on a webhook instead of the poll: the GitRepository polled
        /// every 10 minutes, and after each push a signed GitHub push event
        /// to a github Receiver of notification-controller.
        #[arg(long)]
        webhook: bool,
    },
    /// notification-controller: a flood of Flux events (new ones and
    /// repeats) through an Alert and a generic Provider to a local sink,
    /// reporting the rate achieved, the answers (202, 429), the events
    /// delivered, peak RSS and CPU; then push-latency --webhook.
    Notification {
        /// Events POSTed per second.
        #[arg(long, default_value_t = 10_000)]
        rate: u64,
        /// How long the flood lasts.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Keep-alive connections sharing the flood, each one Kustomization
        /// (a new event every tenth request, repeats in between).
        #[arg(long, default_value_t = 40)]
        connections: usize,
        /// Pushes of the webhook latency measurement afterwards (0: none).
        #[arg(long, default_value_t = 20)]
        pushes: usize,
    },
}

pub fn run(target: BenchTarget) -> anyhow::Result<()> {
    match target {
        BenchTarget::Kustomize { resources, runs } => kustomize(resources, runs),
        BenchTarget::Sources {
            count,
            concurrent,
            runs,
        } => sources::run(count, concurrent, runs),
        BenchTarget::Kustomizations {
            count,
            concurrent,
            runs,
            wait,
        } => kustomizations::run(count, concurrent, runs, wait),
        BenchTarget::PushLatency { pushes, webhook } => push_latency::run(
            pushes,
            if webhook {
                push_latency::Trigger::Webhook
            } else {
                push_latency::Trigger::Poll
            },
        ),
        BenchTarget::Notification {
            rate,
            seconds,
            connections,
            pushes,
        } => notification::run(
            notification::Flood {
                rate,
                seconds,
                connections,
            },
            pushes,
        ),
    }
}

/// One measured process run.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub wall: Duration,
    /// Peak resident set size in KiB (`ru_maxrss`).
    pub max_rss_kib: u64,
}

/// Runs a command to completion with stdout discarded, measuring wall time
/// and the child's own peak RSS (via `wait4`, so other children don't count).
pub fn measure(command: &mut Command) -> anyhow::Result<Sample> {
    let started = Instant::now();
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("spawning benchmark process")?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data, zero is a valid bit pattern.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own un-reaped child; status and usage are valid pointers.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    if reaped != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr {
            use std::io::Read as _;
            let _ = pipe.read_to_string(&mut stderr);
        }
        bail!("benchmark process failed (status {status}): {stderr}");
    }
    Ok(Sample {
        wall,
        max_rss_kib: usage.ru_maxrss as u64,
    })
}

pub fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    match values.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2,
    }
}

/// The `p`th percentile (0..=100) of `values`, interpolated linearly between
/// ranks (as numpy does by default): the 50th is the [`median`].
pub fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    let Some(last) = sorted.len().checked_sub(1) else {
        return Duration::ZERO;
    };
    let rank = (p / 100.0).clamp(0.0, 1.0) * last as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    let fraction = rank - low as f64;
    sorted[low] + (sorted[high] - sorted[low]).mul_f64(fraction)
}

/// The median of sizes (the upper one of an even count).
pub fn median_kib(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// What every controller benchmark starts from.
struct ControllerBench {
    binaries: Binaries,
    cluster: ClusterInfo,
    /// Repositories `app-0` .. `app-<count - 1>`, each holding the app.
    git: GitServer,
    runtime: tokio::runtime::Runtime,
}

/// The prerequisites, both controllers' release builds, the local control
/// plane, a Git server with `count` repositories each holding `app` (paths
/// and contents) on `main`, and the runtime to drive it all from.
fn controller_bench(app: &[(&str, &str)], count: usize) -> anyhow::Result<ControllerBench> {
    crate::prereqs::ensure()?;
    let binaries = controllers::build_release(true)?;
    let cluster = cluster::up().context("starting the local control plane")?;
    let git = git_server_with_apps(app, count)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    Ok(ControllerBench {
        binaries,
        cluster,
        git,
        runtime,
    })
}

/// The controllers as the benchmarks run them: watching `namespace` only,
/// logging errors only, their log discarded.
fn bench_env<'a>(kubeconfig: &'a Path, namespace: &'a str) -> Env<'a> {
    Env {
        kubeconfig,
        namespace,
        log_level: "error",
        log_dir: None,
        report_stop: false,
    }
}

/// A Git server whose repositories `app-0` .. `app-<count - 1>` each hold
/// `files` on `main`.
fn git_server_with_apps(files: &[(&str, &str)], count: usize) -> anyhow::Result<GitServer> {
    println!(
        "==> preparing {count} Git repositor{}",
        if count == 1 { "y" } else { "ies" }
    );
    let server = GitServer::start(GitServerOptions::default())?;
    let template = server.repo("app-0")?;
    let entries: Vec<(&str, Entry<'_>)> = files
        .iter()
        .map(|(p, c)| (*p, Entry::File(c.as_bytes())))
        .collect();
    template.commit("main", &entries, "demo app")?;
    template.set_head("main")?;
    for i in 1..count {
        server.copy_repo("app-0", &format!("app-{i}"))?;
    }
    Ok(server)
}

/// A client of the local control plane with Weir's CRDs installed, and a
/// new namespace `name` for one run.
async fn bench_namespace(kubeconfig: &Path, name: &str) -> anyhow::Result<kube::Client> {
    let client = weir_runtime::client::client_from_kubeconfig(kubeconfig).await?;
    weir_test_support::crds::install(&client).await?;
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": name}}))?,
        )
        .await
        .context("creating the benchmark namespace")?;
    Ok(client)
}

/// Creates `doc`, an object of kind `K` as JSON, in `namespace`.
async fn create_in<K>(
    client: &kube::Client,
    namespace: &str,
    doc: serde_json::Value,
) -> anyhow::Result<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + k8s_openapi::serde::Serialize
        + k8s_openapi::serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let object: K =
        serde_json::from_value(doc).with_context(|| format!("building a {}", K::kind(&())))?;
    Api::<K>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &object)
        .await
        .with_context(|| format!("creating the {}", K::kind(&())))
}

fn kustomize(resources: usize, runs: usize) -> anyhow::Result<()> {
    anyhow::ensure!(runs >= 1, "--runs must be at least 1");
    controllers::cargo_build_release(&["weir-cli"], true)?;
    let weir = controllers::target_dir().join("release/weir");
    let kustomize = weir_test_support::tools::kustomize()?;

    let fixture = std::env::temp_dir().join(format!("weir-bench-kustomize-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fixture);
    let overlay = write_fixture(&fixture, resources)?;

    // Both must produce the same bytes, or the comparison means nothing.
    let ours = Command::new(&weir)
        .args(["kustomize", "build"])
        .arg(&overlay)
        .output()?;
    let theirs = Command::new(&kustomize)
        .arg("build")
        .arg(&overlay)
        .output()?;
    if !ours.status.success() || !theirs.status.success() {
        bail!(
            "build failed: weir: {} kustomize: {}",
            String::from_utf8_lossy(&ours.stderr),
            String::from_utf8_lossy(&theirs.stderr)
        );
    }
    if ours.stdout != theirs.stdout {
        bail!("weir and kustomize outputs differ on the benchmark overlay; fix conformance first");
    }
    let documents = ours
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| *l == b"---")
        .count()
        + 1;

    let mut weir_samples = Vec::new();
    let mut kustomize_samples = Vec::new();
    measure(
        Command::new(&weir)
            .args(["kustomize", "build"])
            .arg(&overlay),
    )?;
    measure(Command::new(&kustomize).arg("build").arg(&overlay))?;
    for _ in 0..runs {
        weir_samples.push(measure(
            Command::new(&weir)
                .args(["kustomize", "build"])
                .arg(&overlay),
        )?);
        kustomize_samples.push(measure(
            Command::new(&kustomize).arg("build").arg(&overlay),
        )?);
    }
    let _ = std::fs::remove_dir_all(&fixture);

    let report = |name: &str, samples: &[Sample]| {
        let med = median(samples.iter().map(|s| s.wall).collect());
        let peak = samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0);
        println!(
            "{name:<12} median {:>9.1} ms   peak RSS {:>7.1} MiB",
            med.as_secs_f64() * 1e3,
            peak as f64 / 1024.0
        );
        med
    };
    println!(
        "kustomize build of a {resources}-resource base through an overlay ({documents} documents out), {runs} runs each"
    );
    let ours_med = report("weir", &weir_samples);
    let theirs_med = report("kustomize", &kustomize_samples);
    println!(
        "speed-up     {:.1}x (kustomize median / weir median)",
        theirs_med.as_secs_f64() / ours_med.as_secs_f64().max(1e-9)
    );
    Ok(())
}

/// Writes a base of `resources` objects and an overlay exercising prefix,
/// suffix, namespace, labels, images, replicas, generators and both patch
/// kinds. Returns the overlay directory.
fn write_fixture(root: &Path, resources: usize) -> anyhow::Result<PathBuf> {
    let apps = resources.div_ceil(4);
    let base = root.join("base");
    let overlay = root.join("overlay");
    std::fs::create_dir_all(&base)?;
    std::fs::create_dir_all(overlay.join("files"))?;
    let mut base_kustomization = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for i in 0..apps {
        let file = format!("app-{i:04}.yaml");
        base_kustomization.push_str(&format!("- {file}\n"));
        std::fs::write(base.join(&file), app_manifests(i))?;
    }
    std::fs::write(base.join("kustomization.yaml"), base_kustomization)?;

    let mut generators = String::from("configMapGenerator:\n");
    for g in 0..10 {
        std::fs::write(
            overlay.join(format!("files/settings-{g}.properties")),
            format!("mode=fast\nshard={g}\nretries=3\n"),
        )?;
        generators.push_str(&format!(
            "- name: settings-{g}\n  literals:\n  - LOG_LEVEL=info\n  - SHARD=\"{g}\"\n  files:\n  - files/settings-{g}.properties\n"
        ));
    }
    generators.push_str("secretGenerator:\n");
    for g in 0..5 {
        generators.push_str(&format!("- name: creds-{g}\n  literals:\n  - username=svc-{g}\n  - password=not-a-real-secret-{g}\n"));
    }
    std::fs::write(
        overlay.join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: production
namePrefix: prod-
nameSuffix: -eu1
resources:
- ../base
labels:
- pairs:
    env: production
  includeSelectors: true
commonAnnotations:
  team: platform
images:
- name: ghcr.io/example/app
  newTag: 2.4.1
replicas:
- name: app-0000
  count: 5
{generators}patches:
- path: deployment-patch.yaml
  target:
    kind: Deployment
    labelSelector: tier=backend
- target:
    kind: Service
  patch: |-
    - op: add
      path: /metadata/annotations/prometheus.io~1scrape
      value: \"true\"
    - op: replace
      path: /spec/ports/0/port
      value: 8080
"
        ),
    )?;
    std::fs::write(
        overlay.join("deployment-patch.yaml"),
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: not-used
spec:
  template:
    spec:
      containers:
      - name: app
        env:
        - name: REGION
          value: eu-1
        resources:
          limits:
            memory: 256Mi
",
    )?;
    Ok(overlay)
}

fn app_manifests(i: usize) -> String {
    let tier = if i.is_multiple_of(2) {
        "backend"
    } else {
        "frontend"
    };
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i:04}
  labels:
    app: app-{i:04}
    tier: {tier}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: app-{i:04}
  template:
    metadata:
      labels:
        app: app-{i:04}
        tier: {tier}
    spec:
      serviceAccountName: app-{i:04}
      containers:
      - name: app
        image: ghcr.io/example/app:1.0.0
        ports:
        - containerPort: 8080
        envFrom:
        - configMapRef:
            name: app-{i:04}
        volumeMounts:
        - name: config
          mountPath: /etc/app
      volumes:
      - name: config
        configMap:
          name: app-{i:04}
---
apiVersion: v1
kind: Service
metadata:
  name: app-{i:04}
  labels:
    app: app-{i:04}
spec:
  selector:
    app: app-{i:04}
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-{i:04}
data:
  APP_NAME: app-{i:04}
  FEATURE_FLAGS: \"a,b,c\"
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app-{i:04}
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        let ms = Duration::from_millis;
        assert_eq!(median(vec![ms(5), ms(1), ms(3)]), ms(3));
        assert_eq!(
            median(vec![ms(4), ms(1), ms(3), ms(2)]),
            Duration::from_micros(2500)
        );
    }

    #[test]
    fn percentiles_interpolate_and_agree_with_the_median() {
        let ms = Duration::from_millis;
        let values: Vec<Duration> = (1..=20).rev().map(ms).collect();
        assert_eq!(percentile(&values, 50.0), median(values.clone()));
        assert_eq!(percentile(&values, 0.0), ms(1));
        assert_eq!(percentile(&values, 100.0), ms(20));
        assert_eq!(percentile(&values, 90.0), Duration::from_micros(18_100));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
        assert_eq!(median_kib(vec![3, 1, 2, 4]), 3);
    }

    #[test]
    fn measure_reports_the_childs_own_peak_memory() {
        // `true` is tiny: its own peak must be small and non-zero, whatever
        // this (much larger) test process uses.
        let sample = measure(&mut Command::new("true")).expect("run true");
        assert!(
            sample.max_rss_kib > 0 && sample.max_rss_kib < 64 * 1024,
            "{sample:?}"
        );
        assert!(
            measure(&mut Command::new("false")).is_err(),
            "a failing process must be an error"
        );
    }

    #[test]
    fn fixture_has_the_requested_size() {
        let dir =
            std::env::temp_dir().join(format!("weir-bench-fixture-test-{}", std::process::id()));
        let overlay = write_fixture(&dir, 40).expect("fixture");
        let base = std::fs::read_to_string(dir.join("base/kustomization.yaml")).expect("base");
        assert_eq!(base.lines().filter(|l| l.starts_with("- app-")).count(), 10);
        assert!(overlay.join("kustomization.yaml").is_file());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
