//! Unit tests of the W-TinyLFU policy.

use super::*;

fn h(key: u64) -> u64 {
    key.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn insert(cache: &mut TinyLfu<u64, u64>, key: u64, weight: u64) -> Inserted<u64, u64> {
    cache
        .insert_entry(h(key), key, key * 10, weight, |a, b| a == b)
        .0
}

fn get(cache: &mut TinyLfu<u64, u64>, key: u64) -> Option<u64> {
    cache.get(h(key), |k| *k == key).copied()
}

#[test]
fn insert_get_replace_remove() {
    let mut cache = TinyLfu::new(100, 100, false);
    assert!(matches!(insert(&mut cache, 1, 1), Inserted::New));
    assert_eq!(get(&mut cache, 1), Some(10));
    assert!(matches!(
        cache.insert_entry(h(1), 1, 11, 3, |a, b| a == b).0,
        Inserted::Replaced(10)
    ));
    assert_eq!(cache.peek(h(1), |k| *k == 1), Some(&11));
    assert_eq!(cache.weight(), 3);
    assert_eq!(cache.remove(h(1), |k| *k == 1), Some((1, 11)));
    assert_eq!(cache.len(), 0);
    assert_eq!(cache.weight(), 0);
    assert_eq!(get(&mut cache, 1), None);
    cache.check_invariants();
}

#[test]
fn rejects_an_entry_heavier_than_the_bound_and_drops_the_old_value() {
    let mut cache = TinyLfu::new(10, 10, false);
    insert(&mut cache, 1, 2);
    assert!(matches!(
        insert(&mut cache, 1, 11),
        Inserted::Rejected(1, 10)
    ));
    assert_eq!(get(&mut cache, 1), None, "the outdated value is gone");
    assert!(matches!(
        insert(&mut cache, 2, u64::MAX),
        Inserted::Rejected(2, 20)
    ));
    assert_eq!(cache.weight(), 0);
    cache.check_invariants();
}

#[test]
fn never_exceeds_the_bound_with_mixed_weights() {
    let mut cache = TinyLfu::new(1000, 100, true);
    let mut x = 12345u64;
    for _ in 0..50_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = x % 500;
        if get(&mut cache, key).is_none() {
            insert(&mut cache, key, 1 + (x >> 32) % 120);
        }
        assert!(cache.weight() <= 1000);
    }
    cache.check_invariants();
    assert!(cache.evictions() > 0);
}

#[test]
fn frequent_entries_survive_a_scan() {
    let mut cache = TinyLfu::new(100, 100, false);
    for _ in 0..5 {
        for key in 0..50 {
            if get(&mut cache, key).is_none() {
                insert(&mut cache, key, 1);
            }
        }
    }
    // A scan of one-hit keys, five times the cache's size.
    for key in 1_000..1_500 {
        if get(&mut cache, key).is_none() {
            insert(&mut cache, key, 1);
        }
    }
    let survivors = (0..50)
        .filter(|&k| cache.peek(h(k), |x| *x == k).is_some())
        .count();
    assert!(
        survivors >= 45,
        "only {survivors} of 50 hot keys survived the scan"
    );
    cache.check_invariants();
}

#[test]
fn a_loop_larger_than_the_cache_still_hits() {
    // LRU gets 0 hits on a loop of 200 keys through 100 slots; TinyLFU keeps a stable main space.
    let mut cache = TinyLfu::new(100, 100, false);
    let mut hits = 0;
    for _ in 0..50 {
        for key in 0..200 {
            if get(&mut cache, key).is_some() {
                hits += 1;
            } else {
                insert(&mut cache, key, 1);
            }
        }
    }
    assert!(hits > 50 * 200 / 4, "hits {hits}");
    cache.check_invariants();
}

#[test]
fn ghost_feedback_grows_the_window_for_a_recency_workload() {
    // Every key is requested twice, up to 700 steps apart, and never again: the larger the window, the more
    // second requests hit (frequency cannot tell the keys apart).
    let mut cache = TinyLfu::new(1000, 1000, false);
    let start = cache.window_max();
    let access = |cache: &mut TinyLfu<u64, u64>, k: u64| {
        if get(cache, k).is_none() {
            insert(cache, k, 1);
        }
    };
    for i in 0..200_000u64 {
        access(&mut cache, i);
        let distance = (i * 7919) % 700;
        if i >= distance {
            access(&mut cache, i - distance);
        }
    }
    cache.check_invariants();
    assert!(
        cache.window_max() > 300,
        "window {} did not grow from {start}",
        cache.window_max()
    );
}

#[test]
fn recorded_reads_apply_in_order_and_skip_stale_slots() {
    let mut cache = TinyLfu::new(100, 100, false);
    insert(&mut cache, 1, 1);
    insert(&mut cache, 2, 1);
    let (idx1, _) = cache.find_ref(h(1), |k| *k == 1).unwrap();
    let (idx2, _) = cache.find_ref(h(2), |k| *k == 2).unwrap();
    let stale = TinyLfu::<u64, u64>::read_record(idx2, h(2));
    cache.remove(h(2), |k| *k == 2);
    insert(&mut cache, 3, 1); // reuses slot idx2 with another hash
    let before = cache.sketch.frequency(h(1));
    let before_3 = cache.sketch.frequency(h(3));
    cache.record_reads([
        TinyLfu::<u64, u64>::read_record(idx1, h(1)),
        stale,
        TinyLfu::<u64, u64>::read_record(9_999, 0),
    ]);
    assert_eq!(
        cache.sketch.frequency(h(1)),
        before + 1,
        "the live record counts"
    );
    assert_eq!(
        cache.sketch.frequency(h(3)),
        before_3,
        "the stale record does not count for the slot's new key"
    );
    assert_eq!(
        cache.protected.tail, idx1,
        "a recorded hit promotes the probation entry"
    );
    cache.check_invariants();
}

fn replay(cache: &mut TinyLfu<u64, u64>, keys: impl Iterator<Item = u64>) -> (u64, u64) {
    let (mut hits, mut requests) = (0, 0);
    for key in keys {
        requests += 1;
        if get(cache, key).is_some() {
            hits += 1;
        } else {
            insert(cache, key, 1);
        }
    }
    (hits, requests)
}

#[test]
fn a_recency_sweep_hits_as_often_as_lru() {
    // A zigzag over 2,000 keys (0..2000, 1999..0, ...) through 400 slots: every key is as frequent as every
    // other, and the reuse distances are spread evenly, so LRU is optimal (as is a static set of 400 keys).
    // Whatever the window's size, the main space must stay stable beside it.
    let mut cache = TinyLfu::new(400, 400, false);
    let sweep = |i: u64| {
        let phase = i % 4_000;
        if phase < 2_000 { phase } else { 3_999 - phase }
    };
    replay(&mut cache, (0..100_000).map(sweep));
    let (hits, requests) = replay(&mut cache, (100_000..140_000).map(sweep));
    // LRU hits 400 of every 2,000 requests once warm.
    assert!(hits * 100 >= requests * 19, "hits {hits} of {requests}");
    cache.check_invariants();
    assert_eq!(cache.weight(), 400);
}

#[test]
fn the_window_grows_no_more_steps_than_the_cache_has_hit() {
    // The first pass of a zigzag sweep: up through 500 keys (no hit), then back down. On the way down the
    // keys rejected last come back at once, ghost hits that would each grow the window by one step, every
    // step moving one of the main space's keys out to be evicted before the sweep reaches it (the window
    // grew from 1 to 23 here before the rule). Only hits pay for steps.
    let mut cache = TinyLfu::new(100, 100, false);
    let start = cache.window_max();
    let (hits, _) = replay(&mut cache, 0..500);
    assert_eq!(hits, 0);
    let (window_hits, _) = replay(&mut cache, (100..499).rev());
    assert!(
        cache.window_max() <= start + window_hits,
        "window {} grew from {start} on {window_hits} hits",
        cache.window_max()
    );
    cache.check_invariants();

    // The first cycle of a zigzag of 2,000 keys through 400 slots: LRU hits 400 times; the policy 227 times
    // with the rule, 174 without (the window's growth gave away the main space before the sweep came back).
    let mut cache = TinyLfu::new(400, 400, false);
    let sweep = |i: u64| {
        let phase = i % 4_000;
        if phase < 2_000 { phase } else { 3_999 - phase }
    };
    let (hits, requests) = replay(&mut cache, (0..4_000).map(sweep));
    assert!(hits >= 200, "hits {hits} of {requests} in the first cycle");
    cache.check_invariants();
}

#[test]
fn a_loop_keeps_a_stable_main_space() {
    // A loop of 2,000 keys through 400 slots: the best a cache can do is keep a fixed 400 of them (20%).
    // Frequency estimates of equally frequent keys differ by one count depending on whether they were seen
    // since the sketch last aged; admitting on such a lead would churn the main space.
    let mut cache = TinyLfu::new(400, 400, false);
    replay(&mut cache, (0..40_000).map(|i| i % 2_000));
    let (hits, requests) = replay(&mut cache, (0..40_000).map(|i| i % 2_000));
    assert!(hits * 100 >= requests * 18, "hits {hits} of {requests}");
    cache.check_invariants();
}

#[test]
fn admission_needs_a_two_count_lead_over_an_established_victim() {
    let mut cache = TinyLfu::new(100, 100, false);
    insert(&mut cache, 1, 1);
    insert(&mut cache, 2, 1);
    let (c, v) = (
        cache.find_ref(h(1), |k| *k == 1).unwrap().0,
        cache.find_ref(h(2), |k| *k == 2).unwrap().0,
    );
    // Both seen once: a tie goes to the victim.
    assert!(!cache.admit(c, v));
    // A lead of one over a victim seen once (not established) admits.
    cache.sketch.increment(h(1));
    assert!(cache.admit(c, v));
    // Victim seen twice, candidate three times: a one-count lead is not enough.
    cache.sketch.increment(h(2));
    cache.sketch.increment(h(1));
    assert_eq!(cache.sketch.frequency(h(1)), 3);
    assert_eq!(cache.sketch.frequency(h(2)), 2);
    assert!(!cache.admit(c, v));
    cache.sketch.increment(h(1));
    assert!(cache.admit(c, v));
}

#[test]
fn window_resizing_keeps_the_queues_consistent() {
    let mut cache = TinyLfu::new(100, 100, false);
    for key in 0..100 {
        insert(&mut cache, key, 1);
    }
    cache.increase_window(1_000);
    assert_eq!(cache.window_max(), 80, "the main space keeps 20%");
    assert_eq!(cache.protected_max, 0);
    cache.check_invariants();
    cache.decrease_window(1_000);
    assert_eq!(cache.window_max(), 1);
    assert_eq!(
        cache.protected_max + cache.probation_floor + cache.window_max(),
        100
    );
    cache.check_invariants();
}

#[test]
fn a_ghost_tells_how_long_ago_a_hash_left() {
    let mut ghost = Ghost::default();
    assert_eq!(ghost.take(h(1)), None);
    ghost.push(h(1), 1_000);
    for key in 100..110 {
        ghost.push(h(key), 1_000);
    }
    assert_eq!(ghost.take(h(1)), Some(10));
    assert_eq!(ghost.take(h(1)), None, "a hit forgets the hash");
    assert_eq!(ghost.take(h(109)), Some(0));
    assert_eq!(ghost.take(h(2)), None);
}

#[test]
fn retain_and_clear() {
    let mut cache = TinyLfu::new(100, 100, false);
    for key in 0..50 {
        insert(&mut cache, key, 1);
    }
    assert_eq!(cache.retain(|k, _| k % 2 == 0), 25);
    assert_eq!(cache.len(), 25);
    let mut seen = 0;
    cache.for_each(|k, v| {
        assert_eq!(k % 2, 0);
        assert_eq!(*v, k * 10);
        seen += 1;
    });
    assert_eq!(seen, 25);
    cache.check_invariants();
    cache.clear();
    assert_eq!(cache.len(), 0);
    assert_eq!(cache.weight(), 0);
    insert(&mut cache, 7, 1);
    assert_eq!(get(&mut cache, 7), Some(70));
    cache.check_invariants();
}
