//! Qualifiers: which version an invocation of `name`, `name:3`, `name:$LATEST` or `name:alias` runs.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::registry::function::FunctionState;
use crate::registry::version::VersionState;
use crate::types::info::LATEST;

/// The version an invocation targets, and the ARN it was invoked by.
pub(crate) struct Target {
    pub(crate) version: Arc<VersionState>,
    pub(crate) invoked_arn: String,
}

/// Resolves a qualifier (none, `$LATEST`, a version number or an alias) to the version to run; an alias
/// with weighted routing picks one of its two versions.
///
/// # Errors
/// [`Error::VersionNotFound`], [`Error::AliasNotFound`].
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
            let v = published(f, q)?;
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

/// The version an alias names: `$LATEST` or a published number.
///
/// # Errors
/// [`Error::VersionNotFound`].
pub(crate) fn version_by_label(f: &FunctionState, label: &str) -> Result<Arc<VersionState>> {
    if label == LATEST {
        return Ok(f.latest.clone());
    }
    published(f, label)
}

/// The published version numbered `label`.
fn published(f: &FunctionState, label: &str) -> Result<Arc<VersionState>> {
    label
        .parse::<u32>()
        .ok()
        .and_then(|n| f.versions.load().get(&n).cloned())
        .ok_or_else(|| Error::VersionNotFound {
            function: f.name.to_string(),
            version: label.to_owned(),
        })
}
