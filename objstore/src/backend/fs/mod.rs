//! The filesystem backend: durable objects under one root folder.
//!
//! # Layout
//! One folder per bucket under the root; in it, one file per version of each key, named by a hash of the
//! key and by the version id (`layout.rs` has the map). A version file holds a header (magic, length, a
//! CRC32C of the header, the [`ObjectMeta`] as JSON, key and version id included) then the bytes and a
//! CRC32C per 64 KiB chunk of them, so metadata always travels with the object; a delete marker is a
//! header-only file; a version made by a multipart upload is a *manifest* of its part files (`frame.rs` has
//! the codec). File names never come from the key itself, so no key
//! (`../../etc/passwd`, `a//b`, `dir/`) can name a path outside the root, and `a`, `a/` and `a/b` coexist.
//!
//! ## Modules
//! - `mod.rs` (here): [`FsBackend`] and the [`Backend`] implementation;
//! - `recovery.rs`: what opening a root loads and repairs;
//! - `snapshot.rs`: the index persisted at a clean shutdown, so the next open need not read every file;
//! - `state.rs`: one bucket in memory (its index, lock stripes, upload table and paths) and the locked
//!   commit of a write;
//! - `frame.rs`: the frame codec of version, manifest and part files;
//! - `durable.rs`: temp file, fsync, rename, folder fsync, guards;
//! - `lock.rs`: the root lock, which keeps a second opener (in this or another process) out;
//! - `layout.rs`: the names of folders and files.
//!
//! Each imports only those below it in this list, and the shared [`index`] and
//! [`uploads`](super::uploads) of the backend layer.
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
//! # Damage
//! A disk can lie: bytes flip, files shrink, lengths grow, links appear. Every length and offset a file
//! states is checked against the file's real size, with checked arithmetic, before anything is allocated
//! from it. Every read checks the chunks it touches against their CRC32C ([`FsOptions::verify`], on by
//! default; about 9% of a 256 MiB GET from the page cache, nothing measurable on 1 KiB: `benches/README.md`),
//! so a damaged version is [`Error::Corrupt`] naming its bucket and key, never wrong
//! bytes. At open, a damaged version file is moved to the bucket's `quarantine/` folder, a bucket folder
//! whose `bucket.json` is missing, unreadable or names another bucket is moved to `ROOT/.quarantine/`, both
//! listed in the [`RecoveryReport`], and the rest of the store opens. Recovery never follows a symbolic link
//! and never touches anything outside the root. Files of the first frame version (no checksums) are still
//! read, unchecked.
//!
//! # Index
//! Keys, versions and metadata are indexed in memory (rebuilt from the version headers at open, or read
//! from the snapshot a clean shutdown wrote: `snapshot.rs` has the design and why a crash cannot make it
//! lie), so listing never walks directories and heads never touch the disk. Reads go to the version's file and take metadata
//! and bytes from one open file handle, so they are always consistent with each other.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::RwLock;

use super::index::{self, missing};
use super::uploads::no_such_upload;
use super::{
    Backend, ConfigUpdate, ListQuery, MetaUpdate, PartInfo, ReadPlan, Upload, VersionEntry,
    VersionQuery, WriteCheck, valid_version_id,
};
use crate::error::{Error, Result};
use crate::types::config::BucketConfig;
use crate::types::etag::ETag;
use crate::types::meta::{BucketInfo, ObjectMeta};
use durable::{DirGuard, TempGuard, blocking, io_err, link_or_copy, replace_file, sync_dir};
use frame::{
    Body, MAGIC, MANIFEST_MAGIC, ManifestRef, PART_MAGIC, Segment, bad_frame, frame_head,
    frame_head_v1, read_frame, read_segments, read_version, write_frame, write_object,
};
use layout::{
    BUCKET_RECORD, BucketRecord, DATA, OBJECTS, STAGING, TEMP_PREFIX, TMP, UPLOAD_RECORD, UPLOADS,
    key_hash, part_file,
};
use state::{FsBucket, FsUpload, STRIPES, Staged};

#[cfg(test)]
mod damage_tests;
mod durable;
mod frame;
mod layout;
mod lock;
mod recovery;
mod snapshot;
mod state;
#[cfg(test)]
mod tests;

pub use recovery::{QuarantinedBucket, RecoveryReport};

/// Objects larger than this are written to their temp file before the key's lock is taken.
const STAGE_OUTSIDE_LOCK: usize = 1024 * 1024;

/// Options of the filesystem backend.
#[derive(Debug, Clone)]
pub struct FsOptions {
    /// fsync object files and directories before a write returns (default `true`): acknowledged writes
    /// then survive power loss, not only a process crash.
    pub sync: bool,
    /// Check the bytes of every read against the CRC32C stored with them when they were written (default
    /// `true`); a mismatch is [`Error::Corrupt`] and no damaged byte is served. Headers are always
    /// checked. Turn it off only where something below (a checksumming filesystem) already checks.
    pub verify: bool,
}

impl Default for FsOptions {
    fn default() -> Self {
        FsOptions {
            sync: true,
            verify: true,
        }
    }
}

impl FsOptions {
    /// These options with `sync` set.
    pub fn with_sync(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }

    /// These options with `verify` set.
    pub fn with_verify(mut self, verify: bool) -> Self {
        self.verify = verify;
        self
    }
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
    /// Held for the backend's life; declared last, so it is released after everything else (the index
    /// snapshot is written in `drop`, before the fields go).
    _lock: lock::RootLock,
}

impl FsBackend {
    /// Opens (or creates) a store under `root`, rebuilding the index from the object files and removing
    /// what interrupted writes left behind; after a clean shutdown (the backend dropped) the index comes
    /// from the snapshot that shutdown wrote instead, checked against the folders (see the module docs'
    /// "Index").
    ///
    /// # Errors
    /// [`Error::Backend`] if the root cannot be created or read.
    pub fn open(root: impl AsRef<Path>, opts: FsOptions) -> Result<FsBackend> {
        let root = root.as_ref().to_path_buf();
        // Before anything under the root is read or repaired: a second opener must touch nothing.
        let lock = lock::lock_root(&root)?;
        let (buckets, report) = recovery::open_root(&root)?;
        Ok(FsBackend {
            root,
            opts,
            buckets: RwLock::new(buckets),
            admin: tokio::sync::Mutex::new(()),
            report,
            seq: AtomicU64::new(0),
            pid: std::process::id(),
            _lock: lock,
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

/// A clean shutdown: each bucket's index is saved as a snapshot for the next open (`snapshot.rs`).
impl Drop for FsBackend {
    fn drop(&mut self) {
        let buckets = self.buckets.read().values().cloned().collect();
        snapshot::save_all(buckets, self.opts.sync);
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
            fs::create_dir_all(stage.join(TMP))?;
            fs::create_dir_all(stage.join(UPLOADS))?;
            fs::create_dir_all(stage.join(DATA))?;
            for i in 0..=255u8 {
                fs::create_dir_all(stage.join(OBJECTS).join(format!("{i:02x}")))?;
            }
            let record = serde_json::to_vec(&BucketRecord {
                info: info2.clone(),
                config: BucketConfig::default(),
            })
            .map_err(io::Error::other)?;
            let mut f = File::create(stage.join(BUCKET_RECORD))?;
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
            b.dir.join(BUCKET_RECORD),
            b.dir.join(TMP).join(self.unique()),
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
            let opened = blocking(move || -> io::Result<Option<(File, ObjectMeta, Body)>> {
                let file = match File::open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e),
                };
                let (meta, layout) = read_version(&file)?;
                Ok(Some((file, meta, layout)))
            })
            .await
            .and_then(|r| r)
            .map_err(|e| io_err(bucket, Some(key), e))?;
            let Some((file, meta, layout)) = opened else {
                return Err(missing(bucket, key, version));
            };
            if meta.key != key || meta.version_id != known.version_id {
                // A SHA-256 collision would land here; never serve another key's bytes.
                return Err(missing(bucket, key, version));
            }
            let range: Range<u64> = plan(&meta)?.unwrap_or(0..meta.size);
            let meta = Arc::new(meta);
            let verify = self.opts.verify;
            let read = match layout {
                Body::Inline(data) if data.in_memory(&range) => Ok(data.read(&file, range, verify)),
                Body::Inline(data) => blocking(move || data.read(&file, range, verify)).await,
                Body::Parts(segments) => {
                    let dir = b.data_dir(&hash, &meta.version_id, meta.seq);
                    blocking(move || read_segments(&dir, &segments, range, verify)).await
                }
            };
            match read.and_then(|r| r) {
                Ok(data) => return Ok((meta, data)),
                // The part files went away after the manifest was read: the version was deleted or
                // replaced meanwhile, so read again what the index has now. If the index still has this
                // very write, the files are damaged instead.
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound
                        && b.index
                            .read()
                            .get(key)
                            .and_then(|v| v.pick(version))
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
        let data = if data.len() > STAGE_OUTSIDE_LOCK {
            meta.seq = b.next_seq();
            let (t, m2, sync) = (tmp.clone(), meta.clone(), self.opts.sync);
            blocking(move || write_object(&t, &m2, &data, sync))
                .await
                .and_then(|r| r)
                .map_err(|e| io_err(bucket, Some(&m2_key(&meta)), e))?;
            staged.0 = Some(tmp.clone());
            None
        } else {
            Some(data)
        };
        let write = Staged {
            hash,
            meta,
            data,
            tmp,
            guard: staged,
        };
        b.commit(bucket, write, check, self.opts.sync).await
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
            let _writing = b2.writing()?;
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
            let _writing = b2.writing()?;
            // Rewrite the file with the new header and the same bytes (or the same part list), then
            // rename it over the old one.
            let src = File::open(&path)?;
            let (_, layout) = read_version(&src)?;
            let mut guard = TempGuard(Some(tmp.clone()));
            match layout {
                Body::Inline(data) => {
                    // The bytes and their checksums are copied as they are, under a new header of the
                    // file's own frame version.
                    let mut out = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
                    let head = if data.sums {
                        frame_head(MAGIC, &*m2)?
                    } else {
                        frame_head_v1(MAGIC, &*m2)?
                    };
                    out.write_all(&head)?;
                    let mut src = src;
                    src.seek(SeekFrom::Start(data.off))?;
                    io::copy(&mut src, &mut out)?;
                    if sync {
                        out.sync_data()?;
                    }
                }
                Body::Parts(segments) => {
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
                fs::rename(&tmp, dir.join(part_file(part.part_number)))?;
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
                .map(|p| (p.part_number, dir.join(part_file(p.part_number))))
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
                let (info, data) =
                    read_frame::<PartInfo>(&File::open(&f)?, PART_MAGIC, |p| p.size)?;
                if info.part_number != n {
                    return Err(bad_frame("part file holds another part"));
                }
                link_or_copy(&f, &d2.join(part_file(n)), sync)?;
                segments.push(Segment {
                    part: n,
                    off: data.off,
                    len: info.size,
                    sums: data.sums,
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
        let write = Staged {
            hash,
            meta,
            data: None,
            tmp,
            guard: staged,
        };
        let stored = match b.commit(bucket, write, check, self.opts.sync).await {
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
