//! Unit tests of the SigV4 parts against the worked example of the AWS page "Authenticating Requests:
//! Using Query Parameters (AWS Signature Version 4)" (Amazon S3 API reference).

use std::time::{Duration, SystemTime};

use super::canonical::{canonical_request, scope, signature, signing_key, string_to_sign};
use super::*;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// 2013-05-24T00:00:00Z, the example's time.
fn example_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600)
}

/// The example's canonical request, string to sign and signature, step by step.
#[test]
fn the_published_example_step_by_step() {
    let query = vec![
        ("X-Amz-Algorithm".to_string(), ALGORITHM.to_string()),
        (
            "X-Amz-Credential".to_string(),
            "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request".to_string(),
        ),
        ("X-Amz-Date".to_string(), "20130524T000000Z".to_string()),
        ("X-Amz-Expires".to_string(), "86400".to_string()),
        ("X-Amz-SignedHeaders".to_string(), "host".to_string()),
    ];
    let headers = vec![(
        "host".to_string(),
        "examplebucket.s3.amazonaws.com".to_string(),
    )];
    let canonical = canonical_request("GET", "/test.txt", &query, &headers);
    assert_eq!(
        canonical,
        "GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD"
    );
    let to_sign = string_to_sign(
        "20130524T000000Z",
        &scope("20130524", "us-east-1"),
        &canonical,
    );
    assert_eq!(
        to_sign,
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04"
    );
    let sig = signature(&signing_key(SECRET, "20130524", "us-east-1"), &to_sign);
    assert_eq!(
        sig,
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    );
}

/// `presign` reproduces the example's URL exactly.
#[test]
fn presign_reproduces_the_published_url() {
    let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", SECRET);
    let req = PresignRequest::new(
        "GET",
        "examplebucket.s3.amazonaws.com",
        "/test.txt",
        Duration::from_secs(86_400),
    );
    let url = presign(&creds, "us-east-1", &req, example_time()).unwrap();
    assert_eq!(
        url.url,
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    );
    assert_eq!(url.expires_at, example_time() + Duration::from_secs(86_400));
}

#[test]
fn expiry_outside_one_second_to_seven_days_is_refused() {
    let creds = Credentials::new("AKID", "s");
    for expires in [
        Duration::ZERO,
        Duration::from_millis(1500),
        Duration::from_secs(604_801),
    ] {
        let req = PresignRequest::get_object("h", "b", "k", expires);
        let err = presign(&creds, "us-east-1", &req, example_time()).unwrap_err();
        assert_eq!(
            err.code(),
            "AuthorizationQueryParametersError",
            "{expires:?}"
        );
        assert_eq!(err.status(), 400);
    }
    for expires in [1, 604_800] {
        let req = PresignRequest::get_object("h", "b", "k", Duration::from_secs(expires));
        presign(&creds, "us-east-1", &req, example_time()).unwrap();
    }
}

#[test]
fn credentials_debug_hides_the_secret() {
    let text = format!("{:?}", Credentials::new("AKID", "topsecret"));
    assert!(text.contains("AKID") && !text.contains("topsecret"));
}
