//! [`NetworkOptions`] and the [`NetworkBuilder`] that assembles a [`Network`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use stratus_clock::Clock;

use super::health::{Health, HealthCheck};
use super::routing;
use super::shield::{CountedOrigin, ShieldOrigin};
use super::topology::{LatencyModel, Location, Pop};
use super::{Inner, Network, PopState};
use crate::edge::{Edge, EdgeOptions};
use crate::error::{Error, Result};
use crate::origin::Origin;
use crate::ratelimit::{Limit, OriginGuard, RateLimiter};

/// Options of a [`Network`]; every field has a default and a builder setter.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NetworkOptions {
    /// The options of every edge (each gets its own default memory tier of
    /// [`EdgeOptions::memory_capacity_bytes`]).
    pub edge: EdgeOptions,
    /// The latency model routing and the simulation use.
    pub latency: LatencyModel,
    /// The per-client limit, by [`Client::id`](super::Client::id); `None` (default): no limit.
    pub client_limit: Option<Limit>,
    /// The most clients the per-client limiter remembers at once. Default 65,536.
    pub max_limited_clients: usize,
    /// The global origin-protection limit; `None` (default): no limit.
    pub origin_limit: Option<Limit>,
    /// Consecutive failed health checks that take a point of presence out of routing. Default 3.
    pub health_fall: u32,
    /// Consecutive passed health checks that bring it back. Default 2.
    pub health_rise: u32,
    /// How often [`Network::run_health_checks`] checks. Default 5 s.
    pub health_interval: Duration,
    /// Where the origin is, for the latency model (table name `origin`).
    pub origin_location: Option<Location>,
    /// The origin's region, for the latency model.
    pub origin_region: Option<String>,
}

impl Default for NetworkOptions {
    fn default() -> Self {
        NetworkOptions {
            edge: EdgeOptions::default(),
            latency: LatencyModel::default(),
            client_limit: None,
            max_limited_clients: 65_536,
            origin_limit: None,
            health_fall: 3,
            health_rise: 2,
            health_interval: Duration::from_secs(5),
            origin_location: None,
            origin_region: None,
        }
    }
}

/// Builds a [`Network`]; from [`Network::builder`].
pub struct NetworkBuilder {
    origin: Arc<dyn Origin>,
    pops: Vec<Pop>,
    shields: Vec<String>,
    clock: Clock,
    health_check: Option<Arc<dyn HealthCheck>>,
    options: NetworkOptions,
}

impl fmt::Debug for NetworkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkBuilder")
            .field("origin", &self.origin)
            .field("pops", &self.pops)
            .field("shields", &self.shields)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Network {
    /// A builder for a network in front of `origin`.
    #[must_use]
    pub fn builder(origin: impl Origin + 'static) -> NetworkBuilder {
        NetworkBuilder {
            origin: Arc::new(origin),
            pops: Vec::new(),
            shields: Vec::new(),
            clock: Clock::system(),
            health_check: None,
            options: NetworkOptions::default(),
        }
    }
}

impl NetworkBuilder {
    /// Adds a point of presence.
    #[must_use]
    pub fn with_pop(mut self, pop: Pop) -> Self {
        self.pops.push(pop);
        self
    }

    /// Makes the point of presence named `name` a shield: the other edges of its region (and of regions
    /// without a shield, when it is their nearest) fill from it. Call once for one shield, or once per region.
    #[must_use]
    pub fn with_shield(mut self, name: impl Into<String>) -> Self {
        self.shields.push(name.into());
        self
    }

    /// The clock every edge and limiter reads (default: the system clock).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The health check [`Network::check_health`] runs.
    #[must_use]
    pub fn with_health_check(mut self, check: impl HealthCheck + 'static) -> Self {
        self.health_check = Some(Arc::new(check));
        self
    }

    /// Replaces all options.
    #[must_use]
    pub fn with_options(mut self, options: NetworkOptions) -> Self {
        self.options = options;
        self
    }

    /// See [`NetworkOptions::edge`].
    #[must_use]
    pub fn with_edge_options(mut self, options: EdgeOptions) -> Self {
        self.options.edge = options;
        self
    }

    /// See [`NetworkOptions::latency`].
    #[must_use]
    pub fn with_latency(mut self, model: LatencyModel) -> Self {
        self.options.latency = model;
        self
    }

    /// See [`NetworkOptions::client_limit`].
    #[must_use]
    pub fn with_client_limit(mut self, limit: Limit) -> Self {
        self.options.client_limit = Some(limit);
        self
    }

    /// See [`NetworkOptions::max_limited_clients`].
    #[must_use]
    pub fn with_max_limited_clients(mut self, clients: usize) -> Self {
        self.options.max_limited_clients = clients;
        self
    }

    /// See [`NetworkOptions::origin_limit`].
    #[must_use]
    pub fn with_origin_limit(mut self, limit: Limit) -> Self {
        self.options.origin_limit = Some(limit);
        self
    }

    /// See [`NetworkOptions::health_fall`].
    #[must_use]
    pub fn with_health_fall(mut self, fall: u32) -> Self {
        self.options.health_fall = fall;
        self
    }

    /// See [`NetworkOptions::health_rise`].
    #[must_use]
    pub fn with_health_rise(mut self, rise: u32) -> Self {
        self.options.health_rise = rise;
        self
    }

    /// See [`NetworkOptions::health_interval`].
    #[must_use]
    pub fn with_health_interval(mut self, interval: Duration) -> Self {
        self.options.health_interval = interval;
        self
    }

    /// See [`NetworkOptions::origin_location`].
    #[must_use]
    pub fn with_origin_at(mut self, lat: f64, lon: f64) -> Self {
        self.options.origin_location = Some(Location::new(lat, lon));
        self
    }

    /// See [`NetworkOptions::origin_region`].
    #[must_use]
    pub fn with_origin_region(mut self, region: impl Into<String>) -> Self {
        self.options.origin_region = Some(region.into());
        self
    }

    fn validate(&self) -> Result<()> {
        let config = |field, reason: String| Err(Error::Config { field, reason });
        if self.pops.is_empty() {
            return config(
                "pops",
                "a network needs at least one point of presence".into(),
            );
        }
        for (i, p) in self.pops.iter().enumerate() {
            if p.name.is_empty() || http::HeaderValue::from_str(&p.name).is_err() {
                return config(
                    "pop",
                    format!("name {:?} is empty or not a header value", p.name),
                );
            }
            if self.pops[..i].iter().any(|q| q.name == p.name) {
                return config("pop", format!("two points of presence named {:?}", p.name));
            }
            if let Some(l) = &p.location {
                l.validate("pop location")?;
            }
        }
        for s in &self.shields {
            if !self.pops.iter().any(|p| &p.name == s) {
                return config("shield", format!("no point of presence named {s:?}"));
            }
        }
        if let Some(l) = &self.options.origin_location {
            l.validate("origin_location")?;
        }
        if self.options.health_fall == 0 || self.options.health_rise == 0 {
            return config(
                "health_fall",
                "health_fall and health_rise must be at least 1".into(),
            );
        }
        if self.options.health_interval.is_zero() {
            return config("health_interval", "zero".into());
        }
        Ok(())
    }

    /// Builds the network: one edge per point of presence, the shields filling from the origin (behind the
    /// origin limit), every other edge from its shield.
    ///
    /// # Errors
    /// [`Error::Config`] for no points of presence, a duplicate or invalid name, coordinates out of range, a
    /// shield that names no point of presence, an invalid limit or edge option.
    pub fn build(self) -> Result<Network> {
        self.validate()?;
        let o = &self.options;
        let counted = Arc::new(CountedOrigin::new(self.origin.clone()));
        let guard = match o.origin_limit {
            Some(limit) => Some(Arc::new(OriginGuard::new(
                counted.clone(),
                limit,
                self.clock.clone(),
            )?)),
            None => None,
        };
        let upstream: Arc<dyn Origin> = match &guard {
            Some(g) => g.clone(),
            None => counted.clone(),
        };
        let limiter = match o.client_limit {
            Some(limit) => Some(
                RateLimiter::new(limit, self.clock.clone())?
                    .with_max_clients(o.max_limited_clients),
            ),
            None => None,
        };
        let edge = |origin: Arc<dyn Origin>| {
            Edge::builder(origin)
                .with_clock(self.clock.clone())
                .with_options(o.edge.clone())
                .build()
        };
        let is_shield = |p: &Pop| self.shields.iter().any(|s| s == &p.name);
        let healths: Vec<Arc<Health>> = self.pops.iter().map(|_| Arc::default()).collect();
        // Shields first: the other edges need theirs.
        let mut edges: Vec<Option<Edge>> = vec![None; self.pops.len()];
        for (i, p) in self.pops.iter().enumerate() {
            if is_shield(p) {
                edges[i] = Some(edge(upstream.clone())?);
            }
        }
        let shield_pops: Vec<&Pop> = self.pops.iter().filter(|p| is_shield(p)).collect();
        let shield_index: Vec<usize> = (0..self.pops.len())
            .filter(|&i| is_shield(&self.pops[i]))
            .collect();
        let mut shields_of: Vec<Option<(usize, Arc<ShieldOrigin>)>> = Vec::new();
        for (i, p) in self.pops.iter().enumerate() {
            if is_shield(p) || shield_pops.is_empty() {
                shields_of.push(None);
                continue;
            }
            let same_region = shield_index
                .iter()
                .copied()
                .find(|&s| self.pops[s].region == p.region);
            let s = same_region.unwrap_or_else(|| {
                let ranked = routing::rank(&o.latency, &p.place(), &shield_pops);
                shield_index[ranked[0].0]
            });
            let shield_edge = edges[s].clone().ok_or_else(|| Error::Config {
                field: "shield",
                reason: "a shield was not built".into(),
            })?;
            let origin = Arc::new(ShieldOrigin::new(
                self.pops[s].name.clone(),
                shield_edge,
                healths[s].clone(),
                upstream.clone(),
            ));
            edges[i] = Some(edge(origin.clone())?);
            shields_of.push(Some((s, origin)));
        }
        let mut pops = Vec::with_capacity(self.pops.len());
        for (((pop, e), health), shield) in self.pops.iter().zip(edges).zip(healths).zip(shields_of)
        {
            let edge = match e {
                Some(e) => e,
                None => edge(upstream.clone())?,
            };
            pops.push(PopState {
                is_shield: is_shield(pop),
                pop: pop.clone(),
                edge,
                health,
                shield,
                served: AtomicU64::new(0),
            });
        }
        Ok(Network {
            inner: Arc::new(Inner {
                pops,
                options: self.options,
                clock: self.clock,
                origin: counted,
                guard,
                limiter,
                health_check: self.health_check,
                rate_limited: AtomicU64::new(0),
                unroutable: AtomicU64::new(0),
            }),
        })
    }
}
