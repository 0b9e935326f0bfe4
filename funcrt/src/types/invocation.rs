//! What an invocation is asked and what it answers: [`InvocationType`], [`InvokeOptions`] and
//! [`InvokeResponse`].

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, FunctionError, Result};
use crate::types::logs::InvocationLog;
use crate::types::metering::Report;

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
