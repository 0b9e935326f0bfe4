//! The on-disk layout of the fs backend: the names of its folders and files, and the bucket record.
//!
//! ```text
//! ROOT/.objstore                  format marker
//! ROOT/.staging/                  buckets being created (cleared at open)
//! ROOT/.quarantine/NAME[.N]/      a bucket folder that could not be loaded (no or damaged bucket.json)
//! ROOT/BUCKET/bucket.json         the bucket's record: creation time and configuration
//! ROOT/BUCKET/index.snap          the index as a clean shutdown left it (`snapshot.rs`; taken at open)
//! ROOT/BUCKET/objects/XX/H.V      one file per version: H = SHA-256 of the key (hex), XX its first two
//!                                 digits, V the version id (`null` for the null version)
//! ROOT/BUCKET/objects/XX/.tmp-*   versions being written (removed at open)
//! ROOT/BUCKET/uploads/ID/         a multipart upload: `upload.json`, and `part-N` per part
//! ROOT/BUCKET/data/H.V.S/         the part files of a version a multipart upload made (S = its `seq`, hex)
//! ROOT/BUCKET/tmp/                reserved for staging (cleared at open)
//! ROOT/BUCKET/quarantine/         version files that failed their checks at open, and stray entries
//! ```
//! File names come from a hash of the key and from version ids made of letters and digits only
//! ([`valid_version_id`](crate::backend::valid_version_id)), never from the key, so no key
//! (`../../etc/passwd`, `a//b`, `dir/`) can name a path outside the root, and `a`, `a/` and `a/b` coexist.
//! Bucket names are validated before they reach the filesystem, and S3's rules admit no `/`, `.` or `..`.
//! Files of the first format (`H`, no version) are renamed to `H.null` at open.
//!
//! Depends on `meta` and `config` only; every other fs module uses it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::types::config::BucketConfig;
use crate::types::meta::BucketInfo;

/// The format marker at the root.
pub(super) const MARKER: &str = ".objstore";
/// The root's lock file: held (an exclusive OS file lock) by the one backend that has the root open.
pub(super) const LOCK: &str = ".lock";
/// Buckets being created or removed, cleared at open.
pub(super) const STAGING: &str = ".staging";
/// Bucket folders that could not be loaded, moved aside so the rest of the root opens.
pub(super) const ROOT_QUARANTINE: &str = ".quarantine";
/// Per bucket, the multipart uploads in progress, one folder each.
pub(super) const UPLOADS: &str = "uploads";
/// In an upload's folder, the upload as JSON.
pub(super) const UPLOAD_RECORD: &str = "upload.json";
/// Per bucket, the part files of completed multipart uploads, one folder per version.
pub(super) const DATA: &str = "data";
/// Names of temp files beside object files (object files are named by 64 hex digits).
pub(super) const TEMP_PREFIX: &str = ".tmp-";
/// A bucket's record: its creation time and configuration.
pub(super) const BUCKET_RECORD: &str = "bucket.json";
/// Per bucket, the version files, in 256 folders by the first two hex digits of the key's hash.
pub(super) const OBJECTS: &str = "objects";
/// Per bucket, staging and background removals (cleared at open).
pub(super) const TMP: &str = "tmp";
/// Per bucket, version files whose header could not be read.
pub(super) const QUARANTINE: &str = "quarantine";

/// The bucket record as stored in `bucket.json`; older records hold only the [`BucketInfo`].
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct BucketRecord {
    #[serde(flatten)]
    pub(super) info: BucketInfo,
    #[serde(default)]
    pub(super) config: BucketConfig,
}

/// The name of a key's files: the SHA-256 of the key, in 64 hex digits.
pub(super) fn key_hash(key: &str) -> String {
    let mut buf = [0u8; 64];
    // Cannot fail: 32 bytes always fit 64 hex digits.
    let _ = hex::encode_to_slice(Sha256::digest(key.as_bytes()), &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// The file of one version of the key whose hash is `hash`, in the bucket folder `dir`.
pub(super) fn object_path(dir: &Path, hash: &str, version_id: &str) -> PathBuf {
    dir.join(OBJECTS)
        .join(&hash[..2])
        .join(format!("{hash}.{version_id}"))
}

/// The name of the folder holding the part files of a multipart version. `seq` makes it unique to one
/// write, so a null version that replaces another never shares its folder.
pub(super) fn data_folder(hash: &str, version_id: &str, seq: u64) -> String {
    format!("{hash}.{version_id}.{seq:x}")
}

/// The name of the file of part `n`, in an upload's folder and in a version's data folder.
pub(super) fn part_file(n: u32) -> String {
    format!("part-{n}")
}
