//! What the control plane reports: functions, versions, pages of the function list, the account's
//! concurrency.

use std::time::SystemTime;

use crate::types::config::FunctionConfig;

/// The label of the unpublished, mutable version.
pub const LATEST: &str = "$LATEST";

/// A function as [`crate::Runtime::get_function`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionInfo {
    /// The name.
    pub name: String,
    /// The unqualified ARN.
    pub arn: String,
    /// `$LATEST`'s configuration.
    pub config: FunctionConfig,
    /// Reserved concurrency, if any.
    pub reserved_concurrency: Option<u32>,
    /// When `$LATEST`'s code or configuration last changed, on the runtime's clock.
    pub last_modified: SystemTime,
    /// A revision id that changes with every code or configuration update.
    pub revision_id: u64,
    /// Published versions, ascending.
    pub versions: Vec<u32>,
    /// Alias names, sorted.
    pub aliases: Vec<String>,
}

/// Options of [`crate::Runtime::list_functions`]: Lambda's `Marker` and `MaxItems`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOptions {
    /// Start after this function name (the previous page's `next_marker`).
    pub marker: Option<String>,
    /// Page size, `1..=10000` (default 50).
    pub max_items: usize,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions {
            marker: None,
            max_items: 50,
        }
    }
}

/// One page of [`crate::Runtime::list_functions`].
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionPage {
    /// Functions in name order.
    pub functions: Vec<FunctionInfo>,
    /// Pass as [`ListOptions::marker`] for the next page; `None` on the last page.
    pub next_marker: Option<String>,
}

/// The account's concurrency, as `GetAccountSettings` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountSettings {
    /// The account limit.
    pub concurrent_executions: u32,
    /// What reservations leave to everyone else.
    pub unreserved_concurrent_executions: u32,
    /// Unreserved concurrency in use now.
    pub unreserved_in_use: u32,
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
