//! Conditional requests: `If-Match`, `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`.
//!
//! Evaluated in RFC 9110's order, which S3 follows: `If-Match` (412), else `If-Unmodified-Since` (412);
//! then `If-None-Match` (304 on reads, 412 on writes), else `If-Modified-Since` (304 on reads). Dates compare
//! at the one-second precision of HTTP dates.

use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::types::meta::{ObjectMeta, to_secs};

/// Preconditions on a read or a write. The default has none.
///
/// ```
/// let create_only = objstore::Conditions::default().if_none_match("*");
/// assert_eq!(create_only.if_none_match.as_deref(), Some("*"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    /// `If-Match`: one ETag, a comma-separated list, or `*` (any existing object).
    pub if_match: Option<String>,
    /// `If-None-Match`: one ETag, a list, or `*` (on a put: create only if the key is free).
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<SystemTime>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<SystemTime>,
}

impl Conditions {
    /// Sets `If-Match`.
    #[must_use]
    pub fn if_match(mut self, etag: impl Into<String>) -> Self {
        self.if_match = Some(etag.into());
        self
    }

    /// Sets `If-None-Match`.
    #[must_use]
    pub fn if_none_match(mut self, etag: impl Into<String>) -> Self {
        self.if_none_match = Some(etag.into());
        self
    }

    /// Sets `If-Modified-Since`.
    #[must_use]
    pub fn if_modified_since(mut self, t: SystemTime) -> Self {
        self.if_modified_since = Some(t);
        self
    }

    /// Sets `If-Unmodified-Since`.
    #[must_use]
    pub fn if_unmodified_since(mut self, t: SystemTime) -> Self {
        self.if_unmodified_since = Some(t);
        self
    }

    /// Whether any condition is set.
    pub fn is_empty(&self) -> bool {
        self.if_match.is_none()
            && self.if_none_match.is_none()
            && self.if_modified_since.is_none()
            && self.if_unmodified_since.is_none()
    }

    /// Checks the conditions of a read (get, head, a copy's source) against the object.
    pub(crate) fn check_read(&self, bucket: &str, meta: &ObjectMeta) -> Result<()> {
        self.check_strong(bucket, &meta.key, Some(meta))?;
        let not_modified = |condition| Error::NotModified {
            bucket: bucket.to_string(),
            key: meta.key.clone(),
            condition,
            etag: meta.etag.as_str().to_string(),
            last_modified: meta.last_modified,
        };
        if let Some(inm) = &self.if_none_match {
            if list_matches(inm, meta) {
                return Err(not_modified("If-None-Match"));
            }
        } else if let Some(since) = self.if_modified_since {
            if to_secs(meta.last_modified) <= to_secs(since) {
                return Err(not_modified("If-Modified-Since"));
            }
        }
        Ok(())
    }

    /// Checks the conditions of a write against the object now at the key (`None` if the key is free).
    ///
    /// `If-Match` on a free key is S3's 404 `NoSuchKey`; `If-None-Match` that matches (including `*` on an
    /// existing key) is 412; `If-Modified-Since` that does not hold is 412, as RFC 9110 answers non-reads.
    pub(crate) fn check_write(
        &self,
        bucket: &str,
        key: &str,
        current: Option<&ObjectMeta>,
    ) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        if self.if_match.is_some() && current.is_none() {
            return Err(Error::no_such_key(bucket, key));
        }
        self.check_strong(bucket, key, current)?;
        let failed = |condition| Error::PreconditionFailed {
            bucket: bucket.to_string(),
            key: key.to_string(),
            condition,
        };
        if let Some(inm) = &self.if_none_match {
            if current.is_some_and(|m| list_matches(inm, m)) {
                return Err(failed("If-None-Match"));
            }
        } else if let (Some(since), Some(m)) = (self.if_modified_since, current) {
            if to_secs(m.last_modified) <= to_secs(since) {
                return Err(failed("If-Modified-Since"));
            }
        }
        Ok(())
    }

    /// `If-Match`, else `If-Unmodified-Since`: 412 when they fail.
    fn check_strong(&self, bucket: &str, key: &str, current: Option<&ObjectMeta>) -> Result<()> {
        let failed = |condition| Error::PreconditionFailed {
            bucket: bucket.to_string(),
            key: key.to_string(),
            condition,
        };
        if let Some(im) = &self.if_match {
            if !current.is_some_and(|m| list_matches(im, m)) {
                return Err(failed("If-Match"));
            }
        } else if let (Some(since), Some(m)) = (self.if_unmodified_since, current) {
            if to_secs(m.last_modified) > to_secs(since) {
                return Err(failed("If-Unmodified-Since"));
            }
        }
        Ok(())
    }
}

fn list_matches(list: &str, meta: &ObjectMeta) -> bool {
    list.split(',').any(|tag| {
        let tag = tag.trim();
        tag == "*" || meta.etag.matches(tag)
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::types::etag::ETag;

    fn meta(at: u64) -> ObjectMeta {
        ObjectMeta::new(
            "k",
            1,
            ETag::of(b"x"),
            SystemTime::UNIX_EPOCH + Duration::from_millis(at),
        )
    }

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn read_conditions_in_rfc_order() {
        let m = meta(100_500); // 100.5 s
        let tag = m.etag.as_str().to_string();
        let code = |c: Conditions| c.check_read("b", &m).err().map(|e| e.code());
        assert_eq!(code(Conditions::default()), None);
        assert_eq!(code(Conditions::default().if_match(&tag)), None);
        assert_eq!(code(Conditions::default().if_match("\"other\", *")), None);
        assert_eq!(
            code(Conditions::default().if_match("\"other\"")),
            Some("PreconditionFailed")
        );
        assert_eq!(
            code(Conditions::default().if_none_match(&tag)),
            Some("NotModified")
        );
        assert_eq!(code(Conditions::default().if_none_match("\"other\"")), None);
        // Dates at second precision: modified at 100.5 s is "not modified since" 100 s.
        assert_eq!(
            code(Conditions::default().if_modified_since(t(100))),
            Some("NotModified")
        );
        assert_eq!(code(Conditions::default().if_modified_since(t(99))), None);
        assert_eq!(
            code(Conditions::default().if_unmodified_since(t(100))),
            None
        );
        assert_eq!(
            code(Conditions::default().if_unmodified_since(t(99))),
            Some("PreconditionFailed")
        );
        // If-Match true wins over If-Unmodified-Since false (S3 returns 200).
        assert_eq!(
            code(
                Conditions::default()
                    .if_match(&tag)
                    .if_unmodified_since(t(99))
            ),
            None
        );
        // If-None-Match false (no match) wins over If-Modified-Since false: 200.
        assert_eq!(
            code(
                Conditions::default()
                    .if_none_match("\"o\"")
                    .if_modified_since(t(200))
            ),
            None
        );
        // If-None-Match true with If-Modified-Since true: 304.
        assert_eq!(
            code(
                Conditions::default()
                    .if_none_match(&tag)
                    .if_modified_since(t(1))
            ),
            Some("NotModified")
        );
    }

    #[test]
    fn write_conditions() {
        let m = meta(100_000);
        let tag = m.etag.as_str().to_string();
        let code = |c: Conditions, cur: Option<&ObjectMeta>| {
            c.check_write("b", "k", cur).err().map(|e| e.code())
        };
        assert_eq!(code(Conditions::default().if_none_match("*"), None), None);
        assert_eq!(
            code(Conditions::default().if_none_match("*"), Some(&m)),
            Some("PreconditionFailed")
        );
        assert_eq!(code(Conditions::default().if_match(&tag), Some(&m)), None);
        assert_eq!(
            code(Conditions::default().if_match("\"x\""), Some(&m)),
            Some("PreconditionFailed")
        );
        assert_eq!(
            code(Conditions::default().if_match(&tag), None),
            Some("NoSuchKey")
        );
        assert_eq!(
            code(Conditions::default().if_unmodified_since(t(50)), Some(&m)),
            Some("PreconditionFailed")
        );
        assert_eq!(
            code(Conditions::default().if_modified_since(t(100)), Some(&m)),
            Some("PreconditionFailed")
        );
        assert_eq!(
            code(Conditions::default().if_modified_since(t(99)), Some(&m)),
            None
        );
        assert_eq!(
            code(Conditions::default().if_modified_since(t(99)), None),
            None
        );
    }
}
