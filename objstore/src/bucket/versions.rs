//! Versioning on a bucket: its state (S3's PutBucketVersioning), ListObjectVersions and DeleteObjects.
//!
//! A bucket starts unversioned (every write replaces the `null` version). Enabling versioning makes every
//! write a new version with a fresh id and every delete without a version id a delete marker; suspending it
//! makes writes and deletes replace the `null` version again while keeping the others. A get or head of a
//! key whose newest version is a delete marker answers `NoSuchKey` with the marker flagged
//! ([`Error::delete_marker`]); deleting the marker by its version id brings the version below it back.

use super::Check;
use crate::types::access::Action;
use futures::StreamExt;

use super::Bucket;
use crate::backend::VersionQuery;
use crate::error::{Error, Result};
use crate::limits::{MAX_DELETE_KEYS, MAX_VERSION_KEYS};
use crate::types::config::Versioning;
use crate::types::list::{common_prefix, successor};
use crate::types::options::DeleteOptions;
use crate::types::versioning::{
    DeleteError, DeleteObjectsOptions, DeleteObjectsOutput, DeletedObject, ListVersionsOptions,
    ListVersionsPage, ObjectIdentifier, VersionEntry,
};

/// How many deletes of one [`Bucket::delete_objects`] call run at a time.
const DELETE_CONCURRENCY: usize = 16;

impl Bucket {
    /// Deletes up to 1000 keys or versions (S3's DeleteObjects); each entry succeeds or fails on its own,
    /// as [`Bucket::delete_opts`] would with its version id, and up to 16 run at a time.
    ///
    /// ```
    /// use objstore::{DeleteObjectsOptions, ObjectIdentifier, Versioning};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> objstore::Result<()> {
    /// let store = objstore::Store::memory();
    /// let bucket = store.create_bucket("docs").await?;
    /// bucket.set_versioning(Versioning::Enabled).await?;
    /// let v1 = bucket.put("a", "one").await?;
    /// bucket.put("a", "two").await?;
    /// let out = bucket
    ///     .delete_objects(
    ///         [ObjectIdentifier::version("a", v1.version_id.as_str()), ObjectIdentifier::new("a")],
    ///         DeleteObjectsOptions::default(),
    ///     )
    ///     .await?;
    /// assert!(!out.deleted[0].delete_marker); // version one is gone for good
    /// assert!(out.deleted[1].delete_marker); // "a" is hidden under a new delete marker
    /// assert_eq!(bucket.list_all_versions("").await?.len(), 2); // version two and the marker
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `MalformedXML` ([`Error::TooManyKeys`]) for more than 1000 entries (nothing is deleted),
    /// `NoSuchBucket`. Per entry, in [`DeleteObjectsOutput::errors`]: those of [`Bucket::delete_opts`].
    pub async fn delete_objects<I>(
        &self,
        objects: I,
        opts: DeleteObjectsOptions,
    ) -> Result<DeleteObjectsOutput>
    where
        I: IntoIterator,
        I::Item: Into<ObjectIdentifier>,
    {
        let objects: Vec<ObjectIdentifier> = objects.into_iter().map(Into::into).collect();
        if objects.len() > MAX_DELETE_KEYS {
            return Err(Error::TooManyKeys {
                bucket: self.name().to_string(),
                count: objects.len(),
                max: MAX_DELETE_KEYS,
            });
        }
        self.store.backend.head_bucket(self.name()).await?;
        // Each entry is checked on its own (s3:DeleteObject or s3:DeleteObjectVersion), as S3 does: a
        // denied entry is an AccessDenied in the errors, the others go ahead.
        let results: Vec<_> = futures::stream::iter(objects)
            .map(|o| async move {
                let opts = DeleteOptions {
                    version_id: o.version_id.clone(),
                    bypass_governance: opts.bypass_governance,
                    ..Default::default()
                };
                let r = self.delete_opts(&o.key, opts).await;
                (o, r)
            })
            .buffered(DELETE_CONCURRENCY)
            .collect()
            .await;
        let mut out = DeleteObjectsOutput::default();
        for (o, r) in results {
            let removed = match r {
                Ok(removed) => removed,
                Err(error) => {
                    out.errors.push(DeleteError {
                        key: o.key,
                        version_id: o.version_id,
                        error,
                    });
                    continue;
                }
            };
            if opts.quiet {
                continue;
            }
            let marker = removed.filter(|m| m.is_delete_marker);
            out.deleted.push(DeletedObject {
                key: o.key,
                delete_marker: marker.is_some(),
                delete_marker_version_id: marker.map(|m| m.version_id.clone()),
                version_id: o.version_id,
            });
        }
        Ok(out)
    }

    /// The bucket's versioning state.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub async fn versioning(&self) -> Result<Versioning> {
        self.authorize(Check::bucket(Action::GET_BUCKET_VERSIONING))
            .await?;
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
        self.authorize(Check::bucket(Action::PUT_BUCKET_VERSIONING))
            .await?;
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
        self.authorize(Check {
            prefix: Some(&opts.prefix),
            delimiter: opts.delimiter.as_deref(),
            max_keys: opts.max_keys.map(|n| n as u64),
            ..Check::bucket(Action::LIST_BUCKET_VERSIONS)
        })
        .await?;
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
        let prefix = opts.prefix.as_str();
        let delimiter = opts.delimiter.as_deref().filter(|d| !d.is_empty());
        let mut after_key = opts.key_marker.clone();
        let mut after_version = opts.version_id_marker.clone();
        let mut start_at: Option<String> = None;
        // A key marker that is a common prefix (a page ended on it) resumes past every key under it.
        if let (Some(k), None) = (&after_key, &after_version) {
            if k.starts_with(prefix) && common_prefix(k, prefix, delimiter) == Some(k.as_str()) {
                match successor(k) {
                    Some(next) => start_at = Some(next),
                    None => {
                        self.store.backend.head_bucket(&self.name).await?;
                        return Ok(page);
                    }
                }
            }
        }
        let mut count = 0;
        'pages: loop {
            let limit = max - count + 1;
            let batch = self
                .store
                .backend
                .list_versions(
                    &self.name,
                    VersionQuery {
                        prefix,
                        after_key: after_key.as_deref(),
                        after_version: after_version.as_deref(),
                        start_at: start_at.as_deref(),
                        limit,
                    },
                )
                .await?;
            let exhausted = batch.len() < limit;
            let mut skipping: Option<String> = None;
            for entry in batch {
                let key = entry.meta.key.as_str();
                if skipping.as_deref().is_some_and(|cp| key.starts_with(cp)) {
                    continue;
                }
                if count == max {
                    page.is_truncated = true;
                    break 'pages;
                }
                count += 1;
                if let Some(cp) = common_prefix(key, prefix, delimiter) {
                    let cp = cp.to_string();
                    page.common_prefixes.push(cp.clone());
                    page.next_key_marker = Some(cp.clone());
                    page.next_version_id_marker = None;
                    // Go on at the first key past the prefix.
                    let Some(next) = successor(&cp) else {
                        break 'pages;
                    };
                    (after_key, after_version, start_at) = (None, None, Some(next));
                    skipping = Some(cp);
                } else {
                    page.next_key_marker = Some(key.to_string());
                    page.next_version_id_marker = Some(entry.meta.version_id.clone());
                    after_key.clone_from(&page.next_key_marker);
                    after_version.clone_from(&page.next_version_id_marker);
                    start_at = None;
                    page.versions.push(entry);
                }
            }
            if exhausted {
                break;
            }
        }
        if !page.is_truncated {
            page.next_key_marker = None;
            page.next_version_id_marker = None;
        }
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
