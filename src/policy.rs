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
//! * **Conditions are not evaluated.** A statement with a non-empty
//!   `Condition` block that otherwise matches is *conditional*:
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

/// A decision plus human-readable notes about what could not be decided
/// exactly (unknown caller, conditional denies, policy variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    pub notes: Vec<String>,
}

/// Why a policy document could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// The text is not valid JSON.
    Json(String),
    /// The JSON is not a valid policy; the message starts with the path of
    /// the offending element, e.g. `Statement[1].Effect: ...`.
    Shape(String),
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Json(m) => write!(f, "policy is not valid JSON: {m}"),
            PolicyError::Shape(m) => write!(f, "invalid policy document: {m}"),
        }
    }
}

impl std::error::Error for PolicyError {}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    version: Option<String>,
    id: Option<String>,
    statements: Vec<Statement>,
    warnings: Vec<String>,
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
    /// Condition keys; empty means unconditional.
    condition_keys: Vec<String>,
    warnings: Vec<String>,
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

/// Parses a JSON policy document.
pub fn parse(doc: &str) -> Result<Policy, PolicyError> {
    let value: Value = serde_json::from_str(doc).map_err(|e| PolicyError::Json(e.to_string()))?;
    let obj = value
        .as_object()
        .ok_or_else(|| shape("(top level)", "expected a JSON object"))?;
    check_keys(obj, "(top level)", &["Version", "Id", "Statement"])?;

    let mut warnings = Vec::new();
    let version = match obj.get("Version") {
        None => {
            warnings.push(
                "no Version element: IAM then uses 2008-10-17, where policy variables are literal text"
                    .to_string(),
            );
            None
        }
        Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => Some(v.clone()),
        Some(other) => {
            return Err(shape(
                "Version",
                &format!("expected \"2012-10-17\" or \"2008-10-17\", got {other}"),
            ));
        }
    };
    let id = optional_string(obj, "Id", "Id")?;

    let raw = obj.get("Statement").ok_or_else(|| {
        shape(
            "Statement",
            "missing (a policy needs at least one statement)",
        )
    })?;
    let raw_statements: Vec<&Value> = match raw {
        Value::Object(_) => vec![raw],
        Value::Array(items) if items.is_empty() => {
            return Err(shape("Statement", "empty array"));
        }
        Value::Array(items) => items.iter().collect(),
        other => {
            return Err(shape(
                "Statement",
                &format!(
                    "expected an object or an array of objects, got {}",
                    kind(other)
                ),
            ));
        }
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
        let mut cond_denies: Vec<&Statement> = Vec::new();
        let mut allowed = false;
        let mut cond_allows: Vec<&Statement> = Vec::new();

        for st in &self.statements {
            if !st.matches_action(req.action) || !st.matches_resource(req.resource) {
                continue;
            }
            notes.extend(st.warnings.iter().cloned());
            match st.matches_principal(&caller) {
                Tri::No => continue,
                Tri::Unknown => {
                    notes.push(format!(
                        "{} ({}) names specific principals and the caller is unknown; treated as not matching",
                        st.label,
                        if st.deny { "Deny" } else { "Allow" },
                    ));
                    continue;
                }
                Tri::Yes => {}
            }
            let conditional = !st.condition_keys.is_empty();
            match (st.deny, conditional) {
                (true, false) => {
                    if explicit_deny.is_none() {
                        explicit_deny = Some(st);
                    }
                }
                (true, true) => cond_denies.push(st),
                (false, false) => allowed = true,
                (false, true) => cond_allows.push(st),
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
            notes.push(format!(
                "conditional Deny also matches: {} (does not change the result)",
                labels(&cond_denies).join(", ")
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
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

// ---------------------------------------------------------------------------
// Parsing helpers

fn shape(path: &str, msg: &str) -> PolicyError {
    PolicyError::Shape(format!("{path}: {msg}"))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_keys(obj: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<(), PolicyError> {
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(shape(
                path,
                &format!(
                    "unknown element \"{key}\" (expected one of: {})",
                    allowed.join(", ")
                ),
            ));
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
        Some(other) => Err(shape(
            path,
            &format!("expected a string, got {}", kind(other)),
        )),
    }
}

/// A string or a non-empty array of strings.
fn string_list(v: &Value, path: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if items.is_empty() => Err(shape(path, "empty array")),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(shape(
                    &format!("{path}[{i}]"),
                    &format!("expected a string, got {}", kind(other)),
                )),
            })
            .collect(),
        other => Err(shape(
            path,
            &format!(
                "expected a string or an array of strings, got {}",
                kind(other)
            ),
        )),
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
        (Some(_), Some(_)) => Err(shape(
            path,
            &format!("has both {yes} and {no}; use only one"),
        )),
        (Some(v), None) => Ok(Some((v, false))),
        (None, Some(v)) => Ok(Some((v, true))),
        (None, None) => Ok(None),
    }
}

fn variable_warnings(values: &[String], path: &str, out: &mut Vec<String>) {
    for v in values {
        if let Some(start) = v.find("${") {
            let var = match v[start..].find('}') {
                Some(end) => &v[start..start + end + 1],
                None => &v[start..],
            };
            out.push(format!(
                "{path} uses policy variable {var}; it is compared as literal text, not substituted"
            ));
        }
    }
}

fn parse_statement(raw: &Value, index: usize) -> Result<Statement, PolicyError> {
    let path = format!("Statement[{index}]");
    let obj = raw
        .as_object()
        .ok_or_else(|| shape(&path, &format!("expected an object, got {}", kind(raw))))?;
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
            return Err(shape(
                &format!("{path}.Effect"),
                &format!("expected \"Allow\" or \"Deny\", got {other}"),
            ));
        }
        None => return Err(shape(&format!("{path}.Effect"), "missing")),
    };

    let (actions, not_action) = match either(obj, "Action", "NotAction", &path)? {
        Some((v, not)) => {
            let name = if not { "NotAction" } else { "Action" };
            let list = string_list(v, &format!("{path}.{name}"))?;
            variable_warnings(&list, &format!("{label}.{name}"), &mut warnings);
            (list, not)
        }
        None => return Err(shape(&path, "missing Action or NotAction")),
    };

    let (resources, not_resource) = match either(obj, "Resource", "NotResource", &path)? {
        Some((v, not)) => {
            let name = if not { "NotResource" } else { "Resource" };
            let list = string_list(v, &format!("{path}.{name}"))?;
            variable_warnings(&list, &format!("{label}.{name}"), &mut warnings);
            (Some(list), not)
        }
        None => (None, false),
    };

    let (principals, not_principal) = match either(obj, "Principal", "NotPrincipal", &path)? {
        Some((v, not)) => {
            let name = if not { "NotPrincipal" } else { "Principal" };
            let list = parse_principal(v, &format!("{path}.{name}"), &label, &mut warnings)?;
            if not && !deny {
                warnings.push(format!(
                    "{label} uses NotPrincipal with Allow, which AWS advises against"
                ));
            }
            (Some(list), not)
        }
        None => (None, false),
    };

    let condition_keys = match obj.get("Condition") {
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
        condition_keys,
        warnings,
    })
}

fn parse_principal(
    v: &Value,
    path: &str,
    label: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<PrincipalPattern>, PolicyError> {
    match v {
        Value::String(s) if s == "*" => Ok(vec![PrincipalPattern::Anyone]),
        Value::String(s) => Err(shape(
            path,
            &format!(
                "a bare string must be \"*\", got \"{s}\"; use {{\"AWS\": \"{s}\"}} for an account or ARN"
            ),
        )),
        Value::Object(map) if map.is_empty() => Err(shape(path, "empty object")),
        Value::Object(map) => {
            check_keys(map, path, &["AWS", "Service", "Federated", "CanonicalUser"])?;
            let mut out = Vec::new();
            for (ty, values) in map {
                let list = string_list(values, &format!("{path}.{ty}"))?;
                variable_warnings(&list, &format!("{label}.Principal.{ty}"), warnings);
                for p in list {
                    if p == "*" {
                        out.push(PrincipalPattern::Anyone);
                        continue;
                    }
                    if p.contains('*') || p.contains('?') {
                        warnings.push(format!(
                            "{label}: principal \"{p}\" contains a wildcard; IAM does not expand wildcards in principals, so it is compared literally"
                        ));
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
        other => Err(shape(
            path,
            &format!("expected \"*\" or an object, got {}", kind(other)),
        )),
    }
}

/// Validates `{"Operator": {"key": value-or-values}}` and returns the keys.
fn parse_condition(v: &Value, path: &str) -> Result<Vec<String>, PolicyError> {
    let ops = v.as_object().ok_or_else(|| {
        shape(
            path,
            &format!("expected an object of operators, got {}", kind(v)),
        )
    })?;
    let mut keys: Vec<String> = Vec::new();
    for (op, body) in ops {
        let body = body.as_object().ok_or_else(|| {
            shape(
                &format!("{path}.{op}"),
                &format!("expected an object of condition keys, got {}", kind(body)),
            )
        })?;
        if body.is_empty() {
            return Err(shape(&format!("{path}.{op}"), "no condition keys"));
        }
        for (key, value) in body {
            let ok = match value {
                Value::String(_) | Value::Bool(_) | Value::Number(_) => true,
                Value::Array(items) => items
                    .iter()
                    .all(|i| matches!(i, Value::String(_) | Value::Bool(_) | Value::Number(_))),
                _ => false,
            };
            if !ok {
                return Err(shape(
                    &format!("{path}.{op}.{key}"),
                    &format!(
                        "expected a string, number, boolean or an array of them, got {}",
                        kind(value)
                    ),
                ));
            }
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
    }
    Ok(keys)
}

// ---------------------------------------------------------------------------
// Matching

fn labels(sts: &[&Statement]) -> Vec<String> {
    sts.iter().map(|s| s.label.clone()).collect()
}

fn condition_keys(sts: &[&Statement]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for st in sts {
        for k in &st.condition_keys {
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
    #[rustfmt::skip]
    fn parse_error_table() {
        let table: &[(&str, &str, &str)] = &[
            ("not json", "{\"Statement\": [", "not valid JSON"),
            ("empty input", "", "not valid JSON"),
            ("top-level array", "[]", "(top level): expected a JSON object"),
            ("no statement", r#"{"Version":"2012-10-17"}"#, "Statement: missing"),
            ("empty statement array", r#"{"Statement":[]}"#, "Statement: empty array"),
            ("statement is a string", r#"{"Statement":"Allow"}"#, "expected an object or an array"),
            ("statement item not object", r#"{"Statement":[1]}"#, "Statement[0]: expected an object, got a number"),
            ("bad version", r#"{"Version":"2020-01-01","Statement":[]}"#, "Version: expected"),
            ("numeric version", r#"{"Version":2012,"Statement":[]}"#, "Version: expected"),
            ("unknown top-level key", r#"{"Statements":[]}"#, "unknown element \"Statements\""),
            ("effect lowercase", r#"{"Statement":{"Effect":"allow","Action":"*"}}"#, "Statement[0].Effect: expected \"Allow\" or \"Deny\""),
            ("effect missing", r#"{"Statement":{"Action":"*"}}"#, "Statement[0].Effect: missing"),
            ("action and notaction", r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"s3:*"}}"#, "both Action and NotAction"),
            ("no action", r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#, "missing Action or NotAction"),
            ("action number", r#"{"Statement":{"Effect":"Allow","Action":5}}"#, "Statement[0].Action: expected a string or an array of strings, got a number"),
            ("action empty array", r#"{"Statement":{"Effect":"Allow","Action":[]}}"#, "Statement[0].Action: empty array"),
            ("resource array with number", r#"{"Statement":[{"Effect":"Allow","Action":"*"},{"Effect":"Allow","Action":"*","Resource":["*",3]}]}"#, "Statement[1].Resource[1]: expected a string"),
            ("resource and notresource", r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}}"#, "both Resource and NotResource"),
            ("bare ARN principal", r#"{"Statement":{"Effect":"Allow","Action":"*","Principal":"arn:aws:iam::1:root"}}"#, "a bare string must be \"*\""),
            ("unknown principal type", r#"{"Statement":{"Effect":"Allow","Action":"*","Principal":{"Foo":"x"}}}"#, "unknown element \"Foo\""),
            ("principal and notprincipal", r#"{"Statement":{"Effect":"Deny","Action":"*","Principal":"*","NotPrincipal":{"AWS":"1"}}}"#, "both Principal and NotPrincipal"),
            ("condition not object", r#"{"Statement":{"Effect":"Allow","Action":"*","Condition":"x"}}"#, "Statement[0].Condition: expected an object of operators"),
            ("condition operator not object", r#"{"Statement":{"Effect":"Allow","Action":"*","Condition":{"StringEquals":"x"}}}"#, "Statement[0].Condition.StringEquals: expected an object of condition keys"),
            ("condition value object", r#"{"Statement":{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{"k":{}}}}}"#, "Statement[0].Condition.StringEquals.k"),
            ("unknown statement key", r#"{"Statement":{"Effect":"Allow","Actions":"*"}}"#, "Statement[0]: unknown element \"Actions\""),
            ("sid not string", r#"{"Statement":{"Sid":1,"Effect":"Allow","Action":"*"}}"#, "Statement[0].Sid: expected a string"),
        ];
        for (name, doc, want) in table {
            match parse(doc) {
                Ok(_) => panic!("{name}: parsed, expected error containing {want:?}"),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.contains(want), "{name}: error {msg:?} lacks {want:?}");
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
        assert!(no_version.warnings()[0].contains("no Version"));
        let vars = parse(VARIABLE).unwrap();
        assert_eq!(vars.warnings().len(), 1);
        let ev = vars.explain(&Request {
            action: "s3:GetObject",
            resource: "arn:aws:s3:::home/${aws:username}/f",
            ..Request::default()
        });
        assert_eq!(ev.decision, Decision::Allowed);
        assert!(
            ev.notes.iter().any(|n| n.contains("${aws:username}")),
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
            .any(|w| w.contains("compared literally")));
    }

    #[test]
    fn variable_warning_in_policy_warnings() {
        let p = parse(VARIABLE).unwrap();
        // VARIABLE has a Version, so the only warning is about the variable.
        assert_eq!(p.warnings().len(), 1, "{:?}", p.warnings());
        assert!(p.warnings()[0].contains("policy variable ${aws:username}"));
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
        assert!(ev.notes[0].contains("AllowCrossAccountPull"));
        assert!(ev.notes[0].contains("caller is unknown"));
        // Known caller: no note.
        let ev = p.explain(&Request {
            action: "ecr:BatchGetImage",
            resource: REPO,
            principal: Some("arn:aws:iam::222222222222:role/x"),
            principal_account: None,
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
        assert!(ev.notes.iter().any(|n| n.contains("DenyOutsideVpc")));
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
        assert!(matches!(parse(&deep), Err(PolicyError::Json(_))));
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
                principal_account: None,
            });
            let q = parse(ROLE_PRINCIPALS).unwrap();
            assert!(!q
                .evaluate(&Request {
                    action: "ecr:BatchGetImage",
                    resource: REPO,
                    principal: Some(principal),
                    principal_account: None,
                })
                .is_allowed());
        }
    }
}
