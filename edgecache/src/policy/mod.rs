//! The memory tier's cache: concurrent, bounded by weight (bytes), with a scan-resistant admission and eviction
//! policy.
//!
//! [`Cache`] splits its capacity over shards, each a read-write lock around one single-threaded policy, so two
//! requests contend only when their keys hash to the same shard: there is no global lock on the hit path. A hit
//! takes its shard's lock shared and records itself in a small lossy buffer that the policy applies in order
//! under the exclusive lock (Caffeine's read buffer), so hits on one shard do not wait for each other either.
//! The policies:
//!
//! - [`Policy::TinyLfu`] (the default): W-TinyLFU with an adaptive window (see `tinylfu/`). A small LRU
//!   window admits new entries; leaving it, an entry must be estimated more frequent (by a count-min sketch)
//!   than the main space's victim to get in. Scans and loops cannot flush the main space, and ARC-like ghost
//!   feedback resizes the window to what the workload rewards (recency or frequency).
//! - [`Policy::Lru`]: plain least-recently-used over the `lru` crate, the baseline.
//!
//! Weights come from a weigher (`1` per entry unless one is given); the weighted size never exceeds the
//! capacity, at any moment and under any interleaving, because each shard's bound is its share of the capacity
//! and is enforced under its lock. An entry heavier than its shard's share is rejected (not stored), never a
//! panic. With the default sharding (see [`CacheBuilder::with_shards`]) a shard holds at least a few hundred average
//! entries; choose `with_shards(1)` when single entries may approach the whole capacity.
//!
//! ```
//! use edgecache::policy::Cache;
//!
//! let cache: Cache<String, Vec<u8>> = Cache::builder(1 << 20)
//!     .with_weigher(|key: &String, value: &Vec<u8>| (key.len() + value.len()) as u64)
//!     .build()?;
//! cache.insert("/index.html".to_string(), b"<html>".to_vec());
//! assert_eq!(cache.get("/index.html").as_deref(), Some(&b"<html>"[..]));
//! assert!(cache.weighted_size() <= cache.capacity());
//! # Ok::<(), edgecache::Error>(())
//! ```

mod lru;
mod sketch;
mod tinylfu;

use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::{RwLock, RwLockWriteGuard};

use crate::error::Result;

use self::lru::Lru;
use self::tinylfu::TinyLfu;

/// The default hasher: fast, and randomly seeded per cache so keys cannot be chosen to collide.
pub type DefaultHashBuilder = foldhash::fast::RandomState;

/// The admission and eviction policy of a [`Cache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Policy {
    /// W-TinyLFU with an adaptive window (Caffeine's policy, sized by ghost feedback): the best hit ratio on the
    /// traces in `benches/README.md`.
    #[default]
    TinyLfu,
    /// Plain least-recently-used (the `lru` crate): the baseline.
    Lru,
}

/// Computes an entry's weight (for a byte bound: its size in bytes, key and metadata included).
pub type Weigher<K, V> = Arc<dyn Fn(&K, &V) -> u64 + Send + Sync>;

/// Each default shard is sized for at least this many (estimated) entries.
const MIN_SHARD_ENTRIES: u64 = 512;
/// Shards per available CPU by default: hot keys of a skewed workload then rarely share a lock.
const SHARDS_PER_CPU: usize = 16;
/// The most shards the default sharding makes.
const MAX_DEFAULT_SHARDS: usize = 64;
/// The average entry weight assumed, when a weigher is given but no entry estimate, to size the shards and the
/// frequency sketch (the sketch grows if the cache holds more entries).
const ASSUMED_ENTRY_WEIGHT: u64 = 1024;

/// Hits recorded per shard before they are applied to the policy.
const READ_BUFFER: usize = 32;

/// One shard, on its own cache lines so that neighbouring locks do not false-share.
///
/// A hit under [`Policy::TinyLfu`] takes the lock shared: it looks the key up, clones the value and records the
/// hit in `reads`, a lossy buffer. The policy applies the recorded hits in order under the exclusive lock, which
/// the reader that fills the buffer tries to take (without waiting), and every write takes before its own work.
/// When the buffer is full and the lock busy, further hits are not recorded (as in Caffeine and moka): the
/// policy sees a sample of the hits under contention, and every hit when single threaded.
#[repr(align(128))]
struct Shard<K, V, S> {
    lock: RwLock<Inner<K, V, S>>,
    reads: ReadBuffer,
}

/// Hits recorded under the shared lock: a claim counter and packed records.
struct ReadBuffer {
    claimed: AtomicUsize,
    records: [AtomicU64; READ_BUFFER],
}

impl ReadBuffer {
    fn new() -> Self {
        Self {
            claimed: AtomicUsize::new(0),
            records: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl<K, V, S> Shard<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    /// The exclusive lock, with the recorded hits applied first.
    fn write(&self) -> RwLockWriteGuard<'_, Inner<K, V, S>> {
        let mut guard = self.lock.write();
        self.drain(&mut guard);
        guard
    }

    /// Applies the recorded hits. Runs under the exclusive lock, so every reader that claimed a record has
    /// stored it and released its shared lock (which orders the stores before these loads).
    fn drain(&self, inner: &mut Inner<K, V, S>) {
        let claimed = self.reads.claimed.load(Ordering::Relaxed);
        if claimed == 0 {
            return;
        }
        let n = claimed.min(READ_BUFFER);
        if let Inner::TinyLfu(c) = inner {
            c.record_reads(
                self.reads.records[..n]
                    .iter()
                    .map(|r| r.load(Ordering::Relaxed)),
            );
        }
        self.reads.claimed.store(0, Ordering::Relaxed);
    }
}

// One value per shard, never moved: the size difference between the variants costs nothing, while a box would
// add an indirection to every hit.
#[expect(
    clippy::large_enum_variant,
    reason = "one value per shard, never moved; a box would add an indirection to every hit"
)]
enum Inner<K, V, S> {
    TinyLfu(TinyLfu<K, V>),
    Lru(Lru<K, V, S>),
}

impl<K, V, S> Inner<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    fn len(&self) -> usize {
        match self {
            Inner::TinyLfu(c) => c.len(),
            Inner::Lru(c) => c.len(),
        }
    }

    fn weight(&self) -> u64 {
        match self {
            Inner::TinyLfu(c) => c.weight(),
            Inner::Lru(c) => c.weight(),
        }
    }

    fn max_weight(&self) -> u64 {
        match self {
            Inner::TinyLfu(c) => c.max_weight(),
            Inner::Lru(c) => c.max_weight(),
        }
    }

    fn evictions(&self) -> u64 {
        match self {
            Inner::TinyLfu(c) => c.evictions(),
            Inner::Lru(c) => c.evictions(),
        }
    }
}

/// A concurrent cache bounded by total weight; see the [module docs](self).
pub struct Cache<K, V, S = DefaultHashBuilder> {
    shards: Box<[Shard<K, V, S>]>,
    shard_mask: u64,
    hasher: S,
    weigher: Option<Weigher<K, V>>,
    capacity: u64,
    policy: Policy,
}

impl<K, V, S> fmt::Debug for Cache<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("policy", &self.policy)
            .field("capacity", &self.capacity)
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

/// Configures a [`Cache`]; from [`Cache::builder`].
pub struct CacheBuilder<K, V, S = DefaultHashBuilder> {
    capacity: u64,
    policy: Policy,
    shards: Option<usize>,
    estimated_entries: Option<usize>,
    weigher: Option<Weigher<K, V>>,
    hasher: S,
}

impl<K, V, S> fmt::Debug for CacheBuilder<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheBuilder")
            .field("capacity", &self.capacity)
            .field("policy", &self.policy)
            .field("shards", &self.shards)
            .field("estimated_entries", &self.estimated_entries)
            .field("weigher", &self.weigher.is_some())
            .finish_non_exhaustive()
    }
}

impl<K, V, S> CacheBuilder<K, V, S> {
    /// The admission and eviction policy ([`Policy::TinyLfu`] by default).
    #[must_use]
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The number of shards (rounded up to a power of two, at least 1, at most 1024). By default it is sixteen per
    /// available CPU (at most 64), fewer if a shard would then hold under 512 estimated entries: small caches
    /// get one shard and keep the policy's full precision. The capacity is split evenly, so an entry heavier
    /// than `capacity / shards` is rejected.
    #[must_use]
    pub fn with_shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// How many entries the cache is expected to hold when full, to size the shards and the frequency sketch.
    /// Defaults to the capacity without a weigher (each entry weighs 1) and to `capacity / 1024` with one.
    #[must_use]
    pub fn with_estimated_entries(mut self, entries: usize) -> Self {
        self.estimated_entries = Some(entries);
        self
    }

    /// How much an entry weighs (1 without a weigher). For a byte bound, count the key, the value and the
    /// per-entry metadata.
    #[must_use]
    pub fn with_weigher(mut self, weigher: impl Fn(&K, &V) -> u64 + Send + Sync + 'static) -> Self {
        self.weigher = Some(Arc::new(weigher));
        self
    }

    /// The hasher (a randomly seeded `foldhash` by default). A fixed hasher makes runs reproducible.
    #[must_use]
    pub fn with_hasher<S2>(self, hasher: S2) -> CacheBuilder<K, V, S2> {
        CacheBuilder {
            capacity: self.capacity,
            policy: self.policy,
            shards: self.shards,
            estimated_entries: self.estimated_entries,
            weigher: self.weigher,
            hasher,
        }
    }

    /// Builds the cache.
    ///
    /// # Errors
    /// None today: every setting is clamped to a valid value. The `Result` keeps the builder convention of the
    /// workspace (and room for a setting that can be refused).
    pub fn build(self) -> Result<Cache<K, V, S>>
    where
        K: Hash + Eq,
        S: BuildHasher + Clone,
    {
        Ok(self.build_infallible())
    }

    /// [`build`](Self::build), which cannot fail (for the crate's infallible constructors).
    pub(crate) fn build_infallible(self) -> Cache<K, V, S>
    where
        K: Hash + Eq,
        S: BuildHasher + Clone,
    {
        let capacity = self.capacity;
        let estimated =
            self.estimated_entries
                .map(|e| e as u64)
                .unwrap_or(if self.weigher.is_some() {
                    capacity / ASSUMED_ENTRY_WEIGHT
                } else {
                    capacity
                });
        let shards = match self.shards {
            Some(n) => n.clamp(1, 1024).next_power_of_two(),
            None => {
                let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
                let mut n = (cpus * SHARDS_PER_CPU)
                    .next_power_of_two()
                    .min(MAX_DEFAULT_SHARDS);
                while n > 1 && estimated / (n as u64) < MIN_SHARD_ENTRIES {
                    n /= 2;
                }
                n
            }
        };
        let n = shards as u64;
        let shard_entries = (estimated / n).max(1) as usize;
        let shards: Box<[Shard<K, V, S>]> = (0..n)
            .map(|i| {
                let max = capacity / n + u64::from(i < capacity % n);
                let inner = match self.policy {
                    Policy::TinyLfu => Inner::TinyLfu(TinyLfu::new(
                        max,
                        shard_entries.min(max.max(1) as usize),
                        true,
                    )),
                    Policy::Lru => Inner::Lru(Lru::new(max, self.hasher.clone())),
                };
                Shard {
                    lock: RwLock::new(inner),
                    reads: ReadBuffer::new(),
                }
            })
            .collect();
        Cache {
            shard_mask: n - 1,
            shards,
            hasher: self.hasher,
            weigher: self.weigher,
            capacity,
            policy: self.policy,
        }
    }
}

impl<K, V> Cache<K, V>
where
    K: Hash + Eq,
{
    /// A cache bounded by `capacity` weight with the default policy, sharding and hasher, each entry weighing 1.
    pub fn new(capacity: u64) -> Self {
        Self::builder(capacity).build_infallible()
    }

    /// A builder for a cache bounded by `capacity` weight.
    #[must_use]
    pub fn builder(capacity: u64) -> CacheBuilder<K, V> {
        CacheBuilder {
            capacity,
            policy: Policy::default(),
            shards: None,
            estimated_entries: None,
            weigher: None,
            hasher: DefaultHashBuilder::default(),
        }
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    #[inline]
    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    fn shard(&self, hash: u64) -> &Shard<K, V, S> {
        // The hash table uses the low bits and the top seven; the shard takes bits from the middle.
        &self.shards[((hash >> 32) & self.shard_mask) as usize]
    }

    /// The value for `key`, recording the access with the policy (a hit). Under the default policy this takes
    /// the shard's lock shared, so concurrent hits do not wait for each other.
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        let hash = self.hash(key);
        let shard = self.shard(hash);
        if self.policy == Policy::Lru {
            return match &mut *shard.write() {
                Inner::Lru(c) => c.get(key).cloned(),
                Inner::TinyLfu(c) => c.get(hash, |k| k.borrow() == key).cloned(),
            };
        }
        let guard = shard.lock.read();
        let (value, claimed) = match &*guard {
            Inner::TinyLfu(c) => {
                let (idx, value) = c.find_ref(hash, |k| k.borrow() == key)?;
                let value = value.clone();
                let claimed = shard.reads.claimed.fetch_add(1, Ordering::Relaxed);
                if let Some(slot) = shard.reads.records.get(claimed) {
                    slot.store(TinyLfu::<K, V>::read_record(idx, hash), Ordering::Relaxed);
                }
                (value, claimed)
            }
            Inner::Lru(c) => return c.peek(key).cloned(),
        };
        drop(guard);
        if claimed + 1 >= READ_BUFFER {
            if let Some(mut inner) = shard.lock.try_write() {
                shard.drain(&mut inner);
            }
        }
        Some(value)
    }

    /// The value for `key` without recording an access.
    pub fn peek<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        let hash = self.hash(key);
        let shard = self.shard(hash).lock.read();
        match &*shard {
            Inner::TinyLfu(c) => c.peek(hash, |k| k.borrow() == key).cloned(),
            Inner::Lru(c) => c.peek(key).cloned(),
        }
    }

    /// Whether `key` is cached (without recording an access).
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let shard = self.shard(hash).lock.read();
        match &*shard {
            Inner::TinyLfu(c) => c.peek(hash, |k| k.borrow() == key).is_some(),
            Inner::Lru(c) => c.peek(key).is_some(),
        }
    }

    /// The weight the weigher gives an entry (1 without a weigher).
    pub fn weigh(&self, key: &K, value: &V) -> u64 {
        self.weigher.as_ref().map_or(1, |w| w(key, value))
    }

    /// Inserts or replaces an entry, then evicts as the policy decides to stay within the capacity. Returns whether
    /// the entry is cached afterwards: `false` when it is heavier than its shard's share of the capacity (an
    /// older value for the key is then removed, so it is never served again) or when the policy evicted it at
    /// once (possible only for an entry heavier than the admission window).
    pub fn insert(&self, key: K, value: V) -> bool {
        let weight = self.weigh(&key, &value);
        let hash = self.hash(&key);
        let mut shard = self.shard(hash).write();
        match &mut *shard {
            Inner::TinyLfu(c) => c.insert(hash, key, value, weight, |a, b| a == b),
            Inner::Lru(c) => c.insert(key, value, weight).is_ok(),
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let mut shard = self.shard(hash).write();
        let removed = match &mut *shard {
            Inner::TinyLfu(c) => c.remove(hash, |k| k.borrow() == key),
            Inner::Lru(c) => c.remove(key),
        };
        removed.map(|(_, v)| v)
    }

    /// Keeps only the entries for which `keep` returns true (for purges); returns how many were removed. Each
    /// shard is locked in turn, so entries inserted meanwhile in an already visited shard are not seen.
    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.write();
            removed += match &mut *shard {
                Inner::TinyLfu(c) => c.retain(&mut keep),
                Inner::Lru(c) => c.retain(&mut keep),
            };
        }
        removed
    }

    /// Calls `f` for each entry, one shard at a time under its lock (so `f` must not call back into the cache).
    pub fn for_each(&self, mut f: impl FnMut(&K, &V)) {
        for shard in self.shards.iter() {
            let shard = shard.lock.read();
            match &*shard {
                Inner::TinyLfu(c) => c.for_each(&mut f),
                Inner::Lru(c) => c.for_each(&mut f),
            }
        }
    }

    /// Removes every entry.
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            match &mut *shard.write() {
                Inner::TinyLfu(c) => c.clear(),
                Inner::Lru(c) => c.clear(),
            }
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock.read().len()).sum()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The total weight of the entries (never above [`capacity`](Self::capacity)).
    pub fn weighted_size(&self) -> u64 {
        self.shards.iter().map(|s| s.lock.read().weight()).sum()
    }

    /// The weight bound.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The heaviest entry that can be stored: the smallest shard's share of the capacity.
    pub fn max_entry_weight(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.lock.read().max_weight())
            .min()
            .unwrap_or(0)
    }

    /// How many entries the policy evicted to make room (removals and replacements not counted).
    pub fn evictions(&self) -> u64 {
        self.shards.iter().map(|s| s.write().evictions()).sum()
    }

    /// The policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_caches_get_one_shard_and_large_ones_several() {
        let small: Cache<u64, u64> = Cache::new(100);
        assert_eq!(small.shard_count(), 1);
        let large: Cache<u64, u64> = Cache::builder(1 << 30).build().unwrap();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(
            large.shard_count(),
            (cpus * SHARDS_PER_CPU)
                .next_power_of_two()
                .min(MAX_DEFAULT_SHARDS)
        );
        let explicit: Cache<u64, u64> = Cache::builder(1 << 30).with_shards(3).build().unwrap();
        assert_eq!(explicit.shard_count(), 4);
    }

    #[test]
    fn shard_capacities_add_up() {
        for policy in [Policy::TinyLfu, Policy::Lru] {
            let cache: Cache<u64, u64> = Cache::builder(1003)
                .with_shards(4)
                .with_policy(policy)
                .build()
                .unwrap();
            let total: u64 = cache
                .shards
                .iter()
                .map(|s| s.lock.read().max_weight())
                .sum();
            assert_eq!(total, 1003);
            assert_eq!(cache.max_entry_weight(), 250);
        }
    }

    #[test]
    fn both_policies_serve_the_same_api() {
        for policy in [Policy::TinyLfu, Policy::Lru] {
            let cache: Cache<String, String> = Cache::builder(1000)
                .with_policy(policy)
                .with_weigher(|k: &String, v: &String| (k.len() + v.len()) as u64)
                .build()
                .unwrap();
            assert_eq!(cache.policy(), policy);
            assert!(cache.insert("a".into(), "1".into()));
            assert!(cache.insert("b".into(), "22".into()));
            assert_eq!(cache.get("a").as_deref(), Some("1"));
            assert!(cache.contains_key("b"));
            assert_eq!(cache.peek("b").as_deref(), Some("22"));
            assert_eq!(cache.len(), 2);
            assert_eq!(cache.weighted_size(), 5);
            assert!(
                !cache.insert("c".into(), "x".repeat(1000)),
                "heavier than the capacity"
            );
            assert!(!cache.contains_key("c"));
            assert_eq!(cache.remove("a").as_deref(), Some("1"));
            assert_eq!(cache.weighted_size(), 3);
            assert!(cache.insert("ab".into(), "x".into()));
            assert_eq!(cache.retain(|k, _| k.starts_with('a')), 1);
            let mut keys = Vec::new();
            cache.for_each(|k, _| keys.push(k.clone()));
            assert_eq!(keys, vec!["ab".to_string()]);
            cache.clear();
            assert!(cache.is_empty());
            assert_eq!(cache.weighted_size(), 0);
        }
    }

    #[test]
    fn counts_evictions() {
        for policy in [Policy::TinyLfu, Policy::Lru] {
            let cache: Cache<u64, u64> = Cache::builder(10).with_policy(policy).build().unwrap();
            for k in 0..100 {
                cache.insert(k, k);
            }
            assert_eq!(cache.len(), 10);
            assert_eq!(cache.evictions(), 90);
        }
    }

    #[test]
    fn is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Cache<String, Vec<u8>>>();
    }
}
