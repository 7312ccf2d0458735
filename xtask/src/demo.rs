//! `cargo xtask run`: Weir doing its main job, end to end, on this machine.
//!
//! The local control plane with Weir's CRDs; a real Git server holding a
//! small app (a base and a production overlay); the release builds of
//! source-controller and kustomize-controller as processes, wired through
//! the gRPC artifact stream; a GitRepository and a Kustomization that apply
//! the overlay; then a push, timed until the new commit is applied.
//!
//! Afterwards the controllers keep running (and report each new revision
//! applied) until Ctrl-C; with `--no-wait` they stop right after the push.
//! The control plane stays up either way.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use tokio::signal::unix::{SignalKind, signal};
use weir_api::kustomize::v1::Kustomization;
use weir_api::source::v1::GitRepository;
use weir_test_support::cluster::{self, ClusterInfo};
use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

use crate::controllers::{self, Binaries, Controllers, Env};

/// The namespace the demo's objects live in (and the controllers watch).
const NAMESPACE: &str = "weir-demo";
/// The name of the Git repository, the GitRepository and the Kustomization.
const NAME: &str = "demo";
/// The GitRepository's poll interval: short, so a push is seen quickly.
const SOURCE_INTERVAL: &str = "5s";
/// How long the first reconcile of each object may take.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a pushed commit may take to be applied.
const PUSH_TIMEOUT: Duration = Duration::from_secs(120);

const BASE_DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  labels:
    app: podinfo
spec:
  replicas: 2
  selector:
    matchLabels:
      app: podinfo
  template:
    metadata:
      labels:
        app: podinfo
    spec:
      containers:
        - name: podinfod
          image: ghcr.io/stefanprodan/podinfo:6.7.0
          command:
            - ./podinfo
            - --port=9898
          ports:
            - name: http
              containerPort: 9898
          envFrom:
            - configMapRef:
                name: podinfo
          resources:
            requests:
              cpu: 10m
              memory: 32Mi
"#;

const BASE_SERVICE: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: podinfo
spec:
  selector:
    app: podinfo
  ports:
    - name: http
      port: 9898
      targetPort: http
"#;

const BASE_CONFIGMAP: &str = r##"apiVersion: v1
kind: ConfigMap
metadata:
  name: podinfo
data:
  PODINFO_UI_COLOR: "#34577c"
  PODINFO_UI_MESSAGE: "Hello from the base"
"##;

const BASE_KUSTOMIZATION: &str = r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
  - service.yaml
  - configmap.yaml
"#;

const PRODUCTION_KUSTOMIZATION: &str = r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base
namePrefix: prod-
labels:
  - pairs:
      env: production
patches:
  - path: replicas.yaml
  - path: configmap.yaml
"#;

/// The production overlay's patches, before and after the demo's push.
fn production_replicas(replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  replicas: {replicas}\n"
    )
}

fn production_configmap(message: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: podinfo\ndata:\n  PODINFO_UI_MESSAGE: \"{message}\"\n"
    )
}

/// The app's files, with the production overlay's replicas and message.
fn app_files(replicas: u32, message: &str) -> Vec<(&'static str, String)> {
    vec![
        ("apps/base/deployment.yaml", BASE_DEPLOYMENT.to_owned()),
        ("apps/base/service.yaml", BASE_SERVICE.to_owned()),
        ("apps/base/configmap.yaml", BASE_CONFIGMAP.to_owned()),
        (
            "apps/base/kustomization.yaml",
            BASE_KUSTOMIZATION.to_owned(),
        ),
        (
            "apps/production/kustomization.yaml",
            PRODUCTION_KUSTOMIZATION.to_owned(),
        ),
        (
            "apps/production/replicas.yaml",
            production_replicas(replicas),
        ),
        (
            "apps/production/configmap.yaml",
            production_configmap(message),
        ),
    ]
}

fn entries<'a>(files: &'a [(&'static str, String)]) -> Vec<(&'a str, Entry<'a>)> {
    files
        .iter()
        .map(|(path, content)| (*path, Entry::File(content.as_bytes())))
        .collect()
}

/// The applied objects' names (the overlay's `namePrefix`).
const APP: &str = "prod-podinfo";

pub fn run(no_wait: bool) -> anyhow::Result<()> {
    crate::prereqs::ensure()?;
    let started = Instant::now();

    println!("==> starting the local control plane (built from Go modules on first use)");
    let info = cluster::up().context("starting the local control plane")?;
    println!(
        "==> control plane at {} ({:.1}s)",
        info.server,
        started.elapsed().as_secs_f64()
    );

    let binaries = build_controllers()?;

    let dir = demo_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    // Current-thread: the controllers are spawned from the main thread, whose
    // exit (even a crash) then delivers their parent-death signal.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    runtime.block_on(async {
        let mut interrupt =
            signal(SignalKind::interrupt()).context("installing the Ctrl-C handler")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        // Interrupted here, the demo future is dropped, and with it the Git
        // server and the controllers (their Drop stops them).
        let mut session = tokio::select! {
            session = demo(&info, &binaries, &dir, started, no_wait) => session?,
            _ = interrupt.recv() => bail!("interrupted"),
            _ = terminate.recv() => bail!("terminated"),
        };
        if no_wait {
            session.controllers.stop()?;
        } else {
            println!(
                "\nThe controllers keep running: push to the repository and watch them apply it."
            );
            println!("Press Ctrl-C to stop them (the control plane stays up).\n");
            tokio::select! {
                result = session.follow() => result?,
                _ = interrupt.recv() => println!("\n==> interrupted"),
                _ = terminate.recv() => println!("\n==> terminated"),
            }
            session.controllers.stop()?;
        }
        drop(session);
        println!("==> Git server stopped");
        anyhow::Ok(())
    })?;
    println!(
        "\nThe control plane is still up, with the demo's objects in namespace {NAMESPACE}\n\
         (they stay as applied; `cargo xtask run` starts over). Stop it with:\n  \
         cargo xtask cluster down"
    );
    Ok(())
}

/// `$HOME/.cache/weir/demo`: the controllers' logs and artifact storage.
fn demo_dir() -> PathBuf {
    cluster::state_dir()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
        .join("demo")
}

/// Both controllers in release mode, in one cargo invocation.
fn build_controllers() -> anyhow::Result<Binaries> {
    let started = Instant::now();
    println!(
        "==> cargo build --release -p weir-source-controller -p weir-kustomize-controller\n    \
         (the first build takes several minutes)"
    );
    let binaries = controllers::build_release(false)?;
    println!(
        "==> controllers built ({:.1}s)",
        started.elapsed().as_secs_f64()
    );
    Ok(binaries)
}

/// Both controllers, logging to files in `dir`, artifacts in `dir/storage`
/// (emptied first).
fn start_controllers(
    binaries: &Binaries,
    kubeconfig: &Path,
    dir: &Path,
) -> anyhow::Result<Controllers> {
    let storage = dir.join("storage");
    if storage.exists() {
        std::fs::remove_dir_all(&storage)
            .with_context(|| format!("clearing {}", storage.display()))?;
    }
    std::fs::create_dir_all(&storage).with_context(|| format!("creating {}", storage.display()))?;
    let env = Env {
        kubeconfig,
        namespace: NAMESPACE,
        log_level: "info",
        log_dir: Some(dir),
        report_stop: true,
    };
    let controllers = Controllers::start(binaries, &env, &storage, &[], &[])?;
    println!(
        "==> source-controller (pid {}): artifacts at http://{}, gRPC artifact stream at {}",
        controllers.source.pid(),
        controllers.storage_addr,
        controllers.grpc_addr
    );
    println!(
        "==> kustomize-controller (pid {}): streaming artifacts from http://{}",
        controllers.kustomize.pid(),
        controllers.grpc_addr
    );
    println!("    logs: {}", controllers.log_paths());
    Ok(controllers)
}

/// What runs once the demo is set up.
struct Session {
    client: kube::Client,
    controllers: Controllers,
    // Kept for its Drop, which stops the server and removes its repositories.
    _git: GitServer,
    last_applied: Option<String>,
}

async fn demo(
    info: &ClusterInfo,
    binaries: &Binaries,
    dir: &Path,
    started: Instant,
    no_wait: bool,
) -> anyhow::Result<Session> {
    let client = weir_runtime::client::client_from_kubeconfig(&info.kubeconfig)
        .await
        .context("connecting to the local control plane")?;
    let crds = weir_test_support::crds::install(&client)
        .await
        .context("installing the CRDs")?;
    println!("==> {} Flux CRDs installed", crds.len());

    fresh_namespace(&client).await?;

    // The Git server and the app.
    let git = GitServer::start(GitServerOptions::default()).context("starting the Git server")?;
    let repo = git.repo(NAME)?;
    let first = repo
        .commit(
            "main",
            &entries(&app_files(3, "Hello from production")),
            "podinfo: base and production overlay",
        )
        .context("committing the demo app")?;
    repo.set_head("main")?;
    let url = git.http_url(NAME);
    println!("==> Git server: {url} (main at {})", short(&first));

    // The controllers.
    let mut controllers = start_controllers(binaries, &info.kubeconfig, dir)?;
    controllers.wait_listening().await?;

    // The GitRepository and the Kustomization.
    let repos: Api<GitRepository> = Api::namespaced(client.clone(), NAMESPACE);
    let kss: Api<Kustomization> = Api::namespaced(client.clone(), NAMESPACE);
    controllers::create_git_repository_and_kustomization(
        &client,
        NAMESPACE,
        NAME,
        (&url, SOURCE_INTERVAL),
        serde_json::json!({
            "interval": "1m",
            "path": "./apps/production",
            "prune": true,
            "wait": true,
            "timeout": "2m",
            "targetNamespace": NAMESPACE,
        }),
    )
    .await?;
    println!(
        "==> created GitRepository/{NAME} (interval {SOURCE_INTERVAL}) and Kustomization/{NAME} \
         (path ./apps/production, prune, wait, timeout 2m) in namespace {NAMESPACE}"
    );

    let revision = format!("main@sha1:{first}");
    let created = Instant::now();
    wait_until(&mut controllers, "GitRepository", READY_TIMEOUT, || async {
        let repo = repos.get(NAME).await?;
        let conditions = repo.status.as_ref().and_then(|s| s.conditions.as_deref());
        let done = is_ready(conditions)
            && repo
                .status
                .as_ref()
                .and_then(|s| s.artifact.as_ref())
                .is_some_and(|a| a.revision == revision);
        Ok((done, ready_line(conditions)))
    })
    .await?;
    println!(
        "==> GitRepository/{NAME} Ready after {:.1}s",
        created.elapsed().as_secs_f64()
    );
    wait_until(&mut controllers, "Kustomization", READY_TIMEOUT, || async {
        let ks = kss.get(NAME).await?;
        Ok((applied(&ks, &revision), ready_line(ks_conditions(&ks))))
    })
    .await?;
    println!(
        "==> Kustomization/{NAME} Ready after {:.1}s (applied, and the Deployment rolled out on the \
         kwok node)",
        created.elapsed().as_secs_f64()
    );

    println!("\n$ kubectl -n {NAMESPACE} get gitrepositories,kustomizations");
    print_sources(&client).await?;
    println!("\nApplied (the Kustomization's inventory):");
    let ks = kss.get(NAME).await?;
    for entry in ks
        .status
        .as_ref()
        .and_then(|s| s.inventory.as_ref())
        .map(|i| i.entries.as_slice())
        .unwrap_or_default()
    {
        println!("  {}", entry.id);
    }
    println!("\nThe applied objects:");
    print_app(&client, true).await?;

    // A push: the ConfigMap's message and the replicas change.
    println!("\n==> pushing a change: PODINFO_UI_MESSAGE and replicas 3 -> 4");
    let second = repo
        .commit(
            "main",
            &entries(&app_files(4, "Hello from production, take two")),
            "production: 4 replicas, new message",
        )
        .context("committing the change")?;
    let pushed = Instant::now();
    let revision = format!("main@sha1:{second}");
    println!("    main is now {}", short(&second));
    let mut fetched = None;
    let mut applied_at = None;
    while applied_at.is_none() {
        controllers.check()?;
        if pushed.elapsed() > PUSH_TIMEOUT {
            bail!(
                "commit {} was not applied within {}s\n{}",
                short(&second),
                PUSH_TIMEOUT.as_secs(),
                controllers.log_tails()
            );
        }
        if fetched.is_none() {
            let repo = repos.get(NAME).await?;
            if repo
                .status
                .as_ref()
                .and_then(|s| s.artifact.as_ref())
                .is_some_and(|a| a.revision == revision)
            {
                fetched = Some(pushed.elapsed());
            }
        }
        let ks = kss.get(NAME).await?;
        if applied(&ks, &revision) {
            applied_at = Some(pushed.elapsed());
            fetched.get_or_insert(pushed.elapsed());
        } else {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let (Some(fetched), Some(applied_at)) = (fetched, applied_at) else {
        bail!("internal error: push timings missing");
    };
    println!(
        "==> push -> applied in {:.2}s: source-controller stored the new artifact after {:.2}s \
         (its next {SOURCE_INTERVAL} poll), kustomize-controller applied it {:.2}s later \
         (pushed to it over the gRPC artifact stream; includes waiting for the rollout)",
        applied_at.as_secs_f64(),
        fetched.as_secs_f64(),
        (applied_at - fetched).as_secs_f64()
    );
    println!("\n$ kubectl -n {NAMESPACE} get gitrepositories,kustomizations");
    print_sources(&client).await?;
    println!("\nWhat changed:");
    print_app(&client, false).await?;

    let artifact_url = repos
        .get(NAME)
        .await?
        .status
        .and_then(|s| s.artifact)
        .map(|a| a.url)
        .unwrap_or_default();
    println!("\nLook around (the control plane keeps running):");
    println!("  export KUBECONFIG={}", info.kubeconfig.display());
    println!(
        "  cargo xtask cluster kubectl -n {NAMESPACE} get gitrepositories,kustomizations,deploy,svc,cm,pods"
    );
    println!("  cargo xtask cluster kubectl -n {NAMESPACE} get kustomization {NAME} -o yaml");
    if no_wait {
        println!(
            "  (run without --no-wait to keep the controllers and the Git server up: then\n   \
             curl the artifact source-controller serves, clone the repository and push)"
        );
    } else {
        println!(
            "  curl -s {artifact_url} | tar -tzvf -   # the artifact source-controller serves"
        );
        println!("  git clone {url}   # edit apps/production, commit, push: it gets applied");
    }
    println!("  logs: {}", controllers.log_paths());
    println!(
        "==> demo done in {:.1}s in all",
        started.elapsed().as_secs_f64()
    );
    Ok(Session {
        client,
        controllers,
        _git: git,
        last_applied: Some(revision),
    })
}

impl Session {
    /// Reports each Kustomization change until a controller exits.
    async fn follow(&mut self) -> anyhow::Result<()> {
        let kss: Api<Kustomization> = Api::namespaced(self.client.clone(), NAMESPACE);
        let mut last_ready = None;
        loop {
            self.controllers.check()?;
            if let Ok(ks) = kss.get(NAME).await {
                let line = ready_line(ks_conditions(&ks));
                let applied = ks
                    .status
                    .as_ref()
                    .and_then(|s| s.last_applied_revision.clone());
                if applied != self.last_applied {
                    println!(
                        "==> Kustomization/{NAME} applied {}",
                        applied.as_deref().unwrap_or("nothing")
                    );
                    self.last_applied = applied;
                } else if last_ready.as_ref().is_some_and(|l| *l != line) {
                    println!("    Kustomization/{NAME}: {line}");
                }
                last_ready = Some(line);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Deletes the namespace a previous run left (stripping the Flux objects'
/// finalizers first: their controllers are not running to remove them),
/// then creates it afresh.
async fn fresh_namespace(client: &kube::Client) -> anyhow::Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if namespaces.get_opt(NAMESPACE).await?.is_some() {
        println!("==> deleting namespace {NAMESPACE} left by a previous run");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            strip_finalizers::<Kustomization>(client).await?;
            strip_finalizers::<GitRepository>(client).await?;
            match namespaces.get_opt(NAMESPACE).await? {
                None => break,
                Some(ns) if ns.metadata.deletion_timestamp.is_none() => {
                    namespaces
                        .delete(NAMESPACE, &DeleteParams::background())
                        .await
                        .with_context(|| format!("deleting namespace {NAMESPACE}"))?;
                }
                Some(ns) => {
                    if Instant::now() > deadline {
                        bail!(
                            "namespace {NAMESPACE} is still terminating after 120s: {:?}",
                            ns.status.and_then(|s| s.conditions)
                        );
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    let namespace: Namespace =
        serde_json::from_value(serde_json::json!({ "metadata": { "name": NAMESPACE } }))?;
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .with_context(|| format!("creating namespace {NAMESPACE}"))?;
    println!("==> namespace {NAMESPACE} created");
    Ok(())
}

async fn strip_finalizers<K>(client: &kube::Client) -> anyhow::Result<()>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
        + Clone
        + k8s_openapi::serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), NAMESPACE);
    let list = api
        .list(&ListParams::default())
        .await
        .context("listing leftover objects")?;
    for object in list.items {
        let meta = object.meta();
        if meta.finalizers.as_ref().is_none_or(Vec::is_empty) {
            continue;
        }
        let Some(name) = meta.name.as_deref() else {
            continue;
        };
        let patch = serde_json::json!({ "metadata": { "finalizers": null } });
        match api
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e).with_context(|| format!("removing finalizers of {name}")),
        }
    }
    Ok(())
}

/// Polls `probe` (done?, a one-line state) until done, printing each new
/// state; fails when a controller exits or on timeout.
async fn wait_until<F, Fut>(
    controllers: &mut Controllers,
    what: &str,
    timeout: Duration,
    mut probe: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<(bool, String)>>,
{
    let started = Instant::now();
    let mut last = String::new();
    loop {
        controllers.check()?;
        let (done, state) = probe()
            .await
            .with_context(|| format!("reading {what}/{NAME}"))?;
        if state != last {
            println!(
                "    {:>5.1}s {what}/{NAME}: {state}",
                started.elapsed().as_secs_f64()
            );
            last = state;
        }
        if done {
            return Ok(());
        }
        if started.elapsed() > timeout {
            bail!(
                "{what}/{NAME} not Ready after {}s (last: {last})\n{}",
                timeout.as_secs(),
                controllers.log_tails()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ks_conditions(ks: &Kustomization) -> Option<&[Condition]> {
    ks.status.as_ref().and_then(|s| s.conditions.as_deref())
}

fn ready_condition(conditions: Option<&[Condition]>) -> Option<&Condition> {
    conditions?.iter().find(|c| c.type_ == "Ready")
}

fn is_ready(conditions: Option<&[Condition]>) -> bool {
    ready_condition(conditions).is_some_and(|c| c.status == "True")
}

fn ready_line(conditions: Option<&[Condition]>) -> String {
    match ready_condition(conditions) {
        Some(c) => format!("Ready={} {}: {}", c.status, c.reason, c.message),
        None => "no Ready condition yet".to_owned(),
    }
}

fn applied(ks: &Kustomization, revision: &str) -> bool {
    is_ready(ks_conditions(ks))
        && ks
            .status
            .as_ref()
            .and_then(|s| s.last_applied_revision.as_deref())
            == Some(revision)
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// `kubectl get gitrepositories,kustomizations`, from the API.
async fn print_sources(client: &kube::Client) -> anyhow::Result<()> {
    let repos: Api<GitRepository> = Api::namespaced(client.clone(), NAMESPACE);
    let kss: Api<Kustomization> = Api::namespaced(client.clone(), NAMESPACE);
    let mut rows = Vec::new();
    for repo in repos.list(&ListParams::default()).await?.items {
        let status = repo.status.as_ref();
        rows.push((
            format!("gitrepository/{}", repo.metadata.name.unwrap_or_default()),
            status
                .and_then(|s| s.artifact.as_ref())
                .map(|a| a.revision.clone())
                .unwrap_or_default(),
            ready_condition(status.and_then(|s| s.conditions.as_deref())).cloned(),
        ));
    }
    for ks in kss.list(&ListParams::default()).await?.items {
        let status = ks.status.as_ref();
        rows.push((
            format!(
                "kustomization/{}",
                ks.metadata.name.clone().unwrap_or_default()
            ),
            status
                .and_then(|s| s.last_applied_revision.clone())
                .unwrap_or_default(),
            ready_condition(ks_conditions(&ks)).cloned(),
        ));
    }
    println!("{:<20} {:<52} {:<6} MESSAGE", "NAME", "REVISION", "READY");
    for (name, revision, ready) in rows {
        let (status, message) = ready.map_or((String::from("-"), String::new()), |c| {
            (c.status, c.message)
        });
        println!("{name:<20} {revision:<52} {status:<6} {message}");
    }
    Ok(())
}

/// The applied Deployment, Service and ConfigMap.
async fn print_app(client: &kube::Client, with_service: bool) -> anyhow::Result<()> {
    let deployment = Api::<Deployment>::namespaced(client.clone(), NAMESPACE)
        .get(APP)
        .await
        .with_context(|| format!("reading Deployment {APP}"))?;
    let desired = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let ready = deployment
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    println!("  Deployment {APP}: {ready}/{desired} replicas ready");
    if with_service {
        let service = Api::<Service>::namespaced(client.clone(), NAMESPACE)
            .get(APP)
            .await
            .with_context(|| format!("reading Service {APP}"))?;
        let spec = service.spec.unwrap_or_default();
        let ports: Vec<String> = spec
            .ports
            .unwrap_or_default()
            .iter()
            .map(|p| format!("{}/{}", p.port, p.protocol.as_deref().unwrap_or("TCP")))
            .collect();
        println!(
            "  Service {APP}: {} {} {}",
            spec.type_.unwrap_or_default(),
            spec.cluster_ip.unwrap_or_default(),
            ports.join(",")
        );
    }
    let config = Api::<ConfigMap>::namespaced(client.clone(), NAMESPACE)
        .get(APP)
        .await
        .with_context(|| format!("reading ConfigMap {APP}"))?;
    let data: Vec<String> = config
        .data
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    println!("  ConfigMap {APP}: {}", data.join(" "));
    Ok(())
}
