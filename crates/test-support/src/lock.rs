//! An exclusive lock on a file, so concurrent test processes build, install
//! or start a shared thing once.

use std::fs::{self, OpenOptions};
use std::path::Path;

use anyhow::Context as _;

/// Runs `f` while holding an exclusive lock on `path` (created, with its
/// directory, when missing).
pub(crate) fn with_file_lock<T>(
    path: &Path,
    f: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut lock = fd_lock::RwLock::new(file);
    let _guard = lock
        .write()
        .with_context(|| format!("locking {}", path.display()))?;
    f()
}
