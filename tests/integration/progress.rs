//! Live progress on stderr: on a terminal, for the table, once a run takes more than half a
//! second; never when stderr is not a terminal or the output is JSON or markdown.

use crate::harness::{doctor, doctor_on_tty, fake_server, pairs, Run};

/// Credentials from the environment and an AWS endpoint that accepts and never answers:
/// identity.caller takes the whole --timeout (1 s), its dependents wait for it.
fn slow_world() -> Vec<(String, String)> {
    pairs(&[
        ("AWS_ENDPOINT_URL", &fake_server(None)),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
        ),
    ])
}

const SLOW: [&str; 4] = ["--timeout", "1s", "--color", "never"];

/// The terminal's lines, each redraw of the status line on its own.
fn screens(r: &Run) -> Vec<&str> {
    r.stderr
        .split("\r\n")
        .flat_map(|l| l.split("\r\x1b[2K"))
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn a_slow_run_on_a_terminal_shows_progress_on_stderr() {
    let r = doctor_on_tty(&slow_world(), &SLOW);
    assert_eq!(r.code, 1, "stdout: {}\nterminal: {:?}", r.stdout, r.stderr);
    let lines = screens(&r);
    assert!(
        lines[0].starts_with("ecr-doctor: running ") && lines[0].contains(" checks in us-east-1"),
        "{lines:#?}"
    );
    // each check as it finishes, in finishing order: the fast ones before identity.caller
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in {lines:#?}"))
    };
    let caller = at("FAIL  identity.caller ");
    assert!(at("PASS  credentials.source ") < caller);
    assert!(at("PASS  env.proxy ") < caller);
    assert!(caller < at("SKIP  token.get"));
    // while identity.caller waits on the endpoint, the status line names it
    let status = lines[..caller]
        .iter()
        .find(|l| l.contains('/') && l.split(' ').any(|w| w == "identity.caller"))
        .unwrap_or_else(|| panic!("no status line naming identity.caller: {lines:#?}"));
    assert!(status.chars().count() < 80, "{status}");
    // the status line is erased at the end, and stdout has the plain table alone
    assert!(r.stderr.ends_with("\r\x1b[2K"), "{:?}", r.stderr);
    assert!(r.stdout.starts_with("ecr-doctor "), "{}", r.stdout);
    assert!(!r.stdout.contains('\x1b') && !r.stdout.contains('\r'));
    assert!(
        r.stdout.contains("│ FAIL   ┆ identity.caller "),
        "{}",
        r.stdout
    );
    assert_one_line_rows(&r.stdout, 110);
}

/// Every row of the table is one line (a cell wrapped onto a second line would start
/// `│        ┆`) and none is wider than `width`.
fn assert_one_line_rows(stdout: &str, width: usize) {
    let table: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with('┌'))
        .take_while(|l| !l.is_empty())
        .collect();
    let rows = &table[3..table.len() - 1];
    assert!(rows.len() >= 19, "{stdout}");
    for row in rows {
        assert!(
            ["PASS", "WARN", "FAIL", "SKIP", "ERROR"]
                .iter()
                .any(|s| row.starts_with(&format!("│ {s} "))),
            "{row}"
        );
    }
    for line in table {
        assert!(line.chars().count() <= width, "{line}");
    }
}

#[test]
fn no_progress_when_piped_or_json() {
    let mut env = slow_world();
    env.extend(pairs(&[("COLUMNS", "80")]));
    let piped = doctor(&env, &SLOW);
    assert_eq!(piped.code, 1);
    assert_one_line_rows(&piped.stdout, 80);
    assert_eq!(piped.stderr, "", "stderr is not a terminal");

    let mut json = SLOW.to_vec();
    json.extend(["--output", "json"]);
    let r = doctor_on_tty(&slow_world(), &json);
    assert_eq!(r.code, 1);
    assert_eq!(r.check("identity.caller").0, "fail");
    assert_eq!(r.stderr, "", "JSON on a terminal");

    let mut md = SLOW.to_vec();
    md.extend(["--output", "markdown"]);
    let r = doctor_on_tty(&slow_world(), &md);
    assert!(r.stdout.starts_with("# ecr-doctor report"), "{}", r.stdout);
    assert_eq!(r.stderr, "", "markdown on a terminal");
}
