//! Generating presigned URLs.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

use super::canonical::{
    canonical_request, encode_path, encode_query, scope, signature, signed_header_names,
    signing_key, string_to_sign,
};
use super::{ALGORITHM, Credentials, MAX_EXPIRES_SECS, MIN_EXPIRES_SECS};
use crate::error::{Error, Result};

/// What to presign: a method on a path of a host, with extra query parameters and headers to sign.
///
/// The constructors build path-style requests (`/bucket/key`) for the operations S3 users presign:
/// [`get_object`](Self::get_object), [`put_object`](Self::put_object), [`head_object`](Self::head_object)
/// and [`upload_part`](Self::upload_part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignRequest {
    /// The HTTP method (`GET`, `PUT`, `HEAD`, ...).
    pub method: String,
    /// The `Host` the request will be sent to (`s3.amazonaws.com`, `localhost:9000`, a virtual host).
    pub host: String,
    /// The path, decoded (`/bucket/my key.txt`); it is encoded once when signed.
    pub path: String,
    /// Query parameters of the operation (`partNumber`, `uploadId`, `versionId`), decoded.
    pub query: Vec<(String, String)>,
    /// Headers the request will carry that the signature covers besides `host` (lowercase names).
    pub headers: Vec<(String, String)>,
    /// How long the URL stays valid: 1 second to 7 days.
    pub expires: Duration,
    /// The scheme of the printed URL (`https` by default); not part of the signature.
    pub scheme: String,
}

impl PresignRequest {
    /// A request of `method` on `path` (decoded) at `host`, valid for `expires`.
    pub fn new(method: &str, host: &str, path: &str, expires: Duration) -> Self {
        PresignRequest {
            method: method.to_ascii_uppercase(),
            host: host.to_string(),
            path: if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            },
            query: Vec::new(),
            headers: Vec::new(),
            expires,
            scheme: "https".to_string(),
        }
    }

    /// GetObject of `key` in `bucket`, path-style.
    pub fn get_object(host: &str, bucket: &str, key: &str, expires: Duration) -> Self {
        Self::new("GET", host, &format!("/{bucket}/{key}"), expires)
    }

    /// PutObject of `key` in `bucket`, path-style.
    pub fn put_object(host: &str, bucket: &str, key: &str, expires: Duration) -> Self {
        Self::new("PUT", host, &format!("/{bucket}/{key}"), expires)
    }

    /// HeadObject of `key` in `bucket`, path-style.
    pub fn head_object(host: &str, bucket: &str, key: &str, expires: Duration) -> Self {
        Self::new("HEAD", host, &format!("/{bucket}/{key}"), expires)
    }

    /// UploadPart `part_number` of the multipart upload `upload_id` of `key` in `bucket`.
    pub fn upload_part(
        host: &str,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        expires: Duration,
    ) -> Self {
        Self::new("PUT", host, &format!("/{bucket}/{key}"), expires)
            .with_query("partNumber", &part_number.to_string())
            .with_query("uploadId", upload_id)
    }

    /// Adds a query parameter of the operation (decoded), such as `versionId`.
    #[must_use]
    pub fn with_query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    /// Adds a header the signature covers (the request must then carry it with this value).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// The scheme of the printed URL (`http` for a local endpoint).
    #[must_use]
    pub fn with_scheme(mut self, scheme: &str) -> Self {
        self.scheme = scheme.to_string();
        self
    }
}

/// A presigned URL and what the request must carry with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUrl {
    /// The whole URL: scheme, host, path and query.
    pub url: String,
    /// The path and query alone (`/bucket/key?X-Amz-Algorithm=...`).
    pub path_and_query: String,
    /// The method the URL is for.
    pub method: String,
    /// The headers the request must carry, `host` first.
    pub headers: Vec<(String, String)>,
    /// When the URL stops being valid.
    pub expires_at: SystemTime,
}

/// `YYYYMMDDTHHMMSSZ`, the form of `X-Amz-Date`.
pub(super) fn amz_date(t: SystemTime) -> String {
    DateTime::<Utc>::from(t)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// Signs `request` with `credentials` for `region` at time `now`.
///
/// # Errors
/// [`Error::AuthorizationQueryParametersError`] when the expiry is under 1 second or over 7 days, or the
/// request already carries a signing parameter (`X-Amz-*`) of its own.
pub fn presign(
    credentials: &Credentials,
    region: &str,
    request: &PresignRequest,
    now: SystemTime,
) -> Result<PresignedUrl> {
    let expires = request.expires.as_secs();
    if !(MIN_EXPIRES_SECS..=MAX_EXPIRES_SECS).contains(&expires)
        || request.expires.subsec_nanos() != 0
    {
        return Err(Error::AuthorizationQueryParametersError {
            reason: format!(
                "X-Amz-Expires must be a whole number of seconds from {MIN_EXPIRES_SECS} to {MAX_EXPIRES_SECS} \
                 (7 days); got {:?}",
                request.expires
            ),
        });
    }
    if let Some((name, _)) = request
        .query
        .iter()
        .find(|(n, _)| n.to_ascii_lowercase().starts_with("x-amz-"))
    {
        return Err(Error::AuthorizationQueryParametersError {
            reason: format!("the request already carries the signing parameter {name}"),
        });
    }
    let date_time = amz_date(now);
    let date = &date_time[..8];
    let scope = scope(date, region);

    let mut headers = request.headers.clone();
    headers.retain(|(n, _)| n != "host");
    headers.push(("host".to_string(), request.host.clone()));
    headers.sort();

    let mut query = request.query.clone();
    query.extend([
        ("X-Amz-Algorithm".to_string(), ALGORITHM.to_string()),
        (
            "X-Amz-Credential".to_string(),
            format!("{}/{scope}", credentials.access_key_id),
        ),
        ("X-Amz-Date".to_string(), date_time.clone()),
        ("X-Amz-Expires".to_string(), expires.to_string()),
        (
            "X-Amz-SignedHeaders".to_string(),
            signed_header_names(&headers),
        ),
    ]);
    let path = encode_path(&request.path);
    let canonical = canonical_request(&request.method, &path, &query, &headers);
    let key = signing_key(&credentials.secret_access_key, date, region);
    let sig = signature(&key, &string_to_sign(&date_time, &scope, &canonical));

    let mut encoded: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (encode_query(k), encode_query(v)))
        .collect();
    encoded.sort();
    let mut path_and_query = format!("{path}?");
    for (k, v) in &encoded {
        path_and_query.push_str(k);
        path_and_query.push('=');
        path_and_query.push_str(v);
        path_and_query.push('&');
    }
    path_and_query.push_str("X-Amz-Signature=");
    path_and_query.push_str(&sig);

    let mut out_headers = vec![("host".to_string(), request.host.clone())];
    out_headers.extend(headers.into_iter().filter(|(n, _)| n != "host"));
    Ok(PresignedUrl {
        url: format!("{}://{}{}", request.scheme, request.host, path_and_query),
        path_and_query,
        method: request.method.clone(),
        headers: out_headers,
        expires_at: now + request.expires,
    })
}
