//! An arbitrary origin response (status, header fields, body) behind an `Edge`, asked for by a sequence of
//! requests (a full `GET`, a range, `HEAD`, a conditional `GET`) with the clock moved between: the edge never
//! panics, frames every response from the body it returns, and serves from cache only the origin's bytes.
//!
//! Input: the first byte moves the clock; the rest is a message `STATUS\nname: value\n...\n\nbody`.
#![no_main]

use bytes::Bytes;
use edgecache::http::{Method, Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use stratus_fuzz::edge::{advance, block_on, check_framing, edge, parse_message, response};

fuzz_target!(|data: &[u8]| {
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    let message = parse_message(rest);
    let origin_body = message.body.clone();
    let reply = response(&message);
    let (edge, clock) = edge(move |_| {
        let mut r = edgecache::http::Response::new(reply.body().clone());
        *r.status_mut() = reply.status();
        *r.headers_mut() = reply.headers().clone();
        r
    });
    let asks: [(Method, &[(&str, &str)]); 5] = [
        (Method::GET, &[]),
        (Method::GET, &[("range", "bytes=2-5")]),
        (Method::HEAD, &[]),
        (Method::GET, &[("if-none-match", "\"v1\"")]),
        (Method::GET, &[("range", "bytes=-3")]),
    ];
    for (method, headers) in asks {
        let mut b = Request::builder()
            .method(method.clone())
            .uri("http://example.com/p");
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        let Ok(r) = block_on(edge.handle(b.body(Bytes::new()).unwrap())) else {
            continue;
        };
        check_framing(&method, &r);
        if r.status() != StatusCode::BAD_GATEWAY && !r.body().is_empty() {
            // whatever is served is a run of the origin's bytes
            assert!(
                origin_body
                    .windows(r.body().len())
                    .any(|w| w == &r.body()[..]),
                "served bytes the origin never sent"
            );
        }
        advance(&clock, step);
    }
});
