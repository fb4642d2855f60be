//! The check catalog: `checks/*.toml`, embedded at build time. It is the only place where
//! user-facing diagnosis text lives; checks return a code plus facts, and the message,
//! remediation and commands come from here, filled from those facts.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

include!(concat!(env!("OUT_DIR"), "/catalog_files.rs"));

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Pass,
    Warn,
    Fail,
    Skip,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Pass => "pass",
            Severity::Warn => "warn",
            Severity::Fail => "fail",
            Severity::Skip => "skip",
            Severity::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeSpec {
    pub severity: Severity,
    /// What was found, filled from the check's facts and the run's context.
    pub message: String,
    /// What to change, in words.
    #[serde(default)]
    pub remediation: Option<String>,
    /// Copy-paste commands, filled like the message.
    #[serde(default)]
    pub commands: Vec<String>,
    /// Overrides the check's docs link for this code.
    #[serde(default)]
    pub docs_url: Option<String>,
    /// For `skip` codes: the short reason shown on the checks that depend on this one.
    #[serde(default)]
    pub skip_reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    pub id: String,
    /// Position in every report: output order is catalog order.
    pub order: u32,
    pub title: String,
    /// What the check looks at, for `--list-checks` and the reference.
    pub description: String,
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Checks that must finish first (their facts are used when there), without skipping
    /// this one when they do not pass.
    #[serde(default)]
    pub after: Vec<String>,
    #[serde(default)]
    pub docs_url: Option<String>,
    /// The check's time bound is this many `--timeout`s (plus one second).
    #[serde(default = "default_timeout_factor")]
    pub timeout_factor: u32,
    pub codes: BTreeMap<String, CodeSpec>,
}

fn default_timeout_factor() -> u32 {
    2
}

#[derive(Debug, Clone)]
pub struct Catalog {
    pub checks: Vec<CheckSpec>,
}

impl Catalog {
    /// The catalog built into this binary. Panics only if the embedded files are broken,
    /// which the test suite proves they are not.
    pub fn embedded() -> Catalog {
        Catalog::from_files(CATALOG_FILES).unwrap_or_else(|e| panic!("broken check catalog: {e}"))
    }

    pub fn from_files(files: &[(&str, &str)]) -> Result<Catalog, String> {
        let mut checks = Vec::new();
        for (name, text) in files {
            let spec: CheckSpec = toml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
            if format!("{}.toml", spec.id) != *name {
                return Err(format!(
                    "{name}: file name must be the check id ({})",
                    spec.id
                ));
            }
            checks.push(spec);
        }
        checks.sort_by_key(|c| c.order);
        let cat = Catalog { checks };
        cat.validate()?;
        Ok(cat)
    }

    fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for (i, c) in self.checks.iter().enumerate() {
            if !seen.insert(c.id.as_str()) {
                return Err(format!("duplicate check id {}", c.id));
            }
            if i > 0 && self.checks[i - 1].order == c.order {
                return Err(format!(
                    "{} and {} share order {}",
                    self.checks[i - 1].id,
                    c.id,
                    c.order
                ));
            }
            for d in c.depends_on.iter().chain(&c.after) {
                // dependencies come earlier in catalog order, which also rules out cycles
                if !self.checks[..i].iter().any(|e| &e.id == d) {
                    return Err(format!(
                        "{} depends on {d}, which is not an earlier check",
                        c.id
                    ));
                }
            }
            if c.codes.is_empty() {
                return Err(format!("{} has no codes", c.id));
            }
            for (code, spec) in &c.codes {
                if !code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                {
                    return Err(format!("{}: code '{code}' must be kebab-case", c.id));
                }
                if spec.severity != Severity::Pass
                    && spec.severity != Severity::Skip
                    && spec.remediation.is_none()
                {
                    return Err(format!("{}: code {code} needs a remediation", c.id));
                }
            }
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&CheckSpec> {
        self.checks.iter().find(|c| c.id == id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.checks.iter().map(|c| c.id.as_str())
    }

    /// Checks that depend on `id`, directly or through others.
    pub fn dependents(&self, id: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.checks {
            if c.depends_on
                .iter()
                .any(|d| d == id || out.contains(&d.as_str()))
            {
                out.push(&c.id);
            }
        }
        out
    }
}

/// Fills `{name}` placeholders from `vars`; `{{` and `}}` are literal braces. A string value
/// is inserted as is, an array is joined with ", ", other values as JSON. Unknown names are
/// left in place so that [`unresolved`] can find them.
pub fn fill(template: &str, vars: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(pos) = rest.find(['{', '}']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if let Some(end) = tail.find('}').filter(|_| tail.starts_with('{')) {
            let name = &tail[1..end];
            if is_name(name) {
                if let Some(v) = vars.get(name) {
                    out.push_str(&value_text(v));
                    rest = &tail[end + 1..];
                    continue;
                }
            }
        }
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(value_text).collect::<Vec<_>>().join(", "),
        Value::Null => "unknown".to_string(),
        other => other.to_string(),
    }
}

/// Placeholder names in a template (after `{{`/`}}` escapes are removed).
pub fn placeholders(template: &str) -> Vec<String> {
    let cleaned = template.replace("{{", "").replace("}}", "");
    let mut out = Vec::new();
    let mut rest = cleaned.as_str();
    while let Some(start) = rest.find('{') {
        let tail = &rest[start + 1..];
        match tail.find('}') {
            Some(end) if is_name(&tail[..end]) => {
                out.push(tail[..end].to_string());
                rest = &tail[end + 1..];
            }
            _ => rest = tail,
        }
    }
    out
}

/// Placeholders of `template` that `vars` cannot fill.
pub fn unresolved(template: &str, vars: &Map<String, Value>) -> Vec<String> {
    placeholders(template)
        .into_iter()
        .filter(|p| !vars.contains_key(p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn fills_placeholders_and_escapes() {
        let v = vars(json!({"region": "us-east-1", "hosts": ["a", "b"], "n": 3}));
        assert_eq!(fill("--region {region}", &v), "--region us-east-1");
        assert_eq!(fill("{hosts} ({n})", &v), "a, b (3)");
        assert_eq!(
            fill("'{{\"Value\":true}}' {region}", &v),
            "'{\"Value\":true}' us-east-1"
        );
        assert_eq!(fill("{missing} {region}", &v), "{missing} us-east-1");
        assert_eq!(fill("{ not a name }", &v), "{ not a name }");
        assert_eq!(unresolved("{missing} {region} {{x}}", &v), vec!["missing"]);
    }

    #[test]
    fn embedded_catalog_is_valid() {
        let c = Catalog::embedded();
        assert!(c.checks.len() >= 5);
        assert_eq!(c.checks[0].id, "credentials.source");
    }

    #[test]
    fn rejects_broken_catalogs() {
        let a = "id = \"a\"\norder = 1\ntitle = \"A\"\ndescription = \"d\"\ndepends_on = [\"b\"]\n[codes.ok]\nseverity = \"pass\"\nmessage = \"m\"\n";
        let b = "id = \"b\"\norder = 2\ntitle = \"B\"\ndescription = \"d\"\n[codes.ok]\nseverity = \"pass\"\nmessage = \"m\"\n";
        let err = Catalog::from_files(&[("a.toml", a), ("b.toml", b)]).unwrap_err();
        assert!(err.contains("not an earlier check"), "{err}");
        let err = Catalog::from_files(&[("x.toml", b)]).unwrap_err();
        assert!(err.contains("file name"), "{err}");
        let nofix = "id = \"c\"\norder = 1\ntitle = \"C\"\ndescription = \"d\"\n[codes.bad]\nseverity = \"fail\"\nmessage = \"m\"\n";
        let err = Catalog::from_files(&[("c.toml", nofix)]).unwrap_err();
        assert!(err.contains("remediation"), "{err}");
    }
}
