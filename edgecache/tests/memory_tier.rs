//! The memory tier against the tier conformance suite, with each policy and with default and single sharding,
//! and its byte bound under concurrent inserts through the `Tier` trait.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use edgecache::policy::Policy;
use edgecache::tier::{MemoryTier, conformance};
use edgecache::{Entry, Tier, TierExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_tier_conforms_with_each_policy_and_sharding() {
    for policy in [Policy::TinyLfu, Policy::Lru] {
        conformance::all(|capacity| async move {
            MemoryTier::builder()
                .with_capacity_bytes(capacity)
                .with_policy(policy)
                .build()
                .unwrap()
        })
        .await;
        for shards in [1, 4] {
            conformance::all(|capacity| async move {
                MemoryTier::builder()
                    .with_capacity_bytes(capacity)
                    .with_policy(policy)
                    .with_shards(shards)
                    .build()
                    .unwrap()
            })
            .await;
        }
    }
}

/// Tasks insert responses of mixed sizes while another task samples the used bytes: never above capacity; the
/// per-entry weight is `Entry::weight` (key, body, headers, tags and overhead).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn byte_bound_holds_under_concurrent_inserts_through_the_trait() {
    for policy in [Policy::TinyLfu, Policy::Lru] {
        let capacity = 256 << 10;
        let tier: Arc<MemoryTier> = Arc::new(
            MemoryTier::builder()
                .with_capacity_bytes(capacity)
                .with_policy(policy)
                .with_shards(4)
                .build()
                .unwrap(),
        );
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (tier, done) = (tier.clone(), done.clone());
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    assert!(tier.used_bytes() <= capacity);
                    tokio::task::yield_now().await;
                }
            })
        };
        let writers: Vec<_> = (0..8u64)
            .map(|t| {
                let tier = tier.clone();
                tokio::spawn(async move {
                    let mut x = 0x2545_F491_4F6C_DD1Du64 ^ t;
                    for i in 0..2_000u64 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let key = format!("/objects/{}", x % 3_000);
                        let body = vec![(i % 251) as u8; (x >> 40) as usize % 8_192];
                        let entry = Arc::new(
                            Entry::from_body(body).with_surrogate_keys(vec![format!("t{}", x % 7)]),
                        );
                        if tier.get(&key).await.unwrap().is_none() {
                            let stored = tier.insert(&key, entry.clone()).await.unwrap();
                            if stored {
                                // Another task may replace or evict it at once; if it is there, it is whole.
                                if let Some(got) = tier.get(&key).await.unwrap() {
                                    assert!(
                                        got.body
                                            .iter()
                                            .all(|&b| b == got.body.first().copied().unwrap_or(0))
                                    );
                                }
                            }
                        }
                        assert!(tier.used_bytes() <= capacity);
                    }
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
        done.store(true, Ordering::Relaxed);
        sampler.await.unwrap();
        let mut weight = 0;
        tier.cache().for_each(|k, e| weight += e.weight(k));
        assert_eq!(tier.used_bytes(), weight);
        assert!(tier.evictions() > 0);
        let before = tier.len() as u64;
        let purged = tier.purge_tag("t3").await.unwrap();
        assert!(purged <= before);
        let mut tagged = 0;
        tier.cache()
            .for_each(|_, e| tagged += u64::from(e.has_tag("t3")));
        assert_eq!(tagged, 0, "a purge by tag leaves no tagged entry");
    }
}

/// An entry heavier than one shard's share is declined rather than stored or panicking; with one shard the
/// whole capacity is available to a single entry.
#[tokio::test]
async fn sharding_limits_the_heaviest_entry_and_one_shard_lifts_it() {
    let sharded = MemoryTier::builder()
        .with_capacity_bytes(1 << 20)
        .with_shards(4)
        .build()
        .unwrap();
    assert_eq!(sharded.max_entry_bytes(), 256 << 10);
    let big = Arc::new(Entry::from_body(vec![0u8; 600 << 10]));
    assert!(!sharded.insert("/big", big.clone()).await.unwrap());
    assert_eq!(sharded.used_bytes(), 0);
    let single = MemoryTier::builder()
        .with_capacity_bytes(1 << 20)
        .with_shards(1)
        .build()
        .unwrap();
    assert!(single.insert("/big", big).await.unwrap());
    assert!(single.get("/big").await.unwrap().is_some());
}
