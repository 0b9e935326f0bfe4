//! The [`Edge`]: cache tiers in front of an origin, with the semantics of an HTTP shared cache.
//!
//! For every `GET` and `HEAD` the edge looks the cache key up tier by tier (promoting what a lower tier
//! holds into the tiers above it), decides by RFC 9111 whether the stored response may be served as it is,
//! served stale (RFC 5861 `stale-while-revalidate`, `stale-if-error`, a request's `max-stale`) or must be
//! revalidated, and otherwise asks the origin: one request per key at a time, the others waiting for it
//! ([coalescing](EdgeOptions::coalesce_timeout)). Responses the origin sends are stored in every tier when
//! RFC 9111 allows. Other methods go to the origin, and a successful unsafe one invalidates the stored
//! responses for its URL and for its `Location` and `Content-Location`.
//!
//! What the edge implements, beyond the basics:
//! - freshness from `CDN-Cache-Control` (RFC 9213, preferred when valid), `s-maxage`, `max-age`, `Expires`
//!   (the three HTTP date formats, strictly) and heuristics (10% of the time since `Last-Modified`, capped);
//!   `Age` by RFC 9111 section 4.2.3 on every response served from cache;
//! - `no-store`, `no-cache` (also qualified: the named fields are not served unvalidated), `private`,
//!   `must-revalidate`, `proxy-revalidate`, `must-understand`, `only-if-cached`, `min-fresh`, `max-stale`,
//!   request `max-age`, `Pragma: no-cache`, `Authorization`;
//! - `Vary` (a variant per combination of the named request fields; negotiation fields compared without case
//!   and order; an `Accept-Language` variant reused when its language is the request's first choice);
//! - revalidation with `If-None-Match` / `If-Modified-Since`; a `304` (or a `200` to `HEAD`) updates the
//!   stored fields; the client's own conditionals are answered from cache;
//! - byte ranges: one range served from a complete stored response, stored `206` parts serve the ranges they
//!   hold, and a stored prefix is completed with a range request for the rest;
//! - a `POST` response whose `Content-Location` is its own URL answers later `GET`s (RFC 9110 section 9.3.3);
//! - interim (`1xx`) responses are passed on with a fetched response ([`crate::origin::Interim`]), never
//!   stored.
//!
//! This file holds the [`Edge`] and the top-level decision (fresh, stale, revalidate, pass); the rest of the
//! engine is one concern a file: `builder`, `store` (lookup, storing, `Vary` variants), `fetch` (the origin,
//! coalescing, revalidation, pass-through, completing a stored prefix), `purge`, `range`, `vary`,
//! `conditional`, `headers`, `coalesce` and `metrics`.

mod builder;
mod coalesce;
mod conditional;
mod fetch;
mod headers;
mod metrics;
mod purge;
mod range;
mod store;
mod vary;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use parking_lot::Mutex;
use stratus_clock::Clock;

pub use self::builder::{EdgeBuilder, EdgeOptions};
use self::coalesce::Flights;
use self::headers::{bad_request, frame, simple_response};
use self::metrics::Counters;
pub use self::metrics::Metrics;
pub use self::purge::Purge;
pub use self::range::{ContentRange, RangeSpec};
use self::range::{partial_key, serve_from_part};
use crate::error::Result;
use crate::origin::Origin;
use crate::tier::{Entry, Tier};
use crate::types::directives::{self, Directives};
use crate::types::freshness::{
    self, Heuristic, ResponseDirectives, current_age, freshness_lifetime, pragma_no_cache,
};

/// An HTTP shared cache in front of an [`Origin`]; see the [module docs](self). Cheap to clone (shared).
#[derive(Clone)]
pub struct Edge {
    inner: Arc<Inner>,
}

struct Inner {
    origin: Arc<dyn Origin>,
    tiers: Vec<Arc<dyn Tier>>,
    clock: Clock,
    options: EdgeOptions,
    flights: Arc<Flights>,
    counters: Counters,
    background: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl fmt::Debug for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Edge")
            .field("origin", &self.inner.origin)
            .field("tiers", &self.inner.tiers)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// A stored response found for a request.
#[derive(Clone)]
struct Hit {
    entry: Arc<Entry>,
    tier: usize,
}

/// What to do with a stored response.
enum Decision {
    Fresh,
    Stale,
    StaleWhileRevalidate,
    Revalidate,
}

impl Edge {
    /// The cache key of a request: the authority (from the URI or the `Host` field, lowercased) followed by the
    /// path and query, e.g. `example.com/a?b=1`. The method is not part of it: only responses to `GET` (and a
    /// `POST` naming its own URL in `Content-Location`) are stored, and `HEAD` is answered from them. `Vary`
    /// variants are stored under this key followed by a NUL and the selecting field values, so a purge of the
    /// key or a prefix reaches them too.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) when the request names no valid authority: a URI
    /// without one and no `Host`, more than one `Host`, or a `Host` that is not a valid `uri-host[:port]`
    /// (RFC 9112 section 3.2; bytes outside ASCII, a `/`, a space), or an authority with userinfo (RFC 9110
    /// section 4.2.4). [`Edge::handle`] answers such a request with `400 Bad Request`: two different invalid
    /// hosts never share a key.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use edgecache::Edge;
    ///
    /// let req = http::Request::get("/a?b=1").header("host", "Example.COM").body(Bytes::new()).unwrap();
    /// assert_eq!(Edge::cache_key(&req)?, "example.com/a?b=1");
    /// let bad = http::Request::get("/a").header("host", &b"victim\xfe.test"[..]).body(Bytes::new()).unwrap();
    /// assert_eq!(Edge::cache_key(&bad).unwrap_err().code(), "InvalidRequest");
    /// # Ok::<(), edgecache::Error>(())
    /// ```
    pub fn cache_key<B>(request: &Request<B>) -> Result<String> {
        let uri = request.uri();
        let invalid = |reason: String| crate::Error::InvalidRequest {
            field: "host",
            reason,
        };
        let authority = match uri.authority() {
            Some(a) => a.clone(),
            None => {
                let mut hosts = request.headers().get_all(header::HOST).iter();
                let host = match (hosts.next(), hosts.next()) {
                    (Some(h), None) => h,
                    (None, _) => {
                        return Err(invalid("no Host field and no authority in the URI".into()));
                    }
                    (Some(_), Some(_)) => return Err(invalid("more than one Host field".into())),
                };
                http::uri::Authority::try_from(host.as_bytes()).map_err(|e| {
                    invalid(format!(
                        "Host {:?} is not a valid authority: {e}",
                        String::from_utf8_lossy(host.as_bytes())
                    ))
                })?
            }
        };
        let text = authority.as_str();
        if text.is_empty() || text.contains('@') {
            return Err(invalid(format!(
                "authority {text:?} is empty or has userinfo"
            )));
        }
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        Ok(format!("{}{path}", text.to_ascii_lowercase()))
    }

    /// The tiers, first looked-up first.
    pub fn tiers(&self) -> &[Arc<dyn Tier>] {
        &self.inner.tiers
    }

    /// The edge's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// How many origin fetches (foreground or background) are in progress.
    pub fn fetches_in_progress(&self) -> usize {
        self.inner.flights.len()
    }

    /// Waits until every background revalidation started so far has finished.
    pub async fn background_idle(&self) {
        loop {
            let handles: Vec<_> = std::mem::take(&mut *self.inner.background.lock());
            if handles.is_empty() {
                return;
            }
            for h in handles {
                let _ = h.await;
            }
        }
    }

    /// A snapshot of the metrics.
    pub fn metrics(&self) -> Metrics {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.inner.counters;
        Metrics {
            requests: c.requests.load(Relaxed),
            hits_per_tier: self
                .inner
                .tiers
                .iter()
                .zip(&c.tier_hits)
                .map(|(t, h)| (t.name().to_string(), h.load(Relaxed)))
                .collect(),
            misses: c.misses.load(Relaxed),
            revalidations: c.revalidations.load(Relaxed),
            revalidated_not_modified: c.revalidated_304.load(Relaxed),
            stale_served: c.stale_served.load(Relaxed),
            coalesced: c.coalesced.load(Relaxed),
            origin_requests: c.origin_requests.load(Relaxed),
            origin_errors: c.origin_errors.load(Relaxed),
            origin_bytes: c.origin_bytes.load(Relaxed),
            bytes_served: c.bytes_served.load(Relaxed),
            bytes_from_cache: c.bytes_from_cache.load(Relaxed),
            evictions: self.inner.tiers.iter().map(|t| t.evictions()).sum(),
            purged: c.purged.load(Relaxed),
        }
    }

    /// Answers `request`: from cache when RFC 9111 allows, else from the origin.
    ///
    /// A request without a valid authority (see [`Edge::cache_key`]) is answered `400 Bad Request` without
    /// asking the origin. The framing fields of every response are the edge's own: `Content-Length` is the
    /// length of the body returned (for `HEAD`, of the body a `GET` would get), and `Transfer-Encoding` is never
    /// set, whatever the origin sent.
    ///
    /// # Errors
    /// The origin's error (or [`Error::OriginTimeout`](crate::Error::OriginTimeout)) when the origin gave no response and no stale
    /// response may be served instead, also when its response cannot be framed (an invalid `Content-Length`).
    /// Every request waiting on the same fetch gets the same error.
    pub async fn handle(&self, request: Request<Bytes>) -> Result<Response<Bytes>> {
        Counters::add(&self.inner.counters.requests, 1);
        let head = request.method() == Method::HEAD;
        let out = self.handle_inner(request).await.map(|r| frame(r, head));
        if let Ok(r) = &out {
            Counters::add(&self.inner.counters.bytes_served, r.body().len() as u64);
        }
        out
    }

    async fn handle_inner(&self, request: Request<Bytes>) -> Result<Response<Bytes>> {
        let key = match Self::cache_key(&request) {
            Ok(key) => key,
            Err(e) => return Ok(bad_request(&e)),
        };
        let method = request.method().clone();
        if method != Method::GET && method != Method::HEAD {
            return self.pass(key, request).await;
        }
        let req_cc = Directives::from_headers(request.headers(), "cache-control");
        let stored = self.lookup(&key, request.headers()).await;
        if let Some(hit) = &stored {
            match self.decide(&hit.entry, request.headers(), &req_cc) {
                Decision::Fresh => {
                    Counters::add(&self.inner.counters.tier_hits[hit.tier], 1);
                    return Ok(self.serve_stored(&hit.entry, &request, true));
                }
                Decision::Stale => {
                    Counters::add(&self.inner.counters.stale_served, 1);
                    return Ok(self.serve_stored(&hit.entry, &request, true));
                }
                Decision::StaleWhileRevalidate => {
                    Counters::add(&self.inner.counters.stale_served, 1);
                    self.revalidate_in_background(&key, &request, hit.clone());
                    return Ok(self.serve_stored(&hit.entry, &request, true));
                }
                Decision::Revalidate => {}
            }
        }
        if stored.is_none() && request.headers().contains_key(header::RANGE) {
            let pk = partial_key(&key);
            for (i, tier) in self.inner.tiers.iter().enumerate() {
                let Ok(Some(part)) = tier.get(&pk).await else {
                    continue;
                };
                if let Decision::Fresh = self.decide(&part, request.headers(), &req_cc) {
                    if let Some(mut r) = serve_from_part(&part, request.headers(), request.method())
                    {
                        let (_, _, age) = self.freshness(&part);
                        r.headers_mut()
                            .insert(header::AGE, HeaderValue::from(age.as_secs()));
                        Counters::add(&self.inner.counters.tier_hits[i], 1);
                        Counters::add(&self.inner.counters.bytes_from_cache, r.body().len() as u64);
                        return Ok(r);
                    }
                }
                break;
            }
        }
        if stored.is_none()
            && method == Method::GET
            && !request.headers().contains_key(header::RANGE)
        {
            if let Some(response) = self.complete_partial(&key, &request, &req_cc).await {
                return response;
            }
        }
        if req_cc.has("only-if-cached") {
            return Ok(simple_response(StatusCode::GATEWAY_TIMEOUT));
        }
        if method == Method::HEAD {
            return self.fetch(&key, request, stored, &mut None).await;
        }
        self.fetch_coalesced(&key, request, stored).await
    }

    /// The lifetime and age of an entry, with its directives.
    fn freshness(&self, entry: &Entry) -> (ResponseDirectives, Duration, Duration) {
        let rd = ResponseDirectives::of(&entry.headers);
        let heuristic = Heuristic {
            fraction: self.inner.options.heuristic_fraction,
            max: self.inner.options.heuristic_max,
        };
        let life = if entry.invalidated {
            Duration::ZERO
        } else {
            freshness_lifetime(entry, &rd, heuristic)
        };
        let age = current_age(entry, self.inner.clock.now());
        (rd, life, age)
    }

    fn decide(&self, entry: &Entry, req_headers: &HeaderMap, req_cc: &Directives) -> Decision {
        let (rd, life, age) = self.freshness(entry);
        let req_no_cache = req_cc.has("no-cache")
            || (!req_headers.contains_key(header::CACHE_CONTROL) && pragma_no_cache(req_headers));
        if req_no_cache || rd.no_cache(&entry.headers) || entry.invalidated {
            return Decision::Revalidate;
        }
        let secs = |d: Duration| d.as_secs();
        if let Some(max_age) = req_cc.seconds("max-age") {
            match max_age {
                Ok(v) if secs(age) <= v => {}
                _ => return Decision::Revalidate,
            }
        }
        if life > age {
            if let Some(Ok(min_fresh)) = req_cc.seconds("min-fresh") {
                if life < age + Duration::from_secs(min_fresh) {
                    return Decision::Revalidate;
                }
            }
            return Decision::Fresh;
        }
        if rd.must_revalidate() {
            return Decision::Revalidate;
        }
        let staleness = age - life;
        match req_cc.get("max-stale") {
            Some(None) => return Decision::Stale,
            Some(Some(v)) => {
                if let Ok(v) = directives::parse_delta(v) {
                    if staleness <= Duration::from_secs(v) {
                        return Decision::Stale;
                    }
                }
            }
            None => {}
        }
        if let Some(window) = freshness::window(&rd.cc, "stale-while-revalidate") {
            if staleness <= window {
                return Decision::StaleWhileRevalidate;
            }
        }
        Decision::Revalidate
    }

    /// Whether a stale `entry` may be served because the origin failed (`stale-if-error`, RFC 5861).
    fn stale_if_error(&self, entry: &Entry, req_headers: &HeaderMap) -> bool {
        let (rd, life, age) = self.freshness(entry);
        if rd.must_revalidate() && age >= life {
            return false;
        }
        let staleness = age.saturating_sub(life);
        let req_cc = Directives::from_headers(req_headers, "cache-control");
        let configured = self.inner.options.stale_on_error;
        let by_option =
            (!configured.is_zero() && !rd.no_cache(&entry.headers)).then_some(configured);
        [
            freshness::window(&rd.cc, "stale-if-error"),
            freshness::window(&req_cc, "stale-if-error"),
            by_option,
        ]
        .into_iter()
        .flatten()
        .any(|w| staleness <= w)
    }
}
