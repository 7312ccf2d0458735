//! Kustomization end to end: the real control plane (kwok nodes run the
//! pods), the real Git server, source-controller and kustomize-controller
//! in-process, wired through the gRPC artifact stream.

mod common;

use std::time::{Duration, Instant};

use common::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use weir_api::kustomize::v1::Kustomization;
use weir_test_support::TestNamespace;
use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n";
const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n";

fn configmap(color: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  color: {color}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_applies_updates_and_prunes() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "ks-apply").await.unwrap();
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    let blue = configmap("blue");
    let c1 = repo
        .commit(
            "main",
            &[
                ("app/deployment.yaml", Entry::File(DEPLOYMENT.as_bytes())),
                ("app/service.yaml", Entry::File(SERVICE.as_bytes())),
                ("app/configmap.yaml", Entry::File(blue.as_bytes())),
            ],
            "app",
        )
        .unwrap();
    let _controllers = start(&ns).await;
    git_repository(&ns, "app", &server.http_url("app")).await;
    kustomization(
        &ns,
        "app",
        serde_json::json!({
            "interval": "10m", "path": "./app", "prune": true, "wait": true, "timeout": "60s",
            "targetNamespace": ns.name(), "sourceRef": {"kind": "GitRepository", "name": "app"},
        }),
    )
    .await;
    let api = ns.api::<Kustomization>();
    let ks = wait_ks(&api, "app", applied(format!("main@sha1:{c1}"))).await;
    let (_, reason, message) = ready(&ks).unwrap();
    assert_eq!(reason, "ReconciliationSucceeded");
    assert_eq!(message, format!("Applied revision: main@sha1:{c1}"));
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
    assert_eq!(healthy.status, "True");
    let mut ids: Vec<String> = ks
        .status
        .as_ref()
        .unwrap()
        .inventory
        .as_ref()
        .unwrap()
        .entries
        .iter()
        .map(|e| e.id.clone())
        .collect();
    ids.sort();
    let n = ns.name();
    assert_eq!(
        ids,
        [
            format!("{n}_web-config__ConfigMap"),
            format!("{n}_web__Service"),
            format!("{n}_web_apps_Deployment")
        ]
    );

    // The Deployment rolled out on the kwok node and is Available.
    let deploy = ns.api::<Deployment>().get("web").await.unwrap();
    let available = deploy
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Available"))
        .map(|c| c.status.clone());
    assert_eq!(available.as_deref(), Some("True"));
    let labels = deploy.metadata.labels.unwrap();
    assert_eq!(
        labels
            .get("kustomize.toolkit.fluxcd.io/name")
            .map(String::as_str),
        Some("app")
    );
    assert_eq!(
        labels
            .get("kustomize.toolkit.fluxcd.io/namespace")
            .map(String::as_str),
        Some(n)
    );

    // A reconcile with nothing new writes nothing.
    let cms = ns.api::<ConfigMap>();
    let before = cms
        .get("web-config")
        .await
        .unwrap()
        .metadata
        .resource_version;
    api.patch("app", &PatchParams::default(), &Patch::Merge(serde_json::json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "again"}}})))
        .await
        .unwrap();
    let ks = wait_ks(&api, "app", |ks| {
        ks.status
            .as_ref()
            .and_then(|s| s.last_handled_reconcile_at.as_deref())
            == Some("again")
    })
    .await;
    // The same build again: its history snapshot is counted once more.
    let history = ks.status.clone().unwrap().history.unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].last_reconciled_status, "ReconciliationSucceeded");
    assert!(history[0].digest.starts_with("sha256:"));
    assert_eq!(
        history[0].metadata.as_ref().unwrap()["revision"],
        format!("main@sha1:{c1}")
    );
    assert!(history[0].total_reconciliations >= 2, "{history:?}");
    assert_eq!(
        cms.get("web-config")
            .await
            .unwrap()
            .metadata
            .resource_version,
        before,
        "unchanged object rewritten"
    );

    // Drift: a managed field changed with the real kubectl is restored.
    kubectl(&[
        "patch",
        "configmap",
        "web-config",
        "-n",
        ns.name(),
        "--type",
        "merge",
        "-p",
        r#"{"data":{"color":"hacked"}}"#,
    ]);
    assert_eq!(
        cms.get("web-config").await.unwrap().data.unwrap()["color"],
        "hacked"
    );
    api.patch("app", &PatchParams::default(), &Patch::Merge(serde_json::json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "drift"}}})))
        .await
        .unwrap();
    wait_ks(&api, "app", |ks| {
        ks.status
            .as_ref()
            .and_then(|s| s.last_handled_reconcile_at.as_deref())
            == Some("drift")
    })
    .await;
    assert_eq!(
        cms.get("web-config").await.unwrap().data.unwrap()["color"],
        "blue"
    );

    // A change is applied; a removed file is pruned.
    let green = configmap("green");
    let c2 = repo
        .commit(
            "main",
            &[("app/configmap.yaml", Entry::File(green.as_bytes()))],
            "green",
        )
        .unwrap();
    wait_ks(&api, "app", applied(format!("main@sha1:{c2}"))).await;
    assert_eq!(
        cms.get("web-config").await.unwrap().data.unwrap()["color"],
        "green"
    );
    let c3 = repo
        .remove("main", &["app/service.yaml"], "drop service")
        .unwrap();
    let ks = wait_ks(&api, "app", applied(format!("main@sha1:{c3}"))).await;
    // Each new build leads the history.
    let history = ks.status.clone().unwrap().history.unwrap();
    assert_eq!(
        history[0].metadata.as_ref().unwrap()["revision"],
        format!("main@sha1:{c3}")
    );
    assert_eq!(history.len(), 3, "{history:?}");
    assert_eq!(
        ks.status
            .as_ref()
            .unwrap()
            .inventory
            .as_ref()
            .unwrap()
            .entries
            .len(),
        2
    );
    let deadline = Instant::now() + WAIT;
    while ns.api::<Service>().get_opt("web").await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "Service not pruned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A broken manifest: BuildFailed naming the file, nothing applied, the
    // previous objects untouched.
    let c4 = repo
        .commit(
            "main",
            &[
                ("app/broken.yaml", Entry::File(b"apiVersion: v1\nkind: [\n")),
                (
                    "app/configmap.yaml",
                    Entry::File(configmap("red").as_bytes()),
                ),
            ],
            "broken",
        )
        .unwrap();
    let ks = wait_ks(&api, "app", |ks| {
        ready(ks).is_some_and(|(s, _, _)| s == "False")
            && ks
                .status
                .as_ref()
                .and_then(|s| s.last_attempted_revision.as_deref())
                == Some(format!("main@sha1:{c4}").as_str())
    })
    .await;
    let (_, reason, message) = ready(&ks).unwrap();
    assert_eq!(reason, "BuildFailed");
    assert!(message.contains("broken.yaml"), "{message}");
    assert_eq!(
        cms.get("web-config").await.unwrap().data.unwrap()["color"],
        "green",
        "half a build applied"
    );
    assert_eq!(
        ks.status.as_ref().unwrap().last_applied_revision.as_deref(),
        Some(format!("main@sha1:{c3}").as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crds_namespaces_and_depends_on() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "ks-crds").await.unwrap();
    let n = ns.name().to_owned();
    let group = format!("{n}.weir.test");
    let crd = format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.{group}\nspec:\n  group: {group}\n  names:\n    kind: Widget\n    plural: widgets\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n"
    );
    let team_ns = format!("{n}-team");
    let namespace = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {team_ns}\n");
    let widget = format!(
        "apiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: gadget\n  namespace: {team_ns}\nspec:\n  size: 3\n"
    );
    let app_cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-infra\ndata:\n  a: b\n";
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("fleet").unwrap();
    let c1 = repo
        .commit(
            "main",
            &[
                ("infra/crd.yaml", Entry::File(crd.as_bytes())),
                ("infra/namespace.yaml", Entry::File(namespace.as_bytes())),
                ("infra/widget.yaml", Entry::File(widget.as_bytes())),
                ("apps/cm.yaml", Entry::File(app_cm.as_bytes())),
            ],
            "fleet",
        )
        .unwrap();
    // An hour between dependency checks: apps can only follow infra in
    // time because infra becoming Ready queues it.
    let _controllers = start_with(&ns, None, |c| {
        c.requeue_dependency = Duration::from_secs(3600);
    })
    .await;
    git_repository(&ns, "fleet", &server.http_url("fleet")).await;
    // apps depends on infra; created first, it must wait.
    kustomization(&ns, "apps", serde_json::json!({
        "interval": "10m", "path": "./apps", "prune": true, "targetNamespace": n,
        "sourceRef": {"kind": "GitRepository", "name": "fleet"}, "dependsOn": [{"name": "infra"}],
    }))
    .await;
    let api = ns.api::<Kustomization>();
    let waiting = wait_ks(&api, "apps", failed_with("DependencyNotReady")).await;
    let (_, reason, message) = ready(&waiting).unwrap();
    assert_eq!(reason, "DependencyNotReady");
    assert!(message.contains("infra"), "{message}");
    assert!(
        ns.api::<ConfigMap>()
            .get_opt("after-infra")
            .await
            .unwrap()
            .is_none()
    );

    kustomization(&ns, "infra", serde_json::json!({
        "interval": "10m", "path": "./infra", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "fleet"},
    }))
    .await;
    // The CRD, the Namespace and a custom resource in it: one reconcile.
    wait_ks(&api, "infra", applied(format!("main@sha1:{c1}"))).await;
    let widgets: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &team_ns,
        &ApiResource::from_gvk(&GroupVersionKind::gvk(&group, "v1", "Widget")),
    );
    assert_eq!(widgets.get("gadget").await.unwrap().data["spec"]["size"], 3);
    wait_ks(&api, "apps", applied(format!("main@sha1:{c1}"))).await;
    assert!(
        ns.api::<ConfigMap>()
            .get_opt("after-infra")
            .await
            .unwrap()
            .is_some()
    );

    // A new revision of the shared source: apps applies it only after
    // infra has (a dependency on the same source must be up to date).
    let widget2 = widget.replace("size: 3", "size: 4");
    let c2 = repo
        .commit(
            "main",
            &[
                ("infra/widget.yaml", Entry::File(widget2.as_bytes())),
                (
                    "apps/cm.yaml",
                    Entry::File(app_cm.replace("a: b", "a: c").as_bytes()),
                ),
            ],
            "fleet 2",
        )
        .unwrap();
    let rev2 = format!("main@sha1:{c2}");
    let deadline = Instant::now() + WAIT;
    loop {
        let applied_rev = |ks: Kustomization| ks.status.and_then(|s| s.last_applied_revision);
        // Read apps first: if it has rev2, infra must have had it before.
        let apps = applied_rev(api.get("apps").await.unwrap());
        let infra = applied_rev(api.get("infra").await.unwrap());
        if apps.as_deref() == Some(rev2.as_str()) {
            assert_eq!(
                infra.as_deref(),
                Some(rev2.as_str()),
                "apps went before infra"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rev2 not applied: apps {apps:?}, infra {infra:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Deleting infra (prune: true) removes what it applied.
    api.delete("infra", &DeleteParams::default()).await.unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let deadline = Instant::now() + WAIT;
    loop {
        let gone = api.get_opt("infra").await.unwrap().is_none();
        let terminating = namespaces
            .get_opt(&team_ns)
            .await
            .unwrap()
            .is_none_or(|n| n.metadata.deletion_timestamp.is_some());
        if gone && terminating {
            break;
        }
        assert!(Instant::now() < deadline, "infra not finalised");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
