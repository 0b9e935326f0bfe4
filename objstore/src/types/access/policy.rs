//! Bucket policies: the IAM JSON document a user gives S3's PutBucketPolicy, parsed and validated once
//! ([`BucketPolicy::parse`]) into a form that evaluates a request without allocating.
//!
//! Validation follows what S3 refuses with `MalformedPolicy` (each error names the statement and field):
//! a `Version` other than `2012-10-17` or `2008-10-17`, unknown fields, a statement without `Effect`,
//! `Principal`/`NotPrincipal`, `Action`/`NotAction` or `Resource`/`NotResource`, an action S3 does not
//! have ("Policy has invalid action"), a resource outside the bucket ("Policy has invalid resource"),
//! actions that apply to none of the statement's resources, an invalid principal, a condition operator
//! or key S3 does not know, or a value of the wrong type for its operator.

use std::fmt;

use serde_json::{Map, Value};

use super::action::{Action, ActionSet, ResourceKind};
use super::condition::{Condition, Context, Key};
use super::identity::Identity;
use super::pattern;
use crate::error::{Error, Result};

/// The largest bucket policy S3 accepts, in bytes (20 KB).
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

/// A parsed, validated bucket policy. It keeps the text it was parsed from: `to_string()` gives it back
/// verbatim, as GetBucketPolicy does.
///
/// ```
/// let policy = objstore::BucketPolicy::parse("photos", r#"{
///   "Version": "2012-10-17",
///   "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
///                  "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*"}]
/// }"#)?;
/// assert!(policy.is_public());
/// let bad = objstore::BucketPolicy::parse("photos", r#"{"Version": "2012-10-17", "Statement": [
///   {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::photos/*"}]}"#);
/// assert_eq!(bad.unwrap_err().code(), "MalformedPolicy");
/// # Ok::<(), objstore::Error>(())
/// ```
#[derive(Clone)]
pub struct BucketPolicy {
    source: String,
    statements: Vec<Statement>,
    public: bool,
    has_deny: bool,
    uses_existing_tags: bool,
}

impl PartialEq for BucketPolicy {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}
impl Eq for BucketPolicy {}

impl fmt::Debug for BucketPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BucketPolicy")
            .field("statements", &self.statements.len())
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for BucketPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Default)]
struct Principals {
    everyone: bool,
    accounts: Vec<String>,
    arns: Vec<String>,
}

impl Principals {
    fn matches(&self, who: &Identity) -> bool {
        self.everyone
            || who
                .account_id()
                .is_some_and(|a| self.accounts.iter().any(|x| x == a))
            || (!who.is_anonymous() && self.arns.iter().any(|x| x == who.arn()))
    }
}

#[derive(Debug, Clone)]
struct Statement {
    label: String,
    effect: Effect,
    principals: Principals,
    not_principal: bool,
    actions: ActionSet,
    resources: Vec<String>,
    not_resource: bool,
    conditions: Vec<Condition>,
}

/// What a policy says about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A statement allows it (and none denies it).
    Allow,
    /// A statement denies it: its label (`Sid` or position).
    Deny(String),
    /// No statement applies.
    Silent,
}

/// One request as the policy sees it.
pub(crate) struct Request<'a> {
    pub(crate) action: Action,
    pub(crate) bucket: &'a str,
    pub(crate) key: Option<&'a str>,
    pub(crate) identity: &'a Identity,
    pub(crate) context: &'a dyn Context,
}

const S3_ARN: &str = "arn:aws:s3:::";

impl BucketPolicy {
    /// Parses and validates a policy for `bucket`.
    ///
    /// # Errors
    /// `MalformedPolicy` naming the statement and the field at fault (see the module docs).
    pub fn parse(bucket: &str, json: &str) -> Result<BucketPolicy> {
        Self::parse_for(Some(bucket), json)
    }

    /// Parses a policy; with `bucket` `None` (a policy read back from the store's own records), the
    /// checks that its resources are the bucket's are skipped.
    fn parse_for(for_bucket: Option<&str>, json: &str) -> Result<BucketPolicy> {
        let bucket = for_bucket.unwrap_or("");
        let err = |statement: Option<&str>, field: &str, message: &str| Error::MalformedPolicy {
            bucket: bucket.to_string(),
            statement: statement.map(str::to_string),
            field: field.to_string(),
            message: message.to_string(),
        };
        if json.len() > MAX_POLICY_BYTES {
            return Err(err(
                None,
                "Policy",
                &format!(
                    "Policy exceeds the maximum allowed document size: {} bytes over the limit of {MAX_POLICY_BYTES}",
                    json.len()
                ),
            ));
        }
        if !json.trim_start().starts_with('{') {
            return Err(err(
                None,
                "Policy",
                "Policies must be valid JSON and the first byte must be '{'",
            ));
        }
        let doc: Value = serde_json::from_str(json).map_err(|e| {
            err(
                None,
                "Policy",
                &format!("This policy contains invalid Json: {e}"),
            )
        })?;
        let Value::Object(doc) = doc else {
            return Err(err(None, "Policy", "a policy is a JSON object"));
        };
        for field in doc.keys() {
            if !matches!(field.as_str(), "Version" | "Id" | "Statement") {
                return Err(err(None, field, &format!("Unknown field {field}")));
            }
        }
        match doc.get("Version") {
            None => {}
            Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => {}
            Some(_) => {
                return Err(err(
                    None,
                    "Version",
                    "The policy must contain a valid version string",
                ));
            }
        }
        let statements = match doc.get("Statement") {
            Some(Value::Array(list)) if !list.is_empty() => list.iter().collect::<Vec<_>>(),
            Some(v @ Value::Object(_)) => vec![v],
            _ => {
                return Err(err(None, "Statement", "Missing required field Statement"));
            }
        };
        let mut parsed = Vec::with_capacity(statements.len());
        let mut sids = std::collections::HashSet::new();
        for (i, st) in statements.iter().enumerate() {
            let Value::Object(st) = st else {
                return Err(err(None, "Statement", "each statement is a JSON object"));
            };
            let sid = match st.get("Sid") {
                None => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(err(None, "Sid", "Sid is a string")),
            };
            let label = match &sid {
                Some(s) => format!("statement {} (Sid {s:?})", i + 1),
                None => format!("statement {}", i + 1),
            };
            if let Some(s) = &sid
                && !sids.insert(s.clone())
            {
                return Err(err(
                    Some(&label),
                    "Sid",
                    "Statement IDs (SID) in a single policy must be unique",
                ));
            }
            let statement = parse_statement(for_bucket, st, label.clone())
                .map_err(|(field, message)| err(Some(&label), &field, &message))?;
            parsed.push(statement);
        }
        let public = parsed.iter().any(Statement::is_public);
        Ok(BucketPolicy {
            source: json.to_string(),
            has_deny: parsed.iter().any(|s| s.effect == Effect::Deny),
            uses_existing_tags: parsed.iter().any(|s| {
                s.conditions
                    .iter()
                    .any(|c| matches!(c.key, Key::ExistingObjectTag(_)))
            }),
            statements: parsed,
            public,
        })
    }

    /// Whether the policy is public as Block Public Access defines it: an `Allow` of an action that reads
    /// or writes data (`s3:Get*`, `s3:List*`, `s3:Put*`, `s3:Delete*`, `s3:AbortMultipartUpload`,
    /// `s3:RestoreObject`) to `"*"` or through `NotPrincipal`, without a condition that fixes the source
    /// (`aws:SourceIp` CIDR blocks, or a fixed `aws:SourceArn`, `aws:SourceVpc`, `aws:SourceVpce`,
    /// `aws:SourceOwner`, `aws:SourceAccount`, `aws:PrincipalAccount`, `aws:PrincipalArn`,
    /// `aws:PrincipalOrgID`, `aws:userid`). (S3 User Guide, "The meaning of public".)
    pub fn is_public(&self) -> bool {
        self.public
    }

    /// The policy's text, as it was put.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub(crate) fn has_deny(&self) -> bool {
        self.has_deny
    }

    /// Whether any condition reads `s3:ExistingObjectTag/...`, which costs the request a metadata read.
    pub(crate) fn uses_existing_tags(&self) -> bool {
        self.uses_existing_tags
    }

    /// Evaluates the policy for a request. With `deny_only`, `Allow` statements are not looked at (the
    /// caller is allowed anyway unless a statement denies it).
    pub(crate) fn evaluate(&self, req: &Request<'_>, deny_only: bool) -> Verdict {
        let mut allowed = false;
        for st in &self.statements {
            if st.effect == Effect::Allow && (deny_only || allowed) {
                continue;
            }
            if st.applies(req) {
                match st.effect {
                    Effect::Deny => return Verdict::Deny(st.label.clone()),
                    Effect::Allow => allowed = true,
                }
            }
        }
        if allowed {
            Verdict::Allow
        } else {
            Verdict::Silent
        }
    }
}

impl Statement {
    fn applies(&self, req: &Request<'_>) -> bool {
        if !self.actions.contains(req.action) {
            return false;
        }
        if self.principals.matches(req.identity) == self.not_principal {
            return false;
        }
        let resource_match = self.resources.iter().any(|p| {
            if p == "*" {
                return true;
            }
            // The common `arn:aws:s3:::...` prefix is compared once, not byte by byte through the glob.
            let (p, arn): (&str, &[&str]) = match p.strip_prefix(S3_ARN) {
                Some(rest) => (rest, &[]),
                None => (p.as_str(), &[S3_ARN]),
            };
            match (req.key, arn.is_empty()) {
                (Some(k), true) => pattern::matches(p, &[req.bucket, "/", k], false),
                (Some(k), false) => pattern::matches(p, &[S3_ARN, req.bucket, "/", k], false),
                (None, true) => pattern::matches(p, &[req.bucket], false),
                (None, false) => pattern::matches(p, &[S3_ARN, req.bucket], false),
            }
        });
        if resource_match == self.not_resource {
            return false;
        }
        self.conditions.iter().all(|c| c.holds(req.context))
    }

    fn is_public(&self) -> bool {
        self.effect == Effect::Allow
            && (self.not_principal || self.principals.everyone)
            && self.actions.iter().any(Action::exposes_data)
            && !self
                .conditions
                .iter()
                .any(Condition::restricts_public_access)
    }
}

fn strings(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) if !a.is_empty() => {
            a.iter().map(|x| x.as_str().map(str::to_string)).collect()
        }
        _ => None,
    }
}

type FieldError = (String, String);

fn parse_statement(
    bucket: Option<&str>,
    st: &Map<String, Value>,
    label: String,
) -> std::result::Result<Statement, FieldError> {
    let fe = |f: &str, m: &str| (f.to_string(), m.to_string());
    for field in st.keys() {
        if !matches!(
            field.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return Err(fe(field, &format!("Unknown field {field}")));
        }
    }
    let effect = match st.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        Some(other) => return Err(fe("Effect", &format!("Invalid effect: {other}"))),
        None => return Err(fe("Effect", "Missing required field Effect")),
    };
    let (principal_field, principal) = one_of(st, "Principal", "NotPrincipal")
        .ok_or_else(|| fe("Principal", "Missing required field Principal"))?;
    let principals = parse_principals(principal).map_err(|m| fe(principal_field, &m))?;
    let (action_field, action) = one_of(st, "Action", "NotAction")
        .ok_or_else(|| fe("Action", "Missing required field Action"))?;
    let names = strings(action)
        .ok_or_else(|| fe(action_field, "Action is a string or a list of strings"))?;
    let mut actions = ActionSet::default();
    for name in &names {
        let set = if name == "*" {
            ActionSet::matching("*")
        } else if name.len() > 3 && name.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("s3:")) {
            ActionSet::matching(name)
        } else {
            ActionSet::default()
        };
        if set.is_empty() {
            return Err(fe(
                action_field,
                &format!("Policy has invalid action: {name}"),
            ));
        }
        actions = actions.union(set);
    }
    if action_field == "NotAction" {
        actions = actions.complement();
    }
    let (resource_field, resource) = one_of(st, "Resource", "NotResource")
        .ok_or_else(|| fe("Resource", "Missing required field Resource"))?;
    let resources = strings(resource)
        .ok_or_else(|| fe(resource_field, "Resource is a string or a list of strings"))?;
    let Some(bucket) = bucket else {
        return finish(
            effect,
            label,
            principal_field,
            principals,
            actions,
            resource_field,
            resources,
            st,
        );
    };
    for r in &resources {
        if r == "*" {
            continue;
        }
        let in_bucket = r.strip_prefix(S3_ARN).is_some_and(|rest| {
            let bucket_part = rest.split('/').next().unwrap_or("");
            pattern::matches(bucket_part, &[bucket], false)
                || (bucket_part.ends_with('*') && !rest.contains('/'))
        });
        if !in_bucket {
            return Err(fe(
                resource_field,
                &format!("Policy has invalid resource: {r}"),
            ));
        }
    }
    let not_resource = resource_field == "NotResource";
    if !not_resource {
        let covers = |kind: ResourceKind| {
            resources.iter().any(|r| {
                r == "*"
                    || match kind {
                        ResourceKind::Bucket => pattern::matches(r, &[S3_ARN, bucket], false),
                        ResourceKind::Object => r.contains('/') || r.ends_with('*'),
                        ResourceKind::Account => false,
                    }
            })
        };
        if !actions.iter().any(|a| covers(a.resource_kind())) {
            return Err(fe(
                "Action",
                "Action does not apply to any resource(s) in statement",
            ));
        }
    }
    finish(
        effect,
        label,
        principal_field,
        principals,
        actions,
        resource_field,
        resources,
        st,
    )
}

#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one statement, assembled once"
)]
fn finish(
    effect: Effect,
    label: String,
    principal_field: &str,
    principals: Principals,
    actions: ActionSet,
    resource_field: &str,
    resources: Vec<String>,
    st: &Map<String, Value>,
) -> std::result::Result<Statement, FieldError> {
    let conditions = match st.get("Condition") {
        None => Vec::new(),
        Some(block) => Condition::parse_block(block)?,
    };
    Ok(Statement {
        label,
        effect,
        principals,
        not_principal: principal_field == "NotPrincipal",
        actions,
        resources,
        not_resource: resource_field == "NotResource",
        conditions,
    })
}

impl serde::Serialize for BucketPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> serde::Deserialize<'de> for BucketPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        BucketPolicy::parse_for(None, &text).map_err(serde::de::Error::custom)
    }
}

fn one_of<'v>(
    st: &'v Map<String, Value>,
    a: &'static str,
    b: &'static str,
) -> Option<(&'static str, &'v Value)> {
    st.get(a)
        .map(|v| (a, v))
        .or_else(|| st.get(b).map(|v| (b, v)))
}

fn parse_principals(v: &Value) -> std::result::Result<Principals, String> {
    let mut p = Principals::default();
    match v {
        Value::String(s) if s == "*" => p.everyone = true,
        Value::Object(map) if !map.is_empty() => {
            for (kind, values) in map {
                let values = strings(values).ok_or("Invalid principal in policy")?;
                match kind.as_str() {
                    "AWS" => {
                        for v in values {
                            add_aws_principal(&mut p, &v)?;
                        }
                    }
                    // Service, CanonicalUser and Federated principals are valid; no objstore caller is one.
                    "Service" | "CanonicalUser" | "Federated" => {}
                    _ => return Err(format!("Invalid principal in policy: {kind}")),
                }
            }
        }
        _ => return Err("Invalid principal in policy".to_string()),
    }
    Ok(p)
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn add_aws_principal(p: &mut Principals, v: &str) -> std::result::Result<(), String> {
    if v == "*" {
        p.everyone = true;
    } else if is_account(v) {
        p.accounts.push(v.to_string());
    } else if let Some(rest) = v
        .strip_prefix("arn:aws:iam::")
        .or_else(|| v.strip_prefix("arn:aws:sts::"))
    {
        let (account, resource) = rest.split_once(':').unwrap_or(("", ""));
        if !is_account(account) || resource.is_empty() || !pattern::is_literal(resource) {
            return Err(format!("Invalid principal in policy: {v}"));
        }
        if resource == "root" {
            p.accounts.push(account.to_string());
        } else if ["user/", "role/", "assumed-role/", "federated-user/"]
            .iter()
            .any(|k| resource.starts_with(k) && resource.len() > k.len())
        {
            p.arns.push(v.to_string());
        } else {
            return Err(format!("Invalid principal in policy: {v}"));
        }
    } else {
        return Err(format!("Invalid principal in policy: {v}"));
    }
    Ok(())
}
