//! Presigned URLs (SigV4 query signing) against AWS's published example and AWS's own signer.
//!
//! Follows "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)" in the Amazon S3 API
//! reference: its worked example (credentials `AKIAIOSFODNN7EXAMPLE`, 2013-05-24, a GET of
//! `examplebucket/test.txt` valid 86,400 s) must verify with its published signature, URLs that the
//! `aws-sigv4` crate (the signer of the AWS SDK for Rust) makes for the same inputs must verify, and any
//! changed byte of a URL must not. The clock is a manual one: expiry is checked by moving it.
//!
//! `cargo test -p objstore --test sigv4 -- --nocapture` prints `sigv4 vectors: P/T`.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use objstore::sigv4::{Credentials, PresignRequest, SignedRequest, presign, verify};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use stratus_clock::ManualClock;

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const REGION: &str = "us-east-1";
const EXAMPLE_URL: &str = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
const EXAMPLE_HOST: &str = "examplebucket.s3.amazonaws.com";

/// 2013-05-24T00:00:00Z.
fn example_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600)
}

fn lookup(id: &str) -> Option<String> {
    (id == AKID).then(|| SECRET.to_string())
}

/// A URL as AWS's signer makes it: `aws-sigv4` with S3's settings (query signature, single encoding,
/// no path normalisation, unsigned payload), its parameters encoded by a generic encoder.
fn aws_presign(
    method: &str,
    host: &str,
    encoded_path_and_query: &str,
    headers: &[(&str, &str)],
    at: SystemTime,
    expires: u64,
) -> String {
    let identity: Identity = AwsCredentials::new(AKID, SECRET, None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(expires));
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("s3")
        .time(at)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let uri = format!("https://{host}{encoded_path_and_query}");
    let mut all_headers = vec![("host", host)];
    all_headers.extend_from_slice(headers);
    let request = SignableRequest::new(
        method,
        uri.as_str(),
        all_headers.into_iter(),
        SignableBody::UnsignedPayload,
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let mut out = encoded_path_and_query.to_string();
    let mut sep = if out.contains('?') { '&' } else { '?' };
    for (name, value) in instructions.params() {
        let value: &Cow<'static, str> = value;
        out.push(sep);
        out.push_str(name);
        out.push('=');
        out.push_str(&utf8_percent_encode(value, NON_ALPHANUMERIC).to_string());
        sep = '&';
    }
    out
}

/// A byte of `s` at `i` replaced by one that changes what it means (a digit by another digit, a letter by
/// another letter of the same case, anything else by `x`).
fn mutate(s: &str, i: usize) -> String {
    let mut bytes = s.as_bytes().to_vec();
    let b = bytes[i];
    bytes[i] = match b {
        b'0'..=b'8' => b + 1,
        b'9' => b'0',
        b'a'..=b'y' | b'A'..=b'Y' => b + 1,
        b'z' => b'a',
        b'Z' => b'A',
        _ => b'x',
    };
    String::from_utf8(bytes).unwrap()
}

struct Tally {
    passed: usize,
    run: usize,
    failures: Vec<String>,
}

impl Tally {
    fn check(&mut self, name: impl Into<String>, ok: bool) {
        self.run += 1;
        if ok {
            self.passed += 1;
        } else {
            self.failures.push(name.into());
        }
    }
}

/// Every vector: the published example, aws-sigv4's URLs, each byte of a URL changed, the clock moved.
#[test]
fn sigv4_vectors() {
    let mut t = Tally {
        passed: 0,
        run: 0,
        failures: Vec::new(),
    };
    let manual = ManualClock::starting_at(example_time());
    let clock = manual.clock();

    // 1. The published example verifies, at its start and within its day.
    let example = SignedRequest::from_path_and_query("GET", EXAMPLE_HOST, EXAMPLE_URL);
    t.check(
        "published example verifies",
        verify(&example, REGION, clock.now(), lookup).is_ok(),
    );
    manual.advance(Duration::from_secs(86_399));
    t.check(
        "published example verifies a second before it expires",
        verify(&example, REGION, clock.now(), lookup).is_ok(),
    );

    // 2. An expired URL is rejected on the manual clock; one dated in the future too.
    manual.advance(Duration::from_secs(2));
    let expired = verify(&example, REGION, clock.now(), lookup);
    t.check("published example rejected once expired", matches!(&expired, Err(e) if e.code() == "AccessDenied" && e.to_string().contains("Request has expired")));
    let early = verify(
        &example,
        REGION,
        example_time() - Duration::from_secs(1),
        lookup,
    );
    t.check("a URL dated in the future is not valid yet", matches!(&early, Err(e) if e.code() == "AccessDenied" && e.to_string().contains("not valid yet")));
    t.check("another region is refused", matches!(verify(&example, "eu-west-1", example_time(), lookup), Err(e) if e.code() == "AuthorizationQueryParametersError"));
    t.check("an unknown access key is refused", matches!(verify(&example, REGION, example_time(), |_| None), Err(e) if e.code() == "InvalidAccessKeyId"));
    t.check("a wrong secret does not match", matches!(verify(&example, REGION, example_time(), |_| Some("other".into())), Err(e) if e.code() == "SignatureDoesNotMatch"));

    // 3. aws-sigv4 and objstore sign the same inputs alike, and objstore verifies aws-sigv4's URLs.
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01
    let cases: Vec<(PresignRequest, &str)> = vec![
        (
            PresignRequest::get_object(
                "localhost:9000",
                "photos",
                "cat.jpg",
                Duration::from_secs(3600),
            ),
            "/photos/cat.jpg",
        ),
        (
            PresignRequest::put_object(
                "localhost:9000",
                "photos",
                "dir/a b+c~é.txt",
                Duration::from_secs(60),
            ),
            "/photos/dir/a%20b%2Bc~%C3%A9.txt",
        ),
        (
            PresignRequest::head_object("s3.amazonaws.com", "b", "k=1&2", Duration::from_secs(1)),
            "/b/k%3D1%262",
        ),
        (
            PresignRequest::upload_part(
                "127.0.0.1:8080",
                "big",
                "movie.mkv",
                "upload/id+1",
                7,
                Duration::from_secs(604_800),
            ),
            "/big/movie.mkv?partNumber=7&uploadId=upload%2Fid%2B1",
        ),
        (
            PresignRequest::get_object("b.s3.amazonaws.com", "v", "k", Duration::from_secs(900))
                .with_query("versionId", "3/L4kqtJl40Nr8X8gdRQBpUMLUo"),
            "/v/k?versionId=3%2FL4kqtJl40Nr8X8gdRQBpUMLUo",
        ),
        (
            PresignRequest::put_object("localhost", "b", "typed", Duration::from_secs(300))
                .with_header("content-type", "text/plain"),
            "/b/typed",
        ),
    ];
    let creds = Credentials::new(AKID, SECRET);
    let mut samples = Vec::new();
    for (req, encoded) in &cases {
        let extra: Vec<(&str, &str)> = req
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let theirs = aws_presign(
            &req.method,
            &req.host,
            encoded,
            &extra,
            at,
            req.expires.as_secs(),
        );
        let ours = presign(&creds, REGION, req, at).unwrap();
        let sig = |u: &str| {
            u.rsplit("X-Amz-Signature=")
                .next()
                .unwrap_or("")
                .to_string()
        };
        t.check(
            format!("{} {encoded}: same signature as aws-sigv4", req.method),
            sig(&theirs) == sig(&ours.path_and_query),
        );
        let mut incoming = SignedRequest::from_path_and_query(&req.method, &req.host, &theirs);
        for (n, v) in &extra {
            incoming = incoming.with_header(n, v);
        }
        let verified = verify(&incoming, REGION, at + Duration::from_secs(1), lookup);
        t.check(
            format!("{} {encoded}: aws-sigv4's URL verifies", req.method),
            matches!(&verified, Ok(v) if v.access_key_id == AKID),
        );
        let mine = verify(
            &SignedRequest {
                headers: incoming.headers.clone(),
                ..SignedRequest::from_path_and_query(&req.method, &req.host, &ours.path_and_query)
            },
            REGION,
            at,
            lookup,
        );
        t.check(
            format!("{} {encoded}: objstore's URL verifies", req.method),
            mine.is_ok(),
        );
        samples.push((incoming, theirs));
    }

    // 4. One changed byte anywhere in the path or query is rejected (every position of two URLs).
    let mut sample_urls = vec![(example.clone(), EXAMPLE_URL.to_string(), example_time())];
    sample_urls.extend(
        samples
            .iter()
            .take(4)
            .map(|(r, u)| (r.clone(), u.clone(), at)),
    );
    for (base, url, when) in &sample_urls {
        for i in 1..url.len() {
            if !url.is_char_boundary(i) || !url.is_char_boundary(i + 1) {
                continue;
            }
            let changed = mutate(url, i);
            let mut req = SignedRequest::from_path_and_query(&base.method, &base.host, &changed);
            req.headers = base.headers.clone();
            t.check(
                format!("byte {i} of {url} changed"),
                verify(&req, REGION, *when, lookup).is_err(),
            );
        }
        // A signed header changed, and the method changed.
        let mut other_host = base.clone();
        other_host.host = format!("x{}", base.host);
        t.check(format!("host changed for {url}"), matches!(verify(&other_host, REGION, *when, lookup), Err(e) if e.code() == "SignatureDoesNotMatch"));
        let mut other_method = base.clone();
        other_method.method = if base.method == "GET" {
            "DELETE".into()
        } else {
            "GET".into()
        };
        t.check(format!("method changed for {url}"), matches!(verify(&other_method, REGION, *when, lookup), Err(e) if e.code() == "SignatureDoesNotMatch"));
    }
    let (typed, _) = &samples[5];
    let mut retyped = typed.clone();
    retyped.headers = vec![("Content-Type".into(), "text/html".into())];
    t.check("a signed header's value changed", matches!(verify(&retyped, REGION, at, lookup), Err(e) if e.code() == "SignatureDoesNotMatch"));
    let mut dropped = typed.clone();
    dropped.headers.clear();
    t.check("a signed header left out", matches!(verify(&dropped, REGION, at, lookup), Err(e) if e.code() == "SignatureDoesNotMatch"));

    // 5. Malformed signing parameters are refused before any signature work.
    let too_long = EXAMPLE_URL.replace("X-Amz-Expires=86400", "X-Amz-Expires=604801");
    let no_sig = EXAMPLE_URL
        .split("&X-Amz-Signature")
        .next()
        .unwrap()
        .to_string();
    let dup = format!("{EXAMPLE_URL}&X-Amz-Date=20130524T000000Z");
    for (name, url) in [
        ("expiry over 7 days", too_long),
        ("no signature", no_sig),
        ("a parameter twice", dup),
    ] {
        let req = SignedRequest::from_path_and_query("GET", EXAMPLE_HOST, &url);
        t.check(name, matches!(verify(&req, REGION, example_time(), lookup), Err(e) if e.code() == "AuthorizationQueryParametersError"));
    }

    println!("sigv4 vectors: {}/{}", t.passed, t.run);
    assert!(t.failures.is_empty(), "failed: {:#?}", t.failures);
}
