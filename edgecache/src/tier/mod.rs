//! Cache tiers: where an [`Edge`](crate::Edge) keeps responses.
//!
//! A tier is a byte-bounded map from a cache key (a `String`) to an immutable [`Entry`] shared as
//! `Arc<Entry>`. The [`Tier`] trait holds only what differs between tiers (get, insert, remove, a scan that
//! drops entries, and the size accounting); derived operations such as purge by prefix or by surrogate tag are
//! in [`TierExt`], implemented for every tier.
//!
//! Every tier runs the same behaviour suite, `edgecache::tier::conformance` (feature `testing`).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

#[cfg(any(test, feature = "testing"))]
pub mod conformance;
pub mod disk;
pub mod memory;
pub use disk::{DiskOptions, DiskTier};
pub use memory::{MemoryTier, MemoryTierBuilder};

pub use crate::error::{Error, Result};
pub use crate::types::entry::{
    ENTRY_OVERHEAD, Entry, HEADER_OVERHEAD, POLICY_OVERHEAD, heap_bytes,
};

/// A cache tier: a concurrent map from keys to [`Entry`]s, bounded by bytes.
///
/// Implementations never hold more than [`Tier::capacity_bytes`] (summing [`Entry::weight`]), are safe to call
/// from many tasks at once, and treat anything they cannot read back intact as absent.
#[async_trait]
pub trait Tier: Send + Sync + fmt::Debug {
    /// A short name for metrics and errors (`"memory"`, `"disk"`).
    fn name(&self) -> &str;

    /// The entry under `key`, if present (and intact).
    ///
    /// # Errors
    /// An I/O failure of the tier. A missing or corrupt entry is `Ok(None)`, not an error.
    async fn get(&self, key: &str) -> Result<Option<Arc<Entry>>>;

    /// Stores `entry` under `key`, replacing any previous entry. Returns whether it was stored: a tier may
    /// decline (its admission policy, or an entry heavier than the whole tier), which is not an error.
    ///
    /// # Errors
    /// An I/O failure of the tier.
    async fn insert(&self, key: &str, entry: Arc<Entry>) -> Result<bool>;

    /// Removes the entry under `key`; returns whether there was one.
    ///
    /// # Errors
    /// An I/O failure of the tier.
    async fn remove(&self, key: &str) -> Result<bool>;

    /// Keeps only the entries for which `keep(key, entry)` is true; returns how many were removed.
    ///
    /// This is the one scan every purge is built from (see [`TierExt`]). Entries inserted concurrently may or
    /// may not be visited.
    ///
    /// # Errors
    /// An I/O failure of the tier.
    async fn retain(
        &self,
        keep: &(dyn for<'k, 'e> Fn(&'k str, &'e Entry) -> bool + Send + Sync),
    ) -> Result<u64>;

    /// The most bytes this tier holds.
    fn capacity_bytes(&self) -> u64;

    /// The bytes held now (sum of [`Entry::weight`]).
    fn used_bytes(&self) -> u64;

    /// The number of entries held now.
    fn len(&self) -> usize;

    /// Whether the tier holds no entry.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many entries the tier has evicted to stay within its capacity, since it was created.
    fn evictions(&self) -> u64 {
        0
    }
}

/// Conveniences built from [`Tier`]'s methods; implemented for every tier.
#[async_trait]
pub trait TierExt: Tier {
    /// Removes every entry whose key starts with `prefix`; returns how many.
    ///
    /// # Errors
    /// As [`Tier::retain`].
    async fn purge_prefix(&self, prefix: &str) -> Result<u64> {
        self.retain(&|key: &str, _: &Entry| !key.starts_with(prefix))
            .await
    }

    /// Removes every entry tagged with surrogate key `tag`; returns how many.
    ///
    /// # Errors
    /// As [`Tier::retain`].
    async fn purge_tag(&self, tag: &str) -> Result<u64> {
        self.retain(&|_: &str, entry: &Entry| !entry.has_tag(tag))
            .await
    }

    /// Removes every entry; returns how many.
    ///
    /// # Errors
    /// As [`Tier::retain`].
    async fn clear(&self) -> Result<u64> {
        self.retain(&|_: &str, _: &Entry| false).await
    }
}

impl<T: Tier + ?Sized> TierExt for T {}

macro_rules! forward_tier {
    ($ptr:ident) => {
        #[async_trait]
        impl<T: Tier + ?Sized> Tier for $ptr<T> {
            fn name(&self) -> &str {
                (**self).name()
            }
            async fn get(&self, key: &str) -> Result<Option<Arc<Entry>>> {
                (**self).get(key).await
            }
            async fn insert(&self, key: &str, entry: Arc<Entry>) -> Result<bool> {
                (**self).insert(key, entry).await
            }
            async fn remove(&self, key: &str) -> Result<bool> {
                (**self).remove(key).await
            }
            async fn retain(
                &self,
                keep: &(dyn for<'k, 'e> Fn(&'k str, &'e Entry) -> bool + Send + Sync),
            ) -> Result<u64> {
                (**self).retain(keep).await
            }
            fn capacity_bytes(&self) -> u64 {
                (**self).capacity_bytes()
            }
            fn used_bytes(&self) -> u64 {
                (**self).used_bytes()
            }
            fn len(&self) -> usize {
                (**self).len()
            }
            fn is_empty(&self) -> bool {
                (**self).is_empty()
            }
            fn evictions(&self) -> u64 {
                (**self).evictions()
            }
        }
    };
}

forward_tier!(Arc);
forward_tier!(Box);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_is_object_safe() {
        fn takes(_: Option<&dyn Tier>) {}
        takes(None);
    }
}
