//! Storage classes and the restore of archived objects.

use std::time::Duration;

use stratus_clock::ManualClock;

use super::code;
use crate::{CopyOptions, PutOptions, Store};

/// Storage classes on put and copy; archived objects need a restore, which completes after the class's
/// delay on the clock and expires after the days asked for.
pub async fn storage_classes(store: &Store, clock: &ManualClock) {
    use crate::StorageClass as C;
    let b = store.create_bucket("classes").await.unwrap();
    for class in C::ALL {
        let key = format!("k-{class}");
        let m = b
            .put_opts(
                &key,
                "data",
                PutOptions {
                    storage_class: class,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(m.storage_class, class);
        assert_eq!(
            b.head(&key).await.unwrap().storage_class,
            class,
            "head answers for every class"
        );
        let got = b.get(&key).await;
        if class.is_archived() {
            let err = got.unwrap_err();
            assert_eq!(
                (err.code(), err.status()),
                ("InvalidObjectState", 403),
                "{class}"
            );
            assert!(err.to_string().contains(class.as_str()), "{err}");
        } else {
            assert_eq!(&got.unwrap().body[..], b"data", "{class}");
        }
    }
    assert_eq!(
        b.list_all("").await.unwrap().len(),
        7,
        "archived objects are listed"
    );
    // Copy: STANDARD unless named; an archived source must be restored first.
    let c = b.copy("k-STANDARD_IA", "copied").await.unwrap();
    assert_eq!(c.storage_class, C::Standard);
    let c = b
        .copy_from(
            "classes",
            "k-STANDARD",
            "k-STANDARD",
            CopyOptions {
                storage_class: Some(C::OnezoneIa),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        c.storage_class,
        C::OnezoneIa,
        "a copy onto itself may change the class"
    );
    assert_eq!(code(b.copy("k-GLACIER", "x").await), "InvalidObjectState");
    assert_eq!(
        code(b.restore_object("k-STANDARD", None, 1).await),
        "InvalidObjectState"
    );
    assert_eq!(
        code(b.restore_object("k-GLACIER", None, 0).await),
        "InvalidArgument"
    );
    assert_eq!(
        code(b.restore_object("missing", None, 1).await),
        "NoSuchKey"
    );

    // GLACIER: 4 hours by default.
    let r = b.restore_object("k-GLACIER", None, 2).await.unwrap();
    let now = clock.clock().now();
    assert_eq!(r.ready_at, now + Duration::from_secs(4 * 3600));
    assert!(r.ongoing(now));
    assert_eq!(
        b.head("k-GLACIER").await.unwrap().restore.as_deref(),
        Some(&r)
    );
    assert_eq!(
        code(b.restore_object("k-GLACIER", None, 2).await),
        "RestoreAlreadyInProgress"
    );
    clock.advance(Duration::from_secs(4 * 3600 - 1));
    assert_eq!(code(b.get("k-GLACIER").await), "InvalidObjectState");
    clock.advance(Duration::from_secs(1));
    assert_eq!(&b.get("k-GLACIER").await.unwrap().body[..], b"data");
    assert_eq!(
        b.copy("k-GLACIER", "thawed").await.unwrap().storage_class,
        C::Standard
    );
    // Readable for 2 days, then archived again; a restore while readable extends it.
    clock.advance(Duration::from_secs(86_400));
    let r2 = b.restore_object("k-GLACIER", None, 2).await.unwrap();
    assert_eq!(
        r2.expires_at,
        clock.clock().now() + Duration::from_secs(2 * 86_400)
    );
    clock.advance(Duration::from_secs(2 * 86_400 - 1));
    assert!(b.get("k-GLACIER").await.is_ok());
    clock.advance(Duration::from_secs(1));
    assert_eq!(code(b.get("k-GLACIER").await), "InvalidObjectState");
    // DEEP_ARCHIVE: 12 hours by default.
    b.restore_object("k-DEEP_ARCHIVE", None, 1).await.unwrap();
    clock.advance(Duration::from_secs(12 * 3600 - 1));
    assert_eq!(code(b.get("k-DEEP_ARCHIVE").await), "InvalidObjectState");
    clock.advance(Duration::from_secs(1));
    assert!(b.get("k-DEEP_ARCHIVE").await.is_ok());
}
