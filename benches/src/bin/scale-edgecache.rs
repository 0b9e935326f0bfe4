//! The edgecache memory tier at scale: does a byte bound give the memory it names? Fills a cache bounded at
//! `N × weight` bytes with `1.1 × N` small entries (so it is full and evicting) for N = 10k, 100k and 1M, and
//! prints the growth of the process's resident memory (RSS, from `/proc/self/status`) against the configured
//! bound, for the edgecache `MemoryTier` and, as peers with the same weigher ([`Entry::weight`]), `moka`
//! (`sync::Cache` with a weigher) and `quick_cache` (`sync::Cache` with a weighter).
//!
//! `cargo run --release -p benches --bin scale-edgecache [SIZE...]`
//!
//! Each measurement runs in a fresh child process (this program run again with `--child`), so one cache's
//! freed memory never counts for another. Two kinds of entries: `bare` (a 30-byte key and a 100-byte body, no
//! headers) and `headers` (the same with `Cache-Control`, `ETag`, `Content-Type` and `Date`, as an origin sends
//! them). Bodies and header values are shared once, as the edge shares them with the response it serves.
//! The growth exponent between sizes is `log(rss₂ / rss₁) / log(n₂ / n₁)`: 1.0 is linear in the entries.
#![forbid(unsafe_code)]

use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use edgecache::Entry;
use edgecache::http::{HeaderMap, HeaderValue, header};
use edgecache::tier::MemoryTier;

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
const CACHES: [&str; 3] = ["edgecache", "moka", "quick_cache"];
const KINDS: [&str; 2] = ["bare", "headers"];
const BODY: usize = 100;

/// A resident-memory figure of this process in bytes (`VmRSS`, `VmHWM`).
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// The `i`th entry of a kind, with its key.
fn entry(kind: &str, i: usize) -> (String, Arc<Entry>) {
    let key = format!("example.com/objects/{i:010}");
    let body = Bytes::from(vec![(i % 251) as u8; BODY]);
    let mut headers = HeaderMap::new();
    if kind == "headers" {
        let put = |h: &mut HeaderMap, name, value: String| {
            h.insert(name, HeaderValue::from_str(&value).expect("a valid value"));
        };
        put(&mut headers, header::CACHE_CONTROL, "max-age=3600".into());
        put(&mut headers, header::ETAG, format!("\"{i:016x}\""));
        put(&mut headers, header::CONTENT_TYPE, "text/plain".into());
        put(
            &mut headers,
            header::DATE,
            "Thu, 03 Dec 2026 17:00:00 GMT".into(),
        );
    }
    // share the body and the values once, as an edge does with the response it serves
    let served = (body.clone(), headers.clone());
    let entry = Entry::new(
        edgecache::http::StatusCode::OK,
        headers,
        body,
        std::time::UNIX_EPOCH,
        std::time::UNIX_EPOCH,
    );
    drop(served);
    (key, Arc::new(entry))
}

/// Fills one cache in this process and prints `cache kind n bound rss_growth held_entries`. The RSS before
/// is taken before the cache is built, so what it allocates up front counts too.
fn child(cache: &str, kind: &str, n: usize) {
    let (k0, e0) = entry(kind, 0);
    let weight = e0.weight(&k0);
    drop((k0, e0));
    let bound = weight * n as u64;
    let total = n + n / 10;
    let before = status_bytes("VmRSS");
    let held = match cache {
        "edgecache" => {
            let tier = MemoryTier::builder()
                .with_capacity_bytes(bound)
                .build()
                .expect("a memory tier");
            for i in 0..total {
                let (k, e) = entry(kind, i);
                tier.insert_sync(&k, e);
            }
            let held = edgecache::Tier::len(&tier);
            std::mem::forget(tier); // measured below; freeing it is not
            held
        }
        "moka" => {
            let c: moka::sync::Cache<String, Arc<Entry>> = moka::sync::Cache::builder()
                .max_capacity(bound)
                .weigher(|k: &String, e: &Arc<Entry>| {
                    u32::try_from(e.weight(k)).unwrap_or(u32::MAX)
                })
                .build();
            for i in 0..total {
                let (k, e) = entry(kind, i);
                c.insert(k, e);
                if i % 1024 == 0 {
                    c.run_pending_tasks();
                }
            }
            c.run_pending_tasks();
            let held = c.entry_count() as usize;
            std::mem::forget(c);
            held
        }
        _ => {
            #[derive(Clone)]
            struct W;
            impl quick_cache::Weighter<String, Arc<Entry>> for W {
                fn weight(&self, k: &String, e: &Arc<Entry>) -> u64 {
                    e.weight(k)
                }
            }
            let c = quick_cache::sync::Cache::with_weighter(n, bound, W);
            for i in 0..total {
                let (k, e) = entry(kind, i);
                c.insert(k, e);
            }
            let held = c.len();
            std::mem::forget(c);
            held
        }
    };
    let growth = status_bytes("VmRSS").saturating_sub(before);
    println!("{cache} {kind} {n} {bound} {growth} {held}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        let n = args[4].parse().expect("a size");
        child(&args[2], &args[3], n);
        return;
    }
    let sizes: Vec<usize> = if args.len() > 1 {
        args[1..]
            .iter()
            .map(|a| a.parse().expect("sizes are numbers"))
            .collect()
    } else {
        SIZES.to_vec()
    };
    if status_bytes("VmRSS") == 0 {
        println!("scale-edgecache: no /proc/self/status on this system; nothing measured");
        return;
    }
    let (k, e) = entry("bare", 0);
    let (hk, he) = entry("headers", 0);
    println!(
        "entry weight: bare {} B, headers {} B (key {} B, body {BODY} B; ENTRY_OVERHEAD {} B)\n",
        e.weight(&k),
        he.weight(&hk),
        k.len(),
        edgecache::tier::ENTRY_OVERHEAD
    );
    println!(
        "| cache | entries | kind | bound | RSS growth | RSS / bound | entries held | growth exponent |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let exe = std::env::current_exe().expect("this program's path");
    for kind in KINDS {
        for cache in CACHES {
            let mut previous: Option<(usize, u64)> = None;
            for &n in &sizes {
                let out = Command::new(&exe)
                    .args(["--child", cache, kind, &n.to_string()])
                    .output()
                    .expect("run a child");
                let line = String::from_utf8_lossy(&out.stdout);
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() != 6 {
                    println!(
                        "| {cache} | {n} | {kind} | failed: {} | | | | |",
                        line.trim()
                    );
                    continue;
                }
                let bound: u64 = f[3].parse().unwrap_or(0);
                let growth: u64 = f[4].parse().unwrap_or(0);
                let exponent = previous.map_or("".to_string(), |(pn, pg)| {
                    let e = (growth as f64 / pg as f64).ln() / (n as f64 / pn as f64).ln();
                    format!("{e:.2}")
                });
                previous = Some((n, growth));
                let mib = |b: u64| b as f64 / f64::from(1 << 20);
                println!(
                    "| {cache} | {n} | {kind} | {:.1} MiB | {:.1} MiB | **{:.3}** | {} | {exponent} |",
                    mib(bound),
                    mib(growth),
                    growth as f64 / bound as f64,
                    f[5]
                );
            }
        }
    }
}
