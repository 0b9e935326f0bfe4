//! One function's state: `$LATEST`, the published versions, the aliases, concurrency, counters and
//! asynchronous invocation settings.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;

use crate::registry::alias::AliasState;
use crate::registry::concurrency::FunctionConcurrency;
use crate::registry::metrics::{FunctionCounters, VersionMetrics};
use crate::registry::version::VersionState;
use crate::types::event_config::EventInvokeConfig;
use crate::types::info::{FunctionInfo, LATEST};

/// What changes only under the function's control lock: version numbering and the metrics of every
/// version that ever existed.
pub(crate) struct Control {
    pub(crate) next_version: u32,
    pub(crate) last_published: Option<(u64, u32)>,
    pub(crate) all_metrics: BTreeMap<VersionKey, Arc<VersionMetrics>>,
}

/// Sorts `$LATEST` first, then versions by number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum VersionKey {
    Latest,
    Number(u32),
}

impl VersionKey {
    pub(crate) fn label(&self) -> String {
        match self {
            VersionKey::Latest => LATEST.to_owned(),
            VersionKey::Number(n) => n.to_string(),
        }
    }
}

/// One function.
pub(crate) struct FunctionState {
    pub(crate) name: Arc<str>,
    pub(crate) arn: String,
    pub(crate) latest: Arc<VersionState>,
    pub(crate) versions: ArcSwap<BTreeMap<u32, Arc<VersionState>>>,
    pub(crate) aliases: ArcSwap<BTreeMap<String, Arc<AliasState>>>,
    pub(crate) control: Mutex<Control>,
    pub(crate) concurrency: FunctionConcurrency,
    pub(crate) counters: FunctionCounters,
    pub(crate) event_config: ArcSwap<EventInvokeConfig>,
}

impl FunctionState {
    /// A new function with only `$LATEST`, no aliases and the default asynchronous settings.
    pub(crate) fn new(
        name: &str,
        arn: String,
        latest: Arc<VersionState>,
        reserved: Option<u32>,
    ) -> Self {
        let mut all_metrics = BTreeMap::new();
        all_metrics.insert(VersionKey::Latest, latest.metrics.clone());
        FunctionState {
            name: name.into(),
            arn,
            latest,
            versions: ArcSwap::from_pointee(BTreeMap::new()),
            aliases: ArcSwap::from_pointee(BTreeMap::new()),
            control: Mutex::new(Control {
                next_version: 1,
                last_published: None,
                all_metrics,
            }),
            concurrency: FunctionConcurrency::new(reserved),
            counters: FunctionCounters::default(),
            event_config: ArcSwap::from_pointee(EventInvokeConfig::default()),
        }
    }

    /// The function as [`crate::Runtime::get_function`] reports it.
    pub(crate) fn info(&self) -> FunctionInfo {
        let cfg = self.latest.config.load();
        let mut config = cfg.config.clone();
        config.reserved_concurrency = self.concurrency.reserved();
        FunctionInfo {
            name: self.name.to_string(),
            arn: self.arn.clone(),
            config,
            reserved_concurrency: self.concurrency.reserved(),
            last_modified: cfg.last_modified,
            revision_id: cfg.revision,
            versions: self.versions.load().keys().copied().collect(),
            aliases: self.aliases.load().keys().cloned().collect(),
        }
    }
}
