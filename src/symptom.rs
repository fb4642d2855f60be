//! `--symptom TEXT`: start from the error the user pasted. The symptoms (error texts, what
//! they mean, the checks that can explain them) are catalog data, `checks/_symptoms.toml`.
//! This module matches the text against them, takes what it can from the text (an image
//! reference, the registry, the failing address and host) when the flags do not give it, and,
//! after the run, says which suspects explain the symptom and what remains when none does.
//! It never changes the exit status. The pasted text is never echoed with anything in it
//! that looks like a password or token ([`sanitize`]).

use crate::catalog::{fill, placeholders, Catalog, Severity};
use crate::render::Report;
use crate::validate::ImageRef;
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::OnceLock;

/// The most text `--symptom` takes, in bytes: an error message, not a whole log.
pub const MAX_BYTES: usize = 64 * 1024;

/// The names a symptom's `remains` template may use.
pub const REMAINS_VARS: [&str; 7] = [
    "address",
    "host",
    "reached",
    "image",
    "registry",
    "public_registry",
    "region",
];

/// One symptom of `checks/_symptoms.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymptomSpec {
    pub id: String,
    /// The error text, short, as people know it.
    pub title: String,
    /// Who prints it (docker, containerd, ECS, the kubelet, the AWS CLI).
    pub printed_by: String,
    /// Regular expressions, matched case-insensitively; one match is enough.
    pub patterns: Vec<String>,
    pub meaning: String,
    pub fix: String,
    /// `check-id` or `check-id/code`.
    pub suspects: Vec<String>,
    /// What to say when no suspect explains it (else the shared `remains` text).
    #[serde(default)]
    pub remains: Option<String>,
    /// Texts as people paste them; each must match this symptom.
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SymptomFile {
    text: BTreeMap<String, String>,
    taken: BTreeMap<String, String>,
    ignored: BTreeMap<String, String>,
    symptom: Vec<SymptomSpec>,
}

/// The symptoms, their compiled patterns and their words.
#[derive(Debug, Clone)]
pub struct Symptoms {
    pub specs: Vec<SymptomSpec>,
    patterns: Vec<Vec<Regex>>,
    text: BTreeMap<String, String>,
    taken: BTreeMap<String, String>,
    ignored: BTreeMap<String, String>,
}

/// A suspect: a check, or one code of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspect<'a> {
    pub check: &'a str,
    pub code: Option<&'a str>,
}

pub fn suspect(s: &str) -> Suspect<'_> {
    match s.split_once('/') {
        Some((check, code)) => Suspect {
            check,
            code: Some(code),
        },
        None => Suspect {
            check: s,
            code: None,
        },
    }
}

impl Symptoms {
    /// The symptoms built into this binary. Panics only if the embedded file is broken,
    /// which the test suite proves it is not.
    pub fn embedded(catalog: &Catalog) -> Symptoms {
        let text = crate::catalog::CATALOG_FILES
            .iter()
            .find(|(n, _)| *n == "_symptoms.toml")
            .map(|(_, t)| *t)
            .unwrap_or_default();
        Symptoms::from_toml(text, catalog).unwrap_or_else(|e| panic!("broken symptoms: {e}"))
    }

    /// Parses and validates `_symptoms.toml` against the check catalog.
    pub fn from_toml(text: &str, catalog: &Catalog) -> Result<Symptoms, String> {
        let f: SymptomFile = toml::from_str(text).map_err(|e| format!("_symptoms.toml: {e}"))?;
        let mut patterns = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for s in &f.symptom {
            if !seen.insert(s.id.as_str()) {
                return Err(format!("duplicate symptom id {}", s.id));
            }
            if s.patterns.is_empty() || s.examples.is_empty() || s.suspects.is_empty() {
                return Err(format!(
                    "{}: a symptom needs patterns, examples and suspects",
                    s.id
                ));
            }
            let mut res = Vec::new();
            for p in &s.patterns {
                res.push(
                    RegexBuilder::new(p)
                        .case_insensitive(true)
                        .build()
                        .map_err(|e| format!("{}: pattern {p:?}: {e}", s.id))?,
                );
            }
            for sus in &s.suspects {
                let Suspect { check, code } = suspect(sus);
                let spec = catalog
                    .get(check)
                    .ok_or_else(|| format!("{}: suspect {sus}: no check {check}", s.id))?;
                if let Some(code) = code {
                    let c = spec.codes.get(code).ok_or_else(|| {
                        format!("{}: suspect {sus}: {check} has no code {code}", s.id)
                    })?;
                    if !matches!(
                        c.severity,
                        Severity::Warn | Severity::Fail | Severity::Error
                    ) {
                        return Err(format!(
                            "{}: suspect {sus} is a {} code: it cannot explain anything",
                            s.id,
                            c.severity.as_str()
                        ));
                    }
                }
            }
            for ex in &s.examples {
                if !res.iter().any(|r| r.is_match(ex)) {
                    return Err(format!("{}: example {ex:?} does not match", s.id));
                }
            }
            if let Some(t) = &s.remains {
                let all: Map<String, Value> = REMAINS_VARS
                    .iter()
                    .map(|v| (v.to_string(), Value::from("x")))
                    .collect();
                let left = placeholders(&fill(t, &all));
                if !left.is_empty() {
                    return Err(format!("{}: remains uses unknown {left:?}", s.id));
                }
            }
            patterns.push(res);
        }
        Ok(Symptoms {
            specs: f.symptom,
            patterns,
            text: f.text,
            taken: f.taken,
            ignored: f.ignored,
        })
    }

    /// The symptoms `text` matches, in catalog order (most specific first).
    pub fn matching(&self, text: &str) -> Vec<&SymptomSpec> {
        self.specs
            .iter()
            .zip(&self.patterns)
            .filter(|(_, res)| res.iter().any(|r| r.is_match(text)))
            .map(|(s, _)| s)
            .collect()
    }

    /// A word of the `[text]` table, filled from `vars`.
    pub fn text(&self, key: &str, vars: &Map<String, Value>) -> String {
        match self.text.get(key) {
            Some(t) => fill(t, vars),
            None => key.to_string(),
        }
    }

    /// The keys of the `[text]` table (for tests).
    pub fn text_keys(&self) -> impl Iterator<Item = &str> {
        self.text.keys().map(String::as_str)
    }

    fn one(table: &BTreeMap<String, String>, key: &str, vars: &[(&str, &str)]) -> String {
        let v: Map<String, Value> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect();
        table
            .get(key)
            .map(|t| fill(t, &v))
            .unwrap_or_else(|| key.to_string())
    }
}

/// `--symptom` must hold some text, and not too much. The message is a usage error.
pub fn check(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(
            "--symptom: the pasted text is empty (expected the error message, e.g. --symptom \"no basic auth credentials\")"
                .into(),
        );
    }
    if text.len() > MAX_BYTES {
        return Err(format!(
            "--symptom: the pasted text has {} bytes, more than {MAX_BYTES}: paste the error lines only",
            text.len()
        ));
    }
    Ok(())
}

struct SecretPatterns {
    flag: Regex,
    json_key: Regex,
    assignment: Regex,
    scheme: Regex,
    query: Regex,
    long_run: Regex,
}

fn secret_patterns() -> &'static SecretPatterns {
    static P: OnceLock<SecretPatterns> = OnceLock::new();
    P.get_or_init(|| SecretPatterns {
        // docker login -p X, --password X, --password=X
        flag: Regex::new(r"(?:^|\s)(?:-p|--password)(?:\s+|=)([^\s'\x22]+|'[^']*'|\x22[^\x22]*\x22)").unwrap(),
        // "auth": "X" (a docker config), "password": "X", "identitytoken": "X", "Secret...": "X"
        json_key: Regex::new(r#"(?i)"(?:auth|password|identitytoken|registrytoken|secret\w*|secretaccesskey|sessiontoken|token)"\s*:\s*"([^"]+)""#).unwrap(),
        // AWS_SECRET_ACCESS_KEY=X, aws_session_token = X, password=X
        assignment: Regex::new(r"(?i)\b(?:aws_secret_access_key|aws_session_token|aws_security_token|password|passwd)\s*[=:]\s*([^\s'\x22,;]+)").unwrap(),
        // Authorization: Basic X / Bearer X
        scheme: Regex::new(r"(?i)\b(?:basic|bearer)\s+([A-Za-z0-9+/=._~-]{8,})").unwrap(),
        // presigned URLs: X-Amz-Security-Token=X, X-Amz-Signature=X
        query: Regex::new(r"(?i)\bX-Amz-(?:Security-Token|Signature|Credential)=([^&\s\x22']+)").unwrap(),
        // anything long that looks like base64 of random bytes: mixed case and digits
        long_run: Regex::new(r"[A-Za-z0-9+/=_-]{40,}").unwrap(),
    })
}

/// The text with everything that looks like a password, a token or a secret key replaced by
/// `<secret>`; each value replaced is also registered with [`crate::redact`], so that no
/// other output shows it either. Hex digests (lowercase hex only) are kept. Control
/// characters but line ends and tabs become spaces.
pub fn sanitize(text: &str) -> String {
    // no terminal control sequence of the paste reaches a terminal: control characters
    // other than line ends and tabs become spaces
    let text: String = text
        .chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\n' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let text = text.as_str();
    let p = secret_patterns();
    let mut found: Vec<String> = Vec::new();
    for re in [&p.flag, &p.json_key, &p.assignment, &p.scheme, &p.query] {
        for c in re.captures_iter(text) {
            if let Some(m) = c.get(1) {
                let v = m.as_str().trim_matches(['\'', '"']);
                if !v.is_empty() {
                    found.push(v.to_string());
                }
            }
        }
    }
    for m in p.long_run.find_iter(text) {
        let s = m.as_str();
        let upper = s.bytes().any(|b| b.is_ascii_uppercase());
        let lower = s.bytes().any(|b| b.is_ascii_lowercase());
        let digit = s.bytes().any(|b| b.is_ascii_digit());
        if upper && lower && digit {
            found.push(s.to_string());
        }
    }
    // longest first, so that a value inside another is not left half replaced
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found.dedup();
    let mut out = text.to_string();
    for v in &found {
        crate::redact::register_secret(v);
        out = out.replace(v.as_str(), "<secret>");
    }
    out
}

/// What the text names, before any check of it against the flags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// The first image reference candidate (validated later).
    pub image: Option<String>,
    /// The first ECR registry host (validated).
    pub registry: Option<String>,
    /// The address of `dial tcp <ip>:<port>`.
    pub address: Option<SocketAddr>,
    /// The host the failing request went to (`lookup <host>`, else the first URL's host).
    pub host: Option<String>,
}

struct Extractors {
    url_manifest: Regex,
    quoted_ref: Regex,
    resolve_ref: Regex,
    pull_denied: Regex,
    manifest_for: Regex,
    bare_ref: Regex,
    registry: Regex,
    dial: Regex,
    lookup: Regex,
    url_host: Regex,
}

fn extractors() -> &'static Extractors {
    static E: OnceLock<Extractors> = OnceLock::new();
    E.get_or_init(|| Extractors {
        url_manifest: Regex::new(r#"https?://([A-Za-z0-9.-]+)/v2/([^\s"?]+?)/manifests/([^\s"?/]+)"#).unwrap(),
        quoted_ref: Regex::new(r#"(?i)(?:pull(?:ing)? image|unpack image|resolve ref(?:erence)?)\s+\\?"([^"\s\\]+)\\?""#).unwrap(),
        resolve_ref: Regex::new(r"(?i)resolve ref(?:erence)?\s+([^\s\x22\\]+)").unwrap(),
        pull_denied: Regex::new(r"(?i)pull access denied for ([^\s,]+)").unwrap(),
        manifest_for: Regex::new(r"(?i)manifest for (\S+) not found").unwrap(),
        bare_ref: Regex::new(r"(?i)(?:[0-9]{12}\.dkr[.-]ecr[a-z0-9.-]*|public\.ecr\.aws)/[^\s\x22',]+").unwrap(),
        registry: Regex::new(r"(?i)\b[0-9]{12}\.dkr[.-]ecr[a-z0-9.-]*|\bpublic\.ecr\.aws\b").unwrap(),
        dial: Regex::new(r"dial tcp (\[[0-9A-Fa-f:.]+\]|[0-9]{1,3}(?:\.[0-9]{1,3}){3}):([0-9]{1,5})").unwrap(),
        lookup: Regex::new(r"(?i)lookup ([a-z0-9][a-z0-9.-]*[a-z0-9])(?: on [^\s:]+(?::[0-9]+)?)?: no such host").unwrap(),
        url_host: Regex::new(r"(?i)https?://([a-z0-9][a-z0-9.-]*[a-z0-9])").unwrap(),
    })
}

/// A reference as found, without trailing punctuation.
fn trim_ref(s: &str) -> &str {
    s.trim_end_matches([':', '.', ',', ';', ')', '"', '\''])
}

/// What `text` names (see [`Found`]).
pub fn find(text: &str) -> Found {
    let e = extractors();
    let mut images: Vec<String> = Vec::new();
    for c in e.url_manifest.captures_iter(text) {
        let reference = trim_ref(&c[3]);
        let sep = if reference.starts_with("sha256:") {
            '@'
        } else {
            ':'
        };
        images.push(format!("{}/{}{sep}{reference}", &c[1], &c[2]));
    }
    for re in [
        &e.quoted_ref,
        &e.resolve_ref,
        &e.pull_denied,
        &e.manifest_for,
    ] {
        for c in re.captures_iter(text) {
            images.push(trim_ref(&c[1]).to_string());
        }
    }
    for m in e.bare_ref.find_iter(text) {
        // the host of a URL is not a reference (its path is /v2/...)
        if text[..m.start()].ends_with("//") {
            continue;
        }
        images.push(trim_ref(m.as_str()).to_string());
    }
    // the first candidate that is a valid reference; else the first one, to say why not
    let image = images
        .iter()
        .find(|i| crate::validate::image(i).is_ok())
        .or(images.first())
        .cloned();
    let registry = e
        .registry
        .find_iter(text)
        .map(|m| m.as_str().trim_end_matches('.').to_ascii_lowercase())
        .find(|h| crate::validate::registry(h).is_ok());
    let address = e.dial.captures_iter(text).find_map(|c| {
        let ip = c[1].trim_start_matches('[').trim_end_matches(']');
        let ip: std::net::IpAddr = ip.parse().ok()?;
        let port: u16 = c[2].parse().ok()?;
        Some(SocketAddr::new(ip, port))
    });
    let host = e
        .lookup
        .captures(text)
        .map(|c| c[1].to_ascii_lowercase())
        .or_else(|| e.url_host.captures(text).map(|c| c[1].to_ascii_lowercase()))
        .filter(|h| h.contains('.') && h.len() <= 253);
    Found {
        image,
        registry,
        address,
        host,
    }
}

/// The values taken from the text: data, in the JSON report.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Taken {
    pub image: Option<String>,
    pub registry: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub host: Option<String>,
}

/// A value found in the text and not used: `reason` is a key of `[ignored]`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ignored {
    pub value: String,
    pub reason: String,
}

/// What `--symptom` brought to the run: the sanitized text, what was found and taken.
#[derive(Debug, Clone, Default)]
pub struct Pasted {
    pub text: String,
    pub found: Found,
    pub taken: Taken,
    pub ignored: Vec<Ignored>,
}

/// The region of a registry host, `None` for ECR Public (which goes with any region).
fn region_of(registry: &str) -> Option<String> {
    crate::aws::parse_registry_host(registry).map(|r| r.region)
}

/// Sanitizes `raw` and takes the image and the registry from it where the flags give none
/// (`image`, `registry` are the flags, changed in place; `region` is `--region`). A taken
/// value never makes the flags inconsistent: one that would is left out, and said.
pub fn take(
    raw: &str,
    image: &mut Option<ImageRef>,
    registry: &mut Option<String>,
    region: Option<&str>,
) -> Pasted {
    let text = sanitize(raw);
    let found = find(&text);
    let mut taken = Taken {
        address: found.address.map(|a| a.to_string()),
        host: found.host.clone(),
        ..Default::default()
    };
    let mut ignored = Vec::new();
    let mut ignore = |value: &str, reason: &str| {
        ignored.push(Ignored {
            value: value.to_string(),
            reason: reason.to_string(),
        })
    };
    let conflicts_with_region = |reg: &str| match (region, region_of(reg)) {
        (Some(flag), Some(r)) => flag != r,
        _ => false,
    };
    if let Some(candidate) = &found.image {
        match crate::validate::image(candidate) {
            Err(_) => ignore(candidate, "image-invalid"),
            Ok(_) if image.is_some() => ignore(candidate, "image-flag"),
            Ok(img) => {
                let reg = img.registry.clone();
                match reg {
                    Some(r) if registry.as_ref().is_some_and(|flag| *flag != r) => {
                        ignore(candidate, "image-registry-conflict")
                    }
                    Some(r) if conflicts_with_region(&r) => ignore(&r, "registry-region-conflict"),
                    _ => {
                        taken.image = Some(img.to_string());
                        if let Some(r) = &img.registry {
                            if registry.is_none() {
                                taken.registry = Some(r.clone());
                            }
                        }
                        *image = Some(img);
                    }
                }
            }
        }
    }
    // the registry alone, when neither flag nor the image names one
    let named = registry.is_some() || image.as_ref().is_some_and(|i| i.registry.is_some());
    if let Some(r) = &found.registry {
        if taken.registry.is_none() {
            if named {
                let same = registry.as_deref() == Some(r.as_str())
                    || image.as_ref().and_then(|i| i.registry.as_deref()) == Some(r.as_str());
                if !same {
                    ignore(r, "registry-flag");
                }
            } else if conflicts_with_region(r) {
                ignore(r, "registry-region-conflict");
            } else {
                taken.registry = Some(r.clone());
                *registry = Some(r.clone());
            }
        }
    }
    if region.is_none() {
        taken.region = taken.registry.as_deref().and_then(region_of);
    }
    Pasted {
        text,
        found,
        taken,
        ignored,
    }
}

/// A suspect that explains the symptom in this run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Explained {
    pub id: String,
    pub code: String,
    pub status: Severity,
}

/// The `symptom` part of the report (JSON), and its lines for the table and markdown.
#[derive(Debug, Clone, Serialize)]
pub struct SymptomReport {
    /// The pasted text, with passwords and tokens replaced by `<secret>`.
    pub text: String,
    /// Ids of the symptoms the text matches, most specific first; empty when none.
    pub matched: Vec<String>,
    /// The checks (`id`) and codes (`id/code`) that can explain them.
    pub suspects: Vec<String>,
    /// The suspects that warned, failed or errored in this run.
    pub explained_by: Vec<Explained>,
    /// Suspect checks this run did not decide: skipped, or not selected.
    pub not_decided: Vec<String>,
    pub taken: Taken,
    pub ignored: Vec<Ignored>,
    /// What remains when symptoms matched and nothing explains them.
    pub remains: Option<String>,
    /// The section's heading and lines, in words.
    #[serde(skip)]
    pub heading: String,
    #[serde(skip)]
    pub pasted_label: String,
    #[serde(skip)]
    pub lines: Vec<String>,
}

fn status_word(s: Severity) -> &'static str {
    crate::render::status_label(s)
}

/// The symptom's verdict on a finished run.
pub fn assess(symptoms: &Symptoms, pasted: &Pasted, report: &Report) -> SymptomReport {
    let matched = symptoms.matching(&pasted.text);
    let mut suspects: Vec<String> = Vec::new();
    for s in &matched {
        for sus in &s.suspects {
            if !suspects.contains(sus) {
                suspects.push(sus.clone());
            }
        }
    }
    // a whole check covers its single codes
    let whole: Vec<String> = suspects
        .iter()
        .filter(|s| !s.contains('/'))
        .cloned()
        .collect();
    suspects.retain(|s| !whole.iter().any(|w| s.starts_with(&format!("{w}/"))));
    let mut explained_by = Vec::new();
    let mut not_decided: Vec<String> = Vec::new();
    let mut checks: Vec<&str> = suspects.iter().map(|s| suspect(s).check).collect();
    checks.dedup();
    // in report order, which is catalog order
    let mut ordered: Vec<&str> = report
        .checks
        .iter()
        .map(|c| c.id.as_str())
        .filter(|id| checks.contains(id))
        .collect();
    for c in &checks {
        if !ordered.contains(c) {
            ordered.push(c);
        }
    }
    for id in ordered {
        match report.checks.iter().find(|c| c.id == id) {
            None => not_decided.push(id.to_string()),
            Some(c) if c.status == Severity::Skip => not_decided.push(id.to_string()),
            Some(c) if matches!(c.status, Severity::Warn | Severity::Fail | Severity::Error) => {
                let named = suspects
                    .iter()
                    .map(|s| suspect(s))
                    .any(|s| s.check == id && s.code.is_none_or(|code| code == c.code));
                if named {
                    explained_by.push(Explained {
                        id: id.to_string(),
                        code: c.code.clone(),
                        status: c.status,
                    });
                }
            }
            Some(_) => {}
        }
    }
    // connections that worked from here: the taken address when one of them reached it
    let connected: Vec<(&str, &str, &Map<String, Value>)> = report
        .checks
        .iter()
        .filter(|c| c.status == Severity::Pass && c.facts.contains_key("tls_version"))
        .filter_map(|c| {
            Some((
                c.facts.get("host")?.as_str()?,
                c.facts.get("address")?.as_str()?,
                &c.facts,
            ))
        })
        .collect();
    let taken_address = pasted.taken.address.as_deref();
    let reached: Vec<String> = match taken_address.and_then(|a| {
        connected.iter().find(|(_, addr, facts)| {
            *addr == a
                || facts
                    .get("tried")
                    .and_then(Value::as_array)
                    .is_some_and(|t| t.iter().any(|x| x.as_str() == Some(a)))
        })
    }) {
        Some((host, _, _)) => vec![format!("{} ({host})", taken_address.unwrap_or_default())],
        None => connected
            .iter()
            .map(|(host, addr, _)| format!("{host} ({addr})"))
            .collect(),
    };
    let ctx = &report.context;
    let mut vars = Map::new();
    let opt = |v: &Option<String>| v.clone().map(Value::from).unwrap_or(Value::Null);
    vars.insert("address".into(), opt(&pasted.taken.address));
    vars.insert("host".into(), opt(&pasted.taken.host));
    vars.insert("reached".into(), Value::from(reached));
    vars.insert("image".into(), opt(&ctx.image));
    vars.insert("registry".into(), opt(&ctx.registry));
    vars.insert("region".into(), opt(&ctx.region));
    vars.insert(
        "public_registry".into(),
        Value::from(
            ctx.registry
                .as_deref()
                .is_some_and(crate::aws::is_public_registry),
        ),
    );
    // a suspect check that ran (and did not explain it) decided something
    let decided = checks.iter().any(|c| !not_decided.iter().any(|n| n == c));
    let remains = (!matched.is_empty() && explained_by.is_empty()).then(|| {
        match matched.iter().find_map(|s| s.remains.as_ref()) {
            _ if !decided => symptoms.text("remains_undecided", &vars),
            Some(t) => fill(t, &vars),
            None => symptoms.text("remains", &vars),
        }
    });

    // the lines, in words
    let one = |key: &str, name: &str, value: Value| {
        let mut v = Map::new();
        v.insert(name.into(), value);
        symptoms.text(key, &v)
    };
    let mut lines = Vec::new();
    if matched.is_empty() {
        lines.push(symptoms.text("unmatched", &Map::new()));
    } else {
        let titles: Vec<&str> = matched.iter().map(|s| s.title.as_str()).collect();
        lines.push(one("matched", "titles", Value::from(titles.join("; "))));
    }
    let t = &pasted.taken;
    let mut taken_words: Vec<String> = Vec::new();
    for (key, v) in [
        ("image", &t.image),
        ("registry", &t.registry),
        ("region", &t.region),
        ("address", &t.address),
        ("host", &t.host),
    ] {
        if let Some(v) = v {
            taken_words.push(Symptoms::one(&symptoms.taken, key, &[("value", v)]));
        }
    }
    if !taken_words.is_empty() {
        lines.push(one("taken", "taken", Value::from(taken_words)));
    }
    if !pasted.ignored.is_empty() {
        let region = ctx.region.clone().unwrap_or_default();
        let words: Vec<String> = pasted
            .ignored
            .iter()
            .map(|i| {
                Symptoms::one(
                    &symptoms.ignored,
                    &i.reason,
                    &[("value", &i.value), ("region", &region)],
                )
            })
            .collect();
        lines.push(one("ignored", "ignored", Value::from(words)));
    }
    if !matched.is_empty() {
        lines.push(one("suspects", "suspects", Value::from(suspects.clone())));
        if explained_by.is_empty() {
            lines.push(symptoms.text("not_explained", &Map::new()));
        } else {
            let words: Vec<String> = explained_by
                .iter()
                .map(|e| format!("{} {} [{}]", status_word(e.status), e.id, e.code))
                .collect();
            lines.push(one("explained", "explained", Value::from(words)));
        }
        if !not_decided.is_empty() {
            lines.push(one(
                "not_decided",
                "checks",
                Value::from(not_decided.clone()),
            ));
        }
    }
    if let Some(r) = &remains {
        lines.push(r.clone());
    }
    SymptomReport {
        text: pasted.text.clone(),
        matched: matched.iter().map(|s| s.id.clone()).collect(),
        suspects,
        explained_by,
        not_decided,
        taken: pasted.taken.clone(),
        ignored: pasted.ignored.clone(),
        remains,
        heading: symptoms.text("heading", &Map::new()),
        pasted_label: symptoms.text("pasted", &Map::new()),
        lines,
    }
}

/// docs/troubleshooting.md: error text, what it means, the checks that decide it, the fix.
pub fn troubleshooting(symptoms: &Symptoms) -> String {
    let none = Map::new();
    let text = |k: &str| symptoms.text(k, &none);
    let code_span = |s: &str| {
        // a code span holds any text when its fence is longer than the text's backtick runs
        let fence = if s.contains('`') { "``" } else { "`" };
        format!("{fence}{s}{fence}")
    };
    let mut out = format!(
        "# {}\n\n<!-- generated from checks/_symptoms.toml by `UPDATE_DOCS=1 cargo test docs`; do not edit -->\n\n{}\n\n| {} | {} | {} |\n|---|---|---|\n",
        text("docs_title"),
        text("docs_intro"),
        text("docs_table_symptom"),
        text("docs_table_text"),
        text("docs_printed_by"),
    );
    for s in &symptoms.specs {
        out.push_str(&format!(
            "| [`{}`](#{}) | {} | {} |\n",
            s.id,
            s.id,
            code_span(&s.title).replace('|', "\\|"),
            s.printed_by.replace('|', "\\|")
        ));
    }
    for s in &symptoms.specs {
        out.push_str(&format!("\n## {}\n\n", s.id));
        out.push_str(&format!(
            "{}\n\n**{}:** {}\n\n",
            code_span(&s.title),
            text("docs_printed_by"),
            s.printed_by
        ));
        out.push_str(&format!("{}:\n\n", text("docs_example")));
        for ex in &s.examples {
            out.push_str(&format!("```text\n{ex}\n```\n\n"));
        }
        out.push_str(&format!("**{}:** {}\n\n", text("docs_meaning"), s.meaning));
        let checks: Vec<String> = s
            .suspects
            .iter()
            .map(|sus| {
                let Suspect { check, code } = suspect(sus);
                let link = format!("[`{check}`](checks.md#{})", check.replace('.', ""));
                match code {
                    Some(c) => format!("{link} / `{c}`"),
                    None => link,
                }
            })
            .collect();
        out.push_str(&format!(
            "**{}:** {}\n\n",
            text("docs_checks"),
            checks.join(", ")
        ));
        out.push_str(&format!("**{}:** {}\n\n", text("docs_fix"), s.fix));
        // as said when nothing is known: no address, host, image or registry
        let remains = match &s.remains {
            Some(t) => fill(t, &none),
            None => text("remains"),
        };
        out.push_str(&format!("**{}:** {remains}\n\n", text("docs_remains")));
        let patterns: Vec<String> = s.patterns.iter().map(|p| code_span(p)).collect();
        out.push_str(&format!(
            "{}: {}\n",
            text("docs_patterns"),
            patterns.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symptoms() -> Symptoms {
        Symptoms::embedded(&Catalog::embedded())
    }

    #[test]
    fn the_catalog_of_symptoms_is_valid_and_complete() {
        let s = symptoms();
        // the issue's list, at least
        for id in [
            "no-basic-auth",
            "token-expired",
            "pull-access-denied",
            "manifest-unknown",
            "io-timeout",
            "no-such-host",
            "x509-unknown-authority",
            "resource-initialization",
            "s3-layer-forbidden",
            "rate-exceeded",
            "unauthorized",
            "kubelet-image-pull",
            "api-request-failed",
            "ecr-public-region",
        ] {
            assert!(s.specs.iter().any(|x| x.id == id), "{id}");
        }
        // every example matches its own symptom (from_toml proves it; here through matching)
        for spec in &s.specs {
            for ex in &spec.examples {
                let m: Vec<&str> = s.matching(ex).iter().map(|x| x.id.as_str()).collect();
                assert!(m.contains(&spec.id.as_str()), "{}: {ex} -> {m:?}", spec.id);
            }
        }
        // every word the report uses exists
        let keys: Vec<&str> = s.text_keys().collect();
        for k in [
            "heading",
            "pasted",
            "matched",
            "unmatched",
            "taken",
            "ignored",
            "suspects",
            "explained",
            "not_explained",
            "not_decided",
            "remains",
            "remains_undecided",
        ] {
            assert!(keys.contains(&k), "[text] {k}");
        }
        for k in ["image", "registry", "region", "address", "host"] {
            assert!(s.taken.contains_key(k), "[taken] {k}");
        }
        for k in [
            "image-invalid",
            "image-flag",
            "image-registry-conflict",
            "registry-flag",
            "registry-region-conflict",
        ] {
            assert!(s.ignored.contains_key(k), "[ignored] {k}");
        }
    }

    #[test]
    fn broken_symptom_files_are_refused() {
        let cat = Catalog::embedded();
        let base = "[text]\n[taken]\n[ignored]\n";
        let one = |suspects: &str, example: &str| {
            format!(
                "{base}[[symptom]]\nid = \"x\"\ntitle = \"t\"\nprinted_by = \"p\"\npatterns = [\"boom\"]\nmeaning = \"m\"\nfix = \"f\"\nsuspects = [{suspects}]\nexamples = [\"{example}\"]\n"
            )
        };
        assert!(Symptoms::from_toml(&one("\"token.get\"", "a BOOM"), &cat).is_ok());
        let e = Symptoms::from_toml(&one("\"no.such\"", "boom"), &cat).unwrap_err();
        assert!(e.contains("no check"), "{e}");
        let e = Symptoms::from_toml(&one("\"token.get/nope\"", "boom"), &cat).unwrap_err();
        assert!(e.contains("has no code"), "{e}");
        let e = Symptoms::from_toml(&one("\"token.get/ok\"", "boom"), &cat).unwrap_err();
        assert!(e.contains("pass code"), "{e}");
        let e = Symptoms::from_toml(&one("\"token.get\"", "quiet"), &cat).unwrap_err();
        assert!(e.contains("does not match"), "{e}");
    }

    #[test]
    fn unrelated_text_matches_nothing() {
        let s = symptoms();
        for t in [
            "the deployment finished",
            "Error: exit status 137 (OOMKilled)",
            "CannotStartContainerError: failed to get container status",
        ] {
            assert!(s.matching(t).is_empty(), "{t}: {:?}", s.matching(t));
        }
    }

    #[test]
    fn finds_image_registry_address_and_host_in_each_example() {
        let reg = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
        let s = symptoms();
        let ex =
            |id: &str, i: usize| s.specs.iter().find(|x| x.id == id).unwrap().examples[i].clone();
        // ECS: the reference and the address the task dialled
        let f = find(&ex("io-timeout", 0));
        assert_eq!(f.image.as_deref(), Some(&*format!("{reg}/team/app:1.4")));
        assert_eq!(f.registry.as_deref(), Some(reg));
        assert_eq!(f.address, Some("10.0.1.11:443".parse().unwrap()));
        assert_eq!(f.host.as_deref(), Some(reg));
        // the API host of a RequestError
        let f = find(&ex("resource-initialization", 0));
        assert_eq!(f.host.as_deref(), Some("api.ecr.us-east-1.amazonaws.com"));
        assert_eq!(f.address, Some("10.0.1.10:443".parse().unwrap()));
        assert_eq!(f.image, None);
        // the looked-up name, not the DNS server
        let f = find(&ex("no-such-host", 0));
        assert_eq!(f.host.as_deref(), Some(reg));
        assert_eq!(f.address, None);
        // docker's repository without a registry
        let f = find(&ex("pull-access-denied", 0));
        assert_eq!(f.image.as_deref(), Some("team/app"));
        assert_eq!(f.registry, None);
        // kubelet events quote the reference
        let f = find(&ex("kubelet-image-pull", 1));
        assert_eq!(f.image.as_deref(), Some(&*format!("{reg}/team/app:1.4")));
        let f = find(&ex("manifest-unknown", 1));
        assert_eq!(f.image.as_deref(), Some(&*format!("{reg}/team/app:1.4")));
        // a URL of a manifest by digest
        let d = "a".repeat(64);
        let f = find(&format!(
            "Head \"https://{reg}/v2/team/app/manifests/sha256:{d}\": dial tcp [fd00::11]:443: i/o timeout"
        ));
        assert_eq!(
            f.image.as_deref(),
            Some(&*format!("{reg}/team/app@sha256:{d}"))
        );
        assert_eq!(f.address, Some("[fd00::11]:443".parse().unwrap()));
        // ECR Public
        let f = find("failed to resolve reference \"public.ecr.aws/nginx/nginx:1.27\": not found");
        assert_eq!(f.image.as_deref(), Some("public.ecr.aws/nginx/nginx:1.27"));
        assert_eq!(f.registry.as_deref(), Some("public.ecr.aws"));
        // the api.ecr-public host is a failing host, never a registry
        let f = find(&ex("ecr-public-region", 0));
        assert_eq!(f.registry, None);
        assert_eq!(
            f.host.as_deref(),
            Some("api.ecr-public.eu-west-2.amazonaws.com")
        );
        assert_eq!(find("nothing here"), Found::default());
    }

    #[test]
    fn flags_win_and_bad_values_are_ignored_and_said() {
        let reg = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
        let text = format!(
            "failed to resolve ref {reg}/team/app:1.4: dial tcp 10.0.1.11:443: i/o timeout"
        );
        // nothing given: image, registry and region come from the text
        let (mut image, mut registry) = (None, None);
        let p = take(&text, &mut image, &mut registry, None);
        assert_eq!(image.as_ref().unwrap().to_string(), "team/app:1.4");
        assert_eq!(image.as_ref().unwrap().registry.as_deref(), Some(reg));
        assert_eq!(p.taken.image.as_deref(), Some("team/app:1.4"));
        assert_eq!(p.taken.registry.as_deref(), Some(reg));
        assert_eq!(p.taken.region.as_deref(), Some("us-east-1"));
        assert_eq!(p.taken.address.as_deref(), Some("10.0.1.11:443"));
        assert!(p.ignored.is_empty());
        // --image given: kept, the text's image said to be unused
        let mut image = Some(crate::validate::image("other/app:2").unwrap());
        let mut registry = None;
        let p = take(&text, &mut image, &mut registry, None);
        assert_eq!(image.unwrap().to_string(), "other/app:2");
        assert_eq!(p.ignored[0].reason, "image-flag");
        assert_eq!(registry.as_deref(), Some(reg), "the registry still helps");
        // --region of another region: the registry and the image are not taken, no error
        let (mut image, mut registry) = (None, None);
        let p = take(&text, &mut image, &mut registry, Some("eu-west-1"));
        assert!(image.is_none() && registry.is_none());
        assert!(p
            .ignored
            .iter()
            .all(|i| i.reason == "registry-region-conflict"));
        assert_eq!(p.taken.region, None);
        // --registry of another account: the image is not taken
        let mut registry = Some("210987654321.dkr.ecr.us-east-1.amazonaws.com".to_string());
        let mut image = None;
        let p = take(&text, &mut image, &mut registry, None);
        assert!(image.is_none());
        assert_eq!(p.ignored[0].reason, "image-registry-conflict");
        // not an ECR reference: said, not used
        let (mut image, mut registry) = (None, None);
        let p = take(
            "Failed to pull image \"docker.io/library/nginx:1.27\": i/o timeout",
            &mut image,
            &mut registry,
            None,
        );
        assert!(image.is_none());
        assert_eq!(
            p.ignored,
            [Ignored {
                value: "docker.io/library/nginx:1.27".into(),
                reason: "image-invalid".into()
            }]
        );
        // ECR Public goes with any region
        let (mut image, mut registry) = (None, None);
        let p = take(
            "public.ecr.aws/nginx/nginx:1.27: toomanyrequests: Rate exceeded",
            &mut image,
            &mut registry,
            Some("eu-west-1"),
        );
        assert_eq!(p.taken.registry.as_deref(), Some("public.ecr.aws"));
        assert!(image.is_some());
    }

    #[test]
    fn secrets_never_come_back() {
        let token = format!(
            "eyJwYXlsb2FkIjoiQUJDRGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo{}",
            "Q0RFRkdI".repeat(20)
        );
        let digest = "c0ffee".repeat(10) + "abcd";
        let cases = [
            format!("docker login -u AWS -p {token} 123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            "docker login --username AWS --password=s3cr3tPassw0rd! https://x".to_string(),
            r#"{"auths": {"x": {"auth": "QVdTOmhlbGxv"}}}"#.to_string(),
            "Authorization: Basic QVdTOmhlbGxvd29ybGQ=".to_string(),
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string(),
            format!("https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/x?X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2Fabc&X-Amz-Signature={digest}: 403 Forbidden"),
            format!("denied: {token}"),
        ];
        let secrets = [
            token.as_str(),
            "s3cr3tPassw0rd!",
            "QVdTOmhlbGxv",
            "QVdTOmhlbGxvd29ybGQ=",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "IQoJb3JpZ2luX2VjEJr",
        ];
        for c in &cases {
            let out = sanitize(c);
            for s in secrets {
                assert!(!out.contains(s), "{s} in {out}");
            }
            assert!(out.contains("<secret>"), "{out}");
        }
        // what helps stays: hosts, repositories, digests, addresses, ARNs
        let plain = format!(
            "failed to resolve ref 123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app@sha256:{digest}: dial tcp 10.0.1.11:443: i/o timeout; arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
        );
        assert_eq!(sanitize(&plain), plain);
        assert_eq!(sanitize("a\x1b[31mb\r\nc\td"), "a [31mb \nc\td");
        // and registered: any output loses them
        assert!(!crate::redact::apply(&format!("x {token} y"), false).contains(&token));
    }

    #[test]
    fn empty_and_oversized_text_are_usage_errors() {
        assert!(check("  \n").unwrap_err().contains("--symptom"));
        assert!(check(&"x".repeat(MAX_BYTES + 1))
            .unwrap_err()
            .contains("--symptom"));
        assert!(check("no basic auth credentials").is_ok());
    }

    fn entry(id: &str, status: Severity, code: &str, facts: Value) -> crate::render::CheckEntry {
        crate::render::CheckEntry {
            id: id.into(),
            title: String::new(),
            status,
            code: code.into(),
            engine: false,
            message: String::new(),
            remediation: None,
            docs_url: None,
            skipped_because: vec![],
            duration_ms: 0,
            facts: facts.as_object().cloned().unwrap_or_default(),
        }
    }

    fn report(checks: Vec<crate::render::CheckEntry>) -> Report {
        let mut r = crate::render::tests::sample();
        r.checks = checks;
        r
    }

    #[test]
    fn the_failing_suspect_explains_and_the_rest_is_said() {
        let s = symptoms();
        let text = s
            .specs
            .iter()
            .find(|x| x.id == "io-timeout")
            .unwrap()
            .examples[0]
            .clone();
        let (mut image, mut registry) = (None, None);
        let pasted = take(&text, &mut image, &mut registry, None);
        let r = report(vec![
            entry("dns.ecr-dkr", Severity::Pass, "ok-endpoint", Value::Null),
            entry(
                "net.ecr-dkr",
                Severity::Fail,
                "connect-timeout",
                serde_json::json!({"host": "h", "address": "10.0.1.11:443"}),
            ),
            entry("net.s3", Severity::Skip, "skipped-by-user", Value::Null),
            entry(
                "env.proxy",
                Severity::Warn,
                "ecr-through-proxy",
                Value::Null,
            ),
        ]);
        let v = assess(&s, &pasted, &r);
        assert_eq!(v.matched, ["io-timeout"]);
        assert!(v.suspects.contains(&"net.ecr-dkr".to_string()));
        assert_eq!(
            v.explained_by,
            [
                Explained {
                    id: "net.ecr-dkr".into(),
                    code: "connect-timeout".into(),
                    status: Severity::Fail
                },
                Explained {
                    id: "env.proxy".into(),
                    code: "ecr-through-proxy".into(),
                    status: Severity::Warn
                }
            ]
        );
        assert!(v.not_decided.contains(&"net.s3".to_string()));
        assert!(
            v.not_decided.contains(&"vpc.client-path".to_string()),
            "not in the run"
        );
        assert_eq!(v.remains, None);
        assert!(v
            .lines
            .iter()
            .any(|l| l.contains("FAIL net.ecr-dkr [connect-timeout]")));
        // a code-specific suspect does not take another code of its check
        let r = report(vec![entry(
            "dns.ecr-dkr",
            Severity::Fail,
            "nxdomain",
            Value::Null,
        )]);
        assert!(assess(&s, &pasted, &r).explained_by.is_empty());
    }

    #[test]
    fn nothing_explains_it_says_what_remains_with_the_reached_address() {
        let s = symptoms();
        let text =
            "CannotPullContainerError: failed to do request: dial tcp 10.0.1.11:443: i/o timeout";
        let (mut image, mut registry) = (None, None);
        let pasted = take(text, &mut image, &mut registry, None);
        let r = report(vec![entry(
            "net.ecr-dkr",
            Severity::Pass,
            "ok",
            serde_json::json!({"host": "123456789012.dkr.ecr.us-east-1.amazonaws.com", "address": "10.0.1.12:443", "tried": ["10.0.1.11:443", "10.0.1.12:443"], "tls_version": "TLSv1_3"}),
        )]);
        let v = assess(&s, &pasted, &r);
        assert!(v.explained_by.is_empty());
        let remains = v.remains.unwrap();
        assert!(
            remains.starts_with(
                "This machine reached 10.0.1.11:443 (123456789012.dkr.ecr.us-east-1.amazonaws.com)."
            ),
            "{remains}"
        );
        assert!(remains.contains("--subnet"), "{remains}");
        assert!(v.lines.iter().any(|l| l.starts_with("None of the checks")));
        // unmatched text: said, no suspects, no verdict
        let pasted = take("all good here", &mut None, &mut None, None);
        let v = assess(&s, &pasted, &r);
        assert!(v.matched.is_empty() && v.suspects.is_empty() && v.remains.is_none());
        assert!(
            v.lines[0].contains("matches no known symptom"),
            "{:?}",
            v.lines
        );
    }

    #[test]
    fn suspects_of_several_symptoms_are_one_list() {
        let s = symptoms();
        let text = &s
            .specs
            .iter()
            .find(|x| x.id == "resource-initialization")
            .unwrap()
            .examples[0];
        let p = take(text, &mut None, &mut None, None);
        let v = assess(&s, &p, &report(vec![]));
        assert_eq!(
            v.matched,
            [
                "resource-initialization",
                "api-request-failed",
                "io-timeout"
            ]
        );
        // token.get covers token.get/unreachable; each suspect once
        assert!(v.suspects.contains(&"token.get".to_string()));
        assert!(!v.suspects.contains(&"token.get/unreachable".to_string()));
        let mut unique = v.suspects.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), v.suspects.len());
    }

    #[test]
    fn every_remains_fills_without_placeholders_left() {
        let s = symptoms();
        for spec in &s.specs {
            // every suspect passed: its own remains; none ran: the undecided words
            let passed: Vec<_> = spec
                .suspects
                .iter()
                .map(|x| entry(suspect(x).check, Severity::Pass, "ok", Value::Null))
                .collect();
            let p = take(&spec.examples[0], &mut None, &mut None, None);
            let v = assess(&s, &p, &report(passed));
            let remains = v.remains.expect("nothing explains it");
            assert!(!remains.contains('{'), "{}: {remains}", spec.id);
            // the first matched symptom that has words of its own says them
            let first = s
                .matching(&p.text)
                .into_iter()
                .find_map(|m| m.remains.as_ref());
            if let Some(own) = first {
                let head = own.split(['{', '.']).next().unwrap();
                assert!(
                    remains.contains(head) || own.starts_with('{'),
                    "{}: {remains}",
                    spec.id
                );
            }
            let v = assess(&s, &p, &report(vec![]));
            assert_eq!(
                v.remains.as_deref(),
                Some(&*s.text("remains_undecided", &Map::new())),
                "{}",
                spec.id
            );
        }
    }
}
