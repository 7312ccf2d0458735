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

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::serde::de::DeserializeOwned;
use kube::Resource;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;
use weir_api::kustomize::v1::Kustomization;
use weir_api::source::v1::GitRepository;
use weir_test_support::cluster;
use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

/// source-controller's --concurrent while the GitRepositories are prepared.
const SOURCE_CONCURRENT: u16 = 16;
/// How long any one phase may take.
const PHASE_TIMEOUT: Duration = Duration::from_secs(900);
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
    crate::prereqs::ensure()?;
    build_controllers()?;
    let bins = Binaries {
        source: super::target_dir().join("release/source-controller"),
        kustomize: super::target_dir().join("release/kustomize-controller"),
    };
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
    let mut results = Vec::new();
    for run in 1..=runs {
        let r = runtime.block_on(one_run(
            &bins,
            &info.kubeconfig,
            &server,
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

    let median_kib = |f: fn(&RunResult) -> u64| {
        let mut v: Vec<u64> = results.iter().map(f).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
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
        server.requests()
    );
    Ok(())
}

/// Both release binaries in one cargo invocation: built one package at a
/// time, their shared dependencies would get other feature sets (and be
/// compiled again) than in the usual `-p a -p b` build.
fn build_controllers() -> anyhow::Result<()> {
    let status = Command::new("cargo")
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "weir-source-controller",
            "-p",
            "weir-kustomize-controller",
        ])
        .current_dir(crate::workspace_root())
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release of the controllers failed");
    }
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

struct Binaries {
    source: std::path::PathBuf,
    kustomize: std::path::PathBuf,
}

/// Both controllers, killed (not gracefully) if a run fails half-way.
struct Controllers {
    source: Option<Child>,
    kustomize: Option<Child>,
}

impl Controllers {
    fn check_alive(&mut self) -> anyhow::Result<()> {
        for (name, child) in [
            ("source-controller", &mut self.source),
            ("kustomize-controller", &mut self.kustomize),
        ] {
            if let Some(c) = child
                && let Some(status) = c.try_wait()?
            {
                *child = None;
                bail!("{name} exited early: {status}");
            }
        }
        Ok(())
    }
}

impl Drop for Controllers {
    fn drop(&mut self) {
        for mut c in [self.kustomize.take(), self.source.take()]
            .into_iter()
            .flatten()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn one_run(
    bins: &Binaries,
    kubeconfig: &Path,
    server: &GitServer,
    count: usize,
    concurrent: u16,
    wait: bool,
    run: usize,
) -> anyhow::Result<RunResult> {
    let client = weir_runtime::client::client_from_kubeconfig(kubeconfig).await?;
    weir_test_support::crds::install(&client).await?;
    let ns_name = format!("bench-ks-{}-{run}", std::process::id());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": ns_name}}))?,
        )
        .await
        .context("creating the benchmark namespace")?;
    let storage = tempfile::tempdir()?;
    let grpc_port = free_port()?;
    let storage_port = free_port()?;
    let mut controllers = Controllers {
        source: None,
        kustomize: None,
    };
    controllers.source = Some(spawn(
        Command::new(&bins.source).args([
            &format!("--storage-path={}", storage.path().display()),
            &format!("--storage-addr=127.0.0.1:{storage_port}"),
            &format!("--grpc-addr=127.0.0.1:{grpc_port}"),
            &format!("--concurrent={SOURCE_CONCURRENT}"),
        ]),
        kubeconfig,
        &ns_name,
    )?);
    controllers.kustomize = Some(spawn(
        Command::new(&bins.kustomize).args([
            &format!("--artifact-stream-addr=http://127.0.0.1:{grpc_port}"),
            &format!("--concurrent={concurrent}"),
        ]),
        kubeconfig,
        &ns_name,
    )?);

    // Sources first, so the measured phase is kustomize-controller's alone.
    let repos: Api<GitRepository> = Api::namespaced(client.clone(), &ns_name);
    let started = Instant::now();
    create_all(count, |i| {
        let repos = repos.clone();
        let repo: anyhow::Result<GitRepository> = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": { "name": format!("app-{i}") },
            "spec": { "url": server.http_url(&format!("app-{i}")), "interval": "10m", "ref": { "branch": "main" } },
        }))
        .map_err(Into::into);
        async move {
            repos
                .create(&PostParams::default(), &repo?)
                .await
                .context("creating a GitRepository")?;
            anyhow::Ok(())
        }
    })
    .await?;
    wait_all(
        &repos,
        count,
        "GitRepositories",
        started,
        &mut controllers,
        repo_ready,
        |_| None,
    )
    .await?;
    let sources_ready = started.elapsed();
    println!(
        "  {count} GitRepositories Ready in {:.2}s",
        sources_ready.as_secs_f64()
    );
    let ks_pid = controllers.kustomize.as_ref().map_or(0, Child::id);
    let sc_pid = controllers.source.as_ref().map_or(0, Child::id);
    let ks_cpu_before = proc_cpu(ks_pid).unwrap_or_default();
    println!(
        "  before the Kustomizations: kustomize-controller RSS {:.1} MiB, source-controller RSS {:.1} MiB (peak {:.1} MiB)",
        mib(proc_status_kib(ks_pid, "VmRSS:").unwrap_or(0)),
        mib(proc_status_kib(sc_pid, "VmRSS:").unwrap_or(0)),
        mib(proc_status_kib(sc_pid, "VmHWM:").unwrap_or(0)),
    );

    let kustomizations: Api<Kustomization> = Api::namespaced(client.clone(), &ns_name);
    let started = Instant::now();
    create_all(count, |i| {
        let api = kustomizations.clone();
        let ks: anyhow::Result<Kustomization> = serde_json::from_value(serde_json::json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": { "name": format!("app-{i}") },
            "spec": {
                "interval": "10m",
                "path": "./app",
                "prune": true,
                "wait": wait,
                "timeout": "5m",
                "targetNamespace": ns_name,
                "namePrefix": format!("app-{i}-"),
                "sourceRef": { "kind": "GitRepository", "name": format!("app-{i}") },
                "postBuild": { "substitute": { "APP": format!("app-{i}") } },
            },
        }))
        .map_err(Into::into);
        async move {
            api.create(&PostParams::default(), &ks?)
                .await
                .context("creating a Kustomization")?;
            anyhow::Ok(())
        }
    })
    .await?;
    let created = started.elapsed();
    wait_all(
        &kustomizations,
        count,
        "Kustomizations",
        started,
        &mut controllers,
        ks_ready,
        ks_not_ready_reason,
    )
    .await?;
    let ready = started.elapsed();
    let ks_cpu = proc_cpu(ks_pid)
        .unwrap_or_default()
        .saturating_sub(ks_cpu_before);
    let ks_peak = proc_status_kib(ks_pid, "VmHWM:").unwrap_or(0);
    let sc_peak = proc_status_kib(sc_pid, "VmHWM:").unwrap_or(0);
    println!(
        "  {count} Kustomizations Ready in {:.2}s (created in {:.2}s); kustomize-controller RSS {:.1} MiB (peak {:.1} MiB), source-controller peak {:.1} MiB",
        ready.as_secs_f64(),
        created.as_secs_f64(),
        mib(proc_status_kib(ks_pid, "VmRSS:").unwrap_or(0)),
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

    let ks_exit = stop(controllers.kustomize.take())?;
    let sc_exit = stop(controllers.source.take())?;
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
        ks_exit_kib: ks_exit,
        ks_cpu,
        sc_peak_kib: sc_peak,
        sc_exit_kib: sc_exit,
    })
}

/// Runs `make(i)` for `0..count`, 32 at a time.
async fn create_all<F, Fut>(count: usize, make: F) -> anyhow::Result<()>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    futures::stream::iter(0..count)
        .map(make)
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await
        .map(drop)
}

/// Watches `api` until `count` objects satisfy `ready`, printing progress
/// (with the reasons of those not Ready) every five seconds.
async fn wait_all<K>(
    api: &Api<K>,
    count: usize,
    what: &str,
    started: Instant,
    controllers: &mut Controllers,
    ready: fn(&K) -> bool,
    reason: fn(&K) -> Option<String>,
) -> anyhow::Result<()>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let mut stream = std::pin::pin!(watcher(api.clone(), watcher::Config::default()));
    // name → not-Ready reason (None when Ready).
    let mut state: HashMap<String, Option<String>> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.tick().await;
    let note = |state: &mut HashMap<String, Option<String>>, obj: &K| {
        let name = obj.meta().name.clone().unwrap_or_default();
        let r = if ready(obj) {
            None
        } else {
            Some(reason(obj).unwrap_or_else(|| "pending".into()))
        };
        state.insert(name, r);
    };
    loop {
        let ready_now = state.values().filter(|r| r.is_none()).count();
        if ready_now == count {
            return Ok(());
        }
        tokio::select! {
            event = stream.next() => match event {
                Some(Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o))) => note(&mut state, &o),
                Some(Ok(watcher::Event::Delete(o))) => {
                    state.remove(&o.meta().name.clone().unwrap_or_default());
                }
                Some(Ok(watcher::Event::Init | watcher::Event::InitDone)) => {}
                Some(Err(e)) => {
                    println!("  (watch error: {e}; retrying)");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                None => bail!("the {what} watch ended"),
            },
            _ = tick.tick() => {
                controllers.check_alive()?;
                let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
                for r in state.values().flatten() {
                    *reasons.entry(r.as_str()).or_default() += 1;
                }
                let reasons: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
                println!(
                    "  {ready_now}/{count} {what} Ready after {:.1}s{}",
                    started.elapsed().as_secs_f64(),
                    if reasons.is_empty() { String::new() } else { format!(" (not yet: {})", reasons.join(", ")) }
                );
                if started.elapsed() > PHASE_TIMEOUT {
                    bail!("only {ready_now}/{count} {what} Ready after {PHASE_TIMEOUT:?}");
                }
            }
        }
    }
}

async fn wait_gone<K>(api: &Api<K>, controllers: &mut Controllers) -> anyhow::Result<()>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let started = Instant::now();
    while !api
        .list_metadata(&ListParams::default().limit(1))
        .await?
        .items
        .is_empty()
    {
        controllers.check_alive()?;
        if started.elapsed() > PHASE_TIMEOUT {
            bail!("objects still there {PHASE_TIMEOUT:?} after deletion");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
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

fn ready_condition(conditions: Option<&Vec<Condition>>) -> Option<(bool, &str)> {
    conditions?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status == "True", c.reason.as_str()))
}

fn repo_ready(repo: &GitRepository) -> bool {
    repo.status.as_ref().is_some_and(|s| {
        s.artifact.is_some() && ready_condition(s.conditions.as_ref()).is_some_and(|(r, _)| r)
    })
}

fn ks_ready(ks: &Kustomization) -> bool {
    ks.status.as_ref().is_some_and(|s| {
        s.last_applied_revision.is_some()
            && ready_condition(s.conditions.as_ref()).is_some_and(|(r, _)| r)
    })
}

fn ks_not_ready_reason(ks: &Kustomization) -> Option<String> {
    let status = ks.status.as_ref()?;
    ready_condition(status.conditions.as_ref()).map(|(_, reason)| reason.to_owned())
}

/// A free 127.0.0.1 port (bound, read and released).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn spawn(command: &mut Command, kubeconfig: &Path, namespace: &str) -> anyhow::Result<Child> {
    let program = command.get_program().to_owned();
    command
        .args([
            "--metrics-addr=127.0.0.1:0",
            "--health-addr=127.0.0.1:0",
            "--enable-leader-election=false",
            "--watch-all-namespaces=false",
            "--log-level=error",
        ])
        .env("KUBECONFIG", kubeconfig)
        .env("RUNTIME_NAMESPACE", namespace)
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", Path::new(&program).display()))
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

/// User plus system CPU time of a process so far (/proc/<pid>/stat).
fn proc_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall, so the 12th and 13th after it.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_millis(ticks * 1000 / hz))
}

/// SIGTERM, then reap with `wait4` for the child's own `ru_maxrss` (KiB).
fn stop(child: Option<Child>) -> anyhow::Result<u64> {
    let Some(child) = child else {
        return Ok(0);
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_of_this_process_is_readable() {
        assert!(proc_cpu(std::process::id()).is_some());
        assert!(free_port().expect("port") > 0);
    }
}
