//! objstore beside `object_store`'s `InMemory` and `LocalFileSystem`, in the same run.
//!
//! - `get_1k` / `put_1k`: 1 KiB objects, 100k keys, random keys, 2 threads (two tasks on a 2-worker runtime).
//! - `put_1mib`: one 1 MiB put beside MD5 alone over the same bytes (the floor an S3-faithful put pays).
//! - `list_1000_of_1m`: list the 1,000 keys under one prefix among 1M keys.
//!
//! Throughput is per object operation, so criterion's `thrpt` figures compare directly.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use objstore::{Bucket, FsBackend, FsOptions, Store};
use tokio::runtime::Runtime;

const KEYS: usize = 100_000;
const THREADS: u64 = 2;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn key(i: usize) -> String {
    format!("data/{:02}/obj-{i:07}", i % 97)
}

fn value() -> Bytes {
    Bytes::from((0..1024u32).map(|i| (i * 31) as u8).collect::<Vec<u8>>())
}

/// A pseudo-random walk over the keys, different per task.
fn walk(seed: u64) -> impl FnMut() -> usize {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % KEYS as u64) as usize
    }
}

/// Runs `$body` `$iters` times split over two tasks on `$rt`; returns the wall time. `$ctx` is cloned once
/// per task (never per operation, so the loop touches no shared reference count); `$i` is a random key index.
macro_rules! two_threads {
    ($rt:expr, $iters:expr, $ctx:ident = $init:expr, |$i:ident| $body:expr) => {{
        let iters = $iters;
        $rt.block_on(async {
            let start = Instant::now();
            let tasks: Vec<_> = (0..THREADS)
                .map(|t| {
                    let $ctx = $init.clone();
                    tokio::spawn(async move {
                        let mut next = walk(t + 1);
                        for _ in 0..iters / THREADS {
                            let $i = next();
                            $body;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            start.elapsed()
        })
    }};
}

struct Fixture {
    keys: Arc<Vec<String>>,
    paths: Arc<Vec<Path>>,
    mem: Bucket,
    inmem: Arc<InMemory>,
    fs: Bucket,
    fs_sync: Bucket,
    lfs: Arc<LocalFileSystem>,
    _dir: tempfile::TempDir,
}

fn fixture(rt: &Runtime) -> Fixture {
    let keys: Arc<Vec<String>> = Arc::new((0..KEYS).map(key).collect());
    let paths: Arc<Vec<Path>> = Arc::new(keys.iter().map(|k| Path::from(k.as_str())).collect());
    let dir = tempfile::tempdir().unwrap();
    let lfs_root = dir.path().join("lfs");
    std::fs::create_dir_all(&lfs_root).unwrap();
    rt.block_on(async {
        let mem = Store::memory().create_bucket("bench").await.unwrap();
        let inmem = Arc::new(InMemory::new());
        // Populate the fs stores without fsync (populating is not what is measured); `fs_sync` measures
        // durable puts.
        let fs_store = Store::builder()
            .with_backend(
                FsBackend::open(
                    dir.path().join("objstore"),
                    FsOptions::default().with_sync(false),
                )
                .unwrap(),
            )
            .build()
            .unwrap();
        let fs = fs_store.create_bucket("bench").await.unwrap();
        let fs_sync = Store::fs(dir.path().join("objstore-sync"))
            .unwrap()
            .create_bucket("bench")
            .await
            .unwrap();
        let lfs = Arc::new(LocalFileSystem::new_with_prefix(&lfs_root).unwrap());
        let v = value();
        for (k, p) in keys.iter().zip(paths.iter()) {
            mem.put(k, v.clone()).await.unwrap();
            inmem
                .put(p, PutPayload::from_bytes(v.clone()))
                .await
                .unwrap();
            fs.put(k, v.clone()).await.unwrap();
            lfs.put(p, PutPayload::from_bytes(v.clone())).await.unwrap();
        }
        Fixture {
            keys,
            paths,
            mem,
            inmem,
            fs,
            fs_sync,
            lfs,
            _dir: dir,
        }
    })
}

fn get_and_put(c: &mut Criterion) {
    let rt = runtime();
    let f = fixture(&rt);
    let mut g = c.benchmark_group("get_1k");
    g.throughput(Throughput::Elements(1));
    for (name, bucket) in [("objstore_memory", &f.mem), ("objstore_fs", &f.fs)] {
        let ctx = (bucket.clone(), f.keys.clone());
        g.bench_function(name, |bench| {
            bench.iter_custom(|iters| {
                two_threads!(rt, iters, c = ctx, |i| black_box(
                    c.0.get(&c.1[i]).await.unwrap().body
                ))
            })
        });
    }
    for (name, store) in [
        (
            "object_store_inmemory",
            f.inmem.clone() as Arc<dyn ObjectStore>,
        ),
        (
            "object_store_localfs",
            f.lfs.clone() as Arc<dyn ObjectStore>,
        ),
    ] {
        let ctx = (store, f.paths.clone());
        g.bench_function(name, |bench| {
            bench.iter_custom(|iters| {
                two_threads!(rt, iters, c = ctx, |i| black_box(
                    c.0.get(&c.1[i]).await.unwrap().bytes().await.unwrap()
                ))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("put_1k");
    g.throughput(Throughput::Elements(1));
    for (name, bucket) in [
        ("objstore_memory", &f.mem),
        ("objstore_fs", &f.fs),
        ("objstore_fs_fsync", &f.fs_sync),
    ] {
        let ctx = (bucket.clone(), f.keys.clone(), value());
        g.bench_function(name, |bench| {
            bench.iter_custom(|iters| {
                two_threads!(rt, iters, c = ctx, |i| black_box(
                    c.0.put(&c.1[i], c.2.clone()).await.unwrap()
                ))
            })
        });
    }
    for (name, store) in [
        (
            "object_store_inmemory",
            f.inmem.clone() as Arc<dyn ObjectStore>,
        ),
        (
            "object_store_localfs",
            f.lfs.clone() as Arc<dyn ObjectStore>,
        ),
    ] {
        let ctx = (store, f.paths.clone(), value());
        g.bench_function(name, |bench| {
            bench.iter_custom(|iters| {
                two_threads!(rt, iters, c = ctx, |i| black_box(
                    c.0.put(&c.1[i], PutPayload::from_bytes(c.2.clone()))
                        .await
                        .unwrap()
                ))
            })
        });
    }
    g.finish();
}

fn put_1mib(c: &mut Criterion) {
    let rt = runtime();
    let data = Bytes::from(
        (0..1024 * 1024u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect::<Vec<u8>>(),
    );
    let (mem, inmem) = rt.block_on(async {
        (
            Store::memory().create_bucket("bench").await.unwrap(),
            InMemory::new(),
        )
    });
    let mut g = c.benchmark_group("put_1mib");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("md5_alone", |b| {
        b.iter(|| black_box(objstore::ETag::of(black_box(&data))))
    });
    g.bench_function("objstore_memory", |b| {
        b.iter(|| rt.block_on(async { black_box(mem.put("big", data.clone()).await.unwrap()) }))
    });
    let path = Path::from("big");
    g.bench_function("object_store_inmemory", |b| {
        b.iter(|| {
            rt.block_on(async {
                black_box(
                    inmem
                        .put(&path, PutPayload::from_bytes(data.clone()))
                        .await
                        .unwrap(),
                )
            })
        })
    });
    g.finish();
}

fn list_1000_of_1m(c: &mut Criterion) {
    let rt = runtime();
    const TOTAL: usize = 1_000_000;
    let name = |i: usize| format!("dir{:04}/obj-{i:08}", i % 1000);
    let (mem, inmem) = rt.block_on(async {
        let mem = Store::memory().create_bucket("bench").await.unwrap();
        let inmem = InMemory::new();
        for i in 0..TOTAL {
            let k = name(i);
            mem.put(&k, Bytes::new()).await.unwrap();
            inmem
                .put(&Path::from(k.as_str()), PutPayload::default())
                .await
                .unwrap();
        }
        (mem, inmem)
    });
    let mut g = c.benchmark_group("list_1000_of_1m");
    g.throughput(Throughput::Elements(1000));
    g.bench_with_input(
        BenchmarkId::new("objstore_memory", "dir0421/"),
        "dir0421/",
        |b, prefix| {
            b.iter(|| {
                rt.block_on(async {
                    let page = mem
                        .list(&objstore::ListOptions::default().prefix(prefix.to_string()))
                        .await
                        .unwrap();
                    assert_eq!(page.objects.len(), 1000);
                    black_box(page)
                })
            })
        },
    );
    let prefix = Path::from("dir0421");
    g.bench_function(BenchmarkId::new("object_store_inmemory", "dir0421/"), |b| {
        b.iter(|| {
            rt.block_on(async {
                let all: Vec<_> = inmem.list(Some(&prefix)).try_collect().await.unwrap();
                assert_eq!(all.len(), 1000);
                black_box(all)
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = get_and_put, put_1mib, list_1000_of_1m
}
criterion_main!(benches);
