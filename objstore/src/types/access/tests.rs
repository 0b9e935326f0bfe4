//! The policy table: (policy, identity, action, resource, context) -> decision, each expected decision
//! taken from AWS's documentation of the evaluation logic (IAM User Guide, "Policy evaluation logic" and
//! "Cross-account policy evaluation logic"; S3 User Guide, "How Amazon S3 authorizes a request", "Bucket
//! policy examples" and "Blocking public access: The meaning of public"; IAM JSON policy reference,
//! "Condition operators", "...IfExists condition operators", "Multivalued context keys").

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::SystemTime;

use super::condition::{Context, Key, Val, parse_date};
use super::*;

const OWNER: &str = "111111111111";
const OTHER: &str = "222222222222";

#[derive(Default, Clone)]
struct Ctx {
    ip: Option<&'static str>,
    insecure: bool,
    now: Option<&'static str>,
    prefix: Option<&'static str>,
    delimiter: Option<&'static str>,
    max_keys: Option<u64>,
    existing: Vec<(&'static str, &'static str)>,
    request: Option<Vec<(&'static str, &'static str)>>,
    sse: Option<&'static str>,
    version: Option<&'static str>,
}

struct Live<'a> {
    ctx: &'a Ctx,
    who: &'a Identity,
    existing: BTreeMap<String, String>,
    request: Option<BTreeMap<String, String>>,
}

impl Context for Live<'_> {
    fn value(&self, key: &Key) -> Option<Val<'_>> {
        use std::borrow::Cow::Borrowed;
        let c = self.ctx;
        Some(match key {
            Key::SourceIp => Val::Ip(c.ip?.parse::<IpAddr>().unwrap()),
            Key::CurrentTime | Key::EpochTime => {
                Val::Time(parse_date(c.now.unwrap_or("2026-12-04T12:00:00Z")).unwrap())
            }
            Key::SecureTransport => Val::Bool(!c.insecure),
            Key::PrincipalAccount => Val::Str(Borrowed(self.who.account_id()?)),
            Key::PrincipalArn if !self.who.is_anonymous() => Val::Str(Borrowed(self.who.arn())),
            Key::Prefix => Val::Str(Borrowed(c.prefix?)),
            Key::Delimiter => Val::Str(Borrowed(c.delimiter?)),
            Key::MaxKeys => Val::Num(c.max_keys?),
            Key::ExistingObjectTag(t) => Val::Str(Borrowed(self.existing.get(t)?)),
            Key::RequestObjectTag(t) => Val::Str(Borrowed(self.request.as_ref()?.get(t)?)),
            Key::RequestObjectTagKeys => {
                Val::Many(self.request.as_ref()?.keys().map(String::as_str).collect())
            }
            Key::ServerSideEncryption => Val::Str(Borrowed(c.sse?)),
            Key::VersionId => Val::Str(Borrowed(c.version?)),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Allowed.
    A,
    /// Implicit deny: no statement allows it.
    N,
    /// Explicit deny.
    D,
    /// Blocked by RestrictPublicBuckets.
    B,
}
use Want::*;

struct Case {
    name: &'static str,
    policy: Option<&'static str>,
    who: Identity,
    action: Action,
    key: Option<&'static str>,
    restrict: bool,
    ctx: Ctx,
    want: Want,
}

fn alice() -> Identity {
    Identity::user(OWNER, "alice")
}
fn bob() -> Identity {
    Identity::user(OTHER, "bob")
}
fn other_root() -> Identity {
    Identity::root(OTHER)
}
fn owner() -> Identity {
    Identity::root(OWNER)
}
fn anon() -> Identity {
    Identity::anonymous()
}

fn stmt(body: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": [{body}]}}"#)
}

const BOB: &str = r#""Principal": {"AWS": "arn:aws:iam::222222222222:user/bob"}"#;

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn allow_bob(action: &str, resource: &str, condition: &str) -> &'static str {
    let cond = if condition.is_empty() {
        String::new()
    } else {
        format!(r#", "Condition": {condition}"#)
    };
    leak(stmt(&format!(
        r#"{{"Effect": "Allow", {BOB}, "Action": {action}, "Resource": {resource}{cond}}}"#
    )))
}

fn with_condition(effect: &str, principal: &str, action: &str, condition: &str) -> &'static str {
    leak(stmt(&format!(
        r#"{{"Effect": "{effect}", "Principal": {principal}, "Action": {action},
             "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Condition": {condition}}}"#
    )))
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    let c = |name, policy, who, action, key, ctx, want| Case {
        name,
        policy,
        who,
        action,
        key,
        restrict: false,
        ctx,
        want,
    };
    let d = Ctx::default;
    let obj = Some("k");
    let get = Action::GET_OBJECT;
    let put = Action::PUT_OBJECT;
    let list = Action::LIST_BUCKET;
    let bob_get = allow_bob(r#""s3:GetObject""#, r#""arn:aws:s3:::b/*""#, "");
    let account_get = leak(stmt(
        r#"{"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}"#,
    ));
    let root_arn = leak(stmt(
        r#"{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}"#,
    ));
    let public_read = leak(stmt(
        r#"{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}"#,
    ));
    let public_read_aws = leak(stmt(
        r#"{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}"#,
    ));
    let deny_put = leak(stmt(
        r#"{"Sid": "NoPuts", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}"#,
    ));
    let not_action = allow_bob(r#"{"x": 1}"#, "", "");
    let _ = not_action;
    let not_action = leak(stmt(&format!(
        r#"{{"Effect": "Allow", {BOB}, "NotAction": "s3:Delete*", "Resource": "arn:aws:s3:::b/*"}}"#
    )));
    let not_principal = leak(stmt(
        r#"{"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111111111111:user/alice"}, "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]}"#,
    ));
    let deny_overrides = leak(stmt(&format!(
        r#"{{"Effect": "Allow", {BOB}, "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}},
           {{"Sid": "KeepIt", "Effect": "Deny", {BOB}, "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"}}"#
    )));
    let prefix_res = allow_bob(r#""s3:GetObject""#, r#""arn:aws:s3:::b/public/*""#, "");
    let not_res = leak(stmt(&format!(
        r#"{{"Effect": "Allow", {BOB}, "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b/secret/*"}}"#
    )));
    let ip = with_condition(
        "Allow",
        r#""*""#,
        r#""s3:GetObject""#,
        r#"{"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}"#,
    );
    let not_ip = with_condition(
        "Deny",
        r#""*""#,
        r#""s3:*""#,
        r#"{"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}"#,
    );
    let tls = with_condition(
        "Deny",
        r#""*""#,
        r#""s3:*""#,
        r#"{"Bool": {"aws:SecureTransport": "false"}}"#,
    );
    let until = allow_bob(
        r#""s3:GetObject""#,
        r#""arn:aws:s3:::b/*""#,
        r#"{"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}"#,
    );
    let after = allow_bob(
        r#""s3:GetObject""#,
        r#""arn:aws:s3:::b/*""#,
        r#"{"DateGreaterThan": {"aws:CurrentTime": "2026-06-01"}}"#,
    );
    let home = allow_bob(
        r#""s3:ListBucket""#,
        r#""arn:aws:s3:::b""#,
        r#"{"StringEquals": {"s3:prefix": ["", "home/bob/"]}}"#,
    );
    let home_like = allow_bob(
        r#""s3:ListBucket""#,
        r#""arn:aws:s3:::b""#,
        r#"{"StringLike": {"s3:prefix": "home/bob/*"}}"#,
    );
    let max_keys = allow_bob(
        r#""s3:ListBucket""#,
        r#""arn:aws:s3:::b""#,
        r#"{"NumericLessThan": {"s3:max-keys": "10"}}"#,
    );
    let max_keys_if = allow_bob(
        r#""s3:ListBucket""#,
        r#""arn:aws:s3:::b""#,
        r#"{"NumericLessThanIfExists": {"s3:max-keys": "10"}}"#,
    );
    let existing = allow_bob(
        r#""s3:GetObject""#,
        r#""arn:aws:s3:::b/*""#,
        r#"{"StringEquals": {"s3:ExistingObjectTag/class": "public"}}"#,
    );
    let request = allow_bob(
        r#""s3:PutObject""#,
        r#""arn:aws:s3:::b/*""#,
        r#"{"StringEquals": {"s3:RequestObjectTag/team": "blue"}}"#,
    );
    let all_keys = allow_bob(
        r#""s3:PutObject""#,
        r#""arn:aws:s3:::b/*""#,
        r#"{"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["team", "env"]}}"#,
    );
    let any_key = with_condition(
        "Deny",
        r#""*""#,
        r#""s3:PutObject""#,
        r#"{"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": "secret"}}"#,
    );
    let sse = with_condition(
        "Deny",
        r#""*""#,
        r#""s3:PutObject""#,
        r#"{"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}"#,
    );
    let sse_null = with_condition(
        "Deny",
        r#""*""#,
        r#""s3:PutObject""#,
        r#"{"Null": {"s3:x-amz-server-side-encryption": "true"}}"#,
    );
    let by_account = with_condition(
        "Allow",
        r#""*""#,
        r#""s3:GetObject""#,
        r#"{"StringEquals": {"aws:PrincipalAccount": "222222222222"}}"#,
    );
    let arn_like = with_condition(
        "Allow",
        r#""*""#,
        r#""s3:GetObject""#,
        r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::222222222222:user/*"}}"#,
    );
    let version = allow_bob(
        r#""s3:GetObjectVersion""#,
        r#""arn:aws:s3:::b/*""#,
        r#"{"StringEquals": {"s3:VersionId": "v1"}}"#,
    );
    let not_like = allow_bob(
        r#""s3:ListBucket""#,
        r#""arn:aws:s3:::b""#,
        r#"{"StringNotLike": {"s3:prefix": "private/*"}}"#,
    );
    let case_action = allow_bob(r#""S3:getobject""#, r#""arn:aws:s3:::b/*""#, "");
    let star_objects = allow_bob(r#""s3:*""#, r#""arn:aws:s3:::b/*""#, "");
    let question = allow_bob(r#""s3:GetObject""#, r#""arn:aws:s3:::b/file?.txt""#, "");
    let two_keys = allow_bob(
        r#""s3:ListBucket""#,
        r#""arn:aws:s3:::b""#,
        r#"{"StringEquals": {"s3:prefix": "a/", "s3:delimiter": "/"}}"#,
    );
    let two_ops = with_condition(
        "Allow",
        BOB,
        r#""s3:GetObject""#,
        r#"{"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}, "Bool": {"aws:SecureTransport": "true"}}"#,
    );
    let two_ops = leak(two_ops.replace(r#""Principal": "Principal": "#, r#""Principal": "#));
    let list_and_get = leak(stmt(&format!(
        r#"{{"Effect": "Allow", {BOB}, "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]}}"#
    )));
    let deny_if_exists = with_condition(
        "Deny",
        r#""*""#,
        r#""s3:ListBucket""#,
        r#"{"NumericGreaterThanIfExists": {"s3:max-keys": "100"}}"#,
    );

    let ip_ctx = |ip| Ctx {
        ip: Some(ip),
        ..d()
    };
    let now = |t| Ctx {
        now: Some(t),
        ..d()
    };
    let prefix = |p| Ctx {
        prefix: Some(p),
        ..d()
    };
    let keys = |k: Option<u64>| Ctx { max_keys: k, ..d() };
    let tags = |t: Vec<(&'static str, &'static str)>| Ctx { existing: t, ..d() };
    let req = |t: Option<Vec<(&'static str, &'static str)>>| Ctx { request: t, ..d() };
    let enc = |s| Ctx { sse: s, ..d() };

    let mut v = vec![
        c("no policy: the owner's root", None, owner(), get, obj, d(), A),
        c("no policy: a user of the owner's account", None, alice(), put, obj, d(), A),
        c("no policy: another account", None, bob(), get, obj, d(), N),
        c("no policy: anonymous", None, anon(), get, obj, d(), N),
        c("no policy: another account's root", None, other_root(), list, None, d(), N),
        c("user grant: that user", Some(bob_get), bob(), get, obj, d(), A),
        c("user grant: another action", Some(bob_get), bob(), put, obj, d(), N),
        c("user grant: the user's root is not the user", Some(bob_get), other_root(), get, obj, d(), N),
        c("user grant: another user of the account", Some(bob_get), Identity::user(OTHER, "carol"), get, obj, d(), N),
        c("user grant: object resource does not cover the bucket", Some(bob_get), bob(), list, None, d(), N),
        c("account grant: a user of it", Some(account_get), bob(), get, obj, d(), A),
        c("account grant: wildcard action s3:Get*", Some(account_get), bob(), Action::GET_OBJECT_TAGGING, obj, d(), A),
        c("account grant: its root", Some(account_get), other_root(), get, obj, d(), A),
        c("account grant: Put outside s3:Get*", Some(account_get), bob(), put, obj, d(), N),
        c("account grant: anonymous", Some(account_get), anon(), get, obj, d(), N),
        c("account root ARN: a user of the account", Some(root_arn), bob(), get, obj, d(), A),
        c("public read: anonymous", Some(public_read), anon(), get, obj, d(), A),
        c("public read: anonymous put", Some(public_read), anon(), put, obj, d(), N),
        c("public read: {AWS: *} is everyone", Some(public_read_aws), anon(), get, obj, d(), A),
        c("public read: the owner", Some(public_read), alice(), get, obj, d(), A),
        c("deny put: the owner's root", Some(deny_put), owner(), put, obj, d(), D),
        c("deny put: the owner may still read", Some(deny_put), owner(), get, obj, d(), A),
        c("deny put: another account is denied explicitly", Some(deny_put), bob(), put, obj, d(), D),
        c("NotAction: an action outside the exclusion", Some(not_action), bob(), get, obj, d(), A),
        c("NotAction: the excluded action", Some(not_action), bob(), Action::DELETE_OBJECT, obj, d(), N),
        c("NotAction: s3:Delete* excludes DeleteObjectVersion", Some(not_action), bob(), Action::DELETE_OBJECT_VERSION, obj, d(), N),
        c("NotAction: put is allowed", Some(not_action), bob(), put, obj, d(), A),
        c("NotPrincipal deny: the excepted user", Some(not_principal), alice(), get, obj, d(), A),
        c("NotPrincipal deny: the owner's root is not excepted", Some(not_principal), owner(), get, obj, d(), D),
        c("NotPrincipal deny: another account", Some(not_principal), bob(), get, obj, d(), D),
        c("NotPrincipal deny: anonymous", Some(not_principal), anon(), list, None, d(), D),
        c("Deny beats Allow", Some(deny_overrides), bob(), Action::DELETE_OBJECT, obj, d(), D),
        c("Deny beats Allow: other actions stay allowed", Some(deny_overrides), bob(), get, obj, d(), A),
        c("resource prefix: inside", Some(prefix_res), bob(), get, Some("public/a.txt"), d(), A),
        c("resource prefix: outside", Some(prefix_res), bob(), get, Some("private/a.txt"), d(), N),
        c("resource prefix: the prefix without its slash", Some(prefix_res), bob(), get, Some("public"), d(), N),
        c("NotResource: another key", Some(not_res), bob(), get, Some("a"), d(), A),
        c("NotResource: the excluded keys", Some(not_res), bob(), get, Some("secret/a"), d(), N),
        c("IpAddress: inside the block", Some(ip), anon(), get, obj, ip_ctx("192.0.2.7"), A),
        c("IpAddress: outside the block", Some(ip), anon(), get, obj, ip_ctx("198.51.100.1"), N),
        c("IpAddress: no source address", Some(ip), anon(), get, obj, d(), N),
        c("NotIpAddress deny: inside the allowed range", Some(not_ip), owner(), get, obj, ip_ctx("10.1.2.3"), A),
        c("NotIpAddress deny: IPv6 inside", Some(not_ip), owner(), get, obj, ip_ctx("2001:db8::1"), A),
        c("NotIpAddress deny: outside", Some(not_ip), owner(), get, obj, ip_ctx("8.8.8.8"), D),
        c("NotIpAddress deny: no address (negated operator, absent key: true)", Some(not_ip), owner(), get, obj, d(), D),
        c("SecureTransport deny: TLS", Some(tls), owner(), get, obj, d(), A),
        c("SecureTransport deny: plain HTTP", Some(tls), owner(), get, obj, Ctx { insecure: true, ..d() }, D),
        c("DateLessThan: before", Some(until), bob(), get, obj, now("2026-12-04T00:00:00Z"), A),
        c("DateLessThan: the clock moved past the date", Some(until), bob(), get, obj, now("2027-02-01T00:00:00Z"), N),
        c("DateGreaterThan: after", Some(after), bob(), get, obj, now("2026-12-04T00:00:00Z"), A),
        c("DateGreaterThan: before", Some(after), bob(), get, obj, now("2026-01-01T00:00:00Z"), N),
        c("s3:prefix StringEquals: the home prefix", Some(home), bob(), list, None, prefix("home/bob/"), A),
        c("s3:prefix StringEquals: another home", Some(home), bob(), list, None, prefix("home/alice/"), N),
        c("s3:prefix StringEquals: the root listing", Some(home), bob(), list, None, prefix(""), A),
        c("s3:prefix StringLike: below the home", Some(home_like), bob(), list, None, prefix("home/bob/docs/"), A),
        c("s3:prefix StringLike: above the home", Some(home_like), bob(), list, None, prefix("home/"), N),
        c("s3:max-keys NumericLessThan: under", Some(max_keys), bob(), list, None, keys(Some(5)), A),
        c("s3:max-keys NumericLessThan: over", Some(max_keys), bob(), list, None, keys(Some(50)), N),
        c("s3:max-keys NumericLessThan: absent", Some(max_keys), bob(), list, None, keys(None), N),
        c("IfExists on an absent key: true", Some(max_keys_if), bob(), list, None, keys(None), A),
        c("IfExists on a present key: evaluated", Some(max_keys_if), bob(), list, None, keys(Some(50)), N),
        c("ExistingObjectTag: matching tag", Some(existing), bob(), get, obj, tags(vec![("class", "public")]), A),
        c("ExistingObjectTag: other value", Some(existing), bob(), get, obj, tags(vec![("class", "secret")]), N),
        c("ExistingObjectTag: untagged", Some(existing), bob(), get, obj, d(), N),
        c("RequestObjectTag: matching", Some(request), bob(), put, obj, req(Some(vec![("team", "blue")])), A),
        c("RequestObjectTag: other value", Some(request), bob(), put, obj, req(Some(vec![("team", "red")])), N),
        c("ForAllValues: every key listed", Some(all_keys), bob(), put, obj, req(Some(vec![("team", "blue")])), A),
        c("ForAllValues: one key not listed", Some(all_keys), bob(), put, obj, req(Some(vec![("team", "x"), ("owner", "y")])), N),
        c("ForAllValues: no tags at all (absent: true)", Some(all_keys), bob(), put, obj, req(None), A),
        c("ForAnyValue deny: one forbidden key", Some(any_key), owner(), put, obj, req(Some(vec![("secret", "1"), ("a", "2")])), D),
        c("ForAnyValue deny: none forbidden", Some(any_key), owner(), put, obj, req(Some(vec![("a", "2")])), A),
        c("ForAnyValue deny: no tags (absent: false)", Some(any_key), owner(), put, obj, req(None), A),
        c("SSE required: AES256", Some(sse), owner(), put, obj, enc(Some("AES256")), A),
        c("SSE required: another method", Some(sse), owner(), put, obj, enc(Some("aws:kms")), D),
        c("SSE required: header missing (StringNotEquals, absent: true)", Some(sse), owner(), put, obj, enc(None), D),
        c("Null true: header missing", Some(sse_null), owner(), put, obj, enc(None), D),
        c("Null true: header present", Some(sse_null), owner(), put, obj, enc(Some("aws:kms")), A),
        c("aws:PrincipalAccount: that account", Some(by_account), bob(), get, obj, d(), A),
        c("aws:PrincipalAccount: a third account", Some(by_account), Identity::user("333333333333", "eve"), get, obj, d(), N),
        c("aws:PrincipalAccount: anonymous has none", Some(by_account), anon(), get, obj, d(), N),
        c("ArnLike aws:PrincipalArn: a user", Some(arn_like), bob(), get, obj, d(), A),
        c("ArnLike aws:PrincipalArn: the root is not user/*", Some(arn_like), other_root(), get, obj, d(), N),
        c("s3:VersionId: the version", Some(version), bob(), Action::GET_OBJECT_VERSION, obj, Ctx { version: Some("v1"), ..d() }, A),
        c("s3:VersionId: another version", Some(version), bob(), Action::GET_OBJECT_VERSION, obj, Ctx { version: Some("v2"), ..d() }, N),
        c("s3:VersionId: GetObject is another action", Some(version), bob(), get, obj, Ctx { version: Some("v1"), ..d() }, N),
        c("StringNotLike: outside the pattern", Some(not_like), bob(), list, None, prefix("public/"), A),
        c("StringNotLike: inside the pattern", Some(not_like), bob(), list, None, prefix("private/x"), N),
        c("StringNotLike: absent key (negated: true)", Some(not_like), bob(), list, None, d(), A),
        c("action names are compared without case", Some(case_action), bob(), get, obj, d(), A),
        c("s3:* on objects: delete", Some(star_objects), bob(), Action::DELETE_OBJECT, obj, d(), A),
        c("s3:* on objects: not the bucket", Some(star_objects), bob(), Action::DELETE_BUCKET, None, d(), N),
        c("? matches one character", Some(question), bob(), get, Some("file1.txt"), d(), A),
        c("? matches exactly one", Some(question), bob(), get, Some("file10.txt"), d(), N),
        c("two keys of one operator: both hold", Some(two_keys), bob(), list, None, Ctx { prefix: Some("a/"), delimiter: Some("/"), ..d() }, A),
        c("two keys of one operator: one absent", Some(two_keys), bob(), list, None, prefix("a/"), N),
        c("two operators: both hold", Some(two_ops), bob(), get, obj, ip_ctx("192.0.2.1"), A),
        c("two operators: one fails", Some(two_ops), bob(), get, obj, Ctx { ip: Some("192.0.2.1"), insecure: true, ..d() }, N),
        c("action list: the bucket action on the bucket", Some(list_and_get), bob(), list, None, d(), A),
        c("action list: the object action on an object", Some(list_and_get), bob(), get, obj, d(), A),
        c("Deny IfExists: an absent key makes the condition true, so the deny applies", Some(deny_if_exists), owner(), list, None, d(), D),
        c("Deny IfExists: under the limit", Some(deny_if_exists), owner(), list, None, keys(Some(10)), A),
        c("Deny IfExists: over the limit", Some(deny_if_exists), owner(), list, None, keys(Some(1000)), D),
    ];
    let mut restricted = |name, policy, who, action, want| {
        v.push(Case {
            name,
            policy: Some(policy),
            who,
            action,
            key: obj,
            restrict: true,
            ctx: Ctx::default(),
            want,
        });
    };
    restricted("RestrictPublicBuckets: anonymous under a public policy", public_read, anon(), get, B);
    restricted("RestrictPublicBuckets: another account under a public policy", public_read, bob(), get, B);
    restricted("RestrictPublicBuckets: the owner's account keeps access", public_read, alice(), get, A);
    restricted("RestrictPublicBuckets: a non-public grant still works", bob_get, bob(), get, A);
    restricted("RestrictPublicBuckets: an IP-limited grant is not public", ip, anon(), get, N);
    v
}

fn run(case: &Case) -> Result<Want, String> {
    let policy = case
        .policy
        .map(|p| BucketPolicy::parse("b", p).map_err(|e| format!("policy rejected: {e}")))
        .transpose()?;
    let existing = case
        .ctx
        .existing
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let request = case.ctx.request.as_ref().map(|t| {
        t.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    });
    let live = Live {
        ctx: &case.ctx,
        who: &case.who,
        existing,
        request,
    };
    let req = Request {
        action: case.action,
        bucket: "b",
        key: case.key,
        identity: &case.who,
        context: &live,
    };
    let bpa = PublicAccessBlock {
        restrict_public_buckets: case.restrict,
        ..PublicAccessBlock::all(false)
    };
    Ok(match decide(OWNER, policy.as_ref(), &bpa, &req) {
        Ok(()) => A,
        Err(DenyReason::NoAllow) => N,
        Err(DenyReason::ExplicitDeny(_)) => D,
        Err(DenyReason::PublicAccessBlocked(_)) => B,
        Err(DenyReason::OwnerOnly) => return Err("owner only".into()),
    })
}

/// The table. Prints `policy cases: P/T` for `scripts/test`.
#[test]
fn policy_table() {
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        match run(case) {
            Ok(got) if got == case.want => {}
            Ok(got) => failures.push(format!("{}: want {:?}, got {got:?}", case.name, case.want)),
            Err(e) => failures.push(format!("{}: {e}", case.name)),
        }
    }
    println!(
        "policy cases: {}/{}",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(cases.len() >= 60);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What S3 refuses with MalformedPolicy, each naming the statement and field (PutBucketPolicy, S3 API
/// reference; the messages are S3's).
#[rustfmt::skip]
#[test]
fn malformed_policies_name_the_statement_and_field() {
    let cases: &[(&str, &str, &str)] = &[
        ("[]", "Policy", "first byte must be '{'"),
        ("{not json", "Policy", "invalid Json"),
        (
            r#"{"Version": "2013-01-01", "Statement": []}"#,
            "Version",
            "valid version",
        ),
        (
            r#"{"Version": "2012-10-17"}"#,
            "Statement",
            "Missing required field Statement",
        ),
        (
            r#"{"Version": "2012-10-17", "Statment": []}"#,
            "Statment",
            "Unknown field",
        ),
    ];
    for (json, field, msg) in cases {
        match BucketPolicy::parse("b", json) {
            Err(crate::Error::MalformedPolicy {
                field: f,
                message,
                statement,
                ..
            }) => {
                assert_eq!(&f, field, "{json}");
                assert!(message.contains(msg), "{json}: {message}");
                assert_eq!(statement, None);
            }
            other => panic!("{json}: {other:?}"),
        }
    }
    let statement_cases: &[(&str, &str, &str)] = &[
        (
            r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::b/*"}"#,
            "Action",
            "Policy has invalid action",
        ),
        (
            r#"{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "arn:aws:s3:::b/*"}"#,
            "Action",
            "Policy has invalid action",
        ),
        (
            r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other/*"}"#,
            "Resource",
            "Policy has invalid resource",
        ),
        (
            r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"}"#,
            "Action",
            "does not apply to any resource",
        ),
        (
            r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b/*"}"#,
            "Action",
            "does not apply to any resource",
        ),
        (
            r#"{"Effect": "Permit", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}"#,
            "Effect",
            "Invalid effect",
        ),
        (
            r#"{"Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}"#,
            "Effect",
            "Missing required field Effect",
        ),
        (
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}"#,
            "Principal",
            "Missing required field Principal",
        ),
        (
            r#"{"Effect": "Allow", "Principal": "*", "Resource": "arn:aws:s3:::b/*"}"#,
            "Action",
            "Missing required field Action",
        ),
        (
            r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}"#,
            "Resource",
            "Missing required field Resource",
        ),
        (
            r#"{"Effect": "Allow", "Principal": {"AWS": "bob"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}"#,
            "Principal",
            "Invalid principal",
        ),
        (
            r#"{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::*:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}"#,
            "Principal",
            "Invalid principal",
        ),
        (
            r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": {"StringEqualz": {"s3:prefix": "a"}}}"#,
            "Condition.StringEqualz",
            "Invalid Condition type",
        ),
        (
            r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": {"StringEquals": {"s3:nonsense": "a"}}}"#,
            "Condition.StringEquals.s3:nonsense",
            "invalid condition key",
        ),
        (
            r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": {"DateLessThan": {"aws:CurrentTime": "tomorrow"}}}"#,
            "Condition.DateLessThan.aws:CurrentTime",
            "ISO 8601",
        ),
        (
            r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": {"IpAddress": {"aws:SourceIp": "300.1.1.1/8"}}}"#,
            "Condition.IpAddress.aws:SourceIp",
            "IP address",
        ),
        (
            r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": {"NumericLessThan": {"s3:max-keys": "ten"}}}"#,
            "Condition.NumericLessThan.s3:max-keys",
            "number",
        ),
        (
            r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": {"Bool": {"aws:SecureTransport": "yes"}}}"#,
            "Condition.Bool.aws:SecureTransport",
            "true or false",
        ),
        (
            r#"{"Effect": "Allow", "Principal": "*", "Actions": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}"#,
            "Actions",
            "Unknown field",
        ),
    ];
    for (body, field, msg) in statement_cases {
        let json = format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "ok", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}, {body}]}}"#
        );
        match BucketPolicy::parse("b", &json) {
            Err(crate::Error::MalformedPolicy {
                field: f,
                message,
                statement,
                bucket,
            }) => {
                assert_eq!(&f, field, "{body}");
                assert!(message.contains(msg), "{body}: {message}");
                assert_eq!(statement.as_deref(), Some("statement 2"), "{body}");
                assert_eq!(bucket, "b");
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    // Found by the policy_parse fuzz target: an action whose third byte is inside a character.
    let multibyte = stmt(r#"{"Effect": "Allow", "Principal": "*", "Action": "s\u4e2dObject", "Resource": "arn:aws:s3:::b/*"}"#);
    assert_eq!(BucketPolicy::parse("b", &multibyte).unwrap_err().code(), "MalformedPolicy");
    let dup = stmt(
        r#"{"Sid": "x", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
           {"Sid": "x", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}"#,
    );
    let err = BucketPolicy::parse("b", &dup).unwrap_err();
    assert!(err.to_string().contains("statement 2 (Sid \"x\")"), "{err}");
    let big = format!("{{\"Id\": \"{}\"}}", "x".repeat(MAX_POLICY_BYTES));
    assert!(
        BucketPolicy::parse("b", &big)
            .unwrap_err()
            .to_string()
            .contains("maximum allowed document size")
    );
}

/// "The meaning of public" (S3 User Guide, Block Public Access): which policies are public.
#[test]
fn what_is_public() {
    let public = |cond: &str, principal: &str, action: &str| {
        let c = if cond.is_empty() {
            String::new()
        } else {
            format!(r#", "Condition": {cond}"#)
        };
        BucketPolicy::parse(
            "b",
            &stmt(&format!(r#"{{"Effect": "Allow", "Principal": {principal}, "Action": "{action}", "Resource": "arn:aws:s3:::b/*"{c}}}"#)),
        )
        .unwrap()
        .is_public()
    };
    assert!(public("", r#""*""#, "s3:GetObject"));
    assert!(public("", r#"{"AWS": "*"}"#, "s3:PutObject"));
    assert!(!public("", r#"{"AWS": "222222222222"}"#, "s3:GetObject"));
    assert!(!public(
        r#"{"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}"#,
        r#""*""#,
        "s3:GetObject"
    ));
    assert!(public(
        r#"{"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#,
        r#""*""#,
        "s3:GetObject"
    ));
    assert!(!public(
        r#"{"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}"#,
        r#""*""#,
        "s3:GetObject"
    ));
    assert!(public(
        r#"{"StringLike": {"aws:SourceVpc": "vpc-*"}}"#,
        r#""*""#,
        "s3:GetObject"
    ));
    assert!(public(
        r#"{"StringNotEquals": {"aws:SourceAccount": "222222222222"}}"#,
        r#""*""#,
        "s3:GetObject"
    ));
    assert!(!public("", r#""*""#, "s3:BypassGovernanceRetention"));
    let deny = BucketPolicy::parse(
        "b",
        &stmt(r#"{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}"#),
    )
    .unwrap();
    assert!(!deny.is_public());
    let _ = SystemTime::now();
}
