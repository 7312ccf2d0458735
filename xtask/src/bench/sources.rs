//! `cargo xtask bench sources`: the source-controller binary (release build)
//! reconciling many GitRepositories, each its own repository on the local
//! Git server (real `git http-backend`), on the local control plane.
//!
//! Measured per run: wall time from the first create until every object is
//! `Ready=True` with an artifact, and the controller's peak RSS (`VmHWM`
//! when all are Ready; the `ru_maxrss` at exit, after deletion, is printed
//! beside it).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use weir_api::source::v1::GitRepository;
use weir_test_support::cluster;
use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

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
    crate::prereqs::ensure()?;
    super::build_release("weir-source-controller")?;
    let binary = super::target_dir().join("release/source-controller");
    let info = cluster::up().context("starting the local control plane")?;

    println!("==> preparing {count} Git repositories");
    let server = GitServer::start(GitServerOptions::default())?;
    let template = server.repo("app-0")?;
    let entries: Vec<(&str, Entry<'_>)> = APP
        .iter()
        .map(|(p, c)| (*p, Entry::File(c.as_bytes())))
        .collect();
    template.commit("main", &entries, "demo app")?;
    template.set_head("main")?;
    for i in 1..count {
        server.copy_repo("app-0", &format!("app-{i}"))?;
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    for run in 1..=runs {
        let (took, peak_kib, exit_kib) = runtime.block_on(one_run(
            &binary,
            &info.kubeconfig,
            &server,
            count,
            concurrent,
            run,
        ))?;
        println!(
            "run {run}: {count} GitRepositories Ready in {:.2}s; controller peak RSS {:.1} MiB while reconciling ({:.1} MiB at exit, after deleting them all)",
            took.as_secs_f64(),
            peak_kib as f64 / 1024.0,
            exit_kib as f64 / 1024.0
        );
        times.push(took);
        peaks.push(peak_kib);
    }
    peaks.sort_unstable();
    let median_peak = peaks[peaks.len() / 2];
    println!(
        "\nsources --count {count} (--concurrent {concurrent}, {runs} runs): median {:.2}s until all Ready, median peak RSS {:.1} MiB; {} HTTP requests to the Git server in all",
        super::median(times).as_secs_f64(),
        median_peak as f64 / 1024.0,
        server.requests()
    );
    Ok(())
}

async fn one_run(
    binary: &std::path::Path,
    kubeconfig: &std::path::Path,
    server: &GitServer,
    count: usize,
    concurrent: u16,
    run: usize,
) -> anyhow::Result<(Duration, u64, u64)> {
    let client = weir_runtime::client::client_from_kubeconfig(kubeconfig).await?;
    weir_test_support::crds::install(&client).await?;
    let ns_name = format!("bench-sources-{}-{run}", std::process::id());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": ns_name}}))?,
        )
        .await
        .context("creating the benchmark namespace")?;
    let storage = tempfile::tempdir()?;
    let mut controller =
        spawn_controller(binary, kubeconfig, &ns_name, storage.path(), concurrent)?;
    let api: Api<GitRepository> = Api::namespaced(client.clone(), &ns_name);

    let started = Instant::now();
    futures::stream::iter(0..count)
        .map(|i| {
            let api = api.clone();
            let url = server.http_url(&format!("app-{i}"));
            async move {
                let repo: GitRepository = serde_json::from_value(serde_json::json!({
                    "apiVersion": "source.toolkit.fluxcd.io/v1",
                    "kind": "GitRepository",
                    "metadata": { "name": format!("app-{i}") },
                    "spec": { "url": url, "interval": "10m", "ref": { "branch": "main" } },
                }))?;
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
        let ready = list.items.iter().filter(|r| is_ready(r)).count();
        if ready == count {
            break;
        }
        if let Some(status) = controller.try_wait()? {
            bail!("source-controller exited early: {status}");
        }
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
    let peak = proc_status_kib(controller.id(), "VmHWM:").unwrap_or(0);
    let current = proc_status_kib(controller.id(), "VmRSS:").unwrap_or(0);
    println!(
        "  RSS when all Ready: {:.1} MiB (peak {:.1} MiB)",
        current as f64 / 1024.0,
        peak as f64 / 1024.0
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
    let exit_kib = stop(&mut controller)?;
    namespaces
        .delete(&ns_name, &DeleteParams::default())
        .await?;
    Ok((took, peak, exit_kib))
}

fn is_ready(repo: &GitRepository) -> bool {
    repo.status.as_ref().is_some_and(|s| {
        s.artifact.is_some()
            && s.conditions
                .as_ref()
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    })
}

fn spawn_controller(
    binary: &std::path::Path,
    kubeconfig: &std::path::Path,
    namespace: &str,
    storage: &std::path::Path,
    concurrent: u16,
) -> anyhow::Result<Child> {
    Command::new(binary)
        .args([
            &format!("--storage-path={}", storage.display()),
            "--storage-addr=127.0.0.1:0",
            "--grpc-addr=127.0.0.1:0",
            "--metrics-addr=127.0.0.1:0",
            "--health-addr=127.0.0.1:0",
            "--enable-leader-election=false",
            "--watch-all-namespaces=false",
            "--log-level=error",
            &format!("--concurrent={concurrent}"),
        ])
        .env("KUBECONFIG", kubeconfig)
        .env("RUNTIME_NAMESPACE", namespace)
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))
}

/// A size line of /proc/<pid>/status (`VmHWM:` is the peak RSS so far).
fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// SIGTERM, then reap with `wait4` for the child's own `ru_maxrss`.
fn stop(child: &mut Child) -> anyhow::Result<u64> {
    let pid = child.id() as libc::pid_t;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own un-reaped child; pointers are valid.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if reaped != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    Ok(usage.ru_maxrss as u64)
}
