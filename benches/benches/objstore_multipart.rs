//! A multipart upload on objstore's fs backend beside a plain `std::fs` write of the same bytes, in the
//! same run.
//!
//! - `objstore_fs_multipart`: create an upload of 256 MiB, upload its 32 parts of 8 MiB (four at a time, as
//!   S3 clients do, on a 2-worker runtime), complete it. Each part's MD5 (its ETag) is computed, each part
//!   is written to the upload's folder and fsynced, and complete hard-links the parts into the object's
//!   data folder and commits a manifest that lists them, copying no byte (the fs backend's defaults,
//!   `sync: true`). Each iteration replaces the previous iteration's object, whose files are removed in the
//!   background.
//! - `std_fs_write_fsync`: `File::create`, one `write_all` of the same 256 MiB, `sync_all`.
//! - `md5_parts_alone`: the MD5 of the 32 parts, two at a time on two threads: the CPU floor of any upload
//!   that gives S3's ETags.
//!
//! Throughput is in bytes, so criterion's `thrpt` figures compare directly; the target is a ratio of at
//! least 0.7.

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::{StreamExt, TryStreamExt};
use objstore::{CompletedPart, FsBackend, FsOptions, Store};

const PART: usize = 8 * 1024 * 1024;
const PARTS: usize = 32;

fn data() -> Vec<Bytes> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..PARTS)
        .map(|_| {
            let mut part = vec![0u8; PART];
            for chunk in part.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
            }
            Bytes::from(part)
        })
        .collect()
}

fn multipart(c: &mut Criterion) {
    let parts = data();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = Store::builder()
        .with_backend(FsBackend::open(dir.path().join("store"), FsOptions::default()).unwrap())
        .build()
        .unwrap();
    let bucket = rt.block_on(store.create_bucket("bench")).unwrap();
    let mut g = c.benchmark_group("multipart_256mib");
    g.throughput(Throughput::Bytes((PART * PARTS) as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(30));
    g.bench_function("objstore_fs_multipart", |b| {
        b.iter(|| {
            rt.block_on(async {
                let up = bucket
                    .create_multipart_upload("big", Default::default())
                    .await
                    .unwrap();
                let id = up.upload_id.as_str();
                let bucket = &bucket;
                let mut done: Vec<CompletedPart> =
                    futures::stream::iter(parts.iter().cloned().enumerate())
                        .map(|(i, p)| async move {
                            let n = i as u32 + 1;
                            let info = bucket.upload_part("big", id, n, p, None).await?;
                            Ok::<_, objstore::Error>(CompletedPart {
                                part_number: n,
                                etag: info.etag,
                            })
                        })
                        .buffer_unordered(4)
                        .try_collect()
                        .await
                        .unwrap();
                done.sort_by_key(|p| p.part_number);
                bucket
                    .complete_multipart_upload("big", id, &done, &Default::default())
                    .await
                    .unwrap()
            })
        })
    });
    let whole: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    let path = dir.path().join("plain");
    g.bench_function("std_fs_write_fsync", |b| {
        b.iter(|| {
            let mut f = std::fs::File::create(&path).unwrap();
            f.write_all(&whole).unwrap();
            f.sync_all().unwrap();
        })
    });
    g.bench_function("md5_parts_alone", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                let (left, right) = parts.split_at(PARTS / 2);
                // Keep every digest (black_box), so none of the hashing can be optimised away.
                let h = s.spawn(|| {
                    std::hint::black_box(
                        left.iter()
                            .map(|p| objstore::ETag::of(p))
                            .collect::<Vec<_>>(),
                    )
                });
                let mine = std::hint::black_box(
                    right
                        .iter()
                        .map(|p| objstore::ETag::of(p))
                        .collect::<Vec<_>>(),
                );
                mine.len() + h.join().unwrap().len()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, multipart);
criterion_main!(benches);
