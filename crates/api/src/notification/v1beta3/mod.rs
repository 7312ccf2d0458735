//! `notification.toolkit.fluxcd.io/v1beta3`.

pub mod alert;
pub mod provider;

pub use alert::*;
pub use provider::*;
