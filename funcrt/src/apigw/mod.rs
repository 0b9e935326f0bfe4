//! An API Gateway (HTTP API) router in front of funcrt functions (feature `apigw`).
//!
//! A [`Router`] maps `http::Request`s to functions the way an HTTP API's Lambda proxy integrations do,
//! and is a `tower::Service<http::Request<B>>` for any body type `B: http_body::Body`, so an axum or
//! hyper server can mount it:
//!
//! - **Routes** by method and path template: `GET /items/{id}`, greedy `ANY /{proxy+}`, `$default`, to
//!   functions, versions or aliases (`name:alias`), with AWS's precedence (most specific first; see
//!   `route.rs`).
//! - **Events** in payload format 2.0 (`aws_lambda_events::apigw::ApiGatewayV2httpRequest`) or, per
//!   route, 1.0 (`ApiGatewayProxyRequest`): path and query parameters, multi-value query strings,
//!   cookies, `requestContext` with request id, stage, route key and time from the runtime's clock,
//!   base64 bodies for binary media types.
//! - **Responses** by AWS's rules: in 2.0 a bare string or a JSON object without `statusCode` is
//!   `200 application/json`; otherwise `statusCode`, `headers`, `multiValueHeaders`, `cookies`, `body`,
//!   `isBase64Encoded`.
//! - **Gateway behaviour**: CORS preflights answered and headers added ([`CorsConfig`]); Lambda
//!   authorizers with simple responses, cached for their TTL ([`LambdaAuthorizer`]); the bodies API
//!   Gateway sends: no route `404 {"message":"Not Found"}`, missing identity `401 Unauthorized`, denied
//!   `403 Forbidden`, body over 10 MB `413 Request Entity Too Large`, throttled function `429 Too Many
//!   Requests`, function error or malformed response `502 Internal Server Error`, integration timeout
//!   (30 s unless configured) `503 Service Unavailable`, anything else `500 Internal Server Error`.
//!   Every response carries an `apigw-requestid` header, the event's `requestContext.requestId`.
//!
//! Files, one concept each: `route` (keys, templates, precedence), `request` (the request as API
//! Gateway reads it), `v2` and `v1` (the two event formats), `response` (function answers and gateway
//! errors), `cors`, `authorizer`, `body` (the response body), `router` (handling one request),
//! `builder` (configuration), `service` (the tower service and reading bodies).
//!
//! ```
//! use funcrt::apigw::Router;
//! use funcrt::{Code, FunctionConfig, HandlerError, Runtime};
//! use serde_json::{Value, json};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), funcrt::Error> {
//! let rt = Runtime::builder().build()?;
//! rt.create_function(
//!     "items",
//!     Code::from_fn(|ev: Value, _ctx| async move {
//!         Ok::<_, HandlerError>(json!({ "id": ev["pathParameters"]["id"] }))
//!     }),
//!     FunctionConfig::default(),
//! )?;
//! let api = Router::builder(&rt).with_route("GET /items/{id}", "items").build()?;
//!
//! let req = http::Request::get("/items/42").body(String::new()).unwrap();
//! let res = api.clone().oneshot(req).await.unwrap();
//! assert_eq!(res.status(), 200);
//! assert_eq!(res.body().as_bytes(), br#"{"id":"42"}"#);
//!
//! let req = http::Request::get("/nothing").body(String::new()).unwrap();
//! let res = api.oneshot(req).await.unwrap();
//! assert_eq!((res.status().as_u16(), res.body().as_bytes()), (404, &br#"{"message":"Not Found"}"#[..]));
//! # Ok(()) }
//! ```

mod authorizer;
mod body;
mod builder;
mod cors;
mod request;
mod response;
mod route;
mod router;
mod service;
mod v1;
mod v2;

pub use authorizer::LambdaAuthorizer;
pub use body::Body;
pub use builder::{DEFAULT_INTEGRATION_TIMEOUT, DEFAULT_PAYLOAD_LIMIT, RouterBuilder};
pub use cors::CorsConfig;
pub use route::{RouteKey, RouteMethod};
pub use router::{CallOptions, PayloadFormat, RouteOptions, Router};
