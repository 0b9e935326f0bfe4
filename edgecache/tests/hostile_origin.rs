//! Hostile origins and clients (issue 16, edgecache part): each reproduction as a test, run in debug and
//! release builds. An origin's `Content-Range` near `u64::MAX`, framing headers the origin got wrong, a `Host`
//! that is not a valid authority, `+` signs in ranges, and the memory a large body costs in the disk tier.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use edgecache::{Edge, origin};
use http::{Request, Response, StatusCode};
use stratus_clock::ManualClock;

/// An edge in front of an origin answering every request with `respond(request)`; the count of origin calls.
fn edge_with(
    respond: impl Fn(&Request<Bytes>) -> Response<Bytes> + Send + Sync + 'static,
) -> (Edge, Arc<AtomicU64>) {
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    let respond = Arc::new(respond);
    let origin = origin::from_fn(move |req: Request<Bytes>| {
        counter.fetch_add(1, Ordering::SeqCst);
        let r = respond(&req);
        async move { Ok(r) }
    });
    let edge = Edge::builder(origin)
        .with_clock(ManualClock::new().clock())
        .build()
        .unwrap();
    (edge, calls)
}

fn get(uri: &str, headers: &[(&str, &[u8])]) -> Request<Bytes> {
    let mut b = Request::get(uri);
    for (n, v) in headers {
        b = b.header(*n, http::HeaderValue::from_bytes(v).unwrap());
    }
    b.body(Bytes::new()).unwrap()
}

/// Issue 16: `offset + len - 1` on an origin's `Content-Range` overflowed (a debug-build panic, a wrapped
/// position in release) for a part near `u64::MAX` followed by a matching `Range` request. The part is stored
/// and serves the ranges it holds; a body longer than its range is cut to the bytes the range names (RFC 9110
/// section 15.3.7: the `Content-Range` describes the enclosed representation data).
#[tokio::test]
async fn a_content_range_near_u64_max_never_overflows() {
    const RANGE: &str = "bytes 18446744073709551610-18446744073709551614/18446744073709551615";
    for body in ["01234", "0123456789"] {
        let (edge, calls) = edge_with(move |_| {
            Response::builder()
                .status(206)
                .header("cache-control", "max-age=600")
                .header("content-range", RANGE)
                .body(Bytes::from_static(body.as_bytes()))
                .unwrap()
        });
        let ask =
            |range: &'static str| get("http://example.com/huge", &[("range", range.as_bytes())]);
        let first = edge
            .handle(ask("bytes=18446744073709551610-18446744073709551614"))
            .await
            .unwrap();
        let again = edge
            .handle(ask("bytes=18446744073709551611-18446744073709551612"))
            .await
            .unwrap();
        // the ten-byte body is longer than its range: the edge serves and stores the five bytes it names
        assert_eq!(first.status(), StatusCode::PARTIAL_CONTENT, "{body}");
        assert_eq!(first.body(), "01234");
        assert_eq!(first.headers()["content-range"], RANGE);
        assert_eq!(
            (again.status(), again.body().as_ref()),
            (StatusCode::PARTIAL_CONTENT, &b"12"[..])
        );
        assert_eq!(
            again.headers()["content-range"],
            "bytes 18446744073709551611-18446744073709551612/18446744073709551615"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the second range is a hit");
    }
}

/// A `206` whose body is shorter than its `Content-Range` is passed on as sent and serves from cache only the
/// bytes it holds; one with an empty body holds nothing: a `502`, never stored.
#[tokio::test]
async fn a_part_shorter_than_its_range_is_described_by_what_it_holds() {
    let (edge, calls) = edge_with(|req| {
        let body: &'static [u8] = if req.uri().path() == "/empty" {
            b""
        } else {
            b"01234"
        };
        Response::builder()
            .status(206)
            .header("cache-control", "max-age=600")
            .header("content-range", "bytes 4-9/10")
            .body(Bytes::from_static(body))
            .unwrap()
    });
    let r = edge
        .handle(get("http://example.com/short", &[("range", b"bytes=4-9")]))
        .await
        .unwrap();
    assert_eq!(
        (r.status(), r.body().as_ref()),
        (StatusCode::PARTIAL_CONTENT, &b"01234"[..])
    );
    let r = edge
        .handle(get("http://example.com/short", &[("range", b"bytes=6-8")]))
        .await
        .unwrap();
    assert_eq!(
        (r.status(), r.body().as_ref()),
        (StatusCode::PARTIAL_CONTENT, &b"234"[..])
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let r = edge
        .handle(get("http://example.com/short", &[("range", b"bytes=6-9")]))
        .await
        .unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "byte 9 is not held: the origin is asked"
    );
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    for _ in 0..2 {
        let r = edge
            .handle(get("http://example.com/empty", &[("range", b"bytes=4-9")]))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

/// Issue 16: an origin's `Content-Length` was stored and replayed: a 10-byte body declared as 1 GiB (or a
/// large body declared as 10 bytes) was served so on every hit, a framing desync for any HTTP front. Framing
/// fields are the edge's own (RFC 9110 section 8.6, RFC 9112 section 6): `Content-Length` is the length of the
/// body served (of the stored body for `HEAD`), absent on `304`; `Transfer-Encoding` is never passed on. The
/// origin's `Content-Length` is read as an HTTP/1.1 connection reads it (RFC 9112 section 6.3): a longer body
/// is cut to it; a shorter one is incomplete, passed on with its own length and never stored (RFC 9111
/// section 3.3); an invalid one is an origin failure (a proxy answers `502`).
#[tokio::test]
async fn framing_headers_are_computed_from_the_body_served() {
    let big = Bytes::from(vec![b'x'; 1 << 20]);
    let (edge, calls) = edge_with(move |req| {
        let (body, declared) = match req.uri().path() {
            "/short" => (Bytes::from_static(b"0123456789"), "1073741824"),
            "/long" => (big.clone(), "10"),
            "/exact" => (Bytes::from_static(b"0123456789"), "10, 10"),
            "/bad" => (Bytes::from_static(b"0123456789"), "+10"),
            _ => (Bytes::from_static(b"0123456789"), "10, 11"),
        };
        Response::builder()
            .header("cache-control", "max-age=600")
            .header("etag", "\"v1\"")
            .header("content-length", declared)
            .header("transfer-encoding", "chunked")
            .body(body)
            .unwrap()
    });
    let mut expected_calls = 0;
    for path in ["/short", "/long", "/exact"] {
        let uri = format!("http://example.com{path}");
        let stored = path != "/short";
        for round in ["miss", "hit"] {
            let r = edge.handle(get(&uri, &[])).await.unwrap();
            assert_eq!(r.body().len(), 10, "{path} {round}");
            assert_eq!(r.headers()["content-length"], "10", "{path} {round}");
            assert_eq!(r.headers().get_all("content-length").iter().count(), 1);
            assert!(
                !r.headers().contains_key("transfer-encoding"),
                "{path} {round}"
            );
            if round == "miss" || !stored {
                expected_calls += 1;
            }
            assert_eq!(
                calls.load(Ordering::SeqCst),
                expected_calls,
                "{path} {round}"
            );
        }
        if !stored {
            continue;
        }
        let head = Request::head(&uri).body(Bytes::new()).unwrap();
        let r = edge.handle(head).await.unwrap();
        assert!(r.body().is_empty());
        assert_eq!(r.headers()["content-length"], "10", "HEAD {path}");
        let range = edge
            .handle(get(&uri, &[("range", b"bytes=2-5")]))
            .await
            .unwrap();
        assert_eq!(range.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(range.headers()["content-length"], "4");
        let not_modified = edge
            .handle(get(&uri, &[("if-none-match", b"\"v1\"")]))
            .await
            .unwrap();
        assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
        assert!(!not_modified.headers().contains_key("content-length"));
        assert_eq!(calls.load(Ordering::SeqCst), expected_calls, "{path}: hits");
    }
    for path in ["/bad", "/conflicting"] {
        let err = edge
            .handle(get(&format!("http://example.com{path}"), &[]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "Origin", "{path}");
        assert!(err.to_string().contains("Content-Length"), "{err}");
    }
}

/// Issue 16: a `Host` that was not UTF-8 mapped to an empty authority, so `attacker\xff.test`,
/// `victim\xfe.test` and a request with no `Host` shared one cache key and one origin response. A request
/// without a valid authority is a `400` (RFC 9112 section 3.2: "A server MUST respond with a 400 (Bad
/// Request) status code to any HTTP/1.1 request message that lacks a Host header field and to any request
/// message that contains more than one Host header field line or a Host header field with an invalid field
/// value"), never sent to the origin, never a cache key.
#[tokio::test]
async fn an_invalid_host_is_a_400_never_a_shared_cache_key() {
    let (edge, calls) = edge_with(|req| {
        let host = req.headers().get("host").map(|h| h.as_bytes().to_vec());
        Response::builder()
            .header("cache-control", "max-age=600")
            .body(Bytes::from(format!("for {host:?}")))
            .unwrap()
    });
    let bad: [&[(&str, &[u8])]; 6] = [
        &[("host", b"attacker\xff.test")],
        &[("host", b"victim\xfe.test")],
        &[],
        &[("host", b"victim.test/evil")],
        &[("host", b"user@victim.test")],
        &[("host", b"a.test"), ("host", b"b.test")],
    ];
    for headers in bad {
        let req = get("/page", headers);
        assert!(Edge::cache_key(&req).is_err(), "{headers:?}");
        let r = edge.handle(req).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{headers:?}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "an invalid request never reaches the origin"
    );
    let ok = edge
        .handle(get("/page", &[("host", b"Victim.Test:8080")]))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let key = Edge::cache_key(&get("/page", &[("host", b"Victim.Test:8080")])).unwrap();
    assert_eq!(key, "victim.test:8080/page");
}

/// Issue 16: the `Content-Range` parser accepted `+` signs (`bytes +0-+9/+10`). RFC 9110 section 14.4:
/// `Content-Range = range-unit SP ( range-resp / unsatisfied-range )`, `incl-range = first-pos "-"
/// last-pos`, positions `1*DIGIT`. A `206` whose `Content-Range` does not parse is not a valid part: a
/// `502`, never stored and never served to a later range request. The `Range` request field is parsed as
/// strictly (section 14.1.1): `bytes=+0-+4` is not a byte range, so the whole response is served.
#[tokio::test]
async fn signs_and_spaces_in_ranges_are_refused() {
    for bad in [
        "bytes +0-+9/+10",
        "bytes 0-+9/10",
        "bytes 0-9/+10",
        "bytes -0-9/10",
        "bytes 0 -9/10",
        "bytes 0-9 /10",
        "bytes 0x0-9/10",
    ] {
        let (edge, calls) = edge_with(move |_| {
            Response::builder()
                .status(206)
                .header("cache-control", "max-age=600")
                .header("content-range", bad)
                .body(Bytes::from_static(b"0123456789"))
                .unwrap()
        });
        for _ in 0..2 {
            let r = edge
                .handle(get("http://example.com/p", &[("range", b"bytes=0-4")]))
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::BAD_GATEWAY, "{bad}");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2, "{bad}: never stored");
    }
    assert_eq!(
        edgecache::edge::ContentRange::parse(b"bytes +0-+9/+10"),
        None
    );
    assert_eq!(
        edgecache::edge::ContentRange::parse(b"bytes 0-9/10"),
        Some(edgecache::edge::ContentRange::Bytes {
            first: 0,
            last: 9,
            complete: Some(10)
        })
    );

    let (edge, _) = edge_with(|_| {
        Response::builder()
            .header("cache-control", "max-age=600")
            .body(Bytes::from_static(b"0123456789"))
            .unwrap()
    });
    edge.handle(get("http://example.com/p", &[])).await.unwrap();
    for bad in [
        &b"bytes=+0-+4"[..],
        b"bytes=0-+4",
        b"bytes=+2-",
        b"bytes=-+3",
        b"bytes=0 - 4",
    ] {
        let r = edge
            .handle(get("http://example.com/p", &[("range", bad)]))
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(bad)
        );
        assert_eq!(r.body(), "0123456789");
    }
    let r = edge
        .handle(get("http://example.com/p", &[("range", b"Bytes=2-4")]))
        .await
        .unwrap();
    assert_eq!(
        (r.status(), r.body().as_ref()),
        (StatusCode::PARTIAL_CONTENT, &b"234"[..]),
        "range units are case-insensitive"
    );
}

/// A field of `/proc/self/status` in bytes (`VmHWM`, `VmRSS`), Linux only.
fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets the peak RSS (`VmHWM`) to the current RSS; false where the kernel does not allow it.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

const LARGE_BODY_CHILD: &str = "EDGECACHE_LARGE_BODY_CHILD";

/// Issue 16: a 1 GiB body stored to the disk tier peaked at 3 GiB (the store encoded the body into a buffer,
/// then copied that buffer; a read held the file and a copy of its body). Now a store writes from the body's
/// own bytes and a read allocates the file once, the body a slice of it. Measured in a child process (this test
/// re-runs itself) by the peak RSS (`VmHWM`) around a store and a read of a 256 MiB body: each may add at most
/// a quarter of the body (before: a store added two bodies, a read one more than the body it returns).
#[test]
fn a_large_body_is_stored_and_read_from_disk_without_copies() {
    const BODY: usize = 256 << 20;
    if std::env::var_os(LARGE_BODY_CHILD).is_none() {
        if proc_status_bytes("VmHWM").is_none() || !reset_peak() {
            println!("skipped: no /proc/self/status VmHWM or clear_refs on this system");
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_large_body_is_stored_and_read_from_disk_without_copies",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(LARGE_BODY_CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        println!("{stdout}");
        assert!(
            out.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("disk tier 256 MiB body:"), "{stdout}");
        return;
    }
    use edgecache::tier::{DiskOptions, DiskTier};
    use edgecache::{Entry, Tier};
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    rt.block_on(async {
        let tier = DiskTier::open(dir.path(), DiskOptions::default()).await.unwrap();
        let body = Bytes::from(vec![7u8; BODY]);
        let entry = Arc::new(Entry::from_body(body));
        assert!(reset_peak());
        let before = proc_status_bytes("VmRSS").unwrap();
        assert!(tier.insert("example.com/large", entry.clone()).await.unwrap());
        let store_peak = proc_status_bytes("VmHWM").unwrap().saturating_sub(before);
        drop(entry);
        assert!(reset_peak());
        let before = proc_status_bytes("VmRSS").unwrap();
        let read = tier.get("example.com/large").await.unwrap().expect("stored");
        let read_peak = proc_status_bytes("VmHWM").unwrap().saturating_sub(before);
        assert_eq!(read.body.len(), BODY);
        assert!(read.body.iter().all(|b| *b == 7));
        println!(
            "disk tier 256 MiB body: store peak +{:.1} MiB, read peak +{:.1} MiB (the body it returns included)",
            mib(store_peak),
            mib(read_peak)
        );
        let quarter = (BODY / 4) as u64;
        assert!(store_peak < quarter, "a store copied the body: +{:.1} MiB", mib(store_peak));
        assert!(
            read_peak < BODY as u64 + quarter,
            "a read held more than one body: +{:.1} MiB",
            mib(read_peak)
        );
    });
}
