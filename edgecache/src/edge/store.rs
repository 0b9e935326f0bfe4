//! Storing and looking up: the tiers searched in order (promoting hits upwards), `Vary` variants, and a
//! stored entry turned into a response.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};

use super::conditional::apply_client_conditionals;
use super::metrics::Counters;
use super::range::{apply_range, content_range, partial_key};
use super::vary::{language_negotiation_matches, secondary_key, vary_matches, vary_value};
use super::{Edge, Hit};
use crate::tier::Entry;
use crate::types::freshness::{self, ResponseDirectives, storable};

impl Edge {
    pub(super) async fn lookup(&self, key: &str, req_headers: &HeaderMap) -> Option<Hit> {
        for (i, tier) in self.inner.tiers.iter().enumerate() {
            let Ok(Some(primary)) = tier.get(key).await else {
                continue;
            };
            let found = if vary_matches(&primary, req_headers)
                || language_negotiation_matches(&primary, req_headers)
            {
                Some((key.to_string(), primary.clone()))
            } else {
                let names: Vec<HeaderName> = primary.vary.iter().map(|(n, _)| n.clone()).collect();
                let sk = secondary_key(key, &names, req_headers);
                match tier.get(&sk).await {
                    Ok(Some(e)) if vary_matches(&e, req_headers) => Some((sk, e)),
                    _ => None,
                }
            };
            if let Some((found_key, entry)) = found {
                for upper in &self.inner.tiers[..i] {
                    if found_key != key {
                        let _ = upper.insert(key, primary.clone()).await;
                    }
                    let _ = upper.insert(&found_key, entry.clone()).await;
                }
                return Some(Hit { entry, tier: i });
            }
        }
        None
    }

    pub(super) async fn store(&self, key: &str, entry: Arc<Entry>) {
        let secondary = if entry.vary.is_empty() {
            None
        } else {
            let names: Vec<HeaderName> = entry.vary.iter().map(|(n, _)| n.clone()).collect();
            // the secondary key is built from the values recorded in the entry
            let mut h = HeaderMap::new();
            for (n, v) in &entry.vary {
                if let Some(v) = v {
                    h.append(n.clone(), v.clone());
                }
            }
            Some(secondary_key(key, &names, &h))
        };
        for tier in &self.inner.tiers {
            let _ = tier.insert(key, entry.clone()).await;
            if let Some(sk) = &secondary {
                let _ = tier.insert(sk, entry.clone()).await;
            }
        }
    }

    /// A response to `request` built from a stored entry.
    pub(super) fn serve_stored(
        &self,
        entry: &Entry,
        request: &Request<Bytes>,
        unvalidated: bool,
    ) -> Response<Bytes> {
        let (rd, _, age) = self.freshness(entry);
        let mut headers = entry.headers.clone();
        if unvalidated {
            for f in rd.qualified_fields() {
                headers.remove(f.as_str());
            }
        }
        headers.insert(header::AGE, HeaderValue::from(age.as_secs()));
        let head = request.method() == Method::HEAD;
        headers.remove(header::CONTENT_LENGTH);
        if head {
            // the length a GET would get (framing is set by the edge; see `headers::frame`)
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(entry.body.len()));
        }
        let mut response = Response::new(if head {
            Bytes::new()
        } else {
            entry.body.clone()
        });
        *response.status_mut() = entry.status;
        *response.headers_mut() = headers;
        let response = apply_client_conditionals(response, request.headers());
        // RFC 9110 section 14.2: range handling is defined for GET only
        let response = if head {
            response
        } else {
            apply_range(response, request.headers())
        };
        Counters::add(
            &self.inner.counters.bytes_from_cache,
            response.body().len() as u64,
        );
        response
    }

    /// Stores a response from the origin when RFC 9111 allows: a complete one under `key` (and its `Vary`
    /// variant), a `206` with a known length under the key's partial slot. Returns whether it was stored.
    #[expect(
        clippy::too_many_arguments,
        reason = "the request and response halves of one exchange, as the origin answered them"
    )]
    pub(super) async fn store_response(
        &self,
        key: &str,
        method: &Method,
        req_headers: &HeaderMap,
        headers: &HeaderMap,
        status: StatusCode,
        body: &Bytes,
        request_time: SystemTime,
        response_time: SystemTime,
    ) -> bool {
        let rd = ResponseDirectives::of(headers);
        let partial = status == StatusCode::PARTIAL_CONTENT
            && freshness::vary_names(headers).is_empty()
            && content_range(headers).is_some()
            && storable(method, req_headers, StatusCode::OK, headers, &rd);
        if !partial && !storable(method, req_headers, status, headers, &rd) {
            return false;
        }
        let vary = freshness::vary_names(headers)
            .into_iter()
            .filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok())
            .map(|n| {
                let v = vary_value(req_headers, n.as_str());
                (n, v)
            })
            .collect();
        let mut headers = headers.clone();
        // framing is the edge's own, computed from the body when served: the origin's is not kept
        headers.remove(header::CONTENT_LENGTH);
        let entry =
            Entry::new(status, headers, body.clone(), request_time, response_time).with_vary(vary);
        if partial {
            let pk = partial_key(key);
            for tier in &self.inner.tiers {
                let _ = tier.insert(&pk, Arc::new(entry.clone())).await;
            }
        } else {
            self.store(key, Arc::new(entry)).await;
        }
        true
    }
}
