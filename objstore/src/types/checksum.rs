//! Additional checksums (S3's `x-amz-checksum-*`): CRC32, CRC32C, SHA-1, SHA-256.
//!
//! A client sends the checksum it computed; the store computes its own over the bytes it received and
//! rejects the write (`BadDigest`, nothing stored) when they differ. Values are base64 of the big-endian
//! digest, as S3 sends them. An object completed from a multipart upload carries S3's composite checksum:
//! the checksum of the concatenated binary part checksums, then `-N`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// A checksum algorithm S3 supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChecksumAlgorithm {
    /// CRC32 (IEEE).
    Crc32,
    /// CRC32C (Castagnoli).
    Crc32c,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl ChecksumAlgorithm {
    /// The name S3 uses (`CRC32`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Sha256 => "SHA256",
        }
    }

    /// The raw digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            ChecksumAlgorithm::Crc32 => crc32fast::hash(data).to_be_bytes().to_vec(),
            ChecksumAlgorithm::Crc32c => crc32c::crc32c(data).to_be_bytes().to_vec(),
            ChecksumAlgorithm::Sha1 => Sha1::digest(data).to_vec(),
            ChecksumAlgorithm::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    /// The checksum of `data`, as S3 returns it.
    pub fn checksum(self, data: &[u8]) -> Checksum {
        Checksum {
            algorithm: self,
            value: B64.encode(self.digest(data)),
        }
    }

    /// The length in bytes of a raw digest.
    fn digest_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
            ChecksumAlgorithm::Sha1 => 20,
            ChecksumAlgorithm::Sha256 => 32,
        }
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A checksum: its algorithm and its base64 value (for a multipart object, `base64-N`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Checksum {
    /// The algorithm.
    pub algorithm: ChecksumAlgorithm,
    /// Base64 of the big-endian digest, with `-N` for a composite multipart checksum.
    pub value: String,
}

impl Checksum {
    /// A checksum as a client sends it.
    pub fn new(algorithm: ChecksumAlgorithm, value: impl Into<String>) -> Self {
        Checksum {
            algorithm,
            value: value.into(),
        }
    }

    /// Whether the value is a well-formed value of its algorithm: base64 of a digest of the algorithm's
    /// length (4 bytes for the CRCs, 20 for SHA-1, 32 for SHA-256).
    pub fn is_well_formed(&self) -> bool {
        B64.decode(&self.value)
            .is_ok_and(|d| d.len() == self.algorithm.digest_len())
    }

    /// S3's message for a checksum header that is not a well-formed value of its algorithm.
    pub(crate) fn malformed_message(algorithm: ChecksumAlgorithm) -> &'static str {
        match algorithm {
            ChecksumAlgorithm::Crc32 => "Value for x-amz-checksum-crc32 header is invalid.",
            ChecksumAlgorithm::Crc32c => "Value for x-amz-checksum-crc32c header is invalid.",
            ChecksumAlgorithm::Sha1 => "Value for x-amz-checksum-sha1 header is invalid.",
            ChecksumAlgorithm::Sha256 => "Value for x-amz-checksum-sha256 header is invalid.",
        }
    }

    /// S3's composite checksum of a multipart object from its parts' checksums, in part order; `None` if a
    /// part's value is not a digest of this algorithm.
    pub(crate) fn composite(algorithm: ChecksumAlgorithm, parts: &[&Checksum]) -> Option<Checksum> {
        let mut raw = Vec::with_capacity(parts.len() * algorithm.digest_len());
        for p in parts {
            if p.algorithm != algorithm {
                return None;
            }
            let d = B64.decode(&p.value).ok()?;
            if d.len() != algorithm.digest_len() {
                return None;
            }
            raw.extend_from_slice(&d);
        }
        Some(Checksum {
            algorithm,
            value: format!("{}-{}", B64.encode(algorithm.digest(&raw)), parts.len()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // Reference values from the algorithms' standard check strings.
        let data = b"123456789";
        assert_eq!(
            ChecksumAlgorithm::Crc32.digest(data),
            0xCBF4_3926u32.to_be_bytes()
        );
        assert_eq!(
            ChecksumAlgorithm::Crc32c.digest(data),
            0xE306_9283u32.to_be_bytes()
        );
        assert_eq!(
            hex::encode(ChecksumAlgorithm::Sha1.digest(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            ChecksumAlgorithm::Sha256.checksum(b"").value,
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        let c = ChecksumAlgorithm::Crc32.checksum(data);
        let composite = Checksum::composite(ChecksumAlgorithm::Crc32, &[&c, &c]).unwrap();
        let mut raw = 0xCBF4_3926u32.to_be_bytes().to_vec();
        raw.extend(0xCBF4_3926u32.to_be_bytes());
        assert_eq!(
            composite.value,
            format!("{}-2", B64.encode(crc32fast::hash(&raw).to_be_bytes()))
        );
        assert!(Checksum::composite(ChecksumAlgorithm::Sha1, &[&c]).is_none());
    }
}
