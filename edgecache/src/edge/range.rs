//! Byte ranges (RFC 9110 section 14): one range served from a complete response, and stored `206` parts
//! (the partial slot of a key). Pure helpers; completing a stored prefix from the origin is in `fetch.rs`.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

use crate::tier::Entry;

/// A parsed `Content-Range` field value in bytes (RFC 9110 section 14.4), parsed strictly: the unit `bytes`
/// (any letter case), one space, then positions of decimal digits only (no sign, no space, no hex) that fit in
/// a `u64`, with `first <= last < complete`.
///
/// ```
/// use edgecache::edge::ContentRange;
///
/// assert_eq!(
///     ContentRange::parse(b"bytes 0-9/10"),
///     Some(ContentRange::Bytes { first: 0, last: 9, complete: Some(10) })
/// );
/// assert_eq!(ContentRange::parse(b"bytes */10"), Some(ContentRange::Unsatisfied { complete: 10 }));
/// assert_eq!(ContentRange::parse(b"bytes +0-+9/+10"), None);
/// assert_eq!(ContentRange::parse(b"bytes 5-4/10"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContentRange {
    /// `bytes first-last/complete`: the part holds positions `first..=last`; `complete` is the length of the
    /// whole representation, `None` when the origin sent `*` (unknown).
    Bytes {
        /// The first position held.
        first: u64,
        /// The last position held (inclusive).
        last: u64,
        /// The complete length, if known.
        complete: Option<u64>,
    },
    /// `bytes */complete`: the range asked for was not satisfiable (with a `416`).
    Unsatisfied {
        /// The complete length.
        complete: u64,
    },
}

/// `1*DIGIT` as a `u64`: `None` for anything else (signs, spaces, an empty string) or an overflow.
fn digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Whether a field value begins with the range unit `bytes` followed by `sep`.
fn strip_bytes_unit(value: &[u8], sep: u8) -> Option<&[u8]> {
    let value = value.trim_ascii();
    let (unit, rest) = value.split_at_checked(5)?;
    (unit.eq_ignore_ascii_case(b"bytes") && rest.first() == Some(&sep)).then(|| &rest[1..])
}

impl ContentRange {
    /// Parses a `Content-Range` field value; `None` unless it is a valid `bytes` range (see the type's docs).
    pub fn parse(value: &[u8]) -> Option<Self> {
        let rest = strip_bytes_unit(value, b' ')?;
        let slash = rest.iter().position(|b| *b == b'/')?;
        let (range, complete) = (&rest[..slash], &rest[slash + 1..]);
        if range == b"*" {
            return Some(ContentRange::Unsatisfied {
                complete: digits(complete)?,
            });
        }
        let dash = range.iter().position(|b| *b == b'-')?;
        let (first, last) = (digits(&range[..dash])?, digits(&range[dash + 1..])?);
        let complete = if complete == b"*" {
            None
        } else {
            Some(digits(complete)?)
        };
        (first <= last && complete.is_none_or(|c| last < c)).then_some(ContentRange::Bytes {
            first,
            last,
            complete,
        })
    }
}

/// One range of a `Range: bytes=...` request field (RFC 9110 section 14.1.2), parsed strictly: positions are
/// decimal digits only, with no sign or space inside a range.
///
/// ```
/// use edgecache::edge::RangeSpec;
///
/// assert_eq!(
///     RangeSpec::parse_set(b"bytes=0-4, 10-, -3"),
///     Some(vec![RangeSpec::FromTo(0, 4), RangeSpec::From(10), RangeSpec::Suffix(3)])
/// );
/// assert_eq!(RangeSpec::parse_set(b"bytes=+0-+4"), None);
/// assert_eq!(RangeSpec::FromTo(2, 99).resolve(10), Some((2, 9)));
/// assert_eq!(RangeSpec::Suffix(3).resolve(10), Some((7, 9)));
/// assert_eq!(RangeSpec::From(10).resolve(10), None); // unsatisfiable
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `first-last` (inclusive).
    FromTo(u64, u64),
    /// `first-`: from `first` to the end.
    From(u64),
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

impl RangeSpec {
    /// Parses a `Range` field value: the unit `bytes` (any letter case), `=`, and a comma-separated list of
    /// range specs (optional whitespace around the commas; empty list elements ignored). `None` when the
    /// value is not a valid byte-range set: another unit, a sign, a space inside a range, `first > last`,
    /// a position that does not fit in a `u64`, or no range at all.
    pub fn parse_set(value: &[u8]) -> Option<Vec<RangeSpec>> {
        let rest = strip_bytes_unit(value, b'=')?;
        let mut specs = Vec::new();
        for element in rest.split(|b| *b == b',') {
            let element = element.trim_ascii();
            if element.is_empty() {
                continue;
            }
            let dash = element.iter().position(|b| *b == b'-')?;
            let (first, last) = (&element[..dash], &element[dash + 1..]);
            specs.push(match (first.is_empty(), last.is_empty()) {
                (true, _) => RangeSpec::Suffix(digits(last)?),
                (false, true) => RangeSpec::From(digits(first)?),
                (false, false) => {
                    let (f, l) = (digits(first)?, digits(last)?);
                    if f > l {
                        return None;
                    }
                    RangeSpec::FromTo(f, l)
                }
            });
        }
        (!specs.is_empty()).then_some(specs)
    }

    /// The first and last positions this range selects of a representation of `len` bytes; `None` when it
    /// is unsatisfiable (it starts at or past the end, or is a suffix of zero bytes).
    pub fn resolve(self, len: u64) -> Option<(u64, u64)> {
        let end = len.checked_sub(1)?;
        let (first, last) = match self {
            RangeSpec::FromTo(f, l) => (f, l.min(end)),
            RangeSpec::From(f) => (f, end),
            RangeSpec::Suffix(0) => return None,
            RangeSpec::Suffix(n) => (len.saturating_sub(n), end),
        };
        (first < len && first <= last).then_some((first, last))
    }
}

/// The one byte range a request asks for, resolved against a representation of `len` bytes:
/// `None` when the request does not ask for exactly one valid byte range (or has `If-Range`), `Some(None)`
/// when the range is unsatisfiable, else the first and last positions.
fn requested_range(req_headers: &HeaderMap, len: u64) -> Option<Option<(u64, u64)>> {
    if req_headers.contains_key(header::IF_RANGE) {
        return None;
    }
    let mut values = req_headers.get_all(header::RANGE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    match RangeSpec::parse_set(value.as_bytes())?.as_slice() {
        [one] => Some(one.resolve(len)),
        _ => None,
    }
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
    match ContentRange::parse(headers.get(header::CONTENT_RANGE)?.as_bytes())? {
        ContentRange::Bytes {
            first,
            last,
            complete: Some(total),
        } => Some((first, last, total)),
        _ => None,
    }
}

/// A `206` from the origin made safe to pass on and store (RFC 9110 section 15.3.7): a single part's body cut
/// to the bytes its `Content-Range` names. `None` (the edge answers `502`) for a part that holds no byte or
/// whose `bytes` range does not parse. A body shorter than its range is passed on as sent (its framing,
/// `Content-Length`, is the body's own; the shared HTTP cache test suite expects the origin's `Content-Range`
/// on it) and serves from cache only the bytes it holds. A `206` for several ranges (`multipart/byteranges`,
/// no `Content-Range`) and a range in another unit are passed on as they are.
pub(super) fn consistent_partial(headers: &HeaderMap, body: Bytes) -> Option<Bytes> {
    let Some(value) = headers.get(header::CONTENT_RANGE) else {
        return Some(body);
    };
    let (first, last) = match ContentRange::parse(value.as_bytes()) {
        Some(ContentRange::Bytes { first, last, .. }) => (first, last),
        // a `bytes` range that does not parse (a sign, a space, `first > last`) describes nothing
        _ if strip_bytes_unit(value.as_bytes(), b' ').is_some() => return None,
        _ => return Some(body), // another unit: not ours to check
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every well-formed value parses back to what was formatted; arbitrary bytes never panic, and what
        /// parses satisfies the type's invariants.
        #[test]
        fn content_range_round_trips_and_never_panics(
            first in any::<u64>(), len in any::<u64>(), extra in any::<u64>(), junk in proptest::collection::vec(any::<u8>(), 0..40)
        ) {
            let last = first.saturating_add(len);
            let complete = last.checked_add(1).map(|c| c.saturating_add(extra));
            let text = match complete {
                Some(c) => format!("bytes {first}-{last}/{c}"),
                None => format!("bytes {first}-{last}/*"),
            };
            prop_assert_eq!(ContentRange::parse(text.as_bytes()), Some(ContentRange::Bytes { first, last, complete }));
            prop_assert_eq!(ContentRange::parse(format!("bytes +{first}-{last}/*").as_bytes()), None);
            if let Some(ContentRange::Bytes { first, last, complete }) = ContentRange::parse(&junk) {
                prop_assert!(first <= last && complete.is_none_or(|c| last < c));
            }
            if let Some(specs) = RangeSpec::parse_set(&junk) {
                prop_assert!(!specs.is_empty());
                for spec in specs {
                    if let Some((f, l)) = spec.resolve(extra) {
                        prop_assert!(f <= l && l < extra);
                    }
                }
            }
        }
    }

    #[test]
    fn range_sets_are_parsed_strictly() {
        for bad in [
            &b"bytes=+0-4"[..],
            b"bytes=0-+4",
            b"bytes = 0-4",
            b"bytes=0 -4",
            b"bytes=5-4",
            b"bytes=",
            b"bytes=,",
            b"items=0-4",
            b"bytes=18446744073709551616-",
            b"bytes=0x1-2",
        ] {
            assert_eq!(
                RangeSpec::parse_set(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            RangeSpec::parse_set(b"BYTES=0-0,,  -1 ,\t5-"),
            Some(vec![
                RangeSpec::FromTo(0, 0),
                RangeSpec::Suffix(1),
                RangeSpec::From(5)
            ])
        );
        assert_eq!(RangeSpec::Suffix(99).resolve(10), Some((0, 9)));
        assert_eq!(RangeSpec::Suffix(0).resolve(10), None);
        assert_eq!(RangeSpec::FromTo(0, 0).resolve(0), None);
    }
}
