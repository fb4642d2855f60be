//! Turns engine results into a [`Report`] (the JSON contract) and renders it. Every format
//! renders from the same [`Report`], so they always agree.

pub mod json;
pub mod markdown;
pub mod progress;
pub mod summary;
pub mod symptom;
pub mod table;

use crate::catalog::{fill, snippet_vars, unresolved, Catalog, FixFormat, Severity};
use crate::engine::CheckResult;
use serde::Serialize;
use serde_json::{Map, Value};
use std::time::Duration;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub started_at: String,
    pub duration_ms: u64,
    pub context: Context,
    pub summary: Summary,
    pub checks: Vec<CheckEntry>,
    /// With `--symptom`: the pasted error's verdict (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symptom: Option<crate::symptom::SymptomReport>,
    /// The report's own words (`_words.toml` `[text]`), filled at build time.
    #[serde(skip)]
    pub words: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Context {
    pub region: Option<String>,
    pub account: Option<String>,
    pub registry: Option<String>,
    pub vpc: Option<String>,
    /// Where the VPC came from: `--vpc`, `EC2 instance metadata` or `ECS task metadata`.
    pub vpc_source: Option<String>,
    pub subnet: Option<String>,
    pub availability_zone: Option<String>,
    pub image: Option<String>,
    /// Which machine ran the doctor (added in 0.1 without a schema change).
    pub host: crate::host::Host,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
    pub error: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Remediation {
    pub text: String,
    pub commands: Vec<String>,
    /// With `--fix-format terraform|cloudformation`: the fix in that form. No snippets: the
    /// code has none in that form (or none could be filled), and `commands` is the fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fix {
    pub format: FixFormat,
    pub snippets: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckEntry {
    pub id: String,
    pub title: String,
    pub status: Severity,
    /// The check's code, or an engine code (`engine` true) for results the engine decided.
    pub code: String,
    /// The engine decided this result: skipped, timed out, crashed.
    pub engine: bool,
    pub message: String,
    pub remediation: Option<Remediation>,
    pub docs_url: Option<String>,
    pub skipped_because: Vec<String>,
    pub duration_ms: u64,
    pub facts: Map<String, Value>,
}

impl Report {
    pub fn build(
        catalog: &Catalog,
        results: &[CheckResult],
        context: Context,
        started_at: String,
        duration: Duration,
    ) -> Report {
        Report::build_with_fix(
            catalog,
            results,
            context,
            started_at,
            duration,
            FixFormat::Cli,
        )
    }

    /// [`Report::build`] with the fixes also in `fix` form (`--fix-format`).
    pub fn build_with_fix(
        catalog: &Catalog,
        results: &[CheckResult],
        context: Context,
        started_at: String,
        duration: Duration,
        fix: FixFormat,
    ) -> Report {
        let mut vars = Map::new();
        for (k, v) in [
            ("region", &context.region),
            ("account", &context.account),
            ("registry", &context.registry),
            ("vpc", &context.vpc),
            ("subnet", &context.subnet),
            ("image", &context.image),
        ] {
            if let Some(v) = v {
                vars.insert(k.to_string(), Value::String(v.clone()));
            }
        }
        // ARNs in commands follow the region's partition: arn:{partition}:...
        if let Some(r) = &context.region {
            let p = crate::aws::partition_of(r).id;
            vars.insert("partition".to_string(), Value::String(p.to_string()));
            // and VPC endpoint service names (China's ECR ones carry a `cn.` prefix)
            for (var, svc) in [
                ("ecr_api_service", "ecr.api"),
                ("sts_service", "sts"),
                ("ec2_service", "ec2"),
                ("s3_service", "s3"),
            ] {
                vars.insert(
                    var.to_string(),
                    Value::String(crate::aws::service_name(r, svc)),
                );
            }
        }
        let mut summary = Summary::default();
        let mut checks: Vec<CheckEntry> = Vec::with_capacity(results.len());
        for r in results {
            match r.status {
                Severity::Pass => summary.pass += 1,
                Severity::Warn => summary.warn += 1,
                Severity::Fail => summary.fail += 1,
                Severity::Skip => summary.skip += 1,
                Severity::Error => summary.error += 1,
            }
            checks.push(entry(catalog, r, &vars, fix));
        }
        let mut words = std::collections::BTreeMap::new();
        let mut wv = Map::new();
        for (k, n) in [
            ("pass", summary.pass),
            ("warn", summary.warn),
            ("fail", summary.fail),
            ("skip", summary.skip),
            ("error", summary.error),
        ] {
            wv.insert(k.into(), Value::from(n));
        }
        wv.insert(
            "seconds".into(),
            Value::String(format!("{:.2}", duration.as_secs_f64())),
        );
        for key in ["what_to_do", "summary"] {
            words.insert(key.to_string(), catalog.text(key, &wv));
        }
        if fix != FixFormat::Cli {
            let mut v = Map::new();
            v.insert("fix_format".into(), Value::String(fix.as_str().into()));
            let v = catalog.labelled(None, &v);
            words.insert("fix_fallback".into(), catalog.text("fix_fallback", &v));
        }
        if let Some(src) = &context.vpc_source {
            let mut v = Map::new();
            v.insert("detected_from".into(), Value::String(src.clone()));
            let l = catalog.labelled(None, &v);
            words.insert(
                "vpc_source".into(),
                crate::catalog::value_text(&l["detected_from"]),
            );
        }
        Report {
            words,
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "ecr-doctor".to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            },
            started_at,
            duration_ms: duration.as_millis() as u64,
            context,
            summary,
            checks,
            symptom: None,
        }
    }

    /// 0 nothing failed; 1 a fail or error (with `strict`, also a warn).
    pub fn exit_code(&self, strict: bool) -> i32 {
        let s = &self.summary;
        if s.fail + s.error > 0 || (strict && s.warn > 0) {
            1
        } else {
            0
        }
    }
}

fn entry(
    catalog: &Catalog,
    r: &CheckResult,
    context_vars: &Map<String, Value>,
    fix: FixFormat,
) -> CheckEntry {
    let spec = catalog.get(&r.id);
    let mut vars = context_vars.clone();
    vars.extend(r.facts.clone());
    vars.insert(
        "skipped_because".into(),
        Value::from(r.skipped_because.clone()),
    );
    if let (Some(Value::String(id)), Some(Value::String(code))) =
        (r.facts.get("reason_check"), r.facts.get("reason_code"))
    {
        // the dependency's own reason for skipping, e.g. "no VPC: pass --vpc ..."
        if let Some(reason) = catalog
            .get(id)
            .and_then(|s| s.codes.get(code))
            .and_then(|c| c.skip_reason.as_ref())
        {
            vars.insert("skip_reason".into(), Value::String(fill(reason, &vars)));
        }
    }
    // snippets are code: filled from the data, not from the labels' words
    let raw_vars = vars.clone();
    let vars = catalog.labelled(spec, &vars);
    let snippet_templates: &[String] = match (r.engine, fix) {
        (true, _) | (_, FixFormat::Cli) => &[],
        (false, f) => spec
            .and_then(|s| s.codes.get(r.code))
            .map(|c| c.templates(f))
            .unwrap_or_default(),
    };
    let (message, remediation_text, commands, code_docs) = if r.engine {
        let e = catalog.engine.get(r.code);
        (
            e.map(|e| e.message.clone())
                .unwrap_or_else(|| r.code.to_string()),
            e.and_then(|e| e.remediation.clone()),
            Vec::new(),
            None,
        )
    } else {
        let c = spec.and_then(|s| s.codes.get(r.code));
        (
            c.map(|c| c.message.clone())
                .unwrap_or_else(|| r.code.to_string()),
            c.and_then(|c| c.remediation.clone()),
            c.map(|c| c.commands.clone()).unwrap_or_default(),
            c.and_then(|c| c.docs_url.clone()),
        )
    };
    let remediation = remediation_text.map(|text| Remediation {
        text: fill(&text, &vars),
        // a command that cannot be filled completely is left out rather than shown broken
        commands: commands
            .iter()
            .filter(|cmd| unresolved(cmd, &vars).is_empty())
            .map(|cmd| fill(cmd, &vars))
            // an optional part that is not shown can leave a command empty
            .filter(|cmd| !cmd.trim().is_empty())
            .collect(),
        fix: (fix != FixFormat::Cli).then(|| {
            let sv = snippet_vars(&raw_vars, fix);
            Fix {
                format: fix,
                snippets: snippet_templates
                    .iter()
                    .filter(|t| unresolved(t, &sv).is_empty())
                    .map(|t| fill(t, &sv).trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect(),
            }
        }),
    });
    let docs_url = code_docs.or_else(|| spec.and_then(|s| s.docs_url.clone()));
    CheckEntry {
        id: r.id.clone(),
        title: spec.map(|s| s.title.clone()).unwrap_or_default(),
        status: r.status,
        code: r.code.to_string(),
        engine: r.engine,
        message: fill(&message, &vars),
        remediation,
        docs_url,
        skipped_because: r.skipped_because.clone(),
        duration_ms: r.duration.as_millis() as u64,
        facts: r.facts.clone(),
    }
}

/// The checks a person has to act on (warn, fail, error), in report order.
pub fn to_act_on(r: &Report) -> Vec<&CheckEntry> {
    r.checks
        .iter()
        .filter(|c| matches!(c.status, Severity::Warn | Severity::Fail | Severity::Error))
        .collect()
}

pub fn status_label(s: Severity) -> &'static str {
    match s {
        Severity::Pass => "PASS",
        Severity::Warn => "WARN",
        Severity::Fail => "FAIL",
        Severity::Skip => "SKIP",
        Severity::Error => "ERROR",
    }
}

/// What "What to do" shows of a remediation: the snippets of `--fix-format`, or the
/// commands, with a note (`fix_fallback`) when the chosen form has no snippet for this fix.
pub enum FixView<'a> {
    Commands(&'a [String]),
    Snippets(FixFormat, &'a [String]),
    Fallback(&'a str, &'a [String]),
}

pub fn fix_view<'a>(report: &'a Report, r: &'a Remediation) -> FixView<'a> {
    match &r.fix {
        Some(f) if !f.snippets.is_empty() => FixView::Snippets(f.format, &f.snippets),
        Some(_) if !r.commands.is_empty() => {
            FixView::Fallback(word(report, "fix_fallback"), &r.commands)
        }
        _ => FixView::Commands(&r.commands),
    }
}

/// One of the report's own words (see [`Report::words`]).
pub fn word<'a>(r: &'a Report, key: &'a str) -> &'a str {
    r.words.get(key).map(String::as_str).unwrap_or(key)
}

/// `4 passed, 1 warned, ...` for the table and markdown footers.
pub fn summary_line(r: &Report) -> String {
    word(r, "summary").to_string()
}

/// `region us-east-1 · account ... · registry ...`
pub fn context_line(r: &Report) -> String {
    let c = &r.context;
    let mut parts = Vec::new();
    if let Some(h) = c.host.name() {
        parts.push(format!("host {h}"));
    }
    for (k, v) in [
        ("region", &c.region),
        ("account", &c.account),
        ("registry", &c.registry),
        ("vpc", &c.vpc),
        ("subnet", &c.subnet),
        ("az", &c.availability_zone),
        ("image", &c.image),
    ] {
        if let Some(v) = v {
            match (k, &c.vpc_source) {
                ("vpc", Some(src)) if src != "flag" => {
                    parts.push(format!("vpc {v} ({})", word(r, "vpc_source")))
                }
                _ => parts.push(format!("{k} {v}")),
            }
        }
    }
    parts.join(" · ")
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::engine::CheckResult;

    pub fn sample() -> Report {
        let cat = Catalog::embedded();
        let results = vec![
            CheckResult {
                id: "identity.caller".into(),
                status: Severity::Pass,
                code: "ok",
                engine: false,
                facts: serde_json::json!({"arn": "arn:aws:iam::123456789012:user/me", "account": "123456789012"})
                    .as_object()
                    .unwrap()
                    .clone(),
                skipped_because: vec![],
                duration: Duration::from_millis(12),
            },
            CheckResult {
                id: "token.get".into(),
                status: Severity::Fail,
                code: "access-denied",
                engine: false,
                facts: serde_json::json!({"arn": "arn:aws:iam::123456789012:user/me", "error": "HTTP 403 AccessDenied: no", "iam_kind": "user", "iam_name": "me"})
                    .as_object()
                    .unwrap()
                    .clone(),
                skipped_because: vec![],
                duration: Duration::from_millis(20),
            },
            CheckResult {
                id: "env.proxy".into(),
                status: Severity::Skip,
                code: "dependency-not-passed",
                engine: true,
                facts: Map::new(),
                skipped_because: vec!["token.get".into()],
                duration: Duration::ZERO,
            },
        ];
        let ctx = Context {
            region: Some("us-east-1".into()),
            account: Some("123456789012".into()),
            registry: Some("123456789012.dkr.ecr.us-east-1.amazonaws.com".into()),
            ..Default::default()
        };
        Report::build(
            &cat,
            &results,
            ctx,
            "2026-11-29T00:00:00Z".into(),
            Duration::from_millis(40),
        )
    }

    #[test]
    fn builds_messages_remediation_and_summary() {
        let r = sample();
        assert_eq!(
            r.summary,
            Summary {
                pass: 1,
                warn: 0,
                fail: 1,
                skip: 1,
                error: 0
            }
        );
        assert_eq!(r.exit_code(false), 1);
        assert!(r.checks[0]
            .message
            .contains("arn:aws:iam::123456789012:user/me"));
        assert!(r.checks[0].remediation.is_none());
        let rem = r.checks[1].remediation.as_ref().unwrap();
        assert!(
            rem.commands[0].starts_with("aws iam put-user-policy --user-name me "),
            "{}",
            rem.commands[0]
        );
        assert!(rem.commands[0]
            .contains(r#"{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}"#));
        assert_eq!(
            r.checks[2].message,
            "Skipped: needs token.get to pass first"
        );
    }

    #[test]
    fn service_names_follow_the_partition() {
        let cat = Catalog::embedded();
        let res = CheckResult {
            id: "token.get".into(),
            status: Severity::Fail,
            code: "unreachable",
            engine: false,
            facts: serde_json::json!({"error": "timeout", "endpoint": "api.ecr.cn-north-1.amazonaws.com.cn"})
                .as_object()
                .unwrap()
                .clone(),
            skipped_because: vec![],
            duration: Duration::ZERO,
        };
        for (region, want) in [
            ("cn-north-1", "cn.com.amazonaws.cn-north-1.ecr.api"),
            ("us-gov-west-1", "com.amazonaws.us-gov-west-1.ecr.api"),
        ] {
            let ctx = Context {
                region: Some(region.into()),
                ..Default::default()
            };
            let r = Report::build(
                &cat,
                std::slice::from_ref(&res),
                ctx,
                String::new(),
                Duration::ZERO,
            );
            let rem = r.checks[0].remediation.as_ref().unwrap();
            assert!(rem.text.contains(want), "{region}: {}", rem.text);
            assert!(rem.commands.iter().any(|c| c.contains(want)), "{region}");
        }
    }

    #[test]
    fn fix_format_picks_the_snippets_or_says_there_are_none() {
        let cat = Catalog::embedded();
        let mut results = vec![sample_result("token.get", "access-denied")];
        results[0].facts = serde_json::json!({"arn": "arn:aws:iam::123456789012:role/r", "error": "denied", "iam_kind": "role", "iam_name": "r", "iam_role": "r"})
            .as_object()
            .unwrap()
            .clone();
        // a code without templates: the commands, and a word saying so
        results.push(sample_result("identity.clock-skew", "clock-skew"));
        let build = |f| {
            Report::build_with_fix(
                &cat,
                &results,
                Context::default(),
                String::new(),
                Duration::ZERO,
                f,
            )
        };
        let cli = build(FixFormat::Cli);
        assert!(cli.checks[0].remediation.as_ref().unwrap().fix.is_none());
        let tf = build(FixFormat::Terraform);
        let fix = tf.checks[0]
            .remediation
            .as_ref()
            .unwrap()
            .fix
            .as_ref()
            .unwrap();
        assert_eq!(fix.format, FixFormat::Terraform);
        assert_eq!(fix.snippets.len(), 1, "the role's, not the user's");
        assert!(fix.snippets[0].contains("resource \"aws_iam_role_policy\""));
        assert!(fix.snippets[0].contains("role   = \"r\""));
        let table = table::render(&tf, false, 120, false);
        assert!(
            table.contains("    resource \"aws_iam_role_policy\""),
            "{table}"
        );
        assert!(!table.contains("$ aws iam put-role-policy"), "{table}");
        assert!(
            table.contains("(no Terraform form of this fix: the AWS CLI commands)\n  $ "),
            "{table}"
        );
        let md = markdown::render(&build(FixFormat::Cloudformation));
        assert!(md.contains("```yaml\nAWSTemplateFormatVersion"), "{md}");
        assert!(md.contains("Type: AWS::IAM::RolePolicy"), "{md}");
        assert!(md.contains("(no CloudFormation form of this fix"), "{md}");
        let json: serde_json::Value = serde_json::from_str(&json::render(&tf)).unwrap();
        assert_eq!(
            json["checks"][0]["remediation"]["fix"]["format"],
            "terraform"
        );
        assert_eq!(
            json["checks"][1]["remediation"]["fix"]["snippets"],
            serde_json::json!([])
        );
    }

    fn sample_result(id: &str, code: &'static str) -> CheckResult {
        CheckResult {
            id: id.into(),
            status: Severity::Warn,
            code,
            engine: false,
            facts: serde_json::json!({"skew_seconds": 90, "direction": "behind", "local": "a", "aws": "b", "seconds": 90})
                .as_object()
                .unwrap()
                .clone(),
            skipped_because: vec![],
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn unfillable_commands_are_dropped() {
        let mut r = sample();
        let cat = Catalog::embedded();
        let mut res = CheckResult {
            id: "token.get".into(),
            status: Severity::Fail,
            code: "access-denied",
            engine: false,
            facts: serde_json::json!({"arn": "arn:aws:iam::123456789012:root", "error": "denied"})
                .as_object()
                .unwrap()
                .clone(),
            skipped_because: vec![],
            duration: Duration::ZERO,
        };
        r.checks[1] = entry(&cat, &res, &Map::new(), FixFormat::Cli);
        assert!(r.checks[1]
            .remediation
            .as_ref()
            .unwrap()
            .commands
            .is_empty());
        res.status = Severity::Warn;
        let warn_only = Report::build(
            &cat,
            &[res],
            Context::default(),
            String::new(),
            Duration::ZERO,
        );
        assert_eq!(warn_only.exit_code(false), 0);
        assert_eq!(warn_only.exit_code(true), 1);
    }
}
