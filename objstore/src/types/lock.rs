//! Object lock: retention (GOVERNANCE, COMPLIANCE) and legal hold.
//!
//! A bucket with object lock enabled (which needs versioning enabled, and then keeps it enabled) can give
//! new versions a default retention. A version under retention or legal hold cannot be deleted (by version
//! id) or overwritten in place until the retention date passes and the hold is lifted: COMPLIANCE admits no
//! exception, GOVERNANCE yields to a request that asks to bypass it (`x-amz-bypass-governance-retention`).
//! A delete without a version id only adds a delete marker, so it is always allowed, as in S3.
//!
//! This file holds the configuration shapes; the rules that protect a version are the engine's
//! (`bucket/lock.rs`).

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

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
