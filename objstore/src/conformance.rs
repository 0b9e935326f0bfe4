//! The conformance suite every backend runs: S3 behaviour, one async function per area.
//!
//! Each function takes a fresh, empty [`Store`] built on the backend under test with the given
//! [`ManualClock`], and panics on the first divergence from S3. [`conformance_tests!`](crate::conformance_tests)
//! turns the whole suite into `#[tokio::test]`s for one backend:
//!
//! ```ignore
//! objstore::conformance_tests!(|clock: &stratus_clock::ManualClock| {
//!     let store = objstore::Store::builder().with_clock(clock.clock()).build().unwrap();
//!     (store, ())
//! });
//! ```

use std::time::Duration;

use bytes::Bytes;
use stratus_clock::ManualClock;

use crate::{
    ByteRange, Conditions, CopyOptions, DEFAULT_CONTENT_TYPE, DeleteOptions, ETag, Error,
    GetOptions, ListOptions, MetadataDirective, ObjectAttributes, PutOptions, Store,
};

/// Generates one `#[tokio::test]` per conformance function for a backend. The argument is a closure
/// `|&ManualClock| -> (Store, Guard)`; the guard (a temp dir, say) lives as long as the test.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            buckets, bucket_names, put_get_head, metadata, keys, key_limits, ranges, conditional_reads,
            conditional_writes, create_only_race, delete, delete_many, delete_objects, copy, list_basics, list_delimiter,
            list_pagination, list_order, limits, missing_bucket, versioning, versions_delimiter,
            versioning_suspended,
            multipart, multipart_listing_pages, get_part_number, upload_part_copy, tags, checksums, storage_classes, object_lock,
            lifecycle_schedule, lifecycle_versions, storage_report);
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let clock = ::stratus_clock::ManualClock::new();
                let (store, _guard) = ($make)(&clock);
                $crate::conformance::$name(&store, &clock).await;
            }
        )*
    };
}

fn code<T: std::fmt::Debug>(r: crate::Result<T>) -> &'static str {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e.code(),
    }
}

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
    assert_eq!(
        code(store.create_bucket("alpha").await),
        "BucketAlreadyOwnedByYou"
    );
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

/// Put, get and head: MD5 ETags quoted as S3 quotes them, sizes, Last-Modified from the clock.
pub async fn put_get_head(store: &Store, clock: &ManualClock) {
    let b = store.create_bucket("data").await.unwrap();
    let before = clock.clock().now();
    let meta = b
        .put("fox", "The quick brown fox jumps over the lazy dog")
        .await
        .unwrap();
    assert_eq!(meta.etag.as_str(), "\"9e107d9d372bb6826bd81d3542a419d6\"");
    assert_eq!(meta.size, 43);
    assert_eq!(meta.last_modified, before);

    let got = b.get("fox").await.unwrap();
    assert_eq!(
        &got.body[..],
        b"The quick brown fox jumps over the lazy dog"
    );
    assert_eq!(got.meta.etag, meta.etag);
    assert_eq!(got.range, None);
    assert_eq!(*b.head("fox").await.unwrap(), *meta);

    // Overwrite: new content, new ETag, new Last-Modified.
    clock.advance(Duration::from_secs(5));
    let meta2 = b.put("fox", Bytes::new()).await.unwrap();
    assert_eq!(meta2.etag, ETag::of(b""));
    assert_eq!(meta2.last_modified, before + Duration::from_secs(5));
    assert!(b.get("fox").await.unwrap().body.is_empty());
    assert_eq!(b.head("fox").await.unwrap().size, 0);

    let err = b.get("missing").await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("NoSuchKey", 404));
    assert!(
        err.to_string().contains("missing") && err.to_string().contains("data"),
        "{err}"
    );
    assert_eq!(code(b.head("missing").await), "NoSuchKey");

    // A 1 MiB object round-trips byte for byte.
    let big: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let m = b.put("big", big.clone()).await.unwrap();
    assert_eq!(m.etag, ETag::of(&big));
    assert_eq!(&b.get("big").await.unwrap().body[..], &big[..]);
}

/// Content headers and user metadata are stored and returned; names are lowercased; the default type.
pub async fn metadata(store: &Store, _clock: &ManualClock) {
    let b = store.create_bucket("meta").await.unwrap();
    let attributes = ObjectAttributes::default()
        .with_content_type("text/html; charset=utf-8")
        .with_content_encoding("gzip")
        .with_content_disposition("attachment; filename=\"a.html\"")
        .with_content_language("en-US")
        .with_cache_control("max-age=60")
        .with_metadata("Owner", "Ada")
        .with_metadata("x", "with  spaces");
    b.put_opts(
        "page",
        "<html/>",
        PutOptions {
            attributes,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for meta in [
        b.head("page").await.unwrap(),
        b.get("page").await.unwrap().meta,
    ] {
        let a = &meta.attributes;
        assert_eq!(a.content_type.as_deref(), Some("text/html; charset=utf-8"));
        assert_eq!(a.content_encoding.as_deref(), Some("gzip"));
        assert_eq!(
            a.content_disposition.as_deref(),
            Some("attachment; filename=\"a.html\"")
        );
        assert_eq!(a.content_language.as_deref(), Some("en-US"));
        assert_eq!(a.cache_control.as_deref(), Some("max-age=60"));
        assert_eq!(
            a.user_metadata.get("owner").map(String::as_str),
            Some("Ada")
        );
        assert_eq!(
            a.user_metadata.get("x").map(String::as_str),
            Some("with  spaces")
        );
        assert_eq!(a.user_metadata.len(), 2);
    }
    b.put("plain", "x").await.unwrap();
    assert_eq!(
        b.head("plain")
            .await
            .unwrap()
            .attributes
            .content_type
            .as_deref(),
        Some(DEFAULT_CONTENT_TYPE)
    );
}

/// Keys are any UTF-8: `a`, `a/`, `a/b`, `a//b`, `../x` and friends are distinct objects.
pub async fn keys(store: &Store, _clock: &ManualClock) {
    let b = store.create_bucket("keys").await.unwrap();
    let keys = [
        "a",
        "a/",
        "a/b",
        "a//b",
        "/",
        "//",
        "../x",
        "../../etc/passwd",
        "./a",
        ".",
        "..",
        "dir/",
        " ",
        "a b",
        "é",
        "日本語/ファイル",
        "\u{1F600}",
        "tab\there",
        "nul\0byte",
        "back\\slash",
        "%2F",
        "?q=1#f",
    ];
    for (i, k) in keys.iter().enumerate() {
        b.put(k, format!("value {i}"))
            .await
            .unwrap_or_else(|e| panic!("put {k:?}: {e}"));
    }
    for (i, k) in keys.iter().enumerate() {
        let got = b.get(k).await.unwrap_or_else(|e| panic!("get {k:?}: {e}"));
        assert_eq!(got.body, Bytes::from(format!("value {i}")), "{k:?}");
        assert_eq!(got.meta.key, *k);
    }
    let listed: Vec<String> = b
        .list_all("")
        .await
        .unwrap()
        .iter()
        .map(|m| m.key.clone())
        .collect();
    let mut expected: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    b.delete("a/").await.unwrap();
    assert_eq!(code(b.get("a/").await), "NoSuchKey");
    assert_eq!(&b.get("a").await.unwrap().body[..], b"value 0");
    assert_eq!(&b.get("a/b").await.unwrap().body[..], b"value 2");
}

/// Keys up to 1024 bytes of UTF-8; longer or empty keys are typed errors, and nothing is stored.
pub async fn key_limits(store: &Store, _clock: &ManualClock) {
    let b = store.create_bucket("limits").await.unwrap();
    let max = "k".repeat(1024);
    b.put(&max, "ok").await.unwrap();
    assert_eq!(&b.get(&max).await.unwrap().body[..], b"ok");
    let long = "é".repeat(513); // 1026 bytes
    let err = b.put(&long, "x").await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("KeyTooLongError", 400));
    assert!(
        matches!(
            err,
            Error::KeyTooLong {
                len: 1026,
                max: 1024,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(code(b.get(&long).await), "KeyTooLongError");
    assert_eq!(code(b.delete(&long).await), "KeyTooLongError");
    assert_eq!(code(b.put("", "x").await), "InvalidArgument");
    assert_eq!(b.list_all("").await.unwrap().len(), 1);
}

/// Byte ranges: bounded, open-ended, suffix, clamped, and S3's 416 cases.
pub async fn ranges(store: &Store, _clock: &ManualClock) {
    let b = store.create_bucket("ranges").await.unwrap();
    b.put("digits", "0123456789").await.unwrap();
    b.put("empty", "").await.unwrap();
    let get = |key: &'static str, r: &'static str| {
        let b = b.clone();
        async move {
            b.get_opts(
                key,
                GetOptions {
                    range: ByteRange::parse(r),
                    ..Default::default()
                },
            )
            .await
        }
    };
    for (r, body, range) in [
        ("bytes=0-0", "0", 0..1),
        ("bytes=2-5", "2345", 2..6),
        ("bytes=7-", "789", 7..10),
        ("bytes=-3", "789", 7..10),
        ("bytes=-100", "0123456789", 0..10),
        ("bytes=8-100", "89", 8..10),
        ("bytes=9-9", "9", 9..10),
    ] {
        let out = get("digits", r)
            .await
            .unwrap_or_else(|e| panic!("{r}: {e}"));
        assert_eq!(out.body, Bytes::from(body), "{r}");
        assert_eq!(out.range, Some(range), "{r}");
        assert_eq!(out.meta.size, 10);
    }
    for r in ["bytes=10-", "bytes=10-20", "bytes=-0"] {
        let err = get("digits", r).await.unwrap_err();
        assert_eq!((err.code(), err.status()), ("InvalidRange", 416), "{r}");
        assert!(
            matches!(&err, Error::InvalidRange { size: 10, .. }),
            "{err:?}"
        );
    }
    assert_eq!(
        get("empty", "bytes=0-").await.unwrap_err().code(),
        "InvalidRange"
    );
    // What S3 ignores reads the whole object.
    assert_eq!(get("digits", "bytes=5-2").await.unwrap().body.len(), 10);
    assert_eq!(
        get("missing", "bytes=0-1").await.unwrap_err().code(),
        "NoSuchKey"
    );
}

/// If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since on get and head.
pub async fn conditional_reads(store: &Store, clock: &ManualClock) {
    let b = store.create_bucket("cond").await.unwrap();
    let t0 = clock.clock().now();
    let meta = b.put("k", "v1").await.unwrap();
    let tag = meta.etag.as_str().to_string();
    let hour = Duration::from_secs(3600);
    let get = |c: Conditions| {
        let b = b.clone();
        async move {
            b.get_opts(
                "k",
                GetOptions {
                    conditions: c,
                    ..Default::default()
                },
            )
            .await
            .map(|o| o.body)
        }
    };
    let head = |c: Conditions| {
        let b = b.clone();
        async move { b.head_opts("k", &c).await.map(|m| m.size) }
    };
    let cases: Vec<(Conditions, Option<(&str, u16)>)> = vec![
        (Conditions::default().if_match(&tag), None),
        (Conditions::default().if_match(tag.trim_matches('"')), None),
        (Conditions::default().if_match("*"), None),
        (
            Conditions::default().if_match("\"nope\""),
            Some(("PreconditionFailed", 412)),
        ),
        (
            Conditions::default().if_none_match(&tag),
            Some(("NotModified", 304)),
        ),
        (
            Conditions::default().if_none_match("*"),
            Some(("NotModified", 304)),
        ),
        (Conditions::default().if_none_match("\"nope\""), None),
        (
            Conditions::default().if_modified_since(t0),
            Some(("NotModified", 304)),
        ),
        (Conditions::default().if_modified_since(t0 - hour), None),
        (Conditions::default().if_unmodified_since(t0), None),
        (
            Conditions::default().if_unmodified_since(t0 - hour),
            Some(("PreconditionFailed", 412)),
        ),
        // S3's precedence: If-Match true beats If-Unmodified-Since false; If-None-Match false beats
        // If-Modified-Since false.
        (
            Conditions::default()
                .if_match(&tag)
                .if_unmodified_since(t0 - hour),
            None,
        ),
        (
            Conditions::default()
                .if_none_match("\"nope\"")
                .if_modified_since(t0 + hour),
            None,
        ),
        (
            Conditions::default()
                .if_match("\"nope\"")
                .if_none_match(&tag),
            Some(("PreconditionFailed", 412)),
        ),
    ];
    for (c, want) in cases {
        for got in [
            get(c.clone()).await.map(|_| ()),
            head(c.clone()).await.map(|_| ()),
        ] {
            match (&got, want) {
                (Ok(()), None) => {}
                (Err(e), Some((code, status))) => {
                    assert_eq!((e.code(), e.status()), (code, status), "{c:?}")
                }
                _ => panic!("{c:?}: got {got:?}, want {want:?}"),
            }
        }
    }
    // A 304 carries the current ETag and Last-Modified, as S3's does.
    match get(Conditions::default().if_none_match(&tag)).await {
        Err(Error::NotModified {
            etag,
            last_modified,
            ..
        }) => {
            assert_eq!(etag, tag);
            assert_eq!(last_modified, t0);
        }
        other => panic!("{other:?}"),
    }
    // After a newer write, If-Modified-Since of the old time succeeds.
    clock.advance(Duration::from_secs(10));
    b.put("k", "v2").await.unwrap();
    assert_eq!(
        get(Conditions::default().if_modified_since(t0))
            .await
            .unwrap(),
        Bytes::from("v2")
    );
    assert_eq!(
        code(get(Conditions::default().if_match(&tag)).await),
        "PreconditionFailed"
    );
    // A missing key is 404 whatever the conditions.
    let missing = b.get_opts(
        "nope",
        GetOptions {
            conditions: Conditions::default().if_match("*"),
            ..Default::default()
        },
    );
    assert_eq!(code(missing.await), "NoSuchKey");
}

/// Conditions on put: create-only, compare-and-swap, and nothing written when they fail.
pub async fn conditional_writes(store: &Store, clock: &ManualClock) {
    let b = store.create_bucket("cas").await.unwrap();
    let put = |data: &'static str, c: Conditions| {
        let b = b.clone();
        async move {
            b.put_opts(
                "k",
                data,
                PutOptions {
                    conditions: c,
                    ..Default::default()
                },
            )
            .await
        }
    };
    let m1 = put("v1", Conditions::default().if_none_match("*"))
        .await
        .unwrap();
    let err = put("v2", Conditions::default().if_none_match("*"))
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.status()), ("PreconditionFailed", 412));
    assert!(
        err.to_string().contains("If-None-Match") && err.to_string().contains("\"k\""),
        "{err}"
    );
    assert_eq!(
        &b.get("k").await.unwrap().body[..],
        b"v1",
        "a failed create-only put writes nothing"
    );

    assert_eq!(
        code(put("v2", Conditions::default().if_match("\"stale\"")).await),
        "PreconditionFailed"
    );
    assert_eq!(&b.get("k").await.unwrap().body[..], b"v1");
    let m2 = put("v2", Conditions::default().if_match(m1.etag.as_str()))
        .await
        .unwrap();
    assert_eq!(&b.get("k").await.unwrap().body[..], b"v2");
    assert_eq!(
        code(put("v3", Conditions::default().if_match(m1.etag.as_str())).await),
        "PreconditionFailed"
    );

    // If-Match on a free key is 404 NoSuchKey, as S3 answers conditional writes.
    let free = b.put_opts(
        "free",
        "x",
        PutOptions {
            conditions: Conditions::default().if_match("*"),
            ..Default::default()
        },
    );
    assert_eq!(code(free.await), "NoSuchKey");
    assert_eq!(code(b.head("free").await), "NoSuchKey");

    let t = m2.last_modified;
    assert_eq!(
        code(
            put(
                "v3",
                Conditions::default().if_unmodified_since(t - Duration::from_secs(60))
            )
            .await
        ),
        "PreconditionFailed"
    );
    assert_eq!(
        code(put("v3", Conditions::default().if_modified_since(t)).await),
        "PreconditionFailed"
    );
    clock.advance(Duration::from_secs(1));
    put(
        "v3",
        Conditions::default()
            .if_unmodified_since(t)
            .if_none_match("\"other\""),
    )
    .await
    .unwrap();
    assert_eq!(&b.get("k").await.unwrap().body[..], b"v3");
}

/// Concurrent create-only puts of one key: exactly one wins, and the object is the winner's.
pub async fn create_only_race(store: &Store, _clock: &ManualClock) {
    let b = store.create_bucket("race").await.unwrap();
    for round in 0..5 {
        let key = format!("k{round}");
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (b, key) = (b.clone(), key.clone());
                tokio::spawn(async move {
                    let opts = PutOptions {
                        conditions: Conditions::default().if_none_match("*"),
                        ..Default::default()
                    };
                    b.put_opts(&key, format!("writer {i}"), opts)
                        .await
                        .map(|_| i)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(i) => winners.push(i),
                Err(e) => assert_eq!(e.code(), "PreconditionFailed"),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "exactly one create-only put wins: {winners:?}"
        );
        assert_eq!(
            b.get(&key).await.unwrap().body,
            Bytes::from(format!("writer {}", winners[0]))
        );
    }
}

/// Delete: idempotent on missing keys, conditional with If-Match.
pub async fn delete(store: &Store, _clock: &ManualClock) {
    let b = store.create_bucket("del").await.unwrap();
    let m = b.put("k", "v").await.unwrap();
    b.delete("missing").await.unwrap();
    let with = |c: Conditions| {
        b.delete_opts(
            "k",
            DeleteOptions {
                conditions: c,
                ..Default::default()
            },
        )
    };
    assert_eq!(
        code(with(Conditions::default().if_match("\"other\"")).await),
        "PreconditionFailed"
    );
    assert!(
        b.head("k").await.is_ok(),
        "a failed conditional delete deletes nothing"
    );
    let removed = with(Conditions::default().if_match(m.etag.as_str()))
        .await
        .unwrap();
    assert_eq!(removed.map(|m| m.key.clone()).as_deref(), Some("k"));
    assert_eq!(code(b.get("k").await), "NoSuchKey");
    assert!(
        b.delete_opts("k", DeleteOptions::default())
            .await
            .unwrap()
            .is_none()
    );
    assert!(b.list_all("").await.unwrap().is_empty());
}

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

/// ListObjectVersions with a delimiter: common prefixes among the versions, each counted once toward
/// max-keys, pages that end on a common prefix resume past all its keys.
pub async fn versions_delimiter(store: &Store, _clock: &ManualClock) {
    use crate::ListVersionsOptions as Opts;
    let b = store.create_bucket("versions-tree").await.unwrap();
    b.set_versioning(crate::Versioning::Enabled).await.unwrap();
    for k in ["a", "a", "d/1", "d/1", "d/2", "e/x/1", "z"] {
        b.put(k, k).await.unwrap();
    }
    b.delete("z").await.unwrap();
    // One listing item: a version (key, version id) or a common prefix (prefix, "").
    fn items(p: &crate::ListVersionsPage) -> Vec<(String, String)> {
        let mut v: Vec<_> = p
            .versions
            .iter()
            .map(|e| (e.meta.key.clone(), e.meta.version_id.clone()))
            .chain(p.common_prefixes.iter().map(|c| (c.clone(), String::new())))
            .collect();
        v.sort();
        v
    }
    let slash = Opts {
        delimiter: Some("/".into()),
        ..Default::default()
    };
    let all = b.list_versions(&slash).await.unwrap();
    assert!(!all.is_truncated && all.next_key_marker.is_none());
    assert_eq!(all.common_prefixes, ["d/", "e/"]);
    let keys: Vec<_> = all.versions.iter().map(|e| e.meta.key.as_str()).collect();
    assert_eq!(keys, ["a", "a", "z", "z"]);
    assert!(all.versions[2].meta.is_delete_marker && all.versions[2].is_latest);
    // Page by page, 1 and then 3 items at a time: the same items, each common prefix once.
    for max in [1, 3] {
        let mut opts = Opts {
            max_keys: Some(max),
            ..slash.clone()
        };
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = b.list_versions(&opts).await.unwrap();
            pages += 1;
            assert!(page.versions.len() + page.common_prefixes.len() <= max);
            seen.extend(items(&page));
            if !page.is_truncated {
                break;
            }
            // A page that ends on a common prefix names it as the key marker, with no version marker.
            let marker = page.next_key_marker.clone().unwrap();
            if page.next_version_id_marker.is_none() {
                assert!(page.common_prefixes.contains(&marker), "{marker:?}");
            }
            opts.key_marker = page.next_key_marker.clone();
            opts.version_id_marker = page.next_version_id_marker.clone();
        }
        seen.sort();
        assert_eq!(seen, items(&all), "max-keys {max}");
        assert_eq!(pages, 6_usize.div_ceil(max), "max-keys {max}");
    }
    // Under a prefix: the delimiter applies to what follows it.
    let under_e = b
        .list_versions(&Opts {
            prefix: "e/".into(),
            ..slash.clone()
        })
        .await
        .unwrap();
    assert_eq!(under_e.common_prefixes, ["e/x/"]);
    assert!(under_e.versions.is_empty());
    let under_d = b
        .list_versions(&Opts {
            prefix: "d/".into(),
            ..slash.clone()
        })
        .await
        .unwrap();
    assert!(under_d.common_prefixes.is_empty());
    let keys: Vec<_> = under_d
        .versions
        .iter()
        .map(|e| e.meta.key.as_str())
        .collect();
    assert_eq!(keys, ["d/1", "d/1", "d/2"]);
    // A key marker that is a common prefix skips what is under it.
    let after_d = b
        .list_versions(&Opts {
            key_marker: Some("d/".into()),
            ..slash.clone()
        })
        .await
        .unwrap();
    assert_eq!(after_d.common_prefixes, ["e/"]);
    assert_eq!(after_d.versions.len(), 2);
}

/// ListParts and ListMultipartUploads page by page: markers, max-parts / max-uploads, uploads by key then
/// creation time, common prefixes counted once, the upload-id marker within one key.
pub async fn multipart_listing_pages(store: &Store, clock: &ManualClock) {
    use crate::{ListPartsOptions, ListUploadsOptions};
    let b = store.create_bucket("mp-pages").await.unwrap();
    let mut ids = Vec::new();
    for key in ["c", "a", "b/2", "a", "b/1", "a"] {
        clock.advance(Duration::from_secs(1));
        let up = b
            .create_multipart_upload(key, Default::default())
            .await
            .unwrap();
        ids.push((key, up.upload_id));
    }
    let order: Vec<(String, String)> = b
        .list_multipart_uploads("")
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.template.key, u.upload_id))
        .collect();
    // By key, then by creation time (not by id).
    let keys: Vec<_> = order.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["a", "a", "a", "b/1", "b/2", "c"]);
    let a_ids: Vec<_> = ids
        .iter()
        .filter(|(k, _)| *k == "a")
        .map(|(_, i)| i.clone())
        .collect();
    assert_eq!(
        order[..3]
            .iter()
            .map(|(_, i)| i.clone())
            .collect::<Vec<_>>(),
        a_ids
    );
    // Every page size walks the same order.
    for max in [1, 2, 4, 1000] {
        let mut opts = ListUploadsOptions {
            max_uploads: Some(max),
            ..Default::default()
        };
        let mut seen = Vec::new();
        loop {
            let page = b.list_multipart_uploads_page(&opts).await.unwrap();
            assert!(page.uploads.len() <= max && page.common_prefixes.is_empty());
            seen.extend(
                page.uploads
                    .iter()
                    .map(|u| (u.template.key.clone(), u.upload_id.clone())),
            );
            if !page.is_truncated {
                assert!(page.next_key_marker.is_none());
                break;
            }
            opts.key_marker = page.next_key_marker;
            opts.upload_id_marker = page.next_upload_id_marker;
        }
        assert_eq!(seen, order, "max-uploads {max}");
    }
    // With a delimiter: b/ is one common prefix, counted once, also across pages.
    let slash = ListUploadsOptions {
        delimiter: Some("/".into()),
        ..Default::default()
    };
    let page = b.list_multipart_uploads_page(&slash).await.unwrap();
    assert_eq!(page.common_prefixes, ["b/"]);
    assert_eq!(page.uploads.len(), 4);
    let mut opts = ListUploadsOptions {
        max_uploads: Some(1),
        ..slash.clone()
    };
    let mut items = Vec::new();
    loop {
        let page = b.list_multipart_uploads_page(&opts).await.unwrap();
        items.extend(page.uploads.iter().map(|u| u.template.key.clone()));
        items.extend(page.common_prefixes.iter().cloned());
        if !page.is_truncated {
            break;
        }
        opts.key_marker = page.next_key_marker;
        opts.upload_id_marker = page.next_upload_id_marker;
    }
    assert_eq!(items, ["a", "a", "a", "b/", "c"]);
    let under_b = b
        .list_multipart_uploads_page(&ListUploadsOptions {
            prefix: "b/".into(),
            ..slash.clone()
        })
        .await
        .unwrap();
    assert_eq!(under_b.uploads.len(), 2);
    // A key marker alone skips that key's uploads; with an upload id marker, resumes after that upload.
    let after_a = b
        .list_multipart_uploads_page(&ListUploadsOptions {
            key_marker: Some("a".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(after_a.uploads[0].template.key, "b/1");
    let after_first_a = b
        .list_multipart_uploads_page(&ListUploadsOptions {
            key_marker: Some("a".into()),
            upload_id_marker: Some(a_ids[0].clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let got: Vec<_> = after_first_a
        .uploads
        .iter()
        .map(|u| u.upload_id.clone())
        .collect();
    assert_eq!(got[..2], a_ids[1..]);
    assert_eq!(after_first_a.uploads.len(), 5);

    // ListParts by pages of two.
    let (key, id) = ids[0].clone();
    for n in [5, 1, 3, 2, 4] {
        b.upload_part(key, &id, n, format!("part {n}"), None)
            .await
            .unwrap();
    }
    let mut opts = ListPartsOptions {
        max_parts: Some(2),
        ..Default::default()
    };
    let mut pages = Vec::new();
    loop {
        let page = b.list_parts_page(key, &id, &opts).await.unwrap();
        pages.push(page.parts.iter().map(|p| p.part_number).collect::<Vec<_>>());
        if !page.is_truncated {
            assert_eq!(page.next_part_number_marker, None);
            break;
        }
        assert_eq!(
            page.next_part_number_marker,
            page.parts.last().map(|p| p.part_number)
        );
        opts.part_number_marker = page.next_part_number_marker;
    }
    assert_eq!(pages, [vec![1, 2], vec![3, 4], vec![5]]);
    assert_eq!(
        code(
            b.list_parts_page("other", &id, &ListPartsOptions::default())
                .await
        ),
        "NoSuchUpload"
    );
    assert_eq!(
        code(
            store
                .bucket("nobucket")
                .unwrap()
                .list_multipart_uploads_page(&ListUploadsOptions::default())
                .await
        ),
        "NoSuchBucket"
    );
}

/// GetObject by part number: a part of a multipart object, the whole of any other as part 1, S3's errors.
pub async fn get_part_number(store: &Store, _clock: &ManualClock) {
    use crate::CompletedPart;
    use crate::limits::MIN_PART_SIZE;
    let b = store.create_bucket("by-part").await.unwrap();
    let up = b
        .create_multipart_upload("mp", Default::default())
        .await
        .unwrap();
    let parts = [
        pattern(MIN_PART_SIZE as usize, 7),
        pattern(MIN_PART_SIZE as usize + 3, 8),
        b"last".to_vec(),
    ];
    let mut done = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let n = i as u32 + 1;
        let info = b
            .upload_part("mp", &up.upload_id, n, p.clone(), None)
            .await
            .unwrap();
        done.push(CompletedPart {
            part_number: n,
            etag: info.etag,
        });
    }
    let meta = b
        .complete_multipart_upload("mp", &up.upload_id, &done, &Conditions::default())
        .await
        .unwrap();
    let sizes: Vec<u64> = parts.iter().map(|p| p.len() as u64).collect();
    assert_eq!(meta.part_sizes, sizes);
    let by_part = |n: u32| GetOptions {
        part_number: Some(n),
        ..Default::default()
    };
    let mut start = 0u64;
    for (i, p) in parts.iter().enumerate() {
        let out = b.get_opts("mp", by_part(i as u32 + 1)).await.unwrap();
        assert_eq!(out.body, p[..], "part {}", i + 1);
        assert_eq!(out.range, Some(start..start + p.len() as u64));
        assert_eq!(out.meta.parts_count, Some(3));
        start += p.len() as u64;
    }
    let err = b.get_opts("mp", by_part(4)).await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("InvalidPartNumber", 416));
    assert!(matches!(
        err,
        Error::InvalidPartNumber {
            part_number: 4,
            parts_count: 3,
            ..
        }
    ));
    assert_eq!(code(b.get_opts("mp", by_part(0)).await), "InvalidArgument");
    assert_eq!(
        code(b.get_opts("mp", by_part(10_001)).await),
        "InvalidArgument"
    );
    let both = GetOptions {
        part_number: Some(1),
        range: ByteRange::parse("bytes=0-1"),
        ..Default::default()
    };
    assert_eq!(code(b.get_opts("mp", both).await), "InvalidRequest");
    // Any other object is its own single part; a copy of a multipart object is one.
    b.put("plain", "whole").await.unwrap();
    assert_eq!(
        &b.get_opts("plain", by_part(1)).await.unwrap().body[..],
        b"whole"
    );
    assert_eq!(
        code(b.get_opts("plain", by_part(2)).await),
        "InvalidPartNumber"
    );
    let copy = b.copy("mp", "copy").await.unwrap();
    assert!(copy.part_sizes.is_empty() && copy.parts_count.is_none());
    assert_eq!(
        code(b.get_opts("copy", by_part(2)).await),
        "InvalidPartNumber"
    );
    assert_eq!(code(b.get_opts("none", by_part(1)).await), "NoSuchKey");
    // HeadObject by part number: the part's bytes, without reading them.
    let (head, range) = b.head_part("mp", 2).await.unwrap();
    let first = parts[0].len() as u64;
    assert_eq!(range, first..first + parts[1].len() as u64);
    assert_eq!(head.parts_count, Some(3));
    assert_eq!(b.head_part("plain", 1).await.unwrap().1, 0..5);
    assert_eq!(code(b.head_part("mp", 4).await), "InvalidPartNumber");
    assert_eq!(code(b.head_part("mp", 0).await), "InvalidArgument");
    assert_eq!(code(b.head_part("none", 1).await), "NoSuchKey");
}

/// UploadPartCopy: parts copied from byte ranges of stored objects (and whole ones) make an object equal
/// to the bytes copied, with S3's part ETags; S3's errors for ranges, sources, conditions and uploads.
pub async fn upload_part_copy(store: &Store, _clock: &ManualClock) {
    use crate::limits::MIN_PART_SIZE;
    use crate::{CompletedPart, UploadPartCopyOptions as Opts};
    let b = store.create_bucket("part-copy").await.unwrap();
    let other = store.create_bucket("part-copy-src").await.unwrap();
    // Two parts of at least 5 MiB each from one source (every part but the last must be).
    let big = pattern(2 * MIN_PART_SIZE as usize + 1000, 3);
    let src = other.put("big", big.clone()).await.unwrap();
    b.put("small", "the end").await.unwrap();
    let up = b
        .create_multipart_upload("joined", Default::default())
        .await
        .unwrap();
    let id = up.upload_id.as_str();
    let range = |first: u64, last: u64| Opts {
        range: Some(ByteRange::Inclusive { first, last }),
        ..Default::default()
    };
    let cut = MIN_PART_SIZE;
    let p1 = b
        .upload_part_copy("joined", id, 1, "part-copy-src", "big", range(0, cut - 1))
        .await
        .unwrap();
    assert_eq!(p1.etag, ETag::of(&big[..cut as usize]));
    assert_eq!(p1.size, cut);
    let p2 = b
        .upload_part_copy(
            "joined",
            id,
            2,
            "part-copy-src",
            "big",
            range(cut, big.len() as u64 - 1),
        )
        .await
        .unwrap();
    let p3 = b
        .upload_part_copy("joined", id, 3, "part-copy", "small", Opts::default())
        .await
        .unwrap();
    let parts: Vec<_> = [&p1, &p2, &p3]
        .iter()
        .map(|p| CompletedPart {
            part_number: p.part_number,
            etag: p.etag.clone(),
        })
        .collect();
    let meta = b
        .complete_multipart_upload("joined", id, &parts, &Conditions::default())
        .await
        .unwrap();
    let mut want = big.clone();
    want.extend_from_slice(b"the end");
    assert_eq!(b.get("joined").await.unwrap().body, want[..]);
    assert_eq!(
        meta.etag,
        crate::multipart_etag([&p1.etag, &p2.etag, &p3.etag]).unwrap()
    );

    let up = b
        .create_multipart_upload("errs", Default::default())
        .await
        .unwrap();
    let id = up.upload_id.as_str();
    let len = big.len() as u64;
    for bad in [
        range(0, len),
        range(5, 4),
        Opts {
            range: Some(ByteRange::Suffix(10)),
            ..Default::default()
        },
    ] {
        let err = b
            .upload_part_copy("errs", id, 1, "part-copy-src", "big", bad.clone())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "InvalidArgument", "{bad:?}: {err}");
    }
    let stale = Opts {
        source_conditions: Conditions::default().if_match("\"0000\""),
        ..Default::default()
    };
    let err = b
        .upload_part_copy("errs", id, 1, "part-copy-src", "big", stale)
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.status()), ("PreconditionFailed", 412));
    let fresh = Opts {
        source_conditions: Conditions::default().if_match(src.etag.as_str()),
        ..range(0, 9)
    };
    b.upload_part_copy("errs", id, 1, "part-copy-src", "big", fresh)
        .await
        .unwrap();
    assert_eq!(
        code(
            b.upload_part_copy("errs", id, 2, "part-copy-src", "nope", Opts::default())
                .await
        ),
        "NoSuchKey"
    );
    assert_eq!(
        code(
            b.upload_part_copy("errs", id, 2, "no-such-src", "big", Opts::default())
                .await
        ),
        "NoSuchBucket"
    );
    assert_eq!(
        code(
            b.upload_part_copy(
                "errs",
                "nosuchupload",
                2,
                "part-copy-src",
                "big",
                Opts::default()
            )
            .await
        ),
        "NoSuchUpload"
    );
    assert_eq!(
        code(
            b.upload_part_copy("errs", id, 0, "part-copy-src", "big", Opts::default())
                .await
        ),
        "InvalidArgument"
    );
    let listed: Vec<_> = b
        .list_parts("errs", id)
        .await
        .unwrap()
        .iter()
        .map(|p| p.part_number)
        .collect();
    assert_eq!(listed, [1], "failed copies store nothing");
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

async fn fill(store: &Store, name: &str, keys: &[&str]) -> crate::Bucket {
    let b = store.create_bucket(name).await.unwrap();
    for k in keys {
        b.put(k, k.as_bytes().to_vec()).await.unwrap();
    }
    b
}

fn keys_of(page: &crate::ListPage) -> Vec<&str> {
    page.objects.iter().map(|m| m.key.as_str()).collect()
}

/// ListObjectsV2 without a delimiter: prefix, start-after, max-keys 0 and the 1000 cap.
pub async fn list_basics(store: &Store, _clock: &ManualClock) {
    let b = fill(store, "list", &["a/1", "a/2", "ab", "b/1", "c"]).await;
    let page = b.list(&ListOptions::default()).await.unwrap();
    assert_eq!(keys_of(&page), ["a/1", "a/2", "ab", "b/1", "c"]);
    assert!(!page.is_truncated && page.next_continuation_token.is_none());
    assert_eq!((page.key_count, page.max_keys), (5, 1000));
    assert_eq!(page.objects[0].etag, ETag::of(b"a/1"));
    assert_eq!(page.objects[0].size, 3);

    assert_eq!(
        keys_of(&b.list(&ListOptions::default().prefix("a")).await.unwrap()),
        ["a/1", "a/2", "ab"]
    );
    assert_eq!(
        keys_of(&b.list(&ListOptions::default().prefix("a/")).await.unwrap()),
        ["a/1", "a/2"]
    );
    assert!(
        b.list(&ListOptions::default().prefix("zzz"))
            .await
            .unwrap()
            .objects
            .is_empty()
    );
    assert_eq!(
        keys_of(
            &b.list(&ListOptions::default().start_after("a/2"))
                .await
                .unwrap()
        ),
        ["ab", "b/1", "c"]
    );
    assert_eq!(
        keys_of(
            &b.list(&ListOptions::default().start_after("a/15"))
                .await
                .unwrap()
        ),
        ["a/2", "ab", "b/1", "c"]
    );
    assert_eq!(
        keys_of(
            &b.list(&ListOptions::default().prefix("b").start_after("a"))
                .await
                .unwrap()
        ),
        ["b/1"]
    );

    let zero = b.list(&ListOptions::default().max_keys(0)).await.unwrap();
    assert!(zero.objects.is_empty() && !zero.is_truncated && zero.key_count == 0);
    let capped = b
        .list(&ListOptions::default().max_keys(5000))
        .await
        .unwrap();
    assert_eq!(capped.max_keys, 1000);

    let two = b.list(&ListOptions::default().max_keys(2)).await.unwrap();
    assert_eq!(keys_of(&two), ["a/1", "a/2"]);
    assert!(two.is_truncated);
    let token = two.next_continuation_token.clone().unwrap();
    let rest = b
        .list(&ListOptions::default().continuation_token(token.clone()))
        .await
        .unwrap();
    assert_eq!(keys_of(&rest), ["ab", "b/1", "c"]);
    // A token takes precedence over start-after, as in S3.
    let both = b
        .list(
            &ListOptions::default()
                .continuation_token(token)
                .start_after("b"),
        )
        .await
        .unwrap();
    assert_eq!(keys_of(&both), ["ab", "b/1", "c"]);
    let exact = b.list(&ListOptions::default().max_keys(5)).await.unwrap();
    assert!(
        !exact.is_truncated,
        "a page that ends exactly at the last key is not truncated"
    );

    let err = b
        .list(&ListOptions::default().continuation_token("not-a-token!"))
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.status()), ("InvalidArgument", 400));
    assert!(err.to_string().contains("continuation-token"), "{err}");
}

/// Delimiters: common prefixes, counted against max-keys, paginated by token, multi-byte delimiters.
pub async fn list_delimiter(store: &Store, _clock: &ManualClock) {
    let b = fill(
        store,
        "delim",
        &[
            "a/1",
            "a/2/x",
            "a/3",
            "b",
            "c/1",
            "c/2",
            "d/",
            "d//e",
            "e",
            "photos/2024/jan/1.jpg",
            "photos/2024/feb/2.jpg",
            "photos/index",
        ],
    )
    .await;
    let page = b
        .list(&ListOptions::default().delimiter("/"))
        .await
        .unwrap();
    assert_eq!(keys_of(&page), ["b", "e"]);
    assert_eq!(page.common_prefixes, ["a/", "c/", "d/", "photos/"]);
    assert_eq!(page.key_count, 6);

    let page = b
        .list(&ListOptions::default().prefix("a/").delimiter("/"))
        .await
        .unwrap();
    assert_eq!(keys_of(&page), ["a/1", "a/3"]);
    assert_eq!(page.common_prefixes, ["a/2/"]);
    let page = b
        .list(&ListOptions::default().prefix("d/").delimiter("/"))
        .await
        .unwrap();
    assert_eq!(keys_of(&page), ["d/"]);
    assert_eq!(page.common_prefixes, ["d//"]);
    let page = b
        .list(&ListOptions::default().prefix("photos/2024/").delimiter("/"))
        .await
        .unwrap();
    assert_eq!(
        page.common_prefixes,
        ["photos/2024/feb/", "photos/2024/jan/"]
    );

    // Paginate one entry at a time: prefixes and keys interleave in order, each once.
    let mut opts = ListOptions::default().delimiter("/").max_keys(1);
    let mut seen = Vec::new();
    loop {
        let page = b.list(&opts).await.unwrap();
        assert_eq!(page.key_count, 1);
        seen.extend(page.common_prefixes.iter().cloned());
        seen.extend(page.objects.iter().map(|m| m.key.clone()));
        match page.next_continuation_token {
            Some(t) => opts.continuation_token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen, ["a/", "b", "c/", "d/", "e", "photos/"]);

    let page = b
        .list(&ListOptions::default().delimiter("/2"))
        .await
        .unwrap();
    assert!(
        page.common_prefixes.contains(&"a/2".to_string())
            && page.common_prefixes.contains(&"photos/2".to_string())
    );
    assert!(page.common_prefixes.contains(&"c/2".to_string()));
}

/// Pagination over many keys with every page size returns each key once, in order.
pub async fn list_pagination(store: &Store, _clock: &ManualClock) {
    let b = store.create_bucket("pages").await.unwrap();
    let keys: Vec<String> = (0..2500).map(|i| format!("k/{i:05}")).collect();
    for k in &keys {
        b.put(k, "").await.unwrap();
    }
    let first = b.list(&ListOptions::default()).await.unwrap();
    assert_eq!(first.objects.len(), 1000);
    assert!(first.is_truncated);
    assert_eq!(b.list_all("").await.unwrap().len(), 2500);
    for page_size in [1, 7, 999, 1000] {
        let mut opts = ListOptions::default().prefix("k/").max_keys(page_size);
        let mut got = Vec::new();
        let mut pages = 0;
        loop {
            let page = b.list(&opts).await.unwrap();
            assert!(page.objects.len() <= page_size);
            pages += 1;
            got.extend(page.objects.iter().map(|m| m.key.clone()));
            match page.next_continuation_token {
                Some(t) => opts.continuation_token = Some(t),
                None => break,
            }
        }
        assert_eq!(got, keys, "page size {page_size}");
        assert_eq!(
            pages,
            keys.len().div_ceil(page_size),
            "page size {page_size}"
        );
    }
}

/// Keys list in UTF-8 binary order (not locale, not UTF-16 order).
pub async fn list_order(store: &Store, _clock: &ManualClock) {
    let keys = [
        "\u{1F600}",
        "\u{FF61}",
        "é",
        "z",
        "a",
        "Z",
        "0",
        "~",
        " ",
        "a/b",
        "a-b",
        "a.b",
        "\u{7F}",
    ];
    let b = fill(store, "order", &keys).await;
    let mut expected: Vec<&str> = keys.to_vec();
    expected.sort_by(|x, y| x.as_bytes().cmp(y.as_bytes()));
    let page = b.list(&ListOptions::default()).await.unwrap();
    assert_eq!(keys_of(&page), expected);
    // UTF-16 order would put U+FF61 after U+1F600 (a surrogate pair starts 0xD83D); UTF-8 does not.
    let pos = |k: &str| expected.iter().position(|x| *x == k).unwrap();
    assert!(pos("\u{FF61}") < pos("\u{1F600}"));
}

/// Size limits: user metadata over 2 KB, puts over the configured maximum.
pub async fn limits(store: &Store, _clock: &ManualClock) {
    let b = store.create_bucket("lim").await.unwrap();
    let mut attributes = ObjectAttributes::default();
    attributes
        .user_metadata
        .insert("big".into(), "v".repeat(2046));
    let err = b
        .put_opts(
            "k",
            "v",
            PutOptions {
                attributes,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "MetadataTooLarge");
    assert_eq!(err.key(), Some("k"));
    assert_eq!(code(b.head("k").await), "NoSuchKey");

    let small = Store::builder()
        .with_backend_arc(store.inner.backend.clone())
        .with_clock(store.clock().clone())
        .with_max_put_size(8)
        .build()
        .unwrap();
    let sb = small.bucket("lim").unwrap();
    sb.put("eight", "12345678").await.unwrap();
    let err = sb.put("nine", "123456789").await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("EntityTooLarge", 400));
    assert!(matches!(
        err,
        Error::EntityTooLarge {
            size: 9,
            max: 8,
            ..
        }
    ));
    assert_eq!(code(b.head("nine").await), "NoSuchKey");
    // A copy is a single put too: a source over the limit is refused before it is read.
    b.put("big-nine", "123456789").await.unwrap();
    let err = sb.copy("big-nine", "copied").await.unwrap_err();
    assert_eq!(
        (err.code(), err.key()),
        ("InvalidRequest", Some("big-nine"))
    );
    assert_eq!(code(b.head("copied").await), "NoSuchKey");
    sb.copy("eight", "copied").await.unwrap();
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

fn ids(entries: &[crate::VersionEntry]) -> Vec<(String, String, bool, bool)> {
    entries
        .iter()
        .map(|e| {
            (
                e.meta.key.clone(),
                e.meta.version_id.clone(),
                e.meta.is_delete_marker,
                e.is_latest,
            )
        })
        .collect()
}

/// Versioning enabled: fresh ids, get/head/delete/copy by version, delete markers that flag NoSuchKey and
/// whose deletion restores the object, ListObjectVersions with pagination.
pub async fn versioning(store: &Store, clock: &ManualClock) {
    let b = store.create_bucket("ver").await.unwrap();
    assert_eq!(
        b.versioning().await.unwrap(),
        crate::Versioning::Unversioned
    );
    let v0 = b.put("k", "zero").await.unwrap();
    assert_eq!(v0.version_id, crate::NULL_VERSION);
    b.set_versioning(crate::Versioning::Enabled).await.unwrap();
    assert_eq!(b.versioning().await.unwrap(), crate::Versioning::Enabled);
    clock.advance(Duration::from_secs(1));
    let v1 = b.put("k", "one").await.unwrap();
    let v2 = b.put("k", "two").await.unwrap();
    assert!(crate::backend::valid_version_id(&v1.version_id) && v1.version_id != "null");
    assert_ne!(v1.version_id, v2.version_id);
    assert_eq!(&b.get("k").await.unwrap().body[..], b"two");
    assert_eq!(
        &b.get_version("k", &v1.version_id).await.unwrap().body[..],
        b"one"
    );
    assert_eq!(&b.get_version("k", "null").await.unwrap().body[..], b"zero");
    assert_eq!(
        b.head_version("k", &v1.version_id).await.unwrap().etag,
        ETag::of(b"one")
    );
    assert_eq!(code(b.get_version("k", "nope123").await), "NoSuchVersion");
    assert_eq!(code(b.get_version("k", "../x").await), "InvalidArgument");

    // Delete without a version id: a delete marker on top.
    let marker = b
        .delete_opts("k", DeleteOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert!(marker.is_delete_marker && marker.version_id != "null");
    let err = b.get("k").await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("NoSuchKey", 404));
    assert_eq!(err.delete_marker(), Some(marker.version_id.as_str()));
    assert_eq!(
        b.head("k").await.unwrap_err().delete_marker(),
        Some(marker.version_id.as_str())
    );
    let err = b.get_version("k", &marker.version_id).await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("MethodNotAllowed", 405));
    assert_eq!(
        code(b.head_version("k", &marker.version_id).await),
        "MethodNotAllowed"
    );
    assert!(
        b.list_all("").await.unwrap().is_empty(),
        "a deleted key is not listed"
    );
    assert_eq!(
        &b.get_version("k", &v2.version_id).await.unwrap().body[..],
        b"two"
    );

    // Copy by version, while the key is deleted.
    let c = b
        .copy_from(
            "ver",
            "k",
            "copy",
            CopyOptions {
                source_version_id: Some(v1.version_id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(&b.get("copy").await.unwrap().body[..], b"one");
    assert_ne!(c.version_id, v1.version_id);
    assert_eq!(code(b.copy("k", "copy2").await), "NoSuchKey");

    // Versions listed newest first, markers included; is_latest on the newest of each key.
    let all = b.list_all_versions("").await.unwrap();
    assert_eq!(
        ids(&all),
        [
            ("copy".to_string(), c.version_id.clone(), false, true),
            ("k".into(), marker.version_id.clone(), true, true),
            ("k".into(), v2.version_id.clone(), false, false),
            ("k".into(), v1.version_id.clone(), false, false),
            ("k".into(), "null".into(), false, false),
        ]
    );
    // Pagination by (key, version) markers gives the same sequence, whatever the page size.
    for size in 1..=4 {
        let mut opts = crate::ListVersionsOptions {
            max_keys: Some(size),
            ..Default::default()
        };
        let mut seen = Vec::new();
        loop {
            let page = b.list_versions(&opts).await.unwrap();
            assert!(page.versions.len() <= size);
            seen.extend(page.versions);
            if !page.is_truncated {
                break;
            }
            opts.key_marker = page.next_key_marker;
            opts.version_id_marker = page.next_version_id_marker;
        }
        assert_eq!(ids(&seen), ids(&all), "page size {size}");
    }
    let page = b
        .list_versions(&crate::ListVersionsOptions {
            prefix: "k".into(),
            key_marker: Some("k".into()),
            version_id_marker: Some(v2.version_id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&page.versions), ids(&all[3..]));

    // Deleting the marker restores the object; deleting a version removes only it.
    b.delete_version("k", &marker.version_id).await.unwrap();
    assert_eq!(&b.get("k").await.unwrap().body[..], b"two");
    b.delete_version("k", &v2.version_id).await.unwrap();
    assert_eq!(&b.get("k").await.unwrap().body[..], b"one");
    assert_eq!(
        code(b.get_version("k", &v2.version_id).await),
        "NoSuchVersion"
    );
    b.delete_version("k", "gone1").await.unwrap();
    assert_eq!(b.list_all_versions("k").await.unwrap().len(), 2);

    // A bucket with versions left is not empty; once every version is deleted it is.
    assert_eq!(code(store.delete_bucket("ver").await), "BucketNotEmpty");
    for e in b.list_all_versions("").await.unwrap() {
        b.delete_version(&e.meta.key, &e.meta.version_id)
            .await
            .unwrap();
    }
    assert_eq!(
        code(b.set_versioning(crate::Versioning::Unversioned).await),
        "InvalidArgument"
    );
    store.delete_bucket("ver").await.unwrap();
}

/// Versioning suspended: writes and deletes replace the `null` version and put it on top; versions written
/// while enabled stay.
pub async fn versioning_suspended(store: &Store, _clock: &ManualClock) {
    let b = store.create_bucket("susp").await.unwrap();
    b.set_versioning(crate::Versioning::Enabled).await.unwrap();
    let v1 = b.put("k", "one").await.unwrap();
    b.set_versioning(crate::Versioning::Suspended)
        .await
        .unwrap();
    let n1 = b.put("k", "null-1").await.unwrap();
    assert_eq!(n1.version_id, "null");
    let n2 = b.put("k", "null-2").await.unwrap();
    assert_eq!(n2.version_id, "null");
    let all = b.list_all_versions("").await.unwrap();
    assert_eq!(
        ids(&all),
        [
            ("k".to_string(), "null".to_string(), false, true),
            ("k".into(), v1.version_id.clone(), false, false),
        ],
        "the second null write replaced the first"
    );
    assert_eq!(&b.get("k").await.unwrap().body[..], b"null-2");
    // A delete writes a null delete marker, replacing the null version.
    let m = b
        .delete_opts("k", DeleteOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert!(m.is_delete_marker && m.version_id == "null");
    let all = b.list_all_versions("").await.unwrap();
    assert_eq!(
        ids(&all),
        [
            ("k".to_string(), "null".to_string(), true, true),
            ("k".into(), v1.version_id.clone(), false, false),
        ]
    );
    assert_eq!(b.get("k").await.unwrap_err().delete_marker(), Some("null"));
    // Enabled again: the null marker stays as a noncurrent version below new ones.
    b.set_versioning(crate::Versioning::Enabled).await.unwrap();
    let v3 = b.put("k", "three").await.unwrap();
    b.delete_version("k", "null").await.unwrap();
    assert_eq!(
        ids(&b.list_all_versions("").await.unwrap()),
        [
            ("k".to_string(), v3.version_id.clone(), false, true),
            ("k".into(), v1.version_id.clone(), false, false),
        ]
    );
    // Conditions see a delete marker as no object.
    b.delete("k").await.unwrap();
    b.put_opts(
        "k",
        "created",
        PutOptions {
            conditions: Conditions::default().if_none_match("*"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

/// The S3 multipart ETag of `parts`, computed here from the bytes, independently of the store: the MD5 of
/// the concatenated binary MD5s of the parts, then `-N`.
fn expected_multipart_etag(parts: &[&[u8]]) -> String {
    use md5::{Digest, Md5};
    let mut cat = Vec::new();
    for p in parts {
        cat.extend_from_slice(&Md5::digest(p));
    }
    format!("\"{}-{}\"", hex::encode(Md5::digest(&cat)), parts.len())
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(u32::from(seed)) as u8
        })
        .collect()
}

/// Multipart uploads: parts in any order, listing, S3's checks at complete, the `-N` ETag, invisibility until
/// complete, conditional complete, abort.
pub async fn multipart(store: &Store, clock: &ManualClock) {
    use crate::limits::MIN_PART_SIZE;
    use crate::{CompletedPart, MultipartOptions};
    let b = store.create_bucket("mpu").await.unwrap();
    let created = clock.clock().now();
    let up = b
        .create_multipart_upload(
            "big",
            MultipartOptions {
                attributes: ObjectAttributes::default().with_content_type("video/mp4"),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(crate::backend::valid_version_id(&up.upload_id));
    let id = up.upload_id.as_str();
    let p1 = pattern(MIN_PART_SIZE as usize, 1);
    let p2 = pattern(MIN_PART_SIZE as usize + 7, 2);
    let p3 = b"the tail".to_vec();
    clock.advance(Duration::from_secs(10));
    // Out of order, and part 2 uploaded twice (the second replaces the first).
    let i3 = b.upload_part("big", id, 3, p3.clone(), None).await.unwrap();
    b.upload_part("big", id, 2, "replaced", None).await.unwrap();
    let i2 = b.upload_part("big", id, 2, p2.clone(), None).await.unwrap();
    let i1 = b.upload_part("big", id, 1, p1.clone(), None).await.unwrap();
    assert_eq!(i1.etag, ETag::of(&p1));
    let listed = b.list_parts("big", id).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|p| (p.part_number, p.size))
            .collect::<Vec<_>>(),
        [(1, p1.len() as u64), (2, p2.len() as u64), (3, 8)]
    );
    assert_eq!(listed[1].etag, ETag::of(&p2));
    let uploads = b.list_multipart_uploads("").await.unwrap();
    assert_eq!(uploads.len(), 1);
    assert_eq!(
        (
            uploads[0].upload_id.as_str(),
            uploads[0].template.key.as_str()
        ),
        (id, "big")
    );
    // Invisible until complete.
    assert_eq!(code(b.get("big").await), "NoSuchKey");
    assert!(b.list_all("").await.unwrap().is_empty());

    // Part numbers and uploads S3 refuses.
    for n in [0, 10_001] {
        assert_eq!(
            code(b.upload_part("big", id, n, "x", None).await),
            "InvalidArgument"
        );
    }
    assert_eq!(
        code(b.upload_part("big", "nosuchupload", 1, "x", None).await),
        "NoSuchUpload"
    );
    assert_eq!(
        code(b.upload_part("other", id, 1, "x", None).await),
        "NoSuchUpload"
    );
    assert_eq!(code(b.list_parts("big", "../../x").await), "NoSuchUpload");

    let part = |n: u32, etag: &ETag| CompletedPart {
        part_number: n,
        etag: etag.clone(),
    };
    let none = Conditions::default();
    let all = [part(1, &i1.etag), part(2, &i2.etag), part(3, &i3.etag)];
    let err = b
        .complete_multipart_upload("big", id, &[part(2, &i2.etag), part(1, &i1.etag)], &none)
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.status()), ("InvalidPartOrder", 400));
    let err = b
        .complete_multipart_upload("big", id, &[part(1, &i1.etag), part(1, &i1.etag)], &none)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidPartOrder");
    let err = b
        .complete_multipart_upload("big", id, &[part(1, &i2.etag), part(3, &i3.etag)], &none)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidPart");
    assert!(err.to_string().contains("part 1"), "{err}");
    assert_eq!(
        code(
            b.complete_multipart_upload("big", id, &[part(4, &i3.etag)], &none)
                .await
        ),
        "InvalidPart"
    );
    let err = b
        .complete_multipart_upload("big", id, &[part(3, &i3.etag), part(4, &i3.etag)], &none)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidPart");
    // A small part that is not the last.
    let up2 = b
        .create_multipart_upload("small", MultipartOptions::default())
        .await
        .unwrap();
    let s1 = b
        .upload_part("small", &up2.upload_id, 1, "tiny", None)
        .await
        .unwrap();
    let s2 = b
        .upload_part("small", &up2.upload_id, 2, "tiny", None)
        .await
        .unwrap();
    let err = b
        .complete_multipart_upload(
            "small",
            &up2.upload_id,
            &[part(1, &s1.etag), part(2, &s2.etag)],
            &none,
        )
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.status()), ("EntityTooSmall", 400));
    assert!(
        matches!(err, Error::EntityTooSmall { part_number: 1, size: 4, min, .. } if min == MIN_PART_SIZE)
    );
    // One small part alone is fine (it is the last).
    let one = b
        .complete_multipart_upload("small", &up2.upload_id, &[part(2, &s2.etag)], &none)
        .await
        .unwrap();
    assert_eq!(one.etag.as_str(), expected_multipart_etag(&[b"tiny"]));

    // Conditional complete: If-None-Match * fails on an existing key and keeps the upload.
    b.put("big", "old").await.unwrap();
    let create_only = Conditions::default().if_none_match("*");
    assert_eq!(
        code(
            b.complete_multipart_upload("big", id, &all, &create_only)
                .await
        ),
        "PreconditionFailed"
    );
    assert_eq!(&b.get("big").await.unwrap().body[..], b"old");
    b.delete("big").await.unwrap();
    let meta = b
        .complete_multipart_upload("big", id, &all, &create_only)
        .await
        .unwrap();
    assert_eq!(
        meta.etag.as_str(),
        expected_multipart_etag(&[&p1, &p2, &p3])
    );
    assert_eq!(meta.size, (p1.len() + p2.len() + p3.len()) as u64);
    assert_eq!(meta.parts_count, Some(3));
    assert_eq!(
        meta.last_modified, created,
        "S3 dates a multipart object at its creation"
    );
    assert_eq!(meta.attributes.content_type.as_deref(), Some("video/mp4"));
    let got = b.get("big").await.unwrap();
    let mut whole = p1.clone();
    whole.extend_from_slice(&p2);
    whole.extend_from_slice(&p3);
    assert!(
        got.body[..] == whole[..],
        "the object is the parts in order"
    );
    assert_eq!(got.meta.etag, meta.etag);
    assert_eq!(b.list_all("").await.unwrap().len(), 2);
    // The upload is gone.
    assert_eq!(code(b.list_parts("big", id).await), "NoSuchUpload");
    assert_eq!(
        code(b.complete_multipart_upload("big", id, &all, &none).await),
        "NoSuchUpload"
    );
    assert!(b.list_multipart_uploads("").await.unwrap().is_empty());
    // A copy of a multipart object is one object again.
    let c = b.copy("big", "big-copy").await.unwrap();
    assert_eq!(c.etag, ETag::of(&whole));

    // Abort.
    let up3 = b
        .create_multipart_upload("gone", MultipartOptions::default())
        .await
        .unwrap();
    b.upload_part("gone", &up3.upload_id, 1, "x", None)
        .await
        .unwrap();
    assert_eq!(
        code(b.abort_multipart_upload("other", &up3.upload_id).await),
        "NoSuchUpload"
    );
    b.abort_multipart_upload("gone", &up3.upload_id)
        .await
        .unwrap();
    assert_eq!(
        code(b.upload_part("gone", &up3.upload_id, 2, "x", None).await),
        "NoSuchUpload"
    );
    assert_eq!(
        code(b.abort_multipart_upload("gone", &up3.upload_id).await),
        "NoSuchUpload"
    );
    assert_eq!(code(b.get("gone").await), "NoSuchKey");

    // In a versioned bucket a complete adds a version.
    b.set_versioning(crate::Versioning::Enabled).await.unwrap();
    let up4 = b
        .create_multipart_upload("big", MultipartOptions::default())
        .await
        .unwrap();
    let q = b
        .upload_part("big", &up4.upload_id, 1, "v2", None)
        .await
        .unwrap();
    let v = b
        .complete_multipart_upload("big", &up4.upload_id, &[part(1, &q.etag)], &none)
        .await
        .unwrap();
    assert_ne!(v.version_id, "null");
    assert_eq!(&b.get("big").await.unwrap().body[..], b"v2");
    assert!(b.get_version("big", "null").await.unwrap().body[..] == whole[..]);
}

fn tagset(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

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
    let eleven = eleven.into_iter().collect();
    let err = b.set_object_tags("k", None, eleven).await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("InvalidTag", 400));
    assert!(err.to_string().contains("10"), "{err}");
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

/// Checksums: verified on put and part upload (a mismatch stores nothing), computed on request, returned on
/// get and head, composite for multipart objects.
pub async fn checksums(store: &Store, _clock: &ManualClock) {
    use crate::limits::MIN_PART_SIZE;
    use crate::{Checksum, ChecksumAlgorithm as A, CompletedPart, MultipartOptions};
    use base64::Engine as _;
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let b = store.create_bucket("sums").await.unwrap();
    let data = b"The quick brown fox jumps over the lazy dog";
    // Expected values computed here with the reference crates.
    let want = [
        (A::Crc32, b64(&crc32fast::hash(data).to_be_bytes())),
        (A::Crc32c, b64(&crc32c::crc32c(data).to_be_bytes())),
        (A::Sha1, b64(&<sha1::Sha1 as sha1::Digest>::digest(data))),
        (
            A::Sha256,
            b64(&<sha2::Sha256 as sha2::Digest>::digest(data)),
        ),
    ];
    assert_eq!(
        want[0].1, "QU+jOQ==",
        "CRC32 of the fox, as S3 documents it"
    );
    for (alg, value) in &want {
        let key = format!("ok-{alg}");
        let m = b
            .put_opts(
                &key,
                &data[..],
                PutOptions {
                    checksum: Some(Checksum::new(*alg, value.clone())),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(m.checksum, Some(Checksum::new(*alg, value.clone())));
        assert_eq!(b.get(&key).await.unwrap().meta.checksum, m.checksum);
        assert_eq!(b.head(&key).await.unwrap().checksum, m.checksum);
        // A wrong value is rejected and nothing is stored.
        let bad_key = format!("bad-{alg}");
        let err = b
            .put_opts(
                &bad_key,
                &data[..],
                PutOptions {
                    checksum: Some(Checksum::new(*alg, want[(*alg as usize + 1) % 4].1.clone())),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!((err.code(), err.status()), ("BadDigest", 400));
        assert!(err.to_string().contains(alg.as_str()), "{err}");
        assert_eq!(code(b.head(&bad_key).await), "NoSuchKey");
        // An algorithm alone: computed and stored.
        let m = b
            .put_opts(
                &format!("alg-{alg}"),
                &data[..],
                PutOptions {
                    checksum_algorithm: Some(*alg),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            m.checksum.as_ref().map(|c| c.value.as_str()),
            Some(value.as_str())
        );
    }
    // An overwrite with a bad checksum keeps the old object.
    b.put("keep", "old").await.unwrap();
    let bad = PutOptions {
        checksum: Some(Checksum::new(A::Sha256, want[3].1.clone())),
        ..Default::default()
    };
    assert_eq!(code(b.put_opts("keep", "new", bad).await), "BadDigest");
    assert_eq!(&b.get("keep").await.unwrap().body[..], b"old");

    // Multipart: parts verified; the object's checksum is composite.
    let up = b
        .create_multipart_upload(
            "mp",
            MultipartOptions {
                checksum_algorithm: Some(A::Crc32c),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let p1 = pattern(MIN_PART_SIZE as usize, 3);
    let p2 = b"end".to_vec();
    let c1 = crc32c::crc32c(&p1).to_be_bytes();
    let c2 = crc32c::crc32c(&p2).to_be_bytes();
    let err = b
        .upload_part(
            "mp",
            &up.upload_id,
            1,
            p1.clone(),
            Some(Checksum::new(A::Crc32c, b64(&c2))),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "BadDigest");
    assert!(
        b.list_parts("mp", &up.upload_id).await.unwrap().is_empty(),
        "a rejected part is not stored"
    );
    assert_eq!(
        code(
            b.upload_part(
                "mp",
                &up.upload_id,
                1,
                p1.clone(),
                Some(Checksum::new(A::Sha1, b64(&c1)))
            )
            .await
        ),
        "InvalidRequest"
    );
    let i1 = b
        .upload_part(
            "mp",
            &up.upload_id,
            1,
            p1.clone(),
            Some(Checksum::new(A::Crc32c, b64(&c1))),
        )
        .await
        .unwrap();
    let i2 = b
        .upload_part("mp", &up.upload_id, 2, p2.clone(), None)
        .await
        .unwrap();
    assert_eq!(
        i2.checksum,
        Some(Checksum::new(A::Crc32c, b64(&c2))),
        "computed when not sent"
    );
    let m = b
        .complete_multipart_upload(
            "mp",
            &up.upload_id,
            &[
                CompletedPart {
                    part_number: 1,
                    etag: i1.etag,
                },
                CompletedPart {
                    part_number: 2,
                    etag: i2.etag,
                },
            ],
            &Conditions::default(),
        )
        .await
        .unwrap();
    let mut cat = c1.to_vec();
    cat.extend_from_slice(&c2);
    let composite = format!("{}-2", b64(&crc32c::crc32c(&cat).to_be_bytes()));
    assert_eq!(m.checksum, Some(Checksum::new(A::Crc32c, composite)));
    assert_eq!(b.get("mp").await.unwrap().meta.checksum, m.checksum);
}

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
    assert_eq!(b.head("k-GLACIER").await.unwrap().restore, Some(r.clone()));
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
        g.retention,
        Some(Retention {
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
    assert_eq!(b.head("comp").await.unwrap().retention, longer);
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

/// The storage report: objects and bytes per bucket and class (noncurrent versions and upload parts
/// included, delete markers not), costs from a replaceable price table.
pub async fn storage_report(store: &Store, _clock: &ManualClock) {
    use crate::{MultipartOptions, PriceTable, StorageClass as C};
    let a = store.create_bucket("rep-a").await.unwrap();
    let b = store.create_bucket("rep-b").await.unwrap();
    a.set_versioning(crate::Versioning::Enabled).await.unwrap();
    a.put("k", vec![0u8; 1000]).await.unwrap();
    a.put("k", vec![0u8; 500]).await.unwrap(); // the 1000 bytes stay as a noncurrent version
    a.delete("k").await.unwrap(); // a marker: no bytes
    let glacier = PutOptions {
        storage_class: C::Glacier,
        ..Default::default()
    };
    a.put_opts("cold", vec![0u8; 300], glacier).await.unwrap();
    let up = b
        .create_multipart_upload(
            "mp",
            MultipartOptions {
                storage_class: C::StandardIa,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    b.upload_part("mp", &up.upload_id, 1, vec![0u8; 70], None)
        .await
        .unwrap();
    b.put("x", vec![0u8; 30]).await.unwrap();

    let prices = PriceTable::default().with_price(C::Standard, 2.0);
    assert_eq!(prices.price(C::Glacier), 0.0036);
    let report = store.storage_report(&prices).await.unwrap();
    assert_eq!(
        report
            .buckets
            .iter()
            .map(|u| u.bucket.as_str())
            .collect::<Vec<_>>(),
        ["rep-a", "rep-b"]
    );
    let ra = &report.buckets[0];
    let std = &ra.classes[&C::Standard];
    assert_eq!((std.objects, std.bytes, std.upload_bytes), (2, 1500, 0));
    let cold = &ra.classes[&C::Glacier];
    assert_eq!((cold.objects, cold.bytes), (1, 300));
    assert_eq!(ra.classes.len(), 2);
    let gb = (1u64 << 30) as f64;
    let close = |x: f64, y: f64| (x - y).abs() < 1e-15;
    assert!(close(std.monthly_cost, 1500.0 / gb * 2.0));
    assert!(close(cold.monthly_cost, 300.0 / gb * 0.0036));
    assert!(close(ra.monthly_cost, std.monthly_cost + cold.monthly_cost));
    let rb = &report.buckets[1];
    assert_eq!(rb.classes[&C::StandardIa].upload_bytes, 70);
    assert_eq!(rb.classes[&C::StandardIa].objects, 0);
    assert_eq!(rb.classes[&C::Standard].bytes, 30);
    assert!(close(
        rb.classes[&C::StandardIa].monthly_cost,
        70.0 / gb * 0.0125
    ));
    assert!(close(
        report.monthly_cost,
        ra.monthly_cost + rb.monthly_cost
    ));
    // A changed price changes only its class.
    let cheaper = store
        .storage_report(&prices.clone().with_price(C::Glacier, 0.0))
        .await
        .unwrap();
    assert!(close(cheaper.buckets[0].monthly_cost, std.monthly_cost));
}
