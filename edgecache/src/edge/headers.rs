//! Header helpers shared by the engine: hop-by-hop fields, `Date`, bodiless responses.

use std::time::SystemTime;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};

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
pub(super) fn ensure_date(headers: &mut HeaderMap, received: SystemTime) {
    if !headers.contains_key(header::DATE) {
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(received)) {
            headers.insert(header::DATE, v);
        }
    }
}

pub(super) fn strip_hop_by_hop(headers: &mut HeaderMap) {
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

/// Sets the framing fields of a response the edge answers with: they are the edge's own, computed from the
/// body it serves, never the origin's (RFC 9110 section 8.6, RFC 9112 section 6). `Transfer-Encoding` is
/// removed (the body is whole); a `1xx`, `204` or `304` has no body and no `Content-Length`; any other
/// response to `GET` and the rest has `Content-Length` set to its body's length. A response to `HEAD` has no
/// body; its `Content-Length`, the length a `GET` would get, is kept when it is one decimal number (the edge
/// set it from the stored body, or the origin's answer to `HEAD` gave it), else removed.
pub(super) fn frame(mut response: Response<Bytes>, head: bool) -> Response<Bytes> {
    let status = response.status();
    let head_length = if head {
        let mut values = response.headers().get_all(header::CONTENT_LENGTH).iter();
        match (values.next(), values.next()) {
            (Some(v), None) if !v.is_empty() && v.as_bytes().iter().all(u8::is_ascii_digit) => {
                Some(v.clone())
            }
            _ => None,
        }
    } else {
        None
    };
    let headers = response.headers_mut();
    headers.remove(header::TRANSFER_ENCODING);
    headers.remove(header::CONTENT_LENGTH);
    let bodiless = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    if head || bodiless {
        if let (Some(v), false) = (head_length, bodiless) {
            headers.insert(header::CONTENT_LENGTH, v);
        }
        *response.body_mut() = Bytes::new();
        return response;
    }
    let length = HeaderValue::from(response.body().len());
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, length);
    response
}

/// Marks a response from the origin whose body is shorter than its `Content-Length`: an incomplete response,
/// passed on but never stored (RFC 9111 section 3.3).
#[derive(Debug, Clone, Copy)]
pub(super) struct Incomplete;

/// Reads an origin response's `Content-Length` as an HTTP/1.1 connection would (RFC 9112 section 6.3): a body
/// longer than it is cut to it, a shorter one is marked [`Incomplete`]. `Err` names what is wrong with a
/// `Content-Length` that is not one decimal number (a list of equal numbers is one), which a proxy treats as
/// an unrecoverable error. Responses to `HEAD` and with `1xx`, `204` or `304` carry no body this field frames.
pub(super) fn apply_origin_length(
    response: Response<Bytes>,
    head: bool,
) -> std::result::Result<Response<Bytes>, String> {
    let status = response.status();
    if head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok(response);
    }
    let mut declared: Option<u64> = None;
    for value in response.headers().get_all(header::CONTENT_LENGTH) {
        for member in value.as_bytes().split(|b| *b == b',') {
            let member = member.trim_ascii();
            let n = std::str::from_utf8(member)
                .ok()
                .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|m| m.parse::<u64>().ok())
                .ok_or_else(|| {
                    format!(
                        "invalid Content-Length {:?}",
                        String::from_utf8_lossy(value.as_bytes())
                    )
                })?;
            if declared.is_some_and(|d| d != n) {
                return Err(format!(
                    "conflicting Content-Length values {declared:?} and {n}"
                ));
            }
            declared = Some(n);
        }
    }
    let Some(declared) = declared else {
        return Ok(response);
    };
    let (parts, body) = response.into_parts();
    let mut response = match usize::try_from(declared) {
        Ok(n) if n < body.len() => Response::from_parts(parts, body.slice(..n)),
        _ => Response::from_parts(parts, body),
    };
    if (response.body().len() as u64) < declared {
        response.extensions_mut().insert(Incomplete);
    }
    Ok(response)
}

/// `400 Bad Request` for a request the edge cannot answer, its body the reason.
pub(super) fn bad_request(error: &crate::Error) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(error.to_string()));
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

pub(super) fn simple_response(status: StatusCode) -> Response<Bytes> {
    let mut r = Response::new(Bytes::new());
    *r.status_mut() = status;
    r
}
