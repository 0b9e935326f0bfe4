//! A lifecycle pass over one bucket: its rules applied at the store clock's now, each action reported
//! (the rules' schema, validation and matching are in `types/lifecycle/`).

use super::Check;
use crate::types::access::Action;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use super::Bucket;
use super::lock::check_removable_now;
use crate::error::{Error, Result};
use crate::types::config::Versioning;
use crate::types::etag::ETag;
use crate::types::lifecycle::{
    LifecycleAction, LifecycleConfiguration, LifecycleReport, LifecycleRule, due, parse_date,
};
use crate::types::meta::{NULL_VERSION, ObjectMeta, to_millis};
use crate::types::storage_class::StorageClass;
use crate::types::versioning::VersionEntry;

impl Bucket {
    /// The bucket's lifecycle configuration, if any.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub async fn lifecycle(&self) -> Result<Option<LifecycleConfiguration>> {
        self.authorize(Check::bucket(Action::GET_LIFECYCLE_CONFIGURATION))
            .await?;
        Ok(self
            .store
            .backend
            .bucket_config(&self.name)
            .await?
            .lifecycle
            .clone())
    }

    /// Sets (or with `None` removes) the bucket's lifecycle rules, checked as S3 checks them.
    ///
    /// # Errors
    /// `MalformedXML` naming the rule at fault; `NoSuchBucket`.
    pub async fn set_lifecycle(&self, config: Option<LifecycleConfiguration>) -> Result<()> {
        self.authorize(Check::bucket(Action::PUT_LIFECYCLE_CONFIGURATION))
            .await?;
        if let Some(c) = &config {
            c.validate(&self.name)?;
        }
        self.store
            .backend
            .update_bucket_config(&self.name, &|c| {
                c.lifecycle = config.clone();
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// Runs the bucket's lifecycle rules once, at the store clock's now; reports what it did.
    ///
    /// # Errors
    /// `NoSuchBucket`, backend failures.
    pub async fn run_lifecycle(&self) -> Result<LifecycleReport> {
        self.authorize_owner().await?;
        let mut report = LifecycleReport::default();
        let config = self.store.backend.bucket_config(&self.name).await?;
        let Some(lc) = &config.lifecycle else {
            return Ok(report);
        };
        let rules: Vec<&LifecycleRule> = lc.rules.iter().filter(|r| r.enabled()).collect();
        if rules.is_empty() {
            return Ok(report);
        }
        let now = self.store.clock.now();
        let all = self.list_all_versions("").await?;
        let mut start = 0;
        while start < all.len() {
            let key = &all[start].meta.key;
            let end = all[start..]
                .iter()
                .position(|e| &e.meta.key != key)
                .map_or(all.len(), |n| start + n);
            let group = &all[start..end];
            if group[0].is_latest {
                self.lifecycle_key(group, &rules, config.versioning, now, &mut report)
                    .await?;
            }
            start = end;
        }
        self.lifecycle_uploads(&rules, now, &mut report).await?;
        Ok(report)
    }

    async fn lifecycle_key(
        &self,
        group: &[VersionEntry],
        rules: &[&LifecycleRule],
        versioning: Versioning,
        now: SystemTime,
        report: &mut LifecycleReport,
    ) -> Result<()> {
        let bucket = self.name.to_string();
        let current = &group[0].meta;
        let key = current.key.clone();
        if current.is_delete_marker {
            let cleanup = rules.iter().any(|r| {
                r.matches(current)
                    && r.expiration
                        .as_ref()
                        .is_some_and(|e| e.expired_object_delete_marker == Some(true))
            });
            if cleanup && group.len() == 1 {
                self.store
                    .backend
                    .delete_version(&self.name, &key, &current.version_id, &|_, _| Ok(()))
                    .await?;
                report.actions.push(LifecycleAction::DeleteMarkerRemoved {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    version_id: current.version_id.clone(),
                });
            }
        } else {
            let expired = rules
                .iter()
                .filter(|r| r.matches(current))
                .filter_map(|r| r.expiration_due(current.last_modified))
                .any(|d| d <= now);
            if expired {
                self.expire_current(current, versioning, now, report)
                    .await?;
            } else {
                let target = rules
                    .iter()
                    .filter(|r| r.matches(current))
                    .flat_map(|r| r.transitions.iter())
                    .filter(|t| {
                        let at = match (t.days, &t.date) {
                            (Some(d), _) => Some(due(current.last_modified, d)),
                            (None, Some(date)) => parse_date("", date).ok(),
                            _ => None,
                        };
                        at.is_some_and(|a| a <= now)
                    })
                    .map(|t| t.storage_class)
                    .max();
                if let Some(to) = target.filter(|to| *to > current.storage_class) {
                    self.transition(current, to, false, report).await?;
                }
            }
        }
        // Noncurrent versions: the one at index i became noncurrent when the one at i - 1 was written.
        for (i, entry) in group.iter().enumerate().skip(1) {
            let v = &entry.meta;
            let since = group[i - 1].meta.last_modified;
            let newer = (i - 1) as u32; // noncurrent versions newer than this one
            let matching: Vec<&&LifecycleRule> = rules.iter().filter(|r| r.matches(v)).collect();
            let expire = matching.iter().any(|r| {
                r.noncurrent_version_expiration.as_ref().is_some_and(|n| {
                    n.noncurrent_days.is_some_and(|d| due(since, d) <= now)
                        && n.newer_noncurrent_versions.is_none_or(|k| newer >= k)
                })
            });
            if expire {
                let check = |_: Option<&ObjectMeta>, t: Option<&ObjectMeta>| {
                    check_removable_now(&self.name, t, now)
                };
                match self
                    .store
                    .backend
                    .delete_version(&self.name, &key, &v.version_id, &check)
                    .await
                {
                    Ok(_) => report.actions.push(LifecycleAction::NoncurrentExpired {
                        bucket: bucket.clone(),
                        key: key.clone(),
                        version_id: v.version_id.clone(),
                    }),
                    Err(e @ Error::AccessDenied { .. }) => report.skipped.push((
                        bucket.clone(),
                        key.clone(),
                        v.version_id.clone(),
                        e.to_string(),
                    )),
                    Err(e) => return Err(e),
                }
                continue;
            }
            if v.is_delete_marker {
                continue;
            }
            let target = matching
                .iter()
                .flat_map(|r| r.noncurrent_version_transitions.iter())
                .filter(|t| {
                    t.noncurrent_days.is_some_and(|d| due(since, d) <= now)
                        && t.newer_noncurrent_versions.is_none_or(|k| newer >= k)
                })
                .map(|t| t.storage_class)
                .max();
            if let Some(to) = target.filter(|to| *to > v.storage_class) {
                self.transition(v, to, true, report).await?;
            }
        }
        Ok(())
    }

    async fn expire_current(
        &self,
        current: &Arc<ObjectMeta>,
        versioning: Versioning,
        now: SystemTime,
        report: &mut LifecycleReport,
    ) -> Result<()> {
        let bucket = &*self.name;
        let key = &current.key;
        let check =
            |_: Option<&ObjectMeta>, t: Option<&ObjectMeta>| check_removable_now(bucket, t, now);
        let outcome = if versioning == Versioning::Unversioned {
            self.store
                .backend
                .delete_version(bucket, key, NULL_VERSION, &check)
                .await
                .map(|_| ())
        } else {
            let mut marker = ObjectMeta::new(key, 0, ETag::of(b""), to_millis(now));
            marker.is_delete_marker = true;
            self.prepare_version(&mut marker).await?;
            // Only if the version that expired is still the current one.
            let vid = current.version_id.clone();
            let still = move |c: Option<&ObjectMeta>, t: Option<&ObjectMeta>| {
                if c.is_none_or(|c| c.version_id != vid) {
                    return Err(Error::no_such_key(bucket, key));
                }
                check_removable_now(bucket, t, now)
            };
            self.store
                .backend
                .put(bucket, marker, Bytes::new(), &still)
                .await
                .map(|_| ())
        };
        match outcome {
            Ok(()) => report.actions.push(LifecycleAction::Expired {
                bucket: bucket.to_string(),
                key: key.clone(),
                version_id: current.version_id.clone(),
            }),
            Err(e @ Error::AccessDenied { .. }) => report.skipped.push((
                bucket.to_string(),
                key.clone(),
                current.version_id.clone(),
                e.to_string(),
            )),
            Err(Error::NoSuchKey { .. }) => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    async fn transition(
        &self,
        v: &ObjectMeta,
        to: StorageClass,
        noncurrent: bool,
        report: &mut LifecycleReport,
    ) -> Result<()> {
        let from = v.storage_class;
        let updated = self
            .store
            .backend
            .update_version(&self.name, &v.key, Some(&v.version_id), &|m| {
                m.storage_class = to;
                m.restore = None;
                Ok(())
            })
            .await;
        match updated {
            Ok(_) => {
                report.actions.push(LifecycleAction::Transitioned {
                    bucket: self.name.to_string(),
                    key: v.key.clone(),
                    version_id: v.version_id.clone(),
                    from,
                    to,
                    noncurrent,
                });
                Ok(())
            }
            // Removed meanwhile: nothing to move.
            Err(Error::NoSuchKey { .. } | Error::NoSuchVersion { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn lifecycle_uploads(
        &self,
        rules: &[&LifecycleRule],
        now: SystemTime,
        report: &mut LifecycleReport,
    ) -> Result<()> {
        let uploads = self.store.backend.list_uploads(&self.name).await?;
        let mut due_uploads: BTreeMap<(String, String), ()> = BTreeMap::new();
        for u in uploads {
            let abort = rules.iter().any(|r| {
                u.template.key.starts_with(r.prefix())
                    && r.abort_incomplete_multipart_upload
                        .as_ref()
                        .is_some_and(|a| due(u.initiated, a.days_after_initiation) <= now)
            });
            if abort {
                due_uploads.insert((u.template.key.clone(), u.upload_id.clone()), ());
            }
        }
        for (key, upload_id) in due_uploads.into_keys() {
            match self
                .store
                .backend
                .abort_upload(&self.name, &upload_id)
                .await
            {
                Ok(()) => report.actions.push(LifecycleAction::UploadAborted {
                    bucket: self.name.to_string(),
                    key,
                    upload_id,
                }),
                Err(Error::NoSuchUpload { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
