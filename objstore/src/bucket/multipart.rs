//! Multipart uploads: create, upload parts, list, complete, abort.
//!
//! S3's rules, checked here once for every backend: part numbers 1 to 10,000; a part of at most 5 GiB;
//! complete names its parts in ascending order (`InvalidPartOrder`), each as uploaded (`InvalidPart` for a
//! missing part or a wrong ETag), every part but the last at least 5 MiB (`EntityTooSmall`). The object's
//! ETag is the MD5 of the concatenated binary part MD5s followed by `-N`, as S3 computes it, and its
//! `Last-Modified` is the upload's creation time, as in S3. An upload in progress is invisible to get and
//! list. A complete can be conditional (`If-None-Match: *` completes only if the key is free), and its
//! check, the assembly and the write are one atomic step of the backend.
//!
//! With a checksum algorithm, each part's checksum is verified (or computed) at upload, and the object gets
//! S3's composite checksum: the checksum of the concatenated binary part checksums, then `-N`.
//!
//! The completed object remembers its part sizes ([`ObjectMeta::part_sizes`]), so a get can read one part
//! by its number (`GetOptions::part_number`, S3's `partNumber`), as parallel downloaders do.

use super::Check;
use crate::types::access::Action;
use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use super::copy::CopySource;
use super::digest::{md5_etag, verify_checksum};
use super::lock::check_removable_now;
use super::{Bucket, live, new_id};
use crate::backend::{pick_parts, valid_version_id};
use crate::error::{Error, Result};
use crate::limits::{MAX_LIST_UPLOADS, MAX_PART_NUMBER, MAX_PART_SIZE, MIN_PART_SIZE};
use crate::types::checksum::Checksum;
use crate::types::conditions::Conditions;
use crate::types::etag::ETag;
use crate::types::list::common_prefix;
use crate::types::meta::{ObjectMeta, to_millis};
use crate::types::multipart::{
    CompletedPart, ListPartsOptions, ListPartsPage, ListUploadsOptions, ListUploadsPage,
    MultipartOptions, PartInfo, Upload, UploadPartCopyOptions, multipart_etag,
};
use crate::types::names::{validate_bucket_name, validate_key};
use crate::types::tags::validate_object_tags;

impl Bucket {
    fn upload_missing(&self, upload_id: &str) -> Error {
        Error::NoSuchUpload {
            bucket: self.name.to_string(),
            upload_id: upload_id.to_string(),
        }
    }

    /// The upload `upload_id` for `key`, with its parts; `NoSuchUpload` if it is for another key.
    async fn upload_of(&self, key: &str, upload_id: &str) -> Result<(Upload, Vec<PartInfo>)> {
        validate_key(&self.name, key)?;
        if !valid_version_id(upload_id) {
            return Err(self.upload_missing(upload_id));
        }
        let (upload, parts) = self.store.backend.list_parts(&self.name, upload_id).await?;
        if upload.template.key != key {
            return Err(self.upload_missing(upload_id));
        }
        Ok((upload, parts))
    }

    /// As [`Bucket::upload_of`], without the parts (an UploadPart of a 10,000-part upload copies no list).
    async fn upload_alone(&self, key: &str, upload_id: &str) -> Result<Upload> {
        validate_key(&self.name, key)?;
        if !valid_version_id(upload_id) {
            return Err(self.upload_missing(upload_id));
        }
        let upload = self.store.backend.get_upload(&self.name, upload_id).await?;
        if upload.template.key != key {
            return Err(self.upload_missing(upload_id));
        }
        Ok(upload)
    }

    /// Starts a multipart upload of `key` (S3's CreateMultipartUpload); returns it, with its id.
    ///
    /// # Errors
    /// Invalid keys, `MetadataTooLarge`, `InvalidTag`, `NoSuchBucket`.
    pub async fn create_multipart_upload(
        &self,
        key: &str,
        opts: MultipartOptions,
    ) -> Result<Upload> {
        validate_key(&self.name, key)?;
        self.authorize(Check {
            request_tags: Some(&opts.tags),
            storage_class: Some(opts.storage_class.as_str()),
            ..Check::object(Action::PUT_OBJECT, key)
        })
        .await?;
        let attributes = opts.attributes.normalized(&self.name, key)?;
        validate_object_tags(&self.name, key, &opts.tags)?;
        let now = to_millis(self.store.clock.now());
        let mut template = ObjectMeta::new(key, 0, ETag::of(b""), now);
        template.attributes = attributes.into_shared();
        template.storage_class = opts.storage_class;
        template.tags = opts.tags;
        template.retention = opts.retention.map(Box::new);
        template.legal_hold = opts.legal_hold;
        let upload = Upload {
            upload_id: new_id(),
            template,
            initiated: now,
            checksum_algorithm: opts.checksum_algorithm,
        };
        self.store
            .backend
            .create_upload(&self.name, &upload)
            .await?;
        Ok(upload)
    }

    /// Uploads one part (S3's UploadPart); a part with the same number is replaced. `checksum`, when given,
    /// is verified against the data.
    ///
    /// # Errors
    /// `NoSuchUpload`; `InvalidArgument` for a part number outside 1..=10000; `EntityTooLarge` over 5 GiB;
    /// `BadDigest` for a checksum that does not match (nothing is stored); `InvalidRequest` for a checksum
    /// of another algorithm than the upload's.
    pub async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        data: impl Into<Bytes>,
        checksum: Option<Checksum>,
    ) -> Result<PartInfo> {
        let data = data.into();
        self.check_part_number(key, part_number)?;
        self.authorize(Check::object(Action::PUT_OBJECT, key))
            .await?;
        if data.len() as u64 > MAX_PART_SIZE {
            return Err(Error::EntityTooLarge {
                bucket: self.name.to_string(),
                key: key.to_string(),
                size: data.len() as u64,
                max: MAX_PART_SIZE,
            });
        }
        let upload = self.upload_alone(key, upload_id).await?;
        if let (Some(c), Some(a)) = (&checksum, upload.checksum_algorithm) {
            if c.algorithm != a {
                return Err(Error::InvalidRequest {
                    bucket: self.name.to_string(),
                    key: key.to_string(),
                    message: "the part's checksum algorithm differs from the one the upload was created with",
                });
            }
        }
        let algorithm = upload.checksum_algorithm;
        let (etag, checksum) = futures::join!(
            md5_etag(&data),
            verify_checksum(&self.name, key, &data, checksum.as_ref(), algorithm)
        );
        let part = PartInfo {
            part_number,
            etag,
            size: data.len() as u64,
            last_modified: to_millis(self.store.clock.now()),
            checksum: checksum?,
        };
        self.store
            .backend
            .put_part(&self.name, upload_id, part.clone(), data)
            .await?;
        Ok(part)
    }

    pub(crate) fn check_part_number(&self, key: &str, part_number: u32) -> Result<()> {
        if (1..=MAX_PART_NUMBER).contains(&part_number) {
            return Ok(());
        }
        Err(Error::InvalidArgument {
            bucket: self.name.to_string(),
            argument: "partNumber",
            message: format!(
                "part number {part_number} for {key:?} must be an integer between 1 and {MAX_PART_NUMBER}"
            ),
        })
    }

    /// Uploads a part whose bytes are those of an object already stored, or a byte range of it (S3's
    /// UploadPartCopy): how objects larger than one put are copied. The source is read only after the upload
    /// is found, and the part is then as [`Bucket::upload_part`] stores it (ETag, checksum).
    ///
    /// # Errors
    /// As [`Bucket::upload_part`]; for the source, as [`Bucket::copy_from`], plus `InvalidArgument` for a
    /// range that is not `bytes=first-last` inside the source, and `InvalidRequest` for more than 5 GiB.
    pub async fn upload_part_copy(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        src_bucket: &str,
        src_key: &str,
        opts: UploadPartCopyOptions,
    ) -> Result<PartInfo> {
        self.check_part_number(key, part_number)?;
        validate_bucket_name(src_bucket)?;
        validate_key(src_bucket, src_key)?;
        self.authorize(Check {
            copy_source: Some(format!("{src_bucket}/{src_key}")),
            ..Check::object(Action::PUT_OBJECT, key)
        })
        .await?;
        let version = self.version_arg(src_key, opts.source_version_id.as_deref())?;
        self.upload_alone(key, upload_id).await?;
        let (_, data) = self
            .read_copy_source(
                CopySource {
                    bucket: src_bucket,
                    key: src_key,
                    version,
                    conditions: &opts.source_conditions,
                    range: opts.range,
                },
                MAX_PART_SIZE,
                "the copy source range is larger than the largest part (5368709120 bytes)",
            )
            .await?;
        self.upload_part(key, upload_id, part_number, data, None)
            .await
    }

    /// Every part uploaded so far, in ascending part number (all pages of S3's ListParts).
    ///
    /// # Errors
    /// `NoSuchUpload`.
    pub async fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<PartInfo>> {
        self.authorize(Check::object(Action::LIST_MULTIPART_UPLOAD_PARTS, key))
            .await?;
        Ok(self.upload_of(key, upload_id).await?.1)
    }

    /// One page of S3's ListParts.
    ///
    /// # Errors
    /// `NoSuchUpload`.
    pub async fn list_parts_page(
        &self,
        key: &str,
        upload_id: &str,
        opts: &ListPartsOptions,
    ) -> Result<ListPartsPage> {
        self.authorize(Check::object(Action::LIST_MULTIPART_UPLOAD_PARTS, key))
            .await?;
        let max = opts
            .max_parts
            .unwrap_or(MAX_LIST_UPLOADS)
            .min(MAX_LIST_UPLOADS);
        let after = opts.part_number_marker.unwrap_or(0);
        let mut parts = self.upload_of(key, upload_id).await?.1;
        parts.retain(|p| p.part_number > after);
        let is_truncated = parts.len() > max;
        parts.truncate(max);
        Ok(ListPartsPage {
            next_part_number_marker: is_truncated
                .then(|| parts.last().map(|p| p.part_number))
                .flatten(),
            parts,
            is_truncated,
        })
    }

    /// Every upload in progress under `prefix`, by key then creation time (all pages of S3's
    /// ListMultipartUploads, without a delimiter).
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub async fn list_multipart_uploads(&self, prefix: &str) -> Result<Vec<Upload>> {
        self.authorize(Check {
            prefix: Some(prefix),
            ..Check::bucket(Action::LIST_BUCKET_MULTIPART_UPLOADS)
        })
        .await?;
        self.sorted_uploads(prefix).await
    }

    async fn sorted_uploads(&self, prefix: &str) -> Result<Vec<Upload>> {
        let mut all = self.store.backend.list_uploads(&self.name).await?;
        all.retain(|u| u.template.key.starts_with(prefix));
        all.sort_by(|a, b| {
            (a.template.key.as_str(), a.initiated, a.upload_id.as_str()).cmp(&(
                b.template.key.as_str(),
                b.initiated,
                b.upload_id.as_str(),
            ))
        });
        Ok(all)
    }

    /// One page of S3's ListMultipartUploads: uploads by key then creation time, keys grouped into common
    /// prefixes by the delimiter.
    ///
    /// ```
    /// use objstore::ListUploadsOptions;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> objstore::Result<()> {
    /// let bucket = objstore::Store::memory().create_bucket("docs").await?;
    /// for key in ["logs/a", "logs/b", "top"] {
    ///     bucket.create_multipart_upload(key, Default::default()).await?;
    /// }
    /// let page = bucket
    ///     .list_multipart_uploads_page(&ListUploadsOptions {
    ///         delimiter: Some("/".into()),
    ///         ..Default::default()
    ///     })
    ///     .await?;
    /// assert_eq!(page.common_prefixes, ["logs/"]);
    /// assert_eq!(page.uploads[0].template.key, "top");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub async fn list_multipart_uploads_page(
        &self,
        opts: &ListUploadsOptions,
    ) -> Result<ListUploadsPage> {
        self.authorize(Check {
            prefix: Some(&opts.prefix),
            delimiter: opts.delimiter.as_deref(),
            ..Check::bucket(Action::LIST_BUCKET_MULTIPART_UPLOADS)
        })
        .await?;
        let max = opts
            .max_uploads
            .unwrap_or(MAX_LIST_UPLOADS)
            .min(MAX_LIST_UPLOADS);
        let prefix = opts.prefix.as_str();
        let delimiter = opts.delimiter.as_deref().filter(|d| !d.is_empty());
        let mut page = ListUploadsPage::default();
        let all = self.sorted_uploads(prefix).await?;
        let key_marker = opts.key_marker.as_deref();
        // A key marker that is a common prefix (a page ended on it) skips every key under it.
        let marker_prefix = key_marker.filter(|k| {
            opts.upload_id_marker.is_none()
                && k.starts_with(prefix)
                && common_prefix(k, prefix, delimiter) == Some(*k)
        });
        // Where the upload marker sits in this order. Pages resume right after it; a marker that is gone
        // falls back to S3's documented rule (ids of the marker key greater in byte order).
        let id_marker = opts.upload_id_marker.as_deref();
        let marker_at = all.iter().position(|u| {
            Some(u.template.key.as_str()) == key_marker && Some(u.upload_id.as_str()) == id_marker
        });
        let after = |i: usize, u: &Upload| {
            let key = u.template.key.as_str();
            match (key_marker, id_marker) {
                _ if marker_prefix.is_some_and(|p| key.starts_with(p)) => false,
                (None, _) => true,
                (Some(k), None) => key > k,
                (Some(k), Some(_)) if key != k => key > k,
                (Some(_), Some(id)) => match marker_at {
                    Some(at) => i > at,
                    None => u.upload_id.as_str() > id,
                },
            }
        };
        let mut count = 0;
        let listed = all.into_iter().enumerate().filter(|(i, u)| after(*i, u));
        for (_, u) in listed {
            let key = u.template.key.clone();
            let cp = common_prefix(&key, prefix, delimiter);
            if let Some(cp) = cp {
                if page.common_prefixes.last().map(String::as_str) == Some(cp) {
                    continue;
                }
            }
            if count == max {
                page.is_truncated = true;
                break;
            }
            count += 1;
            match cp {
                Some(cp) => {
                    page.common_prefixes.push(cp.to_string());
                    page.next_key_marker = Some(cp.to_string());
                    page.next_upload_id_marker = None;
                }
                None => {
                    page.next_key_marker = Some(key);
                    page.next_upload_id_marker = Some(u.upload_id.clone());
                    page.uploads.push(u);
                }
            }
        }
        if !page.is_truncated {
            page.next_key_marker = None;
            page.next_upload_id_marker = None;
        }
        Ok(page)
    }

    /// Completes an upload (S3's CompleteMultipartUpload): the named parts become the object, atomically.
    /// `conditions` apply to the object now at the key, as on a put (`If-None-Match: *` completes only if
    /// the key is free).
    ///
    /// # Errors
    /// `NoSuchUpload`; `InvalidRequest` for no parts; `InvalidPartOrder`; `InvalidPart`; `EntityTooSmall`;
    /// `PreconditionFailed`; `AccessDenied` for an overwrite of a locked version. The upload stays after an
    /// error, so it can be completed again or aborted.
    pub async fn complete_multipart_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
        conditions: &Conditions,
    ) -> Result<Arc<ObjectMeta>> {
        validate_key(&self.name, key)?;
        self.authorize(Check::object(Action::PUT_OBJECT, key))
            .await?;
        let (upload, stored) = self.upload_of(key, upload_id).await?;
        if parts.is_empty() {
            return Err(Error::InvalidRequest {
                bucket: self.name.to_string(),
                key: key.to_string(),
                message: "You must specify at least one part",
            });
        }
        for w in parts.windows(2) {
            if w[1].part_number <= w[0].part_number {
                return Err(Error::InvalidPartOrder {
                    bucket: self.name.to_string(),
                    upload_id: upload_id.to_string(),
                    part_number: w[1].part_number,
                    previous: w[0].part_number,
                });
            }
        }
        let stored: BTreeMap<u32, PartInfo> =
            stored.into_iter().map(|p| (p.part_number, p)).collect();
        let wanted: Vec<(u32, ETag)> = parts
            .iter()
            .map(|p| (p.part_number, p.etag.clone()))
            .collect();
        let picked = pick_parts(&self.name, &upload, &stored, &wanted)?;
        if let Some((_, but_last)) = picked.split_last() {
            if let Some(small) = but_last.iter().find(|p| p.size < MIN_PART_SIZE) {
                return Err(Error::EntityTooSmall {
                    bucket: self.name.to_string(),
                    key: key.to_string(),
                    upload_id: upload_id.to_string(),
                    part_number: small.part_number,
                    size: small.size,
                    min: MIN_PART_SIZE,
                });
            }
        }
        let etag =
            multipart_etag(picked.iter().map(|p| &p.etag)).ok_or_else(|| Error::InvalidPart {
                bucket: self.name.to_string(),
                key: key.to_string(),
                upload_id: upload_id.to_string(),
                part_number: parts[0].part_number,
                reason: "a part's ETag is not an MD5".into(),
            })?;
        let checksum = upload.checksum_algorithm.and_then(|a| {
            let sums: Option<Vec<&Checksum>> = picked.iter().map(|p| p.checksum.as_ref()).collect();
            Checksum::composite(a, &sums?)
        });
        let mut meta = upload.template.clone();
        meta.size = picked.iter().map(|p| p.size).sum();
        meta.etag = etag;
        meta.checksum = checksum;
        meta.parts_count = Some(parts.len() as u32);
        meta.part_sizes = picked.iter().map(|p| p.size).collect();
        meta.last_modified = upload.initiated;
        self.prepare_version(&mut meta).await?;
        let bucket = &*self.name;
        let now = self.store.clock.now();
        let check = |current: Option<&ObjectMeta>, target: Option<&ObjectMeta>| {
            conditions.check_write(bucket, key, live(current))?;
            check_removable_now(bucket, target, now)
        };
        self.store
            .backend
            .complete_upload(bucket, upload_id, meta, &wanted, &check)
            .await
    }

    /// Discards an upload and its parts (S3's AbortMultipartUpload).
    ///
    /// # Errors
    /// `NoSuchUpload`.
    pub async fn abort_multipart_upload(&self, key: &str, upload_id: &str) -> Result<()> {
        validate_key(&self.name, key)?;
        self.authorize(Check::object(Action::ABORT_MULTIPART_UPLOAD, key))
            .await?;
        self.upload_alone(key, upload_id).await?;
        self.store.backend.abort_upload(&self.name, upload_id).await
    }
}
