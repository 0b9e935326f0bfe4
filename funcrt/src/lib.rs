//! # funcrt: Lambda semantics in-process
//!
//! `funcrt` runs functions inside the host process with the semantics of AWS Lambda: functions with
//! configuration, published versions and weighted aliases; synchronous, asynchronous (queued, retried,
//! with destinations) and dry-run invocations; concurrency limits that throttle with a typed error;
//! instances with cold starts, warm reuse and keep-alive; and per-invocation metering.
//!
//! Time comes from [`stratus_clock::Clock`], so tests move timeouts, retry delays and keep-alives forward
//! without sleeping.
//!
//! This crate is being built; see the project's issue tracker for the runtime's planned API.
