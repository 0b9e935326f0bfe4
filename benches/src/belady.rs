//! Belady's optimal replacement (MIN) for unit-weight entries: on a miss with a full cache, evict whichever
//! entry (the incoming one included) is next requested farthest in the future. O(n log n) over the trace.

use std::collections::BinaryHeap;

/// The number of hits Belady's MIN gets on `keys` (dense ids below `distinct`) with room for `capacity` entries.
pub fn belady_hits(keys: &[u32], distinct: usize, capacity: usize) -> u64 {
    let n = keys.len();
    if capacity == 0 || n == 0 {
        return 0;
    }
    // next[i]: where keys[i] is requested next, or n + i when never (distinct, larger than any position).
    let mut next = vec![0usize; n];
    let mut last = vec![usize::MAX; distinct];
    for i in (0..n).rev() {
        let k = keys[i] as usize;
        next[i] = if last[k] == usize::MAX {
            n + i
        } else {
            last[k]
        };
        last[k] = i;
    }
    drop(last);
    let key_at = |p: usize| keys[if p >= n { p - n } else { p }] as usize;
    let mut cached = vec![false; distinct];
    let mut len = 0usize;
    // Next-use positions of cached keys. An entry goes stale when its position is reached (the key was hit and
    // pushed its following use); stale entries are at most the current position, while live ones are beyond it,
    // so the maximum is always live when the cache is full.
    let mut heap = BinaryHeap::with_capacity(capacity * 2);
    let mut hits = 0;
    for i in 0..n {
        let k = keys[i] as usize;
        if cached[k] {
            hits += 1;
            heap.push(next[i]);
        } else if len < capacity {
            cached[k] = true;
            len += 1;
            heap.push(next[i]);
        } else if let Some(&farthest) = heap.peek() {
            if next[i] < farthest {
                heap.pop();
                cached[key_at(farthest)] = false;
                cached[k] = true;
                heap.push(next[i]);
            }
            // Otherwise the incoming key is the one used farthest ahead: it is not cached.
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exhaustive MIN for tiny traces: try every eviction choice.
    fn brute(keys: &[u32], cache: &mut Vec<u32>, capacity: usize) -> u64 {
        let Some((&k, rest)) = keys.split_first() else {
            return 0;
        };
        if cache.contains(&k) {
            return 1 + brute(rest, cache, capacity);
        }
        if cache.len() < capacity {
            cache.push(k);
            let h = brute(rest, cache, capacity);
            cache.pop();
            return h;
        }
        let mut best = brute(rest, cache, capacity); // bypass
        for slot in 0..cache.len() {
            let old = std::mem::replace(&mut cache[slot], k);
            best = best.max(brute(rest, cache, capacity));
            cache[slot] = old;
        }
        best
    }

    #[test]
    fn matches_exhaustive_search_on_small_traces() {
        let mut x = 99u64;
        for trial in 0..200 {
            let len = 4 + trial % 9;
            let keys: Vec<u32> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 5) as u32
                })
                .collect();
            for capacity in 1..4 {
                assert_eq!(
                    belady_hits(&keys, 5, capacity),
                    brute(&keys, &mut Vec::new(), capacity),
                    "{keys:?}"
                );
            }
        }
    }

    #[test]
    fn a_loop_keeps_capacity_minus_one_of_every_pass() {
        // A loop of 10 keys through 4 slots: MIN hits 3 of every 10 requests after the first pass (roughly).
        let keys: Vec<u32> = (0..1000).map(|i| i % 10).collect();
        let hits = belady_hits(&keys, 10, 4);
        assert!((300..=400).contains(&hits), "{hits}");
        assert_eq!(belady_hits(&keys, 10, 10), 990);
        assert_eq!(belady_hits(&keys, 10, 0), 0);
    }
}
