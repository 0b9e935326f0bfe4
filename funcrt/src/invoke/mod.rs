//! The engine: running invocations.
//!
//! - `attempt`: one attempt (warm slot or cold start, the handler under its timeout, metering).
//! - `sync`: `RequestResponse`, admitted or throttled at once, run in the caller's task.
//! - `event`: `Event`, queued as a task, retried, throttles backed off, outcome delivered.
//! - `destination`: the record a destination receives.
//! - `payload`: request size limits.

mod attempt;
mod destination;
mod event;
mod payload;
mod sync;

pub use destination::destination_record;
pub(crate) use event::enqueue;
pub(crate) use sync::invoke_sync;
