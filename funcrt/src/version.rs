//! Versions: `$LATEST` (mutable) and published numbered versions (immutable), each with its own instance
//! pool and metrics.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::config::FunctionConfig;
use crate::context::EnvConfig;
use crate::function::Code;
use crate::instance::Pool;
use crate::metering::VersionMetrics;

/// The label of the unpublished, mutable version.
pub const LATEST: &str = "$LATEST";

/// Code and configuration of a version at one revision. `$LATEST` swaps in a new one on every update;
/// instances remember the one they were started from and are retired when it is no longer current.
#[derive(Debug)]
pub(crate) struct VersionConfig {
    pub(crate) code: Code,
    pub(crate) config: FunctionConfig,
    /// What the handler's [`crate::Context::env_config`] shows (each instance copies it, adding its log
    /// stream).
    pub(crate) env: EnvConfig,
    pub(crate) revision: u64,
    pub(crate) last_modified: SystemTime,
}

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
}

/// A published version, as [`crate::Runtime::list_versions`] shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionInfo {
    /// `$LATEST` or the version number.
    pub version: String,
    /// The qualified ARN.
    pub arn: String,
    /// The configuration frozen into the version.
    pub config: FunctionConfig,
    /// The version's description.
    pub description: String,
    /// Provisioned concurrency configured on it.
    pub provisioned_concurrency: u32,
}
