//! ListObjectsV2 and ListObjectVersions with arbitrary prefixes, delimiters, start keys, continuation
//! tokens, markers and page sizes, on a versioned memory bucket: never a panic; a token this store did
//! not issue is `InvalidArgument`; every page holds at most max-keys entries, in order, under the prefix;
//! following the tokens ends, never repeats an entry, and (without a delimiter) lists exactly the keys
//! after the start key.
//!
//! Input: fields separated by 0x00: prefix, delimiter, start-after, continuation token, max-keys (first
//! byte), version-id-marker. A token field that starts with `~` is sent as the URL-safe base64 of the
//! rest, so the fuzzer reaches the decoder's inner cases too.
#![no_main]

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use objstore::{Bucket, ListOptions, ListVersionsOptions, Store, Versioning};

const KEYS: &[&str] = &[
    "a", "a/", "a//", "a/b", "a/b/c", "a/c", "ab", "b", "b/x/y", "z", "é/x", "\u{FFFF}", "\u{10FFFF}z",
];

struct Fixture {
    rt: tokio::runtime::Runtime,
    bucket: Bucket,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bucket = rt.block_on(async {
            let store = Store::memory();
            let b = store.create_bucket("fuzz").await.unwrap();
            b.set_versioning(Versioning::Enabled).await.unwrap();
            for (i, k) in KEYS.iter().enumerate() {
                for v in 0..=(i % 3) {
                    b.put(k, format!("{k} {v}")).await.unwrap();
                }
            }
            b
        });
        Fixture { rt, bucket }
    })
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn nonempty(b: Option<&&[u8]>) -> Option<String> {
    b.filter(|f| !f.is_empty()).map(|f| text(f))
}

fuzz_target!(|data: &[u8]| {
    let fx = fixture();
    let fields: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    let prefix = fields.first().map(|f| text(f)).unwrap_or_default();
    let delimiter = nonempty(fields.get(1));
    let start_after = nonempty(fields.get(2));
    let token = fields.get(3).filter(|f| !f.is_empty()).map(|f| match f.strip_prefix(b"~") {
        Some(raw) => URL_SAFE_NO_PAD.encode(raw),
        None => text(f),
    });
    let max_keys = fields.get(4).and_then(|f| f.first()).map(|&n| n as usize % 8);
    let version_marker = nonempty(fields.get(5));

    fx.rt.block_on(async {
        let b = &fx.bucket;
        let mut opts = ListOptions {
            prefix: prefix.clone(),
            delimiter: delimiter.clone(),
            start_after: start_after.clone(),
            continuation_token: token.clone(),
            max_keys,
        };
        let max = max_keys.unwrap_or(1000);
        let mut listed: Vec<String> = Vec::new();
        for page_no in 0.. {
            assert!(page_no < 100, "the continuation tokens never end");
            let page = match b.list(&opts).await {
                Ok(p) => p,
                Err(e) => {
                    assert_eq!(e.code(), "InvalidArgument", "{e}");
                    assert!(opts.continuation_token.is_some(), "refused without a token: {e}");
                    assert_eq!(page_no, 0, "a token the store issued was refused: {e}");
                    return;
                }
            };
            assert!(page.objects.len() + page.common_prefixes.len() <= max);
            for o in &page.objects {
                assert!(o.key.starts_with(&prefix), "{} outside {prefix:?}", o.key);
                if let Some(d) = &delimiter {
                    assert!(!o.key[prefix.len()..].contains(d.as_str()), "{} not rolled up", o.key);
                }
            }
            let mut entries: Vec<String> = page.objects.iter().map(|o| o.key.to_string()).collect();
            entries.extend(page.common_prefixes.iter().cloned());
            entries.sort();
            for e in entries {
                assert!(listed.last().is_none_or(|l| *l < e), "{e:?} after {listed:?}");
                listed.push(e);
            }
            match page.next_continuation_token {
                Some(t) if page.is_truncated => opts.continuation_token = Some(t),
                _ => break,
            }
            if max == 0 {
                break;
            }
        }
        if token.is_none() && delimiter.is_none() && max > 0 {
            let mut want: Vec<String> = KEYS
                .iter()
                .filter(|k| k.starts_with(prefix.as_str()))
                .filter(|k| start_after.as_deref().is_none_or(|s| **k > s))
                .map(|k| k.to_string())
                .collect();
            want.sort();
            assert_eq!(listed, want);
        }

        let mut vopts = ListVersionsOptions {
            prefix: prefix.clone(),
            delimiter,
            key_marker: start_after,
            version_id_marker: version_marker,
            max_keys,
        };
        let mut seen: Vec<(String, String)> = Vec::new();
        for page_no in 0.. {
            assert!(page_no < 200, "the version markers never end");
            let Ok(page) = b.list_versions(&vopts).await else {
                return;
            };
            assert!(page.versions.len() + page.common_prefixes.len() <= max);
            for v in &page.versions {
                assert!(v.meta.key.starts_with(&prefix));
                let id = (v.meta.key.to_string(), format!("{:?}", v.meta.version_id));
                assert!(!seen.contains(&id), "{id:?} listed twice");
                seen.push(id);
            }
            if !page.is_truncated || max == 0 {
                break;
            }
            vopts.key_marker = page.next_key_marker;
            vopts.version_id_marker = page.next_version_id_marker;
        }
    });
});
