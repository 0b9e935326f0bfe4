//! Going to the origin: coalesced fetches, background revalidation, revalidation with validators, the
//! pass-through of other methods (whose success invalidates), and a stored prefix completed with a range
//! request for the rest (RFC 9111 section 3.4).

use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};

use super::coalesce::{self, Outcome, Role};
use super::conditional::{apply_client_conditionals, refresh};
use super::headers::{
    Incomplete, apply_origin_length, ensure_date, simple_response, strip_hop_by_hop,
};
use super::metrics::Counters;
use super::range::{consistent_partial, content_range, partial_key};
use super::{Decision, Edge, Hit};
use crate::error::{Error, Result};
use crate::types::directives::Directives;
use crate::types::freshness::ResponseDirectives;

impl Edge {
    pub(super) fn revalidate_in_background(&self, key: &str, request: &Request<Bytes>, hit: Hit) {
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

    pub(super) async fn fetch_coalesced(
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

    pub(super) async fn call_origin(&self, request: Request<Bytes>) -> Result<Response<Bytes>> {
        Counters::add(&self.inner.counters.origin_requests, 1);
        let url = request.uri().to_string();
        let head = request.method() == Method::HEAD;
        let out = match self.inner.options.origin_timeout {
            Some(limit) => match self
                .inner
                .clock
                .timeout(limit, self.inner.origin.fetch(request))
                .await
            {
                Ok(r) => r,
                Err(_) => Err(Error::OriginTimeout {
                    url: url.clone(),
                    after: limit,
                }),
            },
            None => self.inner.origin.fetch(request).await,
        };
        let out = out.and_then(|r| {
            apply_origin_length(r, head).map_err(|reason| Error::origin(url, reason))
        });
        match &out {
            Ok(r) => Counters::add(&self.inner.counters.origin_bytes, r.body().len() as u64),
            Err(_) => Counters::add(&self.inner.counters.origin_errors, 1),
        }
        out
    }

    /// Goes to the origin for `request`, revalidating `stored` when it has validators, and stores the result.
    pub(super) async fn fetch(
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
        let complete = rparts.extensions.get::<Incomplete>().is_none();
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
        let rbody = if rparts.status == StatusCode::PARTIAL_CONTENT && parts.method != Method::HEAD
        {
            match consistent_partial(&rparts.headers, rbody) {
                Some(body) => body,
                None => {
                    // a part that holds none of the bytes it names: never passed on, never stored
                    Counters::add(&self.inner.counters.origin_errors, 1);
                    return Ok(simple_response(StatusCode::BAD_GATEWAY));
                }
            }
        } else {
            rbody
        };
        strip_hop_by_hop(&mut rparts.headers);
        let stored_now = complete
            && self
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

    /// Forwards a request with a method the cache does not serve; a successful unsafe method invalidates.
    pub(super) async fn pass(
        &self,
        key: String,
        request: Request<Bytes>,
    ) -> Result<Response<Bytes>> {
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
                    && response.extensions().get::<Incomplete>().is_none()
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

    /// For a full `GET` while only a fresh prefix of the representation is stored: asks the origin for the
    /// rest (`Range: bytes=N-`) and combines the two into the complete response, which is stored (RFC 9111
    /// section 3.4). `None` when there is no such prefix, or the origin's answer cannot be combined; the
    /// caller then fetches as usual.
    pub(super) async fn complete_partial(
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
        if rparts.extensions.get::<Incomplete>().is_some() {
            return None; // cannot combine: fetch the whole representation as usual
        }
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
}
