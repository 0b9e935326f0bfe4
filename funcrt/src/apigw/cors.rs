//! CORS as HTTP APIs configure it: answering preflights and adding headers to responses.
//!
//! Following <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html>: with CORS
//! configured, API Gateway answers preflight `OPTIONS` requests itself (even with no `OPTIONS` route and
//! without running the authorizer), and adds the configured CORS headers to the integration's response.
//! A preflight is an `OPTIONS` request with both `Origin` and `Access-Control-Request-Method`.

use std::time::Duration;

use http::HeaderValue;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
};

use crate::apigw::body::Body;
use crate::error::{Error, Result};

/// An HTTP API's CORS configuration (`CorsConfiguration`). `*` in a list allows everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsConfig {
    /// `AllowOrigins`: origins allowed, e.g. `https://example.com`, or `*`.
    pub allow_origins: Vec<String>,
    /// `AllowMethods`: methods allowed, or `*`.
    pub allow_methods: Vec<String>,
    /// `AllowHeaders`: request headers allowed, or `*`.
    pub allow_headers: Vec<String>,
    /// `ExposeHeaders`: response headers the browser may read.
    pub expose_headers: Vec<String>,
    /// `MaxAge`: how long a preflight's answer may be cached.
    pub max_age: Option<Duration>,
    /// `AllowCredentials`.
    pub allow_credentials: bool,
}

impl CorsConfig {
    /// Checks what API Gateway checks when the configuration is saved.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `AllowCredentials` with a `*` origin, a `MaxAge` over 86400
    /// seconds, or a value that cannot be a header.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.allow_credentials && self.allow_origins.iter().any(|o| o == "*") {
            return Err(Error::invalid(
                "CorsConfiguration",
                "AllowCredentials cannot be used with the * origin",
            ));
        }
        if self
            .max_age
            .is_some_and(|m| m > Duration::from_secs(86_400))
        {
            return Err(Error::invalid("MaxAge", "at most 86400 seconds"));
        }
        for v in self
            .allow_origins
            .iter()
            .chain(&self.allow_methods)
            .chain(&self.allow_headers)
            .chain(&self.expose_headers)
        {
            if HeaderValue::from_str(v).is_err() {
                return Err(Error::invalid(
                    "CorsConfiguration",
                    format!("{v:?} is not a header value"),
                ));
            }
        }
        Ok(())
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if it is allowed.
    fn allowed_origin(&self, origin: &str) -> Option<String> {
        if self.allow_origins.iter().any(|o| o == "*") {
            return Some("*".to_owned());
        }
        self.allow_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
            .then(|| origin.to_owned())
    }

    fn set(res: &mut http::Response<Body>, name: http::HeaderName, list: &[String]) {
        if !list.is_empty() {
            if let Ok(v) = HeaderValue::from_str(&list.join(",")) {
                res.headers_mut().insert(name, v);
            }
        }
    }

    /// If `req` is a preflight, the answer to it.
    pub(crate) fn preflight(&self, req: &http::request::Parts) -> Option<http::Response<Body>> {
        if req.method != http::Method::OPTIONS {
            return None;
        }
        let origin = req.headers.get(ORIGIN)?.to_str().ok()?;
        let method = req
            .headers
            .get(ACCESS_CONTROL_REQUEST_METHOD)?
            .to_str()
            .ok()?;
        let mut res = http::Response::new(Body::default());
        *res.status_mut() = http::StatusCode::NO_CONTENT;
        let method_ok = self
            .allow_methods
            .iter()
            .any(|m| m == "*" || m.eq_ignore_ascii_case(method));
        if let (Some(o), true) = (self.allowed_origin(origin), method_ok) {
            if let Ok(v) = HeaderValue::from_str(&o) {
                res.headers_mut().insert(ACCESS_CONTROL_ALLOW_ORIGIN, v);
            }
            Self::set(&mut res, ACCESS_CONTROL_ALLOW_METHODS, &self.allow_methods);
            Self::set(&mut res, ACCESS_CONTROL_ALLOW_HEADERS, &self.allow_headers);
            if let Some(m) = self.max_age {
                res.headers_mut()
                    .insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(m.as_secs()));
            }
            if self.allow_credentials {
                res.headers_mut().insert(
                    ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
            }
        }
        Some(res)
    }

    /// Adds the CORS headers to an actual response for a request from `origin`.
    pub(crate) fn decorate(&self, origin: Option<&str>, res: &mut http::Response<Body>) {
        let Some(o) = origin.and_then(|o| self.allowed_origin(o)) else {
            return;
        };
        if let Ok(v) = HeaderValue::from_str(&o) {
            res.headers_mut().insert(ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        Self::set(res, ACCESS_CONTROL_EXPOSE_HEADERS, &self.expose_headers);
        if self.allow_credentials {
            res.headers_mut().insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
}
