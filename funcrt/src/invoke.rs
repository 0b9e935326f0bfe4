//! Invocation: types, options, the response, and the execution of one attempt.
//!
//! One attempt runs in the caller's task (no spawn on the synchronous path): take a warm slot or start an
//! instance, call the handler under the function's timeout on the runtime's clock with panics caught,
//! meter it, and return the slot unless the instance broke. The timeout's timer is only created if the
//! handler does not finish on its first poll, so a quick handler costs no timer at all.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures::FutureExt;
use serde::de::DeserializeOwned;
use serde_json::Value;
use stratus_clock::{Clock, Instant};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::function::HandlerError;
use crate::instance::{InitFailure, Started, panic_message, start_instance};
use crate::logs::InvocationLog;
use crate::metering::{Report, Sample, billed_ms};
use crate::version::VersionState;

/// Largest payload of a synchronous invocation, request and response (6 MB).
pub const SYNC_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;
/// Largest payload of an asynchronous invocation (1 MB).
pub const ASYNC_PAYLOAD_LIMIT: usize = 1024 * 1024;

/// How to invoke: Lambda's `InvocationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum InvocationType {
    /// Synchronous: wait for the result. Past a concurrency limit it fails at once with
    /// [`Error::TooManyRequests`].
    #[default]
    RequestResponse,
    /// Asynchronous: queue the event and return 202 at once. Failures are retried, throttles wait in the
    /// queue, results go to the destinations of [`crate::EventInvokeConfig`].
    Event,
    /// Only check that the function and qualifier exist; return 204.
    DryRun,
}

/// Per-call options of [`crate::Runtime::invoke_opts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvokeOptions {
    /// The invocation type.
    pub invocation_type: InvocationType,
    /// A version number, `$LATEST` or an alias; `None` is `$LATEST` (or whatever `name:qualifier` says).
    pub qualifier: Option<String>,
}

impl InvokeOptions {
    /// Options for an asynchronous invocation.
    pub fn event() -> Self {
        InvokeOptions {
            invocation_type: InvocationType::Event,
            qualifier: None,
        }
    }

    /// Options for a dry run.
    pub fn dry_run() -> Self {
        InvokeOptions {
            invocation_type: InvocationType::DryRun,
            qualifier: None,
        }
    }

    /// The same options with a qualifier.
    #[must_use]
    pub fn qualifier(mut self, q: impl Into<String>) -> Self {
        self.qualifier = Some(q.into());
        self
    }
}

/// Whether a function error came from the handler or from the runtime around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionErrorKind {
    /// The handler returned an error.
    Handled,
    /// The handler panicked, timed out, its init failed, or its response was too large; the instance (if
    /// any) was discarded.
    Unhandled,
}

impl FunctionErrorKind {
    /// `Handled` or `Unhandled`, as Lambda's `X-Amz-Function-Error` header.
    pub fn as_str(self) -> &'static str {
        match self {
            FunctionErrorKind::Handled => "Handled",
            FunctionErrorKind::Unhandled => "Unhandled",
        }
    }
}

impl std::fmt::Display for FunctionErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed invocation, as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// Handled or unhandled.
    pub kind: FunctionErrorKind,
    /// `errorType` (e.g. `Sandbox.Timedout`, `Runtime.ExitError`, or the handler's type).
    pub error_type: String,
    /// `errorMessage`.
    pub error_message: String,
}

/// The answer to an invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeResponse {
    /// 200 (RequestResponse, also when the function failed), 202 (Event) or 204 (DryRun).
    pub status_code: u16,
    /// The request id.
    pub request_id: String,
    /// The version that ran (or, for Event, that will run; for DryRun, that would run).
    pub executed_version: Arc<str>,
    /// The handler's response, or Lambda's error JSON if it failed; `null` for Event and DryRun.
    pub payload: Value,
    /// Set when the invocation failed.
    pub function_error: Option<FunctionError>,
    /// The invocation's log and metering record (RequestResponse only).
    pub log: Option<InvocationLog>,
}

impl InvokeResponse {
    /// The metering record (RequestResponse only).
    pub fn report(&self) -> Option<&Report> {
        self.log.as_ref().map(|l| &l.report)
    }

    /// Was this a cold start?
    pub fn cold_start(&self) -> bool {
        self.report().is_some_and(|r| r.init_duration.is_some())
    }

    /// The payload, or the function error as [`Error::Function`].
    ///
    /// # Errors
    /// [`Error::Function`] if the invocation failed.
    pub fn into_result(self) -> Result<Value> {
        match self.function_error {
            None => Ok(self.payload),
            Some(error) => Err(Error::Function {
                function: self
                    .log
                    .map(|l| l.report.function.to_string())
                    .unwrap_or_default(),
                version: self.executed_version.to_string(),
                error,
            }),
        }
    }

    /// The payload deserialized into `T`.
    ///
    /// # Errors
    /// [`Error::Function`] if the invocation failed, [`Error::Payload`] if the payload is not a `T`.
    pub fn json<T: DeserializeOwned>(self) -> Result<T> {
        let function = self
            .log
            .as_ref()
            .map(|l| l.report.function.to_string())
            .unwrap_or_default();
        let value = self.into_result()?;
        serde_json::from_value(value).map_err(|source| Error::Payload { function, source })
    }
}

/// The serialized size of a JSON value, without building the string.
pub(crate) fn json_size(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    match v {
        Value::Null => 4,
        _ => {
            let mut c = Count(0);
            // Writing a Value to an infallible writer cannot fail.
            let _ = serde_json::to_writer(&mut c, v);
            c.0
        }
    }
}

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
            match Box::pin(start_instance(clock, version, current.clone(), false)).await {
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
    let handler = &slot.instance.handler;
    let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| handler.call(payload, ctx))) {
        Err(p) => Outcome::Panicked(panic_message(&*p)),
        Ok(fut) => match until_deadline(
            clock,
            started + timeout,
            AssertUnwindSafe(fut).catch_unwind(),
        )
        .await
        {
            None => Outcome::TimedOut,
            Some(Err(p)) => Outcome::Panicked(panic_message(&*p)),
            Some(Ok(Ok(v))) => Outcome::Ok(v),
            Some(Ok(Err(e))) => Outcome::Failed(e),
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

pub(crate) fn keep_alive_of(env: &AttemptEnv<'_>, config: &crate::FunctionConfig) -> Duration {
    config.keep_alive.unwrap_or(env.keep_alive)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_size_matches_serialization() {
        for v in [
            json!(null),
            json!(1),
            json!("h\u{e9}llo\n"),
            json!({"a": [1, 2, {"b": null}]}),
        ] {
            assert_eq!(json_size(&v), serde_json::to_vec(&v).unwrap().len(), "{v}");
        }
    }

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
