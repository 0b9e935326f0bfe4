//! The payload format version 1.0 event (the REST API Lambda proxy format), chosen per route.
//!
//! The shape follows <https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html>
//! ("Input format of a Lambda function for proxy integration") and deserialises as
//! `aws_lambda_events::apigw::ApiGatewayProxyRequest`: `resource`, `path`, `httpMethod`, `headers` and
//! `multiValueHeaders`, `queryStringParameters` (the last value of a repeated parameter) and
//! `multiValueQueryStringParameters` (every value), `pathParameters`, `stageVariables` (`null` when
//! empty), `requestContext` (`resourcePath`, `httpMethod`, `path` with the stage, `requestTime`,
//! `requestTimeEpoch`, `identity.sourceIp`, `authorizer`), `body` and `isBase64Encoded`.

use serde_json::{Map, Value, json};

use crate::apigw::request::{Collected, Meta, domain_prefix};

fn or_null(m: Map<String, Value>) -> Value {
    if m.is_empty() {
        Value::Null
    } else {
        Value::Object(m)
    }
}

/// The whole 1.0 event.
pub(crate) fn event(req: &Collected, meta: &Meta<'_>) -> Value {
    let mut headers = Map::new();
    let mut multi_headers = Map::new();
    for (k, v) in req.header_lists(false) {
        headers.insert(k.clone(), json!(v.last().cloned().unwrap_or_default()));
        multi_headers.insert(k, json!(v));
    }
    let mut query = Map::new();
    let mut multi_query: Map<String, Value> = Map::new();
    for (k, v) in req.query_pairs() {
        query.insert(k.clone(), json!(v));
        match multi_query.get_mut(&k) {
            Some(Value::Array(list)) => list.push(json!(v)),
            _ => {
                multi_query.insert(k, json!([v]));
            }
        }
    }
    let path_parameters: Map<String, Value> = meta
        .path_parameters
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let stage_variables: Map<String, Value> = meta
        .stage_variables
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let domain = meta.domain_name(req);
    let mut ctx = json!({
        "accountId": meta.account_id,
        "apiId": meta.api_id,
        "domainName": domain,
        "domainPrefix": domain_prefix(&domain),
        "extendedRequestId": meta.request_id,
        "httpMethod": req.method.as_str(),
        "identity": {
            "sourceIp": meta.source_ip,
            "userAgent": req.header("user-agent"),
        },
        "path": req.raw_path,
        "protocol": req.protocol,
        "requestId": meta.request_id,
        "requestTime": meta.time(),
        "requestTimeEpoch": meta.time_epoch(),
        "resourceId": meta.route_key,
        "resourcePath": meta.resource,
        "stage": meta.stage,
    });
    if let Some(a) = meta.authorizer {
        ctx["authorizer"] = a.clone();
    }
    let (body, b64) = match req.event_body() {
        Some((b, e)) => (Value::String(b), e),
        None => (Value::Null, false),
    };
    json!({
        "version": "1.0",
        "resource": meta.resource,
        "path": meta.path,
        "httpMethod": req.method.as_str(),
        "headers": or_null(headers),
        "multiValueHeaders": or_null(multi_headers),
        "queryStringParameters": or_null(query),
        "multiValueQueryStringParameters": or_null(multi_query),
        "pathParameters": or_null(path_parameters),
        "stageVariables": or_null(stage_variables),
        "requestContext": ctx,
        "body": body,
        "isBase64Encoded": b64,
    })
}
