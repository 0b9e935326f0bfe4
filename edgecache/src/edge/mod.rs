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

mod coalesce;
mod directives;
mod freshness;
mod metrics;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use parking_lot::Mutex;
use stratus_clock::Clock;

use self::coalesce::{Flights, Outcome, Role};
use self::directives::Directives;
use self::freshness::{
    Heuristic, ResponseDirectives, current_age, freshness_lifetime, pragma_no_cache, storable,
};
use self::metrics::Counters;
pub use self::metrics::Metrics;
use crate::error::{Error, Result};
use crate::origin::Origin;
use crate::tier::{Entry, Tier, TierExt};

/// Options of an [`Edge`]; every field has a default.
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

/// Header fields that describe one connection and are never stored or forwarded (RFC 9110 section 7.6.1).
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authentication-info",
    "proxy-authorization",
];

/// RFC 9110 section 6.6.1: a response forwarded or stored without `Date` gets the time it was received.
fn ensure_date(headers: &mut HeaderMap, received: SystemTime) {
    if !headers.contains_key(header::DATE) {
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(received)) {
            headers.insert(header::DATE, v);
        }
    }
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    for name in HOP_BY_HOP
        .iter()
        .copied()
        .chain(named.iter().map(String::as_str))
    {
        headers.remove(name);
    }
}

/// A request's value for a `Vary`-named field: all lines, members trimmed, joined by `,`.
///
/// For the negotiation fields (`Accept`, `Accept-Encoding`, `Accept-Language`) members are compared without
/// letter case and order, so `en, de` and `De, EN` select the same variant.
fn vary_value(headers: &HeaderMap, name: &str) -> Option<HeaderValue> {
    let negotiation = matches!(name, "accept" | "accept-encoding" | "accept-language");
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut any = false;
    for v in headers.get_all(name) {
        any = true;
        for member in v.as_bytes().split(|b| *b == b',') {
            let m = trim_bytes(member);
            if !m.is_empty() {
                parts.push(if negotiation {
                    m.to_ascii_lowercase()
                } else {
                    m.to_vec()
                });
            }
        }
    }
    if !any {
        return None;
    }
    if negotiation {
        parts.sort();
        parts.dedup();
    }
    HeaderValue::from_bytes(&parts.join(&b","[..])).ok()
}

fn trim_bytes(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

fn vary_matches(entry: &Entry, headers: &HeaderMap) -> bool {
    entry
        .vary
        .iter()
        .all(|(name, stored)| vary_value(headers, name.as_str()) == *stored)
}

/// Whether a response that varies only on `Accept-Language` and is in one language (`Content-Language`) is
/// what the origin would choose for this request too: that language is the request's single most preferred
/// one (highest `q`), so an origin that has it serves it.
fn language_negotiation_matches(entry: &Entry, headers: &HeaderMap) -> bool {
    let [(name, _)] = entry.vary.as_slice() else {
        return false;
    };
    if name != header::ACCEPT_LANGUAGE {
        return false;
    }
    let Some(language) = entry
        .headers
        .get(header::CONTENT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if language.contains(',') {
        return false;
    }
    let Some(accept) = vary_value(headers, "accept-language") else {
        return false;
    };
    let Ok(accept) = accept.to_str() else {
        return false;
    };
    let mut best: Option<(u32, &str)> = None;
    let mut tie = false;
    for member in accept.split(',') {
        let mut parts = member.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1000), |q| {
                q.parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))
                    .map(|q| (q * 1000.0) as u32)
            });
        let Some(q) = q else { return false };
        match best {
            Some((b, _)) if q < b => {}
            Some((b, _)) if q == b => tie = true,
            _ => {
                best = Some((q, tag));
                tie = false;
            }
        }
    }
    matches!(best, Some((q, tag)) if q > 0 && !tie && tag != "*" && tag.eq_ignore_ascii_case(language.trim()))
}

fn secondary_key(primary: &str, names: &[HeaderName], headers: &HeaderMap) -> String {
    let mut key = format!("{primary}\u{0}");
    for name in names {
        key.push_str(name.as_str());
        key.push('=');
        if let Some(v) = vary_value(headers, name.as_str()) {
            key.push_str(&String::from_utf8_lossy(v.as_bytes()));
        }
        key.push('\u{1}');
    }
    key
}

fn simple_response(status: StatusCode) -> Response<Bytes> {
    let mut r = Response::new(Bytes::new());
    *r.status_mut() = status;
    r
}

/// Weak comparison of entity tags (RFC 9110 section 8.8.3.2).
fn etag_list_matches(list: &str, etag: &str) -> bool {
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let etag = strip(etag);
    list.split(',').any(|t| t.trim() == "*" || strip(t) == etag)
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

    /// The cache key of a request: the authority (from the URI or the `Host` field, lowercased) followed by the
    /// path and query, e.g. `example.com/a?b=1`. The method is not part of it: only responses to `GET` (and a
    /// `POST` naming its own URL in `Content-Location`) are stored, and `HEAD` is answered from them. `Vary`
    /// variants are stored under this key followed by a NUL and the selecting field values, so a purge of the
    /// key or a prefix reaches them too.
    pub fn cache_key<B>(request: &Request<B>) -> String {
        let uri = request.uri();
        let authority = match uri.authority() {
            Some(a) => a.as_str().to_ascii_lowercase(),
            None => request
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase(),
        };
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        format!("{authority}{path}")
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
    /// # Errors
    /// The origin's error (or [`Error::OriginTimeout`]) when the origin gave no response and no stale
    /// response may be served instead. Every request waiting on the same fetch gets the same error.
    pub async fn handle(&self, request: Request<Bytes>) -> Result<Response<Bytes>> {
        Counters::add(&self.inner.counters.requests, 1);
        let out = self.handle_inner(request).await;
        if let Ok(r) = &out {
            Counters::add(&self.inner.counters.bytes_served, r.body().len() as u64);
        }
        out
    }

    async fn handle_inner(&self, request: Request<Bytes>) -> Result<Response<Bytes>> {
        let key = Self::cache_key(&request);
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

    /// For a full `GET` while only a fresh prefix of the representation is stored: asks the origin for the
    /// rest (`Range: bytes=N-`) and combines the two into the complete response, which is stored (RFC 9111
    /// section 3.4). `None` when there is no such prefix, or the origin's answer cannot be combined; the
    /// caller then fetches as usual.
    async fn complete_partial(
        &self,
        key: &str,
        request: &Request<Bytes>,
        req_cc: &Directives,
    ) -> Option<Result<Response<Bytes>>> {
        let pk = partial_key(key);
        let part = self.inner.tiers.first()?.get(&pk).await.ok()??;
        if !matches!(
            self.decide(&part, request.headers(), req_cc),
            Decision::Fresh
        ) {
            return None;
        }
        let (offset, last, total) = content_range(&part.headers)?;
        let have = (part.body.len() as u64).min(last + 1);
        if offset != 0 || have == 0 || have >= total {
            return None;
        }
        let mut headers = request.headers().clone();
        strip_hop_by_hop(&mut headers);
        headers.insert(
            header::RANGE,
            HeaderValue::from_str(&format!("bytes={have}-")).ok()?,
        );
        let strong_etag = part
            .headers
            .get(header::ETAG)
            .filter(|e| !e.as_bytes().starts_with(b"W/"));
        if let Some(etag) = strong_etag {
            headers.insert(header::IF_RANGE, etag.clone());
        }
        let mut origin_request = Request::new(Bytes::new());
        *origin_request.uri_mut() = request.uri().clone();
        *origin_request.headers_mut() = headers;
        Counters::add(&self.inner.counters.misses, 1);
        let request_time = self.inner.clock.now();
        let response = match self.call_origin(origin_request).await {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        let response_time = self.inner.clock.now();
        let (mut rparts, rbody) = response.into_parts();
        strip_hop_by_hop(&mut rparts.headers);
        ensure_date(&mut rparts.headers, response_time);
        let combined = if rparts.status == StatusCode::PARTIAL_CONTENT {
            let same_etag =
                strong_etag.is_some() && strong_etag == rparts.headers.get(header::ETAG);
            match content_range(&rparts.headers) {
                Some((from, to, all))
                    if same_etag
                        && from == have
                        && all == total
                        && to + 1 == total
                        && rbody.len() as u64 == total - have =>
                {
                    let mut body = Vec::with_capacity(total as usize);
                    body.extend_from_slice(&part.body[..have as usize]);
                    body.extend_from_slice(&rbody);
                    rparts.headers.remove(header::CONTENT_RANGE);
                    rparts.headers.remove(header::CONTENT_LENGTH);
                    rparts.status = StatusCode::OK;
                    Bytes::from(body)
                }
                _ => return None, // cannot combine: fetch the whole representation as usual
            }
        } else if rparts.status == StatusCode::OK {
            rbody
        } else {
            return None;
        };
        self.store_response(
            key,
            &Method::GET,
            request.headers(),
            &rparts.headers,
            rparts.status,
            &combined,
            request_time,
            response_time,
        )
        .await;
        Some(Ok(Response::from_parts(rparts, combined)))
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

    async fn lookup(&self, key: &str, req_headers: &HeaderMap) -> Option<Hit> {
        for (i, tier) in self.inner.tiers.iter().enumerate() {
            let Ok(Some(primary)) = tier.get(key).await else {
                continue;
            };
            let found = if vary_matches(&primary, req_headers)
                || language_negotiation_matches(&primary, req_headers)
            {
                Some((key.to_string(), primary.clone()))
            } else {
                let names: Vec<HeaderName> = primary.vary.iter().map(|(n, _)| n.clone()).collect();
                let sk = secondary_key(key, &names, req_headers);
                match tier.get(&sk).await {
                    Ok(Some(e)) if vary_matches(&e, req_headers) => Some((sk, e)),
                    _ => None,
                }
            };
            if let Some((found_key, entry)) = found {
                for upper in &self.inner.tiers[..i] {
                    if found_key != key {
                        let _ = upper.insert(key, primary.clone()).await;
                    }
                    let _ = upper.insert(&found_key, entry.clone()).await;
                }
                return Some(Hit { entry, tier: i });
            }
        }
        None
    }

    async fn store(&self, key: &str, entry: Arc<Entry>) {
        let secondary = if entry.vary.is_empty() {
            None
        } else {
            let names: Vec<HeaderName> = entry.vary.iter().map(|(n, _)| n.clone()).collect();
            // the secondary key is built from the values recorded in the entry
            let mut h = HeaderMap::new();
            for (n, v) in &entry.vary {
                if let Some(v) = v {
                    h.append(n.clone(), v.clone());
                }
            }
            Some(secondary_key(key, &names, &h))
        };
        for tier in &self.inner.tiers {
            let _ = tier.insert(key, entry.clone()).await;
            if let Some(sk) = &secondary {
                let _ = tier.insert(sk, entry.clone()).await;
            }
        }
    }

    /// A response to `request` built from a stored entry.
    fn serve_stored(
        &self,
        entry: &Entry,
        request: &Request<Bytes>,
        unvalidated: bool,
    ) -> Response<Bytes> {
        let (rd, _, age) = self.freshness(entry);
        let mut headers = entry.headers.clone();
        if unvalidated {
            for f in rd.qualified_fields() {
                headers.remove(f.as_str());
            }
        }
        headers.insert(header::AGE, HeaderValue::from(age.as_secs()));
        let body = if request.method() == Method::HEAD {
            Bytes::new()
        } else {
            entry.body.clone()
        };
        let mut response = Response::new(body);
        *response.status_mut() = entry.status;
        *response.headers_mut() = headers;
        let response = apply_client_conditionals(response, request.headers());
        let response = apply_range(response, request.headers());
        Counters::add(
            &self.inner.counters.bytes_from_cache,
            response.body().len() as u64,
        );
        response
    }

    fn revalidate_in_background(&self, key: &str, request: &Request<Bytes>, hit: Hit) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Role::Leader(leader) = self.inner.flights.join(key) else {
            return; // a fetch is already under way
        };
        let mut copy = Request::new(Bytes::new());
        *copy.method_mut() = Method::GET;
        *copy.uri_mut() = request.uri().clone();
        *copy.headers_mut() = request.headers().clone();
        let edge = self.clone();
        let key = key.to_string();
        let task = handle.spawn(async move {
            let mut failure = None;
            let _ = edge.fetch(&key, copy, Some(hit), &mut failure).await;
            leader.finish(match failure {
                Some(e) => Outcome::Failed(e),
                None => Outcome::Done,
            });
        });
        let mut background = self.inner.background.lock();
        background.retain(|t| !t.is_finished());
        background.push(task);
    }

    async fn fetch_coalesced(
        &self,
        key: &str,
        request: Request<Bytes>,
        stored: Option<Hit>,
    ) -> Result<Response<Bytes>> {
        match self.inner.flights.join(key) {
            Role::Leader(leader) => {
                // an origin failure reaches the waiters even when this request is answered stale
                let mut failure = None;
                let out = self.fetch(key, request, stored, &mut failure).await;
                leader.finish(match failure {
                    Some(e) => Outcome::Failed(e),
                    None => Outcome::Done,
                });
                out
            }
            Role::Waiter(slot) => {
                Counters::add(&self.inner.counters.coalesced, 1);
                let waited = self
                    .inner
                    .clock
                    .timeout(self.inner.options.coalesce_timeout, coalesce::wait(slot))
                    .await;
                match waited {
                    Ok(Some(Outcome::Failed(e))) => match &stored {
                        Some(hit) if self.stale_if_error(&hit.entry, request.headers()) => {
                            Counters::add(&self.inner.counters.stale_served, 1);
                            Ok(self.serve_stored(&hit.entry, &request, true))
                        }
                        _ => Err(e),
                    },
                    Ok(Some(Outcome::Done)) => {
                        let req_cc = Directives::from_headers(request.headers(), "cache-control");
                        let again = self.lookup(key, request.headers()).await;
                        if let Some(hit) = &again {
                            if let Decision::Fresh =
                                self.decide(&hit.entry, request.headers(), &req_cc)
                            {
                                Counters::add(&self.inner.counters.tier_hits[hit.tier], 1);
                                return Ok(self.serve_stored(&hit.entry, &request, true));
                            }
                        }
                        self.fetch(key, request, again.or(stored), &mut None).await
                    }
                    // the leader gave up, or we waited long enough: fetch ourselves
                    _ => self.fetch(key, request, stored, &mut None).await,
                }
            }
        }
    }

    async fn call_origin(&self, request: Request<Bytes>) -> Result<Response<Bytes>> {
        Counters::add(&self.inner.counters.origin_requests, 1);
        let url = request.uri().to_string();
        let out = match self.inner.options.origin_timeout {
            Some(limit) => match self
                .inner
                .clock
                .timeout(limit, self.inner.origin.fetch(request))
                .await
            {
                Ok(r) => r,
                Err(_) => Err(Error::OriginTimeout { url, after: limit }),
            },
            None => self.inner.origin.fetch(request).await,
        };
        match &out {
            Ok(r) => Counters::add(&self.inner.counters.origin_bytes, r.body().len() as u64),
            Err(_) => Counters::add(&self.inner.counters.origin_errors, 1),
        }
        out
    }

    /// Goes to the origin for `request`, revalidating `stored` when it has validators, and stores the result.
    async fn fetch(
        &self,
        key: &str,
        request: Request<Bytes>,
        stored: Option<Hit>,
        origin_failure: &mut Option<Error>,
    ) -> Result<Response<Bytes>> {
        if stored.is_none() {
            Counters::add(&self.inner.counters.misses, 1);
        }
        let (parts, body) = request.into_parts();
        let client = Request::from_parts(parts.clone(), Bytes::new());
        let mut headers = parts.headers.clone();
        strip_hop_by_hop(&mut headers);
        let mut validating = false;
        if let Some(hit) = stored.as_ref().filter(|_| parts.method == Method::GET) {
            let etag = hit.entry.headers.get(header::ETAG).cloned();
            let lm = hit.entry.headers.get(header::LAST_MODIFIED).cloned();
            if etag.is_some() || lm.is_some() {
                for h in [
                    header::IF_NONE_MATCH,
                    header::IF_MODIFIED_SINCE,
                    header::IF_MATCH,
                    header::IF_UNMODIFIED_SINCE,
                    header::IF_RANGE,
                ] {
                    headers.remove(h);
                }
                if let Some(e) = etag {
                    headers.insert(header::IF_NONE_MATCH, e);
                }
                if let Some(l) = lm {
                    headers.insert(header::IF_MODIFIED_SINCE, l);
                }
                validating = true;
                Counters::add(&self.inner.counters.revalidations, 1);
            }
        }
        let mut origin_request = Request::new(body);
        *origin_request.method_mut() = parts.method.clone();
        *origin_request.uri_mut() = parts.uri.clone();
        *origin_request.version_mut() = parts.version;
        *origin_request.headers_mut() = headers;
        let request_time = self.inner.clock.now();
        let result = self.call_origin(origin_request).await;
        let response_time = self.inner.clock.now();
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                *origin_failure = Some(e.clone());
                if let Some(hit) = &stored {
                    if self.stale_if_error(&hit.entry, &parts.headers) {
                        Counters::add(&self.inner.counters.stale_served, 1);
                        return Ok(self.serve_stored(&hit.entry, &client, true));
                    }
                }
                return Err(e);
            }
        };
        let (mut rparts, rbody) = response.into_parts();
        ensure_date(&mut rparts.headers, response_time);
        if let (true, StatusCode::NOT_MODIFIED, Some(hit)) =
            (validating, rparts.status, stored.as_ref())
        {
            Counters::add(&self.inner.counters.revalidated_304, 1);
            let updated = Arc::new(refresh(
                &hit.entry,
                &rparts.headers,
                request_time,
                response_time,
            ));
            self.store(key, updated.clone()).await;
            return Ok(self.serve_stored(&updated, &client, false));
        }
        // RFC 9111 section 4.3.5: a 200 to HEAD for the same representation freshens the stored GET response
        if let (true, Some(hit)) = (
            parts.method == Method::HEAD && rparts.status == StatusCode::OK,
            stored.as_ref(),
        ) {
            let same = |name: header::HeaderName| {
                hit.entry.headers.get(&name) == rparts.headers.get(&name)
            };
            if same(header::ETAG) && same(header::LAST_MODIFIED) {
                let updated = Arc::new(refresh(
                    &hit.entry,
                    &rparts.headers,
                    request_time,
                    response_time,
                ));
                self.store(key, updated.clone()).await;
                return Ok(self.serve_stored(&updated, &client, false));
            }
        }
        if let Some(hit) = &stored {
            if matches!(rparts.status.as_u16(), 500 | 502 | 503 | 504)
                && self.stale_if_error(&hit.entry, &parts.headers)
            {
                Counters::add(&self.inner.counters.stale_served, 1);
                return Ok(self.serve_stored(&hit.entry, &client, true));
            }
        }
        strip_hop_by_hop(&mut rparts.headers);
        let stored_now = self
            .store_response(
                key,
                &parts.method,
                &parts.headers,
                &rparts.headers,
                rparts.status,
                &rbody,
                request_time,
                response_time,
            )
            .await;
        if !stored_now
            && parts.method == Method::GET
            && stored.is_some()
            && rparts.status.is_success()
        {
            // a newer response that may not be stored replaces nothing, but the old one is outdated
            self.invalidate(key).await;
        }
        let response = Response::from_parts(rparts, rbody);
        Ok(if validating {
            apply_client_conditionals(response, &parts.headers)
        } else {
            response
        })
    }

    /// Stores a response from the origin when RFC 9111 allows: a complete one under `key` (and its `Vary`
    /// variant), a `206` with a known length under the key's partial slot. Returns whether it was stored.
    #[allow(clippy::too_many_arguments)]
    async fn store_response(
        &self,
        key: &str,
        method: &Method,
        req_headers: &HeaderMap,
        headers: &HeaderMap,
        status: StatusCode,
        body: &Bytes,
        request_time: SystemTime,
        response_time: SystemTime,
    ) -> bool {
        let rd = ResponseDirectives::of(headers);
        let partial = status == StatusCode::PARTIAL_CONTENT
            && freshness::vary_names(headers).is_empty()
            && content_range(headers).is_some()
            && storable(method, req_headers, StatusCode::OK, headers, &rd);
        if !partial && !storable(method, req_headers, status, headers, &rd) {
            return false;
        }
        let vary = freshness::vary_names(headers)
            .into_iter()
            .filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok())
            .map(|n| {
                let v = vary_value(req_headers, n.as_str());
                (n, v)
            })
            .collect();
        let entry = Entry::new(
            status,
            headers.clone(),
            body.clone(),
            request_time,
            response_time,
        )
        .with_vary(vary);
        if partial {
            let pk = partial_key(key);
            for tier in &self.inner.tiers {
                let _ = tier.insert(&pk, Arc::new(entry.clone())).await;
            }
        } else {
            self.store(key, Arc::new(entry)).await;
        }
        true
    }

    /// Forwards a request with a method the cache does not serve; a successful unsafe method invalidates.
    async fn pass(&self, key: String, request: Request<Bytes>) -> Result<Response<Bytes>> {
        let safe = matches!(
            request.method().as_str(),
            "OPTIONS" | "TRACE" | "PROPFIND" | "SEARCH" | "REPORT"
        );
        let authority = key.split('/').next().unwrap_or("").to_string();
        let (mut parts, body) = request.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        let method = parts.method.clone();
        let req_headers = parts.headers.clone();
        let request_time = self.inner.clock.now();
        let mut response = self.call_origin(Request::from_parts(parts, body)).await?;
        let response_time = self.inner.clock.now();
        strip_hop_by_hop(response.headers_mut());
        ensure_date(response.headers_mut(), response_time);
        let status = response.status().as_u16();
        if !safe && (200..400).contains(&status) {
            self.invalidate(&key).await;
            for name in [header::LOCATION, header::CONTENT_LOCATION] {
                let Some(target) = response.headers().get(&name).and_then(|v| v.to_str().ok())
                else {
                    continue;
                };
                let target_key = match target.parse::<http::Uri>() {
                    Ok(uri) if uri.authority().is_some() => {
                        if uri.authority().map(|a| a.as_str().to_ascii_lowercase())
                            != Some(authority.clone())
                        {
                            continue; // another host: not ours to invalidate
                        }
                        format!(
                            "{authority}{}",
                            uri.path_and_query().map_or("/", |p| p.as_str())
                        )
                    }
                    Ok(_) if target.starts_with('/') => format!("{authority}{target}"),
                    _ => continue,
                };
                self.invalidate(&target_key).await;
                // RFC 9110 section 9.3.3: a POST response with explicit freshness and a Content-Location of
                // the target URI may answer later GETs of it
                let rd = ResponseDirectives::of(response.headers());
                let explicit = rd.cc.seconds("max-age").is_some_and(|v| v.is_ok())
                    || rd.cc.seconds("s-maxage").is_some_and(|v| v.is_ok())
                    || response.headers().contains_key(header::EXPIRES);
                if name == header::CONTENT_LOCATION
                    && target_key == key
                    && method == Method::POST
                    && matches!(status, 200 | 203)
                    && explicit
                {
                    let (h, b, st) = (
                        response.headers().clone(),
                        response.body().clone(),
                        response.status(),
                    );
                    self.store_response(
                        &key,
                        &Method::GET,
                        &req_headers,
                        &h,
                        st,
                        &b,
                        request_time,
                        response_time,
                    )
                    .await;
                }
            }
        }
        Ok(response)
    }

    /// Removes the stored responses for `key` (and its `Vary` variants) from every tier.
    async fn invalidate(&self, key: &str) -> u64 {
        let mut removed = 0;
        let variants = format!("{key}\u{0}");
        for tier in &self.inner.tiers {
            if let Ok(Some(e)) = tier.get(key).await {
                if !e.vary.is_empty() {
                    removed += tier.purge_prefix(&variants).await.unwrap_or(0);
                }
            }
            if tier.remove(key).await.unwrap_or(false) {
                removed += 1;
            }
            if tier.remove(&partial_key(key)).await.unwrap_or(false) {
                removed += 1;
            }
        }
        Counters::add(&self.inner.counters.purged, removed);
        removed
    }

    /// Purges the stored response for a cache key (see [`Edge::cache_key`]) and its `Vary` variants from
    /// every tier; returns how many entries were removed.
    pub async fn purge_key(&self, key: &str) -> u64 {
        self.invalidate(key).await
    }

    /// Purges every stored response whose key starts with `prefix`, from every tier.
    ///
    /// # Errors
    /// A tier's failure; the tiers before it are purged.
    pub async fn purge_prefix(&self, prefix: &str) -> Result<u64> {
        let mut removed = 0;
        for tier in &self.inner.tiers {
            removed += tier.purge_prefix(prefix).await?;
        }
        Counters::add(&self.inner.counters.purged, removed);
        Ok(removed)
    }

    /// Purges every stored response tagged `tag` by its `Surrogate-Key` header, from every tier.
    ///
    /// # Errors
    /// A tier's failure; the tiers before it are purged.
    pub async fn purge_tag(&self, tag: &str) -> Result<u64> {
        let mut removed = 0;
        for tier in &self.inner.tiers {
            removed += tier.purge_tag(tag).await?;
        }
        Counters::add(&self.inner.counters.purged, removed);
        Ok(removed)
    }

    /// Soft purge: marks every stored response tagged `tag` stale, so the next request for it revalidates
    /// with the origin (a `304` makes it fresh again without a new body). Returns how many were marked.
    ///
    /// # Errors
    /// A tier's failure.
    pub async fn soft_purge_tag(&self, tag: &str) -> Result<u64> {
        self.soft_purge(&|_: &str, e: &Entry| e.has_tag(tag)).await
    }

    /// Soft purge of one cache key and its `Vary` variants; see [`Edge::soft_purge_tag`].
    ///
    /// # Errors
    /// A tier's failure.
    pub async fn soft_purge_key(&self, key: &str) -> Result<u64> {
        let variants = format!("{key}\u{0}");
        self.soft_purge(&|k: &str, _: &Entry| k == key || k.starts_with(&variants))
            .await
    }

    async fn soft_purge(
        &self,
        select: &(dyn Fn(&str, &Entry) -> bool + Send + Sync),
    ) -> Result<u64> {
        let mut marked = 0;
        for tier in &self.inner.tiers {
            let found: Mutex<Vec<(String, Entry)>> = Mutex::new(Vec::new());
            tier.retain(&|k: &str, e: &Entry| {
                if !e.invalidated && select(k, e) {
                    found.lock().push((k.to_string(), e.clone()));
                }
                true
            })
            .await?;
            let found = found.into_inner();
            for (k, e) in found {
                if tier.insert(&k, Arc::new(e.with_invalidated(true))).await? {
                    marked += 1;
                }
            }
        }
        Ok(marked)
    }
}

/// The stored response updated by a `304 Not Modified` (RFC 9111 section 3.2): the 304's fields replace the
/// stored ones, except the framing and connection fields.
fn refresh(
    stored: &Entry,
    not_modified: &HeaderMap,
    request_time: SystemTime,
    response_time: SystemTime,
) -> Entry {
    let mut headers = stored.headers.clone();
    let mut seen: Vec<HeaderName> = Vec::new();
    let mut update = not_modified.clone();
    strip_hop_by_hop(&mut update);
    for (name, value) in &update {
        if name == header::CONTENT_LENGTH {
            continue;
        }
        if !seen.contains(name) {
            headers.remove(name);
            seen.push(name.clone());
        }
        headers.append(name.clone(), value.clone());
    }
    let mut entry = Entry::new(
        stored.status,
        headers,
        stored.body.clone(),
        request_time,
        response_time,
    );
    entry.vary = stored.vary.clone();
    entry
}

/// The one byte range a request asks for, resolved against a representation of `len` bytes:
/// `None` when the request does not ask for exactly one byte range (or has `If-Range`), `Some(None)` when the
/// range is unsatisfiable, else the first and last positions.
fn requested_range(req_headers: &HeaderMap, len: u64) -> Option<Option<(u64, u64)>> {
    if req_headers.contains_key(header::IF_RANGE) {
        return None;
    }
    let spec = req_headers
        .get(header::RANGE)?
        .to_str()
        .ok()?
        .trim()
        .strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.trim().split_once('-')?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let range = match (first.trim(), last.trim()) {
        (f, "") if digits(f) => f.parse::<u64>().ok().map(|f| (f, len.saturating_sub(1))),
        ("", n) if digits(n) => n
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .map(|n| (len.saturating_sub(n), len.saturating_sub(1))),
        (f, l) if digits(f) && digits(l) => match (f.parse::<u64>(), l.parse::<u64>()) {
            (Ok(f), Ok(l)) if f <= l => Some((f, l.min(len.saturating_sub(1)))),
            _ => return None,
        },
        _ => return None,
    };
    Some(range.filter(|(start, end)| *start < len && start <= end))
}

/// A `206` of `[start, end]` of a representation of `total` bytes, from a stored part that holds the bytes
/// from position `offset` on: `None` unless the part holds every requested byte.
fn serve_from_part(
    part: &Entry,
    req_headers: &HeaderMap,
    method: &Method,
) -> Option<Response<Bytes>> {
    let (offset, last, total) = content_range(&part.headers)?;
    let have_last = last.min(offset + (part.body.len() as u64).checked_sub(1)?);
    let (start, end) = requested_range(req_headers, total)??;
    if start < offset || end > have_last {
        return None;
    }
    let body = part
        .body
        .slice((start - offset) as usize..=(end - offset) as usize);
    let mut response = Response::new(if method == Method::HEAD {
        Bytes::new()
    } else {
        body
    });
    *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    *response.headers_mut() = part.headers.clone();
    response.headers_mut().remove(header::CONTENT_LENGTH);
    let value = format!("bytes {start}-{end}/{total}");
    response
        .headers_mut()
        .insert(header::CONTENT_RANGE, HeaderValue::from_str(&value).ok()?);
    Some(response)
}

/// `Content-Range: bytes first-last/complete` with a known complete length.
fn content_range(headers: &HeaderMap) -> Option<(u64, u64, u64)> {
    let v = headers.get(header::CONTENT_RANGE)?.to_str().ok()?.trim();
    let (range, total) = v.strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let (first, last, total) = (first.parse().ok()?, last.parse().ok()?, total.parse().ok()?);
    (first <= last && last < total).then_some((first, last, total))
}

fn partial_key(key: &str) -> String {
    format!("{key}\u{0}partial")
}

/// Serves one byte range of a complete `200` (RFC 9110 section 14): `206` with `Content-Range`, or `416`
/// when unsatisfiable. Several ranges, other units, `If-Range` and anything malformed get the whole
/// response.
fn apply_range(response: Response<Bytes>, req_headers: &HeaderMap) -> Response<Bytes> {
    if response.status() != StatusCode::OK {
        return response;
    }
    let len = response.body().len() as u64;
    let Some(range) = requested_range(req_headers, len) else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    match range {
        Some((start, end)) if start < len && start <= end => {
            parts.status = StatusCode::PARTIAL_CONTENT;
            let value = format!("bytes {start}-{end}/{len}");
            parts.headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("bytes */0")),
            );
            Response::from_parts(parts, body.slice(start as usize..=end as usize))
        }
        _ => {
            parts.status = StatusCode::RANGE_NOT_SATISFIABLE;
            let value = format!("bytes */{len}");
            parts.headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("bytes */0")),
            );
            Response::from_parts(parts, Bytes::new())
        }
    }
}

/// Answers the client's own `If-None-Match` / `If-Modified-Since` from a full response (RFC 9110 section
/// 13.2.2): a `304` when the representation is unchanged.
fn apply_client_conditionals(
    response: Response<Bytes>,
    req_headers: &HeaderMap,
) -> Response<Bytes> {
    if response.status() != StatusCode::OK {
        return response;
    }
    // entity tags may hold obs-text: compare bytes (as Latin-1 text), not only visible ASCII
    let text = |v: &HeaderValue| {
        v.as_bytes()
            .iter()
            .map(|b| char::from(*b))
            .collect::<String>()
    };
    let not_modified = if let Some(inm) = req_headers.get(header::IF_NONE_MATCH).map(text) {
        response
            .headers()
            .get(header::ETAG)
            .map(text)
            .is_some_and(|etag| etag_list_matches(&inm, &etag))
    } else if let Some(ims) = req_headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(freshness::parse_date)
    {
        response
            .headers()
            .get(header::LAST_MODIFIED)
            .and_then(|v| v.to_str().ok())
            .and_then(freshness::parse_date)
            .is_some_and(|lm| lm <= ims)
    } else {
        false
    };
    if !not_modified {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.status = StatusCode::NOT_MODIFIED;
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Bytes::new())
}
