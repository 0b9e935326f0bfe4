//! The execution of one attempt of an invocation.
//!
//! One attempt runs in the caller's task (no spawn on the synchronous path): take a warm slot or start an
//! instance, call the handler under the function's timeout on the runtime's clock with panics caught,
//! meter it, and return the slot unless the instance broke. With [`crate::Execution::Thread`] (the
//! default) the handler runs on its instance's thread and the caller awaits the reply raced against the
//! deadline, so the caller is answered at the deadline even if the handler never yields its thread. The
//! timeout's timer is only created if the reply is not there on the first poll.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures::FutureExt;
use serde_json::Value;
use stratus_clock::{Clock, Instant};

use crate::error::{FunctionError, FunctionErrorKind};
use crate::function::{Function, HandlerError};
use crate::instance::{
    CallResult, InitFailure, Launcher, Runner, Started, Waited, panic_message, start_instance,
};
use crate::invoke::payload::json_size;
use crate::registry::{FunctionState, Registry, Sample, VersionState};
use crate::types::config::FunctionConfig;
use crate::types::context::Context;
use crate::types::logs::InvocationLog;
use crate::types::metering::{Report, billed_ms};

/// How a handler's future ended.
pub(crate) enum Outcome {
    Ok(Value),
    Failed(HandlerError),
    Panicked(String),
    TimedOut,
}

/// Polls `fut` until it completes or `clock` reaches `deadline`; the deadline's timer is created only if
/// `fut` is still pending after its first poll.
pub(crate) async fn until_deadline<F: Future>(
    clock: &Clock,
    deadline: Instant,
    fut: F,
) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut timer = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        let t = timer.get_or_insert_with(|| clock.sleep_until(deadline));
        match t.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

impl From<CallResult> for Outcome {
    fn from(r: CallResult) -> Self {
        match r {
            Ok(Ok(v)) => Outcome::Ok(v),
            Ok(Err(e)) => Outcome::Failed(e),
            Err(msg) => Outcome::Panicked(msg),
        }
    }
}

/// Calls `handler` in the caller's task ([`crate::Execution::Inline`]) until `deadline`, panics caught.
async fn run_inline(
    clock: &Clock,
    deadline: Instant,
    handler: &Arc<dyn Function>,
    payload: Value,
    ctx: Context,
) -> Outcome {
    match std::panic::catch_unwind(AssertUnwindSafe(|| handler.call(payload, ctx))) {
        Err(p) => Outcome::Panicked(panic_message(&*p)),
        Ok(fut) => {
            match until_deadline(clock, deadline, AssertUnwindSafe(fut).catch_unwind()).await {
                None => Outcome::TimedOut,
                Some(Err(p)) => Outcome::Panicked(panic_message(&*p)),
                Some(Ok(r)) => Outcome::from(Ok(r)),
            }
        }
    }
}

/// What one attempt produced.
pub(crate) struct Attempt {
    pub(crate) payload: Value,
    pub(crate) function_error: Option<FunctionError>,
    pub(crate) log: InvocationLog,
}

/// The parts of the runtime an attempt needs.
pub(crate) struct AttemptEnv<'a> {
    pub(crate) clock: &'a Clock,
    pub(crate) function: &'a Arc<str>,
    pub(crate) keep_alive: Duration,
    pub(crate) response_limit: Option<usize>,
    pub(crate) launcher: &'a Launcher,
}

impl<'a> AttemptEnv<'a> {
    /// What an attempt of `f` needs from the runtime; `response_limit` caps the handler's response
    /// (synchronous invocations only).
    pub(crate) fn new(
        registry: &'a Registry,
        f: &'a FunctionState,
        response_limit: Option<usize>,
    ) -> Self {
        AttemptEnv {
            clock: &registry.clock,
            function: &f.name,
            keep_alive: registry.keep_alive,
            response_limit,
            launcher: &registry.launcher,
        }
    }
}

fn unhandled(error_type: &str, message: String) -> (Value, Option<FunctionError>) {
    let payload = serde_json::json!({ "errorMessage": message, "errorType": error_type });
    (
        payload,
        Some(FunctionError {
            kind: FunctionErrorKind::Unhandled,
            error_type: error_type.to_owned(),
            error_message: message,
        }),
    )
}

/// Runs one attempt of an invocation of `version` (the caller holds the concurrency permit).
pub(crate) async fn execute(
    env: &AttemptEnv<'_>,
    version: &VersionState,
    invoked_arn: String,
    payload: Value,
    request_id: String,
) -> Attempt {
    let clock = env.clock;
    let _running = version.metrics.enter();
    let now = clock.instant();
    let warm = {
        let current = version.config.load();
        version
            .pool
            .checkout(now, keep_alive_of(env, &current.config), &current)
    };
    let (slot, init_duration) = match warm {
        Some(slot) => (slot, None),
        None => {
            let current = version.config.load_full();
            match Box::pin(start_instance(
                clock,
                env.launcher,
                &version.pool,
                &version.label,
                current.clone(),
                false,
            ))
            .await
            {
                Ok(Started {
                    slot,
                    init_duration,
                }) => (slot, Some(init_duration)),
                Err(InitFailure { error, duration }) => {
                    let (payload, function_error) =
                        unhandled(&error.error_type, error.error_message);
                    let report = Report {
                        request_id,
                        function: env.function.clone(),
                        version: version.label.clone(),
                        duration: Duration::ZERO,
                        billed_duration_ms: billed_ms(duration),
                        init_duration: Some(duration),
                        memory_mb: current.config.memory_mb,
                        timed_out: false,
                    };
                    version.metrics.record(&Sample {
                        duration: Duration::ZERO,
                        billed_ms: report.billed_duration_ms,
                        memory_mb: report.memory_mb,
                        cold: true,
                        error: true,
                    });
                    return Attempt {
                        payload,
                        function_error,
                        log: InvocationLog {
                            lines: Vec::new(),
                            report,
                        },
                    };
                }
            }
        }
    };
    let config = &slot.instance.config;
    let timeout = config.config.timeout;
    let memory_mb = config.config.memory_mb;
    // A warm start begins when the call came in; a cold one once init is done.
    let started = if init_duration.is_some() {
        clock.instant()
    } else {
        now
    };
    let ctx = Context::new(
        request_id.clone(),
        invoked_arn,
        slot.instance.env.clone(),
        started,
        timeout,
        slot.shared.clone(),
    );
    let deadline = started + timeout;
    let outcome = match &slot.instance.runner {
        Runner::Inline(handler) => run_inline(clock, deadline, handler, payload, ctx).await,
        Runner::Thread(thread) => match thread.call(payload, ctx).wait(clock, deadline).await {
            Waited::TimedOut => Outcome::TimedOut,
            Waited::Done(result) => Outcome::from(result),
            Waited::Gone => Outcome::Panicked("the instance's thread exited".to_owned()),
        },
    };
    let ended = clock.instant();
    let duration = ended - started;
    let mut lines = slot.shared.log.take();
    let mut timed_out = false;
    let (payload, function_error) = match outcome {
        Outcome::Ok(v) => match env.response_limit {
            Some(limit) if json_size(&v) > limit => unhandled(
                "Function.ResponseSizeTooLarge",
                format!(
                    "Response payload size exceeded maximum allowed payload size ({limit} bytes)."
                ),
            ),
            _ => (v, None),
        },
        Outcome::Failed(e) => {
            let payload = e.to_json();
            (
                payload,
                Some(FunctionError {
                    kind: FunctionErrorKind::Handled,
                    error_type: e.error_type,
                    error_message: e.error_message,
                }),
            )
        }
        Outcome::Panicked(msg) => {
            slot.instance.discard();
            unhandled(
                "Runtime.ExitError",
                format!("RequestId: {request_id} Error: Runtime exited with error: {msg}"),
            )
        }
        Outcome::TimedOut => {
            slot.instance.discard();
            timed_out = true;
            let secs = timeout.as_secs_f64();
            let stamp =
                chrono::DateTime::<chrono::Utc>::from(clock.now()).format("%Y-%m-%dT%H:%M:%S%.3fZ");
            lines.push(format!(
                "{stamp} {request_id} Task timed out after {secs:.2} seconds"
            ));
            unhandled(
                "Sandbox.Timedout",
                format!("RequestId: {request_id} Error: Task timed out after {secs:.2} seconds"),
            )
        }
    };
    let billed = billed_ms(duration);
    version.metrics.record(&Sample {
        duration,
        billed_ms: billed,
        memory_mb,
        cold: init_duration.is_some(),
        error: function_error.is_some(),
    });
    let function = slot.instance.function_name.clone();
    let version_label = slot.instance.version_label.clone();
    version.pool.checkin(slot, ended);
    Attempt {
        payload,
        function_error,
        log: InvocationLog {
            lines,
            report: Report {
                request_id,
                function,
                version: version_label,
                duration,
                billed_duration_ms: billed,
                init_duration,
                memory_mb,
                timed_out,
            },
        },
    }
}

fn keep_alive_of(env: &AttemptEnv<'_>, config: &FunctionConfig) -> Duration {
    config.keep_alive.unwrap_or(env.keep_alive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn deadline_timer_only_when_pending() {
        let manual = stratus_clock::ManualClock::new();
        let clock = manual.clock();
        let deadline = clock.instant() + Duration::from_secs(1);
        assert_eq!(until_deadline(&clock, deadline, async { 5 }).await, Some(5));
        assert_eq!(manual.sleepers(), 0, "a ready future creates no timer");
        let task = tokio::spawn({
            let clock = clock.clone();
            async move { until_deadline(&clock, deadline, std::future::pending::<()>()).await }
        });
        manual.wait_for_sleepers(1).await;
        manual.advance(Duration::from_secs(1));
        assert_eq!(task.await.unwrap(), None);
    }
}
