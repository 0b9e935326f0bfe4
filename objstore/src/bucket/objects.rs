//! The object operations: PutObject, GetObject (ranges, part numbers, conditions), HeadObject and
//! DeleteObject, with the version each write makes and the checks it runs atomically with the backend.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use super::Check;
use super::digest::{md5_etag, verify_checksum};
use super::lock::check_removable;
use super::{Bucket, live, marker_error, new_id, readable};
use crate::error::{Error, Result};
use crate::types::access::Action;
use crate::types::conditions::Conditions;
use crate::types::config::{BucketConfig, Versioning};
use crate::types::etag::ETag;
use crate::types::lock::Retention;
use crate::types::meta::{NULL_VERSION, ObjectMeta, to_millis};
use crate::types::names::validate_key;
use crate::types::options::{DeleteOptions, GetOptions, GetOutput, PutOptions};
use crate::types::tags::validate_object_tags;
use crate::types::versioning::{DeleteManyOutput, DeleteObjectsOptions, ObjectIdentifier};

impl Bucket {
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
        if let Some(sse) = &opts.server_side_encryption
            && !matches!(sse.as_str(), "AES256" | "aws:kms" | "aws:kms:dsse")
        {
            return Err(Error::InvalidArgument {
                bucket: self.name.to_string(),
                argument: "x-amz-server-side-encryption",
                message: format!(
                    "the encryption method specified is not supported: {sse:?} (AES256, aws:kms or aws:kms:dsse)"
                ),
            });
        }
        self.authorize(Check {
            request_tags: Some(&opts.tags),
            storage_class: Some(opts.storage_class.as_str()),
            sse: opts.server_side_encryption.as_deref(),
            ..Check::object(Action::PUT_OBJECT, key)
        })
        .await?;
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
            validate_object_tags(&self.name, key, &opts.tags)?;
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
        meta.attributes = attributes.into_shared();
        meta.storage_class = opts.storage_class;
        meta.tags = opts.tags;
        meta.checksum = checksum;
        meta.retention = opts.retention.map(Box::new);
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
                    meta.retention = Some(Box::new(Retention {
                        mode: d.mode,
                        retain_until: meta.last_modified + d.period,
                    }));
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

    /// Writes `meta` as a new version (its id chosen by the versioning state), if the conditions hold and
    /// object lock allows replacing the version it replaces; what put, copy and complete share.
    pub(super) async fn write(
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
        self.authorize(Check::object(read_action(version), key).version(version))
            .await?;
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
        self.authorize(Check::object(Action::GET_OBJECT, key).head())
            .await?;
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
        self.authorize(
            Check::object(Action::GET_OBJECT_VERSION, key)
                .version(version)
                .head(),
        )
        .await?;
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
        let action = match version {
            Some(_) => Action::DELETE_OBJECT_VERSION,
            None => Action::DELETE_OBJECT,
        };
        self.authorize(Check::object(action, key).version(version))
            .await?;
        if opts.bypass_governance {
            self.authorize(
                Check::object(Action::BYPASS_GOVERNANCE_RETENTION, key).version(version),
            )
            .await?;
        }
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
}

/// The action a read checks: `s3:GetObjectVersion` when it names a version, `s3:GetObject` otherwise.
pub(super) fn read_action(version: Option<&str>) -> Action {
    match version {
        Some(_) => Action::GET_OBJECT_VERSION,
        None => Action::GET_OBJECT,
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
