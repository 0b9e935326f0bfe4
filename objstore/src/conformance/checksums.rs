//! Checksums on put, part upload, get and head; composite checksums of multipart objects.

use stratus_clock::ManualClock;

use super::{code, pattern};
use crate::{Conditions, PutOptions, Store};

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
        // A well-formed wrong value (the digest of other bytes) is rejected and nothing is stored.
        let bad_key = format!("bad-{alg}");
        let wrong = alg.checksum(b"other bytes").value;
        let err = b
            .put_opts(
                &bad_key,
                &data[..],
                PutOptions {
                    checksum: Some(Checksum::new(*alg, wrong)),
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
    // A value that is not a well-formed digest of its algorithm (too short, not base64, a SHA-1's length
    // for SHA-256) is 400 InvalidRequest naming the header, checked before any comparison (S3 user guide,
    // "Checking object integrity"; what S3 answers `x-amz-checksum-sha256: AAAA`).
    for (alg, value, header) in [
        (A::Sha256, "AAAA", "x-amz-checksum-sha256"),
        (A::Sha256, want[2].1.as_str(), "x-amz-checksum-sha256"),
        (A::Crc32, "not base64!", "x-amz-checksum-crc32"),
        (A::Crc32c, "AAAAAAA=", "x-amz-checksum-crc32c"),
        (A::Sha1, "", "x-amz-checksum-sha1"),
    ] {
        let malformed = PutOptions {
            checksum: Some(Checksum::new(alg, value)),
            ..Default::default()
        };
        let err = b.put_opts("keep", "new", malformed).await.unwrap_err();
        assert_eq!(
            (err.code(), err.status()),
            ("InvalidRequest", 400),
            "{alg} {value:?}"
        );
        assert!(
            err.to_string()
                .contains(&format!("Value for {header} header is invalid.")),
            "{err}"
        );
    }
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
