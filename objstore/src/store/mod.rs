//! The store: buckets over a backend, with one clock; its builder; lifecycle passes over every bucket
//! (`lifecycle.rs`). The top of the engine: it imports `bucket/` and the backends, nothing imports it but
//! the root's report and interop.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use stratus_clock::Clock;

use crate::backend::Backend;
use crate::backend::fs::{FsBackend, FsOptions};
use crate::backend::memory::MemoryBackend;
use crate::bucket::{Bucket, Check, StoreInner};
use crate::error::{Error, Result};
use crate::limits::MAX_PUT_SIZE;
use crate::sigv4::{Credentials, SignedRequest};
use crate::types::access::{Action, Caller, DEFAULT_ACCOUNT_ID, DenyReason, Identity};
use crate::types::meta::{BucketInfo, to_millis};
use crate::types::names::validate_bucket_name;
use crate::types::storage_class::RestoreDelays;

mod lifecycle;

pub use self::lifecycle::LifecycleRunner;

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
    /// Whom the handle's store-level operations (and the bucket handles it gives) run as.
    pub(crate) caller: Arc<Caller>,
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
        Store::builder()
            .with_backend(MemoryBackend::new())
            .assemble()
    }

    /// A durable store under `root` (created if missing), on the system clock.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend) if the folder cannot be created or read.
    pub fn fs(root: impl AsRef<Path>) -> Result<Store> {
        Store::builder()
            .with_backend(FsBackend::open(root, FsOptions::default())?)
            .build()
    }

    /// A builder, to choose the backend, the clock and limits.
    ///
    /// ```
    /// let clock = stratus_clock::ManualClock::new();
    /// let store = objstore::Store::builder()
    ///     .with_backend(objstore::MemoryBackend::new())
    ///     .with_clock(clock.clock())
    ///     .with_max_put_size(1 << 20)
    ///     .build()?;
    /// assert_eq!(store.backend_name(), "memory");
    /// # Ok::<(), objstore::Error>(())
    /// ```
    #[must_use]
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
    /// Re-creating a bucket the store already holds answers as CreateBucket does for its owner: in
    /// `us-east-1` (the default region) it succeeds and leaves the bucket as it is; in any other region it
    /// is `BucketAlreadyOwnedByYou` (409). (AWS's CreateBucket API reference, "BucketAlreadyOwnedByYou".)
    ///
    /// # Errors
    /// `InvalidBucketName` for a name against S3's rules; `BucketAlreadyOwnedByYou` if it exists and the
    /// store's region is not `us-east-1`.
    pub async fn create_bucket(&self, name: &str) -> Result<Bucket> {
        validate_bucket_name(name)?;
        if !self.is_owner() {
            return Err(self.denied(Action::CREATE_BUCKET, name));
        }
        let info = BucketInfo {
            name: name.to_string(),
            created: to_millis(self.inner.clock.now()),
        };
        match self.inner.backend.create_bucket(&info).await {
            Ok(()) => {}
            Err(Error::BucketAlreadyOwnedByYou { .. }) if self.inner.region == DEFAULT_REGION => {}
            Err(e) => return Err(e),
        }
        Ok(Bucket::new(self.inner.clone(), name, self.caller.clone()))
    }

    /// The region the store answers for (`us-east-1` unless [`StoreBuilder::with_region`] set another).
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// Deletes an empty bucket.
    ///
    /// # Errors
    /// `NoSuchBucket`; `BucketNotEmpty` while it holds objects.
    pub async fn delete_bucket(&self, name: &str) -> Result<()> {
        self.bucket(name)?
            .authorize(Check::bucket(Action::DELETE_BUCKET))
            .await?;
        self.inner.backend.delete_bucket(name).await
    }

    /// Describes a bucket (S3's HeadBucket).
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub async fn head_bucket(&self, name: &str) -> Result<BucketInfo> {
        self.bucket(name)?
            .authorize(Check::bucket(Action::LIST_BUCKET).head())
            .await?;
        self.inner.backend.head_bucket(name).await
    }

    /// All buckets, sorted by name as S3 lists them. Every bucket of a store belongs to its owner's
    /// account, so a caller of another account lists none.
    ///
    /// # Errors
    /// `Denied` for the anonymous caller; backend failures.
    pub async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        if self.caller.identity().is_anonymous() {
            return Err(self.denied(Action::LIST_ALL_MY_BUCKETS, "*"));
        }
        if !self.is_owner() {
            return Ok(Vec::new());
        }
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
        Ok(Bucket::new(self.inner.clone(), name, self.caller.clone()))
    }
}

impl Store {
    /// A handle to the same store whose operations, and the bucket handles it gives, run as `identity`.
    ///
    /// ```
    /// use objstore::{Identity, Store};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> objstore::Result<()> {
    /// let store = Store::memory();
    /// let guest = store.as_identity(&Identity::anonymous());
    /// assert_eq!(guest.create_bucket("mine").await.unwrap_err().code(), "AccessDenied");
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn as_identity(&self, identity: &Identity) -> Store {
        self.as_caller(Caller::new(identity.clone()))
    }

    /// A handle to the same store whose operations run as `caller`.
    #[must_use]
    pub fn as_caller(&self, caller: Caller) -> Store {
        Store {
            inner: self.inner.clone(),
            caller: Arc::new(caller),
        }
    }

    /// Whom this handle runs as (the owner's root user unless [`Store::as_identity`] said otherwise).
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The store owner's account id ([`DEFAULT_ACCOUNT_ID`] unless the builder named another).
    pub fn account_id(&self) -> &str {
        &self.inner.account_id
    }

    /// The owner's root user.
    pub fn owner(&self) -> &Identity {
        self.inner.owner.identity()
    }

    /// The identity an access key id belongs to, if it is registered.
    pub fn identity_for_access_key(&self, access_key_id: &str) -> Option<Identity> {
        self.inner
            .credentials
            .get(access_key_id)
            .map(|(id, _)| id.clone())
    }

    /// Verifies a presigned URL against the store's credentials, region and clock
    /// ([`sigv4::verify`](crate::sigv4::verify)) and gives the caller it signs for: run the request's
    /// operation on [`Bucket::as_caller`] with it.
    ///
    /// # Errors
    /// As [`sigv4::verify`](crate::sigv4::verify): `InvalidAccessKeyId` for a key the store does not
    /// know, `SignatureDoesNotMatch`, `AccessDenied` when expired, `AuthorizationQueryParametersError`.
    pub fn verify_presigned(&self, request: &SignedRequest) -> Result<Caller> {
        let verified =
            crate::sigv4::verify(request, &self.inner.region, self.inner.clock.now(), |id| {
                self.inner.credentials.get(id).map(|(_, s)| s.clone())
            })?;
        let identity = self
            .identity_for_access_key(&verified.access_key_id)
            .ok_or_else(|| Error::InvalidAccessKeyId {
                access_key_id: verified.access_key_id.clone(),
            })?;
        Ok(Caller::new(identity))
    }

    fn is_owner(&self) -> bool {
        self.caller.identity().account_id() == Some(self.inner.account_id.as_str())
    }

    fn denied(&self, action: Action, bucket: &str) -> Error {
        Error::Denied(Box::new(crate::error::Denied {
            bucket: bucket.to_string(),
            key: None,
            action: action.name(),
            resource: format!("arn:aws:s3:::{bucket}"),
            principal: self.caller.identity().display_name().to_string(),
            reason: DenyReason::OwnerOnly,
            head: false,
        }))
    }
}

/// Configures a [`Store`].
#[derive(Default)]
pub struct StoreBuilder {
    account_id: Option<String>,
    credentials: Vec<(Identity, Credentials)>,
    backend: Option<Arc<dyn Backend>>,
    clock: Option<Clock>,
    max_put_size: Option<u64>,
    restore_delays: RestoreDelays,
    region: Option<String>,
}

/// The region a store answers for unless told otherwise, as AWS's default region.
pub const DEFAULT_REGION: &str = "us-east-1";

impl StoreBuilder {
    /// The backend (default: memory).
    #[must_use]
    pub fn with_backend(mut self, backend: impl Backend) -> Self {
        self.backend = Some(Arc::new(backend));
        self
    }

    /// A shared backend.
    #[must_use]
    pub fn with_backend_arc(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The largest single put, in bytes (default and most: S3's 5 GiB, [`MAX_PUT_SIZE`]).
    #[must_use]
    pub fn with_max_put_size(mut self, bytes: u64) -> Self {
        self.max_put_size = Some(bytes.min(MAX_PUT_SIZE));
        self
    }

    /// How long restores from the archive classes take on the store's clock (default: S3's standard
    /// retrieval, 4 hours for GLACIER and 12 for DEEP_ARCHIVE).
    #[must_use]
    pub fn with_restore_delays(mut self, delays: RestoreDelays) -> Self {
        self.restore_delays = delays;
        self
    }

    /// The region the store answers for (default [`DEFAULT_REGION`], `us-east-1`): what presigned URLs are
    /// scoped to, and what decides how re-creating an owned bucket answers (see
    /// [`Store::create_bucket`]).
    #[must_use]
    pub fn with_region(mut self, region: &str) -> Self {
        self.region = Some(region.to_string());
        self
    }

    /// The account that owns the store and every bucket in it (default [`DEFAULT_ACCOUNT_ID`]); its
    /// identities are allowed everything a bucket policy does not explicitly deny.
    #[must_use]
    pub fn with_account_id(mut self, account_id: &str) -> Self {
        self.account_id = Some(account_id.to_string());
        self
    }

    /// Registers an access key for `identity` (of this account or another), so that requests it signs
    /// ([`Store::verify_presigned`]) run as it.
    ///
    /// ```
    /// use objstore::{sigv4::Credentials, Identity, Store};
    /// let alice = Identity::user("111122223333", "alice");
    /// let store = Store::builder()
    ///     .with_credentials(&alice, Credentials::new("AKIAALICE", "alice-secret"))
    ///     .build()?;
    /// assert_eq!(store.identity_for_access_key("AKIAALICE"), Some(alice));
    /// # Ok::<(), objstore::Error>(())
    /// ```
    #[must_use]
    pub fn with_credentials(mut self, identity: &Identity, credentials: Credentials) -> Self {
        self.credentials.push((identity.clone(), credentials));
        self
    }

    /// The store.
    ///
    /// # Errors
    /// `InvalidArgument` (argument `region`) for a region that is not 1 to 64 lowercase letters, digits
    /// and hyphens. Every other setting is valid (a put size above S3's is capped to it).
    pub fn build(self) -> Result<Store> {
        if let Some(region) = &self.region
            && (region.is_empty()
                || region.len() > 64
                || !region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
        {
            return Err(Error::InvalidArgument {
                bucket: String::new(),
                argument: "region",
                message: format!(
                    "region {region:?} is not 1 to 64 lowercase letters, digits and hyphens"
                ),
            });
        }
        if let Some(account) = &self.account_id
            && (account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(Error::InvalidArgument {
                bucket: String::new(),
                argument: "account_id",
                message: format!("account id {account:?} is not twelve digits"),
            });
        }
        Ok(self.assemble())
    }

    fn assemble(self) -> Store {
        let account_id = self
            .account_id
            .unwrap_or_else(|| DEFAULT_ACCOUNT_ID.to_string());
        let owner = Arc::new(Caller::new(Identity::root(&account_id)));
        let credentials = self
            .credentials
            .into_iter()
            .map(|(id, c)| (c.access_key_id, (id, c.secret_access_key)))
            .collect();
        Store {
            caller: owner.clone(),
            inner: Arc::new(StoreInner {
                account_id,
                owner,
                credentials,
                backend: self
                    .backend
                    .unwrap_or_else(|| Arc::new(MemoryBackend::new())),
                clock: self.clock.unwrap_or_default(),
                max_put_size: self.max_put_size.unwrap_or(MAX_PUT_SIZE),
                restore_delays: self.restore_delays,
                region: self.region.unwrap_or_else(|| DEFAULT_REGION.to_string()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outside us-east-1, re-creating a bucket one owns is 409 BucketAlreadyOwnedByYou (CreateBucket, S3
    /// API reference: "BucketAlreadyOwnedByYou ... returned in all AWS Regions except in the North Virginia
    /// Region"); the bucket and its objects are left as they are.
    #[tokio::test]
    async fn recreate_owned_bucket_outside_us_east_1() {
        let store = Store::builder().with_region("eu-west-1").build().unwrap();
        assert_eq!(store.region(), "eu-west-1");
        let b = store.create_bucket("mine").await.unwrap();
        b.put("k", "v").await.unwrap();
        let err = store.create_bucket("mine").await.unwrap_err();
        assert_eq!((err.code(), err.status()), ("BucketAlreadyOwnedByYou", 409));
        assert_eq!(&b.get("k").await.unwrap().body[..], b"v");

        let default = Store::memory();
        assert_eq!(default.region(), DEFAULT_REGION);
        default.create_bucket("mine").await.unwrap();
        default.create_bucket("mine").await.unwrap();
    }

    #[test]
    fn a_malformed_region_is_refused() {
        for bad in ["", "EU-WEST-1", "us east 1", &"a".repeat(65)] {
            let err = Store::builder().with_region(bad).build().unwrap_err();
            assert_eq!(err.code(), "InvalidArgument", "{bad:?}");
            assert!(err.to_string().contains("region"), "{err}");
        }
    }
}
