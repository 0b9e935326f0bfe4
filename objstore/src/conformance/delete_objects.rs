//! DeleteObjects: many keys, version ids, delete markers, quiet mode, governance bypass.

use std::time::Duration;

use stratus_clock::ManualClock;

use super::code;
use crate::{Error, Store};

/// DeleteObjects: per-key results, missing keys count as deleted, at most 1000 keys.
pub async fn delete_many(store: &Store, _clock: &ManualClock) {
    let b = store.create_bucket("bulk").await.unwrap();
    for i in 0..10 {
        b.put(&format!("k{i}"), "v").await.unwrap();
    }
    let too_long = "x".repeat(1025);
    let out = b
        .delete_many([
            "k0".to_string(),
            "k1".into(),
            "never".into(),
            too_long.clone(),
            "k9".into(),
        ])
        .await
        .unwrap();
    assert_eq!(out.deleted, ["k0", "k1", "never", "k9"]);
    assert_eq!(out.errors.len(), 1);
    assert_eq!(out.errors[0].key, too_long);
    assert_eq!(out.errors[0].error.code(), "KeyTooLongError");
    let left: Vec<_> = b
        .list_all("")
        .await
        .unwrap()
        .iter()
        .map(|m| m.key.clone())
        .collect();
    assert_eq!(left, ["k2", "k3", "k4", "k5", "k6", "k7", "k8"]);

    let err = b
        .delete_many((0..1001).map(|i| format!("k{i}")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "MalformedXML");
    assert!(matches!(
        err,
        Error::TooManyKeys {
            count: 1001,
            max: 1000,
            ..
        }
    ));
    assert_eq!(
        b.list_all("").await.unwrap().len(),
        7,
        "an oversized batch deletes nothing"
    );
    assert_eq!(
        code(store.bucket("nobucket").unwrap().delete_many(["a"]).await),
        "NoSuchBucket"
    );
}

/// DeleteObjects with version ids: versions removed for good, delete markers made and removed (reported
/// with their ids), per-entry errors naming key and version, quiet mode, governance bypass.
pub async fn delete_objects(store: &Store, _clock: &ManualClock) {
    use crate::{DeleteObjectsOptions as Opts, ObjectIdentifier as Id};
    let b = store.create_bucket("bulk-versions").await.unwrap();
    // Unversioned: a key without a version id is deleted for good, no marker.
    b.put("plain", "v").await.unwrap();
    let out = b.delete_objects(["plain"], Opts::default()).await.unwrap();
    assert_eq!(
        out.deleted,
        [crate::DeletedObject {
            key: "plain".into(),
            version_id: None,
            delete_marker: false,
            delete_marker_version_id: None,
        }]
    );
    assert!(b.list_all_versions("").await.unwrap().is_empty());

    b.set_versioning(crate::Versioning::Enabled).await.unwrap();
    let k1 = b.put("k", "one").await.unwrap().version_id.clone();
    let k2 = b.put("k", "two").await.unwrap().version_id.clone();
    b.put("j", "jay").await.unwrap();
    let too_long = "x".repeat(1025);
    let out = b
        .delete_objects(
            [
                Id::version("k", k1.as_str()),
                Id::new("j"),
                Id::version("k", "bad-id!"),
                Id::new(too_long.as_str()),
                Id::version("gone", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            ],
            Opts::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.deleted.len(), 3, "{:?}", out.deleted);
    assert_eq!(
        (
            out.deleted[0].key.as_str(),
            out.deleted[0].version_id.as_deref(),
            out.deleted[0].delete_marker
        ),
        ("k", Some(k1.as_str()), false)
    );
    let j = &out.deleted[1];
    assert!(j.delete_marker && j.version_id.is_none());
    let marker = j.delete_marker_version_id.clone().unwrap();
    // A version that does not exist is deleted, as S3 answers.
    assert_eq!(out.deleted[2].key, "gone");
    let errs: Vec<_> = out
        .errors
        .iter()
        .map(|e| (e.key.as_str(), e.version_id.as_deref(), e.error.code()))
        .collect();
    assert_eq!(
        errs,
        [
            ("k", Some("bad-id!"), "InvalidArgument"),
            (too_long.as_str(), None, "KeyTooLongError"),
        ]
    );
    // k keeps only its second version; j is hidden by the marker the call reported.
    assert_eq!(&b.get("k").await.unwrap().body[..], b"two");
    let versions = b.list_all_versions("").await.unwrap();
    let ids: Vec<_> = versions
        .iter()
        .map(|v| {
            (
                v.meta.key.as_str(),
                v.meta.version_id.as_str(),
                v.meta.is_delete_marker,
            )
        })
        .collect();
    assert!(ids.contains(&("j", marker.as_str(), true)), "{ids:?}");
    assert!(ids.contains(&("k", k2.as_str(), false)), "{ids:?}");
    assert!(!ids.iter().any(|(_, v, _)| *v == k1), "{ids:?}");
    assert_eq!(code(b.get("j").await), "NoSuchKey");
    // Deleting the marker by its id reports a marker deleted, and brings j back. Quiet reports nothing.
    let out = b
        .delete_objects([Id::version("j", marker.as_str())], Opts::default())
        .await
        .unwrap();
    assert_eq!(
        out.deleted,
        [crate::DeletedObject {
            key: "j".into(),
            version_id: Some(marker.clone()),
            delete_marker: true,
            delete_marker_version_id: Some(marker.clone()),
        }]
    );
    assert_eq!(&b.get("j").await.unwrap().body[..], b"jay");
    let quiet = Opts {
        quiet: true,
        ..Default::default()
    };
    let out = b
        .delete_objects([Id::version("k", k2.as_str())], quiet)
        .await
        .unwrap();
    assert!(out.deleted.is_empty() && out.errors.is_empty());
    assert_eq!(code(b.get("k").await), "NoSuchKey");

    // Object lock: a version under GOVERNANCE retention needs the bypass.
    let lock = crate::ObjectLockConfig {
        default_retention: Some(crate::DefaultRetention {
            mode: crate::RetentionMode::Governance,
            period: Duration::from_secs(86_400),
        }),
    };
    b.set_object_lock(lock).await.unwrap();
    let g = b.put("g", "kept").await.unwrap().version_id.clone();
    let out = b
        .delete_objects([Id::version("g", g.as_str())], Opts::default())
        .await
        .unwrap();
    assert_eq!(out.errors.len(), 1);
    assert_eq!(out.errors[0].error.code(), "AccessDenied");
    assert_eq!(out.errors[0].version_id.as_deref(), Some(g.as_str()));
    assert_eq!(&b.get("g").await.unwrap().body[..], b"kept");
    let bypass = Opts {
        bypass_governance: true,
        ..Default::default()
    };
    let out = b
        .delete_objects([Id::version("g", g.as_str())], bypass)
        .await
        .unwrap();
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(code(b.get("g").await), "NoSuchKey");

    let err = b
        .delete_objects((0..1001).map(|i| format!("k{i}")), Opts::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TooManyKeys { count: 1001, .. }));
    assert_eq!(
        code(
            store
                .bucket("nobucket")
                .unwrap()
                .delete_objects(["a"], Opts::default())
                .await
        ),
        "NoSuchBucket"
    );
}
