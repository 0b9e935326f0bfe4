//! The ghost tables: the hashes of recently rejected candidates and evicted victims (the feedback their hits
//! give the window is in `window.rs`).

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
