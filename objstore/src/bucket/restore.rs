//! Restores from the archive storage classes (S3's RestoreObject), on the store's clock.

use crate::types::access::Action;
use std::time::Duration;

use super::Bucket;
use crate::error::{Error, Result};
use crate::types::meta::to_millis;
use crate::types::storage_class::RestoreState;

impl Bucket {
    /// Starts a restore of an archived version (S3's RestoreObject): it becomes readable after the class's
    /// delay ([`RestoreDelays`](crate::RestoreDelays)) and stays readable for `days` days. Asking again once
    /// it is readable extends it. Returns the restore's state.
    ///
    /// # Errors
    /// `InvalidObjectState` for a class that needs no restore; `RestoreAlreadyInProgress` while one runs;
    /// `InvalidArgument` for 0 days; `NoSuchKey`, `NoSuchVersion`, `MethodNotAllowed` for a delete marker.
    pub async fn restore_object(
        &self,
        key: &str,
        version_id: Option<&str>,
        days: u32,
    ) -> Result<RestoreState> {
        let bucket = &*self.name;
        self.authorize_meta(Action::RESTORE_OBJECT, key, version_id)
            .await?;
        let days_given = async {
            if days == 0 {
                return Err(Error::InvalidArgument {
                    bucket: bucket.to_string(),
                    argument: "RestoreRequest.Days",
                    message: format!("a restore of {key:?} must last at least one day"),
                });
            }
            Ok(())
        };
        let now = to_millis(self.store.clock.now());
        let delays = self.store.restore_delays;
        let period = Duration::from_secs(u64::from(days) * 86_400);
        let meta = self
            .update_meta(key, version_id, "POST", days_given, |m| {
                if !m.storage_class.is_archived() {
                    return Err(Error::InvalidObjectState {
                        bucket: bucket.to_string(),
                        key: m.key.clone(),
                        version_id: m.version_id.clone(),
                        storage_class: m.storage_class,
                        reason: "only GLACIER and DEEP_ARCHIVE objects are restored",
                    });
                }
                match &mut m.restore {
                    Some(r) if r.ongoing(now) => Err(Error::RestoreAlreadyInProgress {
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
                        m.restore = Some(Box::new(RestoreState {
                            requested: now,
                            ready_at,
                            expires_at: ready_at + period,
                        }));
                        Ok(())
                    }
                }
            })
            .await?;
        meta.restore.as_deref().cloned().ok_or_else(|| {
            Error::backend(
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
    use std::time::Duration;

    use crate::types::storage_class::{RestoreDelays, StorageClass};

    #[tokio::test]
    async fn restore_delay_is_configurable() {
        let clock = stratus_clock::ManualClock::new();
        let store = crate::Store::builder()
            .with_clock(clock.clock())
            .with_restore_delays(RestoreDelays {
                glacier: Duration::from_secs(60),
                deep_archive: Duration::from_secs(600),
            })
            .build()
            .unwrap();
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
