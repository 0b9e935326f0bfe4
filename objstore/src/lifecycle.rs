//! Lifecycle rules that run.
//!
//! Rules are S3's, in S3's JSON shape: the document given to `aws s3api put-bucket-lifecycle-configuration`
//! loads as it is ([`LifecycleConfiguration::from_json`]). A pass ([`Bucket::run_lifecycle`],
//! [`Store::run_lifecycle`]) applies every enabled rule at the store clock's now and reports what it did;
//! [`Store::spawn_lifecycle`] runs passes on a schedule of that clock, so a test moves a manual clock by
//! days instead of sleeping.
//!
//! Time as S3 counts it: an action due `Days` after an event (creation, or becoming noncurrent) is due at
//! the first midnight UTC at or after the event plus those days. What a pass does:
//! - current versions: `Expiration` (by days or date) removes the object in an unversioned bucket and adds
//!   a delete marker in a versioned one; otherwise the coldest due `Transition` changes its storage class
//!   (never back to a warmer class);
//! - a delete marker with no other version left is removed when a rule says `ExpiredObjectDeleteMarker`;
//! - noncurrent versions: `NoncurrentVersionExpiration` removes them (keeping the `NewerNoncurrentVersions`
//!   newest), `NoncurrentVersionTransitions` move them;
//! - `AbortIncompleteMultipartUpload` aborts uploads started that many days ago.
//!
//! A version under object lock is never removed; the report lists it as skipped, with the reason.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::backend::VersionEntry;
use crate::bucket::{Bucket, check_removable_now};
use crate::config::Versioning;
use crate::error::{Error, Result};
use crate::etag::ETag;
use crate::meta::{NULL_VERSION, ObjectMeta, to_millis};
use crate::storage_class::StorageClass;
use crate::store::Store;

const DAY: u64 = 86_400;

/// A bucket's lifecycle configuration, as S3's JSON has it (`{"Rules": [...]}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleConfiguration {
    /// The rules (at most 1000).
    pub rules: Vec<LifecycleRule>,
}

/// Whether a rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleStatus {
    /// It runs.
    Enabled,
    /// It is kept but does not run.
    Disabled,
}

/// One lifecycle rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleRule {
    /// The rule's id (at most 255 characters).
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Enabled or disabled.
    pub status: RuleStatus,
    /// Which objects it applies to (none: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<LifecycleFilter>,
    /// The older form of a prefix filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Expiration of current versions, and clean-up of expired delete markers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Expiration>,
    /// Transitions of current versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<Transition>,
    /// Expiration of noncurrent versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_expiration: Option<NoncurrentVersionExpiration>,
    /// Transitions of noncurrent versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub noncurrent_version_transitions: Vec<NoncurrentVersionTransition>,
    /// Abort of incomplete multipart uploads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_incomplete_multipart_upload: Option<AbortIncompleteMultipartUpload>,
}

/// A tag in a filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The tag's key.
    pub key: String,
    /// The tag's value.
    pub value: String,
}

/// Which objects a rule applies to: one of a prefix, a tag, a size bound, or an `And` of several.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleFilter {
    /// Keys starting with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Objects with this tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<Tag>,
    /// All of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub and: Option<FilterAnd>,
    /// Objects larger than this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_size_greater_than: Option<u64>,
    /// Objects smaller than this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_size_less_than: Option<u64>,
}

/// The conjunction of a filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterAnd {
    /// Keys starting with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Objects with all these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// Objects larger than this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_size_greater_than: Option<u64>,
    /// Objects smaller than this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_size_less_than: Option<u64>,
}

/// Expiration of current versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Expiration {
    /// Days after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// A date (ISO 8601, midnight UTC) from which objects expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Remove delete markers that have no version left under them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_object_delete_marker: Option<bool>,
}

/// A transition of current versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Transition {
    /// Days after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// A date (ISO 8601, midnight UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The class to move to.
    pub storage_class: StorageClass,
}

/// Expiration of noncurrent versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NoncurrentVersionExpiration {
    /// Days after a version became noncurrent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_days: Option<u32>,
    /// Keep this many newest noncurrent versions whatever their age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newer_noncurrent_versions: Option<u32>,
}

/// A transition of noncurrent versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NoncurrentVersionTransition {
    /// Days after a version became noncurrent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_days: Option<u32>,
    /// Keep this many newest noncurrent versions where they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newer_noncurrent_versions: Option<u32>,
    /// The class to move to.
    pub storage_class: StorageClass,
}

/// Abort of incomplete multipart uploads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AbortIncompleteMultipartUpload {
    /// Days after the upload was created.
    pub days_after_initiation: u32,
}

/// Something a lifecycle pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleAction {
    /// A current version expired: removed (unversioned bucket) or hidden by a new delete marker.
    Expired {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The version that expired.
        version_id: String,
    },
    /// A version changed storage class.
    Transitioned {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The version.
        version_id: String,
        /// Its class before.
        from: StorageClass,
        /// Its class now.
        to: StorageClass,
        /// Whether it was a noncurrent version.
        noncurrent: bool,
    },
    /// A noncurrent version was removed.
    NoncurrentExpired {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The version removed.
        version_id: String,
    },
    /// A delete marker with no version under it was removed.
    DeleteMarkerRemoved {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The marker's version id.
        version_id: String,
    },
    /// An incomplete multipart upload was aborted.
    UploadAborted {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The upload id.
        upload_id: String,
    },
}

/// What a lifecycle pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LifecycleReport {
    /// The actions, bucket by bucket, keys in order.
    pub actions: Vec<LifecycleAction>,
    /// Versions a rule would have removed but object lock protects: (bucket, key, version id, why).
    pub skipped: Vec<(String, String, String, String)>,
}

impl LifecycleReport {
    /// How many actions match `f`.
    pub fn count(&self, f: impl Fn(&LifecycleAction) -> bool) -> usize {
        self.actions.iter().filter(|a| f(a)).count()
    }
}

fn parse_date(bucket: &str, s: &str) -> Result<SystemTime> {
    let t = chrono::DateTime::parse_from_rfc3339(s).map_err(|e| Error::MalformedConfiguration {
        bucket: bucket.to_string(),
        reason: format!("date {s:?} is not ISO 8601: {e}"),
    })?;
    let t: SystemTime = t.with_timezone(&chrono::Utc).into();
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(-1.0);
    if secs < 0.0 || secs % DAY as f64 != 0.0 {
        return Err(Error::MalformedConfiguration {
            bucket: bucket.to_string(),
            reason: format!("date {s:?} must be midnight UTC"),
        });
    }
    Ok(t)
}

/// The first midnight UTC at or after `t + days`, S3's due time for an action `days` after `t`.
pub(crate) fn due(t: SystemTime, days: u32) -> SystemTime {
    let end = t + Duration::from_secs(u64::from(days) * DAY);
    match end.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => {
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            SystemTime::UNIX_EPOCH + Duration::from_secs(secs.div_ceil(DAY) * DAY)
        }
        Err(_) => end,
    }
}

impl LifecycleConfiguration {
    /// Loads S3's JSON form (what `aws s3api put-bucket-lifecycle-configuration` takes).
    ///
    /// # Errors
    /// `MalformedXML` ([`Error::MalformedConfiguration`]) for JSON that is not a lifecycle configuration.
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::MalformedConfiguration {
            bucket: String::new(),
            reason: e.to_string(),
        })
    }

    /// Checks the rules as S3 does when they are put.
    ///
    /// # Errors
    /// `MalformedXML` naming the rule and what is wrong.
    pub fn validate(&self, bucket: &str) -> Result<()> {
        let bad = |i: usize, r: &LifecycleRule, what: &str| Error::MalformedConfiguration {
            bucket: bucket.to_string(),
            reason: format!(
                "rule {} ({}): {what}",
                i + 1,
                r.id.as_deref().unwrap_or("no ID")
            ),
        };
        if self.rules.len() > 1000 {
            return Err(Error::MalformedConfiguration {
                bucket: bucket.to_string(),
                reason: format!("{} rules, over the limit of 1000", self.rules.len()),
            });
        }
        let mut ids = std::collections::HashSet::new();
        for (i, r) in self.rules.iter().enumerate() {
            if let Some(id) = &r.id {
                if id.chars().count() > 255 {
                    return Err(bad(i, r, "the ID is longer than 255 characters"));
                }
                if !ids.insert(id) {
                    return Err(bad(i, r, "the ID is used by another rule"));
                }
            }
            if r.expiration.is_none()
                && r.transitions.is_empty()
                && r.noncurrent_version_expiration.is_none()
                && r.noncurrent_version_transitions.is_empty()
                && r.abort_incomplete_multipart_upload.is_none()
            {
                return Err(bad(i, r, "a rule needs at least one action"));
            }
            if let Some(f) = &r.filter {
                let set = [
                    f.prefix.is_some(),
                    f.tag.is_some(),
                    f.and.is_some(),
                    f.object_size_greater_than.is_some(),
                    f.object_size_less_than.is_some(),
                ];
                if set.iter().filter(|b| **b).count() > 1 {
                    return Err(bad(
                        i,
                        r,
                        "a Filter holds one condition; use And for several",
                    ));
                }
                if r.prefix.is_some() {
                    return Err(bad(i, r, "Prefix and Filter cannot both be set"));
                }
            }
            if let Some(e) = &r.expiration {
                let set = [
                    e.days.is_some(),
                    e.date.is_some(),
                    e.expired_object_delete_marker.is_some(),
                ];
                if set.iter().filter(|b| **b).count() != 1 {
                    return Err(bad(
                        i,
                        r,
                        "Expiration takes exactly one of Days, Date and ExpiredObjectDeleteMarker",
                    ));
                }
                if e.days == Some(0) {
                    return Err(bad(i, r, "Expiration Days must be a positive integer"));
                }
                if let Some(d) = &e.date {
                    parse_date(bucket, d)?;
                }
            }
            for t in &r.transitions {
                if t.days.is_some() == t.date.is_some() {
                    return Err(bad(i, r, "a Transition takes exactly one of Days and Date"));
                }
                if let Some(d) = &t.date {
                    parse_date(bucket, d)?;
                }
                if t.storage_class == StorageClass::Standard {
                    return Err(bad(i, r, "a Transition cannot go to STANDARD"));
                }
            }
            if let Some(n) = &r.noncurrent_version_expiration {
                if n.noncurrent_days.is_none_or(|d| d == 0) {
                    return Err(bad(i, r, "NoncurrentDays must be a positive integer"));
                }
            }
            for t in &r.noncurrent_version_transitions {
                if t.noncurrent_days.is_none() || t.storage_class == StorageClass::Standard {
                    return Err(bad(
                        i,
                        r,
                        "a NoncurrentVersionTransition needs NoncurrentDays and a class other than STANDARD",
                    ));
                }
            }
            if let Some(a) = &r.abort_incomplete_multipart_upload {
                if a.days_after_initiation == 0 {
                    return Err(bad(i, r, "DaysAfterInitiation must be a positive integer"));
                }
            }
        }
        Ok(())
    }
}

impl LifecycleRule {
    fn enabled(&self) -> bool {
        self.status == RuleStatus::Enabled
    }

    fn prefix(&self) -> &str {
        match &self.filter {
            Some(f) => f
                .prefix
                .as_deref()
                .or(f.and.as_ref().and_then(|a| a.prefix.as_deref()))
                .unwrap_or(""),
            None => self.prefix.as_deref().unwrap_or(""),
        }
    }

    /// Whether the rule applies to a version (delete markers have no tags and no size).
    fn matches(&self, m: &ObjectMeta) -> bool {
        if !m.key.starts_with(self.prefix()) {
            return false;
        }
        let Some(f) = &self.filter else { return true };
        let tag_ok = |t: &Tag| m.tags.get(&t.key) == Some(&t.value);
        let size_ok = |gt: Option<u64>, lt: Option<u64>| {
            if (gt.is_some() || lt.is_some()) && m.is_delete_marker {
                return false;
            }
            gt.is_none_or(|g| m.size > g) && lt.is_none_or(|l| m.size < l)
        };
        if let Some(t) = &f.tag {
            if !tag_ok(t) {
                return false;
            }
        }
        if let Some(a) = &f.and {
            if !a.tags.iter().all(tag_ok)
                || !size_ok(a.object_size_greater_than, a.object_size_less_than)
            {
                return false;
            }
        }
        size_ok(f.object_size_greater_than, f.object_size_less_than)
    }

    /// When the rule's expiration of a current version created at `t` is due.
    fn expiration_due(&self, t: SystemTime) -> Option<SystemTime> {
        let e = self.expiration.as_ref()?;
        match (e.days, &e.date) {
            (Some(d), _) => Some(due(t, d)),
            (None, Some(date)) => parse_date("", date).ok(),
            _ => None,
        }
    }
}

impl Bucket {
    /// The bucket's lifecycle configuration, if any.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub async fn lifecycle(&self) -> Result<Option<LifecycleConfiguration>> {
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

impl Store {
    /// Runs every bucket's lifecycle rules once; one report for all.
    ///
    /// # Errors
    /// Backend failures.
    pub async fn run_lifecycle(&self) -> Result<LifecycleReport> {
        let mut report = LifecycleReport::default();
        for info in self.list_buckets().await? {
            let bucket = self.bucket(&info.name)?;
            match bucket.run_lifecycle().await {
                Ok(r) => {
                    report.actions.extend(r.actions);
                    report.skipped.extend(r.skipped);
                }
                // Deleted while the pass ran.
                Err(Error::NoSuchBucket { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// Runs [`Store::run_lifecycle`] every `every` of the store's clock, in a task on the current tokio
    /// runtime, until the runner is dropped. Each pass's report arrives on [`LifecycleRunner::next_report`].
    pub fn spawn_lifecycle(&self, every: Duration) -> LifecycleRunner {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let store = self.clone();
        let handle = tokio::spawn(async move {
            loop {
                store.clock().sleep(every).await;
                if tx.send(store.run_lifecycle().await).is_err() {
                    return;
                }
            }
        });
        LifecycleRunner {
            handle,
            reports: rx,
        }
    }
}

/// Lifecycle passes on the store's clock (see [`Store::spawn_lifecycle`]); stops when dropped.
#[derive(Debug)]
pub struct LifecycleRunner {
    handle: tokio::task::JoinHandle<()>,
    reports: tokio::sync::mpsc::UnboundedReceiver<Result<LifecycleReport>>,
}

impl LifecycleRunner {
    /// The report of the next pass, when it has run.
    pub async fn next_report(&mut self) -> Option<Result<LifecycleReport>> {
        self.reports.recv().await
    }
}

impl Drop for LifecycleRunner {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_rounds_up_to_midnight_utc() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(10 * DAY + 3600);
        assert_eq!(
            due(t, 30),
            SystemTime::UNIX_EPOCH + Duration::from_secs(41 * DAY)
        );
        let midnight = SystemTime::UNIX_EPOCH + Duration::from_secs(10 * DAY);
        assert_eq!(
            due(midnight, 1),
            SystemTime::UNIX_EPOCH + Duration::from_secs(11 * DAY)
        );
    }

    #[test]
    fn loads_the_json_given_to_aws() {
        let json = r#"{
          "Rules": [
            {
              "ID": "archive-then-expire",
              "Status": "Enabled",
              "Filter": { "Prefix": "logs/" },
              "Transitions": [ { "Days": 30, "StorageClass": "GLACIER" } ],
              "Expiration": { "Days": 365 },
              "NoncurrentVersionExpiration": { "NoncurrentDays": 7, "NewerNoncurrentVersions": 2 },
              "NoncurrentVersionTransitions": [ { "NoncurrentDays": 1, "StorageClass": "STANDARD_IA" } ],
              "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 3 }
            },
            {
              "ID": "tagged",
              "Status": "Disabled",
              "Filter": { "And": { "Prefix": "tmp/", "Tags": [ { "Key": "k", "Value": "v" } ], "ObjectSizeGreaterThan": 10 } },
              "Expiration": { "Date": "2030-01-01T00:00:00Z" }
            },
            { "ID": "markers", "Status": "Enabled", "Filter": {}, "Expiration": { "ExpiredObjectDeleteMarker": true } }
          ]
        }"#;
        let c = LifecycleConfiguration::from_json(json).unwrap();
        c.validate("b").unwrap();
        assert_eq!(c.rules.len(), 3);
        assert_eq!(
            c.rules[0].transitions[0].storage_class,
            StorageClass::Glacier
        );
        assert_eq!(c.rules[0].prefix(), "logs/");
        assert_eq!(c.rules[1].prefix(), "tmp/");
        // Round trip through S3's field names.
        let back = serde_json::to_string(&c).unwrap();
        assert!(back.contains("\"NoncurrentVersionTransitions\"") && back.contains("\"ID\""));
        assert_eq!(LifecycleConfiguration::from_json(&back).unwrap(), c);

        assert_eq!(
            LifecycleConfiguration::from_json("{\"Rules\": 3}")
                .unwrap_err()
                .code(),
            "MalformedXML"
        );
        for bad in [
            r#"{"Rules":[{"Status":"Enabled"}]}"#,
            r#"{"Rules":[{"Status":"Enabled","Expiration":{"Days":0}}]}"#,
            r#"{"Rules":[{"Status":"Enabled","Expiration":{"Days":1,"Date":"2030-01-01T00:00:00Z"}}]}"#,
            r#"{"Rules":[{"Status":"Enabled","Expiration":{"Date":"2030-01-01T10:00:00Z"}}]}"#,
            r#"{"Rules":[{"Status":"Enabled","Transitions":[{"Days":1,"StorageClass":"STANDARD"}]}]}"#,
            r#"{"Rules":[{"Status":"Enabled","Filter":{"Prefix":"a","ObjectSizeLessThan":5},"Expiration":{"Days":1}}]}"#,
            r#"{"Rules":[{"ID":"x","Status":"Enabled","Expiration":{"Days":1}},{"ID":"x","Status":"Enabled","Expiration":{"Days":1}}]}"#,
        ] {
            let c = LifecycleConfiguration::from_json(bad).unwrap();
            assert_eq!(c.validate("b").unwrap_err().code(), "MalformedXML", "{bad}");
        }
    }
}
