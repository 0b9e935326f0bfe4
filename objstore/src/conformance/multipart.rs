//! Multipart uploads: create, upload (and copy) parts, complete, abort, listing, GetObject by part
//! number.

use std::time::Duration;

use stratus_clock::ManualClock;

use super::{code, pattern};
use crate::{ByteRange, Conditions, ETag, Error, GetOptions, ObjectAttributes, Store};

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
