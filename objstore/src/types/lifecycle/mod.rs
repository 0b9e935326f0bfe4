//! Lifecycle rules that run: their schema (this file), their validation (`validate.rs`), which versions a
//! rule matches and when its actions are due (`matching.rs`), and what a pass reports (`report.rs`). The
//! passes themselves are the engine's: `bucket/lifecycle.rs` runs one bucket, `store/lifecycle.rs` runs
//! every bucket on the clock's schedule.
//!
//! Rules are S3's, in S3's JSON shape: the document given to `aws s3api put-bucket-lifecycle-configuration`
//! loads as it is ([`LifecycleConfiguration::from_json`]). A pass
//! ([`Bucket::run_lifecycle`](crate::Bucket::run_lifecycle), [`Store::run_lifecycle`](crate::Store::run_lifecycle))
//! applies every enabled rule at the store clock's now and reports what it did;
//! [`Store::spawn_lifecycle`](crate::Store::spawn_lifecycle) runs passes on a schedule of that clock, so a
//! test moves a manual clock by days instead of sleeping.
//!
//! Time as S3 counts it: an action due `Days` after an event (creation, or becoming noncurrent) is due at
//! the first midnight UTC at or after the event plus those days. What a pass does:
//! - current versions: `Expiration` (by days or date) removes the object in an unversioned bucket and adds
//!   a delete marker in a versioned one; otherwise the coldest due `Transition` changes its storage class
//!   (never back to a warmer class);
//! - a delete marker with no other version left is removed when a rule says `ExpiredObjectDeleteMarker`;
//! - noncurrent versions: `NoncurrentVersionExpiration` removes them (keeping the `NewerNoncurrentVersions`
//!   newest), `NoncurrentVersionTransitions` move them;
//! - `AbortIncompleteMultipartUpload` aborts uploads started that many days ago.
//!
//! A version under object lock is never removed; the report lists it as skipped, with the reason.

use serde::{Deserialize, Serialize};

use crate::types::storage_class::StorageClass;

mod matching;
mod report;
mod validate;

pub(crate) use self::matching::{due, parse_date};
pub use self::report::{LifecycleAction, LifecycleReport};

/// A bucket's lifecycle configuration, as S3's JSON has it (`{"Rules": [...]}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleConfiguration {
    /// The rules (at most 1000).
    pub rules: Vec<LifecycleRule>,
}

/// Whether a rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleStatus {
    /// It runs.
    Enabled,
    /// It is kept but does not run.
    Disabled,
}

/// One lifecycle rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleRule {
    /// The rule's id (at most 255 characters).
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Enabled or disabled.
    pub status: RuleStatus,
    /// Which objects it applies to (none: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<LifecycleFilter>,
    /// The older form of a prefix filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Expiration of current versions, and clean-up of expired delete markers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Expiration>,
    /// Transitions of current versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<Transition>,
    /// Expiration of noncurrent versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_expiration: Option<NoncurrentVersionExpiration>,
    /// Transitions of noncurrent versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub noncurrent_version_transitions: Vec<NoncurrentVersionTransition>,
    /// Abort of incomplete multipart uploads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_incomplete_multipart_upload: Option<AbortIncompleteMultipartUpload>,
}

/// A tag in a filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The tag's key.
    pub key: String,
    /// The tag's value.
    pub value: String,
}

/// Which objects a rule applies to: one of a prefix, a tag, a size bound, or an `And` of several.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleFilter {
    /// Keys starting with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Objects with this tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<Tag>,
    /// All of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub and: Option<FilterAnd>,
    /// Objects larger than this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_size_greater_than: Option<u64>,
    /// Objects smaller than this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_size_less_than: Option<u64>,
}

/// The conjunction of a filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterAnd {
    /// Keys starting with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Objects with all these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// Objects larger than this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_size_greater_than: Option<u64>,
    /// Objects smaller than this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_size_less_than: Option<u64>,
}

/// Expiration of current versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Expiration {
    /// Days after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// A date (ISO 8601, midnight UTC) from which objects expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Remove delete markers that have no version left under them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_object_delete_marker: Option<bool>,
}

/// A transition of current versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Transition {
    /// Days after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// A date (ISO 8601, midnight UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The class to move to.
    pub storage_class: StorageClass,
}

/// Expiration of noncurrent versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NoncurrentVersionExpiration {
    /// Days after a version became noncurrent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_days: Option<u32>,
    /// Keep this many newest noncurrent versions whatever their age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newer_noncurrent_versions: Option<u32>,
}

/// A transition of noncurrent versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NoncurrentVersionTransition {
    /// Days after a version became noncurrent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_days: Option<u32>,
    /// Keep this many newest noncurrent versions where they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newer_noncurrent_versions: Option<u32>,
    /// The class to move to.
    pub storage_class: StorageClass,
}

/// Abort of incomplete multipart uploads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AbortIncompleteMultipartUpload {
    /// Days after the upload was created.
    pub days_after_initiation: u32,
}
