//! Artifact digests in Flux's `<algorithm>:<hex>` form.

use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest as _, Sha256};

/// Formats a finished SHA-256 as Flux writes it: `sha256:<hex>`.
pub fn format_sha256(hash: Sha256) -> String {
    format!("sha256:{}", hex::encode(hash.finalize()))
}

/// The `sha256:<hex>` digest of a file's bytes.
pub fn file_sha256(path: &Path) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hash = Sha256::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(format_sha256(hash))
}

/// A writer that hashes and counts everything passing through to `inner`.
pub struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hash: Sha256::new(),
            written: 0,
        }
    }

    /// The inner writer, the `sha256:<hex>` digest and the byte count.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, format_sha256(self.hash), self.written)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
