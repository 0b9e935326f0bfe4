//! Which versions a rule applies to, and when its actions fall due (S3 counts in midnights UTC).

use std::time::{Duration, SystemTime};

use super::{LifecycleRule, RuleStatus, Tag};
use crate::error::{Error, Result};
use crate::types::meta::ObjectMeta;

const DAY: u64 = 86_400;

/// A rule's date: ISO 8601 at midnight UTC.
pub(crate) fn parse_date(bucket: &str, s: &str) -> Result<SystemTime> {
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

impl LifecycleRule {
    /// Whether the rule runs.
    pub(crate) fn enabled(&self) -> bool {
        self.status == RuleStatus::Enabled
    }

    /// The key prefix the rule applies to (of its filter, or its older top-level `Prefix`).
    pub(crate) fn prefix(&self) -> &str {
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
    pub(crate) fn matches(&self, m: &ObjectMeta) -> bool {
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
    pub(crate) fn expiration_due(&self, t: SystemTime) -> Option<SystemTime> {
        let e = self.expiration.as_ref()?;
        match (e.days, &e.date) {
            (Some(d), _) => Some(due(t, d)),
            (None, Some(date)) => parse_date("", date).ok(),
            _ => None,
        }
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
}
