//! The edgecache memory policy beside `moka` (sync) and `quick_cache` (sync), in the same run.
//!
//! - `get_hit`: gets of keys drawn from a Zipf(0.99) distribution over 100k keys, all cached (every get hits),
//!   on 2 threads at once. Throughput counts gets.
//! - `insert`: inserts of random keys from 1M into a full cache of 100k entries (every insert evicts), one
//!   thread.
//!
//! Keys are `u64` and values `Arc<[u8]>` (what a tier shares), so `get` costs a lookup, the policy's bookkeeping
//! and a reference count increment for every cache. Each cache uses its default configuration and hasher.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgecache::policy::Cache;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const KEYS: u64 = 100_000;
const THREADS: usize = 2;
/// Pre-drawn key sequence per thread (a power of two, indexed with a mask).
const SEQUENCE: usize = 1 << 16;

type Value = Arc<[u8]>;

/// The three caches behind one interface.
trait Bench: Send + Sync {
    fn get(&self, key: u64) -> Option<Value>;
    fn insert(&self, key: u64, value: Value);
}

impl Bench for Cache<u64, Value> {
    fn get(&self, key: u64) -> Option<Value> {
        Cache::get(self, &key)
    }
    fn insert(&self, key: u64, value: Value) {
        Cache::insert(self, key, value);
    }
}

impl Bench for moka::sync::Cache<u64, Value> {
    fn get(&self, key: u64) -> Option<Value> {
        moka::sync::Cache::get(self, &key)
    }
    fn insert(&self, key: u64, value: Value) {
        moka::sync::Cache::insert(self, key, value);
    }
}

impl Bench for quick_cache::sync::Cache<u64, Value> {
    fn get(&self, key: u64) -> Option<Value> {
        quick_cache::sync::Cache::get(self, &key)
    }
    fn insert(&self, key: u64, value: Value) {
        quick_cache::sync::Cache::insert(self, key, value);
    }
}

fn caches(capacity: u64) -> Vec<(&'static str, Arc<dyn Bench>)> {
    vec![
        ("stratus", Arc::new(Cache::<u64, Value>::new(capacity))),
        (
            "moka",
            Arc::new(moka::sync::Cache::<u64, Value>::new(capacity)),
        ),
        (
            "quick_cache",
            Arc::new(quick_cache::sync::Cache::<u64, Value>::new(
                capacity as usize,
            )),
        ),
    ]
}

/// `n` keys drawn from Zipf(`s`) over `0..KEYS` (rank 0 the most popular), scrambled so that popular keys are
/// not neighbours.
fn zipf_keys(seed: u64, s: f64, n: usize) -> Vec<u64> {
    let mut cdf = Vec::with_capacity(KEYS as usize);
    let mut total = 0.0;
    for rank in 1..=KEYS {
        total += 1.0 / (rank as f64).powf(s);
        cdf.push(total);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let u: f64 = rng.random::<f64>() * total;
            let rank = cdf.partition_point(|&c| c < u) as u64;
            rank.wrapping_mul(0x9E37_79B9_7F4A_7C15) % KEYS
        })
        .collect()
}

fn get_hit(c: &mut Criterion) {
    let value: Value = Arc::from(vec![7u8; 64]);
    let sequences: Vec<Arc<Vec<u64>>> = (0..THREADS)
        .map(|t| Arc::new(zipf_keys(t as u64 + 1, 0.99, SEQUENCE)))
        .collect();
    let mut group = c.benchmark_group("edgecache/get_hit_zipf099_2threads");
    group.throughput(Throughput::Elements(THREADS as u64));
    group.measurement_time(Duration::from_secs(4));
    for (name, cache) in caches(KEYS * 2) {
        for k in 0..KEYS {
            cache.insert(k, value.clone());
        }
        for k in 0..KEYS {
            assert!(cache.get(k).is_some(), "{name}: every key is cached");
        }
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let barrier = Arc::new(Barrier::new(THREADS + 1));
                let handles: Vec<_> = sequences
                    .iter()
                    .map(|seq| {
                        let (cache, seq, barrier) = (cache.clone(), seq.clone(), barrier.clone());
                        std::thread::spawn(move || {
                            barrier.wait();
                            let mut hits = 0u64;
                            for i in 0..iters as usize {
                                hits += u64::from(cache.get(seq[i & (SEQUENCE - 1)]).is_some());
                            }
                            black_box(hits)
                        })
                    })
                    .collect();
                barrier.wait();
                let start = Instant::now();
                for h in handles {
                    h.join().unwrap();
                }
                start.elapsed()
            })
        });
    }
    group.finish();
}

fn insert(c: &mut Criterion) {
    let value: Value = Arc::from(vec![7u8; 64]);
    let mut rng = StdRng::seed_from_u64(42);
    let keys: Vec<u64> = (0..SEQUENCE)
        .map(|_| rng.random_range(0..KEYS * 10))
        .collect();
    let mut group = c.benchmark_group("edgecache/insert_full_1thread");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(4));
    for (name, cache) in caches(KEYS) {
        for k in 0..KEYS {
            cache.insert(k + KEYS * 20, value.clone());
        }
        let mut i = 0usize;
        group.bench_function(name, |b| {
            b.iter(|| {
                i = i.wrapping_add(1);
                cache.insert(keys[i & (SEQUENCE - 1)], value.clone());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, get_hit, insert);
criterion_main!(benches);
