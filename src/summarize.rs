//! `ecr-doctor summarize FILE... | -`: many JSON reports (one per host, collected from a
//! fleet) in one table: for each check and code that did not pass, how many hosts and which.
//! Inputs that are not usable reports (unreadable, empty, truncated, not JSON, not a report,
//! another schema version) are named in the output, never a crash. Rendered by
//! [`crate::render::summary`]; the words are the catalog's (`_words.toml` `[text]`).

use crate::catalog::{Catalog, Severity};
use crate::cli::Output;
use crate::host::Host;
use crate::render::SCHEMA_VERSION;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

/// Summarize JSON reports from many hosts: for each check and code that did not pass, how
/// many hosts and which
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
Each FILE holds one report (`ecr-doctor --output json`) or JSON lines (one report per line);
`-` reads JSON lines from stdin. Hosts are named by the report's context.host (ECS task,
Kubernetes node, EC2 instance, hostname), else by FILE[:LINE]. Inputs that cannot be read or
are not reports of this schema version are named in the output.

Exit status: 0 no host failed or errored, 1 a host failed or errored (--strict: or warned), or
an input could not be used, 2 bad usage. Collecting reports from a fleet: docs/fleet.md")]
pub struct Args {
    /// Report files; `-` for JSON lines on stdin
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Summary format
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,

    /// Exit 1 when a host warned too
    #[arg(long)]
    pub strict: bool,

    /// Mask account ids, ARNs, access key ids and IP addresses in the output
    #[arg(long)]
    pub redact: bool,
}

/// One input as read: its name in the output and its text, or why it could not be read.
pub struct Input {
    /// The file name as given, or `stdin`.
    pub name: String,
    pub text: Result<String, String>,
}

/// Why an input (or part of one) is not in the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    Unreadable,
    Empty,
    Truncated,
    NotJson,
    NotAReport,
    OtherSchema,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Unreadable => "unreadable",
            Reason::Empty => "empty",
            Reason::Truncated => "truncated",
            Reason::NotJson => "not-json",
            Reason::NotAReport => "not-a-report",
            Reason::OtherSchema => "other-schema",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Unusable {
    /// `FILE`, or `FILE:LINE` where the value started when the input held several.
    pub source: String,
    pub reason: Reason,
    /// The reader's or parser's error, when there is one.
    pub error: Option<String>,
    /// `other-schema`: the report's `schema_version`.
    pub schema_version: Option<Value>,
    /// The reason in words.
    pub message: String,
}

/// What a summary keeps of one report.
#[derive(Debug, Clone, Serialize)]
pub struct HostEntry {
    /// The name the summary lists: [`Host::name`], else the source; made unique with the
    /// source when two reports give the same name.
    pub name: String,
    pub source: String,
    pub host: Host,
    /// The worst status of the host's checks (`skip` does not count; `pass` when all passed).
    pub status: Severity,
    pub summary: crate::render::Summary,
}

/// One row: a check that ended with this status and code on some hosts.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub check: String,
    pub status: Severity,
    pub code: String,
    /// The engine decided the result (skipped, timed out, crashed).
    pub engine: bool,
    pub count: usize,
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub reports: usize,
    /// Hosts whose worst status is `fail` or `error`.
    pub failing: usize,
    /// Hosts whose worst status is `warn`.
    pub warning: usize,
    pub passing: usize,
    pub unusable: usize,
}

/// The fleet summary (`--output json` of `summarize`).
#[derive(Debug, Clone, Serialize)]
pub struct FleetSummary {
    pub schema_version: u32,
    pub tool: crate::render::Tool,
    pub totals: Totals,
    pub problems: Vec<Problem>,
    pub hosts: Vec<HostEntry>,
    pub unusable: Vec<Unusable>,
    /// The summary's own words (`_words.toml` `[text]`), filled at build time.
    #[serde(skip)]
    pub words: BTreeMap<String, String>,
}

impl FleetSummary {
    /// 0 no host failed or errored; 1 one did (with `strict`, or warned), or an input could
    /// not be used.
    pub fn exit_code(&self, strict: bool) -> i32 {
        let t = &self.totals;
        if t.failing > 0 || t.unusable > 0 || (strict && t.warning > 0) {
            1
        } else {
            0
        }
    }
}

/// The part of a report the summary reads; unknown fields are ignored, so that reports of
/// later versions of schema 1 (which only add fields) are read too.
#[derive(Deserialize)]
struct InReport {
    #[serde(default)]
    context: InContext,
    checks: Vec<InCheck>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InContext {
    host: Host,
}

#[derive(Deserialize)]
struct InCheck {
    id: String,
    status: Severity,
    /// `null` in reports of ecr-doctor before 0.1 for engine results.
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    engine: bool,
}

/// The JSON values of a text: one pretty-printed report, JSON lines, or values one after the
/// other. After a value that does not parse, reading resumes at the next line that starts
/// with `{` (where the next report of JSON lines, or of concatenated reports, begins).
/// Each value comes with the line it starts on (1-based).
pub fn values(text: &str) -> Vec<(usize, Result<Value, serde_json::Error>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    loop {
        let rest = &text[pos..];
        let skipped = rest.len() - rest.trim_start().len();
        pos += skipped;
        if pos >= text.len() {
            break;
        }
        let line = line_of(pos);
        let mut stream = serde_json::Deserializer::from_str(&text[pos..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(v)) => {
                out.push((line, Ok(v)));
                pos += stream.byte_offset();
            }
            Some(Err(e)) => {
                out.push((line, Err(e)));
                match text[pos..].find("\n{") {
                    Some(next) => pos += next + 1,
                    None => break,
                }
            }
            None => break,
        }
    }
    out
}

/// Reads the inputs: files as named, `-` as stdin (once).
pub fn read_inputs(files: &[PathBuf], stdin_word: &str) -> Vec<Input> {
    files
        .iter()
        .map(|f| {
            if f.as_os_str() == "-" {
                let mut buf = Vec::new();
                let text = std::io::stdin()
                    .read_to_end(&mut buf)
                    .map(|_| String::from_utf8_lossy(&buf).into_owned())
                    .map_err(|e| e.to_string());
                Input {
                    name: stdin_word.to_string(),
                    text,
                }
            } else {
                Input {
                    name: f.display().to_string(),
                    text: std::fs::read(f)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .map_err(|e| e.to_string()),
                }
            }
        })
        .collect()
}

/// What one value of an input turned out to be.
enum Item {
    Report(Box<InReport>),
    Unusable(Reason, Option<String>, Option<Value>),
}

fn classify(value: Result<Value, serde_json::Error>) -> Item {
    let v = match value {
        Ok(v) => v,
        Err(e) if e.is_eof() => {
            return Item::Unusable(Reason::Truncated, Some(e.to_string()), None)
        }
        Err(e) => return Item::Unusable(Reason::NotJson, Some(e.to_string()), None),
    };
    match v.get("schema_version") {
        Some(Value::Number(n)) if n.as_u64() == Some(SCHEMA_VERSION as u64) => {}
        Some(other) => return Item::Unusable(Reason::OtherSchema, None, Some(other.clone())),
        None => {
            return Item::Unusable(
                Reason::NotAReport,
                Some("no schema_version".to_string()),
                None,
            )
        }
    }
    match serde_json::from_value::<InReport>(v) {
        Ok(r) => Item::Report(Box::new(r)),
        Err(e) => Item::Unusable(Reason::NotAReport, Some(e.to_string()), None),
    }
}

/// The summary's own words (`_words.toml` `[text]`), besides one per [`Reason`] and
/// `summary_stdin`.
const WORDS: [&str; 9] = [
    "summary_title",
    "summary_totals",
    "summary_unusable_title",
    "summary_nothing_to_act_on",
    "summary_col_status",
    "summary_col_check",
    "summary_col_code",
    "summary_col_count",
    "summary_col_hosts",
];

/// Severity order of the rows: what to act on first.
fn rank(s: Severity) -> u8 {
    match s {
        Severity::Error => 0,
        Severity::Fail => 1,
        Severity::Warn => 2,
        Severity::Skip => 3,
        Severity::Pass => 4,
    }
}

/// The summary of `inputs`.
pub fn summarize(catalog: &Catalog, inputs: &[Input]) -> FleetSummary {
    let mut unusable = Vec::new();
    let mut reports: Vec<(String, InReport)> = Vec::new();
    let mut word_vars = serde_json::Map::new();
    word_vars.insert("supported".into(), Value::from(SCHEMA_VERSION));
    let mut push_unusable =
        |source: String, reason: Reason, error: Option<String>, schema: Option<Value>| {
            let mut v = word_vars.clone();
            if let Some(e) = &error {
                v.insert("error".into(), Value::String(e.clone()));
            }
            if let Some(s) = &schema {
                v.insert("schema_version".into(), s.clone());
            }
            let message = catalog.text(&format!("summary_{}", reason.as_str()), &v);
            unusable.push(Unusable {
                source,
                reason,
                error,
                schema_version: schema,
                message,
            });
        };
    for input in inputs {
        let text = match &input.text {
            Ok(t) => t,
            Err(e) => {
                push_unusable(
                    input.name.clone(),
                    Reason::Unreadable,
                    Some(e.clone()),
                    None,
                );
                continue;
            }
        };
        let values = values(text);
        if values.is_empty() {
            push_unusable(input.name.clone(), Reason::Empty, None, None);
            continue;
        }
        let several = values.len() > 1;
        for (line, value) in values {
            let source = if several {
                format!("{}:{line}", input.name)
            } else {
                input.name.clone()
            };
            match classify(value) {
                Item::Report(r) => reports.push((source, *r)),
                Item::Unusable(reason, error, schema) => {
                    push_unusable(source, reason, error, schema)
                }
            }
        }
    }
    // names: the host's, else the source; the same name twice gets its source too
    let base: Vec<String> = reports
        .iter()
        .map(|(source, r)| {
            r.context
                .host
                .name()
                .map(str::to_string)
                .unwrap_or_else(|| source.clone())
        })
        .collect();
    let names: Vec<String> = base
        .iter()
        .zip(&reports)
        .map(|(name, (source, _))| {
            if base.iter().filter(|n| *n == name).count() > 1 && name != source {
                format!("{name} ({source})")
            } else {
                name.clone()
            }
        })
        .collect();
    let mut totals = Totals {
        reports: reports.len(),
        unusable: unusable.len(),
        ..Totals::default()
    };
    let mut rows: BTreeMap<(String, Severity, String), (bool, Vec<String>)> = BTreeMap::new();
    let mut hosts = Vec::new();
    for ((source, r), name) in reports.iter().zip(names) {
        let mut summary = crate::render::Summary::default();
        let mut worst = Severity::Pass;
        for c in &r.checks {
            match c.status {
                Severity::Pass => summary.pass += 1,
                Severity::Warn => summary.warn += 1,
                Severity::Fail => summary.fail += 1,
                Severity::Skip => summary.skip += 1,
                Severity::Error => summary.error += 1,
            }
            if c.status == Severity::Pass {
                continue;
            }
            if c.status != Severity::Skip && rank(c.status) < rank(worst) {
                worst = c.status;
            }
            let code = c.code.clone().unwrap_or_else(|| "-".to_string());
            let row = rows
                .entry((c.id.clone(), c.status, code))
                .or_insert((c.engine, Vec::new()));
            if !row.1.contains(&name) {
                row.1.push(name.clone());
            }
        }
        match worst {
            Severity::Fail | Severity::Error => totals.failing += 1,
            Severity::Warn => totals.warning += 1,
            _ => totals.passing += 1,
        }
        hosts.push(HostEntry {
            name,
            source: source.clone(),
            host: r.context.host.clone(),
            status: worst,
            summary,
        });
    }
    let order = |id: &str| catalog.ids().position(|c| c == id).unwrap_or(usize::MAX);
    let mut problems: Vec<Problem> = rows
        .into_iter()
        .map(|((check, status, code), (engine, hosts))| Problem {
            check,
            status,
            code,
            engine,
            count: hosts.len(),
            hosts,
        })
        .collect();
    problems.sort_by(|a, b| {
        (rank(a.status), std::cmp::Reverse(a.count), order(&a.check))
            .cmp(&(rank(b.status), std::cmp::Reverse(b.count), order(&b.check)))
            .then_with(|| (&a.check, &a.code).cmp(&(&b.check, &b.code)))
    });
    let mut wv = serde_json::Map::new();
    for (k, n) in [
        ("reports", totals.reports),
        ("failing", totals.failing),
        ("warning", totals.warning),
        ("passing", totals.passing),
        ("unusable", totals.unusable),
    ] {
        wv.insert(k.into(), Value::from(n));
    }
    let mut words = BTreeMap::new();
    for key in WORDS {
        words.insert(key.to_string(), catalog.text(key, &wv));
    }
    FleetSummary {
        schema_version: SCHEMA_VERSION,
        tool: crate::render::Tool {
            name: "ecr-doctor".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
        totals,
        problems,
        hosts,
        unusable,
        words,
    }
}

/// `ecr-doctor summarize`: reads, summarizes, prints; the exit code.
pub fn main(args: &Args) -> i32 {
    if args.files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        eprintln!("ecr-doctor: summarize: stdin (-) can be given once (see --help)");
        return 2;
    }
    let catalog = Catalog::embedded();
    let stdin_word = catalog.text("summary_stdin", &serde_json::Map::new());
    let inputs = read_inputs(&args.files, &stdin_word);
    let summary = summarize(&catalog, &inputs);
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(110);
    let text = match args.output {
        Output::Table => crate::render::summary::table(&summary, width),
        Output::Json => crate::render::summary::json(&summary),
        Output::Markdown => crate::render::summary::markdown(&summary),
    };
    print!("{}", crate::redact::apply(&text, args.redact));
    summary.exit_code(args.strict)
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A report of schema 1 as JSON: `host` names it (hostname), `checks` are
    /// `(id, status, code)`.
    pub fn report(host: Option<&str>, checks: &[(&str, &str, &str)]) -> String {
        let checks: Vec<Value> = checks
            .iter()
            .map(|(id, status, code)| {
                serde_json::json!({"id": id, "status": status, "code": code,
                    "engine": *status == "skip", "title": "", "message": "m"})
            })
            .collect();
        serde_json::json!({
            "schema_version": 1,
            "tool": {"name": "ecr-doctor", "version": "0.1.0"},
            "context": {"region": "us-east-1", "host": {"hostname": host}},
            "summary": {},
            "checks": checks,
        })
        .to_string()
    }

    fn input(name: &str, text: &str) -> Input {
        Input {
            name: name.into(),
            text: Ok(text.into()),
        }
    }

    #[test]
    fn every_word_is_in_the_catalog() {
        let cat = Catalog::embedded();
        let reasons = [
            Reason::Unreadable,
            Reason::Empty,
            Reason::Truncated,
            Reason::NotJson,
            Reason::NotAReport,
            Reason::OtherSchema,
        ];
        let keys = WORDS
            .iter()
            .map(|k| k.to_string())
            .chain(reasons.iter().map(|r| format!("summary_{}", r.as_str())))
            .chain(["summary_stdin".to_string()]);
        for key in keys {
            assert!(
                cat.words.text.contains_key(&key),
                "{key} not in _words.toml"
            );
        }
        // the serialized reason is the key's
        for r in reasons {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }

    #[test]
    fn values_of_pretty_lines_and_broken_input() {
        let pretty = serde_json::to_string_pretty(&serde_json::json!({"a": {"b": 1}})).unwrap();
        let v = values(&pretty);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].0, 1);
        // JSON lines with a broken line in the middle and a blank line
        let text = "{\"a\":1}\n{\"a\":\n\n{\"a\":3}\n";
        let v = values(text);
        assert_eq!(v.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [1, 2, 4]);
        assert!(v[0].1.is_ok() && v[1].1.is_err() && v[2].1.is_ok());
        // a pretty report cut short: one error, not one per line
        let cut = &pretty[..pretty.len() - 3];
        let v = values(cut);
        assert_eq!(v.len(), 1);
        assert!(v[0].1.as_ref().unwrap_err().is_eof());
        assert!(values(" \n\n").is_empty());
    }

    #[test]
    fn counts_hosts_per_check_and_code() {
        let cat = Catalog::embedded();
        let lines = [
            report(
                Some("web-1"),
                &[
                    ("identity.caller", "pass", "ok"),
                    ("token.get", "fail", "access-denied"),
                    ("registry.auth", "skip", "dependency-not-passed"),
                ],
            ),
            report(
                Some("web-2"),
                &[
                    ("identity.caller", "pass", "ok"),
                    ("token.get", "fail", "access-denied"),
                    ("env.proxy", "warn", "no-proxy-missing-ecr"),
                ],
            ),
            report(None, &[("identity.caller", "pass", "ok")]),
        ]
        .join("\n");
        let s = summarize(
            &cat,
            &[
                input("fleet.jsonl", &lines),
                input("old.json", r#"{"schema_version": 2, "checks": []}"#),
                input("cut.json", &report(Some("web-9"), &[])[..40]),
                input(
                    "list.json",
                    r#"{"schema_version": 1, "checks": [{"id": "x"}]}"#,
                ),
                input("blank.json", "\n"),
                Input {
                    name: "gone.json".into(),
                    text: Err("No such file or directory (os error 2)".into()),
                },
            ],
        );
        assert_eq!(
            s.totals,
            Totals {
                reports: 3,
                failing: 2,
                warning: 0,
                passing: 1,
                unusable: 5
            }
        );
        let rows: Vec<String> = s
            .problems
            .iter()
            .map(|p| {
                format!(
                    "{}={}/{} {} {:?}",
                    p.check,
                    p.status.as_str(),
                    p.code,
                    p.count,
                    p.hosts
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                r#"token.get=fail/access-denied 2 ["web-1", "web-2"]"#,
                r#"env.proxy=warn/no-proxy-missing-ecr 1 ["web-2"]"#,
                r#"registry.auth=skip/dependency-not-passed 1 ["web-1"]"#,
            ]
        );
        // the host without a name is named by its file and line
        assert_eq!(s.hosts[2].name, "fleet.jsonl:3");
        assert_eq!(s.hosts[1].status, Severity::Fail);
        assert_eq!(s.hosts[2].status, Severity::Pass);
        let why: Vec<(&str, Reason)> = s
            .unusable
            .iter()
            .map(|u| (u.source.as_str(), u.reason))
            .collect();
        assert_eq!(
            why,
            [
                ("old.json", Reason::OtherSchema),
                ("cut.json", Reason::Truncated),
                ("list.json", Reason::NotAReport),
                ("blank.json", Reason::Empty),
                ("gone.json", Reason::Unreadable),
            ]
        );
        assert!(
            s.unusable[0].message.contains('2'),
            "{}",
            s.unusable[0].message
        );
        assert!(s.unusable[4].message.contains("os error 2"));
        assert_eq!(s.exit_code(false), 1);
    }

    #[test]
    fn exit_codes_and_duplicate_names() {
        let cat = Catalog::embedded();
        let warn = report(Some("a"), &[("env.proxy", "warn", "no-proxy-missing-ecr")]);
        let pass = report(Some("a"), &[("identity.caller", "pass", "ok")]);
        let s = summarize(&cat, &[input("1.json", &warn), input("2.json", &pass)]);
        assert_eq!(s.exit_code(false), 0);
        assert_eq!(s.exit_code(true), 1);
        assert_eq!(s.hosts[0].name, "a (1.json)");
        assert_eq!(s.hosts[1].name, "a (2.json)");
        // skipped checks do not make a host fail; an engine error does
        let skip = report(Some("b"), &[("vpc.lookup", "skip", "no-vpc")]);
        let s = summarize(&cat, &[input("s.json", &skip)]);
        assert_eq!((s.totals.passing, s.exit_code(true)), (1, 0));
        let err = report(Some("c"), &[("token.get", "error", "timed-out")]);
        let s = summarize(&cat, &[input("e.json", &err)]);
        assert_eq!((s.totals.failing, s.exit_code(false)), (1, 1));
    }
}
