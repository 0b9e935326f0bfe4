//! A statement's `Condition` block: operators, keys and values, parsed once when the policy is put and
//! evaluated against a request's context. Semantics follow the IAM JSON policy reference, "IAM JSON
//! policy elements: Condition operators" and "Multivalued context keys":
//!
//! - the operators of a block, the keys of an operator and the conditions all have to hold (AND); the
//!   values listed for one key are alternatives (OR), and for a negated operator (`StringNotEquals`,
//!   `NotIpAddress`, ...) the request's value must match none of them;
//! - a key absent from the request makes a condition false, except for negated operators (true), the
//!   `...IfExists` variants (true), `ForAllValues:` (true) and `Null` (which tests exactly that);
//! - `ForAnyValue:` holds when one of the request's values satisfies the operator, `ForAllValues:` when
//!   every one does;
//! - condition key names are compared without case; `s3:ExistingObjectTag/<key>` and
//!   `s3:RequestObjectTag/<key>` keep the tag key as written.

use std::borrow::Cow;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use ipnet::IpNet;
use serde_json::Value;

use super::pattern;

/// A condition key this crate knows how to fill from a request, or another global key (`aws:...`) that a
/// request in process never carries (it evaluates as absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    SourceIp,
    CurrentTime,
    EpochTime,
    SecureTransport,
    PrincipalAccount,
    PrincipalArn,
    PrincipalType,
    Username,
    Prefix,
    Delimiter,
    MaxKeys,
    ExistingObjectTag(String),
    RequestObjectTag(String),
    RequestObjectTagKeys,
    ServerSideEncryption,
    VersionId,
    StorageClass,
    CopySource,
    /// Any other global key, or an S3 key no objstore operation sets.
    Absent(String),
}

/// S3 condition keys a policy may name that no objstore request carries; accepted, evaluated as absent.
const OTHER_S3_KEYS: &[&str] = &[
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:x-amz-acl",
    "s3:x-amz-grant-read",
    "s3:x-amz-grant-write",
    "s3:x-amz-grant-read-acp",
    "s3:x-amz-grant-write-acp",
    "s3:x-amz-grant-full-control",
    "s3:x-amz-metadata-directive",
    "s3:x-amz-content-sha256",
    "s3:object-lock-mode",
    "s3:object-lock-retain-until-date",
    "s3:object-lock-remaining-retention-days",
    "s3:object-lock-legal-hold",
    "s3:signatureversion",
    "s3:signatureage",
    "s3:authtype",
    "s3:tlsversion",
    "s3:resourceaccount",
    "s3:locationconstraint",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
    "s3:accesspointnetworkorigin",
    "s3:objectcreationoperation",
    "s3:if-match",
    "s3:if-none-match",
];

impl Key {
    fn parse(name: &str) -> Result<Key, String> {
        let lower = name.to_ascii_lowercase();
        let tag = |prefix: &str| {
            lower
                .starts_with(prefix)
                .then(|| name[prefix.len()..].to_string())
        };
        if let Some(t) = tag("s3:existingobjecttag/") {
            return Ok(Key::ExistingObjectTag(t));
        }
        if let Some(t) = tag("s3:requestobjecttag/") {
            return Ok(Key::RequestObjectTag(t));
        }
        Ok(match lower.as_str() {
            "aws:sourceip" => Key::SourceIp,
            "aws:currenttime" => Key::CurrentTime,
            "aws:epochtime" => Key::EpochTime,
            "aws:securetransport" => Key::SecureTransport,
            "aws:principalaccount" => Key::PrincipalAccount,
            "aws:principalarn" => Key::PrincipalArn,
            "aws:principaltype" => Key::PrincipalType,
            "aws:username" => Key::Username,
            "s3:prefix" => Key::Prefix,
            "s3:delimiter" => Key::Delimiter,
            "s3:max-keys" => Key::MaxKeys,
            "s3:requestobjecttagkeys" => Key::RequestObjectTagKeys,
            "s3:x-amz-server-side-encryption" => Key::ServerSideEncryption,
            "s3:versionid" => Key::VersionId,
            "s3:x-amz-storage-class" => Key::StorageClass,
            "s3:x-amz-copy-source" => Key::CopySource,
            other if other.starts_with("aws:") && other.len() > 4 => Key::Absent(lower),
            other if OTHER_S3_KEYS.contains(&other) => Key::Absent(lower),
            _ => return Err(format!("Policy has an invalid condition key: {name}")),
        })
    }
}

/// A value of the request's context, typed where the request knows its type.
#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    Str(Cow<'a, str>),
    Many(Vec<&'a str>),
    Ip(IpAddr),
    Time(SystemTime),
    Bool(bool),
    Num(u64),
}

impl Val<'_> {
    /// The value as a policy's string operators see it (a single value; `Many` gives its first).
    fn text(&self) -> Cow<'_, str> {
        match self {
            Val::Str(s) => Cow::Borrowed(s.as_ref()),
            Val::Many(v) => Cow::Borrowed(v.first().copied().unwrap_or("")),
            Val::Ip(ip) => Cow::Owned(ip.to_string()),
            Val::Time(t) => Cow::Owned(
                chrono::DateTime::<chrono::Utc>::from(*t)
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string(),
            ),
            Val::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Val::Num(n) => Cow::Owned(n.to_string()),
        }
    }
}

/// What a request offers to conditions: the value of a key, or `None` when the request has no such key.
pub(crate) trait Context {
    fn value(&self, key: &Key) -> Option<Val<'_>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    Ip,
    Arn,
    Binary,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetQualifier {
    Single,
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, PartialEq)]
enum Values {
    Str(Vec<String>),
    Num(Vec<f64>),
    Date(Vec<SystemTime>),
    Bool(Vec<bool>),
    Ip(Vec<IpNet>),
}

/// One operator on one key with its values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    base: Base,
    negated: bool,
    if_exists: bool,
    set: SetQualifier,
    pub(crate) key: Key,
    values: Values,
}

fn parse_operator(name: &str) -> Option<(Base, bool, bool, SetQualifier)> {
    let (set, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
        (SetQualifier::ForAnyValue, r)
    } else if let Some(r) = name.strip_prefix("ForAllValues:") {
        (SetQualifier::ForAllValues, r)
    } else {
        (SetQualifier::Single, name)
    };
    let (if_exists, op) = match rest.strip_suffix("IfExists") {
        Some(op) if op != "Null" => (true, op),
        _ => (false, rest),
    };
    let (base, negated) = match op {
        "StringEquals" => (Base::StringEquals, false),
        "StringNotEquals" => (Base::StringEquals, true),
        "StringEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, true),
        "StringLike" => (Base::StringLike, false),
        "StringNotLike" => (Base::StringLike, true),
        "NumericEquals" => (Base::Numeric(Cmp::Eq), false),
        "NumericNotEquals" => (Base::Numeric(Cmp::Eq), true),
        "NumericLessThan" => (Base::Numeric(Cmp::Lt), false),
        "NumericLessThanEquals" => (Base::Numeric(Cmp::Le), false),
        "NumericGreaterThan" => (Base::Numeric(Cmp::Gt), false),
        "NumericGreaterThanEquals" => (Base::Numeric(Cmp::Ge), false),
        "DateEquals" => (Base::Date(Cmp::Eq), false),
        "DateNotEquals" => (Base::Date(Cmp::Eq), true),
        "DateLessThan" => (Base::Date(Cmp::Lt), false),
        "DateLessThanEquals" => (Base::Date(Cmp::Le), false),
        "DateGreaterThan" => (Base::Date(Cmp::Gt), false),
        "DateGreaterThanEquals" => (Base::Date(Cmp::Ge), false),
        "Bool" => (Base::Bool, false),
        "BinaryEquals" => (Base::Binary, false),
        "IpAddress" => (Base::Ip, false),
        "NotIpAddress" => (Base::Ip, true),
        "ArnEquals" | "ArnLike" => (Base::Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (Base::Arn, true),
        "Null" => (Base::Null, false),
        _ => return None,
    };
    Some((base, negated, if_exists, set))
}

/// Parses a date as IAM accepts one: ISO 8601 (a date, or a date and time, with or without a zone) or
/// seconds since the epoch.
pub(crate) fn parse_date(s: &str) -> Option<SystemTime> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let secs = if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        t.timestamp()
    } else if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        t.and_utc().timestamp()
    } else if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%MZ") {
        t.and_utc().timestamp()
    } else if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0)?.and_utc().timestamp()
    } else if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
        s.parse::<i64>().ok()?
    } else {
        return None;
    };
    if secs >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs as u64))
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    }
}

fn parse_ip(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Condition {
    /// Parses the `Condition` block of a statement. Errors name the operator and key at fault.
    pub(crate) fn parse_block(block: &Value) -> Result<Vec<Condition>, (String, String)> {
        let Value::Object(ops) = block else {
            return Err(("Condition".into(), "Condition must be an object".into()));
        };
        let mut out = Vec::new();
        for (op_name, keys) in ops {
            let field = format!("Condition.{op_name}");
            let (base, negated, if_exists, set) = parse_operator(op_name)
                .ok_or_else(|| (field.clone(), format!("Invalid Condition type : {op_name}")))?;
            let Value::Object(keys) = keys else {
                return Err((field, "an operator maps condition keys to values".into()));
            };
            for (key_name, raw) in keys {
                let field = format!("{field}.{key_name}");
                let key = Key::parse(key_name).map_err(|m| (field.clone(), m))?;
                let items: Vec<String> = match raw {
                    Value::Array(a) => a.iter().map(scalar).collect::<Option<_>>(),
                    v => scalar(v).map(|s| vec![s]),
                }
                .ok_or_else(|| {
                    (
                        field.clone(),
                        "condition values are strings, numbers or booleans".into(),
                    )
                })?;
                if items.is_empty() {
                    return Err((field, "a condition key needs at least one value".into()));
                }
                let bad = |what: &str, v: &str| (field.clone(), format!("{v:?} is not {what}"));
                let values = match base {
                    Base::Numeric(_) => Values::Num(
                        items
                            .iter()
                            .map(|v| v.parse::<f64>().map_err(|_| bad("a number", v)))
                            .collect::<Result<_, _>>()?,
                    ),
                    Base::Date(_) => Values::Date(
                        items
                            .iter()
                            .map(|v| {
                                parse_date(v)
                                    .ok_or_else(|| bad("an ISO 8601 date or epoch time", v))
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    Base::Bool | Base::Null => Values::Bool(
                        items
                            .iter()
                            .map(|v| match v.to_ascii_lowercase().as_str() {
                                "true" => Ok(true),
                                "false" => Ok(false),
                                _ => Err(bad("true or false", v)),
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    Base::Ip => Values::Ip(
                        items
                            .iter()
                            .map(|v| {
                                parse_ip(v).ok_or_else(|| bad("an IP address or CIDR block", v))
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    _ => Values::Str(items),
                };
                out.push(Condition {
                    base,
                    negated,
                    if_exists,
                    set,
                    key,
                    values,
                });
            }
        }
        Ok(out)
    }

    /// Whether the condition holds for the request.
    pub(crate) fn holds(&self, ctx: &dyn Context) -> bool {
        let value = ctx.value(&self.key);
        if self.base == Base::Null {
            let want_absent = matches!(&self.values, Values::Bool(v) if v.first() == Some(&true));
            return want_absent == value.is_none();
        }
        let Some(value) = value else {
            return self.if_exists
                || match self.set {
                    SetQualifier::ForAllValues => true,
                    SetQualifier::ForAnyValue => false,
                    SetQualifier::Single => self.negated,
                };
        };
        let ok = |item: &Val<'_>, s: &str| {
            let m = self.matches_one(item, s);
            m != self.negated
        };
        match &value {
            Val::Many(items) => match self.set {
                SetQualifier::ForAllValues => items.iter().all(|s| ok(&value, s)),
                _ => items.iter().any(|s| ok(&value, s)),
            },
            single => {
                // Typed values (addresses, times, booleans, numbers) are compared as their types; only
                // string operators need the text.
                let text = match (single, self.base) {
                    (Val::Str(_), _)
                    | (_, Base::StringEquals | Base::StringEqualsIgnoreCase | Base::StringLike)
                    | (_, Base::Arn | Base::Binary) => single.text(),
                    _ => Cow::Borrowed(""),
                };
                ok(single, &text)
            }
        }
    }

    /// Whether one request value (typed as `item`, spelled `s`) matches any of the policy's values.
    fn matches_one(&self, item: &Val<'_>, s: &str) -> bool {
        match (&self.base, &self.values) {
            (Base::StringEquals | Base::Binary, Values::Str(v)) => v.iter().any(|p| p == s),
            (Base::StringEqualsIgnoreCase, Values::Str(v)) => {
                v.iter().any(|p| p.eq_ignore_ascii_case(s))
            }
            (Base::StringLike, Values::Str(v)) => {
                v.iter().any(|p| pattern::matches(p, &[s], false))
            }
            (Base::Arn, Values::Str(v)) => v.iter().any(|p| arn_matches(p, s)),
            (Base::Numeric(cmp), Values::Num(v)) => {
                let n = match item {
                    Val::Num(n) => *n as f64,
                    _ => match s.parse::<f64>() {
                        Ok(n) => n,
                        Err(_) => return false,
                    },
                };
                v.iter().any(|p| compare(*cmp, &n, p))
            }
            (Base::Date(cmp), Values::Date(v)) => {
                let t = match item {
                    Val::Time(t) => *t,
                    _ => match parse_date(s) {
                        Some(t) => t,
                        None => return false,
                    },
                };
                v.iter().any(|p| compare(*cmp, &t, p))
            }
            (Base::Bool, Values::Bool(v)) => {
                let b = match item {
                    Val::Bool(b) => *b,
                    _ => s.eq_ignore_ascii_case("true"),
                };
                v.contains(&b)
            }
            (Base::Ip, Values::Ip(v)) => {
                let ip = match item {
                    Val::Ip(ip) => *ip,
                    _ => match s.parse::<IpAddr>() {
                        Ok(ip) => ip,
                        Err(_) => return false,
                    },
                };
                v.iter().any(|net| net.contains(&ip))
            }
            _ => false,
        }
    }

    /// Whether this condition pins a request to fixed values in the sense of Block Public Access ("The
    /// meaning of public"): `aws:SourceIp` limited to CIDR blocks, or a fixed (wildcard-free) value of a
    /// key naming who or where the request comes from.
    pub(crate) fn restricts_public_access(&self) -> bool {
        if self.negated || self.if_exists || self.set == SetQualifier::ForAllValues {
            return false;
        }
        match (&self.key, &self.values) {
            (Key::SourceIp, Values::Ip(nets)) => nets.iter().all(|n| n.prefix_len() > 0),
            (Key::PrincipalAccount | Key::PrincipalArn, Values::Str(v))
            | (Key::Absent(_), Values::Str(v)) => {
                let fixing = match &self.key {
                    Key::Absent(k) => matches!(
                        k.as_str(),
                        "aws:sourcearn"
                            | "aws:sourcevpc"
                            | "aws:sourcevpce"
                            | "aws:sourceowner"
                            | "aws:sourceaccount"
                            | "aws:userid"
                            | "aws:principalorgid"
                            | "aws:sourceorgid"
                            | "s3:x-amz-server-side-encryption-aws-kms-key-id"
                    ),
                    _ => true,
                };
                fixing
                    && matches!(self.base, Base::StringEquals | Base::StringLike | Base::Arn)
                    && v.iter().all(|p| pattern::is_literal(p))
            }
            _ => false,
        }
    }
}

fn compare<T: PartialOrd>(cmp: Cmp, request: &T, policy: &T) -> bool {
    match cmp {
        Cmp::Eq => request == policy,
        Cmp::Lt => request < policy,
        Cmp::Le => request <= policy,
        Cmp::Gt => request > policy,
        Cmp::Ge => request >= policy,
    }
}

/// `ArnLike` / `ArnEquals`: each of the six colon-separated parts matched on its own, with wildcards that
/// do not cross a colon.
pub(crate) fn arn_matches(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == a.len()
        && p.iter()
            .zip(&a)
            .all(|(p, a)| pattern::matches(p, &[a], false))
}
