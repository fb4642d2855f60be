//! ECR Public (`--registry public.ecr.aws`) against the moto lab: its token comes from
//! ecr-public:GetAuthorizationToken in us-east-1 whatever `--region` says (lab extension 40,
//! the request log records each request's signing service and region), a denial names both
//! actions, and docker.config reports an anonymous pull. In the namespace lab (netlab.sh's
//! public.ecr.aws stand-in, tests/lab/net/public_front.py, in front of its distribution
//! registry): the Bearer login and a pull through the built binary.

use crate::dataplane::Netlab;
use crate::harness::{doctor, pairs, validate_schema, Moto};

const PUBLIC: &str = "public.ecr.aws";

fn token_run(moto: &Moto, region: &str) -> crate::harness::Run {
    doctor(
        &moto.env_as("lab-healthy"),
        &[
            "--output",
            "json",
            "--only",
            "token.get",
            "--registry",
            PUBLIC,
            "--region",
            region,
        ],
    )
}

#[test]
fn the_token_comes_from_us_east_1_whatever_the_region() {
    let moto = Moto::start(&[], &[]);
    let r = token_run(&moto, "eu-west-1");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        r.check("token.get"),
        ("pass".into(), Some("ok-public".into())),
        "{}",
        r.entry("token.get")
    );
    let e = r.entry("token.get");
    assert_eq!(e["facts"]["api_region"], "us-east-1");
    assert_eq!(e["facts"]["region_ignored"], true);
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("in us-east-1, not eu-west-1"), "{msg}");
    // the recorded request: ecr-public, signed for us-east-1; nothing asked of ECR private
    let reqs = moto.requests();
    let public: Vec<_> = reqs
        .iter()
        .filter(|q| q["target"] == "SpencerFrontendService.GetAuthorizationToken")
        .collect();
    assert_eq!(public.len(), 1, "{reqs:?}");
    assert_eq!(public[0]["service"], "ecr-public");
    assert_eq!(public[0]["region"], "us-east-1");
    assert!(
        !reqs
            .iter()
            .any(|q| q["target"] == "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"),
        "{reqs:?}"
    );
}

#[test]
fn a_denied_token_names_both_actions() {
    let moto = Moto::start(&[], &[("LAB_PUBLIC_TOKEN_DENIED", "1")]);
    let r = token_run(&moto, "us-west-2");
    assert_eq!(
        r.check("token.get"),
        ("fail".into(), Some("public-access-denied".into())),
        "{}",
        r.entry("token.get")
    );
    let e = r.entry("token.get").to_string();
    assert!(e.contains("ecr-public:GetAuthorizationToken"), "{e}");
    assert!(e.contains("sts:GetServiceBearerToken"), "{e}");
}

#[test]
fn without_login_or_helper_docker_pulls_anonymously() {
    let moto = Moto::start(&[], &[]);
    let dir = tempfile::tempdir().unwrap();
    let mut env = moto.env_as("lab-healthy");
    env.extend(pairs(&[("DOCKER_CONFIG", dir.path().to_str().unwrap())]));
    let r = doctor(
        &env,
        &[
            "--output",
            "json",
            "--only",
            "docker.config",
            "--registry",
            PUBLIC,
        ],
    );
    assert_eq!(
        r.check("docker.config"),
        ("warn".into(), Some("anonymous-pull".into())),
        "{}",
        r.entry("docker.config")
    );
    let e = r.entry("docker.config").to_string();
    assert!(e.contains("toomanyrequests: Rate exceeded"), "{e}");
    assert!(
        e.contains("aws ecr-public get-login-password --region us-east-1 | docker login --username AWS --password-stdin public.ecr.aws"),
        "{e}"
    );
}

/// A run against the namespace lab's public.ecr.aws (dns.s3 and net.s3 skip for ECR Public:
/// its layers do not come from the region's layer bucket).
fn lab_run(lab: &Netlab, image: &str) -> crate::harness::Run {
    lab.doctor(&[
        "--output",
        "json",
        "--registry",
        PUBLIC,
        "--region",
        "eu-west-1",
        "--image",
        image,
    ])
}

/// What does not pass in every public.ecr.aws run: no repository policy to read, and no
/// layer bucket of the region to resolve or reach.
const PUBLIC_SKIPS: [&str; 3] = [
    "repo.policy=skip/public-registry",
    "dns.s3=skip/not-for-ecr-public",
    "net.s3=skip/dependency-skipped",
];

#[test]
fn namespace_lab_logs_in_with_a_bearer_and_pulls() {
    let Some(lab) = Netlab::up("ecrpub", "healthy") else {
        return;
    };
    let r = lab_run(&lab, "public.ecr.aws/lab/app:1.0");
    assert_eq!(r.code, 0, "{:?}\n{}", r.not_passing(), r.stderr);
    validate_schema(&r.stdout);
    // ECR Public has no repository policy for pulls and no layer bucket of the region
    assert_eq!(r.not_passing(), PUBLIC_SKIPS);
    assert_eq!(
        r.check("token.get"),
        ("pass".into(), Some("ok-public".into()))
    );
    for (id, host, addr) in [
        (
            "ecr-api",
            "api.ecr-public.us-east-1.amazonaws.com",
            "198.18.0.31",
        ),
        ("ecr-dkr", "public.ecr.aws", "198.18.0.30"),
    ] {
        let dns = r.entry(&format!("dns.{id}"));
        assert_eq!(dns["facts"]["host"], host, "{dns}");
        assert_eq!(dns["facts"]["addresses"][0], addr, "{dns}");
        assert_eq!(dns["facts"]["resolver"], "system", "{dns}");
        let net = r.entry(&format!("net.{id}"));
        assert_eq!(net["status"], "pass", "{net}");
        assert!(net["facts"]["cert_issuer"]
            .as_str()
            .unwrap()
            .contains("ecr-doctor lab CA"));
    }
    let auth = r.entry("registry.auth");
    assert_eq!(auth["code"], "ok-bearer", "{auth}");
    assert_eq!(auth["facts"]["realm"], "https://public.ecr.aws/token/");
    assert_eq!(auth["facts"]["service"], "public.ecr.aws");
    assert_eq!(auth["facts"]["http_status"], 200);
    let image = &lab.lab["images"]["lab/app:1.0"];
    assert_eq!(
        r.entry("image.manifest")["facts"]["digest"],
        image["digest"]
    );
    let smallest = image["layers"]
        .as_array()
        .unwrap()
        .iter()
        .min_by_key(|l| l["size"].as_u64())
        .unwrap();
    let dl = r.entry("image.layer-download");
    assert_eq!(dl["code"], "ok", "{dl}");
    assert_eq!(dl["facts"]["digest"], smallest["digest"]);
    assert_eq!(dl["facts"]["bytes"], smallest["size"]);
    assert_eq!(
        dl["facts"]["redirect_host"],
        "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com"
    );
    // it all went through the token endpoint and public.ecr.aws, the blob's 307 passed on
    let log = std::fs::read_to_string(
        crate::harness::repo()
            .join("tests/lab/run")
            .join(&lab.ns)
            .join("logs/public-front.log"),
    )
    .unwrap();
    let digest = smallest["digest"].as_str().unwrap();
    for line in [
        "GET /token/ 200",
        "GET /v2/ 401",
        "GET /v2/ 200",
        "GET /v2/lab/app/manifests/1.0 200",
        &format!("GET /v2/lab/app/blobs/{digest} 307"),
    ] {
        assert!(log.lines().any(|l| l == line), "no {line:?} in:\n{log}");
    }
    // the password and the Bearer tokens stay out of the report
    let password =
        std::fs::read_to_string(lab.lab["token_password_file"].as_str().unwrap()).unwrap();
    assert!(!r.stdout.contains(password.trim()));
    // (the front's Bearer tokens: 64 URL-safe base64 characters; digests are 64 hex ones)
    let bearer_like = r
        .stdout
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .find(|w| w.len() == 64 && !w.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(bearer_like, None, "{}", r.stdout);

    // a multi-platform index, and a missing tag: ECR private is asked nothing about them
    let r = lab_run(&lab, "public.ecr.aws/lab/multi:1.0");
    assert_eq!(r.not_passing(), PUBLIC_SKIPS);
    assert_eq!(
        r.entry("image.manifest")["facts"]["platform"],
        "linux/amd64"
    );
    let r = lab_run(&lab, "public.ecr.aws/lab/app:9.9");
    let m = r.entry("image.manifest");
    assert_eq!(m["code"], "not-found", "{m}");
    assert_eq!(m["facts"]["close_tags"][0], "1.0");
    assert!(m["facts"].get("unread").is_none(), "{m}");
    assert!(!m.to_string().contains("aws ecr "), "{m}");

    // the token endpoint refuses the token's password (the front expects another one)
    lab.world("wrong-token");
    let r = lab_run(&lab, "public.ecr.aws/lab/app:1.0");
    assert_eq!(r.code, 1);
    assert_eq!(
        r.not_passing(),
        [
            "repo.policy=skip/public-registry",
            "dns.s3=skip/not-for-ecr-public",
            "net.s3=skip/dependency-skipped",
            "registry.auth=fail/bearer-refused",
            "image.manifest=skip/dependency-not-passed",
            "image.layer-download=skip/dependency-not-passed"
        ]
    );
    let auth = r.entry("registry.auth");
    assert_eq!(auth["facts"]["realm_status"], 401, "{auth}");
    assert_eq!(
        auth["facts"]["registry_error"],
        "DENIED: Your authorization token is invalid."
    );
}
