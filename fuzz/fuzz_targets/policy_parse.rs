//! `objstore::BucketPolicy::parse` on arbitrary text: never panics; a policy that parses gives its text
//! back verbatim and parses again to the same publicity.
#![no_main]

use libfuzzer_sys::fuzz_target;
use objstore::BucketPolicy;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(policy) = BucketPolicy::parse("fuzz-bucket", &text) {
        assert_eq!(policy.as_str(), text);
        let again = BucketPolicy::parse("fuzz-bucket", policy.as_str()).expect("parses twice");
        assert_eq!(again.is_public(), policy.is_public());
    }
});
