//! edgecache against hostile origins and clients (issue 16) and an honest byte bound (issue 18).

use std::sync::Arc;

use bytes::Bytes;
use edgecache::http::{Request, Response};
use edgecache::tier::MemoryTier;
use edgecache::{Edge, Entry, Tier, origin};

pub(crate) async fn run() -> crate::TourResult {
    println!("== edgecache: hostile origins and clients, honest byte bounds");
    // An origin that lies about its body's length: 10 bytes declared as 1 GiB.
    let origin = origin::from_fn(|_req: Request<Bytes>| async {
        Ok(Response::builder()
            .header("cache-control", "max-age=60")
            .header("content-length", "1073741824")
            .body(Bytes::from_static(b"0123456789"))
            .expect("a valid response"))
    });
    let edge = Edge::builder(origin).build()?;
    let r = edge
        .handle(Request::get("http://shop.example/lie").body(Bytes::new())?)
        .await?;
    println!(
        "origin declared 1073741824 bytes, sent {}: the edge says Content-Length {:?} (its own framing)",
        r.body().len(),
        r.headers()["content-length"]
    );
    // A Host that is not a valid authority is a 400, never a cache key shared with other hosts.
    let bad = Request::get("/page")
        .header("host", &b"victim\xfe.test"[..])
        .body(Bytes::new())?;
    let r = edge.handle(bad).await?;
    println!("Host \"victim\\xfe.test\": {}", r.status());
    // A memory tier's bound is the memory its entries take: Entry::weight counts every allocation.
    let tier = MemoryTier::new(1 << 20);
    let e = Arc::new(Entry::from_body(vec![0u8; 100]));
    println!(
        "a 100-byte body under a 30-byte key weighs {} bytes (allocations, the Arc<Entry>, the policy's slots)",
        e.weight("shop.example/objects/0000000001")
    );
    for i in 0..10_000 {
        tier.insert(&format!("shop.example/objects/{i:010}"), e.clone())
            .await?;
    }
    println!(
        "after 10,000 inserts into a 1 MiB tier: {} entries, {} of {} bytes used",
        tier.len(),
        tier.used_bytes(),
        tier.capacity_bytes()
    );
    Ok(())
}
