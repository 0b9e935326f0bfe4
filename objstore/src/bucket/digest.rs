//! Digests of bodies: the MD5 ETag and the checksums S3 verifies, computed off the async worker threads
//! for large bodies.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::types::checksum::{Checksum, ChecksumAlgorithm};
use crate::types::etag::ETag;

/// Above this size the MD5 of a put is computed off the async worker threads.
const INLINE_MD5_LIMIT: usize = 4 * 1024 * 1024;

/// Verifies a client's checksum against the data (and computes one when only an algorithm is asked for).
pub(crate) async fn verify_checksum(
    bucket: &str,
    key: &str,
    data: &Bytes,
    given: Option<&Checksum>,
    algorithm: Option<ChecksumAlgorithm>,
) -> Result<Option<Checksum>> {
    let Some(algorithm) = given.map(|c| c.algorithm).or(algorithm) else {
        return Ok(None);
    };
    // A value that is not a digest of its algorithm is refused before any comparison (400
    // InvalidRequest); a well-formed value that does not match stays BadDigest.
    if let Some(g) = given
        && !g.is_well_formed()
    {
        return Err(Error::InvalidRequest {
            bucket: bucket.to_string(),
            key: key.to_string(),
            message: Checksum::malformed_message(g.algorithm),
        });
    }
    let actual = if data.len() <= INLINE_MD5_LIMIT {
        algorithm.checksum(data)
    } else {
        let shared = data.clone();
        match tokio::task::spawn_blocking(move || algorithm.checksum(&shared)).await {
            Ok(c) => c,
            Err(_) => algorithm.checksum(data),
        }
    };
    match given {
        Some(g) if g.value != actual.value => Err(Error::BadDigest {
            bucket: bucket.to_string(),
            key: key.to_string(),
            algorithm,
            expected: g.value.clone(),
            actual: actual.value,
        }),
        _ => Ok(Some(actual)),
    }
}

pub(crate) async fn md5_etag(data: &Bytes) -> ETag {
    if data.len() <= INLINE_MD5_LIMIT {
        return ETag::of(data);
    }
    let shared = data.clone();
    match tokio::task::spawn_blocking(move || ETag::of(&shared)).await {
        Ok(etag) => etag,
        // The blocking pool refused the task (runtime shutting down): compute it here instead.
        Err(_) => ETag::of(data),
    }
}
