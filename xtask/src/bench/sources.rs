//! `cargo xtask bench sources`: the source-controller binary (release build)
//! reconciling many GitRepositories, each its own repository on the local
//! Git server (real `git http-backend`), on the local control plane.
//!
//! Measured per run: wall time from the first create until every object is
//! `Ready=True` with an artifact, and the controller's peak RSS (`VmHWM`
//! when all are Ready; the `ru_maxrss` at exit, after deletion, is printed
//! beside it).

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use weir_api::source::v1::GitRepository;
use weir_test_support::git_server::GitServer;

use super::wait::Readiness as _;
use crate::controllers::{self, Binaries, ControllerProcess};

const APP: &[(&str, &str)] = &[
    (
        "apps/base/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: podinfo\n  template:\n    metadata:\n      labels:\n        app: podinfo\n    spec:\n      containers:\n        - name: podinfo\n          image: ghcr.io/stefanprodan/podinfo:6.7.0\n          ports:\n            - containerPort: 9898\n",
    ),
    (
        "apps/base/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: podinfo\nspec:\n  selector:\n    app: podinfo\n  ports:\n    - port: 80\n      targetPort: 9898\n",
    ),
    (
        "apps/base/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: podinfo\ndata:\n  color: blue\n",
    ),
    (
        "apps/base/kustomization.yaml",
        "resources:\n  - deployment.yaml\n  - service.yaml\n  - configmap.yaml\n",
    ),
    (
        "apps/prod/kustomization.yaml",
        "resources:\n  - ../base\nnamePrefix: prod-\n",
    ),
    ("README.md", "# demo app\n"),
];

pub fn run(count: usize, concurrent: u16, runs: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        count >= 1 && runs >= 1,
        "--count and --runs must be at least 1"
    );
    let bench = super::controller_bench(APP, count)?;
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    for run in 1..=runs {
        let (took, peak_kib, exit_kib) = bench.runtime.block_on(one_run(
            &bench.binaries,
            &bench.cluster.kubeconfig,
            &bench.git,
            count,
            concurrent,
            run,
        ))?;
        println!(
            "run {run}: {count} GitRepositories Ready in {:.2}s; controller peak RSS {:.1} MiB while reconciling ({:.1} MiB at exit, after deleting them all)",
            took.as_secs_f64(),
            super::mib(peak_kib),
            super::mib(exit_kib)
        );
        times.push(took);
        peaks.push(peak_kib);
    }
    let median_peak = super::median_kib(peaks);
    println!(
        "\nsources --count {count} (--concurrent {concurrent}, {runs} runs): median {:.2}s until all Ready, median peak RSS {:.1} MiB; {} HTTP requests to the Git server in all",
        super::median(times).as_secs_f64(),
        super::mib(median_peak),
        bench.git.requests()
    );
    Ok(())
}

async fn one_run(
    binaries: &Binaries,
    kubeconfig: &std::path::Path,
    server: &GitServer,
    count: usize,
    concurrent: u16,
    run: usize,
) -> anyhow::Result<(Duration, u64, u64)> {
    let ns_name = format!("bench-sources-{}-{run}", std::process::id());
    let client = super::bench_namespace(kubeconfig, &ns_name).await?;
    let storage = tempfile::tempdir()?;
    let mut args = controllers::source_args(
        storage.path(),
        controllers::free_port()?,
        controllers::free_port()?,
    );
    args.push(format!("--concurrent={concurrent}"));
    let mut controller = ControllerProcess::spawn(
        "source-controller",
        &binaries.source,
        &args,
        &super::bench_env(kubeconfig, &ns_name),
    )?;
    let api: Api<GitRepository> = Api::namespaced(client.clone(), &ns_name);

    let started = Instant::now();
    futures::stream::iter(0..count)
        .map(|i| {
            let api = api.clone();
            let url = server.http_url(&format!("app-{i}"));
            async move {
                let repo = controllers::git_repository(&format!("app-{i}"), &url, "10m")?;
                api.create(&PostParams::default(), &repo)
                    .await
                    .context("creating a GitRepository")?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await?;
    let created = started.elapsed();

    let deadline = started + Duration::from_secs(600);
    let mut last_report = Instant::now();
    loop {
        let list = api.list(&ListParams::default()).await?;
        let ready = list.items.iter().filter(|r| r.is_ready()).count();
        if ready == count {
            break;
        }
        controller.check()?;
        if Instant::now() > deadline {
            bail!("only {ready}/{count} Ready after 10 minutes");
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            println!(
                "  {ready}/{count} Ready after {:.1}s",
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let took = started.elapsed();
    let peak = controller.peak_rss_kib().unwrap_or(0);
    println!(
        "  RSS when all Ready: {:.1} MiB (peak {:.1} MiB)",
        super::mib(controller.rss_kib().unwrap_or(0)),
        super::mib(peak)
    );
    println!("  created {count} in {:.2}s", created.as_secs_f64());

    // Deleting lets the controller run its finalizers before it stops.
    api.delete_collection(&DeleteParams::default(), &ListParams::default())
        .await?;
    while !api
        .list(&ListParams::default().limit(1))
        .await?
        .items
        .is_empty()
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let exit_kib = controller.stop()?.max_rss_kib;
    Api::<Namespace>::all(client)
        .delete(&ns_name, &DeleteParams::default())
        .await?;
    Ok((took, peak, exit_kib))
}
