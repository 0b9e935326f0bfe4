//! [`Registry`]: what every [`crate::Runtime`] clone shares. The runtime's settings, the function table,
//! the writer lock and the counters that span functions.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use stratus_clock::Clock;

use crate::error::{Error, Result};
use crate::function::Code;
use crate::instance::{Launcher, VersionConfig};
use crate::limits::MIN_UNRESERVED_CONCURRENCY;
use crate::registry::concurrency::Account;
use crate::registry::function::FunctionState;
use crate::types::config::FunctionConfig;
use crate::types::context::EnvConfig;
use crate::types::execution::Execution;
use crate::types::logs::InvocationLog;
use crate::types::metering::PriceTable;

/// Called with the log of every invocation.
pub(crate) type LogHook = Arc<dyn Fn(&InvocationLog) + Send + Sync>;
/// The function table: name to function.
pub(crate) type FunctionMap = HashMap<Box<str>, Arc<FunctionState>, foldhash::fast::RandomState>;

/// The runtime's shared state.
pub(crate) struct Registry {
    pub(crate) clock: Clock,
    pub(crate) account: Account,
    pub(crate) keep_alive: Duration,
    pub(crate) prices: PriceTable,
    region: String,
    account_id: String,
    pub(crate) on_log: Option<LogHook>,
    /// Where instances run their code, and the count of instance threads alive.
    pub(crate) launcher: Launcher,
    pub(crate) functions: ArcSwap<FunctionMap>,
    /// Serialises changes to the function map and to reservations; never held while user code runs.
    pub(crate) write: Mutex<()>,
    revision: AtomicU64,
    pub(crate) pending_events: AtomicUsize,
}

impl Registry {
    /// An empty registry with these settings (already validated by the builder).
    #[expect(
        clippy::too_many_arguments,
        reason = "one per builder setting, called only by build()"
    )]
    pub(crate) fn new(
        clock: Clock,
        account_concurrency: u32,
        keep_alive: Duration,
        prices: PriceTable,
        region: String,
        account_id: String,
        on_log: Option<LogHook>,
        execution: Execution,
    ) -> Self {
        Registry {
            clock,
            account: Account::new(account_concurrency),
            keep_alive,
            prices,
            region,
            account_id,
            on_log,
            launcher: Launcher {
                execution,
                threads: Arc::default(),
            },
            functions: ArcSwap::from_pointee(FunctionMap::default()),
            write: Mutex::new(()),
            revision: AtomicU64::new(1),
            pending_events: AtomicUsize::new(0),
        }
    }

    /// The unqualified ARN of function `name`.
    pub(crate) fn function_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            self.region, self.account_id
        )
    }

    /// The function called `name`.
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`].
    pub(crate) fn lookup(&self, name: &str) -> Result<Arc<FunctionState>> {
        self.functions
            .load()
            .get(name)
            .cloned()
            .ok_or_else(|| self.not_found(name))
    }

    /// The error for a function that does not exist.
    pub(crate) fn not_found(&self, name: &str) -> Error {
        Error::FunctionNotFound {
            function: name.to_owned(),
            arn: self.function_arn(name),
        }
    }

    /// A new revision of version `version` of function `name`: a fresh revision id, stamped now.
    pub(crate) fn version_config(
        &self,
        name: &str,
        version: &str,
        code: Code,
        config: FunctionConfig,
    ) -> VersionConfig {
        let env = EnvConfig {
            function_name: name.to_owned(),
            memory: config.memory_mb as i32,
            version: version.to_owned(),
            log_stream: String::new(),
            log_group: format!("/aws/lambda/{name}"),
            environment: config.environment.clone(),
        };
        VersionConfig {
            code,
            config,
            env,
            revision: self.revision.fetch_add(1, Ordering::Relaxed),
            last_modified: self.clock.now(),
        }
    }

    /// Checks that reserving `r` for `name` leaves the account's minimum unreserved.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `ReservedConcurrentExecutions`.
    pub(crate) fn check_reservation(&self, map: &FunctionMap, name: &str, r: u32) -> Result<()> {
        let others: u32 = map
            .iter()
            .filter(|(n, _)| &***n != name)
            .filter_map(|(_, f)| f.concurrency.reserved())
            .sum();
        let limit = self.account.limit;
        if u64::from(others) + u64::from(r)
            > u64::from(limit.saturating_sub(MIN_UNRESERVED_CONCURRENCY))
        {
            return Err(Error::invalid(
                "ReservedConcurrentExecutions",
                format!(
                    "Specified ReservedConcurrentExecutions for function {name} ({r}) decreases account's \
                     UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED_CONCURRENCY}]."
                ),
            ));
        }
        Ok(())
    }
}
