//! Buckets: create, head, list, delete, naming rules, and `NoSuchBucket` for every object operation.

use stratus_clock::ManualClock;

use super::code;
use crate::{ListOptions, Store};

/// Bucket lifecycle: create, head, list sorted, delete only when empty, S3's errors.
pub async fn buckets(store: &Store, _clock: &ManualClock) {
    assert!(store.list_buckets().await.unwrap().is_empty());
    for name in ["zeta", "alpha", "mid-1"] {
        store.create_bucket(name).await.unwrap();
    }
    let names: Vec<_> = store
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, ["alpha", "mid-1", "zeta"]);
    assert_eq!(store.head_bucket("alpha").await.unwrap().name, "alpha");
    // Re-creating an owned bucket in us-east-1 (the default region) answers 200 and changes nothing
    // (CreateBucket, "BucketAlreadyOwnedByYou" in the S3 API reference); other regions are covered by
    // `recreate_owned_bucket_outside_us_east_1`.
    store
        .bucket("alpha")
        .unwrap()
        .put("kept", "v")
        .await
        .unwrap();
    store.create_bucket("alpha").await.unwrap();
    assert_eq!(
        &store
            .bucket("alpha")
            .unwrap()
            .get("kept")
            .await
            .unwrap()
            .body[..],
        b"v"
    );
    store.bucket("alpha").unwrap().delete("kept").await.unwrap();
    assert_eq!(code(store.head_bucket("nope").await), "NoSuchBucket");
    assert_eq!(code(store.delete_bucket("nope").await), "NoSuchBucket");

    let b = store.bucket("alpha").unwrap();
    b.put("k", "v").await.unwrap();
    let err = store.delete_bucket("alpha").await.unwrap_err();
    assert_eq!(err.code(), "BucketNotEmpty");
    assert!(err.to_string().contains("alpha"), "{err}");
    b.delete("k").await.unwrap();
    store.delete_bucket("alpha").await.unwrap();
    assert_eq!(code(store.head_bucket("alpha").await), "NoSuchBucket");
    assert_eq!(code(b.put("k", "v").await), "NoSuchBucket");
    assert_eq!(code(b.get("k").await), "NoSuchBucket");
    // The name is free again.
    store.create_bucket("alpha").await.unwrap();
    assert_eq!(store.list_buckets().await.unwrap().len(), 3);
}

/// Bucket naming rules reach the store's API.
pub async fn bucket_names(store: &Store, _clock: &ManualClock) {
    for bad in [
        "ab",
        "UPPER",
        "a_b",
        "-ab",
        "a..b",
        "10.0.0.1",
        "xn--ab",
        "ab-s3alias",
        "../etc",
    ] {
        let err = store.create_bucket(bad).await.unwrap_err();
        assert_eq!(err.code(), "InvalidBucketName", "{bad}");
        assert_eq!(err.status(), 400);
        assert_eq!(code(store.bucket(bad)), "InvalidBucketName");
    }
    assert!(
        store.list_buckets().await.unwrap().is_empty(),
        "no bad name was created"
    );
    store.create_bucket(&"a".repeat(63)).await.unwrap();
}

/// Every object operation on a missing bucket is `NoSuchBucket`.
pub async fn missing_bucket(store: &Store, _clock: &ManualClock) {
    let b = store.bucket("ghost").unwrap();
    assert_eq!(code(b.put("k", "v").await), "NoSuchBucket");
    assert_eq!(code(b.get("k").await), "NoSuchBucket");
    assert_eq!(code(b.head("k").await), "NoSuchBucket");
    assert_eq!(code(b.delete("k").await), "NoSuchBucket");
    assert_eq!(code(b.list(&ListOptions::default()).await), "NoSuchBucket");
    assert_eq!(
        code(b.list(&ListOptions::default().max_keys(0)).await),
        "NoSuchBucket"
    );
    let err = b.copy("a", "b").await.unwrap_err();
    assert_eq!(err.code(), "NoSuchBucket");
    assert!(err.to_string().contains("ghost"), "{err}");
}
