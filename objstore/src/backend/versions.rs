//! The versions of one key, as a backend keeps them: [`Versions`], newest first by `seq`, with every
//! operation S3 does on one key's versions in O(1) (amortized) of the key's versions, so a key with 100k
//! versions costs a put, a get by version id, a delete of one version and a page of ListObjectVersions
//! about what a key with one version does.
//!
//! The newest version sits inline (most keys have one version, and it costs them no allocation beyond
//! the set itself); older versions, if any, sit in a boxed side structure: a vector in `seq` order,
//! oldest first, that puts append to (so a page from a version-id marker is a slice read backwards, and
//! the next newest after a delete is its last entry), and a hash table of positions found by version id
//! (so a version id is found without a scan, in a few cache misses however many versions there are; the
//! table holds only positions and compares ids in the versions' own metadata, so no id is stored twice). A
//! removal leaves a hole that pages skip; once holes outnumber a quarter of the versions the vector is
//! compacted and the positions renumbered, so removals cost O(1) amortized. A version older than the
//! newest of them is inserted in place, in O(n): a reopen builds the vector in order instead, so only a
//! large fs write staged before a later write commits pays that. Within one key the `seq`s of its
//! versions are distinct: both backends take them from a counter that only grows.
//!
//! Depends on `meta` only (through [`AsMeta`]); [`index`](super::index) builds its key maps from it.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;

use crate::types::meta::ObjectMeta;

/// Anything a backend keeps per version that carries the version's metadata.
pub trait AsMeta {
    /// The version's metadata.
    fn meta(&self) -> &Arc<ObjectMeta>;
}

impl AsMeta for Arc<ObjectMeta> {
    fn meta(&self) -> &Arc<ObjectMeta> {
        self
    }
}

type Hasher = foldhash::fast::FixedState;

/// Every version of one key (at least one), newest (largest `seq`) first. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Versions<T> {
    latest: T,
    older: Option<Box<Older<T>>>,
}

/// The versions older than the newest, oldest first by `seq` (`None`: removed, until the next compaction),
/// and the position of each by version id.
#[derive(Debug, Clone)]
struct Older<T> {
    /// Sorted by `seq`; never ends with a removed slot.
    slots: Vec<(u64, Option<T>)>,
    ids: Ids,
    /// Removed slots still in `slots`.
    holes: usize,
}

impl<T> Default for Older<T> {
    fn default() -> Self {
        Older {
            slots: Vec::new(),
            ids: Ids::default(),
            holes: 0,
        }
    }
}

type Slots<T> = [(u64, Option<T>)];

/// The id of the version at a position (`""` for a hole, which no lookup matches: ids are never empty).
fn id_at<T: AsMeta>(slots: &Slots<T>, at: usize) -> &str {
    slots
        .get(at)
        .and_then(|(_, v)| v.as_ref())
        .map_or("", |v| v.meta().version_id.as_str())
}

/// Positions in `slots` of the live versions, found by version id. Every position it holds is a live
/// slot: callers remove a position before emptying or moving its slot, and add one after filling it.
#[derive(Debug, Clone, Default)]
struct Ids {
    table: HashTable<usize>,
    hasher: Hasher,
}

impl Ids {
    fn get<T: AsMeta>(&self, slots: &Slots<T>, id: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(id);
        self.table.find(hash, |&at| id_at(slots, at) == id).copied()
    }

    /// Adds the position of a filled slot whose id is not in the table.
    fn insert<T: AsMeta>(&mut self, slots: &Slots<T>, at: usize) {
        let hasher = &self.hasher;
        let hash = hasher.hash_one(id_at(slots, at));
        self.table
            .insert_unique(hash, at, |&p| hasher.hash_one(id_at(slots, p)));
    }

    fn remove<T: AsMeta>(&mut self, slots: &Slots<T>, id: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(id);
        let entry = self
            .table
            .find_entry(hash, |&at| id_at(slots, at) == id)
            .ok()?;
        Some(entry.remove().0)
    }

    /// Moves every position from `from` on one place later (a slot was inserted before them).
    fn shift_from(&mut self, from: usize) {
        for at in self.table.iter_mut().filter(|at| **at >= from) {
            *at += 1;
        }
    }

    /// Forgets every position and adds those of the live slots.
    fn rebuild<T: AsMeta>(&mut self, slots: &Slots<T>) {
        self.table.clear();
        for (at, _) in slots.iter().enumerate().filter(|(_, (_, v))| v.is_some()) {
            self.insert(slots, at);
        }
    }
}

impl<T: AsMeta> Older<T> {
    fn live(&self) -> usize {
        self.slots.len() - self.holes
    }

    /// Adds a version: O(1) when it is the newest of them (every put), O(n) otherwise (a reopen builds
    /// in order instead; only a large fs write staged before a later one commits lands here).
    fn push(&mut self, v: T) {
        let seq = v.meta().seq;
        match self.slots.last() {
            Some((last, _)) if *last >= seq => {
                let at = self.slots.partition_point(|(s, _)| *s < seq);
                if self.slots.get(at).is_some_and(|(s, _)| *s == seq) {
                    // Only a damaged store gives one key two versions with one `seq`: the later wins.
                    let old = id_at(&self.slots, at).to_string();
                    if self.ids.remove(&self.slots, &old).is_none() {
                        self.holes -= 1;
                    }
                    self.slots[at].1 = Some(v);
                    self.ids.insert(&self.slots, at);
                    return;
                }
                self.ids.shift_from(at);
                self.slots.insert(at, (seq, Some(v)));
                self.ids.insert(&self.slots, at);
            }
            _ => {
                self.slots.push((seq, Some(v)));
                self.ids.insert(&self.slots, self.slots.len() - 1);
            }
        }
    }

    fn remove(&mut self, id: &str) -> Option<T> {
        let at = self.ids.remove(&self.slots, id)?;
        let v = self.slots.get_mut(at)?.1.take();
        self.holes += 1;
        self.tidy();
        v
    }

    /// Drops trailing holes, and compacts once holes outnumber a quarter of the live versions (so a
    /// removal costs O(1) amortized and a page skips at most that many holes).
    fn tidy(&mut self) {
        while self.slots.last().is_some_and(|(_, v)| v.is_none()) {
            self.slots.pop();
            self.holes -= 1;
        }
        if self.holes > 16 && self.holes * 4 > self.live() {
            self.slots.retain(|(_, v)| v.is_some());
            self.holes = 0;
            self.ids.rebuild(&self.slots);
        }
    }

    fn pop_newest(&mut self) -> Option<T> {
        let id = id_at(&self.slots, self.slots.len().checked_sub(1)?).to_string();
        self.ids.remove(&self.slots, &id);
        let (_, v) = self.slots.pop()?;
        self.tidy();
        v
    }

    fn newest_seq(&self) -> Option<u64> {
        self.slots.last().map(|(s, _)| *s)
    }

    fn get(&self, id: &str) -> Option<&T> {
        self.slots.get(self.ids.get(&self.slots, id)?)?.1.as_ref()
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        let at = self.ids.get(&self.slots, id)?;
        self.slots.get_mut(at)?.1.as_mut()
    }
}

/// The versions of a key, newest first (from [`Versions::iter`] or [`Versions::after`]).
#[derive(Debug, Clone)]
pub struct Iter<'a, T> {
    first: Option<&'a T>,
    rest: std::slice::Iter<'a, (u64, Option<T>)>,
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        if let Some(f) = self.first.take() {
            return Some(f);
        }
        loop {
            if let Some(v) = self.rest.next_back()?.1.as_ref() {
                return Some(v);
            }
        }
    }
}

impl<T: AsMeta> Versions<T> {
    /// A key's first version.
    pub fn new(v: T) -> Self {
        Versions {
            latest: v,
            older: None,
        }
    }

    /// A key's versions from a list in any order (what a reopen reads, in directory order), built in
    /// O(n log n). Of two versions with one id the newer is kept. `None` for an empty list.
    pub fn from_unordered(mut all: Vec<T>) -> Option<Self> {
        all.sort_unstable_by_key(|v| std::cmp::Reverse(v.meta().seq));
        let mut all = all.into_iter();
        let latest = all.next()?;
        let mut set = Versions::new(latest);
        let mut rest: Vec<T> = all.collect();
        // Oldest first, as `Older` keeps them.
        rest.reverse();
        let mut older = Older::default();
        for v in rest {
            let id = v.meta().version_id.as_str();
            if id == set.latest.meta().version_id.as_str() {
                continue;
            }
            if let Some(at) = older.ids.remove(&older.slots, id) {
                // An older copy of one id: the newer (this one) replaces it.
                let _ = older.slots[at].1.take();
                older.holes += 1;
            }
            older.slots.push((v.meta().seq, Some(v)));
            older.ids.insert(&older.slots, older.slots.len() - 1);
        }
        older.tidy();
        if older.live() > 0 {
            set.older = Some(Box::new(older));
        }
        Some(set)
    }

    /// The newest version (possibly a delete marker).
    pub fn latest(&self) -> &T {
        &self.latest
    }

    /// How many versions the key has (at least one).
    pub fn len(&self) -> usize {
        1 + self.older.as_ref().map_or(0, |o| o.live())
    }

    /// Always `false`: a set holds at least one version (for clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The version with this id.
    pub fn get(&self, id: &str) -> Option<&T> {
        if self.latest.meta().version_id == id {
            return Some(&self.latest);
        }
        self.older.as_ref()?.get(id)
    }

    /// The version with this id, to change in place (its id and `seq` must stay as they are).
    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        if self.latest.meta().version_id == id {
            return Some(&mut self.latest);
        }
        self.older.as_mut()?.get_mut(id)
    }

    /// The version a read names: the newest (`None`) or the one with that id.
    pub fn pick(&self, version: Option<&str>) -> Option<&T> {
        match version {
            None => Some(&self.latest),
            Some(id) => self.get(id),
        }
    }

    /// Every version, newest first.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            first: Some(&self.latest),
            rest: self.older.as_ref().map_or(&[][..], |o| &o.slots).iter(),
        }
    }

    /// The versions older than the one with id `marker`, newest first; `None` if there is no such
    /// version. O(1) to start, then O(1) per version.
    pub fn after(&self, marker: &str) -> Option<Iter<'_, T>> {
        let slots = self.older.as_ref().map_or(&[][..], |o| &o.slots);
        if self.latest.meta().version_id == marker {
            return Some(Iter {
                first: None,
                rest: slots.iter(),
            });
        }
        let older = self.older.as_ref()?;
        let at = older.ids.get(&older.slots, marker)?;
        Some(Iter {
            first: None,
            rest: slots[..at].iter(),
        })
    }

    /// Adds a version in its place by `seq` (usually the newest), replacing the version with the same id;
    /// returns the version replaced.
    pub fn insert(&mut self, v: T) -> Option<T> {
        let seq = v.meta().seq;
        if self.latest.meta().version_id == v.meta().version_id {
            // The replacement is older than the next version (a staged write that committed after a
            // later one): the next one becomes the newest.
            let next = self
                .older
                .as_mut()
                .filter(|o| o.newest_seq() > Some(seq))
                .and_then(|o| o.pop_newest());
            return Some(match next {
                Some(next) => {
                    if let Some(o) = self.older.as_mut() {
                        o.push(v);
                    }
                    std::mem::replace(&mut self.latest, next)
                }
                None => std::mem::replace(&mut self.latest, v),
            });
        }
        let older = self.older.get_or_insert_with(Box::default);
        let replaced = older.remove(&v.meta().version_id);
        if seq > self.latest.meta().seq {
            let old = std::mem::replace(&mut self.latest, v);
            older.push(old);
        } else {
            older.push(v);
        }
        replaced
    }

    /// Whether `id` names the key's only version (removing it removes the key: the caller drops the
    /// set instead of calling [`Versions::remove`]).
    pub fn is_last(&self, id: &str) -> bool {
        self.older.as_ref().is_none_or(|o| o.live() == 0) && self.latest.meta().version_id == id
    }

    /// Removes the version with this id and returns it; `None` if there is none, or if it is the only
    /// version (see [`Versions::is_last`]). Removing the newest makes the next one the newest.
    pub fn remove(&mut self, id: &str) -> Option<T> {
        let older = self.older.as_mut()?;
        let removed = if self.latest.meta().version_id == id {
            let next = older.pop_newest()?;
            Some(std::mem::replace(&mut self.latest, next))
        } else {
            older.remove(id)
        };
        if older.live() == 0 {
            self.older = None;
        }
        removed
    }

    /// The newest version, the set consumed.
    pub fn into_latest(self) -> T {
        self.latest
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use proptest::prelude::*;

    use super::*;
    use crate::types::etag::ETag;

    fn version(id: &str, seq: u64) -> Arc<ObjectMeta> {
        let mut m = ObjectMeta::new("k", 0, ETag::of(b""), UNIX_EPOCH);
        m.version_id = id.to_string();
        m.seq = seq;
        Arc::new(m)
    }

    fn ids(it: Iter<'_, Arc<ObjectMeta>>) -> Vec<(String, u64)> {
        it.map(|m| (m.version_id.clone(), m.seq)).collect()
    }

    /// One operation on a key's versions, for the model test.
    #[derive(Debug, Clone)]
    enum Op {
        /// Insert version `id` with a `seq` (newest when `newest`, else an arbitrary one).
        Insert {
            id: u8,
            seq: u64,
            newest: bool,
        },
        Remove {
            id: u8,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u8..48, 0u64..1000, any::<bool>()).prop_map(|(id, seq, newest)| Op::Insert { id, seq, newest }),
            2 => (0u8..48).prop_map(|id| Op::Remove { id }),
        ]
    }

    proptest! {
        /// Against a plain list kept newest first by `seq` (what the backends did before): the same
        /// versions in the same order, the same lookups, pages from every marker, and what each
        /// insert replaced and each remove removed, through out-of-order inserts, holes and compactions.
        #[test]
        fn versions_agree_with_a_sorted_list(ops in proptest::collection::vec(op(), 1..300)) {
            let mut set: Option<Versions<Arc<ObjectMeta>>> = None;
            let mut model: Vec<Arc<ObjectMeta>> = Vec::new();
            let mut next_seq = 1000u64;
            let mut used = std::collections::HashSet::new();
            for op in ops {
                match op {
                    Op::Insert { id, seq, newest } => {
                        let seq = if newest { next_seq += 1; next_seq } else { seq };
                        if !used.insert(seq) { continue; }
                        let v = version(&format!("v{id}"), seq);
                        let want = model.iter().position(|m| m.version_id == v.version_id).map(|i| model.remove(i));
                        let at = model.iter().position(|m| m.seq < seq).unwrap_or(model.len());
                        model.insert(at, v.clone());
                        let got = match set.as_mut() {
                            None => { set = Some(Versions::new(v)); None }
                            Some(s) => s.insert(v),
                        };
                        prop_assert_eq!(got.map(|m| m.seq), want.map(|m| m.seq));
                    }
                    Op::Remove { id } => {
                        let id = format!("v{id}");
                        let want = model.iter().position(|m| m.version_id == id).map(|i| model.remove(i));
                        let got = match set.as_mut() {
                            Some(s) if s.is_last(&id) => set.take().map(Versions::into_latest),
                            Some(s) => s.remove(&id),
                            None => None,
                        };
                        prop_assert_eq!(got.map(|m| m.seq), want.map(|m| m.seq));
                    }
                }
                let Some(s) = &set else {
                    prop_assert!(model.is_empty());
                    continue;
                };
                let want: Vec<_> = model.iter().map(|m| (m.version_id.clone(), m.seq)).collect();
                prop_assert_eq!(ids(s.iter()), want.clone());
                prop_assert_eq!(s.len(), model.len());
                prop_assert_eq!(&s.latest().version_id, &model[0].version_id);
                for (i, m) in model.iter().enumerate() {
                    prop_assert_eq!(s.get(&m.version_id).map(|v| v.seq), Some(m.seq));
                    prop_assert_eq!(ids(s.after(&m.version_id).unwrap()), want[i + 1..].to_vec());
                }
                prop_assert!(s.get("v99").is_none());
                prop_assert!(s.after("v99").is_none());
                let rebuilt = Versions::from_unordered(model.iter().rev().cloned().collect()).unwrap();
                prop_assert_eq!(ids(rebuilt.iter()), want);
            }
        }
    }

    /// Removals leave holes that pages skip; once holes pass a quarter of the versions the vector is
    /// compacted, and lookups, pages and the newest all stay right across it.
    #[test]
    fn removals_compact_and_keep_lookups_right() {
        let mut set = Versions::new(version("v0", 0));
        for i in 1..200u64 {
            assert!(set.insert(version(&format!("v{i}"), i)).is_none());
        }
        let slots = |s: &Versions<Arc<ObjectMeta>>| s.older.as_ref().map_or(0, |o| o.slots.len());
        for i in (0..199u64).filter(|i| i % 3 != 0) {
            assert_eq!(set.remove(&format!("v{i}")).unwrap().seq, i);
            let o = set.older.as_ref().unwrap();
            assert!(
                o.holes <= 16 || o.holes * 4 <= o.live(),
                "compacted in time"
            );
        }
        assert!(slots(&set) < 199, "compaction dropped the holes");
        let want: Vec<u64> = std::iter::once(199)
            .chain((0..199u64).rev().filter(|i| i % 3 == 0))
            .collect();
        let got: Vec<u64> = set.iter().map(|m| m.seq).collect();
        assert_eq!(got, want);
        assert_eq!(set.len(), want.len());
        for (i, seq) in want.iter().enumerate() {
            let id = format!("v{seq}");
            assert_eq!(set.get(&id).unwrap().seq, *seq);
            let after: Vec<u64> = set.after(&id).unwrap().map(|m| m.seq).collect();
            assert_eq!(after, want[i + 1..]);
        }
        // Removing the newest promotes the next; a removed id is gone.
        assert_eq!(set.remove("v199").unwrap().seq, 199);
        assert_eq!(set.latest().seq, 198);
        assert!(set.get("v1").is_none() && set.after("v1").is_none());
    }

    /// A rebuild from a list with a repeated id keeps the newer; an empty list builds nothing.
    #[test]
    fn from_unordered_keeps_the_newest_of_one_id() {
        let set = Versions::from_unordered(vec![version("a", 1), version("b", 3), version("a", 2)])
            .unwrap();
        assert_eq!(ids(set.iter()), [("b".into(), 3), ("a".into(), 2)]);
        assert!(Versions::<Arc<ObjectMeta>>::from_unordered(Vec::new()).is_none());
    }
}
