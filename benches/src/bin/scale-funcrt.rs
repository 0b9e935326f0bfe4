//! funcrt at scale (issue 18): `create_function` latency and resident memory per function version as the
//! function table grows to 1k, 10k and 100k functions, and a warm invoke beside them.
//!
//! Run by hand, in release: `cargo run --release -p benches --bin scale-funcrt` (optionally with sizes:
//! `-- 1000 10000`). Each size runs in a fresh child process (this program re-executing itself with
//! `--one N`), so one size's freed memory does not hide the next one's growth. Per size it prints:
//! - `create p50`: the median latency of the `create_function` calls (all N of them), and of the last
//!   1,000 (what a create costs once the table is full size);
//! - `RSS/version`: growth of `VmRSS` (from `/proc/self/status`) over the N creates, divided by N (each
//!   function has one version, `$LATEST`);
//! - `invoke p50`: the median of 2,000 warm RequestResponse invokes of one function in that table;
//! - the growth exponent between consecutive sizes: `log(t2 / t1) / log(n2 / n1)` (0 is flat, 1 linear).

#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use funcrt::{Code, Context, FunctionConfig, HandlerError, Runtime, Value};

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// One size, in this process: prints `n create_p50_ns create_tail_p50_ns rss_per_version invoke_p50_ns`.
fn one(n: usize) {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let rt = Runtime::new(stratus_clock::Clock::system());
    let code = Code::from_fn(|e: Value, _c: Context| async move { Ok::<_, HandlerError>(e) });
    let config = FunctionConfig::default();
    let names: Vec<String> = (0..n).map(|i| format!("function-{i:07}")).collect();
    let before = rss_bytes();
    let mut lat = Vec::with_capacity(n);
    for name in &names {
        let t0 = Instant::now();
        rt.create_function(name, code.clone(), config.clone())
            .expect("create");
        lat.push(t0.elapsed());
    }
    let after = rss_bytes();
    let tail_from = n.saturating_sub(1000);
    let mut tail = lat[tail_from..].to_vec();
    let tail_p50 = median(&mut tail);
    let p50 = median(&mut lat);
    let per_version = after.saturating_sub(before) / n.max(1) as u64;
    let target = &names[n / 2];
    let invoke_p50 = tokio.block_on(async {
        for _ in 0..100 {
            rt.invoke(target, Value::Null).await.expect("invoke");
        }
        let mut v = Vec::with_capacity(2000);
        for _ in 0..2000 {
            let t0 = Instant::now();
            rt.invoke(target, Value::Null).await.expect("invoke");
            v.push(t0.elapsed());
        }
        median(&mut v)
    });
    println!(
        "{n} {} {} {per_version} {}",
        p50.as_nanos(),
        tail_p50.as_nanos(),
        invoke_p50.as_nanos()
    );
}

struct Row {
    n: usize,
    create_ns: f64,
    tail_ns: f64,
    rss: f64,
    invoke_ns: f64,
}

fn exponent(a: f64, b: f64, na: usize, nb: usize) -> f64 {
    (b / a).ln() / (nb as f64 / na as f64).ln()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--one") {
        one(args.get(2).and_then(|s| s.parse().ok()).expect("--one N"));
        return;
    }
    let sizes: Vec<usize> = if args.len() > 1 {
        args[1..].iter().filter_map(|s| s.parse().ok()).collect()
    } else {
        vec![1_000, 10_000, 100_000]
    };
    let exe = std::env::current_exe().expect("this program's path");
    let mut rows = Vec::new();
    for &n in &sizes {
        let out = std::process::Command::new(&exe)
            .args(["--one", &n.to_string()])
            .output()
            .expect("run one size");
        let line = String::from_utf8_lossy(&out.stdout);
        let f: Vec<f64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if f.len() != 5 {
            eprintln!(
                "size {n} failed: {line} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        }
        rows.push(Row {
            n,
            create_ns: f[1],
            tail_ns: f[2],
            rss: f[3],
            invoke_ns: f[4],
        });
    }
    println!(
        "| functions | create p50 (all) | create p50 (last 1k) | RSS / version | warm invoke p50 | exponent create (last 1k) | exponent RSS/version |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (i, r) in rows.iter().enumerate() {
        let (e_create, e_rss) = match i.checked_sub(1).map(|j| &rows[j]) {
            Some(p) => (
                format!("{:.2}", exponent(p.tail_ns, r.tail_ns, p.n, r.n)),
                format!("{:.2}", exponent(p.rss.max(1.0), r.rss.max(1.0), p.n, r.n)),
            ),
            None => ("-".into(), "-".into()),
        };
        println!(
            "| {} | {:.2} us | {:.2} us | {:.2} KiB | {:.2} us | {e_create} | {e_rss} |",
            r.n,
            r.create_ns / 1e3,
            r.tail_ns / 1e3,
            r.rss / 1024.0,
            r.invoke_ns / 1e3,
        );
    }
}
