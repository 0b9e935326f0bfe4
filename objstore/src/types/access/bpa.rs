//! Block Public Access: the four per-bucket settings of S3's PutPublicAccessBlock, all on for a new
//! bucket as on S3 since April 2023 ("Amazon S3 now automatically enables S3 Block Public Access ... for
//! all new buckets").

use serde::{Deserialize, Serialize};

/// A bucket's public access block. `Default` is all four on, as a new bucket has them.
///
/// objstore has no ACLs (as a bucket with S3's default "bucket owner enforced" object ownership), so
/// `block_public_acls` and `ignore_public_acls` are kept and reported but have nothing to act on;
/// `block_public_policy` refuses a public policy on put and `restrict_public_buckets` makes a public
/// policy's grants ineffective for callers outside the bucket owner's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicAccessBlock {
    /// `BlockPublicAcls`.
    pub block_public_acls: bool,
    /// `IgnorePublicAcls`.
    pub ignore_public_acls: bool,
    /// `BlockPublicPolicy`: PutBucketPolicy of a public policy is AccessDenied.
    pub block_public_policy: bool,
    /// `RestrictPublicBuckets`: while the policy is public, only the owner's account gets access.
    pub restrict_public_buckets: bool,
}

impl Default for PublicAccessBlock {
    fn default() -> Self {
        PublicAccessBlock::all(true)
    }
}

impl PublicAccessBlock {
    /// All four settings set to `on`.
    pub fn all(on: bool) -> Self {
        PublicAccessBlock {
            block_public_acls: on,
            ignore_public_acls: on,
            block_public_policy: on,
            restrict_public_buckets: on,
        }
    }
}
