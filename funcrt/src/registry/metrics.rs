//! Per-version and per-function totals as they are recorded: lock-free counters sharded per thread.
//!
//! Counters are atomics and durations go to a lock-free histogram ([`Durations`]: the buckets of
//! `histogram::AtomicHistogram::new(7, 36)`, microseconds, at most 0.8 % high, allocated a page at a time
//! where durations fall), so recording an invocation takes no lock and a version that is never invoked
//! holds no histogram memory.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::registry::durations::{Durations, MAX_POWER};
use crate::shard::{Padded, SHARDS, home};
use crate::types::metering::{MetricsSnapshot, PriceTable, cost, gb_seconds};

/// What one finished invocation adds to the totals.
pub(crate) struct Sample {
    pub(crate) duration: Duration,
    pub(crate) billed_ms: u64,
    pub(crate) memory_mb: u32,
    pub(crate) cold: bool,
    pub(crate) error: bool,
}

#[derive(Debug, Default)]
struct MetricShard {
    invocations: AtomicU64,
    errors: AtomicU64,
    throttles: AtomicU64,
    cold_starts: AtomicU64,
    billed_ms: AtomicU64,
    mb_ms: AtomicU64,
    durations_us: Durations,
}

/// How many invocations of a version run at once (one counter: exactness needs it shared).
#[derive(Debug, Default)]
struct Running {
    now: AtomicU32,
    max: AtomicU32,
}

/// Counts one running invocation of a version until dropped (also when the invocation is cancelled).
pub(crate) struct RunningGuard<'a>(&'a Running);

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Relaxed);
    }
}

/// Lock-free per-version totals, sharded per thread (see [`crate::shard`]); reads add the shards up.
#[derive(Debug)]
pub(crate) struct VersionMetrics {
    shards: [Padded<MetricShard>; SHARDS],
    running: Padded<Running>,
}

impl Default for VersionMetrics {
    fn default() -> Self {
        VersionMetrics {
            shards: std::array::from_fn(|_| Padded::default()),
            running: Padded::default(),
        }
    }
}

impl VersionMetrics {
    /// Marks an invocation of this version as running.
    pub(crate) fn enter(&self) -> RunningGuard<'_> {
        let now = self.running.now.fetch_add(1, Relaxed) + 1;
        if now > self.running.max.load(Relaxed) {
            self.running.max.fetch_max(now, Relaxed);
        }
        RunningGuard(&self.running)
    }

    pub(crate) fn record(&self, s: &Sample) {
        let m = &self.shards[home()];
        m.invocations.fetch_add(1, Relaxed);
        if s.error {
            m.errors.fetch_add(1, Relaxed);
        }
        if s.cold {
            m.cold_starts.fetch_add(1, Relaxed);
        }
        m.billed_ms.fetch_add(s.billed_ms, Relaxed);
        m.mb_ms
            .fetch_add(s.billed_ms.saturating_mul(s.memory_mb as u64), Relaxed);
        let us = u64::try_from(s.duration.as_micros()).unwrap_or(u64::MAX);
        // Values past the top are clamped into the last bucket rather than dropped.
        m.durations_us.record(us.min((1 << MAX_POWER) - 1));
    }

    pub(crate) fn throttled(&self) {
        self.shards[home()].throttles.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self, prices: &PriceTable) -> (MetricsSnapshot, histogram::Histogram) {
        let sum = |f: fn(&MetricShard) -> &AtomicU64| {
            self.shards.iter().map(|s| f(s).load(Relaxed)).sum::<u64>()
        };
        let mut dense = Durations::dense();
        for s in &self.shards {
            s.durations_us.add_to(&mut dense);
        }
        let hist = Durations::histogram(dense);
        let mut snap = MetricsSnapshot {
            invocations: sum(|s| &s.invocations),
            errors: sum(|s| &s.errors),
            throttles: sum(|s| &s.throttles),
            cold_starts: sum(|s| &s.cold_starts),
            billed_ms: sum(|s| &s.billed_ms),
            gb_seconds: gb_seconds(sum(|s| &s.mb_ms)),
            ..MetricsSnapshot::default()
        };
        snap.warm_starts = snap.invocations.saturating_sub(snap.cold_starts);
        snap.concurrent_executions = self.running.now.load(Relaxed);
        snap.max_concurrent_executions = self.running.max.load(Relaxed);
        fill_percentiles(&mut snap, &hist);
        snap.estimated_cost_usd = cost(prices, snap.gb_seconds, snap.invocations);
        (snap, hist)
    }
}

pub(crate) fn fill_percentiles(snap: &mut MetricsSnapshot, hist: &histogram::Histogram) {
    if let Ok(Some(qs)) = hist.quantiles(&[0.5, 0.9, 0.99]) {
        // Entries are keyed by quantile, so iteration order is p50, p90, p99.
        let ends: Vec<u64> = qs.entries().values().map(|b| b.end()).collect();
        let at = |i: usize| Duration::from_micros(ends.get(i).copied().unwrap_or(0));
        snap.p50 = at(0);
        snap.p90 = at(1);
        snap.p99 = at(2);
    }
}

#[derive(Debug, Default)]
struct CounterShard {
    invocations: AtomicU64,
    errors: AtomicU64,
    throttles: AtomicU64,
}

/// Function-level counters, kept independently of the per-version ones (and sharded the same way).
#[derive(Debug, Default)]
pub(crate) struct FunctionCounters {
    shards: [Padded<CounterShard>; SHARDS],
}

impl FunctionCounters {
    pub(crate) fn invoked(&self, error: bool) {
        let s = &self.shards[home()];
        s.invocations.fetch_add(1, Relaxed);
        if error {
            s.errors.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn throttled(&self) {
        self.shards[home()].throttles.fetch_add(1, Relaxed);
    }

    /// (invocations, errors, throttles)
    pub(crate) fn totals(&self) -> (u64, u64, u64) {
        self.shards.iter().fold((0, 0, 0), |(i, e, t), s| {
            (
                i + s.invocations.load(Relaxed),
                e + s.errors.load(Relaxed),
                t + s.throttles.load(Relaxed),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_sums_and_prices() {
        let m = VersionMetrics::default();
        for ms in 1..=100u64 {
            m.record(&Sample {
                duration: Duration::from_millis(ms),
                billed_ms: ms,
                memory_mb: 1024,
                cold: ms == 1,
                error: ms % 10 == 0,
            });
        }
        m.throttled();
        let prices = PriceTable {
            per_gb_second: 1.0,
            per_request: 0.5,
        };
        let (s, _) = m.snapshot(&prices);
        assert_eq!(
            (
                s.invocations,
                s.errors,
                s.throttles,
                s.cold_starts,
                s.warm_starts
            ),
            (100, 10, 1, 1, 99)
        );
        assert_eq!(s.billed_ms, 5050);
        assert!((s.gb_seconds - 5.05).abs() < 1e-9);
        assert!((s.estimated_cost_usd - (5.05 + 50.0)).abs() < 1e-9);
        let near =
            |d: Duration, ms: u64| (d.as_secs_f64() * 1000.0 - ms as f64).abs() <= ms as f64 * 0.01;
        assert!(near(s.p50, 50), "{:?}", s.p50);
        assert!(near(s.p90, 90), "{:?}", s.p90);
        assert!(near(s.p99, 99), "{:?}", s.p99);
    }
}
