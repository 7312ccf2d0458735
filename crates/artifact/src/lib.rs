//! Source artifacts as Flux's source-controller stores them.
//!
//! A pure library with no cluster dependency: source-controller uses it to
//! package a checked-out tree into a normalised `tar.gz` under Flux's storage
//! layout, and the consumers (kustomize-, helm-controller) use it to unpack a
//! fetched artifact safely.
//!
//! - [`ignore`]: `.sourceignore` and `spec.ignore` rules with Flux's defaults.
//! - [`archive`]: a directory to a deterministic tarball and its digest.
//! - [`storage`]: paths, URLs, atomic writes, `latest.tar.gz`, garbage collection.
//! - [`unpack`]: extraction that refuses traversal, links and oversized archives.

pub mod archive;
pub mod digest;
pub mod ignore;
pub mod storage;
pub mod unpack;

pub use archive::{ArchiveError, ArchiveLimits};
pub use storage::{Storage, StoredArtifact};
