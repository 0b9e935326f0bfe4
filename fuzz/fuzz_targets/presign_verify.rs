//! `objstore::sigv4::verify` on arbitrary requests, and `presign` then `verify` on arbitrary keys.
//!
//! Mode 0 (first byte even): the rest is `METHOD\nHOST\nPATH?QUERY[\nheader: value]`, verified against one
//! known key at a fixed time: never panics; a request that verifies names the known key and is unexpired.
//! Mode 1 (first byte odd): the rest is a key (lossy UTF-8) and an expiry byte; a URL presigned for it
//! verifies, and the same URL with its last signature digit changed does not.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use objstore::sigv4::{Credentials, PresignRequest, SignedRequest, presign, verify};

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn lookup(id: &str) -> Option<String> {
    (id == AKID).then(|| SECRET.to_string())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    // 2013-05-24T00:00:10Z: inside the published example's validity.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_610);
    if mode % 2 == 0 {
        let text = String::from_utf8_lossy(rest);
        let mut lines = text.split('\n');
        let method = lines.next().unwrap_or("");
        let host = lines.next().unwrap_or("");
        let target = lines.next().unwrap_or("");
        let mut req = SignedRequest::from_path_and_query(method, host, target);
        for line in lines {
            if let Some((n, v)) = line.split_once(':') {
                req = req.with_header(n, v.trim());
            }
        }
        if let Ok(v) = verify(&req, "us-east-1", now, lookup) {
            assert_eq!(v.access_key_id, AKID);
            assert!(v.expires_at >= now);
            assert!(v.signed_headers.iter().any(|h| h == "host"));
        }
    } else {
        let Some((&secs, key)) = rest.split_first() else {
            return;
        };
        let key = String::from_utf8_lossy(key);
        let expires = Duration::from_secs(u64::from(secs) + 1);
        let creds = Credentials::new(AKID, SECRET);
        let request = PresignRequest::get_object("localhost:9000", "bucket", &key, expires);
        let url = presign(&creds, "us-east-1", &request, now).expect("a valid expiry presigns");
        let incoming = SignedRequest::from_path_and_query("GET", "localhost:9000", &url.path_and_query);
        verify(&incoming, "us-east-1", now, lookup).expect("a presigned URL verifies");
        let mut tampered = url.path_and_query.clone();
        let last = tampered.pop().expect("a signature");
        tampered.push(if last == '0' { '1' } else { '0' });
        let bad = SignedRequest::from_path_and_query("GET", "localhost:9000", &tampered);
        assert!(verify(&bad, "us-east-1", now, lookup).is_err());
    }
});
