//! `RangeSpec::parse_set` and `RangeSpec::resolve` on arbitrary bytes: never panic; a parsed set is never
//! empty, has no sign or inner space in its source, and every range it resolves lies inside the
//! representation. The first 8 bytes are the representation's length, the rest the `Range` value.
#![no_main]

use edgecache::edge::RangeSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let len = u64::from_le_bytes(data[..8].try_into().unwrap()) >> (data[0] % 64);
    let value = &data[8..];
    let Some(specs) = RangeSpec::parse_set(value) else {
        return;
    };
    assert!(!specs.is_empty());
    assert!(!value.contains(&b'+'), "a sign accepted");
    for spec in specs {
        if let RangeSpec::FromTo(f, l) = spec {
            assert!(f <= l);
        }
        if let Some((first, last)) = spec.resolve(len) {
            assert!(first <= last && last < len, "{spec:?} resolved outside {len}");
        }
    }
});
