//! Which files of a source tree go into its artifact.
//!
//! Flux's rules, in order, with the last matching pattern deciding:
//! 1. the VCS patterns (`.git/`, `.gitignore`, `.gitmodules`, `.gitattributes`),
//!    always;
//! 2. the default exclusions (images, archives, CI configuration, a few tool
//!    files), but only when the tree and the object bring no patterns of their
//!    own — as soon as any `.sourceignore` line or `spec.ignore` exists, the
//!    defaults are dropped, as in Flux;
//! 3. every `.sourceignore` file, the root's first, then subdirectories depth
//!    first in name order, each scoped to its own directory;
//! 4. `spec.ignore`, scoped to the root.
//!
//! A path is excluded when a pattern excludes it or one of its parent
//! directories, unless a later negation re-includes it.

use std::io;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// The per-directory ignore file Flux reads.
pub const IGNORE_FILE: &str = ".sourceignore";

const VCS_PATTERNS: &[&str] = &[".git/", ".gitignore", ".gitmodules", ".gitattributes"];

const DEFAULT_PATTERNS: &[&str] = &[
    // Binary and archive extensions.
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
    // CI configuration.
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    // Tool files that are never manifests.
    "**/.goreleaser.yml",
    "**/.sops.yaml",
    "**/.flux.yaml",
];

/// One group of patterns scoped to a directory (relative to the tree root).
struct ScopedPatterns {
    domain: PathBuf,
    matcher: Gitignore,
}

/// The compiled ignore rules of one source tree.
pub struct IgnoreRules {
    sets: Vec<ScopedPatterns>,
}

/// Lines that count as patterns: Flux skips comments and blank lines.
fn pattern_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
}

fn compile(domain: &Path, lines: &[&str]) -> io::Result<ScopedPatterns> {
    let mut builder = GitignoreBuilder::new(domain);
    for line in lines {
        builder
            .add_line(None, line)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{line:?}: {e}")))?;
    }
    let matcher = builder
        .build()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    Ok(ScopedPatterns {
        domain: domain.to_path_buf(),
        matcher,
    })
}

impl IgnoreRules {
    /// Flux's rules for the tree at `root`, with the object's `spec.ignore`.
    pub fn load(root: &Path, spec_ignore: Option<&str>) -> io::Result<Self> {
        let mut own: Vec<(PathBuf, String)> = Vec::new();
        collect_ignore_files(root, Path::new(""), &mut own)?;
        if let Some(text) = spec_ignore {
            own.push((PathBuf::new(), text.to_owned()));
        }
        let has_own_patterns = own
            .iter()
            .any(|(_, text)| pattern_lines(text).next().is_some());

        let mut sets = vec![compile(Path::new(""), VCS_PATTERNS)?];
        if !has_own_patterns {
            sets.push(compile(Path::new(""), DEFAULT_PATTERNS)?);
        }
        for (domain, text) in &own {
            let lines: Vec<&str> = pattern_lines(text).collect();
            if !lines.is_empty() {
                sets.push(compile(domain, &lines)?);
            }
        }
        Ok(Self { sets })
    }

    /// Whether `rel` (relative to the tree root) is left out of the artifact.
    pub fn is_ignored(&self, rel: &Path, is_dir: bool) -> bool {
        let mut ignored = false;
        for set in &self.sets {
            let Ok(inner) = rel.strip_prefix(&set.domain) else {
                continue;
            };
            if inner.as_os_str().is_empty() {
                continue;
            }
            let m = set.matcher.matched_path_or_any_parents(inner, is_dir);
            if m.is_ignore() {
                ignored = true;
            } else if m.is_whitelist() {
                ignored = false;
            }
        }
        ignored
    }
}

/// Reads `.sourceignore` files below `dir` in Flux's order: this directory's
/// first, then each subdirectory (not `.git`) in name order, recursively.
fn collect_ignore_files(
    root: &Path,
    rel: &Path,
    out: &mut Vec<(PathBuf, String)>,
) -> io::Result<()> {
    let dir = root.join(rel);
    match std::fs::read(dir.join(IGNORE_FILE)) {
        Ok(bytes) => out.push((
            rel.to_path_buf(),
            String::from_utf8_lossy(&bytes).into_owned(),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut subdirs = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let entry = entry?;
        // Not following symlinks: only real directories of the tree count.
        if entry.file_type()?.is_dir() && entry.file_name() != ".git" {
            subdirs.push(entry.file_name());
        }
    }
    subdirs.sort();
    for name in subdirs {
        collect_ignore_files(root, &rel.join(name), out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        dir
    }

    fn ignored(rules: &IgnoreRules, path: &str) -> bool {
        rules.is_ignored(Path::new(path), false)
    }

    #[test]
    fn defaults_apply_without_own_patterns() {
        let dir = tree(&[("a.yaml", "")]);
        let rules = IgnoreRules::load(dir.path(), None).unwrap();
        assert!(ignored(&rules, "logo.png"));
        assert!(ignored(&rules, "deep/dir/archive.tar.gz"));
        assert!(ignored(&rules, ".github/workflows/ci.yaml"));
        assert!(ignored(&rules, "apps/.sops.yaml"));
        assert!(ignored(&rules, ".gitignore"));
        assert!(ignored(&rules, ".git/config"));
        assert!(!ignored(&rules, "a.yaml"));
        assert!(!ignored(&rules, "apps/deploy.yaml"));
    }

    #[test]
    fn own_patterns_drop_the_defaults_but_not_vcs() {
        let dir = tree(&[("a.yaml", "")]);
        let rules = IgnoreRules::load(dir.path(), Some("*.md\n")).unwrap();
        assert!(ignored(&rules, "README.md"));
        assert!(
            !ignored(&rules, "logo.png"),
            "defaults are dropped as in Flux"
        );
        assert!(ignored(&rules, ".gitmodules"));
        // Comments and blank lines are not patterns: defaults stay.
        let rules = IgnoreRules::load(dir.path(), Some("# nothing\n\n")).unwrap();
        assert!(ignored(&rules, "logo.png"));
    }

    #[test]
    fn spec_ignore_allowlist_idiom() {
        let dir = tree(&[("deploy/app.yaml", ""), ("README.md", "")]);
        let rules = IgnoreRules::load(dir.path(), Some("/*\n!/deploy\n")).unwrap();
        assert!(ignored(&rules, "README.md"));
        assert!(ignored(&rules, "src/main.go"));
        assert!(!ignored(&rules, "deploy/app.yaml"));
        assert!(!rules.is_ignored(Path::new("deploy"), true));
    }

    #[test]
    fn nested_sourceignore_is_scoped_to_its_directory() {
        let dir = tree(&[
            ("apps/.sourceignore", "secret.yaml\n/local.yaml\n"),
            ("apps/secret.yaml", ""),
            ("apps/local.yaml", ""),
            ("apps/sub/local.yaml", ""),
            ("secret.yaml", ""),
        ]);
        let rules = IgnoreRules::load(dir.path(), None).unwrap();
        assert!(ignored(&rules, "apps/secret.yaml"));
        assert!(ignored(&rules, "apps/local.yaml"));
        assert!(!ignored(&rules, "apps/sub/local.yaml"), "anchored to apps/");
        assert!(!ignored(&rules, "secret.yaml"), "scoped to apps/");
    }

    #[test]
    fn later_patterns_win_and_spec_comes_last() {
        let dir = tree(&[(".sourceignore", "*.yaml\n")]);
        let rules = IgnoreRules::load(dir.path(), Some("!keep.yaml\n")).unwrap();
        assert!(ignored(&rules, "drop.yaml"));
        assert!(!ignored(&rules, "keep.yaml"));
    }

    #[test]
    fn ignored_directory_hides_its_children() {
        let dir = tree(&[(".sourceignore", "tests/\n")]);
        let rules = IgnoreRules::load(dir.path(), None).unwrap();
        assert!(rules.is_ignored(Path::new("tests"), true));
        assert!(ignored(&rules, "tests/fixtures/a.yaml"));
    }
}
