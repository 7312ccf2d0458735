//! GitRepository end to end: the real control plane, a real Git server
//! (git http-backend and sshd), the controller in-process.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::*;
use kube::api::{DeleteParams, Patch, PatchParams};
use sha2::Digest as _;
use weir_api::source::v1::GitRepository;
use weir_proto::artifact::artifact_service_client::ArtifactServiceClient;
use weir_proto::artifact::{GetRequest, SourceRef, WatchRequest};
use weir_test_support::TestNamespace;
use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

const WAIT: Duration = Duration::from_secs(30);

fn manifests(version: &str) -> Vec<(&'static str, Entry<'static>)> {
    let text: &'static str = Box::leak(format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  version: \"{version}\"\n").into_boxed_str());
    vec![("deploy/app.yaml", Entry::File(text.as_bytes()))]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_ref_kind_resolves_to_its_commit_and_flux_revision() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "src-refs").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("refs").unwrap();
    let c1 = repo.commit("master", &manifests("1"), "one").unwrap();
    let c2 = repo.commit("master", &manifests("2"), "two").unwrap();
    let dev = repo.commit("dev", &manifests("dev"), "dev").unwrap();
    repo.tag("v1.0.0", &c1, true).unwrap();
    repo.tag("v1.1.0", &c2, false).unwrap();
    repo.tag("v2.0.0-rc.1", &dev, false).unwrap();
    repo.tag("not-a-version", &dev, false).unwrap();
    repo.set_ref("refs/pull/7/head", &dev).unwrap();
    repo.set_head("master").unwrap();
    let _controller = start(&ns, Settings::default()).await;
    let url = server.http_url("refs");

    let cases = [
        (
            "default",
            serde_json::json!(null),
            format!("master@sha1:{c2}"),
        ),
        (
            "branch",
            serde_json::json!({"branch": "dev"}),
            format!("dev@sha1:{dev}"),
        ),
        (
            "tag-annotated",
            serde_json::json!({"tag": "v1.0.0"}),
            format!("v1.0.0@sha1:{c1}"),
        ),
        (
            "tag-light",
            serde_json::json!({"tag": "v1.1.0"}),
            format!("v1.1.0@sha1:{c2}"),
        ),
        (
            "semver",
            serde_json::json!({"semver": ">=1.0.0 <2.0.0"}),
            format!("v1.1.0@sha1:{c2}"),
        ),
        (
            "name",
            serde_json::json!({"name": "refs/pull/7/head"}),
            format!("refs/pull/7/head@sha1:{dev}"),
        ),
        (
            "commit",
            serde_json::json!({"commit": c1}),
            format!("sha1:{c1}"),
        ),
        (
            "commit-branch",
            serde_json::json!({"branch": "master", "commit": c1}),
            format!("master@sha1:{c1}"),
        ),
        // Precedence: commit (named by its branch) over tag over branch.
        (
            "precedence",
            serde_json::json!({"branch": "master", "tag": "v1.1.0", "commit": c1}),
            format!("master@sha1:{c1}"),
        ),
        (
            "tag-over-branch",
            serde_json::json!({"branch": "dev", "tag": "v1.0.0"}),
            format!("v1.0.0@sha1:{c1}"),
        ),
    ];
    for (name, reference, _) in &cases {
        let mut spec = serde_json::json!({"url": url, "interval": "10m"});
        if !reference.is_null() {
            spec["ref"] = reference.clone();
        }
        create(&ns, name, spec).await;
    }
    let api = ns.api::<GitRepository>();
    for (name, _, want) in &cases {
        let obj = wait_for(&api, name, WAIT, |o| {
            ready(o).is_some_and(|(s, _, _)| s != "Unknown") && !revision(o).is_empty()
        })
        .await;
        assert_eq!(revision(&obj), *want, "{name}: {:?}", ready(&obj));
        let (status, reason, message) = ready(&obj).unwrap();
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("True", "Succeeded"),
            "{name}"
        );
        assert_eq!(message, format!("stored artifact for revision '{want}'"));
        let st = obj.status.as_ref().unwrap();
        assert_eq!(st.observed_generation, obj.metadata.generation);
        let artifact = st.artifact.as_ref().unwrap();
        let commit = want.rsplit_once("sha1:").unwrap().1;
        assert_eq!(
            artifact.path,
            format!("gitrepository/{}/{name}/{commit}.tar.gz", ns.name())
        );
        assert!(artifact.digest.starts_with("sha256:") && artifact.digest.len() == 71);
        assert!(
            obj.metadata
                .finalizers
                .as_ref()
                .unwrap()
                .contains(&"finalizers.fluxcd.io".to_owned())
        );
    }

    // A semver range nothing satisfies, and a missing branch: clear failures.
    create(
        &ns,
        "no-match",
        serde_json::json!({"url": url, "interval": "10m", "ref": {"semver": ">=5.0.0"}}),
    )
    .await;
    create(
        &ns,
        "no-branch",
        serde_json::json!({"url": url, "interval": "10m", "ref": {"branch": "nope"}}),
    )
    .await;
    for name in ["no-match", "no-branch"] {
        let obj = wait_for(&api, name, WAIT, |o| {
            ready(o).is_some_and(|(s, _, _)| s == "False")
        })
        .await;
        let (_, reason, message) = ready(&obj).unwrap();
        assert_eq!(reason, "GitOperationFailed", "{name}: {message}");
        assert!(message.contains(&url), "{name}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_commit_is_streamed_and_unchanged_remote_writes_nothing() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "src-watch").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    let first = repo.commit("main", &manifests("1"), "one").unwrap();
    let controller = start(&ns, Settings::default()).await;
    let api = ns.api::<GitRepository>();
    create(&ns, "app", serde_json::json!({"url": server.http_url("app"), "interval": "1s", "ref": {"branch": "main"}})).await;
    let obj = wait_for(&api, "app", WAIT, |o| {
        is_ready_at(o, &format!("main@sha1:{first}"))
    })
    .await;
    let file = artifact_file(&controller, &obj);
    let written = std::fs::metadata(&file).unwrap().modified().unwrap();

    let mut grpc = ArtifactServiceClient::connect(format!("http://{}", controller.grpc_addr))
        .await
        .unwrap();
    let mut stream = grpc
        .watch(WatchRequest {
            kinds: vec!["GitRepository".into()],
            namespace: ns.name().into(),
        })
        .await
        .unwrap()
        .into_inner();
    // The replay carries the current artifact.
    let replay = stream.message().await.unwrap().unwrap();
    assert!(replay.replay);
    assert_eq!(replay.source.as_ref().unwrap().name, "app");
    assert_eq!(
        replay.artifact.as_ref().unwrap().revision,
        format!("main@sha1:{first}")
    );
    let got = grpc
        .get(GetRequest {
            source: Some(SourceRef {
                kind: "GitRepository".into(),
                namespace: ns.name().into(),
                name: "app".into(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        got.artifact.unwrap().digest,
        obj.status
            .as_ref()
            .unwrap()
            .artifact
            .as_ref()
            .unwrap()
            .digest
    );

    // Several intervals with no change: same file, same bytes, same status.
    let requests_before = server.requests();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        server.requests() > requests_before,
        "the controller kept polling the remote"
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        written,
        "artifact rewritten"
    );
    let same = api.get("app").await.unwrap();
    assert_eq!(
        same.status.as_ref().unwrap().artifact,
        obj.status.as_ref().unwrap().artifact
    );
    assert_eq!(
        same.metadata.resource_version, obj.metadata.resource_version,
        "status rewritten without change"
    );
    let files = std::fs::read_dir(file.parent().unwrap()).unwrap().count();
    assert_eq!(files, 2, "one artifact and latest.tar.gz");

    // A new commit: a new artifact within one interval, streamed within 1 s.
    let pushed = Instant::now();
    let second = repo.commit("main", &manifests("2"), "two").unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let received = SystemTime::now();
    assert!(!event.replay);
    let artifact = event.artifact.unwrap();
    assert_eq!(artifact.revision, format!("main@sha1:{second}"));
    let new_file = controller.storage.local_path(&artifact.path).unwrap();
    let new_written = std::fs::metadata(&new_file).unwrap().modified().unwrap();
    let lag = received.duration_since(new_written).unwrap_or_default();
    println!(
        "push → event {:?}; artifact written → event received {:?}",
        pushed.elapsed(),
        lag
    );
    assert!(
        lag < Duration::from_secs(1),
        "event arrived {lag:?} after the artifact was written"
    );
    assert!(
        pushed.elapsed() < Duration::from_secs(5),
        "new artifact took {:?} with a 1s interval",
        pushed.elapsed()
    );
    wait_for(&api, "app", WAIT, |o| {
        is_ready_at(o, &format!("main@sha1:{second}"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_failures_are_clear_and_do_not_stop_other_objects() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "src-auth").await.unwrap();
    let server = GitServer::start(GitServerOptions {
        basic_auth: Some(("flux".into(), "s3cret-pass".into())),
        tls: true,
        ..Default::default()
    })
    .unwrap();
    let repo = server.repo("private").unwrap();
    let commit = repo.commit("main", &manifests("1"), "one").unwrap();
    let ca = server.ca_pem().unwrap();
    let controller = start(&ns, Settings::default()).await;
    secret(
        &ns,
        "wrong",
        &[
            ("username", "flux"),
            ("password", "not-it"),
            ("ca.crt", &ca),
        ],
    )
    .await;
    secret(
        &ns,
        "right",
        &[
            ("username", "flux"),
            ("password", "s3cret-pass"),
            ("ca.crt", &ca),
        ],
    )
    .await;
    let url = server.http_url("private");
    assert!(url.starts_with("https://"));
    let spec = |secret: Option<&str>, url: &str| {
        let mut s = serde_json::json!({"url": url, "interval": "10m", "ref": {"branch": "main"}});
        if let Some(name) = secret {
            s["secretRef"] = serde_json::json!({"name": name});
        }
        s
    };
    create(&ns, "wrong-password", spec(Some("wrong"), &url)).await;
    create(&ns, "missing-secret", spec(Some("absent"), &url)).await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let unreachable = format!("http://{closed}/nothing.git");
    create(&ns, "unreachable", spec(None, &unreachable)).await;
    create(&ns, "good", spec(Some("right"), &url)).await;

    let api = ns.api::<GitRepository>();
    let good = wait_for(&api, "good", WAIT, |o| {
        is_ready_at(o, &format!("main@sha1:{commit}"))
    })
    .await;
    assert!(ready(&good).is_some());

    let failed = |o: &GitRepository| ready(o).is_some_and(|(s, _, _)| s == "False");
    let wrong = wait_for(&api, "wrong-password", WAIT, failed).await;
    let (_, reason, message) = ready(&wrong).unwrap();
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert!(
        !message.contains("not-it") && !message.contains("s3cret"),
        "secret leaked: {message}"
    );
    let fetch = wrong
        .status
        .as_ref()
        .unwrap()
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == "FetchFailed")
        .unwrap();
    assert_eq!(
        (fetch.status.as_str(), fetch.reason.as_str()),
        ("True", "AuthenticationFailed")
    );
    let reconciling = wrong
        .status
        .as_ref()
        .unwrap()
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == "Reconciling")
        .unwrap();
    assert_eq!(reconciling.reason, "ProgressingWithRetry");

    let missing = wait_for(&api, "missing-secret", WAIT, failed).await;
    let (_, reason, message) = ready(&missing).unwrap();
    assert_eq!(reason, "AuthenticationFailed");
    assert!(
        message.contains(&format!("failed to get secret '{}/absent'", ns.name())),
        "{message}"
    );

    let down = wait_for(&api, "unreachable", WAIT, failed).await;
    let (_, reason, message) = ready(&down).unwrap();
    assert_eq!(reason, "GitOperationFailed");
    assert!(message.contains(&unreachable), "{message}");
    // It is retried with back-off: several attempts within a few seconds.
    let attempts = |m: &str| -> u64 {
        m.lines()
            .find(|l| {
                l.starts_with("gotk_reconcile_duration_seconds_count")
                    && l.contains("name=\"unreachable\"")
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let before = attempts(&controller.metrics.encode().unwrap());
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = attempts(&controller.metrics.encode().unwrap());
    assert!(after >= before + 2, "retries: {before} → {after}");

    // Once the secret is fixed (spec change re-triggers), it recovers.
    api.patch(
        "wrong-password",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"spec": {"secretRef": {"name": "right"}}})),
    )
    .await
    .unwrap();
    wait_for(&api, "wrong-password", WAIT, |o| {
        is_ready_at(o, &format!("main@sha1:{commit}"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_with_identity_and_known_hosts() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "src-ssh").await.unwrap();
    let server = GitServer::start(GitServerOptions {
        ssh: true,
        ..Default::default()
    })
    .unwrap();
    let repo = server.repo("ssh").unwrap();
    let commit = repo.commit("main", &manifests("1"), "one").unwrap();
    let _controller = start(&ns, Settings::default()).await;
    let identity = server.ssh_identity().unwrap();
    let known_hosts = server.ssh_known_hosts().unwrap();
    secret(
        &ns,
        "ssh",
        &[("identity", &identity), ("known_hosts", &known_hosts)],
    )
    .await;
    secret(&ns, "stranger", &[("identity", &identity), ("known_hosts", "[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")]).await;
    let url = server.ssh_url("ssh").unwrap();
    create(&ns, "ssh", serde_json::json!({"url": url, "interval": "10m", "ref": {"branch": "main"}, "secretRef": {"name": "ssh"}})).await;
    create(&ns, "unknown-host", serde_json::json!({"url": url, "interval": "10m", "ref": {"branch": "main"}, "secretRef": {"name": "stranger"}})).await;
    let api = ns.api::<GitRepository>();
    wait_for(&api, "ssh", WAIT, |o| {
        is_ready_at(o, &format!("main@sha1:{commit}"))
    })
    .await;
    let obj = wait_for(&api, "unknown-host", WAIT, |o| {
        ready(o).is_some_and(|(s, _, _)| s == "False")
    })
    .await;
    let (_, reason, message) = ready(&obj).unwrap();
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert!(!message.contains("PRIVATE KEY"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifacts_are_normalised_deterministic_served_and_collected() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "src-store").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("store").unwrap();
    let mut head = repo
        .commit(
            "main",
            &[
                ("deploy/app.yaml", Entry::File(b"kind: ConfigMap\n")),
                ("deploy/run.sh", Entry::Executable(b"#!/bin/sh\n")),
                ("README.md", Entry::File(b"docs\n")),
                ("logo.png", Entry::File(b"\x89PNG")),
                (".github/workflows/ci.yaml", Entry::File(b"on: push\n")),
                ("apps/.sourceignore", Entry::File(b"local.yaml\n")),
                ("apps/local.yaml", Entry::File(b"x: 1\n")),
                ("apps/kept.yaml", Entry::File(b"x: 2\n")),
            ],
            "tree",
        )
        .unwrap();
    let controller = start(&ns, Settings::default()).await;
    let api = ns.api::<GitRepository>();
    let url = server.http_url("store");
    create(
        &ns,
        "one",
        serde_json::json!({"url": url, "interval": "10m", "ref": {"branch": "main"}}),
    )
    .await;
    create(
        &ns,
        "two",
        serde_json::json!({"url": url, "interval": "10m", "ref": {"branch": "main"}}),
    )
    .await;
    create(&ns, "ignored", serde_json::json!({"url": url, "interval": "10m", "ref": {"branch": "main"}, "ignore": "/*\n!/deploy\n"})).await;
    let rev = format!("main@sha1:{head}");
    let one = wait_for(&api, "one", WAIT, |o| is_ready_at(o, &rev)).await;
    let two = wait_for(&api, "two", WAIT, |o| is_ready_at(o, &rev)).await;
    let a1 = one.status.as_ref().unwrap().artifact.clone().unwrap();
    let a2 = two.status.as_ref().unwrap().artifact.clone().unwrap();
    assert_eq!(a1.digest, a2.digest, "same tree, same bytes");

    // curl the advertised URL: the bytes hash to the digest.
    let out = std::process::Command::new("curl")
        .args(["-sSf", &a1.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {}: {}",
        a1.url,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&out.stdout))),
        a1.digest
    );
    assert_eq!(a1.size, Some(out.stdout.len() as i64));
    let latest = a1.url.replace(&format!("{head}.tar.gz"), "latest.tar.gz");
    let out = std::process::Command::new("curl")
        .args(["-sSf", &latest])
        .output()
        .unwrap();
    assert_eq!(
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&out.stdout))),
        a1.digest
    );
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--path-as-is",
            &format!(
                "http://{}/../../etc/passwd",
                controller
                    .storage
                    .url_for("")
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
            ),
        ])
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&out.stdout), "200");

    // Flux's normalisation. The tree has its own .sourceignore, so, as in
    // Flux, the default exclusions (images, CI files) no longer apply; the
    // VCS ones and the scoped pattern do.
    let entries = entries(&artifact_file(&controller, &one));
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            ".",
            ".github",
            ".github/workflows",
            ".github/workflows/ci.yaml",
            "README.md",
            "apps",
            "apps/.sourceignore",
            "apps/kept.yaml",
            "deploy",
            "deploy/app.yaml",
            "deploy/run.sh",
            "logo.png"
        ]
    );
    for (name, mode, dir) in &entries {
        let want = if *dir {
            0o750
        } else if name.ends_with(".sh") {
            0o700
        } else {
            0o600
        };
        assert_eq!(*mode, want, "{name}");
    }
    let ignored = wait_for(&api, "ignored", WAIT, |o| is_ready_at(o, &rev)).await;
    let names: Vec<String> = entries_of(&controller, &ignored);
    assert_eq!(names, [".", "deploy", "deploy/app.yaml", "deploy/run.sh"]);
    assert_eq!(
        ignored.status.as_ref().unwrap().observed_ignore.as_deref(),
        Some("/*\n!/deploy\n")
    );

    // Garbage collection keeps two records; deletion removes everything.
    for i in 0..3 {
        head = repo
            .commit("main", &manifests(&i.to_string()), "more")
            .unwrap();
        let token = format!("gc-{i}");
        api.patch("one", &PatchParams::default(), &Patch::Merge(serde_json::json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}})))
            .await
            .unwrap();
        let obj = wait_for(&api, "one", WAIT, |o| {
            is_ready_at(o, &format!("main@sha1:{head}"))
        })
        .await;
        assert_eq!(
            obj.status
                .as_ref()
                .unwrap()
                .last_handled_reconcile_at
                .as_deref(),
            Some(token.as_str())
        );
    }
    let dir = controller
        .storage
        .object_dir("GitRepository", ns.name(), "one");
    let mut tarballs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    tarballs.sort();
    assert_eq!(
        tarballs.len(),
        3,
        "two records and latest.tar.gz: {tarballs:?}"
    );
    assert!(tarballs.contains(&format!("{head}.tar.gz")));
    api.delete("one", &DeleteParams::default()).await.unwrap();
    let deadline = Instant::now() + WAIT;
    while api.get_opt("one").await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "finalizer not removed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!dir.exists(), "artifacts left after deletion");
    assert!(
        controller
            .storage
            .object_dir("GitRepository", ns.name(), "two")
            .exists(),
        "another object's artifacts removed"
    );
}

fn entries_of(c: &common::Controller, obj: &GitRepository) -> Vec<String> {
    entries(&artifact_file(c, obj))
        .into_iter()
        .map(|e| e.0)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_content_never_reaches_an_artifact() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "src-hostile").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let links = server.repo("links").unwrap();
    let commit = links
        .commit(
            "main",
            &[
                ("ok.yaml", Entry::File(b"a: 1\n")),
                ("passwd", Entry::Symlink("/etc/passwd")),
                ("up", Entry::Symlink("../../../..")),
                ("dir/inner", Entry::Symlink("../ok.yaml")),
            ],
            "links",
        )
        .unwrap();
    let big = server.repo("big").unwrap();
    let payload = vec![b'x'; 2 * 1024 * 1024];
    big.commit(
        "main",
        &[
            ("huge.yaml", Entry::File(&payload)),
            ("ok.yaml", Entry::File(b"a: 1\n")),
        ],
        "big",
    )
    .unwrap();
    let controller = start(&ns, Settings::default()).await;
    let api = ns.api::<GitRepository>();
    create(&ns, "links", serde_json::json!({"url": server.http_url("links"), "interval": "10m", "ref": {"branch": "main"}})).await;
    create(&ns, "big", serde_json::json!({"url": server.http_url("big"), "interval": "10m", "ref": {"branch": "main"}})).await;

    let obj = wait_for(&api, "links", WAIT, |o| {
        is_ready_at(o, &format!("main@sha1:{commit}"))
    })
    .await;
    let names = entries_of(&controller, &obj);
    assert_eq!(
        names,
        [".", "dir", "ok.yaml"],
        "no link reached the artifact"
    );

    let obj = wait_for(&api, "big", WAIT, |o| {
        ready(o).is_some_and(|(s, _, _)| s == "False")
    })
    .await;
    let (_, _, message) = ready(&obj).unwrap();
    assert!(
        message.contains("huge.yaml") && message.contains("1048576"),
        "{message}"
    );
    assert!(obj.status.as_ref().unwrap().artifact.is_none());
    assert!(
        !controller
            .storage
            .object_dir("GitRepository", ns.name(), "big")
            .exists()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_copies_another_artifact_and_follows_it() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "src-include").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let app = server.repo("app").unwrap();
    app.commit("main", &manifests("app"), "app").unwrap();
    let shared = server.repo("shared").unwrap();
    shared
        .commit(
            "main",
            &[("base/common.yaml", Entry::File(b"v: 1\n"))],
            "v1",
        )
        .unwrap();
    let controller = start(&ns, Settings::default()).await;
    let api = ns.api::<GitRepository>();
    create(&ns, "app", serde_json::json!({
        "url": server.http_url("app"), "interval": "10m", "ref": {"branch": "main"},
        "include": [{"repository": {"name": "shared"}, "fromPath": "base", "toPath": "vendor/shared"}],
    }))
    .await;
    // The include is missing at first: a clear condition, then recovery.
    let obj = wait_for(&api, "app", WAIT, |o| {
        ready(o).is_some_and(|(s, _, _)| s == "False")
    })
    .await;
    let cond = obj
        .status
        .as_ref()
        .unwrap()
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == "IncludeUnavailable")
        .cloned()
        .unwrap();
    assert!(cond.message.contains("shared"), "{}", cond.message);
    create(&ns, "shared", serde_json::json!({"url": server.http_url("shared"), "interval": "10m", "ref": {"branch": "main"}})).await;
    let obj = wait_for(&api, "app", WAIT, |o| {
        ready(o).is_some_and(|(s, _, _)| s == "True")
    })
    .await;
    let names = entries_of(&controller, &obj);
    assert!(
        names.contains(&"vendor/shared/common.yaml".to_owned()),
        "{names:?}"
    );
    let first_digest = obj
        .status
        .as_ref()
        .unwrap()
        .artifact
        .as_ref()
        .unwrap()
        .digest
        .clone();
    assert_eq!(
        obj.status
            .as_ref()
            .unwrap()
            .included_artifacts
            .as_ref()
            .unwrap()
            .len(),
        1
    );

    // A new commit in the included repository rebuilds the includer.
    let v2 = shared
        .commit(
            "main",
            &[("base/common.yaml", Entry::File(b"v: 2\n"))],
            "v2",
        )
        .unwrap();
    api.patch("shared", &PatchParams::default(), &Patch::Merge(serde_json::json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "now"}}})))
        .await
        .unwrap();
    wait_for(&api, "shared", WAIT, |o| {
        is_ready_at(o, &format!("main@sha1:{v2}"))
    })
    .await;
    wait_for(&api, "app", WAIT, |o| {
        o.status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .is_some_and(|a| a.digest != first_digest)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_artifacts_and_follows_a_new_address() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "src-restart").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    let commit = repo.commit("main", &manifests("1"), "one").unwrap();
    let first = start(&ns, Settings::default()).await;
    let api = ns.api::<GitRepository>();
    create(&ns, "app", serde_json::json!({"url": server.http_url("app"), "interval": "10m", "ref": {"branch": "main"}})).await;
    let before = wait_for(&api, "app", WAIT, |o| {
        is_ready_at(o, &format!("main@sha1:{commit}"))
    })
    .await;
    let old = before.status.as_ref().unwrap().artifact.clone().unwrap();
    let storage = first.storage_dir.clone();
    drop(first);

    // A new process on the same storage, served at another address.
    let second = start(
        &ns,
        Settings {
            storage_dir: Some(storage),
            ..Default::default()
        },
    )
    .await;
    let after = wait_for(&api, "app", WAIT, |o| {
        o.status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .is_some_and(|a| a.url != old.url)
    })
    .await;
    let new = after.status.as_ref().unwrap().artifact.clone().unwrap();
    assert_eq!(new.url, second.storage.url_for(&old.path));
    assert_eq!(
        (&new.digest, &new.revision, &new.last_update_time),
        (&old.digest, &old.revision, &old.last_update_time),
        "no new artifact"
    );
    let out = std::process::Command::new("curl")
        .args(["-sSf", &new.url])
        .output()
        .unwrap();
    assert_eq!(
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&out.stdout))),
        new.digest
    );
    // The restarted hub knows the artifact again.
    let mut grpc = ArtifactServiceClient::connect(format!("http://{}", second.grpc_addr))
        .await
        .unwrap();
    let got = grpc
        .get(GetRequest {
            source: Some(SourceRef {
                kind: "GitRepository".into(),
                namespace: ns.name().into(),
                name: "app".into(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.artifact.unwrap().url, new.url);
}
