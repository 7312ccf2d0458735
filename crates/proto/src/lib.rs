//! Generated gRPC types and services shared by Weir's controllers.
//!
//! The contracts live in the workspace's `proto/` directory; this crate
//! compiles them at build time without a system `protoc`.

/// `weir.artifact.v1`: artifact revisions pushed by source-controller.
pub mod artifact {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("weir.artifact.v1");
}
