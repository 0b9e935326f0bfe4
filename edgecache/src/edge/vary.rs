//! `Vary`: the request fields that select a stored variant, and the secondary keys variants are stored under.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::tier::Entry;

/// A request's value for a `Vary`-named field: all lines, members trimmed, joined by `,`.
///
/// For the negotiation fields (`Accept`, `Accept-Encoding`, `Accept-Language`) members are compared without
/// letter case and order, so `en, de` and `De, EN` select the same variant.
pub(super) fn vary_value(headers: &HeaderMap, name: &str) -> Option<HeaderValue> {
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

pub(super) fn vary_matches(entry: &Entry, headers: &HeaderMap) -> bool {
    entry
        .vary
        .iter()
        .all(|(name, stored)| vary_value(headers, name.as_str()) == *stored)
}

/// Whether a response that varies only on `Accept-Language` and is in one language (`Content-Language`) is
/// what the origin would choose for this request too: that language is the request's single most preferred
/// one (highest `q`), so an origin that has it serves it.
pub(super) fn language_negotiation_matches(entry: &Entry, headers: &HeaderMap) -> bool {
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

pub(super) fn secondary_key(primary: &str, names: &[HeaderName], headers: &HeaderMap) -> String {
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
