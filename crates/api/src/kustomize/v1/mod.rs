//! `kustomize.toolkit.fluxcd.io/v1`.

pub mod kustomization;

pub use kustomization::*;
