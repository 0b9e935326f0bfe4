//! `lambda_runtime`-compatible names, so a handler written for AWS runs here by changing its `use` line.
//!
//! ```
//! // On AWS: use lambda_runtime::{service_fn, Error, LambdaEvent};
//! use funcrt::lambda::{service_fn, Error, LambdaEvent};
//! use serde_json::{json, Value};
//!
//! async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
//!     let (payload, context) = event.into_parts();
//!     Ok(json!({ "got": payload, "from": context.env_config.function_name }))
//! }
//!
//! // On AWS: lambda_runtime::run(service_fn(handler)).await
//! let code = funcrt::Code::service(service_fn(handler));
//! # let _ = code;
//! ```

pub use crate::types::context::{Context, EnvConfig};
pub use tower::service_fn;

/// `lambda_runtime::Error`: any boxed error.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// An incoming event with its context, as `lambda_runtime::LambdaEvent`.
#[derive(Clone, Debug)]
pub struct LambdaEvent<T> {
    /// Event payload.
    pub payload: T,
    /// Invocation context.
    pub context: Context,
}

impl<T> LambdaEvent<T> {
    /// Creates an event.
    pub fn new(payload: T, context: Context) -> Self {
        LambdaEvent { payload, context }
    }

    /// Splits the event into its payload and context.
    pub fn into_parts(self) -> (T, Context) {
        (self.payload, self.context)
    }
}
