//! Safe extraction of a fetched artifact.
//!
//! An artifact comes over the network and is untrusted. Extraction refuses
//! absolute paths, `..` components, symlinks and hard links, device files,
//! and archives whose unpacked size or entry count exceed the limits; it
//! writes only regular files and directories below the destination.

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

#[derive(Clone, Copy, Debug)]
pub struct UnpackLimits {
    /// Total bytes of file content.
    pub max_bytes: u64,
    /// Number of entries.
    pub max_entries: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        // Flux's default untar limit is 100 MiB.
        Self {
            max_bytes: 100 * 1024 * 1024,
            max_entries: 100_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("archive entry '{0}' escapes the destination")]
    Traversal(String),
    #[error("archive entry '{0}' is a link; links are not allowed in artifacts")]
    Link(String),
    #[error("archive entry '{0}' has an unsupported type")]
    Unsupported(String),
    #[error("archive unpacks to more than {0} bytes")]
    TooLarge(u64),
    #[error("archive has more than {0} entries")]
    TooManyEntries(u64),
    #[error("reading the archive: {0}")]
    Io(#[from] io::Error),
}

/// A relative, normal path inside the destination, or `None`.
fn safe_relative(raw: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in raw.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Unpacks a `tar.gz` stream into `dest` (created if missing).
pub fn unpack_tar_gz(
    reader: impl Read,
    dest: &Path,
    limits: UnpackLimits,
) -> Result<(), UnpackError> {
    fs::create_dir_all(dest)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let mut total: u64 = 0;
    let mut count: u64 = 0;
    for entry in archive.entries()? {
        let mut entry = entry?;
        count += 1;
        if count > limits.max_entries {
            return Err(UnpackError::TooManyEntries(limits.max_entries));
        }
        let raw = entry.path()?.into_owned();
        let shown = raw.display().to_string();
        let rel = safe_relative(&raw).ok_or_else(|| UnpackError::Traversal(shown.clone()))?;
        let kind = entry.header().entry_type();
        let target = dest.join(&rel);
        if kind.is_dir() {
            fs::create_dir_all(&target)?;
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            let size = entry.header().size()?;
            total = total.saturating_add(size);
            if total > limits.max_bytes {
                return Err(UnpackError::TooLarge(limits.max_bytes));
            }
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            // A directory created earlier from a symlink can't exist (links are
            // refused), so `target` stays inside `dest`.
            let mut file = fs::File::create(&target)?;
            // Copy at most the declared size so a lying header can't exceed it.
            let copied = io::copy(&mut (&mut entry).take(size), &mut file)?;
            if copied != size {
                return Err(UnpackError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("entry '{shown}' is truncated"),
                )));
            }
            let mode = entry.header().mode().unwrap_or(0o600);
            let exec = mode & 0o111 != 0;
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(
                &target,
                fs::Permissions::from_mode(if exec { 0o755 } else { 0o644 }),
            )?;
        } else if kind.is_symlink() || kind.is_hard_link() {
            return Err(UnpackError::Link(shown));
        } else if matches!(
            kind,
            tar::EntryType::XGlobalHeader
                | tar::EntryType::XHeader
                | tar::EntryType::GNULongName
                | tar::EntryType::GNULongLink
        ) {
            // Metadata entries the tar crate has already applied.
        } else {
            return Err(UnpackError::Unsupported(shown));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;

    fn tar_gz(build: impl FnOnce(&mut tar::Builder<GzEncoder<Vec<u8>>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
        build(&mut b);
        b.into_inner().unwrap().finish().unwrap()
    }

    fn file(b: &mut tar::Builder<GzEncoder<Vec<u8>>>, raw_name: &[u8], content: &[u8]) {
        let mut h = tar::Header::new_gnu();
        // Write the name bytes directly so hostile names reach the archive.
        h.as_gnu_mut().unwrap().name[..raw_name.len()].copy_from_slice(raw_name);
        h.set_size(content.len() as u64);
        h.set_mode(0o600);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, content).unwrap();
    }

    #[test]
    fn round_trip_of_an_archive() {
        let src = tempfile::tempdir().unwrap();
        fs::create_dir_all(src.path().join("a/b")).unwrap();
        fs::write(src.path().join("a/b/c.yaml"), "c: 1\n").unwrap();
        let (bytes, _) =
            crate::archive::write_tar_gz(src.path(), Vec::new(), &|_, _| false, Default::default())
                .unwrap();
        let dest = tempfile::tempdir().unwrap();
        unpack_tar_gz(&bytes[..], dest.path(), UnpackLimits::default()).unwrap();
        assert_eq!(
            fs::read_to_string(dest.path().join("a/b/c.yaml")).unwrap(),
            "c: 1\n"
        );
    }

    #[test]
    fn hostile_archives_are_refused() {
        let dest = tempfile::tempdir().unwrap();
        let traversal = tar_gz(|b| file(b, b"../escape.yaml", b"x"));
        assert!(matches!(
            unpack_tar_gz(&traversal[..], dest.path(), UnpackLimits::default()),
            Err(UnpackError::Traversal(_))
        ));
        let absolute = tar_gz(|b| file(b, b"/tmp/abs.yaml", b"x"));
        assert!(matches!(
            unpack_tar_gz(&absolute[..], dest.path(), UnpackLimits::default()),
            Err(UnpackError::Traversal(_))
        ));
        assert!(!dest.path().parent().unwrap().join("escape.yaml").exists());

        let link = tar_gz(|b| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, "passwd", "/etc/passwd").unwrap();
        });
        assert!(matches!(
            unpack_tar_gz(&link[..], dest.path(), UnpackLimits::default()),
            Err(UnpackError::Link(_))
        ));

        let big = tar_gz(|b| file(b, b"big", &vec![0u8; 4096]));
        let limits = UnpackLimits {
            max_bytes: 1024,
            max_entries: 10,
        };
        assert!(matches!(
            unpack_tar_gz(&big[..], dest.path(), limits),
            Err(UnpackError::TooLarge(1024))
        ));

        let many = tar_gz(|b| {
            for i in 0..20 {
                file(b, format!("f{i}").as_bytes(), b"");
            }
        });
        assert!(matches!(
            unpack_tar_gz(&many[..], dest.path(), limits),
            Err(UnpackError::TooManyEntries(10))
        ));
    }
}
