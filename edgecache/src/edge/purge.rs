//! Invalidation and purge: by key (with its `Vary` variants), prefix and `Surrogate-Key` tag, hard or soft.

use std::sync::Arc;

use parking_lot::Mutex;

use super::Edge;
use super::metrics::Counters;
use super::range::partial_key;
use crate::error::Result;
use crate::tier::{Entry, TierExt};

impl Edge {
    /// Removes the stored responses for `key` (and its `Vary` variants) from every tier.
    pub(super) async fn invalidate(&self, key: &str) -> u64 {
        let mut removed = 0;
        let variants = format!("{key}\u{0}");
        for tier in &self.inner.tiers {
            if let Ok(Some(e)) = tier.get(key).await {
                if !e.vary.is_empty() {
                    removed += tier.purge_prefix(&variants).await.unwrap_or(0);
                }
            }
            if tier.remove(key).await.unwrap_or(false) {
                removed += 1;
            }
            if tier.remove(&partial_key(key)).await.unwrap_or(false) {
                removed += 1;
            }
        }
        Counters::add(&self.inner.counters.purged, removed);
        removed
    }

    /// Purges the stored response for a cache key (see [`Edge::cache_key`]) and its `Vary` variants from
    /// every tier; returns how many entries were removed.
    pub async fn purge_key(&self, key: &str) -> u64 {
        self.invalidate(key).await
    }

    /// Purges every stored response whose key starts with `prefix`, from every tier.
    ///
    /// # Errors
    /// A tier's failure; the tiers before it are purged.
    pub async fn purge_prefix(&self, prefix: &str) -> Result<u64> {
        let mut removed = 0;
        for tier in &self.inner.tiers {
            removed += tier.purge_prefix(prefix).await?;
        }
        Counters::add(&self.inner.counters.purged, removed);
        Ok(removed)
    }

    /// Purges every stored response tagged `tag` by its `Surrogate-Key` header, from every tier.
    ///
    /// # Errors
    /// A tier's failure; the tiers before it are purged.
    pub async fn purge_tag(&self, tag: &str) -> Result<u64> {
        let mut removed = 0;
        for tier in &self.inner.tiers {
            removed += tier.purge_tag(tag).await?;
        }
        Counters::add(&self.inner.counters.purged, removed);
        Ok(removed)
    }

    /// Soft purge: marks every stored response tagged `tag` stale, so the next request for it revalidates
    /// with the origin (a `304` makes it fresh again without a new body). Returns how many were marked.
    ///
    /// # Errors
    /// A tier's failure.
    pub async fn soft_purge_tag(&self, tag: &str) -> Result<u64> {
        self.soft_purge(&|_: &str, e: &Entry| e.has_tag(tag)).await
    }

    /// Soft purge of one cache key and its `Vary` variants; see [`Edge::soft_purge_tag`].
    ///
    /// # Errors
    /// A tier's failure.
    pub async fn soft_purge_key(&self, key: &str) -> Result<u64> {
        let variants = format!("{key}\u{0}");
        self.soft_purge(&|k: &str, _: &Entry| k == key || k.starts_with(&variants))
            .await
    }

    pub(super) async fn soft_purge(
        &self,
        select: &(dyn Fn(&str, &Entry) -> bool + Send + Sync),
    ) -> Result<u64> {
        let mut marked = 0;
        for tier in &self.inner.tiers {
            let found: Mutex<Vec<(String, Entry)>> = Mutex::new(Vec::new());
            tier.retain(&|k: &str, e: &Entry| {
                if !e.invalidated && select(k, e) {
                    found.lock().push((k.to_string(), e.clone()));
                }
                true
            })
            .await?;
            let found = found.into_inner();
            for (k, e) in found {
                if tier.insert(&k, Arc::new(e.with_invalidated(true))).await? {
                    marked += 1;
                }
            }
        }
        Ok(marked)
    }
}
