//! Asynchronous (`Event`) invocations: the queue, retries, maximum event age, destinations and the
//! dead-letter sink.
//!
//! Each queued event is a task on the tokio runtime that waits on the runtime's clock. As Lambda does:
//! - a failed attempt (any function error) is retried up to `maximum_retry_attempts` times (0..=2,
//!   default 2), 1 minute after the first failure and 2 minutes after the second;
//! - a throttled attempt goes back to the queue and is tried again with backoff (1 s doubling to 5 min),
//!   until the event is older than `maximum_event_age` (60 s..=6 h, default 6 h);
//! - the outcome goes to the on-success or on-failure destination as Lambda's destination record
//!   ([`crate::destination_record`]), and a failed event's payload to the dead-letter sink.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use stratus_clock::Instant;

use crate::error::{Error, Result};
use crate::invoke::attempt::{Attempt, AttemptEnv, execute};
use crate::invoke::destination::{LastResponse, record};
use crate::invoke::payload::check_request_size;
use crate::limits::{
    ASYNC_PAYLOAD_LIMIT, RETRY_DELAYS, THROTTLE_BACKOFF_MAX, THROTTLE_BACKOFF_START,
};
use crate::registry::{FunctionState, Registry, Target, admit, resolve};
use crate::types::context::new_request_id;
use crate::types::event_config::{Condition, Destination, EventInvokeConfig};
use crate::types::invocation::InvokeResponse;
use crate::types::queue::Message;

/// Queues an asynchronous invocation of `target` and answers 202 at once: the event runs as a task on the
/// current tokio runtime.
///
/// # Errors
/// [`Error::RequestTooLarge`] past 1 MB, [`Error::NoAsyncRuntime`] outside a tokio runtime.
pub(crate) fn enqueue(
    registry: &Arc<Registry>,
    f: Arc<FunctionState>,
    target: Target,
    event: Value,
) -> Result<InvokeResponse> {
    check_request_size(&f.name, &event, ASYNC_PAYLOAD_LIMIT, "InvokeAsync")?;
    let handle = tokio::runtime::Handle::try_current().map_err(|_| Error::NoAsyncRuntime {
        what: "queue an Event invocation",
    })?;
    let request_id = new_request_id();
    let executed_version = target.version.label.clone();
    registry.pending_events.fetch_add(1, Ordering::Relaxed);
    let job = QueuedEvent {
        runtime: registry.clone(),
        function: f,
        target,
        payload: event,
        request_id: request_id.clone(),
        enqueued: registry.clock.instant(),
    };
    handle.spawn(job.run());
    Ok(InvokeResponse {
        status_code: 202,
        request_id,
        executed_version,
        payload: Value::Null,
        function_error: None,
        log: None,
    })
}

/// The backoff after the `n`-th throttle of an event (1 s, 2 s, 4 s, ... up to 5 min).
fn throttle_backoff(n: u32) -> Duration {
    THROTTLE_BACKOFF_START
        .saturating_mul(1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX))
        .min(THROTTLE_BACKOFF_MAX)
}

/// The age at which an event queued at `enqueued` is dropped.
fn expiry(enqueued: Instant, config: &EventInvokeConfig) -> Instant {
    enqueued + config.maximum_event_age
}

/// One queued asynchronous invocation: a task on the tokio runtime until it succeeds, runs out of retries
/// or ages out.
struct QueuedEvent {
    runtime: Arc<Registry>,
    function: Arc<FunctionState>,
    target: Target,
    payload: Value,
    request_id: String,
    enqueued: Instant,
}

/// Keeps [`crate::Runtime::pending_events`] right even if the task is dropped.
struct Pending<'a>(&'a AtomicUsize);

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl QueuedEvent {
    async fn run(self) {
        let rt = &self.runtime;
        let _pending = Pending(&rt.pending_events);
        let f = &*self.function;
        let config = f.event_config.load_full();
        let expires = expiry(self.enqueued, &config);
        let version = &self.target.version;
        let mut attempts = 0u32;
        let mut throttles = 0u32;
        let mut last: Option<Attempt> = None;
        let condition = loop {
            let now = rt.clock.instant();
            if now >= expires {
                break Condition::EventAgeExceeded;
            }
            let permit = match admit(&rt.account, &f.concurrency) {
                Ok(p) => p,
                Err(_) => {
                    // Throttled: back to the queue, tried again after a backoff.
                    f.counters.throttled();
                    version.metrics.throttled();
                    let wait = throttle_backoff(throttles).min(expires - now);
                    throttles += 1;
                    rt.clock.sleep(wait).await;
                    continue;
                }
            };
            let env = AttemptEnv::new(rt, f, None);
            let attempt = execute(
                &env,
                version,
                self.target.invoked_arn.clone(),
                self.payload.clone(),
                self.request_id.clone(),
            )
            .await;
            drop(permit);
            attempts += 1;
            let failed = attempt.function_error.is_some();
            f.counters.invoked(failed);
            if let Some(hook) = &rt.on_log {
                hook(&attempt.log);
            }
            last = Some(attempt);
            if !failed {
                break Condition::Success;
            }
            if attempts > config.maximum_retry_attempts {
                break Condition::RetriesExhausted;
            }
            let delay = RETRY_DELAYS[(attempts as usize - 1).min(RETRY_DELAYS.len() - 1)];
            rt.clock.sleep(delay).await;
        };
        let response = last.as_ref().map(|a| LastResponse {
            executed_version: &version.label,
            function_error: a.function_error.as_ref().map(|e| e.kind.as_str()),
            payload: &a.payload,
        });
        let rec = record(
            rt.clock.now(),
            &self.request_id,
            &version.arn,
            condition,
            attempts,
            &self.payload,
            response,
        );
        if condition == Condition::Success {
            if let Some(d) = &config.on_success {
                deliver(rt, d, rec);
            }
            return;
        }
        if let Some(d) = &config.on_failure {
            deliver(rt, d, rec);
        }
        if let Some(dlq) = &config.dead_letter {
            let message = match last.as_ref().and_then(|a| a.function_error.as_ref()) {
                Some(e) => e.error_message.clone(),
                None => format!("{}: event was not processed", condition.as_str()),
            };
            let attributes = BTreeMap::from([
                ("RequestID".to_owned(), self.request_id.clone()),
                ("ErrorCode".to_owned(), "200".to_owned()),
                ("ErrorMessage".to_owned(), message),
            ]);
            dlq.send(Message {
                body: self.payload.clone(),
                attributes,
            });
        }
    }
}

fn deliver(rt: &Arc<Registry>, destination: &Destination, record: Value) {
    match destination {
        Destination::Queue(q) => q.send(Message {
            body: record,
            attributes: BTreeMap::new(),
        }),
        Destination::Function(name) => {
            // A destination that no longer exists drops the record, as Lambda does (it logs the failure).
            if let Ok(f) = rt.lookup(name)
                && let Ok(target) = resolve(&f, None)
            {
                let _ = enqueue(rt, f, target, record);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_five_minutes() {
        let b: Vec<u64> = (0..12).map(|n| throttle_backoff(n).as_secs()).collect();
        assert_eq!(b, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(throttle_backoff(1000).as_secs(), 300);
    }
}
