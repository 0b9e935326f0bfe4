//! # objstore: S3 semantics over pluggable backends
//!
//! `objstore` is an object store with the semantics of Amazon S3, in-process: a faithful test double for
//! code that talks to S3, and a real store for programs that want S3's model without a server.
//!
//! ## The model
//! A [`Store`] holds buckets; a [`Bucket`] handle does the object operations. The S3 rules are implemented
//! once, above a small [`Backend`] trait, so every backend behaves the same:
//!
//! - bucket names follow S3's rules ([`validate_bucket_name`]); a bucket is deleted only when empty;
//! - keys are any UTF-8 of 1 to 1024 bytes, and `a`, `a/`, `a/b`, `a//b` and `../x` are distinct keys;
//! - ETags are the MD5 of the content, quoted as S3 quotes them ([`ETag`]);
//! - reads take byte ranges ([`ByteRange`], including suffix ranges) and conditions ([`Conditions`]:
//!   `If-Match`, `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`) with S3's outcomes: 412
//!   `PreconditionFailed`, 304 `NotModified`, 416 `InvalidRange`;
//! - writes take conditions too, evaluated atomically with the write (`If-None-Match: *` is a create-only
//!   put);
//! - ListObjectsV2 ([`ListOptions`]) lists in UTF-8 binary order with prefix, delimiter and common prefixes,
//!   start-after, continuation tokens and max-keys up to 1000;
//! - every error is an [`Error`] naming the bucket, key or limit, whose [`Error::code`] is S3's error code.
//!
//! Backends: [`MemoryBackend`] (the test double, and the fastest) and [`FsBackend`] (durable under a root
//! folder; crash-safe). A [`Bucket`] also implements [`object_store::ObjectStore`], so DataFusion, Polars,
//! delta-rs and `parquet` can read and write it. Time comes from an injected [`stratus_clock::Clock`].
//!
//! ```
//! use objstore::{ListOptions, Store};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> objstore::Result<()> {
//! let store = Store::memory();
//! let bucket = store.create_bucket("logs").await?;
//! for key in ["2024/01/a.log", "2024/01/b.log", "2024/02/c.log", "README"] {
//!     bucket.put(key, key.as_bytes().to_vec()).await?;
//! }
//! let page = bucket.list(&ListOptions::default().prefix("2024/").delimiter("/")).await?;
//! assert_eq!(page.common_prefixes, ["2024/01/", "2024/02/"]);
//!
//! let err = bucket.get("missing").await.unwrap_err();
//! assert_eq!(err.code(), "NoSuchKey");
//! # Ok(()) }
//! ```

pub mod backend;
mod bucket;
mod checksum;
mod conditions;
mod config;
mod error;
mod etag;
mod interop;
mod lifecycle;
mod list;
mod lock;
mod meta;
mod multipart;
mod names;
mod options;
mod range;
mod report;
mod storage_class;
mod store;
mod tagging;
mod versioning;

#[cfg(any(test, feature = "testing"))]
pub mod conformance;

pub use backend::fs::{FsBackend, FsOptions, RecoveryReport};
pub use backend::memory::MemoryBackend;
pub use backend::{
    Backend, ConfigUpdate, ListQuery, MetaUpdate, PartInfo, ReadPlan, Upload, VersionEntry,
    VersionQuery, WriteCheck, valid_version_id,
};
pub use bucket::{Bucket, DeleteError, DeleteManyOutput, GetOutput, MAX_DELETE_KEYS};
pub use checksum::{Checksum, ChecksumAlgorithm};
pub use conditions::Conditions;
pub use config::{BucketConfig, Versioning};
pub use error::{Error, Result};
pub use etag::ETag;
pub use lifecycle::{
    AbortIncompleteMultipartUpload, Expiration, FilterAnd, LifecycleAction, LifecycleConfiguration,
    LifecycleFilter, LifecycleReport, LifecycleRule, LifecycleRunner, NoncurrentVersionExpiration,
    NoncurrentVersionTransition, RuleStatus, Tag, Transition,
};
pub use list::{ListOptions, ListPage, MAX_KEYS};
pub use lock::{DefaultRetention, ObjectLockConfig, Retention, RetentionMode};
pub use meta::{
    BucketInfo, DEFAULT_CONTENT_TYPE, MAX_USER_METADATA, NULL_VERSION, ObjectAttributes, ObjectMeta,
};
pub use multipart::{
    CompletedPart, MAX_PART_NUMBER, MAX_PART_SIZE, MIN_PART_SIZE, MultipartOptions, multipart_etag,
};
pub use names::{MAX_KEY_LEN, validate_bucket_name, validate_key};
pub use options::{CopyOptions, DeleteOptions, GetOptions, MetadataDirective, PutOptions};
pub use range::ByteRange;
pub use report::{BucketUsage, ClassUsage, PriceTable, StorageReport};
pub use storage_class::{RestoreDelays, RestoreState, StorageClass};
pub use store::{MAX_PUT_SIZE, Store, StoreBuilder};
pub use tagging::{MAX_BUCKET_TAGS, MAX_OBJECT_TAGS, MAX_TAG_KEY_LEN, MAX_TAG_VALUE_LEN};
pub use versioning::{ListVersionsOptions, ListVersionsPage, MAX_VERSION_KEYS};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// Every public future is `Send`, so a bucket works inside `tokio::spawn` and axum handlers.
    #[test]
    fn futures_are_send() {
        let store = Store::memory();
        let b = store.bucket("send-check").unwrap();
        assert_send(&store.create_bucket("send-check"));
        assert_send(&store.delete_bucket("send-check"));
        assert_send(&store.list_buckets());
        assert_send(&store.head_bucket("send-check"));
        assert_send(&b.put("k", "v"));
        assert_send(&b.put_opts("k", "v", PutOptions::default()));
        assert_send(&b.get("k"));
        assert_send(&b.get_opts("k", GetOptions::default()));
        assert_send(&b.head("k"));
        assert_send(&b.delete("k"));
        assert_send(&b.delete_many(["k"]));
        assert_send(&b.copy("k", "l"));
        assert_send(&b.list(&ListOptions::default()));
        assert_send(&b.list_all(""));
        let fs = Store::fs(tempfile::tempdir().unwrap().path()).unwrap();
        assert_send(&fs.bucket("send-check").unwrap().put("k", "v"));
    }
}
