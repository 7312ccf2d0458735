//! Source kinds other than GitRepository: an OCIRepository and a Bucket
//! whose artifacts (set in their status as source-controller does) are
//! served by a local HTTP server, and a corrupted artifact refused.

mod common;

use common::*;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use weir_api::kustomize::v1::Kustomization;
use weir_test_support::TestNamespace;

/// A normalised tarball of `files`, and its digest.
fn tarball(files: &[(&str, &str)]) -> (Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let (bytes, written) = weir_artifact::archive::write_tar_gz(
        dir.path(),
        Vec::new(),
        &|_, _| false,
        Default::default(),
    )
    .unwrap();
    (bytes, written.digest)
}

/// Serves `files` (URL path → bytes) on a free loopback port.
async fn serve(files: Vec<(String, Vec<u8>)>) -> String {
    let mut app = axum::Router::new();
    for (path, bytes) in files {
        app = app.route(&path, axum::routing::get(move || async move { bytes }));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// Creates a source object of `kind` and sets its status artifact.
async fn source(
    ns: &TestNamespace,
    kind: &str,
    name: &str,
    spec: serde_json::Value,
    artifact: serde_json::Value,
) {
    let api: Api<DynamicObject> = Api::namespaced_with(
        ns.client().clone(),
        ns.name(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk(
            "source.toolkit.fluxcd.io",
            "v1",
            kind,
        )),
    );
    let obj: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": kind,
        "metadata": {"name": name, "namespace": ns.name()}, "spec": spec,
    }))
    .unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
    api.patch_status(
        name,
        &PatchParams::apply("test-source-controller").force(),
        &Patch::Apply(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": kind,
            "status": {"artifact": artifact, "conditions": [{
                "type": "Ready", "status": "True", "reason": "Succeeded", "message": "stored",
                "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
        })),
    )
    .await
    .unwrap();
}

fn artifact(url: String, revision: &str, digest: &str) -> serde_json::Value {
    serde_json::json!({
        "path": "x.tar.gz", "url": url, "revision": revision, "digest": digest,
        "lastUpdateTime": "2026-01-01T00:00:00Z",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oci_repository_and_bucket_sources() {
    let client = weir_test_support::client().await.unwrap();
    let ns = TestNamespace::new(&client, "ks-sources").await.unwrap();
    let cm = |name: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: b\n")
    };
    let (oci, oci_digest) = tarball(&[("deploy/cm.yaml", &cm("from-oci"))]);
    let (bucket, bucket_digest) = tarball(&[("cm.yaml", &cm("from-bucket"))]);
    let base = serve(vec![
        ("/ocirepository/app.tar.gz".into(), oci),
        ("/bucket/app.tar.gz".into(), bucket.clone()),
    ])
    .await;
    let _controllers = start(&ns).await;
    let oci_rev = "latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    source(
        &ns,
        "OCIRepository",
        "app",
        serde_json::json!({"url": "oci://registry.invalid/app", "interval": "10m"}),
        artifact(
            format!("{base}/ocirepository/app.tar.gz"),
            oci_rev,
            &oci_digest,
        ),
    )
    .await;
    let bucket_rev = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    source(
        &ns,
        "Bucket",
        "app",
        serde_json::json!({"bucketName": "app", "endpoint": "minio.invalid", "interval": "10m"}),
        artifact(
            format!("{base}/bucket/app.tar.gz"),
            bucket_rev,
            &bucket_digest,
        ),
    )
    .await;
    // Same bytes, another digest: a corrupted or substituted artifact.
    let wrong = format!("sha256:{}", "0".repeat(64));
    source(
        &ns,
        "Bucket",
        "tampered",
        serde_json::json!({"bucketName": "app", "endpoint": "minio.invalid", "interval": "10m"}),
        artifact(format!("{base}/bucket/app.tar.gz"), bucket_rev, &wrong),
    )
    .await;

    let spec = |kind: &str, name: &str, path: &str| {
        serde_json::json!({
            "interval": "10m", "path": path, "prune": true, "targetNamespace": ns.name(),
            "sourceRef": {"kind": kind, "name": name},
        })
    };
    kustomization(&ns, "oci", spec("OCIRepository", "app", "./deploy")).await;
    kustomization(&ns, "bucket", spec("Bucket", "app", "./")).await;
    kustomization(&ns, "tampered", spec("Bucket", "tampered", "./")).await;
    let api = ns.api::<Kustomization>();
    wait_ks(&api, "oci", applied(oci_rev.to_owned())).await;
    wait_ks(&api, "bucket", applied(bucket_rev.to_owned())).await;
    let cms = ns.api::<ConfigMap>();
    assert!(cms.get_opt("from-oci").await.unwrap().is_some());
    assert!(cms.get_opt("from-bucket").await.unwrap().is_some());

    let ks = wait_ks(&api, "tampered", failed_with("ArtifactFailed")).await;
    let (_, _, message) = ready(&ks).unwrap();
    assert!(message.contains("digest"), "{message}");
}
