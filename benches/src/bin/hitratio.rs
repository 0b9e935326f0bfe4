//! Replays the cache traces in `../shared/traces/` (or the files named) at capacities of 1%, 5% and 20% of each
//! trace's distinct keys through the edgecache memory policy, LRU (`lru`), `moka`, `quick_cache` and Belady's
//! optimum, and prints one markdown table of hit ratios (percent).
//!
//! `cargo run --release -p benches --bin hitratio [TRACE...]`
//!
//! Capacities count entries (each entry weighs 1) so that every cache is compared on equal terms. Replay is
//! single threaded and the edgecache policy uses a fixed hasher, so the figures are reproducible. `moka` runs
//! its pending maintenance after every insert, so its policy sees every event in order, as the others do.
//!
//! `moka`'s frequency sketch is seeded at random, so its hit ratio moves from run to run (up to about a
//! point on the small LIRS traces). Its figure in the table is the mean of [`MOKA_RUNS`] runs, its expected
//! hit ratio; the last line also gives stratus's largest shortfall against moka's best single run, so the
//! reader sees both.
#![forbid(unsafe_code)]

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Instant;

use benches::belady::belady_hits;
use benches::traces::{Trace, read_trace, trace_files};
use edgecache::policy::Cache;

const PERCENTS: [usize; 3] = [1, 5, 20];
const PEERS: [&str; 3] = ["lru", "moka", "quick_cache"];
/// How many times `moka` (randomly seeded) replays each trace and capacity; the table shows the mean.
const MOKA_RUNS: usize = 5;

fn stratus(keys: &[u32], capacity: usize) -> u64 {
    let mut builder = Cache::builder(capacity as u64);
    if let Some(n) = std::env::var("T_SHARDS").ok().and_then(|v| v.parse().ok()) {
        builder = builder.with_shards(n);
    }
    let cache: Cache<u32, (), foldhash::fast::FixedState> = builder
        .with_hasher(foldhash::fast::FixedState::with_seed(0x5EED))
        .build()
        .expect("a cache builder with valid settings");
    let mut hits = 0;
    for &k in keys {
        if cache.get(&k).is_some() {
            hits += 1;
        } else {
            cache.insert(k, ());
        }
    }
    hits
}

fn lru(keys: &[u32], capacity: usize) -> u64 {
    let mut cache = lru::LruCache::new(NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN));
    let mut hits = 0;
    for &k in keys {
        if cache.get(&k).is_some() {
            hits += 1;
        } else {
            cache.put(k, ());
        }
    }
    hits
}

fn moka(keys: &[u32], capacity: usize) -> u64 {
    let cache = moka::sync::Cache::new(capacity as u64);
    let mut hits = 0;
    for &k in keys {
        if cache.get(&k).is_some() {
            hits += 1;
        } else {
            cache.insert(k, ());
            cache.run_pending_tasks();
        }
    }
    hits
}

fn quick_cache(keys: &[u32], capacity: usize) -> u64 {
    let mut cache = quick_cache::unsync::Cache::new(capacity);
    let mut hits = 0;
    for &k in keys {
        if cache.get(&k).is_some() {
            hits += 1;
        } else {
            cache.insert(k, ());
        }
    }
    hits
}

struct Row {
    trace: String,
    requests: usize,
    distinct: usize,
    percent: usize,
    capacity: usize,
    belady: f64,
    stratus: f64,
    peers: [f64; 3],
    /// moka's best single run.
    moka_best: f64,
}

fn ratio(hits: u64, requests: usize) -> f64 {
    if requests == 0 {
        0.0
    } else {
        100.0 * hits as f64 / requests as f64
    }
}

fn run(trace: &Trace) -> Vec<Row> {
    let n = trace.keys.len();
    PERCENTS
        .iter()
        .map(|&percent| {
            let capacity = (trace.distinct * percent / 100).max(1);
            let timed = |name: &str, f: &dyn Fn(&[u32], usize) -> u64| {
                let start = Instant::now();
                let hits = f(&trace.keys, capacity);
                eprintln!(
                    "  {:>3}% {name:<12} {:>7.2}% in {:?}",
                    percent,
                    ratio(hits, n),
                    start.elapsed()
                );
                ratio(hits, n)
            };
            let belady = timed("belady", &|k, c| belady_hits(k, trace.distinct, c));
            let stratus = timed("stratus", &stratus);
            let mokas: Vec<f64> = (0..MOKA_RUNS).map(|_| timed("moka", &moka)).collect();
            let peers = [
                timed("lru", &lru),
                mean(mokas.iter().copied()),
                timed("quick_cache", &quick_cache),
            ];
            let moka_best = mokas.iter().copied().fold(f64::MIN, f64::max);
            Row {
                trace: trace.name.clone(),
                requests: n,
                distinct: trace.distinct,
                percent,
                capacity,
                belady,
                stratus,
                peers,
                moka_best,
            }
        })
        .collect()
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if count == 0 { 0.0 } else { sum / count as f64 }
}

fn best_peer(row: &Row) -> f64 {
    row.peers.iter().copied().fold(f64::MIN, f64::max)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = benches::shared_dir().join("traces");
    let files: Vec<PathBuf> = if args.is_empty() {
        match trace_files(&dir) {
            Ok(files) => files,
            Err(e) => {
                eprintln!("hitratio: cannot list {}: {e}", dir.display());
                std::process::exit(2);
            }
        }
    } else {
        args.iter()
            .map(|a| {
                let p = PathBuf::from(a);
                if p.exists() { p } else { dir.join(a) }
            })
            .collect()
    };
    let mut rows = Vec::new();
    for file in &files {
        let start = Instant::now();
        let trace = match read_trace(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("hitratio: {}: {e}", file.display());
                std::process::exit(2);
            }
        };
        eprintln!(
            "{}: {} requests, {} distinct, {} lines skipped, read in {:?}",
            trace.name,
            trace.keys.len(),
            trace.distinct,
            trace.skipped,
            start.elapsed()
        );
        rows.extend(run(&trace));
    }

    println!(
        "| trace | requests | distinct | cache | Belady | **stratus** | {} | stratus − best peer |",
        PEERS.join(" | ")
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let best = best_peer(r);
        let cells: Vec<String> = r
            .peers
            .iter()
            .map(|&p| {
                if p == best {
                    format!("*{p:.2}*")
                } else {
                    format!("{p:.2}")
                }
            })
            .collect();
        println!(
            "| {} | {} | {} | {}% ({}) | {:.2} | **{:.2}** | {} | {:+.2} |",
            r.trace,
            r.requests,
            r.distinct,
            r.percent,
            r.capacity,
            r.belady,
            r.stratus,
            cells.join(" | "),
            r.stratus - best
        );
    }
    let mut groups: Vec<(String, Vec<&Row>)> = PERCENTS
        .iter()
        .map(|p| {
            (
                format!("{p}%"),
                rows.iter().filter(|r| r.percent == *p).collect(),
            )
        })
        .collect();
    groups.push(("all".to_string(), rows.iter().collect()));
    for (label, group) in &groups {
        let peers: Vec<f64> = (0..PEERS.len())
            .map(|i| mean(group.iter().map(|r| r.peers[i])))
            .collect();
        let best = peers.iter().copied().fold(f64::MIN, f64::max);
        let stratus = mean(group.iter().map(|r| r.stratus));
        println!(
            "| **mean** | | | {label} | {:.2} | **{:.2}** | {} | {:+.2} |",
            mean(group.iter().map(|r| r.belady)),
            stratus,
            peers
                .iter()
                .map(|p| format!("{p:.2}"))
                .collect::<Vec<_>>()
                .join(" | "),
            stratus - best
        );
    }
    if let Some(worst) = rows
        .iter()
        .min_by(|a, b| (a.stratus - best_peer(a)).total_cmp(&(b.stratus - best_peer(b))))
    {
        println!();
        println!(
            "Largest shortfall against the best peer: {:+.2} points ({} at {}%).",
            worst.stratus - best_peer(worst),
            worst.trace,
            worst.percent
        );
    }
    let against_best_draws = |r: &Row| r.stratus - best_peer(r).max(r.moka_best);
    if let Some(worst) = rows
        .iter()
        .min_by(|a, b| against_best_draws(a).total_cmp(&against_best_draws(b)))
    {
        println!(
            "With moka at its best of {MOKA_RUNS} runs instead of its mean: {:+.2} points ({} at {}%).",
            against_best_draws(worst),
            worst.trace,
            worst.percent
        );
    }
}
