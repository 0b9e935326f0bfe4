//! Metering: durations on the clock, billing, GB-seconds and cost, percentiles, logs with Lambda's
//! lines, and a stress test whose totals must add up.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use funcrt::{
    AliasConfig, Code, Context, EventInvokeConfig, EventQueue, FunctionConfig, HandlerError,
    InvocationLog, PriceTable, Runtime,
};
use serde_json::{Value, json};
use stratus_clock::ManualClock;

/// A handler that "works" for the number of milliseconds in its event, on the runtime's clock.
fn busy() -> Code {
    Code::from_fn(|e: Value, ctx: Context| async move {
        let ms = e.as_u64().unwrap_or(0);
        ctx.log(format!("working {ms} ms"));
        if ms > 0 {
            ctx.clock().sleep(Duration::from_millis(ms)).await;
        }
        Ok::<_, HandlerError>(json!(ms))
    })
}

async fn invoke_for(
    clock: &ManualClock,
    rt: &Runtime,
    name: &str,
    ms: u64,
) -> funcrt::InvokeResponse {
    let task = tokio::spawn({
        let (rt, name) = (rt.clone(), name.to_owned());
        async move { rt.invoke(&name, json!(ms)).await.unwrap() }
    });
    if ms > 0 {
        clock.wait_for_sleepers(2).await; // the handler's sleep and its timeout
        clock.advance(Duration::from_millis(ms));
    }
    task.await.unwrap()
}

#[tokio::test]
async fn duration_billing_and_gb_seconds() {
    let clock = ManualClock::new();
    let prices = PriceTable {
        per_gb_second: 0.01,
        per_request: 0.5,
    };
    let rt = Runtime::builder()
        .with_clock(clock.clock())
        .with_price_table(prices)
        .build()
        .unwrap();
    rt.create_function(
        "busy",
        busy(),
        FunctionConfig::builder()
            .with_memory_mb(512)
            .with_timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
    )
    .unwrap();
    let r = invoke_for(&clock, &rt, "busy", 1500).await;
    let report = r.report().unwrap().clone();
    assert_eq!(report.duration, Duration::from_millis(1500));
    assert_eq!(report.billed_duration_ms, 1500);
    assert_eq!(report.memory_mb, 512);
    assert!((report.gb_seconds() - 0.75).abs() < 1e-12, "0.5 GB x 1.5 s");
    let r0 = invoke_for(&clock, &rt, "busy", 0).await;
    assert_eq!(r0.report().unwrap().duration, Duration::ZERO);
    assert_eq!(
        r0.report().unwrap().billed_duration_ms,
        1,
        "at least 1 ms is billed"
    );

    let m = rt.metrics("busy").unwrap();
    assert_eq!(m.total.invocations, 2);
    assert_eq!(m.total.billed_ms, 1501);
    let gb_s = 0.5 * 1.501;
    assert!(
        (m.total.gb_seconds - gb_s).abs() < 1e-9,
        "{}",
        m.total.gb_seconds
    );
    assert!((m.total.estimated_cost_usd - (gb_s * 0.01 + 2.0 * 0.5)).abs() < 1e-9);
    assert_eq!(
        m.by_version["$LATEST"], m.total,
        "one version: totals equal"
    );
}

#[tokio::test]
async fn percentiles_per_version() {
    let (clock, rt) = manual_runtime();
    rt.create_function(
        "busy",
        busy(),
        FunctionConfig::builder()
            .with_timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
    )
    .unwrap();
    for ms in 1..=100 {
        invoke_for(&clock, &rt, "busy", ms).await;
    }
    let m = rt.metrics("busy").unwrap();
    let near = |d: Duration, ms: f64| ((d.as_secs_f64() * 1000.0) - ms).abs() <= ms * 0.01;
    assert!(near(m.total.p50, 50.0), "{:?}", m.total.p50);
    assert!(near(m.total.p90, 90.0), "{:?}", m.total.p90);
    assert!(near(m.total.p99, 99.0), "{:?}", m.total.p99);
}

#[tokio::test]
async fn logs_have_start_end_report_lines() {
    let clock = ManualClock::new();
    let captured: Arc<Mutex<Vec<InvocationLog>>> = Arc::default();
    let c = captured.clone();
    let rt = Runtime::builder()
        .with_clock(clock.clock())
        .with_on_log(move |log| c.lock().unwrap().push(log.clone()))
        .build()
        .unwrap();
    rt.create_function(
        "logger",
        Code::with_init(|init: funcrt::InitContext| async move {
            init.clock.sleep(Duration::from_millis(250)).await;
            Ok(funcrt::handler_fn(|e: Value, ctx: Context| async move {
                ctx.log("first line");
                ctx.log(format!("event {e}"));
                Ok::<_, HandlerError>(e)
            }))
        }),
        config(),
    )
    .unwrap();
    let task = tokio::spawn({
        let rt = rt.clone();
        async move { rt.invoke("logger", json!(7)).await.unwrap() }
    });
    clock.wait_for_sleepers(2).await; // init's sleep and the init limit
    clock.advance(Duration::from_millis(250));
    let r = task.await.unwrap();
    let lines = r.log.as_ref().unwrap().render();
    let id = &r.request_id;
    assert_eq!(lines[0], format!("START RequestId: {id} Version: $LATEST"));
    assert_eq!(lines[1], "first line");
    assert_eq!(lines[2], "event 7");
    assert_eq!(lines[3], format!("END RequestId: {id}"));
    assert_eq!(
        lines[4],
        format!(
            "REPORT RequestId: {id}\tDuration: 0.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tInit Duration: 250.00 ms\t"
        )
    );
    // A warm invocation's log starts empty and has no Init Duration.
    let r = rt.invoke("logger", json!(8)).await.unwrap();
    let log = r.log.unwrap();
    assert_eq!(
        log.lines,
        vec!["first line".to_string(), "event 8".to_string()]
    );
    assert!(!log.report_line().contains("Init Duration"));
    // Event invocations' logs reach the hook too.
    rt.put_event_invoke_config("logger", EventInvokeConfig::default())
        .unwrap();
    rt.invoke_async("logger", json!(9)).await.unwrap();
    until(|| rt.pending_events() == 0).await;
    let all = captured.lock().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].lines[1], "event 9");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_many_functions_on_two_threads_adds_up() {
    let clock = ManualClock::new();
    let rt = Runtime::builder()
        .with_clock(clock.clock())
        .build()
        .unwrap();
    const FUNCTIONS: usize = 12;
    for i in 0..FUNCTIONS {
        let name = format!("f{i}");
        let code = Code::from_fn(|e: Value, ctx: Context| async move {
            let n = e.as_u64().unwrap();
            if n.is_multiple_of(5) {
                tokio::task::yield_now().await;
            }
            match n % 50 {
                7 => Err(HandlerError::new("Seven", "handled failure")),
                13 => panic!("unlucky"),
                _ => {
                    ctx.log("ok");
                    Ok::<_, HandlerError>(json!(n))
                }
            }
        });
        let mut cfg = FunctionConfig::builder().with_per_instance_concurrency(1 + (i as u32 % 3));
        if i % 4 == 0 {
            cfg = cfg.with_reserved_concurrency(2);
        }
        rt.create_function(&name, code, cfg.build().unwrap())
            .unwrap();
        rt.publish_version(&name, "").unwrap();
        rt.update_function_configuration(
            &name,
            funcrt::ConfigUpdate {
                memory_mb: Some(256),
                ..Default::default()
            },
        )
        .unwrap();
        rt.publish_version(&name, "").unwrap();
        rt.create_alias(&name, AliasConfig::new("live", "1").with_routing("2", 0.5))
            .unwrap();
        rt.put_event_invoke_config(
            &name,
            EventInvokeConfig {
                maximum_retry_attempts: 0,
                on_success: Some(funcrt::Destination::Queue(EventQueue::new())),
                ..Default::default()
            },
        )
        .unwrap();
    }
    let mut tasks = Vec::new();
    for t in 0..8u64 {
        let rt = rt.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut throttled) = (0u64, 0u64, 0u64);
            for n in 0..2_500u64 {
                let name = match (n + t) % 3 {
                    0 => format!("f{}", n as usize % FUNCTIONS),
                    1 => format!("f{}:live", n as usize % FUNCTIONS),
                    _ => format!("f{}:1", n as usize % FUNCTIONS),
                };
                // Events go to unreserved functions only: a throttled event would wait on the manual
                // clock, which this test does not move.
                let r = if n.is_multiple_of(97) && !(n as usize % FUNCTIONS).is_multiple_of(4) {
                    rt.invoke_async(&name, json!(n)).await.map(|_| None)
                } else {
                    rt.invoke(&name, json!(n)).await.map(Some)
                };
                match r {
                    Ok(Some(r)) if r.function_error.is_none() => ok += 1,
                    Ok(Some(_)) => failed += 1,
                    Ok(None) => {}
                    Err(funcrt::Error::TooManyRequests { .. }) => throttled += 1,
                    Err(e) => panic!("unexpected error {e}"),
                }
            }
            (ok, failed, throttled)
        }));
    }
    let (mut ok, mut failed, mut throttled) = (0, 0, 0);
    for t in tasks {
        let (o, f, th) = t.await.unwrap();
        ok += o;
        failed += f;
        throttled += th;
    }
    until(|| rt.pending_events() == 0).await;
    let (mut invocations, mut errors, mut throttles) = (0, 0, 0);
    for i in 0..FUNCTIONS {
        let m = rt.metrics(&format!("f{i}")).unwrap();
        let v_inv: u64 = m.by_version.values().map(|v| v.invocations).sum();
        let v_err: u64 = m.by_version.values().map(|v| v.errors).sum();
        let v_thr: u64 = m.by_version.values().map(|v| v.throttles).sum();
        let v_cold: u64 = m.by_version.values().map(|v| v.cold_starts).sum();
        assert_eq!(
            m.total.invocations, v_inv,
            "f{i}: per-version invocations add up to the total"
        );
        assert_eq!(m.total.errors, v_err, "f{i}: errors add up");
        assert_eq!(m.total.throttles, v_thr, "f{i}: throttles add up");
        assert_eq!(m.total.cold_starts, v_cold);
        assert_eq!(
            m.total.cold_starts + m.total.warm_starts,
            m.total.invocations
        );
        assert_eq!(m.concurrent_executions, 0, "f{i}: every permit released");
        for (v, snap) in &m.by_version {
            assert_eq!(snap.concurrent_executions, 0, "f{i}:{v}");
            assert!(
                snap.max_concurrent_executions <= m.max_concurrent_executions,
                "f{i}:{v}"
            );
        }
        if i % 4 == 0 {
            assert!(m.max_concurrent_executions <= 2, "f{i}: reserved 2");
        }
        assert!(m.by_version.contains_key("1") && m.by_version.contains_key("2"));
        invocations += m.total.invocations;
        errors += m.total.errors;
        throttles += m.total.throttles;
    }
    let sync_calls = ok + failed + throttled;
    let async_calls = 8 * 2_500 - sync_calls;
    assert_eq!(
        invocations,
        ok + failed + async_calls,
        "every call that ran is counted once"
    );
    assert_eq!(throttles, throttled, "every throttle is counted once");
    assert!(errors >= failed);
    assert_eq!(rt.account_settings().unreserved_in_use, 0);
}
