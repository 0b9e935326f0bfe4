//! The filesystem backend: durable objects under one root folder.
//!
//! # Layout
//! ```text
//! ROOT/.objstore              format marker
//! ROOT/.staging/              buckets being created (cleared at open)
//! ROOT/BUCKET/bucket.json     the bucket's creation record
//! ROOT/BUCKET/objects/XX/H    one file per object: H = SHA-256 of the key (hex), XX its first two digits
//! ROOT/BUCKET/objects/XX/.tmp-*  objects being written (removed at open)
//! ROOT/BUCKET/tmp/            reserved for staging (cleared at open)
//! ```
//! An object file holds a header (magic, length, the [`ObjectMeta`] as JSON, key included) then the bytes,
//! so metadata always travels with the object. File names come from a hash of the key, never from the key, so
//! no key (`../../etc/passwd`, `a//b`, `dir/`) can name a path outside the root, and `a`, `a/` and `a/b`
//! coexist. Bucket names are validated before they reach the filesystem, and S3's rules admit no `/`, `.`
//! or `..`.
//!
//! # Durability
//! A put writes a temp file beside the object's file, fsyncs it, renames it over the object's file and
//! fsyncs the directory; only then does it return. The check of a conditional write, the rename and the
//! index update happen under the key's lock (one of 256 stripes, by the key's hash), in a blocking task that
//! owns the lock, so they stay atomic even when the caller stops waiting. A crash at any instant leaves the old object or the new one, never a mix, and a
//! temp file that is removed at the next open. [`FsOptions::sync`] can turn the fsyncs off (as
//! `object_store`'s `LocalFileSystem` does): writes then survive a process crash but not a power loss.
//!
//! # Index
//! Keys and metadata are indexed in memory (rebuilt from the object headers at open), so listing never walks
//! directories and heads never touch the disk. Reads go to the object's file and take metadata and bytes from
//! one open file handle, so they are always consistent with each other.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::ops::{Bound, Range};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::RwLock;
use sha2::{Digest, Sha256};

use super::{Backend, ListQuery, ReadPlan, WriteCheck, list_start};
use crate::error::{Error, Result};
use crate::meta::{BucketInfo, ObjectMeta};
use crate::names::validate_bucket_name;

const MAGIC: &[u8; 8] = b"STRATOB1";
const PREFIX_LEN: usize = 12; // magic + u32 header length
const FIRST_READ: usize = 16 * 1024;
const STRIPES: usize = 256;
const MARKER: &str = ".objstore";
const STAGING: &str = ".staging";
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
    /// Objects indexed.
    pub objects: usize,
    /// Leftover temp files removed (writes that a crash interrupted before they were acknowledged).
    pub temp_files_removed: usize,
    /// Object files whose header could not be read, moved to `BUCKET/quarantine/` instead of served.
    pub quarantined: usize,
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

#[derive(Debug)]
struct FsBucket {
    info: BucketInfo,
    dir: PathBuf,
    index: RwLock<BTreeMap<Arc<str>, Arc<ObjectMeta>>>,
    stripes: Box<[Arc<tokio::sync::Mutex<()>>]>,
    deleted: AtomicBool,
}

fn io_err(bucket: &str, key: Option<&str>, e: io::Error) -> Error {
    Error::backend("fs", bucket, key, e)
}

fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl FsBucket {
    fn object_path(&self, hash: &str) -> PathBuf {
        self.dir.join("objects").join(&hash[..2]).join(hash)
    }

    fn stripe(&self, hash: &str) -> Arc<tokio::sync::Mutex<()>> {
        let n = u8::from_str_radix(&hash[..2], 16).unwrap_or(0) as usize;
        self.stripes[n % STRIPES].clone()
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

fn load_bucket(dir: &Path, name: &str, report: &mut RecoveryReport) -> Result<FsBucket> {
    let err = |e| io_err(name, None, e);
    let info: BucketInfo = match fs::read(dir.join("bucket.json")) {
        Ok(raw) => serde_json::from_slice(&raw).map_err(|e| Error::backend("fs", name, None, e))?,
        Err(e) => return Err(err(e)),
    };
    let tmp = dir.join("tmp");
    for entry in fs::read_dir(&tmp).map_err(err)? {
        let entry = entry.map_err(err)?;
        fs::remove_file(entry.path()).map_err(err)?;
        report.temp_files_removed += 1;
    }
    let mut index = BTreeMap::new();
    for sub in fs::read_dir(dir.join("objects")).map_err(err)? {
        let sub = sub.map_err(err)?;
        for obj in fs::read_dir(sub.path()).map_err(err)? {
            let obj = obj.map_err(err)?;
            let path = obj.path();
            if obj.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                fs::remove_file(&path).map_err(err)?;
                report.temp_files_removed += 1;
                continue;
            }
            match File::open(&path).and_then(|f| read_head(&f)) {
                Ok((meta, _, _))
                    if path.file_name().is_some_and(|n| *n == *key_hash(&meta.key)) =>
                {
                    report.objects += 1;
                    index.insert(Arc::from(meta.key.as_str()), Arc::new(meta));
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
    Ok(FsBucket {
        info,
        dir: dir.to_path_buf(),
        index: RwLock::new(index),
        stripes: (0..STRIPES)
            .map(|_| Arc::new(tokio::sync::Mutex::new(())))
            .collect(),
        deleted: AtomicBool::new(false),
    })
}

/// Reads an object file's header: its metadata, the offset of its bytes, and the bytes already read.
fn read_head(file: &File) -> io::Result<(ObjectMeta, u64, Vec<u8>)> {
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
    let bad =
        |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("object file: {what}"));
    if buf.len() < PREFIX_LEN || &buf[..8] != MAGIC {
        return Err(bad("bad magic"));
    }
    let hlen = u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]) as usize;
    let data_off = PREFIX_LEN + hlen;
    if buf.len() < data_off {
        let mut rest = vec![0u8; data_off - buf.len()];
        file.read_exact_at(&mut rest, buf.len() as u64)?;
        buf.extend_from_slice(&rest);
    }
    let meta: ObjectMeta =
        serde_json::from_slice(&buf[PREFIX_LEN..data_off]).map_err(|e| bad(&e.to_string()))?;
    let len = file.metadata()?.len();
    if len != data_off as u64 + meta.size {
        return Err(bad("length does not match header"));
    }
    let already = buf.split_off(data_off);
    Ok((meta, data_off as u64, already))
}

fn write_object(path: &Path, meta: &ObjectMeta, data: &[u8], sync: bool) -> io::Result<()> {
    let header = serde_json::to_vec(meta).map_err(io::Error::other)?;
    let hlen = u32::try_from(header.len()).map_err(|_| io::Error::other("header too large"))?;
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    let mut head = Vec::with_capacity(
        PREFIX_LEN
            + header.len()
            + if data.len() <= 64 * 1024 {
                data.len()
            } else {
                0
            },
    );
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&hlen.to_le_bytes());
    head.extend_from_slice(&header);
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

fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
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
            for i in 0..=255u8 {
                fs::create_dir_all(stage.join("objects").join(format!("{i:02x}")))?;
            }
            let record = serde_json::to_vec(&info2).map_err(io::Error::other)?;
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
        let bucket = FsBucket {
            info: info.clone(),
            dir,
            index: RwLock::new(BTreeMap::new()),
            stripes: (0..STRIPES)
                .map(|_| Arc::new(tokio::sync::Mutex::new(())))
                .collect(),
            deleted: AtomicBool::new(false),
        };
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
            fs::remove_dir_all(&grave)
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

    async fn head(&self, bucket: &str, key: &str) -> Result<Arc<ObjectMeta>> {
        let b = self.bucket(bucket)?;
        let found = b.index.read().get(key).cloned();
        found.ok_or_else(|| Error::NoSuchKey {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    async fn get(
        &self,
        bucket: &str,
        key: &str,
        plan: ReadPlan<'_>,
    ) -> Result<(Arc<ObjectMeta>, Bytes)> {
        let b = self.bucket(bucket)?;
        let path = b.object_path(&key_hash(key));
        let opened = blocking(
            move || -> io::Result<Option<(File, ObjectMeta, u64, Vec<u8>)>> {
                let file = match File::open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e),
                };
                let (meta, off, already) = read_head(&file)?;
                Ok(Some((file, meta, off, already)))
            },
        )
        .await
        .and_then(|r| r)
        .map_err(|e| io_err(bucket, Some(key), e))?;
        let no_such_key = || Error::NoSuchKey {
            bucket: bucket.to_string(),
            key: key.to_string(),
        };
        let Some((file, meta, off, already)) = opened else {
            return Err(no_such_key());
        };
        if meta.key != key {
            // A SHA-256 collision would land here; never serve another key's bytes.
            return Err(no_such_key());
        }
        let range: Range<u64> = plan(&meta)?.unwrap_or(0..meta.size);
        let meta = Arc::new(meta);
        if range.end as usize <= already.len() {
            let all = Bytes::from(already);
            return Ok((meta, all.slice(range.start as usize..range.end as usize)));
        }
        let data = blocking(move || -> io::Result<Vec<u8>> {
            let mut buf = vec![0u8; (range.end - range.start) as usize];
            file.read_exact_at(&mut buf, off + range.start)?;
            Ok(buf)
        })
        .await
        .and_then(|r| r)
        .map_err(|e| io_err(bucket, Some(key), e))?;
        Ok((meta, Bytes::from(data)))
    }

    async fn put(
        &self,
        bucket: &str,
        meta: ObjectMeta,
        data: Bytes,
        check: WriteCheck<'_>,
    ) -> Result<Arc<ObjectMeta>> {
        let b = self.bucket(bucket)?;
        let hash = key_hash(&meta.key);
        let key = meta.key.clone();
        let ioe = |e| io_err(bucket, Some(&key), e);
        let dest = b.object_path(&hash);
        // The temp file sits beside its destination, so the rename stays within one directory.
        let tmp = dest.with_file_name(format!("{TEMP_PREFIX}{}", self.unique()));
        let meta = Arc::new(meta);
        let sync = self.opts.sync;
        // Large objects are written before the key's lock is taken, so one slow upload does not hold up
        // other writers; small ones are written and committed in one blocking step.
        let mut staged = TempGuard(None);
        if data.len() > STAGE_OUTSIDE_LOCK {
            let (t, m2, d2) = (tmp.clone(), meta.clone(), data.clone());
            blocking(move || write_object(&t, &m2, &d2, sync))
                .await
                .and_then(|r| r)
                .map_err(ioe)?;
            staged.0 = Some(tmp.clone());
        }
        // Under the key's lock: check, then rename into place. The commit runs to completion in a blocking
        // task that owns the lock, so a caller that stops waiting cannot break atomicity.
        let lock = b.stripe(&hash).lock_owned().await;
        if b.deleted.load(Ordering::Acquire) {
            return Err(Error::NoSuchBucket {
                bucket: bucket.to_string(),
            });
        }
        check(b.index.read().get(&*key).map(|m| &**m))?;
        let (b2, m2) = (b.clone(), meta.clone());
        blocking(move || -> io::Result<()> {
            let _lock = lock;
            let mut staged = staged;
            if staged.0.is_none() {
                staged.0 = Some(tmp.clone());
                write_object(&tmp, &m2, &data, sync)?;
            }
            fs::rename(&tmp, &dest)?;
            staged.0 = None;
            b2.index
                .write()
                .insert(Arc::from(m2.key.as_str()), m2.clone());
            if sync {
                sync_dir(dest.parent().unwrap_or(&b2.dir))?;
            }
            Ok(())
        })
        .await
        .and_then(|r| r)
        .map_err(ioe)?;
        Ok(meta)
    }

    async fn delete(
        &self,
        bucket: &str,
        key: &str,
        check: WriteCheck<'_>,
    ) -> Result<Option<Arc<ObjectMeta>>> {
        let b = self.bucket(bucket)?;
        let hash = key_hash(key);
        let lock = b.stripe(&hash).lock_owned().await;
        let current = b.index.read().get(key).cloned();
        check(current.as_deref())?;
        let Some(current) = current else {
            return Ok(None);
        };
        let (b2, sync, k) = (b.clone(), self.opts.sync, key.to_string());
        blocking(move || -> io::Result<()> {
            let _lock = lock;
            let path = b2.object_path(&hash);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            b2.index.write().remove(k.as_str());
            if sync {
                sync_dir(path.parent().unwrap_or(&b2.dir))?;
            }
            Ok(())
        })
        .await
        .and_then(|r| r)
        .map_err(|e| io_err(bucket, Some(key), e))?;
        Ok(Some(current))
    }

    async fn list(&self, bucket: &str, query: ListQuery<'_>) -> Result<Vec<Arc<ObjectMeta>>> {
        let b = self.bucket(bucket)?;
        let index = b.index.read();
        let start = list_start(query.prefix, query.after);
        Ok(index
            .range::<str, _>((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(query.prefix))
            .take(query.limit)
            .map(|(_, m)| m.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use object_store::integration::*;
    use stratus_clock::ManualClock;

    use super::*;
    use crate::Store;

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

    /// `object_store`'s own conformance suite against an fs-backed bucket; the same selection as the memory
    /// backend's (see there for what is not run and why).
    #[tokio::test]
    async fn object_store_integration() {
        let (store, _dir) = fs_store(&ManualClock::new());
        let bucket = store.create_bucket("integration").await.unwrap();
        put_get_delete_list(&bucket).await;
        put_get_attributes(&bucket).await;
        get_opts(&bucket).await;
        put_opts(&bucket, true).await;
        list_uses_directories_correctly(&bucket).await;
        list_with_delimiter(&bucket).await;
        rename_and_copy(&bucket).await;
        copy_if_not_exists(&bucket).await;
        copy_rename_nonexistent_object(&bucket).await;
        stream_get(&bucket).await;
        list_with_offset_exclusivity(&bucket).await;
        multipart_out_of_order(&bucket).await;
        list_paginated(&bucket, &bucket).await;
    }

    #[tokio::test]
    async fn reopen_rebuilds_index_and_clears_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        {
            let store = Store::builder()
                .backend(FsBackend::open(&root, FsOptions::default()).unwrap())
                .build();
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
                quarantined: 1
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
}
