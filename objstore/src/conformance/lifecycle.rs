//! Lifecycle rules run by the scheduled runner.

use std::time::Duration;

use stratus_clock::ManualClock;

use super::{code, tagset};
use crate::{PutOptions, Store};

const DAY: Duration = Duration::from_secs(86_400);

/// The issue's rule, "transition to GLACIER after 30 days, expire after 365", run by the scheduled runner
/// once a day of the manual clock, and observed at day 29, 31 and 366.
pub async fn lifecycle_schedule(store: &Store, clock: &ManualClock) {
    use crate::{LifecycleAction as A, LifecycleConfiguration, StorageClass};
    let b = store.create_bucket("lcs").await.unwrap();
    let rules = LifecycleConfiguration::from_json(
        r#"{"Rules": [{"ID": "archive", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
            "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}], "Expiration": {"Days": 365}}]}"#,
    )
    .unwrap();
    b.set_lifecycle(Some(rules.clone())).await.unwrap();
    assert_eq!(b.lifecycle().await.unwrap(), Some(rules));
    b.put("logs/a", "a").await.unwrap();
    b.put("keep/b", "b").await.unwrap();
    let mut runner = store.spawn_lifecycle(DAY);
    let mut transitions = 0;
    let mut expirations = 0;
    for day in 1..=366u32 {
        clock.wait_for_sleepers(1).await;
        clock.advance(DAY);
        let report = runner.next_report().await.unwrap().unwrap();
        for a in &report.actions {
            match a {
                A::Transitioned { key, to, .. } => {
                    assert_eq!(
                        (key.as_str(), *to, day),
                        ("logs/a", StorageClass::Glacier, 30)
                    );
                    transitions += 1;
                }
                A::Expired { key, .. } => {
                    assert_eq!((key.as_str(), day), ("logs/a", 365));
                    expirations += 1;
                }
                other => panic!("day {day}: unexpected {other:?}"),
            }
        }
        match day {
            29 => {
                let m = b.head("logs/a").await.unwrap();
                assert_eq!(m.storage_class, StorageClass::Standard, "day 29: not yet");
                assert!(b.get("logs/a").await.is_ok());
            }
            31 => {
                let m = b.head("logs/a").await.unwrap();
                assert_eq!(m.storage_class, StorageClass::Glacier, "day 31: archived");
                assert_eq!(code(b.get("logs/a").await), "InvalidObjectState");
            }
            366 => {
                assert_eq!(
                    code(b.head("logs/a").await),
                    "NoSuchKey",
                    "day 366: expired"
                );
                let keys: Vec<_> = b
                    .list_all("")
                    .await
                    .unwrap()
                    .iter()
                    .map(|m| m.key.clone())
                    .collect();
                assert_eq!(keys, ["keep/b"], "the filter kept other keys");
                assert_eq!(
                    b.head("keep/b").await.unwrap().storage_class,
                    StorageClass::Standard
                );
            }
            _ => {}
        }
    }
    assert_eq!((transitions, expirations), (1, 1));
    drop(runner);
    // A pass on demand now finds nothing to do.
    assert!(store.run_lifecycle().await.unwrap().actions.is_empty());
}

/// Lifecycle in a versioned bucket: tag and size filters, noncurrent transition and expiration with
/// NewerNoncurrentVersions, expired delete markers, incomplete uploads, disabled rules, object lock.
pub async fn lifecycle_versions(store: &Store, clock: &ManualClock) {
    use crate::{LifecycleAction as A, LifecycleConfiguration, StorageClass};
    let hour = Duration::from_secs(3600);
    clock.advance(hour); // t0 is 01:00 UTC, so "d days" falls due at t0 + d days + 23 hours
    let b = store.create_bucket("lcv").await.unwrap();
    b.set_versioning(crate::Versioning::Enabled).await.unwrap();
    let a = b.put("v/k", "a").await.unwrap();
    b.put_opts(
        "t/x",
        "x",
        PutOptions {
            tags: tagset(&[("temp", "yes")]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    b.put("t/y", "y").await.unwrap();
    b.put("s/big", vec![0u8; 200]).await.unwrap();
    b.put("s/small", vec![0u8; 10]).await.unwrap();
    let up = b
        .create_multipart_upload("u/part", Default::default())
        .await
        .unwrap();
    let m = b.put("m/k", "m").await.unwrap();
    let rules = LifecycleConfiguration::from_json(
        r#"{"Rules": [
            {"ID": "noncurrent", "Status": "Enabled", "Filter": {"Prefix": "v/"},
             "NoncurrentVersionTransitions": [{"NoncurrentDays": 2, "StorageClass": "STANDARD_IA"}],
             "NoncurrentVersionExpiration": {"NoncurrentDays": 5, "NewerNoncurrentVersions": 1}},
            {"ID": "markers", "Status": "Enabled", "Filter": {"Prefix": "m/"},
             "Expiration": {"ExpiredObjectDeleteMarker": true}},
            {"ID": "temp", "Status": "Enabled", "Filter": {"Tag": {"Key": "temp", "Value": "yes"}},
             "Expiration": {"Days": 1}},
            {"ID": "big", "Status": "Enabled",
             "Filter": {"And": {"Prefix": "s/", "ObjectSizeGreaterThan": 100}}, "Expiration": {"Days": 1}},
            {"ID": "uploads", "Status": "Enabled", "Filter": {"Prefix": "u/"},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
            {"ID": "off", "Status": "Disabled", "Filter": {}, "Expiration": {"Days": 1}}
        ]}"#,
    )
    .unwrap();
    b.set_lifecycle(Some(rules)).await.unwrap();
    assert!(
        b.run_lifecycle().await.unwrap().actions.is_empty(),
        "nothing is due at t0"
    );

    clock.advance(DAY);
    let bv = b.put("v/k", "b").await.unwrap(); // a is noncurrent from t0 + 1 day
    clock.advance(DAY);
    let c = b.put("v/k", "c").await.unwrap(); // b is noncurrent from t0 + 2 days
    b.delete("m/k").await.unwrap();
    b.delete_version("m/k", &m.version_id).await.unwrap(); // the marker is left alone
    let r = b.run_lifecycle().await.unwrap();
    let expired: Vec<_> = r
        .actions
        .iter()
        .filter_map(|x| match x {
            A::Expired { key, .. } => Some(key.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        expired,
        ["s/big", "t/x"],
        "tag and size filters; t/y, s/small stay"
    );
    assert_eq!(
        r.count(|x| matches!(x, A::DeleteMarkerRemoved { key, .. } if key == "m/k")),
        1
    );
    assert_eq!(r.actions.len(), 3, "{r:?}");
    assert_eq!(code(b.get("t/x").await), "NoSuchKey");
    assert_eq!(
        b.list_all_versions("t/x").await.unwrap().len(),
        2,
        "expiry adds a marker"
    );
    assert!(b.list_all_versions("m/").await.unwrap().is_empty());
    assert_eq!(
        b.list_multipart_uploads("").await.unwrap().len(),
        1,
        "not due yet"
    );

    clock.advance(2 * DAY); // t0 + 4 days
    let r = b.run_lifecycle().await.unwrap();
    assert_eq!(
        r.actions,
        [
            A::Transitioned {
                bucket: "lcv".into(),
                key: "v/k".into(),
                version_id: a.version_id.clone(),
                from: StorageClass::Standard,
                to: StorageClass::StandardIa,
                noncurrent: true,
            },
            A::UploadAborted {
                bucket: "lcv".into(),
                key: "u/part".into(),
                upload_id: up.upload_id.clone(),
            },
        ]
    );
    assert_eq!(
        code(b.list_parts("u/part", &up.upload_id).await),
        "NoSuchUpload"
    );

    clock.advance(3 * DAY); // t0 + 7 days: a is past 5 noncurrent days and has a newer noncurrent version
    let r = b.run_lifecycle().await.unwrap();
    assert_eq!(
        r.count(
            |x| matches!(x, A::NoncurrentExpired { version_id, .. } if *version_id == a.version_id)
        ),
        1
    );
    assert_eq!(
        r.count(
            |x| matches!(x, A::Transitioned { version_id, .. } if *version_id == bv.version_id)
        ),
        1
    );
    assert_eq!(r.actions.len(), 2, "{r:?}");
    clock.advance(30 * DAY);
    let r = b.run_lifecycle().await.unwrap();
    assert!(
        r.actions.is_empty(),
        "b is kept as the one newer noncurrent version: {r:?}"
    );
    let left = b.list_all_versions("v/").await.unwrap();
    assert_eq!(
        left.iter()
            .map(|e| (e.meta.version_id.clone(), e.meta.storage_class))
            .collect::<Vec<_>>(),
        [
            (c.version_id.clone(), StorageClass::Standard),
            (bv.version_id.clone(), StorageClass::StandardIa)
        ]
    );
    // The disabled rule never ran.
    assert!(b.get("t/y").await.is_ok() && b.get("s/small").await.is_ok());

    // Object lock protects noncurrent versions from expiration; the report says so.
    let l = store.create_bucket("lcl").await.unwrap();
    l.set_versioning(crate::Versioning::Enabled).await.unwrap();
    l.set_object_lock(crate::ObjectLockConfig {
        default_retention: Some(crate::DefaultRetention {
            mode: crate::RetentionMode::Governance,
            period: 100 * DAY,
        }),
    })
    .await
    .unwrap();
    let old = l.put("k", "old").await.unwrap();
    l.put("k", "new").await.unwrap();
    l.set_lifecycle(Some(
        LifecycleConfiguration::from_json(
            r#"{"Rules": [{"Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]}"#,
        )
        .unwrap(),
    ))
    .await
    .unwrap();
    clock.advance(3 * DAY);
    let r = l.run_lifecycle().await.unwrap();
    assert!(r.actions.is_empty());
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(r.skipped[0].2, old.version_id);
    assert!(r.skipped[0].3.contains("GOVERNANCE"), "{:?}", r.skipped);
    assert!(l.get_version("k", &old.version_id).await.is_ok());
    // Bad rules are refused when set.
    let bad = LifecycleConfiguration::from_json(r#"{"Rules": [{"Status": "Enabled"}]}"#).unwrap();
    assert_eq!(code(l.set_lifecycle(Some(bad)).await), "MalformedXML");
    l.set_lifecycle(None).await.unwrap();
    assert_eq!(l.lifecycle().await.unwrap(), None);
}
