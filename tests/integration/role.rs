//! The role that pulls (`--role-arn`, `role.permissions`) and the principal that really
//! pulls (`credentials.source`), against the moto lab's roles (lab extension 20: trust
//! policies evaluated for sts:AssumeRole, SimulatePrincipalPolicy) and its ECS stand-in.

use crate::harness::{doctor, pairs, Moto, Run};
use serde_json::Value;

const ACCOUNT: &str = "123456789012";

fn role_arn(moto: &Moto, name: &str) -> String {
    let arn = moto.ready["pull_roles"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no lab role {name}"));
    arn.to_string()
}

fn permissions(moto: &Moto, user: &str, role: &str, image: Option<&str>) -> Run {
    let mut args = vec![
        "--output",
        "json",
        "--only",
        "role.permissions",
        "--role-arn",
        role,
    ];
    if let Some(i) = image {
        args.extend(["--image", i]);
    }
    doctor(&moto.env_as(user), &args)
}

fn commands(e: &Value) -> Vec<String> {
    e["remediation"]["commands"]
        .as_array()
        .map(|a| a.iter().map(|c| c.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn each_lab_role_gets_its_code() {
    let moto = Moto::start(&[], &[]);
    let cases = [
        // (role, credentials.source, role.permissions)
        ("lab-role-complete", "pass/ok-assumed-role", "pass/ok"),
        ("lab-role-wildcard", "pass/ok-assumed-role", "pass/ok"),
        (
            "lab-role-missing",
            "pass/ok-assumed-role",
            "fail/missing-actions",
        ),
        (
            "lab-role-denied",
            "pass/ok-assumed-role",
            "fail/missing-actions",
        ),
        (
            "lab-role-no-check-layer",
            "pass/ok-assumed-role",
            "warn/check-layer-missing",
        ),
        (
            "lab-role-token-scoped",
            "pass/ok-assumed-role",
            "fail/token-scoped-to-repository",
        ),
        (
            "lab-role-conditional",
            "pass/ok-assumed-role",
            "warn/grant-conditional",
        ),
        // an execution role trusts only ecs-tasks.amazonaws.com: not assumable, still read
        ("lab-exec-role", "warn/role-not-assumable", "pass/ok"),
        (
            "AWSReservedSSO_LabReadOnly_0123456789abcdef",
            "warn/role-not-assumable",
            "fail/missing-actions",
        ),
        (
            "AWSServiceRoleForLabPuller",
            "warn/role-not-assumable",
            "fail/missing-actions",
        ),
    ];
    let status = |r: &Run, id: &str| {
        let (s, c) = r.check(id);
        format!("{s}/{}", c.unwrap_or_default())
    };
    for (name, source, perms) in cases {
        let r = permissions(
            &moto,
            "lab-healthy",
            &role_arn(&moto, name),
            Some("lab/app:1.0"),
        );
        assert_eq!(status(&r, "credentials.source"), source, "{name}");
        assert_eq!(
            status(&r, "role.permissions"),
            perms,
            "{name}: {}",
            r.entry("role.permissions")
        );
        // the lab's simulator (moto's own evaluator) agrees where the answer is definite
        let sim = &r.entry("role.permissions")["facts"]["simulation"];
        assert_eq!(sim, "agrees", "{name}: {}", r.entry("role.permissions"));
    }
    // a role that does not exist: refused by STS, and said so by role.permissions
    let r = permissions(
        &moto,
        "lab-healthy",
        "arn:aws:iam::123456789012:role/lab-no-such-role",
        None,
    );
    assert_eq!(status(&r, "credentials.source"), "warn/role-not-assumable");
    assert_eq!(status(&r, "role.permissions"), "fail/role-not-found");
    // IAM unreachable (its endpoint a closed port): an API error naming the call
    let mut env = moto.env_as("lab-healthy");
    env.push(("AWS_ENDPOINT_URL_IAM".into(), crate::harness::closed_port()));
    let r = doctor(
        &env,
        &[
            "--output",
            "json",
            "--only",
            "role.permissions",
            "--role-arn",
            &role_arn(&moto, "lab-role-complete"),
        ],
    );
    let e = r.entry("role.permissions");
    assert_eq!(status(&r, "role.permissions"), "fail/api-error", "{e}");
    assert_eq!(e["facts"]["failed_action"], "iam:GetRole");
    // without --role-arn there is no role to inspect
    let r = doctor(
        &moto.env_as("lab-healthy"),
        &["--output", "json", "--only", "role.permissions"],
    );
    assert_eq!(status(&r, "role.permissions"), "skip/no-role");
}

#[test]
fn the_remediation_names_the_real_role_repository_and_account() {
    let moto = Moto::start(&[], &[]);
    let r = permissions(
        &moto,
        "lab-healthy",
        &role_arn(&moto, "lab-role-missing"),
        Some("lab/app:1.0"),
    );
    let e = r.entry("role.permissions");
    let missing = e["facts"]["missing_actions"].to_string();
    assert!(
        missing.contains("ecr:BatchGetImage") && missing.contains("ecr:GetDownloadUrlForLayer"),
        "{missing}"
    );
    let cmds = commands(&e);
    let put = cmds
        .iter()
        .find(|c| c.starts_with("aws iam put-role-policy"))
        .unwrap_or_else(|| panic!("{cmds:?}"));
    assert!(put.contains("--role-name lab-role-missing "), "{put}");
    assert!(
        put.contains(&format!(
            "arn:aws:ecr:us-east-1:{ACCOUNT}:repository/lab/app"
        )),
        "{put}"
    );
    assert!(!put.contains("GetAuthorizationToken"), "{put}");
    let fix = e["remediation"]["text"].as_str().unwrap();
    assert!(fix.contains(&format!("in account {ACCOUNT}")), "{fix}");
    // without --image: every repository of the registry, and said so
    let r = permissions(
        &moto,
        "lab-healthy",
        &role_arn(&moto, "lab-role-missing"),
        None,
    );
    let e = r.entry("role.permissions");
    assert_eq!(
        e["facts"]["repository_arn"],
        format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/*")
    );
    assert!(e["remediation"]["text"]
        .as_str()
        .unwrap()
        .contains("pass --image"));
    // an explicit Deny is named, and no Allow is offered for it
    let r = permissions(
        &moto,
        "lab-healthy",
        &role_arn(&moto, "lab-role-denied"),
        Some("lab/app:1.0"),
    );
    let e = r.entry("role.permissions");
    assert_eq!(
        e["facts"]["denied_by"],
        serde_json::json!(["ecr:BatchGetImage (lab-deny-pull:NoPulls)"])
    );
    assert!(!commands(&e).iter().any(|c| c.contains("put-role-policy")));
    // a token allowed only on repositories: the fix is the token on "*"
    let r = permissions(
        &moto,
        "lab-healthy",
        &role_arn(&moto, "lab-role-token-scoped"),
        Some("lab/app:1.0"),
    );
    let e = r.entry("role.permissions");
    let put = commands(&e).join("\n");
    assert!(
        put.contains("--role-name lab-role-token-scoped ")
            && put.contains(
                r#""Action":"ecr:GetAuthorizationToken","Effect":"Allow","Resource":"*""#
            ),
        "{put}"
    );
    // IAM Identity Center and service-linked roles are not edited
    let r = permissions(
        &moto,
        "lab-healthy",
        &role_arn(&moto, "AWSReservedSSO_LabReadOnly_0123456789abcdef"),
        Some("lab/app:1.0"),
    );
    let e = r.entry("role.permissions");
    assert!(!commands(&e).iter().any(|c| c.contains("put-role-policy")));
    let fix = e["remediation"]["text"].as_str().unwrap();
    assert!(
        fix.contains("permission set LabReadOnly in IAM Identity Center"),
        "{fix}"
    );
    let r = permissions(
        &moto,
        "lab-healthy",
        &role_arn(&moto, "AWSServiceRoleForLabPuller"),
        Some("lab/app:1.0"),
    );
    let e = r.entry("role.permissions");
    assert_eq!(e["facts"]["service_linked"], true);
    assert!(!commands(&e).iter().any(|c| c.contains("put-role-policy")));
    assert!(e["remediation"]["text"]
        .as_str()
        .unwrap()
        .contains("service-linked role"));
}

#[test]
fn a_role_that_cannot_be_assumed_still_gives_a_full_report() {
    let moto = Moto::start(&[], &[]);
    let exec = role_arn(&moto, "lab-exec-role");
    let r = doctor(
        &moto.env_as("lab-healthy"),
        &["--output", "json", "--role-arn", &exec],
    );
    assert_eq!(
        r.not_passing(),
        ["credentials.source=warn/role-not-assumable"],
        "{}",
        r.stdout
    );
    assert_eq!(r.code, 0);
    let src = r.entry("credentials.source");
    let msg = src["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("sts:AssumeRole into {exec} was refused")),
        "{msg}"
    );
    assert!(commands(&src)
        .iter()
        .any(|c| c
            == "aws iam get-role --role-name lab-exec-role --query Role.AssumeRolePolicyDocument"));
    // the rest ran as the caller
    assert_eq!(
        r.entry("identity.caller")["facts"]["arn"],
        format!("arn:aws:iam::{ACCOUNT}:user/lab-healthy")
    );
    assert_eq!(r.check("token.get").0, "pass");
    assert_eq!(
        r.check("role.permissions"),
        ("pass".into(), Some("ok".into()))
    );
}

#[test]
fn cannot_read_role_without_iam_read_permissions() {
    let moto = Moto::start(&["--enforce-auth"], &[]);
    // lab-healthy may not call sts:AssumeRole nor read IAM
    let r = permissions(
        &moto,
        "lab-healthy",
        &role_arn(&moto, "lab-exec-role"),
        None,
    );
    assert_eq!(
        r.check("credentials.source"),
        ("warn".into(), Some("role-not-assumable".into()))
    );
    let e = r.entry("role.permissions");
    assert_eq!(
        r.check("role.permissions"),
        ("warn".into(), Some("cannot-read-role".into())),
        "{e}"
    );
    assert_eq!(e["facts"]["failed_action"], "iam:GetRole");
    let fix = e["remediation"]["text"].as_str().unwrap();
    for action in [
        "iam:GetRole",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
    ] {
        assert!(fix.contains(action), "{action} not named: {fix}");
    }
    assert!(fix.contains("user/lab-healthy"), "{fix}");
}

fn web_identity_env(moto: &Moto, dir: &std::path::Path, role: &str) -> Vec<(String, String)> {
    let token = dir.join("token");
    // a JWT-shaped token: moto does not verify it
    std::fs::write(
        &token,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJsYWIifQ.c2lnbmF0dXJl",
    )
    .unwrap();
    pairs(&[
        ("AWS_ENDPOINT_URL", &moto.endpoint()),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token.to_str().unwrap()),
        ("AWS_ROLE_ARN", role),
        ("AWS_ROLE_SESSION_NAME", "lab-session"),
    ])
}

#[test]
fn web_identity_in_a_pod_and_in_github_actions() {
    let moto = Moto::start(&[], &[]);
    let dir = tempfile::tempdir().unwrap();
    let role = role_arn(&moto, "lab-puller");
    let only = ["--output", "json", "--only", "credentials.source"];
    // IRSA in an EKS pod: the kubelet pulls with the node's role
    let mut env = web_identity_env(&moto, dir.path(), &role);
    env.push(("KUBERNETES_SERVICE_HOST".into(), "10.100.0.1".into()));
    let r = doctor(&env, &only);
    let e = r.entry("credentials.source");
    assert_eq!(
        r.check("credentials.source"),
        ("warn".into(), Some("pod-role-not-node-role".into())),
        "{e}"
    );
    assert_eq!(e["facts"]["pod_credentials"], "irsa");
    assert_eq!(e["facts"]["pod_role_arn"], role);
    assert!(e["message"].as_str().unwrap().contains("node's IAM role"));
    // GitHub Actions OIDC: the recommended way
    let mut env = web_identity_env(&moto, dir.path(), &role);
    env.push(("GITHUB_ACTIONS".into(), "true".into()));
    let r = doctor(&env, &only);
    let e = r.entry("credentials.source");
    assert_eq!(
        r.check("credentials.source"),
        ("pass".into(), Some("ok-github-oidc".into())),
        "{e}"
    );
    assert_eq!(e["facts"]["recommended_practice"], "oidc");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("the recommended way for CI"));
    // the same credentials elsewhere: nothing to say
    let r = doctor(&web_identity_env(&moto, dir.path(), &role), &only);
    assert_eq!(
        r.check("credentials.source"),
        ("pass".into(), Some("ok".into()))
    );
}

#[test]
fn in_an_ecs_task_or_a_pod_identity_pod_another_role_pulls() {
    let moto = Moto::start(&["--ecs-port", "0"], &[]);
    let ecs = &moto.ready["ecs"];
    let env = |extra: &[(&str, &str)]| {
        let mut e = pairs(&[
            ("AWS_ENDPOINT_URL", &moto.endpoint()),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                ecs["credentials_uri"].as_str().unwrap(),
            ),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]);
        e.extend(pairs(extra));
        e
    };
    let only = ["--output", "json", "--only", "credentials.source"];
    // ECS: the task role's credentials; the execution role pulls
    let r = doctor(
        &env(&[(
            "ECS_CONTAINER_METADATA_URI_V4",
            ecs["metadata_uri"].as_str().unwrap(),
        )]),
        &only,
    );
    let e = r.entry("credentials.source");
    assert_eq!(
        r.check("credentials.source"),
        ("warn".into(), Some("task-role-not-execution-role".into())),
        "{e}"
    );
    assert_eq!(e["facts"]["task_definition"], "lab-app:1");
    assert_eq!(e["facts"]["launch_type"], "FARGATE");
    let cmds = commands(&e);
    assert!(
        cmds.iter().any(|c| c.starts_with("ecr-doctor --role-arn \"$(aws ecs describe-task-definition --task-definition lab-app:1 ")),
        "{cmds:?}"
    );
    let fix = e["remediation"]["text"].as_str().unwrap();
    assert!(
        fix.contains("ECS on EC2") && fix.contains("EKS Fargate"),
        "{fix}"
    );
    // role.permissions reads the execution role from the task definition (moto's ECS,
    // lab-app:1: ecs:DescribeTaskDefinition with the task role's credentials) and inspects it
    let r = doctor(
        &env(&[(
            "ECS_CONTAINER_METADATA_URI_V4",
            ecs["metadata_uri"].as_str().unwrap(),
        )]),
        &["--output", "json", "--only", "role.permissions"],
    );
    let e = r.entry("role.permissions");
    let exec_role = role_arn(&moto, "lab-exec-role");
    assert_eq!(
        r.check("role.permissions"),
        ("pass".into(), Some("ok".into())),
        "{e}"
    );
    assert_eq!(e["facts"]["role_arn"], exec_role.as_str());
    assert_eq!(e["facts"]["task_definition"], "lab-app:1");
    assert!(
        e["message"].as_str().unwrap().starts_with(&format!(
            "{exec_role} (the execution role of task definition lab-app:1) may pull"
        )),
        "{e}"
    );
    // naming the execution role is the answer: no warning then
    let r = doctor(
        &env(&[(
            "ECS_CONTAINER_METADATA_URI_V4",
            ecs["metadata_uri"].as_str().unwrap(),
        )]),
        &[
            "--output",
            "json",
            "--only",
            "credentials.source",
            "--role-arn",
            &role_arn(&moto, "lab-exec-role"),
        ],
    );
    assert_eq!(
        r.check("credentials.source"),
        ("warn".into(), Some("role-not-assumable".into()))
    );
    // EKS Pod Identity: container credentials inside Kubernetes
    let r = doctor(&env(&[("KUBERNETES_SERVICE_HOST", "10.100.0.1")]), &only);
    let e = r.entry("credentials.source");
    assert_eq!(
        r.check("credentials.source"),
        ("warn".into(), Some("pod-role-not-node-role".into())),
        "{e}"
    );
    assert_eq!(e["facts"]["pod_credentials"], "pod-identity");
}
