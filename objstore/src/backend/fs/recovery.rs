//! What the fs backend does when it opens a root: creates the root and its format marker, clears the
//! staging folder, and loads every bucket, repairing what interrupted writes left behind (see
//! [`RecoveryReport`] for what it counts). Nothing a crash leaves is ever served: temp files and
//! unreferenced data folders are removed, unreadable version files and manifests with missing or short
//! part files are quarantined, half-created uploads are dropped.
//!
//! **Damage stays local.** A bucket folder without a readable `bucket.json` is moved to
//! `ROOT/.quarantine/` and listed in [`RecoveryReport::quarantined_buckets`]; a stray entry inside a bucket
//! (a file among the hash folders, a symbolic link anywhere) is moved to the bucket's `quarantine/`; a
//! missing `tmp/`, `objects/`, `data/` or `uploads/` is created. The rest of the root opens. An I/O error
//! that is not damage (permission denied, too many open files) still fails the open, naming the bucket,
//! rather than moving a healthy bucket aside.
//!
//! **Links are never followed.** Every entry's type is read without following links (`lstat`); a
//! symbolic link is moved (the link itself, never its target) to quarantine, never opened, descended
//! into or removed through, so recovery touches nothing outside the root.
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
    BUCKET_RECORD, BucketRecord, DATA, MARKER, OBJECTS, QUARANTINE, ROOT_QUARANTINE, STAGING,
    TEMP_PREFIX, TMP, UPLOAD_RECORD, UPLOADS, data_folder, key_hash, part_file,
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
    /// Bucket folders that could not be loaded, moved to `ROOT/.quarantine/`: what is wrong with each.
    pub quarantined_buckets: Vec<QuarantinedBucket>,
}

/// A bucket folder [`FsBackend::open`](super::FsBackend::open) moved aside instead of loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedBucket {
    /// The folder's (bucket's) name.
    pub name: String,
    /// Where it is now, relative to the root (`.quarantine/NAME`, with `.N` added if that was taken).
    pub moved_to: String,
    /// Why it could not be loaded.
    pub reason: String,
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
        // Not followed: a link is the link's type.
        let kind = entry.file_type().map_err(err)?;
        if validate_bucket_name(&name).is_err() || !(kind.is_dir() || kind.is_symlink()) {
            continue;
        }
        let damage = if kind.is_symlink() {
            Some("a symbolic link, not a bucket folder".to_string())
        } else {
            match load_bucket(&entry.path(), &name, &mut report) {
                Ok(bucket) => {
                    report.buckets += 1;
                    buckets.insert(name.clone(), Arc::new(bucket));
                    None
                }
                Err(Damage::Bucket(reason)) => Some(reason),
                Err(Damage::Fatal(e)) => return Err(e),
            }
        };
        if let Some(reason) = damage {
            let moved_to = quarantine_bucket(root, &name).map_err(err)?;
            report.quarantined_buckets.push(QuarantinedBucket {
                name,
                moved_to,
                reason,
            });
        }
    }
    Ok((buckets, report))
}

/// Why a bucket did not load: its folder is damaged (moved aside), or the open must fail.
enum Damage {
    Bucket(String),
    Fatal(Error),
}

impl From<Error> for Damage {
    fn from(e: Error) -> Self {
        Damage::Fatal(e)
    }
}

/// Moves the folder `ROOT/name` (or the link of that name) to `ROOT/.quarantine/`, under a name not taken;
/// returns where, relative to the root.
fn quarantine_bucket(root: &Path, name: &str) -> std::io::Result<String> {
    let q = root.join(ROOT_QUARANTINE);
    fs::create_dir_all(&q)?;
    let mut to = name.to_string();
    let mut n = 1;
    while fs::symlink_metadata(q.join(&to)).is_ok() {
        to = format!("{name}.{n}");
        n += 1;
    }
    fs::rename(root.join(name), q.join(&to))?;
    Ok(format!("{ROOT_QUARANTINE}/{to}"))
}

/// Moves `path` (a file, folder or link, never followed) into the bucket's `quarantine/` as `as_name`.
fn quarantine_entry(dir: &Path, path: &Path, as_name: &str) -> std::io::Result<()> {
    let q = dir.join(QUARANTINE);
    fs::create_dir_all(&q)?;
    let mut to = as_name.to_string();
    let mut n = 1;
    while fs::symlink_metadata(q.join(&to)).is_ok() {
        to = format!("{as_name}.{n}");
        n += 1;
    }
    fs::rename(path, q.join(to))
}

/// Creates the bucket's folder `sub` if missing; a link or a file in its place is quarantined first.
fn ensure_dir(dir: &Path, sub: &str, report: &mut RecoveryReport) -> std::io::Result<()> {
    let path = dir.join(sub);
    match fs::symlink_metadata(&path) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => {
            quarantine_entry(dir, &path, sub)?;
            report.quarantined += 1;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::create_dir_all(&path)
}

/// Loads one bucket from its folder: reads its record, clears `tmp/`, rebuilds the index from the version
/// headers (removing temp files, renaming first-format files, quarantining unreadable ones and stray
/// entries), removes unreferenced data folders, and reloads the uploads in progress with their parts.
fn load_bucket(
    dir: &Path,
    name: &str,
    report: &mut RecoveryReport,
) -> std::result::Result<FsBucket, Damage> {
    let err = |e| io_err(name, None, e);
    let record_path = dir.join(BUCKET_RECORD);
    let record: BucketRecord = match fs::symlink_metadata(&record_path) {
        Ok(m) if m.is_file() => {
            let raw = fs::read(&record_path).map_err(err)?;
            serde_json::from_slice(&raw)
                .map_err(|e| Damage::Bucket(format!("{BUCKET_RECORD} does not parse: {e}")))?
        }
        Ok(_) => return Err(Damage::Bucket(format!("{BUCKET_RECORD} is not a file"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Damage::Bucket(format!("no {BUCKET_RECORD}")));
        }
        Err(e) => return Err(err(e).into()),
    };
    if record.info.name != name {
        return Err(Damage::Bucket(format!(
            "{BUCKET_RECORD} names another bucket, {:?}",
            record.info.name
        )));
    }
    for sub in [TMP, OBJECTS, DATA, UPLOADS] {
        ensure_dir(dir, sub, report).map_err(err)?;
    }
    let tmp = dir.join(TMP);
    for entry in fs::read_dir(&tmp).map_err(err)? {
        let entry = entry.map_err(err)?;
        remove_path(&entry.path()).map_err(err)?;
        report.temp_files_removed += 1;
    }
    let bucket = FsBucket::new(record.info, dir.to_path_buf(), record.config);
    let mut max_seq = 0;
    let data = dir.join(DATA);
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
            let sub_name = sub.file_name().to_string_lossy().into_owned();
            if !sub.file_type().map_err(err)?.is_dir() {
                // A stray file (`.DS_Store`) or a link among the hash folders: moved aside, never followed.
                quarantine_entry(dir, &sub.path(), &sub_name).map_err(err)?;
                report.quarantined += 1;
                continue;
            }
            for obj in fs::read_dir(sub.path()).map_err(err)? {
                let obj = obj.map_err(err)?;
                let mut path = obj.path();
                let file_name = obj.file_name().to_string_lossy().into_owned();
                if !obj.file_type().map_err(err)?.is_file() {
                    quarantine_entry(dir, &path, &format!("{sub_name}-{file_name}"))
                        .map_err(err)?;
                    report.quarantined += 1;
                    continue;
                }
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
                let head = head.and_then(|(meta, layout)| match layout {
                    Body::Inline(_) => Ok((meta, None)),
                    Body::Parts(segments) => {
                        // Every part file must be there and long enough; else the manifest is damaged.
                        let name = data_folder(hash, &meta.version_id, meta.seq);
                        for s in &segments {
                            let len = fs::metadata(data.join(&name).join(part_file(s.part)))?.len();
                            if Some(len) != s.file_len() {
                                return Err(bad_frame(
                                    "a part file does not have the length its manifest says",
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
                        quarantine_entry(dir, &path, &format!("{sub_name}-{file_name}"))
                            .map_err(err)?;
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
        let folder = entry.file_name().to_string_lossy().into_owned();
        if !referenced.contains(folder.as_str()) {
            remove_path(&entry.path()).map_err(err)?;
            report.temp_files_removed += 1;
        } else if !entry.file_type().map_err(err)?.is_dir() {
            // A link in place of a version's part folder: never read through.
            quarantine_entry(dir, &entry.path(), &format!("data-{folder}")).map_err(err)?;
            report.quarantined += 1;
        }
    }
    let uploads_dir = dir.join(UPLOADS);
    let mut uploads = bucket.uploads.lock();
    for entry in fs::read_dir(&uploads_dir).map_err(err)? {
        let entry = entry.map_err(err)?;
        let path = entry.path();
        let id = entry.file_name().to_string_lossy().into_owned();
        let record: Option<Upload> = entry
            .file_type()
            .is_ok_and(|t| t.is_dir())
            .then(|| fs::read(path.join(UPLOAD_RECORD)).ok())
            .flatten()
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
                .filter(|_| part.file_type().is_ok_and(|t| t.is_file()))
                .and_then(|n| {
                    let f = File::open(part.path()).ok()?;
                    let (info, _) = read_frame::<PartInfo>(&f, PART_MAGIC, |p| p.size).ok()?;
                    (info.part_number == n).then_some(info)
                });
            match info {
                Some(info) => {
                    parts.insert(info.part_number, info);
                }
                None => {
                    remove_path(&part.path()).map_err(err)?;
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
