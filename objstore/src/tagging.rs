//! Object and bucket tags, with S3's limits: 10 tags per object and 50 per bucket; keys of 1 to 128
//! Unicode characters and values of up to 256; letters, digits, spaces and `+ - = . _ : / @`; no key
//! starting with `aws:`.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// The most tags on one object.
pub const MAX_OBJECT_TAGS: usize = 10;
/// The most tags on one bucket.
pub const MAX_BUCKET_TAGS: usize = 50;
/// The longest tag key, in Unicode characters.
pub const MAX_TAG_KEY_LEN: usize = 128;
/// The longest tag value, in Unicode characters.
pub const MAX_TAG_VALUE_LEN: usize = 256;

fn allowed(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "+-=._:/@".contains(c)
}

/// Checks a tag set against S3's rules; `target` names what is tagged, for the error.
pub(crate) fn validate_tags(
    bucket: &str,
    target: &str,
    tags: &BTreeMap<String, String>,
    max: usize,
) -> Result<()> {
    let fail = |reason: String| {
        Err(Error::InvalidTag {
            bucket: bucket.to_string(),
            target: target.to_string(),
            reason,
        })
    };
    if tags.len() > max {
        return fail(format!("{} tags, over the limit of {max}", tags.len()));
    }
    for (k, v) in tags {
        let klen = k.chars().count();
        if klen == 0 || klen > MAX_TAG_KEY_LEN {
            return fail(format!(
                "tag key {k:?} is {klen} characters; keys must have 1 to {MAX_TAG_KEY_LEN}"
            ));
        }
        let vlen = v.chars().count();
        if vlen > MAX_TAG_VALUE_LEN {
            return fail(format!(
                "value of tag {k:?} is {vlen} characters, over the limit of {MAX_TAG_VALUE_LEN}"
            ));
        }
        if k.starts_with("aws:") {
            return fail(format!("tag key {k:?} uses the reserved prefix aws:"));
        }
        if let Some(c) = k.chars().chain(v.chars()).find(|c| !allowed(*c)) {
            return fail(format!(
                "tag {k:?} contains {c:?}, which S3 does not allow in tags"
            ));
        }
    }
    Ok(())
}

impl crate::Bucket {
    /// The tags of the newest version of `key`, or of one version (S3's GetObjectTagging).
    ///
    /// # Errors
    /// `NoSuchKey` (also when the newest version is a delete marker), `NoSuchVersion`, `MethodNotAllowed`
    /// for a delete marker's id.
    pub async fn object_tags(
        &self,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<BTreeMap<String, String>> {
        crate::names::validate_key(&self.name, key)?;
        let version = self.version_arg(key, version_id)?;
        let meta = self.store.backend.head(&self.name, key, version).await?;
        if meta.is_delete_marker {
            return Err(crate::bucket::marker_error(
                &self.name,
                &meta,
                version.is_some(),
                "GET",
            ));
        }
        Ok(meta.tags.clone())
    }

    /// Replaces the tags of the newest version of `key`, or of one version (S3's PutObjectTagging); an
    /// empty set removes them (S3's DeleteObjectTagging).
    ///
    /// # Errors
    /// `InvalidTag` naming the rule broken; as [`Bucket::object_tags`](crate::Bucket::object_tags) for the version.
    pub async fn set_object_tags(
        &self,
        key: &str,
        version_id: Option<&str>,
        tags: BTreeMap<String, String>,
    ) -> Result<()> {
        crate::names::validate_key(&self.name, key)?;
        let version = self.version_arg(key, version_id)?;
        validate_tags(
            &self.name,
            &format!("object {key:?}"),
            &tags,
            MAX_OBJECT_TAGS,
        )?;
        let bucket = &*self.name;
        let by_id = version.is_some();
        self.store
            .backend
            .update_version(bucket, key, version, &|m| {
                if m.is_delete_marker {
                    return Err(crate::bucket::marker_error(bucket, m, by_id, "PUT"));
                }
                m.tags = tags.clone();
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// The bucket's tags (S3's GetBucketTagging; empty when none are set).
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub async fn bucket_tags(&self) -> Result<BTreeMap<String, String>> {
        Ok(self
            .store
            .backend
            .bucket_config(&self.name)
            .await?
            .tags
            .clone())
    }

    /// Replaces the bucket's tags (S3's PutBucketTagging; empty removes them).
    ///
    /// # Errors
    /// `InvalidTag` naming the rule broken (at most 50 tags), `NoSuchBucket`.
    pub async fn set_bucket_tags(&self, tags: BTreeMap<String, String>) -> Result<()> {
        validate_tags(&self.name, "bucket", &tags, MAX_BUCKET_TAGS)?;
        self.store
            .backend
            .update_bucket_config(&self.name, &|c| {
                c.tags = tags.clone();
                Ok(())
            })
            .await
            .map(|_| ())
    }
}
