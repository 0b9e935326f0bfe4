//! Per-thread sharding of hot counters and pools, so two threads invoking the same function do not fight
//! over one cache line.

use std::sync::atomic::{AtomicUsize, Ordering};

/// How many shards hot per-version state is split into.
pub(crate) const SHARDS: usize = 4;

static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static HOME: usize = NEXT_THREAD.fetch_add(1, Ordering::Relaxed) % SHARDS;
}

/// This thread's shard: threads are numbered as they first ask, so the first `SHARDS` threads (a tokio
/// runtime's workers) get distinct shards.
pub(crate) fn home() -> usize {
    HOME.with(|h| *h)
}

/// Keeps `T` on its own cache line(s).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
