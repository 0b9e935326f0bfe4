//! [`RuntimeBuilder`]: the runtime's settings, checked once.

use std::sync::Arc;
use std::time::Duration;

use stratus_clock::Clock;

use crate::error::{Error, Result};
use crate::limits::{DEFAULT_ACCOUNT_CONCURRENCY, DEFAULT_KEEP_ALIVE, MIN_UNRESERVED_CONCURRENCY};
use crate::registry::{LogHook, Registry};
use crate::runtime::Runtime;
use crate::types::execution::Execution;
use crate::types::logs::InvocationLog;
use crate::types::metering::PriceTable;

/// Builds a [`Runtime`]: [`Runtime::builder`], then `with_*` setters, then [`RuntimeBuilder::build`].
pub struct RuntimeBuilder {
    clock: Option<Clock>,
    account_concurrency: u32,
    keep_alive: Duration,
    prices: PriceTable,
    region: String,
    account_id: String,
    on_log: Option<LogHook>,
    execution: Execution,
}

impl std::fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("account_concurrency", &self.account_concurrency)
            .field("keep_alive", &self.keep_alive)
            .field("execution", &self.execution)
            .finish_non_exhaustive()
    }
}

impl RuntimeBuilder {
    /// The clock all time goes through (default: the system clock).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The account's concurrency limit (default 1000, at least 100).
    #[must_use]
    pub fn with_account_concurrency(mut self, limit: u32) -> Self {
        self.account_concurrency = limit;
        self
    }

    /// How long an idle instance stays warm (default 10 minutes); functions may override it.
    #[must_use]
    pub fn with_keep_alive(mut self, d: Duration) -> Self {
        self.keep_alive = d;
        self
    }

    /// The prices behind [`crate::MetricsSnapshot::estimated_cost_usd`].
    #[must_use]
    pub fn with_price_table(mut self, prices: PriceTable) -> Self {
        self.prices = prices;
        self
    }

    /// The region and account id that ARNs show (default `us-east-1`, `123456789012`).
    #[must_use]
    pub fn with_identity(
        mut self,
        region: impl Into<String>,
        account_id: impl Into<String>,
    ) -> Self {
        self.region = region.into();
        self.account_id = account_id.into();
        self
    }

    /// Called with the log of every invocation, synchronous or not (where Lambda writes to CloudWatch).
    #[must_use]
    pub fn with_on_log(mut self, hook: impl Fn(&InvocationLog) + Send + Sync + 'static) -> Self {
        self.on_log = Some(Arc::new(hook));
        self
    }

    /// Where functions' inits and handlers run (default [`Execution::Thread`]: a thread per instance, so
    /// a handler that blocks its thread is still timed out and stalls nothing else). See [`Execution`]
    /// for the costs of each.
    #[must_use]
    pub fn with_execution(mut self, execution: Execution) -> Self {
        self.execution = execution;
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
            inner: Arc::new(Registry::new(
                self.clock.unwrap_or_default(),
                self.account_concurrency,
                self.keep_alive,
                self.prices,
                self.region,
                self.account_id,
                self.on_log,
                self.execution,
            )),
        })
    }
}

impl Runtime {
    /// A builder with Lambda's defaults.
    #[must_use]
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder {
            clock: None,
            account_concurrency: DEFAULT_ACCOUNT_CONCURRENCY,
            keep_alive: DEFAULT_KEEP_ALIVE,
            prices: PriceTable::default(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            on_log: None,
            execution: Execution::default(),
        }
    }

    /// A runtime with Lambda's defaults on `clock`.
    pub fn new(clock: Clock) -> Self {
        Runtime::builder()
            .with_clock(clock)
            .build()
            .expect("the default limits are valid")
    }
}
