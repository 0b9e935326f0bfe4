//! RFC 9111 arithmetic: storability, age, freshness lifetime, stale allowances.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method, StatusCode};

use super::directives::{DELTA_MAX, Directives, parse_cdn, parse_delta};
use super::entry::Entry;

/// Status codes that are heuristically cacheable (RFC 9110 section 15.1).
pub(crate) fn heuristically_cacheable(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200 | 203 | 204 | 206 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    )
}

/// Status codes this cache understands, and so may store with explicit freshness (RFC 9111 section 3).
pub(crate) fn understood(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200..=208 | 226 | 300..=305 | 307 | 308 | 400..=418 | 421..=426 | 428 | 429 | 431 | 451 | 500..=508 | 510 | 511
    ) && status != StatusCode::PARTIAL_CONTENT
}

/// The response directives this cache obeys: `CDN-Cache-Control` when present and valid (RFC 9213: a CDN
/// then ignores `Cache-Control`), else `Cache-Control`.
#[derive(Debug, Clone)]
pub(crate) struct ResponseDirectives {
    pub(crate) cc: Directives,
    /// Whether `cc` came from `CDN-Cache-Control`.
    pub(crate) cdn: bool,
}

impl ResponseDirectives {
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        match parse_cdn(headers) {
            Some(cdn) if !cdn.is_empty() => ResponseDirectives { cc: cdn, cdn: true },
            _ => ResponseDirectives {
                cc: Directives::from_headers(headers, "cache-control"),
                cdn: false,
            },
        }
    }

    /// `no-cache` without a field list, or `Pragma: no-cache` with no `Cache-Control` at all.
    pub(crate) fn no_cache(&self, headers: &HeaderMap) -> bool {
        let directive = match self.cc.get("no-cache") {
            Some(None) => true,
            Some(Some(fields)) => fields.trim().is_empty(),
            None => false,
        };
        directive
            || (!self.cdn
                && self.cc.is_empty()
                && !headers.contains_key("cache-control")
                && pragma_no_cache(headers))
    }

    /// Stale responses must be revalidated (`must-revalidate`, and for a shared cache `proxy-revalidate` and
    /// `s-maxage`).
    pub(crate) fn must_revalidate(&self) -> bool {
        self.cc.has("must-revalidate") || self.cc.has("proxy-revalidate") || self.cc.has("s-maxage")
    }

    /// Fields named by a qualified `no-cache="a, b"` or `private="a"`: they may not be sent from cache
    /// without revalidation, so a shared cache drops them from what it serves.
    pub(crate) fn qualified_fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        for name in ["no-cache", "private"] {
            if let Some(Some(list)) = self.cc.get(name) {
                out.extend(
                    list.split(',')
                        .map(|s| s.trim().to_ascii_lowercase())
                        .filter(|s| !s.is_empty()),
                );
            }
        }
        out
    }
}

/// Whether a `Pragma` field holds `no-cache`.
pub(crate) fn pragma_no_cache(headers: &HeaderMap) -> bool {
    headers
        .get_all("pragma")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-cache"))
}

/// Whether a response to `method` with `request_headers` may be stored by a shared cache (RFC 9111 section 3).
pub(crate) fn storable(
    method: &Method,
    request_headers: &HeaderMap,
    status: StatusCode,
    headers: &HeaderMap,
    rd: &ResponseDirectives,
) -> bool {
    // final, and complete: partial content and 304s are not stored
    if method != Method::GET
        || status.is_informational()
        || status == StatusCode::PARTIAL_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return false;
    }
    let must_understand = rd.cc.has("must-understand");
    if must_understand && !understood(status) {
        return false;
    }
    let req_cc = Directives::from_headers(request_headers, "cache-control");
    if req_cc.has("no-store") || (rd.cc.has("no-store") && !must_understand) {
        return false;
    }
    if matches!(rd.cc.get("private"), Some(None)) {
        return false;
    }
    if vary_names(headers).iter().any(|n| n == "*") {
        return false;
    }
    if request_headers.contains_key(http::header::AUTHORIZATION)
        && !(rd.cc.has("public") || rd.cc.has("s-maxage") || rd.cc.has("must-revalidate"))
    {
        return false;
    }
    rd.cc.has("public")
        || matches!(rd.cc.seconds("max-age"), Some(Ok(_)))
        || matches!(rd.cc.seconds("s-maxage"), Some(Ok(_)))
        || headers.contains_key(http::header::EXPIRES)
        || heuristically_cacheable(status)
        || rd.cc.has("no-cache")
}

/// The lowercase field names listed by `Vary`.
pub(crate) fn vary_names(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn date_header(headers: &HeaderMap, name: &str) -> Option<SystemTime> {
    parse_date(headers.get(name)?.to_str().ok()?)
}

/// Parses an HTTP date in the three formats of RFC 9110 section 5.6.7 (IMF-fixdate, RFC 850 and asctime),
/// with exactly their layout but without regard to letter case and without checking the weekday.
pub(crate) fn parse_date(text: &str) -> Option<SystemTime> {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    const LONG_DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let t = text.trim().to_ascii_lowercase();
    let num = |s: &str, len: usize| -> Option<u32> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let month = |s: &str| MONTHS.iter().position(|m| *m == s).map(|m| m as u32 + 1);
    let clock = |s: &str| -> Option<u32> {
        let mut p = s.split(':');
        let (h, m, sec) = (num(p.next()?, 2)?, num(p.next()?, 2)?, num(p.next()?, 2)?);
        (p.next().is_none() && h < 24 && m < 60 && sec <= 60).then_some(h * 3600 + m * 60 + sec)
    };
    let (day, mon, year, time) = if let Some((wkd, rest)) = t.split_once(", ") {
        let f: Vec<&str> = rest.split(' ').collect();
        if DAYS.contains(&wkd) && f.len() == 5 && f[4] == "gmt" {
            (num(f[0], 2)?, month(f[1])?, num(f[2], 4)?, clock(f[3])?) // IMF-fixdate
        } else if LONG_DAYS.contains(&wkd) && f.len() == 3 && f[2] == "gmt" {
            let d: Vec<&str> = f[0].split('-').collect();
            if d.len() != 3 {
                return None;
            }
            let yy = num(d[2], 2)?;
            (
                num(d[0], 2)?,
                month(d[1])?,
                if yy < 70 { 2000 + yy } else { 1900 + yy },
                clock(f[1])?,
            ) // RFC 850
        } else {
            return None;
        }
    } else {
        // asctime: "Sun Nov  6 08:49:37 1994"
        let (wkd, rest) = t.split_once(' ')?;
        let (mon, rest) = rest.split_once(' ')?;
        let (day, rest) = match rest.strip_prefix(' ') {
            Some(r) => (num(r.get(..1)?, 1)?, r.get(1..)?),
            None => (num(rest.get(..2)?, 2)?, rest.get(2..)?),
        };
        let f: Vec<&str> = rest.strip_prefix(' ')?.split(' ').collect();
        if !DAYS.contains(&wkd) || f.len() != 2 {
            return None;
        }
        (day, month(mon)?, num(f[1], 4)?, clock(f[0])?)
    };
    if !(1..=31).contains(&day) {
        return None;
    }
    let secs = days_from_civil(i64::from(year), mon, day)
        .checked_mul(86_400)?
        .checked_add(i64::from(time))?;
    u64::try_from(secs)
        .ok()
        .map(|s| std::time::UNIX_EPOCH + Duration::from_secs(s))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The `Age` value the response arrived with: the first member of the first line, if a valid delta-seconds.
fn age_value(headers: &HeaderMap) -> u64 {
    headers
        .get(http::header::AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| parse_delta(v.trim()).ok())
        .unwrap_or(0)
}

/// The entry's current age at `now` (RFC 9111 section 4.2.3).
pub(crate) fn current_age(entry: &Entry, now: SystemTime) -> Duration {
    let date = date_header(&entry.headers, "date").unwrap_or(entry.response_time);
    let apparent = entry.response_time.duration_since(date).unwrap_or_default();
    let delay = entry
        .response_time
        .duration_since(entry.request_time)
        .unwrap_or_default();
    let corrected_age = Duration::from_secs(age_value(&entry.headers)).saturating_add(delay);
    let initial = apparent.max(corrected_age);
    let resident = now.duration_since(entry.response_time).unwrap_or_default();
    initial.saturating_add(resident)
}

/// How heuristic freshness is computed for responses without explicit expiration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Heuristic {
    /// Fraction of the time since `Last-Modified` (RFC 9111 suggests 10%).
    pub(crate) fraction: f64,
    /// Upper bound.
    pub(crate) max: Duration,
}

/// The entry's freshness lifetime (RFC 9111 section 4.2.1); zero when it is stale from the start.
pub(crate) fn freshness_lifetime(
    entry: &Entry,
    rd: &ResponseDirectives,
    heuristic: Heuristic,
) -> Duration {
    if rd.cdn {
        if let Some(v) = rd.cc.seconds("max-age") {
            return Duration::from_secs(v.unwrap_or(0));
        }
    } else {
        if let Some(v) = rd.cc.seconds("s-maxage") {
            return Duration::from_secs(v.unwrap_or(0));
        }
        if let Some(v) = rd.cc.seconds("max-age") {
            return Duration::from_secs(v.unwrap_or(0));
        }
    }
    let date = date_header(&entry.headers, "date").unwrap_or(entry.response_time);
    if entry.headers.contains_key(http::header::EXPIRES) {
        // several Expires lines are as invalid as a malformed one: already expired
        let single = entry.headers.get_all(http::header::EXPIRES).iter().count() == 1;
        return match date_header(&entry.headers, "expires").filter(|_| single) {
            Some(expires) => expires.duration_since(date).unwrap_or_default(),
            None => Duration::ZERO,
        };
    }
    if heuristically_cacheable(entry.status) || rd.cc.has("public") {
        if let Some(lm) = date_header(&entry.headers, "last-modified") {
            let since = date.duration_since(lm).unwrap_or_default();
            return since.mul_f64(heuristic.fraction).min(heuristic.max);
        }
    }
    Duration::ZERO
}

/// The number of seconds of a `name=N` directive in either directive list, capped at 2^31.
pub(crate) fn window(cc: &Directives, name: &str) -> Option<Duration> {
    match cc.seconds(name) {
        Some(Ok(v)) => Some(Duration::from_secs(v.min(DELTA_MAX))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use bytes::Bytes;
    use http::HeaderValue;

    use super::*;

    fn entry(headers: &[(&'static str, String)], at: u64) -> Entry {
        let mut map = HeaderMap::new();
        for (n, v) in headers {
            map.append(*n, HeaderValue::from_str(v).unwrap());
        }
        let t = UNIX_EPOCH + Duration::from_secs(at);
        Entry::new(StatusCode::OK, map, Bytes::new(), t, t)
    }

    const H: Heuristic = Heuristic {
        fraction: 0.1,
        max: Duration::from_secs(86_400),
    };

    #[test]
    fn age_adds_resident_time_and_age_header() {
        let t = 1_000_000;
        let e = entry(
            &[
                ("age", "10".into()),
                (
                    "date",
                    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(t)),
                ),
            ],
            t,
        );
        let now = UNIX_EPOCH + Duration::from_secs(t + 5);
        assert_eq!(current_age(&e, now), Duration::from_secs(15));
    }

    #[test]
    fn dates_in_all_three_formats_any_case() {
        let want = Some(UNIX_EPOCH + Duration::from_secs(784_111_777));
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "SUN, 06 NOV 1994 08:49:37 gmt",
        ] {
            assert_eq!(parse_date(text), want, "{text}");
        }
        for bad in [
            "",
            "0",
            "-1",
            "yesterday",
            "Sun, 06 Nov 1994",
            "Sun, 06 Nov 1994 25:00:00 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun 06 Nov 1994 08:49:37 GMT",
            "Sun, 06  Nov  1994 08:49:37 GMT",
            "Sun, 06-Nov-1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Nov 1994 08.49.37 GMT",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn lifetime_precedence() {
        let e = entry(&[("cache-control", "max-age=10, s-maxage=20".into())], 0);
        assert_eq!(
            freshness_lifetime(&e, &ResponseDirectives::of(&e.headers), H),
            Duration::from_secs(20)
        );
        let e = entry(&[("expires", "garbage".into())], 0);
        assert_eq!(
            freshness_lifetime(&e, &ResponseDirectives::of(&e.headers), H),
            Duration::ZERO
        );
        let lm = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(1000));
        let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(2000));
        let e = entry(&[("last-modified", lm), ("date", date)], 2000);
        assert_eq!(
            freshness_lifetime(&e, &ResponseDirectives::of(&e.headers), H),
            Duration::from_secs(100)
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_date_round_trips_and_never_panics(secs in 0u64..8_000_000_000, junk in "\\PC{0,40}") {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            proptest::prop_assert_eq!(parse_date(&httpdate::fmt_http_date(t)), Some(t));
            let _ = parse_date(&junk);
        }
    }
}
