//! A bucket's configuration: versioning, object lock, lifecycle rules, tags, policy and Block Public Access, kept by the backend with the
//! bucket (the fs backend persists it in the bucket's record).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::types::access::{BucketPolicy, PublicAccessBlock};
use crate::types::lifecycle::LifecycleConfiguration;
use crate::types::lock::ObjectLockConfig;

/// A bucket's versioning state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Versioning {
    /// Never enabled: writes replace the `null` version.
    #[default]
    Unversioned,
    /// Every write creates a new version with a fresh id; a delete adds a delete marker.
    Enabled,
    /// Writes replace the `null` version (and put it on top); a delete adds a `null` delete marker. Versions
    /// written while enabled are kept.
    Suspended,
}

/// Everything configured on a bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketConfig {
    /// The versioning state.
    #[serde(default)]
    pub versioning: Versioning,
    /// Object lock, when enabled.
    #[serde(default)]
    pub object_lock: Option<ObjectLockConfig>,
    /// Lifecycle rules, when set.
    #[serde(default)]
    pub lifecycle: Option<LifecycleConfiguration>,
    /// Bucket tags (at most 50).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The bucket policy, when one is set.
    #[serde(default)]
    pub policy: Option<BucketPolicy>,
    /// Block Public Access (all four on for a new bucket).
    #[serde(default)]
    pub public_access_block: PublicAccessBlock,
}
