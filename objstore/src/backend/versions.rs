//! The versions of one key, as a backend keeps them: [`Versions`], newest first by `seq`, with every
//! operation S3 does on one key's versions in O(1) or O(log n) of the key's versions, so a key with 100k
//! versions costs a put, a get by version id, a delete of one version and a page of ListObjectVersions
//! about what a key with one version does.
//!
//! The newest version sits inline (most keys have one version, and it costs them no allocation beyond
//! the set itself); older versions, if any, sit in a boxed side structure: a `BTreeMap` by `seq` (ordered,
//! so paging from a version-id marker is a range, and the next newest after a delete is its last entry)
//! and a hash map from version id to `seq` (so a version id is found without a scan). Within one key the
//! `seq`s of its versions are distinct: both backends take them from a counter that only grows.
//!
//! Depends on `meta` only (through [`AsMeta`]); [`index`](super::index) builds its key maps from it.

use std::collections::{BTreeMap, HashMap, btree_map};
use std::sync::Arc;

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

/// The versions older than the newest: by `seq`, and a version id -> `seq` map.
#[derive(Debug, Clone)]
struct Older<T> {
    by_seq: BTreeMap<u64, T>,
    ids: HashMap<Box<str>, u64, Hasher>,
}

impl<T> Default for Older<T> {
    fn default() -> Self {
        Older {
            by_seq: BTreeMap::new(),
            ids: HashMap::default(),
        }
    }
}

impl<T: AsMeta> Older<T> {
    fn push(&mut self, v: T) {
        let (id, seq) = (Box::from(v.meta().version_id.as_str()), v.meta().seq);
        if let Some(old) = self.by_seq.insert(seq, v) {
            // Only a damaged store gives one key two versions with one `seq`: keep the map consistent.
            self.ids.remove(old.meta().version_id.as_str());
        }
        self.ids.insert(id, seq);
    }

    fn remove(&mut self, id: &str) -> Option<T> {
        let seq = self.ids.remove(id)?;
        self.by_seq.remove(&seq)
    }

    fn pop_newest(&mut self) -> Option<T> {
        let (_, v) = self.by_seq.pop_last()?;
        self.ids.remove(v.meta().version_id.as_str());
        Some(v)
    }

    fn newest_seq(&self) -> Option<u64> {
        self.by_seq.last_key_value().map(|(s, _)| *s)
    }
}

/// The versions of a key, newest first (from [`Versions::iter`] or [`Versions::after`]).
#[derive(Debug, Clone)]
pub struct Iter<'a, T> {
    first: Option<&'a T>,
    rest: Option<btree_map::Range<'a, u64, T>>,
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        if let Some(f) = self.first.take() {
            return Some(f);
        }
        self.rest.as_mut()?.next_back().map(|(_, v)| v)
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
        let mut older = Older::default();
        let mut rest = Vec::with_capacity(all.len());
        for v in all {
            let id = v.meta().version_id.as_str();
            if id == set.latest.meta().version_id.as_str() || older.ids.contains_key(id) {
                continue;
            }
            older.ids.insert(Box::from(id), v.meta().seq);
            rest.push((v.meta().seq, v));
        }
        if !rest.is_empty() {
            rest.reverse();
            // Ascending by `seq`: `BTreeMap` builds from sorted input in one pass.
            older.by_seq = rest.into_iter().collect();
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
        1 + self.older.as_ref().map_or(0, |o| o.by_seq.len())
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
        let o = self.older.as_ref()?;
        o.by_seq.get(o.ids.get(id)?)
    }

    /// The version with this id, to change in place (its id and `seq` must stay as they are).
    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        if self.latest.meta().version_id == id {
            return Some(&mut self.latest);
        }
        let o = self.older.as_mut()?;
        let seq = *o.ids.get(id)?;
        o.by_seq.get_mut(&seq)
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
            rest: self.older.as_ref().map(|o| o.by_seq.range(..)),
        }
    }

    /// The versions older than the one with id `marker`, newest first; `None` if there is no such
    /// version. O(log n) to start, then O(1) per version.
    pub fn after(&self, marker: &str) -> Option<Iter<'_, T>> {
        if self.latest.meta().version_id == marker {
            return Some(Iter {
                first: None,
                rest: self.older.as_ref().map(|o| o.by_seq.range(..)),
            });
        }
        let o = self.older.as_ref()?;
        let seq = *o.ids.get(marker)?;
        Some(Iter {
            first: None,
            rest: Some(o.by_seq.range(..seq)),
        })
    }

    /// Adds a version in its place by `seq` (usually the newest), replacing the version with the same id;
    /// returns the version replaced.
    pub fn insert(&mut self, v: T) -> Option<T> {
        let seq = v.meta().seq;
        if self.latest.meta().version_id == v.meta().version_id {
            let older = self.older.as_mut().filter(|o| o.newest_seq() > Some(seq));
            return Some(match older {
                // The replacement is older than the next version (a reopen, or a staged write that
                // committed after a later one): the next one becomes the newest.
                Some(o) => {
                    let next = o.pop_newest().unwrap_or_else(|| unreachable!());
                    o.push(v);
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
        self.older.as_ref().is_none_or(|o| o.by_seq.is_empty())
            && self.latest.meta().version_id == id
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
        if older.by_seq.is_empty() {
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
            3 => (0u8..12, 0u64..1000, any::<bool>()).prop_map(|(id, seq, newest)| Op::Insert { id, seq, newest }),
            1 => (0u8..12).prop_map(|id| Op::Remove { id }),
        ]
    }

    proptest! {
        /// Against a plain list kept newest first by `seq` (what the backends did before): the same
        /// versions in the same order, the same lookups, pages from every marker, and what each
        /// insert replaced and each remove removed.
        #[test]
        fn versions_agree_with_a_sorted_list(ops in proptest::collection::vec(op(), 1..80)) {
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

    /// A rebuild from a list with a repeated id keeps the newer; an empty list builds nothing.
    #[test]
    fn from_unordered_keeps_the_newest_of_one_id() {
        let set = Versions::from_unordered(vec![version("a", 1), version("b", 3), version("a", 2)])
            .unwrap();
        assert_eq!(ids(set.iter()), [("b".into(), 3), ("a".into(), 2)]);
        assert!(Versions::<Arc<ObjectMeta>>::from_unordered(Vec::new()).is_none());
    }
}
