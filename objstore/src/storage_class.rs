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

impl crate::Bucket {
    /// Starts a restore of an archived version (S3's RestoreObject): it becomes readable after the class's
    /// delay ([`RestoreDelays`]) and stays readable for `days` days. Asking again once it is readable
    /// extends it. Returns the restore's state.
    ///
    /// # Errors
    /// `InvalidObjectState` for a class that needs no restore; `RestoreAlreadyInProgress` while one runs;
    /// `InvalidArgument` for 0 days; `NoSuchKey`, `NoSuchVersion`, `MethodNotAllowed` for a delete marker.
    pub async fn restore_object(
        &self,
        key: &str,
        version_id: Option<&str>,
        days: u32,
    ) -> crate::Result<RestoreState> {
        crate::names::validate_key(&self.name, key)?;
        let version = self.version_arg(key, version_id)?;
        let bucket = &*self.name;
        if days == 0 {
            return Err(crate::Error::InvalidArgument {
                bucket: bucket.to_string(),
                argument: "RestoreRequest.Days",
                message: format!("a restore of {key:?} must last at least one day"),
            });
        }
        let now = crate::meta::to_millis(self.store.clock.now());
        let delays = self.store.restore_delays;
        let period = Duration::from_secs(u64::from(days) * 86_400);
        let by_id = version.is_some();
        let meta = self
            .store
            .backend
            .update_version(bucket, key, version, &|m| {
                if m.is_delete_marker {
                    return Err(crate::bucket::marker_error(bucket, m, by_id, "POST"));
                }
                if !m.storage_class.is_archived() {
                    return Err(crate::Error::InvalidObjectState {
                        bucket: bucket.to_string(),
                        key: m.key.clone(),
                        version_id: m.version_id.clone(),
                        storage_class: m.storage_class,
                        reason: "only GLACIER and DEEP_ARCHIVE objects are restored",
                    });
                }
                match &mut m.restore {
                    Some(r) if r.ongoing(now) => Err(crate::Error::RestoreAlreadyInProgress {
                        bucket: bucket.to_string(),
                        key: m.key.clone(),
                        version_id: m.version_id.clone(),
                    }),
                    Some(r) if r.readable(now) => {
                        r.expires_at = now + period;
                        Ok(())
                    }
                    _ => {
                        let ready_at = now + delays.of(m.storage_class);
                        m.restore = Some(RestoreState {
                            requested: now,
                            ready_at,
                            expires_at: ready_at + period,
                        });
                        Ok(())
                    }
                }
            })
            .await?;
        meta.restore.clone().ok_or_else(|| {
            crate::Error::backend(
                "engine",
                bucket,
                Some(key),
                "the backend dropped the restore state",
            )
        })
    }
}

#[cfg(test)]
mod restore_tests {
    use super::*;

    #[tokio::test]
    async fn restore_delay_is_configurable() {
        let clock = stratus_clock::ManualClock::new();
        let store = crate::Store::builder()
            .clock(clock.clock())
            .restore_delays(RestoreDelays {
                glacier: Duration::from_secs(60),
                deep_archive: Duration::from_secs(600),
            })
            .build();
        let b = store.create_bucket("cold").await.unwrap();
        let opts = crate::PutOptions {
            storage_class: StorageClass::Glacier,
            ..Default::default()
        };
        b.put_opts("k", "v", opts).await.unwrap();
        b.restore_object("k", None, 1).await.unwrap();
        clock.advance(Duration::from_secs(59));
        assert_eq!(b.get("k").await.unwrap_err().code(), "InvalidObjectState");
        clock.advance(Duration::from_secs(1));
        assert!(b.get("k").await.is_ok());
    }
}
