//! `image.toolkit.fluxcd.io/v1` kinds, plus the reasons image controllers report.

pub mod imagepolicy;
pub mod imagerepository;
pub mod imageupdateautomation;

pub use imagepolicy::*;
pub use imagerepository::*;
pub use imageupdateautomation::*;

/// API group of the image kinds.
pub const GROUP: &str = "image.toolkit.fluxcd.io";
/// API version of the image kinds in this module.
pub const VERSION: &str = "v1";
/// `apiVersion` value of the image kinds in this module.
pub const API_VERSION: &str = "image.toolkit.fluxcd.io/v1";

/// Finalizer image controllers put on the objects they manage.
pub const IMAGE_FINALIZER: &str = "finalizers.fluxcd.io";

// Reasons reported by the image reflector.

/// Reason: the image name of an ImageRepository is invalid.
pub const IMAGE_URL_INVALID_REASON: &str = "ImageURLInvalid";
/// Reason: a dependency (e.g. the ImageRepository of a policy) is not ready.
pub const DEPENDENCY_NOT_READY_REASON: &str = "DependencyNotReady";
/// Reason: credentials are missing fields or were rejected.
pub const AUTHENTICATION_FAILED_REASON: &str = "AuthenticationFailed";
/// Reason: reading (e.g. the tag database) failed.
pub const READ_OPERATION_FAILED_REASON: &str = "ReadOperationFailed";
/// Reason: an interval is required but missing.
pub const INTERVAL_NOT_CONFIGURED_REASON: &str = "IntervalNotConfigured";

// Reasons reported by the image automation.

/// Reason: the update strategy is invalid.
pub const INVALID_UPDATE_STRATEGY_REASON: &str = "InvalidUpdateStrategy";
/// Reason: the source configuration is invalid.
pub const INVALID_SOURCE_CONFIG_REASON: &str = "InvalidSourceConfiguration";
/// Reason: managing the source checkout failed.
pub const SOURCE_MANAGER_FAILED_REASON: &str = "SourceManagerFailed";
/// Reason: a Git operation failed.
pub const GIT_OPERATION_FAILED_REASON: &str = "GitOperationFailed";
/// Reason: updating the files failed.
pub const UPDATE_FAILED_REASON: &str = "UpdateFailed";
/// Reason: the policy selector is invalid.
pub const INVALID_POLICY_SELECTOR_REASON: &str = "InvalidPolicySelector";
/// Reason: the commit template uses a removed field.
pub const REMOVED_TEMPLATE_FIELD_REASON: &str = "RemovedTemplateField";
