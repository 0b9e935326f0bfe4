//! CopyObject, and the reader of a copy's source that UploadPartCopy shares (`x-amz-copy-source-if-*`
//! conditions, source ranges, the size limit checked before a byte is read).

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use super::Check;
use super::digest::md5_etag;
use super::objects::read_action;
use super::{Bucket, readable};
use crate::error::{Error, Result};
use crate::types::access::Action;
use crate::types::conditions::Conditions;
use crate::types::meta::{ObjectMeta, to_millis};
use crate::types::names::{validate_bucket_name, validate_key};
use crate::types::options::{CopyOptions, MetadataDirective};
use crate::types::range::ByteRange;
use crate::types::tags::validate_object_tags;

impl Bucket {
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
    /// or the store's [`max_put_size`](crate::StoreBuilder::with_max_put_size)).
    pub async fn copy_from(
        &self,
        src_bucket: &str,
        src_key: &str,
        dst_key: &str,
        opts: CopyOptions,
    ) -> Result<Arc<ObjectMeta>> {
        validate_bucket_name(src_bucket)?;
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
            validate_object_tags(&self.name, dst_key, tags)?;
        }
        self.authorize(Check {
            request_tags: opts.tags.as_ref(),
            storage_class: opts.storage_class.map(|c| c.as_str()),
            copy_source: Some(format!("{src_bucket}/{src_key}")),
            ..Check::object(Action::PUT_OBJECT, dst_key)
        })
        .await?;
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
            MetadataDirective::Replace(a) => a.normalized(&self.name, dst_key)?.into_shared(),
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
}

/// What a copy reads: a key of a bucket, maybe one version, under `x-amz-copy-source-if-*` conditions, maybe
/// only a range.
pub(crate) struct CopySource<'a> {
    pub(crate) bucket: &'a str,
    pub(crate) key: &'a str,
    pub(crate) version: Option<&'a str>,
    pub(crate) conditions: &'a Conditions,
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
        Bucket::new(self.store.clone(), src_bucket, self.caller.clone())
            .authorize(Check::object(read_action(version), src_key).version(version))
            .await?;
        let now = self.store.clock.now();
        let plan = |meta: &ObjectMeta| -> Result<Option<Range<u64>>> {
            // S3: a copy (or UploadPartCopy) whose source version id names a delete marker is 400
            // InvalidRequest, not the 405 a GET of it answers.
            if meta.is_delete_marker && version.is_some() {
                return Err(Error::InvalidRequest {
                    bucket: src_bucket.to_string(),
                    key: src_key.to_string(),
                    message: "The source of a copy request may not specifically refer to a delete marker by version id.",
                });
            }
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
