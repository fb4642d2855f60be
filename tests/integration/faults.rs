//! Faults (issue 11): the AWS APIs down, hanging or answering errors (tests/lab/faults.py
//! on loopback), and the registry and its layer host misbehaving (netlab.sh worlds
//! `faults`, `registry-500`, `wrong-name-cert`). Each fault gets the check, status and code
//! that name it, the run completes (exit 0 or 1, no panic), and its wall time is printed
//! (never asserted).

use crate::dataplane::Netlab;
use crate::harness::{closed_port, doctor, lab_python, repo, Moto, Run};
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `faults.py api`: one loopback port per fault mode, stopped on drop.
struct ApiFaults {
    child: Child,
    modes: Value,
    _dir: tempfile::TempDir,
}

impl ApiFaults {
    fn start() -> ApiFaults {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("ready.json");
        let mut child = Command::new(lab_python())
            .arg(repo().join("tests/lab/faults.py"))
            .args(["api", "--ready-file"])
            .arg(&ready)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start faults.py");
        let start = Instant::now();
        while !ready.exists() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "faults.py exited before it was ready"
            );
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "faults.py not ready after 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();
        ApiFaults {
            child,
            modes: v["modes"].clone(),
            _dir: dir,
        }
    }

    fn url(&self, mode: &str) -> String {
        self.modes[mode]
            .as_str()
            .unwrap_or_else(|| panic!("no fault mode {mode}"))
            .to_string()
    }
}

impl Drop for ApiFaults {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `run`, prints its wall time, and asserts the run completed: exit 0 or 1, a JSON
/// report, no panic.
fn timed(label: &str, run: impl FnOnce() -> Run) -> Run {
    let start = Instant::now();
    let r = run();
    eprintln!(
        "fault {label}: exit {} in {:.2} s",
        r.code,
        start.elapsed().as_secs_f64()
    );
    assert!(
        matches!(r.code, 0 | 1),
        "{label}: exit {}\n{}",
        r.code,
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{label}: {}", r.stderr);
    r.json();
    r
}

/// `(label, environment, check, status, code)` of one fault.
type Case = (
    &'static str,
    Vec<(String, String)>,
    &'static str,
    &'static str,
    &'static str,
);

#[test]
fn aws_api_faults_get_their_codes() {
    let moto = Moto::start(&[], &[]);
    let f = ApiFaults::start();
    let keys = |endpoint: String| {
        vec![
            ("AWS_ENDPOINT_URL".to_string(), endpoint),
            ("AWS_ACCESS_KEY_ID".into(), "AKIAIOSFODNN7EXAMPLE".into()),
            (
                "AWS_SECRET_ACCESS_KEY".into(),
                "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY".into(),
            ),
        ]
    };
    // STS answers (moto), then ECR fails: only AWS_ENDPOINT_URL_ECR points at the fault
    let ecr = |mode: &str| {
        let mut e = moto.env_as("lab-healthy");
        e.push(("AWS_ENDPOINT_URL_ECR".into(), f.url(mode)));
        e
    };
    let cases: Vec<Case> = vec![
        // every AWS API (STS first)
        (
            "api refused",
            keys(closed_port()),
            "identity.caller",
            "fail",
            "unreachable",
        ),
        (
            "api hangs",
            keys(f.url("hang")),
            "identity.caller",
            "fail",
            "unreachable",
        ),
        (
            "sts 500",
            keys(f.url("500")),
            "identity.caller",
            "fail",
            "api-error",
        ),
        (
            "sts 503",
            keys(f.url("503")),
            "identity.caller",
            "fail",
            "api-error",
        ),
        (
            "sts 429",
            keys(f.url("429")),
            "identity.caller",
            "fail",
            "throttled",
        ),
        (
            "sts 403 html",
            keys(f.url("403-unparseable")),
            "identity.caller",
            "fail",
            "api-error",
        ),
        // ECR only
        ("ecr hangs", ecr("hang"), "token.get", "fail", "unreachable"),
        ("ecr 500", ecr("500"), "token.get", "fail", "api-error"),
        ("ecr 503", ecr("503"), "token.get", "fail", "api-error"),
        ("ecr 429", ecr("429"), "token.get", "fail", "throttled"),
        (
            "ecr 403 html",
            ecr("403-unparseable"),
            "token.get",
            "fail",
            "api-error",
        ),
    ];
    let runs: Vec<(Case, Run)> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .into_iter()
            .map(|case| {
                s.spawn(move || {
                    // 1 s where no lab server has to answer; else room for a loaded machine
                    let timeout = if case.0.starts_with("api ") {
                        "1s"
                    } else {
                        "3s"
                    };
                    let r = timed(case.0, || {
                        doctor(&case.1, &["--output", "json", "--timeout", timeout])
                    });
                    (case, r)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for ((label, _, id, status, code), r) in &runs {
        assert_eq!(
            r.check(id),
            (status.to_string(), Some(code.to_string())),
            "{label}: {}",
            r.entry(id)
        );
        assert_eq!(r.code, 1, "{label}");
        let e = r.entry(id);
        let msg = e["message"].as_str().unwrap();
        match *label {
            "api hangs" | "ecr hangs" => {
                assert_eq!(e["facts"]["timed_out"], true, "{label}: {e}");
                assert!(msg.contains("no answer in time"), "{label}: {msg}");
            }
            "sts 500" | "ecr 500" => assert!(msg.contains("HTTP 500"), "{label}: {msg}"),
            "sts 503" | "ecr 503" => assert!(msg.contains("HTTP 503"), "{label}: {msg}"),
            "sts 429" | "ecr 429" => {
                assert!(msg.contains("Rate exceeded"), "{label}: {msg}");
                let fix = e["remediation"]["text"].as_str().unwrap();
                assert!(fix.contains("backoff"), "{label}: {fix}");
            }
            "sts 403 html" | "ecr 403 html" => {
                // what answered, and that it was a refusal, even without an AWS error code
                assert_eq!(e["facts"]["http_status"], 403, "{label}: {e}");
                let host = f.url("403-unparseable").replace("http://", "");
                assert!(
                    msg.contains("HTTP 403") && msg.contains(&host),
                    "{label}: {msg}"
                );
            }
            _ => {}
        }
    }
}

#[test]
fn registry_and_layer_faults_get_their_codes() {
    let Some(lab) = Netlab::up("flt", "faults") else {
        return;
    };
    let args = |image: &'static str| -> Vec<&'static str> {
        // room for a loaded machine: every lab server but the faulty one answers
        vec!["--output", "json", "--timeout", "3s", "--image", image]
    };
    // the layer faults, each on its own image of the same faults.py, at the same time
    let cases = [
        ("fault/ok:1.0", None),
        ("fault/truncated:1.0", Some("truncated")),
        ("fault/wrong-bytes:1.0", Some("digest-mismatch")),
        // connected, then no answer: the same code as a blackholed layer host (reqwest's
        // timeout does not tell the two apart; the remediation names both)
        ("fault/redirect-hang:1.0", Some("redirect-unreachable")),
        ("fault/redirect-loop:1.0", Some("redirect-loop")),
        // S3 refuses the presigned layer request (an S3 gateway endpoint policy does that)
        ("fault/forbidden:1.0", Some("s3-forbidden")),
    ];
    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(image, _)| {
                let lab = &lab;
                s.spawn(move || timed(image, || lab.doctor(&args(image))))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for ((image, code), r) in cases.iter().zip(&runs) {
        match code {
            None => {
                assert!(r.not_passing().is_empty(), "{image}: {:?}", r.not_passing());
                assert_eq!(r.code, 0, "{image}");
            }
            Some(code) => {
                assert_eq!(
                    r.not_passing(),
                    [format!("image.layer-download=fail/{code}")],
                    "{image}: {}",
                    r.entry("image.layer-download")
                );
                assert_eq!(r.code, 1, "{image}");
            }
        }
    }
    let facts = |i: usize| r_facts(&runs[i]);
    // truncated: half of the announced bytes
    assert_eq!(facts(1)["size"], 65536);
    assert_eq!(facts(1)["bytes"], 32768);
    assert_ne!(facts(2)["got_digest"], facts(2)["digest"]);
    assert_eq!(
        facts(3)["redirect_host"],
        "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com"
    );
    assert_eq!(facts(4)["http_status"], 307);
    assert_eq!(
        facts(4)["registry"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    );

    assert_eq!(facts(5)["http_status"], 403);
    assert_eq!(
        facts(5)["redirect_host"],
        "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com"
    );
    // the error people paste for it is explained by this check
    let pasted = "CannotPullContainerError: failed to copy: httpReadSeeker: failed open: unexpected status code https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/x: 403 Forbidden";
    let r = lab.doctor(
        &[
            &args("fault/forbidden:1.0")[..],
            &["--only", "image.layer-download", "--symptom", pasted],
        ]
        .concat(),
    );
    let s = &r.json()["symptom"];
    assert_eq!(
        s["matched"],
        serde_json::json!(["s3-layer-forbidden"]),
        "{s}"
    );
    assert_eq!(
        s["explained_by"],
        serde_json::json!([{"id": "image.layer-download", "status": "fail", "code": "s3-forbidden"}]),
        "{s}"
    );

    lab.world("registry-500");
    let r = timed("registry /v2/ 500", || lab.doctor(&args("lab/app:1.0")));
    assert_eq!(
        r.not_passing(),
        [
            "registry.auth=fail/unexpected-status",
            "image.manifest=skip/dependency-not-passed",
            "image.layer-download=skip/dependency-not-passed"
        ]
    );
    assert_eq!(r.entry("registry.auth")["facts"]["http_status"], 500);

    lab.world("wrong-name-cert");
    let r = timed("certificate for another name", || {
        lab.doctor(&args("lab/app:1.0"))
    });
    assert_eq!(
        r.check("net.ecr-dkr"),
        ("fail".into(), Some("tls-failed".into()))
    );
    let e = r.entry("net.ecr-dkr");
    assert_eq!(e["facts"]["wrong_name"], true, "{e}");
    assert_eq!(e["facts"]["cert_subject"], "CN=registry.corp.example");
    // the lab CA issued it: trusted, only the name is wrong
    assert!(
        e["facts"]["cert_issuer"]
            .as_str()
            .unwrap()
            .contains("ecr-doctor lab CA"),
        "{e}"
    );
    let fix = e["remediation"]["text"].as_str().unwrap();
    assert!(
        fix.contains("does not name 123456789012.dkr.ecr.us-east-1.amazonaws.com"),
        "{fix}"
    );
    assert_eq!(
        r.check("net.ecr-api").0,
        "pass",
        "only the registry's name is wrong"
    );
}

fn r_facts(r: &Run) -> Value {
    r.entry("image.layer-download")["facts"].clone()
}
