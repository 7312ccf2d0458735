//! The kustomize-controller binary killed with SIGKILL in the middle of an
//! apply, then restarted: it converges, with a complete inventory and no
//! orphaned objects.

mod common;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ListParams;
use weir_api::kustomize::v1::Kustomization;
use weir_test_support::TestNamespace;
use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

const OBJECTS: usize = 300;

fn spawn(ns: &TestNamespace, grpc: std::net::SocketAddr) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kustomize-controller"))
        .args([
            "--metrics-addr=127.0.0.1:0",
            "--health-addr=127.0.0.1:0",
            "--enable-leader-election=false",
            "--watch-all-namespaces=false",
            "--log-level=error",
            "--concurrent=2",
            &format!("--artifact-stream-addr=http://{grpc}"),
        ])
        .env("KUBECONFIG", weir_test_support::cluster::kubeconfig_path())
        .env("RUNTIME_NAMESPACE", ns.name())
        .stdout(Stdio::null())
        .spawn()
        .expect("starting kustomize-controller")
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_apply_then_restart_converges() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "ks-crash").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("many").unwrap();
    let files: Vec<(String, String)> = (0..OBJECTS)
        .map(|i| (format!("app/cm-{i:03}.yaml"), format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:03}\ndata:\n  i: \"{i}\"\n")))
        .collect();
    let entries: Vec<(&str, Entry<'_>)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), Entry::File(c.as_bytes())))
        .collect();
    let commit = repo.commit("main", &entries, "many").unwrap();

    // source-controller in-process; kustomize-controller as a real process.
    let source =
        weir_source_controller::LocalSourceController::start(client.clone(), ns.name(), None)
            .await
            .unwrap();
    git_repository(&ns, "many", &server.http_url("many")).await;
    kustomization(
        &ns,
        "many",
        serde_json::json!({
            "interval": "10m", "path": "./app", "prune": true, "targetNamespace": ns.name(),
            "sourceRef": {"kind": "GitRepository", "name": "many"},
        }),
    )
    .await;

    let cms = ns.api::<ConfigMap>();
    let owned = ListParams::default().labels("kustomize.toolkit.fluxcd.io/name=many");
    let first = Killed(spawn(&ns, source.grpc_addr));
    // Kill once some, but not all, objects are applied.
    let deadline = Instant::now() + WAIT;
    let partial = loop {
        let n = cms.list(&owned).await.unwrap().items.len();
        if n >= 5 {
            break n;
        }
        assert!(Instant::now() < deadline, "nothing applied");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut first = first;
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let after_kill = cms.list(&owned).await.unwrap().items.len();
    let api = ns.api::<Kustomization>();
    let ks = api.get("many").await.unwrap();
    println!(
        "killed with {partial}..{after_kill} of {OBJECTS} objects applied; Ready = {:?}",
        ready(&ks)
    );
    assert!(
        after_kill < OBJECTS,
        "the kill came too late to interrupt the apply ({after_kill} applied)"
    );

    let _second = Killed(spawn(&ns, source.grpc_addr));
    let ks = wait_ks(&api, "many", applied(format!("main@sha1:{commit}"))).await;
    let inventory: BTreeSet<String> = ks
        .status
        .unwrap()
        .inventory
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(inventory.len(), OBJECTS);
    let live: BTreeSet<String> = cms
        .list(&owned)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| format!("{}_{}__ConfigMap", ns.name(), c.metadata.name.unwrap()))
        .collect();
    assert_eq!(live, inventory, "orphans or missing objects");
    drop(source);
}
