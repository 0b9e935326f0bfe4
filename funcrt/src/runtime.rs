//! The [`Runtime`]: functions, their versions and aliases, limits, and the invoke entry points.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;
use stratus_clock::Clock;

use crate::alias::{AliasConfig, AliasInfo, AliasState, validate_routing};
use crate::concurrency::{
    Account, DEFAULT_ACCOUNT_CONCURRENCY, FunctionConcurrency, MIN_UNRESERVED_CONCURRENCY, admit,
};
use crate::config::{ConfigUpdate, FunctionConfig, validate_alias_name, validate_function_name};
use crate::context::{EnvConfig, new_request_id};
use crate::error::{Error, Result};
use crate::events::EventInvokeConfig;
use crate::function::Code;
use crate::instance::start_instance;
use crate::invoke::{
    ASYNC_PAYLOAD_LIMIT, AttemptEnv, InvocationType, InvokeOptions, InvokeResponse,
    SYNC_PAYLOAD_LIMIT, execute, json_size,
};
use crate::logs::InvocationLog;
use crate::metering::{
    FunctionCounters, FunctionMetrics, MetricsSnapshot, PriceTable, VersionMetrics, cost,
    fill_percentiles,
};
use crate::version::{LATEST, VersionConfig, VersionInfo, VersionState};

/// Default keep-alive of idle instances.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(600);

type LogHook = Arc<dyn Fn(&InvocationLog) + Send + Sync>;
type FunctionMap = HashMap<Box<str>, Arc<FunctionState>, foldhash::fast::RandomState>;

/// Builds a [`Runtime`].
#[must_use]
pub struct RuntimeBuilder {
    clock: Option<Clock>,
    account_concurrency: u32,
    keep_alive: Duration,
    prices: PriceTable,
    region: String,
    account_id: String,
    on_log: Option<LogHook>,
}

impl std::fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("account_concurrency", &self.account_concurrency)
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}

impl RuntimeBuilder {
    /// The clock all time goes through (default: the system clock).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The account's concurrency limit (default 1000, at least 100).
    pub fn account_concurrency(mut self, limit: u32) -> Self {
        self.account_concurrency = limit;
        self
    }

    /// How long an idle instance stays warm (default 10 minutes); functions may override it.
    pub fn keep_alive(mut self, d: Duration) -> Self {
        self.keep_alive = d;
        self
    }

    /// The prices behind [`MetricsSnapshot::estimated_cost_usd`].
    pub fn price_table(mut self, prices: PriceTable) -> Self {
        self.prices = prices;
        self
    }

    /// The region and account id that ARNs show (default `us-east-1`, `123456789012`).
    pub fn identity(mut self, region: impl Into<String>, account_id: impl Into<String>) -> Self {
        self.region = region.into();
        self.account_id = account_id.into();
        self
    }

    /// Called with the log of every invocation, synchronous or not (where Lambda writes to CloudWatch).
    pub fn on_log(mut self, hook: impl Fn(&InvocationLog) + Send + Sync + 'static) -> Self {
        self.on_log = Some(Arc::new(hook));
        self
    }

    /// The runtime.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the account limit is below 100 or the keep-alive is zero.
    pub fn build(self) -> Result<Runtime> {
        if self.account_concurrency < MIN_UNRESERVED_CONCURRENCY {
            return Err(Error::invalid(
                "ConcurrentExecutions",
                format!(
                    "account limit {} is below the {MIN_UNRESERVED_CONCURRENCY} that must stay unreserved",
                    self.account_concurrency
                ),
            ));
        }
        if self.keep_alive.is_zero() {
            return Err(Error::invalid("KeepAlive", "must be longer than zero"));
        }
        Ok(Runtime {
            inner: Arc::new(Inner {
                clock: self.clock.unwrap_or_default(),
                account: Account::new(self.account_concurrency),
                keep_alive: self.keep_alive,
                prices: self.prices,
                region: self.region,
                account_id: self.account_id,
                on_log: self.on_log,
                functions: ArcSwap::from_pointee(FunctionMap::default()),
                write: Mutex::new(()),
                revision: AtomicU64::new(1),
                pending_events: AtomicUsize::new(0),
            }),
        })
    }
}

pub(crate) struct Inner {
    pub(crate) clock: Clock,
    pub(crate) account: Account,
    pub(crate) keep_alive: Duration,
    pub(crate) prices: PriceTable,
    region: String,
    account_id: String,
    pub(crate) on_log: Option<LogHook>,
    functions: ArcSwap<FunctionMap>,
    /// Serialises changes to the function map and to reservations; never held while user code runs.
    write: Mutex<()>,
    revision: AtomicU64,
    pub(crate) pending_events: AtomicUsize,
}

struct Control {
    next_version: u32,
    last_published: Option<(u64, u32)>,
    all_metrics: BTreeMap<VersionKey, Arc<VersionMetrics>>,
}

/// Sorts `$LATEST` first, then versions by number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum VersionKey {
    Latest,
    Number(u32),
}

impl VersionKey {
    fn label(&self) -> String {
        match self {
            VersionKey::Latest => LATEST.to_owned(),
            VersionKey::Number(n) => n.to_string(),
        }
    }
}

pub(crate) struct FunctionState {
    pub(crate) name: Arc<str>,
    pub(crate) arn: String,
    pub(crate) latest: Arc<VersionState>,
    versions: ArcSwap<BTreeMap<u32, Arc<VersionState>>>,
    aliases: ArcSwap<BTreeMap<String, Arc<AliasState>>>,
    control: Mutex<Control>,
    pub(crate) concurrency: FunctionConcurrency,
    pub(crate) counters: FunctionCounters,
    pub(crate) event_config: ArcSwap<EventInvokeConfig>,
}

/// The version an invocation targets, and the ARN it was invoked by.
pub(crate) struct Target {
    pub(crate) version: Arc<VersionState>,
    pub(crate) invoked_arn: String,
}

/// A function as [`Runtime::get_function`] reports it.
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

/// Options of [`Runtime::list_functions`]: Lambda's `Marker` and `MaxItems`.
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

/// One page of [`Runtime::list_functions`].
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

/// An in-process Lambda: holds functions and invokes them. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("functions", &self.inner.functions.load().len())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A builder with Lambda's defaults.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder {
            clock: None,
            account_concurrency: DEFAULT_ACCOUNT_CONCURRENCY,
            keep_alive: DEFAULT_KEEP_ALIVE,
            prices: PriceTable::default(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            on_log: None,
        }
    }

    /// A runtime with Lambda's defaults on `clock`.
    pub fn new(clock: Clock) -> Self {
        Runtime::builder()
            .clock(clock)
            .build()
            .expect("the default limits are valid")
    }

    /// The runtime's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    // ----- lifecycle -----

    /// Creates a function (`CreateFunction`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a bad name or configuration, or a reservation that would leave
    /// fewer than 100 unreserved; [`Error::Conflict`] if the name is taken.
    pub fn create_function(
        &self,
        name: &str,
        code: Code,
        config: FunctionConfig,
    ) -> Result<FunctionInfo> {
        validate_function_name(name)?;
        config.validate()?;
        let inner = &self.inner;
        let _w = inner.write.lock();
        let map = inner.functions.load();
        if map.contains_key(name) {
            return Err(Error::conflict(
                name,
                format!("Function already exist: {name}"),
            ));
        }
        if let Some(r) = config.reserved_concurrency {
            self.check_reservation(&map, name, r)?;
        }
        let arn = format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            inner.region, inner.account_id
        );
        let vc = self.version_config(name, LATEST, code, config.clone());
        let latest = Arc::new(VersionState::new(
            LATEST.into(),
            None,
            format!("{arn}:{LATEST}"),
            Arc::new(vc),
            String::new(),
        ));
        let mut all_metrics = BTreeMap::new();
        all_metrics.insert(VersionKey::Latest, latest.metrics.clone());
        let state = Arc::new(FunctionState {
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
            concurrency: FunctionConcurrency::new(config.reserved_concurrency),
            counters: FunctionCounters::default(),
            event_config: ArcSwap::from_pointee(EventInvokeConfig::default()),
        });
        let mut next = FunctionMap::clone(&map);
        next.insert(name.into(), state.clone());
        inner.functions.store(Arc::new(next));
        if let Some(r) = config.reserved_concurrency {
            inner.account.reserved_total.fetch_add(r, Ordering::Relaxed);
        }
        Ok(self.info(&state))
    }

    /// Replaces `$LATEST`'s code (`UpdateFunctionCode`). Warm instances of the old code are retired; the
    /// next invocation is a cold start. Published versions keep their code.
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`].
    pub fn update_function_code(&self, name: &str, code: Code) -> Result<FunctionInfo> {
        let f = self.lookup(name)?;
        let _c = f.control.lock();
        let old = f.latest.config.load_full();
        let vc = self.version_config(name, LATEST, code, old.config.clone());
        f.latest.config.store(Arc::new(vc));
        f.latest
            .pool
            .reap(self.inner.clock.instant(), Duration::ZERO);
        drop(_c);
        Ok(self.info(&f))
    }

    /// Changes `$LATEST`'s configuration (`UpdateFunctionConfiguration`); warm instances are retired.
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`], [`Error::InvalidParameter`].
    pub fn update_function_configuration(
        &self,
        name: &str,
        update: ConfigUpdate,
    ) -> Result<FunctionInfo> {
        let f = self.lookup(name)?;
        let _c = f.control.lock();
        let old = f.latest.config.load_full();
        let config = update.apply(&old.config)?;
        let vc = self.version_config(name, LATEST, old.code.clone(), config);
        f.latest.config.store(Arc::new(vc));
        f.latest
            .pool
            .reap(self.inner.clock.instant(), Duration::ZERO);
        drop(_c);
        Ok(self.info(&f))
    }

    /// Deletes a function with its versions and aliases (`DeleteFunction`). Invocations already running
    /// finish; queued events still run.
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`].
    pub fn delete_function(&self, name: &str) -> Result<()> {
        let inner = &self.inner;
        let _w = inner.write.lock();
        let map = inner.functions.load();
        let Some(f) = map.get(name) else {
            return Err(self.not_found(name));
        };
        if let Some(r) = f.concurrency.reserved() {
            inner.account.reserved_total.fetch_sub(r, Ordering::Relaxed);
        }
        let mut next = FunctionMap::clone(&map);
        next.remove(name);
        inner.functions.store(Arc::new(next));
        Ok(())
    }

    /// A function's description (`GetFunction`).
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`].
    pub fn get_function(&self, name: &str) -> Result<FunctionInfo> {
        let f = self.lookup(name)?;
        Ok(self.info(&f))
    }

    /// Functions in name order, one page at a time (`ListFunctions`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `max_items` is not in `1..=10000`.
    pub fn list_functions(&self, opts: ListOptions) -> Result<FunctionPage> {
        if !(1..=10_000).contains(&opts.max_items) {
            return Err(Error::invalid(
                "MaxItems",
                format!("{} is not in 1..=10000", opts.max_items),
            ));
        }
        let map = self.inner.functions.load();
        let mut names: Vec<&Box<str>> = map
            .keys()
            .filter(|n| opts.marker.as_deref().is_none_or(|m| &***n > m))
            .collect();
        names.sort();
        let more = names.len() > opts.max_items;
        names.truncate(opts.max_items);
        let functions: Vec<FunctionInfo> = names.iter().map(|n| self.info(&map[&***n])).collect();
        let next_marker = if more {
            functions.last().map(|f| f.name.clone())
        } else {
            None
        };
        Ok(FunctionPage {
            functions,
            next_marker,
        })
    }

    // ----- versions and aliases -----

    /// Publishes `$LATEST` as a new immutable numbered version (`PublishVersion`). If `$LATEST` has not
    /// changed since the last publish, that version is returned again, as Lambda does.
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`].
    pub fn publish_version(&self, name: &str, description: &str) -> Result<VersionInfo> {
        let f = self.lookup(name)?;
        let mut c = f.control.lock();
        let cur = f.latest.config.load_full();
        if let Some((rev, n)) = c.last_published
            && rev == cur.revision
            && let Some(v) = f.versions.load().get(&n)
        {
            return Ok(version_info(v));
        }
        let n = c.next_version;
        c.next_version += 1;
        let label = n.to_string();
        let mut vc = self.version_config(name, &label, cur.code.clone(), cur.config.clone());
        vc.revision = cur.revision;
        let v = Arc::new(VersionState::new(
            label.as_str().into(),
            Some(n),
            format!("{}:{n}", f.arn),
            Arc::new(vc),
            description.to_owned(),
        ));
        let mut versions = BTreeMap::clone(&f.versions.load());
        versions.insert(n, v.clone());
        f.versions.store(Arc::new(versions));
        c.all_metrics
            .insert(VersionKey::Number(n), v.metrics.clone());
        c.last_published = Some((cur.revision, n));
        Ok(version_info(&v))
    }

    /// `$LATEST` and the published versions (`ListVersionsByFunction`).
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`].
    pub fn list_versions(&self, name: &str) -> Result<Vec<VersionInfo>> {
        let f = self.lookup(name)?;
        let mut out = vec![version_info(&f.latest)];
        out.extend(f.versions.load().values().map(|v| version_info(v)));
        Ok(out)
    }

    /// Deletes a published version (`DeleteFunction` with a qualifier). Its metrics stay in
    /// [`Runtime::metrics`].
    ///
    /// # Errors
    /// [`Error::VersionNotFound`]; [`Error::Conflict`] while an alias routes to it.
    pub fn delete_version(&self, name: &str, version: u32) -> Result<()> {
        let f = self.lookup(name)?;
        let _c = f.control.lock();
        if let Some(a) = f.aliases.load().values().find(|a| a.uses(version)) {
            return Err(Error::conflict(
                name,
                format!(
                    "Version {version} of {name} is in use by alias {}",
                    a.info.config.name
                ),
            ));
        }
        let mut versions = BTreeMap::clone(&f.versions.load());
        if versions.remove(&version).is_none() {
            return Err(Error::VersionNotFound {
                function: name.to_owned(),
                version: version.to_string(),
            });
        }
        f.versions.store(Arc::new(versions));
        Ok(())
    }

    /// Creates an alias (`CreateAlias`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a bad name or routing, [`Error::VersionNotFound`],
    /// [`Error::Conflict`] if the alias exists.
    pub fn create_alias(&self, name: &str, alias: AliasConfig) -> Result<AliasInfo> {
        self.put_alias(name, alias, false)
    }

    /// Repoints an alias or changes its routing (`UpdateAlias`).
    ///
    /// # Errors
    /// As [`Runtime::create_alias`], and [`Error::AliasNotFound`].
    pub fn update_alias(&self, name: &str, alias: AliasConfig) -> Result<AliasInfo> {
        self.put_alias(name, alias, true)
    }

    fn put_alias(&self, name: &str, alias: AliasConfig, update: bool) -> Result<AliasInfo> {
        validate_alias_name(&alias.name)?;
        validate_routing(&alias)?;
        let f = self.lookup(name)?;
        let _c = f.control.lock();
        let aliases = f.aliases.load();
        match (aliases.contains_key(&alias.name), update) {
            (true, false) => {
                return Err(Error::conflict(
                    name,
                    format!("Alias already exists: {}:{}", f.arn, alias.name),
                ));
            }
            (false, true) => {
                return Err(Error::AliasNotFound {
                    function: name.to_owned(),
                    alias: alias.name,
                });
            }
            _ => {}
        }
        let primary = self.version_by_label(&f, &alias.function_version)?;
        let additional = match &alias.routing {
            Some(r) => Some((self.version_by_label(&f, &r.version)?, r.weight)),
            None => None,
        };
        let info = AliasInfo {
            arn: format!("{}:{}", f.arn, alias.name),
            config: alias,
        };
        let state = Arc::new(AliasState {
            info: info.clone(),
            primary,
            additional,
        });
        let mut next = BTreeMap::clone(&aliases);
        next.insert(info.config.name.clone(), state);
        f.aliases.store(Arc::new(next));
        Ok(info)
    }

    /// An alias (`GetAlias`).
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`], [`Error::AliasNotFound`].
    pub fn get_alias(&self, name: &str, alias: &str) -> Result<AliasInfo> {
        let f = self.lookup(name)?;
        let aliases = f.aliases.load();
        aliases
            .get(alias)
            .map(|a| a.info.clone())
            .ok_or_else(|| Error::AliasNotFound {
                function: name.to_owned(),
                alias: alias.to_owned(),
            })
    }

    /// Deletes an alias (`DeleteAlias`).
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`], [`Error::AliasNotFound`].
    pub fn delete_alias(&self, name: &str, alias: &str) -> Result<()> {
        let f = self.lookup(name)?;
        let _c = f.control.lock();
        let mut next = BTreeMap::clone(&f.aliases.load());
        if next.remove(alias).is_none() {
            return Err(Error::AliasNotFound {
                function: name.to_owned(),
                alias: alias.to_owned(),
            });
        }
        f.aliases.store(Arc::new(next));
        Ok(())
    }

    // ----- concurrency -----

    /// Sets or removes a function's reserved concurrency (`PutFunctionConcurrency` /
    /// `DeleteFunctionConcurrency`). 0 throttles every invocation.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the reservation would leave fewer than 100 unreserved, or is below a
    /// version's provisioned concurrency.
    pub fn put_function_concurrency(&self, name: &str, reserved: Option<u32>) -> Result<()> {
        let inner = &self.inner;
        let _w = inner.write.lock();
        let map = inner.functions.load();
        let f = map.get(name).ok_or_else(|| self.not_found(name))?;
        if let Some(r) = reserved {
            self.check_reservation(&map, name, r)?;
            let most = f
                .versions
                .load()
                .values()
                .map(|v| v.provisioned.load(Ordering::Relaxed))
                .max()
                .unwrap_or(0);
            if r < most {
                return Err(Error::invalid(
                    "ReservedConcurrentExecutions",
                    format!("{r} is below the provisioned concurrency {most} of {name}"),
                ));
            }
        }
        let old = f.concurrency.reserved().unwrap_or(0);
        f.concurrency.set_reserved(reserved);
        inner
            .account
            .reserved_total
            .fetch_sub(old, Ordering::Relaxed);
        inner
            .account
            .reserved_total
            .fetch_add(reserved.unwrap_or(0), Ordering::Relaxed);
        Ok(())
    }

    fn check_reservation(&self, map: &FunctionMap, name: &str, r: u32) -> Result<()> {
        let others: u32 = map
            .iter()
            .filter(|(n, _)| &***n != name)
            .filter_map(|(_, f)| f.concurrency.reserved())
            .sum();
        let limit = self.inner.account.limit;
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

    /// Sets provisioned concurrency on a published version or an alias's version
    /// (`PutProvisionedConcurrencyConfig`) and initialises that many instances now. Provisioned instances
    /// are preferred by invocations, never reaped, and report no init duration.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `$LATEST` or a value above the reservation or the account's
    /// unreserved pool; [`Error::ProvisioningFailed`] if an init fails.
    pub async fn put_provisioned_concurrency(
        &self,
        name: &str,
        qualifier: &str,
        n: u32,
    ) -> Result<()> {
        let f = self.lookup(name)?;
        let v = if qualifier == LATEST {
            return Err(Error::invalid(
                "Qualifier",
                "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
            ));
        } else if let Ok(num) = qualifier.parse::<u32>() {
            f.versions
                .load()
                .get(&num)
                .cloned()
                .ok_or_else(|| Error::VersionNotFound {
                    function: name.to_owned(),
                    version: qualifier.to_owned(),
                })?
        } else {
            let a =
                f.aliases
                    .load()
                    .get(qualifier)
                    .cloned()
                    .ok_or_else(|| Error::AliasNotFound {
                        function: name.to_owned(),
                        alias: qualifier.to_owned(),
                    })?;
            a.primary.clone()
        };
        if v.number.is_none() {
            return Err(Error::invalid(
                "Qualifier",
                "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
            ));
        }
        let cap = match f.concurrency.reserved() {
            Some(r) => r,
            None => self
                .inner
                .account
                .unreserved_capacity()
                .saturating_sub(MIN_UNRESERVED_CONCURRENCY),
        };
        if n > cap {
            return Err(Error::invalid(
                "ProvisionedConcurrentExecutions",
                format!("{n} for {name}:{qualifier} is more than the {cap} available"),
            ));
        }
        v.provisioned.store(n, Ordering::Relaxed);
        v.pool.clear_provisioned();
        let config = v.config.load_full();
        let per = config.config.per_instance_concurrency.max(1);
        let instances = n.div_ceil(per);
        let clock = &self.inner.clock;
        for _ in 0..instances {
            match start_instance(clock, &v, config.clone(), true).await {
                Ok(started) => v.pool.checkin(started.slot, clock.instant()),
                Err(e) => {
                    return Err(Error::ProvisioningFailed {
                        function: name.to_owned(),
                        version: v.label.to_string(),
                        message: format!("{}: {}", e.error.error_type, e.error.error_message),
                    });
                }
            }
        }
        Ok(())
    }

    /// The account's concurrency settings and usage (`GetAccountSettings`).
    pub fn account_settings(&self) -> AccountSettings {
        let a = &self.inner.account;
        AccountSettings {
            concurrent_executions: a.limit,
            unreserved_concurrent_executions: a.unreserved_capacity(),
            unreserved_in_use: a.unreserved_in_use(),
        }
    }

    /// Sets a function's asynchronous invocation settings (`PutFunctionEventInvokeConfig`).
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`], [`Error::InvalidParameter`].
    pub fn put_event_invoke_config(&self, name: &str, config: EventInvokeConfig) -> Result<()> {
        config.validate()?;
        let f = self.lookup(name)?;
        f.event_config.store(Arc::new(config));
        Ok(())
    }

    // ----- instances and metrics -----

    /// Drops idle instances past their keep-alive, in every function; returns how many slots were dropped.
    /// Invocations also reap lazily, so calling this only frees memory sooner.
    pub fn reap_idle_instances(&self) -> usize {
        let now = self.inner.clock.instant();
        let map = self.inner.functions.load();
        let mut n = 0;
        for f in map.values() {
            let keep_alive = f
                .latest
                .config
                .load()
                .config
                .keep_alive
                .unwrap_or(self.inner.keep_alive);
            n += f.latest.pool.reap(now, keep_alive);
            for v in f.versions.load().values() {
                let keep_alive = v
                    .config
                    .load()
                    .config
                    .keep_alive
                    .unwrap_or(self.inner.keep_alive);
                n += v.pool.reap(now, keep_alive);
            }
        }
        n
    }

    /// Spawns a task that reaps idle instances every `every` on the runtime's clock.
    ///
    /// # Errors
    /// [`Error::NoAsyncRuntime`] outside a tokio runtime.
    pub fn spawn_reaper(&self, every: Duration) -> Result<tokio::task::JoinHandle<()>> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| Error::NoAsyncRuntime {
            what: "spawn the reaper",
        })?;
        let weak = Arc::downgrade(&self.inner);
        let clock = self.inner.clock.clone();
        Ok(handle.spawn(async move {
            loop {
                clock.sleep(every).await;
                match weak.upgrade() {
                    Some(inner) => {
                        Runtime { inner }.reap_idle_instances();
                    }
                    None => return,
                }
            }
        }))
    }

    /// A function's metrics: totals, per version, concurrency and live instances.
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`].
    pub fn metrics(&self, name: &str) -> Result<FunctionMetrics> {
        let f = self.lookup(name)?;
        let prices = &self.inner.prices;
        let all: Vec<(VersionKey, Arc<VersionMetrics>)> = f
            .control
            .lock()
            .all_metrics
            .iter()
            .map(|(k, m)| (k.clone(), m.clone()))
            .collect();
        let mut by_version = BTreeMap::new();
        let mut total = MetricsSnapshot::default();
        let mut merged: Option<histogram::Histogram> = None;
        for (key, m) in all {
            let (snap, hist) = m.snapshot(prices);
            total.cold_starts += snap.cold_starts;
            total.warm_starts += snap.warm_starts;
            total.billed_ms += snap.billed_ms;
            total.gb_seconds += snap.gb_seconds;
            merged = Some(match merged {
                None => hist,
                Some(h) => h.checked_add(&hist).unwrap_or(h),
            });
            by_version.insert(key.label(), snap);
        }
        (total.invocations, total.errors, total.throttles) = f.counters.totals();
        if let Some(h) = &merged {
            fill_percentiles(&mut total, h);
        }
        total.estimated_cost_usd = cost(prices, total.gb_seconds, total.invocations);
        total.concurrent_executions = f.concurrency.in_use();
        total.max_concurrent_executions = f.concurrency.max_seen();
        let instances = f.latest.pool.live()
            + f.versions
                .load()
                .values()
                .map(|v| v.pool.live())
                .sum::<usize>();
        Ok(FunctionMetrics {
            function: name.to_owned(),
            total,
            by_version,
            concurrent_executions: f.concurrency.in_use(),
            max_concurrent_executions: f.concurrency.max_seen(),
            instances,
        })
    }

    /// Events queued or being retried, over all functions.
    pub fn pending_events(&self) -> usize {
        self.inner.pending_events.load(Ordering::Relaxed)
    }

    // ----- invoke -----

    /// Invokes a function synchronously with a JSON event (`Invoke`, RequestResponse). `name` may carry a
    /// qualifier: `my-fn:prod`, `my-fn:3`.
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`] (or version / alias), [`Error::RequestTooLarge`] past 6 MB,
    /// [`Error::TooManyRequests`] past a concurrency limit. A failing handler is not an `Err`: see
    /// [`InvokeResponse::function_error`].
    pub async fn invoke(&self, name: &str, event: Value) -> Result<InvokeResponse> {
        self.invoke_opts(name, event, InvokeOptions::default())
            .await
    }

    /// Queues an asynchronous invocation (`Invoke`, Event) and returns 202 at once.
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`] (or version / alias), [`Error::RequestTooLarge`] past 1 MB,
    /// [`Error::NoAsyncRuntime`] outside a tokio runtime.
    pub async fn invoke_async(&self, name: &str, event: Value) -> Result<InvokeResponse> {
        self.invoke_opts(name, event, InvokeOptions::event()).await
    }

    /// Invokes with a serializable event.
    ///
    /// # Errors
    /// As [`Runtime::invoke_opts`], and [`Error::Payload`] if `event` does not serialize.
    pub async fn invoke_typed<E: Serialize>(
        &self,
        name: &str,
        event: &E,
        opts: InvokeOptions,
    ) -> Result<InvokeResponse> {
        let value = serde_json::to_value(event).map_err(|source| Error::Payload {
            function: name.to_owned(),
            source,
        })?;
        self.invoke_opts(name, value, opts).await
    }

    /// Invokes with options: invocation type and qualifier.
    ///
    /// # Errors
    /// See [`Runtime::invoke`] and [`Runtime::invoke_async`].
    pub async fn invoke_opts(
        &self,
        name: &str,
        event: Value,
        opts: InvokeOptions,
    ) -> Result<InvokeResponse> {
        let (fname, from_name) = match name.split_once(':') {
            Some((n, q)) => (n, Some(q)),
            None => (name, None),
        };
        let qualifier = opts.qualifier.as_deref().or(from_name);
        if opts.invocation_type == InvocationType::RequestResponse {
            // The hot path borrows the function from the table's snapshot instead of cloning reference
            // counts that every invoking thread shares.
            let map = self.inner.functions.load();
            let f = map.get(fname).ok_or_else(|| self.not_found(fname))?;
            return match qualifier {
                None => {
                    self.inner
                        .invoke_sync(f, &f.latest, f.arn.clone(), event)
                        .await
                }
                Some(q) => {
                    let target = resolve(f, Some(q))?;
                    self.inner
                        .invoke_sync(f, &target.version, target.invoked_arn, event)
                        .await
                }
            };
        }
        let f = self.lookup(fname)?;
        let target = self.resolve(&f, qualifier)?;
        match opts.invocation_type {
            InvocationType::DryRun => Ok(InvokeResponse {
                status_code: 204,
                request_id: new_request_id(),
                executed_version: target.version.label.clone(),
                payload: Value::Null,
                function_error: None,
                log: None,
            }),
            InvocationType::Event => self.inner.enqueue(f, target, event),
            InvocationType::RequestResponse => unreachable!("handled above"),
        }
    }

    // ----- internals -----

    fn lookup(&self, name: &str) -> Result<Arc<FunctionState>> {
        self.inner.lookup(name)
    }

    fn not_found(&self, name: &str) -> Error {
        self.inner.not_found(name)
    }

    fn resolve(&self, f: &FunctionState, qualifier: Option<&str>) -> Result<Target> {
        resolve(f, qualifier)
    }

    fn version_by_label(&self, f: &FunctionState, label: &str) -> Result<Arc<VersionState>> {
        if label == LATEST {
            return Ok(f.latest.clone());
        }
        label
            .parse::<u32>()
            .ok()
            .and_then(|n| f.versions.load().get(&n).cloned())
            .ok_or_else(|| Error::VersionNotFound {
                function: f.name.to_string(),
                version: label.to_owned(),
            })
    }

    fn version_config(
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
            revision: self.inner.revision.fetch_add(1, Ordering::Relaxed),
            last_modified: self.inner.clock.now(),
        }
    }

    fn info(&self, f: &FunctionState) -> FunctionInfo {
        let cfg = f.latest.config.load();
        let mut config = cfg.config.clone();
        config.reserved_concurrency = f.concurrency.reserved();
        FunctionInfo {
            name: f.name.to_string(),
            arn: f.arn.clone(),
            config,
            reserved_concurrency: f.concurrency.reserved(),
            last_modified: cfg.last_modified,
            revision_id: cfg.revision,
            versions: f.versions.load().keys().copied().collect(),
            aliases: f.aliases.load().keys().cloned().collect(),
        }
    }
}

fn version_info(v: &VersionState) -> VersionInfo {
    VersionInfo {
        version: v.label.to_string(),
        arn: v.arn.clone(),
        config: v.config.load().config.clone(),
        description: v.description.clone(),
        provisioned_concurrency: v.provisioned.load(Ordering::Relaxed),
    }
}

pub(crate) fn resolve(f: &FunctionState, qualifier: Option<&str>) -> Result<Target> {
    match qualifier {
        None => Ok(Target {
            version: f.latest.clone(),
            invoked_arn: f.arn.clone(),
        }),
        Some(LATEST) => Ok(Target {
            version: f.latest.clone(),
            invoked_arn: f.latest.arn.clone(),
        }),
        Some(q) if !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit()) => {
            let v = q
                .parse::<u32>()
                .ok()
                .and_then(|n| f.versions.load().get(&n).cloned())
                .ok_or_else(|| Error::VersionNotFound {
                    function: f.name.to_string(),
                    version: q.to_owned(),
                })?;
            let invoked_arn = v.arn.clone();
            Ok(Target {
                version: v,
                invoked_arn,
            })
        }
        Some(q) => {
            let aliases = f.aliases.load();
            let a = aliases.get(q).ok_or_else(|| Error::AliasNotFound {
                function: f.name.to_string(),
                alias: q.to_owned(),
            })?;
            Ok(Target {
                version: a.pick().clone(),
                invoked_arn: a.info.arn.clone(),
            })
        }
    }
}

impl Inner {
    pub(crate) fn lookup(&self, name: &str) -> Result<Arc<FunctionState>> {
        self.functions
            .load()
            .get(name)
            .cloned()
            .ok_or_else(|| self.not_found(name))
    }

    pub(crate) fn not_found(&self, name: &str) -> Error {
        Error::FunctionNotFound {
            function: name.to_owned(),
            arn: format!(
                "arn:aws:lambda:{}:{}:function:{name}",
                self.region, self.account_id
            ),
        }
    }

    pub(crate) fn attempt_env<'a>(
        &'a self,
        f: &'a FunctionState,
        response_limit: Option<usize>,
    ) -> AttemptEnv<'a> {
        AttemptEnv {
            clock: &self.clock,
            function: &f.name,
            keep_alive: self.keep_alive,
            response_limit,
        }
    }

    async fn invoke_sync(
        &self,
        f: &FunctionState,
        version: &VersionState,
        invoked_arn: String,
        event: Value,
    ) -> Result<InvokeResponse> {
        let size = json_size(&event);
        if size > SYNC_PAYLOAD_LIMIT {
            return Err(Error::RequestTooLarge {
                function: f.name.to_string(),
                size,
                limit: SYNC_PAYLOAD_LIMIT,
                operation: "Invoke",
            });
        }
        let permit = match admit(&self.account, &f.concurrency) {
            Ok(p) => p,
            Err((reason, limit)) => {
                f.counters.throttled();
                version.metrics.throttled();
                return Err(Error::TooManyRequests {
                    function: f.name.to_string(),
                    reason,
                    limit,
                });
            }
        };
        let env = self.attempt_env(f, Some(SYNC_PAYLOAD_LIMIT));
        let attempt = execute(&env, version, invoked_arn, event, new_request_id()).await;
        drop(permit);
        f.counters.invoked(attempt.function_error.is_some());
        if let Some(hook) = &self.on_log {
            hook(&attempt.log);
        }
        Ok(InvokeResponse {
            status_code: 200,
            request_id: attempt.log.report.request_id.clone(),
            executed_version: attempt.log.report.version.clone(),
            payload: attempt.payload,
            function_error: attempt.function_error,
            log: Some(attempt.log),
        })
    }

    pub(crate) fn enqueue(
        self: &Arc<Self>,
        f: Arc<FunctionState>,
        target: Target,
        event: Value,
    ) -> Result<InvokeResponse> {
        let size = json_size(&event);
        if size > ASYNC_PAYLOAD_LIMIT {
            return Err(Error::RequestTooLarge {
                function: f.name.to_string(),
                size,
                limit: ASYNC_PAYLOAD_LIMIT,
                operation: "InvokeAsync",
            });
        }
        let handle = tokio::runtime::Handle::try_current().map_err(|_| Error::NoAsyncRuntime {
            what: "queue an Event invocation",
        })?;
        let request_id = new_request_id();
        let executed_version = target.version.label.clone();
        self.pending_events.fetch_add(1, Ordering::Relaxed);
        let job = crate::events::QueuedEvent {
            runtime: self.clone(),
            function: f,
            target,
            payload: event,
            request_id: request_id.clone(),
            enqueued: self.clock.instant(),
        };
        handle.spawn(job.run());
        Ok(InvokeResponse {
            status_code: 202,
            request_id,
            executed_version,
            payload: Value::Null,
            function_error: None,
            log: None,
        })
    }
}
