//! The engine: S3's semantics, once, above the [`Backend`] trait. Every `impl Bucket` lives in this folder,
//! one file per area of S3:
//!
//! - `objects.rs`: put, get, head, delete (and DeleteObjects' one-key-at-a-time base);
//! - `copy.rs`: CopyObject, and the copy-source reader UploadPartCopy shares;
//! - `list.rs`: ListObjectsV2; `versions.rs`: versioning state, ListObjectVersions, DeleteObjects;
//! - `multipart.rs`: multipart uploads; `lock.rs`: object lock and its rules;
//! - `tagging.rs`: object and bucket tags; `restore.rs`: restores from the archive storage classes;
//! - `lifecycle.rs`: one bucket's lifecycle pass;
//! - `digest.rs`: MD5s and checksums, computed off the async threads for large bodies;
//! - `access.rs`: the choke point every operation passes first ([`Bucket::as_identity`], the bucket
//!   policy and Block Public Access calls).
//!
//! This file holds the handle itself and the helpers the areas share: the version-id check, the delete
//! marker refusals and [`Bucket::update_meta`], the one path of every change to a version's metadata.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use stratus_clock::Clock;

use crate::backend::{Backend, valid_version_id};
use crate::error::{Error, Result};
use crate::types::meta::ObjectMeta;
use crate::types::names::validate_key;
use crate::types::storage_class::RestoreDelays;

mod access;
mod copy;
mod digest;
mod lifecycle;
mod list;
mod lock;
mod multipart;
mod objects;
mod restore;
mod tagging;
mod versions;

pub(crate) use self::access::Check;

/// What every handle of one store shares: the backend, the clock and the store's settings.
pub(crate) struct StoreInner {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) clock: Clock,
    pub(crate) max_put_size: u64,
    pub(crate) restore_delays: RestoreDelays,
    /// The region the store answers for (`us-east-1` by default).
    pub(crate) region: String,
    /// The account that owns the store and its buckets.
    pub(crate) account_id: String,
    /// The owner's root user as a caller: what a handle runs as unless told otherwise.
    pub(crate) owner: Arc<crate::Caller>,
    /// Access key id -> (identity, secret): whom a signature names.
    pub(crate) credentials: std::collections::HashMap<String, (crate::Identity, String)>,
}

/// A handle to one bucket of a [`Store`](crate::Store): the object operations of S3. Cheap to clone.
///
/// ```
/// use objstore::{Conditions, GetOptions, ByteRange};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> objstore::Result<()> {
/// let store = objstore::Store::memory();
/// let bucket = store.create_bucket("docs").await?;
/// let meta = bucket.put("a.txt", "hello world").await?;
/// assert_eq!(meta.etag.as_str(), "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");
///
/// let part = bucket
///     .get_opts("a.txt", GetOptions { range: ByteRange::parse("bytes=-5"), ..Default::default() })
///     .await?;
/// assert_eq!(&part.body[..], b"world");
///
/// let unchanged = bucket
///     .get_opts("a.txt", GetOptions { conditions: Conditions::default().if_none_match(meta.etag.as_str()), ..Default::default() })
///     .await
///     .unwrap_err();
/// assert_eq!(unchanged.status(), 304);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Bucket {
    pub(crate) store: Arc<StoreInner>,
    pub(crate) name: Arc<str>,
    /// Whom the handle's operations run as.
    pub(crate) caller: Arc<crate::Caller>,
}

impl fmt::Debug for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bucket({}:{})", self.store.backend.name(), self.name)
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "objstore({}://{})", self.store.backend.name(), self.name)
    }
}

impl Bucket {
    pub(crate) fn new(store: Arc<StoreInner>, name: &str, caller: Arc<crate::Caller>) -> Self {
        Bucket {
            store,
            name: Arc::from(name),
            caller,
        }
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks a version id argument: `None` stays `None`; an id no backend could have issued is
    /// `InvalidArgument`, as S3 answers it.
    pub(crate) fn version_arg<'v>(&self, key: &str, v: Option<&'v str>) -> Result<Option<&'v str>> {
        match v {
            Some(id) if !valid_version_id(id) => Err(Error::InvalidArgument {
                bucket: self.name.to_string(),
                argument: "versionId",
                message: format!("invalid version id {id:?} specified for {key:?}"),
            }),
            other => Ok(other),
        }
    }

    /// The one path of a change to a version's metadata (object lock, tags, restores): validates the key
    /// and the version id, runs `before` (the call's own checks of its arguments, in the order S3 makes
    /// them), then runs `update` on the version (the newest when `version_id` is `None`) under the key's
    /// lock, refusing a delete marker as [`marker_error`] says for `method`. Returns the new metadata.
    pub(crate) async fn update_meta(
        &self,
        key: &str,
        version_id: Option<&str>,
        method: &'static str,
        before: impl Future<Output = Result<()>> + Send,
        update: impl Fn(&mut ObjectMeta) -> Result<()> + Send + Sync,
    ) -> Result<Arc<ObjectMeta>> {
        validate_key(&self.name, key)?;
        let version = self.version_arg(key, version_id)?;
        before.await?;
        let bucket = &*self.name;
        let by_id = version.is_some();
        self.store
            .backend
            .update_version(bucket, key, version, &|m| {
                if m.is_delete_marker {
                    return Err(marker_error(bucket, m, by_id, method));
                }
                update(m)
            })
            .await
    }
}

/// The version as a condition sees it: a delete marker is no object.
pub(crate) fn live(current: Option<&ObjectMeta>) -> Option<&ObjectMeta> {
    current.filter(|m| !m.is_delete_marker)
}

/// The error for reading a delete marker: `NoSuchKey` flagged with the marker, or `MethodNotAllowed` when
/// the marker was asked for by version id.
pub(crate) fn marker_error(
    bucket: &str,
    meta: &ObjectMeta,
    by_id: bool,
    method: &'static str,
) -> Error {
    if by_id {
        Error::MethodNotAllowed {
            bucket: bucket.to_string(),
            key: meta.key.clone(),
            version_id: meta.version_id.clone(),
            method,
        }
    } else {
        Error::NoSuchKey {
            bucket: bucket.to_string(),
            key: meta.key.clone(),
            delete_marker: Some(meta.version_id.clone()),
        }
    }
}

/// Whether a version's bytes can be read at `now`: not a delete marker, and not archived unless restored.
pub(crate) fn readable(
    bucket: &str,
    meta: &ObjectMeta,
    by_id: bool,
    method: &'static str,
    now: std::time::SystemTime,
) -> Result<()> {
    if meta.is_delete_marker {
        return Err(marker_error(bucket, meta, by_id, method));
    }
    if meta.storage_class.is_archived() && !meta.restore.as_ref().is_some_and(|r| r.readable(now)) {
        return Err(Error::InvalidObjectState {
            bucket: bucket.to_string(),
            key: meta.key.clone(),
            version_id: meta.version_id.clone(),
            storage_class: meta.storage_class,
            reason: "the object is archived; restore it before reading it",
        });
    }
    Ok(())
}

/// A fresh id for a version or an upload: 32 hex digits, unique within the process and, with overwhelming
/// probability, across processes (a per-process random key hashes a counter).
pub(crate) fn new_id() -> String {
    use std::hash::BuildHasher;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static STATE: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    let state = STATE.get_or_init(std::collections::hash_map::RandomState::new);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:016x}{:016x}",
        state.hash_one((n, 0u8)),
        state.hash_one((n, 1u8))
    )
}
