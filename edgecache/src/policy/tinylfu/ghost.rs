//! Ghost feedback: the hashes of recently rejected candidates and evicted victims, and the window resizing
//! their hits ask for (see the [parent module's docs](super)).

use super::{CANDIDATE_GHOST_DIVISOR, Evicted, GHOST_MAX_FREQUENCY, GHOST_REACH_WINDOWS, TinyLfu};

/// The bits of a hash a ghost slot keeps.
pub(super) const FINGERPRINT: u64 = 0xFFFF_FFFF_0000_0000;

/// Recently evicted keys' hashes, in a direct-mapped table of ¾ as many slots as the cache holds entries:
/// a newer hash overwrites an older one in its slot, so a hash is remembered for about that many evictions
/// (fewer when it collides), with no allocation or hashing per eviction. Each slot holds the top 32 bits of
/// the hash and the number of pushes before it, so a hit also tells how many evictions ago the key left.
#[derive(Debug, Default)]
pub(super) struct Ghost {
    pub(super) table: Vec<u64>,
    pub(super) pushes: u32,
}

impl Ghost {
    #[inline]
    fn slot(&self, hash: u64) -> usize {
        // Multiply-shift range reduction of 32 mixed bits onto the table.
        (((hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) * self.table.len() as u64) >> 32)
            as usize
    }

    /// Remembers `hash`, in a table sized for `cap` entries (grown, forgetting, when `cap` outgrows it).
    pub(super) fn push(&mut self, hash: u64, cap: usize) {
        // Three slots for four entries: with overwrites, a hash survives on average somewhat fewer evictions than
        // `cap` (remembering longer grows the window too eagerly on frequency-biased traces such as P3).
        let size = (cap / 4 * 3).clamp(16, 1 << 30);
        if self.table.len() < size {
            self.table = vec![0; size];
        }
        let slot = self.slot(hash);
        self.pushes = self.pushes.wrapping_add(1);
        self.table[slot] = (hash & FINGERPRINT) | u64::from(self.pushes);
    }

    /// If `hash` is remembered, forgets it and returns how many pushes ago it was remembered (0: the last one).
    pub(super) fn take(&mut self, hash: u64) -> Option<u32> {
        if self.table.is_empty() {
            return None;
        }
        let slot = self.slot(hash);
        let entry = self.table[slot];
        if entry == 0 || entry & FINGERPRINT != hash & FINGERPRINT {
            return None;
        }
        self.table[slot] = 0;
        Some(self.pushes.wrapping_sub(entry as u32))
    }
}

impl<K, V> TinyLfu<K, V> {
    pub(super) fn evict_slot(&mut self, idx: u32, why: Evicted) {
        let hash = self.slots[idx as usize].hash;
        self.remove_slot(idx);
        self.evictions += 1;
        {
            let cap = self.ghost_cap.max(self.len).max(1);
            match why {
                Evicted::Candidate => self
                    .candidate_ghost
                    .push(hash, cap / CANDIDATE_GHOST_DIVISOR),
                Evicted::Victim => self.victim_ghost.push(hash, cap),
            }
        }
    }

    /// ARC-like feedback: a miss on a recently rejected candidate says the window is too small, a miss on a
    /// recently evicted victim says it is too large.
    pub(super) fn ghost_feedback(&mut self, hash: u64, weight: u64) {
        let rare = self.sketch.frequency(hash) <= GHOST_MAX_FREQUENCY;
        let rejected = if rare {
            self.candidate_ghost.take(hash)
        } else {
            None
        };
        if let Some(age) = rejected {
            // The window's entries, estimated from its share of the weight.
            let window_entries = (self.len as u64 * self.window_weight)
                .checked_div(self.weight)
                .unwrap_or(0)
                .max(1);
            // Each growth step needs a reuse of its own (see the module docs): a cache that has hit less often
            // than the window grew has no evidence that the main entries the window takes are worth less.
            if u64::from(age) < GHOST_REACH_WINDOWS * window_entries
                && self.growth_steps < self.reuses
            {
                self.growth_steps += 1;
                self.increase_window(weight);
            }
        } else if self.victim_ghost.take(hash).is_some() {
            self.decrease_window(weight);
        }
    }
}
