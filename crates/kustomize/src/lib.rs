//! Native kustomize engine: builds a kustomization into the YAML stream that
//! `kustomize build` prints, without cluster access.
//!
//! Entry points: [`build()`] (resources, in [`Reorder::Legacy`] or
//! [`Reorder::None`] order) and [`build_yaml()`] (the rendered stream), over a
//! [`fs::FileSystem`] ([`fs::RealFs`] or [`fs::MemoryFs`]).

pub mod build;
pub mod config;
pub mod crds;
pub mod decode;
pub mod error;
pub mod fieldspec;
pub mod fs;
pub mod generate;
pub mod gosort;
pub mod kustomization;
pub mod loader;
pub mod nameref;
pub mod patch;
pub mod patches;
pub mod plugins;
pub mod replacement;
pub mod resid;
pub mod resmap;
pub mod resource;
pub mod selector;
pub mod transform;
pub mod vars;
pub mod yaml;

pub use build::{Options, Reorder, build, build_yaml, render};
pub use error::{Error, Result};
pub use loader::LoadRestrictions;
