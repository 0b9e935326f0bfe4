//! Object lock: retention modes, legal hold, bypass.

use std::time::Duration;

use stratus_clock::ManualClock;

use super::code;
use crate::{DeleteOptions, PutOptions, Store};

/// Object lock: default retention, GOVERNANCE with bypass, COMPLIANCE without, legal hold; errors say why.
pub async fn object_lock(store: &Store, clock: &ManualClock) {
    use crate::{DefaultRetention, ObjectLockConfig, Retention, RetentionMode as M};
    let day = Duration::from_secs(86_400);
    let b = store.create_bucket("locked").await.unwrap();
    // Object lock settings need object lock, which needs versioning.
    let held = PutOptions {
        legal_hold: true,
        ..Default::default()
    };
    assert_eq!(code(b.put_opts("k", "v", held).await), "InvalidRequest");
    b.put("plain", "v").await.unwrap();
    assert_eq!(
        code(b.set_legal_hold("plain", None, true).await),
        "InvalidRequest"
    );
    assert_eq!(
        code(b.set_retention("plain", None, None, false).await),
        "InvalidRequest"
    );
    let lock = ObjectLockConfig {
        default_retention: Some(DefaultRetention {
            mode: M::Governance,
            period: day,
        }),
    };
    assert_eq!(
        code(b.set_object_lock(lock.clone()).await),
        "InvalidBucketState"
    );
    b.set_versioning(crate::Versioning::Enabled).await.unwrap();
    let zero = ObjectLockConfig {
        default_retention: Some(DefaultRetention {
            mode: M::Governance,
            period: Duration::ZERO,
        }),
    };
    assert_eq!(code(b.set_object_lock(zero).await), "MalformedXML");
    b.set_object_lock(lock.clone()).await.unwrap();
    assert_eq!(b.object_lock().await.unwrap(), Some(lock));
    let err = b
        .set_versioning(crate::Versioning::Suspended)
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.status()), ("InvalidBucketState", 409));

    // Default GOVERNANCE retention: deletes of the version need bypass; a plain delete adds a marker.
    let now = clock.clock().now();
    let g = b.put("gov", "v").await.unwrap();
    assert_eq!(
        g.retention.as_deref(),
        Some(&Retention {
            mode: M::Governance,
            retain_until: now + day
        })
    );
    let by_id = |v: &str, bypass: bool| DeleteOptions {
        version_id: Some(v.to_string()),
        bypass_governance: bypass,
        ..Default::default()
    };
    let err = b
        .delete_opts("gov", by_id(&g.version_id, false))
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.status()), ("AccessDenied", 403));
    assert!(err.to_string().contains("GOVERNANCE"), "{err}");
    let marker = b
        .delete_opts("gov", DeleteOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert!(marker.is_delete_marker && marker.retention.is_none());
    b.delete_version("gov", &marker.version_id).await.unwrap();
    b.delete_opts("gov", by_id(&g.version_id, true))
        .await
        .unwrap();
    assert_eq!(
        code(b.get_version("gov", &g.version_id).await),
        "NoSuchVersion"
    );
    // GOVERNANCE can be shortened only with bypass.
    let g2 = b.put("gov", "v2").await.unwrap();
    let shorter = Some(Retention {
        mode: M::Governance,
        retain_until: now + day / 2,
    });
    assert_eq!(
        code(b.set_retention("gov", None, shorter.clone(), false).await),
        "AccessDenied"
    );
    b.set_retention("gov", None, shorter, true).await.unwrap();
    b.set_retention("gov", Some(&g2.version_id), None, true)
        .await
        .unwrap();
    b.delete_version("gov", &g2.version_id).await.unwrap();

    // COMPLIANCE: no bypass, only extensions.
    let until = now + 10 * day;
    let c = b
        .put_opts(
            "comp",
            "v",
            PutOptions {
                retention: Some(Retention {
                    mode: M::Compliance,
                    retain_until: until,
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let err = b
        .delete_opts("comp", by_id(&c.version_id, true))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "AccessDenied");
    assert!(err.to_string().contains("COMPLIANCE"), "{err}");
    for change in [
        None,
        Some(Retention {
            mode: M::Compliance,
            retain_until: until - day,
        }),
        Some(Retention {
            mode: M::Governance,
            retain_until: until + day,
        }),
    ] {
        assert_eq!(
            code(b.set_retention("comp", None, change, true).await),
            "AccessDenied"
        );
    }
    let longer = Some(Retention {
        mode: M::Compliance,
        retain_until: until + day,
    });
    b.set_retention("comp", None, longer.clone(), false)
        .await
        .unwrap();
    assert_eq!(
        b.head("comp").await.unwrap().retention.as_deref(),
        longer.as_ref()
    );
    clock.advance(11 * day - Duration::from_secs(1));
    assert_eq!(
        code(b.delete_version("comp", &c.version_id).await),
        "AccessDenied"
    );
    clock.advance(Duration::from_secs(1));
    b.delete_version("comp", &c.version_id).await.unwrap();

    // Legal hold: blocks deletion whatever the retention, until lifted.
    let h = b.put("hold", "v").await.unwrap();
    b.set_legal_hold("hold", Some(&h.version_id), true)
        .await
        .unwrap();
    clock.advance(2 * day);
    let err = b
        .delete_opts("hold", by_id(&h.version_id, true))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "AccessDenied");
    assert!(err.to_string().contains("legal hold"), "{err}");
    assert!(b.get_version("hold", &h.version_id).await.is_ok());
    b.set_legal_hold("hold", None, false).await.unwrap();
    b.delete_version("hold", &h.version_id).await.unwrap();
}
