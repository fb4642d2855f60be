//! `--symptom`: the pasted error's verdict against the lab. In the namespace world with a
//! blackholed registry, the ECS i/o timeout is explained by the failing connection check; in
//! the healthy world and on loopback nothing explains it, and what remains is said.

use crate::dataplane::Netlab;
use crate::harness::{doctor, validate_schema, Moto};
use serde_json::{json, Value};

const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// An ECS stopped reason for a task whose pull timed out at the registry's endpoint address.
fn ecs_timeout() -> String {
    format!(
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref {REGISTRY}/lab/app:1.0: failed to do request: Head \"https://{REGISTRY}/v2/lab/app/manifests/1.0\": dial tcp 10.1.1.11:443: i/o timeout"
    )
}

fn explained(s: &Value) -> Vec<String> {
    s["explained_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}={}/{}",
                e["id"].as_str().unwrap(),
                e["status"].as_str().unwrap(),
                e["code"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_blackholed_registry_explains_the_pasted_ecs_timeout() {
    let Some(lab) = Netlab::up("sym", "registry-dropped") else {
        return;
    };
    let text = ecs_timeout();
    let r = lab.doctor(&["--output", "json", "--timeout", "1s", "--symptom", &text]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    validate_schema(&r.stdout);
    let v = r.json();
    let s = &v["symptom"];
    assert_eq!(s["matched"], json!(["io-timeout"]), "{s}");
    let suspects: Vec<&str> = s["suspects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(suspects.contains(&"net.ecr-dkr"), "{suspects:?}");
    assert_eq!(explained(s), ["net.ecr-dkr=fail/connect-timeout"], "{s}");
    assert_eq!(s["remains"], Value::Null);
    // what was taken from the text, and used: the image's manifest is in the run
    assert_eq!(s["taken"]["image"], "lab/app:1.0");
    assert_eq!(s["taken"]["registry"], REGISTRY);
    assert_eq!(s["taken"]["address"], "10.1.1.11:443");
    assert_eq!(s["taken"]["host"], REGISTRY);
    assert_eq!(v["context"]["image"], "lab/app:1.0");
    assert_eq!(
        r.check("image.manifest"),
        ("skip".into(), Some("dependency-not-passed".into())),
        "the image is known, the registry is not reachable"
    );
    assert_eq!(s["text"], text.as_str());

    // the markdown report has the section on top of its table
    let m = lab.doctor(&[
        "--output",
        "markdown",
        "--timeout",
        "1s",
        "--symptom",
        &text,
    ]);
    let section = m.stdout.find("## Symptom").expect(&m.stdout);
    assert!(section < m.stdout.find("| Status | Check | Result |").unwrap());
    assert!(
        m.stdout
            .contains("- Explained by: FAIL net.ecr-dkr [connect-timeout]"),
        "{}",
        m.stdout
    );

    // the registry's name has no record: Go's "no such host" is explained by dns.ecr-dkr
    lab.world("registry-nxdomain");
    let nxdomain = format!(
        "Error response from daemon: Get \"https://{REGISTRY}/v2/\": dial tcp: lookup {REGISTRY} on 127.0.0.11:53: no such host"
    );
    let r = lab.doctor(&["--output", "json", "--symptom", &nxdomain]);
    validate_schema(&r.stdout);
    let s = &r.json()["symptom"];
    assert_eq!(s["matched"], json!(["no-such-host"]), "{s}");
    assert_eq!(explained(s), ["dns.ecr-dkr=fail/nxdomain"], "{s}");
    assert_eq!(s["taken"]["registry"], REGISTRY);

    // healthy: this machine reaches the address of the error; what remains is said
    lab.world("healthy");
    let r = lab.doctor(&["--output", "json", "--symptom", &text]);
    validate_schema(&r.stdout);
    let s = &r.json()["symptom"];
    assert_eq!(explained(s), Vec::<String>::new(), "{s}");
    let remains = s["remains"].as_str().unwrap();
    assert!(
        remains.starts_with(&format!("This machine reached 10.1.1.11:443 ({REGISTRY}).")),
        "{remains}"
    );
    assert!(remains.contains("--subnet"), "{remains}");
}

#[test]
fn on_loopback_nothing_explains_an_expired_token_and_what_remains_is_said() {
    let moto = Moto::start(&[], &[]);
    let text = "denied: Your authorization token has expired. Reauthenticate and try again.";
    let r = doctor(
        &moto.env_as("lab-healthy"),
        &["--output", "json", "--symptom", text],
    );
    assert_eq!(
        r.code, 0,
        "the symptom never changes the exit status: {}",
        r.stderr
    );
    validate_schema(&r.stdout);
    let s = &r.json()["symptom"];
    assert_eq!(s["matched"], json!(["token-expired"]));
    assert_eq!(explained(s), Vec::<String>::new(), "{s}");
    assert_eq!(r.check("token.get").0, "pass");
    // docker.config does not run in the harness: not decided, and said
    assert_eq!(s["not_decided"], json!(["docker.config"]), "{s}");
    assert!(
        s["remains"]
            .as_str()
            .unwrap()
            .starts_with("No token this run looked at has expired"),
        "{s}"
    );
    // the table: the section before the table, never a silent pass
    let t = doctor(
        &moto.env_as("lab-healthy"),
        &["--color", "never", "--symptom", text],
    );
    assert_eq!(t.code, 0);
    let section = t.stdout.find("\nSymptom\n").expect(&t.stdout);
    assert!(section < t.stdout.find('┌').unwrap(), "{}", t.stdout);
    for piece in [
        "Matches: denied: Your authorization token has expired.",
        "None of the checks that can explain it warned or failed in this run.",
        "Not decided in this run (skipped or not selected): docker.config",
        "No token this run looked at has expired",
    ] {
        assert!(t.stdout.contains(piece), "{piece}:\n{}", t.stdout);
    }
}

#[test]
fn a_pasted_secret_never_comes_back_in_any_format() {
    let token = format!("eyJwYXlsb2FkIjoi{}", "QUJDZGVmMTIzNDU2".repeat(12));
    let text = format!(
        "docker login -u AWS -p {token} {REGISTRY}\nError response from daemon: Get https://{REGISTRY}/v2/: no basic auth credentials"
    );
    for format in ["table", "json", "markdown"] {
        for redact in [false, true] {
            let mut args = vec![
                "--output",
                format,
                "--only",
                "env.proxy",
                "--symptom",
                &text,
            ];
            if redact {
                args.push("--redact");
            }
            let r = doctor(&[], &args);
            assert_eq!(r.code, 0, "{format}: {}", r.stderr);
            assert!(!r.stdout.contains(&token[..40]), "{format}:\n{}", r.stdout);
            assert!(r.stdout.contains("<secret>"), "{format}:\n{}", r.stdout);
            assert_eq!(
                r.stdout.contains("123456789012"),
                !redact,
                "{format} redact={redact}:\n{}",
                r.stdout
            );
        }
    }
}

/// `--symptom -`: the error read from stdin.
fn doctor_stdin(env: &[(String, String)], args: &[&str], input: &str) -> crate::harness::Run {
    use std::io::Write;
    crate::harness::doctor_with(env, args, |cmd| {
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run ecr-doctor");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        crate::harness::run_of(child.wait_with_output().unwrap())
    })
}

#[test]
fn the_pasted_error_can_come_from_stdin() {
    let moto = Moto::start(&[], &[]);
    let env = moto.env_as("lab-healthy");
    let args = ["--output", "json", "--only", "env.proxy", "--symptom", "-"];
    let r = doctor_stdin(
        &env,
        &args,
        "Error response from daemon:\nGet https://x/v2/: no basic auth credentials\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["symptom"]["matched"][0], "no-basic-auth",
        "{}",
        v["symptom"]
    );
    // nothing on stdin is an empty paste: bad usage
    let r = doctor_stdin(&env, &args, "");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--symptom"), "{}", r.stderr);
}
