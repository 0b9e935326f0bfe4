//! objstore: S3 semantics in-process, on memory and on disk.

use std::sync::Arc;
use std::time::Duration;

use object_store::{ObjectStore, ObjectStoreExt};
use objstore::{
    ByteRange, Conditions, GetOptions, ListOptions, ObjectAttributes, PutOptions, Store,
};
use stratus_clock::ManualClock;

pub(crate) async fn run() -> crate::TourResult {
    println!("== objstore: an S3-compatible object store in-process");
    let clock = ManualClock::new();
    let store = Store::builder().with_clock(clock.clock()).build()?;

    let bucket = store.create_bucket("tour-photos").await?;
    let attributes = ObjectAttributes::default()
        .with_content_type("image/jpeg")
        .with_cache_control("max-age=3600")
        .with_metadata("Camera", "x100v");
    let meta = bucket
        .put_opts(
            "2024/01/cat.jpg",
            vec![7u8; 4096],
            PutOptions {
                attributes,
                ..Default::default()
            },
        )
        .await?;
    println!(
        "put 2024/01/cat.jpg: {} bytes, ETag {} (MD5, quoted as S3 does), metadata {:?}",
        meta.size, meta.etag, meta.attributes.user_metadata
    );
    for key in [
        "2024/01/dog.jpg",
        "2024/02/fox.jpg",
        "2024/02/owl.jpg",
        "index.html",
        "a//b",
        "../x",
    ] {
        bucket.put(key, key.as_bytes().to_vec()).await?;
    }

    let page = bucket
        .list(&ListOptions::default().prefix("2024/").delimiter("/"))
        .await?;
    println!(
        "list prefix=2024/ delimiter=/ -> common prefixes {:?}",
        page.common_prefixes
    );
    let page = bucket.list(&ListOptions::default().max_keys(3)).await?;
    let keys: Vec<_> = page.objects.iter().map(|m| m.key.as_str()).collect();
    println!(
        "list max-keys=3 -> {keys:?}, truncated={}, then a continuation token",
        page.is_truncated
    );

    let tail = bucket
        .get_opts(
            "2024/02/fox.jpg",
            GetOptions {
                range: ByteRange::parse("bytes=-7"),
                ..Default::default()
            },
        )
        .await?;
    println!(
        "get bytes=-7 of 2024/02/fox.jpg -> {:?} (Content-Range {:?})",
        String::from_utf8_lossy(&tail.body),
        tail.range
    );

    let revalidate = GetOptions {
        conditions: Conditions::default().if_none_match(meta.etag.as_str()),
        ..Default::default()
    };
    let err = bucket
        .get_opts("2024/01/cat.jpg", revalidate)
        .await
        .unwrap_err();
    println!(
        "get with If-None-Match of the current ETag -> {} {}",
        err.status(),
        err.code()
    );

    clock.advance(Duration::from_secs(3600));
    let create_only = PutOptions {
        conditions: Conditions::default().if_none_match("*"),
        ..Default::default()
    };
    let err = bucket
        .put_opts("index.html", "v2", create_only)
        .await
        .unwrap_err();
    println!(
        "create-only put (If-None-Match: *) of an existing key -> {} {}: {err}",
        err.status(),
        err.code()
    );

    let since = Conditions::default().if_modified_since(meta.last_modified);
    bucket.put("2024/01/cat.jpg", vec![8u8; 10]).await?;
    let fresh = bucket
        .get_opts(
            "2024/01/cat.jpg",
            GetOptions {
                conditions: since,
                ..Default::default()
            },
        )
        .await?;
    println!(
        "an hour later (on the manual clock) it is overwritten; If-Modified-Since the old time -> 200, {} bytes",
        fresh.body.len()
    );

    for (what, err) in [
        (
            "get of a missing key",
            bucket.get("nope").await.unwrap_err(),
        ),
        (
            "a 1025-byte key",
            bucket.put(&"k".repeat(1025), "x").await.unwrap_err(),
        ),
        (
            "range past the end",
            bucket
                .get_opts(
                    "index.html",
                    GetOptions {
                        range: ByteRange::parse("bytes=100-"),
                        ..Default::default()
                    },
                )
                .await
                .unwrap_err(),
        ),
        (
            "bucket named My_Bucket",
            store.create_bucket("My_Bucket").await.unwrap_err(),
        ),
        (
            "delete of a non-empty bucket",
            store.delete_bucket("tour-photos").await.unwrap_err(),
        ),
    ] {
        println!("{what:>30} -> {} {}", err.status(), err.code());
    }

    // The same semantics, durable on disk: survives a restart.
    let dir = tempfile::tempdir()?;
    {
        let disk = Store::fs(dir.path())?;
        let b = disk.create_bucket("tour-durable").await?;
        for i in 0..100 {
            b.put(&format!("logs/{i:03}"), format!("line {i}")).await?;
        }
    }
    // A hostile disk while it was closed: one byte of one object's file flipped, and a folder that
    // looks like a bucket with a garbage bucket.json.
    let objects = dir.path().join("tour-durable").join("objects");
    let mut files = Vec::new();
    for sub in std::fs::read_dir(&objects)? {
        for f in std::fs::read_dir(sub?.path())? {
            files.push(f?.path());
        }
    }
    files.sort();
    let victim = files.first().ok_or("no object file")?;
    let mut bytes = std::fs::read(victim)?;
    let last = bytes.len() - 5;
    bytes[last] ^= 0x20;
    std::fs::write(victim, bytes)?;
    std::fs::create_dir_all(dir.path().join("tour-junk"))?;
    std::fs::write(dir.path().join("tour-junk").join("bucket.json"), "{garbage")?;

    let backend = objstore::FsBackend::open(dir.path(), objstore::FsOptions::default())?;
    let report = backend.recovery_report().clone();
    let disk = Store::builder().with_backend(backend).build()?;
    let b = disk.bucket("tour-durable")?;
    let got = b.get("logs/042").await;
    println!(
        "fs backend reopened: {} buckets, {} objects indexed; logs/042 = {:?}",
        report.buckets,
        report.objects,
        got.map(|g| String::from_utf8_lossy(&g.body).into_owned())
            .unwrap_or_else(|e| e.code().to_string())
    );
    for q in &report.quarantined_buckets {
        println!(
            "  quarantined at open: {} -> {} ({})",
            q.name, q.moved_to, q.reason
        );
    }
    let mut damaged = Vec::new();
    for meta in b.list_all("").await? {
        if let Err(e) = b.get(&meta.key).await {
            damaged.push(format!("{} -> {} {}", meta.key, e.status(), e.code()));
        }
    }
    println!(
        "  every object's bytes checked against their CRC32C on read: {} of 100 refused, never served: {}",
        damaged.len(),
        damaged.join(", ")
    );

    // And a bucket is an object_store::ObjectStore, for DataFusion, Polars, delta-rs, parquet.
    let os: Arc<dyn ObjectStore> = Arc::new(b.clone());
    let path = object_store::path::Path::from("via/object_store.txt");
    os.put(&path, "written through object_store".into()).await?;
    let read = b.get("via/object_store.txt").await?;
    println!(
        "put through object_store::ObjectStore, read natively: {:?}",
        String::from_utf8_lossy(&read.body)
    );
    archive(&store, &clock).await
}

/// Versioning, multipart, checksums, lifecycle on the manual clock, and the storage report.
async fn archive(store: &Store, clock: &ManualClock) -> crate::TourResult {
    use objstore::{
        Checksum, ChecksumAlgorithm, CompletedPart, LifecycleConfiguration, PriceTable, Versioning,
    };
    let day = Duration::from_secs(86_400);
    let b = store.create_bucket("tour-archive").await?;
    b.set_versioning(Versioning::Enabled).await?;
    let v1 = b.put("ledger.csv", "2024,1").await?;
    b.put("ledger.csv", "2024,2").await?;
    b.delete("ledger.csv").await?;
    let err = b.get("ledger.csv").await.unwrap_err();
    let old = b.get_version("ledger.csv", &v1.version_id).await?;
    println!(
        "versioning: get after delete is {} (delete marker {}), version {} still reads {:?}",
        err.code(),
        err.delete_marker().unwrap_or("?"),
        v1.version_id,
        String::from_utf8_lossy(&old.body)
    );
    let cleanup = b
        .delete_objects(
            [objstore::ObjectIdentifier::version(
                "ledger.csv",
                v1.version_id.as_str(),
            )],
            Default::default(),
        )
        .await?;
    println!(
        "DeleteObjects by version: {} deleted for good; ledger.csv keeps {} versions (one a delete marker)",
        cleanup.deleted.len(),
        b.list_all_versions("ledger.csv").await?.len()
    );

    let up = b
        .create_multipart_upload("backup.tar", Default::default())
        .await?;
    let first = vec![1u8; objstore::limits::MIN_PART_SIZE as usize];
    let p1 = b
        .upload_part("backup.tar", &up.upload_id, 1, first, None)
        .await?;
    let tail = ChecksumAlgorithm::Sha256.checksum(b"tail");
    let p2 = b
        .upload_part("backup.tar", &up.upload_id, 2, "tail", Some(tail))
        .await?;
    let parts = [
        CompletedPart {
            part_number: 1,
            etag: p1.etag,
        },
        CompletedPart {
            part_number: 2,
            etag: p2.etag,
        },
    ];
    let meta = b
        .complete_multipart_upload("backup.tar", &up.upload_id, &parts, &Conditions::default())
        .await?;
    println!("multipart: {} bytes, ETag {}", meta.size, meta.etag);
    let bad = PutOptions {
        checksum: Some(Checksum::new(ChecksumAlgorithm::Crc32, "AAAAAA==")),
        ..Default::default()
    };
    let err = b.put_opts("corrupt", "bytes", bad).await.unwrap_err();
    println!("checksums: a wrong CRC32 is {}", err.code());

    let rules = LifecycleConfiguration::from_json(
        r#"{"Rules": [{"ID": "archive", "Status": "Enabled",
            "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}], "Expiration": {"Days": 365},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]}"#,
    )?;
    b.set_lifecycle(Some(rules)).await?;
    clock.advance(31 * day);
    let report = b.run_lifecycle().await?;
    println!(
        "lifecycle at day 31: {} actions; backup.tar is now {}",
        report.actions.len(),
        b.head("backup.tar").await?.storage_class
    );
    let usage = b.storage_usage(&PriceTable::default()).await?;
    for (class, u) in &usage.classes {
        println!(
            "storage report: {class}: {} objects, {} bytes, ${:.8}/month",
            u.objects, u.bytes, u.monthly_cost
        );
    }
    Ok(())
}
