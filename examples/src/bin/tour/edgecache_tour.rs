//! edgecache: a CDN in a library, in front of a closure origin.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use edgecache::http::{Request, Response};
use edgecache::{Edge, origin};
use stratus_clock::ManualClock;

fn get(path: &str) -> Request<Bytes> {
    Request::get(format!("http://shop.example{path}"))
        .body(Bytes::new())
        .expect("a valid request")
}

pub(crate) async fn run() -> crate::TourResult {
    println!("== edgecache: an HTTP shared cache in front of an origin");
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    // The origin: a closure. Product pages are cacheable for 60 s and carry an ETag and surrogate keys;
    // a conditional request for an unchanged page gets a 304. It is slow (20 ms on the real clock) so
    // that concurrent misses overlap.
    let origin = origin::from_fn(move |req: Request<Bytes>| {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let path = req.uri().path().to_string();
            if req
                .headers()
                .get("if-none-match")
                .is_some_and(|v| v == "\"v1\"")
            {
                return Ok(Response::builder()
                    .status(304)
                    .header("cache-control", "max-age=60")
                    .header("etag", "\"v1\"")
                    .body(Bytes::new())
                    .expect("a valid response"));
            }
            let tag = if path.starts_with("/shoes") {
                "shoes"
            } else {
                "hats"
            };
            Ok(Response::builder()
                .header("cache-control", "max-age=60")
                .header("etag", "\"v1\"")
                .header("surrogate-key", format!("{tag} catalog"))
                .body(Bytes::from(format!("<h1>{path}</h1> (origin call {n})")))
                .expect("a valid response"))
        }
    });
    let clock = ManualClock::new();
    let edge = Edge::builder(origin).with_clock(clock.clock()).build()?;

    let first = edge.handle(get("/shoes/red")).await?;
    println!(
        "miss:  {:?} -> origin calls {}",
        first.body(),
        calls.load(Ordering::SeqCst)
    );
    clock.advance(Duration::from_secs(15));
    let second = edge.handle(get("/shoes/red")).await?;
    println!(
        "hit:   {:?}, Age {} -> origin calls {}",
        second.body(),
        second.headers()["age"].to_str()?,
        calls.load(Ordering::SeqCst)
    );

    clock.advance(Duration::from_secs(60));
    let revalidated = edge.handle(get("/shoes/red")).await?;
    let m = edge.metrics();
    println!(
        "stale after 75 s: revalidated with If-None-Match, origin said 304 ({} of {} revalidations), body from cache: {:?}",
        m.revalidated_not_modified,
        m.revalidations,
        revalidated.body()
    );

    let before = calls.load(Ordering::SeqCst);
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let edge = edge.clone();
            tokio::spawn(async move { edge.handle(get("/hats/blue")).await })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    println!(
        "coalescing: 100 concurrent requests for a cold page -> {} origin call(s), {} waited",
        calls.load(Ordering::SeqCst) - before,
        edge.metrics().coalesced
    );

    let purged = edge.purge_tag("shoes").await?;
    let after = edge.handle(get("/shoes/red")).await?;
    println!(
        "purge by tag \"shoes\": {purged} entry removed; next request goes to the origin: {:?}",
        after.body()
    );

    let m = edge.metrics();
    println!(
        "metrics: {} requests, {} memory hits, {} misses, {} revalidations, {} origin requests ({} bytes), hit ratio {:.2}, byte hit ratio {:.2}, {} evictions",
        m.requests,
        m.hits("memory"),
        m.misses,
        m.revalidations,
        m.origin_requests,
        m.origin_bytes,
        m.hit_ratio(),
        m.byte_hit_ratio(),
        m.evictions
    );
    Ok(())
}
