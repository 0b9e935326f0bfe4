//! S3's rules for bucket names and object keys.

use crate::error::{Error, Result};
use crate::limits::MAX_KEY_LEN;

/// Checks a bucket name against S3's rules for general purpose buckets: 3 to 63 characters of lowercase
/// letters, digits, dots and hyphens; starting and ending with a letter or digit; no two adjacent dots; not an
/// IP address; none of the reserved prefixes and suffixes.
///
/// # Errors
/// [`Error::InvalidBucketName`] naming the rule broken.
///
/// ```
/// assert!(objstore::validate_bucket_name("my-data.2024").is_ok());
/// let err = objstore::validate_bucket_name("My_Bucket").unwrap_err();
/// assert_eq!(err.code(), "InvalidBucketName");
/// ```
pub fn validate_bucket_name(name: &str) -> Result<()> {
    let fail = |reason| {
        Err(Error::InvalidBucketName {
            bucket: name.to_string(),
            reason,
        })
    };
    if name.len() < 3 || name.len() > 63 {
        return fail("must be between 3 and 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return fail("may contain only lowercase letters, digits, dots and hyphens");
    }
    let first = name.as_bytes()[0];
    let last = name.as_bytes()[name.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return fail("must begin and end with a letter or digit");
    }
    if name.contains("..") {
        return fail("must not contain two adjacent dots");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return fail("must not be formatted as an IP address");
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return fail("must not start with a reserved prefix (xn--, sthree-, amzn-s3-demo-)");
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if name.ends_with(suffix) {
            return fail(
                "must not end with a reserved suffix (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)",
            );
        }
    }
    Ok(())
}

/// Checks an object key: any UTF-8 of 1 to 1024 bytes. Keys such as `a//b`, `dir/` and `../x` are valid
/// and name distinct objects, as in S3.
///
/// # Errors
/// [`Error::KeyTooLong`] over 1024 bytes; [`Error::InvalidArgument`] for the empty key.
pub fn validate_key(bucket: &str, key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::InvalidArgument {
            bucket: bucket.to_string(),
            argument: "key",
            message: "object keys must be at least one byte long".into(),
        });
    }
    if key.len() > MAX_KEY_LEN {
        let mut cut = 64;
        while !key.is_char_boundary(cut) {
            cut -= 1;
        }
        return Err(Error::KeyTooLong {
            bucket: bucket.to_string(),
            prefix: key[..cut].to_string(),
            len: key.len(),
            max: MAX_KEY_LEN,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["abc", "my-bucket", "my.bucket.1", "0abc9", &"a".repeat(63)] {
            assert!(validate_bucket_name(ok).is_ok(), "{ok} should be valid");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "My-Bucket",
            "my_bucket",
            "-abc",
            "abc-",
            ".abc",
            "a..b",
            "192.168.5.4",
            "xn--abc",
            "sthree-abc",
            "amzn-s3-demo-x",
            "abc-s3alias",
            "abc--ol-s3",
            "abc.mrap",
            "abc--x-s3",
            "abc--table-s3",
            "abc def",
            "ünï",
        ] {
            let err = validate_bucket_name(bad).unwrap_err();
            assert_eq!(err.code(), "InvalidBucketName", "{bad}");
            assert!(
                err.to_string().contains(bad),
                "error names the bucket: {err}"
            );
        }
    }

    #[test]
    fn keys_are_utf8_up_to_1024_bytes() {
        for ok in [
            "a",
            "a//b",
            "dir/",
            "../x",
            "../../etc/passwd",
            "/",
            " ",
            "é",
            &"k".repeat(1024),
        ] {
            assert!(validate_key("b", ok).is_ok(), "{ok:?}");
        }
        let err = validate_key("bkt", &"k".repeat(1025)).unwrap_err();
        assert_eq!(err.code(), "KeyTooLongError");
        assert!(matches!(
            err,
            Error::KeyTooLong {
                len: 1025,
                max: 1024,
                ..
            }
        ));
        // 512 two-byte characters are 1024 bytes; one more character is over.
        assert!(validate_key("b", &"é".repeat(512)).is_ok());
        assert_eq!(
            validate_key("b", &"é".repeat(513)).unwrap_err().code(),
            "KeyTooLongError"
        );
        assert_eq!(validate_key("b", "").unwrap_err().code(), "InvalidArgument");
    }
}
