//! The Helm chart in `charts/weir` and the plain manifests in `deploy/`:
//! the chart lints, renders, and what it renders applies to the local control
//! plane, where source-controller's, kustomize-controller's and
//! notification-controller's Deployments become Available (kwok runs their
//! pods without pulling the images);
//! `deploy/` builds, matches the chart's defaults and passes a server-side dry
//! run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, PodSpec, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::discovery::{self, Scope};
use serde_json::Value;
use weir_test_support::{TestNamespace, tools};

const FIELD_MANAGER: &str = "weir-chart-test";

/// kustomize-controller's flag for source-controller's gRPC artifact stream.
const ARTIFACT_STREAM_ADDR: &str =
    "--artifact-stream-addr=http://source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local.:9091";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chart_dir() -> PathBuf {
    repo_root().join("charts/weir")
}

/// Runs the pinned helm binary (installed on first use) and returns its stdout.
async fn helm(args: &[&str]) -> anyhow::Result<String> {
    let helm = tokio::task::spawn_blocking(tools::helm)
        .await
        .context("helm install task panicked")?
        .context("installing helm")?;
    let output = tokio::process::Command::new(&helm)
        .args(args)
        .current_dir(repo_root())
        // Keep helm away from the user's repositories, plugins and cache.
        .env(
            "HELM_CACHE_HOME",
            std::env::temp_dir().join("weir-helm/cache"),
        )
        .env(
            "HELM_CONFIG_HOME",
            std::env::temp_dir().join("weir-helm/config"),
        )
        .env(
            "HELM_DATA_HOME",
            std::env::temp_dir().join("weir-helm/data"),
        )
        .output()
        .await
        .with_context(|| format!("running {}", helm.display()))?;
    let stdout = String::from_utf8(output.stdout).context("helm output is not UTF-8")?;
    if !output.status.success() {
        bail!(
            "helm {} failed ({}):\n{stdout}\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(stdout)
}

/// `helm template <release> charts/weir --namespace <namespace> --skip-crds`
/// plus `extra` arguments, as JSON objects.
async fn render(release: &str, namespace: &str, extra: &[&str]) -> anyhow::Result<Vec<Value>> {
    let chart = chart_dir();
    let chart = chart.to_str().context("chart path is not UTF-8")?;
    let mut args = vec![
        "template",
        release,
        chart,
        "--namespace",
        namespace,
        "--skip-crds",
    ];
    args.extend_from_slice(extra);
    parse_documents(&helm(&args).await?)
}

/// Every non-empty document of a YAML stream, as JSON.
fn parse_documents(text: &str) -> anyhow::Result<Vec<Value>> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).context("parsing YAML stream")?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

fn kind(obj: &Value) -> &str {
    obj["kind"].as_str().unwrap_or_default()
}

fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

fn find<'a>(objects: &'a [Value], kind_: &str, name_: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| kind(o) == kind_ && name(o) == name_)
}

fn gvk(obj: &Value) -> anyhow::Result<GroupVersionKind> {
    let api_version = obj["apiVersion"]
        .as_str()
        .with_context(|| format!("{} {} has no apiVersion", kind(obj), name(obj)))?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    Ok(GroupVersionKind::gvk(group, version, kind(obj)))
}

/// An API handle for `obj` found by discovery, namespaced to `namespace` when
/// the kind is namespaced (so the object's own namespace is overridden).
/// Returns whether the kind is namespaced.
async fn api_for(
    client: &kube::Client,
    obj: &Value,
    namespace: &str,
) -> anyhow::Result<(Api<DynamicObject>, bool)> {
    let gvk = gvk(obj)?;
    let (resource, caps) = discovery::pinned_kind(client, &gvk)
        .await
        .with_context(|| format!("discovering {gvk:?}"))?;
    Ok(match caps.scope {
        Scope::Namespaced => (
            Api::namespaced_with(client.clone(), namespace, &resource),
            true,
        ),
        Scope::Cluster => (Api::all_with(client.clone(), &resource), false),
    })
}

/// Server-side applies `obj` (a dry run when `params.dry_run`), with a
/// namespaced object moved into `namespace`. Returns the handle it was applied
/// through when the object is cluster-scoped, so it can be deleted later.
async fn apply(
    client: &kube::Client,
    obj: &Value,
    namespace: &str,
    params: &PatchParams,
) -> anyhow::Result<Option<Api<DynamicObject>>> {
    let (api, namespaced) = api_for(client, obj, namespace).await?;
    let mut obj = obj.clone();
    if namespaced {
        obj["metadata"]["namespace"] = Value::from(namespace);
    }
    api.patch(name(&obj), params, &Patch::Apply(&obj))
        .await
        .with_context(|| {
            format!(
                "applying {} {}{}",
                kind(&obj),
                name(&obj),
                if params.dry_run { " (dry run)" } else { "" }
            )
        })?;
    Ok((!namespaced).then_some(api))
}

#[tokio::test]
async fn chart_lints_strictly() -> anyhow::Result<()> {
    let chart = chart_dir();
    let chart = chart.to_str().context("chart path is not UTF-8")?;
    helm(&["lint", "--strict", chart]).await?;
    // The optional branches of the templates render valid objects too.
    helm(&[
        "lint",
        "--strict",
        chart,
        "--set",
        "eventsAddr=http://notification-controller.$(RUNTIME_NAMESPACE).svc.cluster.local./",
        "--set",
        "sourceController.persistence.enabled=true",
        "--set",
        "sourceController.extraArgs[0]=--artifact-retention-records=5",
        "--set",
        "sourceController.nodeSelector.kubernetes\\.io/os=linux",
        "--set",
        "imagePullSecrets[0].name=regcred",
        "--set",
        "kustomizeController.clusterAdmin=false",
        "--set",
        "kustomizeController.extraArgs[0]=--no-cross-namespace-refs",
        "--set",
        "kustomizeController.tolerations[0].operator=Exists",
        "--set",
        "notificationController.extraArgs[0]=--no-cross-namespace-refs=true",
        "--set",
        "notificationController.webhookReceiver.type=LoadBalancer",
        "--set",
        "notificationController.webhookReceiver.annotations.example\\.com/x=y",
    ])
    .await?;
    Ok(())
}

/// The args of a rendered Deployment's first container.
fn rendered_args(deployment: &Value) -> anyhow::Result<Vec<&str>> {
    Ok(
        deployment["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .with_context(|| format!("Deployment {} without args", name(deployment)))?
            .iter()
            .filter_map(Value::as_str)
            .collect(),
    )
}

#[tokio::test]
async fn chart_installs_the_controllers_on_the_control_plane() -> anyhow::Result<()> {
    let client = weir_test_support::client().await?;
    let ns = TestNamespace::new(&client, "chart").await?;
    // Cluster-scoped objects are named after the release: one per test run.
    let release = ns.name().to_owned();
    let objects = render(&release, ns.name(), &[]).await?;
    ensure!(
        find(
            &objects,
            "ClusterRole",
            &format!("{release}-source-controller")
        )
        .is_some(),
        "no ClusterRole {release}-source-controller in the rendered chart"
    );
    // Flux binds kustomize-controller to cluster-admin.
    let binding = find(
        &objects,
        "ClusterRoleBinding",
        &format!("{release}-kustomize-controller"),
    )
    .with_context(|| format!("no ClusterRoleBinding {release}-kustomize-controller"))?;
    ensure!(
        binding["roleRef"]["name"] == "cluster-admin"
            && binding["subjects"][0]["name"] == "kustomize-controller"
            && binding["subjects"][0]["namespace"] == ns.name(),
        "kustomize-controller binding: {binding}"
    );

    let mut cluster_scoped = Vec::new();
    let result = install_and_check(&client, &ns, &objects, &mut cluster_scoped).await;
    let mut cleanup = Vec::new();
    for (api, name) in cluster_scoped {
        if let Err(e) = api.delete(&name, &DeleteParams::default()).await {
            cleanup.push(format!("deleting {name}: {e}"));
        }
    }
    drop(ns); // deletes the namespace and everything in it
    result?;
    ensure!(cleanup.is_empty(), "cleanup failed: {cleanup:?}");
    Ok(())
}

/// Where the chart points --events-addr when notification-controller is enabled.
const DEFAULT_EVENTS_ADDR: &str =
    "--events-addr=http://notification-controller.$(RUNTIME_NAMESPACE).svc.cluster.local./";

async fn install_and_check(
    client: &kube::Client,
    ns: &TestNamespace,
    objects: &[Value],
    cluster_scoped: &mut Vec<(Api<DynamicObject>, String)>,
) -> anyhow::Result<()> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    // In helm's install order (ServiceAccount before the Deployment using it).
    for obj in objects {
        if let Some(namespace) = obj["metadata"]["namespace"].as_str() {
            ensure!(
                namespace == ns.name(),
                "{} {} rendered into namespace {namespace}, not the release namespace",
                kind(obj),
                name(obj)
            );
        }
        if let Some(api) = apply(client, obj, ns.name(), &params).await? {
            cluster_scoped.push((api, name(obj).to_owned()));
        }
    }

    let deployments: Api<Deployment> = ns.api();
    let pod_spec = wait_available(&deployments, "source-controller").await?;
    let container = manager(&pod_spec)?;
    let args = container.args.clone().unwrap_or_default();
    for expected in [
        "--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local.",
        "--storage-path=/data",
        "--enable-leader-election",
        "--concurrent=4",
    ] {
        ensure!(
            args.iter().any(|a| a == expected),
            "pod template args lack {expected}: {args:?}"
        );
    }
    // Without eventsAddr, events go to this release's notification-controller.
    ensure!(
        args.iter().any(|a| a == DEFAULT_EVENTS_ADDR),
        "pod template args lack {DEFAULT_EVENTS_ADDR}: {args:?}"
    );
    ensure!(
        container.command.as_deref() == Some(&["/usr/local/bin/source-controller".to_owned()][..]),
        "command: {:?}",
        container.command
    );
    let app_version = app_version()?;
    let image = format!("ghcr.io/weir-gitops/source-controller:{app_version}");
    ensure!(
        container.image.as_deref() == Some(image.as_str()),
        "image {:?}, expected {image}",
        container.image
    );
    ensure!(
        pod_spec.service_account_name.as_deref() == Some("source-controller"),
        "serviceAccountName: {:?}",
        pod_spec.service_account_name
    );

    let service = ns
        .api::<Service>()
        .get("source-controller")
        .await
        .context("reading Service source-controller")?;
    let ports: BTreeMap<String, (i32, Option<IntOrString>)> = service
        .spec
        .and_then(|s| s.ports)
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.name.unwrap_or_default(), (p.port, p.target_port)))
        .collect();
    let expected = BTreeMap::from([
        (
            "http".to_owned(),
            (80, Some(IntOrString::String("http".to_owned()))),
        ),
        (
            "grpc".to_owned(),
            (9091, Some(IntOrString::String("grpc".to_owned()))),
        ),
    ]);
    ensure!(ports == expected, "Service ports: {ports:?}");

    let pod_spec = wait_available(&deployments, "kustomize-controller").await?;
    let container = manager(&pod_spec)?;
    let args = container.args.clone().unwrap_or_default();
    for expected in [
        ARTIFACT_STREAM_ADDR,
        "--enable-leader-election",
        "--watch-all-namespaces=true",
        "--concurrent=4",
        "--requeue-dependency=30s",
        "--metrics-addr=:8080",
        "--health-addr=:9440",
    ] {
        ensure!(
            args.iter().any(|a| a == expected),
            "kustomize-controller args lack {expected}: {args:?}"
        );
    }
    // Without eventsAddr, events go to this release's notification-controller.
    ensure!(
        args.iter().any(|a| a == DEFAULT_EVENTS_ADDR),
        "pod template args lack {DEFAULT_EVENTS_ADDR}: {args:?}"
    );
    ensure!(
        container.command.as_deref()
            == Some(&["/usr/local/bin/kustomize-controller".to_owned()][..]),
        "command: {:?}",
        container.command
    );
    let image = format!("ghcr.io/weir-gitops/kustomize-controller:{app_version}");
    ensure!(
        container.image.as_deref() == Some(image.as_str()),
        "image {:?}, expected {image}",
        container.image
    );
    ensure!(
        pod_spec.service_account_name.as_deref() == Some("kustomize-controller"),
        "serviceAccountName: {:?}",
        pod_spec.service_account_name
    );
    let mounts: Vec<&str> = container
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| m.mount_path.as_str())
        .collect();
    ensure!(
        mounts == ["/tmp"],
        "kustomize-controller mounts: {mounts:?}"
    );
    // Flux's kustomize-controller has no Service.
    ensure!(
        ns.api::<Service>()
            .get_opt("kustomize-controller")
            .await?
            .is_none(),
        "a Service kustomize-controller exists"
    );
    check_notification_controller(ns, &deployments, &app_version).await
}

/// notification-controller: Available, listening where Flux's does, behind
/// the Services the other controllers and webhook senders use.
async fn check_notification_controller(
    ns: &TestNamespace,
    deployments: &Api<Deployment>,
    app_version: &str,
) -> anyhow::Result<()> {
    let pod_spec = wait_available(deployments, "notification-controller").await?;
    let container = manager(&pod_spec)?;
    let args = container.args.clone().unwrap_or_default();
    for expected in [
        "--events-addr=:9090",
        "--receiverAddr=:9292",
        "--enable-leader-election",
        "--watch-all-namespaces=true",
        "--concurrent=4",
        "--rate-limit-interval=5m",
        "--metrics-addr=:8080",
        "--health-addr=:9440",
    ] {
        ensure!(
            args.iter().any(|a| a == expected),
            "notification-controller args lack {expected}: {args:?}"
        );
    }
    ensure!(
        container.command.as_deref()
            == Some(&["/usr/local/bin/notification-controller".to_owned()][..]),
        "command: {:?}",
        container.command
    );
    let image = format!("ghcr.io/weir-gitops/notification-controller:{app_version}");
    ensure!(
        container.image.as_deref() == Some(image.as_str()),
        "image {:?}, expected {image}",
        container.image
    );
    ensure!(
        pod_spec.service_account_name.as_deref() == Some("notification-controller"),
        "serviceAccountName: {:?}",
        pod_spec.service_account_name
    );
    let container_ports: BTreeMap<String, i32> = container
        .ports
        .iter()
        .flatten()
        .map(|p| (p.name.clone().unwrap_or_default(), p.container_port))
        .collect();
    for (port, number) in [
        ("http", 9090),
        ("http-webhook", 9292),
        ("http-prom", 8080),
        ("healthz", 9440),
    ] {
        ensure!(
            container_ports.get(port) == Some(&number),
            "notification-controller ports: {container_ports:?}"
        );
    }
    for (service, target) in [
        ("notification-controller", "http"),
        ("webhook-receiver", "http-webhook"),
    ] {
        let svc = ns
            .api::<Service>()
            .get(service)
            .await
            .with_context(|| format!("reading Service {service}"))?;
        let spec = svc.spec.unwrap_or_default();
        let ports: Vec<(i32, Option<IntOrString>)> = spec
            .ports
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p.port, p.target_port))
            .collect();
        ensure!(
            ports == [(80, Some(IntOrString::String(target.to_owned())))],
            "Service {service} ports: {ports:?}"
        );
        ensure!(
            spec.selector
                .unwrap_or_default()
                .get("app")
                .map(String::as_str)
                == Some("notification-controller"),
            "Service {service} does not select notification-controller"
        );
    }
    Ok(())
}

/// Waits up to 60s for Deployment `name` to be Available with one ready
/// replica and returns its pod template.
async fn wait_available(deployments: &Api<Deployment>, name: &str) -> anyhow::Result<PodSpec> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let deployment = loop {
        let current = deployments
            .get(name)
            .await
            .with_context(|| format!("reading Deployment {name}"))?;
        let status = current.status.clone().unwrap_or_default();
        let available = status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Available" && c.status == "True");
        if available && status.ready_replicas == Some(1) {
            break current;
        }
        if Instant::now() > deadline {
            bail!("Deployment {name} not Available with 1 ready replica after 60s: {status:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    deployment
        .spec
        .and_then(|s| s.template.spec)
        .with_context(|| format!("Deployment {name} without a pod template"))
}

fn manager(pod_spec: &PodSpec) -> anyhow::Result<&Container> {
    pod_spec
        .containers
        .iter()
        .find(|c| c.name == "manager")
        .context("no container manager")
}

/// The chart's appVersion, the default image tag.
fn app_version() -> anyhow::Result<String> {
    let chart_yaml = std::fs::read_to_string(chart_dir().join("Chart.yaml"))?;
    let chart_yaml: Value = serde_saphyr::from_str(&chart_yaml).context("parsing Chart.yaml")?;
    Ok(chart_yaml["appVersion"]
        .as_str()
        .context("Chart.yaml without appVersion")?
        .to_owned())
}

#[tokio::test]
async fn chart_without_a_controller_renders_none_of_its_objects() -> anyhow::Result<()> {
    for (component, value, other) in [
        (
            "source-controller",
            "sourceController.enabled=false",
            "kustomize-controller",
        ),
        (
            "kustomize-controller",
            "kustomizeController.enabled=false",
            "source-controller",
        ),
        (
            "notification-controller",
            "notificationController.enabled=false",
            "source-controller",
        ),
    ] {
        let objects = render("weir", "flux-system", &["--set", value]).await?;
        ensure!(
            !objects
                .iter()
                .any(|o| kind(o) == "Deployment" && name(o) == component),
            "{component} Deployment rendered while disabled"
        );
        let leftovers: Vec<String> = objects
            .iter()
            .filter(|o| {
                o["metadata"]["labels"]["app.kubernetes.io/component"].as_str() == Some(component)
            })
            .map(|o| format!("{} {}", kind(o), name(o)))
            .collect();
        ensure!(
            leftovers.is_empty(),
            "{component} objects rendered while disabled: {leftovers:?}"
        );
        // The other controller is still there.
        ensure!(
            find(&objects, "Deployment", other).is_some(),
            "{other} Deployment missing with {value}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn chart_values_reach_the_deployment() -> anyhow::Result<()> {
    let events = "http://notification-controller.$(RUNTIME_NAMESPACE).svc.cluster.local./";
    let objects = render(
        "weir",
        "flux-system",
        &[
            "--set",
            &format!("eventsAddr={events}"),
            "--set",
            "sourceController.persistence.enabled=true",
            "--set",
            "sourceController.concurrent=8",
            "--set",
            "kustomizeController.concurrent=6",
            "--set",
            "kustomizeController.requeueDependency=1m",
            "--set",
            "kustomizeController.extraArgs[0]=--no-cross-namespace-refs",
            "--set",
            "image.registry=registry.example.com/weir",
            "--set",
            "image.tag=dev",
        ],
    )
    .await?;
    let deployment =
        find(&objects, "Deployment", "source-controller").context("no Deployment rendered")?;
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .context("no args")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    ensure!(
        args.contains(&format!("--events-addr={events}").as_str()),
        "args: {args:?}"
    );
    ensure!(args.contains(&"--concurrent=8"), "args: {args:?}");
    ensure!(
        container["image"] == "registry.example.com/weir/source-controller:dev",
        "image: {}",
        container["image"]
    );
    let data = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .context("no volumes")?
        .iter()
        .find(|v| v["name"] == "data")
        .context("no data volume")?;
    ensure!(
        data["persistentVolumeClaim"]["claimName"] == "source-controller",
        "data volume: {data}"
    );
    ensure!(
        find(&objects, "PersistentVolumeClaim", "source-controller").is_some(),
        "no PersistentVolumeClaim rendered"
    );

    let kustomize = find(&objects, "Deployment", "kustomize-controller")
        .context("no kustomize-controller Deployment rendered")?;
    let args = rendered_args(kustomize)?;
    for expected in [
        format!("--events-addr={events}"),
        "--concurrent=6".to_owned(),
        "--requeue-dependency=1m".to_owned(),
        ARTIFACT_STREAM_ADDR.to_owned(),
        "--no-cross-namespace-refs".to_owned(),
    ] {
        ensure!(
            args.contains(&expected.as_str()),
            "kustomize-controller args lack {expected}: {args:?}"
        );
    }
    let container = &kustomize["spec"]["template"]["spec"]["containers"][0];
    ensure!(
        container["image"] == "registry.example.com/weir/kustomize-controller:dev",
        "image: {}",
        container["image"]
    );

    // Without source-controller there is no artifact stream to subscribe to.
    let objects = render(
        "weir",
        "flux-system",
        &["--set", "sourceController.enabled=false"],
    )
    .await?;
    let kustomize = find(&objects, "Deployment", "kustomize-controller")
        .context("no kustomize-controller Deployment rendered")?;
    let args = rendered_args(kustomize)?;
    ensure!(
        !args.iter().any(|a| a.starts_with("--artifact-stream-addr")),
        "--artifact-stream-addr without source-controller: {args:?}"
    );

    // Without clusterAdmin, kustomize-controller is bound to a role of its
    // own, and nothing binds it to cluster-admin.
    let objects = render(
        "weir",
        "flux-system",
        &["--set", "kustomizeController.clusterAdmin=false"],
    )
    .await?;
    let bindings: Vec<&Value> = objects
        .iter()
        .filter(|o| {
            kind(o) == "ClusterRoleBinding" && o["subjects"][0]["name"] == "kustomize-controller"
        })
        .collect();
    ensure!(
        bindings.len() == 1
            && bindings[0]["roleRef"]["name"] == "weir-kustomize-controller-restricted",
        "kustomize-controller bindings without clusterAdmin: {bindings:?}"
    );
    let role = find(
        &objects,
        "ClusterRole",
        "weir-kustomize-controller-restricted",
    )
    .context("no restricted ClusterRole for kustomize-controller")?;
    let groups: Vec<&str> = role["rules"]
        .as_array()
        .context("ClusterRole without rules")?
        .iter()
        .flat_map(|r| r["apiGroups"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    ensure!(
        !groups.contains(&"*")
            && groups.contains(&"kustomize.toolkit.fluxcd.io")
            && groups.contains(&"source.toolkit.fluxcd.io"),
        "restricted ClusterRole's groups: {groups:?}"
    );
    Ok(())
}

/// `deploy/` built by Weir's own kustomize engine, checked against the real
/// kustomize.
async fn build_deploy() -> anyhow::Result<Vec<Value>> {
    let dir = repo_root().join("deploy");
    let weir_dir = dir.clone();
    let weir = tokio::task::spawn_blocking(move || {
        weir_kustomize::build_yaml(
            Arc::new(weir_kustomize::fs::RealFs),
            &weir_dir,
            &weir_kustomize::Options::default(),
        )
    })
    .await
    .context("kustomize build task panicked")?
    .context("weir kustomize build deploy")?;
    let weir = parse_documents(&weir)?;

    let kustomize = tokio::task::spawn_blocking(tools::kustomize)
        .await
        .context("kustomize install task panicked")??;
    let output = tokio::process::Command::new(&kustomize)
        .arg("build")
        .arg(&dir)
        .output()
        .await
        .with_context(|| format!("running {}", kustomize.display()))?;
    ensure!(
        output.status.success(),
        "kustomize build deploy failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let real = parse_documents(std::str::from_utf8(&output.stdout)?)?;
    ensure!(
        weir == real,
        "weir kustomize and kustomize {} build deploy/ differently",
        tools::KUSTOMIZE_VERSION
    );
    Ok(weir)
}

#[tokio::test]
async fn deploy_matches_the_chart_defaults() -> anyhow::Result<()> {
    let deploy = build_deploy().await?;
    let mut chart = render("weir", "flux-system", &[]).await?;
    // Helm's own labels are the only difference.
    for obj in &mut chart {
        if let Some(labels) = obj["metadata"]["labels"].as_object_mut() {
            labels.remove("helm.sh/chart");
            labels.remove("app.kubernetes.io/managed-by");
        }
    }
    for obj in &chart {
        let ours = find(&deploy, kind(obj), name(obj))
            .with_context(|| format!("deploy/ has no {} {}", kind(obj), name(obj)))?;
        ensure!(
            ours == obj,
            "deploy/ {} {} differs from the chart's:\n{}\nchart:\n{}",
            kind(obj),
            name(obj),
            serde_json::to_string_pretty(ours)?,
            serde_json::to_string_pretty(obj)?
        );
    }
    let extra: Vec<String> = deploy
        .iter()
        .filter(|o| !matches!(kind(o), "CustomResourceDefinition" | "Namespace"))
        .filter(|o| find(&chart, kind(o), name(o)).is_none())
        .map(|o| format!("{} {}", kind(o), name(o)))
        .collect();
    ensure!(
        extra.is_empty(),
        "deploy/ objects the chart lacks: {extra:?}"
    );
    let namespace = find(&deploy, "Namespace", "flux-system").context("no Namespace")?;
    ensure!(
        namespace["metadata"]["labels"]["app.kubernetes.io/part-of"] == "flux",
        "namespace: {namespace}"
    );
    for obj in &deploy {
        if let Some(namespace) = obj["metadata"]["namespace"].as_str() {
            ensure!(
                namespace == "flux-system",
                "{} {} in namespace {namespace}",
                kind(obj),
                name(obj)
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn deploy_passes_a_server_side_dry_run() -> anyhow::Result<()> {
    let client = weir_test_support::client().await?;
    let ns = TestNamespace::new(&client, "deploy-dry-run").await?;
    let objects = build_deploy().await?;
    for controller in [
        "source-controller",
        "kustomize-controller",
        "notification-controller",
    ] {
        ensure!(
            find(&objects, "Deployment", controller).is_some(),
            "deploy/ has no {controller} Deployment"
        );
    }
    let params = PatchParams::apply(FIELD_MANAGER).force().dry_run();
    // flux-system need not exist: namespaced objects go to the test namespace.
    for obj in &objects {
        apply(&client, obj, ns.name(), &params).await?;
    }
    drop(ns);
    Ok(())
}

#[tokio::test]
async fn chart_values_reach_the_notification_controller() -> anyhow::Result<()> {
    let events = "http://notification-controller.$(RUNTIME_NAMESPACE).svc.cluster.local./";
    let objects = render(
        "weir",
        "flux-system",
        &[
            "--set",
            &format!("eventsAddr={events}"),
            "--set",
            "notificationController.concurrent=2",
            "--set",
            "notificationController.rateLimitInterval=1m",
            "--set",
            "notificationController.extraArgs[0]=--no-cross-namespace-refs=true",
            "--set",
            "notificationController.webhookReceiver.type=LoadBalancer",
            "--set",
            "image.tag=dev",
        ],
    )
    .await?;
    let deployment = find(&objects, "Deployment", "notification-controller")
        .context("no notification-controller Deployment rendered")?;
    let args = rendered_args(deployment)?;
    for expected in [
        "--concurrent=2",
        "--rate-limit-interval=1m",
        "--no-cross-namespace-refs=true",
        // Its own listen address, whatever the others send events to.
        "--events-addr=:9090",
    ] {
        ensure!(
            args.contains(&expected),
            "notification-controller args lack {expected}: {args:?}"
        );
    }
    ensure!(
        !args.contains(&format!("--events-addr={events}").as_str()),
        "eventsAddr must not reach notification-controller: {args:?}"
    );
    ensure!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"]
            == "ghcr.io/weir-gitops/notification-controller:dev",
        "image: {}",
        deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    );
    let receiver = find(&objects, "Service", "webhook-receiver").context("no webhook-receiver")?;
    ensure!(
        receiver["spec"]["type"] == "LoadBalancer",
        "webhook-receiver: {receiver}"
    );
    Ok(())
}
