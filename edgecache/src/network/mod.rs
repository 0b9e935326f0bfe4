//! A [`Network`] of edges: points of presence in regions, clients routed to the nearest healthy one, an
//! origin shield, network-wide purge, rate limits and a latency model.
//!
//! - Every [point of presence](Pop) is an [`Edge`] with a region and, when known, coordinates. A
//!   [`Client`] (with coordinates, a region, or both) is routed to the healthy point of presence with the
//!   smallest round-trip time under the [`LatencyModel`] (an explicit table, else distance, else region).
//! - A point of presence marked down ([`Network::set_down`]) or failing its [`HealthCheck`] `fall` times in a
//!   row ([`Network::check_health`]) gets no new clients: they go to the next nearest, and see no error;
//!   requests already in it finish there.
//! - Shields ([`NetworkBuilder::with_shield`], one or one per region): every other edge fills from the shield
//!   of its region (else the nearest shield), and the shield from the origin, so however many edges miss an
//!   object at once the origin sees one request for it (the shield coalesces them). A shield that is down is
//!   bypassed: its edges fetch from the origin directly.
//! - [`Network::purge`] and [`Network::soft_purge`] take a [`Purge`] (key, prefix, tag) and reach every
//!   edge, the shields first (so an edge cannot refill from a shield not yet purged).
//! - [`Limit`](crate::ratelimit::Limit)s: per client ([`NetworkBuilder::with_client_limit`], answered `429`
//!   with `Retry-After`) and for the origin ([`NetworkBuilder::with_origin_limit`], answered `503` with
//!   `Retry-After` without reaching it), both on the network's clock.
//! - [`Simulation`] replays requests one at a time and reports hit ratio, byte hit ratio, origin offload and
//!   the latency users see, per edge and in total, beside a no-CDN baseline.
//!
//! ```
//! use bytes::Bytes;
//! use edgecache::network::{Client, Network, Pop};
//! use edgecache::{Purge, origin};
//! use http::{Request, Response};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> edgecache::Result<()> {
//! let origin = origin::from_fn(|_req: Request<Bytes>| async {
//!     Ok(Response::builder().header("cache-control", "max-age=60").body(Bytes::from("hi")).unwrap())
//! });
//! let network = Network::builder(origin)
//!     .with_pop(Pop::new("lhr", "eu").at(51.47, -0.45))
//!     .with_pop(Pop::new("jfk", "us").at(40.64, -73.78))
//!     .with_shield("lhr")
//!     .build()?;
//! let paris = Client::at("198.51.100.7", 48.86, 2.35);
//! let get = || Request::get("http://example.com/").body(Bytes::new()).unwrap();
//! let r = network.handle(&paris, get()).await?;
//! assert_eq!(r.headers()["x-served-by"], "lhr");
//! network.set_down("lhr", true)?;
//! let r = network.handle(&paris, get()).await?; // failed over, no error
//! assert_eq!(r.headers()["x-served-by"], "jfk");
//! // lhr (the shield) filled once; jfk, its shield down, went to the origin itself
//! assert_eq!(network.metrics().origin_requests, 2);
//! let purged = network.purge(Purge::key("http://example.com/")).await?;
//! assert_eq!(purged.total, 2);
//! # Ok(()) }
//! ```

mod builder;
mod health;
mod purge;
mod routing;
mod shield;
mod sim;
mod topology;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use stratus_clock::Clock;

pub use self::builder::{NetworkBuilder, NetworkOptions};
use self::health::Health;
pub use self::health::{FnHealthCheck, HealthCheck, from_fn as health_check_fn};
pub use self::purge::PurgeReport;
use self::shield::{CountedOrigin, ShieldOrigin};
pub use self::sim::{Served, SimReport, SimRow, Simulation};
use self::topology::Place;
pub use self::topology::{Client, LatencyModel, Location, Pop};
#[cfg(doc)]
use crate::edge::Purge;
use crate::edge::{Edge, Metrics};
use crate::error::{Error, Result};
use crate::ratelimit::{OriginGuard, RateLimiter, Verdict, too_many_requests};

/// A network of edges; see the [module docs](self). Cheap to clone (shared).
#[derive(Clone)]
pub struct Network {
    inner: Arc<Inner>,
}

struct Inner {
    pops: Vec<PopState>,
    options: NetworkOptions,
    clock: Clock,
    origin: Arc<CountedOrigin>,
    guard: Option<Arc<OriginGuard>>,
    limiter: Option<RateLimiter>,
    health_check: Option<Arc<dyn HealthCheck>>,
    rate_limited: AtomicU64,
    unroutable: AtomicU64,
}

struct PopState {
    pop: Pop,
    edge: Edge,
    health: Arc<Health>,
    /// The shield this edge fills from (`None` for a shield, or without shields).
    shield: Option<(usize, Arc<ShieldOrigin>)>,
    is_shield: bool,
    served: AtomicU64,
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field(
                "pops",
                &self.inner.pops.iter().map(|p| &p.pop).collect::<Vec<_>>(),
            )
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// The state of one point of presence, in [`NetworkMetrics`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PopMetrics {
    /// The point of presence.
    pub pop: Pop,
    /// Whether it takes clients now.
    pub up: bool,
    /// Whether an operator marked it down.
    pub marked_down: bool,
    /// Whether it is failing its health check.
    pub failing: bool,
    /// Whether it is a shield.
    pub is_shield: bool,
    /// The shield it fills from, if any.
    pub shield: Option<String>,
    /// Client requests routed to it.
    pub served: u64,
    /// Requests it sent to its shield.
    pub shield_fetches: u64,
    /// Requests it sent to the origin directly because its shield was down.
    pub shield_bypassed: u64,
    /// Its edge's metrics (requests from other edges included, for a shield).
    pub edge: Metrics,
}

/// A snapshot of a [`Network`]'s metrics.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NetworkMetrics {
    /// Per point of presence, in the order they were added.
    pub pops: Vec<PopMetrics>,
    /// Client requests answered by an edge (rate-limited and unroutable ones not counted).
    pub client_requests: u64,
    /// Requests that reached the origin.
    pub origin_requests: u64,
    /// Body bytes the origin sent.
    pub origin_bytes: u64,
    /// Body bytes edges sent to clients.
    pub client_bytes: u64,
    /// Client requests refused `429` by the per-client limit.
    pub rate_limited: u64,
    /// Origin fetches refused `503` by the origin limit.
    pub origin_refused: u64,
    /// Client requests answered `503` because no point of presence was up.
    pub unroutable: u64,
}

impl NetworkMetrics {
    /// The share of client requests that did not reach the origin (0 with no requests).
    pub fn origin_offload(&self) -> f64 {
        if self.client_requests == 0 {
            0.0
        } else {
            1.0 - (self.origin_requests as f64 / self.client_requests as f64).min(1.0)
        }
    }

    /// The share of bytes sent to clients that the origin did not send (0 with none sent).
    pub fn byte_offload(&self) -> f64 {
        if self.client_bytes == 0 {
            0.0
        } else {
            1.0 - (self.origin_bytes as f64 / self.client_bytes as f64).min(1.0)
        }
    }

    /// The metrics of the point of presence named `name`.
    pub fn pop(&self, name: &str) -> Option<&PopMetrics> {
        self.pops.iter().find(|p| p.pop.name == name)
    }
}

impl Network {
    /// The points of presence, in the order they were added.
    pub fn pops(&self) -> impl Iterator<Item = &Pop> {
        self.inner.pops.iter().map(|p| &p.pop)
    }

    /// The edge of the point of presence named `name`.
    pub fn edge(&self, name: &str) -> Option<&Edge> {
        self.find(name).ok().map(|i| &self.inner.pops[i].edge)
    }

    /// The network's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The latency model.
    pub fn latency(&self) -> &LatencyModel {
        &self.inner.options.latency
    }

    fn find(&self, name: &str) -> Result<usize> {
        self.inner
            .pops
            .iter()
            .position(|p| p.pop.name == name)
            .ok_or_else(|| Error::Config {
                field: "pop",
                reason: format!("no point of presence named {name:?}"),
            })
    }

    /// Marks the point of presence named `name` down (it gets no new clients, and as a shield it is
    /// bypassed) or up again.
    ///
    /// # Errors
    /// [`Error::Config`] when there is no such point of presence.
    pub fn set_down(&self, name: &str, down: bool) -> Result<()> {
        let i = self.find(name)?;
        self.inner.pops[i].health.mark_down(down);
        Ok(())
    }

    /// Whether the point of presence named `name` takes clients now (`None` when there is none).
    pub fn is_up(&self, name: &str) -> Option<bool> {
        self.find(name)
            .ok()
            .map(|i| self.inner.pops[i].health.is_up())
    }

    /// Runs the health check once on every point of presence (concurrently) and records the results:
    /// `fall` failures in a row take one out of routing, `rise` passes in a row bring it back. Returns the
    /// names of the points of presence that are up afterwards. Without a health check, does nothing.
    pub async fn check_health(&self) -> Vec<String> {
        if let Some(check) = &self.inner.health_check {
            let checks = self
                .inner
                .pops
                .iter()
                .map(|p| async move { check.check(&p.pop, &p.edge).await });
            let results = futures::future::join_all(checks).await;
            let (fall, rise) = (
                self.inner.options.health_fall,
                self.inner.options.health_rise,
            );
            for (p, ok) in self.inner.pops.iter().zip(results) {
                p.health.record(ok, fall, rise);
            }
        }
        self.inner
            .pops
            .iter()
            .filter(|p| p.health.is_up())
            .map(|p| p.pop.name.clone())
            .collect()
    }

    /// Runs [`Network::check_health`] every [`NetworkOptions::health_interval`] on the network's clock,
    /// forever: spawn it.
    pub async fn run_health_checks(self) {
        loop {
            self.check_health().await;
            self.inner
                .clock
                .sleep(self.inner.options.health_interval)
                .await;
        }
    }

    /// The point of presence `client` is routed to now, with its round-trip time; `None` when none is up.
    pub fn route(&self, client: &Client) -> Option<(&Pop, Duration)> {
        self.route_index(client)
            .map(|(i, d)| (&self.inner.pops[i].pop, d))
    }

    fn route_index(&self, client: &Client) -> Option<(usize, Duration)> {
        let pops = self.inner.pops.iter().map(|p| &p.pop);
        routing::nearest(&self.inner.options.latency, &client.place(), pops, |i| {
            self.inner.pops[i].health.is_up()
        })
    }

    /// Answers `client`'s `request` at the nearest point of presence that is up, adding `X-Served-By` with
    /// its name. A client over its rate limit gets `429 Too Many Requests` with `Retry-After`; when no point
    /// of presence is up, `503 Service Unavailable`.
    ///
    /// # Errors
    /// The edge's error (see [`Edge::handle`]): the origin gave no response and no stale one could be served.
    pub async fn handle(
        &self,
        client: &Client,
        request: Request<Bytes>,
    ) -> Result<Response<Bytes>> {
        self.handle_at(client, request).await.map(|(r, _)| r)
    }

    /// [`Network::handle`], also returning the index of the point of presence that answered.
    async fn handle_at(
        &self,
        client: &Client,
        request: Request<Bytes>,
    ) -> Result<(Response<Bytes>, Option<usize>)> {
        if let Some(limiter) = &self.inner.limiter {
            if let Verdict::Limited { retry_after } = limiter.check(&client.id) {
                self.inner.rate_limited.fetch_add(1, Ordering::Relaxed);
                return Ok((too_many_requests(retry_after), None));
            }
        }
        let Some((i, _)) = self.route_index(client) else {
            self.inner.unroutable.fetch_add(1, Ordering::Relaxed);
            let mut r = Response::new(Bytes::from_static(b"no point of presence is up\n"));
            *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Ok((r, None));
        };
        let p = &self.inner.pops[i];
        p.served.fetch_add(1, Ordering::Relaxed);
        let mut r = p.edge.handle(request).await?;
        if let Ok(v) = HeaderValue::from_str(&p.pop.name) {
            r.headers_mut().insert("x-served-by", v);
        }
        Ok((r, Some(i)))
    }

    /// A snapshot of the metrics.
    pub fn metrics(&self) -> NetworkMetrics {
        let i = &self.inner;
        let pops: Vec<PopMetrics> = i
            .pops
            .iter()
            .map(|p| PopMetrics {
                pop: p.pop.clone(),
                up: p.health.is_up(),
                marked_down: p.health.is_marked_down(),
                failing: p.health.is_failing(),
                is_shield: p.is_shield,
                shield: p.shield.as_ref().map(|(s, _)| i.pops[*s].pop.name.clone()),
                served: p.served.load(Ordering::Relaxed),
                shield_fetches: p
                    .shield
                    .as_ref()
                    .map_or(0, |(_, o)| o.fetches.load(Ordering::Relaxed)),
                shield_bypassed: p
                    .shield
                    .as_ref()
                    .map_or(0, |(_, o)| o.bypassed.load(Ordering::Relaxed)),
                edge: p.edge.metrics(),
            })
            .collect();
        let client_requests = pops.iter().map(|p| p.served).sum();
        // A shield's bytes served include what it sent to other edges: bytes to clients are every edge's
        // bytes served minus what shields sent to edges.
        let edge_bytes: u64 = pops.iter().map(|p| p.edge.bytes_served).sum();
        let to_edges: u64 = i
            .pops
            .iter()
            .filter_map(|p| p.shield.as_ref())
            .map(|(_, o)| o.bytes_from_shield())
            .sum();
        NetworkMetrics {
            pops,
            client_requests,
            origin_requests: i.origin.fetches.load(Ordering::Relaxed),
            origin_bytes: i.origin.bytes.load(Ordering::Relaxed),
            client_bytes: edge_bytes.saturating_sub(to_edges),
            rate_limited: i.rate_limited.load(Ordering::Relaxed),
            origin_refused: i.guard.as_ref().map_or(0, |g| g.refused()),
            unroutable: i.unroutable.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn place_of(&self, i: usize) -> Place<'_> {
        self.inner.pops[i].pop.place()
    }

    pub(crate) fn origin_place(&self) -> Place<'_> {
        Place {
            name: Some("origin"),
            region: self.inner.options.origin_region.as_deref(),
            location: self.inner.options.origin_location,
        }
    }
}
