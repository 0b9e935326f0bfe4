//! Instances (Lambda's execution environments): what one is started from, starting one (the cold start),
//! and the idle pool of each version.
//!
//! An instance is created by running the code's init once (the cold start). It serves one invocation at a
//! time, or `per_instance_concurrency` at once; each of those places is a *slot*. Idle slots wait in a
//! stack behind a mutex held only for a push or a pop (never across an `.await`, never while user code
//! runs): the most recently used slot is reused first, so the warmest instance serves and the oldest ones
//! age out. Slots idle past the keep-alive are reaped, when checked out or by
//! [`crate::Runtime::reap_idle_instances`]; provisioned slots are never reaped.
//!
//! Where the code runs is [`crate::Execution`]: by default each instance has its own OS thread (`thread`),
//! which runs its init and its handlers, so a handler that blocks its thread stalls nothing but its own
//! instance.
//!
//! This layer knows nothing of functions, versions or aliases: a version (in `registry`) owns a [`Pool`]
//! and hands it, with its label, to [`start_instance`].

mod environment;
mod pool;
mod revision;
mod start;
mod thread;
pub(crate) mod watchdog;

pub(crate) use environment::Runner;
pub(crate) use pool::Pool;
pub(crate) use revision::VersionConfig;
pub(crate) use start::{InitFailure, Launcher, Started, start_instance};
pub(crate) use thread::{CallResult, Waited, panic_message};
