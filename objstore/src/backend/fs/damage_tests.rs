//! Damage on disk (issue "hostile disks"): every class of damaged file either is refused with a typed
//! [`Error::Corrupt`] naming the bucket and key, or is quarantined at open, and the rest of the store
//! opens and serves; nothing damaged is ever served as valid, and recovery never follows a link out of
//! the root.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{FileExt, symlink};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::Value;

use super::frame::{CHUNK, MANIFEST_MAGIC, frame_head};
use super::layout::{DATA, OBJECTS, ROOT_QUARANTINE, TMP, key_hash};
use super::snapshot::SNAPSHOT;
use super::tests::{multipart_put, pattern};
use super::{FsBackend, FsOptions};
use crate::error::Error;
use crate::{ByteRange, GetOptions, Store};

fn open(root: &Path) -> (Store, super::RecoveryReport) {
    let backend = FsBackend::open(root, FsOptions::default()).unwrap();
    let report = backend.recovery_report().clone();
    (
        Store::builder().with_backend(backend).build().unwrap(),
        report,
    )
}

/// The file of the null version of `key` in bucket `b`.
fn object_file(root: &Path, b: &str, key: &str) -> PathBuf {
    let hash = key_hash(key);
    root.join(b)
        .join(OBJECTS)
        .join(&hash[..2])
        .join(format!("{hash}.null"))
}

/// Drops the snapshot a clean shutdown wrote, so the next open scans (and checks) every file.
fn force_scan(root: &Path, b: &str) {
    let _ = fs::remove_file(root.join(b).join(SNAPSHOT));
}

fn flip(path: &Path, at: u64) {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut byte = [0u8];
    f.read_exact_at(&mut byte, at).unwrap();
    f.write_all_at(&[byte[0] ^ 0x40], at).unwrap();
}

/// The parts of a second-version frame file: header JSON, the offset of its bytes.
fn split(path: &Path) -> (Value, Vec<u8>, u64) {
    let raw = fs::read(path).unwrap();
    assert_eq!(&raw[7..8], b"2");
    let hlen = u32::from_le_bytes(raw[8..12].try_into().unwrap()) as usize;
    let header = serde_json::from_slice(&raw[16..16 + hlen]).unwrap();
    (header, raw.clone(), 16 + hlen as u64)
}

/// Rewrites `path` with `header` (a consistent header checksum) in front of `rest`.
fn reframe(path: &Path, magic: &[u8; 8], header: &Value, rest: &[u8]) {
    let mut out = frame_head(magic, header).unwrap();
    out.extend_from_slice(rest);
    fs::write(path, out).unwrap();
}

fn is_corrupt(r: crate::Result<crate::GetOutput>, key: &str) -> bool {
    matches!(r, Err(Error::Corrupt { key: Some(k), .. }) if k == key)
}

async fn ranged(b: &crate::Bucket, key: &str, first: u64, last: u64) -> crate::Result<Bytes> {
    b.get_opts(
        key,
        GetOptions {
            range: Some(ByteRange::Inclusive { first, last }),
            ..Default::default()
        },
    )
    .await
    .map(|o| o.body)
}

/// A flipped byte in a small object, in a large one past its first 16 KiB, in a header, and in a part file
/// of a multipart object: each read is `Corrupt` naming the key, never the wrong bytes; a range read of
/// chunks the damage does not touch still succeeds; the other objects read as written.
#[tokio::test]
async fn flipped_bytes_are_refused_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let (store, _) = open(&root);
    let b = store.create_bucket("bkt").await.unwrap();
    let big = pattern(300 * 1024, 7);
    b.put("small", pattern(1024, 1)).await.unwrap();
    b.put("big", big.clone()).await.unwrap();
    b.put("header", pattern(10, 2)).await.unwrap();
    b.put("fine", pattern(2000, 3)).await.unwrap();
    let mib5 = 5 * 1024 * 1024;
    multipart_put(&b, "mp", &[pattern(mib5, 4), pattern(1000, 5)]).await;

    let small = object_file(&root, "bkt", "small");
    let len = fs::metadata(&small).unwrap().len();
    flip(&small, len - 4 - 100);
    let bigf = object_file(&root, "bkt", "big");
    let (_, _, off) = split(&bigf);
    flip(&bigf, off + 200 * 1024);
    flip(&object_file(&root, "bkt", "header"), 20);
    let folder = fs::read_dir(root.join("bkt").join(DATA))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    flip(&folder.join("part-1"), 4 * 1024 * 1024);

    for key in ["small", "big", "header", "mp"] {
        assert!(is_corrupt(b.get(key).await, key), "{key} was served");
    }
    // Chunks before the damage (chunk 3 of `big`) still read; a range touching it does not.
    assert_eq!(
        ranged(&b, "big", 10, 3 * CHUNK - 1).await.unwrap(),
        Bytes::copy_from_slice(&big[10..3 * CHUNK as usize])
    );
    assert!(matches!(
        ranged(&b, "big", 3 * CHUNK - 1, 3 * CHUNK).await,
        Err(Error::Corrupt { .. })
    ));
    let tail: Vec<u8> = pattern(mib5, 4)[mib5 - 10..]
        .iter()
        .chain(&pattern(1000, 5)[..11])
        .copied()
        .collect();
    assert_eq!(
        ranged(&b, "mp", mib5 as u64 - 10, mib5 as u64 + 10)
            .await
            .unwrap(),
        tail
    );
    assert_eq!(b.get("fine").await.unwrap().body, pattern(2000, 3));

    // With checks off (a checksumming filesystem below), the same file reads unchecked.
    drop((b, store));
    let backend = FsBackend::open(&root, FsOptions::default().with_verify(false)).unwrap();
    let store = Store::builder().with_backend(backend).build().unwrap();
    let b = store.bucket("bkt").unwrap();
    assert_eq!(b.get("big").await.unwrap().body.len(), big.len());
    // A header is checked whatever `verify` says.
    assert!(is_corrupt(b.get("header").await, "header"));
}

/// Lengths and offsets from a file are checked against its real size before anything is allocated or
/// added: a 12-byte file declaring a 4 GiB header, a header declaring `u64::MAX` bytes, a manifest whose
/// part sits at offset `u64::MAX`, a manifest listing one part twice, and a header size and file length
/// shortened together are each quarantined at open (no panic, no abort), and the rest of the bucket opens.
#[tokio::test]
async fn lying_lengths_and_offsets_are_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let (store, _) = open(&root);
    let b = store.create_bucket("bkt").await.unwrap();
    for k in ["tiny", "max-size", "shortened", "kept"] {
        b.put(k, pattern(5000, 9)).await.unwrap();
    }
    let mib5 = 5 * 1024 * 1024;
    multipart_put(&b, "mp-offset", &[pattern(mib5, 1), pattern(10, 2)]).await;
    multipart_put(&b, "mp-twice", &[pattern(mib5, 3), pattern(10, 4)]).await;
    drop((b, store));

    fs::write(
        object_file(&root, "bkt", "tiny"),
        b"STRATOB1\xF0\xFF\xFF\xFF",
    )
    .unwrap();
    let path = object_file(&root, "bkt", "max-size");
    let (mut h, raw, off) = split(&path);
    h["size"] = Value::from(u64::MAX);
    reframe(&path, b"STRATOB2", &h, &raw[off as usize..]);
    let path = object_file(&root, "bkt", "shortened");
    let (mut h, raw, off) = split(&path);
    h["size"] = Value::from(4990u64);
    // The bytes cut by 10 and the checksums kept: the lengths agree, the checksums cannot.
    let mut rest = raw[off as usize..off as usize + 4990].to_vec();
    rest.extend_from_slice(&raw[raw.len() - 4..]);
    reframe(&path, b"STRATOB2", &h, &rest);
    let path = object_file(&root, "bkt", "mp-offset");
    let (mut h, _, _) = split(&path);
    h["segments"][1]["off"] = Value::from(u64::MAX);
    reframe(&path, MANIFEST_MAGIC, &h, &[]);
    let path = object_file(&root, "bkt", "mp-twice");
    let (mut h, _, _) = split(&path);
    let first = h["segments"][0].clone();
    h["segments"][1] = first;
    h["meta"]["size"] = Value::from(2 * mib5 as u64);
    reframe(&path, MANIFEST_MAGIC, &h, &[]);
    force_scan(&root, "bkt");

    let (store, report) = open(&root);
    assert_eq!(report.quarantined, 4, "{report:?}");
    let b = store.bucket("bkt").unwrap();
    for k in ["tiny", "max-size", "mp-offset", "mp-twice"] {
        assert!(
            matches!(b.get(k).await, Err(Error::NoSuchKey { .. })),
            "{k}"
        );
    }
    // The shortened file agrees with its header, so it opens; its bytes fail their checksum when read.
    assert!(is_corrupt(b.get("shortened").await, "shortened"));
    assert_eq!(b.get("kept").await.unwrap().body, pattern(5000, 9));
}

/// One bad bucket never makes the store unopenable: a garbage `bucket.json`, a missing one, a folder
/// with a bucket-like name and no record are moved to `ROOT/.quarantine/` and reported; a stray file among
/// the hash folders is quarantined within its bucket; a missing `tmp/` is recreated. The healthy buckets
/// serve, and a quarantined name can be created again.
#[tokio::test]
async fn damaged_buckets_are_quarantined_and_the_rest_opens() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let (store, _) = open(&root);
    for name in ["good", "garbled", "norecord", "stray", "notmp"] {
        let b = store.create_bucket(name).await.unwrap();
        b.put("k", name.as_bytes().to_vec()).await.unwrap();
    }
    drop(store);
    fs::write(root.join("garbled/bucket.json"), b"{not json").unwrap();
    fs::remove_file(root.join("norecord/bucket.json")).unwrap();
    fs::create_dir_all(root.join("lookalike/objects")).unwrap();
    fs::write(root.join("stray").join(OBJECTS).join(".DS_Store"), b"x").unwrap();
    force_scan(&root, "stray");
    fs::remove_dir_all(root.join("notmp").join(TMP)).unwrap();

    let (store, report) = open(&root);
    let mut names: Vec<_> = store
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    names.sort();
    assert_eq!(names, ["good", "notmp", "stray"]);
    let mut q: Vec<_> = report
        .quarantined_buckets
        .iter()
        .map(|q| (q.name.as_str(), q.moved_to.as_str()))
        .collect();
    q.sort();
    assert_eq!(
        q,
        [
            ("garbled", ".quarantine/garbled"),
            ("lookalike", ".quarantine/lookalike"),
            ("norecord", ".quarantine/norecord"),
        ]
    );
    let reason = |n: &str| {
        report
            .quarantined_buckets
            .iter()
            .find(|q| q.name == n)
            .unwrap()
            .reason
            .clone()
    };
    assert!(reason("garbled").contains("does not parse"));
    assert!(reason("norecord").contains("no bucket.json"));
    // Nothing is deleted: the quarantined folder keeps its objects.
    assert!(
        root.join(ROOT_QUARANTINE)
            .join("garbled")
            .join(OBJECTS)
            .is_dir()
    );
    assert!(root.join("stray/quarantine/.DS_Store").exists());
    for name in ["good", "stray", "notmp"] {
        let b = store.bucket(name).unwrap();
        assert_eq!(b.get("k").await.unwrap().body, name.as_bytes());
    }
    store
        .bucket("notmp")
        .unwrap()
        .put("new", b"x".to_vec())
        .await
        .unwrap();
    store.create_bucket("garbled").await.unwrap();
}

/// Symbolic links inside the root are never followed: a hash folder, a `tmp/` entry, a data folder and a
/// bucket that are links to folders outside leave those folders exactly as they were (no file deleted or
/// moved there), and the links themselves are moved to quarantine or removed.
#[tokio::test]
async fn recovery_never_follows_links_out_of_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    // What recovery would delete or move if it followed a link: a temp file, garbage, a stray folder.
    fs::write(outside.join(".tmp-precious"), b"keep me").unwrap();
    fs::write(outside.join("garbage"), b"keep me too").unwrap();
    fs::create_dir_all(outside.join("sub")).unwrap();
    fs::write(outside.join("sub/file"), b"and me").unwrap();
    let snapshot = || {
        let mut all: Vec<(String, Vec<u8>)> = Vec::new();
        for e in ["sub/file", ".tmp-precious", "garbage"] {
            all.push((e.to_string(), fs::read(outside.join(e)).unwrap()));
        }
        all
    };
    let before = snapshot();

    let (store, _) = open(&root);
    let b = store.create_bucket("bkt").await.unwrap();
    b.put("k", b"v".to_vec()).await.unwrap();
    drop((b, store));
    let objects = root.join("bkt").join(OBJECTS);
    let hash = key_hash("k");
    // A hash folder other than the one holding `k`, replaced by a link.
    let other = if &hash[..2] == "ab" { "cd" } else { "ab" };
    fs::remove_dir_all(objects.join(other)).unwrap();
    symlink(&outside, objects.join(other)).unwrap();
    symlink(&outside, root.join("bkt").join(TMP).join("link")).unwrap();
    symlink(&outside, root.join("bkt").join(DATA).join("link")).unwrap();
    symlink(&outside, root.join("linked-bucket")).unwrap();
    force_scan(&root, "bkt");

    let (store, report) = open(&root);
    assert_eq!(
        snapshot(),
        before,
        "recovery changed files outside the root"
    );
    assert!(outside.join("sub").is_dir());
    assert_eq!(
        store.bucket("bkt").unwrap().get("k").await.unwrap().body,
        "v"
    );
    assert!(
        fs::symlink_metadata(root.join("bkt/quarantine").join(other))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(!root.join("bkt").join(TMP).join("link").exists());
    assert!(fs::symlink_metadata(root.join("bkt").join(DATA).join("link")).is_err());
    assert_eq!(report.quarantined_buckets.len(), 1);
    assert_eq!(report.quarantined_buckets[0].name, "linked-bucket");
    assert!(report.quarantined >= 1);
}

/// Files of the first frame version (no checksums) written by earlier releases still read, unchecked,
/// and a metadata update keeps them readable.
#[tokio::test]
async fn first_version_frames_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let (store, _) = open(&root);
    let b = store.create_bucket("bkt").await.unwrap();
    let data = pattern(100 * 1024, 3);
    b.put("old", data.clone()).await.unwrap();
    drop((b, store));
    let path = object_file(&root, "bkt", "old");
    let (h, raw, off) = split(&path);
    let header = serde_json::to_vec(&h).unwrap();
    let mut v1 = b"STRATOB1".to_vec();
    v1.extend_from_slice(&(header.len() as u32).to_le_bytes());
    v1.extend_from_slice(&header);
    v1.extend_from_slice(&raw[off as usize..off as usize + data.len()]);
    fs::write(&path, v1).unwrap();
    force_scan(&root, "bkt");
    let (store, report) = open(&root);
    assert_eq!(report.quarantined, 0);
    let b = store.bucket("bkt").unwrap();
    assert_eq!(b.get("old").await.unwrap().body, data);
    let tags = [("t".to_string(), "1".to_string())].into_iter().collect();
    b.set_object_tags("old", None, tags).await.unwrap();
    assert_eq!(b.get("old").await.unwrap().body, data);
}
