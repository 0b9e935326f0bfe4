//! Versioning: the shapes of ListObjectVersions and DeleteObjects (the bucket's state is
//! [`Versioning`](crate::Versioning); the operations are in `bucket/versions.rs`).
//!
//! A bucket starts unversioned (every write replaces the `null` version). Enabling versioning makes every
//! write a new version with a fresh id and every delete without a version id a delete marker; suspending it
//! makes writes and deletes replace the `null` version again while keeping the others. A get or head of a
//! key whose newest version is a delete marker answers `NoSuchKey` with the marker flagged
//! ([`Error::delete_marker`]); deleting the marker by its version id brings the version below it back.

use std::sync::Arc;

use crate::error::Error;
use crate::types::meta::ObjectMeta;

/// One entry of a [`Bucket::delete_objects`](crate::Bucket::delete_objects) request (S3's `Object` element): a key, and optionally the
/// version of it to delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectIdentifier {
    /// The key.
    pub key: String,
    /// The version to delete for good; without one, the delete is as [`Bucket::delete`](crate::Bucket::delete).
    pub version_id: Option<String>,
}

impl ObjectIdentifier {
    /// The key, without a version.
    pub fn new(key: impl Into<String>) -> Self {
        ObjectIdentifier {
            key: key.into(),
            version_id: None,
        }
    }

    /// One version of the key.
    pub fn version(key: impl Into<String>, version_id: impl Into<String>) -> Self {
        ObjectIdentifier {
            key: key.into(),
            version_id: Some(version_id.into()),
        }
    }
}

impl From<&str> for ObjectIdentifier {
    fn from(key: &str) -> Self {
        ObjectIdentifier::new(key)
    }
}

impl From<String> for ObjectIdentifier {
    fn from(key: String) -> Self {
        ObjectIdentifier::new(key)
    }
}

/// Options of [`Bucket::delete_objects`](crate::Bucket::delete_objects).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteObjectsOptions {
    /// Report only the failures (S3's `Quiet`).
    pub quiet: bool,
    /// Delete versions under GOVERNANCE retention (S3's `x-amz-bypass-governance-retention`).
    pub bypass_governance: bool,
}

/// One entry that [`Bucket::delete_objects`](crate::Bucket::delete_objects) deleted, as S3's `Deleted` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedObject {
    /// The key.
    pub key: String,
    /// The version asked for, if one was.
    pub version_id: Option<String>,
    /// Whether a delete marker was made (a delete without a version id in a versioned bucket) or deleted
    /// (a version id that named a marker).
    pub delete_marker: bool,
    /// The id of that delete marker.
    pub delete_marker_version_id: Option<String>,
}

/// What [`Bucket::delete_objects`](crate::Bucket::delete_objects) did, entry by entry, in the order asked.
#[derive(Debug, Default)]
pub struct DeleteObjectsOutput {
    /// Entries deleted; deleting a missing key or version counts, as in S3. Empty when `quiet`.
    pub deleted: Vec<DeletedObject>,
    /// Entries that failed, each with its error.
    pub errors: Vec<DeleteError>,
}

/// The request of a ListObjectVersions call. The default lists every version, 1000 a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListVersionsOptions {
    /// Only keys that start with this.
    pub prefix: String,
    /// Group keys that contain this after the prefix into common prefixes (usually `/`).
    pub delimiter: Option<String>,
    /// Start after this key (S3's `key-marker`); a common prefix that ended a page skips every key under it.
    pub key_marker: Option<String>,
    /// With `key_marker`: start after this version of that key (S3's `version-id-marker`).
    pub version_id_marker: Option<String>,
    /// Versions per page, at most 1000.
    pub max_keys: Option<usize>,
}

/// One page of ListObjectVersions: versions and delete markers, keys in order, newest first per key.
#[derive(Debug, Clone, Default)]
pub struct ListVersionsPage {
    /// The versions (delete markers have `meta.is_delete_marker`).
    pub versions: Vec<VersionEntry>,
    /// Common prefixes (each ending with the delimiter), in order; each counts as one toward max-keys.
    pub common_prefixes: Vec<String>,
    /// Whether more follow.
    pub is_truncated: bool,
    /// Pass as `key_marker` for the next page: the last key, or common prefix, of this one.
    pub next_key_marker: Option<String>,
    /// Pass as `version_id_marker` for the next page (none when the page ended on a common prefix).
    pub next_version_id_marker: Option<String>,
}

/// One version in a version listing.
#[derive(Debug, Clone)]
pub struct VersionEntry {
    /// The version.
    pub meta: Arc<ObjectMeta>,
    /// Whether it is the newest version of its key.
    pub is_latest: bool,
}

/// One key (or version) a [`Bucket::delete_many`](crate::Bucket::delete_many) or [`Bucket::delete_objects`](crate::Bucket::delete_objects) could not delete.
#[derive(Debug)]
pub struct DeleteError {
    /// The key.
    pub key: String,
    /// The version asked for, if one was.
    pub version_id: Option<String>,
    /// Why.
    pub error: Error,
}

/// What [`Bucket::delete_many`](crate::Bucket::delete_many) did, key by key, as S3's DeleteObjects answers.
#[derive(Debug, Default)]
pub struct DeleteManyOutput {
    /// Keys deleted (including keys that did not exist, as in S3).
    pub deleted: Vec<String>,
    /// Keys that failed, each with its error.
    pub errors: Vec<DeleteError>,
}
