//! Object and bucket tagging.

use stratus_clock::ManualClock;

use super::{code, tagset};
use crate::{PutOptions, Store};

/// Object and bucket tags: stored with a put, per version, replaced and removed, S3's limits.
pub async fn tags(store: &Store, _clock: &ManualClock) {
    let b = store.create_bucket("tags").await.unwrap();
    b.set_versioning(crate::Versioning::Enabled).await.unwrap();
    let v1 = b
        .put_opts(
            "k",
            "v1",
            PutOptions {
                tags: tagset(&[("team", "data"), ("env", "prod")]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v1.tags, tagset(&[("env", "prod"), ("team", "data")]));
    let v2 = b.put("k", "v2").await.unwrap();
    assert!(b.object_tags("k", None).await.unwrap().is_empty());
    assert_eq!(
        b.object_tags("k", Some(&v1.version_id)).await.unwrap(),
        tagset(&[("env", "prod"), ("team", "data")])
    );
    b.set_object_tags("k", None, tagset(&[("a", "1")]))
        .await
        .unwrap();
    assert_eq!(b.head("k").await.unwrap().tags, tagset(&[("a", "1")]));
    assert_eq!(
        b.get("k").await.unwrap().meta.version_id,
        v2.version_id,
        "tagging adds no version"
    );
    assert_eq!(&b.get("k").await.unwrap().body[..], b"v2");
    b.set_object_tags("k", Some(&v1.version_id), Default::default())
        .await
        .unwrap();
    assert!(
        b.object_tags("k", Some(&v1.version_id))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.list_all_versions("").await.unwrap().len(), 2);

    // Limits: 10 tags, 128-character keys, 256-character values, S3's characters, no aws: prefix.
    let eleven: Vec<(String, String)> = (0..11).map(|i| (format!("k{i}"), "v".into())).collect();
    let eleven: std::collections::BTreeMap<String, String> = eleven.into_iter().collect();
    // More than 10 object tags is 400 BadRequest "Object tags cannot be greater than 10" (PutObjectTagging,
    // S3 API reference; "Categorizing your storage using tags", S3 user guide), on the header too.
    let err = b
        .set_object_tags("k", None, eleven.clone())
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.status()), ("BadRequest", 400));
    assert!(
        err.to_string()
            .contains("Object tags cannot be greater than 10"),
        "{err}"
    );
    let put = b.put_opts(
        "eleven",
        "x",
        PutOptions {
            tags: eleven,
            ..Default::default()
        },
    );
    assert_eq!(code(put.await), "BadRequest");
    assert_eq!(code(b.get("eleven").await), "NoSuchKey");
    let ten: std::collections::BTreeMap<String, String> =
        (0..10).map(|i| (format!("k{i}"), "v".into())).collect();
    b.set_object_tags("k", None, ten).await.unwrap();
    for bad in [
        tagset(&[(&"x".repeat(129), "v")]),
        tagset(&[("k", &"v".repeat(257))]),
        tagset(&[("", "v")]),
        tagset(&[("aws:owner", "v")]),
        tagset(&[("k", "a*b")]),
    ] {
        assert_eq!(
            code(b.set_object_tags("k", None, bad.clone()).await),
            "InvalidTag",
            "{bad:?}"
        );
        let put = b.put_opts(
            "t",
            "x",
            PutOptions {
                tags: bad,
                ..Default::default()
            },
        );
        assert_eq!(code(put.await), "InvalidTag");
    }
    b.set_object_tags(
        "k",
        None,
        tagset(&[(&"é".repeat(128), &"ü".repeat(256)), ("a b+-=._:/@", "ok")]),
    )
    .await
    .unwrap();
    assert_eq!(
        code(b.head("t").await),
        "NoSuchKey",
        "a rejected put stores nothing"
    );
    assert_eq!(code(b.object_tags("missing", None).await), "NoSuchKey");
    assert_eq!(
        code(
            b.set_object_tags("k", Some("nover"), tagset(&[("a", "1")]))
                .await
        ),
        "NoSuchVersion"
    );
    b.delete("k").await.unwrap();
    assert_eq!(code(b.object_tags("k", None).await), "NoSuchKey");

    // Bucket tags: up to 50.
    assert!(b.bucket_tags().await.unwrap().is_empty());
    b.set_bucket_tags(tagset(&[("cost-center", "42")]))
        .await
        .unwrap();
    assert_eq!(
        b.bucket_tags().await.unwrap(),
        tagset(&[("cost-center", "42")])
    );
    let fifty_one = (0..51)
        .map(|i| (format!("k{i}"), "v".to_string()))
        .collect();
    assert_eq!(code(b.set_bucket_tags(fifty_one).await), "InvalidTag");
    assert_eq!(
        b.bucket_tags().await.unwrap(),
        tagset(&[("cost-center", "42")])
    );
}
