//! Lambda's destination record: the JSON an on-success or on-failure destination receives.

use serde_json::{Value, json};

use crate::types::event_config::Condition;

/// What the last attempt of an event returned.
pub(crate) struct LastResponse<'a> {
    pub(crate) executed_version: &'a str,
    pub(crate) function_error: Option<&'a str>,
    pub(crate) payload: &'a Value,
}

/// Lambda's destination record:
///
/// ```json
/// { "version": "1.0", "timestamp": "2024-01-01T00:03:00.000Z",
///   "requestContext": { "requestId": "...", "functionArn": "arn:aws:lambda:...:function:f:$LATEST",
///                       "condition": "RetriesExhausted", "approximateInvokeCount": 3 },
///   "requestPayload": { ... },
///   "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
///   "responsePayload": { "errorMessage": "...", "errorType": "..." } }
/// ```
///
/// `responseContext` and `responsePayload` are absent when no attempt ran (an event that aged out while
/// throttled); `functionError` is absent on success.
pub fn destination_record(
    timestamp: std::time::SystemTime,
    request_id: &str,
    function_arn: &str,
    condition: Condition,
    approximate_invoke_count: u32,
    request_payload: &Value,
    last: Option<(&str, Option<&str>, &Value)>,
) -> Value {
    let last = last.map(|(executed_version, function_error, payload)| LastResponse {
        executed_version,
        function_error,
        payload,
    });
    record(
        timestamp,
        request_id,
        function_arn,
        condition,
        approximate_invoke_count,
        request_payload,
        last,
    )
}

pub(crate) fn record(
    timestamp: std::time::SystemTime,
    request_id: &str,
    function_arn: &str,
    condition: Condition,
    approximate_invoke_count: u32,
    request_payload: &Value,
    last: Option<LastResponse<'_>>,
) -> Value {
    let stamp = chrono::DateTime::<chrono::Utc>::from(timestamp)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let mut rec = json!({
        "version": "1.0",
        "timestamp": stamp,
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition.as_str(),
            "approximateInvokeCount": approximate_invoke_count,
        },
        "requestPayload": request_payload,
    });
    if let Some(last) = last {
        let mut ctx = json!({ "statusCode": 200, "executedVersion": last.executed_version });
        if let Some(fe) = last.function_error {
            ctx["functionError"] = json!(fe);
        }
        rec["responseContext"] = ctx;
        rec["responsePayload"] = last.payload.clone();
    }
    rec
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn record_shape() {
        let t = std::time::UNIX_EPOCH + Duration::from_millis(1_704_067_200_123);
        let r = destination_record(
            t,
            "id",
            "arn:f:$LATEST",
            Condition::RetriesExhausted,
            3,
            &json!({"k": 1}),
            Some(("$LATEST", Some("Unhandled"), &json!({"errorMessage": "x"}))),
        );
        assert_eq!(
            r,
            json!({
                "version": "1.0",
                "timestamp": "2024-01-01T00:00:00.123Z",
                "requestContext": {"requestId": "id", "functionArn": "arn:f:$LATEST",
                                   "condition": "RetriesExhausted", "approximateInvokeCount": 3},
                "requestPayload": {"k": 1},
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "responsePayload": {"errorMessage": "x"}
            })
        );
        let aged = destination_record(
            t,
            "id",
            "a",
            Condition::EventAgeExceeded,
            0,
            &json!(null),
            None,
        );
        assert!(aged.get("responseContext").is_none());
    }
}
