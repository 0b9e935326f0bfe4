//! The root lock: one opener at a time.
//!
//! Opening a root repairs it (removes temp files, staging folders, data folders no manifest refers to)
//! and then trusts its in-memory index. Both are only right if nobody else is writing the same root: a
//! second opener would delete the first one's work in progress and serve from a stale index. So
//! [`FsBackend::open`](super::FsBackend::open) first takes an exclusive OS lock (`flock` on Unix, through
//! `std::fs::File::try_lock`) on `ROOT/.lock`, before it reads or changes anything, and holds it until the
//! backend is dropped (after the index snapshot is written). A second opener, in this process or another,
//! gets [`Error::RootLocked`] naming the root and touches nothing. The OS releases the lock when its holder
//! dies, even by SIGKILL, so a crash never leaves a root locked.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::Path;

use super::durable::io_err;
use super::layout::LOCK;
use crate::error::{Error, Result};

/// The held lock of one root; released when dropped.
#[derive(Debug)]
pub(super) struct RootLock {
    _file: File,
}

/// Takes the lock of `root` (creating the root and its lock file if needed), or says who cannot.
pub(super) fn lock_root(root: &Path) -> Result<RootLock> {
    let err = |e| io_err("", None, e);
    fs::create_dir_all(root).map_err(err)?;
    let path = root.join(LOCK);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(err)?;
    match file.try_lock() {
        Ok(()) => Ok(RootLock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(Error::RootLocked {
            root: root.to_path_buf(),
        }),
        Err(TryLockError::Error(e)) => Err(err(e)),
    }
}
