//! Concurrency configuration: reserved concurrency, provisioned concurrency (which starts instances
//! ahead of time), and the account's settings.

use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::instance::start_instance;
use crate::limits::MIN_UNRESERVED_CONCURRENCY;
use crate::runtime::Runtime;
use crate::types::info::{AccountSettings, LATEST};

impl Runtime {
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
            self.inner.check_reservation(&map, name, r)?;
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
            match start_instance(
                clock,
                &self.inner.launcher,
                &v.pool,
                &v.label,
                config.clone(),
                true,
            )
            .await
            {
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
}
