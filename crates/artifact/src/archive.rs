//! A directory to a deterministic, normalised `tar.gz`.
//!
//! The same tree always gives the same bytes, so the digest identifies the
//! content. As in Flux: only regular files and directories are archived
//! (symlinks, devices and sockets are left out, so a link can never smuggle
//! content from outside the tree); names are relative to the root, whose own
//! entry is `.`; entries come in Go's `filepath.Walk` order (each directory's
//! names sorted bytewise, a directory before its contents); owner ids are 0,
//! owner names empty, times zero; modes are 0750 for directories, 0700 for
//! executables and 0600 for other files.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::digest::HashingWriter;

const DIR_MODE: u32 = 0o750;
const EXEC_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// Bounds on what may go into one artifact.
#[derive(Clone, Copy, Debug)]
pub struct ArchiveLimits {
    /// Largest single file accepted, in bytes.
    pub max_file_size: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        // Manifests are small; anything this large is almost surely a mistake.
        Self {
            max_file_size: 50 * 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("file '{path}' is {size} bytes, over the {limit}-byte limit for artifact files")]
    FileTooLarge { path: String, size: u64, limit: u64 },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> ArchiveError {
    let context = context.into();
    move |source| ArchiveError::Io { context, source }
}

/// What was written: the compressed tarball's digest and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub digest: String,
    pub size: u64,
}

/// Writes the tree at `root` as a normalised tar.gz to `out`, leaving out
/// paths for which `exclude(relative_path, is_dir)` is true.
pub fn write_tar_gz<W: Write>(
    root: &Path,
    out: W,
    exclude: &dyn Fn(&Path, bool) -> bool,
    limits: ArchiveLimits,
) -> Result<(W, Written), ArchiveError> {
    let hashing = HashingWriter::new(out);
    let gz = GzEncoder::new(hashing, Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);

    append_dir_header(&mut tar, Path::new("."))?;
    walk(&mut tar, root, PathBuf::new(), exclude, limits)?;

    let gz = tar
        .into_inner()
        .map_err(io_err("finishing the tar stream"))?;
    let hashing = gz.finish().map_err(io_err("finishing the gzip stream"))?;
    let (out, digest, size) = hashing.finish();
    Ok((out, Written { digest, size }))
}

fn header(mode: u32, size: u64, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    // Empty owner names, as Flux writes them; ustar fields default to zeros.
    h
}

fn append_dir_header<W: Write>(tar: &mut tar::Builder<W>, rel: &Path) -> Result<(), ArchiveError> {
    let mut h = header(DIR_MODE, 0, tar::EntryType::Directory);
    tar.append_data(&mut h, rel, io::empty())
        .map_err(io_err(format!("archiving directory '{}'", rel.display())))
}

fn walk<W: Write>(
    tar: &mut tar::Builder<W>,
    root: &Path,
    rel: PathBuf,
    exclude: &dyn Fn(&Path, bool) -> bool,
    limits: ArchiveLimits,
) -> Result<(), ArchiveError> {
    let dir = root.join(&rel);
    let mut names: Vec<_> = fs::read_dir(&dir)
        .map_err(io_err(format!("reading directory '{}'", rel.display())))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(io_err(format!("reading directory '{}'", rel.display())))?;
    // Go's filepath.Walk order: names sorted as bytes.
    names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));

    for name in names {
        let child_rel = rel.join(&name);
        let path = dir.join(&name);
        let meta = fs::symlink_metadata(&path)
            .map_err(io_err(format!("inspecting '{}'", child_rel.display())))?;
        let kind = meta.file_type();
        if kind.is_dir() {
            if !exclude(&child_rel, true) {
                append_dir_header(tar, &child_rel)?;
            }
            // Like Flux, keep walking: a later negation may re-include a child.
            walk(tar, root, child_rel, exclude, limits)?;
        } else if kind.is_file() {
            if exclude(&child_rel, false) {
                continue;
            }
            if meta.len() > limits.max_file_size {
                return Err(ArchiveError::FileTooLarge {
                    path: child_rel.display().to_string(),
                    size: meta.len(),
                    limit: limits.max_file_size,
                });
            }
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                EXEC_MODE
            } else {
                FILE_MODE
            };
            let file =
                File::open(&path).map_err(io_err(format!("opening '{}'", child_rel.display())))?;
            let mut h = header(mode, meta.len(), tar::EntryType::Regular);
            tar.append_data(&mut h, &child_rel, file)
                .map_err(io_err(format!("archiving '{}'", child_rel.display())))?;
        }
        // Symlinks, sockets, devices: never archived.
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn entries(bytes: &[u8]) -> Vec<(String, tar::EntryType, u32, u64, String)> {
        let gz = flate2::read::GzDecoder::new(bytes);
        let mut archive = tar::Archive::new(gz);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let h = e.header().clone();
                let mut content = String::new();
                e.read_to_string(&mut content).unwrap();
                (
                    String::from_utf8(h.path_bytes().to_vec()).unwrap(),
                    h.entry_type(),
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                    content,
                )
            })
            .collect()
    }

    #[test]
    fn normalised_and_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::write(root.join("a/b/c.yaml"), "c").unwrap();
        fs::write(root.join("a.txt"), "top").unwrap();
        fs::write(root.join("run.sh"), "#!/bin/sh").unwrap();
        fs::set_permissions(root.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(root.join("a.txt"), fs::Permissions::from_mode(0o664)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("passwd")).unwrap();
        std::os::unix::fs::symlink("a", root.join("alias")).unwrap();

        let none = |_: &Path, _: bool| false;
        let (first, w1) = write_tar_gz(root, Vec::new(), &none, ArchiveLimits::default()).unwrap();
        // Touch times and owners must not matter.
        std::thread::sleep(std::time::Duration::from_millis(10));
        fs::write(root.join("a.txt"), "top").unwrap();
        let (second, w2) = write_tar_gz(root, Vec::new(), &none, ArchiveLimits::default()).unwrap();
        assert_eq!(first, second);
        assert_eq!(w1, w2);
        assert!(w1.digest.starts_with("sha256:") && w1.digest.len() == 7 + 64);
        assert_eq!(w1.size, first.len() as u64);

        let got = entries(&first);
        let names: Vec<&str> = got.iter().map(|e| e.0.as_str()).collect();
        // Go's Walk order: "a" and its contents before "a.txt"; links absent.
        assert_eq!(names, [".", "a", "a/b", "a/b/c.yaml", "a.txt", "run.sh"]);
        for (name, kind, mode, mtime, _) in &got {
            assert_eq!(*mtime, 0, "{name}");
            let want = match (kind.is_dir(), name.as_str()) {
                (true, _) => 0o750,
                (false, "run.sh") => 0o700,
                _ => 0o600,
            };
            assert_eq!(*mode, want, "{name}");
        }
        let gz = flate2::read::GzDecoder::new(&first[..]);
        let mut archive = tar::Archive::new(gz);
        for e in archive.entries().unwrap() {
            let e = e.unwrap();
            let h = e.header();
            assert_eq!(h.uid().unwrap(), 0);
            assert_eq!(h.gid().unwrap(), 0);
            assert_eq!(h.username().unwrap(), Some(""));
            assert_eq!(h.groupname().unwrap(), Some(""));
        }
    }

    #[test]
    fn exclusions_and_limits() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("skip")).unwrap();
        fs::write(root.join("skip/x"), "x").unwrap();
        fs::write(root.join("big.bin"), vec![0u8; 2048]).unwrap();
        fs::write(root.join("keep"), "k").unwrap();

        let skip = |p: &Path, _: bool| p.starts_with("skip") || p == Path::new("big.bin");
        let (bytes, _) = write_tar_gz(
            root,
            Vec::new(),
            &skip,
            ArchiveLimits {
                max_file_size: 1024,
            },
        )
        .unwrap();
        let names: Vec<String> = entries(&bytes).into_iter().map(|e| e.0).collect();
        assert_eq!(names, [".", "keep"]);

        let none = |_: &Path, _: bool| false;
        let err = write_tar_gz(
            root,
            Vec::new(),
            &none,
            ArchiveLimits {
                max_file_size: 1024,
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, ArchiveError::FileTooLarge { ref path, size: 2048, limit: 1024 } if path == "big.bin"),
            "{err}"
        );
    }

    #[test]
    fn long_paths_survive() {
        let dir = tempfile::tempdir().unwrap();
        let deep = "d".repeat(60) + "/" + &"e".repeat(60) + "/" + &"f".repeat(60);
        fs::create_dir_all(dir.path().join(&deep)).unwrap();
        fs::write(dir.path().join(&deep).join("file.yaml"), "x").unwrap();
        let none = |_: &Path, _: bool| false;
        let (bytes, _) =
            write_tar_gz(dir.path(), Vec::new(), &none, ArchiveLimits::default()).unwrap();
        let gz = flate2::read::GzDecoder::new(&bytes[..]);
        let mut archive = tar::Archive::new(gz);
        let paths: Vec<PathBuf> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().into_owned())
            .collect();
        assert!(paths.contains(&PathBuf::from(format!("{deep}/file.yaml"))));
    }
}
