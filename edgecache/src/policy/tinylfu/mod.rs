//! W-TinyLFU with an adaptive window: the admission and eviction policy of one shard.
//!
//! The design is Caffeine's (Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache Admission
//! Policy", and "Adaptive Software Cache Management", Middleware'18), with ARC-like ghost feedback in place of
//! Caffeine's hill climber:
//!
//! - New entries enter a small LRU *window* (1% of the weight at first).
//! - Entries leaving the window become *candidates* for the main space, a segmented LRU of *probation* and
//!   *protected* queues (protected starts at 80% of the main space). A hit in probation promotes to protected;
//!   protected overflow is demoted back to probation.
//! - When the cache is over its bound, a candidate competes with the *victim* at probation's LRU end; the one
//!   with the lower estimated frequency ([`FrequencySketch`]) is evicted. This is what makes the policy scan
//!   resistant: a scan or a loop larger than the cache cannot flush the main space. Ties go to the victim, and
//!   so does a lead of one count over a victim estimated at least [`ESTABLISHED_FREQUENCY`] (2): the sketch
//!   halves every counter once per sample, so of two equally frequent keys the one seen since the last halving
//!   leads the other by one until it is seen too. On a loop or a sweep the candidate (just seen) always has that
//!   lead over the victim (next in line), and admitting on it replaced main entries just before their reuse,
//!   over and over. A victim seen at most once since it aged is still replaced by any more frequent candidate.
//!   A candidate at least as frequent as [`ADMIT_HASHDOS_THRESHOLD`] is admitted at random 1 time in 128, so an
//!   attacker cannot pin a victim by colliding its hash.
//! - Ghost feedback sizes the window: the hashes of recently rejected candidates and of recently evicted victims
//!   are remembered in two direct-mapped tables (the victims' as many as ¾ of the cache's entries, the
//!   candidates' half that). A miss on a rare key (sketch frequency at most [`GHOST_MAX_FREQUENCY`], 2) that was
//!   rejected as a candidate means the window was too small for it, and grows the window by that entry's
//!   weight; a miss on an evicted victim shrinks it likewise. The frequency gate keeps frequent keys (which
//!   TinyLFU admits anyway) from inflating the window into an LRU, and the smaller candidate table counts only
//!   the keys that come back soon after their rejection: within [`GHOST_REACH_WINDOWS`] (32) windows' worth of
//!   rejections, as the table records when each hash came in. The window grows up to 80% of the weight (the
//!   protected queue gives up its share; see [`MIN_MAIN_PERCENT`]); the entries it takes from the main space
//!   join it at its LRU end, in their order.
//! - The window grows by no more steps than the cache has had hits (accesses to present entries, counted where
//!   the policy applies them, when the read buffer drains, not on the hit path itself). Each growth step moves
//!   a main-space entry into the window, where on a sweep it is evicted before the sweep comes back to it;
//!   before the cache has hit, nothing says the main space's entries are worth less than the window's. (The
//!   rule matters on sweeps such as `lirs-zigzag`, whose rejected keys come back at once; the measured effect
//!   is in `benches/README.md`, "W-TinyLFU: what each part is worth".)
//!
//! Caffeine also samples the hit rate every `10 × entries` requests and climbs toward the window size that
//! improved it. We measured it on the traces of `benches/README.md` and removed it: the ghost feedback moves the
//! window within a few hundred misses, and the climber's samples (a few per trace at these lengths, each moved
//! by the ghosts' own changes) only added noise.
//!
//! The sketch is sized for at least 896 entries, so a small cache still tells a loop or a scan longer than
//! itself from new keys, and ages its counts slowly enough (every 8,960 increments or more) that equally
//! frequent keys keep equal estimates over a loop of a few thousand keys.
//!
//! What each part is worth (hit ratios with one part changed at a time, and the figures quoted above) is
//! measured in `benches/README.md`, section "W-TinyLFU: what each part is worth": the ghost feedback is the
//! fragile part, and the admission margin is what lets a static main space do as well as LRU on sweeps.
//!
//! Entries live in an arena indexed by `u32`, linked into intrusive doubly linked queues (`arena.rs`, operated
//! on in `queues.rs`); the hash table holds only arena indices, so each key is stored once. The ghost tables
//! are in `ghost.rs`, the feedback and the window's resizing in `window.rs`.

mod arena;
mod ghost;
mod queues;
mod window;

use hashbrown::HashTable;

use self::arena::{Deque, NIL, Queue, Slot};
use self::ghost::Ghost;
use super::sketch::FrequencySketch;

/// The initial share of the weight given to the main space (the window gets the rest).
const PERCENT_MAIN: f64 = 0.99;
/// The share of the main space given to the protected queue.
const PERCENT_MAIN_PROTECTED: f64 = 0.80;
/// The least share of the weight the main space keeps when the window grows (Caffeine's bound: the protected
/// queue gives up its share, probation keeps its own). A window of 99% (LRU) costs `arc-OLTP` at 1% 1.1 points
/// and helps no trace.
const MIN_MAIN_PERCENT: f64 = 0.20;
/// The most entries moved between queues at once when the window is resized.
const QUEUE_TRANSFER_THRESHOLD: usize = 1_000;
/// Candidates at least this frequent are admitted over a victim they do not beat 1 time in 128.
pub(crate) const ADMIT_HASHDOS_THRESHOLD: u8 = 6;
/// A victim at least this frequent is replaced only by a candidate at least two counts more frequent: a lead of
/// one count over an established entry is within the noise of the sketch's ageing (see the module docs).
const ESTABLISHED_FREQUENCY: u8 = 2;

/// The frequency sketch is sized for at least this many entries, so that a small cache still remembers keys
/// over a few thousand requests (a loop or scan longer than the cache otherwise looks like new keys only).
const MIN_SKETCH_ENTRIES: usize = 896;
/// A miss on a recently rejected candidate grows the window only if the key is this rare: a frequent key gets
/// admitted by frequency anyway, a rare one only by recency.
const GHOST_MAX_FREQUENCY: u8 = 2;
/// The candidate ghost remembers this many times fewer hashes than the victim ghost, so that the window grows
/// only for keys that come back soon after their rejection.
const CANDIDATE_GHOST_DIVISOR: usize = 2;
/// A rejected candidate that comes back grows the window only if fewer than this many windows' worth of
/// candidates were rejected since: a window a few times larger would have kept it, a much larger one is not
/// a step the window can take.
const GHOST_REACH_WINDOWS: u64 = 32;

/// Why an entry left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Evicted {
    Candidate,
    Victim,
}

/// The outcome of an insert.
#[derive(Debug)]
pub(crate) enum Inserted<K, V> {
    /// The key is new.
    New,
    /// The key was present; this is the value it replaced.
    Replaced(V),
    /// The entry is heavier than the whole shard; it was not stored (and any previous entry for the key was
    /// removed, so the cache never serves an outdated value).
    Rejected(K, V),
}

/// A W-TinyLFU cache of bounded weight, single threaded (the concurrent cache shards and locks it).
#[derive(Debug)]
pub(crate) struct TinyLfu<K, V> {
    table: HashTable<u32>,
    slots: Vec<Slot<K, V>>,
    free: Vec<u32>,
    window: Deque,
    probation: Deque,
    protected: Deque,
    sketch: FrequencySketch,
    /// Whether the sketch grows with the entry count (when the caller did not know how many entries to expect).
    grow_sketch: bool,
    len: usize,
    max: u64,
    window_max: u64,
    protected_max: u64,
    weight: u64,
    window_weight: u64,
    protected_weight: u64,
    /// What probation keeps when the window grows: the protected queue gives its share first.
    probation_floor: u64,
    candidate_ghost: Ghost,
    victim_ghost: Ghost,
    ghost_cap: usize,
    rng: u64,
    evictions: u64,
    /// Accesses to present entries applied so far (hits and replacements of a present key).
    reuses: u64,
    /// Steps the candidate ghost has grown the window by; never more than `reuses` (see the module docs).
    growth_steps: u64,
}

impl<K, V> TinyLfu<K, V> {
    /// A cache bounded by `max` weight whose sketch is sized for `entries` entries; with `grow_sketch` the
    /// sketch grows when the cache holds more entries than that.
    pub(crate) fn new(max: u64, entries: usize, grow_sketch: bool) -> Self {
        let window_max = max - (PERCENT_MAIN * max as f64) as u64;
        let main = max - window_max;
        let protected_max = (PERCENT_MAIN_PROTECTED * main as f64) as u64;
        Self {
            table: HashTable::new(),
            slots: Vec::new(),
            free: Vec::new(),
            window: Deque::EMPTY,
            probation: Deque::EMPTY,
            protected: Deque::EMPTY,
            sketch: FrequencySketch::new(entries.max(MIN_SKETCH_ENTRIES)),
            candidate_ghost: Ghost::default(),
            victim_ghost: Ghost::default(),
            ghost_cap: entries / 2,
            grow_sketch,
            len: 0,
            max,
            window_max,
            protected_max,
            probation_floor: main - protected_max,
            weight: 0,
            window_weight: 0,
            protected_weight: 0,
            rng: 0x2545_F491_4F6C_DD1D ^ max,
            evictions: 0,
            reuses: 0,
            growth_steps: 0,
        }
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The total weight of the entries.
    pub(crate) fn weight(&self) -> u64 {
        self.weight
    }

    /// The weight bound.
    pub(crate) fn max_weight(&self) -> u64 {
        self.max
    }

    /// The number of entries evicted for room (not removed by the caller).
    pub(crate) fn evictions(&self) -> u64 {
        self.evictions
    }

    /// The window's current maximum weight (moved by the ghost feedback).
    #[cfg(test)]
    pub(crate) fn window_max(&self) -> u64 {
        self.window_max
    }

    fn find(&self, hash: u64, mut eq: impl FnMut(&K) -> bool) -> Option<u32> {
        self.table
            .find(hash, |&i| match &self.slots[i as usize].entry {
                Some((k, _)) => eq(k),
                None => false,
            })
            .copied()
    }

    /// Looks a key up, recording the access (a hit feeds the sketch and the queues).
    #[inline]
    pub(crate) fn get(&mut self, hash: u64, eq: impl FnMut(&K) -> bool) -> Option<&V> {
        let idx = self.find(hash, eq)?;
        self.on_access(idx);
        self.demote_from_main_protected();
        self.slots[idx as usize].entry.as_ref().map(|(_, v)| v)
    }

    /// Looks a key up without recording an access; returns its slot (for [`record_reads`](Self::record_reads))
    /// and value.
    #[inline]
    pub(crate) fn find_ref(&self, hash: u64, eq: impl FnMut(&K) -> bool) -> Option<(u32, &V)> {
        let idx = self.find(hash, eq)?;
        self.slots[idx as usize]
            .entry
            .as_ref()
            .map(|(_, v)| (idx, v))
    }

    /// Applies hits recorded by [`read_record`](Self::read_record) since then, in order. A record whose slot was
    /// freed or reused meanwhile (the hash no longer matches) is skipped.
    pub(crate) fn record_reads(&mut self, records: impl IntoIterator<Item = u64>) {
        let mut any = false;
        for record in records {
            let idx = (record >> 32) as u32;
            let Some(slot) = self.slots.get(idx as usize) else {
                continue;
            };
            if slot.entry.is_none() || slot.hash as u32 != record as u32 {
                continue;
            }
            self.on_access(idx);
            any = true;
        }
        if any {
            self.demote_from_main_protected();
        }
    }

    /// A hit on slot `idx` of key `hash`, packed for a read buffer.
    #[inline]
    pub(crate) fn read_record(idx: u32, hash: u64) -> u64 {
        (u64::from(idx) << 32) | (hash & 0xFFFF_FFFF)
    }

    /// Looks a key up without recording an access.
    pub(crate) fn peek(&self, hash: u64, eq: impl FnMut(&K) -> bool) -> Option<&V> {
        let idx = self.find(hash, eq)?;
        self.slots[idx as usize].entry.as_ref().map(|(_, v)| v)
    }

    /// Inserts or replaces an entry of `weight`, then evicts down to the bound; returns whether the entry is
    /// cached afterwards.
    pub(crate) fn insert(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        weight: u64,
        eq: impl FnMut(&K, &K) -> bool,
    ) -> bool {
        match self.insert_entry(hash, key, value, weight, eq) {
            (Inserted::Rejected(..), _) => false,
            (_, idx) => {
                self.slots[idx as usize].entry.is_some() && self.slots[idx as usize].hash == hash
            }
        }
    }

    /// [`insert`](Self::insert), returning the outcome and the entry's slot (meaningless when rejected).
    pub(crate) fn insert_entry(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        weight: u64,
        mut eq: impl FnMut(&K, &K) -> bool,
    ) -> (Inserted<K, V>, u32) {
        let existing = self.find(hash, |k| eq(k, &key));
        if weight > self.max || weight > u64::from(u32::MAX) {
            if let Some(idx) = existing {
                self.remove_slot(idx);
            }
            return (Inserted::Rejected(key, value), NIL);
        }
        let weight = weight as u32;
        if let Some(idx) = existing {
            let slot = &mut self.slots[idx as usize];
            let old_weight = u64::from(slot.weight);
            slot.weight = weight;
            let old = match slot.entry.as_mut() {
                Some(entry) => std::mem::replace(&mut entry.1, value),
                None => unreachable!("a slot in the table is live"),
            };
            let queue = slot.queue;
            let new_weight = u64::from(weight);
            self.weight = self.weight - old_weight + new_weight;
            match queue {
                Queue::Window => self.window_weight = self.window_weight - old_weight + new_weight,
                Queue::Protected => {
                    self.protected_weight = self.protected_weight - old_weight + new_weight
                }
                Queue::Probation => {}
            }
            self.on_access(idx);
            self.demote_from_main_protected();
            self.evict();
            return (Inserted::Replaced(old), idx);
        }
        self.ghost_feedback(hash, u64::from(weight));
        let idx = self.alloc(hash, key, value, weight);
        let slots = &self.slots;
        self.table
            .insert_unique(hash, idx, |&i| slots[i as usize].hash);
        self.len += 1;
        self.weight += u64::from(weight);
        self.window_weight += u64::from(weight);
        self.push_back(Queue::Window, idx);
        if self.grow_sketch && self.len > self.sketch.capacity() {
            self.sketch.ensure_capacity(self.len.saturating_mul(2));
        }
        self.sketch.increment(hash);
        self.evict();
        (Inserted::New, idx)
    }

    /// Removes a key, returning its entry.
    pub(crate) fn remove(&mut self, hash: u64, eq: impl FnMut(&K) -> bool) -> Option<(K, V)> {
        let idx = self.find(hash, eq)?;
        Some(self.remove_slot(idx))
    }

    /// Keeps only the entries for which `keep` returns true; returns how many were removed.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) -> usize {
        let mut doomed = Vec::new();
        for (i, slot) in self.slots.iter().enumerate() {
            if let Some((k, v)) = &slot.entry {
                if !keep(k, v) {
                    doomed.push(i as u32);
                }
            }
        }
        for &idx in &doomed {
            self.remove_slot(idx);
        }
        doomed.len()
    }

    /// Calls `f` for each entry, in no particular order.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&K, &V)) {
        for slot in &self.slots {
            if let Some((k, v)) = &slot.entry {
                f(k, v);
            }
        }
    }

    /// Removes every entry (keeping the sketch, the ghosts and the window's size).
    pub(crate) fn clear(&mut self) {
        self.table.clear();
        self.slots.clear();
        self.free.clear();
        self.window = Deque::EMPTY;
        self.probation = Deque::EMPTY;
        self.protected = Deque::EMPTY;
        self.len = 0;
        self.weight = 0;
        self.window_weight = 0;
        self.protected_weight = 0;
    }

    fn on_access(&mut self, idx: u32) {
        let (hash, queue, weight) = {
            let s = &self.slots[idx as usize];
            (s.hash, s.queue, u64::from(s.weight))
        };
        self.sketch.increment(hash);
        self.reuses += 1;
        match queue {
            Queue::Window => self.move_to_back(Queue::Window, idx),
            Queue::Protected => self.move_to_back(Queue::Protected, idx),
            Queue::Probation => {
                if weight > self.protected_max {
                    self.move_to_back(Queue::Probation, idx);
                } else {
                    // The caller demotes protected overflow right after this access.
                    self.unlink(idx);
                    self.push_back(Queue::Protected, idx);
                    self.protected_weight += weight;
                }
            }
        }
    }

    /// Evicts down to the bound: the window's overflow becomes candidates that compete with probation's victims.
    fn evict(&mut self) {
        let first = self.evict_from_window();
        self.evict_from_main(first);
    }

    /// Moves the window's LRU entries over its maximum to probation's MRU end; returns the first one moved.
    fn evict_from_window(&mut self) -> u32 {
        let mut first = NIL;
        let mut node = self.window.head;
        while self.window_weight > self.window_max && node != NIL {
            let next = self.slots[node as usize].next;
            let weight = u64::from(self.slots[node as usize].weight);
            self.unlink(node);
            self.push_back(Queue::Probation, node);
            self.window_weight -= weight;
            if first == NIL {
                first = node;
            }
            node = next;
        }
        first
    }

    fn evict_from_main(&mut self, mut candidate: u32) {
        let mut victim_queue = Queue::Probation;
        let mut candidate_queue = Queue::Probation;
        let mut victim = self.probation.head;
        while self.weight > self.max {
            // Search the window for more candidates.
            if candidate == NIL && candidate_queue == Queue::Probation {
                candidate = self.window.head;
                candidate_queue = Queue::Window;
            }
            // Try evicting from the protected queue, then the window.
            if candidate == NIL && victim == NIL {
                match victim_queue {
                    Queue::Probation => {
                        victim = self.protected.head;
                        victim_queue = Queue::Protected;
                        continue;
                    }
                    Queue::Protected => {
                        victim = self.window.head;
                        victim_queue = Queue::Window;
                        continue;
                    }
                    Queue::Window => break,
                }
            }
            // Evict at once if only one of them is present.
            if victim == NIL {
                let evict = candidate;
                candidate = self.slots[candidate as usize].next;
                self.evict_slot(evict, Evicted::Candidate);
                continue;
            } else if candidate == NIL {
                let evict = victim;
                victim = self.slots[victim as usize].next;
                self.evict_slot(evict, Evicted::Victim);
                continue;
            }
            // Evict at once if both selected the same entry.
            if candidate == victim {
                victim = self.slots[victim as usize].next;
                self.evict_slot(candidate, Evicted::Candidate);
                candidate = NIL;
                continue;
            }
            // Evict the entry with the lower frequency.
            if self.admit(candidate, victim) {
                let evict = victim;
                victim = self.slots[victim as usize].next;
                self.evict_slot(evict, Evicted::Victim);
                candidate = self.slots[candidate as usize].next;
            } else {
                let evict = candidate;
                candidate = self.slots[candidate as usize].next;
                self.evict_slot(evict, Evicted::Candidate);
            }
        }
    }

    /// Whether the candidate should replace the victim.
    fn admit(&mut self, candidate: u32, victim: u32) -> bool {
        let victim_freq = self.sketch.frequency(self.slots[victim as usize].hash);
        let candidate_freq = self.sketch.frequency(self.slots[candidate as usize].hash);
        let margin = u8::from(victim_freq >= ESTABLISHED_FREQUENCY);
        if candidate_freq > victim_freq.saturating_add(margin) {
            true
        } else if candidate_freq >= ADMIT_HASHDOS_THRESHOLD {
            (self.next_random() & 127) == 0
        } else {
            false
        }
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Checks the internal invariants (for tests): the queues hold exactly the live entries, the weights add up
    /// and the table indexes every live entry.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let mut seen = 0usize;
        let mut total = 0u64;
        for (queue, deque) in [
            (Queue::Window, self.window),
            (Queue::Probation, self.probation),
            (Queue::Protected, self.protected),
        ] {
            let mut weight = 0u64;
            let mut prev = NIL;
            let mut idx = deque.head;
            while idx != NIL {
                let s = &self.slots[idx as usize];
                assert_eq!(s.queue, queue);
                assert_eq!(s.prev, prev);
                assert!(s.entry.is_some());
                assert!(self.table.find(s.hash, |&i| i == idx).is_some());
                weight += u64::from(s.weight);
                seen += 1;
                prev = idx;
                idx = s.next;
            }
            assert_eq!(deque.tail, prev);
            match queue {
                Queue::Window => assert_eq!(weight, self.window_weight),
                Queue::Protected => assert_eq!(weight, self.protected_weight),
                Queue::Probation => {}
            }
            total += weight;
        }
        assert_eq!(seen, self.len);
        assert_eq!(self.table.len(), self.len);
        assert_eq!(total, self.weight);
        assert!(
            self.weight <= self.max,
            "weight {} over bound {}",
            self.weight,
            self.max
        );
        assert!(self.window_max + self.protected_max <= self.max);
    }
}

#[cfg(test)]
mod tests;
