//! Parsing of `Cache-Control`-style directive lists (RFC 9111 section 5.2) and of `CDN-Cache-Control`
//! (RFC 9213, a Structured Field dictionary).

use http::HeaderMap;

/// The parsed directives of one header field (all its lines, in order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Directives {
    items: Vec<(String, Option<String>)>,
}

/// The largest delta-seconds value kept (RFC 9111 section 1.2.2: 2^31).
pub(crate) const DELTA_MAX: u64 = 2_147_483_648;

impl Directives {
    /// Parses every line of header `name` in `headers` as a comma-separated directive list. Parsing is
    /// lenient and never fails: malformed members are kept with the value that could be read.
    pub(crate) fn from_headers(headers: &HeaderMap, name: &str) -> Self {
        let mut items = Vec::new();
        for value in headers.get_all(name) {
            let Ok(text) = std::str::from_utf8(value.as_bytes()) else {
                continue;
            };
            parse_into(text, &mut items);
        }
        Directives { items }
    }

    /// Parses one directive list.
    #[cfg(test)]
    pub(crate) fn parse(text: &str) -> Self {
        let mut items = Vec::new();
        parse_into(text, &mut items);
        Directives { items }
    }

    /// Whether there are no directives.
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether directive `name` is present.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.items.iter().any(|(n, _)| n == name)
    }

    /// The value of the first `name` directive (`Some(None)` when present without a value).
    pub(crate) fn get(&self, name: &str) -> Option<Option<&str>> {
        self.items
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_deref())
    }

    /// The first `name` directive's delta-seconds value. `Some(Err(()))` when present but not a valid
    /// delta-seconds (digits only; values over 2^31 are capped).
    pub(crate) fn seconds(&self, name: &str) -> Option<Result<u64, ()>> {
        self.get(name).map(|v| v.ok_or(()).and_then(parse_delta))
    }
}

/// Parses a delta-seconds: one or more ASCII digits; larger than 2^31 is capped at 2^31.
pub(crate) fn parse_delta(text: &str) -> Result<u64, ()> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    let trimmed = text.trim_start_matches('0');
    if trimmed.len() > 10 {
        return Ok(DELTA_MAX);
    }
    Ok(trimmed.parse::<u64>().unwrap_or(0).min(DELTA_MAX))
}

fn parse_into(text: &str, items: &mut Vec<(String, Option<String>)>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // skip separators and whitespace
        while i < bytes.len() && (bytes[i] == b',' || bytes[i] == b' ' || bytes[i] == b'\t') {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && !matches!(bytes[i], b',' | b'=' | b' ' | b'\t') {
            i += 1;
        }
        let name = text[start..i].to_ascii_lowercase();
        // "max-age =5" is not a valid directive: remember the name with a marker value nobody parses
        let mut spaced = false;
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
            i += 1;
            spaced = true;
        }
        let mut value = None;
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            let mut after_space = false;
            while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
                i += 1;
                after_space = true;
            }
            if i < bytes.len() && bytes[i] == b'"' {
                // quoted-string, with backslash escapes
                i += 1;
                let mut v = String::new();
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' && i + 1 < bytes.len() {
                        i += 1;
                    }
                    let ch_len = utf8_len(bytes[i]);
                    v.push_str(&text[i..(i + ch_len).min(bytes.len())]);
                    i += ch_len;
                }
                i += 1; // closing quote
                value = Some(v);
            } else {
                let vstart = i;
                while i < bytes.len() && bytes[i] != b',' {
                    i += 1;
                }
                value = Some(text[vstart..i].trim_end().to_string());
            }
            if spaced || after_space {
                value = Some(format!(" {}", value.unwrap_or_default()));
            }
        }
        // skip anything up to the next comma (junk after a quoted value)
        while i < bytes.len() && bytes[i] != b',' {
            i += 1;
        }
        if !name.is_empty() {
            items.push((name, value));
        }
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Parses `CDN-Cache-Control` as an RFC 8941 dictionary; `None` when any line is not a valid dictionary
/// (the field is then ignored, RFC 9213 section 2.1). Values other than integers and `true` booleans are kept
/// as text so directive lookups see them as invalid.
pub(crate) fn parse_cdn(headers: &HeaderMap) -> Option<Directives> {
    let mut items = Vec::new();
    let mut any = false;
    for value in headers.get_all("cdn-cache-control") {
        any = true;
        let text = std::str::from_utf8(value.as_bytes()).ok()?;
        for member in text.split(',') {
            let member = member.trim_matches(|c| c == ' ' || c == '\t');
            if member.is_empty() {
                return None;
            }
            let (key, val) = match member.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (member, None),
            };
            // keys: lowercase alpha or '*', then lcalpha / digit / _ - . *
            let mut chars = key.chars();
            let first = chars.next()?;
            if !(first.is_ascii_lowercase() || first == '*') {
                return None;
            }
            if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.*".contains(c)) {
                return None;
            }
            let val = match val {
                None => None,
                Some(v) => {
                    let v = v.split(';').next().unwrap_or("");
                    if v.starts_with('"') {
                        if v.len() < 2 || !v.ends_with('"') {
                            return None;
                        }
                        // a string: valid SF but the wrong type for a delta
                        Some(format!("\"{}", &v[1..v.len() - 1]))
                    } else if v == "?1" {
                        None
                    } else if v == "?0" {
                        continue;
                    } else if v.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                        let digits = v.strip_prefix('-').unwrap_or(v);
                        let int_part = digits.split('.').next().unwrap_or("");
                        if int_part.is_empty()
                            || !digits.chars().all(|c| c.is_ascii_digit() || c == '.')
                        {
                            return None;
                        }
                        if digits.contains('.') {
                            Some(format!("decimal:{v}"))
                        } else if int_part.len() > 15 {
                            return None;
                        } else {
                            Some(v.to_string())
                        }
                    } else if v.starts_with(|c: char| c.is_ascii_alphabetic() || c == '*') {
                        Some(format!("token:{v}"))
                    } else {
                        return None;
                    }
                }
            };
            items.push((key.to_string(), val));
        }
    }
    any.then_some(Directives { items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values_quotes_and_case() {
        let d =
            Directives::parse("Max-Age=60, no-cache=\"set-cookie, foo\", private, s-maxage=003");
        assert_eq!(d.seconds("max-age"), Some(Ok(60)));
        assert_eq!(d.get("no-cache"), Some(Some("set-cookie, foo")));
        assert!(d.has("private"));
        assert_eq!(d.seconds("s-maxage"), Some(Ok(3)));
        assert_eq!(d.seconds("missing"), None);
    }

    #[test]
    fn quoted_strings_hide_directives() {
        let d = Directives::parse("foo=\"max-age=8\", max-age=1");
        assert_eq!(d.seconds("max-age"), Some(Ok(1)));
        let d = Directives::parse("foo=\"bar, max-age=8\"");
        assert_eq!(d.seconds("max-age"), None);
    }

    #[test]
    fn invalid_deltas() {
        for bad in [
            "max-age=-1",
            "max-age=1.5",
            "max-age=a1",
            "max-age=1a",
            "max-age='1'",
            "max-age =1",
            "max-age= 1",
        ] {
            assert_eq!(
                Directives::parse(bad).seconds("max-age"),
                Some(Err(())),
                "{bad}"
            );
        }
        assert_eq!(
            Directives::parse("max-age=99999999999").seconds("max-age"),
            Some(Ok(DELTA_MAX))
        );
    }

    #[test]
    fn cdn_dictionary() {
        let mut h = HeaderMap::new();
        h.insert("cdn-cache-control", "max-age=10, foo".parse().unwrap());
        let d = parse_cdn(&h).unwrap();
        assert_eq!(d.seconds("max-age"), Some(Ok(10)));
        h.insert("cdn-cache-control", "max-age=\"10\"".parse().unwrap());
        assert_eq!(parse_cdn(&h).unwrap().seconds("max-age"), Some(Err(())));
        h.insert("cdn-cache-control", "max-age=10, &&".parse().unwrap());
        assert!(parse_cdn(&h).is_none());
    }

    proptest::proptest! {
        #[test]
        fn directive_parsing_never_panics(text in "\\PC{0,60}", delta in "[0-9a-z.\\-]{0,25}") {
            let d = Directives::parse(&text);
            let _ = (d.seconds("max-age"), d.has("no-cache"), d.get("private"));
            let _ = parse_delta(&delta);
            let mut h = HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_str(&text) {
                h.insert("cdn-cache-control", v);
            }
            let _ = parse_cdn(&h);
        }
    }
}
