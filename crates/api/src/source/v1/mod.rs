//! `source.toolkit.fluxcd.io/v1` kinds, plus the condition types and reasons source
//! controllers report.

pub mod bucket;
pub mod externalartifact;
pub mod gitrepository;
pub mod helmchart;
pub mod helmrepository;
pub mod ocirepository;

pub use bucket::*;
pub use externalartifact::*;
pub use gitrepository::*;
pub use helmchart::*;
pub use helmrepository::*;
pub use ocirepository::*;

/// API group of the source kinds.
pub const GROUP: &str = "source.toolkit.fluxcd.io";
/// API version of the source kinds in this module.
pub const VERSION: &str = "v1";
/// `apiVersion` value of the source kinds in this module.
pub const API_VERSION: &str = "source.toolkit.fluxcd.io/v1";

/// Finalizer source controllers put on the objects they manage.
pub const SOURCE_FINALIZER: &str = "finalizers.fluxcd.io";

// Condition types.

/// Condition type: the artifact is stored and being served.
pub const ARTIFACT_IN_STORAGE_CONDITION: &str = "ArtifactInStorage";
/// Condition type (abnormal-true): the stored artifact no longer matches the spec or upstream.
pub const ARTIFACT_OUTDATED_CONDITION: &str = "ArtifactOutdated";
/// Condition type: result of the signature/integrity verification.
pub const SOURCE_VERIFIED_CONDITION: &str = "SourceVerified";
/// Condition type (abnormal-true): fetching from upstream failed.
pub const FETCH_FAILED_CONDITION: &str = "FetchFailed";
/// Condition type (abnormal-true): building the artifact failed.
pub const BUILD_FAILED_CONDITION: &str = "BuildFailed";
/// Condition type (abnormal-true): a storage (filesystem) operation failed.
pub const STORAGE_OPERATION_FAILED_CONDITION: &str = "StorageOperationFailed";
/// Condition type (abnormal-true): an included GitRepository is missing or has no artifact.
pub const INCLUDE_UNAVAILABLE_CONDITION: &str = "IncludeUnavailable";

// Reasons.

/// Reason: the source URL is invalid.
pub const URL_INVALID_REASON: &str = "URLInvalid";
/// Reason: credentials are missing fields or were rejected.
pub const AUTHENTICATION_FAILED_REASON: &str = "AuthenticationFailed";
/// Reason: the verification check failed.
pub const VERIFICATION_ERROR_REASON: &str = "VerificationError";
/// Reason: creating a directory failed.
pub const DIR_CREATION_FAILED_REASON: &str = "DirectoryCreationFailed";
/// Reason: a stat on a path failed.
pub const STAT_OPERATION_FAILED_REASON: &str = "StatOperationFailed";
/// Reason: a read failed.
pub const READ_OPERATION_FAILED_REASON: &str = "ReadOperationFailed";
/// Reason: acquiring a lock failed.
pub const ACQUIRE_LOCK_FAILED_REASON: &str = "AcquireLockFailed";
/// Reason: a path is invalid.
pub const INVALID_PATH_REASON: &str = "InvalidPath";
/// Reason: creating or reading an archive failed.
pub const ARCHIVE_OPERATION_FAILED_REASON: &str = "ArchiveOperationFailed";
/// Reason: updating the `latest` symlink failed.
pub const SYMLINK_UPDATE_FAILED_REASON: &str = "SymlinkUpdateFailed";
/// Reason: the existing artifact is up to date with the source.
pub const ARTIFACT_UP_TO_DATE_REASON: &str = "ArtifactUpToDate";
/// Reason: a cache operation failed.
pub const CACHE_OPERATION_FAILED_REASON: &str = "CacheOperationFailed";
/// Reason: a Git operation (clone, checkout...) succeeded.
pub const GIT_OPERATION_SUCCEEDED_REASON: &str = "GitOperationSucceeded";
/// Reason: a Git operation (clone, checkout...) failed.
pub const GIT_OPERATION_FAILED_REASON: &str = "GitOperationFailed";
/// Reason: listing or downloading bucket objects succeeded.
pub const BUCKET_OPERATION_SUCCEEDED_REASON: &str = "BucketOperationSucceeded";
/// Reason: listing or downloading bucket objects failed.
pub const BUCKET_OPERATION_FAILED_REASON: &str = "BucketOperationFailed";
/// Reason: fetching the Helm repository index failed.
pub const INDEXATION_FAILED_REASON: &str = "IndexationFailed";
/// Reason: pulling the Helm chart succeeded.
pub const CHART_PULL_SUCCEEDED_REASON: &str = "ChartPullSucceeded";
/// Reason: packaging the Helm chart succeeded.
pub const CHART_PACKAGE_SUCCEEDED_REASON: &str = "ChartPackageSucceeded";
/// Reason: pulling the OCI artifact failed.
pub const OCI_PULL_FAILED_REASON: &str = "OCIArtifactPullFailed";
/// Reason: processing an OCI layer failed.
pub const OCI_LAYER_OPERATION_FAILED_REASON: &str = "OCIArtifactLayerOperationFailed";
