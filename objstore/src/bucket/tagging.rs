//! Object tags (S3's Get/Put/DeleteObjectTagging) and bucket tags (Get/PutBucketTagging); S3's rules for
//! a tag set are in `types/tags.rs`.

use super::Check;
use crate::types::access::Action;
use std::collections::BTreeMap;

use super::{Bucket, marker_error};
use crate::error::Result;
use crate::limits::MAX_BUCKET_TAGS;
use crate::types::names::validate_key;
use crate::types::tags::{validate_object_tags, validate_tags};

impl Bucket {
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
        validate_key(&self.name, key)?;
        let version = self.version_arg(key, version_id)?;
        let action = match version {
            Some(_) => Action::GET_OBJECT_VERSION_TAGGING,
            None => Action::GET_OBJECT_TAGGING,
        };
        self.authorize(Check::object(action, key).version(version))
            .await?;
        let meta = self.store.backend.head(&self.name, key, version).await?;
        if meta.is_delete_marker {
            return Err(marker_error(&self.name, &meta, version.is_some(), "GET"));
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
        let action = match version_id {
            Some(_) => Action::PUT_OBJECT_VERSION_TAGGING,
            None => Action::PUT_OBJECT_TAGGING,
        };
        validate_key(&self.name, key)?;
        let version = self.version_arg(key, version_id)?;
        self.authorize(Check {
            request_tags: Some(&tags),
            ..Check::object(action, key).version(version)
        })
        .await?;
        let tags_valid = async { validate_object_tags(&self.name, key, &tags) };
        self.update_meta(key, version_id, "PUT", tags_valid, |m| {
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
        self.authorize(Check::bucket(Action::GET_BUCKET_TAGGING))
            .await?;
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
        self.authorize(Check::bucket(Action::PUT_BUCKET_TAGGING))
            .await?;
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
