//! A count-min sketch of 4-bit counters that estimates how often a key was seen (TinyLFU's frequency filter).
//!
//! The layout follows Caffeine's `FrequencySketch`: each key maps to one 64-byte block of eight `u64` words
//! and to four 4-bit counters inside that block (one per pair of words), so an increment or a lookup touches a
//! single cache line. When the number of increments reaches the sample size (ten times the number of entries
//! the sketch is sized for) every counter is halved, which ages old popularity away.

/// Counters saturate at 15.
const MAX_COUNT: u64 = 15;
/// The low bit of every 4-bit counter.
const ONE_MASK: u64 = 0x1111_1111_1111_1111;
/// Every counter bit but the top one of each nibble, applied after a shift right by one.
const RESET_MASK: u64 = 0x7777_7777_7777_7777;

/// A frequency sketch sized for a number of entries.
#[derive(Debug, Clone)]
pub(crate) struct FrequencySketch {
    table: Vec<u64>,
    block_mask: u64,
    sample_size: u64,
    size: u64,
}

impl FrequencySketch {
    /// A sketch sized for `entries` entries (at least 8 words).
    pub(crate) fn new(entries: usize) -> Self {
        let mut sketch = Self {
            table: Vec::new(),
            block_mask: 0,
            sample_size: 10,
            size: 0,
        };
        sketch.ensure_capacity(entries);
        sketch
    }

    /// Grows the table to suit `entries` entries. Growing forgets the counts (as in Caffeine); shrinking never
    /// happens.
    pub(crate) fn ensure_capacity(&mut self, entries: usize) {
        let entries = entries.clamp(1, 1 << 28);
        let words = entries.next_power_of_two().max(8);
        if self.table.len() >= words {
            return;
        }
        self.table = vec![0; words];
        self.block_mask = ((words >> 3) - 1) as u64;
        self.sample_size = 10 * entries as u64;
        self.size = 0;
    }

    /// The number of entries the sketch is sized for (its word count).
    pub(crate) fn capacity(&self) -> usize {
        self.table.len()
    }

    /// How many increments make a sample (after which counters are halved).
    #[cfg(test)]
    pub(crate) fn sample_size(&self) -> u64 {
        self.sample_size
    }

    /// The word and nibble of each of the four counters of `hash`.
    #[inline]
    fn slots(&self, hash: u64) -> [(usize, u32); 4] {
        // Mix, since the cache's shard index and hash table consumed some of the raw hash's bits.
        let block_hash = mix(hash);
        let counter_hash = mix(block_hash ^ 0x5851_F42D_4C95_7F2D);
        let block = ((block_hash & self.block_mask) << 3) as usize;
        let mut out = [(0, 0); 4];
        for (i, slot) in out.iter_mut().enumerate() {
            let h = counter_hash >> (i << 3);
            let index = ((h >> 1) & 15) as u32;
            let offset = (h & 1) as usize;
            *slot = (block + offset + (i << 1), index);
        }
        out
    }

    /// The estimated number of times `hash` was seen since the counters were last aged (0 to 15).
    #[inline]
    pub(crate) fn frequency(&self, hash: u64) -> u8 {
        let mut freq = MAX_COUNT;
        for (word, index) in self.slots(hash) {
            let count = (self.table[word] >> (index << 2)) & MAX_COUNT;
            freq = freq.min(count);
        }
        freq as u8
    }

    /// Records one occurrence of `hash`, ageing all counters when a sample is complete.
    #[inline]
    pub(crate) fn increment(&mut self, hash: u64) {
        let mut added = false;
        for (word, index) in self.slots(hash) {
            let shift = index << 2;
            let mask = MAX_COUNT << shift;
            if self.table[word] & mask != mask {
                self.table[word] += 1 << shift;
                added = true;
            }
        }
        if added {
            self.size += 1;
            if self.size >= self.sample_size {
                self.reset();
            }
        }
    }

    /// Halves every counter.
    fn reset(&mut self) {
        let mut odd = 0u64;
        for word in &mut self.table {
            odd += u64::from((*word & ONE_MASK).count_ones());
            *word = (*word >> 1) & RESET_MASK;
        }
        self.size = self.size.saturating_sub(odd >> 2) >> 1;
    }
}

/// A 64-bit finalizer (SplitMix64's).
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_increments_and_saturates() {
        let mut sketch = FrequencySketch::new(1024);
        assert_eq!(sketch.frequency(42), 0);
        for expected in 1..=15 {
            sketch.increment(42);
            assert_eq!(sketch.frequency(42), expected);
        }
        sketch.increment(42);
        assert_eq!(sketch.frequency(42), 15);
    }

    #[test]
    fn distinguishes_hot_from_cold_keys() {
        let mut sketch = FrequencySketch::new(512);
        for key in 0..256u64 {
            let hash = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let times = if key < 16 { 10 } else { 1 };
            for _ in 0..times {
                sketch.increment(hash);
            }
        }
        let freq = |key: u64| sketch.frequency(key.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let hot_min = (0..16).map(freq).min().unwrap();
        let cold_mean = (16..256).map(|k| u32::from(freq(k))).sum::<u32>() / 240;
        assert!(hot_min >= 10, "hot keys keep their counts: {hot_min}");
        assert!(cold_mean <= 2, "cold keys stay cold: {cold_mean}");
    }

    #[test]
    fn ages_counts_after_a_sample() {
        let mut sketch = FrequencySketch::new(8);
        let sample = sketch.sample_size();
        for _ in 0..12 {
            sketch.increment(7);
        }
        assert_eq!(sketch.frequency(7), 12);
        // Fill the rest of the sample with other keys; the counters are then halved.
        let mut key = 1000u64;
        loop {
            let before = sketch.size;
            sketch.increment(key);
            key += 1;
            if sketch.size < before {
                break;
            }
            assert!(key < 1000 + 2 * sample, "no reset after a full sample");
        }
        assert!(sketch.frequency(7) <= 6, "halved: {}", sketch.frequency(7));
    }

    #[test]
    fn growing_resets_and_resizes() {
        let mut sketch = FrequencySketch::new(8);
        sketch.increment(1);
        sketch.ensure_capacity(4096);
        assert_eq!(sketch.capacity(), 4096);
        assert_eq!(sketch.sample_size(), 40960);
        assert_eq!(sketch.frequency(1), 0);
        sketch.ensure_capacity(16);
        assert_eq!(sketch.capacity(), 4096, "never shrinks");
    }
}
