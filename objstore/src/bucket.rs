//! Object operations on one bucket.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use crate::conditions::Conditions;
use crate::error::{Error, Result};
use crate::etag::ETag;
use crate::list::{ListOptions, ListPage, list_objects_v2};
use crate::meta::{ObjectAttributes, ObjectMeta, to_millis};
use crate::names::validate_key;
use crate::options::{CopyOptions, DeleteOptions, GetOptions, MetadataDirective, PutOptions};
use crate::store::StoreInner;

/// The most keys one [`Bucket::delete_many`] call takes, as S3's DeleteObjects.
pub const MAX_DELETE_KEYS: usize = 1000;

/// Above this size the MD5 of a put is computed off the async worker threads.
const INLINE_MD5_LIMIT: usize = 4 * 1024 * 1024;

/// A handle to one bucket of a [`Store`](crate::Store): the object operations of S3. Cheap to clone.
///
/// ```
/// use objstore::{Conditions, GetOptions, ByteRange};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> objstore::Result<()> {
/// let store = objstore::Store::memory();
/// let bucket = store.create_bucket("docs").await?;
/// let meta = bucket.put("a.txt", "hello world").await?;
/// assert_eq!(meta.etag.as_str(), "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");
///
/// let part = bucket
///     .get_opts("a.txt", GetOptions { range: ByteRange::parse("bytes=-5"), ..Default::default() })
///     .await?;
/// assert_eq!(&part.body[..], b"world");
///
/// let unchanged = bucket
///     .get_opts("a.txt", GetOptions { conditions: Conditions::default().if_none_match(meta.etag.as_str()), ..Default::default() })
///     .await
///     .unwrap_err();
/// assert_eq!(unchanged.status(), 304);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Bucket {
    pub(crate) store: Arc<StoreInner>,
    pub(crate) name: Arc<str>,
}

impl fmt::Debug for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bucket({}:{})", self.store.backend.name(), self.name)
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "objstore({}://{})", self.store.backend.name(), self.name)
    }
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

/// One key a [`Bucket::delete_many`] could not delete.
#[derive(Debug)]
pub struct DeleteError {
    /// The key.
    pub key: String,
    /// Why.
    pub error: Error,
}

/// What [`Bucket::delete_many`] did, key by key, as S3's DeleteObjects answers.
#[derive(Debug, Default)]
pub struct DeleteManyOutput {
    /// Keys deleted (including keys that did not exist, as in S3).
    pub deleted: Vec<String>,
    /// Keys that failed, each with its error.
    pub errors: Vec<DeleteError>,
}

impl Bucket {
    pub(crate) fn new(store: Arc<StoreInner>, name: &str) -> Self {
        Bucket {
            store,
            name: Arc::from(name),
        }
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stores `data` at `key` with no headers or conditions; returns the stored object's metadata.
    ///
    /// # Errors
    /// As [`Bucket::put_opts`].
    pub async fn put(&self, key: &str, data: impl Into<Bytes>) -> Result<Arc<ObjectMeta>> {
        self.put_opts(key, data, PutOptions::default()).await
    }

    /// Stores `data` at `key`.
    ///
    /// # Errors
    /// `KeyTooLongError`, `InvalidArgument` (empty key), `MetadataTooLarge`, `EntityTooLarge`, `NoSuchBucket`;
    /// `PreconditionFailed` when a condition fails (e.g. `If-None-Match: *` on an existing key) and `NoSuchKey`
    /// for `If-Match` on a free key. Nothing is written when an error is returned.
    pub async fn put_opts(
        &self,
        key: &str,
        data: impl Into<Bytes>,
        opts: PutOptions,
    ) -> Result<Arc<ObjectMeta>> {
        let data = data.into();
        validate_key(&self.name, key)?;
        if data.len() as u64 > self.store.max_put_size {
            return Err(Error::EntityTooLarge {
                bucket: self.name.to_string(),
                key: key.to_string(),
                size: data.len() as u64,
                max: self.store.max_put_size,
            });
        }
        let attributes = opts.attributes.normalized(&self.name, key)?;
        let etag = md5_etag(&data).await;
        self.write(key, data, etag, attributes, &opts.conditions)
            .await
    }

    async fn write(
        &self,
        key: &str,
        data: Bytes,
        etag: ETag,
        attributes: ObjectAttributes,
        conditions: &Conditions,
    ) -> Result<Arc<ObjectMeta>> {
        let meta = ObjectMeta {
            key: key.to_string(),
            size: data.len() as u64,
            etag,
            last_modified: to_millis(self.store.clock.now()),
            attributes,
        };
        let bucket = &*self.name;
        let check = |current: Option<&ObjectMeta>| conditions.check_write(bucket, key, current);
        self.store.backend.put(bucket, meta, data, &check).await
    }

    /// Reads the whole object at `key`.
    ///
    /// # Errors
    /// As [`Bucket::get_opts`].
    pub async fn get(&self, key: &str) -> Result<GetOutput> {
        self.get_opts(key, GetOptions::default()).await
    }

    /// Reads the object at `key`, or a range of it, if the conditions hold.
    ///
    /// # Errors
    /// `NoSuchKey`, `NoSuchBucket`; `PreconditionFailed` (412) and `NotModified` (304) per the conditions;
    /// `InvalidRange` (416) for a range that cannot be satisfied.
    pub async fn get_opts(&self, key: &str, opts: GetOptions) -> Result<GetOutput> {
        validate_key(&self.name, key)?;
        let bucket = &*self.name;
        let plan = |meta: &ObjectMeta| -> Result<Option<Range<u64>>> {
            opts.conditions.check_read(bucket, meta)?;
            match opts.range {
                None => Ok(None),
                Some(r) => r
                    .resolve(meta.size)
                    .map(Some)
                    .ok_or_else(|| Error::InvalidRange {
                        bucket: bucket.to_string(),
                        key: key.to_string(),
                        range: r.to_string(),
                        size: meta.size,
                    }),
            }
        };
        let (meta, body) = self.store.backend.get(bucket, key, &plan).await?;
        let range = opts.range.and_then(|r| r.resolve(meta.size));
        Ok(GetOutput { meta, body, range })
    }

    /// The metadata of the object at `key` (S3's HeadObject).
    ///
    /// # Errors
    /// `NoSuchKey`, `NoSuchBucket`.
    pub async fn head(&self, key: &str) -> Result<Arc<ObjectMeta>> {
        self.head_opts(key, &Conditions::default()).await
    }

    /// HeadObject with conditions.
    ///
    /// # Errors
    /// As [`Bucket::head`], plus `PreconditionFailed` and `NotModified` per the conditions.
    pub async fn head_opts(&self, key: &str, conditions: &Conditions) -> Result<Arc<ObjectMeta>> {
        validate_key(&self.name, key)?;
        let meta = self.store.backend.head(&self.name, key).await?;
        conditions.check_read(&self.name, &meta)?;
        Ok(meta)
    }

    /// Deletes the object at `key`. Deleting a missing key succeeds, as in S3.
    ///
    /// # Errors
    /// `NoSuchBucket`, invalid keys.
    pub async fn delete(&self, key: &str) -> Result<()> {
        self.delete_opts(key, DeleteOptions::default())
            .await
            .map(|_| ())
    }

    /// Deletes the object at `key` if the conditions hold; returns what was deleted, if anything.
    ///
    /// # Errors
    /// As [`Bucket::delete`], plus `PreconditionFailed`, and `NoSuchKey` for `If-Match` on a free key.
    pub async fn delete_opts(
        &self,
        key: &str,
        opts: DeleteOptions,
    ) -> Result<Option<Arc<ObjectMeta>>> {
        validate_key(&self.name, key)?;
        let bucket = &*self.name;
        let check =
            |current: Option<&ObjectMeta>| opts.conditions.check_write(bucket, key, current);
        self.store.backend.delete(bucket, key, &check).await
    }

    /// Deletes up to 1000 keys (S3's DeleteObjects); each key succeeds or fails on its own.
    ///
    /// # Errors
    /// `MalformedXML` ([`Error::TooManyKeys`]) for more than 1000 keys (nothing is deleted), `NoSuchBucket`.
    pub async fn delete_many<I, K>(&self, keys: I) -> Result<DeleteManyOutput>
    where
        I: IntoIterator<Item = K>,
        K: Into<String>,
    {
        let keys: Vec<String> = keys.into_iter().map(Into::into).collect();
        if keys.len() > MAX_DELETE_KEYS {
            return Err(Error::TooManyKeys {
                bucket: self.name.to_string(),
                count: keys.len(),
                max: MAX_DELETE_KEYS,
            });
        }
        self.store.backend.head_bucket(&self.name).await?;
        let mut out = DeleteManyOutput::default();
        for key in keys {
            match self.delete(&key).await {
                Ok(()) => out.deleted.push(key),
                Err(error) => out.errors.push(DeleteError { key, error }),
            }
        }
        Ok(out)
    }

    /// Copies `src_key` of this bucket to `dst_key`, keeping headers and metadata.
    ///
    /// # Errors
    /// As [`Bucket::copy_from`].
    pub async fn copy(&self, src_key: &str, dst_key: &str) -> Result<Arc<ObjectMeta>> {
        self.copy_from(&self.name.clone(), src_key, dst_key, CopyOptions::default())
            .await
    }

    /// Copies `src_key` of bucket `src_bucket` (of the same store) to `dst_key` of this bucket (S3's
    /// CopyObject).
    ///
    /// # Errors
    /// `NoSuchKey` / `NoSuchBucket` for the source; `PreconditionFailed` when a source or destination
    /// condition fails (S3 answers a failed `x-amz-copy-source-if-none-match` with 412, not 304);
    /// `InvalidRequest` for a copy of an object onto itself that changes nothing.
    pub async fn copy_from(
        &self,
        src_bucket: &str,
        src_key: &str,
        dst_key: &str,
        opts: CopyOptions,
    ) -> Result<Arc<ObjectMeta>> {
        crate::names::validate_bucket_name(src_bucket)?;
        validate_key(src_bucket, src_key)?;
        validate_key(&self.name, dst_key)?;
        if src_bucket == &*self.name
            && src_key == dst_key
            && opts.metadata == MetadataDirective::Copy
        {
            return Err(Error::InvalidRequest {
                bucket: self.name.to_string(),
                key: dst_key.to_string(),
                message: "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
            });
        }
        let plan = |meta: &ObjectMeta| -> Result<Option<Range<u64>>> {
            opts.source_conditions
                .check_read(src_bucket, meta)
                .map_err(|e| match e {
                    Error::NotModified {
                        bucket,
                        key,
                        condition,
                        ..
                    } => Error::PreconditionFailed {
                        bucket,
                        key,
                        condition: match condition {
                            "If-None-Match" => "x-amz-copy-source-if-none-match",
                            _ => "x-amz-copy-source-if-modified-since",
                        },
                    },
                    other => other,
                })?;
            Ok(None)
        };
        let (src, data) = self.store.backend.get(src_bucket, src_key, &plan).await?;
        let attributes = match opts.metadata {
            MetadataDirective::Copy => src.attributes.clone(),
            MetadataDirective::Replace(a) => a.normalized(&self.name, dst_key)?,
        };
        // A copy is one object again: a multipart source's `-N` ETag becomes the MD5 of the content.
        let etag = if src.etag.unquoted().contains('-') {
            md5_etag(&data).await
        } else {
            src.etag.clone()
        };
        self.write(dst_key, data, etag, attributes, &opts.conditions)
            .await
    }

    /// One page of ListObjectsV2.
    ///
    /// # Errors
    /// `NoSuchBucket`; `InvalidArgument` for a continuation token this store did not issue.
    pub async fn list(&self, opts: &ListOptions) -> Result<ListPage> {
        list_objects_v2(&*self.store.backend, &self.name, opts).await
    }

    /// Every object under `prefix`, following continuation tokens to the end.
    ///
    /// # Errors
    /// As [`Bucket::list`].
    pub async fn list_all(&self, prefix: &str) -> Result<Vec<Arc<ObjectMeta>>> {
        let mut opts = ListOptions::default().prefix(prefix);
        let mut all = Vec::new();
        loop {
            let page = self.list(&opts).await?;
            all.extend(page.objects);
            match page.next_continuation_token {
                Some(t) => opts.continuation_token = Some(t),
                None => return Ok(all),
            }
        }
    }
}

async fn md5_etag(data: &Bytes) -> ETag {
    if data.len() <= INLINE_MD5_LIMIT {
        return ETag::of(data);
    }
    let shared = data.clone();
    match tokio::task::spawn_blocking(move || ETag::of(&shared)).await {
        Ok(etag) => etag,
        // The blocking pool refused the task (runtime shutting down): compute it here instead.
        Err(_) => ETag::of(data),
    }
}
