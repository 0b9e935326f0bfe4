//! The simulation mode: replay requests against a network one at a time and measure what users see.
//!
//! For every request the [`Simulation`] notes the point of presence that answered and how far the request
//! went: answered by the edge (a hit), by its shield (a shield hit), or by the origin (a fetch or a
//! revalidation). The latency a user sees is the sum of the round trips under the network's
//! [`LatencyModel`](super::LatencyModel): client to edge, edge to shield when the edge missed, shield (or
//! edge) to origin when the origin was asked; transfer time and server work beyond the model's `base` are
//! not modelled. The no-CDN baseline is every request going from the client to the origin: hit ratio and
//! offload zero, latency the client-to-origin round trip.
//!
//! Requests are replayed one at a time (the counters that tell how far a request went are read before and
//! after it), so the replay is deterministic; a caller moves the clock between requests.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http::Request;

use super::Network;
use super::topology::Client;
use crate::error::Result;

/// How far one request went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// Answered by the edge it was routed to.
    Edge,
    /// The edge asked its shield, which answered from its cache.
    Shield,
    /// The origin was asked.
    Origin,
    /// Refused by a limit or unroutable.
    Refused,
}

#[derive(Debug, Clone, Default)]
struct Acc {
    requests: u64,
    hits: u64,
    shield_hits: u64,
    origin: u64,
    bytes: u64,
    hit_bytes: u64,
    latencies_us: Vec<u64>,
}

impl Acc {
    fn add(&mut self, served: Served, bytes: u64, latency: Duration) {
        self.requests += 1;
        self.bytes += bytes;
        match served {
            Served::Edge => {
                self.hits += 1;
                self.hit_bytes += bytes;
            }
            Served::Shield => self.shield_hits += 1,
            Served::Origin | Served::Refused => self.origin += 1,
        }
        self.latencies_us
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    fn row(&self, name: &str) -> SimRow {
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let mut l = self.latencies_us.clone();
        l.sort_unstable();
        let mean = if l.is_empty() {
            0
        } else {
            l.iter().sum::<u64>() / l.len() as u64
        };
        let p99 = if l.is_empty() {
            0
        } else {
            l[(l.len() * 99).div_ceil(100).saturating_sub(1)]
        };
        SimRow {
            name: name.to_string(),
            requests: self.requests,
            hit_ratio: ratio(self.hits, self.requests),
            byte_hit_ratio: ratio(self.hit_bytes, self.bytes),
            shield_hit_ratio: ratio(self.shield_hits, self.requests),
            origin_offload: 1.0 - ratio(self.origin, self.requests),
            mean_latency: Duration::from_micros(mean),
            p99_latency: Duration::from_micros(p99),
        }
    }
}

/// One line of a [`SimReport`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SimRow {
    /// The point of presence, `total`, or `no CDN`.
    pub name: String,
    /// Requests answered.
    pub requests: u64,
    /// The share answered by the edge itself.
    pub hit_ratio: f64,
    /// The share of bytes answered by the edge itself.
    pub byte_hit_ratio: f64,
    /// The share answered by the edge's shield from its cache.
    pub shield_hit_ratio: f64,
    /// The share that did not reach the origin.
    pub origin_offload: f64,
    /// The mean latency users saw.
    pub mean_latency: Duration,
    /// The 99th percentile latency users saw.
    pub p99_latency: Duration,
}

/// What a [`Simulation`] measured.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SimReport {
    /// Per point of presence that answered at least one request, in the network's order.
    pub per_pop: Vec<SimRow>,
    /// All requests.
    pub total: SimRow,
    /// The same requests with no CDN: every one to the origin.
    pub baseline: SimRow,
}

/// A replay of requests against a [`Network`], one at a time, measuring hit ratio, byte hit ratio, origin
/// offload and the latency users see under the network's [`LatencyModel`](super::LatencyModel): client to
/// edge, plus edge to shield when the edge missed, plus shield (or edge) to origin when the origin was asked
/// (transfer time is not modelled). The no-CDN baseline sends every request from the client to the origin.
/// The counters that tell how far a request went are read before and after it, so give it a network no one
/// else uses; the caller moves the clock between requests.
#[derive(Debug)]
pub struct Simulation {
    network: Network,
    per_pop: Vec<Acc>,
    total: Acc,
    baseline: Acc,
}

impl Simulation {
    /// A simulation over `network` (whose counters it reads: give it a network no one else is using).
    pub fn new(network: Network) -> Self {
        let n = network.inner.pops.len();
        Simulation {
            network,
            per_pop: vec![Acc::default(); n],
            total: Acc::default(),
            baseline: Acc::default(),
        }
    }

    /// Replays one request from `client`; returns how far it went.
    ///
    /// # Errors
    /// The network's error for the request (see [`Network::handle`]).
    pub async fn request(&mut self, client: &Client, request: Request<Bytes>) -> Result<Served> {
        let inner = &self.network.inner;
        let origin_before = inner.origin.fetches.load(Ordering::Relaxed);
        let shield_counts = |net: &Network| -> (u64, u64) {
            net.inner
                .pops
                .iter()
                .filter_map(|p| p.shield.as_ref())
                .fold((0, 0), |(f, b), (_, o)| {
                    (
                        f + o.fetches.load(Ordering::Relaxed),
                        b + o.bypassed.load(Ordering::Relaxed),
                    )
                })
        };
        let (shield_before, bypass_before) = shield_counts(&self.network);
        let (response, at) = self.network.handle_at(client, request).await?;
        let bytes = response.body().len() as u64;
        let model = self.network.latency();
        let from = client.place();
        let origin = self.network.origin_place();
        let baseline = model.rtt(&from, &origin);
        self.baseline.add(Served::Origin, bytes, baseline);
        let Some(i) = at else {
            self.total.add(Served::Refused, bytes, Duration::ZERO);
            return Ok(Served::Refused);
        };
        let inner = &self.network.inner;
        let fetched = inner.origin.fetches.load(Ordering::Relaxed) > origin_before;
        let (shield_after, bypass_after) = shield_counts(&self.network);
        let pop = self.network.place_of(i);
        let mut latency = model.rtt(&from, &pop);
        let mut fetcher = pop;
        let via_shield = shield_after > shield_before;
        if via_shield {
            if let Some((s, _)) = &inner.pops[i].shield {
                let shield = self.network.place_of(*s);
                latency += model.rtt(&pop, &shield);
                fetcher = shield;
            }
        }
        let bypassed = bypass_after > bypass_before;
        let served = if fetched || bypassed {
            latency += model.rtt(&fetcher, &origin);
            Served::Origin
        } else if via_shield {
            Served::Shield
        } else {
            Served::Edge
        };
        self.per_pop[i].add(served, bytes, latency);
        self.total.add(served, bytes, latency);
        Ok(served)
    }

    /// The report so far.
    pub fn report(&self) -> SimReport {
        SimReport {
            per_pop: self
                .per_pop
                .iter()
                .zip(&self.network.inner.pops)
                .filter(|(a, _)| a.requests > 0)
                .map(|(a, p)| a.row(&p.pop.name))
                .collect(),
            total: self.total.row("total"),
            baseline: self.baseline.row("no CDN"),
        }
    }
}
