//! The upload table: the multipart uploads in progress in one bucket, each with its parts, as every backend
//! keeps them in memory.
//!
//! [`UploadTable<X>`] maps upload ids to [`UploadEntry<X>`]s (the [`Upload`], its [`PartInfo`]s by part
//! number, and `X`, what the backend keeps besides: the memory backend the parts' bytes, the fs backend
//! whether a complete is under way and its folder's group fsync). It answers the backend calls that only
//! read the table (`list_parts`, `get_upload`, `list_uploads`) and fails with `NoSuchUpload` as the trait
//! asks; [`pick_parts`] checks the part list of a complete. The backend wraps the table in its own lock.
//!
//! Depends on the [`Upload`] and [`PartInfo`] types of [`backend`](super) and on `error` and `etag`.

use std::collections::{BTreeMap, HashMap};

use super::{PartInfo, Upload};
use crate::error::{Error, Result};
use crate::etag::ETag;

/// The error for an upload id that is not in progress.
pub fn no_such_upload(bucket: &str, upload_id: &str) -> Error {
    Error::NoSuchUpload {
        bucket: bucket.to_string(),
        upload_id: upload_id.to_string(),
    }
}

/// Validates a part list against the stored parts and returns them in order; `InvalidPart` names the part.
///
/// # Errors
/// [`Error::InvalidPart`] for a part that was not uploaded or whose ETag differs.
pub fn pick_parts<'p>(
    bucket: &str,
    upload: &Upload,
    stored: &'p BTreeMap<u32, PartInfo>,
    wanted: &[(u32, ETag)],
) -> Result<Vec<&'p PartInfo>> {
    wanted
        .iter()
        .map(|(n, etag)| {
            let invalid = |reason: &str| Error::InvalidPart {
                bucket: bucket.to_string(),
                key: upload.template.key.clone(),
                upload_id: upload.upload_id.clone(),
                part_number: *n,
                reason: reason.to_string(),
            };
            match stored.get(n) {
                None => Err(invalid("the part was not uploaded")),
                Some(p) if p.etag != *etag => Err(invalid(&format!(
                    "ETag {} does not match the uploaded part's {}",
                    etag, p.etag
                ))),
                Some(p) => Ok(p),
            }
        })
        .collect()
}

/// One upload in progress.
#[derive(Debug)]
pub struct UploadEntry<X> {
    /// The upload.
    pub upload: Upload,
    /// Its parts by part number.
    pub parts: BTreeMap<u32, PartInfo>,
    /// What the backend keeps besides.
    pub extra: X,
}

impl<X> UploadEntry<X> {
    /// The stored parts named by a complete, in its order (see [`pick_parts`]).
    ///
    /// # Errors
    /// [`Error::InvalidPart`] for a part that was not uploaded or whose ETag differs.
    pub fn pick_parts(&self, bucket: &str, wanted: &[(u32, ETag)]) -> Result<Vec<&PartInfo>> {
        pick_parts(bucket, &self.upload, &self.parts, wanted)
    }
}

/// The uploads in progress of one bucket, by upload id.
#[derive(Debug)]
pub struct UploadTable<X> {
    map: HashMap<String, UploadEntry<X>>,
}

impl<X> Default for UploadTable<X> {
    fn default() -> Self {
        UploadTable {
            map: HashMap::new(),
        }
    }
}

impl<X> UploadTable<X> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an upload without parts (replacing one with the same id).
    pub fn create(&mut self, upload: Upload, extra: X) {
        self.insert(upload, BTreeMap::new(), extra);
    }

    /// Adds an upload with the parts it already has (as a backend finds them when it reopens).
    pub fn insert(&mut self, upload: Upload, parts: BTreeMap<u32, PartInfo>, extra: X) {
        self.map.insert(
            upload.upload_id.clone(),
            UploadEntry {
                upload,
                parts,
                extra,
            },
        );
    }

    /// The upload, if it is in progress.
    pub fn find(&self, upload_id: &str) -> Option<&UploadEntry<X>> {
        self.map.get(upload_id)
    }

    /// The upload, if it is in progress, to change.
    pub fn find_mut(&mut self, upload_id: &str) -> Option<&mut UploadEntry<X>> {
        self.map.get_mut(upload_id)
    }

    /// The upload.
    ///
    /// # Errors
    /// `NoSuchUpload` if it is not in progress.
    pub fn get(&self, bucket: &str, upload_id: &str) -> Result<&UploadEntry<X>> {
        self.find(upload_id)
            .ok_or_else(|| no_such_upload(bucket, upload_id))
    }

    /// The upload, to change.
    ///
    /// # Errors
    /// `NoSuchUpload` if it is not in progress.
    pub fn get_mut(&mut self, bucket: &str, upload_id: &str) -> Result<&mut UploadEntry<X>> {
        self.find_mut(upload_id)
            .ok_or_else(|| no_such_upload(bucket, upload_id))
    }

    /// Removes the upload and returns it, if it was in progress.
    pub fn take(&mut self, upload_id: &str) -> Option<UploadEntry<X>> {
        self.map.remove(upload_id)
    }

    /// Removes the upload and returns it.
    ///
    /// # Errors
    /// `NoSuchUpload` if it is not in progress.
    pub fn remove(&mut self, bucket: &str, upload_id: &str) -> Result<UploadEntry<X>> {
        self.take(upload_id)
            .ok_or_else(|| no_such_upload(bucket, upload_id))
    }

    /// The upload without its parts ([`Backend::get_upload`](super::Backend::get_upload)).
    ///
    /// # Errors
    /// `NoSuchUpload` if it is not in progress.
    pub fn upload(&self, bucket: &str, upload_id: &str) -> Result<Upload> {
        Ok(self.get(bucket, upload_id)?.upload.clone())
    }

    /// The upload and its parts in ascending part number
    /// ([`Backend::list_parts`](super::Backend::list_parts)).
    ///
    /// # Errors
    /// `NoSuchUpload` if it is not in progress.
    pub fn parts(&self, bucket: &str, upload_id: &str) -> Result<(Upload, Vec<PartInfo>)> {
        let u = self.get(bucket, upload_id)?;
        Ok((u.upload.clone(), u.parts.values().cloned().collect()))
    }

    /// Every upload in progress, in any order ([`Backend::list_uploads`](super::Backend::list_uploads)).
    pub fn uploads(&self) -> Vec<Upload> {
        self.map.values().map(|u| u.upload.clone()).collect()
    }

    /// How many uploads are in progress.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no upload is in progress.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
