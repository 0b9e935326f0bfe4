//! How objstore's costs grow with the work (issue 18): per size, medians of each operation beside
//! `object_store`'s `InMemory` and `LocalFileSystem` where a peer exists, and the growth exponent between
//! sizes (`ln(t2/t1) / ln(n2/n1)`: 0 is flat, 1 linear).
//!
//! `cargo run --release -p benches --bin scale-objstore [versions] [reopen] [open] [memory]` (all four by
//! default; `SCALE_MAX_OBJECTS=100000` caps the `open` sizes, `SCALE_MAX_VERSIONS` the version sizes).
//!
//! - `versions`: one key with 1k, 10k and 100k versions, on the memory backend and on fs (no fsync, as
//!   `LocalFileSystem`): a put of a new version, a get by version id (random, older versions), the first
//!   ListObjectVersions page (1,000 entries) and a page of 500 from a version-id marker half-way. The
//!   peers keep no versions, so their line is a put and a get of a fresh key (what a version put should
//!   cost about as much as).
//! - `reopen`: fs open of a root whose one key has 1k, 10k, 100k versions, after a clean shutdown and after
//!   a crash (the snapshot removed, so open scans every file, as after a SIGKILL).
//! - `open`: fs open of a root of 10k, 100k, 1M objects of 100 bytes, after a clean shutdown and after a
//!   crash. `LocalFileSystem` keeps no index, so it has no open to compare.
//! - `memory`: resident bytes per object of 100 bytes under a short key, memory backend beside `InMemory`,
//!   at 10k, 100k and 1M objects: the growth of `VmRSS` (`/proc/self/status`) over the puts, each
//!   measured in a fresh child process of this program so no earlier allocation blurs it.
//!
//! Latencies are medians of single operations timed one at a time on a 2-worker runtime. The machine is a
//! shared 2-core VM: read the exponents and the same-run ratios, not the absolute times.
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as OsPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use objstore::{Bucket, FsBackend, FsOptions, ListVersionsOptions, Store, Versioning};

const SAMPLES: usize = 201;
const PAGE_SAMPLES: usize = 21;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        child(&args[1..]);
        return;
    }
    let all = args.is_empty();
    let want = |s: &str| all || args.iter().any(|a| a == s);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let max_versions = env_usize("SCALE_MAX_VERSIONS", 100_000);
    let max_objects = env_usize("SCALE_MAX_OBJECTS", 1_000_000);
    let version_sizes: Vec<usize> = [1_000, 10_000, 100_000]
        .into_iter()
        .filter(|n| *n <= max_versions)
        .collect();
    let object_sizes: Vec<usize> = [10_000, 100_000, 1_000_000]
        .into_iter()
        .filter(|n| *n <= max_objects)
        .collect();
    if want("versions") {
        rt.block_on(versions(&version_sizes));
    }
    if want("reopen") {
        rt.block_on(reopen(&version_sizes));
    }
    if want("open") {
        rt.block_on(open(&object_sizes));
    }
    if want("memory") {
        memory(&object_sizes);
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// The growth exponent between two sizes: 0 is flat, 1 linear.
fn exponent(t1: f64, n1: usize, t2: f64, n2: usize) -> f64 {
    (t2 / t1).ln() / (n2 as f64 / n1 as f64).ln()
}

fn fmt(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

fn size_name(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// A table row: the figure at each size, then the exponents between consecutive sizes.
fn row(label: &str, sizes: &[usize], figures: &[f64], show: impl Fn(f64) -> String) {
    let mut line = format!("| {label} |");
    for f in figures {
        line.push_str(&format!(" {} |", show(*f)));
    }
    let exps: Vec<String> = figures
        .windows(2)
        .zip(sizes.windows(2))
        .map(|(f, n)| format!("{:.2}", exponent(f[0], n[0], f[1], n[1])))
        .collect();
    line.push_str(&format!(" {} |", exps.join(" / ")));
    println!("{line}");
}

fn header(what: &str, sizes: &[usize]) {
    let names: Vec<String> = sizes.iter().map(|n| size_name(*n)).collect();
    println!("| {what} | {} | growth exponent |", names.join(" | "));
    println!("|---|{}---|", "---|".repeat(sizes.len()));
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn show_dur(f: f64) -> String {
    fmt(Duration::from_secs_f64(f))
}

fn body(i: usize) -> Bytes {
    Bytes::from(vec![(i % 251) as u8; 100])
}

async fn fs_store(root: &Path) -> Store {
    let backend =
        FsBackend::open(root, FsOptions::default().with_sync(false)).expect("open the fs root");
    Store::builder()
        .with_backend(backend)
        .build()
        .expect("a store")
}

/// Medians at each size of: put a version, get by version id, first version page, page from a marker.
async fn version_figures(bucket: &Bucket, sizes: &[usize]) -> [Vec<f64>; 4] {
    let mut ids: Vec<String> = Vec::new();
    let mut out: [Vec<f64>; 4] = Default::default();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut rand = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    for &n in sizes {
        while ids.len() < n {
            let m = bucket.put("k", body(ids.len())).await.expect("put");
            ids.push(m.version_id.clone());
        }
        let mut t = Vec::with_capacity(SAMPLES);
        for i in 0..SAMPLES {
            let start = Instant::now();
            let m = bucket.put("k", body(i)).await.expect("put");
            t.push(start.elapsed());
            ids.push(m.version_id.clone());
        }
        out[0].push(secs(median(t)));
        let mut t = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            // A copy, so the timed get does not pay for this program's own cold id string (the
            // reference rows format their key before timing too).
            let id = ids[rand(n)].clone();
            let start = Instant::now();
            bucket
                .get_version("k", &id)
                .await
                .expect("get by version id");
            t.push(start.elapsed());
        }
        out[1].push(secs(median(t)));
        let first = ListVersionsOptions::default();
        // Half-way through the key's versions (at least 600 of them older), a page of 500.
        let marker = ListVersionsOptions {
            key_marker: Some("k".into()),
            version_id_marker: Some(ids[ids.len() / 2].clone()),
            max_keys: Some(500),
            ..Default::default()
        };
        for (slot, opts, len) in [(2, &first, 1000), (3, &marker, 500)] {
            let mut t = Vec::with_capacity(PAGE_SAMPLES);
            for _ in 0..PAGE_SAMPLES {
                let start = Instant::now();
                let page = bucket.list_versions(opts).await.expect("list versions");
                t.push(start.elapsed());
                assert_eq!(page.versions.len(), len);
            }
            out[slot].push(secs(median(t)));
        }
    }
    out
}

async fn versions(sizes: &[usize]) {
    println!("\n### One key's versions: medians by the number of versions of the key\n");
    header("operation", sizes);
    let dir = tempfile::tempdir().expect("a temp dir");
    let mem = Store::memory();
    let fs = fs_store(&dir.path().join("objstore")).await;
    for (name, store) in [("memory", &mem), ("fs", &fs)] {
        let bucket = store.create_bucket("versions").await.expect("bucket");
        bucket
            .set_versioning(Versioning::Enabled)
            .await
            .expect("versioning");
        let [put, get, first, marker] = version_figures(&bucket, sizes).await;
        row(&format!("{name}: put a version"), sizes, &put, show_dur);
        row(&format!("{name}: get by version id"), sizes, &get, show_dur);
        row(
            &format!("{name}: first ListObjectVersions page"),
            sizes,
            &first,
            show_dur,
        );
        row(
            &format!("{name}: page from a version-id marker"),
            sizes,
            &marker,
            show_dur,
        );
    }
    // What random access among n entries costs anyway (cache misses grow with the working set): a get of
    // a random key among n keys, objstore memory beside InMemory, which keeps no versions.
    let (mut ours, mut peer) = (Vec::new(), Vec::new());
    let keys_b = mem.create_bucket("keys").await.expect("bucket");
    let inmem_keys = InMemory::new();
    let mut have = 0;
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for &n in sizes {
        while have < n {
            keys_b
                .put(&format!("k{have:07}"), body(have))
                .await
                .expect("put");
            inmem_keys
                .put(
                    &OsPath::from(format!("k{have:07}")),
                    PutPayload::from_bytes(body(have)),
                )
                .await
                .expect("put");
            have += 1;
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..SAMPLES {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = format!("k{:07}", x % n as u64);
            let path = OsPath::from(key.as_str());
            let start = Instant::now();
            keys_b.get(&key).await.expect("get");
            a.push(start.elapsed());
            let start = Instant::now();
            inmem_keys
                .get(&path)
                .await
                .expect("get")
                .bytes()
                .await
                .expect("bytes");
            b.push(start.elapsed());
        }
        ours.push(secs(median(a)));
        peer.push(secs(median(b)));
    }
    row(
        "reference: memory, get a random key of n keys",
        sizes,
        &ours,
        show_dur,
    );
    row(
        "reference: InMemory, get a random key of n keys",
        sizes,
        &peer,
        show_dur,
    );
    // The same for files: a get of a random file of n in one folder, LocalFileSystem.
    let lfs_n = dir.path().join("lfs-n");
    std::fs::create_dir_all(&lfs_n).expect("lfs root");
    let lfs = LocalFileSystem::new_with_prefix(&lfs_n).expect("LocalFileSystem");
    let (mut peer, mut have) = (Vec::new(), 0);
    for &n in sizes {
        while have < n {
            lfs.put(
                &OsPath::from(format!("k{have:07}")),
                PutPayload::from_bytes(body(have)),
            )
            .await
            .expect("put");
            have += 1;
        }
        let mut b = Vec::new();
        for _ in 0..SAMPLES {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let path = OsPath::from(format!("k{:07}", x % n as u64));
            let start = Instant::now();
            lfs.get(&path)
                .await
                .expect("get")
                .bytes()
                .await
                .expect("bytes");
            b.push(start.elapsed());
        }
        peer.push(secs(median(b)));
    }
    row(
        "reference: LocalFileSystem, get a random file of n files",
        sizes,
        &peer,
        show_dur,
    );
    // The peers keep no versions: a fresh key's put and get, the cost a version put should stay near.
    let lfs_root = dir.path().join("lfs");
    std::fs::create_dir_all(&lfs_root).expect("lfs root");
    let lfs = LocalFileSystem::new_with_prefix(&lfs_root).expect("LocalFileSystem");
    let inmem = InMemory::new();
    let mem_b = mem.create_bucket("fresh").await.expect("bucket");
    let fs_b = fs.create_bucket("fresh").await.expect("bucket");
    println!();
    println!("| fresh key (no versions), median | put | get |");
    println!("|---|---|---|");
    for (name, bucket) in [("objstore memory", &mem_b), ("objstore fs", &fs_b)] {
        let (mut p, mut g) = (Vec::new(), Vec::new());
        for i in 0..SAMPLES {
            let key = format!("fresh-{i}");
            let start = Instant::now();
            bucket.put(&key, body(i)).await.expect("put");
            p.push(start.elapsed());
            let start = Instant::now();
            bucket.get(&key).await.expect("get");
            g.push(start.elapsed());
        }
        println!("| {name} | {} | {} |", fmt(median(p)), fmt(median(g)));
    }
    for (name, peer) in [
        ("object_store InMemory", &inmem as &dyn ObjectStore),
        ("object_store LocalFileSystem", &lfs),
    ] {
        let (mut p, mut g) = (Vec::new(), Vec::new());
        for i in 0..SAMPLES {
            let path = OsPath::from(format!("fresh-{i}"));
            let start = Instant::now();
            peer.put(&path, PutPayload::from_bytes(body(i)))
                .await
                .expect("put");
            p.push(start.elapsed());
            let start = Instant::now();
            peer.get(&path)
                .await
                .expect("get")
                .bytes()
                .await
                .expect("bytes");
            g.push(start.elapsed());
        }
        println!("| {name} | {} | {} |", fmt(median(p)), fmt(median(g)));
    }
}

/// The snapshot an fs bucket writes at a clean shutdown; removing it makes the next open scan every
/// file, as it does after a crash.
fn forget_snapshot(bucket_dir: &Path) {
    for entry in std::fs::read_dir(bucket_dir).expect("bucket dir").flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("index.snap")
        {
            std::fs::remove_file(entry.path()).expect("remove the snapshot");
        }
    }
}

/// Times a clean reopen and a reopen after a crash of the fs root; checks the versions or objects seen.
async fn time_opens(root: &Path, bucket: &str, expect: usize) -> (Duration, Duration) {
    let start = Instant::now();
    let backend = FsBackend::open(root, FsOptions::default().with_sync(false)).expect("reopen");
    let clean = start.elapsed();
    drop(backend);
    forget_snapshot(&root.join(bucket));
    let start = Instant::now();
    let backend = FsBackend::open(root, FsOptions::default().with_sync(false)).expect("reopen");
    let crashed = start.elapsed();
    assert_eq!(backend.recovery_report().objects, expect);
    drop(backend);
    (clean, crashed)
}

async fn reopen(sizes: &[usize]) {
    println!("\n### fs reopen of a root whose one key has n versions\n");
    header("open", sizes);
    let dir = tempfile::tempdir().expect("a temp dir");
    let root = dir.path().join("objstore");
    let (mut clean, mut crashed) = (Vec::new(), Vec::new());
    let mut have = 0;
    for &n in sizes {
        {
            let store = fs_store(&root).await;
            let bucket = match store.create_bucket("versions").await {
                Ok(b) => b,
                Err(_) => store.bucket("versions").expect("bucket"),
            };
            bucket
                .set_versioning(Versioning::Enabled)
                .await
                .expect("versioning");
            while have < n {
                bucket.put("k", body(have)).await.expect("put");
                have += 1;
            }
        }
        let (c, k) = time_opens(&root, "versions", n).await;
        clean.push(secs(c));
        crashed.push(secs(k));
    }
    row("after a clean shutdown", sizes, &clean, show_dur);
    row("after a crash (every file read)", sizes, &crashed, show_dur);
}

async fn open(sizes: &[usize]) {
    println!("\n### fs open of a root of n objects of 100 bytes\n");
    header("open", sizes);
    let dir = tempfile::tempdir().expect("a temp dir");
    let root = dir.path().join("objstore");
    let (mut clean, mut crashed) = (Vec::new(), Vec::new());
    let mut have = 0;
    for &n in sizes {
        {
            let store = fs_store(&root).await;
            let bucket = match store.create_bucket("objects").await {
                Ok(b) => b,
                Err(_) => store.bucket("objects").expect("bucket"),
            };
            let bucket = Arc::new(bucket);
            futures::stream::iter(have..n)
                .map(|i| {
                    let b = bucket.clone();
                    async move {
                        Bucket::put(&b, &format!("data/{:03}/obj-{i:07}", i % 997), body(i))
                            .await
                            .expect("put")
                    }
                })
                .buffer_unordered(32)
                .for_each(|_| async {})
                .await;
            have = n;
        }
        let (c, k) = time_opens(&root, "objects", n).await;
        clean.push(secs(c));
        crashed.push(secs(k));
    }
    row("after a clean shutdown", sizes, &clean, show_dur);
    row("after a crash (every file read)", sizes, &crashed, show_dur);
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// In a child process: puts `n` objects of 100 bytes into one store and prints the RSS growth per object.
fn child(args: &[String]) {
    let (which, n) = (args[0].as_str(), args[1].parse::<usize>().expect("a count"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let per = rt.block_on(async {
        let key = |i: usize| format!("k{i:07}");
        match which {
            "objstore" => {
                let store = Store::memory();
                let bucket = store.create_bucket("mem").await.expect("bucket");
                let before = rss_bytes();
                for i in 0..n {
                    bucket.put(&key(i), body(i)).await.expect("put");
                }
                let per = (rss_bytes() - before) as f64 / n as f64;
                std::hint::black_box(&bucket);
                per
            }
            _ => {
                let store = InMemory::new();
                let before = rss_bytes();
                for i in 0..n {
                    store
                        .put(&OsPath::from(key(i)), PutPayload::from_bytes(body(i)))
                        .await
                        .expect("put");
                }
                let per = (rss_bytes() - before) as f64 / n as f64;
                std::hint::black_box(&store);
                per
            }
        }
    });
    println!("{per:.1}");
}

fn memory(sizes: &[usize]) {
    println!(
        "\n### Resident bytes per object of 100 bytes (VmRSS growth / n, a fresh process each)\n"
    );
    header("store", sizes);
    let exe = std::env::current_exe().expect("this program");
    let measure = |which: &str, n: usize| -> f64 {
        let out = Command::new(&exe)
            .args(["--child", which, &n.to_string()])
            .output()
            .expect("run the child");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("the child's figure")
    };
    let ours: Vec<f64> = sizes.iter().map(|n| measure("objstore", *n)).collect();
    let peer: Vec<f64> = sizes.iter().map(|n| measure("inmemory", *n)).collect();
    let bytes = |f: f64| format!("{f:.0} B");
    row("objstore memory backend", sizes, &ours, bytes);
    row("object_store InMemory", sizes, &peer, bytes);
    let ratios: Vec<String> = ours
        .iter()
        .zip(&peer)
        .map(|(a, b)| format!("{:.2}x", a / b))
        .collect();
    println!("| ratio (objstore / InMemory) | {} | |", ratios.join(" | "));
}
