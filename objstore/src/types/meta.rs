//! Object and bucket metadata.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};
use std::time::SystemTime;

use parking_lot::RwLock;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::limits::MAX_USER_METADATA;
use crate::types::checksum::Checksum;
use crate::types::etag::ETag;
use crate::types::lock::Retention;
use crate::types::storage_class::{RestoreState, StorageClass};

/// The content type S3 gives an object put without one.
pub const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// The HTTP headers S3 stores with an object and returns on get and head, and the `x-amz-meta-*` user
/// metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectAttributes {
    /// `Content-Type`; `binary/octet-stream` when none is given, as in S3.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Expires`, as the client sent it.
    pub expires: Option<String>,
    /// User metadata (`x-amz-meta-NAME`), names lowercased as S3 stores them.
    pub user_metadata: BTreeMap<String, String>,
}

impl ObjectAttributes {
    /// Sets the content type.
    #[must_use]
    pub fn with_content_type(mut self, v: impl Into<String>) -> Self {
        self.content_type = Some(v.into());
        self
    }

    /// Sets the content encoding.
    #[must_use]
    pub fn with_content_encoding(mut self, v: impl Into<String>) -> Self {
        self.content_encoding = Some(v.into());
        self
    }

    /// Sets the content disposition.
    #[must_use]
    pub fn with_content_disposition(mut self, v: impl Into<String>) -> Self {
        self.content_disposition = Some(v.into());
        self
    }

    /// Sets the content language.
    #[must_use]
    pub fn with_content_language(mut self, v: impl Into<String>) -> Self {
        self.content_language = Some(v.into());
        self
    }

    /// Sets the cache control.
    #[must_use]
    pub fn with_cache_control(mut self, v: impl Into<String>) -> Self {
        self.cache_control = Some(v.into());
        self
    }

    /// Adds one user metadata entry (`x-amz-meta-NAME`); the name is lowercased as S3 does.
    #[must_use]
    pub fn with_metadata(mut self, name: impl AsRef<str>, value: impl Into<String>) -> Self {
        self.user_metadata
            .insert(name.as_ref().to_ascii_lowercase(), value.into());
        self
    }

    /// The size S3 counts against the 2 KB limit: names plus values in bytes.
    pub fn user_metadata_size(&self) -> usize {
        self.user_metadata
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum()
    }

    /// Normalizes as S3 stores: lowercased metadata names, the default content type; and checks the limit.
    pub(crate) fn normalized(mut self, bucket: &str, key: &str) -> Result<Self> {
        if self
            .user_metadata
            .keys()
            .any(|k| k.bytes().any(|b| b.is_ascii_uppercase()))
        {
            self.user_metadata = self
                .user_metadata
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect();
        }
        let size = self.user_metadata_size();
        if size > MAX_USER_METADATA {
            return Err(Error::MetadataTooLarge {
                bucket: bucket.to_string(),
                key: key.to_string(),
                size,
                max: MAX_USER_METADATA,
            });
        }
        if self.content_type.is_none() {
            self.content_type = Some(DEFAULT_CONTENT_TYPE.to_string());
        }
        Ok(self)
    }

    /// The attributes as an object keeps them, behind an `Arc`: attributes that are only a content type
    /// (most objects' are) are shared by every object with that content type, so each such object costs
    /// a pointer instead of 168 bytes and a string.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use objstore::ObjectAttributes;
    /// let a = ObjectAttributes::default().with_content_type("text/plain").into_shared();
    /// let b = ObjectAttributes::default().with_content_type("text/plain").into_shared();
    /// assert!(Arc::ptr_eq(&a, &b));
    /// ```
    pub fn into_shared(self) -> Arc<ObjectAttributes> {
        let only_type = self.content_encoding.is_none()
            && self.content_disposition.is_none()
            && self.content_language.is_none()
            && self.cache_control.is_none()
            && self.expires.is_none()
            && self.user_metadata.is_empty();
        match &self.content_type {
            _ if !only_type => Arc::new(self),
            None => NO_ATTRIBUTES.clone(),
            Some(t) if t.len() > MAX_SHARED_TYPE_LEN => Arc::new(self),
            Some(t) => {
                if let Some(shared) = SHARED_TYPES.read().get(t.as_str()) {
                    return shared.clone();
                }
                let mut table = SHARED_TYPES.write();
                if let Some(shared) = table.get(t.as_str()) {
                    return shared.clone();
                }
                let t: Box<str> = t.as_str().into();
                let shared = Arc::new(self);
                if table.len() < MAX_SHARED_TYPES {
                    table.insert(t, shared.clone());
                }
                shared
            }
        }
    }
}

/// How many distinct content types are shared at most (a store with more keeps the rest per object);
/// the table is never emptied, so it holds at most about a megabyte.
const MAX_SHARED_TYPES: usize = 4096;
/// Longer content types are kept per object.
const MAX_SHARED_TYPE_LEN: usize = 128;

/// Attributes with nothing set, shared.
static NO_ATTRIBUTES: LazyLock<Arc<ObjectAttributes>> =
    LazyLock::new(|| Arc::new(ObjectAttributes::default()));

/// Attributes that are only a content type, shared by content type.
static SHARED_TYPES: LazyLock<RwLock<HashMap<Box<str>, Arc<ObjectAttributes>>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

/// Serde for an object's shared attributes: written as the plain struct, read back into the shared form.
mod shared_attributes {
    use super::{Arc, Deserialize, Deserializer, ObjectAttributes, Serialize, Serializer};
    use std::result::Result;

    pub(super) fn serialize<S: Serializer>(
        a: &Arc<ObjectAttributes>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        ObjectAttributes::serialize(a, s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Arc<ObjectAttributes>, D::Error> {
        Ok(ObjectAttributes::deserialize(d)?.into_shared())
    }
}

/// What S3 knows about one stored object: what `HeadObject` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// The object's key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The entity tag.
    pub etag: ETag,
    /// When the object was written, by the store's clock (millisecond precision, as S3 lists it).
    pub last_modified: SystemTime,
    /// Stored headers and user metadata, shared between objects where they are equal and only a content
    /// type (see [`ObjectAttributes::into_shared`]); `Arc::make_mut` changes one object's.
    #[serde(with = "shared_attributes")]
    pub attributes: Arc<ObjectAttributes>,
    /// The version's id: [`NULL_VERSION`] for the version an unversioned or suspended bucket writes.
    #[serde(default = "null_version")]
    pub version_id: String,
    /// Whether this version is a delete marker (no content; `size` 0).
    #[serde(default)]
    pub is_delete_marker: bool,
    /// The storage class.
    #[serde(default)]
    pub storage_class: StorageClass,
    /// Object tags (at most 10).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The checksum the client asked for, verified at write time.
    #[serde(default)]
    pub checksum: Option<Checksum>,
    /// Object lock retention of this version (boxed: most versions have none).
    #[serde(default)]
    pub retention: Option<Box<Retention>>,
    /// Object lock legal hold of this version.
    #[serde(default)]
    pub legal_hold: bool,
    /// The state of a restore from an archive class (boxed: most versions have none).
    #[serde(default)]
    pub restore: Option<Box<RestoreState>>,
    /// For an object completed from a multipart upload, its number of parts.
    #[serde(default)]
    pub parts_count: Option<u32>,
    /// For an object completed from a multipart upload, the size of each part in order: what a get by
    /// part number reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_sizes: Vec<u64>,
    /// Orders the versions of one key: a later write has a larger `seq`. Set by the backend.
    #[serde(default)]
    pub seq: u64,
}

/// The version id of the null version: the one an unversioned or versioning-suspended bucket writes.
pub const NULL_VERSION: &str = "null";

fn null_version() -> String {
    NULL_VERSION.to_string()
}

impl ObjectMeta {
    /// Metadata for a new version of `key` with no content yet: everything else at its default.
    pub(crate) fn new(key: &str, size: u64, etag: ETag, last_modified: SystemTime) -> Self {
        ObjectMeta {
            key: key.to_string(),
            size,
            etag,
            last_modified,
            attributes: NO_ATTRIBUTES.clone(),
            version_id: null_version(),
            is_delete_marker: false,
            storage_class: StorageClass::default(),
            tags: BTreeMap::new(),
            checksum: None,
            retention: None,
            legal_hold: false,
            restore: None,
            parts_count: None,
            part_sizes: Vec::new(),
            seq: 0,
        }
    }
}

/// What a bucket listing says of a bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketInfo {
    /// The bucket's name.
    pub name: String,
    /// When it was created.
    pub created: SystemTime,
}

/// Cuts a time to whole milliseconds, the precision S3 keeps.
pub(crate) fn to_millis(t: SystemTime) -> SystemTime {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(d.as_millis() as u64),
        Err(_) => t,
    }
}

/// Whole seconds since the epoch: the precision of HTTP dates, used by conditional requests.
pub(crate) fn to_secs(t: SystemTime) -> i128 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i128,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i128),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 18: what every stored version carries inline. Rare fields are boxed and the attributes
    /// shared, so the metadata takes 224 bytes (it took 440).
    #[test]
    fn metadata_is_small_and_plain_attributes_are_shared() {
        let size = std::mem::size_of::<ObjectMeta>();
        assert!(size <= 224, "ObjectMeta is {size} bytes");

        let plain = |t: &str| {
            ObjectAttributes::default()
                .with_content_type(t)
                .into_shared()
        };
        assert!(Arc::ptr_eq(&plain("image/png"), &plain("image/png")));
        assert!(!Arc::ptr_eq(&plain("image/png"), &plain("image/gif")));
        assert!(Arc::ptr_eq(
            &ObjectAttributes::default().into_shared(),
            &ObjectMeta::new("k", 0, ETag::of(b""), SystemTime::UNIX_EPOCH).attributes
        ));
        // Attributes beyond a content type are the object's own, and kept whole.
        let own = || {
            ObjectAttributes::default()
                .with_content_type("image/png")
                .with_metadata("owner", "me")
                .into_shared()
        };
        let (a, b) = (own(), own());
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(a.user_metadata.get("owner").map(String::as_str), Some("me"));
        // A content type too long to share is kept per object, whole.
        let long = "x/".to_string() + &"y".repeat(MAX_SHARED_TYPE_LEN);
        assert_eq!(plain(&long).content_type.as_deref(), Some(long.as_str()));
        // Read back from JSON, plain attributes are shared again.
        let mut m = ObjectMeta::new("k", 0, ETag::of(b""), SystemTime::UNIX_EPOCH);
        m.attributes = plain("text/csv");
        let back: ObjectMeta = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert!(Arc::ptr_eq(&back.attributes, &m.attributes));
    }

    #[test]
    fn metadata_names_are_lowercased_and_limited() {
        let a = ObjectAttributes::default()
            .with_metadata("Owner", "me")
            .normalized("b", "k")
            .unwrap();
        assert_eq!(a.user_metadata.get("owner").map(String::as_str), Some("me"));
        assert_eq!(a.content_type.as_deref(), Some(DEFAULT_CONTENT_TYPE));

        let mut big = ObjectAttributes::default();
        big.user_metadata.insert("k".into(), "v".repeat(2048));
        let err = big.normalized("bkt", "key").unwrap_err();
        assert_eq!(err.code(), "MetadataTooLarge");
        assert!(matches!(
            err,
            Error::MetadataTooLarge {
                size: 2049,
                max: 2048,
                ..
            }
        ));
    }
}
