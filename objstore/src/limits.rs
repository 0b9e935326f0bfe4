//! S3's limits, as this crate enforces them: one place to read them all (`objstore::limits::MAX_KEYS`).
//!
//! Every check of a limit in the engine names its constant here, so the number and the rule cannot drift
//! apart. [`MAX_PUT_SIZE`] is the ceiling of [`StoreBuilder::with_max_put_size`](crate::StoreBuilder::with_max_put_size).

// Names and metadata.

/// The longest key S3 accepts, in bytes of UTF-8.
pub const MAX_KEY_LEN: usize = 1024;
/// S3's limit on user-defined metadata: names plus values, in bytes.
pub const MAX_USER_METADATA: usize = 2048;

// Object sizes.

/// S3's limit on the size of one put: 5 GiB.
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// The smallest part but the last: 5 MiB.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// The largest part: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// The highest part number.
pub const MAX_PART_NUMBER: u32 = 10_000;

// Pages and batches.

/// The most keys one ListObjectsV2 page returns (and the default).
pub const MAX_KEYS: usize = 1000;
/// The most versions one ListObjectVersions page returns (and the default).
pub const MAX_VERSION_KEYS: usize = 1000;
/// The most parts one ListParts page and the most uploads one ListMultipartUploads page return (and the
/// default), as in S3.
pub const MAX_LIST_UPLOADS: usize = 1000;
/// The most keys one [`Bucket::delete_many`](crate::Bucket::delete_many) or
/// [`Bucket::delete_objects`](crate::Bucket::delete_objects) call takes, as S3's DeleteObjects.
pub const MAX_DELETE_KEYS: usize = 1000;

// Tags.

/// The most tags on one object.
pub const MAX_OBJECT_TAGS: usize = 10;
/// The most tags on one bucket.
pub const MAX_BUCKET_TAGS: usize = 50;
/// The longest tag key, in Unicode characters.
pub const MAX_TAG_KEY_LEN: usize = 128;
/// The longest tag value, in Unicode characters.
pub const MAX_TAG_VALUE_LEN: usize = 256;
