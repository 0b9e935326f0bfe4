//! The cost of the fs backend's read-side checksums (CRC32C per 64 KiB chunk, checked on every read): a
//! GET of 1 KiB and of 256 MiB from an fs root, with verification on (the default) and off
//! (`FsOptions::with_verify(false)`), in one run. The files sit in the page cache, so this is the
//! checksum's cost beside a memory copy, its worst case: on a cold disk the read dominates further.
//!
//! `cargo bench -p benches --bench objstore_checksum`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use objstore::{Bucket, FsBackend, FsOptions, Store};
use tokio::runtime::Runtime;

const SMALL: usize = 1024;
const LARGE: usize = 256 * 1024 * 1024;

fn bucket(rt: &Runtime, root: &std::path::Path, verify: bool) -> Bucket {
    rt.block_on(async {
        let backend = FsBackend::open(
            root,
            FsOptions::default().with_sync(false).with_verify(verify),
        )
        .unwrap();
        let store = Store::builder().with_backend(backend).build().unwrap();
        let b = store.create_bucket("bench").await.unwrap();
        let large: Vec<u8> = (0..LARGE).map(|i| (i as u8).wrapping_mul(31)).collect();
        b.put("small", vec![7u8; SMALL]).await.unwrap();
        b.put("large", large).await.unwrap();
        b
    })
}

fn bench(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let (on_dir, off_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let on = bucket(&rt, on_dir.path(), true);
    let off = bucket(&rt, off_dir.path(), false);

    let mut group = c.benchmark_group("objstore_fs_get_1k");
    group.throughput(Throughput::Bytes(SMALL as u64));
    for (name, b) in [("verify", &on), ("no_verify", &off)] {
        group.bench_function(name, |bench| {
            bench.iter(|| rt.block_on(async { black_box(b.get("small").await.unwrap()) }))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("objstore_fs_get_256m");
    group
        .throughput(Throughput::Bytes(LARGE as u64))
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for (name, b) in [("verify", &on), ("no_verify", &off)] {
        group.bench_function(name, |bench| {
            bench
                .iter(|| rt.block_on(async { black_box(b.get("large").await.unwrap().body.len()) }))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
