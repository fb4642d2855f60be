//! A small, offline evaluator for IAM-style JSON policy documents.
//!
//! `ecr-doctor` uses it to answer "would this policy let this request
//! through?" for VPC endpoint policies (and later ECR repository
//! policies). It follows the IAM policy evaluation logic for a *single*
//! policy document:
//!
//! * An explicit `Deny` beats any `Allow`; with no matching `Allow` the
//!   result is an implicit deny.
//! * `Statement` may be one object or an array of objects.
//! * `Action` / `NotAction` and `Resource` / `NotResource` may be a string
//!   or an array of strings. Actions match case-insensitively, resources
//!   case-sensitively; both support the `*` (any run of characters, also
//!   across `:` and `/`) and `?` (exactly one character) wildcards.
//! * A statement without `Resource`/`NotResource` (as in resource-based
//!   and endpoint policies) applies to every resource.
//! * A statement without `Principal`/`NotPrincipal` (an identity policy)
//!   applies to every caller.
//!
//! Choices that go beyond (or deliberately short of) real IAM:
//!
//! * **Conditions are evaluated only for keys the request knows.** A
//!   condition on a key in [`Request::context`] is decided with its
//!   operator (`String*`/`Arn*`, `...IfExists`, the `Not` forms); a
//!   condition on a key in [`Request::foreign_keys`] is decided as "the
//!   request's value is none of the policy's" (the positive operators fail,
//!   the negated ones hold). A statement with a failing condition does not
//!   apply. Any other condition is left open, and a statement that
//!   otherwise matches is *conditional*:
//!   - an unconditional matching `Deny` wins → [`Decision::ExplicitDeny`];
//!   - otherwise, a conditional matching `Deny` together with any matching
//!     `Allow` (conditional or not) → [`Decision::DenyUnderConditions`]
//!     (the request is denied if the deny's conditions hold);
//!   - a conditional `Deny` with no matching `Allow` → [`Decision::ImplicitDeny`]
//!     (denied whatever the conditions say; a note mentions the deny);
//!   - otherwise an unconditional matching `Allow` → [`Decision::Allowed`];
//!   - otherwise only conditional `Allow`s → [`Decision::AllowedWithConditions`].
//! * **Unknown caller.** When the request carries neither a principal ARN
//!   nor an account, a statement naming specific principals (anything but
//!   `"*"` / `{"AWS": "*"}`) is treated as *not matching*, for `Allow` and
//!   `Deny` alike, and [`Policy::explain`] adds a note saying so. If only
//!   the account is known, account principals (`"123456789012"`,
//!   `arn:aws:iam::123456789012:root`) are decided on it.
//! * **Principals.** An account principal matches every principal of that
//!   account. A role principal `arn:aws:iam::ACC:role/[path/]NAME` matches
//!   that role and its sessions `arn:aws:sts::ACC:assumed-role/NAME/SESSION`;
//!   users and roles are compared by account and name (names are
//!   case-insensitive in IAM, the path is ignored). Any other ARN, service
//!   or federated principal must match exactly (services case-insensitively).
//!   Wildcards inside a principal other than a lone `*` are compared
//!   literally, as in IAM.
//! * **Policy variables** such as `${aws:username}` are not substituted:
//!   they are compared as literal text, and [`Policy::warnings`] says so.
//! * `Version` may be `2012-10-17` or `2008-10-17`, or absent (warned).
//!   Unknown elements, a wrong `Effect` spelling, both `Action` and
//!   `NotAction`, etc. are rejected with a [`PolicyError`]; parsing never
//!   panics.
//!
//! Errors and notes are data (a kind token plus the path, statement, key or
//! value they concern); their words live in the catalog.

use crate::aws::arn::{is_account_id, Arn};
use serde_json::{Map, Value};
use std::fmt;

/// One request to check against a policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Request<'a> {
    /// The API action, e.g. `ecr:BatchGetImage` or `s3:GetObject`.
    pub action: &'a str,
    /// The resource ARN, or `*` for actions without a resource
    /// (e.g. `ecr:GetAuthorizationToken`).
    pub resource: &'a str,
    /// The caller's ARN, e.g. `arn:aws:iam::123456789012:role/x` or
    /// `arn:aws:sts::123456789012:assumed-role/x/session`; `None` if unknown.
    pub principal: Option<&'a str>,
    /// The caller's account ID. If `None`, it is taken from `principal`.
    pub principal_account: Option<&'a str>,
    /// Condition keys whose value is known for this request, e.g.
    /// `("aws:SourceVpce", "vpce-0abc")` (keys compare case-insensitively).
    pub context: &'a [(&'a str, &'a str)],
    /// Condition keys whose value is known to be none of the values a policy names,
    /// e.g. `aws:PrincipalAccount` when an AWS service, not the policy owner's
    /// principals, makes the request.
    pub foreign_keys: &'a [&'a str],
}

/// The outcome of evaluating a request against one policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An `Allow` statement without conditions matches and no `Deny` does.
    Allowed,
    /// Only `Allow` statements with a `Condition` block match; the request
    /// is allowed if their (unevaluated) conditions hold.
    AllowedWithConditions {
        /// Matching statements: their `Sid`, or `Statement[i]` (0-based).
        statements: Vec<String>,
        /// Condition keys used by those statements, e.g. `aws:SourceVpce`,
        /// without duplicates, per statement in order of operator name.
        conditions: Vec<String>,
    },
    /// A `Deny` statement without conditions matches.
    ExplicitDeny {
        /// The first such statement: its `Sid`, or `Statement[i]`.
        statement: String,
    },
    /// Some `Allow` matches, but so do `Deny` statements with a `Condition`
    /// block; the request is denied if their conditions hold.
    DenyUnderConditions {
        /// The conditional `Deny` statements that match.
        statements: Vec<String>,
        /// Condition keys used by those `Deny` statements.
        conditions: Vec<String>,
    },
    /// No `Allow` statement matches.
    ImplicitDeny,
}

impl Decision {
    /// True for [`Decision::Allowed`] only.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed)
    }
}

/// What a [`Note`] is about (a token; the catalog has the words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// `statement` (effect `effect`) names specific principals and the caller is
    /// unknown: treated as not matching.
    UnknownCaller,
    /// Conditional `Deny` statements (`statement`, comma-separated) also match but do not
    /// change the result.
    ConditionalDenyIgnored,
    /// `statement`'s element `element` uses policy variable `value`: compared as literal
    /// text.
    PolicyVariable,
    /// `statement` uses `NotPrincipal` with `Allow`.
    NotPrincipalAllow,
    /// `statement`'s principal `value` contains a wildcard: compared literally.
    PrincipalWildcard,
    /// No `Version` element: IAM then uses 2008-10-17 (policy variables are literal).
    NoVersion,
    /// `statement` has a condition on `key` (data) that decided it for this request.
    ConditionDecided,
}

impl NoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::UnknownCaller => "unknown-caller",
            NoteKind::ConditionalDenyIgnored => "conditional-deny-ignored",
            NoteKind::PolicyVariable => "policy-variable",
            NoteKind::NotPrincipalAllow => "not-principal-allow",
            NoteKind::PrincipalWildcard => "principal-wildcard",
            NoteKind::NoVersion => "no-version",
            NoteKind::ConditionDecided => "condition-decided",
        }
    }
}

/// Something the evaluator could only approximate, as data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Note {
    pub kind: Option<NoteKind>,
    /// The statement label(s) concerned (`Sid` or `Statement[i]`).
    pub statement: String,
    /// `Allow` or `Deny`, where it matters.
    pub effect: Option<&'static str>,
    /// The policy element (`Resource`, `Principal.AWS`, ...) or condition key.
    pub element: Option<String>,
    /// The value concerned (a policy variable, a principal).
    pub value: Option<String>,
}

impl Note {
    fn new(kind: NoteKind, statement: &str) -> Note {
        Note {
            kind: Some(kind),
            statement: statement.to_string(),
            ..Note::default()
        }
    }
    pub fn kind(&self) -> NoteKind {
        self.kind.unwrap_or(NoteKind::NoVersion)
    }
}

/// A decision plus notes (data) about what could not be decided exactly
/// (unknown caller, conditional denies, policy variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    pub notes: Vec<Note>,
}

/// Why a policy document could not be parsed (a token; the catalog has the words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyErrorKind {
    /// The text is not valid JSON (`got`: the parser's own message).
    NotJson,
    /// The element at `path` has the wrong type: `expected` (a token), `got` (a token).
    WrongType,
    /// The element at `path` is missing.
    Missing,
    /// The array at `path` is empty.
    EmptyArray,
    /// The object at `path` is empty.
    EmptyObject,
    /// `path` has an element `got` that is not one of `expected` (comma-separated).
    UnknownElement,
    /// `Version` is `got`, not `2012-10-17` or `2008-10-17`.
    BadVersion,
    /// `Effect` is `got`, not `Allow` or `Deny`.
    BadEffect,
    /// `path` has both `got` and its `Not` form.
    Both,
    /// The statement at `path` has neither `Action` nor `NotAction`.
    MissingAction,
    /// A principal string `got` that is not `"*"`.
    BarePrincipal,
    /// The condition operator at `path` has no keys.
    NoConditionKeys,
}

impl PolicyErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyErrorKind::NotJson => "not-json",
            PolicyErrorKind::WrongType => "wrong-type",
            PolicyErrorKind::Missing => "missing",
            PolicyErrorKind::EmptyArray => "empty-array",
            PolicyErrorKind::EmptyObject => "empty-object",
            PolicyErrorKind::UnknownElement => "unknown-element",
            PolicyErrorKind::BadVersion => "bad-version",
            PolicyErrorKind::BadEffect => "bad-effect",
            PolicyErrorKind::Both => "both",
            PolicyErrorKind::MissingAction => "missing-action",
            PolicyErrorKind::BarePrincipal => "bare-principal",
            PolicyErrorKind::NoConditionKeys => "no-condition-keys",
        }
    }
}

/// Why a policy document could not be parsed: a kind, the path of the offending element
/// (`Statement[1].Effect`, `(top level)` for the document itself), and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub kind: PolicyErrorKind,
    pub path: String,
    /// What was expected: a type token (`object`, `string`, `string-or-array`, ...) or,
    /// for unknown elements, the allowed names.
    pub expected: Option<String>,
    /// What was found: a type token (`number`, `array`, ...), a name or a value.
    pub got: Option<String>,
}

/// Data only (`kind path expected got`), for logs and tests; never shown as words.
impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.as_str(), self.path)?;
        if let Some(e) = &self.expected {
            write!(f, " {e}")?;
        }
        if let Some(g) = &self.got {
            write!(f, " {g}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    version: Option<String>,
    id: Option<String>,
    statements: Vec<Statement>,
    warnings: Vec<Note>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    label: String,
    deny: bool,
    /// `true` for `NotAction`.
    not_action: bool,
    actions: Vec<String>,
    /// `true` for `NotResource`.
    not_resource: bool,
    /// `None`: no `Resource`/`NotResource`, applies to all resources.
    resources: Option<Vec<String>>,
    /// `true` for `NotPrincipal`.
    not_principal: bool,
    /// `None`: no `Principal`/`NotPrincipal`, applies to every caller.
    principals: Option<Vec<PrincipalPattern>>,
    /// Conditions; empty means unconditional.
    conditions: Vec<Condition>,
    warnings: Vec<Note>,
}

/// One `Operator: {key: values}` entry of a `Condition` block.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    operator: String,
    key: String,
    values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PrincipalPattern {
    /// `"*"`, `{"AWS": "*"}` or `*` under any other principal type.
    Anyone,
    /// An `AWS` principal value (account ID or ARN).
    Aws(String),
    /// A `Service`, `Federated` or `CanonicalUser` value.
    Other(String),
}

fn err(kind: PolicyErrorKind, path: &str) -> PolicyError {
    PolicyError {
        kind,
        path: path.to_string(),
        expected: None,
        got: None,
    }
}

fn wrong_type(path: &str, expected: &str, got: &Value) -> PolicyError {
    PolicyError {
        expected: Some(expected.to_string()),
        got: Some(kind(got).to_string()),
        ..err(PolicyErrorKind::WrongType, path)
    }
}

fn with_got(mut e: PolicyError, got: impl Into<String>) -> PolicyError {
    e.got = Some(got.into());
    e
}

/// Parses a JSON policy document.
pub fn parse(doc: &str) -> Result<Policy, PolicyError> {
    let value: Value = serde_json::from_str(doc)
        .map_err(|e| with_got(err(PolicyErrorKind::NotJson, "(top level)"), e.to_string()))?;
    let obj = value
        .as_object()
        .ok_or_else(|| wrong_type("(top level)", "object", &value))?;
    check_keys(obj, "(top level)", &["Version", "Id", "Statement"])?;

    let mut warnings = Vec::new();
    let version = match obj.get("Version") {
        None => {
            warnings.push(Note::new(NoteKind::NoVersion, ""));
            None
        }
        Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => Some(v.clone()),
        Some(other) => {
            return Err(with_got(
                err(PolicyErrorKind::BadVersion, "Version"),
                other.to_string(),
            ));
        }
    };
    let id = optional_string(obj, "Id", "Id")?;

    let raw = obj
        .get("Statement")
        .ok_or_else(|| err(PolicyErrorKind::Missing, "Statement"))?;
    let raw_statements: Vec<&Value> = match raw {
        Value::Object(_) => vec![raw],
        Value::Array(items) if items.is_empty() => {
            return Err(err(PolicyErrorKind::EmptyArray, "Statement"));
        }
        Value::Array(items) => items.iter().collect(),
        other => return Err(wrong_type("Statement", "object-or-array", other)),
    };

    let mut statements = Vec::with_capacity(raw_statements.len());
    for (i, raw) in raw_statements.into_iter().enumerate() {
        let st = parse_statement(raw, i)?;
        warnings.extend(st.warnings.iter().cloned());
        statements.push(st);
    }
    Ok(Policy {
        version,
        id,
        statements,
        warnings,
    })
}

/// How a statement's conditions come out for one request.
enum CondState {
    /// All hold (or there are none).
    Hold,
    /// One fails: the statement does not apply.
    Fail,
    /// Undecided: these keys are not known for the request.
    Open(Vec<String>),
}

impl Policy {
    /// Evaluates `req` against this policy. See the module documentation
    /// for how conditions and unknown principals are handled.
    pub fn evaluate(&self, req: &Request) -> Decision {
        self.explain(req).decision
    }

    /// Like [`Policy::evaluate`], with notes on what could not be decided
    /// exactly (statements skipped for an unknown caller, conditional
    /// denies that did not change the outcome, policy variables).
    pub fn explain(&self, req: &Request) -> Evaluation {
        let caller = Caller::new(req);
        let mut notes = Vec::new();
        let mut explicit_deny: Option<&Statement> = None;
        let mut cond_denies: Vec<(&Statement, Vec<String>)> = Vec::new();
        let mut allowed = false;
        let mut cond_allows: Vec<(&Statement, Vec<String>)> = Vec::new();

        for st in &self.statements {
            if !st.matches_action(req.action) || !st.matches_resource(req.resource) {
                continue;
            }
            notes.extend(st.warnings.iter().cloned());
            match st.matches_principal(&caller) {
                Tri::No => continue,
                Tri::Unknown => {
                    notes.push(Note {
                        effect: Some(if st.deny { "Deny" } else { "Allow" }),
                        ..Note::new(NoteKind::UnknownCaller, &st.label)
                    });
                    continue;
                }
                Tri::Yes => {}
            }
            let open = match st.condition_state(req, &mut notes) {
                CondState::Fail => continue,
                CondState::Hold => Vec::new(),
                CondState::Open(keys) => keys,
            };
            match (st.deny, open.is_empty()) {
                (true, true) => {
                    if explicit_deny.is_none() {
                        explicit_deny = Some(st);
                    }
                }
                (true, false) => cond_denies.push((st, open)),
                (false, true) => allowed = true,
                (false, false) => cond_allows.push((st, open)),
            }
        }

        let any_allow = allowed || !cond_allows.is_empty();
        let decision = if let Some(st) = explicit_deny {
            Decision::ExplicitDeny {
                statement: st.label.clone(),
            }
        } else if !cond_denies.is_empty() && any_allow {
            Decision::DenyUnderConditions {
                statements: labels(&cond_denies),
                conditions: condition_keys(&cond_denies),
            }
        } else if allowed {
            Decision::Allowed
        } else if !cond_allows.is_empty() {
            Decision::AllowedWithConditions {
                statements: labels(&cond_allows),
                conditions: condition_keys(&cond_allows),
            }
        } else {
            Decision::ImplicitDeny
        };
        if !cond_denies.is_empty() && !matches!(decision, Decision::DenyUnderConditions { .. }) {
            notes.push(Note::new(
                NoteKind::ConditionalDenyIgnored,
                &labels(&cond_denies).join(", "),
            ));
        }
        let mut seen = Vec::new();
        notes.retain(|n| {
            let new = !seen.contains(n);
            if new {
                seen.push(n.clone());
            }
            new
        });
        Evaluation { decision, notes }
    }

    /// The `Resource` patterns of the `Allow` statements whose actions match `action`
    /// (`*` for a statement without `Resource`; `NotResource` statements are left out):
    /// where the policy allows the action, whatever the caller and conditions.
    pub fn allow_resources(&self, action: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for st in &self.statements {
            if st.deny || st.not_resource || !st.matches_action(action) {
                continue;
            }
            let list = st.resources.clone().unwrap_or_else(|| vec!["*".into()]);
            for r in list {
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        out
    }

    /// The `Version` element, if present.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The `Id` element, if present.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The number of statements.
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// Things found while parsing that the evaluator handles approximately
    /// (missing `Version`, policy variables, partial principal wildcards).
    pub fn warnings(&self) -> &[Note] {
        &self.warnings
    }
}

// ---------------------------------------------------------------------------
// Parsing helpers

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check_keys(obj: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<(), PolicyError> {
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(PolicyError {
                expected: Some(allowed.join(", ")),
                got: Some(key.clone()),
                ..err(PolicyErrorKind::UnknownElement, path)
            });
        }
    }
    Ok(())
}

fn optional_string(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, PolicyError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong_type(path, "string", other)),
    }
}

/// A string or a non-empty array of strings.
fn string_list(v: &Value, path: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if items.is_empty() => Err(err(PolicyErrorKind::EmptyArray, path)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(wrong_type(&format!("{path}[{i}]"), "string", other)),
            })
            .collect(),
        other => Err(wrong_type(path, "string-or-array", other)),
    }
}

/// Returns the value of whichever of `yes` / `no` is present, and whether
/// it was `no`; errors if both are.
fn either<'v>(
    obj: &'v Map<String, Value>,
    yes: &str,
    no: &str,
    path: &str,
) -> Result<Option<(&'v Value, bool)>, PolicyError> {
    match (obj.get(yes), obj.get(no)) {
        (Some(_), Some(_)) => Err(with_got(err(PolicyErrorKind::Both, path), yes)),
        (Some(v), None) => Ok(Some((v, false))),
        (None, Some(v)) => Ok(Some((v, true))),
        (None, None) => Ok(None),
    }
}

fn variable_warnings(values: &[String], label: &str, element: &str, out: &mut Vec<Note>) {
    for v in values {
        if let Some(start) = v.find("${") {
            let var = match v[start..].find('}') {
                Some(end) => &v[start..start + end + 1],
                None => &v[start..],
            };
            out.push(Note {
                element: Some(element.to_string()),
                value: Some(var.to_string()),
                ..Note::new(NoteKind::PolicyVariable, label)
            });
        }
    }
}

fn parse_statement(raw: &Value, index: usize) -> Result<Statement, PolicyError> {
    let path = format!("Statement[{index}]");
    let obj = raw
        .as_object()
        .ok_or_else(|| wrong_type(&path, "object", raw))?;
    check_keys(
        obj,
        &path,
        &[
            "Sid",
            "Effect",
            "Principal",
            "NotPrincipal",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
        ],
    )?;
    let sid = optional_string(obj, "Sid", &format!("{path}.Sid"))?;
    let label = match sid {
        Some(s) if !s.is_empty() => s,
        _ => path.clone(),
    };
    let mut warnings = Vec::new();

    let deny = match obj.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => false,
        Some(Value::String(e)) if e == "Deny" => true,
        Some(other) => {
            return Err(with_got(
                err(PolicyErrorKind::BadEffect, &format!("{path}.Effect")),
                other.to_string(),
            ));
        }
        None => return Err(err(PolicyErrorKind::Missing, &format!("{path}.Effect"))),
    };

    let (actions, not_action) = match either(obj, "Action", "NotAction", &path)? {
        Some((v, not)) => {
            let name = if not { "NotAction" } else { "Action" };
            let list = string_list(v, &format!("{path}.{name}"))?;
            variable_warnings(&list, &label, name, &mut warnings);
            (list, not)
        }
        None => return Err(err(PolicyErrorKind::MissingAction, &path)),
    };

    let (resources, not_resource) = match either(obj, "Resource", "NotResource", &path)? {
        Some((v, not)) => {
            let name = if not { "NotResource" } else { "Resource" };
            let list = string_list(v, &format!("{path}.{name}"))?;
            variable_warnings(&list, &label, name, &mut warnings);
            (Some(list), not)
        }
        None => (None, false),
    };

    let (principals, not_principal) = match either(obj, "Principal", "NotPrincipal", &path)? {
        Some((v, not)) => {
            let name = if not { "NotPrincipal" } else { "Principal" };
            let list = parse_principal(v, &format!("{path}.{name}"), &label, &mut warnings)?;
            if not && !deny {
                warnings.push(Note::new(NoteKind::NotPrincipalAllow, &label));
            }
            (Some(list), not)
        }
        None => (None, false),
    };

    let conditions = match obj.get("Condition") {
        None => Vec::new(),
        Some(v) => parse_condition(v, &format!("{path}.Condition"))?,
    };

    Ok(Statement {
        label,
        deny,
        not_action,
        actions,
        not_resource,
        resources,
        not_principal,
        principals,
        conditions,
        warnings,
    })
}

fn parse_principal(
    v: &Value,
    path: &str,
    label: &str,
    warnings: &mut Vec<Note>,
) -> Result<Vec<PrincipalPattern>, PolicyError> {
    match v {
        Value::String(s) if s == "*" => Ok(vec![PrincipalPattern::Anyone]),
        Value::String(s) => Err(with_got(err(PolicyErrorKind::BarePrincipal, path), s)),
        Value::Object(map) if map.is_empty() => Err(err(PolicyErrorKind::EmptyObject, path)),
        Value::Object(map) => {
            check_keys(map, path, &["AWS", "Service", "Federated", "CanonicalUser"])?;
            let mut out = Vec::new();
            for (ty, values) in map {
                let list = string_list(values, &format!("{path}.{ty}"))?;
                variable_warnings(&list, label, &format!("Principal.{ty}"), warnings);
                for p in list {
                    if p == "*" {
                        out.push(PrincipalPattern::Anyone);
                        continue;
                    }
                    if p.contains('*') || p.contains('?') {
                        warnings.push(Note {
                            value: Some(p.clone()),
                            ..Note::new(NoteKind::PrincipalWildcard, label)
                        });
                    }
                    if ty == "AWS" {
                        out.push(PrincipalPattern::Aws(p));
                    } else {
                        out.push(PrincipalPattern::Other(p));
                    }
                }
            }
            Ok(out)
        }
        other => Err(wrong_type(path, "principal", other)),
    }
}

/// Validates `{"Operator": {"key": value-or-values}}` and returns its conditions, in the
/// document's order (operators sorted by name, as serde_json keeps them).
fn parse_condition(v: &Value, path: &str) -> Result<Vec<Condition>, PolicyError> {
    let ops = v
        .as_object()
        .ok_or_else(|| wrong_type(path, "operators", v))?;
    let mut out: Vec<Condition> = Vec::new();
    for (op, body) in ops {
        let body = body
            .as_object()
            .ok_or_else(|| wrong_type(&format!("{path}.{op}"), "condition-keys", body))?;
        if body.is_empty() {
            return Err(err(
                PolicyErrorKind::NoConditionKeys,
                &format!("{path}.{op}"),
            ));
        }
        for (key, value) in body {
            let scalar = |i: &Value| match i {
                Value::String(s) => Some(s.clone()),
                Value::Bool(_) | Value::Number(_) => Some(i.to_string()),
                _ => None,
            };
            let values = match value {
                Value::Array(items) => items.iter().map(scalar).collect::<Option<Vec<_>>>(),
                other => scalar(other).map(|s| vec![s]),
            };
            let Some(values) = values else {
                return Err(wrong_type(
                    &format!("{path}.{op}.{key}"),
                    "condition-value",
                    value,
                ));
            };
            out.push(Condition {
                operator: op.clone(),
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Conditions

impl Condition {
    /// Some(true/false) when the request decides this condition, None when it cannot.
    fn decide(&self, req: &Request) -> Option<bool> {
        let op = self.operator.as_str();
        if op.contains(':') {
            return None; // ForAnyValue: / ForAllValues: set operators: not decided
        }
        let op = op.strip_suffix("IfExists").unwrap_or(op);
        let (negated, base) = match op {
            "StringNotEquals" => (true, "StringEquals"),
            "StringNotEqualsIgnoreCase" => (true, "StringEqualsIgnoreCase"),
            "StringNotLike" => (true, "StringLike"),
            "ArnNotEquals" => (true, "ArnEquals"),
            "ArnNotLike" => (true, "ArnLike"),
            "StringEquals" | "StringEqualsIgnoreCase" | "StringLike" | "ArnEquals" | "ArnLike" => {
                (false, op)
            }
            _ => return None,
        };
        if req
            .foreign_keys
            .iter()
            .any(|k| k.eq_ignore_ascii_case(&self.key))
        {
            // the request's value is none of the policy's
            return Some(negated);
        }
        let (_, value) = req
            .context
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&self.key))?;
        let hit = self.values.iter().any(|v| match base {
            "StringEquals" | "ArnEquals" => v == value,
            "StringEqualsIgnoreCase" => v.eq_ignore_ascii_case(value),
            _ => wildcard_match(v, value),
        });
        Some(hit != negated)
    }
}

impl Statement {
    fn condition_state(&self, req: &Request, notes: &mut Vec<Note>) -> CondState {
        let mut open: Vec<String> = Vec::new();
        for c in &self.conditions {
            match c.decide(req) {
                Some(true) => {}
                Some(false) => {
                    notes.push(Note {
                        element: Some(c.key.clone()),
                        effect: Some(if self.deny { "Deny" } else { "Allow" }),
                        ..Note::new(NoteKind::ConditionDecided, &self.label)
                    });
                    return CondState::Fail;
                }
                None => {
                    if !open.contains(&c.key) {
                        open.push(c.key.clone());
                    }
                }
            }
        }
        if open.is_empty() {
            CondState::Hold
        } else {
            CondState::Open(open)
        }
    }
}

// ---------------------------------------------------------------------------
// Matching

fn labels(sts: &[(&Statement, Vec<String>)]) -> Vec<String> {
    sts.iter().map(|(s, _)| s.label.clone()).collect()
}

fn condition_keys(sts: &[(&Statement, Vec<String>)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, keys) in sts {
        for k in keys {
            if !out.contains(k) {
                out.push(k.clone());
            }
        }
    }
    out
}

/// Glob match with `*` (any run, possibly empty) and `?` (one character).
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Position of the last `*` seen in the pattern and the text position
    // it was tried at; lets us backtrack without recursion.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

impl Statement {
    fn matches_action(&self, action: &str) -> bool {
        let action = action.to_lowercase();
        let hit = self
            .actions
            .iter()
            .any(|a| wildcard_match(&a.to_lowercase(), &action));
        hit != self.not_action
    }

    fn matches_resource(&self, resource: &str) -> bool {
        match &self.resources {
            None => true,
            Some(list) => {
                let hit = list.iter().any(|r| wildcard_match(r, resource));
                hit != self.not_resource
            }
        }
    }

    fn matches_principal(&self, caller: &Caller) -> Tri {
        let Some(list) = &self.principals else {
            return Tri::Yes;
        };
        let mut result = Tri::No;
        for p in list {
            match caller.matches(p) {
                Tri::Yes => {
                    result = Tri::Yes;
                    break;
                }
                Tri::Unknown => result = Tri::Unknown,
                Tri::No => {}
            }
        }
        if self.not_principal {
            result.not()
        } else {
            result
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    Yes,
    No,
    Unknown,
}

impl Tri {
    fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

struct Caller<'a> {
    principal: Option<&'a str>,
    arn: Option<Arn<'a>>,
    account: Option<&'a str>,
}

impl<'a> Caller<'a> {
    fn new(req: &Request<'a>) -> Caller<'a> {
        let arn = req.principal.and_then(Arn::parse);
        let account = req
            .principal_account
            .or_else(|| arn.map(|a| a.account).filter(|a| !a.is_empty()));
        Caller {
            principal: req.principal,
            arn,
            account,
        }
    }

    fn matches(&self, pattern: &PrincipalPattern) -> Tri {
        match pattern {
            PrincipalPattern::Anyone => Tri::Yes,
            PrincipalPattern::Other(name) => match self.principal {
                Some(p) if p.eq_ignore_ascii_case(name) => Tri::Yes,
                Some(_) => Tri::No,
                None if self.account.is_some() => Tri::No,
                None => Tri::Unknown,
            },
            PrincipalPattern::Aws(p) => self.matches_aws(p),
        }
    }

    fn matches_account(&self, account: &str, partition: Option<&str>) -> Tri {
        let other_partition = match (partition, self.arn) {
            (Some(want), Some(arn)) => want != arn.partition,
            _ => false,
        };
        if other_partition {
            return Tri::No;
        }
        match self.account {
            Some(a) if a == account => Tri::Yes,
            Some(_) => Tri::No,
            None => Tri::Unknown,
        }
    }

    fn matches_aws(&self, p: &str) -> Tri {
        if is_account_id(p) {
            return self.matches_account(p, None);
        }
        let Some(pat) = Arn::parse(p) else {
            // Unique IDs (AROA...) and anything else: exact text only.
            return match self.principal {
                Some(c) if c == p => Tri::Yes,
                Some(_) => Tri::No,
                None => Tri::Unknown,
            };
        };
        if pat.service == "iam" && pat.resource == "root" {
            return self.matches_account(pat.account, Some(pat.partition));
        }
        if self.principal == Some(p) {
            return Tri::Yes;
        }
        let Some(caller) = self.arn else {
            // Only the account may be known: a different account rules the
            // statement out, otherwise we cannot tell.
            return match self.account {
                Some(a) if a != pat.account => Tri::No,
                _ if self.principal.is_some() => Tri::No,
                _ => Tri::Unknown,
            };
        };
        if caller.partition != pat.partition || caller.account != pat.account {
            return Tri::No;
        }
        // A role principal matches its sessions; users and roles are
        // matched by name whatever their path. A session principal is only
        // matched exactly (done above).
        let pat_is_session = pat.service == "sts";
        match (pat.identity(), caller.identity()) {
            (Some((pk, pn)), Some((ck, cn)))
                if !pat_is_session && pk == ck && pn.eq_ignore_ascii_case(cn) =>
            {
                Tri::Yes
            }
            _ => Tri::No,
        }
    }
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    #[test]
    fn allow_resources_lists_where_an_action_is_allowed() {
        let p = parse(r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"ecr:Get*","Resource":"arn:aws:ecr:us-east-1:123456789012:repository/*"},
            {"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":["arn:aws:ecr:us-east-1:123456789012:repository/*","arn:aws:ecr:us-east-1:123456789012:repository/a"]},
            {"Effect":"Deny","Action":"ecr:*","Resource":"*"},
            {"Effect":"Allow","Action":"s3:GetObject"}]}"#)
        .unwrap();
        assert_eq!(
            p.allow_resources("ecr:GetAuthorizationToken"),
            [
                "arn:aws:ecr:us-east-1:123456789012:repository/*",
                "arn:aws:ecr:us-east-1:123456789012:repository/a"
            ]
        );
        assert_eq!(p.allow_resources("s3:getobject"), ["*"]);
        assert!(p.allow_resources("ecr:BatchGetImage").is_empty());
    }

    use super::*;

    /// AWS's documented minimal S3 gateway endpoint policy for ECR layers.
    const S3_ECR_LAYERS: &str = r#"{
      "Version": "2012-10-17",
      "Statement": [{
        "Sid": "Access-to-specific-bucket-only",
        "Principal": "*",
        "Action": ["s3:GetObject"],
        "Effect": "Allow",
        "Resource": ["arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*"]
      }]
    }"#;

    const ECR_PULL_ENDPOINT: &str = r#"{
      "Statement": [{
        "Sid": "AllowPull",
        "Principal": "*",
        "Effect": "Allow",
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:GetAuthorizationToken"],
        "Resource": "*"
      }]
    }"#;

    const FULL_ACCESS: &str =
        r#"{"Statement":[{"Action":"*","Effect":"Allow","Principal":"*","Resource":"*"}]}"#;

    const CROSS_ACCOUNT_REPO: &str = r#"{
      "Version": "2008-10-17",
      "Statement": [{
        "Sid": "AllowCrossAccountPull",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
      }]
    }"#;

    const DENY_ECR_SECRET: &str = r#"{
      "Version": "2012-10-17",
      "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "ecr:*", "Resource": "*"},
        {"Sid": "DenySecret", "Effect": "Deny", "Principal": "*", "Action": "ecr:*",
         "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/secret"},
        {"Sid": "DenyDeletes", "Effect": "Deny", "Principal": "*", "Action": "ecr:Delete*", "Resource": "*"}
      ]
    }"#;

    const NOT_ACTION_ALLOW: &str = r#"{"Version":"2012-10-17","Statement":{
      "Effect":"Allow","Principal":"*","NotAction":"ecr:Put*","Resource":"*"}}"#;

    const NOT_ACTION_DENY: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},
      {"Sid":"PullOnly","Effect":"Deny","Principal":"*",
       "NotAction":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:GetAuthorizationToken"],
       "Resource":"*"}]}"#;

    const NOT_RESOURCE: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Principal":"*","Action":"ecr:*",
       "NotResource":"arn:aws:ecr:us-east-1:111111111111:repository/prod/*"}]}"#;

    const NOT_RESOURCE_DENY: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"},
      {"Sid":"OnlyLayers","Effect":"Deny","Principal":"*","Action":"s3:*",
       "NotResource":["arn:aws:s3:::prod-*-starport-layer-bucket/*"]}]}"#;

    const QUESTION_MARK: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Principal":"*","Action":"ecr:BatchGet?mage",
       "Resource":"arn:aws:ecr:us-east-1:111111111111:repository/app-v?"}]}"#;

    const MIXED_CASE: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Principal":"*","Action":"ECR:batchgetimage",
       "Resource":"arn:aws:ecr:us-east-1:111111111111:repository/App"}]}"#;

    const COND_ALLOW: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"FromVpce","Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*",
       "Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"},
                    "Bool":{"aws:SecureTransport":"true"}}}]}"#;

    const COND_ALLOW_AND_PLAIN: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"FromVpce","Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*",
       "Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}},
      {"Sid":"Plain","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage","Resource":"*"}]}"#;

    const COND_DENY: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*"},
      {"Sid":"DenyOutsideVpc","Effect":"Deny","Principal":"*","Action":"ecr:*","Resource":"*",
       "Condition":{"StringNotEquals":{"aws:SourceVpc":["vpc-111","vpc-222"]}}}]}"#;

    const COND_DENY_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"DenyOutsideVpc","Effect":"Deny","Principal":"*","Action":"ecr:*","Resource":"*",
       "Condition":{"StringNotEquals":{"aws:SourceVpc":"vpc-111"}}}]}"#;

    const COND_DENY_AND_PLAIN_DENY: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*"},
      {"Sid":"CondDeny","Effect":"Deny","Principal":"*","Action":"ecr:*","Resource":"*",
       "Condition":{"Bool":{"aws:SecureTransport":false}}},
      {"Sid":"HardDeny","Effect":"Deny","Principal":"*","Action":"ecr:PutImage","Resource":"*"}]}"#;

    const COND_BOTH: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"A","Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*",
       "Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}},
      {"Sid":"D","Effect":"Deny","Principal":"*","Action":"ecr:*","Resource":"*",
       "Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}]}"#;

    const ROLE_PRINCIPALS: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Roles","Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*",
       "Principal":{"AWS":["arn:aws:iam::111111111111:role/service/NodeRole",
                           "arn:aws:iam::111111111111:user/ci-bot",
                           "333333333333"]}}]}"#;

    const SESSION_PRINCIPAL: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"ecr:*","Resource":"*",
       "Principal":{"AWS":"arn:aws:sts::111111111111:assumed-role/NodeRole/i-0abc"}}]}"#;

    const AWS_STAR: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"ecr:*","Resource":"*","Principal":{"AWS":"*"}}]}"#;

    const NOT_PRINCIPAL_DENY: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*"},
      {"Sid":"OnlyNodeRole","Effect":"Deny","Action":"ecr:*","Resource":"*",
       "NotPrincipal":{"AWS":["arn:aws:iam::111111111111:role/NodeRole"]}}]}"#;

    const SERVICE_PRINCIPAL: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*",
       "Principal":{"Service":"codebuild.amazonaws.com"}}]}"#;

    const IDENTITY_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":["ecr:Get*","ecr:BatchGetImage"],
       "Resource":"arn:aws:ecr:*:111111111111:repository/*"}]}"#;

    const VARIABLE: &str = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#;

    const LAYER: &str =
        "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/1d7c/sha256:9f86d081884c";
    const REPO: &str = "arn:aws:ecr:us-east-1:111111111111:repository/app";
    const NODE_SESSION: &str = "arn:aws:sts::111111111111:assumed-role/NodeRole/i-0abc";

    #[derive(Debug)]
    enum Want {
        Allow,
        Implicit,
        Explicit(&'static str),
        CondAllow(&'static [&'static str], &'static [&'static str]),
        CondDeny(&'static [&'static str], &'static [&'static str]),
    }

    struct Case {
        name: &'static str,
        policy: &'static str,
        action: &'static str,
        resource: &'static str,
        principal: Option<&'static str>,
        account: Option<&'static str>,
        want: Want,
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn case(
        name: &'static str,
        policy: &'static str,
        action: &'static str,
        resource: &'static str,
        principal: Option<&'static str>,
        want: Want,
    ) -> Case {
        Case {
            name,
            policy,
            action,
            resource,
            principal,
            account: None,
            want,
        }
    }

    #[rustfmt::skip]
    fn cases() -> Vec<Case> {
        use Want::*;
        let mut v = vec![
            // S3 gateway endpoint policy for ECR layers.
            case("s3 layer object allowed", S3_ECR_LAYERS, "s3:GetObject", LAYER, None, Allow),
            case("s3 other bucket", S3_ECR_LAYERS, "s3:GetObject", "arn:aws:s3:::my-bucket/key", None, Implicit),
            case("s3 other region layer bucket", S3_ECR_LAYERS, "s3:GetObject", "arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/x", None, Implicit),
            case("s3 bucket itself not an object", S3_ECR_LAYERS, "s3:GetObject", "arn:aws:s3:::prod-us-east-1-starport-layer-bucket", None, Implicit),
            case("s3 other action", S3_ECR_LAYERS, "s3:PutObject", LAYER, None, Implicit),
            case("s3 action case-insensitive", S3_ECR_LAYERS, "S3:getobject", LAYER, Some("arn:aws:iam::111111111111:role/NodeRole"), Allow),
            // ECR interface endpoint policy for pulls.
            case("ecr pull BatchGetImage", ECR_PULL_ENDPOINT, "ecr:BatchGetImage", REPO, None, Allow),
            case("ecr pull GetDownloadUrlForLayer", ECR_PULL_ENDPOINT, "ecr:GetDownloadUrlForLayer", REPO, None, Allow),
            case("ecr pull GetAuthorizationToken on *", ECR_PULL_ENDPOINT, "ecr:GetAuthorizationToken", "*", None, Allow),
            case("ecr pull missing BatchCheckLayerAvailability", ECR_PULL_ENDPOINT, "ecr:BatchCheckLayerAvailability", REPO, None, Implicit),
            case("ecr pull no push", ECR_PULL_ENDPOINT, "ecr:PutImage", REPO, None, Implicit),
            // Default full-access endpoint policy.
            case("full access ecr", FULL_ACCESS, "ecr:BatchGetImage", REPO, None, Allow),
            case("full access anything", FULL_ACCESS, "sts:AssumeRole", "arn:aws:iam::1:role/x", Some(NODE_SESSION), Allow),
            // Cross-account repository policy (no Resource element).
            case("cross-account role allowed", CROSS_ACCOUNT_REPO, "ecr:BatchGetImage", REPO, Some("arn:aws:iam::222222222222:role/Puller"), Allow),
            case("cross-account session allowed", CROSS_ACCOUNT_REPO, "ecr:GetDownloadUrlForLayer", REPO, Some("arn:aws:sts::222222222222:assumed-role/Puller/s1"), Allow),
            case("cross-account root user allowed", CROSS_ACCOUNT_REPO, "ecr:BatchGetImage", REPO, Some("arn:aws:iam::222222222222:root"), Allow),
            case("cross-account other account", CROSS_ACCOUNT_REPO, "ecr:BatchGetImage", REPO, Some("arn:aws:iam::333333333333:role/Puller"), Implicit),
            case("cross-account other partition", CROSS_ACCOUNT_REPO, "ecr:BatchGetImage", REPO, Some("arn:aws-cn:iam::222222222222:role/Puller"), Implicit),
            case("cross-account no push", CROSS_ACCOUNT_REPO, "ecr:PutImage", REPO, Some("arn:aws:iam::222222222222:role/Puller"), Implicit),
            case("cross-account unknown caller", CROSS_ACCOUNT_REPO, "ecr:BatchGetImage", REPO, None, Implicit),
            // Explicit deny beats allow.
            case("deny ecr:* on secret repo", DENY_ECR_SECRET, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:111111111111:repository/secret", None, Explicit("DenySecret")),
            case("deny does not hit other repo", DENY_ECR_SECRET, "ecr:BatchGetImage", REPO, None, Allow),
            case("deny prefix wildcard", DENY_ECR_SECRET, "ecr:DeleteRepository", REPO, None, Explicit("DenyDeletes")),
            case("deny prefix wildcard case-insensitive", DENY_ECR_SECRET, "ECR:deleteREPOSITORY", REPO, None, Explicit("DenyDeletes")),
            case("deny first matching statement reported", DENY_ECR_SECRET, "ecr:DeleteRepository", "arn:aws:ecr:us-east-1:111111111111:repository/secret", None, Explicit("DenySecret")),
            // NotAction.
            case("NotAction allow other action", NOT_ACTION_ALLOW, "ecr:GetDownloadUrlForLayer", REPO, None, Allow),
            case("NotAction allow excluded action", NOT_ACTION_ALLOW, "ecr:PutImage", REPO, None, Implicit),
            case("NotAction deny hits push", NOT_ACTION_DENY, "ecr:PutImage", REPO, None, Explicit("PullOnly")),
            case("NotAction deny spares pull", NOT_ACTION_DENY, "ecr:BatchGetImage", REPO, None, Allow),
            // NotResource.
            case("NotResource allows dev repo", NOT_RESOURCE, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:111111111111:repository/dev/app", None, Allow),
            case("NotResource excludes prod repo", NOT_RESOURCE, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:111111111111:repository/prod/app", None, Implicit),
            case("NotResource deny spares layer bucket", NOT_RESOURCE_DENY, "s3:GetObject", LAYER, None, Allow),
            case("NotResource deny hits other bucket", NOT_RESOURCE_DENY, "s3:GetObject", "arn:aws:s3:::my-bucket/x", None, Explicit("OnlyLayers")),
            // `?` wildcards and case rules.
            case("? matches one char", QUESTION_MARK, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:111111111111:repository/app-v1", None, Allow),
            case("? does not match two chars", QUESTION_MARK, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:111111111111:repository/app-v10", None, Implicit),
            case("? does not match zero chars", QUESTION_MARK, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:111111111111:repository/app-v", None, Implicit),
            case("policy action case-insensitive", MIXED_CASE, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:111111111111:repository/App", None, Allow),
            case("resource case-sensitive", MIXED_CASE, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:111111111111:repository/app", None, Implicit),
            case("identity policy wildcard region", IDENTITY_POLICY, "ecr:GetDownloadUrlForLayer", "arn:aws:ecr:eu-west-1:111111111111:repository/team/app", Some(NODE_SESSION), Allow),
            case("identity policy other account", IDENTITY_POLICY, "ecr:BatchGetImage", "arn:aws:ecr:eu-west-1:999999999999:repository/app", None, Implicit),
            // Conditions.
            case("conditional allow only", COND_ALLOW, "ecr:BatchGetImage", REPO, None, CondAllow(&["FromVpce"], &["aws:SecureTransport", "aws:SourceVpce"])),
            case("unconditional allow wins over conditional", COND_ALLOW_AND_PLAIN, "ecr:BatchGetImage", REPO, None, Allow),
            case("conditional allow for other action", COND_ALLOW_AND_PLAIN, "ecr:PutImage", REPO, None, CondAllow(&["FromVpce"], &["aws:SourceVpce"])),
            case("conditional deny over allow", COND_DENY, "ecr:BatchGetImage", REPO, None, CondDeny(&["DenyOutsideVpc"], &["aws:SourceVpc"])),
            case("conditional deny without allow is implicit", COND_DENY_ONLY, "ecr:BatchGetImage", REPO, None, Implicit),
            case("unconditional deny beats conditional deny", COND_DENY_AND_PLAIN_DENY, "ecr:PutImage", REPO, None, Explicit("HardDeny")),
            case("conditional deny only where it matches", COND_DENY_AND_PLAIN_DENY, "ecr:BatchGetImage", REPO, None, CondDeny(&["CondDeny"], &["aws:SecureTransport"])),
            case("conditional deny and conditional allow", COND_BOTH, "ecr:BatchGetImage", REPO, None, CondDeny(&["D"], &["aws:SourceVpce"])),
            // Principals.
            case("role principal matches its session", ROLE_PRINCIPALS, "ecr:BatchGetImage", REPO, Some(NODE_SESSION), Allow),
            case("role principal matches the role ARN", ROLE_PRINCIPALS, "ecr:BatchGetImage", REPO, Some("arn:aws:iam::111111111111:role/service/NodeRole"), Allow),
            case("role principal: name is case-insensitive", ROLE_PRINCIPALS, "ecr:BatchGetImage", REPO, Some("arn:aws:sts::111111111111:assumed-role/noderole/x"), Allow),
            case("role principal: other role", ROLE_PRINCIPALS, "ecr:BatchGetImage", REPO, Some("arn:aws:sts::111111111111:assumed-role/OtherRole/i-0abc"), Implicit),
            case("role principal: same name other account", ROLE_PRINCIPALS, "ecr:BatchGetImage", REPO, Some("arn:aws:sts::444444444444:assumed-role/NodeRole/i-0abc"), Implicit),
            case("user principal", ROLE_PRINCIPALS, "ecr:BatchGetImage", REPO, Some("arn:aws:iam::111111111111:user/ci-bot"), Allow),
            case("user principal is not a role of that name", ROLE_PRINCIPALS, "ecr:BatchGetImage", REPO, Some("arn:aws:iam::111111111111:role/ci-bot"), Implicit),
            case("bare account id principal", ROLE_PRINCIPALS, "ecr:BatchGetImage", REPO, Some("arn:aws:iam::333333333333:user/anyone"), Allow),
            case("unknown caller vs specific principals", ROLE_PRINCIPALS, "ecr:BatchGetImage", REPO, None, Implicit),
            case("session principal matches that session", SESSION_PRINCIPAL, "ecr:BatchGetImage", REPO, Some(NODE_SESSION), Allow),
            case("session principal: other session", SESSION_PRINCIPAL, "ecr:BatchGetImage", REPO, Some("arn:aws:sts::111111111111:assumed-role/NodeRole/i-0def"), Implicit),
            case("session principal does not match the role", SESSION_PRINCIPAL, "ecr:BatchGetImage", REPO, Some("arn:aws:iam::111111111111:role/NodeRole"), Implicit),
            case("AWS * principal, unknown caller", AWS_STAR, "ecr:BatchGetImage", REPO, None, Allow),
            case("AWS * principal, any caller", AWS_STAR, "ecr:BatchGetImage", REPO, Some("arn:aws:iam::999999999999:user/u"), Allow),
            case("NotPrincipal deny spares listed role session", NOT_PRINCIPAL_DENY, "ecr:BatchGetImage", REPO, Some(NODE_SESSION), Allow),
            case("NotPrincipal deny hits others", NOT_PRINCIPAL_DENY, "ecr:BatchGetImage", REPO, Some("arn:aws:iam::111111111111:role/Other"), Explicit("OnlyNodeRole")),
            case("NotPrincipal deny, unknown caller not denied", NOT_PRINCIPAL_DENY, "ecr:BatchGetImage", REPO, None, Allow),
            case("service principal", SERVICE_PRINCIPAL, "ecr:BatchGetImage", REPO, Some("codebuild.amazonaws.com"), Allow),
            case("service principal vs role", SERVICE_PRINCIPAL, "ecr:BatchGetImage", REPO, Some(NODE_SESSION), Implicit),
            // Policy variables are literal.
            case("policy variable not substituted", VARIABLE, "s3:GetObject", "arn:aws:s3:::home/alice/f", Some("arn:aws:iam::111111111111:user/alice"), Implicit),
            case("policy variable compared literally", VARIABLE, "s3:GetObject", "arn:aws:s3:::home/${aws:username}/f", None, Allow),
        ];
        // Cases that need only the caller's account.
        v.push(Case {
            account: Some("222222222222"),
            ..case(
                "cross-account: account known, ARN unknown",
                CROSS_ACCOUNT_REPO,
                "ecr:BatchGetImage",
                REPO,
                None,
                Allow,
            )
        });
        v.push(Case {
            account: Some("999999999999"),
            ..case(
                "role principal: account known and different",
                ROLE_PRINCIPALS,
                "ecr:BatchGetImage",
                REPO,
                None,
                Implicit,
            )
        });
        v.push(Case {
            account: Some("222222222222"),
            ..case(
                "explicit account overrides ARN account",
                CROSS_ACCOUNT_REPO,
                "ecr:BatchGetImage",
                REPO,
                Some("arn:aws:iam::333333333333:role/x"),
                Allow,
            )
        });
        v
    }

    #[test]
    fn evaluation_table() {
        let mut failures = Vec::new();
        let all = cases();
        for c in &all {
            let policy = parse(c.policy).unwrap_or_else(|e| panic!("{}: parse: {e}", c.name));
            let req = Request {
                action: c.action,
                resource: c.resource,
                principal: c.principal,
                principal_account: c.account,
                ..Request::default()
            };
            let got = policy.evaluate(&req);
            let ok = match (&c.want, &got) {
                (Want::Allow, Decision::Allowed) => true,
                (Want::Implicit, Decision::ImplicitDeny) => true,
                (Want::Explicit(s), Decision::ExplicitDeny { statement }) => statement == s,
                (
                    Want::CondAllow(sts, keys),
                    Decision::AllowedWithConditions {
                        statements,
                        conditions,
                    },
                ) => *statements == strings(sts) && *conditions == strings(keys),
                (
                    Want::CondDeny(sts, keys),
                    Decision::DenyUnderConditions {
                        statements,
                        conditions,
                    },
                ) => *statements == strings(sts) && *conditions == strings(keys),
                _ => false,
            };
            if !ok {
                failures.push(format!("{}: want {:?}, got {:?}", c.name, c.want, got));
            }
        }
        assert!(all.len() >= 30, "only {} cases", all.len());
        assert!(
            failures.is_empty(),
            "{} failing:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn hostile_documents_are_refused_or_evaluated() {
        // nested deeper than the JSON parser's recursion limit: refused, no stack overflow
        let deep = format!(
            r#"{{"Statement":{}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(parse(&deep).unwrap_err().kind, PolicyErrorKind::NotJson);
        // huge (20,000 statements, far beyond what AWS stores in one policy): evaluated,
        // and the one allow among them is found
        let mut statements: Vec<String> = (0..20_000)
            .map(|i| format!(r#"{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b{i}/*"}}"#))
            .collect();
        statements.push(r#"{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*"}"#.into());
        let doc = format!(r#"{{"Statement":[{}]}}"#, statements.join(","));
        let p = parse(&doc).unwrap();
        let req = Request {
            action: "ecr:BatchGetImage",
            resource: "arn:aws:ecr:us-east-1:123456789012:repository/a",
            principal: None,
            principal_account: None,
            context: &[],
            foreign_keys: &[],
        };
        assert!(matches!(p.evaluate(&req), Decision::Allowed));
        // not JSON, and JSON of the wrong shape
        assert_eq!(
            parse("{\"Statement\": [").unwrap_err().kind,
            PolicyErrorKind::NotJson
        );
        assert_eq!(parse("[]").unwrap_err().kind, PolicyErrorKind::WrongType);
    }

    #[test]
    #[rustfmt::skip]
    fn parse_error_table() {
        use PolicyErrorKind::*;
        // (name, document, kind, path, expected, got)
        type Row<'a> = (&'a str, &'a str, PolicyErrorKind, &'a str, Option<&'a str>, Option<&'a str>);
        let table: &[Row] = &[
            ("not json", "{\"Statement\": [", NotJson, "(top level)", None, None),
            ("empty input", "", NotJson, "(top level)", None, None),
            ("top-level array", "[]", WrongType, "(top level)", Some("object"), Some("array")),
            ("no statement", r#"{"Version":"2012-10-17"}"#, Missing, "Statement", None, None),
            ("empty statement array", r#"{"Statement":[]}"#, EmptyArray, "Statement", None, None),
            ("statement is a string", r#"{"Statement":"Allow"}"#, WrongType, "Statement", Some("object-or-array"), Some("string")),
            ("statement item not object", r#"{"Statement":[1]}"#, WrongType, "Statement[0]", Some("object"), Some("number")),
            ("bad version", r#"{"Version":"2020-01-01","Statement":[]}"#, BadVersion, "Version", None, Some("\"2020-01-01\"")),
            ("numeric version", r#"{"Version":2012,"Statement":[]}"#, BadVersion, "Version", None, Some("2012")),
            ("unknown top-level key", r#"{"Statements":[]}"#, UnknownElement, "(top level)", Some("Version, Id, Statement"), Some("Statements")),
            ("effect lowercase", r#"{"Statement":{"Effect":"allow","Action":"*"}}"#, BadEffect, "Statement[0].Effect", None, Some("\"allow\"")),
            ("effect missing", r#"{"Statement":{"Action":"*"}}"#, Missing, "Statement[0].Effect", None, None),
            ("action and notaction", r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"s3:*"}}"#, Both, "Statement[0]", None, Some("Action")),
            ("no action", r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#, MissingAction, "Statement[0]", None, None),
            ("action number", r#"{"Statement":{"Effect":"Allow","Action":5}}"#, WrongType, "Statement[0].Action", Some("string-or-array"), Some("number")),
            ("action empty array", r#"{"Statement":{"Effect":"Allow","Action":[]}}"#, EmptyArray, "Statement[0].Action", None, None),
            ("resource array with number", r#"{"Statement":[{"Effect":"Allow","Action":"*"},{"Effect":"Allow","Action":"*","Resource":["*",3]}]}"#, WrongType, "Statement[1].Resource[1]", Some("string"), Some("number")),
            ("resource and notresource", r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}}"#, Both, "Statement[0]", None, Some("Resource")),
            ("bare ARN principal", r#"{"Statement":{"Effect":"Allow","Action":"*","Principal":"arn:aws:iam::1:root"}}"#, BarePrincipal, "Statement[0].Principal", None, Some("arn:aws:iam::1:root")),
            ("unknown principal type", r#"{"Statement":{"Effect":"Allow","Action":"*","Principal":{"Foo":"x"}}}"#, UnknownElement, "Statement[0].Principal", Some("AWS, Service, Federated, CanonicalUser"), Some("Foo")),
            ("principal and notprincipal", r#"{"Statement":{"Effect":"Deny","Action":"*","Principal":"*","NotPrincipal":{"AWS":"1"}}}"#, Both, "Statement[0]", None, Some("Principal")),
            ("condition not object", r#"{"Statement":{"Effect":"Allow","Action":"*","Condition":"x"}}"#, WrongType, "Statement[0].Condition", Some("operators"), Some("string")),
            ("condition operator not object", r#"{"Statement":{"Effect":"Allow","Action":"*","Condition":{"StringEquals":"x"}}}"#, WrongType, "Statement[0].Condition.StringEquals", Some("condition-keys"), Some("string")),
            ("condition value object", r#"{"Statement":{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{"k":{}}}}}"#, WrongType, "Statement[0].Condition.StringEquals.k", Some("condition-value"), Some("object")),
            ("condition operator empty", r#"{"Statement":{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{}}}}"#, NoConditionKeys, "Statement[0].Condition.StringEquals", None, None),
            ("empty principal object", r#"{"Statement":{"Effect":"Allow","Action":"*","Principal":{}}}"#, EmptyObject, "Statement[0].Principal", None, None),
            ("unknown statement key", r#"{"Statement":{"Effect":"Allow","Actions":"*"}}"#, UnknownElement, "Statement[0]", None, Some("Actions")),
            ("sid not string", r#"{"Statement":{"Sid":1,"Effect":"Allow","Action":"*"}}"#, WrongType, "Statement[0].Sid", Some("string"), Some("number")),
        ];
        for (name, doc, kind, path, expected, got) in table {
            match parse(doc) {
                Ok(_) => panic!("{name}: parsed, expected {kind:?} at {path}"),
                Err(e) => {
                    assert_eq!((e.kind, e.path.as_str()), (*kind, *path), "{name}: {e:?}");
                    if let Some(x) = expected {
                        assert_eq!(e.expected.as_deref(), Some(*x), "{name}: {e:?}");
                    }
                    if let Some(g) = got {
                        assert_eq!(e.got.as_deref(), Some(*g), "{name}: {e:?}");
                    }
                    if *kind == NotJson {
                        assert!(e.got.is_some(), "{name}: the JSON error is kept as data");
                    }
                }
            }
        }
    }

    #[test]
    fn versions_and_warnings() {
        assert_eq!(parse(S3_ECR_LAYERS).unwrap().version(), Some("2012-10-17"));
        assert_eq!(
            parse(CROSS_ACCOUNT_REPO).unwrap().version(),
            Some("2008-10-17")
        );
        let no_version = parse(FULL_ACCESS).unwrap();
        assert_eq!(no_version.version(), None);
        assert_eq!(no_version.warnings()[0].kind(), NoteKind::NoVersion);
        let vars = parse(VARIABLE).unwrap();
        assert_eq!(vars.warnings().len(), 1);
        let ev = vars.explain(&Request {
            action: "s3:GetObject",
            resource: "arn:aws:s3:::home/${aws:username}/f",
            ..Request::default()
        });
        assert_eq!(ev.decision, Decision::Allowed);
        assert!(
            ev.notes.iter().any(|n| n.kind() == NoteKind::PolicyVariable
                && n.value.as_deref() == Some("${aws:username}")
                && n.element.as_deref() == Some("Resource")),
            "{:?}",
            ev.notes
        );
        let p = parse(
            r#"{"Version":"2012-10-17","Id":"x","Statement":{"Effect":"Allow","Action":"*",
                "Principal":{"AWS":"arn:aws:iam::1:role/dev-*"}}}"#,
        )
        .unwrap();
        assert_eq!(p.id(), Some("x"));
        assert_eq!(p.statement_count(), 1);
        assert!(p
            .warnings()
            .iter()
            .any(|w| w.kind() == NoteKind::PrincipalWildcard
                && w.value.as_deref() == Some("arn:aws:iam::1:role/dev-*")));
    }

    #[test]
    fn variable_warning_in_policy_warnings() {
        let p = parse(VARIABLE).unwrap();
        // VARIABLE has a Version, so the only warning is about the variable.
        assert_eq!(p.warnings().len(), 1, "{:?}", p.warnings());
        assert_eq!(p.warnings()[0].kind(), NoteKind::PolicyVariable);
        assert_eq!(p.warnings()[0].value.as_deref(), Some("${aws:username}"));
    }

    #[test]
    fn unknown_caller_is_noted() {
        let p = parse(CROSS_ACCOUNT_REPO).unwrap();
        let ev = p.explain(&Request {
            action: "ecr:BatchGetImage",
            resource: REPO,
            ..Request::default()
        });
        assert_eq!(ev.decision, Decision::ImplicitDeny);
        assert_eq!(ev.notes.len(), 1);
        assert_eq!(ev.notes[0].statement, "AllowCrossAccountPull");
        assert_eq!(ev.notes[0].kind(), NoteKind::UnknownCaller);
        assert_eq!(ev.notes[0].effect, Some("Allow"));
        // Known caller: no note.
        let ev = p.explain(&Request {
            action: "ecr:BatchGetImage",
            resource: REPO,
            principal: Some("arn:aws:iam::222222222222:role/x"),
            ..Request::default()
        });
        assert_eq!(ev.decision, Decision::Allowed);
        assert!(ev.notes.is_empty(), "{:?}", ev.notes);
    }

    #[test]
    fn ignored_conditional_deny_is_noted() {
        let p = parse(COND_DENY_ONLY).unwrap();
        let ev = p.explain(&Request {
            action: "ecr:BatchGetImage",
            resource: REPO,
            ..Request::default()
        });
        assert_eq!(ev.decision, Decision::ImplicitDeny);
        assert!(ev.notes.iter().any(
            |n| n.kind() == NoteKind::ConditionalDenyIgnored && n.statement == "DenyOutsideVpc"
        ));
    }

    #[test]
    fn known_condition_keys_are_decided() {
        let p = parse(
            r#"{"Version":"2012-10-17","Statement":[
              {"Sid":"Vpce","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*",
               "Condition":{"StringEquals":{"aws:SourceVpce":["vpce-1","vpce-2"]}}},
              {"Sid":"Org","Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"*",
               "Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}},
              {"Sid":"NotOrg","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"*",
               "Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-1"}}},
              {"Effect":"Allow","Principal":"*","Action":"s3:DeleteObject","Resource":"*"},
              {"Sid":"Like","Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"*",
               "Condition":{"StringLike":{"aws:SourceVpc":"vpc-0*"},"Bool":{"aws:SecureTransport":"true"}}}
            ]}"#,
        )
        .unwrap();
        let ctx = [("aws:sourcevpce", "vpce-2"), ("aws:SourceVpc", "vpc-0abc")];
        let foreign = ["aws:PrincipalOrgID"];
        let req = |action| Request {
            action,
            resource: "arn:aws:s3:::b/k",
            context: &ctx,
            foreign_keys: &foreign,
            ..Request::default()
        };
        assert_eq!(p.evaluate(&req("s3:GetObject")), Decision::Allowed);
        let ev = p.explain(&req("s3:PutObject"));
        assert_eq!(ev.decision, Decision::ImplicitDeny);
        assert!(ev
            .notes
            .iter()
            .any(|n| n.kind() == NoteKind::ConditionDecided
                && n.statement == "Org"
                && n.element.as_deref() == Some("aws:PrincipalOrgID")));
        assert_eq!(
            p.evaluate(&req("s3:DeleteObject")),
            Decision::ExplicitDeny {
                statement: "NotOrg".into()
            }
        );
        // a decided key leaves only the unknown ones open
        assert_eq!(
            p.evaluate(&req("s3:ListBucket")),
            Decision::AllowedWithConditions {
                statements: vec!["Like".into()],
                conditions: vec!["aws:SecureTransport".into()],
            }
        );
        let other = [("aws:SourceVpce", "vpce-9")];
        assert_eq!(
            p.evaluate(&Request {
                context: &other,
                ..req("s3:GetObject")
            }),
            Decision::ImplicitDeny
        );
        // nothing known: as before, every condition is open
        assert_eq!(
            p.evaluate(&Request {
                action: "s3:GetObject",
                resource: "x",
                ..Request::default()
            }),
            Decision::AllowedWithConditions {
                statements: vec!["Vpce".into()],
                conditions: vec!["aws:SourceVpce".into()],
            }
        );
    }

    #[test]
    fn wildcard_matcher() {
        let table: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "anything:at/all", true),
            ("", "", true),
            ("", "a", false),
            ("a*", "a", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbYcZ", false),
            ("*b", "abab", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a**", "abc", true),
            ("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y:z", true),
            ("*ü?", "xüy", true),
            ("abc", "abd", false),
        ];
        for (p, t, want) in table {
            assert_eq!(wildcard_match(p, t), *want, "{p:?} vs {t:?}");
        }
    }

    #[test]
    fn statement_labels_default_to_index() {
        let p = parse(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"*","Resource":"*"},
                {"Sid":"","Effect":"Deny","Action":"ecr:PutImage","Resource":"*"}]}"#,
        )
        .unwrap();
        let d = p.evaluate(&Request {
            action: "ecr:PutImage",
            resource: REPO,
            ..Request::default()
        });
        assert_eq!(
            d,
            Decision::ExplicitDeny {
                statement: "Statement[1]".into()
            }
        );
        assert!(!d.is_allowed());
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(
            parse(&deep),
            Err(PolicyError {
                kind: PolicyErrorKind::NotJson,
                ..
            })
        ));
        let p = parse(FULL_ACCESS).unwrap();
        for principal in [
            "",
            "arn",
            "arn:aws",
            "arn:aws:sts::1:assumed-role",
            "::::::",
            "123456789012",
        ] {
            let _ = p.evaluate(&Request {
                action: "",
                resource: "",
                principal: Some(principal),
                ..Request::default()
            });
            let q = parse(ROLE_PRINCIPALS).unwrap();
            assert!(!q
                .evaluate(&Request {
                    action: "ecr:BatchGetImage",
                    resource: REPO,
                    principal: Some(principal),
                    ..Request::default()
                })
                .is_allowed());
        }
    }
}
