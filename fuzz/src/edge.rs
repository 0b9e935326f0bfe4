//! Shared by the `edge_*` fuzz targets: a text-like message format for fuzzed requests and responses, an
//! edge in front of a scripted origin on a manual clock, and the framing invariants every response the edge
//! returns must satisfy.
//!
//! A message is `START LINE\nname: value\n...\n\nbody`: lines up to the first empty line are the start line
//! and header fields (split at the first `:`), the rest is the body. Bytes are taken as they are, so invalid
//! names and values reach the parsers too (those the `http` crate refuses are dropped).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use edgecache::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use edgecache::tier::MemoryTier;
use edgecache::{Edge, origin};
use stratus_clock::ManualClock;

/// A parsed message: the start line, the fields, the body.
pub struct Message {
    pub start: Vec<u8>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub fn parse_message(data: &[u8]) -> Message {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &b""[..]),
    };
    let mut lines = head.split(|b| *b == b'\n');
    let start = lines.next().unwrap_or_default().to_vec();
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let value = line[colon + 1..].strip_prefix(b" ").unwrap_or(&line[colon + 1..]);
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(n, v);
        }
    }
    Message {
        start,
        headers,
        body: Bytes::copy_from_slice(body),
    }
}

/// A request from a message whose start line is `METHOD URI`; `None` when the `http` crate refuses them.
pub fn request(m: &Message) -> Option<Request<Bytes>> {
    let text = String::from_utf8_lossy(&m.start);
    let mut parts = text.splitn(2, ' ');
    let method = Method::from_bytes(parts.next()?.as_bytes()).ok()?;
    let uri: edgecache::http::Uri = parts.next().unwrap_or("/").parse().ok()?;
    let mut req = Request::new(m.body.clone());
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    *req.headers_mut() = m.headers.clone();
    Some(req)
}

/// A response from a message whose start line is a status code (`200` when it does not parse).
pub fn response(m: &Message) -> Response<Bytes> {
    let status = std::str::from_utf8(&m.start)
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut r = Response::new(m.body.clone());
    *r.status_mut() = status;
    *r.headers_mut() = m.headers.clone();
    r
}

/// An edge (a small memory tier) in front of an origin answering every request with `respond(request)`.
pub fn edge(
    respond: impl Fn(&Request<Bytes>) -> Response<Bytes> + Send + Sync + 'static,
) -> (Edge, ManualClock) {
    let respond = Arc::new(respond);
    let origin = origin::from_fn(move |req: Request<Bytes>| {
        let r = respond(&req);
        async move { Ok(r) }
    });
    let manual = ManualClock::new();
    let edge = Edge::builder(origin)
        .with_clock(manual.clock())
        .with_tier(MemoryTier::new(1 << 20))
        .build()
        .expect("an edge");
    (edge, manual)
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime =
        tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
}

/// Runs a future to completion on this thread's runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    RUNTIME.with(|rt| rt.block_on(f))
}

/// Moves the clock by `byte` steps of 7 s.
pub fn advance(clock: &ManualClock, byte: u8) {
    clock.advance(Duration::from_secs(u64::from(byte) * 7));
}

/// The framing the edge promises on every response it returns (see `Edge::handle`): no
/// `Transfer-Encoding`; at most one `Content-Length`; for a response to a non-`HEAD` request that may have a
/// body, a `Content-Length` equal to the body's length; no body on `HEAD`, `1xx`, `204` and `304`.
pub fn check_framing(method: &Method, r: &Response<Bytes>) {
    let h = r.headers();
    assert!(!h.contains_key("transfer-encoding"), "Transfer-Encoding passed on");
    assert!(h.get_all("content-length").iter().count() <= 1, "several Content-Length");
    let status = r.status();
    let bodiless = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    if *method == Method::HEAD || bodiless {
        assert!(r.body().is_empty(), "a body on HEAD or {status}");
        if bodiless {
            assert!(!h.contains_key("content-length"), "Content-Length on {status}");
        }
    } else {
        let declared = h.get("content-length").map(|v| v.as_bytes().to_vec());
        assert_eq!(
            declared,
            Some(r.body().len().to_string().into_bytes()),
            "Content-Length does not frame the body"
        );
    }
    if status == StatusCode::PARTIAL_CONTENT && *method != Method::HEAD {
        if let Some(edgecache::edge::ContentRange::Bytes { first, last, .. }) = h
            .get("content-range")
            .and_then(|v| edgecache::edge::ContentRange::parse(v.as_bytes()))
        {
            assert!(
                r.body().len() as u64 <= last - first + 1,
                "a 206 body longer than its Content-Range"
            );
        }
    }
}
