//! Aliases: create, repoint or reweight, get, delete.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::registry::{AliasState, version_by_label};
use crate::runtime::Runtime;
use crate::types::alias::{AliasConfig, AliasInfo, validate_routing};
use crate::types::config::validate_alias_name;

impl Runtime {
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
        let primary = version_by_label(&f, &alias.function_version)?;
        let additional = match &alias.routing {
            Some(r) => Some((version_by_label(&f, &r.version)?, r.weight)),
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
}
