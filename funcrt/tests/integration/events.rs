//! Asynchronous invocations: retries on the clock, destinations with Lambda's record, dead letters, event
//! age, throttles.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::common::*;
use funcrt::{
    Code, Context, Destination, EventInvokeConfig, EventQueue, FunctionConfig, HandlerError,
};
use serde_json::{Value, json};

/// A function that fails its first `failures` attempts, then succeeds.
fn flaky(failures: u32, attempts: Arc<AtomicU32>) -> Code {
    Code::from_fn(move |e: Value, _c: Context| {
        let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            if n <= failures {
                Err(HandlerError::new("Flaky", format!("attempt {n} failed")))
            } else {
                Ok(json!({ "attempt": n, "event": e }))
            }
        }
    })
}

fn destinations(on_success: &EventQueue, on_failure: &EventQueue) -> EventInvokeConfig {
    EventInvokeConfig {
        on_success: Some(Destination::Queue(on_success.clone())),
        on_failure: Some(Destination::Queue(on_failure.clone())),
        ..Default::default()
    }
}

#[tokio::test]
async fn fails_twice_then_succeeds_is_delivered_to_on_success_once() {
    let (clock, rt) = manual_runtime();
    let attempts = Arc::new(AtomicU32::new(0));
    rt.create_function("flaky", flaky(2, attempts.clone()), config())
        .unwrap();
    let (ok, failed) = (EventQueue::new(), EventQueue::new());
    rt.put_event_invoke_config("flaky", destinations(&ok, &failed))
        .unwrap();

    let accepted = rt
        .invoke_async("flaky", json!({ "order": 1 }))
        .await
        .unwrap();
    assert_eq!(accepted.status_code, 202);
    assert_eq!(accepted.payload, Value::Null);

    clock.wait_for_sleepers(1).await; // first attempt failed; waiting 1 minute
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_secs(59));
    tokio::task::yield_now().await;
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1,
        "no retry before 1 minute"
    );
    clock.advance(Duration::from_secs(1));
    until(|| attempts.load(Ordering::SeqCst) == 2).await;
    clock.wait_for_sleepers(1).await; // second attempt failed; waiting 2 minutes
    clock.advance(Duration::from_secs(119));
    tokio::task::yield_now().await;
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        2,
        "no retry before 2 more minutes"
    );
    clock.advance(Duration::from_secs(1));

    let rec = ok.recv().await.body;
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(rec["version"], "1.0");
    assert_eq!(
        rec["timestamp"], "2024-01-01T00:03:00.000Z",
        "1 + 2 minutes after the event"
    );
    assert_eq!(
        rec["requestContext"]["requestId"],
        json!(accepted.request_id)
    );
    assert_eq!(rec["requestContext"]["condition"], "Success");
    assert_eq!(rec["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(
        rec["requestContext"]["functionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:flaky:$LATEST"
    );
    assert_eq!(rec["requestPayload"], json!({ "order": 1 }));
    assert_eq!(
        rec["responseContext"],
        json!({ "statusCode": 200, "executedVersion": "$LATEST" })
    );
    assert_eq!(
        rec["responsePayload"],
        json!({ "attempt": 3, "event": { "order": 1 } })
    );
    until(|| rt.pending_events() == 0).await;
    assert!(ok.is_empty(), "delivered exactly once");
    assert!(failed.is_empty());
    let m = rt.metrics("flaky").unwrap();
    assert_eq!((m.total.invocations, m.total.errors), (3, 2));
}

#[tokio::test]
async fn always_failing_lands_in_on_failure_after_exactly_three_attempts() {
    let (clock, rt) = manual_runtime();
    let attempts = Arc::new(AtomicU32::new(0));
    rt.create_function("broken", flaky(u32::MAX, attempts.clone()), config())
        .unwrap();
    let (ok, failed, dlq) = (EventQueue::new(), EventQueue::new(), EventQueue::new());
    let mut cfg = destinations(&ok, &failed);
    cfg.dead_letter = Some(dlq.clone());
    rt.put_event_invoke_config("broken", cfg).unwrap();

    let accepted = rt
        .invoke_async("broken", json!({ "id": 42 }))
        .await
        .unwrap();
    clock.wait_for_sleepers(1).await;
    clock.advance(Duration::from_secs(60));
    until(|| attempts.load(Ordering::SeqCst) == 2).await;
    clock.wait_for_sleepers(1).await;
    clock.advance(Duration::from_secs(120));
    let rec = failed.recv().await.body;
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(
        rec,
        json!({
            "version": "1.0",
            "timestamp": "2024-01-01T00:03:00.000Z",
            "requestContext": {
                "requestId": accepted.request_id,
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:broken:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3
            },
            "requestPayload": { "id": 42 },
            "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Handled" },
            "responsePayload": { "errorType": "Flaky", "errorMessage": "attempt 3 failed" }
        })
    );
    let dead = dlq.recv().await;
    assert_eq!(dead.body, json!({ "id": 42 }));
    assert_eq!(dead.attributes["RequestID"], accepted.request_id);
    assert_eq!(dead.attributes["ErrorCode"], "200");
    assert_eq!(dead.attributes["ErrorMessage"], "attempt 3 failed");
    until(|| rt.pending_events() == 0).await;
    clock.advance(Duration::from_secs(3600));
    tokio::task::yield_now().await;
    assert_eq!(attempts.load(Ordering::SeqCst), 3, "no fourth attempt");
    assert!(ok.is_empty() && failed.is_empty());
}

#[tokio::test]
async fn retry_attempts_zero_means_one_attempt() {
    let (_clock, rt) = manual_runtime();
    let attempts = Arc::new(AtomicU32::new(0));
    rt.create_function("once", flaky(u32::MAX, attempts.clone()), config())
        .unwrap();
    let (ok, failed) = (EventQueue::new(), EventQueue::new());
    let mut cfg = destinations(&ok, &failed);
    cfg.maximum_retry_attempts = 0;
    rt.put_event_invoke_config("once", cfg).unwrap();
    rt.invoke_async("once", json!(1)).await.unwrap();
    let rec = failed.recv().await.body;
    assert_eq!(rec["requestContext"]["approximateInvokeCount"], 1);
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    let bad = EventInvokeConfig {
        maximum_retry_attempts: 3,
        ..Default::default()
    };
    assert_eq!(
        rt.put_event_invoke_config("once", bad).unwrap_err().code(),
        "InvalidParameterValueException"
    );
}

#[tokio::test]
async fn panics_and_timeouts_are_retried_as_unhandled() {
    let (clock, rt) = manual_runtime();
    let attempts = Arc::new(AtomicU32::new(0));
    let a = attempts.clone();
    rt.create_function(
        "wild",
        Code::from_fn(move |_e: Value, ctx: Context| {
            let n = a.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                match n {
                    1 => panic!("first attempt panics"),
                    2 => {
                        ctx.clock().sleep(Duration::from_secs(3600)).await;
                        Ok::<_, HandlerError>(json!("never"))
                    }
                    _ => Ok(json!("third time lucky")),
                }
            }
        }),
        FunctionConfig::builder()
            .with_timeout(Duration::from_secs(5))
            .build()
            .unwrap(),
    )
    .unwrap();
    let (ok, failed) = (EventQueue::new(), EventQueue::new());
    rt.put_event_invoke_config("wild", destinations(&ok, &failed))
        .unwrap();
    rt.invoke_async("wild", json!(null)).await.unwrap();
    clock.wait_for_sleepers(1).await; // panicked; 1 minute
    clock.advance(Duration::from_secs(60));
    until(|| attempts.load(Ordering::SeqCst) == 2).await;
    clock.wait_for_sleepers(2).await; // the handler's sleep and its 5 s timeout
    clock.advance(Duration::from_secs(5));
    // The handler's own sleep is still registered until its future is dropped, so wait for the attempt
    // to be counted rather than for a sleeper.
    until(|| rt.metrics("wild").unwrap().total.invocations == 2).await;
    clock.wait_for_sleepers(1).await; // timed out; 2 minutes
    clock.advance(Duration::from_secs(120));
    let rec = ok.recv().await.body;
    assert_eq!(rec["responsePayload"], "third time lucky");
    assert_eq!(rec["requestContext"]["approximateInvokeCount"], 3);
    let m = rt.metrics("wild").unwrap();
    assert_eq!(
        (m.total.invocations, m.total.errors, m.total.cold_starts),
        (3, 2, 3)
    );
}

#[tokio::test]
async fn throttled_event_expires_after_maximum_event_age() {
    let (clock, rt) = manual_runtime();
    rt.create_function(
        "off",
        echo(),
        FunctionConfig::builder()
            .with_reserved_concurrency(0)
            .build()
            .unwrap(),
    )
    .unwrap();
    let (ok, failed, dlq) = (EventQueue::new(), EventQueue::new(), EventQueue::new());
    let mut cfg = destinations(&ok, &failed);
    cfg.maximum_event_age = Duration::from_secs(60);
    cfg.dead_letter = Some(dlq.clone());
    rt.put_event_invoke_config("off", cfg).unwrap();
    rt.invoke_async("off", json!("late")).await.unwrap();
    // Backoff 1, 2, 4, 8, 16, then the remaining 29 s: six throttles within the minute.
    let mut waited = Duration::ZERO;
    while failed.is_empty() {
        clock.wait_for_sleepers(1).await;
        clock.advance(Duration::from_secs(1));
        waited += Duration::from_secs(1);
        tokio::task::yield_now().await;
        assert!(
            waited <= Duration::from_secs(61),
            "the event must expire after 60 s"
        );
    }
    assert_eq!(waited, Duration::from_secs(60));
    let rec = failed.recv().await.body;
    assert_eq!(rec["requestContext"]["condition"], "EventAgeExceeded");
    assert_eq!(rec["requestContext"]["approximateInvokeCount"], 0);
    assert!(rec.get("responseContext").is_none());
    assert_eq!(dlq.recv().await.body, json!("late"));
    let m = rt.metrics("off").unwrap();
    assert_eq!((m.total.invocations, m.total.throttles), (0, 6));
    let e = EventInvokeConfig {
        maximum_event_age: Duration::from_secs(59),
        ..Default::default()
    };
    assert!(rt.put_event_invoke_config("off", e).is_err());
}

#[tokio::test]
async fn a_function_can_be_a_destination() {
    let (_clock, rt) = manual_runtime();
    let seen = EventQueue::new();
    let s = seen.clone();
    rt.create_function(
        "audit",
        Code::from_fn(move |record: Value, _c: Context| {
            let s = s.clone();
            async move {
                s.send(funcrt::Message {
                    body: record,
                    attributes: Default::default(),
                });
                Ok::<_, HandlerError>(Value::Null)
            }
        }),
        config(),
    )
    .unwrap();
    rt.create_function("work", echo(), config()).unwrap();
    rt.put_event_invoke_config(
        "work",
        EventInvokeConfig {
            on_success: Some(Destination::Function("audit".into())),
            ..Default::default()
        },
    )
    .unwrap();
    rt.invoke_async("work", json!({ "job": 9 })).await.unwrap();
    let rec = seen.recv().await.body;
    assert_eq!(rec["requestContext"]["condition"], "Success");
    assert_eq!(rec["responsePayload"], json!({ "job": 9 }));
    until(|| rt.pending_events() == 0).await;
    assert_eq!(rt.metrics("audit").unwrap().total.invocations, 1);
}

#[tokio::test]
async fn event_returns_at_once_even_if_the_handler_blocks() {
    let (clock, rt) = manual_runtime();
    rt.create_function(
        "slow",
        Code::from_fn(|_e: Value, ctx: Context| async move {
            ctx.clock().sleep(Duration::from_secs(100)).await;
            Ok::<_, HandlerError>(json!("done"))
        }),
        FunctionConfig::builder()
            .with_timeout(Duration::from_secs(900))
            .build()
            .unwrap(),
    )
    .unwrap();
    let ok = EventQueue::new();
    rt.put_event_invoke_config(
        "slow",
        EventInvokeConfig {
            on_success: Some(Destination::Queue(ok.clone())),
            ..Default::default()
        },
    )
    .unwrap();
    let r = rt.invoke_async("slow", json!(1)).await.unwrap();
    assert_eq!(r.status_code, 202);
    assert_eq!(rt.pending_events(), 1);
    clock.wait_for_sleepers(2).await;
    clock.advance(Duration::from_secs(100));
    assert_eq!(ok.recv().await.body["responsePayload"], "done");
}
