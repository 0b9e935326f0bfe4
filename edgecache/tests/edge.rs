//! Behaviour of the Edge: coalescing (1,000 concurrent cold requests, waiter timeout, shared errors),
//! revalidation, stale-while-revalidate and stale-if-error, Vary, invalidation, purge, tiers, metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use edgecache::tier::{DiskOptions, DiskTier, MemoryTier};
use edgecache::{Edge, Error, origin};
use http::{HeaderMap, Request, Response, StatusCode};
use parking_lot::Mutex;
use stratus_clock::ManualClock;
use tokio::sync::Semaphore;

fn get(path: &str) -> Request<Bytes> {
    Request::get(format!("http://example.com{path}"))
        .body(Bytes::new())
        .unwrap()
}

fn get_with(path: &str, name: &'static str, value: &'static str) -> Request<Bytes> {
    Request::get(format!("http://example.com{path}"))
        .header(name, value)
        .body(Bytes::new())
        .unwrap()
}

/// What a scripted origin saw.
#[derive(Debug, Default)]
struct Seen {
    requests: Vec<(http::Method, String, HeaderMap)>,
}

type Script = dyn Fn(u64, &Request<Bytes>) -> edgecache::Result<Response<Bytes>> + Send + Sync;

/// An origin answering with `script(n, request)` (n counts from 1), after a permit of `gate` when given.
fn scripted(
    script: Arc<Script>,
    gate: Option<Arc<Semaphore>>,
) -> (impl edgecache::Origin, Arc<AtomicU64>, Arc<Mutex<Seen>>) {
    let count = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (c, s) = (count.clone(), seen.clone());
    let origin = origin::from_fn(move |req: Request<Bytes>| {
        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
        s.lock().requests.push((
            req.method().clone(),
            req.uri().to_string(),
            req.headers().clone(),
        ));
        let script = script.clone();
        let gate = gate.clone();
        async move {
            if let Some(g) = gate {
                g.acquire().await.expect("gate").forget();
            }
            script(n, &req)
        }
    });
    (origin, count, seen)
}

fn ok(cc: &str, body: String) -> edgecache::Result<Response<Bytes>> {
    Ok(Response::builder()
        .header("cache-control", cc)
        .body(Bytes::from(body))
        .unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_cold_requests_make_one_origin_request() {
    let gate = Arc::new(Semaphore::new(0));
    let (origin, count, _) = scripted(
        Arc::new(|n, _| ok("max-age=60", format!("body {n}"))),
        Some(gate.clone()),
    );
    let manual = ManualClock::new();
    let edge = Edge::builder(origin)
        .with_clock(manual.clock())
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let edge = edge.clone();
            tokio::spawn(async move { edge.handle(get("/cold")).await })
        })
        .collect();
    // every request is in: one at the origin, 999 waiting on it
    while edge.metrics().coalesced < 999 {
        tokio::task::yield_now().await;
    }
    assert_eq!(count.load(Ordering::SeqCst), 1);
    gate.add_permits(1);
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.body(), "body 1");
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "exactly one origin request"
    );
    let m = edge.metrics();
    assert_eq!(
        (m.requests, m.origin_requests, m.coalesced, m.misses),
        (1000, 1, 999, 1)
    );
    assert_eq!(m.hits("memory"), 999);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_go_to_the_origin_themselves_after_the_coalesce_timeout() {
    // the first origin request hangs until released; later ones answer at once
    let gate = Arc::new(Semaphore::new(0));
    let first_started = Arc::new(Semaphore::new(0));
    let count = Arc::new(AtomicU64::new(0));
    let origin = origin::from_fn({
        let (gate, first_started, count) = (gate.clone(), first_started.clone(), count.clone());
        move |_req: Request<Bytes>| {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            let (gate, first_started) = (gate.clone(), first_started.clone());
            async move {
                if n == 1 {
                    first_started.add_permits(1);
                    gate.acquire().await.unwrap().forget();
                }
                ok("max-age=60", format!("answer {n}"))
            }
        }
    });
    let manual = ManualClock::new();
    let edge = Edge::builder(origin)
        .with_clock(manual.clock())
        .with_origin_timeout(None)
        .with_coalesce_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let leader = tokio::spawn({
        let edge = edge.clone();
        async move { edge.handle(get("/slow")).await }
    });
    first_started.acquire().await.unwrap().forget();
    let waiters: Vec<_> = (0..5)
        .map(|_| {
            let edge = edge.clone();
            tokio::spawn(async move { edge.handle(get("/slow")).await })
        })
        .collect();
    manual.wait_for_sleepers(5).await; // five waiters parked on their timeout
    manual.advance(Duration::from_secs(4));
    tokio::task::yield_now().await;
    assert_eq!(count.load(Ordering::SeqCst), 1, "nobody gave up early");
    manual.advance(Duration::from_secs(1));
    let mut bodies = Vec::new();
    for w in waiters {
        bodies.push(w.await.unwrap().unwrap().into_body());
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        6,
        "each waiter went to the origin itself"
    );
    assert!(bodies.iter().all(|b| b != "answer 1"));
    gate.add_permits(1);
    assert_eq!(leader.await.unwrap().unwrap().body(), "answer 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_error_reaches_every_waiter() {
    let gate = Arc::new(Semaphore::new(0));
    let (origin, count, _) = scripted(
        Arc::new(|_, req| Err(Error::origin(req.uri().to_string(), "connection refused"))),
        Some(gate.clone()),
    );
    let edge = Edge::builder(origin)
        .with_clock(ManualClock::new().clock())
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let edge = edge.clone();
            tokio::spawn(async move { edge.handle(get("/down")).await })
        })
        .collect();
    while edge.metrics().coalesced < 49 {
        tokio::task::yield_now().await;
    }
    gate.add_permits(1);
    for t in tasks {
        let err = t.await.unwrap().expect_err("the origin failed");
        assert_eq!(err.code(), "Origin");
        assert!(err.to_string().contains("connection refused"), "{err}");
    }
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert_eq!(edge.metrics().origin_errors, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_on_a_failed_revalidation_are_served_stale_without_asking_the_origin_again() {
    let gate = Arc::new(Semaphore::new(1)); // the first fetch goes through, the second waits
    let (origin, count, _) = scripted(
        Arc::new(|n, req| match n {
            1 => ok("max-age=1, stale-if-error=600", "kept".into()),
            _ => Err(Error::origin(req.uri().to_string(), "down")),
        }),
        Some(gate.clone()),
    );
    let manual = ManualClock::new();
    let edge = Edge::builder(origin)
        .with_clock(manual.clock())
        .with_origin_timeout(None)
        .build()
        .unwrap();
    edge.handle(get("/sie-many")).await.unwrap();
    manual.advance(Duration::from_secs(10));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let edge = edge.clone();
            tokio::spawn(async move { edge.handle(get("/sie-many")).await })
        })
        .collect();
    while edge.metrics().coalesced < 19 {
        tokio::task::yield_now().await;
    }
    gate.add_permits(1);
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().body(), "kept");
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "one failed revalidation for twenty requests"
    );
    assert_eq!(edge.metrics().stale_served, 20);
}

#[tokio::test]
async fn age_revalidation_and_a_304_that_refreshes_headers() {
    let (origin, count, seen) = scripted(
        Arc::new(|n, req| {
            if n == 1 {
                return Ok(Response::builder()
                    .header("cache-control", "max-age=10")
                    .header("etag", "\"v1\"")
                    .header("x-version", "1")
                    .body(Bytes::from("payload"))
                    .unwrap());
            }
            assert_eq!(req.headers()["if-none-match"], "\"v1\"");
            Ok(Response::builder()
                .status(304)
                .header("cache-control", "max-age=100")
                .header("etag", "\"v1\"")
                .header("x-version", "2")
                .body(Bytes::new())
                .unwrap())
        }),
        None,
    );
    let manual = ManualClock::new();
    let edge = Edge::builder(origin)
        .with_clock(manual.clock())
        .build()
        .unwrap();
    edge.handle(get("/r")).await.unwrap();
    manual.advance(Duration::from_secs(7));
    let hit = edge.handle(get("/r")).await.unwrap();
    assert_eq!(hit.headers()["age"], "7");
    // the origin sent no Date: the edge added the time it received the response
    assert_eq!(hit.headers()["date"], "Mon, 01 Jan 2024 00:00:00 GMT");
    manual.advance(Duration::from_secs(5)); // 12 s: stale
    let revalidated = edge.handle(get("/r")).await.unwrap();
    assert_eq!(revalidated.status(), StatusCode::OK);
    assert_eq!(revalidated.body(), "payload");
    assert_eq!(revalidated.headers()["x-version"], "2");
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert!(seen.lock().requests[1].2.contains_key("if-none-match"));
    manual.advance(Duration::from_secs(50)); // fresh for 100 s from the 304
    let again = edge.handle(get("/r")).await.unwrap();
    assert_eq!(again.headers()["x-version"], "2");
    assert_eq!(again.headers()["age"], "50");
    assert_eq!(count.load(Ordering::SeqCst), 2);
    let m = edge.metrics();
    assert_eq!((m.revalidations, m.revalidated_not_modified), (1, 1));
    // the client's own conditional request is answered from cache
    let conditional = edge
        .handle(get_with("/r", "if-none-match", "\"v1\""))
        .await
        .unwrap();
    assert_eq!(conditional.status(), StatusCode::NOT_MODIFIED);
    assert!(conditional.body().is_empty());
}

#[tokio::test]
async fn stale_while_revalidate_serves_stale_and_refreshes_once_in_the_background() {
    let (origin, count, _) = scripted(
        Arc::new(|n, _| ok("max-age=1, stale-while-revalidate=60", format!("v{n}"))),
        None,
    );
    let manual = ManualClock::new();
    let edge = Edge::builder(origin)
        .with_clock(manual.clock())
        .build()
        .unwrap();
    assert_eq!(edge.handle(get("/swr")).await.unwrap().body(), "v1");
    manual.advance(Duration::from_secs(10));
    for _ in 0..10 {
        // stale but within the window: served at once, the refresh runs behind
        assert_eq!(edge.handle(get("/swr")).await.unwrap().body(), "v1");
    }
    edge.background_idle().await;
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "one background refresh for ten stale hits"
    );
    assert_eq!(edge.handle(get("/swr")).await.unwrap().body(), "v2");
    assert_eq!(edge.metrics().stale_served, 10);
    manual.advance(Duration::from_secs(100)); // past the window: a foreground fetch
    assert_eq!(edge.handle(get("/swr")).await.unwrap().body(), "v3");
}

#[tokio::test]
async fn stale_if_error_serves_stale_within_its_window_only() {
    let (origin, _, _) = scripted(
        Arc::new(|n, req| match n {
            1 => ok("max-age=1, stale-if-error=30", "good".into()),
            2 => Ok(Response::builder().status(503).body(Bytes::new()).unwrap()),
            _ => Err(Error::origin(req.uri().to_string(), "reset")),
        }),
        None,
    );
    let manual = ManualClock::new();
    let edge = Edge::builder(origin)
        .with_clock(manual.clock())
        .build()
        .unwrap();
    edge.handle(get("/sie")).await.unwrap();
    manual.advance(Duration::from_secs(10));
    assert_eq!(
        edge.handle(get("/sie")).await.unwrap().body(),
        "good",
        "a 503 within the window"
    );
    assert_eq!(
        edge.handle(get("/sie")).await.unwrap().body(),
        "good",
        "an error within the window"
    );
    manual.advance(Duration::from_secs(60));
    assert_eq!(edge.handle(get("/sie")).await.unwrap_err().code(), "Origin");
}

#[tokio::test]
async fn stale_on_error_is_an_option_and_never_overrides_must_revalidate() {
    let script: Arc<Script> = Arc::new(|n, req| match (n, req.uri().path()) {
        (_, "/strict") if n == 1 => ok("max-age=1, must-revalidate", "strict".into()),
        (1, _) | (2, _) => ok("max-age=1", "lenient".into()),
        _ => Err(Error::origin(req.uri().to_string(), "down")),
    });
    for (window, served) in [(Duration::ZERO, false), (Duration::from_secs(3600), true)] {
        let (origin, _, _) = scripted(script.clone(), None);
        let manual = ManualClock::new();
        let edge = Edge::builder(origin)
            .with_clock(manual.clock())
            .with_stale_on_error(window)
            .build()
            .unwrap();
        edge.handle(get("/strict")).await.unwrap();
        edge.handle(get("/lenient")).await.unwrap();
        manual.advance(Duration::from_secs(60));
        assert!(
            edge.handle(get("/strict")).await.is_err(),
            "must-revalidate is never served stale"
        );
        let lenient = edge.handle(get("/lenient")).await;
        assert_eq!(lenient.is_ok(), served, "window {window:?}");
    }
}

#[tokio::test]
async fn vary_keeps_variants_apart() {
    let (origin, count, _) = scripted(
        Arc::new(|_, req| {
            let enc = req
                .headers()
                .get("accept-encoding")
                .map_or("identity", |v| v.to_str().unwrap());
            Ok(Response::builder()
                .header("cache-control", "max-age=60")
                .header("vary", "Accept-Encoding")
                .body(Bytes::from(format!("encoded {enc}")))
                .unwrap())
        }),
        None,
    );
    let edge = Edge::builder(origin)
        .with_clock(ManualClock::new().clock())
        .build()
        .unwrap();
    for _ in 0..2 {
        for enc in ["gzip", "br"] {
            let r = edge
                .handle(get_with("/v", "accept-encoding", enc))
                .await
                .unwrap();
            assert_eq!(r.body(), &format!("encoded {enc}"));
        }
        assert_eq!(
            edge.handle(get("/v")).await.unwrap().body(),
            "encoded identity"
        );
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        3,
        "three variants, each fetched once"
    );
}

#[tokio::test]
async fn a_language_variant_is_reused_when_it_is_the_most_preferred_language() {
    let (origin, count, _) = scripted(
        Arc::new(|_, _| {
            Ok(Response::builder()
                .header("cache-control", "max-age=600")
                .header("vary", "Accept-Language")
                .header("content-language", "de")
                .body(Bytes::from("Hallo"))
                .unwrap())
        }),
        None,
    );
    let edge = Edge::builder(origin)
        .with_clock(ManualClock::new().clock())
        .build()
        .unwrap();
    edge.handle(get_with("/l", "accept-language", "en, de"))
        .await
        .unwrap();
    edge.handle(get_with("/l", "accept-language", "fr;q=0.5, de;q=1.0"))
        .await
        .unwrap();
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "de is the most preferred: the stored de variant serves"
    );
    edge.handle(get_with("/l", "accept-language", "fr, de;q=0.9"))
        .await
        .unwrap();
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "fr is preferred: the origin decides"
    );
    edge.handle(get_with("/l", "accept-language", "fr, DE"))
        .await
        .unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 3, "a tie: the origin decides");
}

#[tokio::test]
async fn unsafe_methods_invalidate_the_url_and_its_location() {
    let (origin, count, _) = scripted(
        Arc::new(|n, req| {
            if req.method() == http::Method::POST {
                return Ok(Response::builder()
                    .status(201)
                    .header("location", "/b")
                    .body(Bytes::new())
                    .unwrap());
            }
            ok("max-age=600", format!("{} {n}", req.uri().path()))
        }),
        None,
    );
    let edge = Edge::builder(origin)
        .with_clock(ManualClock::new().clock())
        .build()
        .unwrap();
    edge.handle(get("/a")).await.unwrap();
    edge.handle(get("/b")).await.unwrap();
    edge.handle(get("/c")).await.unwrap();
    let post = Request::post("http://example.com/a")
        .body(Bytes::from("x"))
        .unwrap();
    assert_eq!(
        edge.handle(post).await.unwrap().status(),
        StatusCode::CREATED
    );
    assert_eq!(edge.handle(get("/a")).await.unwrap().body(), "/a 5");
    assert_eq!(edge.handle(get("/b")).await.unwrap().body(), "/b 6");
    assert_eq!(
        edge.handle(get("/c")).await.unwrap().body(),
        "/c 3",
        "an unrelated URL stays cached"
    );
    assert_eq!(count.load(Ordering::SeqCst), 6);
}

#[tokio::test]
async fn purge_by_key_prefix_tag_and_soft_purge() {
    let (origin, count, seen) = scripted(
        Arc::new(|n, req| {
            if req.headers().contains_key("if-none-match") {
                return Ok(Response::builder()
                    .status(304)
                    .header("etag", "\"e\"")
                    .body(Bytes::new())
                    .unwrap());
            }
            let tag = if req.uri().path().starts_with("/img") {
                "images"
            } else {
                "pages"
            };
            Ok(Response::builder()
                .header("cache-control", "max-age=600")
                .header("etag", "\"e\"")
                .header("surrogate-key", format!("{tag} all"))
                .body(Bytes::from(format!("{} {n}", req.uri().path())))
                .unwrap())
        }),
        None,
    );
    let edge = Edge::builder(origin)
        .with_clock(ManualClock::new().clock())
        .build()
        .unwrap();
    for p in ["/img/1", "/img/2", "/page/1", "/page/2"] {
        edge.handle(get(p)).await.unwrap();
    }
    assert_eq!(edge.purge_tag("images").await.unwrap(), 2);
    assert_eq!(edge.purge_key("example.com/page/1").await.unwrap(), 1);
    assert_eq!(edge.handle(get("/img/1")).await.unwrap().body(), "/img/1 5");
    assert_eq!(
        edge.handle(get("/page/1")).await.unwrap().body(),
        "/page/1 6"
    );
    assert_eq!(
        edge.handle(get("/page/2")).await.unwrap().body(),
        "/page/2 4",
        "not purged"
    );
    assert_eq!(edge.purge_prefix("example.com/page/").await.unwrap(), 2);
    assert_eq!(
        edge.handle(get("/page/2")).await.unwrap().body(),
        "/page/2 7"
    );

    // soft purge: still stored, but the next request revalidates; the 304 makes it fresh again
    assert_eq!(edge.soft_purge_tag("all").await.unwrap(), 2); // /img/1 and /page/2 are stored
    let before = count.load(Ordering::SeqCst);
    assert_eq!(
        edge.handle(get("/page/2")).await.unwrap().body(),
        "/page/2 7"
    );
    assert_eq!(count.load(Ordering::SeqCst), before + 1);
    assert!(
        seen.lock()
            .requests
            .last()
            .unwrap()
            .2
            .contains_key("if-none-match")
    );
    assert_eq!(
        edge.handle(get("/page/2")).await.unwrap().body(),
        "/page/2 7"
    );
    assert_eq!(
        count.load(Ordering::SeqCst),
        before + 1,
        "fresh again after the 304"
    );
    assert_eq!(edge.soft_purge_key("example.com/page/2").await.unwrap(), 1);
    assert_eq!(
        edge.soft_purge_key("example.com/page/2").await.unwrap(),
        0,
        "already marked"
    );
    assert_eq!(
        edge.soft_purge_key("example.com/img/1").await.unwrap(),
        0,
        "still marked by the tag"
    );
}

#[tokio::test]
async fn a_disk_tier_below_memory_serves_after_a_restart_and_is_promoted() {
    let dir = tempfile::tempdir().unwrap();
    let (origin, count, _) = scripted(Arc::new(|n, _| ok("max-age=600", format!("v{n}"))), None);
    let origin = Arc::new(origin);
    let manual = ManualClock::new();
    let build = |disk: DiskTier| {
        Edge::builder(origin.clone())
            .with_clock(manual.clock())
            .with_tier(MemoryTier::new(1 << 20))
            .with_tier(disk)
            .build()
            .unwrap()
    };
    let edge = build(
        DiskTier::open(dir.path(), DiskOptions::default())
            .await
            .unwrap(),
    );
    edge.handle(get("/persist")).await.unwrap();
    drop(edge);
    // a new process: empty memory, the same disk folder
    let edge = build(
        DiskTier::open(dir.path(), DiskOptions::default())
            .await
            .unwrap(),
    );
    manual.advance(Duration::from_secs(30));
    let r = edge.handle(get("/persist")).await.unwrap();
    assert_eq!(r.body(), "v1");
    assert_eq!(r.headers()["age"], "30");
    edge.handle(get("/persist")).await.unwrap();
    let m = edge.metrics();
    assert_eq!(
        (m.hits("disk"), m.hits("memory")),
        (1, 1),
        "promoted to memory on the disk hit"
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn metrics_count_hits_misses_bytes_and_ratios() {
    let (origin, _, _) = scripted(Arc::new(|_, _| ok("max-age=60", "x".repeat(100))), None);
    let edge = Edge::builder(origin)
        .with_clock(ManualClock::new().clock())
        .build()
        .unwrap();
    for _ in 0..4 {
        edge.handle(get("/m")).await.unwrap();
    }
    let m = edge.metrics();
    assert_eq!(
        (m.requests, m.misses, m.hits("memory"), m.origin_requests),
        (4, 1, 3, 1)
    );
    assert_eq!(
        (m.origin_bytes, m.bytes_served, m.bytes_from_cache),
        (100, 400, 300)
    );
    assert!((m.hit_ratio() - 0.75).abs() < 1e-9);
    assert!((m.byte_hit_ratio() - 0.75).abs() < 1e-9);
    assert_eq!(m.evictions, 0);
}

#[tokio::test]
async fn origin_timeout_uses_the_clock() {
    let origin = origin::from_fn(|_req: Request<Bytes>| async {
        futures::future::pending::<()>().await;
        ok("max-age=1", String::new())
    });
    let manual = ManualClock::new();
    let edge = Edge::builder(origin)
        .with_clock(manual.clock())
        .with_origin_timeout(Some(Duration::from_secs(2)))
        .build()
        .unwrap();
    let task = tokio::spawn({
        let edge = edge.clone();
        async move { edge.handle(get("/hang")).await }
    });
    manual.wait_for_sleepers(1).await;
    manual.advance(Duration::from_secs(2));
    assert_eq!(task.await.unwrap().unwrap_err().code(), "OriginTimeout");
}

#[test]
fn builder_rejects_bad_options() {
    let origin = origin::from_fn(|_req: Request<Bytes>| async { ok("", String::new()) });
    let mut options = edgecache::EdgeOptions::default();
    options.heuristic_fraction = 2.0;
    let err = Edge::builder(origin)
        .with_options(options)
        .build()
        .unwrap_err();
    assert_eq!(err.code(), "Config");
}

#[test]
fn futures_are_send() {
    fn is_send<T: Send>(_: &T) {}
    let origin = origin::from_fn(|_req: Request<Bytes>| async { ok("", String::new()) });
    let edge = Edge::builder(origin).build().unwrap();
    is_send(&edge.handle(get("/")));
    is_send(&edge.purge_tag("t"));
    is_send(&edge.soft_purge_key("k"));
    is_send(&edge.background_idle());
}

#[tokio::test]
async fn ranges_are_served_from_stored_complete_and_partial_responses() {
    let (origin, count, _) = scripted(
        Arc::new(|_, req| {
            let b = Response::builder().header("cache-control", "max-age=600");
            if req.uri().path() == "/part" {
                // the origin honours only the first range it is asked for: bytes 10-19 of 100
                return Ok(b
                    .status(206)
                    .header("content-range", "bytes 10-19/100")
                    .body(Bytes::from("abcdefghij"))
                    .unwrap());
            }
            Ok(b.body(Bytes::from("0123456789")).unwrap())
        }),
        None,
    );
    let edge = Edge::builder(origin)
        .with_clock(ManualClock::new().clock())
        .build()
        .unwrap();
    edge.handle(get("/full")).await.unwrap();
    let r = edge
        .handle(get_with("/full", "range", "bytes=2-4"))
        .await
        .unwrap();
    assert_eq!(
        (r.status(), r.body().as_ref()),
        (StatusCode::PARTIAL_CONTENT, &b"234"[..])
    );
    assert_eq!(r.headers()["content-range"], "bytes 2-4/10");
    let r = edge
        .handle(get_with("/full", "range", "bytes=-3"))
        .await
        .unwrap();
    assert_eq!(r.body(), "789");
    let r = edge
        .handle(get_with("/full", "range", "bytes=50-"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()["content-range"], "bytes */10");
    assert_eq!(count.load(Ordering::SeqCst), 1);

    let r = edge
        .handle(get_with("/part", "range", "bytes=10-19"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    let r = edge
        .handle(get_with("/part", "range", "bytes=12-14"))
        .await
        .unwrap();
    assert_eq!(
        (r.status(), r.body().as_ref()),
        (StatusCode::PARTIAL_CONTENT, &b"cde"[..])
    );
    assert_eq!(r.headers()["content-range"], "bytes 12-14/100");
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "a range inside the stored part is a hit"
    );
    edge.handle(get_with("/part", "range", "bytes=15-25"))
        .await
        .unwrap();
    assert_eq!(
        count.load(Ordering::SeqCst),
        3,
        "bytes the part lacks go to the origin"
    );
}

#[tokio::test]
async fn a_stored_prefix_is_completed_with_a_range_request_for_the_rest() {
    const FULL: &str = "0123456789";
    let (origin, count, seen) = scripted(
        Arc::new(|_, req| {
            let b = Response::builder()
                .header("cache-control", "max-age=600")
                .header("etag", "\"s\"");
            let range = req
                .headers()
                .get("range")
                .map(|v| v.to_str().unwrap().to_string());
            let (from, to) = match range.as_deref() {
                Some("bytes=0-3") => (0, 3),
                Some("bytes=4-") => (4, 9),
                _ => return Ok(b.body(Bytes::from(FULL)).unwrap()),
            };
            Ok(b.status(206)
                .header("content-range", format!("bytes {from}-{to}/10"))
                .body(Bytes::from(&FULL[from..=to]))
                .unwrap())
        }),
        None,
    );
    let edge = Edge::builder(origin)
        .with_clock(ManualClock::new().clock())
        .build()
        .unwrap();
    let part = edge
        .handle(get_with("/big", "range", "bytes=0-3"))
        .await
        .unwrap();
    assert_eq!(part.body(), "0123");
    let full = edge.handle(get("/big")).await.unwrap();
    assert_eq!(
        (full.status(), full.body().as_ref()),
        (StatusCode::OK, FULL.as_bytes())
    );
    assert!(!full.headers().contains_key("content-range"));
    {
        let seen = seen.lock();
        let (_, _, headers) = &seen.requests[1];
        assert_eq!(
            headers["range"], "bytes=4-",
            "only the missing bytes were asked for"
        );
        assert_eq!(headers["if-range"], "\"s\"");
    }
    assert_eq!(edge.handle(get("/big")).await.unwrap().body(), FULL);
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "the combined response is stored"
    );
}

#[tokio::test]
async fn a_post_response_with_its_own_content_location_answers_later_gets() {
    let (origin, count, _) = scripted(
        Arc::new(|n, req| {
            let b = Response::builder().header("cache-control", "max-age=600");
            if req.method() == http::Method::POST {
                return Ok(b
                    .header("content-location", "/orders/7")
                    .body(Bytes::from("created"))
                    .unwrap());
            }
            Ok(b.body(Bytes::from(format!("get {n}"))).unwrap())
        }),
        None,
    );
    let edge = Edge::builder(origin)
        .with_clock(ManualClock::new().clock())
        .build()
        .unwrap();
    let post = Request::post("http://example.com/orders/7")
        .body(Bytes::from("{}"))
        .unwrap();
    edge.handle(post).await.unwrap();
    assert_eq!(
        edge.handle(get("/orders/7")).await.unwrap().body(),
        "created"
    );
    let other = Request::post("http://example.com/orders/8")
        .body(Bytes::from("{}"))
        .unwrap();
    edge.handle(other).await.unwrap(); // Content-Location names another URL: nothing stored for /orders/8
    assert_eq!(edge.handle(get("/orders/8")).await.unwrap().body(), "get 3");
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_head_response_freshens_the_stored_get_response() {
    let (origin, count, seen) = scripted(
        Arc::new(|n, req| {
            let age = if req.method() == http::Method::HEAD {
                "max-age=600"
            } else {
                "max-age=2"
            };
            Ok(Response::builder()
                .header("cache-control", age)
                .header("x-origin-call", n.to_string())
                .body(if req.method() == http::Method::HEAD {
                    Bytes::new()
                } else {
                    Bytes::from("full body")
                })
                .unwrap())
        }),
        None,
    );
    let manual = ManualClock::new();
    let edge = Edge::builder(origin)
        .with_clock(manual.clock())
        .build()
        .unwrap();
    edge.handle(get("/h")).await.unwrap();
    manual.advance(Duration::from_secs(5));
    let head = Request::head("http://example.com/h")
        .body(Bytes::new())
        .unwrap();
    let r = edge.handle(head).await.unwrap();
    assert!(r.body().is_empty());
    assert_eq!(seen.lock().requests[1].0, http::Method::HEAD);
    let r = edge.handle(get("/h")).await.unwrap();
    assert_eq!(r.body(), "full body", "the stored body is kept");
    assert_eq!(r.headers()["x-origin-call"], "2", "with the HEAD's fields");
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "fresh for 600 s after the HEAD"
    );
}

mod hostile_input {
    use super::*;
    use proptest::prelude::*;

    fn header_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ -~]{0,40}",
            Just("max-age=99999999999999999999".to_string()),
            Just("max-age=-1, s-maxage=\"".to_string()),
            Just("stale-while-revalidate=1, stale-if-error=18446744073709551616".to_string()),
            Just("no-cache=\"a, b\", private=\"set-cookie\"".to_string()),
            Just("bytes=-0".to_string()),
            Just("bytes=99999999999999999999-".to_string()),
            Just("Thu, 31 Feb 2050 99:99:99 GMT".to_string()),
            Just("*".to_string()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Arbitrary response and request header values never make the edge panic, and what it serves from
        /// cache is the origin's body (or a slice of it for a range).
        #[test]
        fn arbitrary_headers_never_panic(
            cc in header_text(),
            expires in header_text(),
            age in header_text(),
            vary in header_text(),
            range in header_text(),
            req_cc in header_text(),
            ims in header_text(),
            advance in 0u64..100_000,
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let accept = vary.clone();
            rt.block_on(async {
                let response = move || {
                    let mut b = Response::builder().header("etag", "\"x\"").header("last-modified", "Mon, 01 Jan 2024 00:00:00 GMT");
                    for (n, v) in [("cache-control", &cc), ("expires", &expires), ("age", &age), ("vary", &vary), ("cdn-cache-control", &cc)] {
                        if let Ok(v) = http::HeaderValue::from_str(v) {
                            b = b.header(n, v);
                        }
                    }
                    b.body(Bytes::from_static(b"0123456789")).unwrap()
                };
                let origin = origin::from_fn(move |_req: Request<Bytes>| {
                    let r = response();
                    async move { Ok(r) }
                });
                let manual = ManualClock::new();
                let edge = Edge::builder(origin).with_clock(manual.clock()).build().unwrap();
                for step in 0..3 {
                    let mut req = Request::get("http://example.com/p");
                    for (n, v) in [("range", &range), ("cache-control", &req_cc), ("if-modified-since", &ims), ("accept", &accept)] {
                        if let Ok(v) = http::HeaderValue::from_str(v) {
                            req = req.header(n, v);
                        }
                    }
                    let r = edge.handle(req.body(Bytes::new()).unwrap()).await.unwrap();
                    let body = r.body();
                    prop_assert!(b"0123456789".windows(body.len().max(1)).any(|w| body.is_empty() || w == &body[..]),
                        "step {step}: served {body:?}");
                    manual.advance(Duration::from_secs(advance));
                }
                Ok(())
            })?;
        }
    }
}

/// Every purge has one shape, `(&str) -> Result<u64>`, and keys are written as URLs, keys or (with a purge
/// host) paths; every option has a builder setter.
#[tokio::test]
async fn purge_keys_as_urls_or_paths_and_every_option_has_a_setter() {
    let (origin, count, _) = scripted(
        Arc::new(|n, req| {
            Ok(Response::builder()
                .header("cache-control", "max-age=600")
                .header("surrogate-key", "t")
                .body(Bytes::from(format!("{} {n}", req.uri().path())))
                .unwrap())
        }),
        None,
    );
    let edge = Edge::builder(origin)
        .with_clock(ManualClock::new().clock())
        .with_heuristic_fraction(0.2)
        .with_heuristic_max(Duration::from_secs(60))
        .with_memory_capacity_bytes(1 << 20)
        .with_purge_host("Example.com")
        .build()
        .unwrap();
    assert_eq!(edge.tiers()[0].capacity_bytes(), 1 << 20);
    for p in ["/a", "/b", "/c/1", "/c/2"] {
        edge.handle(get(p)).await.unwrap();
    }
    assert_eq!(edge.purge(edgecache::Purge::key("/a")).await.unwrap(), 1);
    assert_eq!(edge.purge_key("https://EXAMPLE.com/b").await.unwrap(), 1);
    assert_eq!(edge.soft_purge_prefix("/c/").await.unwrap(), 2);
    assert_eq!(
        edge.purge(edgecache::Purge::prefix("example.com/c/"))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        edge.soft_purge(edgecache::Purge::tag("t")).await.unwrap(),
        0
    );
    for p in ["/a", "/b", "/c/1"] {
        edge.handle(get(p)).await.unwrap();
    }
    assert_eq!(count.load(Ordering::SeqCst), 7);
    let bare = Edge::builder(origin::from_fn(|_r: Request<Bytes>| async {
        Ok(Response::new(Bytes::new()))
    }))
    .build()
    .unwrap();
    assert_eq!(
        bare.purge_key("/a").await.unwrap_err().code(),
        "InvalidRequest"
    );
    let bad = Edge::builder(origin::from_fn(|_r: Request<Bytes>| async {
        Ok(Response::new(Bytes::new()))
    }))
    .with_purge_host("not a host")
    .build();
    assert_eq!(bad.unwrap_err().code(), "Config");
}
