//! Synchronous (`RequestResponse`) invocation: admission, one attempt in the caller's task, the response.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::invoke::attempt::{AttemptEnv, execute};
use crate::invoke::payload::check_request_size;
use crate::limits::SYNC_PAYLOAD_LIMIT;
use crate::registry::{FunctionState, Registry, VersionState, admit};
use crate::types::context::new_request_id;
use crate::types::invocation::InvokeResponse;

/// Invokes `version` of `f` synchronously. Past a concurrency limit it fails at once.
///
/// # Errors
/// [`Error::RequestTooLarge`] past 6 MB, [`Error::TooManyRequests`] past a concurrency limit.
pub(crate) async fn invoke_sync(
    registry: &Registry,
    f: &FunctionState,
    version: &VersionState,
    invoked_arn: String,
    event: Value,
) -> Result<InvokeResponse> {
    check_request_size(&f.name, &event, SYNC_PAYLOAD_LIMIT, "Invoke")?;
    let permit = match admit(&registry.account, &f.concurrency) {
        Ok(p) => p,
        Err((reason, limit)) => {
            f.counters.throttled();
            version.metrics.throttled();
            return Err(Error::TooManyRequests {
                function: f.name.to_string(),
                reason,
                limit,
            });
        }
    };
    let env = AttemptEnv::new(registry, f, Some(SYNC_PAYLOAD_LIMIT));
    let attempt = execute(&env, version, invoked_arn, event, new_request_id()).await;
    drop(permit);
    f.counters.invoked(attempt.function_error.is_some());
    if let Some(hook) = &registry.on_log {
        hook(&attempt.log);
    }
    Ok(InvokeResponse {
        status_code: 200,
        request_id: attempt.log.report.request_id.clone(),
        executed_version: attempt.log.report.version.clone(),
        payload: attempt.payload,
        function_error: attempt.function_error,
        log: Some(attempt.log),
    })
}
