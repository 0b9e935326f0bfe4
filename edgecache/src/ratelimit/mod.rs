//! Rate limiting and flood defence: token buckets counted on the injected clock.
//!
//! A [`RateLimiter`] keeps one token bucket per client (an id or an address: any string) with a
//! [`Limit`] (a rate and a burst). A request takes a token; with none left it is refused with the time until
//! the next token ([`Verdict::Limited`]), which a front answers `429 Too Many Requests` with `Retry-After`
//! ([`too_many_requests`]). The buckets are sharded by the client's hash, each shard behind its own short
//! lock, so a flood from one client costs the others at most a lock shared with a few other clients, never a
//! wait for a token. Buckets of clients quiet long enough to be full again are forgotten when a shard
//! grows past its share of [`RateLimiter::with_max_clients`], so a flood of new ids cannot grow memory
//! without bound (a forgotten client starts with a full bucket, which is what it would have had anyway).
//!
//! [`OriginGuard`] is the global origin-protection limit: one bucket in front of an [`Origin`]; a fetch
//! beyond it is answered `503 Service Unavailable` with `Retry-After` without reaching the origin (an edge
//! may then serve a stale copy, `stale-if-error` or [`stale_on_error`](crate::EdgeOptions::stale_on_error)).
//!
//! ```
//! use std::time::Duration;
//! use edgecache::ratelimit::{Limit, RateLimiter, Verdict};
//! use stratus_clock::ManualClock;
//!
//! let manual = ManualClock::new();
//! let limiter = RateLimiter::new(Limit::new(1.0, 2), manual.clock())?;
//! assert_eq!(limiter.check("10.0.0.1"), Verdict::Allowed);
//! assert_eq!(limiter.check("10.0.0.1"), Verdict::Allowed);
//! assert_eq!(limiter.check("10.0.0.1"), Verdict::Limited { retry_after: Duration::from_secs(1) });
//! assert_eq!(limiter.check("10.0.0.2"), Verdict::Allowed); // another client is not slowed
//! manual.advance(Duration::from_secs(1));
//! assert_eq!(limiter.check("10.0.0.1"), Verdict::Allowed);
//! # Ok::<(), edgecache::Error>(())
//! ```

mod bucket;

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use parking_lot::Mutex;
use stratus_clock::Clock;

use self::bucket::Bucket;
pub use self::bucket::Limit;
use crate::error::Result;
use crate::origin::Origin;

/// What a limiter says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit: serve it.
    Allowed,
    /// Over the limit: refuse it; a token is there again after `retry_after`.
    Limited {
        /// How long until the client may try again.
        retry_after: Duration,
    },
}

const SHARDS: usize = 16;

/// Token buckets per client; see the [module docs](self).
pub struct RateLimiter {
    limit: Limit,
    clock: Clock,
    shards: Box<[Mutex<HashMap<String, Bucket>>]>,
    hasher: foldhash::fast::RandomState,
    max_per_shard: usize,
    allowed: AtomicU64,
    limited: AtomicU64,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limit", &self.limit)
            .field("allowed", &self.allowed)
            .field("limited", &self.limited)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter giving every client `limit`, counted on `clock`; it remembers up to 65,536 clients.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) for an invalid limit.
    pub fn new(limit: Limit, clock: Clock) -> Result<Self> {
        limit.validate("client_limit")?;
        Ok(RateLimiter {
            limit,
            clock,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: foldhash::fast::RandomState::default(),
            max_per_shard: 65_536 / SHARDS,
            allowed: AtomicU64::new(0),
            limited: AtomicU64::new(0),
        })
    }

    /// The most clients remembered at once (at least one per shard); quiet clients are forgotten first.
    #[must_use]
    pub fn with_max_clients(mut self, clients: usize) -> Self {
        self.max_per_shard = clients.div_ceil(SHARDS).max(1);
        self
    }

    /// The limit every client gets.
    pub fn limit(&self) -> Limit {
        self.limit
    }

    /// Takes a token from `client`'s bucket.
    pub fn check(&self, client: &str) -> Verdict {
        let shard = &self.shards[(self.hasher.hash_one(client) as usize) % SHARDS];
        let now = self.clock.instant();
        let verdict = {
            let mut map = shard.lock();
            if !map.contains_key(client) && map.len() >= self.max_per_shard {
                let limit = self.limit;
                map.retain(|_, b| !b.is_full(&limit, now));
                if map.len() >= self.max_per_shard {
                    // Every remembered client is active: forget an arbitrary one rather than grow.
                    if let Some(k) = map.keys().next().cloned() {
                        map.remove(&k);
                    }
                }
            }
            let bucket = map
                .entry(client.to_string())
                .or_insert_with(|| Bucket::full(&self.limit, now));
            bucket.take(&self.limit, now)
        };
        match verdict {
            Ok(()) => {
                self.allowed.fetch_add(1, Ordering::Relaxed);
                Verdict::Allowed
            }
            Err(retry_after) => {
                self.limited.fetch_add(1, Ordering::Relaxed);
                Verdict::Limited { retry_after }
            }
        }
    }

    /// Requests allowed so far.
    pub fn allowed(&self) -> u64 {
        self.allowed.load(Ordering::Relaxed)
    }

    /// Requests refused so far.
    pub fn limited(&self) -> u64 {
        self.limited.load(Ordering::Relaxed)
    }

    /// How many clients are remembered now.
    pub fn clients(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }
}

/// `Retry-After` in whole seconds, rounded up (a client that waits that long finds a token), at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// A `429 Too Many Requests` with `Retry-After` (RFC 6585 section 4, RFC 9110 section 10.2.3).
pub fn too_many_requests(retry_after: Duration) -> Response<Bytes> {
    refusal(
        StatusCode::TOO_MANY_REQUESTS,
        retry_after,
        "too many requests\n",
    )
}

fn refusal(status: StatusCode, retry_after: Duration, body: &'static str) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from_static(body.as_bytes()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after_secs(retry_after)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The global origin-protection limit: an [`Origin`] that lets at most `limit` fetches through to the origin
/// it wraps and answers the others `503` with `Retry-After`; see the [module docs](self).
pub struct OriginGuard {
    origin: Arc<dyn Origin>,
    limit: Limit,
    clock: Clock,
    bucket: Mutex<Bucket>,
    refused: AtomicU64,
}

impl fmt::Debug for OriginGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OriginGuard")
            .field("origin", &self.origin)
            .field("limit", &self.limit)
            .field("refused", &self.refused)
            .finish_non_exhaustive()
    }
}

impl OriginGuard {
    /// Guards `origin` with `limit`, counted on `clock`.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) for an invalid limit.
    pub fn new(origin: Arc<dyn Origin>, limit: Limit, clock: Clock) -> Result<Self> {
        limit.validate("origin_limit")?;
        let bucket = Mutex::new(Bucket::full(&limit, clock.instant()));
        Ok(OriginGuard {
            origin,
            limit,
            clock,
            bucket,
            refused: AtomicU64::new(0),
        })
    }

    /// Fetches refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl Origin for OriginGuard {
    async fn fetch(&self, request: Request<Bytes>) -> Result<Response<Bytes>> {
        let now = self.clock.instant();
        let taken = self.bucket.lock().take(&self.limit, now);
        match taken {
            Ok(()) => self.origin.fetch(request).await,
            Err(wait) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                Ok(refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    wait,
                    "origin protection: too many origin requests\n",
                ))
            }
        }
    }
}
