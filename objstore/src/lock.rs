//! Object lock: retention (GOVERNANCE, COMPLIANCE) and legal hold.
//!
//! A bucket with object lock enabled (which needs versioning enabled, and then keeps it enabled) can give
//! new versions a default retention. A version under retention or legal hold cannot be deleted (by version
//! id) or overwritten in place until the retention date passes and the hold is lifted: COMPLIANCE admits no
//! exception, GOVERNANCE yields to a request that asks to bypass it (`x-amz-bypass-governance-retention`).
//! A delete without a version id only adds a delete marker, so it is always allowed, as in S3.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::meta::ObjectMeta;

/// A retention mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RetentionMode {
    /// Users with the bypass permission can shorten or remove it, and delete the version.
    Governance,
    /// No one can shorten it or delete the version before the date.
    Compliance,
}

impl RetentionMode {
    /// S3's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionMode::Governance => "GOVERNANCE",
            RetentionMode::Compliance => "COMPLIANCE",
        }
    }
}

/// The retention of one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// The mode.
    pub mode: RetentionMode,
    /// The version is protected until this time.
    pub retain_until: SystemTime,
}

/// A bucket's default retention for new versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRetention {
    /// The mode.
    pub mode: RetentionMode,
    /// How long from the write.
    pub period: Duration,
}

/// A bucket's object lock configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectLockConfig {
    /// The retention new versions get when the write names none.
    pub default_retention: Option<DefaultRetention>,
}

/// Whether `version` may be deleted or overwritten in place at `now`; the error says what protects it.
pub(crate) fn check_removable(
    bucket: &str,
    version: &ObjectMeta,
    now: SystemTime,
    bypass_governance: bool,
) -> Result<()> {
    let denied = |reason: String| Error::AccessDenied {
        bucket: bucket.to_string(),
        key: version.key.clone(),
        version_id: Some(version.version_id.clone()),
        reason,
    };
    if version.legal_hold {
        return Err(denied("the version is under a legal hold".into()));
    }
    if let Some(r) = &version.retention {
        if r.retain_until > now {
            let until = chrono::DateTime::<chrono::Utc>::from(r.retain_until).to_rfc3339();
            match r.mode {
                RetentionMode::Compliance => {
                    return Err(denied(format!(
                        "the version is under COMPLIANCE retention until {until}"
                    )));
                }
                RetentionMode::Governance if !bypass_governance => {
                    return Err(denied(format!(
                        "the version is under GOVERNANCE retention until {until}; bypass governance retention to delete it"
                    )));
                }
                RetentionMode::Governance => {}
            }
        }
    }
    Ok(())
}

/// Whether a version's retention may change from `old` to `new` at `now`.
#[allow(dead_code)] // used by the object lock API, which follows in the next step
pub(crate) fn check_retention_change(
    bucket: &str,
    meta: &ObjectMeta,
    new: Option<&Retention>,
    now: SystemTime,
    bypass_governance: bool,
) -> Result<()> {
    let Some(old) = meta.retention.as_ref().filter(|r| r.retain_until > now) else {
        return Ok(());
    };
    let extends = new.is_some_and(|n| n.mode == old.mode && n.retain_until >= old.retain_until);
    if extends {
        return Ok(());
    }
    let denied = |reason: &str| Error::AccessDenied {
        bucket: bucket.to_string(),
        key: meta.key.clone(),
        version_id: Some(meta.version_id.clone()),
        reason: reason.to_string(),
    };
    match old.mode {
        RetentionMode::Compliance => Err(denied(
            "COMPLIANCE retention can only be extended, never shortened, removed or changed to GOVERNANCE",
        )),
        RetentionMode::Governance if !bypass_governance => Err(denied(
            "shortening or removing GOVERNANCE retention needs bypass governance retention",
        )),
        RetentionMode::Governance => Ok(()),
    }
}
