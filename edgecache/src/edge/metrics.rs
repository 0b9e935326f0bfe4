//! Counters of an [`Edge`](crate::Edge) and their snapshot.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Live counters (atomics, updated without locks).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) tier_hits: Vec<AtomicU64>,
    pub(crate) misses: AtomicU64,
    pub(crate) revalidations: AtomicU64,
    pub(crate) revalidated_304: AtomicU64,
    pub(crate) stale_served: AtomicU64,
    pub(crate) coalesced: AtomicU64,
    pub(crate) origin_requests: AtomicU64,
    pub(crate) origin_errors: AtomicU64,
    pub(crate) origin_bytes: AtomicU64,
    pub(crate) bytes_served: AtomicU64,
    pub(crate) bytes_from_cache: AtomicU64,
    pub(crate) purged: AtomicU64,
}

impl Counters {
    pub(crate) fn new(tiers: usize) -> Self {
        Counters {
            tier_hits: (0..tiers).map(|_| AtomicU64::new(0)).collect(),
            ..Default::default()
        }
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }
}

/// A snapshot of an edge's metrics; see [`Edge::metrics`](crate::Edge::metrics).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Metrics {
    /// Client requests handled.
    pub requests: u64,
    /// Requests answered from each tier without contacting the origin, by tier name, in tier order.
    pub hits_per_tier: Vec<(String, u64)>,
    /// Requests that found nothing stored and went to the origin (a request that waited for another's fetch
    /// and was then served from cache counts as a hit, not a miss).
    pub misses: u64,
    /// Conditional requests sent to the origin to revalidate a stored response.
    pub revalidations: u64,
    /// Revalidations the origin answered with `304 Not Modified`.
    pub revalidated_not_modified: u64,
    /// Stale responses served (`stale-while-revalidate`, `stale-if-error`, `max-stale`).
    pub stale_served: u64,
    /// Requests that waited for another request's origin fetch instead of making their own.
    pub coalesced: u64,
    /// Requests sent to the origin (including background revalidations).
    pub origin_requests: u64,
    /// Origin requests that failed without a response.
    pub origin_errors: u64,
    /// Body bytes received from the origin.
    pub origin_bytes: u64,
    /// Body bytes sent to clients.
    pub bytes_served: u64,
    /// Body bytes sent to clients from cache (hits and stale).
    pub bytes_from_cache: u64,
    /// Entries evicted by the tiers to stay within their capacity.
    pub evictions: u64,
    /// Entries removed by purges and invalidations.
    pub purged: u64,
}

impl Metrics {
    /// Hits (any tier, stale included) over requests; 0 with no request.
    pub fn hit_ratio(&self) -> f64 {
        let hits: u64 = self.hits_per_tier.iter().map(|(_, h)| h).sum::<u64>() + self.stale_served;
        if self.requests == 0 {
            0.0
        } else {
            hits as f64 / self.requests as f64
        }
    }

    /// Bytes served from cache over bytes served; 0 with nothing served.
    pub fn byte_hit_ratio(&self) -> f64 {
        if self.bytes_served == 0 {
            0.0
        } else {
            self.bytes_from_cache as f64 / self.bytes_served as f64
        }
    }

    /// Hits of the tier named `name`.
    pub fn hits(&self, name: &str) -> u64 {
        self.hits_per_tier
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, h)| h)
            .sum()
    }
}
