//! What a lifecycle pass did.

use crate::types::storage_class::StorageClass;

/// Something a lifecycle pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleAction {
    /// A current version expired: removed (unversioned bucket) or hidden by a new delete marker.
    Expired {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The version that expired.
        version_id: String,
    },
    /// A version changed storage class.
    Transitioned {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The version.
        version_id: String,
        /// Its class before.
        from: StorageClass,
        /// Its class now.
        to: StorageClass,
        /// Whether it was a noncurrent version.
        noncurrent: bool,
    },
    /// A noncurrent version was removed.
    NoncurrentExpired {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The version removed.
        version_id: String,
    },
    /// A delete marker with no version under it was removed.
    DeleteMarkerRemoved {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The marker's version id.
        version_id: String,
    },
    /// An incomplete multipart upload was aborted.
    UploadAborted {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The upload id.
        upload_id: String,
    },
}

/// What a lifecycle pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LifecycleReport {
    /// The actions, bucket by bucket, keys in order.
    pub actions: Vec<LifecycleAction>,
    /// Versions a rule would have removed but object lock protects: (bucket, key, version id, why).
    pub skipped: Vec<(String, String, String, String)>,
}

impl LifecycleReport {
    /// How many actions match `f`.
    pub fn count(&self, f: impl Fn(&LifecycleAction) -> bool) -> usize {
        self.actions.iter().filter(|a| f(a)).count()
    }
}
