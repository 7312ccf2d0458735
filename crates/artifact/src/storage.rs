//! The artifact store: Flux's on-disk and URL layout.
//!
//! Artifacts live at `<root>/<kind>/<namespace>/<name>/<file>` (kind in
//! lower case) and are served at `<base-url>/<kind>/<namespace>/<name>/<file>`.
//! Every write goes to a temporary file in the same directory and is renamed
//! into place, so a reader never sees half an artifact. `latest.tar.gz` is a
//! symlink to the newest one. Old files are garbage collected by age and
//! count, and an object's directory is removed with the object.

use std::fs;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::archive::{self, ArchiveError, ArchiveLimits};

/// The symlink in each object's directory naming its newest artifact.
pub const LATEST: &str = "latest.tar.gz";

/// The store's configuration.
#[derive(Clone, Debug)]
pub struct Storage {
    root: PathBuf,
    base_url: String,
    retention_ttl: Duration,
    retention_records: usize,
}

/// A file written into the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredArtifact {
    /// Path relative to the storage root (`status.artifact.path`).
    pub path: String,
    /// Download address (`status.artifact.url`).
    pub url: String,
    /// `sha256:<hex>` of the file.
    pub digest: String,
    pub size: u64,
}

impl Storage {
    /// `adv_addr` is the advertised address: `host:port` (served as
    /// `http://host:port`) or a full `http(s)://` URL, as Flux's
    /// `--storage-adv-addr`.
    pub fn new(
        root: impl Into<PathBuf>,
        adv_addr: &str,
        retention_ttl: Duration,
        retention_records: usize,
    ) -> io::Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        let adv = adv_addr.trim_end_matches('/');
        let base_url = if adv.starts_with("http://") || adv.starts_with("https://") {
            adv.to_owned()
        } else {
            format!("http://{adv}")
        };
        Ok(Self {
            root,
            base_url,
            retention_ttl,
            retention_records: retention_records.max(1),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Flux's relative artifact path: `<kind lowercased>/<ns>/<name>/<file>`.
    pub fn artifact_path(kind: &str, namespace: &str, name: &str, file: &str) -> String {
        format!("{}/{namespace}/{name}/{file}", kind.to_lowercase())
    }

    /// The directory holding all artifacts of one object.
    pub fn object_dir(&self, kind: &str, namespace: &str, name: &str) -> PathBuf {
        self.root
            .join(kind.to_lowercase())
            .join(namespace)
            .join(name)
    }

    pub fn url_for(&self, path: &str) -> String {
        format!("{}/{}", self.base_url, path.trim_start_matches('/'))
    }

    /// The file backing a relative artifact path; `None` if the path would
    /// leave the store (it comes from object status, which users can edit).
    pub fn local_path(&self, path: &str) -> Option<PathBuf> {
        let rel = Path::new(path.trim_start_matches('/'));
        let safe = rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        safe.then(|| self.root.join(rel))
    }

    /// Whether the artifact's file exists and is a regular file.
    pub fn exists(&self, path: &str) -> bool {
        self.local_path(path)
            .and_then(|p| fs::symlink_metadata(p).ok())
            .is_some_and(|m| m.is_file())
    }

    /// Checks the stored file against an expected digest.
    pub fn verify(&self, path: &str, digest: &str) -> io::Result<bool> {
        let local = self
            .local_path(path)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path outside storage"))?;
        Ok(crate::digest::file_sha256(&local)? == digest)
    }

    /// Archives the tree at `dir` to `path`, atomically, and points
    /// `latest.tar.gz` at it.
    pub fn archive_dir(
        &self,
        path: &str,
        dir: &Path,
        exclude: &dyn Fn(&Path, bool) -> bool,
        limits: ArchiveLimits,
    ) -> Result<StoredArtifact, ArchiveError> {
        let local = self.local_path(path).ok_or_else(|| ArchiveError::Io {
            context: format!("artifact path '{path}'"),
            source: io::Error::new(io::ErrorKind::InvalidInput, "path outside storage"),
        })?;
        let parent = local.parent().unwrap_or(&self.root).to_path_buf();
        let ctx = |what: &str| {
            let what = what.to_owned();
            move |source| ArchiveError::Io {
                context: what,
                source,
            }
        };
        fs::create_dir_all(&parent).map_err(ctx("creating the artifact directory"))?;
        let temp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&parent)
            .map_err(ctx("creating a temporary artifact file"))?;
        let (writer, written) = archive::write_tar_gz(dir, BufWriter::new(temp), exclude, limits)?;
        let temp = writer.into_inner().map_err(|e| ArchiveError::Io {
            context: "flushing the artifact".into(),
            source: e.into_error(),
        })?;
        temp.as_file()
            .sync_all()
            .map_err(ctx("syncing the artifact"))?;
        // tempfile creates files 0600, the mode Flux gives artifacts.
        temp.persist(&local).map_err(|e| ArchiveError::Io {
            context: "renaming the artifact into place".into(),
            source: e.error,
        })?;
        self.link_latest(&local)
            .map_err(ctx("updating latest.tar.gz"))?;
        Ok(StoredArtifact {
            path: path.to_owned(),
            url: self.url_for(path),
            digest: written.digest,
            size: written.size,
        })
    }

    /// Points `latest.tar.gz` in the artifact's directory at it (atomically).
    fn link_latest(&self, local: &Path) -> io::Result<()> {
        let (Some(parent), Some(file)) = (local.parent(), local.file_name()) else {
            return Ok(());
        };
        let temp = parent.join(format!(".tmp-latest-{}", std::process::id()));
        let _ = fs::remove_file(&temp);
        std::os::unix::fs::symlink(file, &temp)?;
        fs::rename(&temp, parent.join(LATEST))
    }

    /// Removes old artifacts of the object whose current artifact is `path`:
    /// those older than the retention TTL, then the oldest until at most
    /// `retention_records` remain. The current artifact is always kept.
    /// Returns the removed files.
    pub fn garbage_collect(&self, path: &str) -> io::Result<Vec<PathBuf>> {
        let Some(current) = self.local_path(path) else {
            return Ok(Vec::new());
        };
        let Some(dir) = current.parent() else {
            return Ok(Vec::new());
        };
        let now = SystemTime::now();
        let mut files: Vec<(SystemTime, PathBuf)> = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            let name = entry.file_name();
            // Symlinks (latest.tar.gz) are not artifacts; in-flight temp files
            // belong to a writer.
            if !meta.is_file() || name.to_string_lossy().starts_with(".tmp-") {
                continue;
            }
            files.push((meta.modified()?, entry.path()));
        }
        files.sort();
        let mut removed = Vec::new();
        let mut remaining = files.len();
        for (modified, file) in &files {
            if *file == current {
                continue;
            }
            let expired = now.duration_since(*modified).unwrap_or_default() > self.retention_ttl;
            if expired || remaining > self.retention_records {
                fs::remove_file(file)?;
                removed.push(file.clone());
                remaining -= 1;
            }
        }
        Ok(removed)
    }

    /// Removes every artifact of an object (on deletion).
    pub fn remove_object(&self, kind: &str, namespace: &str, name: &str) -> io::Result<bool> {
        let dir = self.object_dir(kind, namespace, name);
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.yaml"), "a: 1\n").unwrap();
        dir
    }

    #[test]
    fn layout_urls_and_atomic_archive() {
        let store_dir = tempfile::tempdir().unwrap();
        let storage = Storage::new(
            store_dir.path(),
            "source-controller.flux-system.svc.cluster.local.",
            Duration::from_secs(60),
            2,
        )
        .unwrap();
        let path = Storage::artifact_path("GitRepository", "ns", "podinfo", "abc.tar.gz");
        assert_eq!(path, "gitrepository/ns/podinfo/abc.tar.gz");
        assert_eq!(
            storage.url_for(&path),
            "http://source-controller.flux-system.svc.cluster.local./gitrepository/ns/podinfo/abc.tar.gz"
        );
        let https = Storage::new(
            store_dir.path(),
            "https://example.com/",
            Duration::from_secs(1),
            1,
        )
        .unwrap();
        assert_eq!(https.url_for("x/y"), "https://example.com/x/y");

        let src = tree();
        let stored = storage
            .archive_dir(&path, src.path(), &|_, _| false, ArchiveLimits::default())
            .unwrap();
        assert!(storage.exists(&path));
        assert!(storage.verify(&path, &stored.digest).unwrap());
        let latest = store_dir
            .path()
            .join("gitrepository/ns/podinfo/latest.tar.gz");
        assert_eq!(fs::read_link(&latest).unwrap(), PathBuf::from("abc.tar.gz"));
        // No temp files left behind.
        let names: Vec<_> = fs::read_dir(latest.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn paths_cannot_escape_the_store() {
        let store_dir = tempfile::tempdir().unwrap();
        let storage = Storage::new(store_dir.path(), "h:9090", Duration::from_secs(60), 2).unwrap();
        assert!(storage.local_path("../etc/passwd").is_none());
        assert!(storage.local_path("a/../../b").is_none());
        assert!(!storage.exists("../../etc/passwd"));
        assert!(storage.local_path("/gitrepository/a/b/c.tar.gz").is_some());
    }

    #[test]
    fn gc_keeps_records_and_current() {
        let store_dir = tempfile::tempdir().unwrap();
        let storage = Storage::new(store_dir.path(), "h", Duration::from_secs(3600), 2).unwrap();
        let src = tree();
        let mut paths = Vec::new();
        for i in 0..5 {
            let p = Storage::artifact_path("GitRepository", "ns", "n", &format!("{i}.tar.gz"));
            storage
                .archive_dir(&p, src.path(), &|_, _| false, ArchiveLimits::default())
                .unwrap();
            // Distinct mtimes so "oldest" is well defined.
            let f = storage.local_path(&p).unwrap();
            let t = SystemTime::now() - Duration::from_secs(100 - i * 10);
            fs::File::options()
                .write(true)
                .open(&f)
                .unwrap()
                .set_modified(t)
                .unwrap();
            paths.push(p);
        }
        // The current one is not the newest by mtime: it must survive anyway.
        let removed = storage.garbage_collect(&paths[1]).unwrap();
        assert_eq!(removed.len(), 3);
        assert!(storage.exists(&paths[1]));
        assert!(storage.exists(&paths[4]));
        assert!(!storage.exists(&paths[0]));

        let ttl = Storage::new(store_dir.path(), "h", Duration::from_secs(1), 10).unwrap();
        let removed = ttl.garbage_collect(&paths[1]).unwrap();
        assert_eq!(removed, vec![storage.local_path(&paths[4]).unwrap()]);
        assert!(storage.exists(&paths[1]));

        assert!(storage.remove_object("GitRepository", "ns", "n").unwrap());
        assert!(!storage.object_dir("GitRepository", "ns", "n").exists());
        assert!(!storage.remove_object("GitRepository", "ns", "n").unwrap());
    }
}
