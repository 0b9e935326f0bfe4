//! [`Entry`]: one stored response with the times RFC 9111 needs, and the bytes it is counted for.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// The bytes the system allocator (glibc's `malloc`) holds for a request of `n` bytes: the request plus an
/// 8-byte header, rounded up to 16, at least 32; nothing for `n == 0` (Rust does not allocate empty buffers).
/// Other allocators' size classes round similarly (jemalloc and mimalloc within a few percent for small sizes).
pub const fn heap_bytes(n: usize) -> u64 {
    if n == 0 {
        return 0;
    }
    let chunk = (n + 8 + 15) & !15;
    (if chunk < 32 { 32 } else { chunk }) as u64
}

/// The allocation `bytes` makes the first time a vector-backed [`Bytes`] is cloned (its shared header: buffer,
/// capacity, reference count). Every body and header value an [`Edge`](crate::Edge) stores is shared with the
/// response it serves, so it has one.
const SHARED_BYTES: u64 = heap_bytes(3 * size_of::<usize>());

/// The bytes a shared, heap-backed [`Bytes`] of `len` bytes holds: its buffer and its shared header.
const fn bytes_heap(len: usize) -> u64 {
    if len == 0 {
        0
    } else {
        heap_bytes(len) + SHARED_BYTES
    }
}

/// One `HeaderMap` bucket (a distinct name and its first value: the name, the value, a 16-bit hash and the
/// links to further values), as the `http` crate lays it out.
const HEADER_BUCKET: usize =
    size_of::<HeaderName>() + size_of::<HeaderValue>() + size_of::<u64>() + 3 * size_of::<usize>();
/// One further value of a name already in a `HeaderMap` (the value and two links).
const HEADER_EXTRA_VALUE: usize = size_of::<HeaderValue>() + 4 * size_of::<usize>();

/// What a byte-bounded tier keeps per entry besides what it holds on the heap, in bytes: the memory tier's
/// bookkeeping (its policy slot: key, value pointer, links, hash and weight; the hash-table slot at its
/// average load; the frequency sketch's and the ghost tables' share, which grow with the entry count) and the
/// disk tier's in-memory index about as much.
pub const POLICY_OVERHEAD: u64 = {
    // the arena slot: (String, Arc<Entry>) plus prev/next/weight (u32 each), queue (u8) and hash (u64)
    let slot = size_of::<(String, std::sync::Arc<Entry>)>() + 24;
    // a u32 index and a control byte per bucket, at a load between 7/16 and 7/8 (the table doubles)
    let table = 8;
    // 8-byte counter words, between 2 and 4 per entry as the sketch doubles
    let sketch = 24;
    // victim ghost (3/4 slot per entry) and candidate ghost (3/8), 8 bytes a slot
    let ghosts = 9;
    (slot + table + sketch + ghosts) as u64
};

/// Bytes counted for every entry beyond its key, body, headers, tags and `Vary` values: the shared
/// allocation of the entry (its reference counts and the `Entry` itself) and [`POLICY_OVERHEAD`].
pub const ENTRY_OVERHEAD: u64 =
    heap_bytes(2 * size_of::<usize>() + size_of::<Entry>()) + POLICY_OVERHEAD;
/// Bytes counted for each stored header beyond its name and value: its share of the header map's table.
pub const HEADER_OVERHEAD: u64 = HEADER_BUCKET as u64;

/// The standard header names of the `http` crate, stored without an allocation of their own.
const STANDARD_NAMES: [HeaderName; 81] = {
    use http::header::*;
    [
        ACCEPT,
        ACCEPT_CHARSET,
        ACCEPT_ENCODING,
        ACCEPT_LANGUAGE,
        ACCEPT_RANGES,
        ACCESS_CONTROL_ALLOW_CREDENTIALS,
        ACCESS_CONTROL_ALLOW_HEADERS,
        ACCESS_CONTROL_ALLOW_METHODS,
        ACCESS_CONTROL_ALLOW_ORIGIN,
        ACCESS_CONTROL_EXPOSE_HEADERS,
        ACCESS_CONTROL_MAX_AGE,
        ACCESS_CONTROL_REQUEST_HEADERS,
        ACCESS_CONTROL_REQUEST_METHOD,
        AGE,
        ALLOW,
        ALT_SVC,
        AUTHORIZATION,
        CACHE_CONTROL,
        CACHE_STATUS,
        CDN_CACHE_CONTROL,
        CONNECTION,
        CONTENT_DISPOSITION,
        CONTENT_ENCODING,
        CONTENT_LANGUAGE,
        CONTENT_LENGTH,
        CONTENT_LOCATION,
        CONTENT_RANGE,
        CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY_REPORT_ONLY,
        CONTENT_TYPE,
        COOKIE,
        DNT,
        DATE,
        ETAG,
        EXPECT,
        EXPIRES,
        FORWARDED,
        FROM,
        HOST,
        IF_MATCH,
        IF_MODIFIED_SINCE,
        IF_NONE_MATCH,
        IF_RANGE,
        IF_UNMODIFIED_SINCE,
        LAST_MODIFIED,
        LINK,
        LOCATION,
        MAX_FORWARDS,
        ORIGIN,
        PRAGMA,
        PROXY_AUTHENTICATE,
        PROXY_AUTHORIZATION,
        PUBLIC_KEY_PINS,
        PUBLIC_KEY_PINS_REPORT_ONLY,
        RANGE,
        REFERER,
        REFERRER_POLICY,
        REFRESH,
        RETRY_AFTER,
        SEC_WEBSOCKET_ACCEPT,
        SEC_WEBSOCKET_EXTENSIONS,
        SEC_WEBSOCKET_KEY,
        SEC_WEBSOCKET_PROTOCOL,
        SEC_WEBSOCKET_VERSION,
        SERVER,
        SET_COOKIE,
        STRICT_TRANSPORT_SECURITY,
        TE,
        TRAILER,
        TRANSFER_ENCODING,
        UPGRADE,
        UPGRADE_INSECURE_REQUESTS,
        USER_AGENT,
        VARY,
        VIA,
        WARNING,
        WWW_AUTHENTICATE,
        X_CONTENT_TYPE_OPTIONS,
        X_DNS_PREFETCH_CONTROL,
        X_FRAME_OPTIONS,
        X_XSS_PROTECTION,
    ]
};

/// The heap bytes of a header name: none for a standard one, a shared buffer for a custom one.
fn name_heap(name: &HeaderName) -> u64 {
    if STANDARD_NAMES.contains(name) {
        0
    } else {
        bytes_heap(name.as_str().len())
    }
}

/// The heap bytes of a `HeaderMap` as one built by insertion holds them: an index table of a power of two of
/// at least 8 slots (4 bytes each) whose usable three quarters hold every distinct name, as many buckets, the
/// further values of repeated names, and the names' and values' buffers. An empty map allocates nothing.
/// Computed from the contents only, so an entry weighs the same after a round trip through the disk tier.
fn header_map_heap(headers: &HeaderMap) -> u64 {
    let names = headers.keys_len();
    if names == 0 {
        return 0;
    }
    let mut slots = 8;
    while slots - slots / 4 < names {
        slots *= 2;
    }
    let buckets = slots - slots / 4;
    let extra = headers.len() - names;
    let contents: u64 = headers.keys().map(name_heap).sum::<u64>()
        + headers.values().map(|v| bytes_heap(v.len())).sum::<u64>();
    heap_bytes(slots * 4)
        + heap_bytes(buckets * HEADER_BUCKET)
        + heap_bytes(vec_capacity(extra) * HEADER_EXTRA_VALUE)
        + contents
}

/// The capacity of a vector grown one push at a time to `len` elements: a power of two, at least 4.
fn vec_capacity(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        len.next_power_of_two().max(4)
    }
}

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

    /// The bytes this entry counts for under `key` in a byte-bounded tier: what it holds in memory, so that a
    /// tier's byte bound is the memory its entries take. It is computed from the sizes of the structures
    /// involved: the key's and the body's allocations ([`heap_bytes`], the body's shared header included), the
    /// header map's heap (index table, buckets, custom names, values), the tags and `Vary` values, and
    /// [`ENTRY_OVERHEAD`] (the shared `Entry` allocation and the tier's bookkeeping).
    ///
    /// The weight depends on the contents only (vectors and maps are counted as grown one insertion at a time),
    /// so an entry weighs the same after a round trip through the disk tier. A body that is a slice of a larger
    /// buffer keeps that buffer alive; the weight counts the slice.
    pub fn weight(&self, key: &str) -> u64 {
        let tags: u64 = heap_bytes(vec_capacity(self.surrogate_keys.len()) * size_of::<String>())
            + self
                .surrogate_keys
                .iter()
                .map(|k| heap_bytes(k.len()))
                .sum::<u64>();
        let vary: u64 = heap_bytes(
            vec_capacity(self.vary.len()) * size_of::<(HeaderName, Option<HeaderValue>)>(),
        ) + self
            .vary
            .iter()
            .map(|(n, v)| name_heap(n) + v.as_ref().map_or(0, |v| bytes_heap(v.len())))
            .sum::<u64>();
        heap_bytes(key.len())
            + bytes_heap(self.body.len())
            + header_map_heap(&self.headers)
            + tags
            + vary
            + ENTRY_OVERHEAD
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
        assert_eq!(
            (
                heap_bytes(0),
                heap_bytes(1),
                heap_bytes(24),
                heap_bytes(25),
                heap_bytes(100)
            ),
            (0, 32, 32, 48, 112)
        );
        let bare = Entry::from_body(Bytes::from_static(b"hello"));
        assert_eq!(bare.weight("k"), 32 + (32 + SHARED_BYTES) + ENTRY_OVERHEAD);
        assert_eq!(Entry::from_body(Bytes::new()).weight(""), ENTRY_OVERHEAD);
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
        // a map's first insert allocates 8 index slots and 6 buckets; `surrogate-key` is a custom name
        let map = heap_bytes(8 * 4)
            + heap_bytes(6 * HEADER_BUCKET)
            + 2 * (32 + SHARED_BYTES)
            + (32 + SHARED_BYTES);
        let tags = heap_bytes(4 * 24) + 32 + 32;
        assert_eq!(
            e.weight("key"),
            32 + (32 + SHARED_BYTES) + map + tags + ENTRY_OVERHEAD
        );
        assert!(e.has_tag("bb") && !e.has_tag("b"));
    }

    #[test]
    fn the_overheads_follow_the_structures() {
        // the shared Entry allocation: two reference counts and the struct, as glibc rounds it
        assert_eq!(
            ENTRY_OVERHEAD - POLICY_OVERHEAD,
            heap_bytes(16 + size_of::<Entry>())
        );
        assert!(STANDARD_NAMES.contains(&http::header::ETAG));
        assert!(!STANDARD_NAMES.contains(&HeaderName::from_static("surrogate-key")));
    }
}
