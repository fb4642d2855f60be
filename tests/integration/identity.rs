//! Credentials, identity, clock, token and proxy checks against the moto lab.

use crate::harness::{closed_port, doctor, fake_server, pairs, validate_schema, Moto};
use base64::Engine as _;
use serde_json::{json, Value};

const FIRST_FAMILY: [&str; 7] = [
    "credentials.source",
    "identity.caller",
    "token.get",
    // after identity.caller and token.get: it needs to know whether AWS accepted the clock
    "identity.clock-skew",
    "repo.policy",
    "role.permissions",
    "env.proxy",
];

#[test]
fn healthy_world_passes_and_json_matches_the_schema() {
    let moto = Moto::start(&[], &[]);
    let r = doctor(&moto.env_as("lab-healthy"), &["--output", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    validate_schema(&r.stdout);
    let v = r.json();
    assert_eq!(r.ids()[..7], FIRST_FAMILY, "catalog order");
    // no VPC given and no metadata: the VPC checks say why they did not run
    assert_eq!(
        r.check("vpc.lookup"),
        ("skip".into(), Some("no-vpc".into()))
    );
    let msg = r.entry("vpc.endpoint.ecr-dkr")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(msg, "Skipped: no VPC: pass --vpc or run inside the VPC");
    assert!(r.not_passing().is_empty(), "{:?}", r.not_passing());
    assert_eq!(v["context"]["account"], "123456789012");
    assert_eq!(
        v["context"]["registry"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    );
    let token = r.entry("token.get");
    let hours = token["facts"]["hours_left"].as_f64().unwrap();
    assert!((11.9..=12.0).contains(&hours), "{hours}");
    assert_eq!(token["facts"]["user"], "AWS");
    let creds = r.entry("credentials.source");
    assert_eq!(creds["facts"]["source"], "environment");
    assert_eq!(
        r.entry("identity.caller")["facts"]["arn"],
        "arn:aws:iam::123456789012:user/lab-healthy"
    );

    // the table and markdown say the same
    let t = doctor(&moto.env_as("lab-healthy"), &["--color", "never"]);
    assert_eq!(t.code, 0);
    for id in FIRST_FAMILY {
        assert!(
            t.stdout.contains(id),
            "{id} missing from table:\n{}",
            t.stdout
        );
    }
    assert!(
        t.stdout.contains("5 passed, 0 warned, 0 failed, "),
        "{}",
        t.stdout
    );
    assert!(!t.stdout.contains('\x1b'));
    let m = doctor(&moto.env_as("lab-healthy"), &["--output", "markdown"]);
    assert!(m.stdout.starts_with("# ecr-doctor report"));
    assert_eq!(m.stdout.matches("| PASS |").count(), 5, "{}", m.stdout);
}

#[test]
fn no_credentials_fails_and_skips_dependents() {
    let moto = Moto::start(&[], &[]);
    let env = pairs(&[("AWS_ENDPOINT_URL", &moto.endpoint())]);
    let r = doctor(&env, &["--output", "json"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.check("credentials.source"),
        ("fail".into(), Some("no-credentials".into()))
    );
    let c = r.entry("credentials.source");
    let msg = c["message"].as_str().unwrap();
    for provider in [
        "environment variables",
        "profile 'default'",
        "web identity",
        "container credentials",
        "instance metadata",
    ] {
        assert!(msg.contains(provider), "{provider} not named in: {msg}");
    }
    assert!(!c["remediation"]["commands"].as_array().unwrap().is_empty());
    for id in ["identity.caller", "identity.clock-skew", "token.get"] {
        assert_eq!(
            r.check(id),
            ("skip".into(), Some("dependency-not-passed".into())),
            "{id}"
        );
    }
    assert_eq!(
        r.entry("token.get")["skipped_because"][0],
        "identity.caller"
    );
    assert_eq!(r.check("env.proxy").0, "pass");
}

#[test]
fn unknown_access_key_is_invalid_credentials_with_status() {
    let moto = Moto::start(&["--enforce-auth"], &[]);
    let env = pairs(&[
        ("AWS_ENDPOINT_URL", &moto.endpoint()),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
        ),
    ]);
    let r = doctor(&env, &["--output", "json"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.check("identity.caller"),
        ("fail".into(), Some("invalid-credentials".into()))
    );
    let e = r.entry("identity.caller");
    assert_eq!(e["facts"]["http_status"], 403);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("HTTP 403 InvalidClientTokenId"),
        "{}",
        e["message"]
    );
    assert_eq!(r.check("token.get").0, "skip");
    assert_eq!(
        r.not_passing()[..2],
        [
            "identity.caller=fail/invalid-credentials",
            "token.get=skip/dependency-not-passed"
        ]
    );
    // the VPC checks need the identity too
    assert_eq!(
        r.check("vpc.lookup"),
        ("skip".into(), Some("dependency-not-passed".into()))
    );
}

#[test]
fn token_denied_by_iam_names_the_fix() {
    let moto = Moto::start(&["--enforce-auth"], &[]);
    let r = doctor(&moto.env_as("lab-no-ecr-token"), &["--output", "json"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.not_passing(),
        [
            "token.get=fail/access-denied",
            "registry.auth=skip/dependency-not-passed",
            "image.manifest=skip/dependency-not-passed",
            "image.layer-download=skip/dependency-not-passed"
        ]
    );
    let e = r.entry("token.get");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("arn:aws:iam::123456789012:user/lab-no-ecr-token"));
    assert!(e["remediation"]["text"]
        .as_str()
        .unwrap()
        .contains("\"Resource\": \"*\""));
    let cmd = e["remediation"]["commands"][0].as_str().unwrap();
    assert!(
        cmd.starts_with("aws iam put-user-policy --user-name lab-no-ecr-token "),
        "{cmd}"
    );
    // the healthy user of the same enforcing lab gets a token
    let ok = doctor(&moto.env_as("lab-healthy"), &["--output", "json"]);
    assert_eq!(ok.code, 0, "{:?}", ok.not_passing());
}

#[test]
fn proxy_without_no_proxy_warns() {
    let moto = Moto::start(&[], &[]);
    let mut env = moto.env_as("lab-healthy");
    // the proxy is a closed port: the lab itself stays reachable through NO_PROXY
    env.extend(pairs(&[
        ("HTTPS_PROXY", &closed_port()),
        ("NO_PROXY", "127.0.0.1,localhost"),
    ]));
    let r = doctor(&env, &["--output", "json"]);
    assert_eq!(r.code, 0, "a warning alone exits 0: {:?}", r.not_passing());
    assert_eq!(r.not_passing(), ["env.proxy=warn/ecr-through-proxy"]);
    let e = r.entry("env.proxy");
    let hosts = e["facts"]["hosts_through_proxy"].as_array().unwrap();
    assert_eq!(hosts.len(), 3, "{hosts:?}");
    assert!(e["remediation"]["commands"][0].as_str().unwrap().contains(
        "127.0.0.1,localhost,api.ecr.us-east-1.amazonaws.com,.dkr.ecr.us-east-1.amazonaws.com"
    ));
    let strict = doctor(&env, &["--output", "json", "--strict"]);
    assert_eq!(strict.code, 1, "--strict fails on warnings");
}

#[test]
fn clock_skew_is_measured_against_the_server_date() {
    let moto = Moto::start(&["--clock-offset", "120"], &[]);
    let r = doctor(&moto.env_as("lab-healthy"), &["--output", "json"]);
    assert_eq!(r.not_passing(), ["identity.clock-skew=warn/clock-skew"]);
    let skew = r.entry("identity.clock-skew")["facts"]["skew_abs_seconds"]
        .as_i64()
        .unwrap();
    assert!((118..=122).contains(&skew), "{skew}");
    // past 5 minutes: STS and ECR still accept (up to 15), a warning naming who refuses
    let moto = Moto::start(&["--clock-offset", "-400"], &[]);
    let r = doctor(&moto.env_as("lab-healthy"), &["--output", "json"]);
    assert_eq!(r.code, 0, "{:?}", r.not_passing());
    assert_eq!(
        r.not_passing(),
        ["identity.clock-skew=warn/clock-skew-over-5-minutes"]
    );
    let skew = r.entry("identity.clock-skew");
    assert_eq!(skew["facts"]["direction"], "ahead");
    let msg = skew["message"].as_str().unwrap();
    assert!(msg.contains("s ahead of AWS"), "{skew}");
    assert!(msg.contains("ECS and Secrets Manager"), "{msg}");
}

#[test]
fn clock_past_15_minutes_is_refused_and_fails() {
    // the lab's clock 1000 s behind: STS refuses the request (lab extension 6, as AWS does)
    let moto = Moto::start(&["--clock-offset", "-1000"], &[]);
    let r = doctor(&moto.env_as("lab-healthy"), &["--output", "json"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.check("identity.caller"),
        ("fail".into(), Some("clock-rejected".into()))
    );
    let e = r.entry("identity.caller");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("Signature not yet current"),
        "{e}"
    );
    assert_eq!(
        r.check("identity.clock-skew"),
        ("fail".into(), Some("clock-skew-over-15-minutes".into()))
    );
    let skew = r.entry("identity.clock-skew");
    assert_eq!(skew["facts"]["sts_accepted"], false);
    let abs = skew["facts"]["skew_abs_seconds"].as_i64().unwrap();
    assert!((998..=1002).contains(&abs), "{abs}");
}

#[test]
fn a_rewritten_date_never_fails_the_clock_when_aws_accepted_it() {
    // the clocks agree, a proxy-like rewrite puts the Date header 1000 s behind: STS and
    // ECR accept every request, so the measurement is contradicted, a warning
    let moto = Moto::start(&["--date-header-offset", "-1000"], &[]);
    let r = doctor(&moto.env_as("lab-healthy"), &["--output", "json"]);
    assert_eq!(r.code, 0, "{:?}", r.not_passing());
    assert_eq!(
        r.not_passing(),
        ["identity.clock-skew=warn/clock-skew-contradicted"]
    );
    let skew = r.entry("identity.clock-skew");
    assert_eq!(skew["facts"]["sts_accepted"], true);
    assert_eq!(skew["facts"]["ecr_accepted"], true);
    let msg = skew["message"].as_str().unwrap();
    assert!(msg.contains("STS and ECR accepted"), "{msg}");
    assert!(msg.contains("s ahead of the Date header"), "{msg}");
    assert!(
        skew["remediation"]["text"]
            .as_str()
            .unwrap()
            .contains("rewrites the Date header"),
        "{skew}"
    );
}

#[test]
fn a_refused_get_caller_identity_shows_what_answered() {
    // AWS_ENDPOINT_URL_STS points at something that is not STS (a proxy's refusal page)
    let moto = Moto::start(&[], &[]);
    let not_sts = fake_server(Some(
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: 136\r\nConnection: close\r\n\r\n<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Blocked by the proxy policy</Message></Error></ErrorResponse>",
    ));
    let mut env = moto.env_as("lab-healthy");
    env.push(("AWS_ENDPOINT_URL_STS".into(), not_sts.clone()));
    let r = doctor(&env, &["--output", "json"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.check("identity.caller"),
        ("fail".into(), Some("access-denied".into()))
    );
    let e = r.entry("identity.caller");
    let host = not_sts.trim_start_matches("http://");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains(host) && msg.contains("HTTP 403"), "{msg}");
    let fix = e["remediation"]["text"].as_str().unwrap();
    assert!(fix.contains("No IAM policy can deny"), "{fix}");
    assert!(fix.contains("not STS") && fix.contains(host), "{fix}");
    assert!(!fix.contains("service control policy"), "{fix}");
}

#[test]
fn throttled_token_names_the_quota_not_a_rate() {
    let moto = Moto::start(&[], &[("LAB_TOKEN_THROTTLED", "1")]);
    let r = doctor(&moto.env_as("lab-healthy"), &["--output", "json"]);
    assert_eq!(
        r.check("token.get"),
        ("fail".into(), Some("throttled".into()))
    );
    let e = r.entry("token.get");
    let fix = e["remediation"]["text"].as_str().unwrap();
    assert!(fix.contains("per-account, per-region quota"), "{fix}");
    assert!(fix.contains("Cache the token"), "{fix}");
    let all = e.to_string();
    assert!(!all.contains("per second"), "{all}");
}

#[test]
fn role_session_limits_the_token_life_and_says_so() {
    let moto = Moto::start(&[], &[]);
    let r = doctor(
        &moto.env_as("lab-healthy"),
        &[
            "--output",
            "json",
            "--role-arn",
            "arn:aws:iam::123456789012:role/lab-puller",
        ],
    );
    assert_eq!(r.code, 0, "{:?}", r.not_passing());
    assert_eq!(
        r.check("token.get"),
        ("pass".into(), Some("ok-role-session".into()))
    );
    let f = &r.entry("token.get")["facts"];
    // the effective expiry is the 900 s session's, the token's own is 12 hours
    assert_eq!(f["expires_at"], f["credentials_expire_at"], "{f}");
    assert_ne!(f["expires_at"], f["token_expires_at"], "{f}");
    let hours = f["hours_left"].as_f64().unwrap();
    assert!((0.2..=0.3).contains(&hours), "{hours}");
    assert_eq!(f["limited_by_credentials"], true);
    let msg = r.entry("token.get")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!msg.contains("clock"), "{msg}");
}

#[test]
fn fips_and_dual_stack_registries_are_not_wrong_registry() {
    let moto = Moto::start(&[], &[]);
    for registry in [
        "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
        "123456789012.dkr-ecr.us-east-1.on.aws",
        "123456789012.dkr-ecr-fips.us-east-1.on.aws",
    ] {
        let r = doctor(
            &moto.env_as("lab-healthy"),
            &["--output", "json", "--registry", registry],
        );
        assert_eq!(
            r.check("token.get"),
            ("pass".into(), Some("ok".into())),
            "{registry}: {}",
            r.entry("token.get")
        );
        let f = &r.entry("token.get")["facts"];
        assert_eq!(f["token_region"], "us-east-1");
        assert_eq!(f["registry_region"], "us-east-1");
    }
}

#[test]
fn expired_and_short_tokens() {
    let moto = Moto::start(&[], &[("LAB_TOKEN_TTL_SECONDS", "-60")]);
    let r = doctor(&moto.env_as("lab-healthy"), &["--output", "json"]);
    assert_eq!(
        r.not_passing(),
        [
            "token.get=fail/expired",
            "registry.auth=skip/dependency-not-passed",
            "image.manifest=skip/dependency-not-passed",
            "image.layer-download=skip/dependency-not-passed"
        ]
    );
    let moto = Moto::start(&[], &[("LAB_TOKEN_TTL_SECONDS", "1800")]);
    let r = doctor(&moto.env_as("lab-healthy"), &["--output", "json"]);
    assert_eq!(r.not_passing(), ["token.get=warn/expires-soon"]);
}

/// The `registryIds` of the GetAuthorizationToken requests the lab got after the first `from`.
fn token_requests(moto: &Moto, from: usize) -> Vec<Value> {
    moto.requests()[from..]
        .iter()
        .filter(|r| r["target"] == "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken")
        .map(|r| r["body"]["registryIds"].clone())
        .collect()
}

#[test]
fn registry_flag_sets_the_region_and_the_token_request() {
    // no AWS_REGION: the region comes from --registry
    let moto = Moto::start(&[], &[]);
    let mut env = moto.env_as("lab-healthy");
    env.push(("AWS_REGION".into(), String::new()));
    let r = doctor(
        &env,
        &[
            "--output",
            "json",
            "--registry",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
        ],
    );
    assert_eq!(r.code, 0, "{:?}", r.not_passing());
    assert_eq!(r.json()["context"]["region"], "us-east-1");
    // the caller's own registry: no other account's id in the request
    let same = token_requests(&moto, 0);
    assert_eq!(same.len(), 1, "one token request: {same:?}");
    assert!(
        same[0].is_null() || same[0] == json!(["123456789012"]),
        "registryIds of the same-account request: {}",
        same[0]
    );
    // a registry of another account: GetAuthorizationToken is asked for that registry
    let seen = moto.requests().len();
    let r = doctor(
        &env,
        &[
            "--output",
            "json",
            "--registry",
            "210987654321.dkr.ecr.us-east-1.amazonaws.com",
        ],
    );
    let other = token_requests(&moto, seen);
    assert_eq!(other, [json!(["210987654321"])], "registryIds sent");
    let facts = r.entry("token.get")["facts"].clone();
    assert_eq!(facts["registry_id"], "210987654321", "{facts}");
}

#[test]
fn no_secret_in_any_output() {
    let moto = Moto::start(&[], &[]);
    let (key_id, secret_key) = moto.user("lab-healthy");
    let mut env = moto.env_as("lab-healthy");
    let session = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENvalue0123456789abcdef";
    env.push(("AWS_SESSION_TOKEN".into(), session.into()));
    env.push((
        "HTTPS_PROXY".into(),
        "http://user:proxy-password-123@127.0.0.1:9".into(),
    ));
    env.push(("NO_PROXY".into(), "127.0.0.1".into()));
    // the docker client's stored logins, which docker.config reads and decodes: an ECR
    // token for the lab's registry and other registries' passwords, in the file and in
    // DOCKER_AUTH_CONFIG
    let docker_dir = tempfile::tempdir().unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let expiration = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 6 * 3600;
    let ecr_password = b64(&format!(
        r#"{{"payload":"ZG9ja2VyLXN0b3JlZA==","datakey":"a2V5","version":"2","type":"DATA_KEY","expiration":{expiration}}}"#
    ));
    let docker_auths = [
        b64(&format!("AWS:{ecr_password}")),
        b64("me:docker-hub-password-123"),
        b64("me:ghcr-password-123"),
    ];
    std::fs::write(
        docker_dir.path().join("config.json"),
        json!({"auths": {
            "123456789012.dkr.ecr.us-east-1.amazonaws.com": {"auth": docker_auths[0]},
            "https://index.docker.io/v1/": {"auth": docker_auths[1]},
        }})
        .to_string(),
    )
    .unwrap();
    env.push((
        "DOCKER_CONFIG".into(),
        docker_dir.path().display().to_string(),
    ));
    env.push((
        "DOCKER_AUTH_CONFIG".into(),
        json!({"auths": {"ghcr.io": {"auth": docker_auths[2]}}}).to_string(),
    ));
    // every run loads the credentials and fetches a token: the secrets are in the process
    for args in [
        &["--output", "json"][..],
        &["--output", "markdown"],
        &["--color", "always"],
        // the credentials signed an AssumeRole call, and the role's signed the rest
        &[
            "--output",
            "json",
            "--role-arn",
            "arn:aws:iam::123456789012:role/lab-puller",
        ],
    ] {
        let r = doctor(&env, args);
        let all = format!("{}{}", r.stdout, r.stderr);
        // the credentials were loaded and a token fetched, whatever the format
        if args.contains(&"json") {
            assert_eq!(r.check("token.get").0, "pass", "{args:?}");
            assert_eq!(
                r.check("docker.config"),
                ("pass".into(), Some("ok-stored-token".into())),
                "the stored login was read and decoded in {args:?}"
            );
        } else {
            assert!(
                r.stdout
                    .lines()
                    .any(|l| l.contains("token.get") && l.contains("PASS")),
                "no token fetched in {args:?}:\n{}",
                r.stdout
            );
        }
        if args.contains(&"--role-arn") {
            assert_eq!(
                r.check("credentials.source"),
                ("pass".into(), Some("ok-assumed-role".into()))
            );
        } else if args.contains(&"json") || args.contains(&"markdown") {
            // the table cuts the Result cell; the full message is in these formats
            assert!(all.contains(&key_id), "credentials not shown in {args:?}");
        }
        assert!(
            !all.contains(&secret_key),
            "secret key in output of {args:?}"
        );
        assert!(
            !all.contains(session),
            "session token in output of {args:?}"
        );
        assert!(
            !all.contains("proxy-password-123"),
            "proxy password in output of {args:?}"
        );
        // the ECR token is base64 of "AWS:" + base64 of a JSON object ('{"payload"...')
        assert!(
            !all.contains("QVdTOi"),
            "authorization token in output of {args:?}"
        );
        assert!(
            !all.contains("eyJwYXlsb2Fk"),
            "token password in output of {args:?}"
        );
        // the docker client's secrets, encoded or decoded
        for secret in docker_auths.iter().map(String::as_str).chain([
            ecr_password.as_str(),
            "docker-hub-password-123",
            "ghcr-password-123",
        ]) {
            assert!(
                !all.contains(secret),
                "docker secret {secret} in output of {args:?}"
            );
        }
    }
}

#[test]
fn redact_masks_ids_in_every_format() {
    let moto = Moto::start(&[], &[]);
    let env = moto.env_as("lab-healthy");
    let key = moto.user("lab-healthy").0;
    for args in [
        &["--output", "json", "--redact"][..],
        &["--output", "markdown", "--redact"],
        &["--redact", "--color", "never"],
    ] {
        let r = doctor(&env, args);
        assert!(
            !r.stdout.contains("123456789012"),
            "account id in {args:?}:\n{}",
            r.stdout
        );
        assert!(!r.stdout.contains(&key), "access key id in {args:?}");
        assert!(!r.stdout.contains("127.0.0.1"), "IP address in {args:?}");
        assert!(r.stdout.contains("<account>"), "{}", r.stdout);
    }
    let r = doctor(&env, &["--output", "json", "--redact"]);
    validate_schema(&r.stdout);
}

#[test]
fn unreachable_endpoint_fails_cleanly() {
    let mut env = pairs(&[
        ("AWS_ENDPOINT_URL", &closed_port()),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
        ),
    ]);
    let r = doctor(&env, &["--output", "json", "--timeout", "1s"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.check("identity.caller"),
        ("fail".into(), Some("unreachable".into()))
    );
    assert_eq!(
        r.check("identity.clock-skew"),
        ("skip".into(), Some("no-server-date".into()))
    );
    // a server that accepts and never answers: bounded by --timeout, not a hang
    env[0].1 = fake_server(None);
    let r = doctor(&env, &["--output", "json", "--timeout", "500ms"]);
    assert_eq!(
        r.check("identity.caller"),
        ("fail".into(), Some("unreachable".into()))
    );
    let msg = r.entry("identity.caller")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("no answer in time"), "{msg}");
}

#[test]
fn unparseable_error_body_still_gives_the_status() {
    let env = pairs(&[
        ("AWS_ENDPOINT_URL", &fake_server(Some(
            "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 31\r\nDate: Sun, 29 Nov 2026 10:00:00 GMT\r\nConnection: close\r\n\r\n<html>upstream is down</html>\r\n",
        ))),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"),
    ]);
    let r = doctor(&env, &["--output", "json"]);
    assert_eq!(
        r.check("identity.caller"),
        ("fail".into(), Some("api-error".into()))
    );
    let e = r.entry("identity.caller");
    assert_eq!(e["facts"]["http_status"], 502);
    assert!(
        e["message"].as_str().unwrap().contains("HTTP 502"),
        "{}",
        e["message"]
    );
}
