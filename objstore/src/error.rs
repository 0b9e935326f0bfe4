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
    /// The key does not exist in the bucket, or its current version is a delete marker.
    #[error("no object {key:?} in bucket {bucket:?}{}", delete_marker.as_ref().map(|v| format!(" (its current version {v} is a delete marker)")).unwrap_or_default())]
    NoSuchKey {
        /// The bucket.
        bucket: String,
        /// The missing key.
        key: String,
        /// When the current version is a delete marker, its version id (S3's `x-amz-delete-marker: true`).
        delete_marker: Option<String>,
    },
    /// The version does not exist.
    #[error("no version {version_id:?} of {key:?} in bucket {bucket:?}")]
    NoSuchVersion {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The version asked for.
        version_id: String,
    },
    /// The method is not allowed on this resource: a get or head by version id of a delete marker.
    #[error(
        "{method} is not allowed on version {version_id:?} of {key:?} in bucket {bucket:?}: it is a delete marker"
    )]
    MethodNotAllowed {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The delete marker's version id.
        version_id: String,
        /// The method refused (`GET`, `HEAD`, ...).
        method: &'static str,
    },
    /// The multipart upload does not exist (never created, completed or aborted).
    #[error("no multipart upload {upload_id:?} in bucket {bucket:?}")]
    NoSuchUpload {
        /// The bucket.
        bucket: String,
        /// The upload id.
        upload_id: String,
    },
    /// A part named in a complete is missing, or its ETag does not match the uploaded part.
    #[error(
        "part {part_number} of upload {upload_id:?} for {key:?} in bucket {bucket:?}: {reason}"
    )]
    InvalidPart {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The upload id.
        upload_id: String,
        /// The part number.
        part_number: u32,
        /// What is wrong.
        reason: String,
    },
    /// The parts of a complete are not in ascending order of part number.
    #[error(
        "parts of upload {upload_id:?} in bucket {bucket:?} are not in ascending order: part {part_number} follows part {previous}"
    )]
    InvalidPartOrder {
        /// The bucket.
        bucket: String,
        /// The upload id.
        upload_id: String,
        /// The part out of order.
        part_number: u32,
        /// The part before it.
        previous: u32,
    },
    /// A part other than the last is smaller than S3's minimum of 5 MiB.
    #[error(
        "part {part_number} of upload {upload_id:?} for {key:?} in bucket {bucket:?} is {size} bytes, under the minimum of {min} bytes for all parts but the last"
    )]
    EntityTooSmall {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The upload id.
        upload_id: String,
        /// The part number.
        part_number: u32,
        /// The part's size.
        size: u64,
        /// The minimum, 5 MiB.
        min: u64,
    },
    /// The object is in an archive class and not restored (or a restore is asked of a class that needs none).
    #[error("{key:?} in bucket {bucket:?} (version {version_id:?}, {storage_class}): {reason}")]
    InvalidObjectState {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The version.
        version_id: String,
        /// Its storage class.
        storage_class: crate::StorageClass,
        /// Why the operation is refused.
        reason: &'static str,
    },
    /// A restore of this version is already running.
    #[error(
        "a restore of {key:?} (version {version_id:?}) in bucket {bucket:?} is already in progress"
    )]
    RestoreAlreadyInProgress {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The version.
        version_id: String,
    },
    /// Object lock forbids the operation; the reason names the retention or legal hold.
    #[error("access denied to {key:?} in bucket {bucket:?}{}: {reason}", version_id.as_ref().map(|v| format!(" (version {v})")).unwrap_or_default())]
    AccessDenied {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The version.
        version_id: Option<String>,
        /// What protects it.
        reason: String,
    },
    /// The checksum the client sent does not match the bytes received; nothing was stored.
    #[error(
        "the {algorithm} checksum of {key:?} in bucket {bucket:?} does not match: client sent {expected}, data has {actual}"
    )]
    BadDigest {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The algorithm.
        algorithm: crate::ChecksumAlgorithm,
        /// What the client sent.
        expected: String,
        /// What the data hashes to.
        actual: String,
    },
    /// A tag set breaks S3's rules.
    #[error("invalid tag on {target} in bucket {bucket:?}: {reason}")]
    InvalidTag {
        /// The bucket.
        bucket: String,
        /// What was tagged: `object "key"` or `bucket`.
        target: String,
        /// The rule broken, with the limit.
        reason: String,
    },
    /// The bucket's state does not allow the operation (e.g. suspending versioning with object lock on).
    #[error("bucket {bucket:?}: {reason}")]
    InvalidBucketState {
        /// The bucket.
        bucket: String,
        /// Why.
        reason: &'static str,
    },
    /// A configuration document (lifecycle rules, object lock) is malformed or breaks S3's rules.
    #[error("malformed configuration for bucket {bucket:?}: {reason}")]
    MalformedConfiguration {
        /// The bucket.
        bucket: String,
        /// What is wrong.
        reason: String,
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
    /// A get by part number names a part the object does not have (HTTP 416).
    #[error(
        "part {part_number} of {key:?} in bucket {bucket:?} is not satisfiable: the object has {parts_count} part(s)"
    )]
    InvalidPartNumber {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The part number asked for.
        part_number: u32,
        /// How many parts the object has (1 for an object not made by a multipart upload).
        parts_count: u32,
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
    /// A request S3 answers with its generic 400 `BadRequest`, such as more than 10 tags on an object.
    #[error("bad request on {key:?} in bucket {bucket:?}: {message}")]
    BadRequest {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// S3's message.
        message: &'static str,
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
    /// A presigned URL's signing parameters are missing or malformed, its credential scope names another
    /// date, region or service, or its expiry is outside 1 second to 7 days.
    #[error("malformed presigned request: {reason}")]
    AuthorizationQueryParametersError {
        /// What is wrong.
        reason: String,
    },
    /// The access key id a request was signed with is not one the store knows.
    #[error("the access key id {access_key_id:?} does not exist in our records")]
    InvalidAccessKeyId {
        /// The unknown access key id.
        access_key_id: String,
    },
    /// A presigned URL used outside its validity window: expired, or dated in the future.
    #[error("presigned request of {access_key_id:?} refused: {reason}")]
    PresignedUrlInvalidTime {
        /// The access key id that signed it.
        access_key_id: String,
        /// `Request has expired` or `Request is not valid yet`, as S3 says it.
        reason: String,
    },
    /// The signature of a request does not match the one computed from the request and the secret.
    #[error("signature of {access_key_id:?} does not match: {reason}")]
    SignatureDoesNotMatch {
        /// The access key id that signed it.
        access_key_id: String,
        /// What did not match.
        reason: String,
    },
    /// An fs root is already open, by another backend of this process or by another process: only one
    /// opener at a time may repair and serve it.
    #[error("the store root {} is already open (locked by another FsBackend, in this or another process)", root.display())]
    RootLocked {
        /// The root folder.
        root: std::path::PathBuf,
    },
    /// The caller may not do this: no statement of the bucket policy allows it, a statement denies it,
    /// Block Public Access stops it, or only the owner may do it. Nothing was changed. S3's
    /// `AccessDenied` (403); a denied HEAD has no body ([`Error::has_body`]).
    #[error("{0}")]
    Denied(Box<Denied>),
    /// A bucket policy is not valid: the statement (its position and `Sid`) and field at fault, and S3's
    /// message. Nothing was changed.
    #[error("malformed policy for bucket {bucket:?}{}: {field}: {message}", statement.as_ref().map(|s| format!(", {s}")).unwrap_or_default())]
    MalformedPolicy {
        /// The bucket.
        bucket: String,
        /// The statement at fault, `statement 2 (Sid "PublicRead")`, if the fault is in one.
        statement: Option<String>,
        /// The field at fault (`Action`, `Condition.StringEquals.s3:prefix`, ...).
        field: String,
        /// What is wrong, in S3's words where S3 has them.
        message: String,
    },
    /// The bucket has no policy (GetBucketPolicy).
    #[error("bucket {bucket:?} has no bucket policy")]
    NoSuchBucketPolicy {
        /// The bucket.
        bucket: String,
    },
    /// Stored bytes or metadata failed their check when read (a CRC32C that does not match, a length or
    /// offset past the end of a file, a header that does not parse): the disk or something beside the
    /// store damaged them. Nothing of the damaged data is served. S3 has no such code; it answers 500
    /// `InternalError`.
    #[error("backend {backend}: stored data of bucket {bucket:?}{} is damaged: {detail}", key.as_ref().map(|k| format!(", key {k:?}")).unwrap_or_default())]
    Corrupt {
        /// The backend's name.
        backend: &'static str,
        /// The bucket.
        bucket: String,
        /// The key, where one was involved.
        key: Option<String>,
        /// What failed its check, naming the file's part (which chunk, which header field).
        detail: String,
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
            Error::InvalidPartNumber { .. } => "InvalidPartNumber",
            Error::PreconditionFailed { .. } => "PreconditionFailed",
            Error::NotModified { .. } => "NotModified",
            Error::MetadataTooLarge { .. } => "MetadataTooLarge",
            Error::EntityTooLarge { .. } => "EntityTooLarge",
            Error::InvalidArgument { .. } => "InvalidArgument",
            Error::InvalidRequest { .. } => "InvalidRequest",
            Error::BadRequest { .. } => "BadRequest",
            Error::NoSuchVersion { .. } => "NoSuchVersion",
            Error::MethodNotAllowed { .. } => "MethodNotAllowed",
            Error::NoSuchUpload { .. } => "NoSuchUpload",
            Error::InvalidPart { .. } => "InvalidPart",
            Error::InvalidPartOrder { .. } => "InvalidPartOrder",
            Error::EntityTooSmall { .. } => "EntityTooSmall",
            Error::InvalidObjectState { .. } => "InvalidObjectState",
            Error::RestoreAlreadyInProgress { .. } => "RestoreAlreadyInProgress",
            Error::AccessDenied { .. } => "AccessDenied",
            Error::BadDigest { .. } => "BadDigest",
            Error::InvalidTag { .. } => "InvalidTag",
            Error::InvalidBucketState { .. } => "InvalidBucketState",
            Error::MalformedConfiguration { .. } => "MalformedXML",
            Error::TooManyKeys { .. } => "MalformedXML",
            Error::AuthorizationQueryParametersError { .. } => "AuthorizationQueryParametersError",
            Error::InvalidAccessKeyId { .. } => "InvalidAccessKeyId",
            Error::PresignedUrlInvalidTime { .. } => "AccessDenied",
            Error::SignatureDoesNotMatch { .. } => "SignatureDoesNotMatch",
            Error::RootLocked { .. } => "ServiceUnavailable",
            Error::Denied(_) => "AccessDenied",
            Error::MalformedPolicy { .. } => "MalformedPolicy",
            Error::NoSuchBucketPolicy { .. } => "NoSuchBucketPolicy",
            Error::Backend { .. } | Error::Corrupt { .. } => "InternalError",
        }
    }

    /// The HTTP status S3 answers this error with.
    pub fn status(&self) -> u16 {
        match self {
            Error::NotModified { .. } => 304,
            Error::NoSuchBucket { .. }
            | Error::NoSuchKey { .. }
            | Error::NoSuchVersion { .. }
            | Error::NoSuchUpload { .. }
            | Error::NoSuchBucketPolicy { .. } => 404,
            Error::MethodNotAllowed { .. } => 405,
            Error::InvalidObjectState { .. }
            | Error::AccessDenied { .. }
            | Error::Denied(_)
            | Error::InvalidAccessKeyId { .. }
            | Error::PresignedUrlInvalidTime { .. }
            | Error::SignatureDoesNotMatch { .. } => 403,
            Error::BucketAlreadyOwnedByYou { .. }
            | Error::BucketNotEmpty { .. }
            | Error::RestoreAlreadyInProgress { .. }
            | Error::InvalidBucketState { .. } => 409,
            Error::PreconditionFailed { .. } => 412,
            Error::InvalidRange { .. } | Error::InvalidPartNumber { .. } => 416,
            Error::Backend { .. } | Error::Corrupt { .. } => 500,
            Error::RootLocked { .. } => 503,
            Error::InvalidBucketName { .. }
            | Error::KeyTooLong { .. }
            | Error::MetadataTooLarge { .. }
            | Error::EntityTooLarge { .. }
            | Error::InvalidArgument { .. }
            | Error::InvalidRequest { .. }
            | Error::BadRequest { .. }
            | Error::TooManyKeys { .. }
            | Error::InvalidPart { .. }
            | Error::InvalidPartOrder { .. }
            | Error::EntityTooSmall { .. }
            | Error::BadDigest { .. }
            | Error::InvalidTag { .. }
            | Error::MalformedConfiguration { .. }
            | Error::MalformedPolicy { .. }
            | Error::AuthorizationQueryParametersError { .. } => 400,
        }
    }

    /// The key this error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Error::NoSuchKey { key, .. }
            | Error::InvalidRange { key, .. }
            | Error::InvalidPartNumber { key, .. }
            | Error::PreconditionFailed { key, .. }
            | Error::NotModified { key, .. }
            | Error::MetadataTooLarge { key, .. }
            | Error::EntityTooLarge { key, .. }
            | Error::InvalidRequest { key, .. }
            | Error::BadRequest { key, .. }
            | Error::NoSuchVersion { key, .. }
            | Error::MethodNotAllowed { key, .. }
            | Error::InvalidPart { key, .. }
            | Error::EntityTooSmall { key, .. }
            | Error::InvalidObjectState { key, .. }
            | Error::RestoreAlreadyInProgress { key, .. }
            | Error::AccessDenied { key, .. }
            | Error::BadDigest { key, .. } => Some(key),
            Error::Backend { key, .. } | Error::Corrupt { key, .. } => key.as_deref(),
            Error::Denied(d) => d.key.as_deref(),
            _ => None,
        }
    }

    /// Whether S3 sends an error document with this error: not for a HEAD request (S3 answers a denied or
    /// missing object's HEAD with the status alone), and not for `304 Not Modified`.
    pub fn has_body(&self) -> bool {
        match self {
            Error::Denied(d) => !d.head,
            Error::NotModified { .. } => false,
            _ => true,
        }
    }

    /// For `NoSuchKey` because the current version is a delete marker, the marker's version id.
    pub fn delete_marker(&self) -> Option<&str> {
        match self {
            Error::NoSuchKey { delete_marker, .. } => delete_marker.as_deref(),
            Error::MethodNotAllowed { version_id, .. } => Some(version_id),
            _ => None,
        }
    }

    pub(crate) fn no_such_key(bucket: &str, key: &str) -> Self {
        Error::NoSuchKey {
            bucket: bucket.to_string(),
            key: key.to_string(),
            delete_marker: None,
        }
    }

    pub(crate) fn no_such_version(bucket: &str, key: &str, version_id: &str) -> Self {
        Error::NoSuchVersion {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id: version_id.to_string(),
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

/// What [`Error::Denied`] says: which request was refused, for whom, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// The bucket.
    pub bucket: String,
    /// The key, for an object operation.
    pub key: Option<String>,
    /// The action refused, `s3:GetObject`.
    pub action: String,
    /// The resource's ARN.
    pub resource: String,
    /// The caller's ARN (`anonymous` for the anonymous caller).
    pub principal: String,
    /// Why.
    pub reason: crate::DenyReason,
    /// Whether the request was a HEAD (S3 answers a bare 403 with no error document).
    pub head: bool,
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "User: {} is not authorized to perform: {} on resource: \"{}\" because {}",
            self.principal, self.action, self.resource, self.reason
        )
    }
}
