//! The request as API Gateway reads it: method, raw path and query, headers folded the way the payload
//! formats want them, cookies, and the body as text or base64.
//!
//! Following <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html>:
//! header names are lower case; in format 2.0 duplicate headers and query parameters are joined with
//! commas, and every `Cookie` header is split into the `cookies` field.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use bytes::Bytes;
use http::HeaderMap;
use serde_json::Value;

use crate::apigw::route::decode;

/// A request whose body has been read.
#[derive(Debug)]
pub(crate) struct Collected {
    pub(crate) method: http::Method,
    /// The path as sent, still percent-encoded.
    pub(crate) raw_path: String,
    /// The query string as sent, without `?`.
    pub(crate) raw_query: String,
    pub(crate) headers: HeaderMap,
    pub(crate) protocol: &'static str,
    pub(crate) body: Bytes,
}

impl Collected {
    /// Builds from request parts and a body.
    pub(crate) fn new(parts: &http::request::Parts, body: Bytes) -> Self {
        let protocol = match parts.version {
            http::Version::HTTP_09 => "HTTP/0.9",
            http::Version::HTTP_10 => "HTTP/1.0",
            http::Version::HTTP_2 => "HTTP/2.0",
            http::Version::HTTP_3 => "HTTP/3.0",
            _ => "HTTP/1.1",
        };
        Collected {
            method: parts.method.clone(),
            raw_path: parts.uri.path().to_owned(),
            raw_query: parts.uri.query().unwrap_or("").to_owned(),
            headers: parts.headers.clone(),
            protocol,
            body,
        }
    }

    /// A header's first value as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Query parameters in order, decoded (`+` is a space).
    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        self.raw_query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(&k.replace('+', " ")), decode(&v.replace('+', " ")))
            })
            .collect()
    }

    /// Every header but `cookie` (format 2.0 moves those to `cookies`), names lower case, values in order.
    pub(crate) fn header_lists(&self, skip_cookie: bool) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for name in self.headers.keys() {
            if skip_cookie && name == http::header::COOKIE {
                continue;
            }
            let values = self
                .headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            out.push((name.as_str().to_owned(), values));
        }
        out
    }

    /// The cookies of every `Cookie` header, one string per cookie.
    pub(crate) fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The body for the event: `None` when empty, else the text and whether it is base64.
    pub(crate) fn event_body(&self) -> Option<(String, bool)> {
        if self.body.is_empty() {
            return None;
        }
        let ctype = self.header("content-type").unwrap_or("");
        if is_text(ctype) {
            if let Ok(s) = std::str::from_utf8(&self.body) {
                return Some((s.to_owned(), false));
            }
        }
        Some((
            base64::engine::general_purpose::STANDARD.encode(&self.body),
            true,
        ))
    }
}

/// What the router knows about a request beyond the request itself: ids, stage, the matched route.
#[derive(Debug)]
pub(crate) struct Meta<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) api_id: &'a str,
    pub(crate) account_id: &'a str,
    pub(crate) stage: &'a str,
    pub(crate) now: SystemTime,
    pub(crate) source_ip: &'a str,
    /// The route key (`GET /items/{id}`, `$default`).
    pub(crate) route_key: &'a str,
    /// The route's template (`/items/{id}`, `$default`).
    pub(crate) resource: &'a str,
    /// The path below the stage (`/items/7`), still encoded.
    pub(crate) path: &'a str,
    pub(crate) path_parameters: &'a HashMap<String, String>,
    pub(crate) stage_variables: &'a BTreeMap<String, String>,
    /// The Lambda authorizer's `context`, if an authorizer ran.
    pub(crate) authorizer: Option<&'a Value>,
}

impl Meta<'_> {
    /// `requestContext.time` / `requestTime`: `04/Dec/2026:11:09:27 +0000`.
    pub(crate) fn time(&self) -> String {
        chrono::DateTime::<chrono::Utc>::from(self.now)
            .format("%d/%b/%Y:%H:%M:%S +0000")
            .to_string()
    }

    /// `timeEpoch` / `requestTimeEpoch` in milliseconds.
    pub(crate) fn time_epoch(&self) -> i64 {
        self.now
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }

    /// `domainName`: the `Host` header, else the API's execute-api name.
    pub(crate) fn domain_name(&self, req: &Collected) -> String {
        match req.header("host") {
            Some(h) => h.to_owned(),
            None => format!("{}.execute-api.us-east-1.amazonaws.com", self.api_id),
        }
    }
}

/// `domainPrefix`: the first label of the domain name.
pub(crate) fn domain_prefix(domain: &str) -> String {
    domain.split('.').next().unwrap_or(domain).to_owned()
}

/// Media types passed to functions as text; everything else (images, `application/octet-stream`, no
/// content type) is base64-encoded with `isBase64Encoded: true`.
pub(crate) fn is_text(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/x-www-form-urlencoded"
                | "application/graphql"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary_media_types() {
        assert!(is_text("application/json; charset=utf-8"));
        assert!(is_text("text/plain"));
        assert!(is_text("application/vnd.api+json"));
        assert!(!is_text("image/png"));
        assert!(!is_text("application/octet-stream"));
        assert!(!is_text(""));
    }
}
