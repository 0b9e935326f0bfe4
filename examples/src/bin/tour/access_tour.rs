//! objstore: who may do what. A denied call, a bucket policy that allows it, Block Public Access, and a
//! presigned URL that runs as its signer until it expires.

use std::time::Duration;

use objstore::sigv4::{Credentials, PresignRequest, SignedRequest, presign};
use objstore::{Identity, PublicAccessBlock, Store};
use stratus_clock::ManualClock;

pub(crate) async fn run() -> crate::TourResult {
    println!("== objstore: identities, bucket policies, Block Public Access");
    let clock = ManualClock::new();
    let partner = Identity::user("222222222222", "partner");
    let keys = Credentials::new("AKIAPARTNER", "partner-secret");
    let store = Store::builder()
        .with_clock(clock.clock())
        .with_credentials(&partner, keys.clone())
        .build()?;
    let bucket = store.create_bucket("exports").await?;
    bucket
        .put("daily/2026-12-04.csv", "id,total\n1,42\n")
        .await?;

    let as_partner = bucket.as_identity(&partner);
    let err = as_partner
        .get("daily/2026-12-04.csv")
        .await
        .expect_err("no policy yet: another account is denied");
    println!("denied: {} ({})", err, err.code());

    bucket
        .set_policy(
            r#"{"Version": "2012-10-17", "Statement": [{"Sid": "PartnerReadsDaily", "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::222222222222:user/partner"},
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::exports/daily/*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}"#,
        )
        .await?;
    let body = as_partner.get("daily/2026-12-04.csv").await?.body;
    println!("after the policy: the partner reads {} bytes", body.len());

    let public = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::exports/*"}]}"#;
    let err = bucket
        .set_policy(public)
        .await
        .expect_err("Block Public Access is on for a new bucket");
    println!("a public policy is refused: {}", err);
    assert_eq!(
        bucket.public_access_block().await?,
        PublicAccessBlock::all(true)
    );

    // A presigned URL signed with the partner's keys runs as the partner, until it expires.
    let request = PresignRequest::get_object(
        "localhost:9000",
        "exports",
        "daily/2026-12-04.csv",
        Duration::from_secs(300),
    );
    let url = presign(&keys, store.region(), &request, clock.clock().now())?;
    let incoming = SignedRequest::from_path_and_query("GET", "localhost:9000", &url.path_and_query);
    let caller = store.verify_presigned(&incoming)?;
    let got = bucket.as_caller(caller).get("daily/2026-12-04.csv").await?;
    println!(
        "presigned GET as {}: {} bytes",
        got.meta.key,
        got.body.len()
    );
    clock.advance(Duration::from_secs(301));
    let err = store
        .verify_presigned(&incoming)
        .expect_err("five minutes later the URL has expired");
    println!("after expiry: {} ({})", err, err.code());
    Ok(())
}
