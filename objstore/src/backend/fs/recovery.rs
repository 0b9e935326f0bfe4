//! What the fs backend does when it opens a root: creates the root and its format marker, clears the
//! staging folder, and loads every bucket, repairing what interrupted writes left behind (see
//! [`RecoveryReport`] for what it counts). Nothing a crash leaves is ever served: temp files and
//! unreferenced data folders are removed, unreadable version files and manifests with missing or short
//! part files are quarantined, half-created uploads are dropped.
//!
//! Depends on [`layout`](super::layout), [`frame`](super::frame), [`durable`](super::durable) and
//! [`state`](super::state); the backend's `open` calls [`open_root`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::durable::{io_err, remove_path};
use super::frame::{Body, PART_MAGIC, bad_frame, read_frame, read_version};
use super::layout::{
    BUCKET_RECORD, BucketRecord, DATA, MARKER, OBJECTS, QUARANTINE, STAGING, TEMP_PREFIX, TMP,
    UPLOAD_RECORD, UPLOADS, data_folder, key_hash, part_file,
};
use super::snapshot;
use super::state::{FsBucket, FsUpload};
use crate::backend::index;
use crate::backend::{PartInfo, Upload, valid_version_id};
use crate::error::{Error, Result};
use crate::types::meta::NULL_VERSION;
use crate::types::names::validate_bucket_name;

/// What [`FsBackend::open`](super::FsBackend::open) found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Buckets loaded.
    pub buckets: usize,
    /// Object versions (delete markers included) indexed.
    pub objects: usize,
    /// Leftover temp files removed (writes that a crash interrupted before they were acknowledged).
    pub temp_files_removed: usize,
    /// Object files whose header could not be read, moved to `BUCKET/quarantine/` instead of served.
    pub quarantined: usize,
    /// Multipart uploads in progress found.
    pub uploads: usize,
}

/// Prepares `root` (created if missing) and loads its buckets, by name.
pub(super) fn open_root(root: &Path) -> Result<(HashMap<String, Arc<FsBucket>>, RecoveryReport)> {
    let err = |e| io_err("", None, e);
    fs::create_dir_all(root).map_err(err)?;
    let marker = root.join(MARKER);
    if !marker.exists() {
        fs::write(&marker, b"objstore fs backend, format 1\n").map_err(err)?;
    }
    let staging = root.join(STAGING);
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(err)?;
    }
    fs::create_dir_all(&staging).map_err(err)?;
    let mut report = RecoveryReport::default();
    let mut buckets = HashMap::new();
    for entry in fs::read_dir(root).map_err(err)? {
        let entry = entry.map_err(err)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if validate_bucket_name(&name).is_err() || !entry.file_type().map_err(err)?.is_dir() {
            continue;
        }
        let bucket = load_bucket(&entry.path(), &name, &mut report)?;
        report.buckets += 1;
        buckets.insert(name, Arc::new(bucket));
    }
    Ok((buckets, report))
}

/// Loads one bucket from its folder: reads its record, clears `tmp/`, rebuilds the index from the version
/// headers (removing temp files, renaming first-format files, quarantining unreadable ones), removes
/// unreferenced data folders, and reloads the uploads in progress with their parts.
fn load_bucket(dir: &Path, name: &str, report: &mut RecoveryReport) -> Result<FsBucket> {
    let err = |e| io_err(name, None, e);
    let record: BucketRecord = match fs::read(dir.join(BUCKET_RECORD)) {
        Ok(raw) => serde_json::from_slice(&raw).map_err(|e| Error::backend("fs", name, None, e))?,
        Err(e) => return Err(err(e)),
    };
    let tmp = dir.join(TMP);
    for entry in fs::read_dir(&tmp).map_err(err)? {
        let entry = entry.map_err(err)?;
        remove_path(&entry.path()).map_err(err)?;
        report.temp_files_removed += 1;
    }
    let bucket = FsBucket::new(record.info, dir.to_path_buf(), record.config);
    let mut max_seq = 0;
    let data = dir.join(DATA);
    fs::create_dir_all(&data).map_err(err)?;
    // The data folders that manifests refer to; any other is left over from an interrupted complete or
    // from a version that was replaced or deleted.
    let mut referenced = HashSet::new();
    // Collected, then indexed once (one insert per version in directory order was quadratic in a key's
    // versions). A snapshot a clean shutdown wrote replaces the scan of `objects/` (snapshot.rs).
    let mut found = Vec::new();
    let snap = snapshot::take(dir).map_err(err)?;
    {
        let scan = snap.is_none();
        for sub in fs::read_dir(dir.join(OBJECTS))
            .map_err(err)?
            .filter(|_| scan)
        {
            let sub = sub.map_err(err)?;
            for obj in fs::read_dir(sub.path()).map_err(err)? {
                let obj = obj.map_err(err)?;
                let mut path = obj.path();
                let file_name = obj.file_name().to_string_lossy().into_owned();
                if file_name.starts_with(TEMP_PREFIX) {
                    fs::remove_file(&path).map_err(err)?;
                    report.temp_files_removed += 1;
                    continue;
                }
                let (hash, version) = match file_name.split_once('.') {
                    Some((h, v)) => (h, Some(v)),
                    None => (file_name.as_str(), None),
                };
                let head = File::open(&path).and_then(|f| read_version(&f));
                let head = head.and_then(|(meta, layout, _)| match layout {
                    Body::Inline(_) => Ok((meta, None)),
                    Body::Parts(segments) => {
                        // Every part file must be there and long enough; else the manifest is damaged.
                        let name = data_folder(hash, &meta.version_id, meta.seq);
                        for s in &segments {
                            let len = fs::metadata(data.join(&name).join(part_file(s.part)))?.len();
                            if len < s.off + s.len {
                                return Err(bad_frame(
                                    "a part file is shorter than its manifest says",
                                ));
                            }
                        }
                        Ok((meta, Some(name)))
                    }
                });
                match head {
                    Ok((meta, folder))
                        if *hash == *key_hash(&meta.key)
                            && valid_version_id(&meta.version_id)
                            && version.is_none_or(|v| v == meta.version_id) =>
                    {
                        referenced.extend(folder);
                        if version.is_none() {
                            // The first format: one file per key, the null version.
                            let to = bucket.object_path(hash, NULL_VERSION);
                            fs::rename(&path, &to).map_err(err)?;
                            path = to;
                        }
                        let _ = path;
                        report.objects += 1;
                        max_seq = max_seq.max(meta.seq);
                        found.push(Arc::new(meta));
                    }
                    _ => {
                        let q = dir.join(QUARANTINE);
                        fs::create_dir_all(&q).map_err(err)?;
                        fs::rename(&path, q.join(obj.file_name())).map_err(err)?;
                        report.quarantined += 1;
                    }
                }
            }
        }
    }
    *bucket.index.write() = match snap {
        Some(s) => {
            (max_seq, report.objects) = (s.max_seq, report.objects + s.objects);
            referenced.extend(s.data_folders);
            s.index
        }
        None => index::build_index(found),
    };
    bucket.seq.store(max_seq, Ordering::Relaxed);
    for entry in fs::read_dir(&data).map_err(err)? {
        let entry = entry.map_err(err)?;
        if !referenced.contains(entry.file_name().to_string_lossy().as_ref()) {
            remove_path(&entry.path()).map_err(err)?;
            report.temp_files_removed += 1;
        }
    }
    let uploads_dir = dir.join(UPLOADS);
    fs::create_dir_all(&uploads_dir).map_err(err)?;
    let mut uploads = bucket.uploads.lock();
    for entry in fs::read_dir(&uploads_dir).map_err(err)? {
        let entry = entry.map_err(err)?;
        let path = entry.path();
        let id = entry.file_name().to_string_lossy().into_owned();
        let record: Option<Upload> = fs::read(path.join(UPLOAD_RECORD))
            .ok()
            .and_then(|raw| serde_json::from_slice(&raw).ok());
        let Some(upload) = record.filter(|u: &Upload| u.upload_id == id && valid_version_id(&id))
        else {
            // A temp folder, a half-created upload or a removed one.
            remove_path(&path).map_err(err)?;
            report.temp_files_removed += 1;
            continue;
        };
        let mut parts = BTreeMap::new();
        for part in fs::read_dir(&path).map_err(err)? {
            let part = part.map_err(err)?;
            let pname = part.file_name().to_string_lossy().into_owned();
            if pname == UPLOAD_RECORD {
                continue;
            }
            let info = pname
                .strip_prefix("part-")
                .and_then(|n| n.parse::<u32>().ok())
                .and_then(|n| {
                    let f = File::open(part.path()).ok()?;
                    let (info, _, _) = read_frame::<PartInfo>(&f, PART_MAGIC, |p| p.size).ok()?;
                    (info.part_number == n).then_some(info)
                });
            match info {
                Some(info) => {
                    parts.insert(info.part_number, info);
                }
                None => {
                    fs::remove_file(part.path()).map_err(err)?;
                    report.temp_files_removed += 1;
                }
            }
        }
        report.uploads += 1;
        uploads.insert(upload, parts, FsUpload::default());
    }
    drop(uploads);
    Ok(bucket)
}
