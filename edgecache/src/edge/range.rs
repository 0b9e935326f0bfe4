//! Byte ranges (RFC 9110 section 14): one range served from a complete response, stored `206` parts, and a
//! stored prefix completed from the origin (RFC 9111 section 3.4).

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};

use super::directives::Directives;
use super::headers::{ensure_date, strip_hop_by_hop};
use super::metrics::Counters;
use super::{Decision, Edge};
use crate::error::Result;
use crate::tier::Entry;

impl Edge {
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
pub(super) fn serve_from_part(
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
pub(super) fn content_range(headers: &HeaderMap) -> Option<(u64, u64, u64)> {
    let v = headers.get(header::CONTENT_RANGE)?.to_str().ok()?.trim();
    let (range, total) = v.strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let (first, last, total) = (first.parse().ok()?, last.parse().ok()?, total.parse().ok()?);
    (first <= last && last < total).then_some((first, last, total))
}

pub(super) fn partial_key(key: &str) -> String {
    format!("{key}\u{0}partial")
}

/// Serves one byte range of a complete `200` (RFC 9110 section 14): `206` with `Content-Range`, or `416`
/// when unsatisfiable. Several ranges, other units, `If-Range` and anything malformed get the whole
/// response.
pub(super) fn apply_range(response: Response<Bytes>, req_headers: &HeaderMap) -> Response<Bytes> {
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
