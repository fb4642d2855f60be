//! `repo.policy`: may the caller pull the `--image` repository? For another account's
//! registry, the owner's repository policy must grant the caller's account or principal the
//! pull actions (read with `ecr:GetRepositoryPolicy`, evaluated here); where it cannot be
//! read, and in the caller's own account, a real `ecr:BatchGetImage` decides.

use super::{with_api_error, Ctx};
use crate::engine::Finding;
use crate::policy::{self, Decision, Request};
use crate::probes::sdk_error::ErrorClass;
use futures::future::{BoxFuture, FutureExt};
use std::sync::Arc;

crate::codes! {
    pub enum Repo {
        Ok = "ok",
        OkSameAccount = "ok-same-account",
        CrossAccountNotGranted = "cross-account-not-granted",
        CheckLayerNotGranted = "check-layer-not-granted",
        GrantConditional = "grant-conditional",
        NoRepositoryPolicy = "no-repository-policy",
        CannotReadPolicy = "cannot-read-policy",
        PullDenied = "pull-denied",
        RepositoryNotFound = "repository-not-found",
        Unreachable = "unreachable",
        ApiError = "api-error",
        NoImage = "no-image",
        PublicRegistry = "public-registry",
    }
}

/// The actions a pull needs from the repository policy; the first two are essential, the
/// last is asked by docker before each layer but most pulls work without it.
pub const PULL_ACTIONS: [&str; 3] = [
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
];

/// The statement that grants `caller_account` the pull actions (repository policies have
/// no `Resource`).
pub fn grant_statement(partition: &str, caller_account: &str) -> serde_json::Value {
    serde_json::json!({
        "Sid": format!("AllowPull{caller_account}"),
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:{partition}:iam::{caller_account}:root")},
        "Action": PULL_ACTIONS,
    })
}

/// `existing` (a policy document, or none) with `statement` added: what to set so that
/// nothing the policy already grants is lost. `None` when `existing` is not a JSON object.
pub fn merged_policy(existing: Option<&str>, statement: serde_json::Value) -> Option<String> {
    let mut doc: serde_json::Value = match existing {
        Some(text) => serde_json::from_str(text).ok()?,
        None => serde_json::json!({"Version": "2012-10-17", "Statement": []}),
    };
    let obj = doc.as_object_mut()?;
    let list = match obj.remove("Statement") {
        Some(serde_json::Value::Array(a)) => a,
        Some(one @ serde_json::Value::Object(_)) => vec![one],
        None => vec![],
        Some(_) => return None,
    };
    let mut list = list;
    list.push(statement);
    obj.insert("Statement".into(), serde_json::Value::Array(list));
    // shell-safe inside single quotes
    Some(serde_json::to_string(&doc).ok()?.replace('\'', "'\\''"))
}

pub fn policy(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Repo>> {
    async move {
        let Some(image) = cx.opts.image.clone() else {
            return Finding::new(Repo::NoImage);
        };
        // ECR Public: anyone may pull; its repository policies govern pushes only
        if cx.is_public() {
            return Finding::new(Repo::PublicRegistry).fact("repository", image.repository);
        }
        let Some(identity) = cx.identity().cloned() else {
            return Finding::new(Repo::ApiError);
        };
        let registry = cx.registry().unwrap_or_default();
        let owner = crate::aws::parse_registry_host(&registry)
            .map(|r| r.account)
            .unwrap_or_else(|| identity.account.clone());
        // the principal whose pull is judged: the caller, or the `--role-arn` role when it
        // could not be assumed (an execution or node role) and lives in another account
        // than the registry: its access is read from the owner's repository policy
        let puller = puller(cx.opts.role_arn.as_deref(), &identity, &owner);
        let region = cx.region().to_string();
        let partition = crate::aws::partition_of(&region).id;
        let repo_arn = crate::aws::arn::repository_arn(&region, &owner, &image.repository);
        let base = Finding::new(Repo::Ok)
            .fact("repository", image.repository.clone())
            .fact("repository_arn", repo_arn.clone())
            .fact("registry_account", owner.clone())
            .fact("caller_account", puller.account.clone())
            .fact("caller_arn", puller.arn.clone())
            .fact(
                "image_id_arg",
                if image.reference.starts_with("sha256:") {
                    format!("imageDigest={}", image.reference)
                } else {
                    format!("imageTag={}", image.reference)
                },
            );
        // the pull itself, where the policy cannot say
        let pull = |base: Finding<Repo>, allowed: Repo| {
            let cx = cx.clone();
            let (owner, repo, reference) = (
                owner.clone(),
                image.repository.clone(),
                image.reference.clone(),
            );
            async move {
                match cx.aws.batch_get_image(owner, repo, reference).await {
                    Ok(found) => base.with_code(allowed).fact("image_found", found),
                    Err(e) if e.class() == ErrorClass::AccessDenied => {
                        with_api_error(base.with_code(Repo::PullDenied), &e)
                    }
                    Err(e) if e.code() == Some("RepositoryNotFoundException") => {
                        with_api_error(base.with_code(Repo::RepositoryNotFound), &e)
                    }
                    Err(e) if e.class() == ErrorClass::Unreachable => {
                        with_api_error(base.with_code(Repo::Unreachable), &e)
                    }
                    Err(e) => with_api_error(base.with_code(Repo::ApiError), &e),
                }
            }
        };
        if owner == puller.account {
            return pull(base, Repo::OkSameAccount).await;
        }
        let statement = grant_statement(partition, &puller.account);
        let doc = match cx
            .aws
            .repository_policy(owner.clone(), image.repository.clone())
            .await
        {
            Ok(Some(doc)) => doc,
            Ok(None) => {
                return base
                    .with_code(Repo::NoRepositoryPolicy)
                    .fact("merged_policy", merged_policy(None, statement))
            }
            Err(e) if e.class() == ErrorClass::AccessDenied => {
                let base = with_api_error(base, &e);
                return pull(base, Repo::CannotReadPolicy).await;
            }
            Err(e) if e.code() == Some("RepositoryNotFoundException") => {
                return with_api_error(base.with_code(Repo::RepositoryNotFound), &e)
            }
            Err(e) if e.class() == ErrorClass::Unreachable => {
                return with_api_error(base.with_code(Repo::Unreachable), &e)
            }
            Err(e) => return with_api_error(base.with_code(Repo::ApiError), &e),
        };
        let p = match policy::parse(&doc) {
            Ok(p) => p,
            Err(e) => return base.with_code(Repo::ApiError).fact("error", e.to_string()),
        };
        let mut denied = Vec::new();
        let mut conditional = Vec::new();
        for action in PULL_ACTIONS {
            let req = Request {
                action,
                resource: &repo_arn,
                principal: Some(&puller.arn),
                principal_account: Some(&puller.account),
                // the one condition key known for certain: the puller's account
                context: &[("aws:PrincipalAccount", &puller.account)],
                foreign_keys: &[],
            };
            match p.evaluate(&req) {
                Decision::Allowed => {}
                Decision::AllowedWithConditions { .. } | Decision::DenyUnderConditions { .. } => {
                    conditional.push(action)
                }
                Decision::ExplicitDeny { .. } | Decision::ImplicitDeny => denied.push(action),
            }
        }
        let base = base.fact("merged_policy", merged_policy(Some(&doc), statement));
        if denied
            .iter()
            .any(|a| *a != "ecr:BatchCheckLayerAvailability")
        {
            return base
                .with_code(Repo::CrossAccountNotGranted)
                .fact("missing_actions", denied);
        }
        if !denied.is_empty() {
            return base
                .with_code(Repo::CheckLayerNotGranted)
                .fact("missing_actions", denied);
        }
        if !conditional.is_empty() {
            return base
                .with_code(Repo::GrantConditional)
                .fact("conditional_actions", conditional);
        }
        base
    }
    .boxed()
}

/// The principal whose pull `repo.policy` judges.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Puller {
    account: String,
    arn: String,
}

/// The caller, unless `--role-arn` names a role of another account than `owner` that the
/// run could not assume (the caller's identity is not that role's session): then the role,
/// whose grant only the owner's repository policy can give.
fn puller(role_arn: Option<&str>, identity: &super::Identity, owner: &str) -> Puller {
    let caller = Puller {
        account: identity.account.clone(),
        arn: identity.arn.clone(),
    };
    let Some(role) = role_arn.and_then(crate::aws::arn::Arn::parse) else {
        return caller;
    };
    let assumed = crate::aws::arn::Arn::parse(&identity.arn).is_some_and(|me| {
        me.account == role.account && me.identity() == role.identity() && me.service == "sts"
    });
    if assumed || role.account == owner {
        return caller;
    }
    Puller {
        account: role.account.to_string(),
        arn: role_arn.unwrap_or_default().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::{ctx, render, service_error, FakeAws};
    use crate::checks::Identity;

    const OTHER: &str = "210987654321.dkr.ecr.us-east-1.amazonaws.com";

    async fn run(aws: FakeAws, image: &str) -> (Finding<Repo>, Arc<Ctx>) {
        let mut cx = ctx(aws, &[]);
        let c = Arc::get_mut(&mut cx).unwrap();
        c.opts.image = Some(crate::validate::image(image).unwrap());
        c.set_identity(Identity {
            account: "123456789012".into(),
            arn: "arn:aws:sts::123456789012:assumed-role/puller/i-1".into(),
        });
        let o = policy(cx.clone()).await;
        render("repo.policy", &o);
        (o, cx)
    }

    fn with_policy(doc: &str) -> FakeAws {
        FakeAws {
            repo_policy: Ok(Some(doc.into())),
            ..Default::default()
        }
    }

    #[test]
    fn the_puller_is_a_role_of_another_account_that_was_not_assumed() {
        let me = Identity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/admin".into(),
        };
        let role = "arn:aws:iam::210987654321:role/ecsTaskExecutionRole";
        let p = puller(Some(role), &me, "123456789012");
        assert_eq!((p.account.as_str(), p.arn.as_str()), ("210987654321", role));
        // no role, or a role of the registry's own account: the caller
        assert_eq!(puller(None, &me, "123456789012").arn, me.arn);
        let own = "arn:aws:iam::123456789012:role/exec";
        assert_eq!(puller(Some(own), &me, "123456789012").arn, me.arn);
        // the role was assumed: its session is the caller
        let session = Identity {
            account: "210987654321".into(),
            arn: "arn:aws:sts::210987654321:assumed-role/ecsTaskExecutionRole/ecr-doctor".into(),
        };
        assert_eq!(
            puller(Some(role), &session, "123456789012").arn,
            session.arn
        );
    }

    #[tokio::test]
    async fn the_owner_reads_its_own_policy_for_a_role_of_another_account() {
        let fake = Arc::new(FakeAws {
            repo_policy: Ok(None),
            ..Default::default()
        });
        let mut cx = ctx(FakeAws::default(), &[]);
        let c = Arc::get_mut(&mut cx).unwrap();
        c.aws = fake.clone();
        c.opts.image = Some(crate::validate::image("lab/app:1").unwrap());
        c.opts.role_arn = Some("arn:aws:iam::210987654321:role/exec".into());
        c.set_identity(Identity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/admin".into(),
        });
        let o = policy(cx.clone()).await;
        assert_eq!(o.code, Repo::NoRepositoryPolicy);
        assert_eq!(o.facts["caller_account"], "210987654321");
        assert_eq!(o.facts["registry_account"], "123456789012");
        let msg = render("repo.policy", &o);
        assert!(msg.contains("only account 123456789012 can pull"), "{msg}");
        assert_eq!(fake.policy_requests.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn ecr_public_has_no_pull_policy_to_read() {
        let fake = Arc::new(FakeAws::default());
        let mut cx = ctx(FakeAws::default(), &[]);
        let c = Arc::get_mut(&mut cx).unwrap();
        c.aws = fake.clone();
        c.opts.image = Some(crate::validate::image("public.ecr.aws/lab/app:1.0").unwrap());
        let o = policy(cx.clone()).await;
        assert_eq!(o.code, Repo::PublicRegistry);
        assert!(fake.policy_requests.lock().unwrap().is_empty());
        let msg = render("repo.policy", &o);
        assert!(msg.contains("lab/app is an ECR Public repository"), "{msg}");
    }

    #[tokio::test]
    async fn cross_account_grants_by_account_root_arn_or_role() {
        for principal in [
            r#""123456789012""#,
            r#""arn:aws:iam::123456789012:root""#,
            r#""arn:aws:iam::123456789012:role/puller""#,
            r#"["arn:aws:iam::999999999999:root", "123456789012"]"#,
        ] {
            let doc = format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":{principal}}},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}}]}}"#
            );
            let (o, cx) = run(with_policy(&doc), &format!("{OTHER}/shared/app:1")).await;
            assert_eq!(o.code, Repo::Ok, "{principal}: {:?}", o.facts);
            assert_eq!(cx.token().map(|t| t.registry.clone()), None);
        }
    }

    #[tokio::test]
    async fn the_policy_of_the_owner_is_read() {
        let aws = with_policy(r#"{"Statement":[]}"#);
        let mut cx = ctx(aws, &[]);
        let c = Arc::get_mut(&mut cx).unwrap();
        c.opts.image = Some(crate::validate::image(&format!("{OTHER}/shared/app:1")).unwrap());
        c.set_identity(Identity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/u".into(),
        });
        let fake = Arc::new(FakeAws {
            repo_policy: Ok(None),
            ..Default::default()
        });
        c.aws = fake.clone();
        let o = policy(cx.clone()).await;
        assert_eq!(o.code, Repo::NoRepositoryPolicy);
        assert_eq!(
            *fake.policy_requests.lock().unwrap(),
            [("210987654321".to_string(), "shared/app".to_string())]
        );
        let msg = render("repo.policy", &o);
        assert!(msg.contains("210987654321"), "{msg}");
        let merged = o.facts["merged_policy"].as_str().unwrap();
        assert!(
            merged.contains("arn:aws:iam::123456789012:root"),
            "{merged}"
        );
    }

    #[tokio::test]
    async fn not_granted_denied_and_partial() {
        // grants another account only
        let (o, _) = run(
            with_policy(r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"ecr:*"}]}"#),
            &format!("{OTHER}/shared/app:1"),
        )
        .await;
        assert_eq!(o.code, Repo::CrossAccountNotGranted);
        assert_eq!(o.facts["missing_actions"].as_array().unwrap().len(), 3);
        // the existing statement is kept in the policy to set
        let merged: serde_json::Value =
            serde_json::from_str(o.facts["merged_policy"].as_str().unwrap()).unwrap();
        assert_eq!(merged["Statement"].as_array().unwrap().len(), 2);
        // an explicit deny wins over an allow
        let (o, _) = run(
            with_policy(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*"},{"Effect":"Deny","Principal":{"AWS":"123456789012"},"Action":"ecr:BatchGetImage"}]}"#),
            &format!("{OTHER}/shared/app:1"),
        )
        .await;
        assert_eq!(o.code, Repo::CrossAccountNotGranted);
        assert_eq!(
            o.facts["missing_actions"],
            serde_json::json!(["ecr:BatchGetImage"])
        );
        // wildcards count
        let (o, _) = run(
            with_policy(r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":["ecr:BatchGet*","ecr:GetDownloadUrlForLayer"]}]}"#),
            &format!("{OTHER}/shared/app:1"),
        )
        .await;
        assert_eq!(o.code, Repo::CheckLayerNotGranted);
        let (o, _) = run(
            with_policy(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}]}"#),
            &format!("{OTHER}/shared/app:1"),
        )
        .await;
        assert_eq!(o.code, Repo::GrantConditional);
    }

    #[tokio::test]
    #[allow(clippy::result_large_err)]
    async fn unreadable_policy_is_judged_by_a_real_pull() {
        let denied = || {
            Err(service_error(
                400,
                "AccessDeniedException",
                "User: x is not authorized to perform: ecr:GetRepositoryPolicy",
            ))
        };
        let (o, _) = run(
            FakeAws {
                repo_policy: denied(),
                image: Ok(true),
                ..Default::default()
            },
            &format!("{OTHER}/shared/app:1"),
        )
        .await;
        assert_eq!(o.code, Repo::CannotReadPolicy);
        let (o, _) = run(
            FakeAws {
                repo_policy: denied(),
                image: Err(service_error(
                    400,
                    "AccessDeniedException",
                    "not authorized to perform: ecr:BatchGetImage",
                )),
                ..Default::default()
            },
            &format!("{OTHER}/shared/app:1"),
        )
        .await;
        assert_eq!(o.code, Repo::PullDenied);
        let (o, _) = run(
            FakeAws {
                image: Err(service_error(
                    400,
                    "RepositoryNotFoundException",
                    "The repository with name 'lab/nope' does not exist in the registry with id '123456789012'",
                )),
                ..Default::default()
            },
            "lab/nope:1",
        )
        .await;
        assert_eq!(o.code, Repo::RepositoryNotFound);
        let msg = render("repo.policy", &o);
        assert!(
            msg.starts_with("There is no repository lab/nope in account 123456789012"),
            "{msg}"
        );
        let (o, _) = run(
            FakeAws {
                image: Err(crate::probes::ApiError {
                    failure: crate::probes::ApiFailure::Timeout {
                        detail: "operation timed out".into(),
                    },
                    exchange: crate::checks::fake::exchange(),
                }),
                ..Default::default()
            },
            "lab/app:1",
        )
        .await;
        assert_eq!(o.code, Repo::Unreachable);
    }

    #[tokio::test]
    async fn same_account_is_judged_by_batch_get_image() {
        let (o, cx) = run(
            FakeAws {
                image: Ok(true),
                ..Default::default()
            },
            "lab/app:1",
        )
        .await;
        assert_eq!(o.code, Repo::OkSameAccount);
        assert_eq!(o.facts["registry_account"], "123456789012");
        assert!(cx.identity().is_some());
        let (o, _) = run(
            FakeAws {
                image: Err(service_error(
                    400,
                    "AccessDeniedException",
                    "not authorized to perform: ecr:BatchGetImage",
                )),
                ..Default::default()
            },
            "lab/app:1",
        )
        .await;
        assert_eq!(o.code, Repo::PullDenied);
    }

    #[test]
    fn merging_keeps_what_is_there_and_quotes_for_the_shell() {
        let st = grant_statement("aws-cn", "123456789012");
        assert_eq!(st["Principal"]["AWS"], "arn:aws-cn:iam::123456789012:root");
        let one = merged_policy(
            Some(r#"{"Version":"2012-10-17","Statement":{"Sid":"It's","Effect":"Allow","Principal":"*","Action":"ecr:Describe*"}}"#),
            st.clone(),
        )
        .unwrap();
        assert!(one.contains(r#""Sid":"It'\''s""#), "{one}");
        assert!(merged_policy(Some("not json"), st).is_none());
    }
}
