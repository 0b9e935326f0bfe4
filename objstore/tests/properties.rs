//! Property tests: listing against a sorted model, ranges against slices, hostile keys against the fs root.

use std::collections::BTreeSet;
use std::path::Path;

use objstore::{ByteRange, GetOptions, ListOptions, Store};
use proptest::prelude::*;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn key_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just("b"),
            Just("/"),
            Just("é"),
            Just("\u{1F600}"),
            Just("-"),
            Just("z")
        ],
        1..7,
    )
    .prop_map(|parts| parts.concat())
}

/// What ListObjectsV2 must return over all pages, computed naively from the sorted key set.
fn model(
    keys: &BTreeSet<String>,
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<&str>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in keys {
        if !k.starts_with(prefix) || start_after.is_some_and(|s| k.as_str() <= s) {
            continue;
        }
        let entry = match delimiter.and_then(|d| k[prefix.len()..].find(d).map(|i| (i, d))) {
            Some((i, d)) => format!("P:{}", &k[..prefix.len() + i + d.len()]),
            None => format!("K:{k}"),
        };
        if out.last() != Some(&entry) {
            out.push(entry);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn list_pagination_matches_sorted_model(
        keys in proptest::collection::btree_set(key_strategy(), 0..40),
        prefix in prop_oneof![Just(String::new()), key_strategy().prop_map(|k| k.chars().take(2).collect::<String>())],
        delimiter in prop_oneof![Just(None), Just(Some("/".to_string())), Just(Some("é".to_string())), Just(Some("a/".to_string()))],
        start_after in proptest::option::of(key_strategy()),
        page in 1usize..6,
    ) {
        let got = rt().block_on(async {
            let store = Store::memory();
            let b = store.create_bucket("prop").await.unwrap();
            for k in &keys {
                b.put(k, "").await.unwrap();
            }
            let mut opts = ListOptions { prefix: prefix.clone(), delimiter: delimiter.clone(), start_after: start_after.clone(), max_keys: Some(page), ..Default::default() };
            let mut got = Vec::new();
            loop {
                let p = b.list(&opts).await.unwrap();
                prop_assert!(p.key_count <= page);
                prop_assert_eq!(p.key_count, p.objects.len() + p.common_prefixes.len());
                // Within a page, keys and prefixes interleave in order: merge them back.
                let mut entries: Vec<String> = p.objects.iter().map(|m| format!("K:{}", m.key)).collect();
                entries.extend(p.common_prefixes.iter().map(|c| format!("P:{c}")));
                entries.sort_by(|a, b| a[2..].cmp(&b[2..]));
                got.extend(entries);
                match p.next_continuation_token {
                    Some(t) => { prop_assert!(p.is_truncated); opts.continuation_token = Some(t) }
                    None => { prop_assert!(!p.is_truncated); break }
                }
            }
            Ok(got)
        })?;
        prop_assert_eq!(got, model(&keys, &prefix, delimiter.as_deref(), start_after.as_deref()));
    }

    #[test]
    fn range_reads_equal_model_slices(
        data in proptest::collection::vec(any::<u8>(), 0..300),
        a in 0u64..350,
        b in 0u64..350,
        kind in 0u8..3,
    ) {
        let (range, header) = match kind {
            0 => (ByteRange::Inclusive { first: a.min(b), last: a.max(b) }, format!("bytes={}-{}", a.min(b), a.max(b))),
            1 => (ByteRange::From(a), format!("bytes={a}-")),
            _ => (ByteRange::Suffix(a), format!("bytes=-{a}")),
        };
        prop_assert_eq!(ByteRange::parse(&header), Some(range));
        let len = data.len() as u64;
        // The model, from RFC 9110 directly.
        let expected: Option<std::ops::Range<u64>> = match range {
            _ if len == 0 => None,
            ByteRange::Inclusive { first, last } => (first < len).then(|| first..(last + 1).min(len)),
            ByteRange::From(first) => (first < len).then_some(first..len),
            ByteRange::Suffix(n) => (n > 0).then(|| len.saturating_sub(n)..len),
        };
        let got = rt().block_on(async {
            let store = Store::memory();
            let bucket = store.create_bucket("ranges").await.unwrap();
            bucket.put("k", data.clone()).await.unwrap();
            bucket.get_opts("k", GetOptions { range: Some(range), ..Default::default() }).await
        });
        match (expected, got) {
            (Some(r), Ok(out)) => {
                prop_assert_eq!(&out.body[..], &data[r.start as usize..r.end as usize]);
                prop_assert_eq!(out.range, Some(r));
            }
            (None, Err(e)) => prop_assert_eq!(e.code(), "InvalidRange"),
            (want, got) => prop_assert!(false, "range {} of {} bytes: want {:?}, got {:?}", header, len, want, got.map(|o| o.body)),
        }
    }

    #[test]
    fn hostile_keys_stay_inside_the_root(
        keys in proptest::collection::vec(
            proptest::collection::vec(prop_oneof![Just(".."), Just("."), Just("/"), Just("\\"), Just("%2e%2e"), Just("etc"), Just("passwd"), Just("\0"), Just("~"), Just("C:"), Just("\u{202E}")], 1..10)
                .prop_map(|p| p.concat()),
            1..12,
        ),
    ) {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("root");
        rt().block_on(async {
            let store = Store::fs(&root).unwrap();
            let b = store.create_bucket("hostile").await.unwrap();
            for (i, k) in keys.iter().enumerate() {
                b.put(k, format!("{i}")).await.unwrap();
            }
            for k in &keys {
                prop_assert!(b.get(k).await.is_ok());
            }
            Ok(())
        })?;
        // Nothing was created beside the root, and every file under it is in a known place.
        let beside: Vec<_> = std::fs::read_dir(outer.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        prop_assert_eq!(beside, vec![std::ffi::OsString::from("root")]);
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                assert!(p.starts_with(root));
                if p.is_dir() { walk(&p, root, out) } else { out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned()) }
            }
        }
        let mut files = Vec::new();
        walk(&root, &root, &mut files);
        for f in files {
            // `index.snap`: the index snapshot a clean shutdown writes.
            // `.lock`: the root lock file.
            let known = f == ".objstore" || f == ".lock" || f == "hostile/bucket.json" || f == "hostile/index.snap"
                || (f.starts_with("hostile/objects/") && {
                    // `objects/XX/<sha256 hex>.<version id>`: a hash and letters and digits only.
                    let name = &f["hostile/objects/xx/".len()..];
                    name.split_once('.').is_some_and(|(h, v)| {
                        h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()) && objstore::backend::valid_version_id(v)
                    })
                });
            prop_assert!(known, "unexpected file {}", f);
        }
    }
}
