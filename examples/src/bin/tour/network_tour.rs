//! edgecache network: points of presence in three regions with a shield, in front of an in-memory origin.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use edgecache::http::{Request, Response, StatusCode};
use edgecache::network::{Client, Network, Pop};
use edgecache::ratelimit::Limit;
use edgecache::{Purge, origin};
use stratus_clock::ManualClock;

fn get(path: &str) -> Request<Bytes> {
    Request::get(format!("http://static.example{path}"))
        .body(Bytes::new())
        .expect("a valid request")
}

pub(crate) async fn run() -> crate::TourResult {
    println!(
        "\n== edgecache network: five points of presence, a shield, failover and a rate limit"
    );
    // The origin: a static site held in memory.
    let site: Arc<HashMap<String, String>> = Arc::new(
        (0..20)
            .map(|i| (format!("/page/{i}.html"), format!("<h1>page {i}</h1>")))
            .collect(),
    );
    let origin = origin::from_fn(move |req: Request<Bytes>| {
        let site = site.clone();
        async move {
            let r = match site.get(req.uri().path()) {
                Some(body) => Response::builder()
                    .header("cache-control", "max-age=300")
                    .header("surrogate-key", "site")
                    .body(Bytes::from(body.clone())),
                None => Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .body(Bytes::new()),
            };
            Ok(r.expect("a valid response"))
        }
    });
    let clock = ManualClock::new();
    let network = Network::builder(origin)
        .with_clock(clock.clock())
        .with_pop(Pop::new("lhr", "eu").at(51.47, -0.45))
        .with_pop(Pop::new("fra", "eu").at(50.04, 8.56))
        .with_pop(Pop::new("jfk", "us").at(40.64, -73.78))
        .with_pop(Pop::new("sjc", "us").at(37.36, -121.93))
        .with_pop(Pop::new("nrt", "ap").at(35.77, 140.39))
        .with_shield("fra")
        .with_origin_at(50.11, 8.68)
        .with_client_limit(Limit::new(10.0, 50))
        .build()?;
    let clients = [
        Client::at("198.51.100.1", 48.86, 2.35),    // Paris
        Client::at("198.51.100.2", 40.71, -74.0),   // New York
        Client::at("198.51.100.3", 37.77, -122.42), // San Francisco
        Client::at("198.51.100.4", 35.68, 139.69),  // Tokyo
    ];
    for c in &clients {
        let (pop, rtt) = network.route(c).ok_or("no route")?;
        println!("client {} -> {} ({:?} round trip)", c.id, pop.name, rtt);
    }

    let round = |label: &'static str| {
        let network = network.clone();
        let clients = clients.clone();
        async move {
            let before = network.metrics();
            for c in &clients {
                for i in 0..10 {
                    network.handle(c, get(&format!("/page/{i}.html"))).await?;
                }
            }
            let after = network.metrics();
            let requests = after.client_requests - before.client_requests;
            let origin = after.origin_requests - before.origin_requests;
            println!(
                "{label}: {requests} requests from 4 regions -> {origin} origin requests (origin offload {:.0}%)",
                100.0 * (1.0 - origin as f64 / requests as f64)
            );
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }
    };
    round("cold").await?;
    clock.advance(Duration::from_secs(1));
    round("warm").await?;
    let m = network.metrics();
    for p in &m.pops {
        println!(
            "  {:<4} {}served {:>3}, hit ratio {:.2}, to shield {}",
            p.pop.name,
            if p.is_shield { "(shield) " } else { "" },
            p.served,
            p.edge.hit_ratio(),
            p.shield_fetches
        );
    }
    println!(
        "network: origin offload {:.0}% over {} client requests",
        100.0 * m.origin_offload(),
        m.client_requests
    );

    network.set_down("jfk", true)?;
    let r = network.handle(&clients[1], get("/page/1.html")).await?;
    println!(
        "jfk marked down: New York's next request is a {} served by {} (no error)",
        r.status(),
        r.headers()["x-served-by"].to_str()?
    );

    let flood = Client::at("203.0.113.66", 48.86, 2.35);
    let mut first_429 = None;
    for n in 1..=60 {
        let r = network.handle(&flood, get("/page/0.html")).await?;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            first_429 = Some((n, r.headers()["retry-after"].to_str()?.to_string()));
            break;
        }
    }
    let (n, retry) = first_429.ok_or("the flood was never limited")?;
    let calm = network.handle(&clients[0], get("/page/0.html")).await?;
    println!(
        "a flood from one address: request {n} got 429, Retry-After {retry} s; Paris still gets {}",
        calm.status()
    );
    let purged = network.purge(Purge::tag("site")).await?;
    println!(
        "purge by tag \"site\" across the network: {} entries removed ({} points of presence)",
        purged.total,
        purged.per_pop.len()
    );
    Ok(())
}
