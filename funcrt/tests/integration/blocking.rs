//! Handlers and inits that block their thread (issue 16): the caller is answered at its deadline, the
//! instance is discarded and billed, and other functions and the host's runtime keep their latency.
//!
//! A blocking handler here waits on a gate the test opens at the end (bounded at 5 s of real time, so that
//! a runtime that does not isolate handlers fails the assertions instead of hanging). Time that Lambda
//! semantics depend on (the timeout) is on the manual clock; the latencies of the other function and of the
//! host's runtime are wall-clock measurements, printed and bounded generously (the target is 50 ms).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::common::*;
use funcrt::{Code, Context, Execution, FunctionConfig, FunctionErrorKind, HandlerError, Runtime};
use serde_json::{Value, json};

/// A gate that blocking handlers wait on (blocking their OS thread, as `std::thread::sleep` does).
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    /// Blocks the calling thread until the gate opens, at most 5 s.
    fn block(&self) {
        let (open, cv) = &*self.0;
        let guard = open.lock().unwrap();
        let _ = cv
            .wait_timeout_while(guard, Duration::from_secs(5), |open| !*open)
            .unwrap();
    }

    fn open(&self) {
        let (open, cv) = &*self.0;
        *open.lock().unwrap() = true;
        cv.notify_all();
    }
}

/// Code whose handler blocks its thread on `gate` when the event is `"block"`, counting inits and entries.
fn blocking_code(gate: Gate, inits: Arc<AtomicU32>, entered: Arc<AtomicU32>) -> Code {
    Code::with_init(move |_| {
        inits.fetch_add(1, Ordering::SeqCst);
        let (gate, entered) = (gate.clone(), entered.clone());
        async move {
            Ok(funcrt::handler_fn(move |e: Value, _c: Context| {
                let (gate, entered) = (gate.clone(), entered.clone());
                async move {
                    if e == json!("block") {
                        entered.fetch_add(1, Ordering::SeqCst);
                        gate.block();
                    }
                    Ok::<_, HandlerError>(json!("ok"))
                }
            }))
        }
    })
}

/// The worst wall-clock latency, in ms, of `n` RequestResponse calls of `name` made one after another
/// from tasks on the host's workers, and of `n` empty tasks spawned on the host's runtime.
async fn worst_latencies(rt: &Runtime, name: &str, n: usize) -> (f64, f64) {
    let (mut invoke, mut task) = (0f64, 0f64);
    for i in 0..n {
        let t0 = std::time::Instant::now();
        let r = tokio::spawn({
            let rt = rt.clone();
            let name = name.to_owned();
            async move { rt.invoke(&name, json!(i)).await.unwrap() }
        })
        .await
        .unwrap();
        invoke = invoke.max(t0.elapsed().as_secs_f64() * 1e3);
        assert_eq!(r.payload, json!(i));
        let t0 = std::time::Instant::now();
        tokio::spawn(async {}).await.unwrap();
        task = task.max(t0.elapsed().as_secs_f64() * 1e3);
    }
    (invoke, task)
}

/// Issue 16's reproduction: 4 calls of a handler that blocks its thread (timeout 1 s) on a 2-worker host.
/// Each caller gets `Sandbox.Timedout` at its deadline while the handler still blocks, the time is billed
/// as a timeout, the instances are discarded (the next call is a cold start), and another function's
/// calls and the host's own tasks keep their latency meanwhile.
///
/// Follows <https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html> (the function is
/// stopped at its timeout) and <https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html>
/// (after a timeout the execution environment is reset, never reused as it was).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_handler_times_out_at_its_deadline_and_stalls_nothing_else() {
    let (clock, rt) = manual_runtime();
    let (gate, inits, entered) = (Gate::default(), Arc::default(), Arc::default());
    rt.create_function(
        "blocker",
        blocking_code(gate.clone(), Arc::clone(&inits), Arc::clone(&entered)),
        FunctionConfig::builder()
            .with_timeout(Duration::from_secs(1))
            .with_memory_mb(1024)
            .build()
            .unwrap(),
    )
    .unwrap();
    rt.create_function("other", echo(), config()).unwrap();
    rt.invoke("other", json!("warm")).await.unwrap();

    let calls: Vec<_> = (0..4)
        .map(|_| {
            let rt = rt.clone();
            tokio::spawn(async move { rt.invoke("blocker", json!("block")).await.unwrap() })
        })
        .collect();
    until(|| entered.load(Ordering::SeqCst) == 4).await;

    // All four handlers hold their threads; the host's workers are free.
    let (invoke_ms, task_ms) = worst_latencies(&rt, "other", 20).await;
    println!(
        "funcrt blocking handlers: other function worst latency {invoke_ms:.2} ms, host task worst \
         latency {task_ms:.2} ms (20 calls each, 4 handlers blocked on 2 workers; target < 50 ms)"
    );
    assert!(
        invoke_ms < 1000.0,
        "another function waited {invoke_ms:.1} ms behind blocked handlers"
    );
    assert!(
        task_ms < 1000.0,
        "the host's runtime stalled {task_ms:.1} ms"
    );
    assert!(
        calls.iter().all(|c| !c.is_finished()),
        "nothing answers before the deadline"
    );

    until(|| clock.sleepers() >= 4).await;
    clock.advance(Duration::from_secs(1));
    for c in calls {
        let r = c.await.unwrap();
        let fe = r
            .function_error
            .clone()
            .expect("a timeout is a function error");
        assert_eq!(fe.kind, FunctionErrorKind::Unhandled);
        assert_eq!(fe.error_type, "Sandbox.Timedout");
        assert!(
            fe.error_message
                .ends_with("Task timed out after 1.00 seconds")
        );
        let report = r.report().unwrap();
        assert!(report.timed_out);
        assert_eq!(report.duration, Duration::from_secs(1));
        assert_eq!(report.billed_duration_ms, 1000);
        assert!(
            r.log
                .as_ref()
                .unwrap()
                .report_line()
                .ends_with("Status: timeout")
        );
    }
    let m = rt.metrics("blocker").unwrap();
    assert_eq!((m.total.invocations, m.total.errors), (4, 4));
    assert_eq!(m.total.billed_ms, 4000, "the timeouts are billed");
    assert!((m.total.gb_seconds - 4.0).abs() < 1e-9, "4 x 1 s at 1 GB");
    assert_eq!(m.concurrent_executions, 0);
    // Four blocked threads (their instances discarded but their handlers still running) and "other"'s.
    assert_eq!(rt.instance_threads(), 5);

    // The blocked instances are never reused: the next call starts a new one, which works.
    let r = rt.invoke("blocker", json!("quick")).await.unwrap();
    assert!(r.cold_start(), "a timed-out instance is discarded");
    assert_eq!(r.payload, json!("ok"));
    assert_eq!(inits.load(Ordering::SeqCst), 5);

    // Once the handlers give their threads back, the discarded instances' threads end.
    gate.open();
    until(|| rt.instance_threads() == 2).await;
}

/// An init that blocks its thread fails the invocation with Lambda's init timeout (10 s) on the runtime's
/// clock, and the host's runtime keeps serving meanwhile.
///
/// Follows <https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html> (the Init phase
/// is limited to 10 seconds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_init_times_out_without_stalling_the_host() {
    let (clock, rt) = manual_runtime();
    let gate = Gate::default();
    let g = gate.clone();
    rt.create_function(
        "slow-init",
        Code::with_init(move |_| {
            g.block();
            async move {
                Ok(funcrt::handler_fn(|e: Value, _c: Context| async move {
                    Ok::<_, HandlerError>(e)
                }))
            }
        }),
        config(),
    )
    .unwrap();
    rt.create_function("other", echo(), config()).unwrap();
    let call = tokio::spawn({
        let rt = rt.clone();
        async move { rt.invoke("slow-init", json!(1)).await.unwrap() }
    });
    until(|| clock.sleepers() >= 1).await;
    let (invoke_ms, task_ms) = worst_latencies(&rt, "other", 5).await;
    println!(
        "funcrt blocking init: other function worst latency {invoke_ms:.2} ms, host task {task_ms:.2} ms"
    );
    assert!(invoke_ms < 1000.0 && task_ms < 1000.0);
    clock.advance(Duration::from_secs(10));
    let r = call.await.unwrap();
    let fe = r.function_error.unwrap();
    assert_eq!(fe.error_type, "Runtime.InitError");
    assert!(
        fe.error_message
            .contains("Init timed out after 10.00 seconds"),
        "{}",
        fe.error_message
    );
    gate.open();
    until(|| rt.instance_threads() == 1).await;
}

/// `Execution::Inline` runs handlers in the caller's task: results, panics and (cooperative) timeouts
/// behave as on a thread, with no thread per instance.
#[tokio::test]
async fn inline_execution_keeps_the_semantics_of_cooperative_handlers() {
    let clock = stratus_clock::ManualClock::new();
    let rt = Runtime::builder()
        .with_clock(clock.clock())
        .with_execution(Execution::Inline)
        .build()
        .unwrap();
    rt.create_function(
        "f",
        Code::from_fn(|e: Value, c: Context| async move {
            match e.as_str() {
                Some("panic") => panic!("inline panic"),
                Some("hang") => {
                    c.clock().sleep(Duration::from_secs(3600)).await;
                    Ok::<_, HandlerError>(e)
                }
                _ => Ok(e),
            }
        }),
        FunctionConfig::builder()
            .with_timeout(Duration::from_secs(2))
            .build()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(rt.invoke("f", json!(7)).await.unwrap().payload, json!(7));
    assert_eq!(rt.instance_threads(), 0, "inline instances hold no thread");
    let r = rt.invoke("f", json!("panic")).await.unwrap();
    assert!(
        r.function_error
            .unwrap()
            .error_message
            .contains("inline panic")
    );
    let hang = tokio::spawn({
        let rt = rt.clone();
        async move { rt.invoke("f", json!("hang")).await.unwrap() }
    });
    clock.wait_for_sleepers(2).await;
    clock.advance(Duration::from_secs(2));
    let r = hang.await.unwrap();
    assert_eq!(r.function_error.unwrap().error_type, "Sandbox.Timedout");
}

/// With several invocations per instance, one handler blocking the instance's thread holds up the others
/// queued on that thread: each caller is still answered at its own deadline (the watchdog notices that
/// their handlers never started), and the instance is discarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_queued_behind_a_blocked_handler_time_out_too() {
    let (clock, rt) = manual_runtime();
    let (gate, inits, entered) = (Gate::default(), Arc::default(), Arc::<AtomicU32>::default());
    rt.create_function(
        "shared",
        blocking_code(gate.clone(), Arc::clone(&inits), Arc::clone(&entered)),
        FunctionConfig::builder()
            .with_timeout(Duration::from_secs(2))
            .with_per_instance_concurrency(2)
            .build()
            .unwrap(),
    )
    .unwrap();
    let first = tokio::spawn({
        let rt = rt.clone();
        async move { rt.invoke("shared", json!("block")).await.unwrap() }
    });
    until(|| entered.load(Ordering::SeqCst) == 1).await;
    // The second slot of the same instance: its call waits behind the blocked one on the same thread.
    let second = tokio::spawn({
        let rt = rt.clone();
        async move { rt.invoke("shared", json!("quick")).await.unwrap() }
    });
    until(|| clock.sleepers() >= 2).await;
    assert_eq!(
        inits.load(Ordering::SeqCst),
        1,
        "both calls share one instance"
    );
    clock.advance(Duration::from_secs(2));
    for call in [first, second] {
        let r = call.await.unwrap();
        assert_eq!(r.function_error.unwrap().error_type, "Sandbox.Timedout");
    }
    gate.open();
    let r = rt.invoke("shared", json!("quick")).await.unwrap();
    assert!(r.cold_start(), "the instance that timed out is not reused");
    assert_eq!(r.payload, json!("ok"));
}
