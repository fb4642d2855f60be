//! Flags and exit codes, without the lab.

use crate::harness::{doctor, pairs};

fn usage(args: &[&str]) -> String {
    let r = doctor(&[], args);
    assert_eq!(
        r.code, 2,
        "{args:?} should be bad usage; stdout: {} stderr: {}",
        r.stdout, r.stderr
    );
    assert!(r.stdout.is_empty(), "{args:?}: nothing on stdout");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{args:?}: one line on stderr, got {:?}",
        r.stderr
    );
    assert!(lines[0].starts_with("ecr-doctor: "), "{:?}", lines[0]);
    lines[0].to_string()
}

#[test]
fn bad_flag_values_exit_2_with_one_line_naming_the_flag() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["--vpc", "vpc_123"], &["--vpc", "not a VPC id"]),
        (&["--subnet", "sn-1"], &["--subnet", "not a subnet id"]),
        (
            &["--security-group", "default"],
            &["--security-group", "security group id"],
        ),
        (&["--image", "App:Latest"], &["--image", "repository name"]),
        (&["--image", "app@sha256:abc"], &["--image", "64"]),
        (&["--timeout", "soon"], &["--timeout", "not a duration"]),
        (&["--timeout", "0s"], &["--timeout", "out of range"]),
        (&["--output", "xml"], &["--output", "xml"]),
        (&["--color", "sometimes"], &["--color"]),
        (&["--region", "useast1"], &["--region", "not an AWS region"]),
        (
            &["--registry", "docker.io"],
            &["--registry", "not an ECR registry host"],
        ),
        (
            &["--registry", "public.ecr.aws"],
            &["--registry", "ECR Public"],
        ),
        (
            &["--dns-server", "dns.local"],
            &["--dns-server", "IP or IP:PORT"],
        ),
        (&["--role-arn", "puller"], &["--role-arn", "IAM role ARN"]),
        (&["--bogus"], &["--bogus"]),
    ];
    for (args, needles) in cases {
        let line = usage(args);
        for n in *needles {
            assert!(line.contains(n), "{args:?}: {line:?} lacks {n:?}");
        }
    }
}

#[test]
fn bad_check_ids_and_conflicts_exit_2() {
    assert!(usage(&["--only", "token.get,nope"]).contains("unknown check id 'nope'"));
    assert!(usage(&["--skip", "tokens"]).contains("unknown check id 'tokens'"));
    let line = usage(&[
        "--region",
        "eu-west-1",
        "--registry",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    ]);
    assert!(line.contains("does not match"), "{line}");
}

#[test]
fn environment_problems_exit_2() {
    let r = doctor(&pairs(&[("AWS_CA_BUNDLE", "/nonexistent/ca.pem")]), &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("AWS_CA_BUNDLE=/nonexistent/ca.pem cannot be read"),
        "{}",
        r.stderr
    );
    // no region anywhere (the instance metadata endpoint is a closed loopback port)
    let r = doctor(&pairs(&[("AWS_REGION", "")]), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no AWS region"), "{}", r.stderr);
    let r = doctor(&pairs(&[("AWS_REGION", "useast1")]), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("'useast1' from the environment (AWS_REGION) is not an AWS region"),
        "{}",
        r.stderr
    );
}

#[test]
fn help_version_and_list_checks() {
    let r = doctor(&[], &["--help"]);
    assert_eq!(r.code, 0);
    for s in [
        "--vpc <VPC_ID>",
        "--timeout <DURATION>",
        "Examples:",
        "Exit status",
    ] {
        assert!(r.stdout.contains(s), "help lacks {s}");
    }
    let r = doctor(&[], &["--version"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("ecr-doctor "));
    let r = doctor(&[], &["--list-checks"]);
    assert_eq!(r.code, 0);
    let first: Vec<&str> = r
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        first[..5],
        [
            "credentials.source",
            "identity.caller",
            "identity.clock-skew",
            "token.get",
            "env.proxy"
        ]
    );
    assert!(r.stdout.contains("(needs identity.caller)"));
    let r = doctor(&[], &["--list-checks", "--output", "json"]);
    let v = r.json();
    assert_eq!(v["schema_version"], 1);
    let token = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "token.get")
        .unwrap();
    assert_eq!(token["depends_on"][0], "identity.caller");
    assert!(token["codes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["code"] == "access-denied" && c["severity"] == "fail"));
}

#[test]
fn only_runs_a_check_with_its_dependencies() {
    // no credentials, no network needed: env.proxy alone passes and exits 0
    let r = doctor(&[], &["--only", "env.proxy", "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.ids(), ["env.proxy"]);
    let r = doctor(&[], &["--only", "token.get", "--output", "json"]);
    assert_eq!(
        r.ids(),
        ["credentials.source", "identity.caller", "token.get"]
    );
    assert_eq!(r.code, 1, "no credentials here");
    let r = doctor(&[], &["--skip", "credentials.source", "--output", "json"]);
    assert_eq!(r.check("credentials.source"), ("skip".into(), None));
    assert_eq!(r.check("token.get"), ("skip".into(), None));
    assert_eq!(r.code, 0, "skips alone do not fail");
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let r = doctor(&[], &["--only", "env.proxy", "--color", "always"]);
    assert!(r.stdout.contains("\x1b["));
    let r = doctor(&[], &["--only", "env.proxy"]);
    assert!(!r.stdout.contains("\x1b["), "not a terminal: no colour");
    let r = doctor(
        &pairs(&[("NO_COLOR", "1")]),
        &["--only", "env.proxy", "--color", "auto"],
    );
    assert!(!r.stdout.contains("\x1b["));
}
