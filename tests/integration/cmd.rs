//! CLI cases as data: every `tests/cmd/*.toml` is one run of the doctor and what it must
//! print. A case file:
//!
//! ```toml
//! args = ["--vpc", "vpc_123"]          # after `ecr-doctor`
//! env = { AWS_REGION = "" }            # optional, on top of the clean environment below
//! status = 2                           # the exit status
//! stdout = ""                          # exact text, or
//! stderr_contains = ["--vpc", "not a VPC id"]   # pieces (stdout_contains too)
//! ```
//!
//! Exact text can also live next to the case, in `NAME.stdout` / `NAME.stderr` (for long
//! snapshots: `--help`, `--list-checks`); `{version}` there stands for the crate version.
//! `UPDATE_CMD=1 cargo test --test integration cmd::` rewrites every exact expectation that
//! differs (single-line `stdout = "..."` in the case file, or the companion file) with what
//! the doctor printed, instead of failing.
//!
//! Every case with status 2 is bad usage, and the runner also holds it to the contract: no
//! stdout, exactly one stderr line, starting `ecr-doctor: `.
//!
//! No case touches the network: each runs with only PATH, an empty HOME, region us-east-1,
//! instance metadata and every AWS endpoint on a closed loopback port, and the runner adds
//! `--skip dns.ecr-api,dns.ecr-dkr,dns.s3` (the only checks that would ask a real DNS
//! server) in front of every case's arguments.

use crate::harness::{clean_env, run_of, Run, OFFLINE_SKIP};
use clap::CommandFactory;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    status: i32,
    stdout: Option<String>,
    stderr: Option<String>,
    #[serde(default)]
    stdout_contains: Vec<String>,
    #[serde(default)]
    stderr_contains: Vec<String>,
}

/// Where the exact text of one stream is expected.
enum Exact {
    Inline(String),
    File(PathBuf, String),
}

impl Exact {
    fn text(&self) -> &str {
        match self {
            Exact::Inline(t) | Exact::File(_, t) => t,
        }
    }
}

struct Loaded {
    name: String,
    path: PathBuf,
    case: Case,
    stdout: Option<Exact>,
    stderr: Option<Exact>,
}

fn cmd_dir() -> PathBuf {
    crate::harness::repo().join("tests/cmd")
}

/// A closed loopback port: port 1 needs root to listen on, and nothing does.
const CLOSED: &str = "http://127.0.0.1:1";

fn load(path: &Path) -> Result<Loaded, String> {
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let case: Case = toml::from_str(&text).map_err(|e| format!("does not parse: {e}"))?;
    let exact = |stream: &str, inline: &Option<String>| -> Result<Option<Exact>, String> {
        let file = path.with_file_name(format!("{name}.{stream}"));
        match (inline, file.exists()) {
            (Some(_), true) => Err(format!(
                "{stream} is given twice: inline and in {}",
                file.display()
            )),
            (Some(t), false) => Ok(Some(Exact::Inline(t.clone()))),
            (None, true) => {
                let t = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
                Ok(Some(Exact::File(file, t)))
            }
            (None, false) => Ok(None),
        }
    };
    let stdout = exact("stdout", &case.stdout)?;
    let stderr = exact("stderr", &case.stderr)?;
    if stdout.is_none()
        && stderr.is_none()
        && case.stdout_contains.is_empty()
        && case.stderr_contains.is_empty()
    {
        return Err(
            "no expectation: give stdout, stderr, stdout_contains or stderr_contains".into(),
        );
    }
    Ok(Loaded {
        name,
        path: path.to_path_buf(),
        case,
        stdout,
        stderr,
    })
}

fn load_all() -> Vec<Loaded> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(cmd_dir())
        .expect("tests/cmd")
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let mut cases = Vec::new();
    let mut broken = Vec::new();
    for p in &paths {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext {
            "toml" => match load(p) {
                Ok(c) => cases.push(c),
                Err(e) => broken.push(format!("{}: {e}", p.display())),
            },
            // companion files must belong to a case
            "stdout" | "stderr" if p.with_extension("toml").exists() => {}
            _ => broken.push(format!("{}: not a case file", p.display())),
        }
    }
    assert!(
        broken.is_empty(),
        "bad files in tests/cmd:\n{}",
        broken.join("\n")
    );
    assert!(!cases.is_empty(), "no cases in tests/cmd");
    cases
}

fn run(case: &Case) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecr-doctor"));
    clean_env(&mut cmd, home.path());
    cmd.env("AWS_EC2_METADATA_SERVICE_ENDPOINT", CLOSED)
        .env("AWS_ENDPOINT_URL", CLOSED)
        .env("AWS_REGION", "us-east-1")
        .envs(&case.env)
        .args(["--skip", OFFLINE_SKIP])
        .args(&case.args);
    run_of(cmd.output().expect("run ecr-doctor"))
}

fn with_version(s: &str) -> String {
    s.replace("{version}", env!("CARGO_PKG_VERSION"))
}

/// A TOML basic string on one line.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// UPDATE_CMD=1: write `actual` where `exact` is expected.
fn update(case: &Loaded, stream: &str, exact: &Exact, actual: &str) -> Result<(), String> {
    let snapshot = actual.replace(env!("CARGO_PKG_VERSION"), "{version}");
    match exact {
        Exact::File(path, _) => std::fs::write(path, snapshot).map_err(|e| e.to_string()),
        Exact::Inline(_) => {
            let text = std::fs::read_to_string(&case.path).map_err(|e| e.to_string())?;
            let key = format!("{stream} = \"");
            let lines: Vec<&str> = text.lines().filter(|l| l.starts_with(&key)).collect();
            if lines.len() != 1 || lines[0].starts_with(&format!("{stream} = \"\"\"")) {
                return Err(format!(
                    "cannot rewrite {stream} in {}: only a one-line `{stream} = \"...\"` is \
                     rewritten; move the text to {}.{stream}",
                    case.path.display(),
                    case.name
                ));
            }
            let new = text.replacen(
                lines[0],
                &format!("{stream} = {}", toml_string(&snapshot)),
                1,
            );
            std::fs::write(&case.path, new).map_err(|e| e.to_string())
        }
    }
}

/// What is wrong with one run, empty when nothing is.
fn judge(case: &Loaded, r: &Run, updating: bool) -> Vec<String> {
    let c = &case.case;
    let mut wrong = Vec::new();
    if r.code != c.status {
        wrong.push(format!("status {} (expected {})", r.code, c.status));
    }
    for (stream, exact, contains, actual) in [
        ("stdout", &case.stdout, &c.stdout_contains, &r.stdout),
        ("stderr", &case.stderr, &c.stderr_contains, &r.stderr),
    ] {
        if let Some(exact) = exact {
            let expected = with_version(exact.text());
            if *actual != expected {
                if updating {
                    if let Err(e) = update(case, stream, exact, actual) {
                        wrong.push(e);
                    }
                } else {
                    wrong.push(format!(
                        "{stream} differs (UPDATE_CMD=1 rewrites it)\n--- expected\n{expected}\n--- actual\n{actual}"
                    ));
                }
            }
        }
        for piece in contains {
            if !actual.contains(&with_version(piece)) {
                wrong.push(format!("{stream} lacks {piece:?}"));
            }
        }
    }
    if c.status == 2 {
        // bad usage: nothing on stdout, one line on stderr naming the problem
        let lines: Vec<&str> = r.stderr.lines().collect();
        if !r.stdout.is_empty() {
            wrong.push("bad usage prints nothing on stdout".into());
        }
        if lines.len() != 1 || !lines[0].starts_with("ecr-doctor: ") {
            wrong.push("bad usage is exactly one stderr line starting `ecr-doctor: `".into());
        }
    }
    if !wrong.is_empty() {
        wrong.insert(0, format!("stdout: {:?}\nstderr: {:?}", r.stdout, r.stderr));
    }
    wrong
}

#[test]
fn cases_in_tests_cmd() {
    let updating = std::env::var_os("UPDATE_CMD").is_some_and(|v| v == "1");
    let mut failed = Vec::new();
    let cases = load_all();
    for case in &cases {
        let r = run(&case.case);
        let wrong = judge(case, &r, updating);
        if !wrong.is_empty() {
            failed.push(format!(
                "== {} ({:?}):\n{}",
                case.name,
                case.case.args,
                wrong.join("\n")
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cases in tests/cmd failed:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n\n")
    );
}

/// Does the case pass `--flag` (alone or as `--flag=value`)?
fn passes(case: &Case, flag: &str) -> bool {
    case.args
        .iter()
        .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
}

#[test]
fn every_flag_has_a_case() {
    let cases = load_all();
    let mut command = ecr_doctor::cli::Cli::command();
    command.build();
    let mut missing = Vec::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        let flag = format!("--{long}");
        // a bad use of the flag, with a message that names it
        let bad = cases.iter().any(|c| {
            c.case.status == 2
                && passes(&c.case, &flag)
                && (c.case.stderr_contains.iter().any(|s| s.contains(&flag))
                    || c.stderr.as_ref().is_some_and(|e| e.text().contains(&flag)))
        });
        if !bad {
            missing.push(format!("{flag}: no status-2 case whose stderr names it"));
        }
        // and a good one for what only prints: --help, --version, --list-checks
        let informational = matches!(long, "help" | "version" | "list-checks");
        if informational
            && !cases
                .iter()
                .any(|c| c.case.status == 0 && passes(&c.case, &flag) && c.stdout.is_some())
        {
            missing.push(format!("{flag}: no status-0 case with an exact stdout"));
        }
    }
    assert!(
        missing.is_empty(),
        "tests/cmd lacks:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_runner_rejects_broken_case_files() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, why) in [
        ("a", "args = [\"--help\"]\nstatus = 0\n", "no expectation"),
        ("b", "args = [\"--help\"\nstatus = 0\n", "does not parse"),
        (
            "c",
            "args = []\nstatus = 0\nstdout_contain = [\"x\"]\n",
            "does not parse",
        ),
        ("d", "status = 0\nstdout = \"\"\n", "does not parse"),
    ] {
        let p = dir.path().join(format!("{name}.toml"));
        std::fs::write(&p, text).unwrap();
        let e = load(&p)
            .err()
            .unwrap_or_else(|| panic!("{name} was accepted"));
        assert!(e.contains(why), "{name}: {e}");
    }
    let p = dir.path().join("e.toml");
    std::fs::write(&p, "args = []\nstatus = 0\nstdout = \"x\"\n").unwrap();
    std::fs::write(dir.path().join("e.stdout"), "x").unwrap();
    assert!(load(&p).err().unwrap().contains("given twice"));
}

#[test]
fn the_runner_holds_bad_usage_to_one_line() {
    let case = |status| Loaded {
        name: "t".into(),
        path: PathBuf::from("t.toml"),
        case: Case {
            args: vec![],
            env: BTreeMap::new(),
            status,
            stdout: None,
            stderr: None,
            stdout_contains: vec![],
            stderr_contains: vec!["--vpc".into()],
        },
        stdout: None,
        stderr: None,
    };
    let run = |stdout: &str, stderr: &str| Run {
        code: 2,
        stdout: stdout.into(),
        stderr: stderr.into(),
    };
    assert!(judge(&case(2), &run("", "ecr-doctor: --vpc is bad\n"), false).is_empty());
    assert!(!judge(&case(2), &run("x", "ecr-doctor: --vpc is bad\n"), false).is_empty());
    assert!(!judge(&case(2), &run("", "ecr-doctor: --vpc\nmore\n"), false).is_empty());
    assert!(!judge(&case(2), &run("", "error: --vpc is bad\n"), false).is_empty());
    assert!(!judge(&case(2), &run("", "ecr-doctor: bad\n"), false).is_empty());
    assert!(!judge(&case(0), &run("", "ecr-doctor: --vpc\n"), false).is_empty());
}

#[test]
fn toml_strings_round_trip() {
    for s in ["", "a \"b\" \\c\n\td\u{1b}[1m é"] {
        let v: toml::Value = toml::from_str(&format!("k = {}", toml_string(s))).unwrap();
        assert_eq!(v["k"].as_str(), Some(s));
    }
}

/// The example commands of `--help` (the lines under `Examples:`), without their comments.
fn help_examples() -> Vec<String> {
    let help = ecr_doctor::cli::help_text();
    let start = help.find("Examples:\n").expect("Examples: in --help");
    help[start + "Examples:\n".len()..]
        .lines()
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim().split("  ").next().unwrap().trim().to_string())
        .collect()
}

/// The commands of README's `## Use` code block, without their `# comments`.
fn readme_examples() -> Vec<String> {
    let readme = std::fs::read_to_string(crate::harness::repo().join("README.md")).unwrap();
    let use_ = &readme[readme.find("\n## Use\n").expect("## Use in README")..];
    let block = &use_[use_.find("```sh\n").expect("a sh block under ## Use") + 6..];
    block[..block.find("```").unwrap()]
        .lines()
        .map(|l| l.split('#').next().unwrap().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn help_examples_are_in_the_readme_and_parse() {
    let help = help_examples();
    let readme = readme_examples();
    assert!(help.len() >= 5, "{help:?}");
    for ex in &help {
        assert!(
            readme.contains(ex),
            "`{ex}` (an example of --help) is not in README's ## Use block: {readme:?}"
        );
    }
    for ex in help.iter().chain(&readme) {
        // the shell's part (a redirection) is not the doctor's
        let words = ex
            .split(" > ")
            .next()
            .unwrap()
            .split(" < ")
            .next()
            .unwrap()
            .split_whitespace();
        let words: Vec<std::ffi::OsString> = words.map(Into::into).collect();
        assert_eq!(words[0], "ecr-doctor", "{ex}");
        assert!(
            ecr_doctor::cli::parse(words).is_ok(),
            "`{ex}` does not parse"
        );
    }
}
