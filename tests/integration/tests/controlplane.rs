//! The local control plane itself: kwok runs the Pods the scheduler places on
//! its fake node (so Deployments become Available), and no component listens
//! anywhere but on loopback.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, PostParams};
use weir_test_support::{TestNamespace, cluster};

#[tokio::test]
async fn deployment_becomes_available_on_the_kwok_node() -> anyhow::Result<()> {
    let client = weir_test_support::client().await?;
    let ns = TestNamespace::new(&client, "controlplane-deploy").await?;
    let deployments: Api<Deployment> = ns.api();
    let deployment: Deployment = serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": "web" },
        "spec": {
            "replicas": 2,
            "selector": { "matchLabels": { "app": "web" } },
            "template": {
                "metadata": { "labels": { "app": "web" } },
                "spec": {
                    "containers": [{
                        "name": "nginx",
                        "image": "nginx:1.27",
                        "ports": [{ "containerPort": 80 }],
                    }],
                },
            },
        },
    }))?;
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .context("creating the Deployment")?;

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let current = deployments
            .get("web")
            .await
            .context("reading the Deployment")?;
        let available = current
            .status
            .as_ref()
            .and_then(|s| s.available_replicas)
            .unwrap_or(0);
        if available == 2 {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "Deployment web has {available}/2 available replicas after 60s: {:?}",
                current.status
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(ns); // deletes the namespace
    Ok(())
}

#[tokio::test]
async fn control_plane_listens_on_loopback_only() -> anyhow::Result<()> {
    let info = tokio::task::spawn_blocking(cluster::up)
        .await
        .context("start-up task panicked")??;

    let mut listeners = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).with_context(|| format!("reading {table}"))?;
        listeners.extend(parse_listeners(&text).with_context(|| format!("parsing {table}"))?);
    }

    let mut by_component: BTreeMap<String, Vec<(IpAddr, u16)>> = BTreeMap::new();
    for process in &info.processes {
        let inodes = socket_inodes(process.pid)?;
        let found: Vec<(IpAddr, u16)> = listeners
            .iter()
            .filter(|l| inodes.contains(&l.inode))
            .map(|l| (l.addr, l.port))
            .collect();
        by_component.insert(process.name.clone(), found);
    }

    for (name, found) in &by_component {
        assert!(
            !found.is_empty(),
            "{name} has no TCP listener at all: {by_component:?}"
        );
        for (addr, port) in found {
            assert!(
                addr.is_loopback(),
                "{name} listens on {addr}:{port}, not on loopback: {by_component:?}"
            );
        }
    }
    let api_port: u16 = info
        .server
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .with_context(|| format!("no port in {}", info.server))?;
    let apiserver = by_component
        .get("kube-apiserver")
        .context("no kube-apiserver process recorded")?;
    assert!(
        apiserver.contains(&(IpAddr::V4(Ipv4Addr::LOCALHOST), api_port)),
        "kube-apiserver does not listen on {}: {apiserver:?}",
        info.server
    );
    Ok(())
}

struct Listener {
    addr: IpAddr,
    port: u16,
    inode: u64,
}

/// LISTEN entries (state 0A) of a /proc/net/tcp or tcp6 table.
fn parse_listeners(text: &str) -> anyhow::Result<Vec<Listener>> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9))
        else {
            continue;
        };
        if *state != "0A" {
            continue;
        }
        let (addr, port) = local
            .split_once(':')
            .with_context(|| format!("bad local address {local}"))?;
        out.push(Listener {
            addr: parse_proc_addr(addr)?,
            port: u16::from_str_radix(port, 16).with_context(|| format!("bad port {port}"))?,
            inode: inode
                .parse()
                .with_context(|| format!("bad inode {inode}"))?,
        });
    }
    Ok(out)
}

/// /proc/net addresses are the raw in(6)_addr as host-order 32-bit hex words.
fn parse_proc_addr(hex: &str) -> anyhow::Result<IpAddr> {
    let words = (0..hex.len() / 8)
        .map(|i| u32::from_str_radix(&hex[i * 8..i * 8 + 8], 16).map(u32::to_ne_bytes))
        .collect::<Result<Vec<[u8; 4]>, _>>()
        .with_context(|| format!("bad address {hex}"))?;
    let bytes: Vec<u8> = words.concat();
    match bytes.len() {
        4 => Ok(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&bytes);
            Ok(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        n => bail!("address {hex} has {n} bytes"),
    }
}

/// Inodes of the sockets a process holds open.
fn socket_inodes(pid: u32) -> anyhow::Result<BTreeSet<u64>> {
    let dir = format!("/proc/{pid}/fd");
    let mut inodes = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {dir}"))? {
        let Ok(target) = entry.and_then(|e| std::fs::read_link(e.path())) else {
            continue; // closed meanwhile
        };
        let target = target.to_string_lossy();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'))
        {
            inodes.insert(
                inode
                    .parse()
                    .with_context(|| format!("bad socket link {target}"))?,
            );
        }
    }
    Ok(inodes)
}
