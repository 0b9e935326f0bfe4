//! The storage a [`Store`](crate::Store) runs on.
//!
//! A backend keeps buckets and objects and nothing more: S3's semantics (names, limits, ETags, conditions,
//! ranges, listing with delimiters and pagination) live once in the engine above it, so every backend behaves
//! the same. What the engine cannot do above a backend is make a check and a write atomic, so writes take a
//! [`WriteCheck`] that the backend runs against the current object while no other write to that key can
//! happen; likewise a read takes a [`ReadPlan`] evaluated on the metadata of the very version it returns.

use std::fmt::Debug;
use std::ops::{Bound, Range};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::Result;
use crate::meta::{BucketInfo, ObjectMeta};

pub mod fs;
pub mod memory;

/// Run by a backend atomically with a write, against the object now at the key (`None` if none): an
/// error aborts the write and is returned.
pub type WriteCheck<'a> = &'a (dyn Fn(Option<&ObjectMeta>) -> Result<()> + Send + Sync);

/// Run by a backend on the metadata of the object it is about to return: an error aborts the read; `Ok(None)`
/// reads the whole object, `Ok(Some(range))` those bytes.
pub type ReadPlan<'a> = &'a (dyn Fn(&ObjectMeta) -> Result<Option<Range<u64>>> + Send + Sync);

/// One page of the sorted key space of a bucket.
#[derive(Debug, Clone, Copy)]
pub struct ListQuery<'a> {
    /// Only keys starting with this.
    pub prefix: &'a str,
    /// Only keys after this bound (in UTF-8 binary order).
    pub after: Bound<&'a str>,
    /// At most this many objects.
    pub limit: usize,
}

/// A place to keep buckets and objects. See the [module docs](self).
///
/// Implementations must give: bucket operations that fail with `NoSuchBucket` / `BucketAlreadyOwnedByYou` /
/// `BucketNotEmpty` as S3 does; atomic writes (an object is never seen half written); a check and the write it
/// guards as one atomic step; and keys listed in UTF-8 binary order.
#[async_trait]
pub trait Backend: Send + Sync + Debug + 'static {
    /// A short name for errors and displays (`memory`, `fs`).
    fn name(&self) -> &'static str;

    /// Creates a bucket (name already validated).
    async fn create_bucket(&self, info: &BucketInfo) -> Result<()>;

    /// Deletes an empty bucket.
    async fn delete_bucket(&self, bucket: &str) -> Result<()>;

    /// Describes one bucket.
    async fn head_bucket(&self, bucket: &str) -> Result<BucketInfo>;

    /// All buckets, in any order.
    async fn list_buckets(&self) -> Result<Vec<BucketInfo>>;

    /// The metadata of the object at `key`.
    async fn head(&self, bucket: &str, key: &str) -> Result<Arc<ObjectMeta>>;

    /// The object at `key` (or the part of it the plan chooses) with its metadata.
    async fn get(
        &self,
        bucket: &str,
        key: &str,
        plan: ReadPlan<'_>,
    ) -> Result<(Arc<ObjectMeta>, Bytes)>;

    /// Stores `data` under `meta.key`, replacing what is there, if `check` passes on the current object.
    async fn put(
        &self,
        bucket: &str,
        meta: ObjectMeta,
        data: Bytes,
        check: WriteCheck<'_>,
    ) -> Result<Arc<ObjectMeta>>;

    /// Removes the object at `key` if `check` passes; returns what was removed (`None`: nothing was there).
    async fn delete(
        &self,
        bucket: &str,
        key: &str,
        check: WriteCheck<'_>,
    ) -> Result<Option<Arc<ObjectMeta>>>;

    /// Up to `query.limit` objects in key order.
    async fn list(&self, bucket: &str, query: ListQuery<'_>) -> Result<Vec<Arc<ObjectMeta>>>;
}

#[async_trait]
impl<T: Backend + ?Sized> Backend for Arc<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    async fn create_bucket(&self, info: &BucketInfo) -> Result<()> {
        (**self).create_bucket(info).await
    }
    async fn delete_bucket(&self, bucket: &str) -> Result<()> {
        (**self).delete_bucket(bucket).await
    }
    async fn head_bucket(&self, bucket: &str) -> Result<BucketInfo> {
        (**self).head_bucket(bucket).await
    }
    async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        (**self).list_buckets().await
    }
    async fn head(&self, bucket: &str, key: &str) -> Result<Arc<ObjectMeta>> {
        (**self).head(bucket, key).await
    }
    async fn get(
        &self,
        bucket: &str,
        key: &str,
        plan: ReadPlan<'_>,
    ) -> Result<(Arc<ObjectMeta>, Bytes)> {
        (**self).get(bucket, key, plan).await
    }
    async fn put(
        &self,
        bucket: &str,
        meta: ObjectMeta,
        data: Bytes,
        check: WriteCheck<'_>,
    ) -> Result<Arc<ObjectMeta>> {
        (**self).put(bucket, meta, data, check).await
    }
    async fn delete(
        &self,
        bucket: &str,
        key: &str,
        check: WriteCheck<'_>,
    ) -> Result<Option<Arc<ObjectMeta>>> {
        (**self).delete(bucket, key, check).await
    }
    async fn list(&self, bucket: &str, query: ListQuery<'_>) -> Result<Vec<Arc<ObjectMeta>>> {
        (**self).list(bucket, query).await
    }
}

/// The lower bound of a listing: the later of `after` and the prefix itself.
pub(crate) fn list_start<'a>(prefix: &'a str, after: Bound<&'a str>) -> Bound<&'a str> {
    match after {
        Bound::Unbounded => Bound::Included(prefix),
        Bound::Excluded(a) | Bound::Included(a) if a < prefix => Bound::Included(prefix),
        other => other,
    }
}
