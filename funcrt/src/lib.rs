//! # funcrt: Lambda semantics in-process
//!
//! `funcrt` runs functions inside the host process with the semantics of AWS Lambda, so an application can
//! use it to run handlers and a test suite can use it as a faithful double of Lambda.
//!
//! ## Modules
//! Layers as folders; each imports only the ones below it (no import cycles):
//! ```text
//! lib.rs       the user API (re-exports), `limits`, `lambda`
//!   apigw/     (feature `apigw`) an API Gateway HTTP API router over a Runtime: routes, the 2.0 and
//!              1.0 events, response mapping, CORS, Lambda authorizers; a `tower::Service`
//!   runtime/   Runtime and RuntimeBuilder, one file per concern of Lambda's API: builder, functions,
//!              versions, aliases, concurrency, invoke, metrics
//!   invoke/    the engine: one attempt, sync invocation, the event queue with retries and
//!              destinations, the destination record, payload limits
//!   registry/  the shared state: the function table, each function's versions, aliases,
//!              concurrency admission, metrics counters, qualifier resolution
//!   instance/  execution environments: what one starts from (VersionConfig), the cold start, the
//!              idle pool, the instance's own thread (`thread`) and the process-wide `watchdog` that
//!              notices handlers holding their thread
//!   function/  the Function trait, Code and its adapters (closures, tower, lambda_runtime)
//!   types/     data users build and read: configuration, aliases, asynchronous settings and queues,
//!              Context, logs, metering records, invocation options and responses, Execution
//! error.rs  limits.rs  shard.rs   the bottom: the error enum, Lambda's limits, per-thread sharding
//! ```
//! Where this differs from the issue's sketch, and why:
//! - `VersionConfig` (code and configuration at one revision) lives in `instance/`, not in a
//!   configuration file: it holds the [`Code`], so putting it in `types/` would make the bottom layer
//!   import `function/`; it is what an instance is started from, and the registry only stores it.
//! - `instance/` is a layer of its own under `registry/`: a version owns an idle pool, so the pool must
//!   sit below the registry, and the cold start only needs that pool and a label, never the version.
//! - The destination record is pure formatting (`invoke/destination.rs`); delivering it stays with the
//!   event queue (`invoke/event.rs`), because delivering to a function enqueues again.
//!
//! ## The model
//! - A **function** is [`Code`] (how to start an instance: an init that yields a [`Function`], the async
//!   handler of a JSON event and a [`Context`]) plus a [`FunctionConfig`] (memory 128..=10240 MB,
//!   timeout 1..=900 s, environment, reserved concurrency). Closures, `tower::Service`s and handlers
//!   written for `lambda_runtime` (see [`lambda`]) all become `Code`.
//! - A [`Runtime`] keeps functions: `$LATEST` (mutable), immutable published **versions**, and
//!   **aliases** that may split traffic between two versions by weight.
//! - An **invocation** is [`InvocationType::RequestResponse`] (runs in the caller's task, returns the
//!   result), [`InvocationType::Event`] (queued, retried after 1 and 2 minutes, throttles wait in the
//!   queue, outcomes to destinations; see [`EventInvokeConfig`]) or [`InvocationType::DryRun`].
//! - **Concurrency** (numbers in [`limits`]): an account limit (default 1000, 100 always unreserved)
//!   and per-function reserved concurrency. A synchronous call past a limit fails at once with [`Error::TooManyRequests`].
//! - **Instances**: the init runs once per instance (the cold start); an instance serves one invocation
//!   at a time (or `per_instance_concurrency`), stays warm for the keep-alive, and is discarded after a
//!   panic or a timeout. Provisioned concurrency initialises instances ahead of time.
//! - **Where code runs** ([`Execution`]): by default each instance has its own OS thread, which runs its
//!   init and its handlers; the caller hands the event over and awaits the reply raced against the
//!   deadline on the runtime's clock. So a handler that blocks its thread (`std::thread::sleep`, a busy
//!   loop, a blocking client) stalls only its own instance: its caller gets `Sandbox.Timedout` at the
//!   deadline, the time is billed, the instance is discarded, and other functions and the host's tokio
//!   workers are not delayed. The cost is a thread per live instance and a hand-off per invocation
//!   (microseconds instead of a few hundred nanoseconds; `benches/README.md`). [`Execution::Inline`] runs
//!   trusted, never-blocking handlers in the caller's task instead.
//! - **Errors**: a handler's error is a `Handled` [`FunctionError`]; a panic, a timeout (the caller is
//!   answered at the deadline; the handler's future is dropped at its next `.await`) or a failed init is
//!   `Unhandled`. None of them crashes the host (memory is the exception: see below).
//! - **Metering**: every invocation has a [`Report`] (duration, billed duration in 1 ms steps, init
//!   duration, memory) and a log with Lambda's `START` / `END` / `REPORT` lines; [`Runtime::metrics`]
//!   gives totals per function and version with p50/p90/p99, GB-seconds and cost.
//! - **Time** goes through the injected [`stratus_clock::Clock`]: with a
//!   [`stratus_clock::ManualClock`], tests move timeouts, retry delays and keep-alives forward without
//!   sleeping.
//!
//! ## Where it differs from Lambda, and why
//! - No IAM: a DryRun checks that the function and qualifier exist; there is no permission to check.
//! - **`memory_mb` is not enforced in process.** It is configuration: billing (GB-seconds), [`Context`]
//!   and [`InitContext`]; CPU does not scale with it. What the in-process path guarantees: a handler's
//!   panic, error, timeout or blocked thread never takes the host down or delays other functions. What it
//!   cannot guarantee: a handler that allocates without bound exhausts the host process's memory, and
//!   Rust aborts the whole process on an allocation failure (no other function survives it). For a hard
//!   cap, run the function in the process sandbox (issue 13), which caps and reports the memory of a
//!   process of its own. The `REPORT` line has no `Max Memory Used`: one handler's memory cannot be told
//!   apart in a shared process by anything funcrt can do without `unsafe` (a per-thread counting
//!   `GlobalAlloc` needs an `unsafe impl`, which every crate root here forbids; the allocator wrappers on
//!   crates.io that need no glue, `stats_alloc` and `cap`, count the whole process, so under concurrency
//!   they would charge one function with another's allocations), and a made-up figure would mislead.
//!   Since [`Execution::Thread`] runs each instance on its own thread, a host that installs a per-thread
//!   counting allocator of its own can attribute allocations to instances by thread name
//!   (`funcrt-<function>-<version>`).
//! - Environment variables reach handlers through [`Context::env`] / [`InitContext::env`], not the process
//!   environment, which all functions share.
//! - A thread cannot be killed in-process: a handler that blocks its thread past its timeout keeps that
//!   thread (and what it holds) until it returns, though its caller was answered and its instance
//!   discarded at the deadline. [`Runtime::instance_threads`] counts the threads held, so such handlers
//!   show up. Only a process sandbox (issue 13) can reclaim them by force.
//! - The dead-letter sink is part of [`EventInvokeConfig`] rather than of the function configuration.
//! - Provisioned concurrency put on an alias applies to the alias's primary version.
//! - Percentiles are upper bounds of histogram buckets (at most 0.8 % high).
//!
//! No lock is held across an `.await`: the function table and versions are behind `ArcSwap`s, counters
//! are atomics, admission is a compare-and-swap, and the idle-instance pool's mutex is held only for a
//! push or a pop.
//!
//! At scale: the function table is a persistent map (`imbl`), so `create_function` and
//! `delete_function` make the next table in O(log n) (about 5 us at 1k functions, 10 us at 100k, where
//! copying a hash map made 10k creates take 6 s), and `ListFunctions` pages walk an ordered name set
//! instead of sorting every name. A function version holds about 4 KiB until it is invoked: its duration
//! histogram (same buckets and percentiles as before) allocates 1 KiB pages only where durations fall.
//! Figures: `benches/README.md`, "funcrt at scale".
//!
//! ## Example
//! ```
//! use std::time::Duration;
//! use funcrt::{Code, FunctionConfig, Runtime, ThrottleReason, Error};
//! use serde_json::json;
//! use stratus_clock::ManualClock;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
//! let clock = ManualClock::new();
//! let rt = Runtime::builder().with_clock(clock.clock()).with_keep_alive(Duration::from_secs(300)).build()?;
//! rt.create_function(
//!     "greet",
//!     Code::from_fn(|event: serde_json::Value, ctx: funcrt::Context| async move {
//!         ctx.log(format!("greeting {}", event["name"]));
//!         Ok::<_, funcrt::HandlerError>(json!({ "hello": event["name"] }))
//!     }),
//!     FunctionConfig::builder().with_memory_mb(256).build()?,
//! )?;
//!
//! let first = rt.invoke("greet", json!({ "name": "ada" })).await?;
//! assert!(first.cold_start());
//! assert_eq!(first.payload, json!({ "hello": "ada" }));
//! let log = first.log.as_ref().unwrap().render();
//! assert!(log[0].starts_with("START RequestId: "));
//! assert_eq!(log[1], "greeting \"ada\"");
//! assert!(log[3].starts_with("REPORT RequestId: "));
//!
//! let second = rt.invoke("greet", json!({ "name": "bob" })).await?;
//! assert!(!second.cold_start(), "the instance is still warm");
//! clock.advance(Duration::from_secs(301));
//! assert!(rt.invoke("greet", json!({})).await?.cold_start(), "past the keep-alive");
//!
//! rt.put_function_concurrency("greet", Some(0))?;
//! let err = rt.invoke("greet", json!({})).await.unwrap_err();
//! assert_eq!(err.code(), "TooManyRequestsException");
//! assert!(matches!(err, Error::TooManyRequests {
//!     reason: ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded, .. }));
//!
//! let m = rt.metrics("greet")?;
//! assert_eq!((m.total.invocations, m.total.cold_starts, m.total.throttles), (3, 2, 1));
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

#[cfg(feature = "apigw")]
pub mod apigw;
mod error;
mod function;
mod instance;
mod invoke;
pub mod limits;
mod registry;
mod runtime;
mod shard;
mod types;

pub use error::{Error, FunctionError, FunctionErrorKind, Result, ThrottleReason};
pub use function::lambda;
pub use function::{Code, FnFunction, Function, HandlerError, InitContext, handler_fn};
pub use invoke::destination_record;
pub use runtime::{Runtime, RuntimeBuilder};
/// Events and responses are `serde_json` values; the crate is re-exported so callers need no second
/// dependency to build them.
pub use serde_json::{self, Value};
pub use types::alias::{AliasConfig, AliasInfo, RoutingConfig};
pub use types::config::{ConfigUpdate, FunctionConfig, FunctionConfigBuilder};
pub use types::context::{Context, EnvConfig};
pub use types::event_config::{Condition, Destination, EventInvokeConfig};
pub use types::execution::Execution;
pub use types::info::{
    AccountSettings, FunctionInfo, FunctionPage, LATEST, ListOptions, VersionInfo,
};
pub use types::invocation::{InvocationType, InvokeOptions, InvokeResponse};
pub use types::logs::InvocationLog;
pub use types::metering::{FunctionMetrics, MetricsSnapshot, PriceTable, Report};
pub use types::queue::{EventQueue, Message};
