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
//!   before the cache has hit, nothing says the main space's entries are worth less than the window's. On the
//!   first pass of `lirs-zigzag` (a sweep up and down 2,000 keys) the keys rejected last come back first, at
//!   once, and the window grew by a step on nearly every miss of the way down, giving away the main space the
//!   sweep would reach later: the first 4,000-request cycle hit 18 times at 20% (LRU: 400). With the rule it
//!   hits 334 times, and from the sixth cycle on 794 to 798 times of LRU's 800; zigzag at 20% goes from 17.66%
//!   to 18.67% (LRU 19.18%). No other row of the table moves by more than 0.01: a cache that hits at all soon
//!   has more hits than the window can take steps. Stricter rules cost the traces whose window has to grow in a
//!   burst: one hit since the last step (no credit carried over) takes `arc-P3` at 20% from 51.89% to 48.50%,
//!   and sixteen hits a step to 48.73%.
//!
//! Caffeine also samples the hit rate every `10 × entries` requests and climbs toward the window size that
//! improved it. We measured it on the traces of `benches/README.md` and removed it: the ghost feedback moves the
//! window within a few hundred misses, and the climber's samples (a few per trace at these lengths, each moved
//! by the ghosts' own changes) only added noise (mean 34.10% without it, 34.02% with it).
//!
//! The sketch is sized for at least 896 entries, so a small cache still tells a loop or a scan longer than
//! itself from new keys, and ages its counts slowly enough (every 8,960 increments or more) that equally
//! frequent keys keep equal estimates over a loop of a few thousand keys.
//!
//! What each part is worth: hit ratios in percent on the traces of `benches/README.md` (the mean over its 33
//! rows, and the rows that moved most), as shipped and with one part changed. The rows from "no admission
//! margin" down were measured before the growth steps were limited by hits (which, as shipped, moves only the
//! zigzag column):
//!
//! | configuration | mean | OLTP 1% | P3 5% | P3 20% | cloudphysics 20% | 2_pools 1% | lirs-scan 20% | lirs-zigzag 20% |
//! |---|---:|---:|---:|---:|---:|---:|---:|---:|
//! | before: climber, ghosts gated at 1, of one size and of unlimited reach, sketch ≥ 512, no margin, moved entries at MRU | 33.56 | 44.76 | 19.98 | 51.96 | 31.24 | 47.25 | 16.36 | 12.48 |
//! | as shipped | 34.13 | 44.36 | 21.11 | 51.89 | 33.62 | 47.64 | 19.11 | 18.67 |
//! | growth steps not limited by hits | 34.09 | 44.36 | 21.11 | 51.89 | 33.62 | 47.64 | 19.11 | 17.66 |
//! | one hit since the last growth step (no credit carried over) | 33.84 | 44.42 | 20.82 | 48.50 | 31.52 | 47.67 | 19.11 | 18.69 |
//! | four hits a growth step | 34.13 | 44.36 | 21.11 | 51.89 | 33.62 | 47.64 | 19.11 | 18.81 |
//! | sixteen hits a growth step | 33.94 | 44.31 | 20.97 | 48.73 | 30.59 | 47.77 | 19.11 | 18.78 |
//! | no admission margin (a one-count lead admits) | 33.90 | 45.02 | 21.66 | 51.90 | 33.99 | 47.69 | 17.56 | 15.53 |
//! | the margin over every victim, even one estimated at 0 or 1 | 33.86 | 44.29 | 20.58 | 51.69 | 29.26 | 47.37 | 19.11 | 18.15 |
//! | candidate ghost as large as the victim ghost | 33.42 | 43.76 | 7.87 | 51.50 | 31.35 | 46.35 | 19.11 | 16.40 |
//! | ghost gate at frequency 1 | 33.93 | 45.77 | 20.84 | 48.58 | 33.29 | 48.22 | 19.11 | 18.23 |
//! | candidate ghost hits of any age | 34.09 | 44.36 | 21.02 | 51.89 | 33.40 | 47.33 | 19.11 | 17.66 |
//! | sketch sized for ≥ 512 entries | 33.94 | 44.36 | 21.10 | 51.89 | 33.63 | 47.89 | 19.06 | 15.07 |
//! | moved entries at the window's MRU end (Caffeine) | 34.07 | 44.34 | 21.14 | 51.56 | 33.78 | 47.51 | 19.11 | 17.64 |
//! | window up to 99% of the weight | 34.06 | 43.24 | 21.10 | 51.86 | 33.62 | 47.70 | 19.11 | 17.66 |
//! | with Caffeine's hill climber as well | 34.02 | 44.16 | 20.60 | 52.04 | 33.62 | 47.43 | 18.78 | 17.59 |
//!
//! The ghost feedback is the fragile part: a larger candidate ghost or a looser gate lets rejected candidates
//! grow the window on frequency-biased traces, and `arc-P3` at 5% collapses to 8% (LRU: 4%). A window of
//! (nearly) the whole cache would be LRU, the best policy for a pure sweep such as `lirs-zigzag`; but once the
//! admission margin keeps the main space from churning, a static main space beside the window does as well
//! there, and the larger window costs `arc-OLTP`.
//!
//! Entries live in an arena indexed by `u32`, linked into intrusive doubly linked queues; the hash table holds
//! only arena indices, so each key is stored once.

use hashbrown::HashTable;

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

/// No entry.
const NIL: u32 = u32::MAX;
/// The bits of a hash a ghost slot keeps.
const FINGERPRINT: u64 = 0xFFFF_FFFF_0000_0000;

/// The queue an entry sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Queue {
    Window,
    Probation,
    Protected,
}

/// One arena slot: links, policy data and (when live) the entry.
#[derive(Debug)]
struct Slot<K, V> {
    prev: u32,
    next: u32,
    queue: Queue,
    weight: u32,
    hash: u64,
    entry: Option<(K, V)>,
}

/// An intrusive doubly linked queue: `head` is the least recently used end, `tail` the most recently used.
#[derive(Debug, Clone, Copy)]
struct Deque {
    head: u32,
    tail: u32,
}

impl Deque {
    const EMPTY: Deque = Deque {
        head: NIL,
        tail: NIL,
    };
}

/// Recently evicted keys' hashes, in a direct-mapped table of ¾ as many slots as the cache holds entries:
/// a newer hash overwrites an older one in its slot, so a hash is remembered for about that many evictions
/// (fewer when it collides), with no allocation or hashing per eviction. Each slot holds the top 32 bits of
/// the hash and the number of pushes before it, so a hit also tells how many evictions ago the key left.
#[derive(Debug, Default)]
struct Ghost {
    table: Vec<u64>,
    pushes: u32,
}

impl Ghost {
    #[inline]
    fn slot(&self, hash: u64) -> usize {
        // Multiply-shift range reduction of 32 mixed bits onto the table.
        (((hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) * self.table.len() as u64) >> 32)
            as usize
    }

    /// Remembers `hash`, in a table sized for `cap` entries (grown, forgetting, when `cap` outgrows it).
    fn push(&mut self, hash: u64, cap: usize) {
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
    fn take(&mut self, hash: u64) -> Option<u32> {
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

    fn alloc(&mut self, hash: u64, key: K, value: V, weight: u32) -> u32 {
        let slot = Slot {
            prev: NIL,
            next: NIL,
            queue: Queue::Window,
            weight,
            hash,
            entry: Some((key, value)),
        };
        match self.free.pop() {
            Some(idx) => {
                self.slots[idx as usize] = slot;
                idx
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn deque_mut(&mut self, queue: Queue) -> &mut Deque {
        match queue {
            Queue::Window => &mut self.window,
            Queue::Probation => &mut self.probation,
            Queue::Protected => &mut self.protected,
        }
    }

    fn unlink(&mut self, idx: u32) {
        let (prev, next, queue) = {
            let s = &self.slots[idx as usize];
            (s.prev, s.next, s.queue)
        };
        if prev == NIL {
            self.deque_mut(queue).head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.deque_mut(queue).tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        let s = &mut self.slots[idx as usize];
        s.prev = NIL;
        s.next = NIL;
    }

    fn push_back(&mut self, queue: Queue, idx: u32) {
        let tail = self.deque_mut(queue).tail;
        {
            let s = &mut self.slots[idx as usize];
            s.queue = queue;
            s.prev = tail;
            s.next = NIL;
        }
        if tail == NIL {
            self.deque_mut(queue).head = idx;
        } else {
            self.slots[tail as usize].next = idx;
        }
        self.deque_mut(queue).tail = idx;
    }

    /// Links `idx` into `queue` just before `next` (at the MRU end if `next` is `NIL`).
    fn insert_before(&mut self, queue: Queue, next: u32, idx: u32) {
        if next == NIL {
            self.push_back(queue, idx);
            return;
        }
        let prev = self.slots[next as usize].prev;
        {
            let s = &mut self.slots[idx as usize];
            s.queue = queue;
            s.prev = prev;
            s.next = next;
        }
        self.slots[next as usize].prev = idx;
        if prev == NIL {
            self.deque_mut(queue).head = idx;
        } else {
            self.slots[prev as usize].next = idx;
        }
    }

    fn move_to_back(&mut self, queue: Queue, idx: u32) {
        if self.deque_mut(queue).tail == idx && self.slots[idx as usize].queue == queue {
            return;
        }
        self.unlink(idx);
        self.push_back(queue, idx);
    }

    /// Unlinks and frees a slot, fixing the weights; returns its entry.
    fn remove_slot(&mut self, idx: u32) -> (K, V) {
        let (hash, weight, queue) = {
            let s = &self.slots[idx as usize];
            (s.hash, u64::from(s.weight), s.queue)
        };
        self.unlink(idx);
        if let Ok(found) = self.table.find_entry(hash, |&i| i == idx) {
            found.remove();
        }
        self.weight -= weight;
        match queue {
            Queue::Window => self.window_weight -= weight,
            Queue::Protected => self.protected_weight -= weight,
            Queue::Probation => {}
        }
        self.len -= 1;
        self.free.push(idx);
        match self.slots[idx as usize].entry.take() {
            Some(entry) => entry,
            None => unreachable!("a linked slot is live"),
        }
    }

    fn evict_slot(&mut self, idx: u32, why: Evicted) {
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
    fn ghost_feedback(&mut self, hash: u64, weight: u64) {
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

    fn demote_from_main_protected(&mut self) {
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
    fn set_window_max(&mut self, window_max: u64) {
        self.window_max = window_max;
        self.protected_max = (self.max - window_max).saturating_sub(self.probation_floor);
    }

    /// Grows the window by up to `amount` weight (leaving the main space at least [`MIN_MAIN_PERCENT`]), moving
    /// entries from probation's LRU end, then protected's, to the window's LRU end: they are older than anything
    /// in the window, and keep their place in recency order (Caffeine appends them at the MRU end, which gives
    /// the main space's least valuable entries a whole window's worth of extra life).
    fn increase_window(&mut self, amount: u64) {
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
    fn decrease_window(&mut self, amount: u64) {
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
mod tests {
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
}
