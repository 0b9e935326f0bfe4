//! funcrt: Lambda semantics in-process: cold and warm starts, throttling, async retries to a destination,
//! and metering with Lambda's REPORT line. All waiting happens on a manual clock, so it runs in
//! milliseconds.

use std::time::Duration;

use funcrt::serde_json::json;
use funcrt::{
    Code, Context, Destination, EventInvokeConfig, EventQueue, FunctionConfig, HandlerError,
    InitContext, Runtime, Value,
};
use stratus_clock::ManualClock;

pub(crate) async fn run() -> crate::TourResult {
    println!("== funcrt: AWS Lambda semantics in-process");
    let clock = ManualClock::new();
    let rt = Runtime::builder()
        .with_clock(clock.clock())
        .with_keep_alive(Duration::from_secs(300))
        .build()?;

    // A function whose init takes 180 ms (on the clock) once per instance: the cold start.
    let code = Code::with_init(|init: InitContext| async move {
        init.clock.sleep(Duration::from_millis(180)).await;
        let prefix = init.env("PREFIX").unwrap_or("thumb").to_owned();
        Ok(funcrt::handler_fn(move |event: Value, ctx: Context| {
            let prefix = prefix.clone();
            async move {
                ctx.log(format!("resizing {}", event["key"]));
                ctx.clock().sleep(Duration::from_millis(42)).await;
                Ok::<_, HandlerError>(
                    json!({ "thumbnail": format!("{prefix}/{}", event["key"].as_str().unwrap_or("?")) }),
                )
            }
        }))
    });
    rt.create_function(
        "thumbnail",
        code,
        FunctionConfig::builder()
            .with_memory_mb(512)
            .with_timeout(Duration::from_secs(10))
            .with_env("PREFIX", "small")
            .build()?,
    )?;

    // Cold, then warm: the clock is moved by hand while the invocation waits on it.
    for key in ["cat.jpg", "dog.jpg"] {
        let call = tokio::spawn({
            let rt = rt.clone();
            async move { rt.invoke("thumbnail", json!({ "key": key })).await }
        });
        let cold = key == "cat.jpg";
        if cold {
            clock.wait_for_sleepers(2).await; // init's sleep + the 10 s init limit
            clock.advance(Duration::from_millis(180));
        }
        clock.wait_for_sleepers(2).await; // handler's sleep + its timeout
        clock.advance(Duration::from_millis(42));
        let r = call.await??;
        println!(
            "invoke {key}: {} (version {}, {})",
            r.payload,
            r.executed_version,
            if r.cold_start() { "cold start" } else { "warm" }
        );
        for line in r.log.as_ref().map(|l| l.render()).unwrap_or_default() {
            println!("    {line}");
        }
    }

    // Reserved concurrency 1: while one call runs, a second synchronous call is throttled at once.
    rt.put_function_concurrency("thumbnail", Some(1))?;
    let running = tokio::spawn({
        let rt = rt.clone();
        async move { rt.invoke("thumbnail", json!({ "key": "owl.jpg" })).await }
    });
    clock.wait_for_sleepers(2).await;
    match rt.invoke("thumbnail", json!({ "key": "fox.jpg" })).await {
        Err(e) => println!("second concurrent call: {} ({}): {e}", e.code(), e.status()),
        Ok(_) => println!("second concurrent call unexpectedly ran"),
    }
    clock.advance(Duration::from_millis(42));
    running.await??;

    // An async event whose first attempt fails: retried 1 minute later, then delivered to on-success.
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let a = attempts.clone();
    rt.create_function(
        "charge",
        Code::from_fn(move |event: Value, _ctx: Context| {
            let n = a.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            async move {
                if n == 1 {
                    Err(HandlerError::new(
                        "PaymentGatewayTimeout",
                        "gateway did not answer",
                    ))
                } else {
                    Ok(json!({ "charged": event["amount"] }))
                }
            }
        }),
        FunctionConfig::default(),
    )?;
    let done = EventQueue::new();
    rt.put_event_invoke_config(
        "charge",
        EventInvokeConfig {
            on_success: Some(Destination::Queue(done.clone())),
            ..Default::default()
        },
    )?;
    let accepted = rt.invoke_async("charge", json!({ "amount": 1999 })).await?;
    println!(
        "invoke_async charge: {} Accepted, request {}",
        accepted.status_code, accepted.request_id
    );
    clock.wait_for_sleepers(1).await; // first attempt failed, the retry waits a minute on the clock
    clock.advance(Duration::from_secs(60));
    let record = done.recv().await.body;
    println!(
        "on-success destination got the record: condition {}, approximateInvokeCount {}, response {}",
        record["requestContext"]["condition"],
        record["requestContext"]["approximateInvokeCount"],
        record["responsePayload"]
    );

    // Metering: totals per function and version.
    let m = rt.metrics("thumbnail")?;
    println!(
        "thumbnail metrics: {} invocations ({} cold, {} warm), {} throttled, p50 {:?}, {:.6} GB-s, ${:.10} estimated",
        m.total.invocations,
        m.total.cold_starts,
        m.total.warm_starts,
        m.total.throttles,
        m.total.p50,
        m.total.gb_seconds,
        m.total.estimated_cost_usd
    );
    Ok(())
}
