//! Function lifecycle: create, update code and configuration, delete, get, list.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::function::Code;
use crate::instance::VersionConfig;
use crate::registry::{FunctionMap, FunctionState, VersionState};
use crate::runtime::Runtime;
use crate::types::config::{ConfigUpdate, FunctionConfig, validate_function_name};
use crate::types::info::{FunctionInfo, FunctionPage, LATEST, ListOptions};

impl Runtime {
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
            self.inner.check_reservation(&map, name, r)?;
        }
        let arn = inner.function_arn(name);
        let vc = inner.version_config(name, LATEST, code, config.clone());
        let latest = Arc::new(VersionState::new(
            LATEST.into(),
            None,
            format!("{arn}:{LATEST}"),
            Arc::new(vc),
            String::new(),
        ));
        let state = Arc::new(FunctionState::new(
            name,
            arn,
            latest,
            config.reserved_concurrency,
        ));
        let mut next = FunctionMap::clone(&map);
        next.insert(state.clone());
        inner.functions.store(Arc::new(next));
        if let Some(r) = config.reserved_concurrency {
            inner.account.reserved_total.fetch_add(r, Ordering::Relaxed);
        }
        Ok(state.info())
    }

    /// Replaces `$LATEST`'s code (`UpdateFunctionCode`). Warm instances of the old code are retired; the
    /// next invocation is a cold start. Published versions keep their code.
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`].
    pub fn update_function_code(&self, name: &str, code: Code) -> Result<FunctionInfo> {
        self.update_latest(name, |old| Ok((code, old.config.clone())))
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
        self.update_latest(name, |old| {
            Ok((old.code.clone(), update.apply(&old.config)?))
        })
    }

    /// Swaps in a new revision of `$LATEST`, made by `change` from the current one, under the function's
    /// control lock, and retires the warm instances of the old revision.
    fn update_latest(
        &self,
        name: &str,
        change: impl FnOnce(&VersionConfig) -> Result<(Code, FunctionConfig)>,
    ) -> Result<FunctionInfo> {
        let f = self.lookup(name)?;
        let _c = f.control.lock();
        let old = f.latest.config.load_full();
        let (code, config) = change(&old)?;
        let vc = self.inner.version_config(name, LATEST, code, config);
        f.latest.config.store(Arc::new(vc));
        f.latest
            .pool
            .reap(self.inner.clock.instant(), Duration::ZERO);
        drop(_c);
        Ok(f.info())
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
        Ok(f.info())
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
        let mut names = map.names_after(opts.marker.as_deref());
        let functions: Vec<FunctionInfo> = names
            .by_ref()
            .take(opts.max_items)
            .filter_map(|n| map.get(n).map(|f| f.info()))
            .collect();
        let more = names.next().is_some();
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
}
