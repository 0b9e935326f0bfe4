//! The store: buckets over a backend, with one clock.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use stratus_clock::Clock;

use crate::backend::Backend;
use crate::backend::fs::{FsBackend, FsOptions};
use crate::backend::memory::MemoryBackend;
use crate::bucket::Bucket;
use crate::error::Result;
use crate::meta::{BucketInfo, to_millis};
use crate::names::validate_bucket_name;
use crate::storage_class::RestoreDelays;

/// S3's limit on the size of one put: 5 GiB.
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// An S3-compatible object store: a set of buckets on one backend. Cheap to clone (handles share state).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> objstore::Result<()> {
/// let store = objstore::Store::memory();
/// let bucket = store.create_bucket("photos").await?;
/// bucket.put("2024/cat.jpg", "meow").await?;
/// assert_eq!(store.list_buckets().await?[0].name, "photos");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<StoreInner>,
}

pub(crate) struct StoreInner {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) clock: Clock,
    pub(crate) max_put_size: u64,
    pub(crate) restore_delays: RestoreDelays,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// A store in memory, on the system clock.
    pub fn memory() -> Store {
        Store::builder().backend(MemoryBackend::new()).build()
    }

    /// A durable store under `root` (created if missing), on the system clock.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend) if the folder cannot be created or read.
    pub fn fs(root: impl AsRef<Path>) -> Result<Store> {
        Ok(Store::builder()
            .backend(FsBackend::open(root, FsOptions::default())?)
            .build())
    }

    /// A builder, to choose the backend, the clock and limits.
    pub fn builder() -> StoreBuilder {
        StoreBuilder::default()
    }

    /// The backend's name.
    pub fn backend_name(&self) -> &'static str {
        self.inner.backend.name()
    }

    /// The store's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Creates a bucket.
    ///
    /// # Errors
    /// `InvalidBucketName` for a name against S3's rules; `BucketAlreadyOwnedByYou` if it exists.
    pub async fn create_bucket(&self, name: &str) -> Result<Bucket> {
        validate_bucket_name(name)?;
        let info = BucketInfo {
            name: name.to_string(),
            created: to_millis(self.inner.clock.now()),
        };
        self.inner.backend.create_bucket(&info).await?;
        Ok(Bucket::new(self.inner.clone(), name))
    }

    /// Deletes an empty bucket.
    ///
    /// # Errors
    /// `NoSuchBucket`; `BucketNotEmpty` while it holds objects.
    pub async fn delete_bucket(&self, name: &str) -> Result<()> {
        validate_bucket_name(name)?;
        self.inner.backend.delete_bucket(name).await
    }

    /// Describes a bucket (S3's HeadBucket).
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub async fn head_bucket(&self, name: &str) -> Result<BucketInfo> {
        validate_bucket_name(name)?;
        self.inner.backend.head_bucket(name).await
    }

    /// All buckets, sorted by name as S3 lists them.
    ///
    /// # Errors
    /// Only backend failures.
    pub async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        let mut all = self.inner.backend.list_buckets().await?;
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// A handle to a bucket by name; operations on it fail with `NoSuchBucket` while it does not exist.
    ///
    /// # Errors
    /// `InvalidBucketName`.
    pub fn bucket(&self, name: &str) -> Result<Bucket> {
        validate_bucket_name(name)?;
        Ok(Bucket::new(self.inner.clone(), name))
    }
}

/// Configures a [`Store`].
#[derive(Default)]
#[must_use]
pub struct StoreBuilder {
    backend: Option<Arc<dyn Backend>>,
    clock: Option<Clock>,
    max_put_size: Option<u64>,
    restore_delays: RestoreDelays,
}

impl StoreBuilder {
    /// The backend (default: memory).
    pub fn backend(mut self, backend: impl Backend) -> Self {
        self.backend = Some(Arc::new(backend));
        self
    }

    /// A shared backend.
    pub fn backend_arc(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The largest single put, in bytes (default and most: S3's 5 GiB).
    pub fn max_put_size(mut self, bytes: u64) -> Self {
        self.max_put_size = Some(bytes.min(MAX_PUT_SIZE));
        self
    }

    /// How long restores from the archive classes take on the store's clock (default: S3's standard
    /// retrieval, 4 hours for GLACIER and 12 for DEEP_ARCHIVE).
    pub fn restore_delays(mut self, delays: RestoreDelays) -> Self {
        self.restore_delays = delays;
        self
    }

    /// The store.
    pub fn build(self) -> Store {
        Store {
            inner: Arc::new(StoreInner {
                backend: self
                    .backend
                    .unwrap_or_else(|| Arc::new(MemoryBackend::new())),
                clock: self.clock.unwrap_or_default(),
                max_put_size: self.max_put_size.unwrap_or(MAX_PUT_SIZE),
                restore_delays: self.restore_delays,
            }),
        }
    }
}
