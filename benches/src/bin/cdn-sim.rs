//! Replays the AdaptSize CDN trace (`../shared/traces/cdn-adaptsize.trace.xz`, 66,987 requests with object
//! sizes) against an edgecache [`Network`] of eight points of presence in four regions, with one origin
//! shield, with a shield per region and without a shield, and prints markdown tables of hit ratio, byte hit ratio, origin offload and the latency
//! users see (mean, p99) per point of presence and in total, beside a no-CDN baseline.
//!
//! `cargo run --release -p benches --bin cdn-sim [TRACE] [--limit N]`
//!
//! The trace has no client locations: each request is given one of twelve client cities, picked by a hash
//! of its position in the trace (weighted towards Europe and North America), so one object is asked for from
//! several regions, as on a global CDN. The whole trace is replayed (66,987 requests; `--limit N` truncates).
//! The clock advances one second per request (the trace's timestamps are its positions); every object is
//! cacheable for a day, so a miss is a capacity or a first-time miss. Every edge (the shield included) has
//! one memory tier of the capacity shown, a share of the trace's distinct bytes. Latency is the
//! round-trip-time model of `edgecache::network::LatencyModel` (2 ms plus 10 ms per 1,000 km): client to
//! edge, plus edge to shield on an edge miss, plus to the origin (in Ashburn, Virginia) when the origin is
//! asked; transfer time is not modelled.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use benches::traces::read_trace;
use bytes::Bytes;
use edgecache::http::{Request, Response};
use edgecache::network::{Client, Network, Pop, SimReport, SimRow, Simulation};
use edgecache::{EdgeOptions, origin};
use stratus_clock::ManualClock;

/// Client cities: name, latitude, longitude, weight.
const CITIES: [(&str, f64, f64, u32); 12] = [
    ("london", 51.51, -0.13, 10),
    ("paris", 48.86, 2.35, 8),
    ("berlin", 52.52, 13.40, 7),
    ("madrid", 40.42, -3.70, 5),
    ("new-york", 40.71, -74.01, 12),
    ("chicago", 41.88, -87.63, 7),
    ("toronto", 43.65, -79.38, 5),
    ("san-francisco", 37.77, -122.42, 8),
    ("los-angeles", 34.05, -118.24, 8),
    ("tokyo", 35.68, 139.69, 8),
    ("singapore", 1.35, 103.82, 6),
    ("sydney", -33.87, 151.21, 4),
];

fn pops() -> Vec<Pop> {
    vec![
        Pop::new("lhr", "eu").at(51.47, -0.45),
        Pop::new("fra", "eu").at(50.04, 8.56),
        Pop::new("iad", "us-east").at(38.95, -77.45),
        Pop::new("ord", "us-east").at(41.98, -87.90),
        Pop::new("sjc", "us-west").at(37.36, -121.93),
        Pop::new("lax", "us-west").at(33.94, -118.41),
        Pop::new("nrt", "ap").at(35.77, 140.39),
        Pop::new("sin", "ap").at(1.36, 103.99),
    ]
}

/// A 64-bit mix (splitmix64), so the city of a request is reproducible.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn city(i: usize) -> Client {
    let total: u32 = CITIES.iter().map(|c| c.3).sum();
    let mut pick = (mix(i as u64) % u64::from(total)) as u32;
    for (name, lat, lon, w) in CITIES {
        if pick < w {
            return Client::at(name, lat, lon);
        }
        pick -= w;
    }
    Client::at(CITIES[0].0, CITIES[0].1, CITIES[0].2)
}

async fn replay(
    keys: &[u32],
    sizes: &[u32],
    capacity: u64,
    shields: &[&str],
) -> edgecache::Result<SimReport> {
    let max = sizes.iter().copied().max().unwrap_or(0) as usize;
    let zeros = Bytes::from(vec![0u8; max]);
    let origin = origin::from_fn(move |req: Request<Bytes>| {
        let size: usize = req
            .uri()
            .path()
            .rsplit('/')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = zeros.slice(0..size.min(zeros.len()));
        async move {
            Ok(Response::builder()
                .header("cache-control", "max-age=86400")
                .body(body)
                .expect("a valid response"))
        }
    });
    let manual = ManualClock::new();
    let mut options = EdgeOptions::default();
    options.memory_capacity_bytes = capacity;
    let mut b = Network::builder(origin)
        .with_clock(manual.clock())
        .with_edge_options(options)
        .with_origin_at(39.04, -77.49);
    for p in pops() {
        b = b.with_pop(p);
    }
    for s in shields {
        b = b.with_shield(*s);
    }
    let mut sim = Simulation::new(b.build()?);
    for (i, (&key, &size)) in keys.iter().zip(sizes).enumerate() {
        let req = Request::get(format!("http://cdn.example/o/{key}/{size}"))
            .body(Bytes::new())
            .expect("a valid request");
        sim.request(&city(i), req).await?;
        manual.advance(Duration::from_secs(1));
    }
    Ok(sim.report())
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn line(label: &str, r: &SimRow) -> String {
    format!(
        "| {label} | {} | {:.1} | {:.1} | {:.1} | {} | {} |",
        r.requests,
        100.0 * r.hit_ratio,
        100.0 * r.byte_hit_ratio,
        100.0 * r.origin_offload,
        ms(r.mean_latency),
        ms(r.p99_latency)
    )
}

const HEADER: &str = "| | requests | hit ratio % | byte hit ratio % | origin offload % | mean latency ms | p99 latency ms |\n|---|---|---|---|---|---|---|";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut file = benches::shared_dir().join("traces/cdn-adaptsize.trace.xz");
    let mut limit = usize::MAX;
    while let Some(a) = args.next() {
        if a == "--limit" {
            limit = args.next().and_then(|v| v.parse().ok()).unwrap_or(limit);
        } else {
            file = PathBuf::from(a);
        }
    }
    let trace = match read_trace(&file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cdn-sim: {}: {e}", file.display());
            std::process::exit(2);
        }
    };
    let Some(sizes) = &trace.sizes else {
        eprintln!("cdn-sim: {} carries no object sizes", trace.name);
        std::process::exit(2);
    };
    let n = trace.keys.len().min(limit);
    let (keys, sizes) = (&trace.keys[..n], &sizes[..n]);
    let mut seen = vec![false; trace.distinct];
    let mut distinct_bytes = 0u64;
    for (&k, &s) in keys.iter().zip(sizes) {
        if !std::mem::replace(&mut seen[k as usize], true) {
            distinct_bytes += u64::from(s);
        }
    }
    println!(
        "{}: {n} requests, {} distinct objects, {:.0} MB distinct, {:.0} MB requested",
        trace.name,
        seen.iter().filter(|s| **s).count(),
        distinct_bytes as f64 / 1e6,
        sizes.iter().map(|&s| u64::from(s)).sum::<u64>() as f64 / 1e6
    );
    for percent in [5u64, 20] {
        let capacity = distinct_bytes * percent / 100;
        let start = Instant::now();
        let run = |shields: &'static [&'static str]| async move {
            match replay(keys, sizes, capacity, shields).await {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("cdn-sim: {e}");
                    std::process::exit(1);
                }
            }
        };
        let shielded = run(&["iad"]).await;
        let regional = run(&["fra", "iad", "sjc", "nrt"]).await;
        let flat = run(&[]).await;
        eprintln!("  {percent}%: three replays in {:?}", start.elapsed());
        println!(
            "\nEach edge {:.1} MB ({percent}% of the distinct bytes); shield: iad (Ashburn, beside the origin)\n",
            capacity as f64 / 1e6
        );
        println!("{HEADER}");
        for row in &shielded.per_pop {
            println!("{}", line(&row.name, row));
        }
        println!("{}", line("**total, with shield**", &shielded.total));
        println!(
            "{}",
            line(
                "**total, a shield per region** (fra, iad, sjc, nrt)",
                &regional.total
            )
        );
        println!("{}", line("**total, no shield**", &flat.total));
        println!(
            "{}",
            line(
                "**no CDN** (every request to the origin)",
                &shielded.baseline
            )
        );
    }
}
