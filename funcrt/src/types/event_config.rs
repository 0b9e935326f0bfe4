//! Asynchronous invocation settings of a function (`PutFunctionEventInvokeConfig`): retries, maximum event
//! age, destinations and the dead-letter sink, and the conditions a destination record reports.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::limits::{MAX_EVENT_AGE, MIN_EVENT_AGE};
use crate::types::queue::EventQueue;

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
}
