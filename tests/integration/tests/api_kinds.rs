//! Every Flux kind against the real API server: realistic manifests are
//! accepted (strict field validation, so no field of ours is unknown to the
//! schema), broken ones are rejected with the server's message, typed objects
//! round-trip, and `kubectl get` prints Flux's columns.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams, ValidationDirective};
use kube::{CustomResourceExt, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use weir_integration::{api_resource, documents, example_manifest, manifests_dir};
use weir_test_support::TestNamespace;
fn strict_apply(dry_run: bool) -> PatchParams {
    let mut params = PatchParams::apply("weir-integration-tests").force();
    params.field_validation = Some(ValidationDirective::Strict);
    params.dry_run = dry_run;
    params
}

/// A create (POST) dry-run: for broken objects the server answers 422 with
/// the offending field, where server-side apply would fail earlier while
/// building its typed patch (HTTP 500).
async fn create_dry_run(ns: &TestNamespace, doc: &Value) -> anyhow::Result<DynamicObject> {
    let ar = api_resource(doc)?;
    let api: Api<DynamicObject> = Api::namespaced_with(ns.client().clone(), ns.name(), &ar);
    let object: DynamicObject = serde_json::from_value(doc.clone())?;
    let params = PostParams {
        dry_run: true,
        field_manager: Some("weir-integration-tests".to_owned()),
    };
    Ok(api.create(&params, &object).await?)
}

async fn apply_dynamic(
    ns: &TestNamespace,
    doc: &Value,
    dry_run: bool,
) -> anyhow::Result<DynamicObject> {
    let ar = api_resource(doc)?;
    let name = doc["metadata"]["name"]
        .as_str()
        .context("manifest without metadata.name")?;
    let api: Api<DynamicObject> = Api::namespaced_with(ns.client().clone(), ns.name(), &ar);
    Ok(api
        .patch(name, &strict_apply(dry_run), &Patch::Apply(doc))
        .await?)
}

fn valid_manifests() -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(manifests_dir())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    Ok(files)
}

#[tokio::test]
async fn every_kind_has_a_valid_and_invalid_manifest() -> anyhow::Result<()> {
    let valid = valid_manifests()?;
    let invalid_dir = manifests_dir().join("invalid");
    for crd in weir_api::crds() {
        let kind = crd.spec.names.kind.to_lowercase();
        assert!(
            valid
                .iter()
                .any(|p| p.file_stem().is_some_and(|s| s.to_string_lossy() == kind)),
            "no manifests/{kind}.yaml"
        );
        let invalid = std::fs::read_dir(&invalid_dir)?
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{kind}-"))
            })
            .count();
        assert!(invalid >= 1, "no manifests/invalid/{kind}-*.yaml");
    }
    Ok(())
}

#[tokio::test]
async fn realistic_manifests_pass_server_side_dry_run() -> anyhow::Result<()> {
    let client = weir_test_support::client().await?;
    let ns = TestNamespace::new(&client, "api-dry-run").await?;
    let mut failures = Vec::new();
    for path in valid_manifests()? {
        for doc in documents(&path)? {
            if let Err(e) = apply_dynamic(&ns, &doc, true).await {
                failures.push(format!("{}: {e:#}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "rejected:\n{}", failures.join("\n"));
    Ok(())
}

#[tokio::test]
async fn broken_manifests_are_rejected_with_the_servers_message() -> anyhow::Result<()> {
    let client = weir_test_support::client().await?;
    let ns = TestNamespace::new(&client, "api-invalid").await?;
    let dir = manifests_dir().join("invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut checked = 0;
    for path in files {
        for doc in documents(&path)? {
            match create_dry_run(&ns, &doc).await {
                Ok(_) => bail!("{} was accepted but must be rejected", path.display()),
                Err(e) => {
                    let api_error = e
                        .downcast_ref::<kube::Error>()
                        .and_then(|k| match k {
                            kube::Error::Api(status) => Some(status),
                            _ => None,
                        })
                        .with_context(|| format!("{}: not an API error: {e:#}", path.display()))?;
                    assert!(
                        api_error.code == 422,
                        "{}: expected 422 Invalid, got {}: {}",
                        path.display(),
                        api_error.code,
                        api_error.message
                    );
                    assert!(
                        api_error.message.contains("spec")
                            || api_error.message.contains("metadata"),
                        "{}: message does not name the field: {}",
                        path.display(),
                        api_error.message
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked >= 28,
        "expected at least two broken manifests per kind, checked {checked}"
    );
    Ok(())
}

/// Applies the kind's manifest as a typed object, reads it back, and checks
/// the typed value holds exactly what the server stored.
async fn typed_round_trip<K>(ns: &TestNamespace) -> anyhow::Result<()>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + CustomResourceExt
        + Clone
        + std::fmt::Debug
        + Serialize
        + DeserializeOwned,
{
    let kind = K::kind(&()).to_string();
    let doc = example_manifest(&kind)?;
    let typed: K = serde_json::from_value(doc.clone())
        .with_context(|| format!("{kind}: manifest into the typed struct"))?;
    let name = typed.meta().name.clone().context("manifest without name")?;
    let api: Api<K> = ns.api();
    api.patch(&name, &strict_apply(false), &Patch::Apply(&typed))
        .await
        .with_context(|| format!("applying typed {kind}"))?;

    // What the server stored, untyped, against the same object read typed.
    let stored = apply_dynamic(ns, &doc, true).await?;
    let stored_spec = stored.data.get("spec").cloned().unwrap_or(Value::Null);
    let got: K = api
        .get(&name)
        .await
        .with_context(|| format!("reading back {kind}"))?;
    let got_json = serde_json::to_value(&got)?;
    assert_eq!(
        got_json.get("spec").cloned().unwrap_or(Value::Null),
        stored_spec,
        "{kind}: the typed spec differs from what the server stored"
    );
    // Everything we sent is still there (defaults may have been added).
    assert_subset(
        &serde_json::to_value(&typed)?["spec"],
        &got_json["spec"],
        &format!("{kind}.spec"),
    );
    Ok(())
}

fn assert_subset(sent: &Value, stored: &Value, path: &str) {
    match (sent, stored) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let next = format!("{path}.{k}");
                match b.get(k) {
                    Some(w) => assert_subset(v, w, &next),
                    None => panic!("{next} was sent but not stored"),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path} changed length on the server");
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                assert_subset(v, w, &format!("{path}[{i}]"));
            }
        }
        (a, b) => assert_eq!(a, b, "{path} changed on the server"),
    }
}

#[tokio::test]
async fn typed_objects_round_trip() -> anyhow::Result<()> {
    use weir_api::{helm, image, kustomize, notification, source};
    let client = weir_test_support::client().await?;
    let ns = TestNamespace::new(&client, "api-round-trip").await?;
    typed_round_trip::<source::v1::GitRepository>(&ns).await?;
    typed_round_trip::<source::v1::OCIRepository>(&ns).await?;
    typed_round_trip::<source::v1::HelmRepository>(&ns).await?;
    typed_round_trip::<source::v1::HelmChart>(&ns).await?;
    typed_round_trip::<source::v1::Bucket>(&ns).await?;
    typed_round_trip::<source::v1::ExternalArtifact>(&ns).await?;
    typed_round_trip::<kustomize::v1::Kustomization>(&ns).await?;
    typed_round_trip::<helm::v2::HelmRelease>(&ns).await?;
    typed_round_trip::<image::v1::ImageRepository>(&ns).await?;
    typed_round_trip::<image::v1::ImagePolicy>(&ns).await?;
    typed_round_trip::<image::v1::ImageUpdateAutomation>(&ns).await?;
    typed_round_trip::<notification::v1beta3::Provider>(&ns).await?;
    typed_round_trip::<notification::v1beta3::Alert>(&ns).await?;
    typed_round_trip::<notification::v1::Receiver>(&ns).await?;
    Ok(())
}
