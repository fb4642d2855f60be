//! Endpoint policies evaluated for the pull requests (with [`crate::policy`]), and the
//! documents the remediation commands print: the existing policy with the needed statement
//! merged in, never a replacement by one narrow statement.

use crate::checks::Ctx;
use crate::engine::{Code, Finding};
use crate::policy::{self, Decision, NoteKind, PolicyError, PolicyErrorKind, Request};
use serde_json::{json, Value};

/// What a policy decides for a set of requests. Lists hold data: action names, statement
/// ids, condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyVerdict {
    Allowed,
    /// Allowed, or denied, only under these conditions.
    Conditional {
        actions: Vec<String>,
        conditions: Vec<String>,
    },
    /// These actions are not allowed; `statements` are the explicit Deny statements;
    /// `limited` the Allow statements that did not apply to the requester because they
    /// name specific principals or are conditioned on the principal's or the resource's
    /// account or organisation.
    Denied {
        actions: Vec<String>,
        statements: Vec<String>,
        limited: Vec<String>,
    },
    /// The document could not be read.
    Unreadable(PolicyError),
}

/// Who asks, for the policy: the principal (None = unknown or an AWS service), and the
/// condition keys known for the request.
#[derive(Default)]
pub struct Requester<'a> {
    pub principal: Option<&'a str>,
    pub account: Option<&'a str>,
    pub context: &'a [(&'a str, &'a str)],
    pub foreign_keys: &'a [&'a str],
}

/// Condition keys about the principal and the resource owner. For a layer download their
/// values are ECR's and AWS's, never the customer's: ECR presigns layer URLs with its own
/// credentials, and AWS owns the layer bucket.
pub const NOT_THE_CUSTOMERS: &[&str] = &[
    "aws:PrincipalAccount",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalArn",
    "aws:userid",
    "aws:username",
    "aws:ResourceAccount",
    "aws:ResourceOrgID",
    "aws:ResourceOrgPaths",
];

/// Evaluates an endpoint policy (None = the default full-access policy) for each
/// `(action, resource)`, as the caller, arriving through endpoint `endpoint_id` of
/// `vpc_id` (conditions on aws:SourceVpce / aws:SourceVpc are decided).
pub fn evaluate(
    policy_doc: Option<&str>,
    requests: &[(&str, String)],
    cx: &Ctx,
    endpoint_id: &str,
    vpc_id: &str,
) -> PolicyVerdict {
    let identity = cx.identity();
    let context = [("aws:SourceVpce", endpoint_id), ("aws:SourceVpc", vpc_id)];
    evaluate_as(
        policy_doc,
        requests,
        &Requester {
            principal: identity.map(|i| i.arn.as_str()),
            account: identity.map(|i| i.account.as_str()),
            context: &context,
            ..Requester::default()
        },
    )
}

/// Evaluates an S3 gateway endpoint policy for a layer download: ECR's presigned URL,
/// arriving through endpoint `endpoint_id` of `vpc_id`.
pub fn evaluate_layer_download(
    policy_doc: Option<&str>,
    object_arn: &str,
    endpoint_id: &str,
    vpc_id: &str,
) -> PolicyVerdict {
    let context = [("aws:SourceVpce", endpoint_id), ("aws:SourceVpc", vpc_id)];
    evaluate_as(
        policy_doc,
        &[("s3:GetObject", object_arn.to_string())],
        &Requester {
            principal: None,
            account: None,
            context: &context,
            foreign_keys: NOT_THE_CUSTOMERS,
        },
    )
}

pub fn evaluate_as(
    policy_doc: Option<&str>,
    requests: &[(&str, String)],
    who: &Requester,
) -> PolicyVerdict {
    let Some(doc) = policy_doc else {
        return PolicyVerdict::Allowed;
    };
    let p = match policy::parse(doc) {
        Ok(p) => p,
        Err(e) => return PolicyVerdict::Unreadable(e),
    };
    let mut denied = Vec::new();
    let mut statements = Vec::new();
    let mut limited: Vec<String> = Vec::new();
    let mut conditional = Vec::new();
    let mut conditions = Vec::new();
    for (action, resource) in requests {
        let req = Request {
            action,
            resource,
            principal: who.principal,
            principal_account: who.account,
            context: who.context,
            foreign_keys: who.foreign_keys,
        };
        let ev = p.explain(&req);
        match ev.decision {
            Decision::Allowed => {}
            Decision::AllowedWithConditions { conditions: c, .. }
            | Decision::DenyUnderConditions { conditions: c, .. } => {
                conditional.push(action.to_string());
                for k in c {
                    if !conditions.contains(&k) {
                        conditions.push(k);
                    }
                }
            }
            Decision::ExplicitDeny { statement } => {
                denied.push(action.to_string());
                if !statements.contains(&statement) {
                    statements.push(statement);
                }
            }
            Decision::ImplicitDeny => {
                denied.push(action.to_string());
                for n in ev.notes {
                    let skipped_allow = n.effect == Some("Allow")
                        && matches!(
                            n.kind(),
                            NoteKind::UnknownCaller | NoteKind::ConditionDecided
                        );
                    if skipped_allow && !limited.contains(&n.statement) {
                        limited.push(n.statement);
                    }
                }
            }
        }
    }
    if !denied.is_empty() {
        PolicyVerdict::Denied {
            actions: denied,
            statements,
            limited,
        }
    } else if !conditional.is_empty() {
        PolicyVerdict::Conditional {
            actions: conditional,
            conditions,
        }
    } else {
        PolicyVerdict::Allowed
    }
}

/// A policy verdict's facts, under `denied` or `conditional` when it is not `Allowed`.
/// `needed` is the statement that lets the requests through: when appending it to the
/// existing document fixes the policy (no explicit Deny in the way), the merged document
/// is the fact `merged_policy`.
pub fn policy_finding<K: Code>(
    v: PolicyVerdict,
    doc: Option<&str>,
    needed: Value,
    denied: K,
    conditional: K,
) -> Option<Finding<K>> {
    match v {
        PolicyVerdict::Allowed => None,
        PolicyVerdict::Denied {
            actions,
            statements,
            limited,
        } => {
            let mut f = Finding::new(denied)
                .fact("denied_actions", actions)
                .fact("deny_statements", statements.clone())
                .fact("limited_statements", limited);
            if statements.is_empty() {
                if let Some(m) = merged_policy(doc, needed) {
                    f = f.fact("merged_policy", m);
                }
            }
            Some(f)
        }
        PolicyVerdict::Unreadable(e) => {
            // `got` is shown as "found ..." unless the kind's words hold it (the detail)
            let in_words = matches!(
                e.kind,
                PolicyErrorKind::NotJson | PolicyErrorKind::Both | PolicyErrorKind::BarePrincipal
            );
            let (got, detail) = if in_words {
                (None, e.got)
            } else {
                (e.got, None)
            };
            Some(
                Finding::new(denied)
                    .fact("policy_error", e.kind.as_str())
                    .fact("policy_error_path", e.path)
                    .fact("policy_error_expected", e.expected)
                    .fact("policy_error_got", got)
                    .fact("policy_error_detail", detail),
            )
        }
        PolicyVerdict::Conditional {
            actions,
            conditions,
        } => Some(
            Finding::new(conditional)
                .fact("conditional_actions", actions)
                .fact("conditions", conditions),
        ),
    }
}

/// The existing policy document with `statement` appended (its `Sid` made unique), as
/// compact JSON that is safe inside single shell quotes (`'` is written `\u0027`). None
/// when there is no document (the default policy) or it is not a JSON object.
pub fn merged_policy(doc: Option<&str>, mut statement: Value) -> Option<String> {
    let mut v: Value = serde_json::from_str(doc?).ok()?;
    let obj = v.as_object_mut()?;
    let list = match obj.remove("Statement") {
        Some(Value::Array(a)) => a,
        Some(one @ Value::Object(_)) => vec![one],
        None => Vec::new(),
        Some(_) => return None,
    };
    let sids: Vec<String> = list
        .iter()
        .filter_map(|s| s.get("Sid").and_then(Value::as_str).map(str::to_string))
        .collect();
    if let Some(sid) = statement
        .get("Sid")
        .and_then(Value::as_str)
        .map(str::to_string)
    {
        let mut unique = sid.clone();
        let mut n = 2;
        while sids.contains(&unique) {
            unique = format!("{sid}{n}");
            n += 1;
        }
        statement["Sid"] = Value::String(unique);
    }
    let mut list = list;
    list.push(statement);
    obj.insert("Statement".into(), Value::Array(list));
    Some(serde_json::to_string(&v).ok()?.replace('\'', "\\u0027"))
}

/// The statement the ECR interface endpoints need: the pull actions for every principal.
pub fn ecr_pull_statement(actions: &[String]) -> Value {
    json!({
        "Sid": "AllowEcrPull",
        "Effect": "Allow",
        "Principal": "*",
        "Action": actions,
        "Resource": "*",
    })
}

/// The ECR user guide's statement for the S3 gateway endpoint: layer objects for every
/// principal (ECR presigns the layer URLs with its own credentials).
pub fn layer_bucket_statement(bucket_objects_arn: &str) -> Value {
    json!({
        "Sid": "Access-to-specific-bucket-only",
        "Principal": "*",
        "Action": ["s3:GetObject"],
        "Effect": "Allow",
        "Resource": [bucket_objects_arn],
    })
}
