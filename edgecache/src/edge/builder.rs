//! [`EdgeOptions`] and the [`EdgeBuilder`] that assembles an [`Edge`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use stratus_clock::Clock;

use super::coalesce::Flights;
use super::metrics::Counters;
use super::{Edge, Inner};
use crate::error::{Error, Result};
use crate::origin::Origin;
use crate::tier::Tier;

/// Options of an [`Edge`]; every field has a default and an [`EdgeBuilder`] setter (`with_<field>`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EdgeOptions {
    /// How long a request waits for another request's origin fetch of the same key before it goes to the
    /// origin itself. Default 30 s.
    pub coalesce_timeout: Duration,
    /// The longest an origin request may take; `None` for no limit. Default 60 s.
    pub origin_timeout: Option<Duration>,
    /// Heuristic freshness as a fraction of the time since `Last-Modified` (RFC 9111 section 4.2.2).
    /// Default 0.1.
    pub heuristic_fraction: f64,
    /// The most heuristic freshness given. Default one day.
    pub heuristic_max: Duration,
    /// The capacity of the default memory tier, used when no tier is given. Default 64 MiB.
    pub memory_capacity_bytes: u64,
    /// How stale a stored response may be and still be served when the origin fails (no response, or a
    /// `500`, `502`, `503` or `504`) even without a `stale-if-error` directive, as RFC 9111 section 4.2.4
    /// allows a disconnected cache (Varnish's grace, nginx's `proxy_cache_use_stale`). Never for responses
    /// with `must-revalidate`, `proxy-revalidate`, `s-maxage` or `no-cache`. Default zero: only
    /// `stale-if-error` permits it.
    pub stale_on_error: Duration,
    /// The host of purge keys and prefixes written as paths (`/a?b=1`), so a single-site edge can purge
    /// without spelling its host; `None` (the default): a path is an error and keys name their host.
    pub purge_host: Option<String>,
}

impl Default for EdgeOptions {
    fn default() -> Self {
        EdgeOptions {
            coalesce_timeout: Duration::from_secs(30),
            origin_timeout: Some(Duration::from_secs(60)),
            heuristic_fraction: 0.1,
            heuristic_max: Duration::from_secs(86_400),
            memory_capacity_bytes: 64 << 20,
            stale_on_error: Duration::ZERO,
            purge_host: None,
        }
    }
}

/// Builds an [`Edge`]; from [`Edge::builder`].
pub struct EdgeBuilder {
    origin: Arc<dyn Origin>,
    tiers: Vec<Arc<dyn Tier>>,
    clock: Clock,
    options: EdgeOptions,
}

impl fmt::Debug for EdgeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EdgeBuilder")
            .field("origin", &self.origin)
            .field("tiers", &self.tiers)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl EdgeBuilder {
    /// Adds a tier below the ones already added (the first tier is looked up first).
    #[must_use]
    pub fn with_tier(mut self, tier: impl Tier + 'static) -> Self {
        self.tiers.push(Arc::new(tier));
        self
    }

    /// Adds a shared tier below the ones already added.
    #[must_use]
    pub fn with_shared_tier(mut self, tier: Arc<dyn Tier>) -> Self {
        self.tiers.push(tier);
        self
    }

    /// The clock the edge reads time from (default: the system clock).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces all options.
    #[must_use]
    pub fn with_options(mut self, options: EdgeOptions) -> Self {
        self.options = options;
        self
    }

    /// See [`EdgeOptions::coalesce_timeout`].
    #[must_use]
    pub fn with_coalesce_timeout(mut self, timeout: Duration) -> Self {
        self.options.coalesce_timeout = timeout;
        self
    }

    /// See [`EdgeOptions::stale_on_error`].
    #[must_use]
    pub fn with_stale_on_error(mut self, window: Duration) -> Self {
        self.options.stale_on_error = window;
        self
    }

    /// See [`EdgeOptions::origin_timeout`].
    #[must_use]
    pub fn with_origin_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.origin_timeout = timeout;
        self
    }

    /// See [`EdgeOptions::heuristic_fraction`].
    #[must_use]
    pub fn with_heuristic_fraction(mut self, fraction: f64) -> Self {
        self.options.heuristic_fraction = fraction;
        self
    }

    /// See [`EdgeOptions::heuristic_max`].
    #[must_use]
    pub fn with_heuristic_max(mut self, max: Duration) -> Self {
        self.options.heuristic_max = max;
        self
    }

    /// See [`EdgeOptions::memory_capacity_bytes`].
    #[must_use]
    pub fn with_memory_capacity_bytes(mut self, bytes: u64) -> Self {
        self.options.memory_capacity_bytes = bytes;
        self
    }

    /// See [`EdgeOptions::purge_host`].
    #[must_use]
    pub fn with_purge_host(mut self, host: impl Into<String>) -> Self {
        self.options.purge_host = Some(host.into());
        self
    }

    /// Builds the edge. With no tier added, it gets one memory tier of
    /// [`EdgeOptions::memory_capacity_bytes`].
    ///
    /// # Errors
    /// [`Error::Config`] for an out-of-range option.
    pub fn build(self) -> Result<Edge> {
        let o = &self.options;
        if !(o.heuristic_fraction.is_finite() && (0.0..=1.0).contains(&o.heuristic_fraction)) {
            return Err(Error::Config {
                field: "heuristic_fraction",
                reason: format!("{} is not within 0..=1", o.heuristic_fraction),
            });
        }
        if o.origin_timeout == Some(Duration::ZERO) {
            return Err(Error::Config {
                field: "origin_timeout",
                reason: "zero".into(),
            });
        }
        if let Some(host) = &o.purge_host {
            if http::uri::Authority::try_from(host.as_str()).is_err() || host.contains('@') {
                return Err(Error::Config {
                    field: "purge_host",
                    reason: format!("{host:?} is not a valid host"),
                });
            }
        }
        let mut tiers = self.tiers;
        if tiers.is_empty() {
            tiers.push(default_memory_tier(o.memory_capacity_bytes));
        }
        let counters = Counters::new(tiers.len());
        Ok(Edge {
            inner: Arc::new(Inner {
                origin: self.origin,
                tiers,
                clock: self.clock,
                options: self.options,
                flights: Arc::new(Flights::default()),
                counters,
                background: Mutex::new(Vec::new()),
            }),
        })
    }
}

fn default_memory_tier(capacity: u64) -> Arc<dyn Tier> {
    Arc::new(crate::tier::memory::MemoryTier::new(capacity))
}

impl Edge {
    /// A builder for an edge in front of `origin`.
    #[must_use]
    pub fn builder(origin: impl Origin + 'static) -> EdgeBuilder {
        EdgeBuilder {
            origin: Arc::new(origin),
            tiers: Vec::new(),
            clock: Clock::system(),
            options: EdgeOptions::default(),
        }
    }
}
