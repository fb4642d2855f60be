//! `--fix-format terraform|cloudformation` (issue 10): the lab worlds whose fixes have a
//! Terraform and a CloudFormation form are run in both, and every snippet they produce must
//! parse: Terraform as HCL (hcl-edit, the parser of hcl-rs), CloudFormation with cfn-lint
//! (PyPI, installed in the lab venv by `tests/lab/lab.sh install`), which must report no
//! errors and no warnings. Every catalog code with templates must be among those seen, so
//! that the test cannot pass by producing nothing.

use crate::harness::{doctor, lab_python, validate_schema, Moto, Run};
use ecr_doctor::catalog::{fill, placeholders, snippet_vars, Catalog, FixFormat};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

const OTHER: &str = "210987654321.dkr.ecr.us-east-1.amazonaws.com";
const VPC_CHECKS: &str =
    "vpc.dns-attributes,vpc.endpoint.ecr-api,vpc.endpoint.ecr-dkr,vpc.endpoint.s3";

/// The worlds, each with the `id=status/code` the fix is for.
const VPC_WORLDS: &[(&str, &[&str])] = &[
    (
        "no-endpoints",
        &[
            "vpc.endpoint.ecr-api=fail/missing",
            "vpc.endpoint.ecr-dkr=fail/missing",
            "vpc.endpoint.s3=fail/missing",
        ],
    ),
    (
        "no-endpoints-nat",
        &[
            "vpc.endpoint.ecr-api=warn/missing-internet-route",
            "vpc.endpoint.ecr-dkr=warn/missing-internet-route",
            "vpc.endpoint.s3=warn/missing-internet-route",
        ],
    ),
    (
        "s3-interface-only",
        &["vpc.endpoint.s3=warn/interface-only"],
    ),
    (
        "sg-blocks-443",
        &[
            "vpc.endpoint.ecr-api=fail/security-group-blocks-443",
            "vpc.endpoint.ecr-dkr=fail/security-group-blocks-443",
        ],
    ),
    (
        "api-policy-denies",
        &["vpc.endpoint.ecr-api=fail/policy-denies"],
    ),
    (
        "dkr-policy-denies",
        &["vpc.endpoint.ecr-dkr=fail/policy-denies"],
    ),
    (
        "s3-not-associated",
        &["vpc.endpoint.s3=fail/route-table-not-associated"],
    ),
    (
        "s3-policy-denies",
        &["vpc.endpoint.s3=fail/policy-denies-layer-bucket"],
    ),
    (
        "dns-hostnames-off",
        &["vpc.dns-attributes=fail/dns-hostnames-disabled"],
    ),
    (
        "dns-support-off",
        &["vpc.dns-attributes=fail/dns-support-disabled"],
    ),
];

/// Lab roles of `role.permissions` and the code each gets.
const ROLES: &[(&str, &str)] = &[
    ("lab-role-missing", "fail/missing-actions"),
    ("lab-role-no-check-layer", "warn/check-layer-missing"),
    ("lab-role-token-scoped", "fail/token-scoped-to-repository"),
];

/// One snippet and where it came from.
struct Snippet {
    origin: String,
    text: String,
}

/// Every snippet of a JSON report, with `(check, code)` of each result that had some.
fn snippets(r: &Run, format: &str, out: &mut Vec<Snippet>, seen: &mut BTreeSet<(String, String)>) {
    let v = r.json();
    for c in v["checks"].as_array().unwrap() {
        let Some(fix) = c["remediation"].get("fix") else {
            continue;
        };
        assert_eq!(fix["format"], format, "{c}");
        let list = fix["snippets"].as_array().unwrap();
        let (id, code) = (
            c["id"].as_str().unwrap().to_string(),
            c["code"].as_str().unwrap().to_string(),
        );
        if !list.is_empty() {
            seen.insert((id.clone(), code.clone()));
        }
        for s in list {
            out.push(Snippet {
                origin: format!("{id}/{code}"),
                text: s.as_str().unwrap().to_string(),
            });
        }
    }
}

/// `{name}` left in a snippet: a placeholder that was not filled.
fn unfilled(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let tail = &rest[i + 1..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        if end > 0 && tail[end..].starts_with('}') {
            return Some(tail[..end].to_string());
        }
        rest = tail;
    }
    None
}

/// The Terraform resource types the snippets may use (the AWS provider's).
const TF_TYPES: &[&str] = &[
    "aws_vpc_endpoint",
    "aws_security_group",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_endpoint_route_table_association",
    "aws_vpc_endpoint_policy",
    "aws_vpc",
    "aws_iam_role_policy",
    "aws_iam_user_policy",
    "aws_ecr_repository_policy",
];

fn check_hcl(s: &Snippet) {
    let body = hcl_edit::parser::parse_body(&s.text)
        .unwrap_or_else(|e| panic!("{}: not HCL: {e}\n{}", s.origin, s.text));
    let mut resources = 0;
    for structure in body.iter() {
        let block = structure
            .as_block()
            .unwrap_or_else(|| panic!("{}: a top-level attribute\n{}", s.origin, s.text));
        assert_eq!(block.ident.as_str(), "resource", "{}", s.origin);
        let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
        assert_eq!(labels.len(), 2, "{}: {labels:?}", s.origin);
        assert!(
            TF_TYPES.contains(&labels[0]),
            "{}: unexpected resource type {}",
            s.origin,
            labels[0]
        );
        resources += 1;
    }
    assert!(resources > 0, "{}: no resource\n{}", s.origin, s.text);
}

/// All CloudFormation snippets in one cfn-lint run (it takes about a second to start).
fn check_cloudformation(all: &[Snippet]) {
    let cfn_lint = lab_python().with_file_name("cfn-lint");
    assert!(
        cfn_lint.exists(),
        "cfn-lint is not in the lab venv: run `tests/lab/lab.sh install`"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, s) in all.iter().enumerate() {
        assert!(
            s.text
                .starts_with("AWSTemplateFormatVersion: \"2010-09-09\"\n"),
            "{}: {}",
            s.origin,
            s.text
        );
        assert!(s.text.contains("\nResources:\n"), "{}", s.origin);
        let path = dir.path().join(format!("{i:02}.yaml"));
        std::fs::write(&path, &s.text).unwrap();
        files.push(path);
    }
    let out = Command::new(&cfn_lint)
        .args(["--regions", "us-east-1", "--format", "parseable", "--"])
        .args(&files)
        .output()
        .expect("run cfn-lint");
    let report = String::from_utf8_lossy(&out.stdout);
    let with_origin: Vec<String> = report
        .lines()
        .map(|l| {
            let i: Option<usize> = l
                .rsplit('/')
                .next()
                .and_then(|f| f.get(..2))
                .and_then(|n| n.parse().ok());
            match i {
                Some(i) => format!("{} ({}): {l}\n{}", all[i].origin, i, all[i].text),
                None => l.to_string(),
            }
        })
        .collect();
    // exit status: 0 clean; bit 2 errors, 4 warnings, 8 informational
    assert_eq!(
        out.status.code(),
        Some(0),
        "cfn-lint:\n{}\n{}",
        with_origin.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run_all(format: &str) -> (Vec<Snippet>, BTreeSet<(String, String)>) {
    let mut all = Vec::new();
    let mut seen = BTreeSet::new();
    let pid = std::process::id().to_string();
    let lab = Moto::start(&["--vpc-worlds", "--parent-pid", &pid], &[]);
    for (name, want) in VPC_WORLDS {
        let w = &lab.ready["vpc_worlds"][name];
        let r = doctor(
            &lab.env_as("lab-healthy"),
            &[
                "--output",
                "json",
                "--fix-format",
                format,
                "--only",
                VPC_CHECKS,
                "--vpc",
                w["vpc_id"].as_str().unwrap(),
                "--subnet",
                w["subnet_id"].as_str().unwrap(),
            ],
        );
        assert_eq!(r.not_passing(), *want, "world {name}");
        let before = all.len();
        snippets(&r, format, &mut all, &mut seen);
        // the real ids are filled in
        let text: String = all[before..].iter().map(|s| s.text.as_str()).collect();
        assert!(
            text.contains(w["vpc_id"].as_str().unwrap()) || text.contains("vpce-"),
            "{name}: {text}"
        );
    }
    for (role, want) in ROLES {
        let arn = lab.ready["pull_roles"][role].as_str().unwrap().to_string();
        let r = doctor(
            &lab.env_as("lab-healthy"),
            &[
                "--output",
                "json",
                "--fix-format",
                format,
                "--only",
                "role.permissions",
                "--role-arn",
                &arn,
                "--image",
                "lab/app:1.0",
            ],
        );
        let (s, c) = r.check("role.permissions");
        assert_eq!(format!("{s}/{}", c.unwrap_or_default()), *want, "{role}");
        let before = all.len();
        snippets(&r, format, &mut all, &mut seen);
        let role_name = arn.rsplit('/').next().unwrap();
        assert!(
            all[before..].iter().all(|s| s.text.contains(role_name)),
            "{role}"
        );
    }
    // repository policies: another account's, and the caller's own for an execution role
    // of another account (lab/app has no policy)
    let exec = lab.ready["other_account"]["exec_role"]
        .as_str()
        .expect("lab exec role of the other account")
        .to_string();
    let readable = format!("{OTHER}/shared/readable:1.0");
    let no_check_layer = format!("{OTHER}/shared/no-check-layer:1.0");
    let worlds: [(&[&str], &str); 3] = [
        (&["--image", &readable], "fail/cross-account-not-granted"),
        (
            &["--image", &no_check_layer],
            "warn/check-layer-not-granted",
        ),
        (
            &["--image", "lab/app:1.0", "--role-arn", &exec],
            "fail/no-repository-policy",
        ),
    ];
    for (extra, want) in worlds {
        let mut args = vec![
            "--output",
            "json",
            "--fix-format",
            format,
            "--only",
            "repo.policy",
        ];
        args.extend_from_slice(extra);
        let r = doctor(&lab.env_as("lab-healthy"), &args);
        let (s, c) = r.check("repo.policy");
        assert_eq!(format!("{s}/{}", c.unwrap_or_default()), want, "{extra:?}");
        snippets(&r, format, &mut all, &mut seen);
    }
    // a user denied the token, with IAM enforced
    let enforcing = Moto::start(&["--enforce-auth", "--parent-pid", &pid], &[]);
    let r = doctor(
        &enforcing.env_as("lab-no-ecr-token"),
        &[
            "--output",
            "json",
            "--fix-format",
            format,
            "--only",
            "token.get",
        ],
    );
    assert_eq!(
        r.check("token.get"),
        ("fail".into(), Some("access-denied".into()))
    );
    // `fix` is in the report's schema
    validate_schema(&r.stdout);
    let before = all.len();
    snippets(&r, format, &mut all, &mut seen);
    assert!(all[before..]
        .iter()
        .any(|s| s.text.contains("lab-no-ecr-token")));
    for s in &all {
        assert!(unfilled(&s.text).is_none(), "{}: {}", s.origin, s.text);
    }
    (all, seen)
}

/// `(check, code)` of every catalog code that has Terraform and CloudFormation templates.
fn templated() -> BTreeSet<(String, String)> {
    let cat = Catalog::embedded();
    let mut out = BTreeSet::new();
    for c in &cat.checks {
        for (code, spec) in &c.codes {
            if !spec.terraform.is_empty() {
                out.insert((c.id.clone(), code.clone()));
            }
        }
    }
    out
}

/// Every template of the catalog in `format`, filled with sample ids of the right shapes
/// (cfn-lint checks id patterns): also the variants no lab world shows, such as the new
/// security group of a missing interface endpoint when no group admits 443.
fn samples(format: FixFormat) -> Vec<Snippet> {
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/team": "${aws:username}"}}}]})
    .to_string();
    let sample = |name: &str| -> Option<Value> {
        Some(match name {
            "vpc_id" => json!("vpc-0123456789abcdef0"),
            "vpc_cidr" => json!("10.20.0.0/16"),
            "client_cidr" | "new_group_cidr" => json!("10.20.1.0/24"),
            "service_name" => json!("com.amazonaws.us-east-1.ecr.dkr"),
            "endpoint_id" => json!("vpce-0123456789abcdef0"),
            "endpoint_group" | "group_for_cmd" => json!("sg-0123456789abcdef0"),
            "endpoint_groups" => json!(["sg-0123456789abcdef0", "sg-0123456789abcdef1"]),
            "create_subnet_ids" | "endpoint_subnets" => {
                json!(["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"])
            }
            "route_table" => json!("rtb-0123456789abcdef0"),
            "route_tables_with_client" | "route_tables_with_endpoint" => {
                json!(["rtb-0123456789abcdef1", "rtb-0123456789abcdef0"])
            }
            "private_dns" => json!(true),
            "merged_policy" | "policy_document" => json!(policy),
            "iam_user" => json!("ci-deployer"),
            "iam_role" | "role_name" => json!("ecsTaskExecutionRole"),
            "role_account" | "registry_account" => json!("210987654321"),
            "repository" => json!("team/app"),
            "caller_arn" => json!("arn:aws:iam::123456789012:root"),
            "caller_account" => json!("123456789012"),
            _ => return None,
        })
    };
    let mut out = Vec::new();
    for c in &Catalog::embedded().checks {
        for (code, spec) in &c.codes {
            for t in spec.templates(format) {
                let mut vars = Map::new();
                for name in placeholders(t) {
                    let v = sample(&name).unwrap_or_else(|| {
                        panic!("{}/{code}: no sample value for {{{name}}}", c.id)
                    });
                    vars.insert(name, v);
                }
                out.push(Snippet {
                    origin: format!("{}/{code} (sample ids)", c.id),
                    text: fill(t, &snippet_vars(&vars, format)).trim().to_string(),
                });
            }
        }
    }
    out
}

#[test]
fn every_terraform_snippet_parses_as_hcl() {
    let (mut all, seen) = run_all("terraform");
    all.extend(samples(FixFormat::Terraform));
    assert_eq!(
        seen,
        templated(),
        "codes with templates the lab worlds showed"
    );
    for s in &all {
        check_hcl(s);
    }
    // spot checks: the resources and arguments of the AWS provider, with the real ids
    let by: BTreeMap<&str, Vec<&str>> = all.iter().fold(BTreeMap::new(), |mut m, s| {
        m.entry(s.origin.as_str())
            .or_default()
            .push(s.text.as_str());
        m
    });
    let assoc = by["vpc.endpoint.s3/route-table-not-associated"].join("\n");
    assert!(
        assoc.contains("resource \"aws_vpc_endpoint_route_table_association\""),
        "{assoc}"
    );
    assert!(assoc.contains("route_table_id  = \"rtb-"), "{assoc}");
    let rule = by["vpc.endpoint.ecr-api/security-group-blocks-443"].join("\n");
    for part in [
        "security_group_id = \"sg-",
        "from_port         = 443",
        "ip_protocol       = \"tcp\"",
    ] {
        assert!(rule.contains(part), "{part}: {rule}");
    }
    let missing = by["vpc.endpoint.ecr-dkr/missing"].join("\n");
    assert!(
        missing.contains("subnet_ids          = [\"subnet-"),
        "{missing}"
    );
    let token = by["token.get/access-denied"].join("\n");
    assert!(
        token.contains("resource \"aws_iam_user_policy\""),
        "{token}"
    );
    assert!(
        token.contains("jsonencode({\"Version\":\"2012-10-17\""),
        "{token}"
    );
}

#[test]
fn every_cloudformation_snippet_passes_cfn_lint() {
    let (all, seen) = run_all("cloudformation");
    assert_eq!(
        seen,
        templated(),
        "codes with templates the lab worlds showed"
    );
    check_cloudformation(&all);
    let assoc: Vec<&Snippet> = all
        .iter()
        .filter(|s| s.origin == "vpc.endpoint.s3/route-table-not-associated")
        .collect();
    assert_eq!(assoc.len(), 1);
    // the endpoint's route tables and the client's
    assert!(
        assoc[0].text.contains("RouteTableIds: [\"rtb-"),
        "{}",
        assoc[0].text
    );
    assert!(assoc[0].text.contains("\", \"rtb-"), "{}", assoc[0].text);
}

#[test]
fn the_cli_form_is_the_default_and_unchanged() {
    let lab = Moto::start(&["--enforce-auth"], &[]);
    let args = ["--output", "json", "--only", "token.get"];
    let plain = doctor(&lab.env_as("lab-no-ecr-token"), &args);
    let e = plain.entry("token.get");
    assert!(e["remediation"].get("fix").is_none(), "{e}");
    let mut with = args.to_vec();
    with.extend(["--fix-format", "cli"]);
    let cli = doctor(&lab.env_as("lab-no-ecr-token"), &with);
    assert_eq!(cli.entry("token.get")["remediation"], e["remediation"]);
    // the table shows the snippets instead of the commands, or says there are none
    let table = doctor(
        &lab.env_as("lab-no-ecr-token"),
        &["--only", "token.get", "--fix-format", "terraform"],
    );
    assert!(
        table
            .stdout
            .contains("    resource \"aws_iam_user_policy\" \"ecr_get_authorization_token\" {"),
        "{}",
        table.stdout
    );
    assert!(
        !table.stdout.contains("$ aws iam put-user-policy"),
        "{}",
        table.stdout
    );
    let md = doctor(
        &lab.env_as("lab-no-ecr-token"),
        &[
            "--only",
            "token.get",
            "--fix-format",
            "cloudformation",
            "--output",
            "markdown",
        ],
    );
    assert!(
        md.stdout
            .contains("```yaml\nAWSTemplateFormatVersion: \"2010-09-09\"\n"),
        "{}",
        md.stdout
    );
}
