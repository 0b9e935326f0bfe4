//! Metering types: the per-invocation [`Report`], the totals users read ([`MetricsSnapshot`],
//! [`FunctionMetrics`]), the price table, and Lambda's billing arithmetic. The counters that produce the
//! totals are shared state and live in `registry::metrics`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The metering record of one invocation (what Lambda's `REPORT` line says).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The request id.
    pub request_id: String,
    /// The function's name.
    pub function: Arc<str>,
    /// The version that ran.
    pub version: Arc<str>,
    /// How long the handler ran, on the runtime's clock.
    pub duration: Duration,
    /// The billed duration: the duration rounded up to the next millisecond, at least 1 ms.
    pub billed_duration_ms: u64,
    /// The init (cold start) duration, if this invocation started a new instance.
    pub init_duration: Option<Duration>,
    /// The configured memory in MB.
    pub memory_mb: u32,
    /// The invocation was cancelled at its timeout.
    pub timed_out: bool,
}

impl Report {
    /// GB-seconds billed for this invocation: memory in GB x billed seconds.
    pub fn gb_seconds(&self) -> f64 {
        gb_seconds((self.memory_mb as u64).saturating_mul(self.billed_duration_ms))
    }
}

/// Lambda bills in 1 ms steps, rounding up, with a 1 ms minimum.
pub(crate) fn billed_ms(d: Duration) -> u64 {
    let nanos = d.as_nanos();
    (nanos.div_ceil(1_000_000) as u64).max(1)
}

pub(crate) fn gb_seconds(mb_ms: u64) -> f64 {
    mb_ms as f64 / 1024.0 / 1000.0
}

/// Prices used for [`MetricsSnapshot::estimated_cost_usd`]; replace them with
/// [`crate::RuntimeBuilder::with_price_table`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceTable {
    /// USD per GB-second of compute.
    pub per_gb_second: f64,
    /// USD per request.
    pub per_request: f64,
}

impl Default for PriceTable {
    /// Lambda's x86 on-demand prices in us-east-1: $0.0000166667 per GB-s, $0.20 per million requests.
    fn default() -> Self {
        PriceTable {
            per_gb_second: 0.000_016_666_7,
            per_request: 0.000_000_2,
        }
    }
}

/// Totals of one version (or, in [`FunctionMetrics::total`], of a whole function).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// Invocations that ran (throttled ones are not counted, as in CloudWatch's `Invocations`).
    pub invocations: u64,
    /// Invocations that ended with a function error (handled or unhandled).
    pub errors: u64,
    /// Calls or attempts rejected by a concurrency limit.
    pub throttles: u64,
    /// Invocations that started a new instance.
    pub cold_starts: u64,
    /// Invocations served by a warm instance.
    pub warm_starts: u64,
    /// Median duration.
    pub p50: Duration,
    /// 90th percentile duration.
    pub p90: Duration,
    /// 99th percentile duration.
    pub p99: Duration,
    /// Sum of billed milliseconds.
    pub billed_ms: u64,
    /// GB-seconds: memory GB x billed seconds, summed.
    pub gb_seconds: f64,
    /// Estimated cost in USD from the runtime's [`PriceTable`].
    pub estimated_cost_usd: f64,
    /// Invocations running now.
    pub concurrent_executions: u32,
    /// The most invocations that ran at once.
    pub max_concurrent_executions: u32,
}

/// A function's metrics: totals, per version, and concurrency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FunctionMetrics {
    /// The function's name.
    pub function: String,
    /// Totals over all versions. `invocations`, `errors` and `throttles` come from the function's own
    /// counters, kept apart from the versions', so their sum over `by_version` is a real check.
    pub total: MetricsSnapshot,
    /// Per version (`$LATEST`, `1`, `2`, ...), including deleted versions that ran.
    pub by_version: BTreeMap<String, MetricsSnapshot>,
    /// Invocations running now.
    pub concurrent_executions: u32,
    /// The most invocations that ran at once.
    pub max_concurrent_executions: u32,
    /// Instances alive now (warm or busy).
    pub instances: usize,
}

pub(crate) fn cost(prices: &PriceTable, gb_seconds: f64, requests: u64) -> f64 {
    gb_seconds * prices.per_gb_second + requests as f64 * prices.per_request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_rounds_up_to_the_millisecond() {
        assert_eq!(billed_ms(Duration::ZERO), 1);
        assert_eq!(billed_ms(Duration::from_micros(1)), 1);
        assert_eq!(billed_ms(Duration::from_millis(1)), 1);
        assert_eq!(billed_ms(Duration::from_micros(1_001)), 2);
        assert_eq!(billed_ms(Duration::from_millis(1500)), 1500);
    }
}
