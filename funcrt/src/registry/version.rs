//! Versions: `$LATEST` (mutable) and published numbered versions (immutable), each with its own instance
//! pool and metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use arc_swap::ArcSwap;

use crate::instance::{Pool, VersionConfig};
use crate::registry::metrics::VersionMetrics;
use crate::types::info::VersionInfo;

/// One version of a function.
#[derive(Debug)]
pub(crate) struct VersionState {
    pub(crate) label: Arc<str>,
    pub(crate) number: Option<u32>,
    pub(crate) arn: String,
    pub(crate) config: ArcSwap<VersionConfig>,
    pub(crate) pool: Pool,
    pub(crate) metrics: Arc<VersionMetrics>,
    pub(crate) provisioned: AtomicU32,
    pub(crate) description: String,
}

impl VersionState {
    pub(crate) fn new(
        label: Arc<str>,
        number: Option<u32>,
        arn: String,
        config: Arc<VersionConfig>,
        description: String,
    ) -> Self {
        VersionState {
            label,
            number,
            arn,
            config: ArcSwap::new(config),
            pool: Pool::default(),
            metrics: Arc::new(VersionMetrics::default()),
            provisioned: AtomicU32::new(0),
            description,
        }
    }

    /// The version as [`crate::Runtime::list_versions`] shows it.
    pub(crate) fn info(&self) -> VersionInfo {
        VersionInfo {
            version: self.label.to_string(),
            arn: self.arn.clone(),
            config: self.config.load().config.clone(),
            description: self.description.clone(),
            provisioned_concurrency: self.provisioned.load(Ordering::Relaxed),
        }
    }
}
