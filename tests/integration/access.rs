//! Repository access (`repo.policy`) against the moto lab's two-account world (lab
//! extension 8: repositories of account 210987654321 with and without granting policies).

use crate::harness::{doctor, Moto};

const OTHER: &str = "210987654321.dkr.ecr.us-east-1.amazonaws.com";

fn repo_policy(moto: &Moto, image: &str) -> crate::harness::Run {
    doctor(
        &moto.env_as("lab-healthy"),
        &[
            "--output",
            "json",
            "--only",
            "repo.policy",
            "--image",
            image,
        ],
    )
}

#[test]
fn another_accounts_repository_policy_decides() {
    let moto = Moto::start(&[], &[]);
    assert_eq!(moto.ready["other_account"]["account"], "210987654321");
    let cases = [
        ("shared/granted", "pass", "ok"),
        ("shared/readable", "fail", "cross-account-not-granted"),
        ("shared/pull-only", "warn", "cannot-read-policy"),
        ("shared/no-policy", "fail", "pull-denied"),
        ("shared/no-check-layer", "warn", "check-layer-not-granted"),
        ("shared/conditional", "warn", "grant-conditional"),
    ];
    for (repo, status, code) in cases {
        let r = repo_policy(&moto, &format!("{OTHER}/{repo}:1.0"));
        assert_eq!(
            r.check("repo.policy"),
            (status.to_string(), Some(code.to_string())),
            "{repo}: {}",
            r.entry("repo.policy")
        );
    }
    // the fix names both accounts and keeps what the policy already grants
    let r = repo_policy(&moto, &format!("{OTHER}/shared/readable:1.0"));
    let e = r.entry("repo.policy");
    let cmd = e["remediation"]["commands"][0].as_str().unwrap();
    assert!(
        cmd.starts_with("aws ecr set-repository-policy --registry-id 210987654321 "),
        "{cmd}"
    );
    assert!(cmd.contains("arn:aws:iam::123456789012:root"), "{cmd}");
    assert!(
        cmd.contains("ecr:GetRepositoryPolicy"),
        "existing grant kept: {cmd}"
    );
    assert!(cmd.contains("ecr:GetDownloadUrlForLayer"), "{cmd}");
    let missing = e["facts"]["missing_actions"].to_string();
    assert!(missing.contains("ecr:BatchGetImage"), "{missing}");
    // a pull denied names the two halves
    let r = repo_policy(&moto, &format!("{OTHER}/shared/no-policy:1.0"));
    let fix = r.entry("repo.policy")["remediation"]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        fix.contains("repository policy") && fix.contains("identity policy"),
        "{fix}"
    );
}

#[test]
fn own_repository_is_judged_by_a_real_pull() {
    let moto = Moto::start(&[], &[]);
    let r = repo_policy(&moto, "lab/app:1.0");
    assert_eq!(
        r.check("repo.policy"),
        ("pass".into(), Some("ok-same-account".into())),
        "{}",
        r.entry("repo.policy")
    );
    // the lab repository has no image 1.0: the pull is allowed, the image is not there
    assert_eq!(r.entry("repo.policy")["facts"]["image_found"], false);
    // a user whose policy allows the login but not the pull, with IAM enforced
    let enforced = Moto::start(&["--enforce-auth"], &[]);
    let r = doctor(
        &enforced.env_as("lab-no-pull"),
        &[
            "--output",
            "json",
            "--only",
            "repo.policy,token.get",
            "--image",
            "lab/app:1.0",
        ],
    );
    assert_eq!(
        r.check("repo.policy"),
        ("fail".into(), Some("pull-denied".into())),
        "{}",
        r.entry("repo.policy")
    );
    assert_eq!(r.check("token.get").0, "pass");
    // a repository that does not exist: ECR's RepositoryNotFoundException, named
    let r = repo_policy(&moto, "lab/nope:1.0");
    assert_eq!(
        r.check("repo.policy"),
        ("fail".into(), Some("repository-not-found".into())),
        "{}",
        r.entry("repo.policy")
    );
    // without --image there is nothing to judge
    let r = doctor(
        &moto.env_as("lab-healthy"),
        &["--output", "json", "--only", "repo.policy"],
    );
    assert_eq!(
        r.check("repo.policy"),
        ("skip".into(), Some("no-image".into()))
    );
}

#[test]
fn a_role_of_another_account_needs_the_owners_repository_policy() {
    // The caller owns lab/app (no repository policy); --role-arn names an ECS execution
    // role of account 210987654321, which the caller cannot assume: the owner's
    // repository policy is what the role's pull needs, and there is none.
    let moto = Moto::start(&[], &[]);
    let exec = moto.ready["other_account"]["exec_role"]
        .as_str()
        .expect("lab exec role of the other account")
        .to_string();
    assert_eq!(exec, "arn:aws:iam::210987654321:role/lab-other-exec-role");
    let r = doctor(
        &moto.env_as("lab-healthy"),
        &[
            "--output",
            "json",
            "--image",
            "lab/app:1.0",
            "--role-arn",
            &exec,
            "--only",
            "repo.policy,role.permissions",
        ],
    );
    assert_eq!(
        r.check("repo.policy"),
        ("fail".into(), Some("no-repository-policy".into())),
        "{}",
        r.entry("repo.policy")
    );
    assert_eq!(
        r.check("credentials.source"),
        ("warn".into(), Some("role-not-assumable".into()))
    );
    // IAM answers only about the caller's own account: the role is not looked up here
    assert_eq!(
        r.check("role.permissions"),
        ("warn".into(), Some("cannot-read-role".into())),
        "{}",
        r.entry("role.permissions")
    );
    let e = r.entry("repo.policy");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("lab/app in account 123456789012 has no repository policy"),
        "{msg}"
    );
    let cmd = e["remediation"]["commands"][0].as_str().unwrap();
    assert!(
        cmd.starts_with("aws ecr set-repository-policy --registry-id 123456789012 "),
        "{cmd}"
    );
    assert!(cmd.contains("arn:aws:iam::210987654321:root"), "{cmd}");
}
