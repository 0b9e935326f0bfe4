//! Property and concurrency tests of the memory tier's policy cache (`edgecache::policy::Cache`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use edgecache::policy::{Cache, Policy};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Insert(u16, u16),
    Get(u16),
    Remove(u16),
    RetainEven,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u16..200, 1u16..400).prop_map(|(k, w)| Op::Insert(k, w)),
        6 => (0u16..200).prop_map(Op::Get),
        1 => (0u16..200).prop_map(Op::Remove),
        1 => Just(Op::RetainEven),
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![Just(Policy::TinyLfu), Just(Policy::Lru)]
}

/// A cache whose values carry their own weight, so the test can recompute the weighted size.
fn cache(capacity: u64, shards: usize, policy: Policy) -> Cache<u16, u16> {
    Cache::builder(capacity)
        .with_shards(shards)
        .with_policy(policy)
        .with_weigher(|_k: &u16, w: &u16| u64::from(*w))
        .build()
        .unwrap()
}

/// Entries and their total weight, by walking the cache.
fn walk(cache: &Cache<u16, u16>) -> (usize, u64) {
    let mut count = 0;
    let mut weight = 0;
    cache.for_each(|_, w| {
        count += 1;
        weight += u64::from(*w);
    });
    (count, weight)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The bound is never exceeded, and len and weighted size always agree with the entries actually held.
    #[test]
    fn bound_and_accounting_hold_under_any_operations(
        ops in prop::collection::vec(op(), 1..400),
        capacity in 1u64..3_000,
        shards in 1usize..5,
        policy in policy(),
    ) {
        let cache = cache(capacity, shards, policy);
        let mut last_value: HashMap<u16, u16> = HashMap::new();
        for op in ops {
            match op {
                Op::Insert(k, w) => {
                    let stored = cache.insert(k, w);
                    if stored {
                        prop_assert_eq!(cache.peek(&k), Some(w), "stored means held");
                    }
                    // Shards get capacity / shards, the first ones one more.
                    if u64::from(w) > capacity.div_ceil(cache.shard_count() as u64) {
                        prop_assert!(!stored, "an entry heavier than its shard is rejected");
                        prop_assert!(!cache.contains_key(&k), "and no older value survives");
                    }
                    last_value.insert(k, w);
                }
                Op::Get(k) => {
                    if let Some(v) = cache.get(&k) {
                        prop_assert_eq!(Some(&v), last_value.get(&k), "a hit returns the latest value");
                    }
                }
                Op::Remove(k) => {
                    cache.remove(&k);
                    prop_assert!(!cache.contains_key(&k));
                    last_value.remove(&k);
                }
                Op::RetainEven => {
                    cache.retain(|k, _| k % 2 == 0);
                    let mut odd = 0;
                    cache.for_each(|k, _| odd += k % 2);
                    prop_assert_eq!(odd, 0);
                    last_value.retain(|k, _| k % 2 == 0);
                }
            }
            let (count, weight) = walk(&cache);
            prop_assert!(cache.weighted_size() <= capacity, "{} > {}", cache.weighted_size(), capacity);
            prop_assert_eq!(cache.len(), count);
            prop_assert_eq!(cache.weighted_size(), weight);
        }
    }

    /// In a cache that is not full, a small entry just inserted is found.
    #[test]
    fn get_after_insert_into_a_non_full_cache_hits(
        weights in prop::collection::vec(1u16..50, 1..60),
        shards in 1usize..5,
        policy in policy(),
    ) {
        // Every shard could hold all the entries together: nothing is ever evicted.
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let cache = cache(total * shards as u64 * 2, shards, policy);
        for (k, &w) in weights.iter().enumerate() {
            let k = k as u16;
            prop_assert!(cache.insert(k, w));
            prop_assert_eq!(cache.get(&k), Some(w));
        }
        for (k, &w) in weights.iter().enumerate() {
            prop_assert_eq!(cache.get(&(k as u16)), Some(w));
        }
        prop_assert_eq!(cache.evictions(), 0);
        prop_assert_eq!(cache.len(), weights.len());
    }

    /// With one shard and unit weights, the LRU policy matches a reference LRU model exactly.
    #[test]
    fn lru_policy_matches_a_model(keys in prop::collection::vec(0u16..30, 1..300), capacity in 1u64..12) {
        let cache: Cache<u16, u16> = Cache::builder(capacity).with_shards(1).with_policy(Policy::Lru).build().unwrap();
        let mut model: Vec<u16> = Vec::new(); // most recent last
        for k in keys {
            let hit = cache.get(&k).is_some();
            let model_hit = model.contains(&k);
            prop_assert_eq!(hit, model_hit);
            model.retain(|&x| x != k);
            model.push(k);
            if !hit {
                cache.insert(k, k);
            }
            if model.len() as u64 > capacity {
                model.remove(0);
            }
        }
        let mut held: Vec<u16> = Vec::new();
        cache.for_each(|k, _| held.push(*k));
        held.sort_unstable();
        model.sort_unstable();
        prop_assert_eq!(held, model);
    }
}

/// Threads insert entries of random weights while another samples the weighted size: it never exceeds the
/// capacity, and the accounting is exact once they stop.
#[test]
fn the_bound_holds_under_concurrent_inserts() {
    for policy in [Policy::TinyLfu, Policy::Lru] {
        let capacity = 50_000;
        let cache: Arc<Cache<u32, Vec<u8>>> = Arc::new(
            Cache::builder(capacity)
                .with_shards(4)
                .with_policy(policy)
                .with_weigher(|_k: &u32, v: &Vec<u8>| 4 + v.len() as u64)
                .build()
                .unwrap(),
        );
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (cache, done) = (cache.clone(), done.clone());
            std::thread::spawn(move || {
                let mut samples = 0u64;
                while !done.load(Ordering::Relaxed) {
                    let size = cache.weighted_size();
                    assert!(size <= capacity, "{size} > {capacity}");
                    samples += 1;
                }
                samples
            })
        };
        let writers: Vec<_> = (0..4u32)
            .map(|t| {
                let cache = cache.clone();
                std::thread::spawn(move || {
                    let mut x = 0x9E37_79B9u32 ^ t;
                    for _ in 0..20_000 {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        let key = x % 5_000;
                        if cache.get(&key).is_none() {
                            cache.insert(key, vec![0; (x >> 20) as usize % 2_000]);
                        }
                        if x.is_multiple_of(97) {
                            cache.remove(&key);
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        assert!(sampler.join().unwrap() > 0);
        let mut weight = 0;
        let mut count = 0;
        cache.for_each(|_, v| {
            weight += 4 + v.len() as u64;
            count += 1;
        });
        assert_eq!(cache.weighted_size(), weight);
        assert_eq!(cache.len(), count);
        assert!(weight <= capacity);
        assert!(cache.evictions() > 0, "the workload overflows the cache");
    }
}

/// Hot keys survive a long scan of one-hit keys under the default policy, and are flushed under LRU.
#[test]
fn the_default_policy_resists_scans_and_lru_does_not() {
    let run = |policy| {
        let cache: Cache<u32, ()> = Cache::builder(1_000)
            .with_shards(1)
            .with_policy(policy)
            .build()
            .unwrap();
        for _ in 0..10 {
            for k in 0..500 {
                if cache.get(&k).is_none() {
                    cache.insert(k, ());
                }
            }
        }
        for k in 10_000..13_000 {
            if cache.get(&k).is_none() {
                cache.insert(k, ());
            }
        }
        (0..500).filter(|k| cache.contains_key(k)).count()
    };
    let tinylfu = run(Policy::TinyLfu);
    let lru = run(Policy::Lru);
    assert!(tinylfu >= 450, "{tinylfu} of 500 hot keys survived");
    assert_eq!(lru, 0);
}
