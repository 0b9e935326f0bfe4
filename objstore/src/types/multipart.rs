//! The shapes of multipart uploads: an upload and its parts, the options and pages of the calls, and S3's
//! multipart ETag. The rules are checked by the engine (`bucket/multipart.rs`).

use std::collections::BTreeMap;
use std::time::SystemTime;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::types::checksum::{Checksum, ChecksumAlgorithm};
use crate::types::conditions::Conditions;
use crate::types::etag::ETag;
use crate::types::lock::Retention;
use crate::types::meta::{ObjectAttributes, ObjectMeta};
use crate::types::range::ByteRange;
use crate::types::storage_class::StorageClass;

/// A multipart upload in progress: its id and what the object will be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    /// The upload id (ASCII letters and digits).
    pub upload_id: String,
    /// The object's metadata, but for size, ETag, version and checksum, which complete sets.
    pub template: ObjectMeta,
    /// When the upload was created.
    pub initiated: SystemTime,
    /// The checksum algorithm of the parts, if the upload asked for one.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
}

/// One uploaded part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartInfo {
    /// The part number, 1 to 10,000.
    pub part_number: u32,
    /// The MD5 ETag of the part's bytes.
    pub etag: ETag,
    /// Size in bytes.
    pub size: u64,
    /// When it was uploaded.
    pub last_modified: SystemTime,
    /// Its checksum, when the upload has a checksum algorithm.
    pub checksum: Option<Checksum>,
}

/// Options of CreateMultipartUpload: what the completed object will carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MultipartOptions {
    /// Headers and user metadata.
    pub attributes: ObjectAttributes,
    /// The storage class.
    pub storage_class: StorageClass,
    /// Object tags.
    pub tags: BTreeMap<String, String>,
    /// Verify (or compute) part checksums with this algorithm, and give the object a composite checksum.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// Object lock retention of the completed version.
    pub retention: Option<Retention>,
    /// Object lock legal hold of the completed version.
    pub legal_hold: bool,
}

/// The request of a ListParts page. The default lists from the first part, 1000 a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPartsOptions {
    /// Parts per page, at most 1000 (S3's `max-parts`).
    pub max_parts: Option<usize>,
    /// List the parts after this part number (S3's `part-number-marker`).
    pub part_number_marker: Option<u32>,
}

/// One page of ListParts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPartsPage {
    /// Parts in ascending part number.
    pub parts: Vec<PartInfo>,
    /// Whether more follow.
    pub is_truncated: bool,
    /// Pass as `part_number_marker` for the next page.
    pub next_part_number_marker: Option<u32>,
}

/// The request of a ListMultipartUploads page. The default lists every upload, 1000 a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListUploadsOptions {
    /// Only uploads of keys that start with this.
    pub prefix: String,
    /// Group keys that contain this after the prefix into common prefixes.
    pub delimiter: Option<String>,
    /// Start with the uploads of keys after this one (S3's `key-marker`).
    pub key_marker: Option<String>,
    /// With `key_marker`: also list uploads of that very key whose id is greater, in byte order, than this
    /// (S3's `upload-id-marker`, ignored without a key marker, as S3 does).
    pub upload_id_marker: Option<String>,
    /// Uploads and common prefixes per page, at most 1000 (S3's `max-uploads`).
    pub max_uploads: Option<usize>,
}

/// One page of ListMultipartUploads: uploads by key, then by creation time.
#[derive(Debug, Clone, Default)]
pub struct ListUploadsPage {
    /// The uploads.
    pub uploads: Vec<Upload>,
    /// Common prefixes (each ending with the delimiter), in order; each counts as one toward max-uploads.
    pub common_prefixes: Vec<String>,
    /// Whether more follow.
    pub is_truncated: bool,
    /// Pass as `key_marker` for the next page.
    pub next_key_marker: Option<String>,
    /// Pass as `upload_id_marker` for the next page (none when the page ended on a common prefix).
    pub next_upload_id_marker: Option<String>,
}

/// Options of [`Bucket::upload_part_copy`](crate::Bucket::upload_part_copy).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadPartCopyOptions {
    /// Copy only these bytes of the source (S3's `x-amz-copy-source-range`: `bytes=first-last`, inside the
    /// object); the whole source when `None`.
    pub range: Option<ByteRange>,
    /// Copy this version of the source instead of the newest.
    pub source_version_id: Option<String>,
    /// Preconditions on the source (`x-amz-copy-source-if-*`); failures are 412, as S3 answers them.
    pub source_conditions: Conditions,
}

/// A part as named in CompleteMultipartUpload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    /// The part number.
    pub part_number: u32,
    /// The ETag UploadPart returned.
    pub etag: ETag,
}

/// S3's ETag of a multipart object from its parts' ETags: MD5 of the binary part MD5s, then `-N`.
pub fn multipart_etag<'a>(parts: impl IntoIterator<Item = &'a ETag>) -> Option<ETag> {
    let mut md5 = Md5::new();
    let mut n = 0usize;
    for etag in parts {
        let mut raw = [0u8; 16];
        hex::decode_to_slice(etag.unquoted(), &mut raw).ok()?;
        md5.update(raw);
        n += 1;
    }
    let digest: [u8; 16] = md5.finalize().into();
    Some(ETag::parse(&format!(
        "{}-{n}",
        ETag::from_md5(&digest).unquoted()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_etag_is_md5_of_part_digests() {
        let a = ETag::of(b"a");
        let b = ETag::of(b"b");
        let mut raw = Vec::new();
        raw.extend(hex::decode(a.unquoted()).unwrap());
        raw.extend(hex::decode(b.unquoted()).unwrap());
        let want = format!("\"{}-2\"", hex::encode(Md5::digest(&raw)));
        assert_eq!(multipart_etag([&a, &b]).unwrap().as_str(), want);
        assert!(multipart_etag([&ETag::parse("nothex")]).is_none());
    }
}
