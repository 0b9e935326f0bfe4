//! What a function is: the [`Function`] trait, its [`Code`] (how an instance is initialised), and adapters
//! for closures, `lambda_runtime`-shaped handlers and `tower::Service`s.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use futures::FutureExt;
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use stratus_clock::Clock;

use crate::function::lambda::LambdaEvent;
use crate::types::context::Context;

pub mod lambda;

/// A handler: takes an event and its [`Context`], returns a response or a [`HandlerError`].
///
/// Implement it directly, or adapt a closure ([`handler_fn`], [`Code::from_fn`]), a
/// `lambda_runtime`-shaped typed handler ([`Code::lambda`]) or a `tower::Service` ([`Code::service`]).
#[async_trait]
pub trait Function: Send + Sync + 'static {
    /// Handles one event.
    ///
    /// # Errors
    /// A [`HandlerError`] becomes a `Handled` function error of the invocation.
    async fn call(&self, event: Value, ctx: Context) -> Result<Value, HandlerError>;
}

#[async_trait]
impl<F: Function + ?Sized> Function for Arc<F> {
    async fn call(&self, event: Value, ctx: Context) -> Result<Value, HandlerError> {
        (**self).call(event, ctx).await
    }
}

#[async_trait]
impl<F: Function + ?Sized> Function for Box<F> {
    async fn call(&self, event: Value, ctx: Context) -> Result<Value, HandlerError> {
        (**self).call(event, ctx).await
    }
}

/// The error a handler returns: Lambda's `{"errorType": ..., "errorMessage": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    /// The error's type, e.g. `ValidationError`.
    pub error_type: String,
    /// The error's message.
    pub error_message: String,
}

impl HandlerError {
    /// An error of type `error_type` with `message`.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        HandlerError {
            error_type: error_type.into(),
            error_message: message.into(),
        }
    }

    /// Lambda's JSON form of the error.
    pub fn to_json(&self) -> Value {
        serde_json::json!({ "errorMessage": self.error_message, "errorType": self.error_type })
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)
    }
}

impl std::error::Error for HandlerError {}

/// As `lambda_runtime`'s `Diagnostic`: the type is the Rust type name of the error value.
fn type_name_of_val<T>(_: &T) -> String {
    std::any::type_name::<T>().to_owned()
}

impl From<&str> for HandlerError {
    fn from(message: &str) -> Self {
        HandlerError::new(type_name_of_val(&message), message)
    }
}

impl From<String> for HandlerError {
    fn from(message: String) -> Self {
        HandlerError::new(type_name_of_val(&message), message)
    }
}

impl From<Box<dyn std::error::Error + Send + Sync>> for HandlerError {
    fn from(e: Box<dyn std::error::Error + Send + Sync>) -> Self {
        HandlerError::new(type_name_of_val(&e), e.to_string())
    }
}

impl From<serde_json::Error> for HandlerError {
    fn from(e: serde_json::Error) -> Self {
        HandlerError::new(type_name_of_val(&e), e.to_string())
    }
}

impl From<std::io::Error> for HandlerError {
    fn from(e: std::io::Error) -> Self {
        HandlerError::new(type_name_of_val(&e), e.to_string())
    }
}

impl From<std::convert::Infallible> for HandlerError {
    fn from(e: std::convert::Infallible) -> Self {
        match e {}
    }
}

/// What an instance's init sees: the function's identity, memory, environment and the runtime's clock.
#[derive(Debug, Clone)]
pub struct InitContext {
    /// The function's name.
    pub function_name: String,
    /// The version being initialised.
    pub version: String,
    /// Configured memory in MB.
    pub memory_mb: u32,
    /// The function's environment variables.
    pub environment: BTreeMap<String, String>,
    /// The runtime's clock.
    pub clock: Clock,
}

impl InitContext {
    /// An environment variable of the function.
    pub fn env(&self, key: &str) -> Option<&str> {
        self.environment.get(key).map(String::as_str)
    }
}

type InitFn = dyn Fn(InitContext) -> BoxFuture<'static, Result<Arc<dyn Function>, HandlerError>>
    + Send
    + Sync;

/// A function's code: how to start an instance of it.
///
/// Each instance is created by running the init once (the cold start), which produces the handler that
/// instance then serves every invocation with. [`Code::new`] shares one handler among instances with an
/// empty init; [`Code::with_init`] runs real per-instance setup (open a client, load a model) whose cost
/// shows up as the `Init Duration` of the cold start.
#[derive(Clone)]
pub struct Code {
    init: Arc<InitFn>,
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Code").finish_non_exhaustive()
    }
}

impl Code {
    /// Code whose instances all serve `function`, with nothing to initialise.
    pub fn new<F: Function>(function: F) -> Self {
        let shared: Arc<dyn Function> = Arc::new(function);
        Code {
            init: Arc::new(move |_| {
                let f = shared.clone();
                async move { Ok(f) }.boxed()
            }),
        }
    }

    /// Code from an async closure over JSON: `Code::from_fn(|event, ctx| async move { Ok(event) })`.
    pub fn from_fn<F, Fut, E>(f: F) -> Self
    where
        F: Fn(Value, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, E>> + Send + 'static,
        E: Into<HandlerError> + 'static,
    {
        Code::new(handler_fn(f))
    }

    /// Code with a per-instance init: `init` runs once per new instance (the cold start) and returns the
    /// handler the instance serves. An init that fails, panics or runs past 10 s fails the invocation that
    /// triggered it with `Runtime.InitError`.
    pub fn with_init<I, Fut, F>(init: I) -> Self
    where
        I: Fn(InitContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<F, HandlerError>> + Send + 'static,
        F: Function,
    {
        Code {
            init: Arc::new(move |ctx| {
                let fut = init(ctx);
                async move { fut.await.map(|f| Arc::new(f) as Arc<dyn Function>) }.boxed()
            }),
        }
    }

    /// Code from a handler with `lambda_runtime`'s shape: `async fn(LambdaEvent<T>) -> Result<R, E>` with
    /// `serde` event and response types (e.g. those of `aws_lambda_events`). A payload that does not
    /// deserialize into `T` fails with a handled `Runtime.UnmarshalError`.
    pub fn lambda<T, R, E, F, Fut>(handler: F) -> Self
    where
        T: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        E: Into<HandlerError> + 'static,
        F: Fn(LambdaEvent<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
    {
        Code::new(LambdaFn {
            handler,
            _types: PhantomData,
        })
    }

    /// Code from a `tower::Service<LambdaEvent<T>>`, e.g. `tower::service_fn(handler)` (what
    /// `lambda_runtime::run` takes). The service is cloned per invocation and driven with `oneshot`.
    pub fn service<S, T>(service: S) -> Self
    where
        S: tower::Service<LambdaEvent<T>> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
        S::Response: Serialize + Send + 'static,
        S::Error: Into<HandlerError> + 'static,
        T: DeserializeOwned + Send + 'static,
    {
        Code::new(ServiceFunction {
            service,
            _types: PhantomData,
        })
    }

    pub(crate) fn init(
        &self,
        ctx: InitContext,
    ) -> BoxFuture<'static, Result<Arc<dyn Function>, HandlerError>> {
        (self.init)(ctx)
    }
}

/// A [`Function`] made from a closure over JSON; see [`handler_fn`].
pub struct FnFunction<F>(F);

impl<F> fmt::Debug for FnFunction<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnFunction")
    }
}

/// Adapts an async closure `Fn(Value, Context) -> Result<Value, E>` into a [`Function`].
pub fn handler_fn<F, Fut, E>(f: F) -> FnFunction<F>
where
    F: Fn(Value, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, E>> + Send + 'static,
    E: Into<HandlerError> + 'static,
{
    FnFunction(f)
}

#[async_trait]
impl<F, Fut, E> Function for FnFunction<F>
where
    F: Fn(Value, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, E>> + Send + 'static,
    E: Into<HandlerError> + 'static,
{
    async fn call(&self, event: Value, ctx: Context) -> Result<Value, HandlerError> {
        (self.0)(event, ctx).await.map_err(Into::into)
    }
}

fn unmarshal<T: DeserializeOwned>(event: Value) -> Result<T, HandlerError> {
    serde_json::from_value(event).map_err(|e| {
        HandlerError::new(
            "Runtime.UnmarshalError",
            format!(
                "failed to deserialize the incoming data into the function's payload type: {e}"
            ),
        )
    })
}

fn marshal<R: Serialize>(response: R) -> Result<Value, HandlerError> {
    serde_json::to_value(response)
        .map_err(|e| HandlerError::new("Runtime.MarshalError", e.to_string()))
}

struct LambdaFn<F, T, R, E> {
    handler: F,
    _types: PhantomData<fn(T) -> (R, E)>,
}

#[async_trait]
impl<T, R, E, F, Fut> Function for LambdaFn<F, T, R, E>
where
    T: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    E: Into<HandlerError> + 'static,
    F: Fn(LambdaEvent<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
{
    async fn call(&self, event: Value, ctx: Context) -> Result<Value, HandlerError> {
        let payload = unmarshal::<T>(event)?;
        let response = (self.handler)(LambdaEvent::new(payload, ctx))
            .await
            .map_err(Into::into)?;
        marshal(response)
    }
}

struct ServiceFunction<S, T> {
    service: S,
    _types: PhantomData<fn(T)>,
}

#[async_trait]
impl<S, T> Function for ServiceFunction<S, T>
where
    S: tower::Service<LambdaEvent<T>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Response: Serialize + Send + 'static,
    S::Error: Into<HandlerError> + 'static,
    T: DeserializeOwned + Send + 'static,
{
    async fn call(&self, event: Value, ctx: Context) -> Result<Value, HandlerError> {
        use tower::ServiceExt as _;
        let payload = unmarshal::<T>(event)?;
        let response = self
            .service
            .clone()
            .oneshot(LambdaEvent::new(payload, ctx))
            .await
            .map_err(Into::into)?;
        marshal(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn closures_and_errors_adapt() {
        let f = handler_fn(|event: Value, _ctx| async move {
            if event["fail"] == true {
                Err("bad input")
            } else {
                Ok(json!({ "echo": event }))
            }
        });
        assert_eq!(
            f.call(json!(1), Context::default()).await.unwrap(),
            json!({ "echo": 1 })
        );
        let e = f
            .call(json!({ "fail": true }), Context::default())
            .await
            .unwrap_err();
        assert_eq!(e.error_message, "bad input");
        assert_eq!(e.error_type, "&str");
        assert_eq!(
            e.to_json(),
            json!({ "errorMessage": "bad input", "errorType": "&str" })
        );
    }

    #[tokio::test]
    async fn typed_handler_rejects_wrong_payload() {
        #[derive(serde::Deserialize)]
        struct In {
            n: u32,
        }
        let code =
            Code::lambda(
                |e: LambdaEvent<In>| async move { Ok::<_, HandlerError>(e.payload.n * 2) },
            );
        let f = code.init(test_init()).await.unwrap();
        assert_eq!(
            f.call(json!({ "n": 21 }), Context::default())
                .await
                .unwrap(),
            json!(42)
        );
        let e = f
            .call(json!({ "n": "x" }), Context::default())
            .await
            .unwrap_err();
        assert_eq!(e.error_type, "Runtime.UnmarshalError");
    }

    pub(crate) fn test_init() -> InitContext {
        InitContext {
            function_name: "f".into(),
            version: "$LATEST".into(),
            memory_mb: 128,
            environment: BTreeMap::new(),
            clock: Clock::system(),
        }
    }
}
