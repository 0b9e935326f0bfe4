//! The choke point: every operation of a [`Bucket`] calls [`Bucket::authorize`] before it reads or
//! changes anything, so a denied call changes nothing. Also the calls that configure access: the bucket
//! policy (S3's Get/Put/DeleteBucketPolicy) and Block Public Access (Get/PutPublicAccessBlock), and the
//! handles that run as another caller.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::Bucket;
use crate::error::{Error, Result};
use crate::types::access::{
    Action, BucketPolicy, Caller, Context, DenyReason, Identity, Key, PublicAccessBlock, Request,
    Val, decide,
};

/// One request as the access check sees it: the action, the object (if any) and what the request
/// carries for policy conditions.
pub(crate) struct Check<'a> {
    pub(crate) action: Action,
    pub(crate) key: Option<&'a str>,
    pub(crate) head: bool,
    pub(crate) prefix: Option<&'a str>,
    pub(crate) delimiter: Option<&'a str>,
    pub(crate) max_keys: Option<u64>,
    pub(crate) request_tags: Option<&'a BTreeMap<String, String>>,
    pub(crate) version_id: Option<&'a str>,
    pub(crate) storage_class: Option<&'a str>,
    pub(crate) copy_source: Option<String>,
    pub(crate) sse: Option<&'a str>,
}

impl<'a> Check<'a> {
    /// An action on the bucket itself.
    pub(crate) fn bucket(action: Action) -> Self {
        Check {
            action,
            key: None,
            head: false,
            prefix: None,
            delimiter: None,
            max_keys: None,
            request_tags: None,
            version_id: None,
            storage_class: None,
            copy_source: None,
            sse: None,
        }
    }

    /// An action on one object.
    pub(crate) fn object(action: Action, key: &'a str) -> Self {
        Check {
            key: Some(key),
            ..Check::bucket(action)
        }
    }

    /// Marks the request a HEAD (a denial has no body).
    pub(crate) fn head(mut self) -> Self {
        self.head = true;
        self
    }

    /// The version the request names, if any (`s3:VersionId`).
    pub(crate) fn version(mut self, v: Option<&'a str>) -> Self {
        self.version_id = v;
        self
    }
}

struct RequestContext<'a> {
    caller: &'a Caller,
    clock: &'a stratus_clock::Clock,
    check: &'a Check<'a>,
    existing_tags: Option<Arc<crate::ObjectMeta>>,
}

impl Context for RequestContext<'_> {
    fn value(&self, key: &Key) -> Option<Val<'_>> {
        let c = self.check;
        let id = self.caller.identity();
        Some(match key {
            Key::SourceIp => Val::Ip(self.caller.source_ip()?),
            Key::CurrentTime | Key::EpochTime => Val::Time(self.clock.now()),
            Key::SecureTransport => Val::Bool(self.caller.secure_transport()),
            Key::PrincipalAccount => Val::Str(Cow::Borrowed(id.account_id()?)),
            Key::PrincipalArn => {
                if id.is_anonymous() {
                    return None;
                }
                Val::Str(Cow::Borrowed(id.arn()))
            }
            Key::PrincipalType => Val::Str(Cow::Borrowed(id.principal_type())),
            Key::Username => {
                let name = id.arn().split_once(":user/")?.1;
                Val::Str(Cow::Borrowed(name.rsplit('/').next().unwrap_or(name)))
            }
            Key::Prefix => Val::Str(Cow::Borrowed(c.prefix?)),
            Key::Delimiter => Val::Str(Cow::Borrowed(c.delimiter?)),
            Key::MaxKeys => Val::Num(c.max_keys?),
            Key::ExistingObjectTag(t) => {
                Val::Str(Cow::Borrowed(self.existing_tags.as_ref()?.tags.get(t)?))
            }
            Key::RequestObjectTag(t) => Val::Str(Cow::Borrowed(c.request_tags?.get(t)?)),
            Key::RequestObjectTagKeys => {
                Val::Many(c.request_tags?.keys().map(String::as_str).collect())
            }
            Key::ServerSideEncryption => Val::Str(Cow::Borrowed(c.sse?)),
            Key::VersionId => Val::Str(Cow::Borrowed(c.version_id?)),
            Key::StorageClass => Val::Str(Cow::Borrowed(c.storage_class?)),
            Key::CopySource => Val::Str(Cow::Borrowed(c.copy_source.as_deref()?)),
            Key::Absent(_) => return None,
        })
    }
}

impl Bucket {
    /// A handle to the same bucket whose operations run as `identity` (from a source address unknown to
    /// policies, over a secure transport). Handles from [`Store::bucket`](crate::Store::bucket) run as the
    /// store's owner.
    ///
    /// ```
    /// use objstore::{Identity, Store};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> objstore::Result<()> {
    /// let store = Store::memory();
    /// let bucket = store.create_bucket("private").await?;
    /// bucket.put("k", "v").await?;
    /// let stranger = bucket.as_identity(&Identity::user("999999999999", "mallory"));
    /// let err = stranger.get("k").await.unwrap_err();
    /// assert_eq!((err.code(), err.status()), ("AccessDenied", 403));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn as_identity(&self, identity: &Identity) -> Bucket {
        self.as_caller(Caller::new(identity.clone()))
    }

    /// A handle to the same bucket whose operations run as `caller`.
    #[must_use]
    pub fn as_caller(&self, caller: Caller) -> Bucket {
        Bucket {
            store: self.store.clone(),
            name: self.name.clone(),
            caller: Arc::new(caller),
        }
    }

    /// Whom this handle's operations run as.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The check every operation makes first: `Ok` if the caller may do it, `Denied` (naming the action,
    /// the resource, the caller and why) if not. `NoSuchBucket` if the bucket is missing.
    pub(crate) async fn authorize(&self, check: Check<'_>) -> Result<()> {
        let action = check.action;
        let config = self.store.backend.bucket_config(&self.name).await?;
        let identity = self.caller.identity();
        let is_owner = identity.account_id() == Some(self.store.account_id.as_str());
        let owner_only = matches!(
            action,
            Action::PUT_BUCKET_POLICY
                | Action::DELETE_BUCKET_POLICY
                | Action::GET_BUCKET_POLICY
                | Action::PUT_BUCKET_PUBLIC_ACCESS_BLOCK
                | Action::GET_BUCKET_PUBLIC_ACCESS_BLOCK
        );
        if owner_only && !is_owner {
            return Err(self.denied(&check, action, DenyReason::OwnerOnly));
        }
        // The owner's root user may always manage the policy, even one that denies it (PutBucketPolicy,
        // S3 API reference), so that a policy cannot lock its owner out.
        let root_exempt = is_owner && identity.is_root() && owner_only;
        let Some(policy) = config.policy.as_ref() else {
            return if is_owner {
                Ok(())
            } else {
                Err(self.denied(&check, action, DenyReason::NoAllow))
            };
        };
        if root_exempt || (is_owner && !policy.has_deny()) {
            return Ok(());
        }
        let existing_tags = match check.key {
            Some(key) if policy.uses_existing_tags() => self
                .store
                .backend
                .head(&self.name, key, check.version_id)
                .await
                .ok(),
            _ => None,
        };
        let context = RequestContext {
            caller: &self.caller,
            clock: &self.store.clock,
            check: &check,
            existing_tags,
        };
        let request = Request {
            action,
            bucket: &self.name,
            key: check.key,
            identity,
            context: &context,
        };
        decide(
            &self.store.account_id,
            Some(policy),
            &config.public_access_block,
            &request,
        )
        .map_err(|reason| self.denied(&check, action, reason))
    }

    /// The check of a change to one version's metadata (retention, legal hold, restore): the key and
    /// version id are validated first, as `update_meta` does.
    pub(crate) async fn authorize_meta(
        &self,
        action: Action,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<()> {
        crate::types::names::validate_key(&self.name, key)?;
        let version = self.version_arg(key, version_id)?;
        self.authorize(Check::object(action, key).version(version))
            .await
    }

    /// The check of what only the bucket owner's account does (a lifecycle pass runs as the service).
    pub(crate) async fn authorize_owner(&self) -> Result<()> {
        self.store.backend.head_bucket(&self.name).await?;
        if self.caller.identity().account_id() == Some(self.store.account_id.as_str()) {
            Ok(())
        } else {
            Err(self.denied(
                &Check::bucket(Action::PUT_LIFECYCLE_CONFIGURATION),
                Action::PUT_LIFECYCLE_CONFIGURATION,
                DenyReason::OwnerOnly,
            ))
        }
    }

    fn denied(&self, check: &Check<'_>, action: Action, reason: DenyReason) -> Error {
        Error::Denied(Box::new(crate::error::Denied {
            bucket: self.name.to_string(),
            key: check.key.map(str::to_string),
            action: action.name(),
            resource: match check.key {
                Some(k) => format!("arn:aws:s3:::{}/{k}", self.name),
                None => format!("arn:aws:s3:::{}", self.name),
            },
            principal: self.caller.identity().display_name().to_string(),
            reason,
            head: check.head,
        }))
    }

    /// The bucket policy (S3's GetBucketPolicy), verbatim as it was put.
    ///
    /// # Errors
    /// `NoSuchBucketPolicy` if none is set; `Denied` for a caller outside the owner's account;
    /// `NoSuchBucket`.
    pub async fn policy(&self) -> Result<BucketPolicy> {
        self.authorize(Check::bucket(Action::GET_BUCKET_POLICY))
            .await?;
        let config = self.store.backend.bucket_config(&self.name).await?;
        config
            .policy
            .clone()
            .ok_or_else(|| Error::NoSuchBucketPolicy {
                bucket: self.name.to_string(),
            })
    }

    /// Sets the bucket policy (S3's PutBucketPolicy) from its JSON text, validated first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> objstore::Result<()> {
    /// let store = objstore::Store::memory();
    /// let bucket = store.create_bucket("shared").await?;
    /// bucket.set_policy(r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    ///     "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
    ///     "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"}]}"#).await?;
    /// assert!(!bucket.policy().await?.is_public());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `MalformedPolicy` naming the statement and field; `Denied` (BlockPublicPolicy) for a public
    /// policy while the bucket's `block_public_policy` is on; `Denied` for a caller outside the owner's
    /// account or denied by the current policy; `NoSuchBucket`.
    pub async fn set_policy(&self, json: &str) -> Result<()> {
        let check = Check::bucket(Action::PUT_BUCKET_POLICY);
        self.authorize(Check::bucket(Action::PUT_BUCKET_POLICY))
            .await?;
        let policy = BucketPolicy::parse(&self.name, json)?;
        // The Block Public Access check runs under the config's lock, so a concurrent change of the
        // settings cannot let a public policy in.
        self.store
            .backend
            .update_bucket_config(&self.name, &|c| {
                if policy.is_public() && c.public_access_block.block_public_policy {
                    return Err(self.denied(
                        &check,
                        Action::PUT_BUCKET_POLICY,
                        DenyReason::PublicAccessBlocked("BlockPublicPolicy"),
                    ));
                }
                c.policy = Some(policy.clone());
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// Removes the bucket policy (S3's DeleteBucketPolicy); removing none is not an error.
    ///
    /// # Errors
    /// `Denied` for a caller outside the owner's account or denied by the policy; `NoSuchBucket`.
    pub async fn delete_policy(&self) -> Result<()> {
        self.authorize(Check::bucket(Action::DELETE_BUCKET_POLICY))
            .await?;
        self.store
            .backend
            .update_bucket_config(&self.name, &|c| {
                c.policy = None;
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// The bucket's Block Public Access settings (S3's GetPublicAccessBlock); a new bucket has all four on.
    ///
    /// # Errors
    /// `Denied` for a caller outside the owner's account; `NoSuchBucket`.
    pub async fn public_access_block(&self) -> Result<PublicAccessBlock> {
        self.authorize(Check::bucket(Action::GET_BUCKET_PUBLIC_ACCESS_BLOCK))
            .await?;
        Ok(self
            .store
            .backend
            .bucket_config(&self.name)
            .await?
            .public_access_block)
    }

    /// Sets the bucket's Block Public Access settings (S3's PutPublicAccessBlock). Turning
    /// `block_public_policy` on leaves a public policy in place (as on S3); `restrict_public_buckets`
    /// then makes it ineffective for other accounts.
    ///
    /// # Errors
    /// `Denied` for a caller outside the owner's account or denied by the policy; `NoSuchBucket`.
    pub async fn set_public_access_block(&self, settings: PublicAccessBlock) -> Result<()> {
        self.authorize(Check::bucket(Action::PUT_BUCKET_PUBLIC_ACCESS_BLOCK))
            .await?;
        self.store
            .backend
            .update_bucket_config(&self.name, &|c| {
                c.public_access_block = settings;
                Ok(())
            })
            .await
            .map(|_| ())
    }
}
