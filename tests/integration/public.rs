//! ECR Public (`--registry public.ecr.aws`) against the moto lab: its token comes from
//! ecr-public:GetAuthorizationToken in us-east-1 whatever `--region` says (lab extension 40,
//! the request log records each request's signing service and region), a denial names both
//! actions, and docker.config reports an anonymous pull.

use crate::harness::{doctor, pairs, Moto};

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
