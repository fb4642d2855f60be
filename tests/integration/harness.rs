//! Starting lab servers and running the doctor in a controlled environment.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn lab_python() -> PathBuf {
    let py = repo().join("tests/lab/.venv/bin/python");
    assert!(
        py.exists(),
        "the lab is not installed: run `tests/lab/lab.sh install` (scripts/test.sh does it)"
    );
    py
}

/// A moto server of the lab on a free loopback port, stopped on drop. It logs the JSON
/// requests it gets (ECR's) to a file: see [`Moto::requests`].
pub struct Moto {
    child: Child,
    dir: tempfile::TempDir,
    pub ready: Value,
}

impl Moto {
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Moto {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("ready.json");
        let mut cmd = Command::new(lab_python());
        cmd.arg(repo().join("tests/lab/moto_lab.py"))
            .args(["--port", "0", "--ready-file"])
            .arg(&ready)
            .arg("--request-log")
            .arg(dir.path().join("requests.jsonl"))
            .arg("--operation-log")
            .arg(dir.path().join("operations.jsonl"))
            .args(args)
            .env_remove("AWS_CA_BUNDLE")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start moto_lab.py");
        let start = Instant::now();
        while !ready.exists() {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                child.stderr.take().unwrap().read_to_string(&mut err).ok();
                panic!("moto_lab.py exited ({status}): {err}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "moto_lab.py not ready after 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let ready: Value = serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();
        Moto { child, dir, ready }
    }

    pub fn endpoint(&self) -> String {
        self.ready["endpoint"].as_str().unwrap().to_string()
    }

    pub fn user(&self, name: &str) -> (String, String) {
        let u = &self.ready["users"][name];
        (
            u["access_key_id"].as_str().unwrap().to_string(),
            u["secret_access_key"].as_str().unwrap().to_string(),
        )
    }

    /// Every request with an X-Amz-Target header (ECR's) so far, oldest first, as
    /// `{"target": "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken", "body": {..}}`.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("requests.jsonl"))
            .expect("the lab's request log")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// Every AWS operation the lab was asked for so far (its own seeding's too), oldest
    /// first, as `{"service": "sts", "operation": "GetCallerIdentity", "key": <key id>}`
    /// (lab extension 41).
    pub fn operations(&self) -> Vec<Value> {
        read_jsonl(&self.dir.path().join("operations.jsonl"))
    }

    /// Environment of a client of this lab, signed in as `user`.
    pub fn env_as(&self, user: &str) -> Vec<(String, String)> {
        let (k, s) = self.user(user);
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint()),
            ("AWS_ACCESS_KEY_ID".into(), k),
            ("AWS_SECRET_ACCESS_KEY".into(), s),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON lines of a lab log.
pub fn read_jsonl(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("the lab's log {}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    /// The check ids of the JSON report, in order.
    pub fn ids(&self) -> Vec<String> {
        self.json()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// `(status, code)` of a check in the JSON report.
    pub fn check(&self, id: &str) -> (String, Option<String>) {
        let v = self.json();
        let c = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no check {id} in:\n{}", self.stdout));
        (
            c["status"].as_str().unwrap().to_string(),
            c["code"].as_str().map(str::to_string),
        )
    }

    pub fn entry(&self, id: &str) -> Value {
        self.json()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap()
    }

    /// Every check that is not pass, as `id=status/code`, leaving out what did not run for
    /// reasons of the test's own making: checks named in --skip, checks with nothing to
    /// look at (no VPC, no image, no role), and the checks that depend only on those.
    pub fn not_passing(&self) -> Vec<String> {
        let v = self.json();
        let mut ignored: Vec<String> = Vec::new();
        let mut out = Vec::new();
        for c in v["checks"].as_array().unwrap() {
            if c["status"] == "pass" {
                continue;
            }
            let id = c["id"].as_str().unwrap().to_string();
            let because: Vec<&str> = c["skipped_because"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|b| b.as_str())
                .collect();
            let nothing_to_do = c["status"] == "skip"
                && (matches!(c["code"].as_str(), Some("no-vpc" | "no-image" | "no-role"))
                    || c["code"] == "skipped-by-user"
                    || (!because.is_empty()
                        && because.iter().all(|b| ignored.iter().any(|i| i == b))));
            if nothing_to_do {
                ignored.push(id);
                continue;
            }
            out.push(format!(
                "{id}={}/{}",
                c["status"].as_str().unwrap(),
                c["code"].as_str().unwrap_or("-")
            ));
        }
        out
    }
}

/// Data-plane checks resolve real names: outside a lab namespace they are skipped, so that
/// no DNS query leaves this machine.
pub const OFFLINE_SKIP: &str = "dns.ecr-api,dns.ecr-dkr,dns.s3";

/// `docker.config` reads the docker client's configuration: in a run's empty temporary HOME
/// it has nothing to look at (and would warn `no-auth-configured`). The runs that give it
/// a `DOCKER_CONFIG` or `DOCKER_AUTH_CONFIG` of their own (tests/integration/docker.rs) run it.
pub const DOCKER_SKIP: &str = "docker.config";

/// Adds `--skip docker.config` unless `env` gives the run a docker configuration.
pub fn skip_docker_unless_configured(cmd: &mut Command, env: &[(String, String)]) {
    if !env
        .iter()
        .any(|(k, _)| k == "DOCKER_CONFIG" || k == "DOCKER_AUTH_CONFIG")
    {
        cmd.args(["--skip", DOCKER_SKIP]);
    }
}

/// Only PATH, and a HOME without AWS configuration files.
pub fn clean_env(cmd: &mut Command, home: &std::path::Path) {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"));
}

pub fn run_of(out: std::process::Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the doctor with a clean environment: no real AWS config, no instance metadata
/// (pointed at a closed loopback port), region us-east-1, plus `env`.
pub fn doctor(env: &[(String, String)], args: &[&str]) -> Run {
    doctor_with(env, args, |cmd| {
        run_of(cmd.output().expect("run ecr-doctor"))
    })
}

/// [`doctor`] on a terminal: stdin and stderr are a pseudo-terminal (`script` of util-linux),
/// stdout is a file. `Run::stderr` is what the terminal got (with `\r\n` line ends).
pub fn doctor_on_tty(env: &[(String, String)], args: &[&str]) -> Run {
    doctor_with(env, args, |cmd| {
        let dir = tempfile::tempdir().unwrap();
        let stdout = dir.path().join("stdout");
        let quote =
            |s: &std::ffi::OsStr| format!("'{}'", s.to_str().unwrap().replace('\'', r"'\''"));
        let line = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(quote)
            .collect::<Vec<_>>()
            .join(" ");
        let line = format!("{line} > {}", quote(stdout.as_os_str()));
        let mut script = Command::new("script");
        script.env_clear();
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                script.env(k, v);
            }
        }
        let out = script
            .args(["-qec", &line, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .expect("run script (util-linux)");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: std::fs::read_to_string(&stdout).unwrap_or_default(),
            stderr: String::from_utf8_lossy(&out.stdout).into_owned(),
        }
    })
}

pub fn doctor_with(
    env: &[(String, String)],
    args: &[&str],
    run: impl FnOnce(&mut Command) -> Run,
) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecr-doctor"));
    clean_env(&mut cmd, home.path());
    cmd.env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1")
        .env("AWS_REGION", "us-east-1")
        .args(args);
    let asks_for_help = args
        .iter()
        .any(|a| matches!(*a, "--help" | "--version" | "--list-checks"));
    if !asks_for_help && !args.contains(&"--dns-server") {
        cmd.args(["--skip", OFFLINE_SKIP]);
    }
    if !asks_for_help {
        skip_docker_unless_configured(&mut cmd, env);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

pub fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Validates a report against docs/report.schema.json with the lab's Python jsonschema.
pub fn validate_schema(json: &str) {
    let schema = repo().join("docs/report.schema.json");
    let mut child = Command::new(lab_python())
        .args([
            "-c",
            "import json,sys,jsonschema; s=json.load(open(sys.argv[1])); jsonschema.validate(json.load(sys.stdin), s, cls=jsonschema.Draft202012Validator)",
        ])
        .arg(&schema)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "report does not match the schema: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A loopback TCP server that answers every connection with `response` (or, when `None`,
/// accepts and never answers). Runs until the test process ends.
pub fn fake_server(response: Option<&'static str>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in l.incoming().flatten() {
            match response {
                Some(r) => {
                    let mut c = conn;
                    let mut buf = [0u8; 65536];
                    let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
                    let _ = c.read(&mut buf);
                    let _ = c.write_all(r.as_bytes());
                }
                None => held.push(conn),
            }
        }
    });
    format!("http://{addr}")
}

/// A loopback port with nothing listening.
pub fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}
