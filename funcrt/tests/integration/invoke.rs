//! Synchronous invocation: results, errors, panics, timeouts, payload limits, adapters, Send futures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use crate::common::*;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::s3::S3Event;
use funcrt::lambda::{Error as LambdaError, LambdaEvent, service_fn};
use funcrt::limits::{ASYNC_PAYLOAD_LIMIT, SYNC_PAYLOAD_LIMIT};
use funcrt::{
    Code, Context, Error, FunctionConfig, FunctionErrorKind, HandlerError, InvokeOptions, Runtime,
};
use serde_json::{Value, json};

#[tokio::test]
async fn request_response_returns_the_result_and_context() {
    let (_clock, rt) = manual_runtime();
    rt.create_function(
        "ctx",
        Code::from_fn(|_e: Value, ctx: Context| async move {
            Ok::<_, HandlerError>(json!({
                "id": ctx.request_id,
                "arn": ctx.invoked_function_arn,
                "deadline": ctx.deadline,
                "remaining_ms": ctx.remaining_time().as_millis() as u64,
                "version": ctx.env_config.version,
                "memory": ctx.env_config.memory,
            }))
        }),
        FunctionConfig::builder()
            .with_memory_mb(256)
            .with_timeout(Duration::from_secs(5))
            .build()
            .unwrap(),
    )
    .unwrap();
    let r = rt.invoke("ctx", json!(null)).await.unwrap();
    assert_eq!(r.status_code, 200);
    assert_eq!(r.function_error, None);
    assert_eq!(r.payload["id"], json!(r.request_id));
    assert_eq!(r.request_id.len(), 36);
    assert_eq!(
        r.payload["arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:ctx"
    );
    assert_eq!(
        r.payload["deadline"],
        json!(1_704_067_205_000u64),
        "now + 5 s in epoch ms"
    );
    assert_eq!(r.payload["remaining_ms"], 5000);
    assert_eq!(r.payload["version"], "$LATEST");
    assert_eq!(r.payload["memory"], 256);
    let r = rt.invoke("ctx:$LATEST", json!(null)).await.unwrap();
    assert_eq!(
        r.payload["arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:ctx:$LATEST"
    );
    let other = rt.invoke("ctx", json!(null)).await.unwrap();
    assert_ne!(other.request_id, r.request_id);
}

#[tokio::test]
async fn handler_error_is_handled_with_lambdas_json() {
    let (_clock, rt) = manual_runtime();
    rt.create_function(
        "fails",
        Code::from_fn(|_e: Value, _c: Context| async move {
            Err::<Value, _>(HandlerError::new("ValidationError", "name is required"))
        }),
        config(),
    )
    .unwrap();
    let r = rt.invoke("fails", json!({})).await.unwrap();
    assert_eq!(
        r.status_code, 200,
        "Lambda answers 200 with a function error"
    );
    let fe = r.function_error.clone().unwrap();
    assert_eq!(fe.kind, FunctionErrorKind::Handled);
    assert_eq!(
        r.payload,
        json!({ "errorType": "ValidationError", "errorMessage": "name is required" })
    );
    assert!(!r.cold_start() || r.report().unwrap().init_duration.is_some());
    let e = r.into_result().unwrap_err();
    assert_eq!(e.code(), "Handled");
    assert!(matches!(e, Error::Function { ref function, .. } if function == "fails"));
    // A handled error keeps the instance warm.
    assert!(!rt.invoke("fails", json!({})).await.unwrap().cold_start());
    let m = rt.metrics("fails").unwrap();
    assert_eq!((m.total.invocations, m.total.errors), (2, 2));
}

#[tokio::test]
async fn panic_is_contained_and_discards_the_instance() {
    let (_clock, rt) = manual_runtime();
    let inits = Arc::new(AtomicU32::new(0));
    let i2 = inits.clone();
    rt.create_function(
        "boom",
        Code::with_init(move |_| {
            i2.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(funcrt::handler_fn(|e: Value, _c: Context| async move {
                    if e["panic"] == true {
                        panic!("kaboom");
                    }
                    Ok::<_, HandlerError>(e)
                }))
            }
        }),
        config(),
    )
    .unwrap();
    rt.invoke("boom", json!({ "ok": 1 })).await.unwrap();
    let r = rt.invoke("boom", json!({ "panic": true })).await.unwrap();
    let fe = r.function_error.clone().unwrap();
    assert_eq!(fe.kind, FunctionErrorKind::Unhandled);
    assert_eq!(fe.error_type, "Runtime.ExitError");
    assert!(
        fe.error_message.contains("Lambda panicked: kaboom"),
        "{}",
        fe.error_message
    );
    assert_eq!(r.payload["errorType"], "Runtime.ExitError");
    assert_eq!(inits.load(Ordering::SeqCst), 1);
    let r = rt.invoke("boom", json!({ "ok": 2 })).await.unwrap();
    assert_eq!(
        r.payload,
        json!({ "ok": 2 }),
        "the host and the function carry on"
    );
    assert!(r.cold_start(), "the panicked instance was discarded");
    assert_eq!(inits.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_does_not_affect_other_invocations() {
    let (_clock, rt) = manual_runtime();
    rt.create_function(
        "mixed",
        Code::from_fn(|e: Value, _c: Context| async move {
            tokio::task::yield_now().await;
            if e.as_u64().unwrap().is_multiple_of(3) {
                panic!("every third panics");
            }
            Ok::<_, HandlerError>(e)
        }),
        config(),
    )
    .unwrap();
    let mut tasks = Vec::new();
    for i in 0..300u64 {
        let rt = rt.clone();
        tasks.push(tokio::spawn(async move {
            (i, rt.invoke("mixed", json!(i)).await.unwrap())
        }));
    }
    for t in tasks {
        let (i, r) = t.await.unwrap();
        if i % 3 == 0 {
            assert_eq!(r.function_error.unwrap().kind, FunctionErrorKind::Unhandled);
        } else {
            assert_eq!(r.function_error, None);
            assert_eq!(r.payload, json!(i));
        }
    }
    let m = rt.metrics("mixed").unwrap();
    assert_eq!((m.total.invocations, m.total.errors), (300, 100));
    assert_eq!(m.concurrent_executions, 0);
}

struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn sleeping_forever_times_out_and_is_cancelled() {
    let (clock, rt) = manual_runtime();
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    rt.create_function(
        "hang",
        Code::from_fn(move |e: Value, _c: Context| {
            let flag = DropFlag(d.clone());
            async move {
                let _flag = flag;
                if e == json!("hang") {
                    std::future::pending::<()>().await;
                }
                Ok::<_, HandlerError>(e)
            }
        }),
        FunctionConfig::builder()
            .with_timeout(Duration::from_secs(3))
            .build()
            .unwrap(),
    )
    .unwrap();
    rt.invoke("hang", json!("warm up")).await.unwrap();
    dropped.store(false, Ordering::SeqCst);
    let task = tokio::spawn({
        let rt = rt.clone();
        async move { rt.invoke("hang", json!("hang")).await.unwrap() }
    });
    clock.wait_for_sleepers(1).await;
    clock.advance(Duration::from_millis(2999));
    tokio::task::yield_now().await;
    assert!(!task.is_finished(), "not before the timeout");
    assert!(!dropped.load(Ordering::SeqCst));
    clock.advance(Duration::from_millis(1));
    let r = task.await.unwrap();
    assert!(
        dropped.load(Ordering::SeqCst),
        "the handler's future was dropped at the deadline"
    );
    let fe = r.function_error.clone().unwrap();
    assert_eq!(fe.kind, FunctionErrorKind::Unhandled);
    assert_eq!(fe.error_type, "Sandbox.Timedout");
    assert!(
        fe.error_message
            .ends_with("Task timed out after 3.00 seconds"),
        "{}",
        fe.error_message
    );
    let report = r.report().unwrap();
    assert_eq!(report.duration, Duration::from_secs(3));
    assert!(report.timed_out);
    let log = r.log.as_ref().unwrap();
    assert!(log.lines[0].contains("Task timed out after 3.00 seconds"));
    assert!(log.report_line().ends_with("Status: timeout"));
    // The timed-out instance is discarded; the next call starts a new one and works.
    let r = rt.invoke("hang", json!("after")).await.unwrap();
    assert!(r.cold_start());
    assert_eq!(r.payload, json!("after"));
    assert_eq!(clock.sleepers(), 0, "no timer left behind");
}

#[tokio::test]
async fn payload_limits_are_lambdas() {
    let (_clock, rt) = manual_runtime();
    rt.create_function(
        "big",
        Code::from_fn(|e: Value, _c: Context| async move {
            let n = e.as_u64().unwrap_or(0) as usize;
            Ok::<_, HandlerError>(json!("x".repeat(n)))
        }),
        config(),
    )
    .unwrap();
    let too_big = json!("y".repeat(SYNC_PAYLOAD_LIMIT)); // plus two quotes
    let e = rt.invoke("big", too_big).await.unwrap_err();
    assert!(
        matches!(e, Error::RequestTooLarge { size, limit, operation: "Invoke", .. }
            if size == SYNC_PAYLOAD_LIMIT + 2 && limit == SYNC_PAYLOAD_LIMIT)
    );
    assert_eq!((e.code(), e.status()), ("RequestTooLargeException", 413));
    let fits = json!("y".repeat(SYNC_PAYLOAD_LIMIT - 2));
    assert!(rt.invoke("big", fits).await.is_ok());

    let e = rt
        .invoke_async("big", json!("z".repeat(ASYNC_PAYLOAD_LIMIT)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::RequestTooLarge {
                operation: "InvokeAsync",
                ..
            }
        ),
        "{e}"
    );

    let r = rt.invoke("big", json!(SYNC_PAYLOAD_LIMIT)).await.unwrap();
    let fe = r.function_error.unwrap();
    assert_eq!(fe.kind, FunctionErrorKind::Unhandled);
    assert_eq!(fe.error_type, "Function.ResponseSizeTooLarge");
    assert!(
        rt.invoke("big", json!(1000))
            .await
            .unwrap()
            .function_error
            .is_none()
    );
    assert_eq!(
        rt.metrics("big").unwrap().total.invocations,
        3,
        "rejected requests never ran"
    );
}

#[tokio::test]
async fn typed_events_and_responses() {
    #[derive(serde::Serialize)]
    struct Order {
        id: u32,
        qty: u32,
    }
    #[derive(serde::Deserialize, serde::Serialize)]
    struct In {
        id: u32,
        qty: u32,
    }
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Out {
        id: u32,
        total: u32,
    }
    let (_clock, rt) = manual_runtime();
    rt.create_function(
        "price",
        Code::lambda(|e: LambdaEvent<In>| async move {
            Ok::<_, LambdaError>(Out {
                id: e.payload.id,
                total: e.payload.qty * 5,
            })
        }),
        config(),
    )
    .unwrap();
    let out: Out = rt
        .invoke_typed("price", &Order { id: 7, qty: 3 }, InvokeOptions::default())
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(out, Out { id: 7, total: 15 });
    let r = rt.invoke("price", json!({ "id": "seven" })).await.unwrap();
    assert_eq!(
        r.function_error.unwrap().error_type,
        "Runtime.UnmarshalError"
    );
}

/// A handler written for `lambda_runtime` with `aws_lambda_events` types; only the `use` line differs.
mod written_for_aws {
    use super::*;

    pub(super) async fn function_handler(
        event: LambdaEvent<S3Event>,
    ) -> Result<Value, LambdaError> {
        let keys: Vec<String> = event
            .payload
            .records
            .iter()
            .filter_map(|r| r.s3.object.key.clone())
            .collect();
        if keys.is_empty() {
            return Err("no records".into());
        }
        Ok(json!({ "keys": keys, "request": event.context.request_id }))
    }

    pub(super) async fn api_handler(
        event: LambdaEvent<ApiGatewayProxyRequest>,
    ) -> Result<ApiGatewayProxyResponse, LambdaError> {
        let mut resp = ApiGatewayProxyResponse::default();
        resp.status_code = 200;
        resp.body = Some(format!("path={}", event.payload.path.unwrap_or_default()).into());
        Ok(resp)
    }
}

#[tokio::test]
async fn aws_lambda_events_handlers_run_unchanged() {
    let (_clock, rt) = manual_runtime();
    rt.create_function(
        "s3",
        Code::service(service_fn(written_for_aws::function_handler)),
        config(),
    )
    .unwrap();
    rt.create_function("api", Code::lambda(written_for_aws::api_handler), config())
        .unwrap();
    let s3_event = json!({
        "Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2024-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
            "userIdentity": { "principalId": "me" }, "requestParameters": { "sourceIPAddress": "127.0.0.1" },
            "responseElements": {},
            "s3": { "s3SchemaVersion": "1.0", "configurationId": "c",
                    "bucket": { "name": "b", "ownerIdentity": { "principalId": "me" }, "arn": "arn:aws:s3:::b" },
                    "object": { "key": "photos/cat.jpg", "size": 3, "eTag": "e", "sequencer": "1" } }
        }]
    });
    let r = rt.invoke("s3", s3_event).await.unwrap();
    assert_eq!(r.payload["keys"], json!(["photos/cat.jpg"]));
    assert_eq!(r.payload["request"], json!(r.request_id));
    let r = rt.invoke("s3", json!({ "Records": [] })).await.unwrap();
    assert_eq!(r.function_error.unwrap().error_message, "no records");

    let req = json!({ "path": "/hello", "httpMethod": "GET", "headers": {}, "multiValueHeaders": {},
                      "queryStringParameters": {}, "multiValueQueryStringParameters": {},
                      "requestContext": { "httpMethod": "GET", "path": "/hello" } });
    let r = rt.invoke("api", req).await.unwrap();
    assert_eq!(r.function_error, None, "{}", r.payload);
    assert_eq!(r.payload["statusCode"], 200);
    assert_eq!(r.payload["body"], "path=/hello");
}

#[tokio::test]
async fn tower_services_adapt() {
    use tower::ServiceBuilder;
    let (_clock, rt) = manual_runtime();
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let svc = ServiceBuilder::new().service(service_fn(move |e: LambdaEvent<Value>| {
        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
        async move { Ok::<_, LambdaError>(json!({ "n": n, "payload": e.payload })) }
    }));
    rt.create_function("svc", Code::service(svc), config())
        .unwrap();
    assert_eq!(
        rt.invoke("svc", json!("a")).await.unwrap().payload,
        json!({ "n": 1, "payload": "a" })
    );
    assert_eq!(
        rt.invoke("svc", json!("b")).await.unwrap().payload,
        json!({ "n": 2, "payload": "b" })
    );
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn futures_are_send() {
    // funcrt's locks are parking_lot guards, which are not Send: if any were held across an `.await`,
    // these futures would not be Send and this test would not compile.
    let (_clock, rt) = manual_runtime();
    rt.create_function("f", echo(), config()).unwrap();
    let f1 = rt.invoke("f", json!(1));
    assert_send(&f1);
    let f2 = rt.invoke_async("f", json!(1));
    assert_send(&f2);
    let f3 = rt.put_provisioned_concurrency("f", "1", 1);
    assert_send(&f3);
    let f4 = rt.invoke_opts("f", json!(1), InvokeOptions::dry_run());
    assert_send(&f4);
    assert_eq!(f1.await.unwrap().payload, json!(1));
    assert_eq!(f2.await.unwrap().status_code, 202);
    assert!(f3.await.is_err(), "no version 1");
    assert_eq!(f4.await.unwrap().status_code, 204);
    fn runtime_is_send_sync<T: Send + Sync + Clone>() {}
    runtime_is_send_sync::<Runtime>();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_lock_is_held_while_a_handler_awaits() {
    // While a handler is suspended mid-invocation, every other operation of the runtime (control plane,
    // metrics, other invocations of the same and other functions, a nested invoke from inside the
    // handler) must proceed. A lock held across the handler's await would deadlock here.
    let (_clock, rt) = manual_runtime();
    let gate = Arc::new(tokio::sync::Notify::new());
    let entered = Arc::new(tokio::sync::Notify::new());
    let (g, en) = (gate.clone(), entered.clone());
    let rt2 = rt.clone();
    rt.create_function(
        "waits",
        Code::from_fn(move |e: Value, _c: Context| {
            let (g, en, rt2) = (g.clone(), en.clone(), rt2.clone());
            async move {
                if e == json!("block") {
                    en.notify_one();
                    g.notified().await;
                    // Nested invocation from inside a handler.
                    let inner = rt2
                        .invoke("other", json!("nested"))
                        .await
                        .map_err(|e| e.to_string())?;
                    return Ok::<_, HandlerError>(inner.payload);
                }
                Ok(e)
            }
        }),
        FunctionConfig::builder()
            .with_timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
    )
    .unwrap();
    rt.create_function("other", echo(), config()).unwrap();
    let blocked = tokio::spawn({
        let rt = rt.clone();
        async move { rt.invoke("waits", json!("block")).await.unwrap() }
    });
    entered.notified().await;
    let work = async {
        assert_eq!(
            rt.invoke("waits", json!(1)).await.unwrap().payload,
            json!(1)
        );
        assert_eq!(
            rt.invoke("other", json!(2)).await.unwrap().payload,
            json!(2)
        );
        rt.create_function("third", echo(), config()).unwrap();
        rt.publish_version("waits", "").unwrap();
        rt.update_function_configuration("waits", Default::default())
            .unwrap();
        rt.put_function_concurrency("other", Some(5)).unwrap();
        assert_eq!(rt.metrics("waits").unwrap().concurrent_executions, 1);
        rt.reap_idle_instances();
        rt.list_functions(Default::default()).unwrap();
        rt.delete_function("third").unwrap();
    };
    tokio::time::timeout(Duration::from_secs(10), work)
        .await
        .expect("runtime blocked by a suspended handler");
    gate.notify_one();
    let r = tokio::time::timeout(Duration::from_secs(10), blocked)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.payload, json!("nested"));
}

#[test]
fn event_outside_tokio_is_a_typed_error() {
    let (_clock, rt) = manual_runtime();
    rt.create_function("f", echo(), config()).unwrap();
    let r = futures::executor::block_on(rt.invoke_async("f", json!(1)));
    assert!(matches!(r, Err(Error::NoAsyncRuntime { .. })));
    let r = futures::executor::block_on(rt.invoke("f", json!(1))).unwrap();
    assert_eq!(r.payload, json!(1), "synchronous invocations need no tokio");
}
