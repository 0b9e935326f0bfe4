//! Lambda authorizers for HTTP APIs: payload format 2.0, simple responses, results cached for their TTL
//! keyed on the identity sources' values.
//!
//! Following <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html>:
//! the authorizer is invoked with a 2.0 `REQUEST` event (`identitySource` holds the values of the
//! configured identity sources); a request missing any identity source is answered `401
//! {"message":"Unauthorized"}` without invoking it; a simple response `{"isAuthorized": false}` is `403
//! {"message":"Forbidden"}`; `isAuthorized: true` lets the request through with the response's `context`
//! in the integration event's `requestContext.authorizer.lambda`. With a TTL above 0 the decision is
//! cached per identity-source values (`authorizerResultTtlInSeconds`, at most 3600). The authorizer has
//! 10 s to answer (HTTP API quotas, "Timeout for Lambda authorizer response"); failing, throwing or
//! answering something that is not a simple response is a `500 {"message":"Internal Server Error"}`.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Value, json};
use stratus_clock::{Clock, Instant};

use crate::apigw::request::{Collected, Meta};
use crate::apigw::response::GatewayError;
use crate::apigw::v2;
use crate::error::{Error, Result};
use crate::runtime::Runtime;

/// How long API Gateway waits for an authorizer.
const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);
/// Cached decisions kept before expired ones are swept.
const CACHE_SWEEP_AT: usize = 10_000;

/// A Lambda authorizer (`REQUEST` type, payload 2.0, simple responses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaAuthorizer {
    /// The authorizer function (`name` or `name:qualifier`).
    pub function: String,
    /// Identity sources: `$request.header.NAME`, `$request.querystring.NAME`, `$stageVariables.NAME`.
    pub identity_sources: Vec<String>,
    /// `authorizerResultTtlInSeconds`: 0 turns caching off; at most 1 hour.
    pub ttl: Duration,
}

impl LambdaAuthorizer {
    /// An authorizer on `function` reading `$request.header.Authorization`, caching for 300 s.
    pub fn new(function: impl Into<String>) -> Self {
        LambdaAuthorizer {
            function: function.into(),
            identity_sources: vec!["$request.header.Authorization".to_owned()],
            ttl: Duration::from_secs(300),
        }
    }

    /// The same authorizer with other identity sources.
    #[must_use]
    pub fn identity_sources<I, S>(mut self, sources: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.identity_sources = sources.into_iter().map(Into::into).collect();
        self
    }

    /// The same authorizer with another cache TTL.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a TTL over 3600 s, caching without identity sources, or an identity
    /// source that is not a header, query string or stage variable expression.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.ttl > Duration::from_secs(3600) {
            return Err(Error::invalid(
                "AuthorizerResultTtlInSeconds",
                "at most 3600",
            ));
        }
        if !self.ttl.is_zero() && self.identity_sources.is_empty() {
            return Err(Error::invalid(
                "IdentitySource",
                "caching an authorizer's results needs at least one identity source",
            ));
        }
        for s in &self.identity_sources {
            if Source::parse(s).is_none() {
                return Err(Error::invalid(
                    "IdentitySource",
                    format!(
                        "{s:?} is not $request.header.X, $request.querystring.X or $stageVariables.X"
                    ),
                ));
            }
        }
        Ok(())
    }
}

enum Source<'a> {
    Header(&'a str),
    Query(&'a str),
    Stage(&'a str),
}

impl<'a> Source<'a> {
    fn parse(s: &'a str) -> Option<Self> {
        let nonempty = |n: &'a str| (!n.is_empty()).then_some(n);
        if let Some(n) = s.strip_prefix("$request.header.") {
            return nonempty(n).map(Source::Header);
        }
        if let Some(n) = s.strip_prefix("$request.querystring.") {
            return nonempty(n).map(Source::Query);
        }
        s.strip_prefix("$stageVariables.")
            .and_then(nonempty)
            .map(Source::Stage)
    }

    fn value(&self, req: &Collected, meta: &Meta<'_>) -> Option<String> {
        let v = match self {
            Source::Header(n) => req.header(&n.to_ascii_lowercase()).map(str::to_owned),
            Source::Query(n) => v2::joined_query(req)
                .get(*n)
                .and_then(Value::as_str)
                .map(str::to_owned),
            Source::Stage(n) => meta.stage_variables.get(*n).cloned(),
        };
        v.filter(|v| !v.is_empty())
    }
}

/// An authorizer's decision.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    pub(crate) context: Value,
}

type CacheKey = (String, Vec<String>);
/// A decision, or the gateway error it amounts to (`Forbidden`).
type Outcome = std::result::Result<Decision, GatewayError>;

/// Decisions cached per authorizer and identity values.
#[derive(Debug, Default)]
pub(crate) struct AuthCache {
    entries: Mutex<HashMap<CacheKey, (Instant, Outcome)>>,
}

impl AuthCache {
    fn get(
        &self,
        key: &CacheKey,
        now: Instant,
    ) -> Option<std::result::Result<Decision, GatewayError>> {
        let map = self.entries.lock();
        map.get(key)
            .filter(|(expires, _)| now < *expires)
            .map(|(_, d)| d.clone())
    }

    fn put(
        &self,
        key: CacheKey,
        now: Instant,
        expires: Instant,
        d: std::result::Result<Decision, GatewayError>,
    ) {
        let mut map = self.entries.lock();
        if map.len() >= CACHE_SWEEP_AT {
            map.retain(|_, (e, _)| *e > now);
        }
        map.insert(key, (expires, d));
    }

    /// How many decisions are cached (expired ones included until swept).
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().len()
    }
}

/// Runs (or recalls) `auth` for a request.
pub(crate) async fn authorize(
    rt: &Runtime,
    clock: &Clock,
    cache: &AuthCache,
    name: &str,
    auth: &LambdaAuthorizer,
    req: &Collected,
    meta: &Meta<'_>,
) -> std::result::Result<Decision, GatewayError> {
    let mut values = Vec::with_capacity(auth.identity_sources.len());
    for s in &auth.identity_sources {
        let v = Source::parse(s).and_then(|src| src.value(req, meta));
        match v {
            Some(v) => values.push(v),
            None => return Err(GatewayError::Unauthorized),
        }
    }
    let key = (name.to_owned(), values.clone());
    if !auth.ttl.is_zero() {
        if let Some(d) = cache.get(&key, clock.instant()) {
            return d;
        }
    }
    let mut event = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!(
            "arn:aws:execute-api:us-east-1:{}:{}/{}/{}{}",
            meta.account_id, meta.api_id, meta.stage, req.method, meta.path
        ),
        "identitySource": values,
        "routeKey": meta.route_key,
        "rawPath": req.raw_path,
        "rawQueryString": req.raw_query,
        "cookies": req.cookies(),
        "headers": v2::joined_headers(req),
        "queryStringParameters": v2::joined_query(req),
        "requestContext": v2::request_context(req, meta),
        "pathParameters": meta.path_parameters,
        "stageVariables": meta.stage_variables,
    });
    if meta.path_parameters.is_empty() {
        event["pathParameters"] = json!({});
    }
    let decision = match clock
        .timeout(AUTHORIZER_TIMEOUT, rt.invoke(&auth.function, event))
        .await
    {
        Ok(Ok(resp)) if resp.function_error.is_none() => read_simple(&resp.payload),
        _ => return Err(GatewayError::Internal),
    };
    if !matches!(decision, Err(GatewayError::Internal)) && !auth.ttl.is_zero() {
        let now = clock.instant();
        cache.put(key, now, now + auth.ttl, decision.clone());
    }
    decision
}

/// Reads `{"isAuthorized": bool, "context": {...}}`.
fn read_simple(payload: &Value) -> std::result::Result<Decision, GatewayError> {
    match payload.get("isAuthorized") {
        Some(Value::Bool(true)) => Ok(Decision {
            context: payload.get("context").cloned().unwrap_or(Value::Null),
        }),
        Some(Value::Bool(false)) => Err(GatewayError::Forbidden),
        _ => Err(GatewayError::Internal),
    }
}
