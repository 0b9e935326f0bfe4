//! The [`Runtime`]: the user's handle on the registry, with one file per concern of Lambda's API.
//!
//! - `builder`: [`RuntimeBuilder`] and the constructors.
//! - `functions`: create, update, delete, get and list functions.
//! - `versions`, `aliases`: publishing versions; aliases and their weighted routing.
//! - `concurrency`: reserved and provisioned concurrency, account settings.
//! - `invoke`: the invoke entry points and the asynchronous invocation settings.
//! - `metrics`: metrics, reaping idle instances, pending events.

mod aliases;
mod builder;
mod concurrency;
mod functions;
mod invoke;
mod metrics;
mod versions;

use std::sync::Arc;

use stratus_clock::Clock;

use crate::error::{Error, Result};
use crate::registry::{FunctionState, Registry};

pub use builder::RuntimeBuilder;

/// An in-process Lambda: holds functions and invokes them. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<Registry>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("functions", &self.inner.functions.load().len())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// The runtime's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    fn lookup(&self, name: &str) -> Result<Arc<FunctionState>> {
        self.inner.lookup(name)
    }

    fn not_found(&self, name: &str) -> Error {
        self.inner.not_found(name)
    }
}
