//! Versioning: enabled and suspended buckets, ListObjectVersions with a delimiter.

use std::time::Duration;

use stratus_clock::ManualClock;

use super::code;
use crate::{Conditions, CopyOptions, DeleteOptions, ETag, PutOptions, Store};

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
    // A copy whose source version id names a delete marker is 400 InvalidRequest, not 405 (CopyObject,
    // S3 API reference: "the source of a copy request may not specifically refer to a delete marker").
    let from_marker = b
        .copy_from(
            "ver",
            "k",
            "copy3",
            CopyOptions {
                source_version_id: Some(marker.version_id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        (from_marker.code(), from_marker.status()),
        ("InvalidRequest", 400)
    );
    assert!(
        from_marker.to_string().contains("delete marker"),
        "{from_marker}"
    );
    assert_eq!(code(b.head("copy3").await), "NoSuchKey");

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
