//! Paging over an ordered index of keys: what any backend that keeps its keys in a `BTreeMap` needs to
//! answer [`Backend::list`](super::Backend::list), [`Backend::list_versions`](super::Backend::list_versions)
//! and lookups of one version.
//!
//! A backend's index orders keys (in UTF-8 binary order, as S3 lists) with what it keeps of each key's
//! versions: all of them ([`Versions`] in a map, the fs backend's [`VersionIndex`]), or only the newest
//! ([`Newest`] in a set, the memory backend's [`NewestIndex`], whose versions sit in its hash shards and
//! whose keys are read from the newest version's metadata rather than stored again). One page function
//! serves both with no cost over hand-written loops:
//! - listing: [`list_start`], [`keys_from`], [`newest_from`] and [`list_page`] / [`list_newest`] (prefix,
//!   start-after, delete markers skipped);
//! - version paging: [`version_start`], [`push_versions`] and [`version_page`] (S3's key and version-id
//!   markers, and the engine's `start_at`); a version-id marker is found in O(log n) of its key's versions;
//! - one key's versions: [`insert_version`] and [`remove_version`] (O(log n) of the key's versions, see
//!   [`versions`](super::versions)), [`build_index`] (a whole index from versions in any order, as a reopen
//!   reads them, in O(n log n)), [`updated_meta`] (a [`MetaUpdate`] applied, identity kept), and the error
//!   for a miss, [`missing`].
//!
//! Nothing here takes a lock or allocates beyond the page it returns: callers hold their index's lock
//! around the call. Depends on the query types of [`backend`](super), on [`versions`](super::versions)
//! and on `meta` and `error`; no backend module depends the other way.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

pub use super::versions::{AsMeta, Versions};
use super::{ListQuery, MetaUpdate, VersionEntry, VersionQuery};
use crate::error::{Error, Result};
use crate::types::meta::ObjectMeta;

/// What an index keeps per key, as far as listing needs it: the key's newest version.
pub trait KeyVersions {
    /// The newest version (possibly a delete marker), `None` if the key has none left.
    fn latest(&self) -> Option<&Arc<ObjectMeta>>;
}

/// An index of all versions.
impl<T: AsMeta> KeyVersions for Versions<T> {
    fn latest(&self) -> Option<&Arc<ObjectMeta>> {
        Some(Versions::latest(self).meta())
    }
}

/// An index that keeps every version of each key in memory.
pub type VersionIndex = BTreeMap<Arc<str>, Versions<Arc<ObjectMeta>>>;

/// A key's newest version, ordered, compared and looked up (`Borrow<str>`) by its key alone, so an index
/// of newest versions is a set of them and holds no second copy of each key.
#[derive(Debug, Clone)]
pub struct Newest(pub Arc<ObjectMeta>);

impl Borrow<str> for Newest {
    fn borrow(&self) -> &str {
        &self.0.key
    }
}

impl PartialEq for Newest {
    fn eq(&self, other: &Self) -> bool {
        self.0.key == other.0.key
    }
}

impl Eq for Newest {}

impl PartialOrd for Newest {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Newest {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.key.cmp(&other.0.key)
    }
}

/// An index of each key's newest version only.
pub type NewestIndex = BTreeSet<Newest>;

/// The lower bound of a listing: the later of `after` and the prefix itself.
pub fn list_start<'a>(prefix: &'a str, after: Bound<&'a str>) -> Bound<&'a str> {
    match after {
        Bound::Unbounded => Bound::Included(prefix),
        Bound::Excluded(a) | Bound::Included(a) if a < prefix => Bound::Included(prefix),
        other => other,
    }
}

/// The entries of `index` from `start` on, in key order, while their keys start with `prefix`.
pub fn keys_from<'a, K, V>(
    index: &'a BTreeMap<K, V>,
    start: Bound<&str>,
    prefix: &'a str,
) -> impl Iterator<Item = (&'a K, &'a V)> + use<'a, K, V>
where
    K: Borrow<str> + Ord,
{
    index
        .range::<str, _>((start, Bound::Unbounded))
        .take_while(move |(k, _)| Borrow::<str>::borrow(*k).starts_with(prefix))
}

/// The newest versions in `index` from `start` on, in key order, while their keys start with `prefix`.
pub fn newest_from<'a>(
    index: &'a NewestIndex,
    start: Bound<&str>,
    prefix: &'a str,
) -> impl Iterator<Item = &'a Arc<ObjectMeta>> + use<'a> {
    index
        .range::<str, _>((start, Bound::Unbounded))
        .map(|n| &n.0)
        .take_while(move |m| m.key.starts_with(prefix))
}

/// One page of a listing: up to `query.limit` keys in order whose newest version is not a delete marker,
/// with that version.
pub fn list_page<K, V>(index: &BTreeMap<K, V>, query: &ListQuery<'_>) -> Vec<Arc<ObjectMeta>>
where
    K: Borrow<str> + Ord,
    V: KeyVersions,
{
    page_of(
        keys_from(index, list_start(query.prefix, query.after), query.prefix)
            .filter_map(|(_, v)| v.latest()),
        query.limit,
    )
}

/// [`list_page`] over an index of newest versions.
pub fn list_newest(index: &NewestIndex, query: &ListQuery<'_>) -> Vec<Arc<ObjectMeta>> {
    page_of(
        newest_from(index, list_start(query.prefix, query.after), query.prefix),
        query.limit,
    )
}

fn page_of<'a>(
    newest: impl Iterator<Item = &'a Arc<ObjectMeta>>,
    limit: usize,
) -> Vec<Arc<ObjectMeta>> {
    newest
        .filter(|m| !m.is_delete_marker)
        .take(limit)
        .cloned()
        .collect()
}

/// Where a version listing starts in the key space ([`push_versions`] then skips the versions of the
/// first key that come before the version-id marker).
pub fn version_start<'a>(query: &VersionQuery<'a>) -> Bound<&'a str> {
    if let Some(s) = query.start_at {
        return Bound::Included(s.max(query.prefix));
    }
    match (query.after_key, query.after_version) {
        (None, _) => Bound::Included(query.prefix),
        (Some(k), _) if k < query.prefix => Bound::Included(query.prefix),
        (Some(k), None) => Bound::Excluded(k),
        (Some(k), Some(_)) => Bound::Included(k),
    }
}

/// Appends to `page` the versions of one key that the query returns (newest first: after the
/// version-id marker if the query's marker is on this key, else all of them), up to `query.limit`
/// entries in all; returns whether the page is full. Costs O(log n + page) of the key's n versions.
pub fn push_versions<T: AsMeta>(
    page: &mut Vec<VersionEntry>,
    key: &str,
    versions: &Versions<T>,
    query: &VersionQuery<'_>,
) -> bool {
    let from = match (query.after_key, query.after_version) {
        _ if query.start_at.is_some() => Some(versions.iter()),
        // A vanished marker version skips the key, as listing resumes after it.
        (Some(k), Some(v)) if k == key => versions.after(v),
        _ => Some(versions.iter()),
    };
    let latest = versions.latest().meta();
    for m in from.into_iter().flatten() {
        if page.len() == query.limit {
            return true;
        }
        page.push(VersionEntry {
            is_latest: Arc::ptr_eq(m.meta(), latest),
            meta: m.meta().clone(),
        });
    }
    page.len() == query.limit
}

/// One page of a version listing over an index of all versions: up to `query.limit` versions, keys in
/// order, each key's versions newest first.
pub fn version_page<K, T>(
    index: &BTreeMap<K, Versions<T>>,
    query: &VersionQuery<'_>,
) -> Vec<VersionEntry>
where
    K: Borrow<str> + Ord,
    T: AsMeta,
{
    let mut page = Vec::new();
    for (key, versions) in keys_from(index, version_start(query), query.prefix) {
        if push_versions(&mut page, key.borrow(), versions, query) {
            break;
        }
    }
    page
}

/// The error for a version that is not there: `NoSuchKey` when none was named, else `NoSuchVersion`.
pub fn missing(bucket: &str, key: &str, version: Option<&str>) -> Error {
    match version {
        None => Error::no_such_key(bucket, key),
        Some(v) => Error::no_such_version(bucket, key, v),
    }
}

/// Inserts a version into its key's set (in its place by `seq`), replacing one with the same id; returns
/// the version replaced. O(log n) of the key's versions.
pub fn insert_version(index: &mut VersionIndex, meta: Arc<ObjectMeta>) -> Option<Arc<ObjectMeta>> {
    match index.get_mut(meta.key.as_str()) {
        Some(versions) => versions.insert(meta),
        None => {
            index.insert(Arc::from(meta.key.as_str()), Versions::new(meta));
            None
        }
    }
}

/// Removes one version of a key, and the key once it has none; returns the version removed.
pub fn remove_version(
    index: &mut VersionIndex,
    key: &str,
    version_id: &str,
) -> Option<Arc<ObjectMeta>> {
    let versions = index.get_mut(key)?;
    if versions.is_last(version_id) {
        return index.remove(key).map(Versions::into_latest);
    }
    versions.remove(version_id)
}

/// An index of the given versions, in any order (as a reopen reads them): grouped by key, each key's
/// set built once, so n versions cost O(n log n) however they are spread over keys.
pub fn build_index(all: impl IntoIterator<Item = Arc<ObjectMeta>>) -> VersionIndex {
    let mut by_key: HashMap<Arc<str>, Vec<Arc<ObjectMeta>>, foldhash::fast::FixedState> =
        HashMap::default();
    for meta in all {
        match by_key.get_mut(meta.key.as_str()) {
            Some(v) => v.push(meta),
            None => {
                by_key.insert(Arc::from(meta.key.as_str()), vec![meta]);
            }
        }
    }
    by_key
        .into_iter()
        .filter_map(|(k, v)| Some((k, Versions::from_unordered(v)?)))
        .collect()
}

/// The metadata `update` makes of `old`, with what a [`MetaUpdate`] cannot change (key, version id and
/// `seq`) kept from `old`.
///
/// # Errors
/// The update's own error.
pub fn updated_meta(old: &ObjectMeta, update: MetaUpdate<'_>) -> Result<ObjectMeta> {
    let mut next = old.clone();
    update(&mut next)?;
    next.key.clone_from(&old.key);
    next.version_id.clone_from(&old.version_id);
    next.seq = old.seq;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::types::etag::ETag;

    fn version(key: &str, id: &str, seq: u64, marker: bool) -> Arc<ObjectMeta> {
        let mut m = ObjectMeta::new(key, 0, ETag::of(b""), UNIX_EPOCH);
        m.version_id = id.to_string();
        m.seq = seq;
        m.is_delete_marker = marker;
        Arc::new(m)
    }

    /// `a` (two versions), `a/b`, `b` (newest a delete marker over one version), `c`.
    fn sample() -> VersionIndex {
        let mut index = VersionIndex::new();
        for (key, id, seq, marker) in [
            ("a", "v1", 1, false),
            ("a/b", "null", 2, false),
            ("a", "v2", 3, false),
            ("b", "v1", 4, false),
            ("b", "m1", 5, true),
            ("c", "null", 6, false),
        ] {
            insert_version(&mut index, version(key, id, seq, marker));
        }
        index
    }

    fn keys(page: &[Arc<ObjectMeta>]) -> Vec<&str> {
        page.iter().map(|m| m.key.as_str()).collect()
    }

    fn ids(page: &[VersionEntry]) -> Vec<(&str, &str, bool)> {
        page.iter()
            .map(|e| (e.meta.key.as_str(), e.meta.version_id.as_str(), e.is_latest))
            .collect()
    }

    fn list(prefix: &'static str, after: Bound<&'static str>, limit: usize) -> ListQuery<'static> {
        ListQuery {
            prefix,
            after,
            limit,
        }
    }

    /// A listing skips keys whose newest version is a delete marker, keeps to the prefix, starts after
    /// `after` (or at the prefix, if that is later) and stops at the limit; both index shapes agree.
    #[test]
    fn list_page_pages_by_prefix_start_after_and_limit() {
        let index = sample();
        let newest: NewestIndex = index.values().map(|v| Newest(v.latest().clone())).collect();
        let cases = [
            (list("", Bound::Unbounded, 10), vec!["a", "a/b", "c"]),
            (list("a", Bound::Unbounded, 10), vec!["a", "a/b"]),
            (list("", Bound::Excluded("a"), 10), vec!["a/b", "c"]),
            (list("b", Bound::Excluded("a"), 10), vec![]),
            (list("", Bound::Unbounded, 2), vec!["a", "a/b"]),
            (list("", Bound::Unbounded, 0), vec![]),
        ];
        for (query, want) in cases {
            assert_eq!(keys(&list_page(&index, &query)), want, "{query:?}");
            assert_eq!(keys(&list_newest(&newest, &query)), want, "{query:?}");
        }
    }

    /// Version pages run keys in order, each key's versions newest first, and resume after a key marker,
    /// after a version-id marker (a vanished one skips its key), or at `start_at`.
    #[test]
    fn version_page_resumes_after_key_and_version_markers() {
        let index = sample();
        let query = |after_key, after_version, start_at, limit| VersionQuery {
            prefix: "",
            after_key,
            after_version,
            start_at,
            limit,
        };
        let all = version_page(&index, &query(None, None, None, 100));
        assert_eq!(
            ids(&all),
            [
                ("a", "v2", true),
                ("a", "v1", false),
                ("a/b", "null", true),
                ("b", "m1", true),
                ("b", "v1", false),
                ("c", "null", true),
            ]
        );
        let two = version_page(&index, &query(None, None, None, 2));
        assert_eq!(ids(&two), ids(&all[..2]));
        let after_a = version_page(&index, &query(Some("a"), None, None, 100));
        assert_eq!(ids(&after_a), ids(&all[2..]));
        let after_v2 = version_page(&index, &query(Some("a"), Some("v2"), None, 100));
        assert_eq!(ids(&after_v2), ids(&all[1..]));
        let gone = version_page(&index, &query(Some("a"), Some("v9"), None, 100));
        assert_eq!(ids(&gone), ids(&all[2..]));
        let at_b = version_page(&index, &query(Some("a"), Some("v2"), Some("b"), 100));
        assert_eq!(ids(&at_b), ids(&all[3..]));
    }

    /// Versions stay newest first by `seq`, a same-id insert replaces, and a key goes with its last version.
    #[test]
    fn insert_pick_and_remove_keep_versions_in_order() {
        let mut index = sample();
        let a = &index["a"];
        assert_eq!(a.pick(None).unwrap().version_id, "v2");
        assert_eq!(a.pick(Some("v1")).unwrap().seq, 1);
        assert!(a.pick(Some("v9")).is_none());
        // A reopen may insert in any order: `seq` decides.
        assert!(insert_version(&mut index, version("a", "v0", 0, false)).is_none());
        let replaced = insert_version(&mut index, version("a", "v1", 7, false));
        assert_eq!(replaced.map(|m| m.seq), Some(1));
        let order: Vec<_> = index["a"].iter().map(|m| m.version_id.as_str()).collect();
        assert_eq!(order, ["v1", "v2", "v0"]);
        for id in ["v1", "v2", "v0"] {
            assert_eq!(remove_version(&mut index, "a", id).unwrap().version_id, id);
        }
        assert!(!index.contains_key("a"));
        assert!(remove_version(&mut index, "nokey", "v1").is_none());
        // A reopen builds the same index from versions in any order.
        let mut shuffled: Vec<_> = sample().values().flat_map(|v| v.iter().cloned()).collect();
        shuffled.reverse();
        let rebuilt = build_index(shuffled);
        let flat = |i: &VersionIndex| -> Vec<(String, String)> {
            i.iter()
                .flat_map(|(k, v)| v.iter().map(move |m| (k.to_string(), m.version_id.clone())))
                .collect()
        };
        assert_eq!(flat(&rebuilt), flat(&sample()));
        assert!(matches!(missing("bk", "k", None), Error::NoSuchKey { .. }));
        assert!(matches!(
            missing("bk", "k", Some("v1")),
            Error::NoSuchVersion { .. }
        ));
    }

    /// An update cannot change a version's identity.
    #[test]
    fn updated_meta_keeps_key_version_and_seq() {
        let old = version("k", "v1", 4, false);
        let next = updated_meta(&old, &|m: &mut ObjectMeta| {
            m.key = "other".into();
            m.version_id = "v2".into();
            m.seq = 99;
            m.legal_hold = true;
            Ok(())
        })
        .unwrap();
        assert_eq!(
            (next.key.as_str(), next.version_id.as_str(), next.seq),
            ("k", "v1", 4)
        );
        assert!(next.legal_hold);
    }
}
