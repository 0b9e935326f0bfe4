//! Every operation run as a denied caller: `AccessDenied` and no change (the bucket's versions, tags,
//! configuration and uploads compared before and after), on the memory and fs backends. Follows the S3
//! User Guide, "How Amazon S3 authorizes a request": a caller of another account, or the anonymous
//! caller, needs a bucket policy that allows the action; without one the request is denied.

use std::collections::BTreeMap;

use objstore::sigv4::{Credentials, PresignRequest, SignedRequest, presign};
use objstore::{
    Bucket, Caller, CompletedPart, CopyOptions, DeleteObjectsOptions, DeleteOptions, Identity,
    LifecycleConfiguration, ListOptions, ListVersionsOptions, MultipartOptions, PublicAccessBlock,
    Store, UploadPartCopyOptions, Versioning,
};

type Op = fn(Bucket, Store) -> futures::future::BoxFuture<'static, objstore::Result<()>>;

macro_rules! op {
    ($name:literal, |$b:ident, $s:ident| $body:expr) => {
        (
            $name,
            (|$b: Bucket, $s: Store| Box::pin(async move { $body.map(|_| ()) })) as Op,
        )
    };
}

fn operations() -> Vec<(&'static str, Op)> {
    vec![
        op!("PutObject", |b, _s| b.put("new", "x").await),
        op!("PutObject over a key", |b, _s| b.put("a", "changed").await),
        op!("GetObject", |b, _s| b.get("a").await),
        op!("GetObject by version", |b, _s| b
            .get_version("a", "00000000000000000000000000000000")
            .await),
        op!("HeadObject", |b, _s| b.head("a").await),
        op!("DeleteObject", |b, _s| b.delete("a").await),
        op!("DeleteObject by version", |b, _s| b
            .delete_opts(
                "a",
                DeleteOptions {
                    version_id: Some("00000000000000000000000000000000".into()),
                    ..Default::default()
                }
            )
            .await),
        op!("CopyObject", |b, _s| b.copy("a", "copied").await),
        op!("CopyObject from another bucket", |b, _s| b
            .copy_from("other", "o", "copied", CopyOptions::default())
            .await),
        op!("ListObjectsV2", |b, _s| b
            .list(&ListOptions::default())
            .await),
        op!("ListObjectVersions", |b, _s| b
            .list_versions(&ListVersionsOptions::default())
            .await),
        op!("GetBucketVersioning", |b, _s| b.versioning().await),
        op!("PutBucketVersioning", |b, _s| b
            .set_versioning(Versioning::Suspended)
            .await),
        op!("GetObjectTagging", |b, _s| b.object_tags("a", None).await),
        op!("PutObjectTagging", |b, _s| b
            .set_object_tags("a", None, BTreeMap::from([("t".into(), "v".into())]))
            .await),
        op!("GetBucketTagging", |b, _s| b.bucket_tags().await),
        op!("PutBucketTagging", |b, _s| b
            .set_bucket_tags(BTreeMap::new())
            .await),
        op!("GetLifecycleConfiguration", |b, _s| b.lifecycle().await),
        op!("PutLifecycleConfiguration", |b, _s| b
            .set_lifecycle(None)
            .await),
        op!("a lifecycle pass", |b, _s| b.run_lifecycle().await),
        op!("GetObjectLockConfiguration", |b, _s| b.object_lock().await),
        op!("PutObjectLegalHold", |b, _s| b
            .set_legal_hold("a", None, true)
            .await),
        op!("PutObjectRetention", |b, _s| b
            .set_retention("a", None, None, false)
            .await),
        op!("RestoreObject", |b, _s| b
            .restore_object("a", None, 1)
            .await),
        op!("GetBucketPolicy", |b, _s| b.policy().await),
        op!("PutBucketPolicy", |b, _s| {
            b
            .set_policy(r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "s3:*", "Resource": "arn:aws:s3:::bkt/*"}]}"#)
            .await
        }),
        op!("DeleteBucketPolicy", |b, _s| b.delete_policy().await),
        op!("GetPublicAccessBlock", |b, _s| b
            .public_access_block()
            .await),
        op!("PutPublicAccessBlock", |b, _s| b
            .set_public_access_block(PublicAccessBlock::all(false))
            .await),
        op!("CreateMultipartUpload", |b, _s| b
            .create_multipart_upload("mp", MultipartOptions::default())
            .await),
        op!("UploadPart", |b, s| {
            let id = upload_id(&s).await;
            b.upload_part("up", &id, 2, "x", None).await
        }),
        op!("UploadPartCopy", |b, s| {
            let id = upload_id(&s).await;
            b.upload_part_copy("up", &id, 2, "bkt", "a", UploadPartCopyOptions::default())
                .await
        }),
        op!("ListParts", |b, s| {
            let id = upload_id(&s).await;
            b.list_parts("up", &id).await
        }),
        op!("ListMultipartUploads", |b, _s| b
            .list_multipart_uploads("")
            .await),
        op!("CompleteMultipartUpload", |b, s| {
            let id = upload_id(&s).await;
            let part = s.bucket("bkt")?.list_parts("up", &id).await?[0]
                .etag
                .clone();
            b.complete_multipart_upload(
                "up",
                &id,
                &[CompletedPart {
                    part_number: 1,
                    etag: part,
                }],
                &Default::default(),
            )
            .await
        }),
        op!("AbortMultipartUpload", |b, s| {
            let id = upload_id(&s).await;
            b.abort_multipart_upload("up", &id).await
        }),
        op!("storage usage", |b, _s| b
            .storage_usage(&objstore::PriceTable::default())
            .await),
        op!("DeleteBucket", |b, s| s
            .as_caller(b.caller().clone())
            .delete_bucket("bkt")
            .await),
        op!("HeadBucket", |b, s| s
            .as_caller(b.caller().clone())
            .head_bucket("bkt")
            .await),
        op!("CreateBucket", |b, s| s
            .as_caller(b.caller().clone())
            .create_bucket("fresh")
            .await),
    ]
}

async fn upload_id(owner: &Store) -> String {
    owner
        .bucket("bkt")
        .unwrap()
        .list_multipart_uploads("up")
        .await
        .unwrap()[0]
        .upload_id
        .clone()
}

async fn fill(store: &Store) {
    let b = store.create_bucket("bkt").await.unwrap();
    b.set_versioning(Versioning::Enabled).await.unwrap();
    b.put("a", "one").await.unwrap();
    b.put("a", "two").await.unwrap();
    b.put("logs/1", "l").await.unwrap();
    b.set_object_tags("logs/1", None, BTreeMap::from([("k".into(), "v".into())]))
        .await
        .unwrap();
    b.set_bucket_tags(BTreeMap::from([("team".into(), "x".into())]))
        .await
        .unwrap();
    b.set_lifecycle(Some(
        LifecycleConfiguration::from_json(
            r#"{"Rules": [{"Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 1}}]}"#,
        )
        .unwrap(),
    ))
    .await
    .unwrap();
    let up = b
        .create_multipart_upload("up", MultipartOptions::default())
        .await
        .unwrap();
    b.upload_part("up", &up.upload_id, 1, "part", None)
        .await
        .unwrap();
    store
        .create_bucket("other")
        .await
        .unwrap()
        .put("o", "x")
        .await
        .unwrap();
}

/// Everything a denied call could change, as the owner sees it.
async fn snapshot(store: &Store) -> String {
    let b = store.bucket("bkt").unwrap();
    let versions: Vec<String> = b
        .list_all_versions("")
        .await
        .unwrap()
        .iter()
        .map(|v| {
            format!(
                "{} {} {} {:?} {:?} {}",
                v.meta.key,
                v.meta.version_id,
                v.meta.etag,
                v.meta.tags,
                v.meta.retention,
                v.meta.legal_hold
            )
        })
        .collect();
    let uploads: Vec<String> = b
        .list_multipart_uploads("")
        .await
        .unwrap()
        .iter()
        .map(|u| u.upload_id.clone())
        .collect();
    let parts = match uploads.first() {
        Some(id) => b.list_parts("up", id).await.unwrap().len(),
        None => 0,
    };
    format!(
        "{versions:?}\n{uploads:?} {parts}\n{:?} {:?} {:?} {:?} {:?}\n{:?}",
        b.versioning().await.unwrap(),
        b.bucket_tags().await.unwrap(),
        b.lifecycle().await.unwrap(),
        b.policy().await.ok().map(|p| p.to_string()),
        b.public_access_block().await.unwrap(),
        store
            .list_buckets()
            .await
            .unwrap()
            .iter()
            .map(|b| b.name.clone())
            .collect::<Vec<_>>()
    )
}

async fn denied_checks(store: Store, callers: &[Caller], failures: &mut Vec<String>) -> usize {
    fill(&store).await;
    let mut checks = 0;
    for caller in callers {
        for (name, op) in operations() {
            let before = snapshot(&store).await;
            let handle = store.bucket("bkt").unwrap().as_caller(caller.clone());
            let result = op(handle, store.clone()).await;
            let after = snapshot(&store).await;
            checks += 1;
            let who = caller.identity().arn();
            match result {
                Err(e) if e.code() == "AccessDenied" && e.status() == 403 => {
                    if name.starts_with("Head") && e.has_body() {
                        failures.push(format!("{name} as {who}: a denied HEAD has a body"));
                    }
                }
                other => failures.push(format!("{name} as {who}: {other:?}")),
            }
            if before != after {
                failures.push(format!("{name} as {who}: changed\n{before}\n---\n{after}"));
            }
        }
    }
    checks
}

/// Prints `denied-operation checks: P/T` for `scripts/test`.
#[tokio::test]
async fn every_operation_denied_changes_nothing() {
    let callers = [
        Caller::new(Identity::user("222222222222", "bob")),
        Caller::new(Identity::anonymous()),
        Caller::new(Identity::root("222222222222")).with_source_ip("203.0.113.9".parse().unwrap()),
    ];
    let mut failures = Vec::new();
    let mut total = denied_checks(Store::memory(), &callers, &mut failures).await;
    let dir = tempfile::tempdir().unwrap();
    total += denied_checks(Store::fs(dir.path()).unwrap(), &callers, &mut failures).await;
    println!(
        "denied-operation checks: {}/{total}",
        total - failures.len().min(total)
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A denied call, then a policy that allows it (S3 User Guide, "Bucket policy examples": granting
/// cross-account permissions), and an explicit deny that beats the owner's own access.
#[tokio::test]
async fn a_policy_allows_and_a_deny_beats_the_owner() {
    let store = Store::memory();
    let b = store.create_bucket("bkt").await.unwrap();
    b.put("shared/x", "data").await.unwrap();
    let bob = b.as_identity(&Identity::user("222222222222", "bob"));
    assert_eq!(
        bob.get("shared/x").await.unwrap_err().code(),
        "AccessDenied"
    );
    b.set_policy(r#"{"Version": "2012-10-17", "Statement": [
        {"Sid": "BobReads", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:user/bob"},
         "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/shared/*"]},
        {"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::bkt/*"}]}"#)
        .await
        .unwrap();
    assert_eq!(&bob.get("shared/x").await.unwrap().body[..], b"data");
    assert_eq!(
        bob.list(&ListOptions::default())
            .await
            .unwrap()
            .objects
            .len(),
        1
    );
    let err = bob.put("shared/y", "no").await.unwrap_err();
    assert!(err.to_string().contains("s3:PutObject"), "{err}");
    // The owner is denied by the explicit Deny; the object stays.
    let err = b.delete("shared/x").await.unwrap_err();
    assert!(
        matches!(&err, objstore::Error::Denied(d) if matches!(&d.reason, objstore::DenyReason::ExplicitDeny(s) if s.contains("NoDeletes"))),
        "{err}"
    );
    assert!(b.head("shared/x").await.is_ok());
    // DeleteObjects reports the denied entry and goes on.
    let out = b
        .delete_objects(
            ["shared/x"].map(objstore::ObjectIdentifier::new),
            DeleteObjectsOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.errors[0].error.code(), "AccessDenied");
    // The owner's root may always remove a policy, even one that denies it everything.
    b.set_policy(r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"]}]}"#)
        .await
        .unwrap();
    assert_eq!(b.get("shared/x").await.unwrap_err().code(), "AccessDenied");
    b.delete_policy().await.unwrap();
    assert!(b.get("shared/x").await.is_ok());
}

/// Block Public Access (S3 User Guide, "Blocking public access to your Amazon S3 storage"): on by
/// default, a public policy is refused while BlockPublicPolicy is on; RestrictPublicBuckets makes an
/// existing public grant ineffective for anonymous callers.
#[tokio::test]
async fn block_public_access() {
    let store = Store::memory();
    let b = store.create_bucket("site").await.unwrap();
    b.put("index.html", "<h1>hi</h1>").await.unwrap();
    assert_eq!(
        b.public_access_block().await.unwrap(),
        PublicAccessBlock::all(true)
    );
    let public = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"}]}"#;
    let err = b.set_policy(public).await.unwrap_err();
    assert_eq!(err.code(), "AccessDenied");
    assert!(err.to_string().contains("BlockPublicPolicy"), "{err}");
    assert_eq!(b.policy().await.unwrap_err().code(), "NoSuchBucketPolicy");
    b.set_public_access_block(PublicAccessBlock {
        block_public_policy: false,
        ..PublicAccessBlock::all(true)
    })
    .await
    .unwrap();
    b.set_policy(public).await.unwrap();
    assert_eq!(b.policy().await.unwrap().to_string(), public);
    let anon = b.as_identity(&Identity::anonymous());
    let err = anon.get("index.html").await.unwrap_err();
    assert!(err.to_string().contains("RestrictPublicBuckets"), "{err}");
    b.set_public_access_block(PublicAccessBlock::all(false))
        .await
        .unwrap();
    assert!(anon.get("index.html").await.is_ok());
    let head = anon.head("missing-but-denied-put").await;
    assert!(head.is_err());
    assert_eq!(anon.put("x", "y").await.unwrap_err().code(), "AccessDenied");
}

/// A presigned URL runs as the identity that signed it: allowed by the policy, and expired on the clock.
#[tokio::test]
async fn presigned_urls_run_as_their_signer() {
    let clock = stratus_clock::ManualClock::new();
    let bob = Identity::user("222222222222", "bob");
    let creds = Credentials::new("AKIABOB", "bob-secret");
    let store = Store::builder()
        .with_clock(clock.clock())
        .with_credentials(&bob, creds.clone())
        .build()
        .unwrap();
    let b = store.create_bucket("bkt").await.unwrap();
    b.put("k", "v").await.unwrap();
    let url = presign(
        &creds,
        store.region(),
        &PresignRequest::get_object("s3.local", "bkt", "k", std::time::Duration::from_secs(60)),
        clock.clock().now(),
    )
    .unwrap();
    let request = SignedRequest::from_path_and_query("GET", "s3.local", &url.path_and_query);
    let caller = store.verify_presigned(&request).unwrap();
    assert_eq!(caller.identity(), &bob);
    assert_eq!(
        b.as_caller(caller.clone())
            .get("k")
            .await
            .unwrap_err()
            .code(),
        "AccessDenied"
    );
    b.set_policy(r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/*"}]}"#)
        .await
        .unwrap();
    assert_eq!(&b.as_caller(caller).get("k").await.unwrap().body[..], b"v");
    clock.advance(std::time::Duration::from_secs(61));
    assert_eq!(
        store.verify_presigned(&request).unwrap_err().code(),
        "AccessDenied"
    );
    let unknown = Store::memory().verify_presigned(&request).unwrap_err();
    assert_eq!(unknown.code(), "InvalidAccessKeyId");
}
