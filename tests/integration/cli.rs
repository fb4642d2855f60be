//! Runs without the lab: check selection and colour (the cases of flags, help and exit
//! codes are data: tests/cmd, run by cmd.rs).

use crate::harness::{clean_env, doctor, pairs, run_of, OFFLINE_SKIP};
use std::process::Command;

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
    assert_eq!(
        r.check("credentials.source"),
        ("skip".into(), Some("skipped-by-user".into()))
    );
    assert_eq!(
        r.check("token.get"),
        ("skip".into(), Some("dependency-not-passed".into()))
    );
    assert_eq!(r.code, 0, "skips alone do not fail");
}

/// A run that renders a table without the network: no credentials anywhere, so
/// `credentials.source` fails, and instance metadata is a closed loopback port.
const TABLE_RUN: [&str; 2] = ["--only", "credentials.source"];

fn has_escapes(s: &str) -> bool {
    s.contains("\x1b[")
}

/// The table was rendered (an assertion on escapes means something only then).
fn assert_table(out: &str) {
    assert!(
        out.contains("credentials.source") && out.contains("FAIL"),
        "no table:\n{out}"
    );
}

#[test]
fn colour_follows_the_flag() {
    let r = doctor(&[], &[&TABLE_RUN[..], &["--color", "always"]].concat());
    assert_table(&r.stdout);
    assert!(has_escapes(&r.stdout), "--color always:\n{}", r.stdout);
    // NO_COLOR does not override an explicit request
    let r = doctor(
        &pairs(&[("NO_COLOR", "1")]),
        &[&TABLE_RUN[..], &["--color", "always"]].concat(),
    );
    assert!(has_escapes(&r.stdout), "--color always with NO_COLOR");
    let r = doctor(&[], &[&TABLE_RUN[..], &["--color", "never"]].concat());
    assert_table(&r.stdout);
    assert!(!has_escapes(&r.stdout), "--color never:\n{}", r.stdout);
}

/// Runs the doctor (clean environment plus `env`) with `--color auto` under a
/// pseudo-terminal made by util-linux `script`, with `shell_tail` (e.g. `| cat`) after it;
/// returns what the terminal showed.
fn on_a_terminal(env: &[(&str, &str)], shell_tail: &str) -> String {
    let script = std::path::Path::new("/usr/bin/script");
    assert!(
        script.exists(),
        "the terminal tests need `script` from util-linux (apt-get install bsdutils)"
    );
    let home = tempfile::tempdir().unwrap();
    let mut words = vec![env!("CARGO_BIN_EXE_ecr-doctor")];
    words.extend(TABLE_RUN);
    words.extend(["--skip", OFFLINE_SKIP, "--color", "auto"]);
    let line = words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new(script);
    clean_env(&mut cmd, home.path());
    cmd.env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1")
        .env("AWS_REGION", "us-east-1")
        .env("TERM", "xterm")
        .envs(env.iter().copied())
        .args(["-qec", &format!("{line} {shell_tail}"), "/dev/null"]);
    let r = run_of(cmd.output().expect("run script"));
    assert!(r.stderr.is_empty(), "script: {}", r.stderr);
    r.stdout
}

#[test]
fn colour_auto_follows_the_terminal_and_no_color() {
    let tty = on_a_terminal(&[], "");
    assert_table(&tty);
    assert!(has_escapes(&tty), "a terminal gets colour:\n{tty}");
    let no_color = on_a_terminal(&[("NO_COLOR", "1")], "");
    assert_table(&no_color);
    assert!(!has_escapes(&no_color), "NO_COLOR=1:\n{no_color}");
    // an empty NO_COLOR is not set (no-color.org)
    assert!(has_escapes(&on_a_terminal(&[("NO_COLOR", "")], "")));
    let piped = on_a_terminal(&[], "| cat");
    assert_table(&piped);
    assert!(!has_escapes(&piped), "stdout is a pipe:\n{piped}");
}
