//! The HTTP API payload format version 2.0 event.
//!
//! The shape follows <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html>
//! ("Payload format version", the 2.0 example) and deserialises as
//! `aws_lambda_events::apigw::ApiGatewayV2httpRequest`: `version`, `routeKey`, `rawPath`,
//! `rawQueryString`, `cookies`, `headers` (duplicates joined with commas), `queryStringParameters`
//! (duplicates joined with commas), `pathParameters`, `stageVariables`, `requestContext` (`accountId`,
//! `apiId`, `authorizer.lambda`, `domainName`, `domainPrefix`, `http`, `requestId`, `routeKey`, `stage`,
//! `time`, `timeEpoch`), `body` and `isBase64Encoded`.

use serde_json::{Map, Value, json};

use crate::apigw::request::{Collected, Meta, domain_prefix};

/// The `requestContext` of a 2.0 event (the authorizer's request uses it too).
pub(crate) fn request_context(req: &Collected, meta: &Meta<'_>) -> Value {
    let domain = meta.domain_name(req);
    let mut ctx = json!({
        "accountId": meta.account_id,
        "apiId": meta.api_id,
        "domainName": domain,
        "domainPrefix": domain_prefix(&domain),
        "http": {
            "method": req.method.as_str(),
            "path": req.raw_path,
            "protocol": req.protocol,
            "sourceIp": meta.source_ip,
            "userAgent": req.header("user-agent").unwrap_or(""),
        },
        "requestId": meta.request_id,
        "routeKey": meta.route_key,
        "stage": meta.stage,
        "time": meta.time(),
        "timeEpoch": meta.time_epoch(),
    });
    if let Some(a) = meta.authorizer {
        ctx["authorizer"] = json!({ "lambda": a });
    }
    ctx
}

/// Headers as one comma-joined string per lower-case name (no `cookie`).
pub(crate) fn joined_headers(req: &Collected) -> Map<String, Value> {
    req.header_lists(true)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v.join(","))))
        .collect()
}

/// Query parameters, duplicates joined with commas, in first-seen order.
pub(crate) fn joined_query(req: &Collected) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in req.query_pairs() {
        match out.get_mut(&k) {
            Some(Value::String(s)) => {
                s.push(',');
                s.push_str(&v);
            }
            _ => {
                out.insert(k, Value::String(v));
            }
        }
    }
    out
}

/// The whole 2.0 event.
pub(crate) fn event(req: &Collected, meta: &Meta<'_>) -> Value {
    let mut ev = json!({
        "version": "2.0",
        "routeKey": meta.route_key,
        "rawPath": req.raw_path,
        "rawQueryString": req.raw_query,
        "headers": joined_headers(req),
        "requestContext": request_context(req, meta),
        "isBase64Encoded": false,
    });
    let cookies = req.cookies();
    if !cookies.is_empty() {
        ev["cookies"] = json!(cookies);
    }
    let query = joined_query(req);
    if !query.is_empty() {
        ev["queryStringParameters"] = Value::Object(query);
    }
    if !meta.path_parameters.is_empty() {
        ev["pathParameters"] = json!(meta.path_parameters);
    }
    if !meta.stage_variables.is_empty() {
        ev["stageVariables"] = json!(meta.stage_variables);
    }
    if let Some((body, b64)) = req.event_body() {
        ev["body"] = Value::String(body);
        ev["isBase64Encoded"] = Value::Bool(b64);
    }
    ev
}
