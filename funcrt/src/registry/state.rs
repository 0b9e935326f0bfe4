//! [`Registry`]: what every [`crate::Runtime`] clone shares. The runtime's settings, the function table,
//! the writer lock and the counters that span functions.

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
/// The function table: name to function, and the names in order (for `ListFunctions`).
///
/// Both are persistent maps (`imbl`'s hash array mapped trie and B-tree): a clone is O(1) and shares
/// everything, an insert or a remove copies only the O(log n) path it changes. So a writer makes the
/// next table from the current one in O(log n) however many functions there are, and readers keep
/// lock-free snapshots behind the registry's `ArcSwap`.
#[derive(Clone, Default)]
pub(crate) struct FunctionMap {
    by_name: imbl::GenericHashMap<
        Arc<str>,
        Arc<FunctionState>,
        foldhash::fast::RandomState,
        imbl::shared_ptr::DefaultSharedPtr,
    >,
    names: imbl::OrdSet<Arc<str>>,
}

impl FunctionMap {
    /// The function called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Arc<FunctionState>> {
        self.by_name.get(name)
    }

    pub(crate) fn contains_key(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    pub(crate) fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Every function, in no particular order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Arc<FunctionState>> {
        self.by_name.values()
    }

    /// Names after `marker` (all if `None`), in order.
    pub(crate) fn names_after<'a>(
        &'a self,
        marker: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Arc<str>> + 'a {
        use std::ops::Bound;
        let start = match marker {
            Some(m) => Bound::Excluded(Arc::<str>::from(m)),
            None => Bound::Unbounded,
        };
        self.names.range((start, Bound::Unbounded))
    }

    /// Adds (or replaces) a function, keyed by its name (shared, so copying a trie node on a later
    /// insert clones reference counts, never strings).
    pub(crate) fn insert(&mut self, f: Arc<FunctionState>) {
        self.by_name.insert(f.name.clone(), f.clone());
        self.names.insert(f.name.clone());
    }

    /// Removes a function.
    pub(crate) fn remove(&mut self, name: &str) {
        self.by_name.remove(name);
        self.names.remove(name);
    }
}

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
        // Writers hold the write lock, so the running total is exact: O(1) however many functions.
        let own = map
            .get(name)
            .and_then(|f| f.concurrency.reserved())
            .unwrap_or(0);
        let others = self
            .account
            .reserved_total
            .load(Ordering::Relaxed)
            .saturating_sub(own);
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
