//! The one error type of objstore, with S3's error codes.

use std::time::SystemTime;

/// A `Result` whose error defaults to objstore's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in objstore. Each variant names the bucket, key or limit involved;
/// [`Error::code`] gives the S3 error code and [`Error::status`] the HTTP status S3 answers with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bucket name breaks S3's naming rules.
    #[error("invalid bucket name {bucket:?}: {reason}")]
    InvalidBucketName {
        /// The rejected name.
        bucket: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The bucket does not exist.
    #[error("bucket {bucket:?} does not exist")]
    NoSuchBucket {
        /// The bucket asked for.
        bucket: String,
    },
    /// A bucket of that name already exists (and, in a single-account store, is yours).
    #[error("bucket {bucket:?} already exists")]
    BucketAlreadyOwnedByYou {
        /// The bucket.
        bucket: String,
    },
    /// Only empty buckets can be deleted.
    #[error("bucket {bucket:?} is not empty")]
    BucketNotEmpty {
        /// The bucket.
        bucket: String,
    },
    /// The key does not exist in the bucket.
    #[error("no object {key:?} in bucket {bucket:?}")]
    NoSuchKey {
        /// The bucket.
        bucket: String,
        /// The missing key.
        key: String,
    },
    /// The key is longer than S3's limit of 1024 bytes of UTF-8.
    #[error(
        "key in bucket {bucket:?} is {len} bytes long, over the limit of {max} bytes (key starts {prefix:?})"
    )]
    KeyTooLong {
        /// The bucket.
        bucket: String,
        /// The key's first 64 bytes (or fewer, at a character boundary).
        prefix: String,
        /// The key's length in bytes.
        len: usize,
        /// The limit, 1024.
        max: usize,
    },
    /// The requested range cannot be satisfied (HTTP 416).
    #[error(
        "range {range} is not satisfiable for {key:?} in bucket {bucket:?}, which is {size} bytes long"
    )]
    InvalidRange {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The range as asked for, in `bytes=` form.
        range: String,
        /// The object's size.
        size: u64,
    },
    /// A precondition (`If-Match`, `If-None-Match` on a write, `If-Unmodified-Since`) did not hold (HTTP 412).
    #[error("precondition {condition} failed for {key:?} in bucket {bucket:?}")]
    PreconditionFailed {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The header whose condition failed, e.g. `If-Match`.
        condition: &'static str,
    },
    /// The object has not been modified (`If-None-Match` or `If-Modified-Since` on a read; HTTP 304).
    #[error("{key:?} in bucket {bucket:?} not modified ({condition})")]
    NotModified {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The header that decided, e.g. `If-None-Match`.
        condition: &'static str,
        /// The current ETag, which S3 returns with a 304.
        etag: String,
        /// The current Last-Modified, which S3 returns with a 304.
        last_modified: SystemTime,
    },
    /// User-defined metadata is over S3's limit of 2 KB.
    #[error(
        "user metadata of {key:?} in bucket {bucket:?} is {size} bytes, over the limit of {max} bytes"
    )]
    MetadataTooLarge {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The metadata's size (names plus values, in bytes).
        size: usize,
        /// The limit, 2048.
        max: usize,
    },
    /// A single put is over S3's 5 GiB limit (or the store's configured limit).
    #[error(
        "object {key:?} in bucket {bucket:?} is {size} bytes, over the limit of {max} bytes for one put"
    )]
    EntityTooLarge {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The size offered.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// An argument is out of range or malformed (S3's `InvalidArgument`).
    #[error("invalid argument {argument} for bucket {bucket:?}: {message}")]
    InvalidArgument {
        /// The bucket.
        bucket: String,
        /// The argument's name as S3 calls it, e.g. `continuation-token`.
        argument: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A request S3 rejects as a whole, e.g. a copy of an object onto itself that changes nothing.
    #[error("invalid request on {key:?} in bucket {bucket:?}: {message}")]
    InvalidRequest {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// Why S3 rejects it.
        message: &'static str,
    },
    /// A batch delete named more keys than S3 allows in one request (1000).
    #[error(
        "delete of {count} keys in bucket {bucket:?} is over the limit of {max} keys per request"
    )]
    TooManyKeys {
        /// The bucket.
        bucket: String,
        /// How many keys were named.
        count: usize,
        /// The limit, 1000.
        max: usize,
    },
    /// The backend failed to read or write (an I/O error on the filesystem backend, say).
    #[error("backend {backend} failed on bucket {bucket:?}{}: {source}", key.as_ref().map(|k| format!(", key {k:?}")).unwrap_or_default())]
    Backend {
        /// The backend's name.
        backend: &'static str,
        /// The bucket.
        bucket: String,
        /// The key, where one was involved.
        key: Option<String>,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// The S3 error code for this error, as S3 puts it in `<Code>`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidBucketName { .. } => "InvalidBucketName",
            Error::NoSuchBucket { .. } => "NoSuchBucket",
            Error::BucketAlreadyOwnedByYou { .. } => "BucketAlreadyOwnedByYou",
            Error::BucketNotEmpty { .. } => "BucketNotEmpty",
            Error::NoSuchKey { .. } => "NoSuchKey",
            Error::KeyTooLong { .. } => "KeyTooLongError",
            Error::InvalidRange { .. } => "InvalidRange",
            Error::PreconditionFailed { .. } => "PreconditionFailed",
            Error::NotModified { .. } => "NotModified",
            Error::MetadataTooLarge { .. } => "MetadataTooLarge",
            Error::EntityTooLarge { .. } => "EntityTooLarge",
            Error::InvalidArgument { .. } => "InvalidArgument",
            Error::InvalidRequest { .. } => "InvalidRequest",
            Error::TooManyKeys { .. } => "MalformedXML",
            Error::Backend { .. } => "InternalError",
        }
    }

    /// The HTTP status S3 answers this error with.
    pub fn status(&self) -> u16 {
        match self {
            Error::NotModified { .. } => 304,
            Error::NoSuchBucket { .. } | Error::NoSuchKey { .. } => 404,
            Error::BucketAlreadyOwnedByYou { .. } | Error::BucketNotEmpty { .. } => 409,
            Error::PreconditionFailed { .. } => 412,
            Error::InvalidRange { .. } => 416,
            Error::Backend { .. } => 500,
            Error::InvalidBucketName { .. }
            | Error::KeyTooLong { .. }
            | Error::MetadataTooLarge { .. }
            | Error::EntityTooLarge { .. }
            | Error::InvalidArgument { .. }
            | Error::InvalidRequest { .. }
            | Error::TooManyKeys { .. } => 400,
        }
    }

    /// The key this error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Error::NoSuchKey { key, .. }
            | Error::InvalidRange { key, .. }
            | Error::PreconditionFailed { key, .. }
            | Error::NotModified { key, .. }
            | Error::MetadataTooLarge { key, .. }
            | Error::EntityTooLarge { key, .. }
            | Error::InvalidRequest { key, .. } => Some(key),
            Error::Backend { key, .. } => key.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn backend(
        backend: &'static str,
        bucket: &str,
        key: Option<&str>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Backend {
            backend,
            bucket: bucket.to_string(),
            key: key.map(str::to_string),
            source: source.into(),
        }
    }
}
