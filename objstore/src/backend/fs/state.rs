//! One bucket of the fs backend in memory: its record, its index of every version (rebuilt at open), the
//! 256 lock stripes that serialize writes to a key, its upload table, where its files are, and the commit
//! of a write ([`FsBucket::commit`]: check, rename and index update under the key's lock).
//!
//! The index is the shared [`VersionIndex`] of [`backend::index`](crate::backend::index): nothing about
//! it is fs-specific. Each key's versions are a [`Versions`](crate::backend::versions::Versions), so the
//! commit of a new version of a key with 100k versions holds the bucket-wide index lock for O(log n),
//! as a fresh key's does. Depends on [`layout`](super::layout), [`frame`](super::frame) and
//! [`durable`](super::durable), and on the shared index and upload table.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use super::durable::{GroupSync, TempGuard, blocking, io_err, sync_dir};
use super::frame::write_object;
use super::layout::{DATA, TMP, UPLOADS, data_folder, key_hash, object_path};
use crate::backend::WriteCheck;
use crate::backend::index::{self, VersionIndex, missing};
use crate::backend::uploads::UploadTable;
use crate::error::{Error, Result};
use crate::types::config::BucketConfig;
use crate::types::meta::{BucketInfo, ObjectMeta};

/// Writes to keys in different stripes (by the first byte of the key's hash) never wait for each other.
pub(super) const STRIPES: usize = 256;

/// What the fs backend keeps of an upload in progress besides its parts.
#[derive(Debug, Default)]
pub(super) struct FsUpload {
    /// A complete is under way: the upload takes no more parts and no second complete.
    pub(super) completing: bool,
    /// Makes the names of its part files durable.
    pub(super) folder_sync: Arc<GroupSync>,
}

/// One bucket: see the [module docs](self).
#[derive(Debug)]
pub(super) struct FsBucket {
    pub(super) info: BucketInfo,
    pub(super) dir: PathBuf,
    pub(super) config: RwLock<Arc<BucketConfig>>,
    pub(super) config_lock: tokio::sync::Mutex<()>,
    /// Each key's versions, newest (largest `seq`) first.
    pub(super) index: RwLock<VersionIndex>,
    pub(super) stripes: Box<[Arc<tokio::sync::Mutex<()>>]>,
    pub(super) deleted: AtomicBool,
    pub(super) seq: AtomicU64,
    pub(super) uploads: Mutex<UploadTable<FsUpload>>,
    /// Names folders handed to [`FsBucket::discard`].
    pub(super) discarded: AtomicU64,
    /// Set at shutdown: no write to `objects/` starts from then on (see [`snapshot`](super::snapshot)).
    pub(super) closed: AtomicBool,
    /// Writes to `objects/` running now, each holding a [`Writing`].
    pub(super) writers: AtomicUsize,
}

/// A write to the bucket's version files in progress: taken before the write touches a file, dropped
/// after its index update. A shutdown waits until none is held, then writes the snapshot.
#[derive(Debug)]
pub(super) struct Writing(Arc<FsBucket>);

impl Drop for Writing {
    fn drop(&mut self) {
        self.0.writers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl FsBucket {
    /// A bucket with an empty index, its files under `dir`.
    pub(super) fn new(info: BucketInfo, dir: PathBuf, config: BucketConfig) -> Self {
        FsBucket {
            info,
            dir,
            config: RwLock::new(Arc::new(config)),
            config_lock: tokio::sync::Mutex::new(()),
            index: RwLock::new(VersionIndex::new()),
            stripes: (0..STRIPES)
                .map(|_| Arc::new(tokio::sync::Mutex::new(())))
                .collect(),
            deleted: AtomicBool::new(false),
            seq: AtomicU64::new(0),
            uploads: Mutex::new(UploadTable::new()),
            discarded: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            writers: AtomicUsize::new(0),
        }
    }

    /// Registers a write to the version files, which must hold the guard until its index update is done.
    ///
    /// # Errors
    /// The store is shutting down (its snapshot is being written): the write must not touch any file.
    pub(super) fn writing(self: &Arc<Self>) -> io::Result<Writing> {
        self.writers.fetch_add(1, Ordering::SeqCst);
        let guard = Writing(self.clone());
        if self.closed.load(Ordering::SeqCst) {
            return Err(io::Error::other("the store is shutting down"));
        }
        Ok(guard)
    }

    /// The file of one version of the key whose hash is `hash`.
    pub(super) fn object_path(&self, hash: &str, version_id: &str) -> PathBuf {
        object_path(&self.dir, hash, version_id)
    }

    /// The folder holding the part files of a multipart version. `seq` makes it unique to one write, so a
    /// null version that replaces another never shares its folder.
    pub(super) fn data_dir(&self, hash: &str, version_id: &str, seq: u64) -> PathBuf {
        self.dir.join(DATA).join(data_folder(hash, version_id, seq))
    }

    /// Removes the part files of `meta` if it is a multipart version (a no-op for others). Errors are
    /// ignored: a folder left behind is unreferenced and removed at the next open.
    pub(super) fn drop_data(&self, meta: &ObjectMeta) {
        if meta.parts_count.is_some() {
            self.discard(&self.data_dir(&key_hash(&meta.key), &meta.version_id, meta.seq));
        }
    }

    /// Moves a folder out of sight into the bucket's `tmp/` (one rename) and removes it there in the
    /// background, so no write waits for the removal of a large object's files (50 to 150 ms for 256 MiB
    /// of parts on ext4). `tmp/` is cleared at open, so a crash loses only the removal. Errors are ignored
    /// (a folder left in place is unreferenced, and removed at the next open).
    pub(super) fn discard(&self, path: &Path) {
        let n = self.discarded.fetch_add(1, Ordering::Relaxed);
        let to = self.dir.join(TMP).join(format!("discard-{n:x}"));
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

    /// The folder of an upload in progress.
    pub(super) fn upload_dir(&self, upload_id: &str) -> PathBuf {
        self.dir.join(UPLOADS).join(upload_id)
    }

    /// The lock of the stripe of the key whose hash is `hash`.
    pub(super) fn stripe(&self, hash: &str) -> Arc<tokio::sync::Mutex<()>> {
        let n = u8::from_str_radix(&hash[..2], 16).unwrap_or(0) as usize;
        self.stripes[n % STRIPES].clone()
    }

    /// A fresh `seq` for a write that begins now.
    pub(super) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The newest version of `key` and the version with `version_id`, as the index has them.
    pub(super) fn check_view(
        &self,
        key: &str,
        version_id: &str,
    ) -> (Option<Arc<ObjectMeta>>, Option<Arc<ObjectMeta>>) {
        let index = self.index.read();
        match index.get(key) {
            None => (None, None),
            Some(v) => (Some(v.latest().clone()), v.get(version_id).cloned()),
        }
    }

    /// The version of `key` (the newest without a version id) as the index has it: `NoSuchKey` or
    /// `NoSuchVersion` if there is none.
    pub(super) fn lookup(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<Arc<ObjectMeta>> {
        let index = self.index.read();
        index
            .get(key)
            .and_then(|v| v.pick(version))
            .cloned()
            .ok_or_else(|| missing(bucket, key, version))
    }

    /// Adds a version to the index (replacing one with the same id). The bucket-wide write lock is held
    /// for O(log n) of the bucket's keys plus O(log n) of the key's versions, never for a scan.
    pub(super) fn index_insert(&self, meta: Arc<ObjectMeta>) {
        index::insert_version(&mut self.index.write(), meta);
    }

    /// Removes a version from the index (as cheap as [`FsBucket::index_insert`]).
    pub(super) fn index_remove(&self, key: &str, version_id: &str) {
        index::remove_version(&mut self.index.write(), key, version_id);
    }
}

/// A version ready to commit: its metadata, and its file, either already written to `tmp` (`data: None`,
/// `guard` removing it unless committed) or to write there (`data`).
pub(super) struct Staged {
    /// The hash of the key.
    pub(super) hash: String,
    /// The version's metadata (`seq` set when `data` is `None`).
    pub(super) meta: ObjectMeta,
    /// The bytes, if the file is still to write.
    pub(super) data: Option<Bytes>,
    /// The temp file, beside the version's file.
    pub(super) tmp: PathBuf,
    /// Removes the temp file unless the write commits.
    pub(super) guard: TempGuard,
}

impl FsBucket {
    /// Commits a version: under the key's lock, checks, renames the staged (or now written) temp file into
    /// place, updates the index and fsyncs the directory (when `sync`).
    pub(super) async fn commit(
        self: &Arc<Self>,
        bucket: &str,
        write: Staged,
        check: WriteCheck<'_>,
        sync: bool,
    ) -> Result<Arc<ObjectMeta>> {
        let Staged {
            hash,
            mut meta,
            data,
            tmp,
            guard: staged,
        } = write;
        let b = self;
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
        let (b2, m2) = (b.clone(), meta.clone());
        blocking(move || -> io::Result<()> {
            let _lock = lock;
            let _writing = b2.writing()?;
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
