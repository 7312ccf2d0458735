//! The local Kubernetes control plane the integration tests run against.
//!
//! One Go binary, `weir-controlplane` (built from `tests/controlplane/` with
//! the Go module proxy, see [`build_controlplane`]), holds etcd,
//! kube-apiserver, kube-controller-manager, kube-scheduler, kwok and kubectl
//! as sub-commands. [`up`] starts one process per component, detached in
//! sessions of their own so the control plane outlives the process that
//! started it, registers a fake kwok node so Pods get scheduled and run, and
//! writes an admin kubeconfig to [`kubeconfig_path`]. [`down`] stops them all.
//!
//! Every listener is on 127.0.0.1. State lives in [`state_dir`]:
//!
//! ```text
//! lock          exclusive lock held around check-and-start and stop
//! state.json    the running cluster's [`ClusterInfo`] (pids, ports, logs)
//! kubeconfig    admin kubeconfig, written once the cluster is ready
//! run/          wiped on every start: pki/, etcd/, logs/*.log, component kubeconfig
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use k8s_openapi::api::core::v1::{Node, ServiceAccount};
use kube::api::{Api, PostParams};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::lock::with_file_lock;

/// Annotation kwok selects the nodes it manages by (`--manage-nodes-with-annotation-selector`).
pub const KWOK_NODE_ANNOTATION: &str = "kwok.x-k8s.io/node";
/// Name of the fake node [`up`] registers.
pub const NODE_NAME: &str = "kwok-node-0";

const BINARY_NAME: &str = "weir-controlplane";
const LOOPBACK: &str = "127.0.0.1";
const SERVICE_CLUSTER_IP_RANGE: &str = "10.96.0.0/16";
const POD_CIDR: &str = "10.244.0.0/16";
const FRONT_PROXY_CN: &str = "front-proxy-client";
const SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// How long the API server gets to report ready.
const READY_TIMEOUT: Duration = Duration::from_secs(90);
/// How long the node, the default ServiceAccount and friends get after that.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a component gets to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A running local control plane.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// Admin kubeconfig (client certificate in group system:masters).
    pub kubeconfig: PathBuf,
    /// API server URL, `https://127.0.0.1:<port>`.
    pub server: String,
    /// The state directory ([`state_dir`]).
    pub state_dir: PathBuf,
    /// The `weir-controlplane` binary the processes run.
    pub binary: PathBuf,
    /// The component processes, in start order.
    pub processes: Vec<ComponentProcess>,
}

/// One control-plane process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ComponentProcess {
    /// Sub-command name: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok.
    pub name: String,
    /// Process id; also its session and process-group id.
    pub pid: u32,
    /// Start time from `/proc/<pid>/stat` (clock ticks since boot), to tell a
    /// recycled pid from ours.
    pub start_time: u64,
    /// Loopback TCP ports the process was told to listen on.
    pub ports: Vec<u16>,
    /// Its combined stdout and stderr.
    pub log: PathBuf,
}

impl ClusterInfo {
    /// Process ids of every component.
    pub fn pids(&self) -> Vec<u32> {
        self.processes.iter().map(|p| p.pid).collect()
    }
}

/// `$WEIR_CLUSTER_DIR`, or `$HOME/.cache/weir/cluster`.
pub fn state_dir() -> PathBuf {
    match std::env::var_os("WEIR_CLUSTER_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => cache_root().join("cluster"),
    }
}

/// `<state_dir>/kubeconfig`.
pub fn kubeconfig_path() -> PathBuf {
    state_dir().join("kubeconfig")
}

/// `$HOME/.cache/weir`.
fn cache_root() -> PathBuf {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/tmp".into());
    PathBuf::from(home).join(".cache").join("weir")
}

/// The Go module holding `weir-controlplane`'s source: `$WEIR_CONTROLPLANE_SRC`,
/// or `tests/controlplane` in this checkout.
fn controlplane_source_dir() -> PathBuf {
    match std::env::var_os("WEIR_CONTROLPLANE_SRC") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/controlplane"),
    }
}

// ---------------------------------------------------------------------------
// Building the binary
// ---------------------------------------------------------------------------

/// Builds `weir-controlplane` into
/// `$HOME/.cache/weir/controlplane/<hash>/weir-controlplane`, where `<hash>`
/// covers the Go module's go.mod, go.sum and source files; does nothing when
/// that file exists. Concurrent callers wait for one build.
pub fn build_controlplane() -> anyhow::Result<PathBuf> {
    let src = controlplane_source_dir();
    let src = src
        .canonicalize()
        .with_context(|| format!("locating the control-plane Go module at {}", src.display()))?;
    let hash = source_hash(&src)?;
    let root = cache_root().join("controlplane");
    let out_dir = root.join(&hash);
    let binary = out_dir.join(BINARY_NAME);
    if binary.is_file() {
        return Ok(binary);
    }

    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    with_file_lock(&root.join("build.lock"), || {
        if !binary.is_file() {
            go_build(&src, &out_dir, &binary)?;
        }
        Ok(binary.clone())
    })
}

/// Runs `go build` of the module at `src` into `binary` (via a temporary
/// file in `out_dir`, renamed into place).
fn go_build(src: &Path, out_dir: &Path, binary: &Path) -> anyhow::Result<()> {
    let go = go_binary();
    let version = kubernetes_version(src)?;
    let ldflags = [
        "-s".to_owned(),
        "-w".to_owned(),
        format!("-X k8s.io/component-base/version.gitVersion={version}"),
        format!("-X k8s.io/client-go/pkg/version.gitVersion={version}"),
        "-X k8s.io/component-base/version.gitTreeState=clean".to_owned(),
        "-X k8s.io/client-go/pkg/version.gitTreeState=clean".to_owned(),
    ]
    .join(" ");
    let tmp = out_dir.join(format!("{BINARY_NAME}.tmp-{}", std::process::id()));
    eprintln!(
        "weir: building {BINARY_NAME} ({}) into {} — the first build compiles Kubernetes and takes several minutes",
        src.display(),
        binary.display()
    );
    let started = Instant::now();
    let output = Command::new(&go)
        .args([
            "build",
            "-trimpath",
            "-buildvcs=false",
            "-ldflags",
            &ldflags,
            "-o",
        ])
        .arg(&tmp)
        .arg(".")
        .current_dir(src)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running `{} build` (is Go installed?)", go.display()))?;
    if !output.status.success() {
        let _ = fs::remove_file(&tmp);
        bail!(
            "`go build` of {BINARY_NAME} failed ({}):\n{}",
            output.status,
            tail(&String::from_utf8_lossy(&output.stderr), 60)
        );
    }
    fs::rename(&tmp, binary)
        .with_context(|| format!("moving the built binary to {}", binary.display()))?;
    eprintln!(
        "weir: built {BINARY_NAME} in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `go` from PATH, else the standard install location.
fn go_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("go");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    PathBuf::from("/usr/local/go/bin/go")
}

/// The `k8s.io/kubernetes` version go.mod requires, stamped into the binary
/// as the components' version (what `/version` and `kubectl version` report).
fn kubernetes_version(src: &Path) -> anyhow::Result<String> {
    let go_mod =
        fs::read_to_string(src.join("go.mod")).context("reading the control plane's go.mod")?;
    go_mod
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("k8s.io/kubernetes"), Some(version)) if version.starts_with('v') => {
                    Some(version.to_owned())
                }
                (Some("require"), Some("k8s.io/kubernetes")) => words.next().map(str::to_owned),
                _ => None,
            }
        })
        .next()
        .context("go.mod does not require k8s.io/kubernetes")
}

/// Short SHA-256 over go.mod, go.sum and the module's top-level source files.
fn source_hash(src: &Path) -> anyhow::Result<String> {
    let mut names: Vec<String> = fs::read_dir(src)
        .with_context(|| format!("listing {}", src.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n == "go.mod" || n == "go.sum" || n.ends_with(".go") || n.ends_with(".yaml"))
        .collect();
    names.sort();
    if !names.iter().any(|n| n == "go.mod") {
        bail!("{} has no go.mod", src.display());
    }
    let mut hasher = Sha256::new();
    for name in &names {
        let content = fs::read(src.join(name))
            .with_context(|| format!("reading {}/{name}", src.display()))?;
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update((content.len() as u64).to_le_bytes());
        hasher.update(&content);
    }
    Ok(hex::encode(hasher.finalize())[..16].to_owned())
}

// ---------------------------------------------------------------------------
// Public lifecycle
// ---------------------------------------------------------------------------

/// Starts the control plane unless a healthy one is running; returns it.
/// Safe to call from several processes at once.
pub fn up() -> anyhow::Result<ClusterInfo> {
    let dir = state_dir();
    with_file_lock(&dir.join("lock"), || {
        if let Some(info) = healthy(&dir)? {
            return Ok(info);
        }
        // Leftovers of a crashed or half-started cluster.
        stop(&dir).context("stopping the previous, unhealthy control plane")?;
        let binary = build_controlplane()?;
        let mut last_error = None;
        for attempt in 1..=2 {
            match start(&dir, &binary) {
                Ok(info) => return Ok(info),
                Err(err) => {
                    let stopped = stop(&dir);
                    if let Err(stop_err) = stopped {
                        return Err(
                            err.context(format!("and stopping it failed too: {stop_err:#}"))
                        );
                    }
                    if attempt == 1 {
                        eprintln!(
                            "weir: starting the control plane failed, retrying once: {err:#}"
                        );
                    }
                    last_error = Some(err);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("control plane did not start")))
            .context("starting the local control plane")
    })
}

/// Stops every process [`up`] started and waits for them to exit.
pub fn down() -> anyhow::Result<()> {
    let dir = state_dir();
    with_file_lock(&dir.join("lock"), || stop(&dir))
}

/// The running control plane if all its processes are alive and the API
/// server answers `/readyz`; `None` otherwise.
pub fn status() -> anyhow::Result<Option<ClusterInfo>> {
    healthy(&state_dir())
}

/// `weir-controlplane kubectl --kubeconfig <kubeconfig_path()>`; add the
/// kubectl arguments.
pub fn kubectl_command() -> anyhow::Result<Command> {
    let binary = build_controlplane()?;
    let mut command = Command::new(binary);
    command
        .arg("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig_path());
    Ok(command)
}

fn state_file(dir: &Path) -> PathBuf {
    dir.join("state.json")
}

fn read_state(dir: &Path) -> anyhow::Result<Option<ClusterInfo>> {
    let path = state_file(dir);
    match fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(info) => Ok(Some(info)),
            // An unreadable state file (older format, torn by a crash) is no cluster.
            Err(_) => Ok(None),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_atomically(path: &Path, content: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    fs::write(&tmp, content).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

fn write_state(dir: &Path, info: &ClusterInfo) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(info).context("serializing the cluster state")?;
    write_atomically(&state_file(dir), &json)
}

fn healthy(dir: &Path) -> anyhow::Result<Option<ClusterInfo>> {
    let Some(info) = read_state(dir)? else {
        return Ok(None);
    };
    if info.processes.is_empty()
        || !info
            .processes
            .iter()
            .all(|p| is_alive(p.pid, Some(p.start_time)))
    {
        return Ok(None);
    }
    if !info.kubeconfig.is_file() {
        return Ok(None);
    }
    let kubeconfig = info.kubeconfig.clone();
    let ready = block_on(async move {
        let client = client_for(&kubeconfig).await?;
        Ok(readyz(&client).await)
    })?;
    Ok(ready.then_some(info))
}

// ---------------------------------------------------------------------------
// Starting
// ---------------------------------------------------------------------------

struct Ports {
    etcd_client: u16,
    etcd_peer: u16,
    apiserver: u16,
    controller_manager: u16,
    scheduler: u16,
    kwok: u16,
}

/// Paths of the files [`up`] generates under `run/`.
struct Layout {
    run: PathBuf,
    logs: PathBuf,
    home: PathBuf,
    etcd_data: PathBuf,
    ca_crt: PathBuf,
    ca_key: PathBuf,
    serving_crt: PathBuf,
    serving_key: PathBuf,
    sa_key: PathBuf,
    sa_pub: PathBuf,
    front_proxy_crt: PathBuf,
    front_proxy_key: PathBuf,
    component_kubeconfig: PathBuf,
}

impl Layout {
    fn new(dir: &Path) -> Self {
        let run = dir.join("run");
        let pki = run.join("pki");
        Layout {
            logs: run.join("logs"),
            home: run.join("home"),
            etcd_data: run.join("etcd"),
            ca_crt: pki.join("ca.crt"),
            ca_key: pki.join("ca.key"),
            serving_crt: pki.join("serving.crt"),
            serving_key: pki.join("serving.key"),
            sa_key: pki.join("service-account.key"),
            sa_pub: pki.join("service-account.pub"),
            front_proxy_crt: pki.join("front-proxy-client.crt"),
            front_proxy_key: pki.join("front-proxy-client.key"),
            component_kubeconfig: run.join("admin.kubeconfig"),
            run,
        }
    }
}

fn start(dir: &Path, binary: &Path) -> anyhow::Result<ClusterInfo> {
    let layout = Layout::new(dir);
    if layout.run.exists() {
        fs::remove_dir_all(&layout.run)
            .with_context(|| format!("removing {}", layout.run.display()))?;
    }
    for d in [&layout.run, &layout.logs, &layout.home, &layout.etcd_data] {
        fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    // etcd wants its data private; so are the keys under run/pki.
    for d in [&layout.run, &layout.etcd_data] {
        fs::set_permissions(d, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", d.display()))?;
    }
    let _ = fs::remove_file(kubeconfig_path_in(dir));

    let ports = pick_ports()?;
    let server = format!("https://{LOOPBACK}:{}", ports.apiserver);
    let kubeconfig = generate_pki(&layout, &server)?;
    fs::write(&layout.component_kubeconfig, &kubeconfig)
        .with_context(|| format!("writing {}", layout.component_kubeconfig.display()))?;

    let mut info = ClusterInfo {
        kubeconfig: kubeconfig_path_in(dir),
        server: server.clone(),
        state_dir: dir.to_path_buf(),
        binary: binary.to_path_buf(),
        processes: Vec::new(),
    };
    let mut children: Vec<Started> = Vec::new();
    let path = |p: &Path| p.display().to_string();
    let loopback_url = |port: u16| format!("http://{LOOPBACK}:{port}");

    // etcd: client and peer URLs on loopback, no separate metrics listener.
    let etcd_args = vec![
        "--name=weir".to_owned(),
        format!("--data-dir={}", path(&layout.etcd_data)),
        format!("--listen-client-urls={}", loopback_url(ports.etcd_client)),
        format!(
            "--advertise-client-urls={}",
            loopback_url(ports.etcd_client)
        ),
        format!("--listen-peer-urls={}", loopback_url(ports.etcd_peer)),
        format!(
            "--initial-advertise-peer-urls={}",
            loopback_url(ports.etcd_peer)
        ),
        format!("--initial-cluster=weir={}", loopback_url(ports.etcd_peer)),
        "--initial-cluster-state=new".to_owned(),
        "--unsafe-no-fsync=true".to_owned(),
        "--log-level=warn".to_owned(),
    ];
    spawn_component(
        dir,
        &layout,
        binary,
        "etcd",
        &etcd_args,
        vec![ports.etcd_client, ports.etcd_peer],
        &mut info,
        &mut children,
    )?;
    wait_for_port(ports.etcd_client, &mut children, Duration::from_secs(30))
        .context("waiting for etcd")?;

    let apiserver_args = vec![
        format!("--etcd-servers={}", loopback_url(ports.etcd_client)),
        format!("--bind-address={LOOPBACK}"),
        format!("--advertise-address={LOOPBACK}"),
        format!("--secure-port={}", ports.apiserver),
        format!("--cert-dir={}", path(&layout.run.join("pki/apiserver"))),
        format!("--tls-cert-file={}", path(&layout.serving_crt)),
        format!("--tls-private-key-file={}", path(&layout.serving_key)),
        format!("--client-ca-file={}", path(&layout.ca_crt)),
        format!("--service-account-key-file={}", path(&layout.sa_pub)),
        format!(
            "--service-account-signing-key-file={}",
            path(&layout.sa_key)
        ),
        format!("--service-account-issuer={SERVICE_ACCOUNT_ISSUER}"),
        "--authorization-mode=Node,RBAC".to_owned(),
        format!("--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}"),
        "--allow-privileged=true".to_owned(),
        "--profiling=false".to_owned(),
        "--kubelet-preferred-address-types=InternalIP".to_owned(),
        // The `kubernetes` Service's Endpoints cannot hold a loopback address.
        "--endpoint-reconciler-type=none".to_owned(),
        // Front-proxy (aggregation) set-up; also what kube-controller-manager and
        // kube-scheduler read from kube-system/extension-apiserver-authentication.
        format!("--requestheader-client-ca-file={}", path(&layout.ca_crt)),
        format!("--requestheader-allowed-names={FRONT_PROXY_CN}"),
        "--requestheader-username-headers=X-Remote-User".to_owned(),
        "--requestheader-group-headers=X-Remote-Group".to_owned(),
        "--requestheader-extra-headers-prefix=X-Remote-Extra-".to_owned(),
        format!("--proxy-client-cert-file={}", path(&layout.front_proxy_crt)),
        format!("--proxy-client-key-file={}", path(&layout.front_proxy_key)),
    ];
    spawn_component(
        dir,
        &layout,
        binary,
        "kube-apiserver",
        &apiserver_args,
        vec![ports.apiserver],
        &mut info,
        &mut children,
    )?;

    let kubeconfig_path = layout.component_kubeconfig.clone();
    block_on_watching(&mut children, {
        let kubeconfig_path = kubeconfig_path.clone();
        async move {
            let client = client_for(&kubeconfig_path).await?;
            poll(
                "the API server to report ready (/readyz)",
                READY_TIMEOUT,
                || {
                    let client = client.clone();
                    async move { Ok(readyz(&client).await) }
                },
            )
            .await
        }
    })?;

    let serving_flags = |port: u16| {
        vec![
            format!("--kubeconfig={}", path(&kubeconfig_path)),
            format!("--authentication-kubeconfig={}", path(&kubeconfig_path)),
            format!("--authorization-kubeconfig={}", path(&kubeconfig_path)),
            format!("--bind-address={LOOPBACK}"),
            format!("--secure-port={port}"),
            format!("--tls-cert-file={}", path(&layout.serving_crt)),
            format!("--tls-private-key-file={}", path(&layout.serving_key)),
            "--leader-elect=false".to_owned(),
            "--profiling=false".to_owned(),
        ]
    };
    let mut controller_manager_args = serving_flags(ports.controller_manager);
    controller_manager_args.extend([
        format!(
            "--service-account-private-key-file={}",
            path(&layout.sa_key)
        ),
        format!("--root-ca-file={}", path(&layout.ca_crt)),
        format!("--cluster-signing-cert-file={}", path(&layout.ca_crt)),
        format!("--cluster-signing-key-file={}", path(&layout.ca_key)),
        "--controllers=*".to_owned(),
    ]);
    spawn_component(
        dir,
        &layout,
        binary,
        "kube-controller-manager",
        &controller_manager_args,
        vec![ports.controller_manager],
        &mut info,
        &mut children,
    )?;
    let scheduler_args = serving_flags(ports.scheduler);
    spawn_component(
        dir,
        &layout,
        binary,
        "kube-scheduler",
        &scheduler_args,
        vec![ports.scheduler],
        &mut info,
        &mut children,
    )?;

    let kwok_args = vec![
        format!("--kubeconfig={}", path(&kubeconfig_path)),
        "--manage-all-nodes=false".to_owned(),
        format!("--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake"),
        // The node's address is where the API server sends logs/exec/port-forward
        // requests: kwok's own server, on loopback.
        format!("--node-ip={LOOPBACK}"),
        format!("--node-port={}", ports.kwok),
        format!("--server-address={LOOPBACK}:{}", ports.kwok),
        format!("--tls-cert-file={}", path(&layout.serving_crt)),
        format!("--tls-private-key-file={}", path(&layout.serving_key)),
        format!("--cidr={POD_CIDR}"),
        "--node-lease-duration-seconds=40".to_owned(),
    ];
    spawn_component(
        dir,
        &layout,
        binary,
        "kwok",
        &kwok_args,
        vec![ports.kwok],
        &mut info,
        &mut children,
    )?;

    block_on_watching(&mut children, async move {
        let client = client_for(&kubeconfig_path).await?;
        register_node(&client).await?;
        let nodes: Api<Node> = Api::all(client.clone());
        poll(
            "the fake node to become Ready and untainted",
            SETTLE_TIMEOUT,
            || {
                let nodes = nodes.clone();
                async move {
                    Ok(nodes
                        .get_opt(NODE_NAME)
                        .await
                        .ok()
                        .flatten()
                        .is_some_and(|n| node_schedulable(&n)))
                }
            },
        )
        .await?;
        let service_accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
        poll("the default ServiceAccount", SETTLE_TIMEOUT, || {
            let service_accounts = service_accounts.clone();
            async move {
                Ok(service_accounts
                    .get_opt("default")
                    .await
                    .ok()
                    .flatten()
                    .is_some())
            }
        })
        .await
    })?;

    // Last: a kubeconfig at the public path means the cluster is usable.
    write_atomically(&info.kubeconfig, kubeconfig.as_bytes())?;
    write_state(dir, &info)?;
    Ok(info)
}

fn kubeconfig_path_in(dir: &Path) -> PathBuf {
    dir.join("kubeconfig")
}

#[allow(clippy::too_many_arguments)]
fn spawn_component(
    dir: &Path,
    layout: &Layout,
    binary: &Path,
    name: &str,
    args: &[String],
    ports: Vec<u16>,
    info: &mut ClusterInfo,
    children: &mut Vec<Started>,
) -> anyhow::Result<()> {
    let log = layout.logs.join(format!("{name}.log"));
    let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let err = out
        .try_clone()
        .with_context(|| format!("duplicating {}", log.display()))?;
    let mut command = Command::new(binary);
    command
        .arg(name)
        .args(args)
        .current_dir(&layout.run)
        // kwok reads ~/.kwok and kubectl-ish code ~/.kube: keep the user's out.
        .env("HOME", &layout.home)
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    // SAFETY: only async-signal-safe syscalls, touching no memory of ours.
    // setsid gives the component its own session and process group
    // (pgid == pid), so it outlives the caller and `down` can signal the whole
    // group. Marking every inherited descriptor close-on-exec keeps the
    // caller's pipes (a test harness's, cargo's jobserver) out of the
    // long-lived component, which would otherwise hold them open.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            libc::close_range(
                3,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC as libc::c_int,
            );
            Ok(())
        });
    }
    let child = command
        .spawn()
        .with_context(|| format!("starting {} {name}", binary.display()))?;
    let pid = child.id();
    let start_time = process_start_time(pid).unwrap_or_default();
    info.processes.push(ComponentProcess {
        name: name.to_owned(),
        pid,
        start_time,
        ports,
        log: log.clone(),
    });
    children.push(Started {
        name: name.to_owned(),
        child,
        log: log.clone(),
    });
    // Record each pid as soon as it exists, so a failed start can be cleaned up.
    write_state(dir, info)
}

/// A component process started by this call of [`up`].
struct Started {
    name: String,
    child: Child,
    log: PathBuf,
}

/// Fails (with the log's tail) when one of the just-started processes has exited.
fn check_children(children: &mut [Started]) -> anyhow::Result<()> {
    for Started { name, child, log } in children.iter_mut() {
        if let Some(status) = child
            .try_wait()
            .with_context(|| format!("checking on {name}"))?
        {
            let text = fs::read_to_string(&log).unwrap_or_default();
            bail!(
                "{name} exited ({status}); last lines of {}:\n{}",
                log.display(),
                tail(&text, 40)
            );
        }
    }
    Ok(())
}

fn wait_for_port(port: u16, children: &mut [Started], timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port).into();
    loop {
        check_children(children)?;
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "nothing listens on 127.0.0.1:{port} after {}s",
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `fut` to completion on its own thread while watching that none of the
/// started processes exits (failing fast with its log if one does).
fn block_on_watching<T, F>(children: &mut [Started], fut: F) -> anyhow::Result<T>
where
    F: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let handle = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building a tokio runtime")?;
        runtime.block_on(fut)
    });
    loop {
        if handle.is_finished() {
            return handle
                .join()
                .map_err(|_| anyhow::anyhow!("control-plane helper thread panicked"))?;
        }
        // The future's own timeouts bound this loop; a dead process fails it early.
        check_children(children)?;
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn block_on<T, F>(fut: F) -> anyhow::Result<T>
where
    F: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    block_on_watching(&mut [], fut)
}

async fn poll<F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await? {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("timed out after {}s waiting for {what}", timeout.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A client with short timeouts, for health checks against a server that may be down.
async fn client_for(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    weir_runtime::client::install_crypto_provider();
    let raw = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading kubeconfig {}", kubeconfig.display()))?;
    let mut config =
        kube::Config::from_custom_kubeconfig(raw, &kube::config::KubeConfigOptions::default())
            .await
            .with_context(|| format!("loading kubeconfig {}", kubeconfig.display()))?;
    config.connect_timeout = Some(Duration::from_secs(2));
    config.read_timeout = Some(Duration::from_secs(10));
    config.write_timeout = Some(Duration::from_secs(10));
    kube::Client::try_from(config).context("building a Kubernetes client")
}

async fn readyz(client: &kube::Client) -> bool {
    let Ok(request) = http::Request::get("/readyz").body(Vec::new()) else {
        return false;
    };
    client
        .request_text(request)
        .await
        .is_ok_and(|body| body.trim() == "ok")
}

async fn register_node(client: &kube::Client) -> anyhow::Result<()> {
    let resources = serde_json::json!({"cpu": "64", "memory": "256Gi", "pods": "500", "ephemeral-storage": "1Ti"});
    let node: Node = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": NODE_NAME,
            "annotations": {
                KWOK_NODE_ANNOTATION: "fake",
                "node.alpha.kubernetes.io/ttl": "0",
            },
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": NODE_NAME,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/role": "agent",
                "node-role.kubernetes.io/agent": "",
            },
        },
        "spec": {},
        "status": {
            "allocatable": resources,
            "capacity": resources,
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": "fake",
                "kubeProxyVersion": "fake",
            },
        },
    }))
    .context("building the fake Node")?;
    match Api::<Node>::all(client.clone())
        .create(&PostParams::default(), &node)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(e) => Err(e).context("registering the fake kwok node"),
    }
}

fn node_schedulable(node: &Node) -> bool {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let tainted = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|ts| {
            ts.iter()
                .any(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        });
    ready && !tainted
}

/// Six free loopback ports outside the ephemeral range (so no outgoing
/// connection takes one between the check and the component's bind).
fn pick_ports() -> anyhow::Result<Ports> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default()
        ^ std::process::id().wrapping_mul(2_654_435_761);
    let mut held = Vec::new();
    let mut ports = Vec::new();
    let mut candidate = 20_000 + (seed % 10_000);
    for _ in 0..10_000 {
        if ports.len() == 6 {
            break;
        }
        let port = u16::try_from(candidate).context("port out of range")?;
        candidate = 20_000 + ((candidate - 20_000 + 7) % 10_000);
        if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            held.push(listener);
            ports.push(port);
        }
    }
    drop(held);
    match ports[..] {
        [
            etcd_client,
            etcd_peer,
            apiserver,
            controller_manager,
            scheduler,
            kwok,
        ] => Ok(Ports {
            etcd_client,
            etcd_peer,
            apiserver,
            controller_manager,
            scheduler,
            kwok,
        }),
        _ => bail!(
            "found only {} free loopback ports in 20000-29999",
            ports.len()
        ),
    }
}

/// Writes the CA, serving and service-account keys under `run/pki` and
/// returns the admin kubeconfig (client certificate in system:masters).
fn generate_pki(layout: &Layout, server: &str) -> anyhow::Result<String> {
    use rcgen::{ExtendedKeyUsagePurpose, KeyPair};

    let pki = layout.ca_crt.parent().context("pki directory")?;
    fs::create_dir_all(pki).with_context(|| format!("creating {}", pki.display()))?;

    let ca = crate::pki::Ca::new("weir-local-ca")?;
    let (ca_pem, ca_key_pem) = (ca.pem.clone(), ca.key_pem.clone());
    let serving = ca.issue(
        "weir-local-serving",
        &[],
        &[
            LOOPBACK,
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
            "10.96.0.1",
        ],
        &[
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
    )?;
    let (serving_cert, serving_key) = (serving.cert, serving.key);
    let admin = ca.issue(
        "weir-admin",
        &["system:masters"],
        &[],
        &[ExtendedKeyUsagePurpose::ClientAuth],
    )?;
    let (admin_cert, admin_key) = (admin.cert, admin.key);
    let front_proxy = ca.issue(
        FRONT_PROXY_CN,
        &[],
        &[],
        &[ExtendedKeyUsagePurpose::ClientAuth],
    )?;
    let (front_proxy_cert, front_proxy_key) = (front_proxy.cert, front_proxy.key);

    let sa_key = KeyPair::generate().context("generating the service-account key")?;

    let write = |path: &Path, content: &str| -> anyhow::Result<()> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(path)
            .with_context(|| format!("writing {}", path.display()))?;
        file.write_all(content.as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    };
    write(&layout.ca_crt, &ca_pem)?;
    write(&layout.ca_key, &ca_key_pem)?;
    write(&layout.serving_crt, &serving_cert.pem())?;
    write(&layout.serving_key, &serving_key.serialize_pem())?;
    write(&layout.sa_key, &sa_key.serialize_pem())?;
    write(&layout.sa_pub, &sa_key.public_key_pem())?;
    write(&layout.front_proxy_crt, &front_proxy_cert.pem())?;
    write(&layout.front_proxy_key, &front_proxy_key.serialize_pem())?;

    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    Ok(format!(
        "apiVersion: v1
kind: Config
clusters:
- name: weir
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: weir-admin
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
contexts:
- name: weir
  context:
    cluster: weir
    user: weir-admin
    namespace: default
current-context: weir
",
        ca = b64(&ca_pem),
        cert = b64(&admin_cert.pem()),
        key = b64(&admin_key.serialize_pem()),
    ))
}

// ---------------------------------------------------------------------------
// Stopping
// ---------------------------------------------------------------------------

fn stop(dir: &Path) -> anyhow::Result<()> {
    let Some(info) = read_state(dir)? else {
        let _ = fs::remove_file(kubeconfig_path_in(dir));
        return Ok(());
    };
    // Dependents first, etcd last, so nothing logs storage errors on the way down.
    let (etcd, others): (Vec<&ComponentProcess>, Vec<&ComponentProcess>) =
        info.processes.iter().partition(|p| p.name == "etcd");
    terminate(&others)?;
    terminate(&etcd)?;
    let _ = fs::remove_file(kubeconfig_path_in(dir));
    let state = state_file(dir);
    match fs::remove_file(&state) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", state.display())),
    }
}

/// SIGTERM to each process group, SIGKILL after [`STOP_TIMEOUT`], and wait until gone.
fn terminate(processes: &[&ComponentProcess]) -> anyhow::Result<()> {
    let ours: Vec<&ComponentProcess> = processes
        .iter()
        .copied()
        .filter(|p| is_alive(p.pid, Some(p.start_time)))
        .collect();
    for p in &ours {
        signal_group(p.pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    let mut killed = false;
    loop {
        let remaining: Vec<&&ComponentProcess> = ours
            .iter()
            .filter(|p| is_alive(p.pid, Some(p.start_time)))
            .collect();
        if remaining.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            if killed {
                let names: Vec<String> = remaining
                    .iter()
                    .map(|p| format!("{} (pid {})", p.name, p.pid))
                    .collect();
                bail!("could not stop {}", names.join(", "));
            }
            for p in &remaining {
                signal_group(p.pid, libc::SIGKILL);
            }
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal_group(pid: u32, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: plain syscalls on a pid we started (checked by start time);
    // errors (already gone) are fine.
    unsafe {
        if libc::killpg(pid, signal) != 0 {
            libc::kill(pid, signal);
        }
    }
}

/// Whether `pid` is a live (non-zombie) process started at `start_time`
/// (0: unknown, any start time matches).
fn is_alive(pid: u32, start_time: Option<u64>) -> bool {
    let Some((state, started)) = proc_stat(pid) else {
        return false;
    };
    if start_time.is_some_and(|t| t != 0 && t != started) {
        return false; // the pid was recycled: not ours
    }
    if state == 'Z' || state == 'X' {
        // Our component, exited: reap it if this process started it (else
        // ECHILD, harmless), so it does not linger as a zombie.
        if let Ok(raw) = libc::pid_t::try_from(pid) {
            let mut status = 0;
            // SAFETY: waitpid with WNOHANG on one pid only writes `status`.
            unsafe {
                libc::waitpid(raw, &mut status, libc::WNOHANG);
            }
        }
        return false;
    }
    true
}

fn process_start_time(pid: u32) -> Option<u64> {
    proc_stat(pid).map(|(_, started)| started)
}

/// (state, start time) from `/proc/<pid>/stat`.
fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let mut text = String::new();
    File::open(format!("/proc/{pid}/stat"))
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // After the state (field 3), start time is field 22: the 19th from here.
    let started = fields.nth(18)?.parse().ok()?;
    Some((state, started))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_reads_own_process() {
        let (state, started) = proc_stat(std::process::id()).expect("own /proc/self/stat");
        assert!(matches!(state, 'R' | 'S' | 'D'));
        assert!(started > 0);
        assert!(is_alive(std::process::id(), Some(started)));
        assert!(!is_alive(std::process::id(), Some(started + 1)));
    }

    #[test]
    fn kubernetes_version_comes_from_go_mod() {
        let version = kubernetes_version(&controlplane_source_dir()).expect("version");
        assert!(version.starts_with("v1."), "{version}");
    }

    #[test]
    fn ports_are_distinct_and_free() {
        let ports = pick_ports().expect("ports");
        let mut all = vec![
            ports.etcd_client,
            ports.etcd_peer,
            ports.apiserver,
            ports.controller_manager,
            ports.scheduler,
            ports.kwok,
        ];
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 6);
    }
}
