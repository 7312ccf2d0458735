//! suspend, timeout, recurseSubmodules and `.git` content, end to end.

mod common;

use std::time::Duration;

use common::*;
use kube::api::{Patch, PatchParams};
use weir_api::source::v1::GitRepository;
use weir_test_support::TestNamespace;
use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_stops_reconciling_and_resume_continues() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "src-suspend").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    let first = repo
        .commit("main", &[("a.yaml", Entry::File(b"a: 1\n"))], "one")
        .unwrap();
    let _controller = start(&ns, Settings::default()).await;
    let api = ns.api::<GitRepository>();
    create(&ns, "app", serde_json::json!({"url": server.http_url("app"), "interval": "1s", "ref": {"branch": "main"}})).await;
    wait_for(&api, "app", WAIT, |o| {
        is_ready_at(o, &format!("main@sha1:{first}"))
    })
    .await;

    api.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"spec": {"suspend": true}})),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let requests = server.requests();
    let second = repo
        .commit("main", &[("a.yaml", Entry::File(b"a: 2\n"))], "two")
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        server.requests(),
        requests,
        "a suspended object was fetched"
    );
    assert_eq!(
        revision(&api.get("app").await.unwrap()),
        format!("main@sha1:{first}")
    );

    api.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"spec": {"suspend": false}})),
    )
    .await
    .unwrap();
    wait_for(&api, "app", WAIT, |o| {
        is_ready_at(o, &format!("main@sha1:{second}"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_bounds_a_hanging_server() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "src-timeout").await.unwrap();
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let _controller = start(&ns, Settings::default()).await;
    let api = ns.api::<GitRepository>();
    create(&ns, "hang", serde_json::json!({"url": format!("http://{addr}/x.git"), "interval": "10m", "timeout": "2s"})).await;
    let started = std::time::Instant::now();
    let obj = wait_for(&api, "hang", WAIT, |o| {
        ready(o).is_some_and(|(s, _, _)| s == "False")
    })
    .await;
    let (_, reason, message) = ready(&obj).unwrap();
    assert_eq!(reason, "GitOperationFailed");
    assert!(
        message.contains("timed out") || message.contains("timeout"),
        "{message}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submodules_are_included_only_when_asked() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "src-submodule").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let lib = server.repo("lib").unwrap();
    let lib_commit = lib
        .commit("main", &[("lib.yaml", Entry::File(b"lib: 1\n"))], "lib")
        .unwrap();
    let app = server.repo("app").unwrap();
    app.commit("main", &[("app.yaml", Entry::File(b"app: 1\n"))], "app")
        .unwrap();
    app.add_submodule("main", "vendor/lib", "../lib.git", &lib_commit, "add lib")
        .unwrap();
    let controller = start(&ns, Settings::default()).await;
    let api = ns.api::<GitRepository>();
    let url = server.http_url("app");
    create(&ns, "with", serde_json::json!({"url": url, "interval": "10m", "ref": {"branch": "main"}, "recurseSubmodules": true})).await;
    create(
        &ns,
        "without",
        serde_json::json!({"url": url, "interval": "10m", "ref": {"branch": "main"}}),
    )
    .await;
    let with = wait_for(&api, "with", WAIT, |o| {
        ready(o).is_some_and(|(s, _, _)| s == "True")
    })
    .await;
    let without = wait_for(&api, "without", WAIT, |o| {
        ready(o).is_some_and(|(s, _, _)| s == "True")
    })
    .await;
    let names = |o: &GitRepository| {
        entries(&artifact_file(&controller, o))
            .into_iter()
            .map(|e| e.0)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&with),
        [
            ".",
            "app.yaml",
            "vendor",
            "vendor/lib",
            "vendor/lib/lib.yaml"
        ]
    );
    assert_eq!(names(&without), [".", "app.yaml", "vendor", "vendor/lib"]);
    assert_eq!(
        with.status.as_ref().unwrap().observed_recurse_submodules,
        Some(true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_internals_in_a_tree_are_refused() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "src-dotgit").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("evil").unwrap();
    // A hostile server can serve trees git itself would never create.
    if repo
        .commit(
            "main",
            &[
                ("ok.yaml", Entry::File(b"a: 1\n")),
                (
                    ".git/hooks/post-checkout",
                    Entry::Executable(b"#!/bin/sh\n"),
                ),
            ],
            "evil",
        )
        .is_err()
    {
        eprintln!(
            "git fast-import refused a .git path; covered by weir-git's hand-built tree tests instead"
        );
        return;
    }
    let controller = start(&ns, Settings::default()).await;
    let api = ns.api::<GitRepository>();
    create(&ns, "evil", serde_json::json!({"url": server.http_url("evil"), "interval": "10m", "ref": {"branch": "main"}})).await;
    let obj = wait_for(&api, "evil", WAIT, |o| {
        ready(o).is_some_and(|(s, _, _)| s == "False")
    })
    .await;
    let (_, _, message) = ready(&obj).unwrap();
    assert!(message.contains(".git"), "{message}");
    assert!(obj.status.as_ref().unwrap().artifact.is_none());
    assert!(
        !controller
            .storage
            .object_dir("GitRepository", ns.name(), "evil")
            .exists()
    );
}
