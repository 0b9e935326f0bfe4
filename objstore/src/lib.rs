//! # objstore: S3 semantics over pluggable backends
//!
//! `objstore` is an object store with the semantics of Amazon S3, in-process: a faithful test double for
//! code that talks to S3, and a real store for programs that want S3's model without a server.
//!
//! ## Modules
//! Layers are folders; each imports only the layers below it (no import cycles):
//!
//! ```text
//! lib.rs            the user API: re-exports of what users call and receive
//!   report.rs       storage report and prices        interop.rs  object_store::ObjectStore for Bucket
//!   store/          Store, StoreBuilder; lifecycle passes over every bucket, on the clock's schedule
//!   bucket/         the engine: every `impl Bucket`, one file per S3 area (objects, copy, list, versions,
//!                   multipart, lock, tagging, restore, lifecycle), one `update_meta` for metadata changes
//!   backend/        the `Backend` trait, its query and closure types, the memory and fs backends (for implementers:
//!                   `objstore::backend::*`)
//!   types/          the data types and their pure rules: names, etag, checksum, range, meta, storage_class,
//!                   lock, tags, lifecycle/ (schema, validation, matching, report), config, multipart,
//!                   conditions, options, versioning, list
//!   error.rs  limits.rs   the error enum and S3's limits (`objstore::limits::MAX_KEYS`), at the bottom
//! ```
//!
//! Two cuts differ from a plain "types hold types": the rules of object lock (what protects a version,
//! which retention changes are allowed) live with the engine in `bucket/lock.rs`, because they read a
//! version's metadata and `types/meta.rs` holds a version's retention, so keeping them in `types/lock.rs`
//! tied the two files into a cycle; and the lifecycle engine is split by what it runs over: one bucket's
//! pass in `bucket/lifecycle.rs`, the passes over every bucket and their schedule in `store/lifecycle.rs`.
//! The shared state of a store (backend, clock, settings) is defined in `bucket/` because every bucket
//! handle holds it; `store/` builds it.
//!
//! ## The model
//! A [`Store`] holds buckets; a [`Bucket`] handle does the object operations. The S3 rules are implemented
//! once, above a small [`Backend`](backend::Backend) trait, so every backend behaves the same:
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
//! Beyond the core, the features data-lake, backup and archive users rely on, each implemented once in the
//! engine and so identical on every backend:
//! - versioning ([`Versioning`]): version ids, get/head/delete/copy by version, delete markers,
//!   ListObjectVersions with delimiters ([`Bucket::list_versions`]), DeleteObjects by version
//!   ([`Bucket::delete_objects`]), `null` versions while suspended;
//! - multipart uploads ([`Bucket::create_multipart_upload`]) with S3's limits and `-N` ETags
//!   ([`multipart_etag`]), UploadPartCopy ([`Bucket::upload_part_copy`]), gets and heads by part number,
//!   ListParts and ListMultipartUploads by pages, and [`object_store::multipart::MultipartStore`];
//! - storage classes ([`StorageClass`]) and restores from the archive classes on the store's clock;
//! - object lock: default retention, GOVERNANCE with bypass, COMPLIANCE, legal hold;
//! - object and bucket tags; checksums ([`ChecksumAlgorithm`]) verified on put and part upload;
//! - lifecycle rules in S3's JSON shape ([`LifecycleConfiguration`]) that actually run, on demand or on the
//!   clock's schedule ([`Store::spawn_lifecycle`]), reporting what they did;
//! - a storage report per bucket and class with costs from a replaceable [`PriceTable`].
//!
//! ```
//! use objstore::{LifecycleConfiguration, StorageClass, Store, Versioning};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> objstore::Result<()> {
//! let clock = stratus_clock::ManualClock::new();
//! let store = Store::builder().with_clock(clock.clock()).build()?;
//! let bucket = store.create_bucket("archive").await?;
//! bucket.set_versioning(Versioning::Enabled).await?;
//! let v1 = bucket.put("report.csv", "a,b\n1,2\n").await?;
//! bucket.delete("report.csv").await?; // a delete marker
//! assert!(bucket.get("report.csv").await.unwrap_err().delete_marker().is_some());
//! assert_eq!(&bucket.get_version("report.csv", &v1.version_id).await?.body[..], b"a,b\n1,2\n");
//!
//! bucket.put("logs/1", "x").await?;
//! bucket
//!     .set_lifecycle(Some(LifecycleConfiguration::from_json(
//!         r#"{"Rules": [{"Status": "Enabled", "Filter": {"Prefix": "logs/"},
//!                        "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}]}"#,
//!     )?))
//!     .await?;
//! clock.advance(Duration::from_secs(31 * 86_400));
//! let report = store.run_lifecycle().await?;
//! assert_eq!(report.actions.len(), 1);
//! assert_eq!(bucket.head("logs/1").await?.storage_class, StorageClass::Glacier);
//! # Ok(()) }
//! ```
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

#![forbid(unsafe_code)]

pub mod backend;
mod bucket;
mod error;
mod interop;
pub mod limits;
mod report;
pub mod sigv4;
mod store;
mod types;

#[cfg(any(test, feature = "testing"))]
pub mod conformance;

pub use backend::fs::{FsBackend, FsOptions, QuarantinedBucket, RecoveryReport};
pub use backend::memory::MemoryBackend;
pub use bucket::Bucket;
pub use error::{Denied, Error, Result};
pub use report::{BucketUsage, ClassUsage, PriceTable, StorageReport};
pub use store::{DEFAULT_REGION, LifecycleRunner, Store, StoreBuilder};
pub use types::access::{
    Action, BucketPolicy, Caller, DEFAULT_ACCOUNT_ID, DenyReason, Identity, MAX_POLICY_BYTES,
    PublicAccessBlock, ResourceKind,
};
pub use types::checksum::{Checksum, ChecksumAlgorithm};
pub use types::conditions::Conditions;
pub use types::config::{BucketConfig, Versioning};
pub use types::etag::ETag;
pub use types::lifecycle::{
    AbortIncompleteMultipartUpload, Expiration, FilterAnd, LifecycleAction, LifecycleConfiguration,
    LifecycleFilter, LifecycleReport, LifecycleRule, NoncurrentVersionExpiration,
    NoncurrentVersionTransition, RuleStatus, Tag, Transition,
};
pub use types::list::{ListOptions, ListPage};
pub use types::lock::{DefaultRetention, ObjectLockConfig, Retention, RetentionMode};
pub use types::meta::{
    BucketInfo, DEFAULT_CONTENT_TYPE, NULL_VERSION, ObjectAttributes, ObjectMeta,
};
pub use types::multipart::{
    CompletedPart, ListPartsOptions, ListPartsPage, ListUploadsOptions, ListUploadsPage,
    MultipartOptions, PartInfo, Upload, UploadPartCopyOptions, multipart_etag,
};
pub use types::names::{validate_bucket_name, validate_key};
pub use types::options::{
    CopyOptions, DeleteOptions, GetOptions, GetOutput, MetadataDirective, PutOptions,
};
pub use types::range::ByteRange;
pub use types::storage_class::{RestoreDelays, RestoreState, StorageClass};
pub use types::versioning::{
    DeleteError, DeleteManyOutput, DeleteObjectsOptions, DeleteObjectsOutput, DeletedObject,
    ListVersionsOptions, ListVersionsPage, ObjectIdentifier, VersionEntry,
};

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
        assert_send(&b.list_versions(&ListVersionsOptions::default()));
        assert_send(&b.create_multipart_upload("k", MultipartOptions::default()));
        assert_send(&b.upload_part("k", "u", 1, "v", None));
        assert_send(&b.complete_multipart_upload("k", "u", &[], &Conditions::default()));
        assert_send(&b.set_object_tags("k", None, Default::default()));
        assert_send(&b.restore_object("k", None, 1));
        assert_send(&b.set_retention("k", None, None, false));
        assert_send(&b.run_lifecycle());
        assert_send(&store.run_lifecycle());
        assert_send(&store.storage_report(&PriceTable::default()));
        let fs = Store::fs(tempfile::tempdir().unwrap().path()).unwrap();
        assert_send(&fs.bucket("send-check").unwrap().put("k", "v"));
    }
}
