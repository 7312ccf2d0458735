//! `cargo xtask crds`: render every CRD from `weir-api` into the places that
//! ship them (the Helm chart's `crds/` and `deploy/crds/`).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// The directories that receive the CRD files, relative to the workspace root.
const TARGETS: [&str; 2] = ["charts/weir/crds", "deploy/crds"];

/// Renders each CRD as `(file name, YAML)`, named as Flux names its files
/// (`<group>_<plural>.yaml`).
pub fn render() -> anyhow::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for crd in weir_api::crds() {
        let file = format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural);
        let body = serde_saphyr::to_string(&crd).with_context(|| format!("serialising {file}"))?;
        files.push((file, format!("---\n{body}")));
    }
    files.sort();
    Ok(files)
}

/// The kustomization that lets `kubectl apply -k deploy/crds` install them all.
fn kustomization(files: &[(String, String)]) -> String {
    let mut out = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for (name, _) in files {
        out.push_str(&format!("- {name}\n"));
    }
    out
}

/// Every file `crds` writes, with its content.
pub fn expected(root: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let files = render()?;
    let mut out = Vec::new();
    for dir in TARGETS {
        for (name, body) in &files {
            out.push((root.join(dir).join(name), body.clone()));
        }
    }
    out.push((
        root.join("deploy/crds/kustomization.yaml"),
        kustomization(&files),
    ));
    Ok(out)
}

/// Files present in the target directories that `crds` would not write.
fn strays(root: &Path, expected: &[(PathBuf, String)]) -> anyhow::Result<Vec<PathBuf>> {
    let mut strays = Vec::new();
    for dir in TARGETS {
        let dir = root.join(dir);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry
                .with_context(|| format!("listing {}", dir.display()))?
                .path();
            if !expected.iter().any(|(p, _)| *p == path) {
                strays.push(path);
            }
        }
    }
    Ok(strays)
}

/// The stale or missing files, by path.
pub fn stale(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let expected = expected(root)?;
    let mut stale: Vec<PathBuf> = expected
        .iter()
        .filter(|(path, body)| std::fs::read_to_string(path).ok().as_deref() != Some(body.as_str()))
        .map(|(path, _)| path.clone())
        .collect();
    stale.extend(strays(root, &expected)?);
    Ok(stale)
}

pub fn run(check: bool) -> anyhow::Result<()> {
    let root = crate::workspace_root();
    if check {
        let stale = stale(&root)?;
        if !stale.is_empty() {
            bail!(
                "CRD YAML is stale; run `cargo xtask crds`:\n{}",
                stale
                    .iter()
                    .map(|p| format!("  {}", p.display()))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        println!("CRD YAML is up to date");
        return Ok(());
    }
    let expected = expected(&root)?;
    for path in strays(&root, &expected)? {
        std::fs::remove_file(&path)
            .with_context(|| format!("removing stale {}", path.display()))?;
    }
    for (path, body) in &expected {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(path, body).with_context(|| format!("writing {}", path.display()))?;
        println!(
            "wrote {}",
            path.strip_prefix(&root).unwrap_or(path).display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_crds_are_current() {
        let stale = super::stale(&crate::workspace_root()).expect("render CRDs");
        assert!(
            stale.is_empty(),
            "stale CRD YAML, run `cargo xtask crds`: {stale:?}"
        );
    }

    #[test]
    fn every_flux_kind_is_rendered() {
        let files: Vec<String> = super::render()
            .expect("render")
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        for expected in [
            "source.toolkit.fluxcd.io_gitrepositories.yaml",
            "source.toolkit.fluxcd.io_ocirepositories.yaml",
            "source.toolkit.fluxcd.io_helmrepositories.yaml",
            "source.toolkit.fluxcd.io_helmcharts.yaml",
            "source.toolkit.fluxcd.io_buckets.yaml",
            "source.toolkit.fluxcd.io_externalartifacts.yaml",
            "kustomize.toolkit.fluxcd.io_kustomizations.yaml",
            "helm.toolkit.fluxcd.io_helmreleases.yaml",
            "image.toolkit.fluxcd.io_imagerepositories.yaml",
            "image.toolkit.fluxcd.io_imagepolicies.yaml",
            "image.toolkit.fluxcd.io_imageupdateautomations.yaml",
            "notification.toolkit.fluxcd.io_providers.yaml",
            "notification.toolkit.fluxcd.io_alerts.yaml",
            "notification.toolkit.fluxcd.io_receivers.yaml",
        ] {
            assert!(
                files.iter().any(|f| f == expected),
                "missing {expected} in {files:?}"
            );
        }
        assert_eq!(files.len(), 14);
    }
}
