//! Asynchronous (`Event`) invocations: the queue, retries, maximum event age, destinations and the
//! dead-letter sink.
//!
//! Each queued event is a task on the tokio runtime that waits on the runtime's clock. As Lambda does:
//! - a failed attempt (any function error) is retried up to `maximum_retry_attempts` times (0..=2,
//!   default 2), 1 minute after the first failure and 2 minutes after the second;
//! - a throttled attempt goes back to the queue and is tried again with backoff (1 s doubling to 5 min),
//!   until the event is older than `maximum_event_age` (60 s..=6 h, default 6 h);
//! - the outcome goes to the on-success or on-failure destination as Lambda's destination record
//!   ([`destination_record`]), and a failed event's payload to the dead-letter sink.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Value, json};
use stratus_clock::Instant;

use crate::concurrency::admit;
use crate::error::{Error, Result};
use crate::invoke::{Attempt, execute};
use crate::runtime::{FunctionState, Inner, Target, resolve};

/// Lambda's default and largest maximum event age (6 hours).
pub const MAX_EVENT_AGE: Duration = Duration::from_secs(21_600);
/// The smallest maximum event age (60 s).
pub const MIN_EVENT_AGE: Duration = Duration::from_secs(60);
/// The delays before the first and second retry of a failed event.
pub const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(120)];
/// First backoff of a throttled event.
pub const THROTTLE_BACKOFF_START: Duration = Duration::from_secs(1);
/// Longest backoff of a throttled event.
pub const THROTTLE_BACKOFF_MAX: Duration = Duration::from_secs(300);

/// A message in an [`EventQueue`]: a body and string attributes (SQS's shape).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The body.
    pub body: Value,
    /// Attributes (the dead-letter sink sets `RequestID`, `ErrorCode`, `ErrorMessage`).
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct QueueInner {
    messages: Mutex<VecDeque<Message>>,
    notify: tokio::sync::Notify,
}

/// An in-memory queue (the role of an SQS queue or SNS topic as a destination or dead-letter sink).
/// Clones share one queue.
#[derive(Debug, Clone, Default)]
pub struct EventQueue {
    inner: Arc<QueueInner>,
}

impl EventQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a message.
    pub fn send(&self, message: Message) {
        self.inner.messages.lock().push_back(message);
        self.inner.notify.notify_one();
    }

    /// Takes the oldest message, if any.
    pub fn try_recv(&self) -> Option<Message> {
        self.inner.messages.lock().pop_front()
    }

    /// Waits for a message and takes it.
    pub async fn recv(&self) -> Message {
        loop {
            if let Some(m) = self.try_recv() {
                return m;
            }
            self.inner.notify.notified().await;
        }
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.inner.messages.lock().len()
    }

    /// No message waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where an asynchronous invocation's outcome goes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Destination {
    /// A queue receives the destination record as a message body.
    Queue(EventQueue),
    /// Another function of the same runtime is invoked asynchronously with the record as its event.
    Function(String),
}

/// Asynchronous invocation settings of a function (`PutFunctionEventInvokeConfig`, plus the function's
/// dead-letter sink).
#[derive(Debug, Clone)]
pub struct EventInvokeConfig {
    /// Retries after a function error, `0..=2`.
    pub maximum_retry_attempts: u32,
    /// How long an event may wait (throttled or between retries), `60 s..=6 h`.
    pub maximum_event_age: Duration,
    /// Receives the record of a successful invocation.
    pub on_success: Option<Destination>,
    /// Receives the record of an event that failed every attempt or grew too old.
    pub on_failure: Option<Destination>,
    /// Receives the original payload of a failed event, with `RequestID`, `ErrorCode` and `ErrorMessage`
    /// attributes (Lambda's dead-letter queue).
    pub dead_letter: Option<EventQueue>,
}

impl Default for EventInvokeConfig {
    fn default() -> Self {
        EventInvokeConfig {
            maximum_retry_attempts: 2,
            maximum_event_age: MAX_EVENT_AGE,
            on_success: None,
            on_failure: None,
            dead_letter: None,
        }
    }
}

impl EventInvokeConfig {
    /// Checks the ranges.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `MaximumRetryAttempts` or `MaximumEventAgeInSeconds` out of range.
    pub fn validate(&self) -> Result<()> {
        if self.maximum_retry_attempts > 2 {
            return Err(Error::invalid(
                "MaximumRetryAttempts",
                format!("{} is not in 0..=2", self.maximum_retry_attempts),
            ));
        }
        let age = self.maximum_event_age;
        if age < MIN_EVENT_AGE || age > MAX_EVENT_AGE || age.subsec_nanos() != 0 {
            return Err(Error::invalid(
                "MaximumEventAgeInSeconds",
                format!("{age:?} is not a whole number of seconds in 60..=21600"),
            ));
        }
        Ok(())
    }
}

/// Why an asynchronous invocation ended: the record's `condition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Condition {
    /// It succeeded.
    Success,
    /// Every attempt failed.
    RetriesExhausted,
    /// It waited longer than the maximum event age.
    EventAgeExceeded,
}

impl Condition {
    /// Lambda's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Success => "Success",
            Condition::RetriesExhausted => "RetriesExhausted",
            Condition::EventAgeExceeded => "EventAgeExceeded",
        }
    }
}

/// What the last attempt of an event returned.
pub(crate) struct LastResponse<'a> {
    pub(crate) executed_version: &'a str,
    pub(crate) function_error: Option<&'a str>,
    pub(crate) payload: &'a Value,
}

/// Lambda's destination record:
///
/// ```json
/// { "version": "1.0", "timestamp": "2024-01-01T00:03:00.000Z",
///   "requestContext": { "requestId": "...", "functionArn": "arn:aws:lambda:...:function:f:$LATEST",
///                       "condition": "RetriesExhausted", "approximateInvokeCount": 3 },
///   "requestPayload": { ... },
///   "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
///   "responsePayload": { "errorMessage": "...", "errorType": "..." } }
/// ```
///
/// `responseContext` and `responsePayload` are absent when no attempt ran (an event that aged out while
/// throttled); `functionError` is absent on success.
pub fn destination_record(
    timestamp: std::time::SystemTime,
    request_id: &str,
    function_arn: &str,
    condition: Condition,
    approximate_invoke_count: u32,
    request_payload: &Value,
    last: Option<(&str, Option<&str>, &Value)>,
) -> Value {
    let last = last.map(|(executed_version, function_error, payload)| LastResponse {
        executed_version,
        function_error,
        payload,
    });
    record(
        timestamp,
        request_id,
        function_arn,
        condition,
        approximate_invoke_count,
        request_payload,
        last,
    )
}

pub(crate) fn record(
    timestamp: std::time::SystemTime,
    request_id: &str,
    function_arn: &str,
    condition: Condition,
    approximate_invoke_count: u32,
    request_payload: &Value,
    last: Option<LastResponse<'_>>,
) -> Value {
    let stamp = chrono::DateTime::<chrono::Utc>::from(timestamp)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let mut rec = json!({
        "version": "1.0",
        "timestamp": stamp,
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition.as_str(),
            "approximateInvokeCount": approximate_invoke_count,
        },
        "requestPayload": request_payload,
    });
    if let Some(last) = last {
        let mut ctx = json!({ "statusCode": 200, "executedVersion": last.executed_version });
        if let Some(fe) = last.function_error {
            ctx["functionError"] = json!(fe);
        }
        rec["responseContext"] = ctx;
        rec["responsePayload"] = last.payload.clone();
    }
    rec
}

/// The backoff after the `n`-th throttle of an event (1 s, 2 s, 4 s, ... up to 5 min).
pub(crate) fn throttle_backoff(n: u32) -> Duration {
    THROTTLE_BACKOFF_START
        .saturating_mul(1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX))
        .min(THROTTLE_BACKOFF_MAX)
}

/// The age at which an event queued at `enqueued` is dropped.
pub(crate) fn expiry(enqueued: Instant, config: &EventInvokeConfig) -> Instant {
    enqueued + config.maximum_event_age
}

/// One queued asynchronous invocation: a task on the tokio runtime until it succeeds, runs out of retries
/// or ages out.
pub(crate) struct QueuedEvent {
    pub(crate) runtime: Arc<Inner>,
    pub(crate) function: Arc<FunctionState>,
    pub(crate) target: Target,
    pub(crate) payload: Value,
    pub(crate) request_id: String,
    pub(crate) enqueued: Instant,
}

/// Keeps [`crate::Runtime::pending_events`] right even if the task is dropped.
struct Pending<'a>(&'a AtomicUsize);

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl QueuedEvent {
    pub(crate) async fn run(self) {
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
            let env = rt.attempt_env(f, None);
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

fn deliver(rt: &Arc<Inner>, destination: &Destination, record: Value) {
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
                let _ = rt.enqueue(f, target, record);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_ranges() {
        assert!(EventInvokeConfig::default().validate().is_ok());
        let bad = EventInvokeConfig {
            maximum_retry_attempts: 3,
            ..Default::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(Error::InvalidParameter {
                parameter: "MaximumRetryAttempts",
                ..
            })
        ));
        for secs in [59, 21_601] {
            let bad = EventInvokeConfig {
                maximum_event_age: Duration::from_secs(secs),
                ..Default::default()
            };
            assert!(bad.validate().is_err(), "{secs}");
        }
    }

    #[test]
    fn backoff_doubles_to_five_minutes() {
        let b: Vec<u64> = (0..12).map(|n| throttle_backoff(n).as_secs()).collect();
        assert_eq!(b, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(throttle_backoff(1000).as_secs(), 300);
    }

    #[test]
    fn record_shape() {
        let t = std::time::UNIX_EPOCH + Duration::from_millis(1_704_067_200_123);
        let r = destination_record(
            t,
            "id",
            "arn:f:$LATEST",
            Condition::RetriesExhausted,
            3,
            &json!({"k": 1}),
            Some(("$LATEST", Some("Unhandled"), &json!({"errorMessage": "x"}))),
        );
        assert_eq!(
            r,
            json!({
                "version": "1.0",
                "timestamp": "2024-01-01T00:00:00.123Z",
                "requestContext": {"requestId": "id", "functionArn": "arn:f:$LATEST",
                                   "condition": "RetriesExhausted", "approximateInvokeCount": 3},
                "requestPayload": {"k": 1},
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "responsePayload": {"errorMessage": "x"}
            })
        );
        let aged = destination_record(
            t,
            "id",
            "a",
            Condition::EventAgeExceeded,
            0,
            &json!(null),
            None,
        );
        assert!(aged.get("responseContext").is_none());
    }

    #[tokio::test]
    async fn queue_recv_waits() {
        let q = EventQueue::new();
        let q2 = q.clone();
        let t = tokio::spawn(async move { q2.recv().await });
        tokio::task::yield_now().await;
        q.send(Message {
            body: json!(1),
            attributes: BTreeMap::new(),
        });
        assert_eq!(t.await.unwrap().body, json!(1));
        assert!(q.is_empty());
    }
}
