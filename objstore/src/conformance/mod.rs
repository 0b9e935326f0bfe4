//! The conformance suite every backend runs: S3 behaviour, one async function per area.
//!
//! Each function takes a fresh, empty [`Store`](crate::Store) built on the backend under test with the
//! given [`ManualClock`](stratus_clock::ManualClock), and panics on the first divergence from S3.
//! [`conformance_tests!`](crate::conformance_tests) turns the whole suite into `#[tokio::test]`s for one
//! backend:
//!
//! ```ignore
//! objstore::conformance_tests!(|clock: &stratus_clock::ManualClock| {
//!     let store = objstore::Store::builder().with_clock(clock.clock()).build().unwrap();
//!     (store, ())
//! });
//! ```
//!
//! One file per S3 area, mirroring the engine's `bucket/` folder:
//!
//! - `buckets`: create, head, list and delete buckets, naming rules, `NoSuchBucket`;
//! - `objects`: put, get, head, metadata, keys, ranges, size limits, delete, conditional reads and writes;
//! - `copy`: CopyObject;
//! - `list`: ListObjectsV2;
//! - `versions`: versioning enabled and suspended, ListObjectVersions;
//! - `multipart`: multipart uploads, UploadPartCopy, ListParts / ListMultipartUploads, part-number gets;
//! - `delete_objects`: DeleteObjects;
//! - `tagging`: object and bucket tags;
//! - `checksums`: checksums on put, parts, get and head;
//! - `restore`: storage classes and restore;
//! - `lock`: object lock;
//! - `lifecycle`: lifecycle rules and the scheduled runner;
//! - `report`: the storage report.
//!
//! The helpers shared by several areas live here.

mod buckets;
mod checksums;
mod copy;
mod delete_objects;
mod lifecycle;
mod list;
mod lock;
mod multipart;
mod objects;
mod report;
mod restore;
mod tagging;
mod versions;

pub use buckets::{bucket_names, buckets, missing_bucket};
pub use checksums::checksums;
pub use copy::copy;
pub use delete_objects::{delete_many, delete_objects};
pub use lifecycle::{lifecycle_schedule, lifecycle_versions};
pub use list::{list_basics, list_delimiter, list_order, list_pagination};
pub use lock::object_lock;
pub use multipart::{get_part_number, multipart, multipart_listing_pages, upload_part_copy};
pub use objects::{
    conditional_reads, conditional_writes, create_only_race, delete, key_limits, keys, limits,
    metadata, put_get_head, ranges,
};
pub use report::storage_report;
pub use restore::storage_classes;
pub use tagging::tags;
pub use versions::{versioning, versioning_suspended, versions_delimiter};

/// Generates one `#[tokio::test]` per conformance function for a backend. The argument is a closure
/// `|&ManualClock| -> (Store, Guard)`; the guard (a temp dir, say) lives as long as the test.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            buckets, bucket_names, put_get_head, metadata, keys, key_limits, ranges, conditional_reads,
            conditional_writes, create_only_race, delete, delete_many, delete_objects, copy, list_basics, list_delimiter,
            list_pagination, list_order, limits, missing_bucket, versioning, versions_delimiter,
            versioning_suspended,
            multipart, multipart_listing_pages, get_part_number, upload_part_copy, tags, checksums, storage_classes, object_lock,
            lifecycle_schedule, lifecycle_versions, storage_report);
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let clock = ::stratus_clock::ManualClock::new();
                let (store, _guard) = ($make)(&clock);
                $crate::conformance::$name(&store, &clock).await;
            }
        )*
    };
}

/// The S3 error code of `r`, which must be an error.
pub(super) fn code<T: std::fmt::Debug>(r: crate::Result<T>) -> &'static str {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e.code(),
    }
}

/// Deterministic, non-repeating test bytes: `len` of them, varied by `seed`.
pub(super) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(u32::from(seed)) as u8
        })
        .collect()
}

/// A tag set from `(key, value)` pairs.
pub(super) fn tagset(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
