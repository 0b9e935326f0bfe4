//! funcrt beside a direct async call and a `tokio::spawn` + oneshot round trip, in the same run.
//!
//! - `funcrt_latency/*`: one caller, one call at a time, on a 2-worker tokio runtime: a direct `.await` of
//!   the no-op handler, the same handler behind `tokio::spawn` + a oneshot reply, and a warm
//!   RequestResponse `Runtime::invoke` of a no-op function (on the system clock, default settings: the
//!   handler runs on its instance's thread), and the same with `Execution::Inline` (in the caller's task).
//! - `funcrt_throughput_2_threads/*`: two tasks on the 2-worker runtime each doing half the calls; criterion's
//!   `thrpt` is calls per second over both threads.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use funcrt::{Code, Context, Execution, FunctionConfig, HandlerError, Runtime};
use serde_json::Value;
use tokio::sync::oneshot;

const THREADS: u64 = 2;

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(THREADS as usize)
        .enable_all()
        .build()
        .unwrap()
}

/// The no-op handler every variant runs.
async fn noop(event: Value) -> Result<Value, HandlerError> {
    Ok(black_box(event))
}

fn funcrt_runtime(tokio: &tokio::runtime::Runtime, execution: Execution) -> Runtime {
    let _guard = tokio.enter();
    let rt = Runtime::builder()
        .with_clock(stratus_clock::Clock::system())
        .with_execution(execution)
        .build()
        .unwrap();
    rt.create_function(
        "noop",
        Code::from_fn(|event: Value, _ctx: Context| noop(event)),
        FunctionConfig::default(),
    )
    .unwrap();
    tokio.block_on(async {
        // Warm: the instance exists before measuring.
        assert!(rt.invoke("noop", Value::Null).await.unwrap().cold_start());
        assert!(!rt.invoke("noop", Value::Null).await.unwrap().cold_start());
    });
    rt
}

async fn spawn_oneshot(event: Value) -> Value {
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let _ = tx.send(noop(event).await);
    });
    rx.await.unwrap().unwrap()
}

fn latency(c: &mut Criterion) {
    let tokio = tokio_runtime();
    let rt = funcrt_runtime(&tokio, Execution::Thread);
    let inline = funcrt_runtime(&tokio, Execution::Inline);
    let mut g = c.benchmark_group("funcrt_latency");
    g.throughput(Throughput::Elements(1));
    g.bench_function("direct_async_call", |b| {
        b.to_async(&tokio)
            .iter(|| async { noop(black_box(Value::Null)).await.unwrap() })
    });
    g.bench_function("spawn_oneshot", |b| {
        b.to_async(&tokio)
            .iter(|| spawn_oneshot(black_box(Value::Null)))
    });
    g.bench_function("funcrt_invoke_warm", |b| {
        b.to_async(&tokio).iter(|| async {
            let r = rt.invoke("noop", black_box(Value::Null)).await.unwrap();
            debug_assert!(r.function_error.is_none());
            r
        })
    });
    g.bench_function("funcrt_invoke_warm_inline", |b| {
        b.to_async(&tokio).iter(|| async {
            let r = inline.invoke("noop", black_box(Value::Null)).await.unwrap();
            debug_assert!(r.function_error.is_none());
            r
        })
    });
    g.finish();
}

/// Runs `$body` `$iters` times split over two tasks on `$tokio`; returns the wall time. `$ctx` is made once
/// per task (never per call, so the loop touches no shared reference count).
macro_rules! two_tasks {
    ($tokio:expr, $iters:expr, $ctx:ident = $init:expr, $body:expr) => {{
        let per_task = $iters.div_ceil(THREADS);
        $tokio.block_on(async {
            let start = Instant::now();
            let tasks: Vec<_> = (0..THREADS)
                .map(|_| {
                    let $ctx = $init;
                    tokio::spawn(async move {
                        for _ in 0..per_task {
                            black_box($body);
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            start.elapsed()
        })
    }};
}

fn throughput(c: &mut Criterion) {
    let tokio = tokio_runtime();
    let rt = funcrt_runtime(&tokio, Execution::Thread);
    let inline = funcrt_runtime(&tokio, Execution::Inline);
    let mut g = c.benchmark_group("funcrt_throughput_2_threads");
    g.throughput(Throughput::Elements(1));
    g.bench_function("direct_async_call", |b| {
        b.iter_custom(|iters| {
            two_tasks!(tokio, iters, _unit = (), noop(Value::Null).await.unwrap())
        })
    });
    g.bench_function("spawn_oneshot", |b| {
        b.iter_custom(|iters| {
            two_tasks!(tokio, iters, _unit = (), spawn_oneshot(Value::Null).await)
        })
    });
    g.bench_function("funcrt_invoke_warm", |b| {
        b.iter_custom(|iters| {
            two_tasks!(
                tokio,
                iters,
                rt = rt.clone(),
                rt.invoke("noop", Value::Null).await.unwrap()
            )
        })
    });
    g.bench_function("funcrt_invoke_warm_inline", |b| {
        b.iter_custom(|iters| {
            two_tasks!(
                tokio,
                iters,
                rt = inline.clone(),
                rt.invoke("noop", Value::Null).await.unwrap()
            )
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = latency, throughput
}
criterion_main!(benches);
