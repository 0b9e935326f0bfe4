//! An arbitrary client request through an `Edge` in front of a stub origin (a cacheable `200` with
//! validators), sent twice with the clock moved between: the edge never panics, answers a request without a
//! valid authority with `400`, and frames every response from the body it returns.
//!
//! Input: the first byte moves the clock; the rest is a message `METHOD URI\nname: value\n...\n\nbody` (see
//! `stratus_fuzz::edge`).
#![no_main]

use bytes::Bytes;
use edgecache::Edge;
use edgecache::http::{Response, StatusCode};
use libfuzzer_sys::fuzz_target;
use stratus_fuzz::edge::{advance, block_on, check_framing, edge, parse_message, request};

fuzz_target!(|data: &[u8]| {
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    let Some(req) = request(&parse_message(rest)) else {
        return;
    };
    let (edge, clock) = edge(|_| {
        Response::builder()
            .header("cache-control", "max-age=60, stale-while-revalidate=30")
            .header("etag", "\"v1\"")
            .header("last-modified", "Mon, 01 Jan 2024 00:00:00 GMT")
            .header("vary", "accept-encoding")
            .body(Bytes::from_static(b"0123456789"))
            .unwrap()
    });
    let valid = Edge::cache_key(&req).is_ok();
    for _ in 0..2 {
        let mut again = edgecache::http::Request::new(req.body().clone());
        *again.method_mut() = req.method().clone();
        *again.uri_mut() = req.uri().clone();
        *again.headers_mut() = req.headers().clone();
        let method = req.method().clone();
        let Ok(r) = block_on(edge.handle(again)) else {
            continue;
        };
        if !valid {
            assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        }
        check_framing(&method, &r);
        advance(&clock, step);
    }
});
