//! Per-call options, each with a `Default` that means "as S3 does without headers", and what a get returns.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use crate::types::checksum::{Checksum, ChecksumAlgorithm};
use crate::types::conditions::Conditions;
use crate::types::lock::Retention;
use crate::types::meta::{ObjectAttributes, ObjectMeta};
use crate::types::range::ByteRange;
use crate::types::storage_class::StorageClass;

/// Options of a put.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// Headers and user metadata to store with the object.
    pub attributes: ObjectAttributes,
    /// Preconditions; `if_none_match("*")` makes a create-only put.
    pub conditions: Conditions,
    /// The storage class (default STANDARD).
    pub storage_class: StorageClass,
    /// Object tags (`x-amz-tagging`).
    pub tags: BTreeMap<String, String>,
    /// A checksum the client computed (`x-amz-checksum-*`): verified against the data, stored, returned.
    pub checksum: Option<Checksum>,
    /// Compute and store a checksum with this algorithm (`x-amz-checksum-algorithm`) when none is given.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// Object lock retention of the new version (else the bucket's default, if any).
    pub retention: Option<Retention>,
    /// Object lock legal hold of the new version.
    pub legal_hold: bool,
    /// The `x-amz-server-side-encryption` header (`AES256`, `aws:kms` or `aws:kms:dsse`), what a bucket
    /// policy's `s3:x-amz-server-side-encryption` condition reads. objstore does not encrypt at rest; the
    /// value is checked and offered to the policy.
    pub server_side_encryption: Option<String>,
}

/// Options of a get.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetOptions {
    /// Read only these bytes.
    pub range: Option<ByteRange>,
    /// Preconditions.
    pub conditions: Conditions,
    /// Read this version instead of the newest.
    pub version_id: Option<String>,
    /// Read only this part of an object made by a multipart upload (S3's `partNumber`; 1 reads the whole
    /// of any other object). Not together with `range`.
    pub part_number: Option<u32>,
}

/// Options of a delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Preconditions on the object being deleted (S3 supports `If-Match`).
    pub conditions: Conditions,
    /// Delete this version for good instead of adding a delete marker (or removing the null version).
    pub version_id: Option<String>,
    /// Delete a version under GOVERNANCE retention (`x-amz-bypass-governance-retention`).
    pub bypass_governance: bool,
}

/// What a copy does with the source's headers and metadata (`x-amz-metadata-directive`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MetadataDirective {
    /// Keep the source's (the default).
    #[default]
    Copy,
    /// Store these instead.
    Replace(ObjectAttributes),
}

/// Options of a copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// Preconditions on the source (`x-amz-copy-source-if-*`); failures are 412 as S3 answers them.
    pub source_conditions: Conditions,
    /// Preconditions on the destination, as on a put.
    pub conditions: Conditions,
    /// Copy or replace headers and metadata.
    pub metadata: MetadataDirective,
    /// Copy this version of the source instead of the newest.
    pub source_version_id: Option<String>,
    /// The destination's storage class; S3's default is STANDARD, whatever the source's.
    pub storage_class: Option<StorageClass>,
    /// Replace the tags instead of copying the source's (`x-amz-tagging-directive: REPLACE`).
    pub tags: Option<BTreeMap<String, String>>,
}

/// What a get returns.
#[derive(Debug, Clone)]
pub struct GetOutput {
    /// The object's metadata (of the whole object, even for a range).
    pub meta: Arc<ObjectMeta>,
    /// The bytes read: the whole object, or the range.
    pub body: Bytes,
    /// For a range read, the byte range served (S3's `Content-Range`).
    pub range: Option<Range<u64>>,
}
