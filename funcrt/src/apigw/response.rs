//! Turning a function's answer into an `http::Response`, and the responses API Gateway sends on its own.
//!
//! Format 2.0 (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html>,
//! "Lambda function response format"): a function that returns valid JSON without a `statusCode` gets
//! `200`, `content-type: application/json` and its JSON as the body (a bare string is the body as it is);
//! otherwise `statusCode`, `headers`, `multiValueHeaders`, `cookies` (one `set-cookie` each), `body` and
//! `isBase64Encoded` are read. Format 1.0 must return `statusCode` (else the response is malformed).

use base64::Engine;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, SET_COOKIE};
use serde_json::Value;

use crate::apigw::body::Body;

/// A response API Gateway makes itself: status and `{"message": ...}` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GatewayError {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Internal,
    BadGateway,
    ServiceUnavailable,
}

impl GatewayError {
    pub(crate) fn status(self) -> u16 {
        match self {
            GatewayError::BadRequest => 400,
            GatewayError::Unauthorized => 401,
            GatewayError::Forbidden => 403,
            GatewayError::NotFound => 404,
            GatewayError::PayloadTooLarge => 413,
            GatewayError::TooManyRequests => 429,
            GatewayError::Internal => 500,
            GatewayError::BadGateway => 502,
            GatewayError::ServiceUnavailable => 503,
        }
    }

    pub(crate) fn message(self) -> &'static str {
        match self {
            GatewayError::BadRequest => "Bad Request",
            GatewayError::Unauthorized => "Unauthorized",
            GatewayError::Forbidden => "Forbidden",
            GatewayError::NotFound => "Not Found",
            GatewayError::PayloadTooLarge => "Request Entity Too Large",
            GatewayError::TooManyRequests => "Too Many Requests",
            GatewayError::Internal | GatewayError::BadGateway => "Internal Server Error",
            GatewayError::ServiceUnavailable => "Service Unavailable",
        }
    }

    /// The response: the status, `content-type: application/json`, `{"message":"..."}`.
    pub(crate) fn response(self) -> http::Response<Body> {
        let body = serde_json::json!({ "message": self.message() }).to_string();
        let mut res = http::Response::new(Body::new(body));
        *res.status_mut() = http::StatusCode::from_u16(self.status()).unwrap_or_default();
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        res
    }
}

/// The function's answer could not be read as a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

fn header_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn append(res: &mut http::Response<Body>, name: &str, value: &str) -> Result<(), Malformed> {
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| Malformed("header name"))?;
    let value = HeaderValue::from_str(value).map_err(|_| Malformed("header value"))?;
    res.headers_mut().append(name, value);
    Ok(())
}

/// A structured response (`statusCode` present).
fn structured(obj: &serde_json::Map<String, Value>) -> Result<http::Response<Body>, Malformed> {
    let status = obj
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| http::StatusCode::from_u16(s).ok())
        .ok_or(Malformed("statusCode"))?;
    let b64 = match obj.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(Malformed("isBase64Encoded")),
    };
    let body = match obj.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if b64 => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|_| Malformed("body is not base64"))?,
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(_) => return Err(Malformed("body")),
    };
    let mut res = http::Response::new(Body::new(body));
    *res.status_mut() = status;
    match obj.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (k, v) in h {
                let v = header_text(v).ok_or(Malformed("header value"))?;
                append(&mut res, k, &v)?;
            }
        }
        Some(_) => return Err(Malformed("headers")),
    }
    match obj.get("multiValueHeaders") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (k, vs) in h {
                let vs = vs.as_array().ok_or(Malformed("multiValueHeaders"))?;
                for v in vs {
                    let v = header_text(v).ok_or(Malformed("header value"))?;
                    // A name in both maps is sent once per value, without repeating `headers`' copy.
                    if res
                        .headers()
                        .get_all(k.as_str())
                        .iter()
                        .any(|x| x == v.as_str())
                    {
                        continue;
                    }
                    append(&mut res, k, &v)?;
                }
            }
        }
        Some(_) => return Err(Malformed("multiValueHeaders")),
    }
    match obj.get("cookies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(cs)) => {
            for c in cs {
                let c = c.as_str().ok_or(Malformed("cookies"))?;
                append(&mut res, SET_COOKIE.as_str(), c)?;
            }
        }
        Some(_) => return Err(Malformed("cookies")),
    }
    Ok(res)
}

/// Reads a format 2.0 answer.
pub(crate) fn from_v2(payload: &Value) -> Result<http::Response<Body>, Malformed> {
    if let Value::Object(obj) = payload {
        if obj.contains_key("statusCode") {
            return structured(obj);
        }
    }
    let body = match payload {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut res = http::Response::new(Body::new(body));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(res)
}

/// Reads a format 1.0 answer: it must be an object with a `statusCode`.
pub(crate) fn from_v1(payload: &Value) -> Result<http::Response<Body>, Malformed> {
    match payload {
        Value::Object(obj) if obj.contains_key("statusCode") => structured(obj),
        _ => Err(Malformed("a 1.0 response needs a statusCode")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inferred_and_structured() {
        let r = from_v2(&json!("hi")).unwrap();
        assert_eq!(
            (r.status().as_u16(), r.body().as_bytes()),
            (200, &b"hi"[..])
        );
        let r = from_v2(&json!({"a": 1})).unwrap();
        assert_eq!(r.body().as_bytes(), br#"{"a":1}"#);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        let r = from_v2(
            &json!({"statusCode": 201, "body": "aGk=", "isBase64Encoded": true,
            "cookies": ["a=1", "b=2"], "headers": {"x-n": 5}}),
        )
        .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        assert_eq!(r.body().as_bytes(), b"hi");
        assert_eq!(r.headers().get_all(SET_COOKIE).iter().count(), 2);
        assert_eq!(r.headers()["x-n"], "5");
        assert!(from_v2(&json!({"statusCode": "x"})).is_err());
        assert!(from_v2(&json!({"statusCode": 99})).is_err());
        assert!(from_v1(&json!("hi")).is_err());
    }
}
