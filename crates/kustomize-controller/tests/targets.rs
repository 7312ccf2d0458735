//! How and as whom a build is applied: the server-side dry run that keeps a
//! refused build from being half applied, taking over fields kubectl
//! holds, service account impersonation, a remote cluster from a kubeconfig
//! Secret, and `--no-cross-namespace-refs`.

mod common;

use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, PostParams};
use weir_api::kustomize::v1::Kustomization;
use weir_test_support::TestNamespace;
use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

fn configmap(name: &str, data: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{data}")
}

fn spec(ns: &TestNamespace, source: &str, path: &str) -> serde_json::Value {
    serde_json::json!({
        "interval": "10m", "path": path, "prune": true, "targetNamespace": ns.name(),
        "sourceRef": {"kind": "GitRepository", "name": source},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_fields_are_taken_over_and_refused_builds_apply_nothing() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "ks-ssa").await.unwrap();
    let n = ns.name().to_owned();
    // Objects first created by hand with kubectl's client-side apply, with
    // a field Git does not have.
    for name in ["legacy", "merged"] {
        kubectl_with_input(
            &["apply", "-n", &n, "-f", "-"],
            Some(&configmap(
                name,
                "data:\n  color: red\n  extra: from-kubectl\n",
            )),
        );
    }
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    let merged = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: merged\n  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: Merge\ndata:\n  color: blue\n";
    let c1 = repo
        .commit(
            "main",
            &[
                (
                    "ok/legacy.yaml",
                    Entry::File(configmap("legacy", "data:\n  color: blue\n").as_bytes()),
                ),
                ("ok/merged.yaml", Entry::File(merged.as_bytes())),
                // One object the API server refuses (an invalid name) next
                // to a valid one: the dry run must stop both.
                (
                    "refused/valid.yaml",
                    Entry::File(configmap("valid", "data:\n  a: b\n").as_bytes()),
                ),
                (
                    "refused/invalid.yaml",
                    Entry::File(configmap("Not_A_Valid_Name", "data:\n  a: b\n").as_bytes()),
                ),
            ],
            "app",
        )
        .unwrap();
    let _controllers = start(&ns).await;
    git_repository(&ns, "app", &server.http_url("app")).await;
    kustomization(&ns, "ok", spec(&ns, "app", "./ok")).await;
    kustomization(&ns, "refused", spec(&ns, "app", "./refused")).await;
    let api = ns.api::<Kustomization>();
    wait_ks(&api, "ok", applied(format!("main@sha1:{c1}"))).await;

    let cms = ns.api::<ConfigMap>();
    let legacy = cms.get("legacy").await.unwrap();
    let data = legacy.data.clone().unwrap();
    assert_eq!(data["color"], "blue");
    assert!(
        !data.contains_key("extra"),
        "the field kubectl applied was not taken over and removed: {data:?}"
    );
    assert!(
        !legacy
            .metadata
            .annotations
            .unwrap_or_default()
            .contains_key("kubectl.kubernetes.io/last-applied-configuration")
    );
    let managers: Vec<String> = legacy
        .metadata
        .managed_fields
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(managers, ["kustomize-controller"], "{managers:?}");
    // `ssa: Merge` opts out: kubectl's field stays.
    let data = cms.get("merged").await.unwrap().data.unwrap();
    assert_eq!(
        (
            data["color"].as_str(),
            data.get("extra").map(String::as_str)
        ),
        ("blue", Some("from-kubectl"))
    );

    let ks = wait_ks(&api, "refused", failed_with("ReconciliationFailed")).await;
    let (_, _, message) = ready(&ks).unwrap();
    assert!(
        message.contains("Not_A_Valid_Name") && message.contains("dry-run failed"),
        "{message}"
    );
    assert!(
        cms.get_opt("valid").await.unwrap().is_none(),
        "half of a refused build was applied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_impersonation() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "ks-sa").await.unwrap();
    let n = ns.name().to_owned();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\nstringData:\n  t: x\n";
    let c1 = repo
        .commit(
            "main",
            &[
                (
                    "app/cm.yaml",
                    Entry::File(configmap("settings", "data:\n  a: b\n").as_bytes()),
                ),
                ("app/secret.yaml", Entry::File(secret.as_bytes())),
            ],
            "app",
        )
        .unwrap();
    // The deployer may write ConfigMaps only.
    create(
        &ns.api::<ServiceAccount>(),
        serde_json::json!({"metadata": {"name": "deployer"}}),
    )
    .await;
    create(
        &ns.api::<Role>(),
        serde_json::json!({"metadata": {"name": "deployer"}, "rules": [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]},
        ]}),
    )
    .await;
    create(
        &ns.api::<RoleBinding>(),
        serde_json::json!({"metadata": {"name": "deployer"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
            "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": n}]}),
    )
    .await;
    let _controllers = start(&ns).await;
    git_repository(&ns, "app", &server.http_url("app")).await;
    let mut s = spec(&ns, "app", "./app");
    s["serviceAccountName"] = "deployer".into();
    kustomization(&ns, "app", s).await;
    let api = ns.api::<Kustomization>();
    let ks = wait_ks(&api, "app", failed_with("ReconciliationFailed")).await;
    let (_, _, message) = ready(&ks).unwrap();
    assert!(
        message.contains("system:serviceaccount:") && message.contains("secrets"),
        "{message}"
    );
    assert!(
        ns.api::<ConfigMap>()
            .get_opt("settings")
            .await
            .unwrap()
            .is_none()
    );

    // Granted Secrets too, the same account applies everything.
    let roles: Api<Role> = ns.api();
    let mut role = roles.get("deployer").await.unwrap();
    role.rules.get_or_insert_default().push(
        serde_json::from_value(
            serde_json::json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]}),
        )
        .unwrap(),
    );
    roles
        .replace("deployer", &PostParams::default(), &role)
        .await
        .unwrap();
    wait_ks(&api, "app", applied(format!("main@sha1:{c1}"))).await;
    assert!(ns.api::<Secret>().get_opt("token").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_cluster_from_kubeconfig_secret() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "ks-remote").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    let c1 = repo
        .commit(
            "main",
            &[(
                "app/cm.yaml",
                Entry::File(configmap("remote", "data:\n  a: b\n").as_bytes()),
            )],
            "app",
        )
        .unwrap();
    // The "remote" cluster is the local control plane reached through a
    // kubeconfig held in a Secret (what `flux create secret` would store).
    let kubeconfig =
        std::fs::read_to_string(weir_test_support::cluster::kubeconfig_path()).unwrap();
    let exec = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      args: [\"-c\", \"touch /tmp/weir-pwned\"]\n";
    create(
        &ns.api::<Secret>(),
        serde_json::json!({"metadata": {"name": "remote-kubeconfig"}, "stringData": {"value": kubeconfig}}),
    )
    .await;
    create(
        &ns.api::<Secret>(),
        serde_json::json!({"metadata": {"name": "exec-kubeconfig"}, "stringData": {"value.yaml": exec}}),
    )
    .await;
    let _controllers = start(&ns).await;
    git_repository(&ns, "app", &server.http_url("app")).await;
    let with = |secret: &str| {
        let mut s = spec(&ns, "app", "./app");
        s["kubeConfig"] = serde_json::json!({"secretRef": {"name": secret}});
        s
    };
    kustomization(&ns, "remote", with("remote-kubeconfig")).await;
    kustomization(&ns, "exec", with("exec-kubeconfig")).await;
    kustomization(&ns, "missing", with("absent")).await;
    let api = ns.api::<Kustomization>();
    let ks = wait_ks(&api, "remote", applied(format!("main@sha1:{c1}"))).await;
    assert_eq!(
        ks.status.unwrap().inventory.unwrap().entries[0].id,
        format!("{}_remote__ConfigMap", ns.name())
    );
    assert!(
        ns.api::<ConfigMap>()
            .get_opt("remote")
            .await
            .unwrap()
            .is_some()
    );

    let ks = wait_ks(&api, "exec", failed_with("ReconciliationFailed")).await;
    let (_, _, message) = ready(&ks).unwrap();
    assert!(message.contains("--insecure-kubeconfig-exec"), "{message}");
    assert!(!std::path::Path::new("/tmp/weir-pwned").exists());
    let ks = wait_ks(&api, "missing", failed_with("ReconciliationFailed")).await;
    let (_, _, message) = ready(&ks).unwrap();
    assert!(
        message.contains(&format!("'{}/absent'", ns.name())),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_namespace_source_refused_when_disallowed() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "ks-xns").await.unwrap();
    let _controllers = start_with(&ns, None, |c| c.no_cross_namespace_refs = true).await;
    let mut s = spec(&ns, "app", "./app");
    s["sourceRef"]["namespace"] = "flux-system".into();
    kustomization(&ns, "other", s).await;
    let mut s = spec(&ns, "app", "./app");
    s["dependsOn"] = serde_json::json!([{"name": "infra", "namespace": "flux-system"}]);
    kustomization(&ns, "dep", s).await;
    let api = ns.api::<Kustomization>();
    for name in ["other", "dep"] {
        let ks = wait_ks(&api, name, failed_with("AccessDenied")).await;
        let (_, _, message) = ready(&ks).unwrap();
        assert!(
            message.contains("cross-namespace references are not allowed"),
            "{message}"
        );
        let stalled = ks
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Stalled"))
            .map(|c| c.status.clone());
        assert_eq!(stalled.as_deref(), Some("True"), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_object_annotations() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "ks-annotations").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    let annotated = |name: &str, annotation: &str, v: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations:\n    {annotation}\ndata:\n  v: \"{v}\"\n"
        )
    };
    let immutable = |name: &str, annotation: &str, v: &str| {
        annotated(name, annotation, v) + "immutable: true\n"
    };
    let files = |v: &str| {
        vec![
            (
                "ann/once.yaml".to_owned(),
                annotated("once", "kustomize.toolkit.fluxcd.io/ssa: IfNotPresent", v),
            ),
            (
                "ann/ignored.yaml".to_owned(),
                annotated("ignored", "kustomize.toolkit.fluxcd.io/ssa: Ignore", v),
            ),
            (
                "ann/frozen.yaml".to_owned(),
                annotated(
                    "frozen",
                    "kustomize.toolkit.fluxcd.io/reconcile: disabled",
                    v,
                ),
            ),
            (
                "ann/fixed.yaml".to_owned(),
                immutable("fixed", "kustomize.toolkit.fluxcd.io/force: enabled", v),
            ),
            (
                "stuck/stuck.yaml".to_owned(),
                immutable("stuck", "weir.test/none: x", v),
            ),
        ]
    };
    let mut first = files("1");
    first.push((
        "ann/keep.yaml".to_owned(),
        annotated("keep", "kustomize.toolkit.fluxcd.io/prune: disabled", "1"),
    ));
    let entries: Vec<(&str, Entry)> = first
        .iter()
        .map(|(p, c)| (p.as_str(), Entry::File(c.as_bytes())))
        .collect();
    let c1 = repo.commit("main", &entries, "one").unwrap();
    let _controllers = start(&ns).await;
    git_repository(&ns, "app", &server.http_url("app")).await;
    kustomization(&ns, "ann", spec(&ns, "app", "./ann")).await;
    kustomization(&ns, "stuck", spec(&ns, "app", "./stuck")).await;
    let api = ns.api::<Kustomization>();
    wait_ks(&api, "ann", applied(format!("main@sha1:{c1}"))).await;
    wait_ks(&api, "stuck", applied(format!("main@sha1:{c1}"))).await;
    let cms = ns.api::<ConfigMap>();
    assert!(
        cms.get_opt("ignored").await.unwrap().is_none(),
        "ssa: Ignore applied"
    );
    let fixed_uid = cms.get("fixed").await.unwrap().metadata.uid;

    // Everything to v 2, keep.yaml removed.
    repo.remove("main", &["ann/keep.yaml"], "drop keep")
        .unwrap();
    let second = files("2");
    let entries: Vec<(&str, Entry)> = second
        .iter()
        .map(|(p, c)| (p.as_str(), Entry::File(c.as_bytes())))
        .collect();
    let c2 = repo.commit("main", &entries, "two").unwrap();
    wait_ks(&api, "ann", applied(format!("main@sha1:{c2}"))).await;
    let v = |cm: ConfigMap| cm.data.unwrap()["v"].clone();
    assert!(
        cms.get_opt("keep").await.unwrap().is_some(),
        "prune: disabled was pruned"
    );
    assert_eq!(
        v(cms.get("once").await.unwrap()),
        "1",
        "IfNotPresent updated"
    );
    assert_eq!(
        v(cms.get("frozen").await.unwrap()),
        "1",
        "reconcile: disabled updated"
    );
    assert!(cms.get_opt("ignored").await.unwrap().is_none());
    // force: enabled recreates an object whose immutable field changed.
    let fixed = cms.get("fixed").await.unwrap();
    assert_ne!(fixed.metadata.uid, fixed_uid, "not recreated");
    assert_eq!(v(fixed), "2");
    // Without force the change is refused and the object left as it was.
    let ks = wait_ks(&api, "stuck", failed_with("ReconciliationFailed")).await;
    let (_, _, message) = ready(&ks).unwrap();
    assert!(
        message.contains("stuck") && message.contains("immutable"),
        "{message}"
    );
    assert_eq!(v(cms.get("stuck").await.unwrap()), "1");
}
