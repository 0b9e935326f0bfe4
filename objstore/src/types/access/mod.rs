//! Who may do what: identities, bucket policies in IAM's JSON shape, Block Public Access, and the
//! decision that combines them, as the S3 User Guide's "How Amazon S3 authorizes a request" and the IAM
//! "Policy evaluation logic" describe it:
//!
//! - an explicit `Deny` in the bucket policy beats any `Allow`, for every caller, the owner included;
//! - a caller of the bucket owner's account is allowed unless denied (objstore gives the owner's
//!   identities the full identity-based permissions an administrator has);
//! - a caller of another account, or the anonymous caller, needs a statement that allows the action on
//!   the resource; without one it is an implicit deny;
//! - while `RestrictPublicBuckets` is on and the policy is public, grants to callers outside the owner's
//!   account are ineffective.
//!
//! Files: `pattern.rs` (IAM wildcards), `action.rs` (S3's action table), `identity.rs` (principals and
//! the caller), `condition.rs` (operators and keys), `policy.rs` (parsing, validation, evaluation),
//! `bpa.rs` (Block Public Access). The engine's choke point that every operation passes is
//! `bucket/access.rs`.

mod action;
mod bpa;
mod condition;
mod identity;
mod pattern;
mod policy;

use std::fmt;

pub use self::action::{Action, ResourceKind};
pub use self::bpa::PublicAccessBlock;
pub(crate) use self::condition::{Context, Key, Val};
pub use self::identity::{Caller, DEFAULT_ACCOUNT_ID, Identity};
pub use self::policy::{BucketPolicy, MAX_POLICY_BYTES};
pub(crate) use self::policy::{Request, Verdict};

/// Why a request was denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyReason {
    /// No statement of the bucket policy allows the caller (or there is no policy) and the caller is not
    /// of the bucket owner's account: an implicit deny.
    NoAllow,
    /// A statement of the bucket policy denies it (its `Sid`, or its position).
    ExplicitDeny(String),
    /// A Block Public Access setting (its name) stops it.
    PublicAccessBlocked(&'static str),
    /// Only the bucket owner's account may do this (the policy and Block Public Access of a bucket, the
    /// store's own lifecycle passes, creating buckets in the store).
    OwnerOnly,
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::NoAllow => f.write_str("no resource-based policy allows the action"),
            DenyReason::ExplicitDeny(st) => {
                write!(f, "with an explicit deny in a resource-based policy ({st})")
            }
            DenyReason::PublicAccessBlocked(setting) => write!(
                f,
                "public access is blocked by the {setting} block public access setting"
            ),
            DenyReason::OwnerOnly => f.write_str("only the bucket owner's account may do it"),
        }
    }
}

/// The decision for one request: the policy (if any) and the bucket's Block Public Access, for a bucket
/// owned by `owner_account`.
pub(crate) fn decide(
    owner_account: &str,
    policy: Option<&BucketPolicy>,
    bpa: &PublicAccessBlock,
    req: &Request<'_>,
) -> Result<(), DenyReason> {
    let is_owner = req.identity.account_id() == Some(owner_account);
    let Some(policy) = policy else {
        return if is_owner {
            Ok(())
        } else {
            Err(DenyReason::NoAllow)
        };
    };
    if is_owner {
        if !policy.has_deny() {
            return Ok(());
        }
        return match policy.evaluate(req, true) {
            Verdict::Deny(st) => Err(DenyReason::ExplicitDeny(st)),
            _ => Ok(()),
        };
    }
    match policy.evaluate(req, false) {
        Verdict::Deny(st) => Err(DenyReason::ExplicitDeny(st)),
        Verdict::Allow if bpa.restrict_public_buckets && policy.is_public() => {
            Err(DenyReason::PublicAccessBlocked("RestrictPublicBuckets"))
        }
        Verdict::Allow => Ok(()),
        Verdict::Silent => Err(DenyReason::NoAllow),
    }
}

#[cfg(test)]
mod tests;
