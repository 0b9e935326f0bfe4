//! Entity tags as S3 computes and quotes them.

use std::fmt;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

/// An S3 ETag, kept in the quoted form S3 returns (`"9e107d9d372bb6826bd81d3542a419d6"`).
///
/// For a single put it is the MD5 of the content; for a multipart upload, the MD5 of the concatenated
/// binary part MD5s followed by `-N`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ETag(String);

impl ETag {
    /// The ETag of `data` as one put: its MD5, quoted.
    ///
    /// ```
    /// let etag = objstore::ETag::of(b"");
    /// assert_eq!(etag.as_str(), "\"d41d8cd98f00b204e9800998ecf8427e\"");
    /// ```
    pub fn of(data: &[u8]) -> Self {
        Self::from_md5(&Md5::digest(data).into())
    }

    /// The ETag for a 16-byte MD5 digest.
    pub fn from_md5(digest: &[u8; 16]) -> Self {
        let mut buf = [b'"'; 34];
        // Cannot fail: 16 bytes always fit 32 hex digits.
        let _ = hex::encode_to_slice(digest, &mut buf[1..33]);
        ETag(String::from_utf8_lossy(&buf).into_owned())
    }

    /// Takes an ETag as a client sends it, quoted or not, with or without a weak `W/` prefix.
    pub fn parse(s: &str) -> Self {
        ETag(format!("\"{}\"", normalize(s)))
    }

    /// The quoted form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ETag without its quotes.
    pub fn unquoted(&self) -> &str {
        normalize(&self.0)
    }

    /// Whether a client-supplied ETag (quoted or not, possibly weak) names this one.
    pub fn matches(&self, other: &str) -> bool {
        normalize(other) == self.unquoted()
    }
}

fn normalize(s: &str) -> &str {
    let s = s.trim();
    let s = s.strip_prefix("W/").unwrap_or(s);
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_quoted_like_s3() {
        let e = ETag::of(b"The quick brown fox jumps over the lazy dog");
        assert_eq!(e.as_str(), "\"9e107d9d372bb6826bd81d3542a419d6\"");
        assert_eq!(e.unquoted(), "9e107d9d372bb6826bd81d3542a419d6");
        assert!(e.matches("9e107d9d372bb6826bd81d3542a419d6"));
        assert!(e.matches("\"9e107d9d372bb6826bd81d3542a419d6\""));
        assert!(e.matches("W/\"9e107d9d372bb6826bd81d3542a419d6\""));
        assert!(!e.matches("\"d41d8cd98f00b204e9800998ecf8427e\""));
        assert_eq!(ETag::parse("abc"), ETag::parse("\"abc\""));
    }
}
