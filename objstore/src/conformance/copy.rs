//! CopyObject.

use std::time::Duration;

use stratus_clock::ManualClock;

use super::code;
use crate::{Conditions, CopyOptions, MetadataDirective, ObjectAttributes, PutOptions, Store};

/// CopyObject: within and across buckets, metadata copied or replaced, conditions, S3's refusals.
pub async fn copy(store: &Store, clock: &ManualClock) {
    let src = store.create_bucket("src").await.unwrap();
    let dst = store.create_bucket("dst").await.unwrap();
    let attrs = ObjectAttributes::default()
        .with_content_type("text/plain")
        .with_metadata("a", "1");
    let m = src
        .put_opts(
            "k",
            "payload",
            PutOptions {
                attributes: attrs.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    clock.advance(Duration::from_secs(30));

    let c = src.copy("k", "k2").await.unwrap();
    assert_eq!(c.etag, m.etag);
    assert_eq!(c.attributes, m.attributes);
    assert_eq!(c.last_modified, m.last_modified + Duration::from_secs(30));
    assert_eq!(&src.get("k2").await.unwrap().body[..], b"payload");

    let c = dst
        .copy_from("src", "k", "copied", CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(c.etag, m.etag);
    assert_eq!(&dst.get("copied").await.unwrap().body[..], b"payload");

    let replaced = ObjectAttributes::default().with_content_type("application/json");
    let opts = CopyOptions {
        metadata: MetadataDirective::Replace(replaced),
        ..Default::default()
    };
    let c = dst.copy_from("src", "k", "replaced", opts).await.unwrap();
    assert_eq!(
        c.attributes.content_type.as_deref(),
        Some("application/json")
    );
    assert!(c.attributes.user_metadata.is_empty());

    let err = src.copy("k", "k").await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("InvalidRequest", 400));
    let opts = CopyOptions {
        metadata: MetadataDirective::Replace(attrs.with_metadata("b", "2")),
        ..Default::default()
    };
    let c = src.copy_from("src", "k", "k", opts).await.unwrap();
    assert_eq!(
        c.attributes.user_metadata.len(),
        2,
        "a copy onto itself that replaces metadata is allowed"
    );

    // Source conditions: failures are 412 even for the "none-match" and "modified-since" forms.
    let tag = m.etag.as_str().to_string();
    for (cond, ok) in [
        (Conditions::default().if_match(&tag), true),
        (Conditions::default().if_match("\"x\""), false),
        (Conditions::default().if_none_match(&tag), false),
        (
            Conditions::default().if_modified_since(clock.clock().now()),
            false,
        ),
    ] {
        let opts = CopyOptions {
            source_conditions: cond.clone(),
            ..Default::default()
        };
        match dst.copy_from("src", "k", "cond", opts).await {
            Ok(_) => assert!(ok, "{cond:?}"),
            Err(e) => assert!(
                !ok && e.code() == "PreconditionFailed" && e.status() == 412,
                "{cond:?}: {e}"
            ),
        }
    }
    // Destination conditions, as on a put.
    let opts = CopyOptions {
        conditions: Conditions::default().if_none_match("*"),
        ..Default::default()
    };
    assert_eq!(
        code(dst.copy_from("src", "k", "copied", opts).await),
        "PreconditionFailed"
    );
    assert_eq!(
        code(
            dst.copy_from("src", "missing", "x", CopyOptions::default())
                .await
        ),
        "NoSuchKey"
    );
    assert_eq!(
        code(
            dst.copy_from("nobucket", "k", "x", CopyOptions::default())
                .await
        ),
        "NoSuchBucket"
    );
    assert_eq!(code(dst.head("x").await), "NoSuchKey");
}
