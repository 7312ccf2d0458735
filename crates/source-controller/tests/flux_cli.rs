//! The real `flux` CLI (built from flux2's Go module, pinned) against Weir's
//! source-controller: the commands a Flux user runs on Git sources must work
//! unchanged.

mod common;

use std::time::Duration;

use common::*;
use weir_api::source::v1::GitRepository;
use weir_test_support::TestNamespace;
use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

fn flux(ns: &TestNamespace, args: &[&str]) -> (bool, String) {
    weir_test_support::tools::run_flux(ns.name(), args).expect("running the flux CLI")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flux_cli_drives_git_sources() {
    let client = weir_test_support::client().await.unwrap();
    // Build (or find) the CLI before starting anything time-sensitive.
    tokio::task::spawn_blocking(weir_test_support::tools::flux)
        .await
        .unwrap()
        .unwrap();
    let ns = TestNamespace::new(&client, "src-flux-cli").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    let first = repo
        .commit(
            "main",
            &[("deploy/app.yaml", Entry::File(b"kind: ConfigMap\n"))],
            "one",
        )
        .unwrap();
    let _controller = start(&ns, Settings::default()).await;
    let url = server.http_url("app");

    // flux create waits for Ready and prints the fetched revision.
    let (ok, out) = tokio::task::block_in_place(|| {
        flux(
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
        )
    });
    assert!(ok, "flux create source git: {out}");
    assert!(
        out.contains(&format!("fetched revision: main@sha1:{first}")),
        "{out}"
    );

    let (ok, out) = tokio::task::block_in_place(|| flux(&ns, &["get", "sources", "git"]));
    assert!(ok, "flux get sources git: {out}");
    let row = out
        .lines()
        .find(|l| l.starts_with("app "))
        .unwrap_or_else(|| panic!("no row for app: {out}"));
    // flux shortens revisions in its tables.
    assert!(
        row.contains(&format!("main@sha1:{}", &first[..8]))
            && row.contains("True")
            && row.contains("stored artifact for revision"),
        "{row}"
    );

    // A push, then flux reconcile: it waits for the request to be handled.
    let second = repo
        .commit(
            "main",
            &[(
                "deploy/app.yaml",
                Entry::File(b"kind: ConfigMap\ndata: {}\n"),
            )],
            "two",
        )
        .unwrap();
    let (ok, out) =
        tokio::task::block_in_place(|| flux(&ns, &["reconcile", "source", "git", "app"]));
    assert!(ok, "flux reconcile source git: {out}");
    assert!(
        out.contains(&format!("fetched revision main@sha1:{second}")),
        "{out}"
    );

    let (ok, out) = tokio::task::block_in_place(|| flux(&ns, &["suspend", "source", "git", "app"]));
    assert!(ok, "flux suspend: {out}");
    let api = ns.api::<GitRepository>();
    assert_eq!(api.get("app").await.unwrap().spec.suspend, Some(true));
    let (ok, out) = tokio::task::block_in_place(|| flux(&ns, &["resume", "source", "git", "app"]));
    assert!(ok, "flux resume: {out}");

    let (ok, out) = tokio::task::block_in_place(|| flux(&ns, &["export", "source", "git", "app"]));
    assert!(
        ok && out.contains("kind: GitRepository") && out.contains(&url),
        "flux export: {out}"
    );

    let (ok, out) =
        tokio::task::block_in_place(|| flux(&ns, &["delete", "source", "git", "app", "--silent"]));
    assert!(ok, "flux delete: {out}");
    wait_gone(&api, "app").await;
}

async fn wait_gone(api: &kube::Api<GitRepository>, name: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while let Some(obj) = api.get_opt(name).await.unwrap() {
        assert!(
            std::time::Instant::now() < deadline,
            "{name} not deleted: {:?} {:?}",
            obj.metadata,
            obj.spec.suspend
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
