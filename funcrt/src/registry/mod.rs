//! The runtime's shared state: settings, the function table, and per function its versions, aliases,
//! concurrency and counters.
//!
//! Readers never lock: the function table, a function's versions and its aliases sit behind `ArcSwap`s
//! and are replaced whole by writers, who serialise on a mutex held only while a new table is built
//! (never while user code runs). The function table is a persistent map, so a new one costs O(log n),
//! not a copy of every function. Counters are atomics sharded per thread; duration histograms allocate
//! where durations fall (`durations`).

mod alias;
mod concurrency;
mod durations;
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
