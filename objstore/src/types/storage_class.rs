//! Storage classes, and restores from the archive classes.
//!
//! Every class stores and serves bytes the same way here; what differs is what S3 lets you do with them.
//! Objects in [`StorageClass::Glacier`] and [`StorageClass::DeepArchive`] cannot be read until a restore
//! completes (S3's `InvalidObjectState`): [`Bucket::restore_object`](crate::Bucket::restore_object) starts one,
//! and it completes after the class's delay ([`RestoreDelays`]) on the store's clock, then keeps the restored
//! copy readable for the days asked for.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// An S3 storage class, spelled as S3 spells it in headers and lifecycle rules.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StorageClass {
    /// `STANDARD`, the default.
    #[default]
    Standard,
    /// `STANDARD_IA`.
    StandardIa,
    /// `ONEZONE_IA`.
    OnezoneIa,
    /// `INTELLIGENT_TIERING`.
    IntelligentTiering,
    /// `GLACIER_IR` (Glacier Instant Retrieval: readable without a restore).
    GlacierIr,
    /// `GLACIER` (Glacier Flexible Retrieval: needs a restore).
    Glacier,
    /// `DEEP_ARCHIVE` (needs a restore).
    DeepArchive,
}

impl StorageClass {
    /// Every class, from the most to the least available.
    pub const ALL: [StorageClass; 7] = [
        StorageClass::Standard,
        StorageClass::StandardIa,
        StorageClass::OnezoneIa,
        StorageClass::IntelligentTiering,
        StorageClass::GlacierIr,
        StorageClass::Glacier,
        StorageClass::DeepArchive,
    ];

    /// The name S3 uses.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageClass::Standard => "STANDARD",
            StorageClass::StandardIa => "STANDARD_IA",
            StorageClass::OnezoneIa => "ONEZONE_IA",
            StorageClass::IntelligentTiering => "INTELLIGENT_TIERING",
            StorageClass::GlacierIr => "GLACIER_IR",
            StorageClass::Glacier => "GLACIER",
            StorageClass::DeepArchive => "DEEP_ARCHIVE",
        }
    }

    /// Whether objects of this class must be restored before they can be read.
    pub fn is_archived(self) -> bool {
        matches!(self, StorageClass::Glacier | StorageClass::DeepArchive)
    }
}

impl fmt::Display for StorageClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StorageClass {
    type Err = String;

    /// Parses S3's name of a class.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StorageClass::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown storage class {s:?}"))
    }
}

/// How long a restore takes per archive class, on the store's clock. The defaults are S3's standard
/// retrieval times: 4 hours for GLACIER, 12 hours for DEEP_ARCHIVE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestoreDelays {
    /// Delay of a restore from GLACIER.
    pub glacier: Duration,
    /// Delay of a restore from DEEP_ARCHIVE.
    pub deep_archive: Duration,
}

impl Default for RestoreDelays {
    fn default() -> Self {
        RestoreDelays {
            glacier: Duration::from_secs(4 * 3600),
            deep_archive: Duration::from_secs(12 * 3600),
        }
    }
}

impl RestoreDelays {
    /// The delay for a class (zero for classes that need no restore).
    pub fn of(&self, class: StorageClass) -> Duration {
        match class {
            StorageClass::Glacier => self.glacier,
            StorageClass::DeepArchive => self.deep_archive,
            _ => Duration::ZERO,
        }
    }
}

/// A restore of an archived version: requested, then ready at a time, then expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreState {
    /// When the restore was requested.
    pub requested: SystemTime,
    /// When the restored copy becomes readable.
    pub ready_at: SystemTime,
    /// When the restored copy stops being readable.
    pub expires_at: SystemTime,
}

impl RestoreState {
    /// Whether the restore is still running at `now` (S3's `ongoing-request="true"`).
    pub fn ongoing(&self, now: SystemTime) -> bool {
        now < self.ready_at
    }

    /// Whether the restored copy is readable at `now`.
    pub fn readable(&self, now: SystemTime) -> bool {
        self.ready_at <= now && now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in StorageClass::ALL {
            assert_eq!(c.as_str().parse::<StorageClass>().unwrap(), c);
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
        }
        assert!("COLD".parse::<StorageClass>().is_err());
        assert_eq!(
            serde_json::from_str::<StorageClass>("\"GLACIER_IR\"").unwrap(),
            StorageClass::GlacierIr
        );
        assert!(StorageClass::Glacier.is_archived() && !StorageClass::GlacierIr.is_archived());
    }
}
