//! Per-call options, each with a `Default` that means "as S3 does without headers".

use crate::conditions::Conditions;
use crate::meta::ObjectAttributes;
use crate::range::ByteRange;

/// Options of a put.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// Headers and user metadata to store with the object.
    pub attributes: ObjectAttributes,
    /// Preconditions; `if_none_match("*")` makes a create-only put.
    pub conditions: Conditions,
}

/// Options of a get.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetOptions {
    /// Read only these bytes.
    pub range: Option<ByteRange>,
    /// Preconditions.
    pub conditions: Conditions,
}

/// Options of a delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Preconditions on the object being deleted (S3 supports `If-Match`).
    pub conditions: Conditions,
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
}
