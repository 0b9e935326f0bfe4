//! Verifying presigned requests, as S3 does on receipt.

use std::time::{Duration, SystemTime};

use chrono::NaiveDateTime;
use hmac::Mac;
use percent_encoding::percent_decode_str;

use super::canonical::{HmacSha256, canonical_request, scope, signing_key, string_to_sign};
use super::{ALGORITHM, MAX_EXPIRES_SECS, MIN_EXPIRES_SECS, SERVICE};
use crate::error::{Error, Result};

/// A request as it arrived: method, host, the raw (still encoded) path and query, and its headers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignedRequest {
    /// The HTTP method.
    pub method: String,
    /// The path as sent, percent-encoded (`/bucket/my%20key`).
    pub path: String,
    /// The query as sent, without the `?`.
    pub query: String,
    /// The request's headers (any case); `host` among them, or taken from [`host`](Self::host).
    pub headers: Vec<(String, String)>,
    /// The `Host` the request was sent to.
    pub host: String,
}

impl SignedRequest {
    /// A request of `method` to `host` with `path_and_query` as sent (`/b/k?X-Amz-...`), no other headers.
    pub fn from_path_and_query(method: &str, host: &str, path_and_query: &str) -> Self {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        SignedRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            headers: Vec::new(),
            host: host.to_string(),
        }
    }

    /// Adds a header the request carries.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Who signed a request that verified, and until when it is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The access key id that signed it.
    pub access_key_id: String,
    /// When it stops being valid.
    pub expires_at: SystemTime,
    /// The headers the signature covers (lowercase).
    pub signed_headers: Vec<String>,
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::AuthorizationQueryParametersError {
        reason: reason.into(),
    }
}

fn decode(s: &str, what: &str) -> Result<String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| malformed(format!("{what} {s:?} is not percent-encoded UTF-8")))
}

/// The signing parameters of a presigned query, taken out of it.
struct Params {
    credential: String,
    date: String,
    expires: u64,
    signed_headers: Vec<String>,
    signature: String,
    /// Every pair but `X-Amz-Signature`, decoded: what the canonical query is made of.
    signed_query: Vec<(String, String)>,
}

fn parse_query(query: &str) -> Result<Params> {
    let mut signed_query = Vec::new();
    let (mut algorithm, mut credential, mut date, mut expires, mut headers, mut signature) =
        (None, None, None, None, None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k, "query name")?, decode(v, "query value")?);
        let slot = match k.as_str() {
            "X-Amz-Algorithm" => Some(&mut algorithm),
            "X-Amz-Credential" => Some(&mut credential),
            "X-Amz-Date" => Some(&mut date),
            "X-Amz-Expires" => Some(&mut expires),
            "X-Amz-SignedHeaders" => Some(&mut headers),
            "X-Amz-Signature" => Some(&mut signature),
            _ => None,
        };
        if let Some(slot) = slot {
            if slot.is_some() {
                return Err(malformed(format!(
                    "query parameter {k} appears more than once"
                )));
            }
            *slot = Some(v.clone());
        }
        if k != "X-Amz-Signature" {
            signed_query.push((k, v));
        }
    }
    let need = |v: Option<String>, name: &str| {
        v.ok_or_else(|| malformed(format!("query parameter {name} is missing")))
    };
    let algorithm = need(algorithm, "X-Amz-Algorithm")?;
    if algorithm != ALGORITHM {
        return Err(malformed(format!(
            "X-Amz-Algorithm only supports \"{ALGORITHM}\"; got {algorithm:?}"
        )));
    }
    let expires_text = need(expires, "X-Amz-Expires")?;
    let expires: u64 = expires_text.parse().map_err(|_| {
        malformed(format!(
            "X-Amz-Expires should be a number; got {expires_text:?}"
        ))
    })?;
    if !(MIN_EXPIRES_SECS..=MAX_EXPIRES_SECS).contains(&expires) {
        return Err(malformed(format!(
            "X-Amz-Expires must be from {MIN_EXPIRES_SECS} to {MAX_EXPIRES_SECS} seconds (7 days); got {expires}"
        )));
    }
    let signature = need(signature, "X-Amz-Signature")?;
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed("X-Amz-Signature must be 64 hexadecimal digits"));
    }
    let signed_headers: Vec<String> = need(headers, "X-Amz-SignedHeaders")?
        .split(';')
        .map(str::to_string)
        .collect();
    if !signed_headers.iter().any(|h| h == "host") {
        return Err(malformed("X-Amz-SignedHeaders must include host"));
    }
    if signed_headers.windows(2).any(|w| w[0] >= w[1])
        || signed_headers
            .iter()
            .any(|h| h.is_empty() || *h != h.to_ascii_lowercase())
    {
        return Err(malformed(
            "X-Amz-SignedHeaders must be lowercase names, sorted, without repeats",
        ));
    }
    Ok(Params {
        credential: need(credential, "X-Amz-Credential")?,
        date: need(date, "X-Amz-Date")?,
        expires,
        signed_headers,
        signature,
        signed_query,
    })
}

/// Verifies a presigned `request` for `region` at time `now`, looking up the secret of the access key id
/// it names with `secret_for`.
///
/// Checks, in S3's order: the signing parameters are present and well formed; the credential scope is
/// `<date>/<region>/s3/aws4_request` with the date of `X-Amz-Date` and this region; the access key is known;
/// `now` is within `[X-Amz-Date, X-Amz-Date + X-Amz-Expires]`; the signature matches the canonical request
/// rebuilt from the method, path, query and signed headers.
///
/// # Errors
/// - [`Error::AuthorizationQueryParametersError`]: a signing parameter missing or malformed, the scope's
///   date, region or service wrong, an expiry outside 1 s to 7 days;
/// - [`Error::InvalidAccessKeyId`]: `secret_for` does not know the access key id;
/// - [`Error::PresignedUrlInvalidTime`] (code `AccessDenied`): expired, or not valid yet;
/// - [`Error::SignatureDoesNotMatch`]: any signed part of the request changed, or a signed header is absent.
pub fn verify(
    request: &SignedRequest,
    region: &str,
    now: SystemTime,
    secret_for: impl FnOnce(&str) -> Option<String>,
) -> Result<Verified> {
    let params = parse_query(&request.query)?;
    let parts: Vec<&str> = params.credential.split('/').collect();
    let [access_key_id, date, cred_region, service, terminal] = parts[..] else {
        return Err(malformed(format!(
            "X-Amz-Credential {:?} is not <access key id>/<date>/<region>/s3/aws4_request",
            params.credential
        )));
    };
    let when = NaiveDateTime::parse_from_str(&params.date, "%Y%m%dT%H%M%SZ").map_err(|_| {
        malformed(format!(
            "X-Amz-Date {:?} is not YYYYMMDDTHHMMSSZ",
            params.date
        ))
    })?;
    if date != &params.date[..8] {
        return Err(malformed(format!(
            "the credential's date {date:?} is not the date of X-Amz-Date {:?}",
            params.date
        )));
    }
    if cred_region != region {
        return Err(malformed(format!(
            "the authorization header is malformed; the region {cred_region:?} is wrong; expecting {region:?}"
        )));
    }
    if service != SERVICE || terminal != "aws4_request" {
        return Err(malformed(format!(
            "the credential scope must end in /s3/aws4_request; got /{service}/{terminal}"
        )));
    }
    let secret = secret_for(access_key_id).ok_or_else(|| Error::InvalidAccessKeyId {
        access_key_id: access_key_id.to_string(),
    })?;

    let signed_at = SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_secs(
            u64::try_from(when.and_utc().timestamp()).unwrap_or(0),
        ))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let expires_at = signed_at + Duration::from_secs(params.expires);
    if now < signed_at {
        return Err(Error::PresignedUrlInvalidTime {
            access_key_id: access_key_id.to_string(),
            reason: "Request is not valid yet".to_string(),
        });
    }
    if now > expires_at {
        return Err(Error::PresignedUrlInvalidTime {
            access_key_id: access_key_id.to_string(),
            reason: "Request has expired".to_string(),
        });
    }

    let mut headers = Vec::with_capacity(params.signed_headers.len());
    for name in &params.signed_headers {
        let value = match request.header(name) {
            Some(v) => v,
            None if name == "host" && !request.host.is_empty() => request.host.as_str(),
            None => {
                return Err(Error::SignatureDoesNotMatch {
                    access_key_id: access_key_id.to_string(),
                    reason: format!("the signed header {name} is not in the request"),
                });
            }
        };
        headers.push((name.clone(), value.to_string()));
    }
    // The path is canonicalised as S3 does: decoded, then encoded once.
    let path = super::canonical::encode_path(&decode(&request.path, "path")?);
    let canonical = canonical_request(
        &request.method.to_ascii_uppercase(),
        &path,
        &params.signed_query,
        &headers,
    );
    let key = signing_key(&secret, date, region);
    let to_sign = string_to_sign(&params.date, &scope(date, region), &canonical);
    let sent = hex::decode(&params.signature)
        .map_err(|_| malformed("X-Amz-Signature is not hexadecimal"))?;
    let mut mac = HmacSha256::new_from_slice(&key).map_err(|_| malformed("signing key"))?;
    mac.update(to_sign.as_bytes());
    mac.verify_slice(&sent)
        .map_err(|_| Error::SignatureDoesNotMatch {
            access_key_id: access_key_id.to_string(),
            reason: "The request signature we calculated does not match the signature you provided"
                .to_string(),
        })?;
    Ok(Verified {
        access_key_id: access_key_id.to_string(),
        expires_at,
        signed_headers: params.signed_headers,
    })
}
