//! [`RouterBuilder`]: routes, CORS, authorizers, stage and limits, checked once at `build`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::apigw::authorizer::{AuthCache, LambdaAuthorizer};
use crate::apigw::cors::CorsConfig;
use crate::apigw::route::{RouteKey, RouteTable};
use crate::apigw::router::{Config, RouteOptions, RouteTarget, Router};
use crate::error::{Error, Result};
use crate::runtime::Runtime;

/// HTTP APIs' default and maximum integration timeout (HTTP API quotas: "Maximum integration timeout",
/// 30 seconds; the minimum is 50 ms).
pub const DEFAULT_INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);
/// HTTP APIs' payload size quota: 10 MB.
pub const DEFAULT_PAYLOAD_LIMIT: usize = 10 * 1024 * 1024;

/// Configures a [`Router`]. Setters record; [`RouterBuilder::build`] checks everything.
#[derive(Debug)]
#[must_use]
pub struct RouterBuilder {
    rt: Runtime,
    routes: Vec<(String, String, RouteOptions)>,
    cors: Option<CorsConfig>,
    authorizers: HashMap<String, LambdaAuthorizer>,
    stage: String,
    api_id: String,
    account_id: String,
    stage_variables: BTreeMap<String, String>,
    integration_timeout: Duration,
    payload_limit: usize,
}

impl Router {
    /// A builder for a router over `rt`'s functions (stage `$default`, 30 s integration timeout, 10 MB
    /// payload limit, no routes).
    pub fn builder(rt: &Runtime) -> RouterBuilder {
        RouterBuilder {
            rt: rt.clone(),
            routes: Vec::new(),
            cors: None,
            authorizers: HashMap::new(),
            stage: "$default".to_owned(),
            api_id: "stratusapi".to_owned(),
            account_id: "123456789012".to_owned(),
            stage_variables: BTreeMap::new(),
            integration_timeout: DEFAULT_INTEGRATION_TIMEOUT,
            payload_limit: DEFAULT_PAYLOAD_LIMIT,
        }
    }
}

impl RouterBuilder {
    /// Routes `route_key` (`GET /items/{id}`, `ANY /{proxy+}`, `$default`) to `function` (a name, or
    /// `name:alias` / `name:version`) with payload format 2.0.
    pub fn with_route(self, route_key: impl Into<String>, function: impl Into<String>) -> Self {
        self.with_route_opts(route_key, function, RouteOptions::default())
    }

    /// Routes `route_key` to `function` with options (payload format, authorizer, timeout).
    pub fn with_route_opts(
        mut self,
        route_key: impl Into<String>,
        function: impl Into<String>,
        opts: RouteOptions,
    ) -> Self {
        self.routes.push((route_key.into(), function.into(), opts));
        self
    }

    /// Turns on CORS with this configuration.
    pub fn with_cors(mut self, cors: CorsConfig) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Registers a Lambda authorizer under `name`, for routes to name in [`RouteOptions::authorizer`].
    pub fn with_authorizer(mut self, name: impl Into<String>, auth: LambdaAuthorizer) -> Self {
        self.authorizers.insert(name.into(), auth);
        self
    }

    /// The stage: `$default` (no path prefix) or a name, served under `/{name}`.
    pub fn with_stage(mut self, stage: impl Into<String>) -> Self {
        self.stage = stage.into();
        self
    }

    /// A stage variable (`stageVariables` in events).
    pub fn with_stage_variable(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.stage_variables.insert(key.into(), value.into());
        self
    }

    /// The API id (`requestContext.apiId`).
    pub fn with_api_id(mut self, id: impl Into<String>) -> Self {
        self.api_id = id.into();
        self
    }

    /// The account id (`requestContext.accountId`).
    pub fn with_account_id(mut self, id: impl Into<String>) -> Self {
        self.account_id = id.into();
        self
    }

    /// The integration timeout of every route without its own (50 ms to 30 s).
    pub fn with_integration_timeout(mut self, timeout: Duration) -> Self {
        self.integration_timeout = timeout;
        self
    }

    /// The request-body limit in bytes (default and maximum 10 MB).
    pub fn with_payload_limit(mut self, bytes: usize) -> Self {
        self.payload_limit = bytes;
        self
    }

    /// Checks the configuration and builds the router.
    ///
    /// # Errors
    /// [`Error::InvalidRoute`] for a malformed or repeated route key; [`Error::InvalidParameter`] for a
    /// timeout outside 50 ms..=30 s, a payload limit over 10 MB, an empty or malformed stage name, a
    /// route naming an unknown authorizer, or an invalid CORS or authorizer configuration.
    pub fn build(self) -> Result<Router> {
        let check_timeout = |t: Duration| {
            if t < Duration::from_millis(50) || t > DEFAULT_INTEGRATION_TIMEOUT {
                Err(Error::invalid(
                    "TimeoutInMillis",
                    "between 50 and 30000 milliseconds",
                ))
            } else {
                Ok(())
            }
        };
        check_timeout(self.integration_timeout)?;
        if self.payload_limit > DEFAULT_PAYLOAD_LIMIT {
            return Err(Error::invalid(
                "PayloadLimit",
                "at most 10 MB (10485760 bytes)",
            ));
        }
        if self.stage != "$default"
            && (self.stage.is_empty()
                || !self
                    .stage
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            return Err(Error::invalid(
                "StageName",
                format!(
                    "{:?}: letters, digits, - and _ only, or $default",
                    self.stage
                ),
            ));
        }
        if let Some(c) = &self.cors {
            c.validate()?;
        }
        for a in self.authorizers.values() {
            a.validate()?;
        }
        let mut table = RouteTable::default();
        let mut targets = Vec::with_capacity(self.routes.len());
        for (key, function, opts) in self.routes {
            if let Some(t) = opts.timeout {
                check_timeout(t)?;
            }
            if let Some(a) = &opts.authorizer {
                if !self.authorizers.contains_key(a) {
                    return Err(Error::invalid(
                        "AuthorizerId",
                        format!("route {key:?} names authorizer {a:?}, which is not registered"),
                    ));
                }
            }
            if function.is_empty() {
                return Err(Error::invalid(
                    "Target",
                    format!("route {key:?} has no function"),
                ));
            }
            table.push(RouteKey::parse(&key)?)?;
            targets.push(RouteTarget { function, opts });
        }
        Ok(Router {
            inner: Arc::new(Config {
                rt: self.rt,
                table,
                targets,
                cors: self.cors,
                authorizers: self.authorizers,
                auth_cache: AuthCache::default(),
                stage: self.stage,
                api_id: self.api_id,
                account_id: self.account_id,
                stage_variables: self.stage_variables,
                integration_timeout: self.integration_timeout,
                payload_limit: self.payload_limit,
            }),
        })
    }
}
