//! The [`Router`]: its configuration and the handling of one collected request, from stage and route
//! selection through the authorizer and the integration to the response.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use rand::RngCore;
use serde_json::Value;

use crate::apigw::authorizer::{AuthCache, LambdaAuthorizer, authorize};
use crate::apigw::body::Body;
use crate::apigw::cors::CorsConfig;
use crate::apigw::request::{Collected, Meta};
use crate::apigw::response::{self, GatewayError};
use crate::apigw::route::RouteTable;
use crate::apigw::{v1, v2};
use crate::error::Error;
use crate::runtime::Runtime;

/// The payload format a route's integration uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum PayloadFormat {
    /// HTTP API format 2.0 (`ApiGatewayV2httpRequest`).
    #[default]
    V2,
    /// Format 1.0, the REST API proxy format (`ApiGatewayProxyRequest`).
    V1,
}

/// Per-route options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteOptions {
    /// The event format sent to the function and read back.
    pub payload_format: PayloadFormat,
    /// The name of an authorizer registered with [`crate::apigw::RouterBuilder::with_authorizer`].
    pub authorizer: Option<String>,
    /// This route's integration timeout; `None` is the router's.
    pub timeout: Option<Duration>,
}

/// Per-request options: what a server knows about the connection.
///
/// Put one in the request's extensions (`req.extensions_mut().insert(..)`), or pass it to
/// [`Router::call_opts`]. Without one, a [`std::net::SocketAddr`] extension gives the source IP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// The client's address: `requestContext.http.sourceIp` (default `127.0.0.1`).
    pub source_ip: Option<IpAddr>,
}

#[derive(Debug)]
pub(crate) struct RouteTarget {
    pub(crate) function: String,
    pub(crate) opts: RouteOptions,
}

#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) rt: Runtime,
    pub(crate) table: RouteTable,
    pub(crate) targets: Vec<RouteTarget>,
    pub(crate) cors: Option<CorsConfig>,
    pub(crate) authorizers: HashMap<String, LambdaAuthorizer>,
    pub(crate) auth_cache: AuthCache,
    pub(crate) stage: String,
    pub(crate) api_id: String,
    pub(crate) account_id: String,
    pub(crate) stage_variables: BTreeMap<String, String>,
    pub(crate) integration_timeout: Duration,
    pub(crate) payload_limit: usize,
}

/// An HTTP API in front of a [`Runtime`]'s functions. Cheap to clone; clones share configuration and
/// the authorizer cache. Build one with [`Router::builder`]; it is a `tower::Service<http::Request<B>>`
/// for any body `B` (see [`crate::apigw`]).
#[derive(Debug, Clone)]
pub struct Router {
    pub(crate) inner: Arc<Config>,
}

/// An `apigw-requestid`-style id: 16 base64url characters.
fn gateway_request_id() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Router {
    /// The request-body limit in bytes (10 MB unless configured).
    pub fn payload_limit(&self) -> usize {
        self.inner.payload_limit
    }

    /// How many authorizer decisions are cached.
    pub fn cached_authorizations(&self) -> usize {
        self.inner.auth_cache.len()
    }

    /// The stage prefix to strip, and the path below it; `None` if the path is outside the stage.
    fn below_stage<'p>(&self, path: &'p str) -> Option<&'p str> {
        let stage = self.inner.stage.as_str();
        if stage == "$default" {
            return Some(path);
        }
        let rest = path.strip_prefix('/')?.strip_prefix(stage)?;
        match rest {
            "" => Some("/"),
            r if r.starts_with('/') => Some(r),
            _ => None,
        }
    }

    /// Handles a request whose body has been read (at most the payload limit).
    pub(crate) async fn handle_collected(
        &self,
        parts: http::request::Parts,
        body: Bytes,
        opts: CallOptions,
    ) -> http::Response<Body> {
        let cfg = &*self.inner;
        let origin = parts
            .headers
            .get(http::header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .map(str::to_owned);
        let request_id = gateway_request_id();
        let mut res = match &cfg.cors {
            Some(cors) => match cors.preflight(&parts) {
                Some(pre) => pre,
                None => self.route(&parts, body, &request_id, opts).await,
            },
            None => self.route(&parts, body, &request_id, opts).await,
        };
        if let Some(cors) = &cfg.cors {
            if parts.method != http::Method::OPTIONS || res.status() != 204 {
                cors.decorate(origin.as_deref(), &mut res);
            }
        }
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            res.headers_mut().insert("apigw-requestid", v);
        }
        res
    }

    async fn route(
        &self,
        parts: &http::request::Parts,
        body: Bytes,
        request_id: &str,
        opts: CallOptions,
    ) -> http::Response<Body> {
        let cfg = &*self.inner;
        let Some(path) = self.below_stage(parts.uri.path()) else {
            return GatewayError::NotFound.response();
        };
        let Some(matched) = cfg.table.select(&parts.method, path) else {
            return GatewayError::NotFound.response();
        };
        let key = cfg.table.key(matched.index);
        let target = &cfg.targets[matched.index];
        let req = Collected::new(parts, body);
        let source_ip = opts
            .source_ip
            .map_or_else(|| "127.0.0.1".to_owned(), |ip| ip.to_string());
        let clock = cfg.rt.clock();
        let mut meta = Meta {
            request_id,
            api_id: &cfg.api_id,
            account_id: &cfg.account_id,
            stage: &cfg.stage,
            now: clock.now(),
            source_ip: &source_ip,
            route_key: key.as_str(),
            resource: key.resource(),
            path,
            path_parameters: &matched.path_parameters,
            stage_variables: &cfg.stage_variables,
            authorizer: None,
        };
        let decision;
        if let Some(name) = &target.opts.authorizer {
            let Some(auth) = cfg.authorizers.get(name) else {
                return GatewayError::Internal.response();
            };
            match authorize(&cfg.rt, clock, &cfg.auth_cache, name, auth, &req, &meta).await {
                Ok(d) => decision = d,
                Err(e) => return e.response(),
            }
            meta.authorizer = Some(&decision.context);
        }
        let event = match target.opts.payload_format {
            PayloadFormat::V2 => v2::event(&req, &meta),
            PayloadFormat::V1 => v1::event(&req, &meta),
        };
        let timeout = target.opts.timeout.unwrap_or(cfg.integration_timeout);
        let answer = clock
            .timeout(timeout, cfg.rt.invoke(&target.function, event))
            .await;
        let payload: Value = match answer {
            Err(_elapsed) => return GatewayError::ServiceUnavailable.response(),
            Ok(Err(Error::TooManyRequests { .. })) => {
                return GatewayError::TooManyRequests.response();
            }
            Ok(Err(Error::RequestTooLarge { .. })) => {
                return GatewayError::PayloadTooLarge.response();
            }
            Ok(Err(_)) => return GatewayError::Internal.response(),
            Ok(Ok(resp)) if resp.function_error.is_some() => {
                return GatewayError::BadGateway.response();
            }
            Ok(Ok(resp)) => resp.payload,
        };
        let mapped = match target.opts.payload_format {
            PayloadFormat::V2 => response::from_v2(&payload),
            PayloadFormat::V1 => response::from_v1(&payload),
        };
        mapped.unwrap_or_else(|_malformed| GatewayError::BadGateway.response())
    }
}
