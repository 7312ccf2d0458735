//! Filesystem abstraction: a real directory tree or an in-memory one.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

/// What the engine needs from a filesystem. Paths are absolute.
pub trait FileSystem: Send + Sync {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>>;
    fn is_dir(&self, path: &Path) -> bool;
    fn is_file(&self, path: &Path) -> bool;
    /// The path with symbolic links resolved; must exist.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
}

/// Lexically normalizes a path: removes `.` and resolves `..` against the
/// preceding component (as Go's `filepath.Clean` does).
pub fn clean(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) | Some(Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    let mut p = PathBuf::new();
    for c in out {
        p.push(c.as_os_str());
    }
    if p.as_os_str().is_empty() {
        p.push(".");
    }
    p
}

/// The host filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl FileSystem for RealFs {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
}

/// An in-memory filesystem (for tests and unpacked artifacts held in memory).
/// Directories exist implicitly as parents of files.
#[derive(Debug, Clone, Default)]
pub struct MemoryFs {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl MemoryFs {
    pub fn new() -> MemoryFs {
        MemoryFs::default()
    }

    /// Adds a file; relative paths are taken from `/`.
    pub fn add_file(&mut self, path: impl AsRef<Path>, content: impl Into<Vec<u8>>) {
        let p = Path::new("/").join(path.as_ref());
        self.files.insert(clean(&p), content.into());
    }
}

impl FileSystem for MemoryFs {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.files.get(&clean(path)).cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no such file", path.display()),
            )
        })
    }

    fn is_dir(&self, path: &Path) -> bool {
        let p = clean(path);
        if p == Path::new("/") {
            return true;
        }
        self.files
            .range(p.clone()..)
            .next()
            .is_some_and(|(k, _)| k != &p && k.starts_with(&p))
    }

    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(&clean(path))
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let p = clean(path);
        if self.is_file(&p) || self.is_dir(&p) {
            Ok(p)
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no such file or directory", path.display()),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_dirs() {
        let mut fs = MemoryFs::new();
        fs.add_file("a/b/c.yaml", "x");
        assert!(fs.is_dir(Path::new("/a")));
        assert!(fs.is_dir(Path::new("/a/b")));
        assert!(!fs.is_dir(Path::new("/a/b/c.yaml")));
        assert!(fs.is_file(Path::new("/a/./b/../b/c.yaml")));
        assert!(!fs.is_dir(Path::new("/a/bb")));
    }

    #[test]
    fn cleaning() {
        assert_eq!(clean(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
        assert_eq!(clean(Path::new("/../a")), PathBuf::from("/a"));
    }
}
