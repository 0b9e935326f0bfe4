//! Instances and metrics: reaping idle instances, the reaper task, per-function metrics, pending events.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::registry::{VersionKey, VersionMetrics, fill_percentiles};
use crate::runtime::Runtime;
use crate::types::metering::{FunctionMetrics, MetricsSnapshot, cost};

impl Runtime {
    /// Drops idle instances past their keep-alive, in every function; returns how many slots were dropped.
    /// Invocations also reap lazily, so calling this only frees memory sooner.
    pub fn reap_idle_instances(&self) -> usize {
        let now = self.inner.clock.instant();
        let map = self.inner.functions.load();
        let mut n = 0;
        for f in map.values() {
            let keep_alive = f
                .latest
                .config
                .load()
                .config
                .keep_alive
                .unwrap_or(self.inner.keep_alive);
            n += f.latest.pool.reap(now, keep_alive);
            for v in f.versions.load().values() {
                let keep_alive = v
                    .config
                    .load()
                    .config
                    .keep_alive
                    .unwrap_or(self.inner.keep_alive);
                n += v.pool.reap(now, keep_alive);
            }
        }
        n
    }

    /// OS threads held by instances ([`crate::Execution::Thread`]): one per live instance, plus one per
    /// discarded instance whose handler has not yet given its thread back (a handler that timed out while
    /// blocking its thread keeps it until it returns; nothing in-process can stop a thread). A figure that
    /// stays above the live instances points at handlers that block.
    pub fn instance_threads(&self) -> usize {
        self.inner.launcher.threads.load(Ordering::Relaxed)
    }

    /// Spawns a task that reaps idle instances every `every` on the runtime's clock.
    ///
    /// # Errors
    /// [`Error::NoAsyncRuntime`] outside a tokio runtime.
    pub fn spawn_reaper(&self, every: Duration) -> Result<tokio::task::JoinHandle<()>> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| Error::NoAsyncRuntime {
            what: "spawn the reaper",
        })?;
        let weak = Arc::downgrade(&self.inner);
        let clock = self.inner.clock.clone();
        Ok(handle.spawn(async move {
            loop {
                clock.sleep(every).await;
                match weak.upgrade() {
                    Some(inner) => {
                        Runtime { inner }.reap_idle_instances();
                    }
                    None => return,
                }
            }
        }))
    }

    /// A function's metrics: totals, per version, concurrency and live instances.
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`].
    pub fn metrics(&self, name: &str) -> Result<FunctionMetrics> {
        let f = self.lookup(name)?;
        let prices = &self.inner.prices;
        let all: Vec<(VersionKey, Arc<VersionMetrics>)> = f
            .control
            .lock()
            .all_metrics
            .iter()
            .map(|(k, m)| (k.clone(), m.clone()))
            .collect();
        let mut by_version = BTreeMap::new();
        let mut total = MetricsSnapshot::default();
        let mut merged: Option<histogram::Histogram> = None;
        for (key, m) in all {
            let (snap, hist) = m.snapshot(prices);
            total.cold_starts += snap.cold_starts;
            total.warm_starts += snap.warm_starts;
            total.billed_ms += snap.billed_ms;
            total.gb_seconds += snap.gb_seconds;
            merged = Some(match merged {
                None => hist,
                Some(h) => h.checked_add(&hist).unwrap_or(h),
            });
            by_version.insert(key.label(), snap);
        }
        (total.invocations, total.errors, total.throttles) = f.counters.totals();
        if let Some(h) = &merged {
            fill_percentiles(&mut total, h);
        }
        total.estimated_cost_usd = cost(prices, total.gb_seconds, total.invocations);
        total.concurrent_executions = f.concurrency.in_use();
        total.max_concurrent_executions = f.concurrency.max_seen();
        let instances = f.latest.pool.live()
            + f.versions
                .load()
                .values()
                .map(|v| v.pool.live())
                .sum::<usize>();
        Ok(FunctionMetrics {
            function: name.to_owned(),
            total,
            by_version,
            concurrent_executions: f.concurrency.in_use(),
            max_concurrent_executions: f.concurrency.max_seen(),
            instances,
        })
    }

    /// Events queued or being retried, over all functions.
    pub fn pending_events(&self) -> usize {
        self.inner.pending_events.load(Ordering::Relaxed)
    }
}
