//! Invalidation and purge: by key (with its `Vary` variants), prefix and `Surrogate-Key` tag, hard or soft.
//!
//! Every purge has one shape: `(&self, &str) -> Result<u64>` (how many stored entries were removed or
//! marked), or [`Edge::purge`] / [`Edge::soft_purge`] with a [`Purge`] naming what to purge. Keys and
//! prefixes may be written as URLs (`https://Example.com/a?b=1`), as cache keys (`example.com/a?b=1`) or,
//! when the edge has a [purge host](super::EdgeOptions::purge_host), as paths (`/a?b=1`).

use std::sync::Arc;

use parking_lot::Mutex;

use super::Edge;
use super::metrics::Counters;
use super::range::partial_key;
use crate::error::{Error, Result};
use crate::tier::{Entry, TierExt};

/// What a purge removes (or, soft, marks stale): one URL, every URL under a prefix, or every response tagged
/// by its `Surrogate-Key` field.
///
/// Keys and prefixes may be written as URLs (`https://Example.com/a?b=1`), as cache keys
/// (`example.com/a?b=1`, see [`Edge::cache_key`]) or, when the edge has a
/// [purge host](super::EdgeOptions::purge_host), as paths (`/a?b=1`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purge {
    /// One URL (and its `Vary` variants): a URL, a cache key, or a path resolved against the purge host.
    Key(String),
    /// Every URL whose cache key starts with this: written as for [`Purge::Key`].
    Prefix(String),
    /// Every response whose `Surrogate-Key` field names this tag.
    Tag(String),
}

impl Purge {
    /// [`Purge::Key`].
    pub fn key(key: impl Into<String>) -> Self {
        Purge::Key(key.into())
    }

    /// [`Purge::Prefix`].
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Purge::Prefix(prefix.into())
    }

    /// [`Purge::Tag`].
    pub fn tag(tag: impl Into<String>) -> Self {
        Purge::Tag(tag.into())
    }
}

/// Resolves a purge key or prefix as users write it to the cache key form (see [`Edge::cache_key`]).
///
/// # Errors
/// [`Error::InvalidRequest`] (field `purge key`) for an empty key, a path with no purge host configured, or
/// an authority that is not valid.
pub(crate) fn resolve_key(spec: &str, purge_host: Option<&str>) -> Result<String> {
    let invalid = |reason: String| Error::InvalidRequest {
        field: "purge key",
        reason,
    };
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(invalid("empty".into()));
    }
    let url = if spec.contains("://") {
        spec.to_string()
    } else if spec.starts_with('/') {
        let Some(host) = purge_host else {
            return Err(invalid(format!(
                "{spec:?} is a path and the edge has no purge host: write the URL or set with_purge_host"
            )));
        };
        format!("http://{host}{spec}")
    } else {
        format!("http://{spec}")
    };
    // The key is the one the edge stores a GET of this URL under: the same function makes both.
    let uri: http::Uri = url
        .parse()
        .map_err(|e| invalid(format!("{spec:?} is not a URL: {e}")))?;
    let request = http::Request::get(uri)
        .body(())
        .map_err(|e| invalid(format!("{spec:?}: {e}")))?;
    Edge::cache_key(&request).map_err(|e| invalid(format!("{spec:?}: {e}")))
}

impl Edge {
    /// Removes the stored responses for `key` (and its `Vary` variants) from every tier.
    pub(super) async fn invalidate(&self, key: &str) -> u64 {
        let mut removed = 0;
        let variants = format!("{key}\u{0}");
        for tier in &self.inner.tiers {
            if let Ok(Some(e)) = tier.get(key).await {
                if !e.vary.is_empty() {
                    removed += tier.purge_prefix(&variants).await.unwrap_or(0);
                }
            }
            if tier.remove(key).await.unwrap_or(false) {
                removed += 1;
            }
            if tier.remove(&partial_key(key)).await.unwrap_or(false) {
                removed += 1;
            }
        }
        Counters::add(&self.inner.counters.purged, removed);
        removed
    }

    fn resolve(&self, spec: &str) -> Result<String> {
        resolve_key(spec, self.inner.options.purge_host.as_deref())
    }

    /// Purges what `what` names from every tier; returns how many entries were removed.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a key or prefix that names no host (see [`Purge`]); a
    /// tier's failure (the tiers before it are purged).
    pub async fn purge(&self, what: Purge) -> Result<u64> {
        match what {
            Purge::Key(k) => self.purge_key(&k).await,
            Purge::Prefix(p) => self.purge_prefix(&p).await,
            Purge::Tag(t) => self.purge_tag(&t).await,
        }
    }

    /// Soft purge of what `what` names: the entries stay stored but are marked stale, so the next request
    /// revalidates with the origin (a `304` makes them fresh again without a new body). Returns how many were
    /// marked.
    ///
    /// # Errors
    /// As [`Edge::purge`].
    pub async fn soft_purge(&self, what: Purge) -> Result<u64> {
        match what {
            Purge::Key(k) => self.soft_purge_key(&k).await,
            Purge::Prefix(p) => self.soft_purge_prefix(&p).await,
            Purge::Tag(t) => self.soft_purge_tag(&t).await,
        }
    }

    /// Purges the stored response for a URL or cache key (written as for [`Purge`]) and its `Vary`
    /// variants from every tier; returns how many entries were removed.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a key that names no host.
    pub async fn purge_key(&self, key: &str) -> Result<u64> {
        let key = self.resolve(key)?;
        Ok(self.invalidate(&key).await)
    }

    /// Purges every stored response whose key starts with `prefix` (written as a key), from every tier.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a prefix that names no host; a tier's failure (the tiers before it are
    /// purged).
    pub async fn purge_prefix(&self, prefix: &str) -> Result<u64> {
        let prefix = self.resolve(prefix)?;
        let mut removed = 0;
        for tier in &self.inner.tiers {
            removed += tier.purge_prefix(&prefix).await?;
        }
        Counters::add(&self.inner.counters.purged, removed);
        Ok(removed)
    }

    /// Purges every stored response tagged `tag` by its `Surrogate-Key` header, from every tier.
    ///
    /// # Errors
    /// A tier's failure; the tiers before it are purged.
    pub async fn purge_tag(&self, tag: &str) -> Result<u64> {
        let mut removed = 0;
        for tier in &self.inner.tiers {
            removed += tier.purge_tag(tag).await?;
        }
        Counters::add(&self.inner.counters.purged, removed);
        Ok(removed)
    }

    /// Soft purge of every stored response tagged `tag`; see [`Edge::soft_purge`].
    ///
    /// # Errors
    /// A tier's failure.
    pub async fn soft_purge_tag(&self, tag: &str) -> Result<u64> {
        self.soft_purge_where(&|_: &str, e: &Entry| e.has_tag(tag))
            .await
    }

    /// Soft purge of one URL or cache key and its `Vary` variants; see [`Edge::soft_purge`].
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a key that names no host; a tier's failure.
    pub async fn soft_purge_key(&self, key: &str) -> Result<u64> {
        let key = self.resolve(key)?;
        let variants = format!("{key}\u{0}");
        self.soft_purge_where(&|k: &str, _: &Entry| k == key || k.starts_with(&variants))
            .await
    }

    /// Soft purge of every stored response whose key starts with `prefix`; see [`Edge::soft_purge`].
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a prefix that names no host; a tier's failure.
    pub async fn soft_purge_prefix(&self, prefix: &str) -> Result<u64> {
        let prefix = self.resolve(prefix)?;
        self.soft_purge_where(&|k: &str, _: &Entry| k.starts_with(&prefix))
            .await
    }

    pub(super) async fn soft_purge_where(
        &self,
        select: &(dyn Fn(&str, &Entry) -> bool + Send + Sync),
    ) -> Result<u64> {
        let mut marked = 0;
        for tier in &self.inner.tiers {
            let found: Mutex<Vec<(String, Entry)>> = Mutex::new(Vec::new());
            tier.retain(&|k: &str, e: &Entry| {
                if !e.invalidated && select(k, e) {
                    found.lock().push((k.to_string(), e.clone()));
                }
                true
            })
            .await?;
            let found = found.into_inner();
            for (k, e) in found {
                if tier.insert(&k, Arc::new(e.with_invalidated(true))).await? {
                    marked += 1;
                }
            }
        }
        Ok(marked)
    }
}

#[cfg(test)]
mod tests {
    use super::resolve_key;

    #[test]
    fn purge_keys_resolve_from_urls_keys_and_paths() {
        let k = |s: &str, h: Option<&str>| resolve_key(s, h);
        assert_eq!(
            k("https://Example.COM/a?b=1", None).unwrap(),
            "example.com/a?b=1"
        );
        assert_eq!(k("Example.com/a", None).unwrap(), "example.com/a");
        assert_eq!(k("example.com", None).unwrap(), "example.com/");
        assert_eq!(k("/a", Some("Shop.test")).unwrap(), "shop.test/a");
        assert_eq!(k("/a", None).unwrap_err().code(), "InvalidRequest");
        assert_eq!(k("", None).unwrap_err().code(), "InvalidRequest");
        assert_eq!(k("u@victim/a", None).unwrap_err().code(), "InvalidRequest");
        assert_eq!(k("bad host/a", None).unwrap_err().code(), "InvalidRequest");
    }
}
