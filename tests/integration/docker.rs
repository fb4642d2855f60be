//! `docker.config` through the built binary: every code, each run with its own temporary
//! `DOCKER_CONFIG` (the harness gives every run a temporary HOME; the real home is never
//! read), stand-in credential helpers on PATH that record how they were run, and a helper
//! that is missing.

use crate::harness::{doctor, pairs, Moto, Run};
use base64::Engine as _;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

const REG: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// An ECR-shaped password (base64 of the JSON ECR puts in it) expiring `ttl` seconds from now.
fn ecr_password(ttl: i64, payload: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    b64(&format!(
        r#"{{"payload":"{payload}","datakey":"a2V5","version":"2","type":"DATA_KEY","expiration":{}}}"#,
        now + ttl
    ))
}

/// The `auth` of a `docker login` to ECR: base64 of `AWS:<password>`.
fn ecr_auth(ttl: i64, payload: &str) -> String {
    b64(&format!("AWS:{}", ecr_password(ttl, payload)))
}

/// A temporary docker configuration directory, a directory of stand-in helpers, and the
/// environment that points a run at them.
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new(config: Option<&str>) -> World {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("docker")).unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        if let Some(c) = config {
            std::fs::write(dir.path().join("docker/config.json"), c).unwrap();
        }
        World { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// A stand-in `docker-credential-<name>`: records its arguments, stdin and environment
    /// next to itself, then prints `stdout` and exits with `status`.
    fn helper(&self, name: &str, stdout: &str, status: i32) {
        let script = self.path(&format!("bin/docker-credential-{name}"));
        let rec = self.path(&format!("ran-{name}"));
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$@\" > '{r}.args'\ncat > '{r}.stdin'\nenv > '{r}.env'\nprintf '%s' '{stdout}'\nexit {status}\n",
                r = rec.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// What a stand-in recorded, if it ran.
    fn ran(&self, name: &str, what: &str) -> Option<String> {
        std::fs::read_to_string(self.path(&format!("ran-{name}.{what}"))).ok()
    }

    /// The lab's environment plus DOCKER_CONFIG, and PATH with the stand-ins first.
    fn env(&self, moto: &Moto) -> Vec<(String, String)> {
        let mut env = moto.env_as("lab-healthy");
        env.push((
            "DOCKER_CONFIG".into(),
            self.path("docker").display().to_string(),
        ));
        env.push((
            "PATH".into(),
            format!(
                "{}:{}",
                self.path("bin").display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        ));
        env
    }
}

fn run(moto: &Moto, world: &World, extra: &[(&str, &str)]) -> Run {
    let mut env = world.env(moto);
    env.extend(pairs(extra));
    doctor(&env, &["--output", "json"])
}

fn docker(r: &Run) -> (String, Option<String>, Value) {
    let (status, code) = r.check("docker.config");
    (status, code, r.entry("docker.config"))
}

fn message(e: &Value) -> String {
    e["message"].as_str().unwrap().to_string()
}

fn all_text(e: &Value) -> String {
    format!(
        "{} {} {}",
        e["message"].as_str().unwrap_or_default(),
        e["remediation"]["text"].as_str().unwrap_or_default(),
        e["remediation"]["commands"]
    )
}

#[test]
fn stored_logins_fresh_expiring_expired_and_not_ecr() {
    let moto = Moto::start(&[], &[]);

    // a fresh login under the bare host key
    let w = World::new(Some(
        &json!({"auths": {REG: {"auth": ecr_auth(6 * 3600, "cGF5bG9hZC1mcmVzaA==")}}}).to_string(),
    ));
    let r = run(&moto, &w, &[]);
    let (status, code, e) = docker(&r);
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("pass", Some("ok-stored-token"))
    );
    assert_eq!(e["facts"]["key_form"], "bare");
    assert!(message(&e).contains("the bare host key"), "{e}");
    assert_eq!(r.code, 0, "{:?}", r.not_passing());

    // under the https:// key older logins write
    let key = format!("https://{REG}");
    let w = World::new(Some(
        &json!({"auths": {&key: {"auth": ecr_auth(6 * 3600, "cGF5bG9hZC1odHRwcw==")}}}).to_string(),
    ));
    let (status, code, e) = docker(&run(&moto, &w, &[]));
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("pass", Some("ok-stored-token"))
    );
    assert_eq!(e["facts"]["auth_key"], key.as_str());
    assert!(message(&e).contains("older logins"), "{e}");

    // expiring within the hour
    let w = World::new(Some(
        &json!({"auths": {REG: {"auth": ecr_auth(1800, "cGF5bG9hZC1zb29u")}}}).to_string(),
    ));
    let r = run(&moto, &w, &[]);
    assert_eq!(
        r.not_passing(),
        ["docker.config=warn/stored-token-expires-soon"]
    );

    // expired 13 hours ago: docker sends it since no helper matches
    let w = World::new(Some(
        &json!({"auths": {REG: {"auth": ecr_auth(-13 * 3600, "cGF5bG9hZC1vbGQ=")}}}).to_string(),
    ));
    let r = run(&moto, &w, &[]);
    let (status, code, e) = docker(&r);
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("fail", Some("stored-token-expired"))
    );
    assert_eq!(r.code, 1);
    assert_eq!(e["facts"]["hours_ago"], 13.0);
    let text = all_text(&e);
    assert!(text.contains("expired 13.0 hours ago"), "{text}");
    assert!(text.contains("No credential helper matches"), "{text}");
    assert!(text.contains(&format!("docker logout {REG}")), "{text}");
    assert!(
        text.contains(&format!(r#"{{"credHelpers": {{"{REG}": "ecr-login"}}}}"#)),
        "{text}"
    );

    // a login that is not ECR's (an IAM user's name and password)
    let w = World::new(Some(
        &json!({"auths": {REG: {"auth": b64("deploy:not-an-ecr-password-1")}}}).to_string(),
    ));
    let r = run(&moto, &w, &[]);
    let (status, code, e) = docker(&r);
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("fail", Some("stored-auth-not-ecr"))
    );
    assert!(message(&e).contains("user deploy, not AWS"), "{e}");
    assert!(!r.stdout.contains("not-an-ecr-password-1"));
}

#[test]
fn no_auth_other_registries_and_the_wildcard_key() {
    let moto = Moto::start(&[], &[]);

    // no file at all in DOCKER_CONFIG
    let w = World::new(None);
    let r = run(&moto, &w, &[]);
    assert_eq!(r.code, 0, "a warning alone exits 0");
    assert_eq!(r.not_passing(), ["docker.config=warn/no-auth-configured"]);
    let (_, _, e) = docker(&r);
    assert_eq!(e["facts"]["config_found"], false);
    let text = all_text(&e);
    // the hint shows the login command and the credential helper's configuration
    assert!(
        text.contains(&format!(
            "aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin {REG}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(r#"{{"credHelpers": {{"{REG}": "ecr-login"}}}}"#)),
        "{text}"
    );
    assert!(text.contains("no basic auth credentials"), "{text}");

    // a wildcard credHelpers key never matches: docker asks no helper
    let wildcard = "*.dkr.ecr.*.amazonaws.com";
    let w = World::new(Some(
        &json!({"credHelpers": {wildcard: "ecr-login"}}).to_string(),
    ));
    w.helper(
        "ecr-login",
        r#"{"Username":"AWS","Secret":"never-asked-123"}"#,
        0,
    );
    let r = run(&moto, &w, &[]);
    let (status, code, e) = docker(&r);
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("warn", Some("no-auth-configured"))
    );
    assert_eq!(e["facts"]["ignored_helper_keys"], json!([wildcard]));
    assert!(message(&e).contains("never match"), "{e}");
    assert!(w.ran("ecr-login", "args").is_none(), "the helper ran");

    // logins for another region and another account only: named
    let other_region = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    let other_account = "210987654321.dkr.ecr.us-east-1.amazonaws.com";
    let w = World::new(Some(
        &json!({
            "auths": {
                format!("https://{other_region}"): {"auth": ecr_auth(6 * 3600, "cGF5bG9hZC1ldQ==")},
                other_account: {"auth": ecr_auth(6 * 3600, "cGF5bG9hZC1vdGhlcg==")},
            }
        })
        .to_string(),
    ));
    let r = run(&moto, &w, &[]);
    let (status, code, e) = docker(&r);
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("warn", Some("stored-auth-other-registry"))
    );
    assert_eq!(
        e["facts"]["other_registries"],
        json!([other_region, other_account])
    );
    let msg = message(&e);
    assert!(
        msg.contains(other_region) && msg.contains(other_account),
        "{msg}"
    );
}

#[test]
fn the_ecr_credential_helper_is_run_without_its_cache() {
    let moto = Moto::start(&[], &[]);
    let password = ecr_password(12 * 3600, "aGVscGVyLXBheWxvYWQ=");
    let w = World::new(Some(
        &json!({"credHelpers": {REG: "ecr-login"}}).to_string(),
    ));
    w.helper(
        "ecr-login",
        &format!(r#"{{"ServerURL":"{REG}","Username":"AWS","Secret":"{password}"}}"#),
        0,
    );
    for args in [&["--output", "json"][..], &["--output", "markdown"]] {
        let r = doctor(&w.env(&moto), args);
        assert!(!r.stdout.contains(&password), "helper secret in {args:?}");
        assert!(!r.stdout.contains("aGVscGVyLXBheWxvYWQ"), "{args:?}");
        if args.contains(&"json") {
            let (status, code, e) = docker(&r);
            assert_eq!(
                (status.as_str(), code.as_deref()),
                ("pass", Some("ok-helper"))
            );
            let hours = e["facts"]["hours_left"].as_f64().unwrap();
            assert!((11.9..=12.0).contains(&hours), "{hours}");
            let msg = message(&e);
            // where the helper's log and cache live, under the run's HOME
            assert!(msg.contains("/.ecr/log/ecr-login.log"), "{msg}");
            assert!(msg.contains("/.ecr/cache.json was not written"), "{msg}");
            assert!(msg.contains("AWS_ECR_DISABLE_CACHE=true"), "{msg}");
        }
    }
    // how it was run: `get`, the registry on stdin, the cache disabled
    assert_eq!(w.ran("ecr-login", "args").unwrap().trim(), "get");
    assert_eq!(w.ran("ecr-login", "stdin").unwrap(), REG);
    let env = w.ran("ecr-login", "env").unwrap();
    assert!(
        env.lines().any(|l| l == "AWS_ECR_DISABLE_CACHE=true"),
        "{env}"
    );
    // the docker CLI's environment: its AWS credentials reach the helper
    assert!(
        env.lines().any(|l| l.starts_with("AWS_ACCESS_KEY_ID=")),
        "{env}"
    );

    // as credsStore, the same helper serves every registry
    let w = World::new(Some(&json!({"credsStore": "ecr-login"}).to_string()));
    w.helper(
        "ecr-login",
        &format!(r#"{{"Username":"AWS","Secret":"{password}"}}"#),
        0,
    );
    let (status, code, e) = docker(&run(&moto, &w, &[]));
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("pass", Some("ok-helper"))
    );
    assert_eq!(e["facts"]["helper_source"], "credsStore");
}

#[test]
fn helpers_missing_failing_or_not_opened() {
    let moto = Moto::start(&[], &[]);

    // missing: credHelpers names ecr-login and nothing on PATH provides it
    let w = World::new(Some(
        &json!({"credHelpers": {REG: "ecr-login"}}).to_string(),
    ));
    let r = run(&moto, &w, &[("PATH", &w.path("bin").display().to_string())]);
    let (status, code, e) = docker(&r);
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("fail", Some("helper-not-found"))
    );
    let text = all_text(&e);
    assert!(text.contains("docker-credential-ecr-login"), "{text}");
    assert!(
        text.contains("not by the daemon") && text.contains("sudo"),
        "{text}"
    );

    // failing: it exits 1 as the real one does when it gets no token
    let w = World::new(Some(
        &json!({"credHelpers": {REG: "ecr-login"}}).to_string(),
    ));
    w.helper("ecr-login", "credentials not found in native keychain", 1);
    let r = run(&moto, &w, &[]);
    let (status, code, e) = docker(&r);
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("fail", Some("helper-failed"))
    );
    assert_eq!(e["facts"]["exit_status"], 1);
    let msg = message(&e);
    assert!(
        msg.contains("credentials not found in native keychain"),
        "{msg}"
    );
    assert!(msg.contains("/.ecr/log/ecr-login.log"), "{msg}");
    assert!(w
        .ran("ecr-login", "env")
        .unwrap()
        .contains("AWS_ECR_DISABLE_CACHE=true"));

    // a keychain: not run, and the user is told how to look
    let w = World::new(Some(
        &json!({"credsStore": "desktop", "auths": {REG: {}}}).to_string(),
    ));
    w.helper(
        "desktop",
        r#"{"Username":"AWS","Secret":"keychain-secret-1"}"#,
        0,
    );
    let r = run(&moto, &w, &[]);
    let (status, code, e) = docker(&r);
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("warn", Some("keychain-not-inspectable"))
    );
    assert!(
        w.ran("desktop", "args").is_none(),
        "the keychain helper ran"
    );
    assert_eq!(
        e["remediation"]["commands"][0],
        "docker-credential-desktop list"
    );
}

#[test]
fn unparseable_config_names_file_and_position_never_contents() {
    let moto = Moto::start(&[], &[]);
    let text = format!(
        "{{\n  \"auths\": {{\n    \"{REG}\": {{\"auth\": \"{}\"}}\n    \"x\": 1\n}}\n",
        ecr_auth(3600, "cGF5bG9hZC1icm9rZW4=")
    );
    let w = World::new(Some(&text));
    let r = run(&moto, &w, &[]);
    let (status, code, e) = docker(&r);
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("fail", Some("unparseable-config"))
    );
    let file = w.path("docker/config.json").display().to_string();
    let msg = message(&e);
    assert!(msg.contains(&file), "{msg}");
    assert!(msg.contains("line 4, column 5"), "{msg}");
    assert!(
        !r.stdout.contains("QVdTOi") && !r.stdout.contains("\"x\""),
        "{}",
        r.stdout
    );
    assert_eq!(
        e["remediation"]["commands"][0],
        format!("python3 -m json.tool {file} > /dev/null")
    );

    // DOCKER_AUTH_CONFIG that is not JSON
    let w = World::new(None);
    let r = run(&moto, &w, &[("DOCKER_AUTH_CONFIG", "{\"auths\": {oops")]);
    let (_, code, e) = docker(&r);
    assert_eq!(code.as_deref(), Some("unparseable-config"));
    assert_eq!(e["facts"]["bad_env"], "DOCKER_AUTH_CONFIG");
    assert!(!r.stdout.contains("oops"));
}

#[test]
fn docker_auth_config_is_read_first() {
    let moto = Moto::start(&[], &[]);
    let w = World::new(Some(
        &json!({"auths": {REG: {"auth": ecr_auth(6 * 3600, "cGF5bG9hZC1maWxl")}}}).to_string(),
    ));
    let env_cfg = json!({"auths": {REG: {"auth": ecr_auth(-2 * 3600, "cGF5bG9hZC1lbnY=")}}});
    let r = run(&moto, &w, &[("DOCKER_AUTH_CONFIG", &env_cfg.to_string())]);
    let (status, code, e) = docker(&r);
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("fail", Some("stored-token-expired"))
    );
    assert_eq!(e["facts"]["config_source"], "DOCKER_AUTH_CONFIG");
    assert!(message(&e).contains("docker CLI 28.3.0 and later"), "{e}");
}

#[test]
fn without_a_registry_it_skips_with_its_reason() {
    // no credentials: the caller's account, and so its registry, is unknown
    let w = World::new(Some("{}"));
    let env = pairs(&[
        ("DOCKER_CONFIG", &w.path("docker").display().to_string()),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
    ]);
    let r = doctor(&env, &["--output", "json"]);
    assert_eq!(
        r.check("docker.config"),
        ("skip".into(), Some("no-registry".into()))
    );
    // a --registry is enough
    let r = doctor(&env, &["--output", "json", "--registry", REG]);
    assert_eq!(
        r.check("docker.config"),
        ("warn".into(), Some("no-auth-configured".into()))
    );
}

#[test]
fn a_huge_config_is_not_read() {
    let moto = Moto::start(&[], &[]);
    // 5 MiB of a JSON string: valid JSON, past the 4 MiB the doctor reads
    let huge = format!("{{\"auths\": {{}}, \"x\": \"{}\"}}", "a".repeat(5 << 20));
    let w = World::new(Some(&huge));
    let r = run(&moto, &w, &[]);
    let (status, code, e) = docker(&r);
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("warn", Some("config-too-large"))
    );
    let file = w.path("docker/config.json").display().to_string();
    assert!(message(&e).contains(&file), "{e}");
    assert_eq!(e["remediation"]["commands"][0], format!("ls -l {file}"));
    assert!(!r.stdout.contains("aaaaaaaa"));
}
