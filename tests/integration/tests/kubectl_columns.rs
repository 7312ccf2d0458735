//! `kubectl get` prints the same columns for each kind as it does with Flux's
//! CRDs installed. The expected headers were read off Flux's published CRDs
//! (`additionalPrinterColumns`, priority-0 columns only).

use anyhow::{Context as _, bail};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use weir_test_support::TestNamespace;

const FLUX_COLUMNS: &[(&str, &[&str])] = &[
    ("GitRepository", &["NAME", "URL", "AGE", "READY", "STATUS"]),
    ("OCIRepository", &["NAME", "URL", "READY", "STATUS", "AGE"]),
    ("HelmRepository", &["NAME", "URL", "AGE", "READY", "STATUS"]),
    (
        "HelmChart",
        &[
            "NAME",
            "CHART",
            "VERSION",
            "SOURCE KIND",
            "SOURCE NAME",
            "AGE",
            "READY",
            "STATUS",
        ],
    ),
    ("Bucket", &["NAME", "ENDPOINT", "AGE", "READY", "STATUS"]),
    (
        "ExternalArtifact",
        &["NAME", "AGE", "READY", "STATUS", "SOURCE"],
    ),
    ("Kustomization", &["NAME", "AGE", "READY", "STATUS"]),
    ("HelmRelease", &["NAME", "AGE", "READY", "STATUS"]),
    (
        "ImageRepository",
        &["NAME", "IMAGE", "TAGS", "READY", "STATUS", "AGE"],
    ),
    (
        "ImagePolicy",
        &["NAME", "IMAGE", "TAG", "READY", "STATUS", "AGE"],
    ),
    ("ImageUpdateAutomation", &["NAME", "READY", "STATUS", "AGE"]),
    ("Provider", &["NAME", "AGE"]),
    ("Alert", &["NAME", "AGE"]),
    ("Receiver", &["NAME", "AGE", "READY", "STATUS"]),
];

/// Splits a kubectl table header on runs of two or more spaces, the way
/// kubectl pads columns (single spaces occur inside names like "SOURCE KIND").
fn header_columns(header: &str) -> Vec<String> {
    header
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn kubectl_get_shows_fluxs_columns() -> anyhow::Result<()> {
    let client = weir_test_support::client().await?;
    let ns = TestNamespace::new(&client, "kubectl-columns").await?;
    let mut mismatches = Vec::new();
    for (kind, expected) in FLUX_COLUMNS {
        let crd = weir_api::crds()
            .into_iter()
            .find(|c| c.spec.names.kind == *kind)
            .with_context(|| format!("no CRD for {kind}"))?;
        let plural = &crd.spec.names.plural;

        // One object of the kind, so kubectl prints a table rather than "No resources".
        let doc = weir_integration::example_manifest(kind)?;
        let name = doc["metadata"]["name"]
            .as_str()
            .context("manifest without a name")?
            .to_owned();
        let ar = weir_integration::api_resource(&doc)?;
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns.name(), &ar);
        api.patch(
            &name,
            &PatchParams::apply("weir-integration-tests").force(),
            &Patch::Apply(&doc),
        )
        .await
        .with_context(|| format!("creating {kind} {name}"))?;

        let resource = format!("{plural}.{}", crd.spec.group);
        let output = weir_test_support::cluster::kubectl_command()?
            .args(["get", &resource, "-n", ns.name()])
            .output()
            .context("running kubectl")?;
        if !output.status.success() {
            bail!(
                "kubectl get {resource} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let header = stdout.lines().next().unwrap_or_default();
        let got = header_columns(header);
        if got != *expected {
            mismatches.push(format!(
                "{kind}: kubectl printed {got:?}, Flux prints {expected:?}"
            ));
        }

        // Short names resolve the kind too, as `kubectl get gitrepo` does with Flux.
        for short in crd.spec.names.short_names.iter().flatten() {
            let status = weir_test_support::cluster::kubectl_command()?
                .args(["get", short, "-n", ns.name(), "-o", "name"])
                .output()
                .context("running kubectl")?;
            if !String::from_utf8_lossy(&status.stdout).contains(&name) {
                mismatches.push(format!("{kind}: `kubectl get {short}` did not list {name}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    Ok(())
}

#[test]
fn header_split_keeps_multi_word_columns() {
    assert_eq!(
        header_columns("NAME   CHART     VERSION   SOURCE KIND      SOURCE NAME   AGE"),
        [
            "NAME",
            "CHART",
            "VERSION",
            "SOURCE KIND",
            "SOURCE NAME",
            "AGE"
        ]
    );
}
