//! S3's actions as a bucket policy names them (the "Actions defined by Amazon S3" table of the Service
//! Authorization Reference), each with the kind of resource it applies to. Every name the table lists is
//! accepted in a policy; objstore's operations each check one or more of them (see `bucket/access.rs`).

use std::fmt;

/// What an action applies to: a bucket ARN (`arn:aws:s3:::b`), an object ARN (`arn:aws:s3:::b/k`), or
/// neither (account-level actions such as `s3:ListAllMyBuckets`, which a bucket policy cannot grant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// `arn:aws:s3:::bucket`.
    Bucket,
    /// `arn:aws:s3:::bucket/key`.
    Object,
    /// Account-level: no bucket or object resource.
    Account,
}

/// One S3 action, such as `s3:GetObject`. `Action::GET_OBJECT.name()` is `"s3:GetObject"`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Action(pub(crate) u8);

/// A set of actions, one bit per entry of the action table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ActionSet([u64; 2]);

impl ActionSet {
    pub(crate) fn insert(&mut self, a: Action) {
        self.0[usize::from(a.0 / 64)] |= 1 << (a.0 % 64);
    }
    pub(crate) fn contains(&self, a: Action) -> bool {
        self.0[usize::from(a.0 / 64)] & (1 << (a.0 % 64)) != 0
    }
    pub(crate) fn iter(&self) -> impl Iterator<Item = Action> + '_ {
        (0..ACTIONS.len() as u8)
            .map(Action)
            .filter(|a| self.contains(*a))
    }
    /// Every action whose name matches the wildcard `pattern` (compared without case, as IAM compares
    /// action names).
    pub(crate) fn matching(pattern: &str) -> ActionSet {
        let mut set = ActionSet::default();
        for (i, (name, _)) in ACTIONS.iter().enumerate() {
            if super::pattern::matches(pattern, &["s3:", name], true) {
                set.insert(Action(i as u8));
            }
        }
        set
    }
    pub(crate) fn union(self, other: ActionSet) -> ActionSet {
        ActionSet([self.0[0] | other.0[0], self.0[1] | other.0[1]])
    }
    pub(crate) fn complement(self) -> ActionSet {
        let mut all = ActionSet::default();
        for i in 0..ACTIONS.len() as u8 {
            all.insert(Action(i));
        }
        ActionSet([all.0[0] & !self.0[0], all.0[1] & !self.0[1]])
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.0 == [0, 0]
    }
}

macro_rules! actions {
    ($($konst:ident = $name:literal : $kind:ident),* $(,)?) => {
        /// The table: names without the `s3:` prefix, and the resource each applies to.
        pub(crate) const ACTIONS: &[(&str, ResourceKind)] = &[$(($name, ResourceKind::$kind)),*];
        #[expect(non_camel_case_types, reason = "the table's own names, as constants")]
        #[repr(u8)]
        enum Index { $($konst),* }
        impl Action {
            $(
                #[doc = concat!("`s3:", $name, "`.")]
                pub const $konst: Action = Action(Index::$konst as u8);
            )*
        }
    };
}

actions! {
    ABORT_MULTIPART_UPLOAD = "AbortMultipartUpload": Object,
    BYPASS_GOVERNANCE_RETENTION = "BypassGovernanceRetention": Object,
    CREATE_BUCKET = "CreateBucket": Bucket,
    DELETE_BUCKET = "DeleteBucket": Bucket,
    DELETE_BUCKET_OWNERSHIP_CONTROLS = "DeleteBucketOwnershipControls": Bucket,
    DELETE_BUCKET_POLICY = "DeleteBucketPolicy": Bucket,
    DELETE_BUCKET_WEBSITE = "DeleteBucketWebsite": Bucket,
    DELETE_OBJECT = "DeleteObject": Object,
    DELETE_OBJECT_TAGGING = "DeleteObjectTagging": Object,
    DELETE_OBJECT_VERSION = "DeleteObjectVersion": Object,
    DELETE_OBJECT_VERSION_TAGGING = "DeleteObjectVersionTagging": Object,
    GET_ACCELERATE_CONFIGURATION = "GetAccelerateConfiguration": Bucket,
    GET_ANALYTICS_CONFIGURATION = "GetAnalyticsConfiguration": Bucket,
    GET_BUCKET_ACL = "GetBucketAcl": Bucket,
    GET_BUCKET_CORS = "GetBucketCORS": Bucket,
    GET_BUCKET_LOCATION = "GetBucketLocation": Bucket,
    GET_BUCKET_LOGGING = "GetBucketLogging": Bucket,
    GET_BUCKET_NOTIFICATION = "GetBucketNotification": Bucket,
    GET_BUCKET_OBJECT_LOCK_CONFIGURATION = "GetBucketObjectLockConfiguration": Bucket,
    GET_BUCKET_OWNERSHIP_CONTROLS = "GetBucketOwnershipControls": Bucket,
    GET_BUCKET_POLICY = "GetBucketPolicy": Bucket,
    GET_BUCKET_POLICY_STATUS = "GetBucketPolicyStatus": Bucket,
    GET_BUCKET_PUBLIC_ACCESS_BLOCK = "GetBucketPublicAccessBlock": Bucket,
    GET_BUCKET_REQUEST_PAYMENT = "GetBucketRequestPayment": Bucket,
    GET_BUCKET_TAGGING = "GetBucketTagging": Bucket,
    GET_BUCKET_VERSIONING = "GetBucketVersioning": Bucket,
    GET_BUCKET_WEBSITE = "GetBucketWebsite": Bucket,
    GET_ENCRYPTION_CONFIGURATION = "GetEncryptionConfiguration": Bucket,
    GET_INTELLIGENT_TIERING_CONFIGURATION = "GetIntelligentTieringConfiguration": Bucket,
    GET_INVENTORY_CONFIGURATION = "GetInventoryConfiguration": Bucket,
    GET_LIFECYCLE_CONFIGURATION = "GetLifecycleConfiguration": Bucket,
    GET_METRICS_CONFIGURATION = "GetMetricsConfiguration": Bucket,
    GET_OBJECT = "GetObject": Object,
    GET_OBJECT_ACL = "GetObjectAcl": Object,
    GET_OBJECT_ATTRIBUTES = "GetObjectAttributes": Object,
    GET_OBJECT_LEGAL_HOLD = "GetObjectLegalHold": Object,
    GET_OBJECT_RETENTION = "GetObjectRetention": Object,
    GET_OBJECT_TAGGING = "GetObjectTagging": Object,
    GET_OBJECT_TORRENT = "GetObjectTorrent": Object,
    GET_OBJECT_VERSION = "GetObjectVersion": Object,
    GET_OBJECT_VERSION_ACL = "GetObjectVersionAcl": Object,
    GET_OBJECT_VERSION_ATTRIBUTES = "GetObjectVersionAttributes": Object,
    GET_OBJECT_VERSION_FOR_REPLICATION = "GetObjectVersionForReplication": Object,
    GET_OBJECT_VERSION_TAGGING = "GetObjectVersionTagging": Object,
    GET_OBJECT_VERSION_TORRENT = "GetObjectVersionTorrent": Object,
    GET_REPLICATION_CONFIGURATION = "GetReplicationConfiguration": Bucket,
    INITIATE_REPLICATION = "InitiateReplication": Object,
    LIST_BUCKET = "ListBucket": Bucket,
    LIST_BUCKET_MULTIPART_UPLOADS = "ListBucketMultipartUploads": Bucket,
    LIST_BUCKET_VERSIONS = "ListBucketVersions": Bucket,
    LIST_MULTIPART_UPLOAD_PARTS = "ListMultipartUploadParts": Object,
    OBJECT_OWNER_OVERRIDE_TO_BUCKET_OWNER = "ObjectOwnerOverrideToBucketOwner": Object,
    PUT_ACCELERATE_CONFIGURATION = "PutAccelerateConfiguration": Bucket,
    PUT_ANALYTICS_CONFIGURATION = "PutAnalyticsConfiguration": Bucket,
    PUT_BUCKET_ACL = "PutBucketAcl": Bucket,
    PUT_BUCKET_CORS = "PutBucketCORS": Bucket,
    PUT_BUCKET_LOGGING = "PutBucketLogging": Bucket,
    PUT_BUCKET_NOTIFICATION = "PutBucketNotification": Bucket,
    PUT_BUCKET_OBJECT_LOCK_CONFIGURATION = "PutBucketObjectLockConfiguration": Bucket,
    PUT_BUCKET_OWNERSHIP_CONTROLS = "PutBucketOwnershipControls": Bucket,
    PUT_BUCKET_POLICY = "PutBucketPolicy": Bucket,
    PUT_BUCKET_PUBLIC_ACCESS_BLOCK = "PutBucketPublicAccessBlock": Bucket,
    PUT_BUCKET_REQUEST_PAYMENT = "PutBucketRequestPayment": Bucket,
    PUT_BUCKET_TAGGING = "PutBucketTagging": Bucket,
    PUT_BUCKET_VERSIONING = "PutBucketVersioning": Bucket,
    PUT_BUCKET_WEBSITE = "PutBucketWebsite": Bucket,
    PUT_ENCRYPTION_CONFIGURATION = "PutEncryptionConfiguration": Bucket,
    PUT_INTELLIGENT_TIERING_CONFIGURATION = "PutIntelligentTieringConfiguration": Bucket,
    PUT_INVENTORY_CONFIGURATION = "PutInventoryConfiguration": Bucket,
    PUT_LIFECYCLE_CONFIGURATION = "PutLifecycleConfiguration": Bucket,
    PUT_METRICS_CONFIGURATION = "PutMetricsConfiguration": Bucket,
    PUT_OBJECT = "PutObject": Object,
    PUT_OBJECT_ACL = "PutObjectAcl": Object,
    PUT_OBJECT_LEGAL_HOLD = "PutObjectLegalHold": Object,
    PUT_OBJECT_RETENTION = "PutObjectRetention": Object,
    PUT_OBJECT_TAGGING = "PutObjectTagging": Object,
    PUT_OBJECT_VERSION_ACL = "PutObjectVersionAcl": Object,
    PUT_OBJECT_VERSION_TAGGING = "PutObjectVersionTagging": Object,
    PUT_REPLICATION_CONFIGURATION = "PutReplicationConfiguration": Bucket,
    REPLICATE_DELETE = "ReplicateDelete": Object,
    REPLICATE_OBJECT = "ReplicateObject": Object,
    REPLICATE_TAGS = "ReplicateTags": Object,
    RESTORE_OBJECT = "RestoreObject": Object,
    LIST_ALL_MY_BUCKETS = "ListAllMyBuckets": Account,
    GET_ACCOUNT_PUBLIC_ACCESS_BLOCK = "GetAccountPublicAccessBlock": Account,
    PUT_ACCOUNT_PUBLIC_ACCESS_BLOCK = "PutAccountPublicAccessBlock": Account,
    LIST_ACCESS_POINTS = "ListAccessPoints": Account,
    CREATE_JOB = "CreateJob": Account,
}

impl Action {
    /// The action's name with its service prefix, `s3:GetObject`.
    pub fn name(self) -> String {
        format!("s3:{}", self.bare())
    }

    /// The name without the prefix, `GetObject`.
    pub fn bare(self) -> &'static str {
        ACTIONS[usize::from(self.0)].0
    }

    /// What the action applies to.
    pub fn resource_kind(self) -> ResourceKind {
        ACTIONS[usize::from(self.0)].1
    }

    /// The action named `s3:Name` (the name compared without case, as IAM does), if S3 has it.
    pub fn parse(name: &str) -> Option<Action> {
        name.get(..3).filter(|p| p.eq_ignore_ascii_case("s3:"))?;
        ACTIONS
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(&name[3..]))
            .map(|i| Action(i as u8))
    }

    /// Whether the action is one S3's Block Public Access calls a "bad action" (`s3:Get*`, `s3:List*`,
    /// `s3:AbortMultipartUpload`, `s3:Delete*`, `s3:Put*`, `s3:RestoreObject`: reads or writes of data).
    pub(crate) fn exposes_data(self) -> bool {
        let n = self.bare();
        n.starts_with("Get")
            || n.starts_with("List")
            || n.starts_with("Delete")
            || n.starts_with("Put")
            || n == "AbortMultipartUpload"
            || n == "RestoreObject"
    }
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3:{}", self.bare())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3:{}", self.bare())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_fits_the_set_and_names_round_trip() {
        assert!(ACTIONS.len() <= 128);
        assert_eq!(Action::GET_OBJECT.name(), "s3:GetObject");
        assert_eq!(Action::parse("S3:getobject"), Some(Action::GET_OBJECT));
        assert_eq!(Action::parse("s3:GetObjekt"), None);
        assert_eq!(Action::parse("sqs:SendMessage"), None);
        assert_eq!(Action::parse("s\u{e9}:GetObject"), None);
        let gets = ActionSet::matching("s3:Get*");
        assert!(gets.contains(Action::GET_OBJECT) && !gets.contains(Action::PUT_OBJECT));
        assert!(ActionSet::matching("*").complement().is_empty());
        assert_eq!(ActionSet::matching("s3:*").iter().count(), ACTIONS.len());
    }
}
