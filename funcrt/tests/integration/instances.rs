//! Instances: cold and warm starts, keep-alive on the clock, init failures and timeouts, provisioned
//! concurrency, reaping, code updates.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::common::*;
use funcrt::{AliasConfig, Code, Context, Error, FunctionConfig, FunctionErrorKind, HandlerError};
use serde_json::{Value, json};

#[tokio::test]
async fn cold_and_warm_starts_follow_the_keep_alive() {
    let (clock, rt) = manual_runtime(); // keep-alive 300 s
    let inits = Arc::new(AtomicU32::new(0));
    let calls = Arc::new(AtomicU32::new(0));
    rt.create_function("f", counting(inits.clone(), calls.clone()), config())
        .unwrap();

    let r = rt.invoke("f", json!(1)).await.unwrap();
    assert!(r.cold_start());
    assert!(
        rt.invoke("f", json!(2))
            .await
            .unwrap()
            .report()
            .unwrap()
            .init_duration
            .is_none()
    );
    clock.advance(Duration::from_secs(299));
    assert!(
        !rt.invoke("f", json!(3)).await.unwrap().cold_start(),
        "299 s idle: still warm"
    );
    clock.advance(Duration::from_secs(299));
    assert!(
        !rt.invoke("f", json!(4)).await.unwrap().cold_start(),
        "idle time restarts at each use"
    );
    clock.advance(Duration::from_secs(300));
    assert!(
        rt.invoke("f", json!(5)).await.unwrap().cold_start(),
        "300 s idle: reaped"
    );
    assert_eq!(inits.load(Ordering::SeqCst), 2);
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    let m = rt.metrics("f").unwrap();
    assert_eq!((m.total.cold_starts, m.total.warm_starts), (2, 3));
    assert_eq!(m.by_version["$LATEST"].cold_starts, 2);
    assert_eq!(m.instances, 1);
}

#[tokio::test]
async fn per_function_keep_alive_overrides_the_runtime() {
    let (clock, rt) = manual_runtime();
    rt.create_function(
        "short",
        echo(),
        FunctionConfig::builder()
            .with_keep_alive(Duration::from_secs(10))
            .build()
            .unwrap(),
    )
    .unwrap();
    assert!(rt.invoke("short", json!(1)).await.unwrap().cold_start());
    clock.advance(Duration::from_secs(9));
    assert!(!rt.invoke("short", json!(1)).await.unwrap().cold_start());
    clock.advance(Duration::from_secs(10));
    assert!(rt.invoke("short", json!(1)).await.unwrap().cold_start());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_runs_once_per_instance() {
    let (_clock, rt) = manual_runtime();
    let inits = Arc::new(AtomicU32::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let running = Arc::new(AtomicU32::new(0));
    let (i2, g2, r2) = (inits.clone(), gate.clone(), running.clone());
    rt.create_function(
        "f",
        Code::with_init(move |_| {
            i2.fetch_add(1, Ordering::SeqCst);
            let (g, r) = (g2.clone(), r2.clone());
            async move {
                Ok(funcrt::handler_fn(move |e: Value, _c: Context| {
                    let (g, r) = (g.clone(), r.clone());
                    async move {
                        if e == json!("hold") {
                            r.fetch_add(1, Ordering::SeqCst);
                            let _p = g.acquire().await.map_err(|e| e.to_string())?;
                        }
                        Ok::<_, HandlerError>(e)
                    }
                }))
            }
        }),
        FunctionConfig::builder()
            .with_timeout(Duration::from_secs(900))
            .build()
            .unwrap(),
    )
    .unwrap();
    // Three overlapping invocations need three instances: one invocation per instance at a time.
    let mut held = Vec::new();
    for _ in 0..3 {
        let rt = rt.clone();
        held.push(tokio::spawn(async move {
            rt.invoke("f", json!("hold")).await.unwrap()
        }));
    }
    until(|| running.load(Ordering::SeqCst) == 3).await;
    assert_eq!(inits.load(Ordering::SeqCst), 3);
    gate.add_permits(3);
    for h in held {
        assert!(h.await.unwrap().cold_start());
    }
    // Then they are reused: 30 sequential calls start nothing new.
    for i in 0..30 {
        assert!(!rt.invoke("f", json!(i)).await.unwrap().cold_start());
    }
    assert_eq!(inits.load(Ordering::SeqCst), 3);
    assert_eq!(rt.metrics("f").unwrap().instances, 3);
}

#[tokio::test]
async fn failing_init_fails_the_invocation_with_lambdas_init_error() {
    let (_clock, rt) = manual_runtime();
    let attempts = Arc::new(AtomicU32::new(0));
    let a = attempts.clone();
    rt.create_function(
        "badinit",
        Code::with_init(move |_| {
            let n = a.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err(HandlerError::new("ConfigError", "missing table"))
                } else {
                    Ok(funcrt::handler_fn(|e: Value, _c: Context| async move {
                        Ok::<_, HandlerError>(e)
                    }))
                }
            }
        }),
        config(),
    )
    .unwrap();
    let r = rt.invoke("badinit", json!(1)).await.unwrap();
    let fe = r.function_error.clone().unwrap();
    assert_eq!(fe.kind, FunctionErrorKind::Unhandled);
    assert_eq!(fe.error_type, "Runtime.InitError");
    assert!(fe.error_message.contains("missing table"));
    assert!(r.report().unwrap().init_duration.is_some());
    // No instance was kept: the next call runs init again, which now succeeds.
    let r = rt.invoke("badinit", json!(2)).await.unwrap();
    assert_eq!(r.payload, json!(2));
    assert!(r.cold_start());
    let m = rt.metrics("badinit").unwrap();
    assert_eq!(
        (m.total.invocations, m.total.errors, m.instances),
        (2, 1, 1)
    );

    rt.create_function(
        "panicinit",
        Code::with_init(|_| async move {
            panic!("init exploded");
            #[expect(
                unreachable_code,
                reason = "the init panics first; the `Ok` only gives the future its output type"
            )]
            Ok(funcrt::handler_fn(|e: Value, _c: Context| async move {
                Ok::<_, HandlerError>(e)
            }))
        }),
        config(),
    )
    .unwrap();
    let fe = rt
        .invoke("panicinit", json!(1))
        .await
        .unwrap()
        .function_error
        .unwrap();
    assert_eq!(fe.error_type, "Runtime.InitError");
    assert!(fe.error_message.contains("init exploded"));
}

#[tokio::test]
async fn init_past_ten_seconds_fails() {
    let (clock, rt) = manual_runtime();
    rt.create_function(
        "slowinit",
        Code::with_init(|init: funcrt::InitContext| async move {
            init.clock.sleep(Duration::from_secs(11)).await;
            Ok(funcrt::handler_fn(|e: Value, _c: Context| async move {
                Ok::<_, HandlerError>(e)
            }))
        }),
        config(),
    )
    .unwrap();
    let task = tokio::spawn({
        let rt = rt.clone();
        async move { rt.invoke("slowinit", json!(1)).await.unwrap() }
    });
    clock.wait_for_sleepers(2).await; // the init's own sleep and the 10 s init limit
    clock.advance(Duration::from_secs(10));
    let r = task.await.unwrap();
    let fe = r.function_error.clone().unwrap();
    assert_eq!(fe.error_type, "Runtime.InitError");
    assert!(
        fe.error_message
            .contains("Init timed out after 10.00 seconds"),
        "{}",
        fe.error_message
    );
    assert_eq!(
        r.report().unwrap().init_duration,
        Some(Duration::from_secs(10))
    );
    assert_eq!(rt.metrics("slowinit").unwrap().instances, 0);
}

#[tokio::test]
async fn provisioned_instances_are_ready_and_kept() {
    let (clock, rt) = manual_runtime();
    let inits = Arc::new(AtomicU32::new(0));
    let calls = Arc::new(AtomicU32::new(0));
    rt.create_function("p", counting(inits.clone(), calls.clone()), config())
        .unwrap();
    let e = rt
        .put_provisioned_concurrency("p", "$LATEST", 2)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "InvalidParameterValueException");
    rt.publish_version("p", "").unwrap();
    rt.create_alias("p", AliasConfig::new("live", "1")).unwrap();
    rt.put_provisioned_concurrency("p", "live", 2)
        .await
        .unwrap();
    assert_eq!(
        inits.load(Ordering::SeqCst),
        2,
        "initialised ahead of any invocation"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(rt.list_versions("p").unwrap()[1].provisioned_concurrency, 2);

    let r = rt.invoke("p:live", json!(1)).await.unwrap();
    assert!(!r.cold_start(), "served by a provisioned instance");
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        rt.reap_idle_instances(),
        0,
        "provisioned instances are never reaped"
    );
    assert!(!rt.invoke("p:1", json!(2)).await.unwrap().cold_start());
    assert_eq!(inits.load(Ordering::SeqCst), 2);
    assert_eq!(rt.metrics("p").unwrap().instances, 2);

    // More than the reservation allows is refused.
    rt.put_function_concurrency("p", Some(3)).unwrap();
    let e = rt
        .put_provisioned_concurrency("p", "1", 4)
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidParameter {
            parameter: "ProvisionedConcurrentExecutions",
            ..
        }
    ));
    assert!(
        rt.put_function_concurrency("p", Some(1)).is_err(),
        "below the provisioned 2"
    );
}

#[tokio::test]
async fn idle_instances_are_reaped() {
    let (clock, rt) = manual_runtime();
    rt.create_function("f", echo(), config()).unwrap();
    rt.create_function("g", echo(), config()).unwrap();
    rt.invoke("f", json!(1)).await.unwrap();
    rt.invoke("g", json!(1)).await.unwrap();
    assert_eq!(rt.metrics("f").unwrap().instances, 1);
    clock.advance(Duration::from_secs(200));
    rt.invoke("g", json!(1)).await.unwrap();
    clock.advance(Duration::from_secs(100));
    assert_eq!(
        rt.reap_idle_instances(),
        1,
        "f idle 300 s is reaped; g idle 100 s is not"
    );
    assert_eq!(rt.metrics("f").unwrap().instances, 0);
    assert_eq!(rt.metrics("g").unwrap().instances, 1);

    // The background reaper does the same on the clock.
    let reaper = rt.spawn_reaper(Duration::from_secs(60)).unwrap();
    clock.wait_for_sleepers(1).await;
    clock.advance(Duration::from_secs(240)); // g now idle 340 s
    until(|| rt.metrics("g").unwrap().instances == 0).await;
    reaper.abort();
}

#[tokio::test]
async fn code_update_retires_warm_instances() {
    let (_clock, rt) = manual_runtime();
    rt.create_function(
        "f",
        Code::from_fn(|_e: Value, _c: Context| async move { Ok::<_, HandlerError>(json!("old")) }),
        config(),
    )
    .unwrap();
    rt.invoke("f", json!(null)).await.unwrap();
    assert!(!rt.invoke("f", json!(null)).await.unwrap().cold_start());
    rt.update_function_code(
        "f",
        Code::from_fn(|_e: Value, _c: Context| async move { Ok::<_, HandlerError>(json!("new")) }),
    )
    .unwrap();
    let r = rt.invoke("f", json!(null)).await.unwrap();
    assert_eq!(r.payload, json!("new"));
    assert!(r.cold_start());
    assert_eq!(
        rt.metrics("f").unwrap().instances,
        1,
        "the old instance is gone"
    );
}
