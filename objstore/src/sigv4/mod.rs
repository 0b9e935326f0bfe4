//! Presigned URLs: AWS Signature Version 4 in the query string.
//!
//! A presigned URL lets whoever holds it make one kind of request (a GET, PUT, HEAD or UploadPart of one
//! key) as the identity that signed it, until it expires. This module generates such URLs ([`presign`])
//! and verifies them ([`verify`]) the way S3 does, following "Authenticating Requests: Using Query
//! Parameters (AWS Signature Version 4)" in the Amazon S3 API reference:
//!
//! - the canonical request is the method, the URI path encoded once per segment, the query parameters
//!   sorted and encoded (without `X-Amz-Signature`), the signed headers, and `UNSIGNED-PAYLOAD`;
//! - the string to sign is `AWS4-HMAC-SHA256`, the request time, the credential scope
//!   (`date/region/s3/aws4_request`) and the SHA-256 of the canonical request;
//! - the signature is an HMAC-SHA256 chain from `"AWS4" + secret` through date, region and service;
//! - `X-Amz-Expires` is 1 second to 7 days (604,800 seconds); the request time and expiry are checked
//!   against the caller's clock (the store's injected clock), so a test advances a manual clock past the
//!   expiry instead of sleeping.
//!
//! The crypto comes from the `hmac` and `sha2` crates; the signature comparison is `hmac`'s constant-time
//! `verify_slice`. Tests check the published example of the AWS page and URLs signed by AWS's own
//! `aws-sigv4` crate.
//!
//! ```
//! use objstore::sigv4::{presign, verify, Credentials, PresignRequest, SignedRequest};
//! use std::time::{Duration, SystemTime};
//!
//! let creds = Credentials::new("AKIDEXAMPLE", "secret");
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let url = presign(
//!     &creds,
//!     "us-east-1",
//!     &PresignRequest::get_object("localhost:9000", "photos", "cat 1.jpg", Duration::from_secs(3600)),
//!     now,
//! )?;
//! assert!(url.path_and_query.starts_with("/photos/cat%201.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256"));
//!
//! // The server side: the same URL verifies within the hour, for the identity that signed it.
//! let request = SignedRequest::from_path_and_query("GET", "localhost:9000", &url.path_and_query);
//! let signer = verify(&request, "us-east-1", now + Duration::from_secs(60), |id| {
//!     (id == "AKIDEXAMPLE").then(|| "secret".to_string())
//! })?;
//! assert_eq!(signer.access_key_id, "AKIDEXAMPLE");
//! // ... and not after it.
//! let late = verify(&request, "us-east-1", now + Duration::from_secs(3601), |_| Some("secret".into()));
//! assert_eq!(late.unwrap_err().code(), "AccessDenied");
//! # Ok::<(), objstore::Error>(())
//! ```

mod canonical;
mod presign;
mod verify;

pub use presign::{PresignRequest, PresignedUrl, presign};
pub use verify::{SignedRequest, Verified, verify};

use std::fmt;

/// The signing algorithm, the only one SigV4 query signing uses.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The shortest expiry S3 accepts, in seconds.
pub const MIN_EXPIRES_SECS: u64 = 1;
/// The longest expiry S3 accepts: 7 days, in seconds.
pub const MAX_EXPIRES_SECS: u64 = 604_800;
/// The payload hash of a presigned request: the body is not part of the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The service name in the credential scope.
pub const SERVICE: &str = "s3";

/// An access key id and its secret: what signs a request.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id (`AKIA...`), sent in the clear in `X-Amz-Credential`.
    pub access_key_id: String,
    /// The secret access key; never sent.
    pub secret_access_key: String,
}

impl Credentials {
    /// Credentials from an access key id and its secret.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests;
