//! Plain LRU by bytes, over the `lru` crate: the baseline the default policy is measured against.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

/// A byte-weighted LRU cache (single threaded; the concurrent cache shards and locks it).
///
/// The `lru` crate bounds by entry count; this wrapper keeps it unbounded and evicts least recently used
/// entries until the total weight fits.
pub(crate) struct Lru<K, V, S> {
    inner: lru::LruCache<K, (V, u64), S>,
    max: u64,
    weight: u64,
    evictions: u64,
}

impl<K: Hash + Eq, V, S: BuildHasher> Lru<K, V, S> {
    /// An empty cache bounded by `max` weight.
    pub(crate) fn new(max: u64, hasher: S) -> Self {
        Self {
            inner: lru::LruCache::unbounded_with_hasher(hasher),
            max,
            weight: 0,
            evictions: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    pub(crate) fn weight(&self) -> u64 {
        self.weight
    }

    pub(crate) fn max_weight(&self) -> u64 {
        self.max
    }

    pub(crate) fn evictions(&self) -> u64 {
        self.evictions
    }

    pub(crate) fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.get(key).map(|(v, _)| v)
    }

    pub(crate) fn peek<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.peek(key).map(|(v, _)| v)
    }

    /// Inserts or replaces; `Err` gives the entry back when it is heavier than the bound (any previous entry for
    /// the key is removed). `Ok` holds the replaced value.
    pub(crate) fn insert(&mut self, key: K, value: V, weight: u64) -> Result<Option<V>, (K, V)> {
        if weight > self.max {
            if let Some((_, old_weight)) = self.inner.pop(&key) {
                self.weight -= old_weight;
            }
            return Err((key, value));
        }
        let old = self.inner.push(key, (value, weight));
        self.weight += weight;
        let old = match old {
            // `push` returns the old pair for a replaced key (same key), nothing for a new one.
            Some((_, (old_value, old_weight))) => {
                self.weight -= old_weight;
                Some(old_value)
            }
            None => None,
        };
        while self.weight > self.max {
            match self.inner.pop_lru() {
                Some((_, (_, w))) => {
                    self.weight -= w;
                    self.evictions += 1;
                }
                None => break,
            }
        }
        Ok(old)
    }

    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (k, (v, w)) = self.inner.pop_entry(key)?;
        self.weight -= w;
        Some((k, v))
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) -> usize {
        let mut removed = 0;
        let mut removed_weight = 0;
        self.inner.retain(|k, (v, w)| {
            let kept = keep(k, v);
            if !kept {
                removed += 1;
                removed_weight += *w;
            }
            kept
        });
        self.weight -= removed_weight;
        removed
    }

    pub(crate) fn for_each(&self, mut f: impl FnMut(&K, &V)) {
        for (k, (v, _)) in self.inner.iter() {
            f(k, v);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.inner.clear();
        self.weight = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_by_weight() {
        let mut cache = Lru::new(10, foldhash::fast::FixedState::default());
        cache.insert(1, "a", 4).unwrap();
        cache.insert(2, "b", 4).unwrap();
        assert_eq!(cache.get(&1), Some(&"a"));
        cache.insert(3, "c", 4).unwrap();
        assert_eq!(cache.peek(&2), None, "2 was least recently used");
        assert_eq!(cache.peek(&1), Some(&"a"));
        assert_eq!(cache.weight(), 8);
        assert_eq!(cache.evictions(), 1);
        assert_eq!(cache.insert(1, "A", 6).unwrap(), Some("a"));
        assert_eq!(cache.weight(), 10);
        assert!(cache.insert(9, "big", 11).is_err());
        assert!(cache.insert(1, "big", 11).is_err());
        assert_eq!(
            cache.peek(&1),
            None,
            "a rejected replacement drops the old value"
        );
        assert_eq!(cache.weight(), 4);
        assert_eq!(cache.retain(|_, _| false), 1);
        assert_eq!(cache.weight(), 0);
    }
}
