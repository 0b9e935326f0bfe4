//! What an instance is started from: a version's code and configuration at one revision.

use std::time::SystemTime;

use crate::function::Code;
use crate::types::config::FunctionConfig;
use crate::types::context::EnvConfig;

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
