//! Object lock on a bucket (S3's PutObjectLockConfiguration) and on its versions (retention, legal hold).
//! Here too are the rules: what protects a version from removal or overwrite, and which changes of its
//! retention are allowed.

use super::Check;
use crate::types::access::Action;
use std::sync::Arc;
use std::time::SystemTime;

use super::Bucket;
use crate::error::{Error, Result};
use crate::types::config::Versioning;
use crate::types::lock::{ObjectLockConfig, Retention, RetentionMode};
use crate::types::meta::ObjectMeta;

impl Bucket {
    /// The bucket's object lock configuration, if object lock is enabled.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub async fn object_lock(&self) -> Result<Option<ObjectLockConfig>> {
        self.authorize(Check::bucket(Action::GET_BUCKET_OBJECT_LOCK_CONFIGURATION))
            .await?;
        Ok(self
            .store
            .backend
            .bucket_config(&self.name)
            .await?
            .object_lock
            .clone())
    }

    /// Enables object lock, or changes its default retention (S3's PutObjectLockConfiguration). Object
    /// lock cannot be turned off again, and versioning must be enabled (and then stays enabled).
    ///
    /// # Errors
    /// `InvalidBucketState` when versioning is not enabled; `MalformedXML` for a default retention of zero
    /// length; `NoSuchBucket`.
    pub async fn set_object_lock(&self, config: ObjectLockConfig) -> Result<()> {
        self.authorize(Check::bucket(Action::PUT_BUCKET_OBJECT_LOCK_CONFIGURATION))
            .await?;
        let bucket = &*self.name;
        if config
            .default_retention
            .as_ref()
            .is_some_and(|d| d.period.is_zero())
        {
            return Err(Error::MalformedConfiguration {
                bucket: bucket.to_string(),
                reason: "the default retention period must be at least one day".into(),
            });
        }
        self.store
            .backend
            .update_bucket_config(bucket, &|c| {
                if c.versioning != Versioning::Enabled {
                    return Err(Error::InvalidBucketState {
                        bucket: bucket.to_string(),
                        reason: "object lock needs versioning enabled",
                    });
                }
                c.object_lock = Some(config.clone());
                Ok(())
            })
            .await
            .map(|_| ())
    }

    async fn lock_enabled(&self, key: &str) -> Result<()> {
        match self.object_lock().await? {
            Some(_) => Ok(()),
            None => Err(Error::InvalidRequest {
                bucket: self.name.to_string(),
                key: key.to_string(),
                message: "Bucket is missing Object Lock Configuration",
            }),
        }
    }

    /// Sets or removes the retention of a version (S3's PutObjectRetention). Extending is always allowed;
    /// shortening, removing or changing the mode of GOVERNANCE retention needs `bypass_governance`, and
    /// COMPLIANCE retention can only be extended.
    ///
    /// # Errors
    /// `AccessDenied` saying which retention forbids the change; `InvalidRequest` on a bucket without object
    /// lock; `NoSuchKey`, `NoSuchVersion`, `MethodNotAllowed` for a delete marker.
    pub async fn set_retention(
        &self,
        key: &str,
        version_id: Option<&str>,
        retention: Option<Retention>,
        bypass_governance: bool,
    ) -> Result<Arc<ObjectMeta>> {
        let bucket = &*self.name;
        self.authorize_meta(Action::PUT_OBJECT_RETENTION, key, version_id)
            .await?;
        if bypass_governance {
            self.authorize_meta(Action::BYPASS_GOVERNANCE_RETENTION, key, version_id)
                .await?;
        }
        self.update_meta(key, version_id, "PUT", self.lock_enabled(key), |m| {
            // The clock is read once object lock is known to be on, as before the update.
            let now = self.store.clock.now();
            check_retention_change(bucket, m, retention.as_ref(), now, bypass_governance)?;
            m.retention = retention.clone().map(Box::new);
            Ok(())
        })
        .await
    }

    /// Places or lifts a legal hold on a version (S3's PutObjectLegalHold).
    ///
    /// # Errors
    /// `InvalidRequest` on a bucket without object lock; `NoSuchKey`, `NoSuchVersion`, `MethodNotAllowed`
    /// for a delete marker.
    pub async fn set_legal_hold(
        &self,
        key: &str,
        version_id: Option<&str>,
        on: bool,
    ) -> Result<Arc<ObjectMeta>> {
        self.authorize_meta(Action::PUT_OBJECT_LEGAL_HOLD, key, version_id)
            .await?;
        self.update_meta(key, version_id, "PUT", self.lock_enabled(key), |m| {
            m.legal_hold = on;
            Ok(())
        })
        .await
    }
}

/// Object lock's check on the version a write replaces or removes, without bypass.
pub(crate) fn check_removable_now(
    bucket: &str,
    target: Option<&ObjectMeta>,
    now: SystemTime,
) -> Result<()> {
    match target {
        Some(t) => check_removable(bucket, t, now, false),
        None => Ok(()),
    }
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
