//! Conditional requests: the client's own `If-None-Match` / `If-Modified-Since` answered from cache, and the
//! stored response refreshed by a `304 Not Modified`.

use std::time::SystemTime;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};

use super::headers::strip_hop_by_hop;
use crate::tier::Entry;
use crate::types::freshness;

/// Weak comparison of entity tags (RFC 9110 section 8.8.3.2).
pub(super) fn etag_list_matches(list: &str, etag: &str) -> bool {
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let etag = strip(etag);
    list.split(',').any(|t| t.trim() == "*" || strip(t) == etag)
}

/// Answers the client's own `If-None-Match` / `If-Modified-Since` from a full response (RFC 9110 section
/// 13.2.2): a `304` when the representation is unchanged.
pub(super) fn apply_client_conditionals(
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

/// The stored response updated by a `304 Not Modified` (RFC 9111 section 3.2): the 304's fields replace the
/// stored ones, except the framing and connection fields.
pub(super) fn refresh(
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
