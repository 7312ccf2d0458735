//! `spec.include`: other GitRepositories' artifacts copied into this one.

use std::fs;
use std::path::{Component, Path, PathBuf};

use weir_api::meta::Artifact;
use weir_api::source::v1::{GitRepository, GitRepositoryInclude};
use weir_artifact::Storage;
use weir_artifact::unpack::{UnpackLimits, unpack_tar_gz};

/// An include whose source has an artifact in storage.
#[derive(Clone, Debug)]
pub struct ReadyInclude {
    pub include: GitRepositoryInclude,
    pub artifact: Artifact,
}

/// Looks up each include in `repos` (the same namespace's GitRepositories).
/// Errors name the first include that is not ready.
pub fn resolve(
    repo: &GitRepository,
    repos: &[std::sync::Arc<GitRepository>],
    storage: &Storage,
) -> Result<Vec<ReadyInclude>, String> {
    let namespace = repo.metadata.namespace.as_deref().unwrap_or_default();
    let mut ready = Vec::new();
    for include in repo.spec.include.iter().flatten() {
        let name = &include.repository.name;
        let found = repos.iter().find(|r| {
            r.metadata.namespace.as_deref() == Some(namespace)
                && r.metadata.name.as_deref() == Some(name)
        });
        let Some(source) = found else {
            return Err(format!(
                "could not get resource for include '{name}': GitRepository '{namespace}/{name}' not found"
            ));
        };
        let artifact = source
            .status
            .as_ref()
            .and_then(|s| s.artifact.clone())
            .filter(|a| storage.exists(&a.path))
            .ok_or_else(|| format!("no artifact available for include '{name}'"))?;
        safe_relative(include.from_path()).ok_or_else(|| {
            format!(
                "include '{name}': fromPath '{}' is not a relative path inside the artifact",
                include.from_path()
            )
        })?;
        safe_relative(include.to_path())
            .filter(|p| !p.as_os_str().is_empty())
            .ok_or_else(|| {
                format!(
                    "include '{name}': toPath '{}' is not a relative path inside the repository",
                    include.to_path()
                )
            })?;
        ready.push(ReadyInclude {
            include: include.clone(),
            artifact,
        });
    }
    Ok(ready)
}

fn safe_relative(p: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir | Component::RootDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Copies `fromPath` of the include's artifact to `toPath` under `tree`,
/// replacing whatever the checkout had there. `scratch` is an empty
/// directory on the same filesystem as `tree`.
pub fn copy_into(
    storage: &Storage,
    include: &ReadyInclude,
    tree: &Path,
    scratch: &Path,
) -> Result<(), String> {
    let name = &include.include.repository.name;
    let local = storage
        .local_path(&include.artifact.path)
        .ok_or_else(|| format!("include '{name}': artifact path outside storage"))?;
    let file =
        fs::File::open(&local).map_err(|e| format!("include '{name}': opening artifact: {e}"))?;
    unpack_tar_gz(file, scratch, UnpackLimits::default())
        .map_err(|e| format!("include '{name}': {e}"))?;
    let from = scratch.join(safe_relative(include.include.from_path()).unwrap_or_default());
    let to = tree.join(safe_relative(include.include.to_path()).unwrap_or_default());
    if !from.is_dir() {
        return Err(format!(
            "include '{name}': fromPath '{}' does not exist in its artifact",
            include.include.from_path()
        ));
    }
    if to.exists() {
        fs::remove_dir_all(&to)
            .or_else(|_| fs::remove_file(&to))
            .map_err(|e| format!("include '{name}': clearing toPath: {e}"))?;
    }
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| format!("include '{name}': creating toPath: {e}"))?;
    }
    fs::rename(&from, &to).map_err(|e| format!("include '{name}': moving into toPath: {e}"))
}
