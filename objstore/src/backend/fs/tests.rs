//! The fs backend's own tests: the conformance suites on it, and what only a filesystem shows (reopening,
//! recovery, manifests over part files, reads racing replacements).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use stratus_clock::ManualClock;

use super::layout::{DATA, STAGING, UPLOADS, key_hash};
use super::{FsBackend, FsOptions, RecoveryReport};
use crate::error::Error;
use crate::types::meta::ObjectMeta;
use crate::{ByteRange, GetOptions, Store};

/// A store on the fs backend at `root`, with default options.
fn open_store(root: &Path) -> Store {
    Store::builder()
        .with_backend(FsBackend::open(root, FsOptions::default()).unwrap())
        .build()
        .unwrap()
}

fn fs_store(clock: &ManualClock) -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let backend = FsBackend::open(dir.path().join("root"), FsOptions::default()).unwrap();
    (
        Store::builder()
            .with_backend(backend)
            .with_clock(clock.clock())
            .build()
            .unwrap(),
        dir,
    )
}

crate::conformance_tests!(fs_store);

/// `object_store`'s own conformance suite against an fs-backed bucket (what is run and what is not:
/// `crate::backend::object_store_integration`).
#[tokio::test]
async fn object_store_integration() {
    let (store, _dir) = fs_store(&ManualClock::new());
    let bucket = store.create_bucket("integration").await.unwrap();
    crate::backend::object_store_integration(&bucket).await;
}

#[tokio::test]
async fn reopen_rebuilds_index_and_clears_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    {
        let store = open_store(&root);
        let b = store.create_bucket("keep").await.unwrap();
        for k in ["a", "a/", "a/b", "../x"] {
            b.put(k, k.as_bytes().to_vec()).await.unwrap();
        }
        store.create_bucket("empty").await.unwrap();
    }
    // Simulate a write interrupted before its rename, and a staged bucket never moved into place.
    fs::write(root.join("keep/tmp/123.tmp"), b"half an object").unwrap();
    fs::write(
        root.join("keep/objects/ab/.tmp-interrupted"),
        b"another half",
    )
    .unwrap();
    fs::create_dir_all(root.join(STAGING).join("half-bucket")).unwrap();
    // And an object file whose header was destroyed.
    let victim = root.join("keep/objects/00/garbage");
    fs::write(&victim, b"not an object").unwrap();

    let backend = FsBackend::open(&root, FsOptions::default()).unwrap();
    let report = backend.recovery_report().clone();
    assert_eq!(
        report,
        RecoveryReport {
            buckets: 2,
            objects: 4,
            temp_files_removed: 2,
            quarantined: 1,
            uploads: 0,
            quarantined_buckets: Vec::new(),
        }
    );
    assert!(!victim.exists() && root.join("keep/quarantine/00-garbage").exists());
    let store = Store::builder().with_backend(backend).build().unwrap();
    let names: Vec<_> = store
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, ["empty", "keep"]);
    let b = store.bucket("keep").unwrap();
    let keys: Vec<_> = b
        .list_all("")
        .await
        .unwrap()
        .iter()
        .map(|m| m.key.clone())
        .collect();
    assert_eq!(keys, ["../x", "a", "a/", "a/b"]);
    for k in keys {
        assert_eq!(b.get(&k).await.unwrap().body, Bytes::from(k.clone()));
    }
    assert!(
        fs::read_dir(root.join("keep/tmp"))
            .unwrap()
            .next()
            .is_none()
    );
}

/// Uploads `parts` as a multipart upload of `key` and completes it.
pub(super) async fn multipart_put(
    b: &crate::Bucket,
    key: &str,
    parts: &[Vec<u8>],
) -> Arc<ObjectMeta> {
    let up = b
        .create_multipart_upload(key, Default::default())
        .await
        .unwrap();
    let mut done = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let n = i as u32 + 1;
        let info = b
            .upload_part(key, &up.upload_id, n, p.clone(), None)
            .await
            .unwrap();
        done.push(crate::CompletedPart {
            part_number: n,
            etag: info.etag,
        });
    }
    b.complete_multipart_upload(key, &up.upload_id, &done, &Default::default())
        .await
        .unwrap()
}

fn data_folders(root: &Path, bucket: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root.join(bucket).join(DATA))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub(super) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

/// A completed multipart upload is stored as a manifest over its part files (no byte copied), reads
/// whole and in ranges across part boundaries, and its part files go when it is replaced or deleted.
#[tokio::test]
async fn multipart_objects_are_manifests_over_their_part_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let store = open_store(&root);
    let b = store.create_bucket("mpu").await.unwrap();
    let mib5 = 5 * 1024 * 1024;
    let parts = vec![pattern(mib5, 1), pattern(mib5 + 7, 2), pattern(1000, 3)];
    let whole: Vec<u8> = parts.concat();
    let meta = multipart_put(&b, "big", &parts).await;
    assert_eq!(meta.size, whole.len() as u64);
    let hash = key_hash("big");
    let file = root
        .join("mpu/objects")
        .join(&hash[..2])
        .join(format!("{hash}.null"));
    assert!(
        fs::metadata(&file).unwrap().len() < 4096,
        "the version file is a manifest, not a copy of the bytes"
    );
    assert_eq!(data_folders(&root, "mpu").len(), 1);
    assert!(
        fs::read_dir(root.join("mpu").join(UPLOADS))
            .unwrap()
            .next()
            .is_none(),
        "the upload's folder is gone"
    );
    assert_eq!(b.get("big").await.unwrap().body, Bytes::from(whole.clone()));
    // Ranges within one part, across each boundary, across all three, and a suffix.
    let edges = [
        (0, 10),
        (mib5 as u64 - 3, mib5 as u64 + 3),
        (2 * mib5 as u64 + 5, 2 * mib5 as u64 + 12),
        (17, whole.len() as u64 - 2),
    ];
    for (first, last) in edges {
        let got = b
            .get_opts(
                "big",
                GetOptions {
                    range: Some(ByteRange::Inclusive { first, last }),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .body;
        assert_eq!(got, whole[first as usize..=last as usize], "{first}-{last}");
    }
    let tail = b
        .get_opts(
            "big",
            GetOptions {
                range: Some(ByteRange::Suffix(1500)),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .body;
    assert_eq!(tail, whole[whole.len() - 1500..]);
    // A metadata change rewrites the manifest only, and keeps the bytes.
    let tags = BTreeMap::from([("k".to_string(), "v".to_string())]);
    b.set_object_tags("big", None, tags.clone()).await.unwrap();
    assert_eq!(b.object_tags("big", None).await.unwrap(), tags);
    assert!(fs::metadata(&file).unwrap().len() < 4096);
    assert_eq!(b.get("big").await.unwrap().body, Bytes::from(whole.clone()));
    // Reopening finds the same object.
    drop((b, store));
    let backend = FsBackend::open(&root, FsOptions::default()).unwrap();
    assert_eq!(backend.recovery_report().objects, 1);
    assert_eq!(backend.recovery_report().quarantined, 0);
    let store = Store::builder().with_backend(backend).build().unwrap();
    let b = store.bucket("mpu").unwrap();
    assert_eq!(b.get("big").await.unwrap().body, Bytes::from(whole.clone()));
    assert_eq!(b.head("big").await.unwrap().etag, meta.etag);
    // The part sizes survive too: a get by part number reads the part.
    let second = b
        .get_opts(
            "big",
            GetOptions {
                part_number: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(second.body, parts[1][..]);
    // Replacing it by a plain put (unversioned: same `null` version id) removes its part files.
    b.put("big", b"small".to_vec()).await.unwrap();
    assert!(data_folders(&root, "mpu").is_empty());
    assert_eq!(
        b.get("big").await.unwrap().body,
        Bytes::from_static(b"small")
    );
    // Replacing one multipart object by another leaves only the new one's folder; deleting it, none.
    multipart_put(&b, "big", &parts[1..]).await;
    multipart_put(&b, "big", &parts[..1]).await;
    assert_eq!(data_folders(&root, "mpu").len(), 1);
    assert_eq!(
        b.get("big").await.unwrap().body,
        Bytes::from(parts[0].clone())
    );
    b.delete("big").await.unwrap();
    assert!(data_folders(&root, "mpu").is_empty());
    assert!(matches!(b.get("big").await, Err(Error::NoSuchKey { .. })));
}

/// At open, a data folder no manifest refers to is removed, and a manifest whose part file is gone is
/// quarantined (a miss, not an I/O error on every read).
#[tokio::test]
async fn reopen_removes_stray_part_folders_and_quarantines_broken_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    {
        let store = open_store(&root);
        let b = store.create_bucket("mpu").await.unwrap();
        multipart_put(&b, "kept", &[pattern(100, 1)]).await;
        multipart_put(&b, "broken", &[pattern(100, 2)]).await;
    }
    let folders = data_folders(&root, "mpu");
    assert_eq!(folders.len(), 2);
    let broken = folders
        .iter()
        .find(|f| f.starts_with(&key_hash("broken")))
        .unwrap();
    fs::remove_file(root.join("mpu").join(DATA).join(broken).join("part-1")).unwrap();
    // An interrupted complete: linked parts, no manifest.
    fs::create_dir_all(root.join("mpu").join(DATA).join("abc.null.ff")).unwrap();
    fs::write(root.join("mpu").join(DATA).join("abc.null.ff/part-1"), b"x").unwrap();

    let backend = FsBackend::open(&root, FsOptions::default()).unwrap();
    let report = backend.recovery_report().clone();
    assert_eq!(report.objects, 1);
    assert_eq!(report.quarantined, 1);
    // The stray folder and the broken manifest's folder, and maybe completed uploads' folders in `tmp/`
    // that the background removal had not reached yet.
    assert!(report.temp_files_removed >= 2, "{report:?}");
    assert_eq!(data_folders(&root, "mpu").len(), 1);
    let store = Store::builder().with_backend(backend).build().unwrap();
    let b = store.bucket("mpu").unwrap();
    assert_eq!(
        b.get("kept").await.unwrap().body,
        Bytes::from(pattern(100, 1))
    );
    assert!(matches!(
        b.get("broken").await,
        Err(Error::NoSuchKey { .. })
    ));
}

/// Reads racing with deletes and replacements of a multipart object answer with one of its states
/// (its bytes or NoSuchKey), never with an I/O error about vanished part files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_racing_replacement_of_a_multipart_object_see_a_whole_state() {
    let (store, _dir) = fs_store(&ManualClock::new());
    let b = store.create_bucket("race").await.unwrap();
    let a = pattern(3000, 5);
    let c = pattern(2000, 9);
    multipart_put(&b, "k", std::slice::from_ref(&a)).await;
    let writer = {
        let b = b.clone();
        let (a, c) = (a.clone(), c.clone());
        tokio::spawn(async move {
            for i in 0..150 {
                match i % 3 {
                    0 => {
                        multipart_put(&b, "k", std::slice::from_ref(&c)).await;
                    }
                    1 => b.delete("k").await.unwrap(),
                    _ => {
                        multipart_put(&b, "k", std::slice::from_ref(&a)).await;
                    }
                }
            }
        })
    };
    let mut seen = [0usize; 3];
    while !writer.is_finished() {
        match b.get("k").await {
            Ok(o) if o.body == a => seen[0] += 1,
            Ok(o) if o.body == c => seen[1] += 1,
            Ok(o) => panic!("a mix of states: {} bytes", o.body.len()),
            Err(Error::NoSuchKey { .. }) => seen[2] += 1,
            Err(e) => panic!("a read failed: {e}"),
        }
    }
    writer.await.unwrap();
    assert!(seen.iter().sum::<usize>() > 0);
}

#[tokio::test]
async fn large_objects_and_ranges_read_from_disk() {
    let (store, _dir) = fs_store(&ManualClock::new());
    let b = store.create_bucket("big").await.unwrap();
    // Bigger than the first read, so ranges past it go back to the file.
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    b.put("obj", data.clone()).await.unwrap();
    assert_eq!(&b.get("obj").await.unwrap().body[..], &data[..]);
    let opts = crate::GetOptions {
        range: crate::ByteRange::parse("bytes=150000-150009"),
        ..Default::default()
    };
    assert_eq!(
        &b.get_opts("obj", opts).await.unwrap().body[..],
        &data[150_000..150_010]
    );
    let opts = crate::GetOptions {
        range: crate::ByteRange::parse("bytes=-5"),
        ..Default::default()
    };
    assert_eq!(
        &b.get_opts("obj", opts).await.unwrap().body[..],
        &data[data.len() - 5..]
    );
}

#[tokio::test]
async fn reopen_keeps_versions_config_and_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let (ids, upload_id, config) = {
        let store = open_store(&root);
        let b = store.create_bucket("keep").await.unwrap();
        b.put("k", "null version").await.unwrap();
        b.set_versioning(crate::Versioning::Enabled).await.unwrap();
        let v1 = b.put("k", "one").await.unwrap();
        let v2 = b.put("k", "two").await.unwrap();
        let marker = b
            .delete_opts("k", Default::default())
            .await
            .unwrap()
            .unwrap();
        b.set_object_tags(
            "k",
            Some(&v1.version_id),
            [("a".to_string(), "1".to_string())].into(),
        )
        .await
        .unwrap();
        b.set_lifecycle(Some(
            crate::LifecycleConfiguration::from_json(
                r#"{"Rules":[{"ID":"x","Status":"Enabled","Expiration":{"Days":3}}]}"#,
            )
            .unwrap(),
        ))
        .await
        .unwrap();
        let up = b
            .create_multipart_upload("mp", Default::default())
            .await
            .unwrap();
        b.upload_part(
            "mp",
            &up.upload_id,
            1,
            vec![7u8; crate::limits::MIN_PART_SIZE as usize],
            None,
        )
        .await
        .unwrap();
        let config = store.inner.backend.bucket_config("keep").await.unwrap();
        (
            vec![
                marker.version_id.clone(),
                v2.version_id.clone(),
                v1.version_id.clone(),
                "null".to_string(),
            ],
            up.upload_id,
            config,
        )
    };
    let backend = FsBackend::open(&root, FsOptions::default()).unwrap();
    assert_eq!(backend.recovery_report().objects, 4);
    assert_eq!(backend.recovery_report().uploads, 1);
    let store = Store::builder().with_backend(backend).build().unwrap();
    let b = store.bucket("keep").unwrap();
    assert_eq!(
        store.inner.backend.bucket_config("keep").await.unwrap(),
        config
    );
    let listed: Vec<_> = b
        .list_all_versions("")
        .await
        .unwrap()
        .iter()
        .map(|e| e.meta.version_id.clone())
        .collect();
    assert_eq!(listed, ids, "versions keep their order");
    assert_eq!(
        b.get("k").await.unwrap_err().delete_marker(),
        Some(ids[0].as_str())
    );
    assert_eq!(b.object_tags("k", Some(&ids[2])).await.unwrap().len(), 1);
    assert_eq!(&b.get_version("k", &ids[2]).await.unwrap().body[..], b"one");
    // The upload continues after the reopen.
    let parts = b.list_parts("mp", &upload_id).await.unwrap();
    let p2 = b
        .upload_part("mp", &upload_id, 2, "part two", None)
        .await
        .unwrap();
    let done = b
        .complete_multipart_upload(
            "mp",
            &upload_id,
            &[
                crate::CompletedPart {
                    part_number: 1,
                    etag: parts[0].etag.clone(),
                },
                crate::CompletedPart {
                    part_number: 2,
                    etag: p2.etag,
                },
            ],
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(done.size, crate::limits::MIN_PART_SIZE + 8);
    let body = b.get("mp").await.unwrap().body;
    assert!(
        body[..crate::limits::MIN_PART_SIZE as usize]
            .iter()
            .all(|&x| x == 7)
    );
    assert_eq!(&body[crate::limits::MIN_PART_SIZE as usize..], b"part two");
    // New writes order after the old ones.
    let v3 = b.put("k", "three").await.unwrap();
    assert_eq!(
        b.list_all_versions("k").await.unwrap()[0].meta.version_id,
        v3.version_id
    );
}
