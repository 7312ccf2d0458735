//! `notification.toolkit.fluxcd.io/v1`.

pub mod receiver;
pub mod reference;

pub use receiver::*;
pub use reference::*;

/// Finalizer the notification controller puts on its objects.
pub const NOTIFICATION_FINALIZER: &str = "finalizers.fluxcd.io";

/// Reason: the object has been initialized.
pub const INITIALIZED_REASON: &str = "Initialized";
/// Reason: part of the spec could not be validated.
pub const VALIDATION_FAILED_REASON: &str = "ValidationFailed";
/// Reason: the Receiver token Secret could not be found.
pub const TOKEN_NOT_FOUND_REASON: &str = "TokenNotFound";
/// Reason: the object is being migrated to a static (status-less) object.
pub const MIGRATION_REASON: &str = "Migration";
/// Reason: part of the configuration is unusable, e.g. an invalid regular expression.
pub const INVALID_CONFIG_REASON: &str = "InvalidConfig";
/// Reason: sending a notification to a provider failed.
pub const NOTIFICATION_DISPATCH_FAILED_REASON: &str = "NotificationDispatchFailed";
/// Reason: the object involved in an event could not be fetched to match labels.
pub const SOURCE_FETCH_FAILED_REASON: &str = "SourceFetchFailed";
/// Reason: event metadata from several sources had conflicting keys.
pub const METADATA_APPEND_FAILED_REASON: &str = "MetadataAppendFailed";
