//! [`Entry`]: one stored response with the times RFC 9111 needs, and the bytes it is counted for.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// Bytes counted for an entry beyond its key, body and headers (the `Entry` struct, its `Arc`, the map slot).
pub const ENTRY_OVERHEAD: u64 = 192;
/// Bytes counted for each stored header beyond its name and value.
pub const HEADER_OVERHEAD: u64 = 16;

/// One stored response, with what RFC 9111 needs to compute its age and freshness.
///
/// Entries are immutable once shared: a revalidation that refreshes the headers stores a new entry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The response status.
    pub status: StatusCode,
    /// The response headers as received from the origin (hop-by-hop headers removed).
    pub headers: HeaderMap,
    /// The response body.
    pub body: Bytes,
    /// When the request that produced this response was sent to the origin (RFC 9111 `request_time`).
    pub request_time: SystemTime,
    /// When the response was received (RFC 9111 `response_time`).
    pub response_time: SystemTime,
    /// Surrogate keys (tags) for purge, from the `Surrogate-Key` response header.
    pub surrogate_keys: Vec<String>,
    /// The request headers named by the response's `Vary`, as the request that produced it carried them
    /// (`None`: absent), in the order `Vary` names them.
    pub vary: Vec<(HeaderName, Option<HeaderValue>)>,
    /// Set by a soft purge: the entry may not be served without revalidating with the origin.
    pub invalidated: bool,
}

impl Entry {
    /// An entry for a response received at `response_time` to a request sent at `request_time`.
    ///
    /// Surrogate keys are read from the `Surrogate-Key` header (space separated).
    pub fn new(
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        request_time: SystemTime,
        response_time: SystemTime,
    ) -> Self {
        let surrogate_keys = headers
            .get_all("surrogate-key")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(str::split_whitespace)
            .map(str::to_string)
            .collect();
        Entry {
            status,
            headers,
            body,
            request_time,
            response_time,
            surrogate_keys,
            vary: Vec::new(),
            invalidated: false,
        }
    }

    /// A `200 OK` entry with no headers holding `body`, dated at the Unix epoch: for tests and benchmarks of
    /// tiers, where only keys, bodies and weights matter.
    pub fn from_body(body: impl Into<Bytes>) -> Self {
        Entry::new(
            StatusCode::OK,
            HeaderMap::new(),
            body.into(),
            UNIX_EPOCH,
            UNIX_EPOCH,
        )
    }

    /// This entry with `vary` as its selecting request headers.
    #[must_use]
    pub fn with_vary(mut self, vary: Vec<(HeaderName, Option<HeaderValue>)>) -> Self {
        self.vary = vary;
        self
    }

    /// This entry with the soft-purge mark set to `invalidated`.
    #[must_use]
    pub fn with_invalidated(mut self, invalidated: bool) -> Self {
        self.invalidated = invalidated;
        self
    }

    /// This entry with `surrogate_keys` as its tags.
    #[must_use]
    pub fn with_surrogate_keys(mut self, keys: Vec<String>) -> Self {
        self.surrogate_keys = keys;
        self
    }

    /// The bytes this entry counts for under `key` in a byte-bounded tier: key + body + headers (names,
    /// values and [`HEADER_OVERHEAD`] each) + tags + Vary values + [`ENTRY_OVERHEAD`].
    pub fn weight(&self, key: &str) -> u64 {
        let headers: u64 = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().len() + v.len()) as u64 + HEADER_OVERHEAD)
            .sum();
        let tags: u64 = self
            .surrogate_keys
            .iter()
            .map(|k| k.len() as u64 + HEADER_OVERHEAD)
            .sum();
        let vary: u64 = self
            .vary
            .iter()
            .map(|(n, v)| {
                (n.as_str().len() + v.as_ref().map_or(0, HeaderValue::len)) as u64 + HEADER_OVERHEAD
            })
            .sum();
        key.len() as u64 + self.body.len() as u64 + headers + tags + vary + ENTRY_OVERHEAD
    }

    /// Whether `tag` is one of this entry's surrogate keys.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.surrogate_keys.iter().any(|k| k == tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_counts_key_body_headers_and_overhead() {
        let bare = Entry::from_body(Bytes::from_static(b"hello"));
        assert_eq!(bare.weight("k"), 1 + 5 + ENTRY_OVERHEAD);
        let mut headers = HeaderMap::new();
        headers.insert("etag", HeaderValue::from_static("\"x\""));
        headers.insert("surrogate-key", HeaderValue::from_static("a bb"));
        let e = Entry::new(
            StatusCode::OK,
            headers,
            Bytes::from_static(b"hello"),
            UNIX_EPOCH,
            UNIX_EPOCH,
        );
        assert_eq!(e.surrogate_keys, vec!["a".to_string(), "bb".to_string()]);
        let headers = (4 + 3 + HEADER_OVERHEAD) + (13 + 4 + HEADER_OVERHEAD);
        let tags = 1 + 2 + 2 * HEADER_OVERHEAD;
        assert_eq!(e.weight("key"), 3 + 5 + headers + tags + ENTRY_OVERHEAD);
        assert!(e.has_tag("bb") && !e.has_tag("b"));
    }
}
