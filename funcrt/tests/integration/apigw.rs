//! The API Gateway router (feature `apigw`) as a client sees it: Lambda authorizers allowing, denying and
//! cached for their TTL, CORS preflights, and the events a handler written against `aws_lambda_events`
//! reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use funcrt::apigw::{CorsConfig, LambdaAuthorizer, RouteOptions, Router};
use funcrt::{Code, FunctionConfig, HandlerError, Runtime};
use serde_json::{Value, json};
use stratus_clock::ManualClock;
use tower::ServiceExt;

fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::Request<String> {
    let mut b = http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(String::new()).unwrap()
}

async fn send(api: &Router, req: http::Request<String>) -> (u16, String, http::HeaderMap) {
    let res = api.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = String::from_utf8(res.body().as_bytes().to_vec()).unwrap();
    (status, body, headers)
}

/// Follows "Working with AWS Lambda authorizers for HTTP APIs"
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html>):
/// a request without the identity source is 401 without invoking the authorizer; `isAuthorized: false`
/// is 403 Forbidden; `true` passes the response's `context` to the integration in
/// `requestContext.authorizer.lambda`; a decision is cached per identity value for the TTL and asked
/// again once it expires.
#[tokio::test]
async fn authorizer_allows_denies_and_caches_for_its_ttl() {
    let clock = ManualClock::new();
    let rt = Runtime::builder()
        .with_clock(clock.clock())
        .build()
        .unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let count = asked.clone();
    rt.create_function(
        "auth",
        Code::from_fn(move |ev: Value, _ctx| {
            count.fetch_add(1, Ordering::SeqCst);
            async move {
                let token = ev["headers"]["authorization"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                Ok::<_, HandlerError>(json!({
                    "isAuthorized": token == "let-me-in",
                    "context": { "user": "ada" }
                }))
            }
        }),
        FunctionConfig::default(),
    )
    .unwrap();
    rt.create_function(
        "me",
        Code::from_fn(|ev: Value, _ctx| async move {
            // The handler reads the event as aws_lambda_events types it.
            let req: ApiGatewayV2httpRequest = serde_json::from_value(ev.clone())
                .map_err(|e| HandlerError::new("Parse", e.to_string()))?;
            Ok::<_, HandlerError>(json!({
                "route": req.route_key,
                "user": ev["requestContext"]["authorizer"]["lambda"]["user"],
            }))
        }),
        FunctionConfig::default(),
    )
    .unwrap();
    let api = Router::builder(&rt)
        .with_authorizer(
            "tokens",
            LambdaAuthorizer::new("auth").ttl(Duration::from_secs(60)),
        )
        .with_route_opts(
            "GET /me",
            "me",
            RouteOptions {
                authorizer: Some("tokens".into()),
                ..RouteOptions::default()
            },
        )
        .build()
        .unwrap();

    let (status, body, _) = send(&api, request("GET", "/me", &[])).await;
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"message":"Unauthorized"}"#)
    );
    assert_eq!(
        asked.load(Ordering::SeqCst),
        0,
        "no identity source: no invocation"
    );

    let denied = || request("GET", "/me", &[("authorization", "wrong")]);
    let (status, body, _) = send(&api, denied()).await;
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));

    let allowed = || request("GET", "/me", &[("authorization", "let-me-in")]);
    let (status, body, _) = send(&api, allowed()).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body, json!({ "route": "GET /me", "user": "ada" }));
    assert_eq!(asked.load(Ordering::SeqCst), 2);

    // Both decisions are cached: neither asks again within the TTL.
    assert_eq!(send(&api, allowed()).await.0, 200);
    assert_eq!(send(&api, denied()).await.0, 403);
    assert_eq!(asked.load(Ordering::SeqCst), 2);
    assert_eq!(api.cached_authorizations(), 2);

    clock.advance(Duration::from_secs(61));
    assert_eq!(send(&api, allowed()).await.0, 200);
    assert_eq!(
        asked.load(Ordering::SeqCst),
        3,
        "an expired decision is asked again"
    );
}

/// Follows "Configuring CORS for an HTTP API"
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html>): API Gateway answers
/// a preflight itself (no `OPTIONS` route, no function run) with the configured headers, and adds
/// `Access-Control-Allow-Origin` to the integration's response for an allowed origin, not for others.
#[tokio::test]
async fn cors_preflights_are_answered_by_the_gateway() {
    let rt = Runtime::builder().build().unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let count = runs.clone();
    rt.create_function(
        "items",
        Code::from_fn(move |_ev: Value, _ctx| {
            count.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, HandlerError>(json!({ "ok": true })) }
        }),
        FunctionConfig::default(),
    )
    .unwrap();
    let api = Router::builder(&rt)
        .with_cors(CorsConfig {
            allow_origins: vec!["https://app.example.com".into()],
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_headers: vec!["content-type".into()],
            max_age: Some(Duration::from_secs(600)),
            ..CorsConfig::default()
        })
        .with_route("ANY /items/{proxy+}", "items")
        .build()
        .unwrap();

    let preflight = request(
        "OPTIONS",
        "/items/a/b",
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
        ],
    );
    let (status, _, headers) = send(&api, preflight).await;
    assert!((200..300).contains(&status), "preflight answered: {status}");
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(headers["access-control-max-age"], "600");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        0,
        "a preflight runs no function"
    );

    let (status, _, headers) = send(
        &api,
        request(
            "GET",
            "/items/a/b",
            &[("origin", "https://app.example.com")],
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    let (_, _, headers) = send(
        &api,
        request("GET", "/items/a", &[("origin", "https://evil.example")]),
    )
    .await;
    assert!(headers.get("access-control-allow-origin").is_none());
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

/// Follows "Working with AWS Lambda proxy integrations for HTTP APIs"
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html>):
/// a function that fails is a failed integration: `502` with `{"message":"Internal Server Error"}` (the
/// status this issue and the module docs give it), and the response carries the `apigw-requestid` header.
#[tokio::test]
async fn a_failing_function_is_502_with_a_request_id() {
    let rt = Runtime::builder().build().unwrap();
    rt.create_function(
        "boom",
        Code::from_fn(|_ev: Value, _ctx| async {
            Err::<Value, _>(HandlerError::new("Boom", "it broke"))
        }),
        FunctionConfig::default(),
    )
    .unwrap();
    let api = Router::builder(&rt)
        .with_route("GET /boom", "boom")
        .build()
        .unwrap();
    let (status, body, headers) = send(&api, request("GET", "/boom", &[])).await;
    assert_eq!(status, 502);
    assert_eq!(body, r#"{"message":"Internal Server Error"}"#);
    assert!(headers.contains_key("apigw-requestid"));
}
