//! Byte ranges as S3 reads them (`Range: bytes=...`).

use std::fmt;
use std::ops::Range;

/// A byte range of one object, as in an HTTP `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=first-last`, both inclusive; a `last` past the end is cut to the end, as in S3.
    Inclusive {
        /// First byte.
        first: u64,
        /// Last byte, inclusive.
        last: u64,
    },
    /// `bytes=first-`: from `first` to the end.
    From(u64),
    /// `bytes=-n`: the last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    /// Parses a `Range` header value such as `bytes=0-99`, `bytes=100-` or `bytes=-500`.
    ///
    /// Returns `None` for what S3 ignores (and then serves the whole object): a malformed value, another
    /// unit, `first > last`, or several ranges.
    ///
    /// ```
    /// use objstore::ByteRange;
    /// assert_eq!(ByteRange::parse("bytes=0-99"), Some(ByteRange::Inclusive { first: 0, last: 99 }));
    /// assert_eq!(ByteRange::parse("bytes=-5"), Some(ByteRange::Suffix(5)));
    /// assert_eq!(ByteRange::parse("bytes=9-2"), None);
    /// ```
    pub fn parse(header: &str) -> Option<ByteRange> {
        let spec = header.trim().strip_prefix("bytes=")?.trim();
        if spec.contains(',') {
            return None;
        }
        let (a, b) = spec.split_once('-')?;
        let (a, b) = (a.trim(), b.trim());
        let num = |s: &str| -> Option<u64> {
            if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
                None
            } else {
                s.parse().ok()
            }
        };
        match (a.is_empty(), b.is_empty()) {
            (true, true) => None,
            (true, false) => Some(ByteRange::Suffix(num(b)?)),
            (false, true) => Some(ByteRange::From(num(a)?)),
            (false, false) => {
                let (first, last) = (num(a)?, num(b)?);
                (first <= last).then_some(ByteRange::Inclusive { first, last })
            }
        }
    }

    /// The half-open byte range this selects in an object of `size` bytes, or `None` when it cannot be
    /// satisfied (S3's 416 `InvalidRange`): a start at or past the end, an empty suffix, or any range of an
    /// empty object.
    pub fn resolve(self, size: u64) -> Option<Range<u64>> {
        if size == 0 {
            return None;
        }
        match self {
            ByteRange::Inclusive { first, last } => {
                (first < size && first <= last).then(|| first..last.min(size - 1) + 1)
            }
            ByteRange::From(first) => (first < size).then_some(first..size),
            ByteRange::Suffix(n) => (n > 0).then(|| size - n.min(size)..size),
        }
    }
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ByteRange::Inclusive { first, last } => write!(f, "bytes={first}-{last}"),
            ByteRange::From(first) => write!(f, "bytes={first}-"),
            ByteRange::Suffix(n) => write!(f, "bytes=-{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_s3() {
        use ByteRange::*;
        assert_eq!(Inclusive { first: 0, last: 9 }.resolve(100), Some(0..10));
        assert_eq!(
            Inclusive {
                first: 90,
                last: 200
            }
            .resolve(100),
            Some(90..100)
        );
        assert_eq!(
            Inclusive {
                first: 100,
                last: 200
            }
            .resolve(100),
            None
        );
        assert_eq!(From(99).resolve(100), Some(99..100));
        assert_eq!(From(100).resolve(100), None);
        assert_eq!(Suffix(10).resolve(100), Some(90..100));
        assert_eq!(Suffix(1000).resolve(100), Some(0..100));
        assert_eq!(Suffix(0).resolve(100), None);
        assert_eq!(From(0).resolve(0), None);
    }

    #[test]
    fn parses_and_ignores_what_s3_ignores() {
        assert_eq!(ByteRange::parse("bytes=5-"), Some(ByteRange::From(5)));
        assert_eq!(
            ByteRange::parse(" bytes=1-2 "),
            Some(ByteRange::Inclusive { first: 1, last: 2 })
        );
        for ignored in [
            "bytes=",
            "bytes=-",
            "items=0-1",
            "bytes=0-1,3-4",
            "bytes=a-b",
            "bytes=+1-2",
            "0-1",
        ] {
            assert_eq!(ByteRange::parse(ignored), None, "{ignored}");
        }
        for r in [
            ByteRange::From(3),
            ByteRange::Suffix(4),
            ByteRange::Inclusive { first: 1, last: 9 },
        ] {
            assert_eq!(ByteRange::parse(&r.to_string()), Some(r));
        }
    }
}
