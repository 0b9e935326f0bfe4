//! Conditional requests against a stored response: the origin's validators (`ETag`, `Last-Modified`) and the
//! client's `If-None-Match`, `If-Modified-Since`, `If-Match`, `If-Unmodified-Since`, `If-Range` and `Range`
//! are arbitrary. The edge never panics; a `304` has no body; a `200` is the stored body, a `206` a run of it;
//! every response is framed from its body.
//!
//! Input: the first byte moves the clock; then lines: ETag, Last-Modified, then the client's six fields in
//! that order (missing lines are absent fields).
#![no_main]

use bytes::Bytes;
use edgecache::http::{HeaderValue, Method, Request, Response, StatusCode};
use libfuzzer_sys::fuzz_target;
use stratus_fuzz::edge::{advance, block_on, check_framing, edge};

const BODY: &[u8] = b"the stored representation";
const FIELDS: [&str; 6] = [
    "if-none-match",
    "if-modified-since",
    "if-match",
    "if-unmodified-since",
    "if-range",
    "range",
];

fuzz_target!(|data: &[u8]| {
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    let lines: Vec<&[u8]> = rest.split(|b| *b == b'\n').collect();
    let value = |i: usize| {
        lines
            .get(i)
            .filter(|l| !l.is_empty())
            .and_then(|l| HeaderValue::from_bytes(l).ok())
    };
    let (etag, last_modified) = (value(0), value(1));
    let (edge, clock) = edge(move |_| {
        let mut r = Response::new(Bytes::from_static(BODY));
        let h = r.headers_mut();
        h.insert("cache-control", HeaderValue::from_static("max-age=30"));
        if let Some(e) = &etag {
            h.insert("etag", e.clone());
        }
        if let Some(l) = &last_modified {
            h.insert("last-modified", l.clone());
        }
        r
    });
    let plain = Request::get("http://example.com/c").body(Bytes::new()).unwrap();
    let _ = block_on(edge.handle(plain));
    for _ in 0..2 {
        let mut req = Request::get("http://example.com/c").body(Bytes::new()).unwrap();
        for (i, name) in FIELDS.iter().enumerate() {
            if let Some(v) = value(i + 2) {
                req.headers_mut().insert(*name, v);
            }
        }
        let Ok(r) = block_on(edge.handle(req)) else {
            continue;
        };
        check_framing(&Method::GET, &r);
        match r.status() {
            StatusCode::NOT_MODIFIED => assert!(r.body().is_empty()),
            StatusCode::OK => assert_eq!(&r.body()[..], BODY),
            StatusCode::PARTIAL_CONTENT => {
                assert!(BODY.windows(r.body().len()).any(|w| w == &r.body()[..]))
            }
            _ => {}
        }
        advance(&clock, step);
    }
});
