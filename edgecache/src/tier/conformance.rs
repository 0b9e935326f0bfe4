//! The behaviour every [`Tier`] must have, as async test functions each implementation calls from its own
//! tests (feature `testing`, or this crate's tests).
//!
//! Tiers may decline an insert (an admission policy, an entry too heavy): the functions only assume what a
//! successful insert promises. [`all`] runs every function against fresh tiers from a factory.
//!
//! ```no_run
//! # async fn demo() {
//! use edgecache::tier::{MemoryTier, conformance};
//! conformance::all(|capacity| async move { MemoryTier::new(capacity) }).await;
//! # }
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::tier::{Entry, Tier, TierExt};

fn body(n: usize, fill: u8) -> Bytes {
    Bytes::from(vec![fill; n])
}

/// A response with every kind of field an entry keeps, for round-trip checks.
pub fn rich_entry() -> Entry {
    let mut headers = HeaderMap::new();
    headers.insert("cache-control", HeaderValue::from_static("max-age=60"));
    headers.append("set-cookie", HeaderValue::from_static("a=1"));
    headers.append("set-cookie", HeaderValue::from_static("b=2"));
    headers.insert("surrogate-key", HeaderValue::from_static("red blue"));
    headers.insert(
        "x-bytes",
        HeaderValue::from_bytes(b"caf\xe9").expect("obs-text is a valid value"),
    );
    let t = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
    Entry::new(
        StatusCode::NOT_FOUND,
        headers,
        body(3000, b'x'),
        t,
        t + Duration::from_millis(250),
    )
    .with_vary(vec![
        (
            HeaderName::from_static("accept-encoding"),
            Some(HeaderValue::from_static("gzip")),
        ),
        (HeaderName::from_static("accept-language"), None),
    ])
}

/// Insert, get, replace and remove one key; the size accounting follows.
pub async fn insert_get_replace_remove(tier: &dyn Tier) {
    assert!(tier.get("k1").await.expect("get").is_none());
    let first = Arc::new(Entry::from_body("one"));
    if !tier.insert("k1", first.clone()).await.expect("insert") {
        // an admission policy may decline a first sight; a second insert must be possible to retry
        assert!(
            tier.insert("k1", first.clone()).await.expect("insert"),
            "{} never admits",
            tier.name()
        );
    }
    assert_eq!(tier.get("k1").await.expect("get").as_deref(), Some(&*first));
    assert_eq!(tier.len(), 1);
    assert_eq!(tier.used_bytes(), first.weight("k1"));
    let second = Arc::new(Entry::from_body("two, longer"));
    assert!(tier.insert("k1", second.clone()).await.expect("replace"));
    assert_eq!(
        tier.get("k1").await.expect("get").as_deref(),
        Some(&*second)
    );
    assert_eq!(tier.len(), 1);
    assert_eq!(tier.used_bytes(), second.weight("k1"));
    assert!(tier.remove("k1").await.expect("remove"));
    assert!(!tier.remove("k1").await.expect("remove again"));
    assert!(tier.get("k1").await.expect("get").is_none());
    assert_eq!((tier.len(), tier.used_bytes()), (0, 0));
    assert!(tier.is_empty());
}

/// Every field of an entry comes back as stored.
pub async fn entries_round_trip(tier: &dyn Tier) {
    let entry = Arc::new(rich_entry());
    let key = "example.com/r\u{e9}sum\u{e9}?q=1";
    for _ in 0..2 {
        if tier.insert(key, entry.clone()).await.expect("insert") {
            break;
        }
    }
    let got = tier.get(key).await.expect("get").expect("stored");
    assert_eq!(*got, *entry);
    assert_eq!(
        got.surrogate_keys,
        vec!["red".to_string(), "blue".to_string()]
    );
}

/// An entry heavier than the whole tier is declined, not stored and not an error.
pub async fn declines_an_entry_heavier_than_the_tier(tier: &dyn Tier) {
    let heavy = Arc::new(Entry::from_body(body(
        tier.capacity_bytes() as usize + 1,
        0,
    )));
    assert!(!tier.insert("heavy", heavy).await.expect("insert"));
    assert!(tier.get("heavy").await.expect("get").is_none());
    assert!(tier.used_bytes() <= tier.capacity_bytes());
}

/// Inserting far more than the capacity never holds more than the capacity, and evicts.
pub async fn never_exceeds_capacity(tier: &dyn Tier) {
    let cap = tier.capacity_bytes();
    for i in 0..200u32 {
        let size = 200 + (i as usize * 37) % 900;
        let _ = tier
            .insert(
                &format!("key-{i}"),
                Arc::new(Entry::from_body(body(size, i as u8))),
            )
            .await
            .expect("insert");
        assert!(
            tier.used_bytes() <= cap,
            "{} holds {} of {cap} bytes",
            tier.name(),
            tier.used_bytes()
        );
    }
    assert!(!tier.is_empty());
    assert!(
        tier.evictions() > 0,
        "{} inserted 200 KB into {cap} bytes without evicting",
        tier.name()
    );
    // what is reported present is intact
    for i in 0..200u32 {
        if let Some(e) = tier.get(&format!("key-{i}")).await.expect("get") {
            assert_eq!(e.body.len(), 200 + (i as usize * 37) % 900);
            assert!(e.body.iter().all(|b| *b == i as u8));
        }
    }
}

/// Many tasks inserting at once never push the tier over its capacity, observed while they run and after.
pub async fn byte_bound_under_concurrent_inserts(tier: Arc<dyn Tier>) {
    let cap = tier.capacity_bytes();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = tokio::spawn({
        let tier = tier.clone();
        let done = done.clone();
        async move {
            let mut max = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                max = max.max(tier.used_bytes());
                tokio::task::yield_now().await;
            }
            max
        }
    });
    let mut tasks = Vec::new();
    for t in 0..8u32 {
        let tier = tier.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..100u32 {
                let key = format!("t{t}-k{}", i % 60);
                let size = 100 + ((t * 131 + i * 17) % 1500) as usize;
                tier.insert(&key, Arc::new(Entry::from_body(body(size, t as u8))))
                    .await
                    .expect("insert");
                assert!(tier.used_bytes() <= cap);
                if i % 7 == 0 {
                    tier.remove(&format!("t{t}-k{}", (i + 3) % 60))
                        .await
                        .expect("remove");
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("inserting task");
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let max = watcher.await.expect("watcher");
    assert!(max <= cap, "{} reached {max} of {cap} bytes", tier.name());
    assert!(tier.used_bytes() <= cap);
    // the accounting matches the contents
    let mut sum = 0;
    for t in 0..8u32 {
        for k in 0..60u32 {
            let key = format!("t{t}-k{k}");
            if let Some(e) = tier.get(&key).await.expect("get") {
                sum += e.weight(&key);
            }
        }
    }
    assert_eq!(
        sum,
        tier.used_bytes(),
        "{}: used_bytes disagrees with the entries held",
        tier.name()
    );
}

async fn present(tier: &dyn Tier, key: &str) -> bool {
    tier.get(key).await.expect("get").is_some()
}

/// Purges by prefix, by tag and clear, built on `retain`.
pub async fn purges(tier: &dyn Tier) {
    let tagged = |tags: &'static str| {
        let mut h = HeaderMap::new();
        h.insert("surrogate-key", HeaderValue::from_static(tags));
        Arc::new(Entry::new(
            StatusCode::OK,
            h,
            Bytes::from_static(b"x"),
            UNIX_EPOCH,
            UNIX_EPOCH,
        ))
    };
    let items = [
        ("a.com/1", "red"),
        ("a.com/2", "blue"),
        ("b.com/1", "red green"),
        ("b.com/2", "green"),
    ];
    for (k, tags) in items {
        for _ in 0..2 {
            if tier.insert(k, tagged(tags)).await.expect("insert") {
                break;
            }
        }
    }
    assert_eq!(tier.purge_prefix("a.com/").await.expect("purge prefix"), 2);
    assert!(!present(tier, "a.com/1").await && !present(tier, "a.com/2").await);
    assert!(present(tier, "b.com/1").await);
    assert_eq!(tier.purge_tag("red").await.expect("purge tag"), 1);
    assert!(!present(tier, "b.com/1").await && present(tier, "b.com/2").await);
    assert_eq!(tier.purge_tag("nope").await.expect("purge tag"), 0);
    assert_eq!(tier.clear().await.expect("clear"), 1);
    assert!(tier.is_empty());
    assert_eq!(tier.used_bytes(), 0);
}

/// Hostile keys (empty, long, binary-looking, path-like) are stored and kept apart.
pub async fn hostile_keys(tier: &dyn Tier) {
    let long = "k".repeat(2000);
    let keys = [
        "",
        "../../etc/passwd",
        "a\u{0}b",
        "a\u{0}c",
        "/",
        long.as_str(),
        "\u{1f980}",
    ];
    for (i, k) in keys.iter().enumerate() {
        for _ in 0..2 {
            if tier
                .insert(k, Arc::new(Entry::from_body(format!("v{i}"))))
                .await
                .expect("insert")
            {
                break;
            }
        }
    }
    for (i, k) in keys.iter().enumerate() {
        if let Some(e) = tier.get(k).await.expect("get") {
            assert_eq!(
                e.body,
                format!("v{i}"),
                "key {k:?} read another key's value"
            );
        }
    }
}

/// Runs every function against fresh tiers made by `make(capacity_bytes)`; the concurrent one needs a
/// multi-threaded runtime to be meaningful (it is correct on any).
pub async fn all<T, F, Fut>(make: F)
where
    T: Tier + 'static,
    F: Fn(u64) -> Fut,
    Fut: Future<Output = T>,
{
    insert_get_replace_remove(&make(1 << 20).await).await;
    entries_round_trip(&make(1 << 20).await).await;
    declines_an_entry_heavier_than_the_tier(&make(64 << 10).await).await;
    never_exceeds_capacity(&make(32 << 10).await).await;
    byte_bound_under_concurrent_inserts(Arc::new(make(48 << 10).await)).await;
    purges(&make(1 << 20).await).await;
    hostile_keys(&make(1 << 20).await).await;
}
