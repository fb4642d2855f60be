//! Proof that the doctor keeps its two promises, across the lab's worlds: no secret reaches
//! its output (every format, with and without `--redact`), and it only reads (every AWS
//! operation it calls is a read or a credential exchange, and the AWS and docker
//! configuration files are byte-identical after the runs).
//!
//! One sweep serves both tests: a loopback moto lab (with its ECS stand-in) and, where the
//! namespace lab can run, its healthy world; every world is run in every format, with and
//! without `--redact`, concurrently. The sweep runs once per test binary and keeps only
//! its results (the lab servers are stopped when it is done).

use crate::dataplane::Netlab;
use crate::harness::{doctor, read_jsonl, repo, Moto, Run};
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const REG: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
/// The helper's own log: the one file another program may append to during a run.
const HELPER_LOG: &str = ".ecr/log/ecr-login.log";
/// Keys the lab signs its own requests with (seeding, the registry's S3 driver, pushes).
const LAB_KEYS: &[&str] = &["lab-seed", "lab-registry", "lab-netlab", "lab-faults"];
const FORMATS: [&[&str]; 6] = [
    &["--output", "table"],
    &["--output", "table", "--redact"],
    &["--output", "json"],
    &["--output", "json", "--redact"],
    &["--output", "markdown"],
    &["--output", "markdown", "--redact"],
];

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// An ECR-shaped password (base64 of the JSON ECR puts in it), valid for 6 hours, unique.
fn ecr_password(tag: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let payload = b64(&format!("{tag}-{}-{now}", std::process::id()));
    b64(&format!(
        r#"{{"payload":"{payload}","datakey":"a2V5","version":"2","type":"DATA_KEY","expiration":{}}}"#,
        now + 6 * 3600
    ))
}

/// A plain HTTP GET on loopback (the lab's ECS credentials stand-in), the body as JSON.
fn http_get_json(url: &str) -> Value {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /{path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let body = out.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"))
}

/// Every file under `dir` (recursively) with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// One run of the sweep: which world, which flags, what came out.
struct Shot {
    world: String,
    args: Vec<String>,
    run: Run,
}

struct Sweep {
    /// (what, value) of every secret the lab handed out or the worlds hold.
    secrets: Vec<(String, String)>,
    shots: Vec<Shot>,
    /// The doctor's AWS operations, as `service:Operation` (REST: `s3:GET /path`).
    operations: Vec<String>,
    /// Files of HOME and the docker configurations: before, after.
    files: (BTreeMap<PathBuf, Vec<u8>>, BTreeMap<PathBuf, Vec<u8>>),
    home: PathBuf,
    elapsed: Duration,
    /// Whether the namespace world was part of it.
    netlab: bool,
}

fn operations_since(log: &[Value], from: usize) -> Vec<String> {
    log[from..]
        .iter()
        .filter(|o| !LAB_KEYS.contains(&o["key"].as_str().unwrap_or("")))
        .map(|o| {
            format!(
                "{}:{}",
                o["service"].as_str().unwrap_or(""),
                o["operation"].as_str().unwrap_or("")
            )
        })
        .collect()
}

type World = (String, Vec<(String, String)>, Vec<String>);
/// How a world is run: the harness's `doctor`, or inside a namespace.
type Runner<'a> = dyn Fn(&[(String, String)], &[&str]) -> Run + Sync + 'a;

/// Runs every world in every format with `run`, the worlds concurrently.
fn run_all(worlds: Vec<World>, run: &Runner) -> Vec<Shot> {
    let mut shots = Vec::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = worlds
            .iter()
            .map(|(name, env, args)| {
                s.spawn(move || {
                    FORMATS
                        .iter()
                        .map(|f| {
                            let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
                            all.extend_from_slice(f);
                            Shot {
                                world: name.clone(),
                                args: all.iter().map(|a| a.to_string()).collect(),
                                run: run(env, &all),
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            shots.extend(h.join().unwrap());
        }
    });
    shots
}

fn sweep() -> &'static Sweep {
    static SWEEP: OnceLock<Sweep> = OnceLock::new();
    SWEEP.get_or_init(run_sweep)
}

fn run_sweep() -> Sweep {
    let start = Instant::now();
    let token_password = ecr_password("lab-token");
    let moto = Moto::start(
        &["--ecs-port", "0"],
        &[("LAB_TOKEN_PASSWORD", token_password.as_str())],
    );
    let mut secrets: Vec<(String, String)> = Vec::new();
    for user in ["lab-healthy", "lab-no-pull", "lab-no-ecr-token"] {
        secrets.push((format!("{user} secret key"), moto.user(user).1));
    }
    secrets.push(("ECR token password".into(), token_password.clone()));
    secrets.push(("ECR token".into(), b64(&format!("AWS:{token_password}"))));
    // the ECS stand-in's task-role credentials: temporary, with a session token
    let ecs = moto.ready["ecs"].clone();
    let task = http_get_json(ecs["credentials_uri"].as_str().unwrap());
    let s = |v: &Value| v.as_str().unwrap().to_string();
    secrets.push(("task role secret key".into(), s(&task["SecretAccessKey"])));
    secrets.push(("task role session token".into(), s(&task["Token"])));

    // HOME: the AWS configuration files; two docker configurations: a stored login and the
    // ECR credential helper (a stand-in that, as the real one, appends to its own log)
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    std::fs::create_dir_all(h.join(".aws")).unwrap();
    std::fs::create_dir_all(h.join("docker-stored")).unwrap();
    std::fs::create_dir_all(h.join("docker-helper")).unwrap();
    std::fs::create_dir_all(h.join("bin")).unwrap();
    let (key, secret) = moto.user("lab-healthy");
    std::fs::write(
        h.join(".aws/config"),
        "[profile lab]\nregion = us-east-1\noutput = json\n",
    )
    .unwrap();
    std::fs::write(
        h.join(".aws/credentials"),
        format!("[lab]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"),
    )
    .unwrap();
    let stored = ecr_password("stored-login");
    let stored_auth = b64(&format!("AWS:{stored}"));
    std::fs::write(
        h.join("docker-stored/config.json"),
        json!({"auths": {REG: {"auth": stored_auth}}}).to_string(),
    )
    .unwrap();
    secrets.push(("docker stored password".into(), stored));
    secrets.push(("docker stored auth".into(), stored_auth));
    std::fs::write(
        h.join("docker-helper/config.json"),
        json!({"credHelpers": {REG: "ecr-login"}}).to_string(),
    )
    .unwrap();
    let helper_secret = ecr_password("helper");
    let helper = h.join("bin/docker-credential-ecr-login");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nmkdir -p \"$HOME/.ecr/log\"\necho \"get $(cat)\" >> \"$HOME/{HELPER_LOG}\"\nprintf '%s' '{{\"ServerURL\":\"{REG}\",\"Username\":\"AWS\",\"Secret\":\"{helper_secret}\"}}'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    secrets.push(("credential helper secret".into(), helper_secret));

    let p = |p: &str| h.join(p).display().to_string();
    let base = vec![
        ("HOME".to_string(), p("")),
        ("AWS_CONFIG_FILE".to_string(), p(".aws/config")),
        (
            "AWS_SHARED_CREDENTIALS_FILE".to_string(),
            p(".aws/credentials"),
        ),
        ("AWS_ENDPOINT_URL".to_string(), moto.endpoint()),
    ];
    let with = |extra: &[(&str, &str)]| {
        let mut e = base.clone();
        e.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        e
    };
    let keys = |e: Vec<(String, String)>| {
        let mut e = e;
        e.push(("AWS_ACCESS_KEY_ID".into(), key.clone()));
        e.push(("AWS_SECRET_ACCESS_KEY".into(), secret.clone()));
        e
    };
    let path = format!("{}:{}", p("bin"), std::env::var("PATH").unwrap_or_default());
    let role = s(&moto.ready["pull_roles"]["lab-role-complete"]);
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let worlds = vec![
        (
            "healthy".to_string(),
            keys(with(&[])),
            v(&["--image", "lab/app:1.0"]),
        ),
        (
            "role".into(),
            keys(with(&[])),
            v(&["--role-arn", &role, "--image", "lab/app:1.0"]),
        ),
        (
            "cross-account".into(),
            keys(with(&[])),
            v(&[
                "--image",
                "210987654321.dkr.ecr.us-east-1.amazonaws.com/shared/granted:1.0",
            ]),
        ),
        (
            "missing-image".into(),
            keys(with(&[])),
            v(&["--image", "lab/missing:1.0"]),
        ),
        (
            "profile-files".into(),
            with(&[("AWS_PROFILE", "lab")]),
            v(&["--image", "lab/app:1.0"]),
        ),
        (
            "session-credentials".into(),
            with(&[
                ("AWS_ACCESS_KEY_ID", &s(&task["AccessKeyId"])),
                ("AWS_SECRET_ACCESS_KEY", &s(&task["SecretAccessKey"])),
                ("AWS_SESSION_TOKEN", &s(&task["Token"])),
            ]),
            v(&[]),
        ),
        (
            "ecs-task".into(),
            with(&[
                (
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    ecs["credentials_uri"].as_str().unwrap(),
                ),
                (
                    "ECS_CONTAINER_METADATA_URI_V4",
                    ecs["metadata_uri"].as_str().unwrap(),
                ),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ]),
            v(&[]),
        ),
        (
            "docker-stored-login".into(),
            keys(with(&[("DOCKER_CONFIG", &p("docker-stored"))])),
            v(&[]),
        ),
        (
            "docker-credential-helper".into(),
            keys(with(&[
                ("DOCKER_CONFIG", &p("docker-helper")),
                ("PATH", &path),
            ])),
            v(&[]),
        ),
    ];

    let before = snapshot(h);
    let from = moto.operations().len();
    // the namespace's healthy world too (the data plane: registry, S3 layer; a missing
    // image's hints), when it can run, at the same time
    let docker = vec![
        ("HOME".to_string(), p("")),
        ("DOCKER_CONFIG".to_string(), p("docker-stored")),
    ];
    let (mut shots, namespace) = std::thread::scope(|sc| {
        let loopback = sc.spawn(|| run_all(worlds, &doctor));
        let namespace = Netlab::up("proof", "healthy").map(|lab| {
            let dir = repo().join("tests/lab/run").join(&lab.ns);
            let log = dir.join("logs/operations.jsonl");
            let from = read_jsonl(&log).len();
            let shots = run_all(
                vec![
                    (
                        "namespace-healthy".into(),
                        docker.clone(),
                        v(&["--image", "lab/app:1.0"]),
                    ),
                    (
                        "namespace-missing-image".into(),
                        docker.clone(),
                        v(&["--image", "lab/app:9.9"]),
                    ),
                ],
                &|env, args| lab.doctor_env(env, args),
            );
            let ready: Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join("moto.ready.json")).unwrap(),
            )
            .unwrap();
            let pw = std::fs::read_to_string(dir.join("token.password"))
                .unwrap()
                .trim()
                .to_string();
            let secrets = vec![
                (
                    "namespace lab-healthy secret key".to_string(),
                    s(&ready["users"]["lab-healthy"]["secret_access_key"]),
                ),
                ("namespace ECR token".into(), b64(&format!("AWS:{pw}"))),
                ("namespace ECR token password".into(), pw),
            ];
            (shots, operations_since(&read_jsonl(&log), from), secrets)
        });
        (loopback.join().unwrap(), namespace)
    });
    let mut operations = operations_since(&moto.operations(), from);
    drop(moto);
    let netlab = namespace.is_some();
    if let Some((ns_shots, ns_ops, ns_secrets)) = namespace {
        shots.extend(ns_shots);
        operations.extend(ns_ops);
        secrets.extend(ns_secrets);
    }
    let after = snapshot(h);
    let elapsed = start.elapsed();
    eprintln!(
        "proof sweep: {} runs in {:.1} s (namespace world: {netlab})",
        shots.len(),
        elapsed.as_secs_f64()
    );
    // the snapshots keep the files' names; the directory itself goes with `home`
    let home_path = h.to_path_buf();
    Sweep {
        secrets,
        shots,
        operations,
        files: (before, after),
        home: home_path,
        elapsed,
        netlab,
    }
}

#[test]
fn no_secret_reaches_any_output() {
    let sw = sweep();
    assert!(sw.secrets.len() >= 10, "{:?}", sw.secrets.len());
    let mut leaks = Vec::new();
    for shot in &sw.shots {
        let r = &shot.run;
        assert!(
            matches!(r.code, 0 | 1) && !r.stderr.contains("panicked"),
            "{} {:?}: exit {}\n{}",
            shot.world,
            shot.args,
            r.code,
            r.stderr
        );
        assert!(
            !r.stdout.is_empty(),
            "{} {:?}: no output",
            shot.world,
            shot.args
        );
        for (what, value) in &sw.secrets {
            for (stream, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
                if text.contains(value.as_str()) {
                    leaks.push(format!(
                        "{what} in {stream} of {} {:?}",
                        shot.world, shot.args
                    ));
                }
            }
        }
        // any moto session token (moto's prefix), e.g. of the --role-arn session
        if r.stdout.contains("FQoGZXIvYXdzEBYaD") || r.stderr.contains("FQoGZXIvYXdzEBYaD") {
            leaks.push(format!("a session token in {} {:?}", shot.world, shot.args));
        }
    }
    assert!(
        leaks.is_empty(),
        "secrets in the output:\n{}",
        leaks.join("\n")
    );
    // the worlds did what they are for: the secrets were used, not absent
    let json_of = |world: &str| {
        sw.shots
            .iter()
            .find(|s| s.world == world && s.args.ends_with(&["json".to_string()]))
            .unwrap_or_else(|| panic!("no json run of {world}"))
            .run
            .json()
    };
    let check = |world: &str, id: &str| {
        let v = json_of(world);
        let c = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap();
        format!(
            "{}/{}",
            c["status"].as_str().unwrap(),
            c["code"].as_str().unwrap()
        )
    };
    assert_eq!(check("healthy", "token.get"), "pass/ok");
    assert_eq!(check("profile-files", "identity.caller"), "pass/ok");
    assert_eq!(check("session-credentials", "identity.caller"), "pass/ok");
    assert_eq!(check("ecs-task", "identity.caller"), "pass/ok");
    assert_eq!(check("role", "credentials.source"), "pass/ok-assumed-role");
    assert!(
        check("docker-stored-login", "docker.config").starts_with("pass/"),
        "{}",
        check("docker-stored-login", "docker.config")
    );
    assert!(
        check("docker-credential-helper", "docker.config").starts_with("pass/"),
        "{}",
        check("docker-credential-helper", "docker.config")
    );
    if sw.netlab {
        assert_eq!(
            check("namespace-healthy", "image.layer-download"),
            "pass/ok"
        );
    }
}

/// The README's promise: reads, and the credential exchanges it names.
fn allowed(op: &str) -> bool {
    let Some((service, name)) = op.split_once(':') else {
        return false;
    };
    const READS: [&str; 6] = [
        "Get",
        "Describe",
        "List",
        "BatchGet",
        "BatchCheck",
        "Simulate",
    ];
    let read = READS.iter().any(|p| name.starts_with(p));
    let exchange = (service == "sts" && name.starts_with("AssumeRole"))
        || (service == "sso" && name == "GetRoleCredentials");
    // REST (S3): the layer download, GET or HEAD only
    let rest = name.starts_with("GET /") || name.starts_with("HEAD /");
    read || exchange || rest
}

#[test]
fn the_doctor_only_reads() {
    let sw = sweep();
    let ops: std::collections::BTreeSet<&str> = sw.operations.iter().map(String::as_str).collect();
    let not_reads: Vec<&&str> = ops.iter().filter(|o| !allowed(o)).collect();
    assert!(
        not_reads.is_empty(),
        "operations that are not reads nor the README's credential exchanges: {not_reads:?}\nall: {ops:?}"
    );
    // the log saw the doctor: its calls are there (no vacuous pass)
    for must in [
        "sts:GetCallerIdentity",
        "ecr:GetAuthorizationToken",
        "sts:AssumeRole",
        "iam:SimulatePrincipalPolicy",
        "ecr:BatchGetImage",
        "ec2:DescribeVpcs",
    ] {
        assert!(
            ops.contains(must),
            "{must} not in the operation log: {ops:?}"
        );
    }
    if sw.netlab {
        assert!(
            ops.iter().any(|o| o.starts_with("s3:GET /")),
            "the layer download is not in the namespace's log: {ops:?}"
        );
    }
    // the files: byte-identical, but the helper's own log (appended to by the helper)
    let (before, after) = &sw.files;
    let log = sw.home.join(HELPER_LOG);
    let mut changed = Vec::new();
    for (path, bytes) in before {
        match after.get(path) {
            Some(b) if b == bytes => {}
            Some(_) => changed.push(format!("changed: {}", path.display())),
            None => changed.push(format!("removed: {}", path.display())),
        }
    }
    for path in after.keys() {
        if !before.contains_key(path) && *path != log {
            changed.push(format!("created: {}", path.display()));
        }
    }
    assert!(changed.is_empty(), "files touched by the runs: {changed:?}");
    assert!(
        before.contains_key(&sw.home.join(".aws/credentials"))
            && before.contains_key(&sw.home.join("docker-stored/config.json"))
            && before.contains_key(&sw.home.join("docker-helper/config.json")),
        "{:?}",
        before.keys()
    );
    // the helper did run (its log is the exception, not a file that never appeared)
    assert!(after.contains_key(&log), "the credential helper never ran");
    eprintln!(
        "proof: {} distinct operations, all reads; sweep {:.1} s",
        ops.len(),
        sw.elapsed.as_secs_f64()
    );
}
