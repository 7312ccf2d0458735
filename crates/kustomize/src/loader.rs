//! Loading files and kustomization roots with kustomize's restrictions: files
//! must lie inside the kustomization's root, no remote targets, no cycles.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::fs::{FileSystem, clean};

/// Loads files relative to one kustomization root.
#[derive(Clone)]
pub struct Loader {
    fs: Arc<dyn FileSystem>,
    root: PathBuf,
    restrictions: LoadRestrictions,
    /// Roots of the kustomizations that led here, nearest first.
    referrers: Vec<PathBuf>,
}

/// Which files a kustomization may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadRestrictions {
    /// Only files in or below the kustomization's directory (kustomize's
    /// default, `LoadRestrictionsRootOnly`).
    #[default]
    RootOnly,
    /// Any file (`LoadRestrictionsNone`).
    None,
}

/// Whether a resource entry names something remote (a URL or a git repo).
pub fn is_remote(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.contains("://")
        || lower.starts_with("git@")
        || lower.starts_with("github.com/")
        || lower.starts_with("gitlab.com/")
        || lower.starts_with("bitbucket.org/")
        || lower.contains(".git//")
        || lower.contains("?ref=")
}

impl Loader {
    /// A loader at `dir`, which must be a directory.
    pub fn new(fs: Arc<dyn FileSystem>, dir: &Path) -> Result<Loader> {
        Loader::with_restrictions(fs, dir, LoadRestrictions::RootOnly)
    }

    /// A loader at `dir` with the given file restrictions.
    pub fn with_restrictions(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        restrictions: LoadRestrictions,
    ) -> Result<Loader> {
        let root = confirm_dir(fs.as_ref(), dir)?;
        Ok(Loader {
            fs,
            root,
            restrictions,
            referrers: Vec::new(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn fs(&self) -> &dyn FileSystem {
        self.fs.as_ref()
    }

    /// Reads a file given relative to the root; it must resolve inside it.
    pub fn load(&self, path: &str) -> Result<Vec<u8>> {
        if is_remote(path) {
            return Err(Error::new(format!(
                "'{path}': remote files are not supported"
            )));
        }
        let p = Path::new(path);
        let joined = if p.is_absolute() {
            clean(p)
        } else {
            clean(&self.root.join(p))
        };
        let Some(file_name) = joined.file_name().map(|f| f.to_os_string()) else {
            return Err(Error::new(format!("'{path}' must resolve to a file")));
        };
        let parent = joined.parent().unwrap_or(Path::new("/"));
        let dir = self.fs.canonicalize(parent).map_err(|e| {
            Error::new(format!(
                "evalsymlink failure on '{}' : {e}",
                joined.display()
            ))
        })?;
        let resolved = dir.join(&file_name);
        if self.restrictions == LoadRestrictions::RootOnly && !dir.starts_with(&self.root) {
            return Err(Error::new(format!(
                "security; file '{}' is not in or below '{}'",
                joined.display(),
                self.root.display()
            )));
        }
        if self.fs.is_dir(&resolved) {
            return Err(Error::new(format!(
                "read {}: is a directory",
                resolved.display()
            )));
        }
        self.fs
            .read_file(&resolved)
            .map_err(|e| Error::new(format!("open {}: {e}", resolved.display())))
    }

    /// A loader for a kustomization directory referenced from this one.
    pub fn child(&self, path: &str) -> Result<Loader> {
        if path.is_empty() {
            return Err(Error::new("new root cannot be empty"));
        }
        if is_remote(path) {
            return Err(Error::new(format!(
                "'{path}': remote bases and resources are not supported"
            )));
        }
        if Path::new(path).is_absolute() {
            return Err(Error::new(format!("new root '{path}' cannot be absolute")));
        }
        let root = confirm_dir(self.fs.as_ref(), &self.root.join(path))
            .map_err(|e| e.context("must build at directory"))?;
        let mut chain = vec![self.root.clone()];
        chain.extend(self.referrers.iter().cloned());
        for visited in &chain {
            if visited.starts_with(&root) {
                return Err(Error::new(format!(
                    "cycle detected: candidate root '{}' contains visited root '{}'",
                    root.display(),
                    visited.display()
                )));
            }
        }
        Ok(Loader {
            fs: self.fs.clone(),
            root,
            restrictions: self.restrictions,
            referrers: chain,
        })
    }
}

fn confirm_dir(fs: &dyn FileSystem, dir: &Path) -> Result<PathBuf> {
    let c = fs
        .canonicalize(&clean(dir))
        .map_err(|e| Error::new(format!("'{}': {e}", dir.display())))?;
    if !fs.is_dir(&c) {
        return Err(Error::new(format!(
            "'{}' is not a directory",
            dir.display()
        )));
    }
    Ok(c)
}
