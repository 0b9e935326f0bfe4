//! The filesystem backend: durable objects under one root folder.
//!
//! # Layout
//! ```text
//! ROOT/.objstore                  format marker
//! ROOT/.staging/                  buckets being created (cleared at open)
//! ROOT/BUCKET/bucket.json         the bucket's record: creation time and configuration
//! ROOT/BUCKET/objects/XX/H.V      one file per version: H = SHA-256 of the key (hex), XX its first two
//!                                 digits, V the version id (`null` for the null version)
//! ROOT/BUCKET/objects/XX/.tmp-*   versions being written (removed at open)
//! ROOT/BUCKET/uploads/ID/         a multipart upload: `upload.json`, and `part-N` per part
//! ROOT/BUCKET/data/H.V.S/         the part files of a version a multipart upload made (S = its `seq`, hex)
//! ROOT/BUCKET/tmp/                reserved for staging (cleared at open)
//! ```
//! A version file holds a header (magic, length, the [`ObjectMeta`] as JSON, key and version id included)
//! then the bytes, so metadata always travels with the object; a delete marker is a header-only file. The
//! one exception is a version made by a multipart upload: its file is a *manifest*, a header that also lists
//! its parts, whose bytes stay in the part files (see below). File
//! names come from a hash of the key and from version ids made of letters and digits only
//! ([`valid_version_id`]), never from the key, so no key (`../../etc/passwd`, `a//b`, `dir/`) can name a
//! path outside the root, and `a`, `a/` and `a/b` coexist. Bucket names are validated before they reach the
//! filesystem, and S3's rules admit no `/`, `.` or `..`. Files of the first format (`H`, no version) are
//! renamed to `H.null` at open.
//!
//! # Durability
//! A put writes a temp file beside the version's file, fsyncs it, renames it over the version's file and
//! fsyncs the directory; only then does it return. The check of a conditional write, the rename and the
//! index update happen under the key's lock (one of 256 stripes, by the key's hash), in a blocking task that
//! owns the lock, so they stay atomic even when the caller stops waiting. A crash at any instant leaves the
//! old version or the new one, never a mix, and a temp file that is removed at the next open.
//! [`FsOptions::sync`] can turn the fsyncs off (as `object_store`'s `LocalFileSystem` does): writes then
//! survive a process crash but not a power loss.
//!
//! Versions are ordered by `seq`, a per-bucket counter stored in each header and taken when the write
//! begins; the index keeps each key's versions in that order, so a reopen rebuilds the same order.
//!
//! # Multipart uploads
//! A part is written to a temp file in the upload's folder, fsynced, renamed to `part-N` and the folder
//! fsynced, so an acknowledged part survives a power loss as S3's do. Parts uploaded in parallel share
//! folder fsyncs (group commit: one fsync serves every rename made before it starts). Complete copies no byte: it hard-links
//! each chosen part file into a new data folder for the version (`data/H.V.S`, fsynced), writes a manifest
//! (the object's metadata plus, per part, its number, the offset of its bytes in its file and their length)
//! to a temp file, and commits it by the same locked rename as a put; then it removes the upload's folder,
//! whose links are no longer needed. Until that rename the upload is untouched, so a failed or interrupted
//! complete can be retried; a crash during complete leaves the old object or the new one, never a mix. At
//! open, every data folder no manifest refers to (an interrupted complete, or a version replaced or deleted
//! just before a crash) is removed, and a manifest whose part files are missing or short is quarantined.
//!
//! A read of a multipart version reads the manifest, then the byte range from the part files it spans. A
//! delete or replacement of the version removes its data folder after the manifest is gone; a read that
//! finds the folder gone at that instant reads the key again and answers as if it had come after the
//! delete. Why not copy the parts into one file at complete, as earlier versions did: for 256 MiB that was
//! a second pass over the bytes and a second fsync of all of them, about as long as the upload's own I/O
//! (`benches/README.md`).
//!
//! # Index
//! Keys, versions and metadata are indexed in memory (rebuilt from the version headers at open), so listing
//! never walks directories and heads never touch the disk. Reads go to the version's file and take metadata
//! and bytes from one open file handle, so they are always consistent with each other.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::index::{self, VersionIndex, missing};
use super::uploads::{UploadTable, no_such_upload};
use super::{
    Backend, ConfigUpdate, ListQuery, MetaUpdate, PartInfo, ReadPlan, Upload, VersionEntry,
    VersionQuery, WriteCheck, valid_version_id,
};
use crate::config::BucketConfig;
use crate::error::{Error, Result};
use crate::etag::ETag;
use crate::meta::{BucketInfo, NULL_VERSION, ObjectMeta};
use crate::names::validate_bucket_name;

const MAGIC: &[u8; 8] = b"STRATOB1";
const PART_MAGIC: &[u8; 8] = b"STRATOP1";
/// A version file whose bytes are in the part files of the multipart upload it completed.
const MANIFEST_MAGIC: &[u8; 8] = b"STRATOM1";
const PREFIX_LEN: usize = 12; // magic + u32 header length
const FIRST_READ: usize = 16 * 1024;
const STRIPES: usize = 256;
const MARKER: &str = ".objstore";
const STAGING: &str = ".staging";
const UPLOADS: &str = "uploads";
const UPLOAD_RECORD: &str = "upload.json";
/// Per bucket, the part files of completed multipart uploads, one folder per version.
const DATA: &str = "data";
/// Names of temp files beside object files (object files are named by 64 hex digits).
const TEMP_PREFIX: &str = ".tmp-";
/// Objects larger than this are written to their temp file before the key's lock is taken.
const STAGE_OUTSIDE_LOCK: usize = 1024 * 1024;

/// Options of the filesystem backend.
#[derive(Debug, Clone)]
pub struct FsOptions {
    /// fsync object files and directories before a write returns (default `true`): acknowledged writes
    /// then survive power loss, not only a process crash.
    pub sync: bool,
}

impl Default for FsOptions {
    fn default() -> Self {
        FsOptions { sync: true }
    }
}

/// What [`FsBackend::open`] found and repaired.
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

/// Durable buckets and objects under a root folder. See the [module docs](self).
#[derive(Debug)]
pub struct FsBackend {
    root: PathBuf,
    opts: FsOptions,
    buckets: RwLock<HashMap<String, Arc<FsBucket>>>,
    admin: tokio::sync::Mutex<()>,
    report: RecoveryReport,
    seq: AtomicU64,
    pid: u32,
}

/// The bucket record as stored in `bucket.json`; older records hold only the [`BucketInfo`].
#[derive(Debug, Serialize, Deserialize)]
struct BucketRecord {
    #[serde(flatten)]
    info: BucketInfo,
    #[serde(default)]
    config: BucketConfig,
}

/// What the fs backend keeps of an upload in progress besides its parts.
#[derive(Debug, Default)]
struct FsUpload {
    /// A complete is under way: the upload takes no more parts and no second complete.
    completing: bool,
    /// Makes the names of its part files durable.
    folder_sync: Arc<GroupSync>,
}

/// Group commit for the fsync of one folder. A writer that renamed a file into the folder needs an fsync of
/// the folder that starts after its rename; one fsync serves every rename registered before it starts, so
/// parts uploaded in parallel share folder fsyncs instead of queueing one journal commit each.
#[derive(Debug, Default)]
struct GroupSync {
    /// Renames registered, and renames covered by a finished fsync.
    counts: Mutex<(u64, u64)>,
    /// Held while an fsync runs.
    running: Mutex<()>,
}

impl GroupSync {
    /// Registers a rename that has happened; returns its ticket for [`GroupSync::sync`].
    fn register(&self) -> u64 {
        let mut c = self.counts.lock();
        c.0 += 1;
        c.0
    }

    /// Returns once an fsync (`fsync`, called here unless another caller's already covered `ticket`) that
    /// started after the ticket's rename has finished.
    fn sync(&self, ticket: u64, fsync: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        let _running = self.running.lock();
        let upto = {
            let c = self.counts.lock();
            if c.1 >= ticket {
                return Ok(());
            }
            c.0
        };
        fsync()?;
        let mut c = self.counts.lock();
        c.1 = c.1.max(upto);
        Ok(())
    }
}

/// One part of a multipart object: `len` bytes at `off` in the file `part-{part}` of its data folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Segment {
    part: u32,
    off: u64,
    len: u64,
}

/// The header of a manifest version file (as written).
#[derive(Serialize)]
struct ManifestRef<'a> {
    meta: &'a ObjectMeta,
    segments: &'a [Segment],
}

/// The header of a manifest version file (as read).
#[derive(Deserialize)]
struct Manifest {
    meta: ObjectMeta,
    segments: Vec<Segment>,
}

/// Where a version's bytes are.
#[derive(Debug)]
enum Layout {
    /// In the version file, from this offset.
    Inline(u64),
    /// In the part files of its data folder, in this order.
    Parts(Vec<Segment>),
}

#[derive(Debug)]
struct FsBucket {
    info: BucketInfo,
    dir: PathBuf,
    config: RwLock<Arc<BucketConfig>>,
    config_lock: tokio::sync::Mutex<()>,
    /// Each key's versions, newest (largest `seq`) first.
    index: RwLock<VersionIndex>,
    stripes: Box<[Arc<tokio::sync::Mutex<()>>]>,
    deleted: AtomicBool,
    seq: AtomicU64,
    uploads: Mutex<UploadTable<FsUpload>>,
    /// Names folders handed to [`FsBucket::discard`].
    discarded: AtomicU64,
}

fn io_err(bucket: &str, key: Option<&str>, e: io::Error) -> Error {
    Error::backend("fs", bucket, key, e)
}

fn key_hash(key: &str) -> String {
    let mut buf = [0u8; 64];
    // Cannot fail: 32 bytes always fit 64 hex digits.
    let _ = hex::encode_to_slice(Sha256::digest(key.as_bytes()), &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

impl FsBucket {
    fn new(info: BucketInfo, dir: PathBuf, config: BucketConfig) -> Self {
        FsBucket {
            info,
            dir,
            config: RwLock::new(Arc::new(config)),
            config_lock: tokio::sync::Mutex::new(()),
            index: RwLock::new(BTreeMap::new()),
            stripes: (0..STRIPES)
                .map(|_| Arc::new(tokio::sync::Mutex::new(())))
                .collect(),
            deleted: AtomicBool::new(false),
            seq: AtomicU64::new(0),
            uploads: Mutex::new(UploadTable::new()),
            discarded: AtomicU64::new(0),
        }
    }

    fn object_path(&self, hash: &str, version_id: &str) -> PathBuf {
        self.dir
            .join("objects")
            .join(&hash[..2])
            .join(format!("{hash}.{version_id}"))
    }

    /// The folder holding the part files of a multipart version. `seq` makes it unique to one write, so a
    /// null version that replaces another never shares its folder.
    fn data_dir(&self, hash: &str, version_id: &str, seq: u64) -> PathBuf {
        self.dir
            .join(DATA)
            .join(format!("{hash}.{version_id}.{seq:x}"))
    }

    /// Removes the part files of `meta` if it is a multipart version (a no-op for others). Errors are
    /// ignored: a folder left behind is unreferenced and removed at the next open.
    fn drop_data(&self, meta: &ObjectMeta) {
        if meta.parts_count.is_some() {
            self.discard(&self.data_dir(&key_hash(&meta.key), &meta.version_id, meta.seq));
        }
    }

    /// Moves a folder out of sight into the bucket's `tmp/` (one rename) and removes it there in the
    /// background, so no write waits for the removal of a large object's files (50 to 150 ms for 256 MiB
    /// of parts on ext4). `tmp/` is cleared at open, so a crash loses only the removal. Errors are ignored
    /// (a folder left in place is unreferenced, and removed at the next open).
    fn discard(&self, path: &Path) {
        let n = self.discarded.fetch_add(1, Ordering::Relaxed);
        let to = self.dir.join("tmp").join(format!("discard-{n:x}"));
        if fs::rename(path, &to).is_err() {
            return;
        }
        let remove = move || {
            let _ = fs::remove_dir_all(&to);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(remove)),
            Err(_) => remove(),
        }
    }

    fn upload_dir(&self, upload_id: &str) -> PathBuf {
        self.dir.join(UPLOADS).join(upload_id)
    }

    fn stripe(&self, hash: &str) -> Arc<tokio::sync::Mutex<()>> {
        let n = u8::from_str_radix(&hash[..2], 16).unwrap_or(0) as usize;
        self.stripes[n % STRIPES].clone()
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The newest version of `key` and the version with `version_id`, as the index has them.
    fn check_view(
        &self,
        key: &str,
        version_id: &str,
    ) -> (Option<Arc<ObjectMeta>>, Option<Arc<ObjectMeta>>) {
        let index = self.index.read();
        match index.get(key) {
            None => (None, None),
            Some(v) => (
                v.first().cloned(),
                index::pick(v.iter(), Some(version_id)).cloned(),
            ),
        }
    }

    /// The version of `key` (the newest without a version id) as the index has it: `NoSuchKey` or
    /// `NoSuchVersion` if there is none.
    fn lookup(&self, bucket: &str, key: &str, version: Option<&str>) -> Result<Arc<ObjectMeta>> {
        let index = self.index.read();
        index
            .get(key)
            .and_then(|v| index::pick(v.iter(), version))
            .cloned()
            .ok_or_else(|| missing(bucket, key, version))
    }

    fn index_insert(&self, meta: Arc<ObjectMeta>) {
        index::insert_version(&mut self.index.write(), meta);
    }

    fn index_remove(&self, key: &str, version_id: &str) {
        index::remove_version(&mut self.index.write(), key, version_id);
    }
}

impl FsBackend {
    /// Opens (or creates) a store under `root`, rebuilding the index from the object files and removing
    /// what interrupted writes left behind.
    ///
    /// # Errors
    /// [`Error::Backend`] if the root cannot be created or read.
    pub fn open(root: impl AsRef<Path>, opts: FsOptions) -> Result<FsBackend> {
        let root = root.as_ref().to_path_buf();
        let err = |e| io_err("", None, e);
        fs::create_dir_all(&root).map_err(err)?;
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
        for entry in fs::read_dir(&root).map_err(err)? {
            let entry = entry.map_err(err)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if validate_bucket_name(&name).is_err() || !entry.file_type().map_err(err)?.is_dir() {
                continue;
            }
            let bucket = load_bucket(&entry.path(), &name, &mut report)?;
            report.buckets += 1;
            buckets.insert(name, Arc::new(bucket));
        }
        Ok(FsBackend {
            root,
            opts,
            buckets: RwLock::new(buckets),
            admin: tokio::sync::Mutex::new(()),
            report,
            seq: AtomicU64::new(0),
            pid: std::process::id(),
        })
    }

    /// What opening found and repaired.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.report
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn bucket(&self, name: &str) -> Result<Arc<FsBucket>> {
        self.buckets
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::NoSuchBucket {
                bucket: name.to_string(),
            })
    }

    fn unique(&self) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("{:x}-{:x}-{:x}", self.pid, t, n)
    }
}

/// Removes a file or folder; one already gone (a background removal of an earlier instance in this process
/// may still be running) is not an error.
fn remove_path(path: &Path) -> io::Result<()> {
    let r = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

fn load_bucket(dir: &Path, name: &str, report: &mut RecoveryReport) -> Result<FsBucket> {
    let err = |e| io_err(name, None, e);
    let record: BucketRecord = match fs::read(dir.join("bucket.json")) {
        Ok(raw) => serde_json::from_slice(&raw).map_err(|e| Error::backend("fs", name, None, e))?,
        Err(e) => return Err(err(e)),
    };
    let tmp = dir.join("tmp");
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
    let mut referenced = std::collections::HashSet::new();
    {
        let mut index = bucket.index.write();
        for sub in fs::read_dir(dir.join("objects")).map_err(err)? {
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
                    Layout::Inline(_) => Ok((meta, None)),
                    Layout::Parts(segments) => {
                        // Every part file must be there and long enough; else the manifest is damaged.
                        let name = format!("{hash}.{}.{:x}", meta.version_id, meta.seq);
                        for s in &segments {
                            let len =
                                fs::metadata(data.join(&name).join(format!("part-{}", s.part)))?
                                    .len();
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
                        index::insert_version(&mut index, Arc::new(meta));
                    }
                    _ => {
                        let q = dir.join("quarantine");
                        fs::create_dir_all(&q).map_err(err)?;
                        fs::rename(&path, q.join(obj.file_name())).map_err(err)?;
                        report.quarantined += 1;
                    }
                }
            }
        }
    }
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

/// A framed file's start: its magic, its header's bytes, the offset of the data, the data bytes already read
/// and the file's length.
struct RawFrame {
    magic: [u8; 8],
    header: Vec<u8>,
    data_off: u64,
    already: Vec<u8>,
    len: u64,
}

fn bad_frame(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("object file: {what}"))
}

fn read_raw(file: &File) -> io::Result<RawFrame> {
    let mut buf = vec![0u8; FIRST_READ];
    let mut n = 0;
    while n < buf.len() {
        let got = file.read_at(&mut buf[n..], n as u64)?;
        if got == 0 {
            break;
        }
        n += got;
    }
    buf.truncate(n);
    if buf.len() < PREFIX_LEN {
        return Err(bad_frame("bad magic"));
    }
    let mut magic = [0u8; 8];
    magic.copy_from_slice(&buf[..8]);
    let hlen = u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]) as usize;
    let data_off = PREFIX_LEN + hlen;
    if buf.len() < data_off {
        let mut rest = vec![0u8; data_off - buf.len()];
        file.read_exact_at(&mut rest, buf.len() as u64)?;
        buf.extend_from_slice(&rest);
    }
    let already = buf.split_off(data_off);
    buf.drain(..PREFIX_LEN);
    Ok(RawFrame {
        magic,
        header: buf,
        data_off: data_off as u64,
        already,
        len: file.metadata()?.len(),
    })
}

/// Reads a framed file's header: the header, the offset of the bytes, and the bytes already read.
fn read_frame<T: DeserializeOwned>(
    file: &File,
    magic: &[u8; 8],
    size_of: impl Fn(&T) -> u64,
) -> io::Result<(T, u64, Vec<u8>)> {
    let raw = read_raw(file)?;
    if raw.magic != *magic {
        return Err(bad_frame("bad magic"));
    }
    let head: T = serde_json::from_slice(&raw.header).map_err(|e| bad_frame(&e.to_string()))?;
    if raw.len != raw.data_off + size_of(&head) {
        return Err(bad_frame("length does not match header"));
    }
    Ok((head, raw.data_off, raw.already))
}

/// Reads a version file's header: its metadata, where its bytes are, and the bytes already read (of an
/// inline version).
fn read_version(file: &File) -> io::Result<(ObjectMeta, Layout, Vec<u8>)> {
    let raw = read_raw(file)?;
    if raw.magic == *MAGIC {
        let meta: ObjectMeta =
            serde_json::from_slice(&raw.header).map_err(|e| bad_frame(&e.to_string()))?;
        if raw.len != raw.data_off + meta.size {
            return Err(bad_frame("length does not match header"));
        }
        return Ok((meta, Layout::Inline(raw.data_off), raw.already));
    }
    if raw.magic != *MANIFEST_MAGIC {
        return Err(bad_frame("bad magic"));
    }
    let m: Manifest = serde_json::from_slice(&raw.header).map_err(|e| bad_frame(&e.to_string()))?;
    let total = m
        .segments
        .iter()
        .try_fold(0u64, |t, s| t.checked_add(s.len));
    if raw.len != raw.data_off || total != Some(m.meta.size) {
        return Err(bad_frame("manifest does not match its header"));
    }
    Ok((m.meta, Layout::Parts(m.segments), Vec::new()))
}

/// Reads `range` of a multipart version from its part files. `NotFound` means the folder is gone: the version
/// was deleted or replaced since its manifest was read.
fn read_segments(dir: &Path, segments: &[Segment], range: Range<u64>) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; (range.end - range.start) as usize];
    let (mut pos, mut out) = (0u64, 0usize);
    for s in segments {
        let (start, end) = (pos, pos + s.len);
        pos = end;
        if end <= range.start || s.len == 0 {
            continue;
        }
        if start >= range.end {
            break;
        }
        let from = range.start.max(start) - start;
        let to = range.end.min(end) - start;
        let n = (to - from) as usize;
        let f = File::open(dir.join(format!("part-{}", s.part)))?;
        f.read_exact_at(&mut buf[out..out + n], s.off + from)?;
        out += n;
    }
    Ok(buf)
}

fn frame_head(magic: &[u8; 8], header: &impl Serialize) -> io::Result<Vec<u8>> {
    let header = serde_json::to_vec(header).map_err(io::Error::other)?;
    let hlen = u32::try_from(header.len()).map_err(|_| io::Error::other("header too large"))?;
    let mut head = Vec::with_capacity(PREFIX_LEN + header.len());
    head.extend_from_slice(magic);
    head.extend_from_slice(&hlen.to_le_bytes());
    head.extend_from_slice(&header);
    Ok(head)
}

fn write_frame(
    path: &Path,
    magic: &[u8; 8],
    header: &impl Serialize,
    data: &[u8],
    sync: bool,
) -> io::Result<()> {
    let mut head = frame_head(magic, header)?;
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    if data.len() <= 64 * 1024 {
        head.extend_from_slice(data);
        file.write_all(&head)?;
    } else {
        file.write_all(&head)?;
        file.write_all(data)?;
    }
    if sync {
        file.sync_data()?;
    }
    Ok(())
}

fn write_object(path: &Path, meta: &ObjectMeta, data: &[u8], sync: bool) -> io::Result<()> {
    write_frame(path, MAGIC, meta, data, sync)
}

/// Hard-links `from` to `to`; on a filesystem without hard links, copies it (fsynced when `sync`).
fn link_or_copy(from: &Path, to: &Path, sync: bool) -> io::Result<()> {
    link_or_copy_with(from, to, sync, |a, b| fs::hard_link(a, b))
}

fn link_or_copy_with(
    from: &Path,
    to: &Path,
    sync: bool,
    link: impl FnOnce(&Path, &Path) -> io::Result<()>,
) -> io::Result<()> {
    match link(from, to) {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied
            ) || e.raw_os_error() == Some(EXDEV) =>
        {
            fs::copy(from, to)?;
            if sync {
                File::open(to)?.sync_data()?;
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// `EXDEV`: a link across filesystems (a data folder mounted apart from the uploads).
const EXDEV: i32 = 18;

fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Writes a file by temp file and rename (fsynced when `sync`).
fn replace_file(path: &Path, temp: &Path, data: &[u8], sync: bool) -> io::Result<()> {
    let mut f = File::create(temp)?;
    f.write_all(data)?;
    if sync {
        f.sync_all()?;
    }
    fs::rename(temp, path)?;
    if sync {
        if let Some(parent) = path.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// Removes a folder unless the write it belongs to committed.
struct DirGuard(Option<PathBuf>);

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_dir_all(p);
        }
    }
}

/// Removes a temp file unless the write it belongs to committed.
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(io::Error::other)
}

impl FsBackend {
    /// Commits a version: under the key's lock, checks, renames the staged (or now written) temp file into
    /// place, updates the index and fsyncs the directory. `staged` holds the temp file if already written.
    #[allow(clippy::too_many_arguments)]
    async fn commit(
        &self,
        b: &Arc<FsBucket>,
        bucket: &str,
        hash: String,
        mut meta: ObjectMeta,
        data: Option<Bytes>,
        tmp: PathBuf,
        staged: TempGuard,
        check: WriteCheck<'_>,
    ) -> Result<Arc<ObjectMeta>> {
        let key = meta.key.clone();
        let dest = b.object_path(&hash, &meta.version_id);
        let lock = b.stripe(&hash).lock_owned().await;
        if b.deleted.load(Ordering::Acquire) {
            return Err(Error::NoSuchBucket {
                bucket: bucket.to_string(),
            });
        }
        let (current, target) = b.check_view(&key, &meta.version_id);
        check(current.as_deref(), target.as_deref())?;
        if data.is_some() {
            meta.seq = b.next_seq();
        }
        let meta = Arc::new(meta);
        let (b2, m2, sync) = (b.clone(), meta.clone(), self.opts.sync);
        blocking(move || -> io::Result<()> {
            let _lock = lock;
            let mut staged = staged;
            if let Some(data) = data {
                staged.0 = Some(tmp.clone());
                write_object(&tmp, &m2, &data, sync)?;
            }
            fs::rename(&tmp, &dest)?;
            staged.0 = None;
            let seq = m2.seq;
            b2.index_insert(m2);
            if sync {
                sync_dir(dest.parent().unwrap_or(&b2.dir))?;
            }
            // The replaced version's part files, if it was a multipart one.
            if let Some(old) = target.filter(|t| t.seq != seq) {
                b2.drop_data(&old);
            }
            Ok(())
        })
        .await
        .and_then(|r| r)
        .map_err(|e| io_err(bucket, Some(&key), e))?;
        Ok(meta)
    }
}

fn check_version_id(bucket: &str, meta: &ObjectMeta) -> Result<()> {
    if valid_version_id(&meta.version_id) {
        Ok(())
    } else {
        Err(Error::no_such_version(bucket, &meta.key, &meta.version_id))
    }
}

#[async_trait]
impl Backend for FsBackend {
    fn name(&self) -> &'static str {
        "fs"
    }

    async fn create_bucket(&self, info: &BucketInfo) -> Result<()> {
        let _admin = self.admin.lock().await;
        if self.buckets.read().contains_key(&info.name) {
            return Err(Error::BucketAlreadyOwnedByYou {
                bucket: info.name.clone(),
            });
        }
        let (root, info2, unique, sync) = (
            self.root.clone(),
            info.clone(),
            self.unique(),
            self.opts.sync,
        );
        let dir = blocking(move || -> io::Result<PathBuf> {
            // Build the bucket in staging, then rename it into place: a crash leaves all or nothing.
            let stage = root.join(STAGING).join(&unique);
            fs::create_dir_all(stage.join("tmp"))?;
            fs::create_dir_all(stage.join(UPLOADS))?;
            fs::create_dir_all(stage.join(DATA))?;
            for i in 0..=255u8 {
                fs::create_dir_all(stage.join("objects").join(format!("{i:02x}")))?;
            }
            let record = serde_json::to_vec(&BucketRecord {
                info: info2.clone(),
                config: BucketConfig::default(),
            })
            .map_err(io::Error::other)?;
            let mut f = File::create(stage.join("bucket.json"))?;
            f.write_all(&record)?;
            if sync {
                f.sync_all()?;
                sync_dir(&stage)?;
            }
            let dir = root.join(&info2.name);
            fs::rename(&stage, &dir)?;
            if sync {
                sync_dir(&root)?;
            }
            Ok(dir)
        })
        .await
        .and_then(|r| r)
        .map_err(|e| io_err(&info.name, None, e))?;
        let bucket = FsBucket::new(info.clone(), dir, BucketConfig::default());
        self.buckets
            .write()
            .insert(info.name.clone(), Arc::new(bucket));
        Ok(())
    }

    async fn delete_bucket(&self, bucket: &str) -> Result<()> {
        let _admin = self.admin.lock().await;
        let b = self.bucket(bucket)?;
        // Hold every stripe so no write lands between the emptiness check and the removal.
        let mut guards = Vec::with_capacity(STRIPES);
        for s in b.stripes.iter() {
            guards.push(s.clone().lock_owned().await);
        }
        if !b.index.read().is_empty() {
            return Err(Error::BucketNotEmpty {
                bucket: bucket.to_string(),
            });
        }
        b.deleted.store(true, Ordering::Release);
        self.buckets.write().remove(bucket);
        let (root, dir, unique, sync) = (
            self.root.clone(),
            b.dir.clone(),
            self.unique(),
            self.opts.sync,
        );
        blocking(move || -> io::Result<()> {
            // Move it out of sight atomically, then remove it.
            let grave = root.join(STAGING).join(unique);
            fs::rename(&dir, &grave)?;
            if sync {
                sync_dir(&root)?;
            }
            // The bucket is gone once renamed; what a failed removal leaves in staging goes at open.
            let _ = fs::remove_dir_all(&grave);
            Ok(())
        })
        .await
        .and_then(|r| r)
        .map_err(|e| io_err(bucket, None, e))?;
        drop(guards);
        Ok(())
    }

    async fn head_bucket(&self, bucket: &str) -> Result<BucketInfo> {
        Ok(self.bucket(bucket)?.info.clone())
    }

    async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        Ok(self
            .buckets
            .read()
            .values()
            .map(|b| b.info.clone())
            .collect())
    }

    async fn bucket_config(&self, bucket: &str) -> Result<Arc<BucketConfig>> {
        Ok(self.bucket(bucket)?.config.read().clone())
    }

    async fn update_bucket_config(
        &self,
        bucket: &str,
        update: ConfigUpdate<'_>,
    ) -> Result<Arc<BucketConfig>> {
        let b = self.bucket(bucket)?;
        let _lock = b.config_lock.lock().await;
        let mut next = (**b.config.read()).clone();
        update(&mut next)?;
        let record = serde_json::to_vec(&BucketRecord {
            info: b.info.clone(),
            config: next.clone(),
        })
        .map_err(|e| Error::backend("fs", bucket, None, e))?;
        let (path, temp, sync) = (
            b.dir.join("bucket.json"),
            b.dir.join("tmp").join(self.unique()),
            self.opts.sync,
        );
        blocking(move || replace_file(&path, &temp, &record, sync))
            .await
            .and_then(|r| r)
            .map_err(|e| io_err(bucket, None, e))?;
        let next = Arc::new(next);
        *b.config.write() = next.clone();
        Ok(next)
    }

    async fn head(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<Arc<ObjectMeta>> {
        let b = self.bucket(bucket)?;
        b.lookup(bucket, key, version)
    }

    async fn get(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        plan: ReadPlan<'_>,
    ) -> Result<(Arc<ObjectMeta>, Bytes)> {
        let b = self.bucket(bucket)?;
        let hash = key_hash(key);
        loop {
            let known = b.lookup(bucket, key, version)?;
            if known.is_delete_marker {
                plan(&known)?;
                return Ok((known, Bytes::new()));
            }
            let path = b.object_path(&hash, &known.version_id);
            let opened = blocking(
                move || -> io::Result<Option<(File, ObjectMeta, Layout, Vec<u8>)>> {
                    let file = match File::open(&path) {
                        Ok(f) => f,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                        Err(e) => return Err(e),
                    };
                    let (meta, layout, already) = read_version(&file)?;
                    Ok(Some((file, meta, layout, already)))
                },
            )
            .await
            .and_then(|r| r)
            .map_err(|e| io_err(bucket, Some(key), e))?;
            let Some((file, meta, layout, already)) = opened else {
                return Err(missing(bucket, key, version));
            };
            if meta.key != key || meta.version_id != known.version_id {
                // A SHA-256 collision would land here; never serve another key's bytes.
                return Err(missing(bucket, key, version));
            }
            let range: Range<u64> = plan(&meta)?.unwrap_or(0..meta.size);
            let meta = Arc::new(meta);
            let read = match layout {
                Layout::Inline(_) if range.end as usize <= already.len() => {
                    let all = Bytes::from(already);
                    return Ok((meta, all.slice(range.start as usize..range.end as usize)));
                }
                Layout::Inline(off) => {
                    blocking(move || -> io::Result<Vec<u8>> {
                        let mut buf = vec![0u8; (range.end - range.start) as usize];
                        file.read_exact_at(&mut buf, off + range.start)?;
                        Ok(buf)
                    })
                    .await
                }
                Layout::Parts(segments) => {
                    let dir = b.data_dir(&hash, &meta.version_id, meta.seq);
                    blocking(move || read_segments(&dir, &segments, range)).await
                }
            };
            match read.and_then(|r| r) {
                Ok(data) => return Ok((meta, Bytes::from(data))),
                // The part files went away after the manifest was read: the version was deleted or
                // replaced meanwhile, so read again what the index has now. If the index still has this
                // very write, the files are damaged instead.
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound
                        && b.index
                            .read()
                            .get(key)
                            .and_then(|v| index::pick(v.iter(), version))
                            .map(|m| m.seq)
                            != Some(meta.seq) =>
                {
                    continue;
                }
                Err(e) => return Err(io_err(bucket, Some(key), e)),
            }
        }
    }

    async fn put(
        &self,
        bucket: &str,
        mut meta: ObjectMeta,
        data: Bytes,
        check: WriteCheck<'_>,
    ) -> Result<Arc<ObjectMeta>> {
        let b = self.bucket(bucket)?;
        check_version_id(bucket, &meta)?;
        let hash = key_hash(&meta.key);
        let dest = b.object_path(&hash, &meta.version_id);
        // The temp file sits beside its destination, so the rename stays within one directory.
        let tmp = dest.with_file_name(format!("{TEMP_PREFIX}{}", self.unique()));
        // Large objects are written before the key's lock is taken, so one slow upload does not hold up
        // other writers; small ones are written and committed in one blocking step.
        let mut staged = TempGuard(None);
        if data.len() > STAGE_OUTSIDE_LOCK {
            meta.seq = b.next_seq();
            let (t, m2, sync) = (tmp.clone(), meta.clone(), self.opts.sync);
            blocking(move || write_object(&t, &m2, &data, sync))
                .await
                .and_then(|r| r)
                .map_err(|e| io_err(bucket, Some(&m2_key(&meta)), e))?;
            staged.0 = Some(tmp.clone());
            return self
                .commit(&b, bucket, hash, meta, None, tmp, staged, check)
                .await;
        }
        self.commit(&b, bucket, hash, meta, Some(data), tmp, staged, check)
            .await
    }

    async fn delete_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
        check: WriteCheck<'_>,
    ) -> Result<Option<Arc<ObjectMeta>>> {
        let b = self.bucket(bucket)?;
        let hash = key_hash(key);
        let lock = b.stripe(&hash).lock_owned().await;
        let (current, target) = b.check_view(key, version_id);
        check(current.as_deref(), target.as_deref())?;
        let Some(target) = target else {
            return Ok(None);
        };
        let (b2, sync, k, v, old) = (
            b.clone(),
            self.opts.sync,
            key.to_string(),
            version_id.to_string(),
            target.clone(),
        );
        blocking(move || -> io::Result<()> {
            let _lock = lock;
            let path = b2.object_path(&hash, &v);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            b2.index_remove(&k, &v);
            if sync {
                sync_dir(path.parent().unwrap_or(&b2.dir))?;
            }
            b2.drop_data(&old);
            Ok(())
        })
        .await
        .and_then(|r| r)
        .map_err(|e| io_err(bucket, Some(key), e))?;
        Ok(Some(target))
    }

    async fn update_version(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        update: MetaUpdate<'_>,
    ) -> Result<Arc<ObjectMeta>> {
        let b = self.bucket(bucket)?;
        let hash = key_hash(key);
        let lock = b.stripe(&hash).lock_owned().await;
        let old = b.lookup(bucket, key, version)?;
        let mut next = index::updated_meta(&old, update)?;
        next.size = old.size;
        // The fs backend finds a version's part files by it.
        next.parts_count = old.parts_count;
        let next = Arc::new(next);
        let path = b.object_path(&hash, &old.version_id);
        let tmp = path.with_file_name(format!("{TEMP_PREFIX}{}", self.unique()));
        let (b2, m2, sync) = (b.clone(), next.clone(), self.opts.sync);
        blocking(move || -> io::Result<()> {
            let _lock = lock;
            // Rewrite the file with the new header and the same bytes (or the same part list), then
            // rename it over the old one.
            let src = File::open(&path)?;
            let (_, layout, _) = read_version(&src)?;
            let mut guard = TempGuard(Some(tmp.clone()));
            match layout {
                Layout::Inline(off) => {
                    let mut out = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
                    out.write_all(&frame_head(MAGIC, &*m2)?)?;
                    let mut src = src;
                    src.seek(SeekFrom::Start(off))?;
                    io::copy(&mut src, &mut out)?;
                    if sync {
                        out.sync_data()?;
                    }
                }
                Layout::Parts(segments) => {
                    let header = ManifestRef {
                        meta: &m2,
                        segments: &segments,
                    };
                    write_frame(&tmp, MANIFEST_MAGIC, &header, &[], sync)?;
                }
            }
            fs::rename(&tmp, &path)?;
            guard.0 = None;
            b2.index_insert(m2);
            if sync {
                sync_dir(path.parent().unwrap_or(&b2.dir))?;
            }
            Ok(())
        })
        .await
        .and_then(|r| r)
        .map_err(|e| io_err(bucket, Some(key), e))?;
        Ok(next)
    }

    async fn list(&self, bucket: &str, query: ListQuery<'_>) -> Result<Vec<Arc<ObjectMeta>>> {
        let b = self.bucket(bucket)?;
        Ok(index::list_page(&b.index.read(), &query))
    }

    async fn list_versions(
        &self,
        bucket: &str,
        query: VersionQuery<'_>,
    ) -> Result<Vec<VersionEntry>> {
        let b = self.bucket(bucket)?;
        Ok(index::version_page(&b.index.read(), &query))
    }

    async fn create_upload(&self, bucket: &str, upload: &Upload) -> Result<()> {
        let b = self.bucket(bucket)?;
        if !valid_version_id(&upload.upload_id) {
            return Err(no_such_upload(bucket, &upload.upload_id));
        }
        let record =
            serde_json::to_vec(upload).map_err(|e| Error::backend("fs", bucket, None, e))?;
        let (stage, dir, sync) = (
            b.dir
                .join(UPLOADS)
                .join(format!("{TEMP_PREFIX}{}", self.unique())),
            b.upload_dir(&upload.upload_id),
            self.opts.sync,
        );
        blocking(move || -> io::Result<()> {
            fs::create_dir(&stage)?;
            let mut f = File::create(stage.join(UPLOAD_RECORD))?;
            f.write_all(&record)?;
            if sync {
                f.sync_all()?;
                sync_dir(&stage)?;
            }
            fs::rename(&stage, &dir)?;
            if sync {
                sync_dir(dir.parent().unwrap_or(&dir))?;
            }
            Ok(())
        })
        .await
        .and_then(|r| r)
        .map_err(|e| io_err(bucket, Some(&upload.template.key), e))?;
        b.uploads.lock().create(upload.clone(), FsUpload::default());
        Ok(())
    }

    async fn put_part(
        &self,
        bucket: &str,
        upload_id: &str,
        part: PartInfo,
        data: Bytes,
    ) -> Result<()> {
        let b = self.bucket(bucket)?;
        let key = {
            let uploads = b.uploads.lock();
            match uploads.find(upload_id) {
                Some(u) if !u.extra.completing => u.upload.template.key.clone(),
                _ => return Err(no_such_upload(bucket, upload_id)),
            }
        };
        let dir = b.upload_dir(upload_id);
        let tmp = dir.join(format!("{TEMP_PREFIX}{}", self.unique()));
        let (b2, id, sync) = (b.clone(), upload_id.to_string(), self.opts.sync);
        let outcome = blocking(move || -> io::Result<bool> {
            let mut guard = TempGuard(Some(tmp.clone()));
            write_frame(&tmp, PART_MAGIC, &part, &data, sync)?;
            let (folder_sync, ticket) = {
                let mut uploads = b2.uploads.lock();
                let Some(u) = uploads.find_mut(&id).filter(|u| !u.extra.completing) else {
                    return Ok(false);
                };
                fs::rename(&tmp, dir.join(format!("part-{}", part.part_number)))?;
                guard.0 = None;
                u.parts.insert(part.part_number, part);
                (u.extra.folder_sync.clone(), u.extra.folder_sync.register())
            };
            if sync {
                folder_sync.sync(ticket, || sync_dir(&dir))?;
            }
            Ok(true)
        })
        .await
        .and_then(|r| r);
        match outcome {
            Ok(true) => Ok(()),
            Ok(false) => Err(no_such_upload(bucket, upload_id)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(no_such_upload(bucket, upload_id)),
            Err(e) => Err(io_err(bucket, Some(&key), e)),
        }
    }

    async fn list_parts(&self, bucket: &str, upload_id: &str) -> Result<(Upload, Vec<PartInfo>)> {
        self.bucket(bucket)?.uploads.lock().parts(bucket, upload_id)
    }

    async fn get_upload(&self, bucket: &str, upload_id: &str) -> Result<Upload> {
        self.bucket(bucket)?
            .uploads
            .lock()
            .upload(bucket, upload_id)
    }

    async fn list_uploads(&self, bucket: &str) -> Result<Vec<Upload>> {
        Ok(self.bucket(bucket)?.uploads.lock().uploads())
    }

    async fn complete_upload(
        &self,
        bucket: &str,
        upload_id: &str,
        mut meta: ObjectMeta,
        parts: &[(u32, ETag)],
        check: WriteCheck<'_>,
    ) -> Result<Arc<ObjectMeta>> {
        let b = self.bucket(bucket)?;
        check_version_id(bucket, &meta)?;
        let dir = b.upload_dir(upload_id);
        let files: Vec<(u32, PathBuf)> = {
            let mut uploads = b.uploads.lock();
            let u = match uploads.find_mut(upload_id) {
                Some(u) if !u.extra.completing => u,
                _ => return Err(no_such_upload(bucket, upload_id)),
            };
            let picked = u.pick_parts(bucket, parts)?;
            meta.size = picked.iter().map(|p| p.size).sum();
            let files = picked
                .iter()
                .map(|p| (p.part_number, dir.join(format!("part-{}", p.part_number))))
                .collect();
            u.extra.completing = true;
            files
        };
        let release = |b: &FsBucket| {
            if let Some(u) = b.uploads.lock().find_mut(upload_id) {
                u.extra.completing = false;
            }
        };
        let hash = key_hash(&meta.key);
        let dest = b.object_path(&hash, &meta.version_id);
        let tmp = dest.with_file_name(format!("{TEMP_PREFIX}{}", self.unique()));
        meta.seq = b.next_seq();
        let key = meta.key.clone();
        let (t, m2, sync) = (tmp.clone(), meta.clone(), self.opts.sync);
        let d2 = b.data_dir(&hash, &meta.version_id, meta.seq);
        // The parts become the object's bytes where they are: each part file is hard-linked into the
        // version's data folder (the upload keeps its own link until the commit, so a failed or interrupted
        // complete can be retried), and the version file is a manifest listing them. No byte is copied.
        let assembled = blocking(move || -> io::Result<(TempGuard, DirGuard)> {
            fs::create_dir_all(d2.parent().unwrap_or(&d2))?;
            fs::create_dir(&d2)?;
            let folder = DirGuard(Some(d2.clone()));
            let mut segments = Vec::with_capacity(files.len());
            for (n, f) in files {
                let (info, off, _) =
                    read_frame::<PartInfo>(&File::open(&f)?, PART_MAGIC, |p| p.size)?;
                if info.part_number != n {
                    return Err(bad_frame("part file holds another part"));
                }
                link_or_copy(&f, &d2.join(format!("part-{n}")), sync)?;
                segments.push(Segment {
                    part: n,
                    off,
                    len: info.size,
                });
            }
            if sync {
                // The parts were fsynced when uploaded; make their new names and the folder durable.
                sync_dir(&d2)?;
                sync_dir(d2.parent().unwrap_or(&d2))?;
            }
            let guard = TempGuard(Some(t.clone()));
            let header = ManifestRef {
                meta: &m2,
                segments: &segments,
            };
            write_frame(&t, MANIFEST_MAGIC, &header, &[], sync)?;
            Ok((guard, folder))
        })
        .await
        .and_then(|r| r);
        let (staged, mut folder) = match assembled {
            Ok(g) => g,
            Err(e) => {
                release(&b);
                return Err(io_err(bucket, Some(&key), e));
            }
        };
        let stored = match self
            .commit(&b, bucket, hash, meta, None, tmp, staged, check)
            .await
        {
            Ok(m) => m,
            Err(e) => {
                release(&b);
                // `folder` removes the data folder as it drops.
                return Err(e);
            }
        };
        folder.0 = None;
        b.uploads.lock().take(upload_id);
        // The object is committed: the upload's folder (links the data folder no longer needs) goes without
        // an fsync. Should a crash undo that, the upload reappears beside the object, and completing it again
        // gives the same object.
        let b2 = b.clone();
        let _ = blocking(move || b2.discard(&dir)).await;
        Ok(stored)
    }

    async fn abort_upload(&self, bucket: &str, upload_id: &str) -> Result<()> {
        let b = self.bucket(bucket)?;
        b.uploads.lock().remove(bucket, upload_id)?;
        let dir = b.upload_dir(upload_id);
        let grave = b
            .dir
            .join(UPLOADS)
            .join(format!("{TEMP_PREFIX}{}", self.unique()));
        blocking(move || -> io::Result<()> {
            fs::rename(&dir, &grave)?;
            fs::remove_dir_all(&grave)
        })
        .await
        .and_then(|r| r)
        .map_err(|e| io_err(bucket, None, e))
    }
}

fn m2_key(meta: &ObjectMeta) -> String {
    meta.key.clone()
}

#[cfg(test)]
mod tests {
    use stratus_clock::ManualClock;

    use super::*;
    use crate::{ByteRange, GetOptions, Store};

    /// A store on the fs backend at `root`, with default options.
    fn open_store(root: &Path) -> Store {
        Store::builder()
            .backend(FsBackend::open(root, FsOptions::default()).unwrap())
            .build()
    }

    fn fs_store(clock: &ManualClock) -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let backend = FsBackend::open(dir.path().join("root"), FsOptions::default()).unwrap();
        (
            Store::builder()
                .backend(backend)
                .clock(clock.clock())
                .build(),
            dir,
        )
    }

    crate::conformance_tests!(fs_store);

    /// `object_store`'s own conformance suite against an fs-backed bucket (what is run and what is not:
    /// `crate::backend::object_store_integration`).
    #[tokio::test]
    async fn object_store_integration() {
        let (store, _dir) = fs_store(&ManualClock::new());
        let bucket = store.create_bucket("integration").await.unwrap();
        crate::backend::object_store_integration(&bucket).await;
    }

    #[tokio::test]
    async fn reopen_rebuilds_index_and_clears_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        {
            let store = open_store(&root);
            let b = store.create_bucket("keep").await.unwrap();
            for k in ["a", "a/", "a/b", "../x"] {
                b.put(k, k.as_bytes().to_vec()).await.unwrap();
            }
            store.create_bucket("empty").await.unwrap();
        }
        // Simulate a write interrupted before its rename, and a staged bucket never moved into place.
        fs::write(root.join("keep/tmp/123.tmp"), b"half an object").unwrap();
        fs::write(
            root.join("keep/objects/ab/.tmp-interrupted"),
            b"another half",
        )
        .unwrap();
        fs::create_dir_all(root.join(STAGING).join("half-bucket")).unwrap();
        // And an object file whose header was destroyed.
        let victim = root.join("keep/objects/00/garbage");
        fs::write(&victim, b"not an object").unwrap();

        let backend = FsBackend::open(&root, FsOptions::default()).unwrap();
        let report = backend.recovery_report().clone();
        assert_eq!(
            report,
            RecoveryReport {
                buckets: 2,
                objects: 4,
                temp_files_removed: 2,
                quarantined: 1,
                uploads: 0,
            }
        );
        assert!(!victim.exists() && root.join("keep/quarantine/garbage").exists());
        let store = Store::builder().backend(backend).build();
        let names: Vec<_> = store
            .list_buckets()
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.name)
            .collect();
        assert_eq!(names, ["empty", "keep"]);
        let b = store.bucket("keep").unwrap();
        let keys: Vec<_> = b
            .list_all("")
            .await
            .unwrap()
            .iter()
            .map(|m| m.key.clone())
            .collect();
        assert_eq!(keys, ["../x", "a", "a/", "a/b"]);
        for k in keys {
            assert_eq!(b.get(&k).await.unwrap().body, Bytes::from(k.clone()));
        }
        assert!(
            fs::read_dir(root.join("keep/tmp"))
                .unwrap()
                .next()
                .is_none()
        );
    }

    /// Where hard links are refused, complete copies the part file instead; other errors stay errors.
    #[test]
    fn link_or_copy_falls_back_to_a_copy() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("part-1");
        fs::write(&from, b"the part's bytes").unwrap();
        let refuse = |kind: io::ErrorKind| move |_: &Path, _: &Path| Err(io::Error::from(kind));
        for (i, kind) in [io::ErrorKind::Unsupported, io::ErrorKind::PermissionDenied]
            .into_iter()
            .enumerate()
        {
            let to = dir.path().join(format!("copy-{i}"));
            link_or_copy_with(&from, &to, true, refuse(kind)).unwrap();
            assert_eq!(fs::read(&to).unwrap(), b"the part's bytes");
        }
        let to = dir.path().join("cross-device");
        link_or_copy_with(&from, &to, false, |_, _| {
            Err(io::Error::from_raw_os_error(EXDEV))
        })
        .unwrap();
        assert_eq!(fs::read(&to).unwrap(), b"the part's bytes");
        let to = dir.path().join("never");
        let err = link_or_copy_with(&from, &to, true, refuse(io::ErrorKind::StorageFull));
        assert_eq!(err.unwrap_err().kind(), io::ErrorKind::StorageFull);
        assert!(!to.exists());
        // And the real thing links: one inode, two names.
        let linked = dir.path().join("linked");
        link_or_copy(&from, &linked, true).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            fs::metadata(&linked).unwrap().ino(),
            fs::metadata(&from).unwrap().ino()
        );
    }

    /// One folder fsync serves every rename registered before it starts, and none registered after.
    #[test]
    fn group_sync_shares_one_fsync_among_earlier_renames() {
        let g = GroupSync::default();
        let fsyncs = std::cell::Cell::new(0);
        let count = || {
            fsyncs.set(fsyncs.get() + 1);
            Ok(())
        };
        let (a, b) = (g.register(), g.register());
        g.sync(b, count).unwrap();
        assert_eq!(fsyncs.get(), 1);
        // `a` was registered before that fsync started: covered.
        g.sync(a, count).unwrap();
        assert_eq!(fsyncs.get(), 1);
        // `c` came after: it needs an fsync of its own.
        let c = g.register();
        g.sync(c, count).unwrap();
        assert_eq!(fsyncs.get(), 2);
        // A failed fsync covers nothing.
        let d = g.register();
        assert!(g.sync(d, || Err(io::Error::other("disk gone"))).is_err());
        g.sync(d, count).unwrap();
        assert_eq!(fsyncs.get(), 3);
    }

    /// Uploads `parts` as a multipart upload of `key` and completes it.
    async fn multipart_put(b: &crate::Bucket, key: &str, parts: &[Vec<u8>]) -> Arc<ObjectMeta> {
        let up = b
            .create_multipart_upload(key, Default::default())
            .await
            .unwrap();
        let mut done = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let n = i as u32 + 1;
            let info = b
                .upload_part(key, &up.upload_id, n, p.clone(), None)
                .await
                .unwrap();
            done.push(crate::CompletedPart {
                part_number: n,
                etag: info.etag,
            });
        }
        b.complete_multipart_upload(key, &up.upload_id, &done, &Default::default())
            .await
            .unwrap()
    }

    fn data_folders(root: &Path, bucket: &str) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(root.join(bucket).join(DATA))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
    }

    /// A completed multipart upload is stored as a manifest over its part files (no byte copied), reads
    /// whole and in ranges across part boundaries, and its part files go when it is replaced or deleted.
    #[tokio::test]
    async fn multipart_objects_are_manifests_over_their_part_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let store = open_store(&root);
        let b = store.create_bucket("mpu").await.unwrap();
        let mib5 = 5 * 1024 * 1024;
        let parts = vec![pattern(mib5, 1), pattern(mib5 + 7, 2), pattern(1000, 3)];
        let whole: Vec<u8> = parts.concat();
        let meta = multipart_put(&b, "big", &parts).await;
        assert_eq!(meta.size, whole.len() as u64);
        let hash = key_hash("big");
        let file = root
            .join("mpu/objects")
            .join(&hash[..2])
            .join(format!("{hash}.null"));
        assert!(
            fs::metadata(&file).unwrap().len() < 4096,
            "the version file is a manifest, not a copy of the bytes"
        );
        assert_eq!(data_folders(&root, "mpu").len(), 1);
        assert!(
            fs::read_dir(root.join("mpu").join(UPLOADS))
                .unwrap()
                .next()
                .is_none(),
            "the upload's folder is gone"
        );
        assert_eq!(b.get("big").await.unwrap().body, Bytes::from(whole.clone()));
        // Ranges within one part, across each boundary, across all three, and a suffix.
        let edges = [
            (0, 10),
            (mib5 as u64 - 3, mib5 as u64 + 3),
            (2 * mib5 as u64 + 5, 2 * mib5 as u64 + 12),
            (17, whole.len() as u64 - 2),
        ];
        for (first, last) in edges {
            let got = b
                .get_opts(
                    "big",
                    GetOptions {
                        range: Some(ByteRange::Inclusive { first, last }),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .body;
            assert_eq!(got, whole[first as usize..=last as usize], "{first}-{last}");
        }
        let tail = b
            .get_opts(
                "big",
                GetOptions {
                    range: Some(ByteRange::Suffix(1500)),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .body;
        assert_eq!(tail, whole[whole.len() - 1500..]);
        // A metadata change rewrites the manifest only, and keeps the bytes.
        let tags = BTreeMap::from([("k".to_string(), "v".to_string())]);
        b.set_object_tags("big", None, tags.clone()).await.unwrap();
        assert_eq!(b.object_tags("big", None).await.unwrap(), tags);
        assert!(fs::metadata(&file).unwrap().len() < 4096);
        assert_eq!(b.get("big").await.unwrap().body, Bytes::from(whole.clone()));
        // Reopening finds the same object.
        drop((b, store));
        let backend = FsBackend::open(&root, FsOptions::default()).unwrap();
        assert_eq!(backend.recovery_report().objects, 1);
        assert_eq!(backend.recovery_report().quarantined, 0);
        let store = Store::builder().backend(backend).build();
        let b = store.bucket("mpu").unwrap();
        assert_eq!(b.get("big").await.unwrap().body, Bytes::from(whole.clone()));
        assert_eq!(b.head("big").await.unwrap().etag, meta.etag);
        // The part sizes survive too: a get by part number reads the part.
        let second = b
            .get_opts(
                "big",
                GetOptions {
                    part_number: Some(2),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(second.body, parts[1][..]);
        // Replacing it by a plain put (unversioned: same `null` version id) removes its part files.
        b.put("big", b"small".to_vec()).await.unwrap();
        assert!(data_folders(&root, "mpu").is_empty());
        assert_eq!(
            b.get("big").await.unwrap().body,
            Bytes::from_static(b"small")
        );
        // Replacing one multipart object by another leaves only the new one's folder; deleting it, none.
        multipart_put(&b, "big", &parts[1..]).await;
        multipart_put(&b, "big", &parts[..1]).await;
        assert_eq!(data_folders(&root, "mpu").len(), 1);
        assert_eq!(
            b.get("big").await.unwrap().body,
            Bytes::from(parts[0].clone())
        );
        b.delete("big").await.unwrap();
        assert!(data_folders(&root, "mpu").is_empty());
        assert!(matches!(b.get("big").await, Err(Error::NoSuchKey { .. })));
    }

    /// At open, a data folder no manifest refers to is removed, and a manifest whose part file is gone is
    /// quarantined (a miss, not an I/O error on every read).
    #[tokio::test]
    async fn reopen_removes_stray_part_folders_and_quarantines_broken_manifests() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        {
            let store = open_store(&root);
            let b = store.create_bucket("mpu").await.unwrap();
            multipart_put(&b, "kept", &[pattern(100, 1)]).await;
            multipart_put(&b, "broken", &[pattern(100, 2)]).await;
        }
        let folders = data_folders(&root, "mpu");
        assert_eq!(folders.len(), 2);
        let broken = folders
            .iter()
            .find(|f| f.starts_with(&key_hash("broken")))
            .unwrap();
        fs::remove_file(root.join("mpu").join(DATA).join(broken).join("part-1")).unwrap();
        // An interrupted complete: linked parts, no manifest.
        fs::create_dir_all(root.join("mpu").join(DATA).join("abc.null.ff")).unwrap();
        fs::write(root.join("mpu").join(DATA).join("abc.null.ff/part-1"), b"x").unwrap();

        let backend = FsBackend::open(&root, FsOptions::default()).unwrap();
        let report = backend.recovery_report().clone();
        assert_eq!(report.objects, 1);
        assert_eq!(report.quarantined, 1);
        // The stray folder and the broken manifest's folder, and maybe completed uploads' folders in `tmp/`
        // that the background removal had not reached yet.
        assert!(report.temp_files_removed >= 2, "{report:?}");
        assert_eq!(data_folders(&root, "mpu").len(), 1);
        let store = Store::builder().backend(backend).build();
        let b = store.bucket("mpu").unwrap();
        assert_eq!(
            b.get("kept").await.unwrap().body,
            Bytes::from(pattern(100, 1))
        );
        assert!(matches!(
            b.get("broken").await,
            Err(Error::NoSuchKey { .. })
        ));
    }

    /// Reads racing with deletes and replacements of a multipart object answer with one of its states
    /// (its bytes or NoSuchKey), never with an I/O error about vanished part files.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_racing_replacement_of_a_multipart_object_see_a_whole_state() {
        let (store, _dir) = fs_store(&ManualClock::new());
        let b = store.create_bucket("race").await.unwrap();
        let a = pattern(3000, 5);
        let c = pattern(2000, 9);
        multipart_put(&b, "k", std::slice::from_ref(&a)).await;
        let writer = {
            let b = b.clone();
            let (a, c) = (a.clone(), c.clone());
            tokio::spawn(async move {
                for i in 0..150 {
                    match i % 3 {
                        0 => {
                            multipart_put(&b, "k", std::slice::from_ref(&c)).await;
                        }
                        1 => b.delete("k").await.unwrap(),
                        _ => {
                            multipart_put(&b, "k", std::slice::from_ref(&a)).await;
                        }
                    }
                }
            })
        };
        let mut seen = [0usize; 3];
        while !writer.is_finished() {
            match b.get("k").await {
                Ok(o) if o.body == a => seen[0] += 1,
                Ok(o) if o.body == c => seen[1] += 1,
                Ok(o) => panic!("a mix of states: {} bytes", o.body.len()),
                Err(Error::NoSuchKey { .. }) => seen[2] += 1,
                Err(e) => panic!("a read failed: {e}"),
            }
        }
        writer.await.unwrap();
        assert!(seen.iter().sum::<usize>() > 0);
    }

    #[tokio::test]
    async fn large_objects_and_ranges_read_from_disk() {
        let (store, _dir) = fs_store(&ManualClock::new());
        let b = store.create_bucket("big").await.unwrap();
        // Bigger than the first read, so ranges past it go back to the file.
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        b.put("obj", data.clone()).await.unwrap();
        assert_eq!(&b.get("obj").await.unwrap().body[..], &data[..]);
        let opts = crate::GetOptions {
            range: crate::ByteRange::parse("bytes=150000-150009"),
            ..Default::default()
        };
        assert_eq!(
            &b.get_opts("obj", opts).await.unwrap().body[..],
            &data[150_000..150_010]
        );
        let opts = crate::GetOptions {
            range: crate::ByteRange::parse("bytes=-5"),
            ..Default::default()
        };
        assert_eq!(
            &b.get_opts("obj", opts).await.unwrap().body[..],
            &data[data.len() - 5..]
        );
    }

    #[tokio::test]
    async fn reopen_keeps_versions_config_and_uploads() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let (ids, upload_id, config) = {
            let store = open_store(&root);
            let b = store.create_bucket("keep").await.unwrap();
            b.put("k", "null version").await.unwrap();
            b.set_versioning(crate::Versioning::Enabled).await.unwrap();
            let v1 = b.put("k", "one").await.unwrap();
            let v2 = b.put("k", "two").await.unwrap();
            let marker = b
                .delete_opts("k", Default::default())
                .await
                .unwrap()
                .unwrap();
            b.set_object_tags(
                "k",
                Some(&v1.version_id),
                [("a".to_string(), "1".to_string())].into(),
            )
            .await
            .unwrap();
            b.set_lifecycle(Some(
                crate::LifecycleConfiguration::from_json(
                    r#"{"Rules":[{"ID":"x","Status":"Enabled","Expiration":{"Days":3}}]}"#,
                )
                .unwrap(),
            ))
            .await
            .unwrap();
            let up = b
                .create_multipart_upload("mp", Default::default())
                .await
                .unwrap();
            b.upload_part(
                "mp",
                &up.upload_id,
                1,
                vec![7u8; crate::MIN_PART_SIZE as usize],
                None,
            )
            .await
            .unwrap();
            let config = store.inner.backend.bucket_config("keep").await.unwrap();
            (
                vec![
                    marker.version_id.clone(),
                    v2.version_id.clone(),
                    v1.version_id.clone(),
                    "null".to_string(),
                ],
                up.upload_id,
                config,
            )
        };
        let backend = FsBackend::open(&root, FsOptions::default()).unwrap();
        assert_eq!(backend.recovery_report().objects, 4);
        assert_eq!(backend.recovery_report().uploads, 1);
        let store = Store::builder().backend(backend).build();
        let b = store.bucket("keep").unwrap();
        assert_eq!(
            store.inner.backend.bucket_config("keep").await.unwrap(),
            config
        );
        let listed: Vec<_> = b
            .list_all_versions("")
            .await
            .unwrap()
            .iter()
            .map(|e| e.meta.version_id.clone())
            .collect();
        assert_eq!(listed, ids, "versions keep their order");
        assert_eq!(
            b.get("k").await.unwrap_err().delete_marker(),
            Some(ids[0].as_str())
        );
        assert_eq!(b.object_tags("k", Some(&ids[2])).await.unwrap().len(), 1);
        assert_eq!(&b.get_version("k", &ids[2]).await.unwrap().body[..], b"one");
        // The upload continues after the reopen.
        let parts = b.list_parts("mp", &upload_id).await.unwrap();
        let p2 = b
            .upload_part("mp", &upload_id, 2, "part two", None)
            .await
            .unwrap();
        let done = b
            .complete_multipart_upload(
                "mp",
                &upload_id,
                &[
                    crate::CompletedPart {
                        part_number: 1,
                        etag: parts[0].etag.clone(),
                    },
                    crate::CompletedPart {
                        part_number: 2,
                        etag: p2.etag,
                    },
                ],
                &Default::default(),
            )
            .await
            .unwrap();
        assert_eq!(done.size, crate::MIN_PART_SIZE + 8);
        let body = b.get("mp").await.unwrap().body;
        assert!(
            body[..crate::MIN_PART_SIZE as usize]
                .iter()
                .all(|&x| x == 7)
        );
        assert_eq!(&body[crate::MIN_PART_SIZE as usize..], b"part two");
        // New writes order after the old ones.
        let v3 = b.put("k", "three").await.unwrap();
        assert_eq!(
            b.list_all_versions("k").await.unwrap()[0].meta.version_id,
            v3.version_id
        );
    }
}
