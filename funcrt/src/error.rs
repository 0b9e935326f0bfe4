//! The crate's one error type, mapped to Lambda's API error codes, and the function error an invocation
//! reports.

use std::fmt;

/// The result type of every fallible funcrt operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a call was throttled: the `Reason` Lambda puts in a `TooManyRequestsException`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThrottleReason {
    /// The account's unreserved concurrency is exhausted.
    ConcurrentInvocationLimitExceeded,
    /// The function's reserved concurrency is exhausted (or is 0).
    ReservedFunctionConcurrentInvocationLimitExceeded,
}

impl ThrottleReason {
    /// The reason string as Lambda sends it.
    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleReason::ConcurrentInvocationLimitExceeded => {
                "ConcurrentInvocationLimitExceeded"
            }
            ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded => {
                "ReservedFunctionConcurrentInvocationLimitExceeded"
            }
        }
    }
}

impl fmt::Display for ThrottleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

impl fmt::Display for FunctionErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

/// Everything that can go wrong in a funcrt call.
///
/// Each variant names the function, version, alias or limit involved; [`Error::code`] gives Lambda's error
/// code and [`Error::status`] its HTTP status. A handler's own failure is not an `Error` of the invoke call
/// (Lambda answers 200 with a function error); see [`crate::InvokeResponse::function_error`] and
/// [`crate::InvokeResponse::into_result`], which turns it into [`Error::Function`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No function of that name.
    #[error("Function not found: {arn}")]
    FunctionNotFound {
        /// The function's name.
        function: String,
        /// The ARN Lambda would print.
        arn: String,
    },
    /// The function exists but not that published version.
    #[error("Function not found: {function}:{version} (no such version)")]
    VersionNotFound {
        /// The function's name.
        function: String,
        /// The version asked for.
        version: String,
    },
    /// The function exists but not that alias.
    #[error("Function not found: {function}:{alias} (no such alias)")]
    AliasNotFound {
        /// The function's name.
        function: String,
        /// The alias asked for.
        alias: String,
    },
    /// Creating something that already exists, or deleting something still in use.
    #[error("{message}")]
    Conflict {
        /// The function involved.
        function: String,
        /// What conflicts, in Lambda's words.
        message: String,
    },
    /// A parameter is out of range or malformed.
    #[error("invalid value for {parameter}: {reason}")]
    InvalidParameter {
        /// Which parameter (Lambda's name for it, e.g. `MemorySize`).
        parameter: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The payload exceeds Lambda's limit for the invocation type.
    #[error(
        "{function}: request must be smaller than {limit} bytes for the {operation} operation (was {size})"
    )]
    RequestTooLarge {
        /// The function invoked.
        function: String,
        /// The payload's serialized size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
        /// `Invoke` (sync) or `InvokeAsync` (event).
        operation: &'static str,
    },
    /// Past the concurrency limits: Lambda's 429 `Rate Exceeded.`.
    #[error("Rate Exceeded. ({function}: {reason}, limit {limit})")]
    TooManyRequests {
        /// The function invoked.
        function: String,
        /// Which limit was hit.
        reason: ThrottleReason,
        /// The limit's value (reserved concurrency or unreserved account concurrency).
        limit: u32,
    },
    /// The handler failed (only produced by [`crate::InvokeResponse::into_result`]).
    #[error("{function}:{version} failed ({}): {}: {}", .error.kind, .error.error_type, .error.error_message)]
    Function {
        /// The function invoked.
        function: String,
        /// The version that ran.
        version: String,
        /// What the handler (or the runtime around it) reported.
        error: FunctionError,
    },
    /// Provisioned concurrency could not be set up: an instance's init failed.
    #[error("provisioning {function}:{version} failed: {message}")]
    ProvisioningFailed {
        /// The function.
        function: String,
        /// The version being provisioned.
        version: String,
        /// The init error.
        message: String,
    },
    /// Asynchronous work needs a tokio runtime and none is running.
    #[error("funcrt needs a tokio runtime to {what}")]
    NoAsyncRuntime {
        /// What was being attempted.
        what: &'static str,
    },
    /// An API Gateway route key is malformed or defined twice (feature `apigw`).
    #[error("invalid route key {route_key:?}: {reason}")]
    InvalidRoute {
        /// The route key as given.
        route_key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A payload could not be converted to or from JSON.
    #[error("payload for {function} is not valid JSON for the expected type: {source}")]
    Payload {
        /// The function involved.
        function: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// Lambda's error code for this error (the `x-amzn-ErrorType` of the API).
    pub fn code(&self) -> &'static str {
        match self {
            Error::FunctionNotFound { .. }
            | Error::VersionNotFound { .. }
            | Error::AliasNotFound { .. } => "ResourceNotFoundException",
            Error::Conflict { .. } => "ResourceConflictException",
            Error::InvalidParameter { .. } => "InvalidParameterValueException",
            Error::RequestTooLarge { .. } => "RequestTooLargeException",
            Error::TooManyRequests { .. } => "TooManyRequestsException",
            Error::Function { error, .. } => error.kind.as_str(),
            Error::NoAsyncRuntime { .. } | Error::ProvisioningFailed { .. } => "ServiceException",
            Error::Payload { .. } => "InvalidRequestContentException",
            Error::InvalidRoute { .. } => "BadRequestException",
        }
    }

    /// The HTTP status Lambda answers with.
    pub fn status(&self) -> u16 {
        match self {
            Error::FunctionNotFound { .. }
            | Error::VersionNotFound { .. }
            | Error::AliasNotFound { .. } => 404,
            Error::Conflict { .. } => 409,
            Error::InvalidParameter { .. } | Error::Payload { .. } | Error::InvalidRoute { .. } => {
                400
            }
            Error::RequestTooLarge { .. } => 413,
            Error::TooManyRequests { .. } => 429,
            Error::Function { .. } => 200,
            Error::NoAsyncRuntime { .. } | Error::ProvisioningFailed { .. } => 500,
        }
    }

    pub(crate) fn invalid(parameter: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            parameter,
            reason: reason.into(),
        }
    }

    pub(crate) fn conflict(function: &str, message: impl Into<String>) -> Self {
        Error::Conflict {
            function: function.to_owned(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_follow_lambda() {
        let e = Error::TooManyRequests {
            function: "f".into(),
            reason: ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded,
            limit: 10,
        };
        assert_eq!(e.code(), "TooManyRequestsException");
        assert_eq!(e.status(), 429);
        assert!(e.to_string().starts_with("Rate Exceeded."));
        assert!(
            e.to_string()
                .contains("ReservedFunctionConcurrentInvocationLimitExceeded")
        );
        let e = Error::invalid("MemorySize", "too small");
        assert_eq!(e.code(), "InvalidParameterValueException");
        assert_eq!(e.status(), 400);
        let e = Error::RequestTooLarge {
            function: "f".into(),
            size: 7,
            limit: 6,
            operation: "Invoke",
        };
        assert_eq!((e.code(), e.status()), ("RequestTooLargeException", 413));
        let e = Error::conflict("f", "Function already exist: f");
        assert_eq!((e.code(), e.status()), ("ResourceConflictException", 409));
    }
}
