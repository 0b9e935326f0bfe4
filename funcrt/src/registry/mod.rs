//! The runtime's shared state: settings, the function table, and per function its versions, aliases,
//! concurrency and counters.
//!
//! Readers never lock: the function table, a function's versions and its aliases sit behind `ArcSwap`s
//! and are replaced whole by writers, who serialise on a mutex held only while a new table is built
//! (never while user code runs). Counters are atomics sharded per thread.

mod alias;
mod concurrency;
mod function;
mod metrics;
mod resolve;
mod state;
mod version;

pub(crate) use alias::AliasState;
pub(crate) use concurrency::admit;
pub(crate) use function::{FunctionState, VersionKey};
pub(crate) use metrics::{Sample, VersionMetrics, fill_percentiles};
pub(crate) use resolve::{Target, resolve, version_by_label};
pub(crate) use state::{FunctionMap, LogHook, Registry};
pub(crate) use version::VersionState;
