//! Byte ranges (RFC 9110 section 14): one range served from a complete response, and stored `206` parts
//! (the partial slot of a key). Pure helpers; completing a stored prefix from the origin is in `fetch.rs`.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

use crate::tier::Entry;

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
    // checked: an origin's positions may be anywhere up to u64::MAX
    let have_last = last.min(offset.checked_add((part.body.len() as u64).checked_sub(1)?)?);
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

/// A `206` from the origin made safe to pass on and store (RFC 9110 section 15.3.7): a single part's body cut
/// to the bytes its `Content-Range` names. `None` for a part that holds no byte, which the edge answers with a
/// `502`. A body shorter than its range is passed on as sent (its framing, `Content-Length`, is the body's own;
/// the shared HTTP cache test suite expects the origin's `Content-Range` on it) and serves from cache only the
/// bytes it holds. A `206` for several ranges (`multipart/byteranges`, no `Content-Range`) and a range in
/// another unit are passed on as they are.
pub(super) fn consistent_partial(headers: &HeaderMap, body: Bytes) -> Option<Bytes> {
    let Some((first, last, _)) = content_range(headers) else {
        return Some(body);
    };
    let held = (body.len() as u64).min(last - first + 1); // last >= first: no overflow
    (held > 0).then(|| body.slice(..held as usize))
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
