//! ListObjectsV2's request and page, its continuation tokens, and the key arithmetic every listing with a
//! delimiter shares (common prefixes, the first key past a prefix). The listing itself is `bucket/list.rs`.

use std::ops::Bound;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Error, Result};
use crate::types::meta::ObjectMeta;

/// The request of a ListObjectsV2 call. The default lists the whole bucket, 1000 keys a page.
///
/// ```
/// let opts = objstore::ListOptions::default().prefix("photos/").delimiter("/").max_keys(100);
/// assert_eq!(opts.max_keys, Some(100));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Only keys that start with this.
    pub prefix: String,
    /// Group keys that contain this after the prefix into common prefixes (usually `/`).
    pub delimiter: Option<String>,
    /// Start listing after this key (ignored when a continuation token is given, as in S3).
    pub start_after: Option<String>,
    /// The token of the previous page's `next_continuation_token`.
    pub continuation_token: Option<String>,
    /// Keys and common prefixes per page; S3 caps it at 1000 and answers 0 with an empty page.
    pub max_keys: Option<usize>,
}

impl ListOptions {
    /// Sets the prefix.
    #[must_use]
    pub fn prefix(mut self, p: impl Into<String>) -> Self {
        self.prefix = p.into();
        self
    }
    /// Sets the delimiter.
    #[must_use]
    pub fn delimiter(mut self, d: impl Into<String>) -> Self {
        self.delimiter = Some(d.into());
        self
    }
    /// Sets start-after.
    #[must_use]
    pub fn start_after(mut self, k: impl Into<String>) -> Self {
        self.start_after = Some(k.into());
        self
    }
    /// Sets the continuation token.
    #[must_use]
    pub fn continuation_token(mut self, t: impl Into<String>) -> Self {
        self.continuation_token = Some(t.into());
        self
    }
    /// Sets max-keys.
    #[must_use]
    pub fn max_keys(mut self, n: usize) -> Self {
        self.max_keys = Some(n);
        self
    }
}

/// One page of a ListObjectsV2 answer.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    /// Objects, in UTF-8 binary key order.
    pub objects: Vec<Arc<ObjectMeta>>,
    /// Common prefixes (each ending with the delimiter), in order.
    pub common_prefixes: Vec<String>,
    /// Whether more keys follow.
    pub is_truncated: bool,
    /// Pass this as `continuation_token` for the next page.
    pub next_continuation_token: Option<String>,
    /// Objects plus common prefixes in this page.
    pub key_count: usize,
    /// The max-keys in force (after S3's cap).
    pub max_keys: usize,
}

/// Where a listing resumes: after a key, or at the first key past a common prefix.
pub(crate) fn encode_token(pos: &Bound<String>) -> String {
    let raw = match pos {
        Bound::Excluded(k) => format!("e{k}"),
        Bound::Included(k) => format!("i{k}"),
        Bound::Unbounded => "u".to_string(),
    };
    URL_SAFE_NO_PAD.encode(raw)
}

/// Reads a continuation token back; `InvalidArgument` for one this crate did not issue.
pub(crate) fn decode_token(bucket: &str, token: &str) -> Result<Bound<String>> {
    let bad = || Error::InvalidArgument {
        bucket: bucket.to_string(),
        argument: "continuation-token",
        message: format!("the continuation token provided is incorrect: {token:?}"),
    };
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let mut chars = raw.chars();
    match chars.next() {
        Some('e') => Ok(Bound::Excluded(chars.as_str().to_string())),
        Some('i') => Ok(Bound::Included(chars.as_str().to_string())),
        Some('u') if raw.len() == 1 => Ok(Bound::Unbounded),
        _ => Err(bad()),
    }
}

/// The least string greater than every string that starts with `s`, if there is one.
pub(crate) fn successor(s: &str) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    while let Some(c) = chars.pop() {
        let next = match c {
            '\u{D7FF}' => Some('\u{E000}'),
            char::MAX => None,
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The common prefix `key` rolls up into under `delimiter`, after `prefix`, if any.
pub(crate) fn common_prefix<'k>(
    key: &'k str,
    prefix: &str,
    delimiter: Option<&str>,
) -> Option<&'k str> {
    let d = delimiter.filter(|d| !d.is_empty())?;
    let rest = &key[prefix.len()..];
    rest.find(d).map(|i| &key[..prefix.len() + i + d.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successor_bounds_every_extension() {
        assert_eq!(successor("a/").as_deref(), Some("a0"));
        assert_eq!(successor("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(successor("\u{10FFFF}"), None);
        for (s, ext) in [
            ("a/", "a/zzz"),
            ("é", "éééé"),
            ("x\u{FFFF}", "x\u{FFFF}\u{10FFFF}"),
        ] {
            let succ = successor(s).unwrap();
            assert!(ext < succ.as_str() && s < succ.as_str());
        }
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        for pos in [
            Bound::Excluded("a/b".to_string()),
            Bound::Included("ü".to_string()),
            Bound::Unbounded,
        ] {
            assert_eq!(decode_token("b", &encode_token(&pos)).unwrap(), pos);
        }
        // Not base64, empty, and tokens that decode to something we never issue ("x", "xy").
        for bad in ["!!!", "", "eA", "eHk"] {
            assert_eq!(
                decode_token("bkt", bad).unwrap_err().code(),
                "InvalidArgument",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn common_prefix_uses_delimiter_after_prefix() {
        assert_eq!(common_prefix("a/b/c", "", Some("/")), Some("a/"));
        assert_eq!(common_prefix("a/b/c", "a/", Some("/")), Some("a/b/"));
        assert_eq!(common_prefix("a/b", "a/", Some("/")), None);
        assert_eq!(common_prefix("a::b", "", Some("::")), Some("a::"));
        assert_eq!(common_prefix("a/b", "", Some("")), None);
        assert_eq!(common_prefix("a/b", "", None), None);
    }
}
