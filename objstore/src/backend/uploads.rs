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
use crate::types::etag::ETag;

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

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::types::meta::ObjectMeta;

    fn upload(id: &str) -> Upload {
        Upload {
            upload_id: id.to_string(),
            template: ObjectMeta::new("k", 0, ETag::of(b""), UNIX_EPOCH),
            initiated: UNIX_EPOCH,
            checksum_algorithm: None,
        }
    }

    fn part(n: u32, body: &[u8]) -> PartInfo {
        PartInfo {
            part_number: n,
            etag: ETag::of(body),
            size: body.len() as u64,
            last_modified: UNIX_EPOCH,
            checksum: None,
        }
    }

    /// The table answers reads of uploads and parts, picks a complete's parts in its order, and names a
    /// missing upload or part.
    #[test]
    fn upload_table_lists_picks_and_fails_as_s3() {
        let mut table: UploadTable<u8> = UploadTable::new();
        assert!(table.is_empty());
        table.create(upload("u1"), 7);
        table.create(upload("u2"), 0);
        let u1 = table.get_mut("bk", "u1").unwrap();
        u1.parts.insert(2, part(2, b"two"));
        u1.parts.insert(1, part(1, b"one"));
        let (up, parts) = table.parts("bk", "u1").unwrap();
        assert_eq!(up.upload_id, "u1");
        assert_eq!(
            parts.iter().map(|p| p.part_number).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(table.upload("bk", "u2").unwrap().upload_id, "u2");
        assert_eq!(table.len(), 2);
        let mut ids: Vec<_> = table.uploads().into_iter().map(|u| u.upload_id).collect();
        ids.sort();
        assert_eq!(ids, ["u1", "u2"]);

        let u1 = table.get("bk", "u1").unwrap();
        assert_eq!(u1.extra, 7);
        let picked = u1
            .pick_parts("bk", &[(2, ETag::of(b"two")), (1, ETag::of(b"one"))])
            .unwrap();
        assert_eq!(
            picked.iter().map(|p| p.part_number).collect::<Vec<_>>(),
            [2, 1]
        );
        for wanted in [(3, ETag::of(b"three")), (1, ETag::of(b"other"))] {
            let err = u1
                .pick_parts("bk", std::slice::from_ref(&wanted))
                .unwrap_err();
            assert!(
                matches!(err, Error::InvalidPart { part_number, .. } if part_number == wanted.0),
                "{err}"
            );
        }

        assert!(table.remove("bk", "u1").is_ok());
        for err in [
            table.get("bk", "u1").map(|_| ()).unwrap_err(),
            table.upload("bk", "u1").map(|_| ()).unwrap_err(),
            table.parts("bk", "u1").map(|_| ()).unwrap_err(),
            table.remove("bk", "u1").map(|_| ()).unwrap_err(),
        ] {
            assert!(matches!(err, Error::NoSuchUpload { .. }), "{err}");
        }
        assert!(table.take("u2").is_some() && table.is_empty());
    }
}
