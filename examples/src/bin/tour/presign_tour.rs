//! objstore: a presigned URL (SigV4 in the query string) used, then refused once expired.

use std::time::Duration;

use objstore::Store;
use objstore::sigv4::{Credentials, PresignRequest, SignedRequest, presign, verify};
use stratus_clock::ManualClock;

pub(crate) async fn run() -> crate::TourResult {
    println!("== objstore: presigned URLs (AWS Signature Version 4, query string)");
    let clock = ManualClock::new();
    let store = Store::builder()
        .with_clock(clock.clock())
        .with_region("eu-west-1")
        .build()?;
    let bucket = store.create_bucket("reports").await?;
    bucket.put("2026/q4.pdf", vec![1u8; 2048]).await?;

    let creds = Credentials::new("AKIDTOUR", "tour-secret");
    let secret_for = |id: &str| (id == "AKIDTOUR").then(|| "tour-secret".to_string());
    let request = PresignRequest::get_object(
        "localhost:9000",
        "reports",
        "2026/q4.pdf",
        Duration::from_secs(600),
    )
    .with_scheme("http");
    let url = presign(&creds, store.region(), &request, clock.clock().now())?;
    println!("presigned for 10 minutes: {}", url.url);

    // What a server does with the URL when it arrives: verify, then serve as the signer.
    let incoming = SignedRequest::from_path_and_query("GET", "localhost:9000", &url.path_and_query);
    let signer = verify(&incoming, store.region(), clock.clock().now(), secret_for)?;
    let body = bucket.get("2026/q4.pdf").await?.body;
    println!(
        "used at once: signed by {}, served {} bytes",
        signer.access_key_id,
        body.len()
    );

    let tampered = url.path_and_query.replace("q4.pdf", "q3.pdf");
    let err = verify(
        &SignedRequest::from_path_and_query("GET", "localhost:9000", &tampered),
        store.region(),
        clock.clock().now(),
        secret_for,
    )
    .unwrap_err();
    println!(
        "the same URL pointed at another key: {} ({})",
        err.code(),
        err.status()
    );

    clock.advance(Duration::from_secs(601));
    let err = verify(&incoming, store.region(), clock.clock().now(), secret_for).unwrap_err();
    println!("11 minutes later: {} ({}): {err}", err.code(), err.status());
    Ok(())
}
