//! Object and bucket tags, with S3's limits: 10 tags per object and 50 per bucket; keys of 1 to 128
//! Unicode characters and values of up to 256; letters, digits, spaces and `+ - = . _ : / @`; no key
//! starting with `aws:`.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::limits::{MAX_OBJECT_TAGS, MAX_TAG_KEY_LEN, MAX_TAG_VALUE_LEN};

fn allowed(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "+-=._:/@".contains(c)
}

/// Checks a tag set against S3's rules; `target` names what is tagged, for the error.
pub(crate) fn validate_tags(
    bucket: &str,
    target: &str,
    tags: &BTreeMap<String, String>,
    max: usize,
) -> Result<()> {
    let fail = |reason: String| {
        Err(Error::InvalidTag {
            bucket: bucket.to_string(),
            target: target.to_string(),
            reason,
        })
    };
    if tags.len() > max {
        return fail(format!("{} tags, over the limit of {max}", tags.len()));
    }
    for (k, v) in tags {
        let klen = k.chars().count();
        if klen == 0 || klen > MAX_TAG_KEY_LEN {
            return fail(format!(
                "tag key {k:?} is {klen} characters; keys must have 1 to {MAX_TAG_KEY_LEN}"
            ));
        }
        let vlen = v.chars().count();
        if vlen > MAX_TAG_VALUE_LEN {
            return fail(format!(
                "value of tag {k:?} is {vlen} characters, over the limit of {MAX_TAG_VALUE_LEN}"
            ));
        }
        if k.starts_with("aws:") {
            return fail(format!("tag key {k:?} uses the reserved prefix aws:"));
        }
        if let Some(c) = k.chars().chain(v.chars()).find(|c| !allowed(*c)) {
            return fail(format!(
                "tag {k:?} contains {c:?}, which S3 does not allow in tags"
            ));
        }
    }
    Ok(())
}

/// Checks the tag set of object `key` (at most [`MAX_OBJECT_TAGS`]).
pub(crate) fn validate_object_tags(
    bucket: &str,
    key: &str,
    tags: &BTreeMap<String, String>,
) -> Result<()> {
    // S3 answers too many object tags with 400 BadRequest, not InvalidTag (PutObjectTagging and the
    // `x-amz-tagging` header alike); the other rules stay InvalidTag.
    if tags.len() > MAX_OBJECT_TAGS {
        return Err(Error::BadRequest {
            bucket: bucket.to_string(),
            key: key.to_string(),
            message: "Object tags cannot be greater than 10",
        });
    }
    validate_tags(bucket, &format!("object {key:?}"), tags, MAX_OBJECT_TAGS)
}
