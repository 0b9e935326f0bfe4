//! The adaptive window: the ghost feedback that moves its share of the weight (evictions remembered in the
//! ghosts, misses on them growing or shrinking the window), entries moved between the window and the main
//! space, and protected overflow demoted to probation.

use super::arena::{NIL, Queue};
use super::{
    CANDIDATE_GHOST_DIVISOR, Evicted, GHOST_MAX_FREQUENCY, GHOST_REACH_WINDOWS, MIN_MAIN_PERCENT,
    QUEUE_TRANSFER_THRESHOLD, TinyLfu,
};

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

impl<K, V> TinyLfu<K, V> {
    pub(super) fn demote_from_main_protected(&mut self) {
        if self.protected_weight <= self.protected_max {
            return;
        }
        for _ in 0..QUEUE_TRANSFER_THRESHOLD {
            if self.protected_weight <= self.protected_max {
                break;
            }
            let demoted = self.protected.head;
            if demoted == NIL {
                break;
            }
            self.unlink(demoted);
            self.push_back(Queue::Probation, demoted);
            self.protected_weight -= u64::from(self.slots[demoted as usize].weight);
        }
    }

    /// Sets the window's maximum; the main space gets the rest, of which probation keeps its floor (or all of
    /// it, once the window has taken everything else) and the protected queue the remainder.
    pub(super) fn set_window_max(&mut self, window_max: u64) {
        self.window_max = window_max;
        self.protected_max = (self.max - window_max).saturating_sub(self.probation_floor);
    }

    /// Grows the window by up to `amount` weight (leaving the main space at least [`MIN_MAIN_PERCENT`]), moving
    /// entries from probation's LRU end, then protected's, to the window's LRU end: they are older than anything
    /// in the window, and keep their place in recency order (Caffeine appends them at the MRU end, which gives
    /// the main space's least valuable entries a whole window's worth of extra life).
    pub(super) fn increase_window(&mut self, amount: u64) {
        let min_main = (MIN_MAIN_PERCENT * self.max as f64).ceil() as u64;
        let limit = self.max.saturating_sub(min_main);
        if self.window_max >= limit {
            return;
        }
        let mut quota = amount.min(limit - self.window_max);
        let target = self.window_max + quota;
        self.set_window_max(target);
        self.demote_from_main_protected();
        // Moved entries go before the window's oldest entry, in their order.
        let oldest = self.window.head;
        for _ in 0..QUEUE_TRANSFER_THRESHOLD {
            let mut candidate = self.probation.head;
            let mut probation = true;
            if candidate == NIL || quota < u64::from(self.slots[candidate as usize].weight) {
                candidate = self.protected.head;
                probation = false;
            }
            if candidate == NIL {
                break;
            }
            let weight = u64::from(self.slots[candidate as usize].weight);
            if quota < weight {
                break;
            }
            quota -= weight;
            if !probation {
                self.protected_weight -= weight;
            }
            self.unlink(candidate);
            self.insert_before(Queue::Window, oldest, candidate);
            self.window_weight += weight;
        }
        // The window grows only by what moved (nothing while the cache is filling).
        self.set_window_max(target - quota);
    }

    /// Shrinks the window by up to `amount` weight (to no less than 1), moving its LRU entries to probation.
    pub(super) fn decrease_window(&mut self, amount: u64) {
        if self.window_max <= 1 {
            return;
        }
        let mut quota = amount.min(self.window_max - 1);
        let target = self.window_max - quota;
        self.set_window_max(target);
        for _ in 0..QUEUE_TRANSFER_THRESHOLD {
            let candidate = self.window.head;
            if candidate == NIL {
                break;
            }
            let weight = u64::from(self.slots[candidate as usize].weight);
            if quota < weight {
                break;
            }
            quota -= weight;
            self.window_weight -= weight;
            self.unlink(candidate);
            self.push_back(Queue::Probation, candidate);
        }
        self.set_window_max(target + quota);
    }
}
