//! The parts of SigV4 that both sides compute: encoding, the canonical request, the string to sign and the
//! signing key.

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

use super::{ALGORITHM, SERVICE, UNSIGNED_PAYLOAD};

pub(super) type HmacSha256 = Hmac<Sha256>;

/// What SigV4 leaves unencoded in a query component: the unreserved characters of RFC 3986.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The same for a path, where `/` separates segments and stays as it is.
const PATH: &AsciiSet = &QUERY.remove(b'/');

/// `s` encoded as a SigV4 query name or value.
pub(super) fn encode_query(s: &str) -> String {
    utf8_percent_encode(s, QUERY).to_string()
}

/// A decoded path encoded once, as S3 canonicalises it (no double encoding, no normalisation).
pub(super) fn encode_path(s: &str) -> String {
    utf8_percent_encode(s, PATH).to_string()
}

/// The canonical query string: every pair encoded, sorted by name then value, joined by `&`.
pub(super) fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (encode_query(k), encode_query(v)))
        .collect();
    encoded.sort();
    let parts: Vec<String> = encoded
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    parts.join("&")
}

/// A header value as SigV4 canonicalises it: trimmed, inner runs of spaces folded to one.
fn canonical_header_value(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The canonical request of a presigned request. `headers` are the signed headers, names lowercase,
/// sorted, with their values.
pub(super) fn canonical_request(
    method: &str,
    encoded_path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(method);
    out.push('\n');
    out.push_str(if encoded_path.is_empty() {
        "/"
    } else {
        encoded_path
    });
    out.push('\n');
    out.push_str(&canonical_query(query));
    out.push('\n');
    for (name, value) in headers {
        out.push_str(name);
        out.push(':');
        out.push_str(&canonical_header_value(value));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_header_names(headers));
    out.push('\n');
    out.push_str(UNSIGNED_PAYLOAD);
    out
}

/// The `SignedHeaders` value: the names joined by `;`.
pub(super) fn signed_header_names(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";")
}

/// `date/region/s3/aws4_request`.
pub(super) fn scope(date: &str, region: &str) -> String {
    format!("{date}/{region}/{SERVICE}/aws4_request")
}

/// The string to sign for a canonical request made at `amz_date` (`YYYYMMDDTHHMMSSZ`).
pub(super) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    let hash = hex::encode(Sha256::digest(canonical_request.as_bytes()));
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{hash}")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this never fails; an empty result would only fail verification.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The signing key: `HMAC("AWS4" + secret, date)`, then region, service and `aws4_request`.
pub(super) fn signing_key(secret: &str, date: &str, region: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, SERVICE.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// The signature of `string_to_sign`, as lowercase hex.
pub(super) fn signature(key: &[u8], string_to_sign: &str) -> String {
    hex::encode(hmac(key, string_to_sign.as_bytes()))
}
