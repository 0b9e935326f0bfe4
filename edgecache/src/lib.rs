//! # edgecache: a CDN in a library
//!
//! `edgecache` chains cache tiers (memory, disk) in front of an origin with the semantics of an HTTP
//! shared cache (RFC 9111 and RFC 5861), coalesces concurrent misses, and purges by key, prefix and
//! surrogate tag.
//!
//! ## Modules
//!
//! Layers from the bottom up; each imports only the ones below it (no import cycles):
//!
//! ```text
//! error.rs, types/   Error and Result; Entry (a stored response), Cache-Control / CDN-Cache-Control
//!                    parsing (directives) and RFC 9111 arithmetic (freshness): pure, header fields in,
//!                    values out
//! policy/            a generic concurrent weight-bounded cache (Cache, CacheBuilder): lru, sketch,
//!                    tinylfu/ {arena, queues, ghost, window}
//! tier/, origin.rs   the traits an implementer provides: Tier (+ TierExt) with MemoryTier (on the policy
//!                    cache), DiskTier and the conformance suite (feature `testing`); Origin
//! edge/              the engine: Edge with the top-level decision (mod.rs), builder, store (lookup and
//!                    storing, Vary variants), fetch (origin, coalescing, revalidation), purge, range,
//!                    vary, conditional, headers, coalesce, metrics
//! ratelimit/         token buckets on the injected clock: RateLimiter (per client, 429 + Retry-After),
//!                    OriginGuard (the global origin-protection limit); beside the edge, below the network
//! network/           a Network of edges: topology (Pop, Client, Location, LatencyModel), routing (nearest
//!                    healthy), health (marked down, health checks with fall/rise), shield (edges fill from a
//!                    shield edge; the origin counted), purge (network-wide, shields first), builder, sim
//! lib.rs             the user API: Edge, EdgeBuilder, EdgeOptions, Metrics, Purge, Origin, Entry, Tier, Error
//! ```
//!
//! A tier implementer imports `edgecache::tier::*` (the trait, [`Entry`], its weights, `Result`); users need
//! only the root. The policy sits below the tiers rather than above them: it knows nothing of HTTP or tiers
//! (keys and values are generic), and the memory tier is built on it.
//!
//! The model:
//! - an [`Origin`] answers `http::Request<Bytes>` with `http::Response<Bytes>`: a closure
//!   ([`origin::from_fn`]) or anything implementing the trait;
//! - a [`Tier`] stores immutable [`Entry`]s (a response with the times RFC 9111 needs) bounded by bytes:
//!   [`tier::MemoryTier`] (W-TinyLFU by default) and [`tier::DiskTier`] (checksummed files, an index
//!   recovered after a restart);
//! - an [`Edge`] puts the tiers in front of the origin: it serves fresh responses from the first tier that
//!   has them (with `Age`), revalidates stale ones with `If-None-Match` / `If-Modified-Since` (a `304`
//!   refreshes the stored headers), serves stale within `stale-while-revalidate` (refreshing once in the
//!   background) and `stale-if-error`, keys by URL plus the request fields named by `Vary`, invalidates
//!   on unsafe methods, makes one origin request for many concurrent misses of a key, and purges by key,
//!   prefix and `Surrogate-Key` tag (hard or soft);
//! - hostile input is contained: a request without a valid authority (`Host`) is a `400`, never a shared cache
//!   key; the framing of every response (`Content-Length`, no `Transfer-Encoding`) is the edge's own, computed
//!   from the body it returns; `Range` and `Content-Range` are parsed strictly
//!   ([`edge::RangeSpec`], [`edge::ContentRange`]) with checked arithmetic; a tier's byte bound is the memory
//!   its entries take ([`Entry::weight`]).
//!
//! Time comes from [`stratus_clock::Clock`], so tests move TTLs forward without sleeping:
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::time::Duration;
//!
//! use bytes::Bytes;
//! use edgecache::{Edge, origin};
//! use http::{Request, Response};
//! use stratus_clock::ManualClock;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> edgecache::Result<()> {
//! let calls = Arc::new(AtomicU64::new(0));
//! let counter = calls.clone();
//! let origin = origin::from_fn(move |_req: Request<Bytes>| {
//!     let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
//!     async move {
//!         Ok(Response::builder()
//!             .header("cache-control", "max-age=60")
//!             .body(Bytes::from(format!("version {n}")))
//!             .unwrap())
//!     }
//! });
//! let manual = ManualClock::new();
//! let edge = Edge::builder(origin).with_clock(manual.clock()).build()?;
//! let get = || Request::get("http://example.com/page").body(Bytes::new()).unwrap();
//!
//! let first = edge.handle(get()).await?; // a miss: the origin answers
//! manual.advance(Duration::from_secs(10));
//! let second = edge.handle(get()).await?; // a hit, 10 s old
//! assert_eq!(second.body(), first.body());
//! assert_eq!(second.headers()["age"], "10");
//! manual.advance(Duration::from_secs(60));
//! let third = edge.handle(get()).await?; // stale: fetched again
//! assert_eq!(third.body(), "version 2");
//! assert_eq!(calls.load(Ordering::SeqCst), 2);
//! assert_eq!(edge.metrics().hits("memory"), 1);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod edge;
pub mod error;
pub mod network;
pub mod origin;
pub mod policy;
pub mod ratelimit;
pub mod tier;
mod types;

/// The `http` crate edgecache speaks (requests, responses, headers), re-exported so users match its version.
pub use http;

pub use crate::edge::{Edge, EdgeBuilder, EdgeOptions, Metrics, Purge};
pub use crate::error::{Error, Result};
pub use crate::origin::Origin;
pub use crate::tier::{Entry, Tier, TierExt};
