//! Concurrency limits: reserved concurrency, the account pool, throttling of sync and async calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::common::*;
use funcrt::{
    Code, Context, Destination, Error, EventInvokeConfig, EventQueue, FunctionConfig, HandlerError,
    Runtime, ThrottleReason,
};
use serde_json::{Value, json};
use stratus_clock::ManualClock;

/// A function whose invocations wait until the gate opens, tracking how many run at once.
fn gated(gate: Arc<tokio::sync::Semaphore>, running: Arc<AtomicU32>, peak: Arc<AtomicU32>) -> Code {
    Code::from_fn(move |e: Value, _c: Context| {
        let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
        async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let _p = gate.acquire().await.map_err(|e| e.to_string())?;
            running.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, HandlerError>(e)
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_calls_against_reserved_ten() {
    let (_clock, rt) = manual_runtime();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let running = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    rt.create_function(
        "limited",
        gated(gate.clone(), running.clone(), peak.clone()),
        FunctionConfig::builder()
            .with_reserved_concurrency(10)
            .with_timeout(Duration::from_secs(900))
            .build()
            .unwrap(),
    )
    .unwrap();
    let throttled = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for i in 0..1000u32 {
        let rt = rt.clone();
        let throttled = throttled.clone();
        tasks.push(tokio::spawn(async move {
            let r = rt.invoke("limited", json!(i)).await;
            if let Err(Error::TooManyRequests { .. }) = &r {
                throttled.fetch_add(1, Ordering::SeqCst);
            }
            r
        }));
    }
    // Every call either holds one of the 10 places or has been throttled at once.
    until(|| throttled.load(Ordering::SeqCst) == 990 && running.load(Ordering::SeqCst) == 10).await;
    assert_eq!(rt.metrics("limited").unwrap().concurrent_executions, 10);
    gate.add_permits(1000);
    let (mut ok, mut throttles) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => {
                assert_eq!(r.function_error, None);
                ok += 1;
            }
            Err(e) => {
                assert_eq!((e.code(), e.status()), ("TooManyRequestsException", 429));
                assert!(e.to_string().starts_with("Rate Exceeded."));
                assert!(matches!(
                    e,
                    Error::TooManyRequests {
                        reason: ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded,
                        limit: 10,
                        ..
                    }
                ));
                throttles += 1;
            }
        }
    }
    assert_eq!((ok, throttles), (10, 990));
    assert_eq!(
        peak.load(Ordering::SeqCst),
        10,
        "never more than 10 handlers at once"
    );
    let m = rt.metrics("limited").unwrap();
    assert_eq!(m.max_concurrent_executions, 10);
    assert_eq!((m.total.invocations, m.total.throttles), (10, 990));
    assert_eq!(m.by_version["$LATEST"].throttles, 990);
    assert_eq!(m.by_version["$LATEST"].max_concurrent_executions, 10);
    assert_eq!(m.total.max_concurrent_executions, 10);
    assert_eq!(m.concurrent_executions, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_limit_throttles_unreserved_functions() {
    let clock = ManualClock::new();
    let rt = Runtime::builder()
        .with_clock(clock.clock())
        .with_account_concurrency(120)
        .build()
        .unwrap();
    assert!(
        Runtime::builder()
            .with_account_concurrency(99)
            .build()
            .is_err()
    );
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let running = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let cfg = FunctionConfig::builder()
        .with_timeout(Duration::from_secs(900))
        .build()
        .unwrap();
    rt.create_function(
        "a",
        gated(gate.clone(), running.clone(), peak.clone()),
        cfg.clone(),
    )
    .unwrap();
    rt.create_function(
        "b",
        gated(gate.clone(), running.clone(), peak.clone()),
        cfg.clone(),
    )
    .unwrap();
    rt.create_function("r", echo(), cfg).unwrap();
    // 20 reserved for "r" leaves 100 unreserved, the minimum; a bigger reservation is refused.
    rt.put_function_concurrency("r", Some(20)).unwrap();
    let e = rt.put_function_concurrency("a", Some(1)).unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidParameter {
            parameter: "ReservedConcurrentExecutions",
            ..
        }
    ));
    assert!(
        e.to_string().contains("below its minimum value of [100]"),
        "{e}"
    );
    assert_eq!(rt.account_settings().unreserved_concurrent_executions, 100);

    let mut tasks = Vec::new();
    for i in 0..150u32 {
        let rt = rt.clone();
        let name = if i % 2 == 0 { "a" } else { "b" };
        tasks.push(tokio::spawn(async move { rt.invoke(name, json!(i)).await }));
    }
    until(|| {
        running.load(Ordering::SeqCst) == 100
            && tasks.iter().filter(|t| t.is_finished()).count() == 50
    })
    .await;
    // The reserved function still runs while the shared pool is full.
    assert!(rt.invoke("r", json!(1)).await.is_ok());
    gate.add_permits(1000);
    let mut throttles = 0;
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            assert!(matches!(
                e,
                Error::TooManyRequests {
                    reason: ThrottleReason::ConcurrentInvocationLimitExceeded,
                    limit: 100,
                    ..
                }
            ));
            throttles += 1;
        }
    }
    assert_eq!(throttles, 50);
    assert_eq!(peak.load(Ordering::SeqCst), 100);
    assert_eq!(rt.account_settings().unreserved_in_use, 0);
}

#[tokio::test]
async fn reserved_zero_throttles_everything() {
    let (_clock, rt) = manual_runtime();
    rt.create_function(
        "off",
        echo(),
        FunctionConfig::builder()
            .with_reserved_concurrency(0)
            .build()
            .unwrap(),
    )
    .unwrap();
    for _ in 0..5 {
        let e = rt.invoke("off", json!(1)).await.unwrap_err();
        assert!(matches!(e, Error::TooManyRequests { limit: 0, .. }));
    }
    rt.put_function_concurrency("off", None).unwrap();
    assert!(rt.invoke("off", json!(1)).await.is_ok());
    let m = rt.metrics("off").unwrap();
    assert_eq!((m.total.invocations, m.total.throttles), (1, 5));
}

#[tokio::test]
async fn throttled_event_waits_in_its_queue() {
    let (clock, rt) = manual_runtime();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let running = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    rt.create_function(
        "one",
        gated(gate.clone(), running.clone(), peak.clone()),
        FunctionConfig::builder()
            .with_reserved_concurrency(1)
            .with_timeout(Duration::from_secs(900))
            .build()
            .unwrap(),
    )
    .unwrap();
    let done = EventQueue::new();
    rt.put_event_invoke_config(
        "one",
        EventInvokeConfig {
            on_success: Some(Destination::Queue(done.clone())),
            ..Default::default()
        },
    )
    .unwrap();
    // A synchronous call holds the only place.
    let sync = tokio::spawn({
        let rt = rt.clone();
        async move { rt.invoke("one", json!("sync")).await }
    });
    until(|| running.load(Ordering::SeqCst) == 1).await;
    // A second synchronous call fails at once; an event call is accepted and waits.
    assert!(matches!(
        rt.invoke("one", json!("x")).await,
        Err(Error::TooManyRequests { .. })
    ));
    let accepted = rt.invoke_async("one", json!("event")).await.unwrap();
    assert_eq!(accepted.status_code, 202);
    assert_eq!(rt.pending_events(), 1);
    // Two timers: the running call's timeout, and the event backing off 1 s after its throttle.
    clock.wait_for_sleepers(2).await;
    let m = rt.metrics("one").unwrap();
    assert_eq!(m.total.throttles, 2);
    clock.advance(Duration::from_secs(1));
    clock.wait_for_sleepers(2).await; // throttled again: now 2 s
    assert_eq!(rt.metrics("one").unwrap().total.throttles, 3);
    gate.add_permits(10);
    sync.await.unwrap().unwrap();
    clock.advance(Duration::from_secs(2));
    let rec = done.recv().await;
    assert_eq!(rec.body["requestContext"]["condition"], "Success");
    assert_eq!(rec.body["requestContext"]["approximateInvokeCount"], 1);
    assert_eq!(rec.body["responsePayload"], "event");
    until(|| rt.pending_events() == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_invocations_share_one_instance_when_allowed() {
    let (_clock, rt) = manual_runtime();
    let inits = Arc::new(AtomicU32::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let running = Arc::new(AtomicU32::new(0));
    let (i2, g2, r2) = (inits.clone(), gate.clone(), running.clone());
    rt.create_function(
        "multi",
        Code::with_init(move |_| {
            i2.fetch_add(1, Ordering::SeqCst);
            let (g, r) = (g2.clone(), r2.clone());
            async move {
                Ok(funcrt::handler_fn(move |e: Value, _c: Context| {
                    let (g, r) = (g.clone(), r.clone());
                    async move {
                        r.fetch_add(1, Ordering::SeqCst);
                        let _p = g.acquire().await.map_err(|e| e.to_string())?;
                        Ok::<_, HandlerError>(e)
                    }
                }))
            }
        }),
        FunctionConfig::builder()
            .with_per_instance_concurrency(4)
            .with_timeout(Duration::from_secs(900))
            .build()
            .unwrap(),
    )
    .unwrap();
    // The first call starts the instance; then three more fit in it at once.
    let first = tokio::spawn({
        let rt = rt.clone();
        async move { rt.invoke("multi", json!(0)).await.unwrap() }
    });
    until(|| running.load(Ordering::SeqCst) == 1).await;
    let mut rest = Vec::new();
    for i in 1..4 {
        let rt = rt.clone();
        rest.push(tokio::spawn(async move {
            rt.invoke("multi", json!(i)).await.unwrap()
        }));
    }
    until(|| running.load(Ordering::SeqCst) == 4).await;
    assert_eq!(
        inits.load(Ordering::SeqCst),
        1,
        "one instance serves four invocations"
    );
    // A fifth needs a second instance.
    let fifth = tokio::spawn({
        let rt = rt.clone();
        async move { rt.invoke("multi", json!(4)).await.unwrap() }
    });
    until(|| running.load(Ordering::SeqCst) == 5).await;
    assert_eq!(inits.load(Ordering::SeqCst), 2);
    gate.add_permits(100);
    assert!(first.await.unwrap().cold_start());
    for t in rest {
        assert!(!t.await.unwrap().cold_start());
    }
    assert!(fifth.await.unwrap().cold_start());
    assert_eq!(rt.metrics("multi").unwrap().instances, 2);
}

#[tokio::test]
async fn a_dropped_caller_releases_its_concurrency() {
    let (clock, rt) = manual_runtime();
    rt.create_function(
        "stuck",
        Code::from_fn(|e: Value, _c: Context| async move {
            if e == json!("hang") {
                std::future::pending::<()>().await;
            }
            Ok::<_, HandlerError>(e)
        }),
        FunctionConfig::builder()
            .with_reserved_concurrency(1)
            .with_timeout(Duration::from_secs(900))
            .build()
            .unwrap(),
    )
    .unwrap();
    let caller = tokio::spawn({
        let rt = rt.clone();
        async move { rt.invoke("stuck", json!("hang")).await }
    });
    clock.wait_for_sleepers(1).await; // running, its timeout armed
    assert_eq!(rt.metrics("stuck").unwrap().concurrent_executions, 1);
    assert!(matches!(
        rt.invoke("stuck", json!(1)).await,
        Err(Error::TooManyRequests { .. })
    ));
    caller.abort();
    assert!(caller.await.unwrap_err().is_cancelled());
    let m = rt.metrics("stuck").unwrap();
    assert_eq!(
        (m.concurrent_executions, m.instances),
        (0, 0),
        "permit released, instance not reused"
    );
    assert_eq!(clock.sleepers(), 0, "the timeout timer went with it");
    let r = rt.invoke("stuck", json!(2)).await.unwrap();
    assert_eq!(r.payload, json!(2));
    assert!(r.cold_start());
}
