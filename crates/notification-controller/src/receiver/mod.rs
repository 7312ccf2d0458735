//! Receivers: webhook endpoints that make Flux objects reconcile now.
//!
//! [`controller`] publishes each Receiver's webhook path in its status;
//! [`server`] answers calls to those paths, authenticated per type by
//! [`verify`].

pub mod controller;
pub mod server;
pub mod verify;
