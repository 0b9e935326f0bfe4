//! The invoke entry points (`Invoke` with each invocation type) and the asynchronous invocation settings.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::invoke::{enqueue, invoke_sync};
use crate::registry::resolve;
use crate::runtime::Runtime;
use crate::types::context::new_request_id;
use crate::types::event_config::EventInvokeConfig;
use crate::types::invocation::{InvocationType, InvokeOptions, InvokeResponse};

impl Runtime {
    /// Invokes a function synchronously with a JSON event (`Invoke`, RequestResponse). `name` may carry a
    /// qualifier: `my-fn:prod`, `my-fn:3`.
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`] (or version / alias), [`Error::RequestTooLarge`] past 6 MB,
    /// [`Error::TooManyRequests`] past a concurrency limit. A failing handler is not an `Err`: see
    /// [`InvokeResponse::function_error`].
    pub async fn invoke(&self, name: &str, event: Value) -> Result<InvokeResponse> {
        self.invoke_opts(name, event, InvokeOptions::default())
            .await
    }

    /// Queues an asynchronous invocation (`Invoke`, Event) and returns 202 at once.
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`] (or version / alias), [`Error::RequestTooLarge`] past 1 MB,
    /// [`Error::NoAsyncRuntime`] outside a tokio runtime.
    pub async fn invoke_async(&self, name: &str, event: Value) -> Result<InvokeResponse> {
        self.invoke_opts(name, event, InvokeOptions::event()).await
    }

    /// Invokes with a serializable event.
    ///
    /// # Errors
    /// As [`Runtime::invoke_opts`], and [`Error::Payload`] if `event` does not serialize.
    pub async fn invoke_typed<E: Serialize>(
        &self,
        name: &str,
        event: &E,
        opts: InvokeOptions,
    ) -> Result<InvokeResponse> {
        let value = serde_json::to_value(event).map_err(|source| Error::Payload {
            function: name.to_owned(),
            source,
        })?;
        self.invoke_opts(name, value, opts).await
    }

    /// Invokes with options: invocation type and qualifier.
    ///
    /// # Errors
    /// See [`Runtime::invoke`] and [`Runtime::invoke_async`].
    pub async fn invoke_opts(
        &self,
        name: &str,
        event: Value,
        opts: InvokeOptions,
    ) -> Result<InvokeResponse> {
        let (fname, from_name) = match name.split_once(':') {
            Some((n, q)) => (n, Some(q)),
            None => (name, None),
        };
        let qualifier = opts.qualifier.as_deref().or(from_name);
        if opts.invocation_type == InvocationType::RequestResponse {
            // The hot path borrows the function from the table's snapshot instead of cloning reference
            // counts that every invoking thread shares.
            let map = self.inner.functions.load();
            let f = map.get(fname).ok_or_else(|| self.not_found(fname))?;
            return match qualifier {
                None => invoke_sync(&self.inner, f, &f.latest, f.arn.clone(), event).await,
                Some(q) => {
                    let target = resolve(f, Some(q))?;
                    invoke_sync(&self.inner, f, &target.version, target.invoked_arn, event).await
                }
            };
        }
        let f = self.lookup(fname)?;
        let target = resolve(&f, qualifier)?;
        match opts.invocation_type {
            InvocationType::DryRun => Ok(InvokeResponse {
                status_code: 204,
                request_id: new_request_id(),
                executed_version: target.version.label.clone(),
                payload: Value::Null,
                function_error: None,
                log: None,
            }),
            InvocationType::Event => enqueue(&self.inner, f, target, event),
            InvocationType::RequestResponse => unreachable!("handled above"),
        }
    }

    /// Sets a function's asynchronous invocation settings (`PutFunctionEventInvokeConfig`).
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`], [`Error::InvalidParameter`].
    pub fn put_event_invoke_config(&self, name: &str, config: EventInvokeConfig) -> Result<()> {
        config.validate()?;
        let f = self.lookup(name)?;
        f.event_config.store(Arc::new(config));
        Ok(())
    }
}
