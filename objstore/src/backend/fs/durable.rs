//! Durability for the fs backend: writes by temp file, fsync and rename, folder fsyncs (one shared by
//! parallel writers: [`GroupSync`]), hard links with a copy as fallback, guards that remove what an
//! interrupted write staged, and the blocking-task runner every file operation goes through.
//!
//! A crash at any instant leaves the old file or the new one, never a mix, and at most a temp file that
//! [`recovery`](super::recovery) removes at the next open. Depends on nothing else in the fs backend but
//! [`frame`](super::frame)'s `Damaged` (and on `error`, to map I/O errors to the crate's).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::frame::Damaged;
use crate::error::Error;

/// An I/O error of the fs backend, naming the bucket and key involved; damage a frame check found
/// ([`Damaged`]) is [`Error::Corrupt`].
pub(super) fn io_err(bucket: &str, key: Option<&str>, e: io::Error) -> Error {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Damaged>())
    {
        Some(d) => Error::Corrupt {
            backend: "fs",
            bucket: bucket.to_string(),
            key: key.map(str::to_string),
            detail: d.0.clone(),
        },
        None => Error::backend("fs", bucket, key, e),
    }
}

/// Group commit for the fsync of one folder. A writer that renamed a file into the folder needs an fsync of
/// the folder that starts after its rename; one fsync serves every rename registered before it starts, so
/// parts uploaded in parallel share folder fsyncs instead of queueing one journal commit each.
#[derive(Debug, Default)]
pub(super) struct GroupSync {
    /// Renames registered, and renames covered by a finished fsync.
    pub(super) counts: Mutex<(u64, u64)>,
    /// Held while an fsync runs.
    pub(super) running: Mutex<()>,
}

impl GroupSync {
    /// Registers a rename that has happened; returns its ticket for [`GroupSync::sync`].
    pub(super) fn register(&self) -> u64 {
        let mut c = self.counts.lock();
        c.0 += 1;
        c.0
    }

    /// Returns once an fsync (`fsync`, called here unless another caller's already covered `ticket`) that
    /// started after the ticket's rename has finished.
    pub(super) fn sync(
        &self,
        ticket: u64,
        fsync: impl FnOnce() -> io::Result<()>,
    ) -> io::Result<()> {
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

/// Removes a file or folder; one already gone (a background removal of an earlier instance in this process
/// may still be running) is not an error.
pub(super) fn remove_path(path: &Path) -> io::Result<()> {
    // The entry's own type: a link to a folder is removed as a link, never followed.
    let r = if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

/// Hard-links `from` to `to`; on a filesystem without hard links, copies it (fsynced when `sync`).
pub(super) fn link_or_copy(from: &Path, to: &Path, sync: bool) -> io::Result<()> {
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

/// fsyncs a folder, making the names of the files renamed into it durable.
pub(super) fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Writes a file by temp file and rename (fsynced when `sync`).
pub(super) fn replace_file(path: &Path, temp: &Path, data: &[u8], sync: bool) -> io::Result<()> {
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
pub(super) struct DirGuard(pub(super) Option<PathBuf>);

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_dir_all(p);
        }
    }
}

/// Removes a temp file unless the write it belongs to committed.
pub(super) struct TempGuard(pub(super) Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// Runs blocking file work on tokio's blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
