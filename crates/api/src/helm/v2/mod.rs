//! `helm.toolkit.fluxcd.io/v2`.

pub mod helmrelease;

pub use helmrelease::*;
