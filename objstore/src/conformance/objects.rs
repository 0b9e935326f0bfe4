//! Objects: put, get and head, metadata, keys, ranges, size limits, delete, and the conditions on reads
//! and writes.

use std::time::Duration;

use bytes::Bytes;
use stratus_clock::ManualClock;

use super::code;
use crate::{
    ByteRange, Conditions, DEFAULT_CONTENT_TYPE, DeleteOptions, ETag, Error, GetOptions,
    ObjectAttributes, PutOptions, Store,
};

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
