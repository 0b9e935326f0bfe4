//! The memory tier: responses in process memory, bounded by bytes, with the [`policy`](crate::policy) cache.
//!
//! An entry weighs [`Entry::weight`] under its key: what it holds in memory (key, body, header map, tags,
//! the shared `Entry` and this tier's per-entry bookkeeping), and the sum never exceeds the capacity, so the
//! capacity is the memory a full tier takes: at 1M small entries the process's RSS grows by 0.99x the
//! capacity (`benches/src/bin/scale-edgecache.rs`; 1.6x before the weight counted the real structures). The default policy is W-TinyLFU with an adaptive window
//! ([`Policy::TinyLfu`]); [`Policy::Lru`] selects plain LRU (the `lru` crate) as a baseline. Both are sharded,
//! so concurrent hits on different keys take different locks.
//!
//! ```
//! use std::sync::Arc;
//! use edgecache::{Entry, Tier};
//! use edgecache::tier::MemoryTier;
//!
//! # futures::executor::block_on(async {
//! let tier = MemoryTier::builder().with_capacity_bytes(1 << 20).build()?;
//! assert!(tier.insert("GET https://example.com/", Arc::new(Entry::from_body("hello"))).await?);
//! let hit = tier.get("GET https://example.com/").await?.expect("a hit");
//! assert_eq!(&hit.body[..], b"hello");
//! assert!(tier.used_bytes() <= tier.capacity_bytes());
//! # Ok::<(), edgecache::Error>(())
//! # }).unwrap();
//! ```

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
use crate::policy::{Cache, Policy};
use crate::tier::{Entry, Tier};

/// The default capacity: 64 MiB.
pub const DEFAULT_CAPACITY_BYTES: u64 = 64 << 20;

/// A byte-bounded in-memory [`Tier`]; see the [module docs](self).
#[derive(Debug)]
pub struct MemoryTier {
    cache: Cache<String, Arc<Entry>>,
}

/// Configures a [`MemoryTier`]; from [`MemoryTier::builder`].
#[derive(Debug, Clone)]
pub struct MemoryTierBuilder {
    capacity_bytes: u64,
    policy: Policy,
    shards: Option<usize>,
    estimated_entries: Option<usize>,
}

impl Default for MemoryTierBuilder {
    fn default() -> Self {
        Self {
            capacity_bytes: DEFAULT_CAPACITY_BYTES,
            policy: Policy::default(),
            shards: None,
            estimated_entries: None,
        }
    }
}

impl MemoryTierBuilder {
    /// The most bytes the tier holds ([`DEFAULT_CAPACITY_BYTES`] by default).
    #[must_use]
    pub fn with_capacity_bytes(mut self, bytes: u64) -> Self {
        self.capacity_bytes = bytes;
        self
    }

    /// The admission and eviction policy: [`Policy::TinyLfu`] (default) or [`Policy::Lru`].
    #[must_use]
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The number of shards (see [`CacheBuilder::with_shards`](crate::policy::CacheBuilder::with_shards)). An entry
    /// heavier than `capacity / shards` is declined, so use `1` when single responses may approach the whole
    /// capacity. By default small tiers get one shard.
    #[must_use]
    pub fn with_shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// How many entries the tier is expected to hold when full (default: one per KiB of capacity); sizes the
    /// shards and the policy's frequency sketch.
    #[must_use]
    pub fn with_estimated_entries(mut self, entries: usize) -> Self {
        self.estimated_entries = Some(entries);
        self
    }

    /// Builds the tier.
    ///
    /// # Errors
    /// None today (see [`CacheBuilder::build`](crate::policy::CacheBuilder::build)); the `Result` keeps the
    /// builder convention of the workspace.
    pub fn build(self) -> Result<MemoryTier> {
        Ok(self.build_infallible())
    }

    /// [`build`](Self::build), which cannot fail (for [`MemoryTier::new`] and the edge's default tier).
    pub(crate) fn build_infallible(self) -> MemoryTier {
        let mut builder = Cache::builder(self.capacity_bytes)
            .with_policy(self.policy)
            .with_weigher(|key: &String, entry: &Arc<Entry>| entry.weight(key));
        if let Some(shards) = self.shards {
            builder = builder.with_shards(shards);
        }
        if let Some(entries) = self.estimated_entries {
            builder = builder.with_estimated_entries(entries);
        }
        MemoryTier {
            cache: builder.build_infallible(),
        }
    }
}

impl MemoryTier {
    /// A tier of `capacity_bytes` with the default policy.
    pub fn new(capacity_bytes: u64) -> Self {
        Self::builder()
            .with_capacity_bytes(capacity_bytes)
            .build_infallible()
    }

    /// A builder (64 MiB, W-TinyLFU, by default).
    #[must_use]
    pub fn builder() -> MemoryTierBuilder {
        MemoryTierBuilder::default()
    }

    /// The policy in use.
    pub fn policy(&self) -> Policy {
        self.cache.policy()
    }

    /// The heaviest entry the tier accepts (its smallest shard's share of the capacity).
    pub fn max_entry_bytes(&self) -> u64 {
        self.cache.max_entry_weight()
    }

    /// The underlying cache, for direct synchronous use.
    pub fn cache(&self) -> &Cache<String, Arc<Entry>> {
        &self.cache
    }

    /// The entry under `key`, synchronously (what [`Tier::get`] does).
    pub fn get_sync(&self, key: &str) -> Option<Arc<Entry>> {
        self.cache.get(key)
    }

    /// Keeps only the entries for which `keep(key, entry)` is true, synchronously (what [`Tier::retain`] does);
    /// returns how many were removed.
    pub fn retain_sync(&self, keep: &(dyn Fn(&str, &Entry) -> bool + Send + Sync)) -> u64 {
        self.cache
            .retain(|key: &String, entry: &Arc<Entry>| keep(key.as_str(), entry.as_ref()))
            as u64
    }

    /// Stores an entry synchronously (what [`Tier::insert`] does); returns whether it was stored.
    pub fn insert_sync(&self, key: &str, entry: Arc<Entry>) -> bool {
        self.cache.insert(key.to_string(), entry) && self.cache.contains_key(key)
    }
}

#[async_trait]
impl Tier for MemoryTier {
    fn name(&self) -> &str {
        "memory"
    }

    async fn get(&self, key: &str) -> Result<Option<Arc<Entry>>> {
        Ok(self.cache.get(key))
    }

    async fn insert(&self, key: &str, entry: Arc<Entry>) -> Result<bool> {
        Ok(self.insert_sync(key, entry))
    }

    async fn remove(&self, key: &str) -> Result<bool> {
        Ok(self.cache.remove(key).is_some())
    }

    async fn retain(
        &self,
        keep: &(dyn for<'k, 'e> Fn(&'k str, &'e Entry) -> bool + Send + Sync),
    ) -> Result<u64> {
        Ok(self.retain_sync(keep))
    }

    fn capacity_bytes(&self) -> u64 {
        self.cache.capacity()
    }

    fn used_bytes(&self) -> u64 {
        self.cache.weighted_size()
    }

    fn len(&self) -> usize {
        self.cache.len()
    }

    fn evictions(&self) -> u64 {
        self.cache.evictions()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tier::TierExt;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    #[test]
    fn both_policies_store_weigh_and_purge() {
        for policy in [Policy::TinyLfu, Policy::Lru] {
            block_on(async {
                let tier = MemoryTier::builder()
                    .with_capacity_bytes(10_000)
                    .with_policy(policy)
                    .build()
                    .unwrap();
                assert_eq!(tier.policy(), policy);
                let e = Arc::new(Entry::from_body("hello").with_surrogate_keys(vec!["t".into()]));
                assert!(tier.insert("/a/1", e.clone()).await.unwrap());
                assert!(tier.insert("/a/2", e.clone()).await.unwrap());
                assert!(
                    tier.insert("/b/1", Arc::new(Entry::from_body("x")))
                        .await
                        .unwrap()
                );
                assert_eq!(tier.len(), 3);
                let expected = e.weight("/a/1") * 2 + Entry::from_body("x").weight("/b/1");
                assert_eq!(tier.used_bytes(), expected);
                assert_eq!(tier.get("/a/1").await.unwrap().as_deref(), Some(&*e));
                assert_eq!(tier.purge_prefix("/a/").await.unwrap(), 2);
                assert_eq!(tier.get("/a/2").await.unwrap(), None);
                assert!(tier.remove("/b/1").await.unwrap());
                assert!(!tier.remove("/b/1").await.unwrap());
                assert_eq!(tier.used_bytes(), 0);
                assert!(tier.is_empty());
            });
        }
    }

    #[test]
    fn declines_an_entry_heavier_than_the_tier() {
        block_on(async {
            let tier = MemoryTier::new(1_000);
            assert!(
                !tier
                    .insert("k", Arc::new(Entry::from_body(vec![0u8; 1_000])))
                    .await
                    .unwrap()
            );
            assert_eq!(tier.get("k").await.unwrap(), None);
            assert_eq!(tier.used_bytes(), 0);
        });
    }

    #[test]
    fn evicts_to_stay_within_capacity() {
        block_on(async {
            let tier = MemoryTier::new(5_000);
            for i in 0..100 {
                tier.insert(
                    &format!("/k/{i}"),
                    Arc::new(Entry::from_body(vec![1u8; 300])),
                )
                .await
                .unwrap();
                assert!(tier.used_bytes() <= 5_000);
            }
            assert!(tier.evictions() > 0);
            assert!(tier.len() < 100);
        });
    }
}
