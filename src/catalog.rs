//! The check catalog: `checks/*.toml`, embedded at build time. It is the only place where
//! user-facing text lives: checks return a code plus facts (data), and the message,
//! remediation and commands come from here, filled from those facts. Besides one file per
//! check, `_engine.toml` holds the words of the results the engine decides itself, and
//! `_words.toml` the labels of fact values and the report's own text.

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
    /// The same fix as Terraform (HCL with the AWS provider's resources), for
    /// `--fix-format terraform`; filled like the commands (see [`snippet_vars`]).
    #[serde(default)]
    pub terraform: Vec<String>,
    /// The same fix as CloudFormation templates (YAML), for `--fix-format cloudformation`.
    #[serde(default)]
    pub cloudformation: Vec<String>,
    /// Overrides the check's docs link for this code.
    #[serde(default)]
    pub docs_url: Option<String>,
    /// For `skip` codes: the short reason shown on the checks that depend on this one.
    #[serde(default)]
    pub skip_reason: Option<String>,
}

/// The form of the fixes under "What to do" (`--fix-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FixFormat {
    /// AWS CLI commands (`commands`)
    #[default]
    Cli,
    /// Terraform, the AWS provider's resources (`terraform`)
    Terraform,
    /// CloudFormation templates in YAML (`cloudformation`)
    Cloudformation,
}

impl FixFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FixFormat::Cli => "cli",
            FixFormat::Terraform => "terraform",
            FixFormat::Cloudformation => "cloudformation",
        }
    }
}

impl CodeSpec {
    /// The templates of this fix in `format`: the commands for `cli`.
    pub fn templates(&self, format: FixFormat) -> &[String] {
        match format {
            FixFormat::Cli => &self.commands,
            FixFormat::Terraform => &self.terraform,
            FixFormat::Cloudformation => &self.cloudformation,
        }
    }
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
    /// What the check reads from the results of other checks (see `checks::Slot`); each
    /// must be written by a check it depends on or runs after.
    #[serde(default)]
    pub reads: Vec<String>,
    /// What the check hands on to later checks.
    #[serde(default)]
    pub writes: Vec<String>,
    /// Labels of this check's fact values, over the shared ones of `_words.toml`.
    #[serde(default)]
    pub labels: Labels,
    pub codes: BTreeMap<String, CodeSpec>,
}

/// `fact name -> data value -> words`.
pub type Labels = BTreeMap<String, BTreeMap<String, String>>;

/// The words of a result the engine decides (`_engine.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSpec {
    pub message: String,
    #[serde(default)]
    pub remediation: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct EngineFile {
    codes: BTreeMap<String, EngineSpec>,
}

/// `_words.toml`: labels of fact values, and the report's own text by key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Words {
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub text: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Catalog {
    pub checks: Vec<CheckSpec>,
    pub engine: BTreeMap<String, EngineSpec>,
    pub words: Words,
}

impl Catalog {
    /// The catalog built into this binary. Panics only if the embedded files are broken,
    /// which the test suite proves they are not.
    pub fn embedded() -> Catalog {
        Catalog::from_files(CATALOG_FILES).unwrap_or_else(|e| panic!("broken check catalog: {e}"))
    }

    pub fn from_files(files: &[(&str, &str)]) -> Result<Catalog, String> {
        let mut checks = Vec::new();
        let mut engine = BTreeMap::new();
        let mut words = Words::default();
        for (name, text) in files {
            if *name == "_engine.toml" {
                let f: EngineFile = toml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
                engine = f.codes;
                continue;
            }
            if *name == "_words.toml" {
                words = toml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
                continue;
            }
            if *name == "_symptoms.toml" {
                // the symptoms of --symptom: read by crate::symptom
                continue;
            }
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
        let cat = Catalog {
            checks,
            engine,
            words,
        };
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
                // a fix given as infrastructure code is given in both forms
                if spec.terraform.is_empty() != spec.cloudformation.is_empty() {
                    return Err(format!(
                        "{}: code {code} needs both terraform and cloudformation, or neither",
                        c.id
                    ));
                }
            }
        }
        Ok(())
    }

    /// The text of `_words.toml` under `key`, filled from `vars`; the key itself when absent
    /// (a test proves every key used exists).
    pub fn text(&self, key: &str, vars: &Map<String, Value>) -> String {
        match self.words.text.get(key) {
            Some(t) => fill(t, vars),
            None => key.to_string(),
        }
    }

    /// `vars` with every fact value that has a label (this check's, else a shared one)
    /// replaced by the label's words, themselves filled from `vars`. Arrays of strings are
    /// labelled element by element.
    pub fn labelled(
        &self,
        check: Option<&CheckSpec>,
        vars: &Map<String, Value>,
    ) -> Map<String, Value> {
        let label = |key: &str, v: &str| -> Option<String> {
            check
                .and_then(|c| c.labels.get(key))
                .and_then(|m| m.get(v))
                .or_else(|| self.words.labels.get(key).and_then(|m| m.get(v)))
                .map(|t| fill(t, vars))
        };
        let mut out = vars.clone();
        for (k, v) in vars {
            let new = match v {
                Value::String(s) => label(k, s).map(Value::String),
                Value::Array(a)
                    if a.iter()
                        .any(|x| x.as_str().is_some_and(|s| label(k, s).is_some())) =>
                {
                    Some(Value::Array(
                        a.iter()
                            .map(|x| match x.as_str().and_then(|s| label(k, s)) {
                                Some(l) => Value::String(l),
                                None => x.clone(),
                            })
                            .collect(),
                    ))
                }
                _ => None,
            };
            if let Some(n) = new {
                out.insert(k.clone(), n);
            }
        }
        out
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
/// is inserted as is, an array is joined with ", ", other values as JSON. An optional part
/// `{?name|text}` is `text` (itself filled) when `name` has a value that is not null, empty
/// or false, and nothing otherwise; `{?!name|text}` is the opposite. Unknown names are left in place so that [`unresolved`]
/// can find them.
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
        if let Some((name, text, len)) = optional_part(tail) {
            let shown = match name.strip_prefix('!') {
                Some(n) => !vars.get(n).is_some_and(present),
                None => vars.get(name).is_some_and(present),
            };
            if shown {
                out.push_str(&fill(text, vars));
            }
            rest = &tail[len..];
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

/// `{?name|text}` at the start of `s`: the name, the text and the whole part's length.
fn optional_part(s: &str) -> Option<(&str, &str, usize)> {
    let body = s.strip_prefix("{?")?;
    let bar = body.find('|')?;
    let name = &body[..bar];
    if !is_name(name.strip_prefix('!').unwrap_or(name)) {
        return None;
    }
    // the text may hold placeholders: find the brace that closes the part
    let mut depth = 0usize;
    for (i, c) in body[bar + 1..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                let text = &body[bar + 1..bar + 1 + i];
                return Some((name, text, 2 + bar + 1 + i + 1));
            }
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    }
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

/// The values a snippet of `format` (terraform or cloudformation) is filled from: `vars`
/// with every array written as a list (`["a", "b"]`, valid HCL and YAML) rather than
/// joined with ", ", and for Terraform `${` and `%{` escaped as `$${` and `%%{` (HCL would
/// read them as interpolation; IAM policy variables such as `${aws:username}` use them).
pub fn snippet_vars(vars: &Map<String, Value>, format: FixFormat) -> Map<String, Value> {
    let hcl_escape = |s: &str| match format {
        FixFormat::Terraform => s.replace("${", "$${").replace("%{", "%%{"),
        _ => s.to_string(),
    };
    vars.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => Value::String(hcl_escape(s)),
                Value::Array(a) => {
                    let items: Vec<String> = a
                        .iter()
                        .map(|x| match x {
                            Value::String(s) => Value::String(hcl_escape(s)).to_string(),
                            other => other.to_string(),
                        })
                        .collect();
                    Value::String(format!("[{}]", items.join(", ")))
                }
                other => other.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// Placeholder names a template needs (after `{{`/`}}` escapes are removed); optional
/// parts `{?name|...}` need nothing.
pub fn placeholders(template: &str) -> Vec<String> {
    // the same scan as `fill`: an escape, an optional part (skipped whole, so that the `}}`
    // closing nested parts is not taken for an escaped brace), or a placeholder
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(pos) = rest.find(['{', '}']) {
        let tail = &rest[pos..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            rest = &tail[2..];
            continue;
        }
        if let Some((_, _, len)) = optional_part(tail) {
            rest = &tail[len..];
            continue;
        }
        if let Some(end) = tail.find('}').filter(|_| tail.starts_with('{')) {
            let name = &tail[1..end];
            if is_name(name) {
                out.push(name.to_string());
                rest = &tail[end + 1..];
                continue;
            }
        }
        rest = &tail[1..];
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
        // nested optional parts closing together are not an escaped brace
        assert_eq!(
            unresolved("a{?nope|{?!region|{nope}}}{later}", &v),
            vec!["later"]
        );
        assert_eq!(fill("a{?region|{?!nope|b {region}}}.", &v), "ab us-east-1.");
        // optional parts
        assert_eq!(fill("a{?region| in {region}}.", &v), "a in us-east-1.");
        assert_eq!(fill("a{?nope| in {nope}}.", &v), "a.");
        let e = vars(json!({"empty": [], "no": false, "null": null}));
        assert_eq!(fill("{?empty|x}{?no|y}{?null|z}!", &e), "!");
        assert_eq!(fill("{?!empty|none}{?!region|x}", &e), "nonex");
        assert_eq!(fill("{?!region|x}", &v), "");
        assert!(unresolved("a{?nope| in {nope}}", &v).is_empty());
    }

    #[test]
    fn embedded_catalog_is_valid() {
        let c = Catalog::embedded();
        assert_eq!(c.checks[0].id, "credentials.source");
        // every file of checks/ is loaded: one check per file, plus the two shared ones
        let check_files = CATALOG_FILES
            .iter()
            .filter(|(n, _)| !n.starts_with('_'))
            .count();
        assert_eq!(c.checks.len(), check_files);
        assert!(CATALOG_FILES.iter().any(|(n, _)| *n == "_engine.toml"));
        assert!(CATALOG_FILES.iter().any(|(n, _)| *n == "_words.toml"));
        // every engine code has its words, and no words are left without a code
        let engine: Vec<&str> = <crate::engine::EngineCode as crate::engine::Code>::ALL
            .iter()
            .map(|c| crate::engine::Code::as_str(*c))
            .collect();
        let words: Vec<&str> = c.engine.keys().map(String::as_str).collect();
        let mut sorted = engine.clone();
        sorted.sort();
        assert_eq!(sorted, words);
        for (code, spec) in &c.engine {
            if <crate::engine::EngineCode as crate::engine::Code>::ALL
                .iter()
                .any(|e| crate::engine::Code::as_str(*e) == code && e.severity() == Severity::Error)
            {
                assert!(
                    spec.remediation.is_some(),
                    "engine code {code} needs a remediation"
                );
            }
        }
        // no check code shadows an engine code
        for chk in &c.checks {
            for code in chk.codes.keys() {
                assert!(
                    !words.contains(&code.as_str()),
                    "{} uses engine code {code}",
                    chk.id
                );
            }
        }
    }

    #[test]
    fn labels_replace_data_values_and_fill_their_placeholders() {
        let c = Catalog::embedded();
        let v = vars(
            json!({"source": "profile", "profile": "prod", "tried": ["environment", "nope"], "n": 1}),
        );
        let l = c.labelled(None, &v);
        assert_eq!(l["source"], "shared profile 'prod'");
        assert_eq!(
            l["tried"][0],
            "environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
        );
        assert_eq!(l["tried"][1], "nope");
        assert_eq!(l["n"], 1);
        assert_eq!(v["source"], "profile", "the facts themselves keep the data");
    }

    #[test]
    fn fixes_as_code_come_in_both_forms() {
        let c = Catalog::embedded();
        let mut with_code = 0;
        for chk in &c.checks {
            for (code, spec) in &chk.codes {
                assert_eq!(
                    spec.terraform.is_empty(),
                    spec.cloudformation.is_empty(),
                    "{} {code}: terraform and cloudformation go together",
                    chk.id
                );
                if !spec.terraform.is_empty() {
                    with_code += 1;
                    assert!(!spec.commands.is_empty(), "{} {code}", chk.id);
                }
            }
        }
        assert!(with_code >= 20, "{with_code}");
        let one = "id = \"c\"\norder = 1\ntitle = \"C\"\ndescription = \"d\"\n[codes.bad]\nseverity = \"fail\"\nmessage = \"m\"\nremediation = \"r\"\nterraform = [\"x\"]\n";
        let err = Catalog::from_files(&[("c.toml", one)]).unwrap_err();
        assert!(err.contains("both terraform and cloudformation"), "{err}");
    }

    #[test]
    fn snippet_values_are_lists_and_hcl_safe() {
        let v = vars(json!({"ids": ["a", "b"], "p": "{\"k\":\"${aws:username}\"}", "n": 1}));
        let tf = snippet_vars(&v, FixFormat::Terraform);
        assert_eq!(tf["ids"], "[\"a\", \"b\"]");
        assert_eq!(tf["p"], "{\"k\":\"$${aws:username}\"}");
        assert_eq!(tf["n"], 1);
        let body = fill("x = jsonencode({p})\ny = {ids}\n", &tf);
        hcl_edit::parser::parse_body(&body).unwrap();
        // unescaped, HCL reads an interpolation of aws:username and fails
        let raw = fill("x = jsonencode({p})\n", &v);
        assert!(hcl_edit::parser::parse_body(&raw).is_err(), "{raw}");
        let cfn = snippet_vars(&v, FixFormat::Cloudformation);
        assert_eq!(cfn["p"], v["p"]);
        assert_eq!(cfn["ids"], "[\"a\", \"b\"]");
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
