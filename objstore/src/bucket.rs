//! Object operations on one bucket.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use crate::backend::valid_version_id;
use crate::checksum::{Checksum, ChecksumAlgorithm};
use crate::conditions::Conditions;
use crate::config::{BucketConfig, Versioning};
use crate::error::{Error, Result};
use crate::etag::ETag;
use crate::list::{ListOptions, ListPage, list_objects_v2};
use crate::lock::{Retention, check_removable};
use crate::meta::{NULL_VERSION, ObjectMeta, to_millis};
use crate::names::validate_key;
use crate::options::{CopyOptions, DeleteOptions, GetOptions, MetadataDirective, PutOptions};
use crate::range::ByteRange;
use crate::store::StoreInner;
use crate::tagging::{MAX_OBJECT_TAGS, validate_tags};
use crate::versioning::{DeleteObjectsOptions, ObjectIdentifier};

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

/// One key (or version) a [`Bucket::delete_many`] or [`Bucket::delete_objects`] could not delete.
#[derive(Debug)]
pub struct DeleteError {
    /// The key.
    pub key: String,
    /// The version asked for, if one was.
    pub version_id: Option<String>,
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

    /// Stores `data` at `key`: replaces the object in an unversioned bucket, adds a version in a versioned
    /// one. Returns the stored version's metadata.
    ///
    /// # Errors
    /// `KeyTooLongError`, `InvalidArgument` (empty key), `MetadataTooLarge`, `EntityTooLarge`, `NoSuchBucket`;
    /// `PreconditionFailed` when a condition fails (e.g. `If-None-Match: *` on an existing key) and `NoSuchKey`
    /// for `If-Match` on a free key; `InvalidTag`; `BadDigest` when the checksum does not match the data;
    /// `InvalidRequest` for object lock settings on a bucket without object lock; `AccessDenied` when the write
    /// would overwrite a locked version in place. Nothing is written when an error is returned.
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
        if !opts.tags.is_empty() {
            validate_tags(
                &self.name,
                &format!("object {key:?}"),
                &opts.tags,
                MAX_OBJECT_TAGS,
            )?;
        }
        let checksum = verify_checksum(
            &self.name,
            key,
            &data,
            opts.checksum.as_ref(),
            opts.checksum_algorithm,
        )
        .await?;
        let etag = md5_etag(&data).await;
        let mut meta = ObjectMeta::new(
            key,
            data.len() as u64,
            etag,
            to_millis(self.store.clock.now()),
        );
        meta.attributes = attributes;
        meta.storage_class = opts.storage_class;
        meta.tags = opts.tags;
        meta.checksum = checksum;
        meta.retention = opts.retention;
        meta.legal_hold = opts.legal_hold;
        self.write(meta, data, &opts.conditions).await
    }

    /// Chooses the version id by the bucket's versioning state, applies object lock defaults, and writes.
    pub(crate) async fn prepare_version(&self, meta: &mut ObjectMeta) -> Result<Arc<BucketConfig>> {
        let config = self.store.backend.bucket_config(&self.name).await?;
        meta.version_id = match config.versioning {
            Versioning::Enabled => new_id(),
            Versioning::Unversioned | Versioning::Suspended => NULL_VERSION.to_string(),
        };
        match &config.object_lock {
            Some(lock) if meta.retention.is_none() && !meta.is_delete_marker => {
                if let Some(d) = &lock.default_retention {
                    meta.retention = Some(Retention {
                        mode: d.mode,
                        retain_until: meta.last_modified + d.period,
                    });
                }
            }
            Some(_) => {}
            None if meta.retention.is_some() || meta.legal_hold => {
                return Err(Error::InvalidRequest {
                    bucket: self.name.to_string(),
                    key: meta.key.clone(),
                    message: "Bucket is missing Object Lock Configuration",
                });
            }
            None => {}
        }
        Ok(config)
    }

    async fn write(
        &self,
        mut meta: ObjectMeta,
        data: Bytes,
        conditions: &Conditions,
    ) -> Result<Arc<ObjectMeta>> {
        self.prepare_version(&mut meta).await?;
        let bucket = &*self.name;
        let key = meta.key.clone();
        let now = self.store.clock.now();
        let check = |current: Option<&ObjectMeta>, target: Option<&ObjectMeta>| {
            conditions.check_write(bucket, &key, live(current))?;
            match target {
                Some(t) => check_removable(bucket, t, now, false),
                None => Ok(()),
            }
        };
        self.store.backend.put(bucket, meta, data, &check).await
    }

    /// Reads the whole object at `key`.
    ///
    /// # Errors
    /// As [`Bucket::get_opts`].
    pub async fn get(&self, key: &str) -> Result<GetOutput> {
        self.get_opts(key, GetOptions::default()).await
    }

    /// Reads the object at `key` (or one version of it), or a range of it, if the conditions hold.
    ///
    /// # Errors
    /// `NoSuchKey` (flagged with the marker's id when the current version is a delete marker),
    /// `NoSuchVersion`, `MethodNotAllowed` for a delete marker's version id, `NoSuchBucket`;
    /// `InvalidObjectState` for an archived object that is not restored; `PreconditionFailed` (412) and
    /// `NotModified` (304) per the conditions; `InvalidRange` (416) for a range that cannot be satisfied.
    pub async fn get_opts(&self, key: &str, opts: GetOptions) -> Result<GetOutput> {
        validate_key(&self.name, key)?;
        let version = self.version_arg(key, opts.version_id.as_deref())?;
        let bucket = &*self.name;
        let now = self.store.clock.now();
        let part = match (opts.part_number, &opts.range) {
            (Some(_), Some(_)) => {
                return Err(Error::InvalidRequest {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                    message: "cannot specify both a Range and a partNumber",
                });
            }
            (Some(n), None) => {
                self.check_part_number(key, n)?;
                Some(n)
            }
            (None, _) => None,
        };
        let plan = |meta: &ObjectMeta| -> Result<Option<Range<u64>>> {
            readable(bucket, meta, version.is_some(), "GET", now)?;
            opts.conditions.check_read(bucket, meta)?;
            if let Some(n) = part {
                return part_range(bucket, meta, n).map(Some);
            }
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
        let (meta, body) = self.store.backend.get(bucket, key, version, &plan).await?;
        let range = match part {
            Some(n) => part_range(bucket, &meta, n).ok(),
            None => opts.range.and_then(|r| r.resolve(meta.size)),
        };
        Ok(GetOutput { meta, body, range })
    }

    /// Reads one version of `key`.
    ///
    /// # Errors
    /// As [`Bucket::get_opts`].
    pub async fn get_version(&self, key: &str, version_id: &str) -> Result<GetOutput> {
        self.get_opts(
            key,
            GetOptions {
                version_id: Some(version_id.to_string()),
                ..Default::default()
            },
        )
        .await
    }

    /// Checks a version id argument: `None` stays `None`; an id no backend could have issued is
    /// `InvalidArgument`, as S3 answers it.
    pub(crate) fn version_arg<'v>(&self, key: &str, v: Option<&'v str>) -> Result<Option<&'v str>> {
        match v {
            Some(id) if !valid_version_id(id) => Err(Error::InvalidArgument {
                bucket: self.name.to_string(),
                argument: "versionId",
                message: format!("invalid version id {id:?} specified for {key:?}"),
            }),
            other => Ok(other),
        }
    }

    /// The metadata of the object at `key` (S3's HeadObject).
    ///
    /// # Errors
    /// `NoSuchKey`, `NoSuchBucket`.
    pub async fn head(&self, key: &str) -> Result<Arc<ObjectMeta>> {
        self.head_opts(key, &Conditions::default()).await
    }

    /// S3's HeadObject with a part number: the object's metadata and the bytes of that part (their length
    /// is the answer's `Content-Length`; [`ObjectMeta::parts_count`] its `x-amz-mp-parts-count`). Any object
    /// not made by a multipart upload is its own single part.
    ///
    /// # Errors
    /// As [`Bucket::head`]; `InvalidArgument` for a part number outside 1..=10000; `InvalidPartNumber`
    /// (416) for a part the object does not have.
    pub async fn head_part(
        &self,
        key: &str,
        part_number: u32,
    ) -> Result<(Arc<ObjectMeta>, Range<u64>)> {
        self.check_part_number(key, part_number)?;
        let meta = self.head(key).await?;
        let range = part_range(&self.name, &meta, part_number)?;
        Ok((meta, range))
    }

    /// HeadObject with conditions.
    ///
    /// # Errors
    /// As [`Bucket::head`], plus `PreconditionFailed` and `NotModified` per the conditions.
    pub async fn head_opts(&self, key: &str, conditions: &Conditions) -> Result<Arc<ObjectMeta>> {
        validate_key(&self.name, key)?;
        let meta = self.store.backend.head(&self.name, key, None).await?;
        if meta.is_delete_marker {
            return Err(marker_error(&self.name, &meta, false, "HEAD"));
        }
        conditions.check_read(&self.name, &meta)?;
        Ok(meta)
    }

    /// The metadata of one version (HeadObject with `versionId`). Archived versions answer a head.
    ///
    /// # Errors
    /// `NoSuchVersion`; `MethodNotAllowed` for a delete marker; `InvalidArgument` for a malformed id.
    pub async fn head_version(&self, key: &str, version_id: &str) -> Result<Arc<ObjectMeta>> {
        validate_key(&self.name, key)?;
        let version = self.version_arg(key, Some(version_id))?;
        let meta = self.store.backend.head(&self.name, key, version).await?;
        if meta.is_delete_marker {
            return Err(marker_error(&self.name, &meta, true, "HEAD"));
        }
        Ok(meta)
    }

    /// Deletes the object at `key`. Deleting a missing key succeeds, as in S3; in a versioned bucket this
    /// adds a delete marker.
    ///
    /// # Errors
    /// `NoSuchBucket`, invalid keys.
    pub async fn delete(&self, key: &str) -> Result<()> {
        self.delete_opts(key, DeleteOptions::default())
            .await
            .map(|_| ())
    }

    /// Deletes one version of `key` for good.
    ///
    /// # Errors
    /// As [`Bucket::delete_opts`].
    pub async fn delete_version(&self, key: &str, version_id: &str) -> Result<()> {
        self.delete_opts(
            key,
            DeleteOptions {
                version_id: Some(version_id.to_string()),
                ..Default::default()
            },
        )
        .await
        .map(|_| ())
    }

    /// Deletes as S3's DeleteObject, if the conditions hold. Without a version id: removes the null version
    /// of an unversioned bucket, or adds a delete marker (a fresh id when versioning is enabled, `null` when
    /// suspended). With one: removes that version (a delete marker included, which restores the version
    /// below it). Returns the version removed or the delete marker added (see `is_delete_marker`).
    ///
    /// # Errors
    /// As [`Bucket::delete`], plus `PreconditionFailed`, `NoSuchKey` for `If-Match` on a free key,
    /// `InvalidArgument` for a malformed version id, and `AccessDenied` for a version under object lock
    /// (the error says which retention or hold).
    pub async fn delete_opts(
        &self,
        key: &str,
        opts: DeleteOptions,
    ) -> Result<Option<Arc<ObjectMeta>>> {
        validate_key(&self.name, key)?;
        let version = self.version_arg(key, opts.version_id.as_deref())?;
        let bucket = &*self.name;
        let now = self.store.clock.now();
        let bypass = opts.bypass_governance;
        let conditions = &opts.conditions;
        let by_id = |current: Option<&ObjectMeta>, target: Option<&ObjectMeta>| {
            conditions.check_write(bucket, key, live(current))?;
            match target {
                Some(t) => check_removable(bucket, t, now, bypass),
                None => Ok(()),
            }
        };
        if let Some(v) = version {
            return self
                .store
                .backend
                .delete_version(bucket, key, v, &by_id)
                .await;
        }
        let config = self.store.backend.bucket_config(bucket).await?;
        if config.versioning == Versioning::Unversioned {
            return self
                .store
                .backend
                .delete_version(bucket, key, NULL_VERSION, &by_id)
                .await;
        }
        let mut marker = ObjectMeta::new(key, 0, ETag::of(b""), to_millis(now));
        marker.is_delete_marker = true;
        self.prepare_version(&mut marker).await?;
        self.store
            .backend
            .put(bucket, marker, Bytes::new(), &by_id)
            .await
            .map(Some)
    }

    /// Deletes up to 1000 keys (S3's DeleteObjects without version ids); each key succeeds or fails on its
    /// own. [`Bucket::delete_objects`] takes version ids and reports delete markers.
    ///
    /// # Errors
    /// `MalformedXML` ([`Error::TooManyKeys`]) for more than 1000 keys (nothing is deleted), `NoSuchBucket`.
    pub async fn delete_many<I, K>(&self, keys: I) -> Result<DeleteManyOutput>
    where
        I: IntoIterator<Item = K>,
        K: Into<String>,
    {
        let objects = keys.into_iter().map(|k| ObjectIdentifier::new(k.into()));
        let out = self
            .delete_objects(objects, DeleteObjectsOptions::default())
            .await?;
        Ok(DeleteManyOutput {
            deleted: out.deleted.into_iter().map(|d| d.key).collect(),
            errors: out.errors,
        })
    }

    /// Copies `src_key` of this bucket to `dst_key`, keeping headers and metadata.
    ///
    /// # Errors
    /// As [`Bucket::copy_from`].
    pub async fn copy(&self, src_key: &str, dst_key: &str) -> Result<Arc<ObjectMeta>> {
        self.copy_from(&self.name.clone(), src_key, dst_key, CopyOptions::default())
            .await
    }

    /// Copies `src_key` of bucket `src_bucket` (of the same store; a version of it with
    /// `source_version_id`) to `dst_key` of this bucket (S3's CopyObject). Tags and checksum algorithm are
    /// copied; the storage class is STANDARD unless the options name one, as in S3.
    ///
    /// # Errors
    /// `NoSuchKey` / `NoSuchVersion` / `NoSuchBucket` for the source; `InvalidObjectState` for an archived
    /// source that is not restored; `PreconditionFailed` when a source or destination condition fails (S3
    /// answers a failed `x-amz-copy-source-if-none-match` with 412, not 304); `InvalidRequest` for a copy of
    /// an object onto itself that changes nothing, or of a source larger than the largest single put (5 GiB,
    /// or the store's [`max_put_size`](crate::StoreBuilder::max_put_size)).
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
        let version = self.version_arg(src_key, opts.source_version_id.as_deref())?;
        if src_bucket == &*self.name
            && src_key == dst_key
            && opts.metadata == MetadataDirective::Copy
            && opts.storage_class.is_none()
            && opts.tags.is_none()
            && version.is_none()
        {
            return Err(Error::InvalidRequest {
                bucket: self.name.to_string(),
                key: dst_key.to_string(),
                message: "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
            });
        }
        if let Some(tags) = &opts.tags {
            validate_tags(
                &self.name,
                &format!("object {dst_key:?}"),
                tags,
                MAX_OBJECT_TAGS,
            )?;
        }
        let (src, data) = self
            .read_copy_source(
                CopySource {
                    bucket: src_bucket,
                    key: src_key,
                    version,
                    conditions: &opts.source_conditions,
                    range: None,
                },
                self.store.max_put_size,
                "the copy source is larger than the largest single put (S3's: 5368709120 bytes); copy it in parts with upload_part_copy",
            )
            .await?;
        let now = self.store.clock.now();
        let attributes = match opts.metadata {
            MetadataDirective::Copy => src.attributes.clone(),
            MetadataDirective::Replace(a) => a.normalized(&self.name, dst_key)?,
        };
        // A copy is one object again: a multipart source's `-N` ETag becomes the MD5 of the content, and a
        // composite checksum the checksum of the whole content.
        let etag = if src.etag.unquoted().contains('-') {
            md5_etag(&data).await
        } else {
            src.etag.clone()
        };
        let checksum = match &src.checksum {
            Some(c) if c.value.contains('-') => Some(c.algorithm.checksum(&data)),
            other => other.clone(),
        };
        let mut meta = ObjectMeta::new(dst_key, data.len() as u64, etag, to_millis(now));
        meta.attributes = attributes;
        meta.storage_class = opts.storage_class.unwrap_or_default();
        meta.tags = opts.tags.unwrap_or_else(|| src.tags.clone());
        meta.checksum = checksum;
        self.write(meta, data, &opts.conditions).await
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

/// Object lock's check on the version a write replaces or removes, without bypass.
pub(crate) fn check_removable_now(
    bucket: &str,
    target: Option<&ObjectMeta>,
    now: std::time::SystemTime,
) -> Result<()> {
    match target {
        Some(t) => check_removable(bucket, t, now, false),
        None => Ok(()),
    }
}

/// The version as a condition sees it: a delete marker is no object.
pub(crate) fn live(current: Option<&ObjectMeta>) -> Option<&ObjectMeta> {
    current.filter(|m| !m.is_delete_marker)
}

/// The error for reading a delete marker: `NoSuchKey` flagged with the marker, or `MethodNotAllowed` when
/// the marker was asked for by version id.
pub(crate) fn marker_error(
    bucket: &str,
    meta: &ObjectMeta,
    by_id: bool,
    method: &'static str,
) -> Error {
    if by_id {
        Error::MethodNotAllowed {
            bucket: bucket.to_string(),
            key: meta.key.clone(),
            version_id: meta.version_id.clone(),
            method,
        }
    } else {
        Error::NoSuchKey {
            bucket: bucket.to_string(),
            key: meta.key.clone(),
            delete_marker: Some(meta.version_id.clone()),
        }
    }
}

/// Whether a version's bytes can be read at `now`: not a delete marker, and not archived unless restored.
pub(crate) fn readable(
    bucket: &str,
    meta: &ObjectMeta,
    by_id: bool,
    method: &'static str,
    now: std::time::SystemTime,
) -> Result<()> {
    if meta.is_delete_marker {
        return Err(marker_error(bucket, meta, by_id, method));
    }
    if meta.storage_class.is_archived() && !meta.restore.as_ref().is_some_and(|r| r.readable(now)) {
        return Err(Error::InvalidObjectState {
            bucket: bucket.to_string(),
            key: meta.key.clone(),
            version_id: meta.version_id.clone(),
            storage_class: meta.storage_class,
            reason: "the object is archived; restore it before reading it",
        });
    }
    Ok(())
}

/// A fresh id for a version or an upload: 32 hex digits, unique within the process and, with overwhelming
/// probability, across processes (a per-process random key hashes a counter).
pub(crate) fn new_id() -> String {
    use std::hash::BuildHasher;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static STATE: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    let state = STATE.get_or_init(std::collections::hash_map::RandomState::new);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:016x}{:016x}",
        state.hash_one((n, 0u8)),
        state.hash_one((n, 1u8))
    )
}

/// Verifies a client's checksum against the data (and computes one when only an algorithm is asked for).
pub(crate) async fn verify_checksum(
    bucket: &str,
    key: &str,
    data: &Bytes,
    given: Option<&Checksum>,
    algorithm: Option<ChecksumAlgorithm>,
) -> Result<Option<Checksum>> {
    let Some(algorithm) = given.map(|c| c.algorithm).or(algorithm) else {
        return Ok(None);
    };
    let actual = if data.len() <= INLINE_MD5_LIMIT {
        algorithm.checksum(data)
    } else {
        let shared = data.clone();
        match tokio::task::spawn_blocking(move || algorithm.checksum(&shared)).await {
            Ok(c) => c,
            Err(_) => algorithm.checksum(data),
        }
    };
    match given {
        Some(g) if g.value != actual.value => Err(Error::BadDigest {
            bucket: bucket.to_string(),
            key: key.to_string(),
            algorithm,
            expected: g.value.clone(),
            actual: actual.value,
        }),
        _ => Ok(Some(actual)),
    }
}

/// What a copy reads: a key of a bucket, maybe one version, under `x-amz-copy-source-if-*` conditions, maybe
/// only a range.
pub(crate) struct CopySource<'a> {
    pub(crate) bucket: &'a str,
    pub(crate) key: &'a str,
    pub(crate) version: Option<&'a str>,
    pub(crate) conditions: &'a crate::Conditions,
    pub(crate) range: Option<ByteRange>,
}

impl Bucket {
    /// Reads the source of a copy (CopyObject, UploadPartCopy): its metadata and bytes (or `range` of them),
    /// if it is readable, its `x-amz-copy-source-if-*` conditions hold (failures are 412, as S3 answers
    /// them) and what is read is at most `max` bytes (checked before a byte is read).
    pub(crate) async fn read_copy_source(
        &self,
        source: CopySource<'_>,
        max: u64,
        too_large: &'static str,
    ) -> Result<(Arc<ObjectMeta>, Bytes)> {
        let CopySource {
            bucket: src_bucket,
            key: src_key,
            version,
            conditions,
            range,
        } = source;
        let now = self.store.clock.now();
        let plan = |meta: &ObjectMeta| -> Result<Option<Range<u64>>> {
            readable(src_bucket, meta, version.is_some(), "COPY", now)?;
            conditions
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
            let bytes = match range {
                None => 0..meta.size,
                // S3 takes only `bytes=first-last` inside the object as a copy source range.
                Some(ByteRange::Inclusive { first, last }) if last < meta.size && first <= last => {
                    first..last + 1
                }
                Some(r) => {
                    return Err(Error::InvalidArgument {
                        bucket: src_bucket.to_string(),
                        argument: "x-amz-copy-source-range",
                        message: format!(
                            "range {r} is not valid for source object {src_key:?} of size {}",
                            meta.size
                        ),
                    });
                }
            };
            if bytes.end - bytes.start > max {
                return Err(Error::InvalidRequest {
                    bucket: src_bucket.to_string(),
                    key: src_key.to_string(),
                    message: too_large,
                });
            }
            Ok(range.map(|_| bytes))
        };
        self.store
            .backend
            .get(src_bucket, src_key, version, &plan)
            .await
    }
}

/// The bytes of part `n` (1-based) of an object: a part of a multipart object, or the whole of any other as
/// its only part, as S3 answers a get by part number.
fn part_range(bucket: &str, meta: &ObjectMeta, n: u32) -> Result<Range<u64>> {
    let unsatisfiable = |count: usize| Error::InvalidPartNumber {
        bucket: bucket.to_string(),
        key: meta.key.clone(),
        part_number: n,
        parts_count: count as u32,
    };
    if meta.part_sizes.is_empty() {
        return if n == 1 {
            Ok(0..meta.size)
        } else {
            Err(unsatisfiable(1))
        };
    }
    let i = n as usize - 1;
    let size = *meta
        .part_sizes
        .get(i)
        .ok_or_else(|| unsatisfiable(meta.part_sizes.len()))?;
    let start: u64 = meta.part_sizes[..i].iter().sum();
    Ok(start..start + size)
}

pub(crate) async fn md5_etag(data: &Bytes) -> ETag {
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
