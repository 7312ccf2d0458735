//! Scaffolding shared by every Weir controller.
//!
//! Each module does one job, in the spirit of `kube-runtime`: building the
//! client, logging, Flux's condition semantics, the reconcile-request
//! protocol, status patching, metrics and probes, and leader election. A
//! controller's `main.rs` wires these together; none of them is copied
//! between controllers.

pub mod backoff;
pub mod client;
pub mod conditions;
pub mod controller;
pub use weir_api::duration;

pub mod events;
pub mod finalizer;

pub mod leader;
pub mod logging;
pub mod manager;
pub mod metrics;
pub mod options;
pub mod probes;
pub mod reconcile_request;
pub mod status;

pub use options::RuntimeOptions;
