//! IAM's wildcards: `*` matches any run of characters (including none), `?` exactly one. Used for
//! `Action` (case-insensitive), `Resource` and `StringLike` / `ArnLike` (case-sensitive), as the IAM
//! JSON policy reference ("IAM JSON policy elements: Action / Resource", "String condition operators")
//! describes them.

/// Whether `text` matches the wildcard `pattern`; `fold` compares ASCII letters without case.
///
/// The classic linear-time greedy match with one backtrack point (the last `*`), on bytes: `*` and `?`
/// are ASCII, and `?` matches one byte, which for the ASCII names and ARNs IAM matches is one character.
/// The text may come in two pieces (`bucket` then `/key`), so a resource ARN is never built per request.
pub(crate) fn matches(pattern: &str, text: &[&str], fold: bool) -> bool {
    let p = pattern.as_bytes();
    let total: usize = text.iter().map(|t| t.len()).sum();
    let byte_at = |mut i: usize| -> u8 {
        for t in text {
            if i < t.len() {
                return t.as_bytes()[i];
            }
            i -= t.len();
        }
        0
    };
    let eq = |a: u8, b: u8| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < total {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == b'?' || eq(p[pi], byte_at(ti))) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// Whether a pattern has no wildcard (an exact value).
pub(crate) fn is_literal(pattern: &str) -> bool {
    !pattern.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards() {
        let m = |p: &str, t: &str| matches(p, &[t], false);
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("s3:Get*", "s3:GetObject"));
        assert!(!m("s3:Get*", "s3:PutObject"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*/private/*", "b/x/private/y"));
        assert!(!m("*/private/*", "b/private"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("", ""));
        assert!(!m("", "x"));
        assert!(!m("abc", "ABC"));
        assert!(matches("S3:get*", &["s3:GetObject"], true));
        assert!(matches(
            "arn:aws:s3:::b/*",
            &["arn:aws:s3:::b", "/k"],
            false
        ));
        assert!(!matches("arn:aws:s3:::b/*", &["arn:aws:s3:::b"], false));
    }
}
