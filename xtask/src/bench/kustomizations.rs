//! `cargo xtask bench kustomizations`: the kustomize-controller binary
//! (release build) reconciling many Kustomizations, each a small app (a
//! Deployment, a Service and a ConfigMap) from its own GitRepository on the
//! local Git server, served by the release source-controller, on the local
//! control plane.
//!
//! Per run: the GitRepositories are created first and become Ready (timed
//! separately); then the clock starts, the Kustomizations are created and
//! it stops when every one is `Ready=True` with `lastAppliedRevision` set.
//! Without `--wait` that means "built and applied" (`wait: false`); with it,
//! also every applied object Current by kstatus. Reported: that time and the
//! peak RSS (`VmHWM`) of kustomize-controller and source-controller when all
//! are Ready, with their `ru_maxrss` at exit (after the Kustomizations'
//! finalizers pruned everything) beside it.
//!
//! All apps land in the bench namespace: the Kustomization's `namePrefix`
//! keeps names apart and a `postBuild` substitution gives each app its own
//! `app` label, so the 1000 Services do not all select the 1000 Pods (which
//! would make the control plane's endpoint controllers, not Weir, the
//! subject of the benchmark).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use weir_api::kustomize::v1::Kustomization;
use weir_api::source::v1::GitRepository;
use weir_test_support::git_server::GitServer;

use super::wait::{PHASE_TIMEOUT, create_all, wait_all, wait_gone};
use super::{mib, verdict};
use crate::controllers::{self, Binaries, Controllers};

/// source-controller's --concurrent while the GitRepositories are prepared.
const SOURCE_CONCURRENT: u16 = 16;
const OWNER_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";

const APP: &[(&str, &str)] = &[
    (
        "app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n  - service.yaml\n  - configmap.yaml\n",
    ),
    (
        "app/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    app: ${APP}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: ${APP}\n  template:\n    metadata:\n      labels:\n        app: ${APP}\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/stefanprodan/podinfo:6.7.0\n          ports:\n            - containerPort: 9898\n          envFrom:\n            - configMapRef:\n                name: web-config\n",
    ),
    (
        "app/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels:\n    app: ${APP}\nspec:\n  selector:\n    app: ${APP}\n  ports:\n    - port: 80\n      targetPort: 9898\n",
    ),
    (
        "app/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  labels:\n    app: ${APP}\ndata:\n  PODINFO_UI_COLOR: blue\n  PODINFO_UI_MESSAGE: hello\n",
    ),
    ("README.md", "# demo app\n"),
];

/// Objects each app applies.
const OBJECTS_PER_APP: usize = 3;

/// One run's figures.
struct RunResult {
    sources_ready: Duration,
    ready: Duration,
    deleted: Duration,
    ks_peak_kib: u64,
    ks_exit_kib: u64,
    ks_cpu: Duration,
    sc_peak_kib: u64,
    sc_exit_kib: u64,
}

pub fn run(count: usize, concurrent: u16, runs: usize, wait: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        count >= 1 && runs >= 1,
        "--count and --runs must be at least 1"
    );
    let bench = super::controller_bench(APP, count)?;
    let mut results = Vec::new();
    for run in 1..=runs {
        let r = bench.runtime.block_on(one_run(
            &bench.binaries,
            &bench.cluster.kubeconfig,
            &bench.git,
            count,
            concurrent,
            wait,
            run,
        ))?;
        println!(
            "run {run}: {count} Kustomizations Ready in {:.2}s (GitRepositories Ready before that in {:.2}s; deleting and pruning took {:.2}s); \
             kustomize-controller peak RSS {:.1} MiB while reconciling ({:.1} MiB at exit), {:.1}s CPU until Ready; \
             source-controller peak RSS {:.1} MiB ({:.1} MiB at exit)",
            r.ready.as_secs_f64(),
            r.sources_ready.as_secs_f64(),
            r.deleted.as_secs_f64(),
            mib(r.ks_peak_kib),
            mib(r.ks_exit_kib),
            r.ks_cpu.as_secs_f64(),
            mib(r.sc_peak_kib),
            mib(r.sc_exit_kib),
        );
        results.push(r);
    }

    let median_kib = |f: fn(&RunResult) -> u64| super::median_kib(results.iter().map(f).collect());
    let ready = super::median(results.iter().map(|r| r.ready).collect());
    let sources = super::median(results.iter().map(|r| r.sources_ready).collect());
    let ks_peak = median_kib(|r| r.ks_peak_kib);
    let ks_exit_max = results.iter().map(|r| r.ks_exit_kib).max().unwrap_or(0);
    let sc_peak = median_kib(|r| r.sc_peak_kib);
    let meaning = if wait {
        "wait: true, so Ready means applied and every object Current"
    } else {
        "wait: false, so Ready means built and applied, not rolled out"
    };
    println!(
        "\nkustomizations --count {count} (kustomize-controller --concurrent {concurrent}, {runs} runs; {meaning}):"
    );
    println!(
        "  median {:.2}s until all Kustomizations Ready (target < 60s: {})",
        ready.as_secs_f64(),
        verdict(ready < Duration::from_secs(60))
    );
    println!(
        "  kustomize-controller median peak RSS {:.1} MiB while reconciling (target < 128 MiB: {}); highest at exit, after pruning {} objects: {:.1} MiB",
        mib(ks_peak),
        verdict(ks_peak < 128 * 1024),
        count * OBJECTS_PER_APP,
        mib(ks_exit_max)
    );
    println!(
        "  source-controller median peak RSS {:.1} MiB; GitRepositories median {:.2}s until all Ready beforehand; {} HTTP requests to the Git server in all",
        mib(sc_peak),
        sources.as_secs_f64(),
        bench.git.requests()
    );
    Ok(())
}

async fn one_run(
    binaries: &Binaries,
    kubeconfig: &Path,
    server: &GitServer,
    count: usize,
    concurrent: u16,
    wait: bool,
    run: usize,
) -> anyhow::Result<RunResult> {
    let ns_name = format!("bench-ks-{}-{run}", std::process::id());
    let client = super::bench_namespace(kubeconfig, &ns_name).await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let storage = tempfile::tempdir()?;
    let mut controllers = Controllers::start(
        binaries,
        &super::bench_env(kubeconfig, &ns_name),
        storage.path(),
        &[format!("--concurrent={SOURCE_CONCURRENT}")],
        &[format!("--concurrent={concurrent}")],
    )?;

    // Sources first, so the measured phase is kustomize-controller's alone.
    let repos: Api<GitRepository> = Api::namespaced(client.clone(), &ns_name);
    let started = Instant::now();
    create_all(count, |i| {
        let repos = repos.clone();
        let name = format!("app-{i}");
        let repo = controllers::git_repository(&name, &server.http_url(&name), "10m");
        async move {
            repos
                .create(&PostParams::default(), &repo?)
                .await
                .context("creating a GitRepository")?;
            anyhow::Ok(())
        }
    })
    .await?;
    wait_all(&repos, count, started, &mut controllers).await?;
    let sources_ready = started.elapsed();
    println!(
        "  {count} GitRepositories Ready in {:.2}s",
        sources_ready.as_secs_f64()
    );
    let ks_cpu_before = controllers.kustomize.cpu_time().unwrap_or_default();
    println!(
        "  before the Kustomizations: kustomize-controller RSS {:.1} MiB, source-controller RSS {:.1} MiB (peak {:.1} MiB)",
        mib(controllers.kustomize.rss_kib().unwrap_or(0)),
        mib(controllers.source.rss_kib().unwrap_or(0)),
        mib(controllers.source.peak_rss_kib().unwrap_or(0)),
    );

    let kustomizations: Api<Kustomization> = Api::namespaced(client.clone(), &ns_name);
    let started = Instant::now();
    create_all(count, |i| {
        let api = kustomizations.clone();
        let name = format!("app-{i}");
        let ks = controllers::kustomization(
            &name,
            &name,
            serde_json::json!({
                "interval": "10m",
                "path": "./app",
                "prune": true,
                "wait": wait,
                "timeout": "5m",
                "targetNamespace": ns_name,
                "namePrefix": format!("{name}-"),
                "postBuild": { "substitute": { "APP": name } },
            }),
        );
        async move {
            api.create(&PostParams::default(), &ks?)
                .await
                .context("creating a Kustomization")?;
            anyhow::Ok(())
        }
    })
    .await?;
    let created = started.elapsed();
    wait_all(&kustomizations, count, started, &mut controllers).await?;
    let ready = started.elapsed();
    let ks_cpu = controllers
        .kustomize
        .cpu_time()
        .unwrap_or_default()
        .saturating_sub(ks_cpu_before);
    let ks_peak = controllers.kustomize.peak_rss_kib().unwrap_or(0);
    let sc_peak = controllers.source.peak_rss_kib().unwrap_or(0);
    println!(
        "  {count} Kustomizations Ready in {:.2}s (created in {:.2}s); kustomize-controller RSS {:.1} MiB (peak {:.1} MiB), source-controller peak {:.1} MiB",
        ready.as_secs_f64(),
        created.as_secs_f64(),
        mib(controllers.kustomize.rss_kib().unwrap_or(0)),
        mib(ks_peak),
        mib(sc_peak),
    );
    let applied = count_applied(&client, &ns_name).await?;
    if applied != count * OBJECTS_PER_APP {
        bail!(
            "expected {} applied objects, found {applied}",
            count * OBJECTS_PER_APP
        );
    }

    // Deleting lets the finalizers prune what the Kustomizations applied.
    let started = Instant::now();
    kustomizations
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await?;
    wait_gone(&kustomizations, &mut controllers).await?;
    let deleted = started.elapsed();
    let left = count_applied(&client, &ns_name).await?;
    println!(
        "  {count} Kustomizations deleted in {:.2}s ({left} applied objects left)",
        deleted.as_secs_f64()
    );
    if left != 0 {
        bail!("the finalizers left {left} applied objects behind");
    }
    repos
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await?;
    wait_gone(&repos, &mut controllers).await?;

    let (ks_exit, sc_exit) = controllers.stop()?;
    namespaces
        .delete(&ns_name, &DeleteParams::default())
        .await?;
    // The Deployments' ReplicaSets and Pods go with the namespace; the next
    // run should not share the control plane with that.
    let started = Instant::now();
    while namespaces.get_opt(&ns_name).await?.is_some() {
        if started.elapsed() > PHASE_TIMEOUT {
            bail!("namespace {ns_name} still there after {PHASE_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "  namespace gone {:.1}s after its deletion",
        started.elapsed().as_secs_f64()
    );
    Ok(RunResult {
        sources_ready,
        ready,
        deleted,
        ks_peak_kib: ks_peak,
        ks_exit_kib: ks_exit.max_rss_kib,
        ks_cpu,
        sc_peak_kib: sc_peak,
        sc_exit_kib: sc_exit.max_rss_kib,
    })
}

/// Deployments, Services and ConfigMaps in `namespace` labelled as applied
/// by a Kustomization of that namespace.
async fn count_applied(client: &kube::Client, namespace: &str) -> anyhow::Result<usize> {
    let params = ListParams::default().labels(&format!("{OWNER_NAMESPACE_LABEL}={namespace}"));
    let deployments = Api::<Deployment>::namespaced(client.clone(), namespace)
        .list_metadata(&params)
        .await?
        .items
        .len();
    let services = Api::<Service>::namespaced(client.clone(), namespace)
        .list_metadata(&params)
        .await?
        .items
        .len();
    let configmaps = Api::<ConfigMap>::namespaced(client.clone(), namespace)
        .list_metadata(&params)
        .await?
        .items
        .len();
    Ok(deployments + services + configmaps)
}
