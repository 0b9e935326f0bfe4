//! One execution environment and its slots.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use stratus_clock::Instant;

use crate::function::Function;
use crate::instance::revision::VersionConfig;
use crate::instance::thread::InstanceThread;
use crate::types::context::{EnvConfig, SlotShared};

/// Where an instance's handler runs.
pub(crate) enum Runner {
    /// In the caller's task: the handler its init produced.
    Inline(Arc<dyn Function>),
    /// On the instance's own thread, which holds the handler.
    Thread(InstanceThread),
}

/// One execution environment: where its handler runs and the configuration it was started with.
pub(crate) struct Instance {
    pub(crate) runner: Runner,
    pub(crate) config: Arc<VersionConfig>,
    pub(crate) env: Arc<EnvConfig>,
    /// The function's name and version label, owned by this instance so that reports share them without
    /// touching a reference count other threads use.
    pub(crate) function_name: Arc<str>,
    pub(crate) version_label: Arc<str>,
    pub(crate) provisioned: bool,
    pub(super) poisoned: AtomicBool,
    pub(super) live: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("log_stream", &self.env.log_stream)
            .field("provisioned", &self.provisioned)
            .finish_non_exhaustive()
    }
}

impl Instance {
    /// Marks the instance as broken (a panic or a timeout ran in it): none of its slots is reused.
    pub(crate) fn discard(&self) {
        self.poisoned.store(true, Ordering::Relaxed);
    }

    pub(super) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Relaxed)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One place to run an invocation in an instance.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) instance: Arc<Instance>,
    pub(crate) shared: Arc<SlotShared>,
    pub(super) last_used: Instant,
}
