//! Versions: publish `$LATEST` as an immutable numbered version, list, delete.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::registry::{VersionKey, VersionState};
use crate::runtime::Runtime;
use crate::types::info::VersionInfo;

impl Runtime {
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
            return Ok(v.info());
        }
        let n = c.next_version;
        c.next_version += 1;
        let label = n.to_string();
        let mut vc = self
            .inner
            .version_config(name, &label, cur.code.clone(), cur.config.clone());
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
        Ok(v.info())
    }

    /// `$LATEST` and the published versions (`ListVersionsByFunction`).
    ///
    /// # Errors
    /// [`Error::FunctionNotFound`].
    pub fn list_versions(&self, name: &str) -> Result<Vec<VersionInfo>> {
        let f = self.lookup(name)?;
        let mut out = vec![f.latest.info()];
        out.extend(f.versions.load().values().map(|v| v.info()));
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
}
