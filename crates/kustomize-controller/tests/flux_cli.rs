//! The real `flux` CLI (built from flux2's Go module, pinned) against
//! Weir's source- and kustomize-controller: the commands a Flux user runs
//! on Kustomizations must work unchanged.

mod common;

use std::time::{Duration, Instant};

use common::*;
use k8s_openapi::api::core::v1::ConfigMap;
use weir_api::kustomize::v1::Kustomization;
use weir_test_support::TestNamespace;
use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

fn flux(ns: &TestNamespace, args: &[&str]) -> (bool, String) {
    weir_test_support::tools::run_flux(ns.name(), args).expect("running the flux CLI")
}

fn run(ns: &TestNamespace, args: &[&str]) -> String {
    let (ok, out) = tokio::task::block_in_place(|| flux(ns, args));
    assert!(ok, "flux {}: {out}", args.join(" "));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flux_cli_drives_kustomizations() {
    let client = weir_test_support::client().await.unwrap();
    // Build (or find) the CLI before starting anything time-sensitive.
    tokio::task::spawn_blocking(weir_test_support::tools::flux)
        .await
        .unwrap()
        .unwrap();
    let ns = TestNamespace::new(&client, "ks-flux-cli").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    let cm = |v: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  v: \"{v}\"\n"
        )
    };
    let first = repo
        .commit(
            "main",
            &[("deploy/cm.yaml", Entry::File(cm("1").as_bytes()))],
            "one",
        )
        .unwrap();
    let _controllers = start(&ns).await;
    let url = server.http_url("app");
    run(
        &ns,
        &[
            "create",
            "source",
            "git",
            "app",
            "--url",
            &url,
            "--branch",
            "main",
            "--interval",
            "10m",
        ],
    );

    // flux create waits for Ready and prints the applied revision.
    let out = run(
        &ns,
        &[
            "create",
            "kustomization",
            "app",
            "--source",
            "GitRepository/app",
            "--path",
            "./deploy",
            "--prune",
            "true",
            "--interval",
            "10m",
            "--target-namespace",
            ns.name(),
        ],
    );
    assert!(
        out.contains(&format!("applied revision main@sha1:{first}")),
        "{out}"
    );

    let out = run(&ns, &["get", "kustomizations"]);
    let row = out
        .lines()
        .find(|l| l.starts_with("app "))
        .unwrap_or_else(|| panic!("no row for app: {out}"));
    assert!(
        row.contains(&format!("main@sha1:{}", &first[..8]))
            && row.contains("True")
            && row.contains("Applied revision"),
        "{row}"
    );

    // flux tree reads the inventory.
    let out = run(&ns, &["tree", "kustomization", "app"]);
    assert!(
        out.contains(&format!("ConfigMap/{}/settings", ns.name())),
        "{out}"
    );

    // A push, then flux reconcile --with-source: source first, then the
    // Kustomization; it waits until the new revision is applied.
    let second = repo
        .commit(
            "main",
            &[("deploy/cm.yaml", Entry::File(cm("2").as_bytes()))],
            "two",
        )
        .unwrap();
    let out = run(&ns, &["reconcile", "kustomization", "app", "--with-source"]);
    assert!(
        out.contains(&format!("applied revision main@sha1:{second}")),
        "{out}"
    );
    let cms = ns.api::<ConfigMap>();
    assert_eq!(cms.get("settings").await.unwrap().data.unwrap()["v"], "2");

    run(&ns, &["suspend", "kustomization", "app"]);
    let api = ns.api::<Kustomization>();
    assert_eq!(api.get("app").await.unwrap().spec.suspend, Some(true));
    run(&ns, &["resume", "kustomization", "app"]);
    assert_ne!(api.get("app").await.unwrap().spec.suspend, Some(true));

    // flux delete: the finalizer prunes what was applied.
    run(&ns, &["delete", "kustomization", "app", "--silent"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.get_opt("app").await.unwrap().is_some()
        || cms.get_opt("settings").await.unwrap().is_some()
    {
        assert!(Instant::now() < deadline, "not deleted and pruned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
