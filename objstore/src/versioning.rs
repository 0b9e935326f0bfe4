//! Versioning: the bucket's state, and ListObjectVersions.
//!
//! A bucket starts unversioned (every write replaces the `null` version). Enabling versioning makes every
//! write a new version with a fresh id and every delete without a version id a delete marker; suspending it
//! makes writes and deletes replace the `null` version again while keeping the others. A get or head of a
//! key whose newest version is a delete marker answers `NoSuchKey` with the marker flagged
//! ([`Error::delete_marker`]); deleting the marker by its version id brings the version below it back.

use crate::backend::{VersionEntry, VersionQuery};
use crate::bucket::Bucket;
use crate::config::Versioning;
use crate::error::{Error, Result};

/// The most versions one ListObjectVersions page returns (and the default).
pub const MAX_VERSION_KEYS: usize = 1000;

/// The request of a ListObjectVersions call. The default lists every version, 1000 a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListVersionsOptions {
    /// Only keys that start with this.
    pub prefix: String,
    /// Start after this key (S3's `key-marker`).
    pub key_marker: Option<String>,
    /// With `key_marker`: start after this version of that key (S3's `version-id-marker`).
    pub version_id_marker: Option<String>,
    /// Versions per page, at most 1000.
    pub max_keys: Option<usize>,
}

/// One page of ListObjectVersions: versions and delete markers, keys in order, newest first per key.
#[derive(Debug, Clone, Default)]
pub struct ListVersionsPage {
    /// The versions (delete markers have `meta.is_delete_marker`).
    pub versions: Vec<VersionEntry>,
    /// Whether more follow.
    pub is_truncated: bool,
    /// Pass as `key_marker` for the next page.
    pub next_key_marker: Option<String>,
    /// Pass as `version_id_marker` for the next page.
    pub next_version_id_marker: Option<String>,
}

impl Bucket {
    /// The bucket's versioning state.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub async fn versioning(&self) -> Result<Versioning> {
        Ok(self
            .store
            .backend
            .bucket_config(&self.name)
            .await?
            .versioning)
    }

    /// Enables or suspends versioning (S3's PutBucketVersioning).
    ///
    /// # Errors
    /// `NoSuchBucket`; `InvalidArgument` for [`Versioning::Unversioned`] (a bucket never goes back);
    /// `InvalidBucketState` for suspending a bucket with object lock.
    pub async fn set_versioning(&self, state: Versioning) -> Result<()> {
        let bucket = &*self.name;
        if state == Versioning::Unversioned {
            return Err(Error::InvalidArgument {
                bucket: bucket.to_string(),
                argument: "VersioningConfiguration.Status",
                message: "versioning can only be Enabled or Suspended".into(),
            });
        }
        self.store
            .backend
            .update_bucket_config(bucket, &|c| {
                if c.object_lock.is_some() && state == Versioning::Suspended {
                    return Err(Error::InvalidBucketState {
                        bucket: bucket.to_string(),
                        reason: "versioning cannot be suspended on a bucket with object lock enabled",
                    });
                }
                c.versioning = state;
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// One page of ListObjectVersions.
    ///
    /// # Errors
    /// `NoSuchBucket`; `InvalidArgument` for a version id marker without a key marker or a malformed one.
    pub async fn list_versions(&self, opts: &ListVersionsOptions) -> Result<ListVersionsPage> {
        let max = opts
            .max_keys
            .unwrap_or(MAX_VERSION_KEYS)
            .min(MAX_VERSION_KEYS);
        if opts.version_id_marker.is_some() && opts.key_marker.is_none() {
            return Err(Error::InvalidArgument {
                bucket: self.name.to_string(),
                argument: "version-id-marker",
                message: "a version-id-marker cannot be specified without a key-marker".into(),
            });
        }
        let key = opts.key_marker.as_deref().unwrap_or_default();
        self.version_arg(key, opts.version_id_marker.as_deref())?;
        let mut page = ListVersionsPage::default();
        if max == 0 {
            self.store.backend.head_bucket(&self.name).await?;
            return Ok(page);
        }
        let mut versions = self
            .store
            .backend
            .list_versions(
                &self.name,
                VersionQuery {
                    prefix: &opts.prefix,
                    after_key: opts.key_marker.as_deref(),
                    after_version: opts.version_id_marker.as_deref(),
                    limit: max + 1,
                },
            )
            .await?;
        if versions.len() > max {
            versions.truncate(max);
            page.is_truncated = true;
            if let Some(last) = versions.last() {
                page.next_key_marker = Some(last.meta.key.clone());
                page.next_version_id_marker = Some(last.meta.version_id.clone());
            }
        }
        page.versions = versions;
        Ok(page)
    }

    /// Every version under `prefix`, following the markers to the end.
    ///
    /// # Errors
    /// As [`Bucket::list_versions`].
    pub async fn list_all_versions(&self, prefix: &str) -> Result<Vec<VersionEntry>> {
        let mut opts = ListVersionsOptions {
            prefix: prefix.to_string(),
            ..Default::default()
        };
        let mut all = Vec::new();
        loop {
            let page = self.list_versions(&opts).await?;
            all.extend(page.versions);
            if !page.is_truncated {
                return Ok(all);
            }
            opts.key_marker = page.next_key_marker;
            opts.version_id_marker = page.next_version_id_marker;
        }
    }
}
