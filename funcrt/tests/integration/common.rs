//! Helpers shared by the integration tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use funcrt::{Code, Context, FunctionConfig, HandlerError, Runtime};
use serde_json::{Value, json};
use stratus_clock::ManualClock;

/// A runtime on a manual clock with a 5 minute keep-alive.
pub(crate) fn manual_runtime() -> (ManualClock, Runtime) {
    let clock = ManualClock::new();
    let rt = Runtime::builder()
        .with_clock(clock.clock())
        .with_keep_alive(Duration::from_secs(300))
        .build()
        .unwrap();
    (clock, rt)
}

/// Code that echoes its event.
pub(crate) fn echo() -> Code {
    Code::from_fn(|event: Value, _ctx: Context| async move { Ok::<_, HandlerError>(event) })
}

/// Code that counts its inits and calls.
pub(crate) fn counting(inits: Arc<AtomicU32>, calls: Arc<AtomicU32>) -> Code {
    Code::with_init(move |_init| {
        inits.fetch_add(1, Ordering::SeqCst);
        let calls = calls.clone();
        async move {
            Ok(funcrt::handler_fn(move |event: Value, _ctx: Context| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move { Ok::<_, HandlerError>(json!({ "echo": event })) }
            }))
        }
    })
}

pub(crate) fn config() -> FunctionConfig {
    FunctionConfig::default()
}

/// Yields to the runtime until `cond` holds. Bounded by a count of yields, not by time (so a slow, loaded
/// machine does not fail it), and large enough that a broken test fails instead of hanging.
pub(crate) async fn until(mut cond: impl FnMut() -> bool) {
    for _ in 0..20_000_000 {
        if cond() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("condition never became true");
}
