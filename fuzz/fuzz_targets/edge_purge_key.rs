//! An arbitrary purge key (a URL, a cache key or a path) through `Edge::purge_key` and `soft_purge_prefix` on
//! an edge with a purge host: never a panic, only `Ok` or `InvalidRequest`; and when the input is a URL a
//! client could request, the response stored for that request is what the purge removes.
//!
//! Input: the purge key, as UTF-8 (lossy).
#![no_main]

use bytes::Bytes;
use edgecache::http::{Request, Response, Uri};
use edgecache::{Edge, origin};
use libfuzzer_sys::fuzz_target;
use stratus_fuzz::edge::block_on;

fuzz_target!(|data: &[u8]| {
    let spec = String::from_utf8_lossy(data);
    let edge = Edge::builder(origin::from_fn(|_r: Request<Bytes>| async {
        Ok(Response::builder()
            .header("cache-control", "max-age=60")
            .body(Bytes::from_static(b"x"))
            .unwrap())
    }))
    .with_clock(stratus_clock::ManualClock::new().clock())
    .with_purge_host("example.com")
    .build()
    .unwrap();
    let stored = spec.contains("://")
        && spec.trim() == spec
        && spec
            .parse::<Uri>()
            .ok()
            .and_then(|uri| Request::get(uri).body(Bytes::new()).ok())
            .filter(|req| Edge::cache_key(req).is_ok())
            .map(|req| block_on(edge.handle(req)).is_ok())
            .unwrap_or(false);
    for result in [
        block_on(edge.soft_purge_prefix(&spec)),
        block_on(edge.purge_key(&spec)),
    ] {
        if let Err(e) = &result {
            assert_eq!(e.code(), "InvalidRequest", "{e}");
        }
    }
    if stored {
        // soft-marked by the prefix purge (the key is its own prefix), then removed by the key purge
        assert_eq!(block_on(edge.purge_key(&spec)).unwrap(), 0, "already removed");
        assert_eq!(edge.metrics().purged, 1, "the key purge removed what {spec:?} stored");
    }
});
