//! `role.permissions`: may the `--role-arn` role pull? Its inline and attached policies are
//! read with the caller's own credentials (`iam:GetRole`, `ListRolePolicies`,
//! `GetRolePolicy`, `ListAttachedRolePolicies`, `GetPolicy`, `GetPolicyVersion`) and
//! evaluated for the pull actions with [`crate::policy`]; where the caller may call
//! `iam:SimulatePrincipalPolicy`, IAM's own answer is compared with it.

use super::{with_api_error, Ctx};
use crate::aws::arn::Arn;
use crate::engine::Finding;
use crate::policy::{self, Decision, Request};
use crate::probes::sdk_error::ErrorClass;
use crate::probes::{ApiError, RolePolicies, SimulatedDecision};
use futures::future::{BoxFuture, FutureExt};
use std::collections::BTreeMap;
use std::sync::Arc;

crate::codes! {
    pub enum RolePerms {
        Ok = "ok",
        MissingActions = "missing-actions",
        CheckLayerMissing = "check-layer-missing",
        TokenScopedToRepository = "token-scoped-to-repository",
        GrantConditional = "grant-conditional",
        CannotReadRole = "cannot-read-role",
        RoleNotFound = "role-not-found",
        ApiError = "api-error",
        NoRole = "no-role",
    }
}

const TOKEN: &str = "ecr:GetAuthorizationToken";
const CHECK_LAYER: &str = "ecr:BatchCheckLayerAvailability";
/// What a pull needs of the puller's identity policy: the token on `*`, then the repository
/// actions on the repository. The last is asked before each layer, but most pulls work
/// without it.
pub const PULL_ACTIONS: [&str; 4] = [
    TOKEN,
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    CHECK_LAYER,
];

/// How one action came out over all the role's policies.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Allowed,
    /// Allowed only under (or denied under) conditions, which are not evaluated.
    Conditional,
    /// An explicit Deny: `policy:statement`.
    Denied(String),
    /// No Allow.
    Missing,
}

impl Verdict {
    /// What `iam:SimulatePrincipalPolicy` would answer, where it is definite.
    fn simulated(&self) -> Option<&'static str> {
        match self {
            Verdict::Allowed => Some("allowed"),
            Verdict::Denied(_) => Some("explicitDeny"),
            Verdict::Missing => Some("implicitDeny"),
            Verdict::Conditional => None,
        }
    }
}

/// The short name of a policy: an inline policy's name, a managed policy ARN's last part.
fn policy_name(name_or_arn: &str) -> &str {
    name_or_arn.rsplit('/').next().unwrap_or(name_or_arn)
}

/// Every statement of the role's policies in one document (IAM evaluates an identity's
/// policies together: any explicit Deny wins, else any Allow allows), each `Sid` prefixed
/// with its policy's name so that a Deny can be named. Also the policies left out because
/// they could not be parsed.
fn combined(p: &RolePolicies) -> (Result<policy::Policy, String>, Vec<String>) {
    let mut statements = Vec::new();
    let mut unparsed = Vec::new();
    for (name, doc) in p.inline.iter().chain(&p.attached) {
        let name = policy_name(name);
        let value: Option<serde_json::Value> = serde_json::from_str(doc).ok();
        let list = match value.as_ref().map(|v| &v["Statement"]) {
            Some(serde_json::Value::Array(a)) => a.clone(),
            Some(one @ serde_json::Value::Object(_)) => vec![one.clone()],
            _ => vec![],
        };
        if policy::parse(doc).is_err() {
            unparsed.push(name.to_string());
            continue;
        }
        for (i, mut st) in list.into_iter().enumerate() {
            let sid = st["Sid"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("Statement[{i}]"));
            if let Some(o) = st.as_object_mut() {
                o.insert("Sid".into(), format!("{name}:{sid}").into());
            }
            statements.push(st);
        }
    }
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
    (
        policy::parse(&doc.to_string()).map_err(|e| e.to_string()),
        unparsed,
    )
}

/// The identity policy that grants what is missing: the token on `*`, the repository
/// actions on the repository; shell-safe inside single quotes. `None` when there is nothing
/// to grant.
pub fn grant_document(token: bool, repo_actions: &[&str], repository_arn: &str) -> Option<String> {
    let mut statements = Vec::new();
    if token {
        statements.push(serde_json::json!({
            "Sid": "EcrLogin", "Effect": "Allow", "Action": TOKEN, "Resource": "*"
        }));
    }
    if !repo_actions.is_empty() {
        statements.push(serde_json::json!({
            "Sid": "EcrPull", "Effect": "Allow", "Action": repo_actions, "Resource": repository_arn
        }));
    }
    if statements.is_empty() {
        return None;
    }
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
    Some(doc.to_string().replace('\'', "'\\''"))
}

/// `AWSReservedSSO_<permission set>_<hex>`: the permission set's name.
fn sso_permission_set(role_name: &str) -> Option<String> {
    let rest = role_name.strip_prefix("AWSReservedSSO_")?;
    let (set, _suffix) = rest.rsplit_once('_')?;
    Some(set.to_string())
}

pub fn permissions(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<RolePerms>> {
    async move {
        // without --role-arn, in an ECS task: the execution role its task definition names
        let (role_arn, task_definition) = match cx.opts.role_arn.clone() {
            Some(r) => (r, None),
            None => {
                use super::credentials::TaskExecutionRole as T;
                let none = Finding::new(RolePerms::NoRole);
                match super::credentials::task_execution_role(&cx).await {
                    T::Found {
                        task_definition,
                        arn,
                    } => (arn, Some(task_definition)),
                    T::NotInTask => return none,
                    T::NoTaskDefinition => return none.fact("ecs_task", true),
                    T::NoneDefined { task_definition } => {
                        return none
                            .fact("ecs_task", true)
                            .fact("task_definition", task_definition)
                            .fact("no_execution_role", true)
                    }
                    T::Unreadable {
                        task_definition,
                        denied,
                        error,
                    } => {
                        return none
                            .fact("ecs_task", true)
                            .fact("task_definition", task_definition)
                            .fact("execution_role_denied", denied.then_some(true))
                            .fact("execution_role_error", error)
                    }
                }
            }
        };
        let Some(identity) = cx.identity().cloned() else {
            return Finding::new(RolePerms::ApiError);
        };
        let parsed = Arn::parse(&role_arn);
        let role_name = parsed
            .and_then(|a| a.identity())
            .map(|(_, n)| n.to_string())
            .unwrap_or_default();
        let role_account = parsed.map(|a| a.account.to_string()).unwrap_or_default();
        let registry = cx.registry().unwrap_or_default();
        let registry_account = crate::aws::parse_registry_host(&registry)
            .map(|r| r.account)
            .unwrap_or_else(|| identity.account.clone());
        let repository = cx
            .opts
            .image
            .as_ref()
            .map(|i| i.repository.clone())
            .unwrap_or_else(|| "*".into());
        let repository_arn =
            crate::aws::arn::repository_arn(cx.region(), &registry_account, &repository);
        let base = Finding::new(RolePerms::Ok)
            .fact("role_arn", role_arn.clone())
            .fact("task_definition", task_definition)
            .fact("role_name", role_name.clone())
            .fact("role_account", role_account.clone())
            .fact("caller_arn", identity.arn.clone())
            .fact("registry_account", registry_account)
            .fact("repository_arn", repository_arn.clone())
            .fact("any_repository", repository == "*")
            .fact("sso_permission_set", sso_permission_set(&role_name));
        // IAM answers only about the caller's own account: a role of another account
        // (not assumed) cannot be read from here, and a role of the same name here is
        // another role
        if !role_account.is_empty() && role_account != identity.account {
            return base
                .with_code(RolePerms::CannotReadRole)
                .fact("other_account", true)
                .fact("caller_account", identity.account.clone())
                .fact_or_null("failed_action", None::<String>)
                .fact_or_null("error", None::<String>);
        }

        let role = match cx.aws.role_policies(role_name.clone()).await {
            Ok(r) => r,
            Err(e) => {
                let base = with_api_error(base, &e.error).fact("failed_action", e.action);
                return if e.error.code() == Some("NoSuchEntity") {
                    base.with_code(RolePerms::RoleNotFound)
                } else if e.error.class() == ErrorClass::AccessDenied {
                    base.with_code(RolePerms::CannotReadRole)
                } else {
                    base.with_code(RolePerms::ApiError)
                };
            }
        };
        let service_linked = role.path.starts_with("/aws-service-role/");
        let names: Vec<&str> = role
            .inline
            .iter()
            .chain(&role.attached)
            .map(|(n, _)| policy_name(n))
            .collect();
        let base = base
            .fact("policies", names)
            .fact("service_linked", service_linked.then_some(true))
            .fact("permissions_boundary", role.permissions_boundary.clone());
        let (doc, unparsed) = combined(&role);
        let base = base.fact(
            "unparsed_policies",
            (!unparsed.is_empty()).then_some(unparsed),
        );
        let doc = match doc {
            Ok(d) => d,
            Err(e) => return base.with_code(RolePerms::ApiError).fact("error", e),
        };
        let verdicts: Vec<(&str, Verdict)> = PULL_ACTIONS
            .iter()
            .map(|&action| {
                let resource = if action == TOKEN {
                    "*"
                } else {
                    &repository_arn
                };
                let req = Request {
                    action,
                    resource,
                    principal: Some(&role_arn),
                    principal_account: Some(&role_account),
                    context: &[("aws:PrincipalAccount", &role_account)],
                    foreign_keys: &[],
                };
                let v = match doc.evaluate(&req) {
                    Decision::Allowed => Verdict::Allowed,
                    Decision::AllowedWithConditions { .. }
                    | Decision::DenyUnderConditions { .. } => Verdict::Conditional,
                    Decision::ExplicitDeny { statement } => Verdict::Denied(statement),
                    Decision::ImplicitDeny => Verdict::Missing,
                };
                (action, v)
            })
            .collect();
        let not_allowed = |a: &str| {
            verdicts
                .iter()
                .any(|(x, v)| *x == a && matches!(v, Verdict::Denied(_) | Verdict::Missing))
        };
        let missing: Vec<&str> = PULL_ACTIONS
            .iter()
            .copied()
            .filter(|a| not_allowed(a))
            .collect();
        let denied_by: Vec<String> = verdicts
            .iter()
            .filter_map(|(a, v)| match v {
                Verdict::Denied(st) => Some(format!("{a} ({st})")),
                _ => None,
            })
            .collect();
        let conditional: Vec<&str> = verdicts
            .iter()
            .filter(|(_, v)| *v == Verdict::Conditional)
            .map(|(a, _)| *a)
            .collect();
        let token_missing = verdicts[0].1 == Verdict::Missing;
        let token_resources = doc.allow_resources(TOKEN);
        let token_scoped = token_missing
            && !token_resources.is_empty()
            && !token_resources.iter().any(|r| r == "*");
        // what an Allow can fix (an explicit Deny must go first)
        let repo_missing: Vec<&str> = verdicts
            .iter()
            .filter(|(a, v)| *a != TOKEN && *v == Verdict::Missing)
            .map(|(a, _)| *a)
            .collect();
        let editable = !service_linked && sso_permission_set(&role_name).is_none();
        let document = |token: bool, repo: &[&str]| {
            editable
                .then(|| grant_document(token, repo, &repository_arn))
                .flatten()
        };
        let essential_missing: Vec<&str> = missing
            .iter()
            .copied()
            .filter(|a| *a != CHECK_LAYER)
            .collect();
        let f = if essential_missing == [TOKEN] && token_scoped {
            base.with_code(RolePerms::TokenScopedToRepository)
                .fact("token_resources", token_resources)
                .fact("policy_document", document(true, &[]))
        } else if !essential_missing.is_empty() {
            base.with_code(RolePerms::MissingActions)
                .fact("missing_actions", missing.clone())
                .fact("denied_by", (!denied_by.is_empty()).then_some(denied_by))
                .fact("token_resources", token_scoped.then_some(token_resources))
                .fact("policy_document", document(token_missing, &repo_missing))
        } else if !missing.is_empty() {
            base.with_code(RolePerms::CheckLayerMissing)
                .fact("missing_actions", missing.clone())
                .fact("denied_by", (!denied_by.is_empty()).then_some(denied_by))
                .fact("policy_document", document(false, &repo_missing))
        } else if !conditional.is_empty() {
            base.with_code(RolePerms::GrantConditional)
                .fact("conditional_actions", conditional)
        } else {
            base
        };

        // IAM's own evaluation, where the caller may ask for it
        let source = if role.arn.is_empty() {
            role_arn.clone()
        } else {
            role.arn.clone()
        };
        let repo_actions: Vec<String> = PULL_ACTIONS[1..].iter().map(|a| a.to_string()).collect();
        let (token_sim, repo_sim) = tokio::join!(
            cx.aws
                .simulate_role(source.clone(), vec![TOKEN.to_string()], "*".to_string()),
            cx.aws
                .simulate_role(source, repo_actions, repository_arn.clone()),
        );
        match (token_sim, repo_sim) {
            (Ok(a), Ok(b)) => cross_check(f, &verdicts, &[a, b].concat()),
            (Err(e), _) | (_, Err(e)) => simulation_failed(f, &e),
        }
    }
    .boxed()
}

fn cross_check(
    f: Finding<RolePerms>,
    verdicts: &[(&str, Verdict)],
    sim: &[SimulatedDecision],
) -> Finding<RolePerms> {
    let decisions: BTreeMap<&str, &str> = sim
        .iter()
        .map(|d| (d.action.as_str(), d.decision.as_str()))
        .collect();
    let disagreements: Vec<String> = verdicts
        .iter()
        .filter_map(|(a, v)| {
            let ours = v.simulated()?;
            let theirs = decisions.get(a)?;
            (!ours.eq_ignore_ascii_case(theirs)).then(|| a.to_string())
        })
        .collect();
    f.fact(
        "simulation",
        if disagreements.is_empty() {
            "agrees"
        } else {
            "disagrees"
        },
    )
    .fact("simulated_decisions", decisions)
    .fact(
        "simulation_disagreements",
        (!disagreements.is_empty()).then_some(disagreements),
    )
}

fn simulation_failed(f: Finding<RolePerms>, e: &ApiError) -> Finding<RolePerms> {
    f.fact(
        "simulation",
        if e.class() == ErrorClass::AccessDenied {
            "not-allowed"
        } else {
            "unavailable"
        },
    )
    .fact("simulation_error", e.summary())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::{ctx, render, service_error, FakeAws};
    use crate::checks::Identity;
    use crate::probes::RoleReadError;
    use std::collections::HashMap;

    const ROLE: &str = "arn:aws:iam::123456789012:role/puller";

    fn role(inline: &[&str], attached: &[&str]) -> RolePolicies {
        RolePolicies {
            arn: ROLE.into(),
            path: "/".into(),
            permissions_boundary: None,
            inline: inline
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("inline-{i}"), d.to_string()))
                .collect(),
            attached: attached
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    (
                        format!("arn:aws:iam::123456789012:policy/managed-{i}"),
                        d.to_string(),
                    )
                })
                .collect(),
        }
    }

    async fn run_with(
        aws: FakeAws,
        role_arn: Option<&str>,
        image: Option<&str>,
    ) -> Finding<RolePerms> {
        let mut cx = ctx(aws, &[]);
        let c = Arc::get_mut(&mut cx).unwrap();
        c.opts.role_arn = role_arn.map(str::to_string);
        c.opts.image = image.map(|i| crate::validate::image(i).unwrap());
        c.set_identity(Identity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/admin".into(),
        });
        let o = permissions(cx).await;
        render("role.permissions", &o);
        o
    }

    async fn run(inline: &[&str], attached: &[&str]) -> Finding<RolePerms> {
        let aws = FakeAws {
            role: Ok(role(inline, attached)),
            ..Default::default()
        };
        run_with(aws, Some(ROLE), Some("team/app:1")).await
    }

    const TOKEN_STAR: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}}"#;
    const PULL_REPO: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"],"Resource":"arn:aws:ecr:us-east-1:123456789012:repository/team/*"}]}"#;

    #[tokio::test]
    async fn complete_permissions_over_inline_and_attached_policies_pass() {
        let o = run(&[TOKEN_STAR], &[PULL_REPO]).await;
        assert_eq!(o.code, RolePerms::Ok, "{:?}", o.facts);
        assert_eq!(
            o.facts["policies"],
            serde_json::json!(["inline-0", "managed-0"])
        );
        assert_eq!(
            o.facts["repository_arn"],
            "arn:aws:ecr:us-east-1:123456789012:repository/team/app"
        );
        // wildcard actions count
        let o = run(
            &[r#"{"Statement":[{"Effect":"Allow","Action":["ecr:Get*","ecr:BatchGet*","ecr:BatchCheck*"],"Resource":"*"}]}"#],
            &[],
        )
        .await;
        assert_eq!(o.code, RolePerms::Ok, "{:?}", o.facts);
    }

    #[tokio::test]
    async fn missing_actions_are_listed_with_the_policy_that_grants_them() {
        let o = run(&[TOKEN_STAR], &[]).await;
        assert_eq!(o.code, RolePerms::MissingActions);
        assert_eq!(
            o.facts["missing_actions"],
            serde_json::json!([
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability"
            ])
        );
        let doc: serde_json::Value =
            serde_json::from_str(o.facts["policy_document"].as_str().unwrap()).unwrap();
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 1);
        assert_eq!(
            doc["Statement"][0]["Resource"],
            "arn:aws:ecr:us-east-1:123456789012:repository/team/app"
        );
        let msg = render("role.permissions", &o);
        assert!(
            msg.contains("arn:aws:iam::123456789012:role/puller"),
            "{msg}"
        );
        // without the token, the grant adds it on "*"
        let o = run(&[PULL_REPO], &[]).await;
        assert_eq!(o.code, RolePerms::MissingActions);
        assert_eq!(
            o.facts["missing_actions"],
            serde_json::json!(["ecr:GetAuthorizationToken"])
        );
        let doc: serde_json::Value =
            serde_json::from_str(o.facts["policy_document"].as_str().unwrap()).unwrap();
        assert_eq!(
            doc["Statement"],
            serde_json::json!([{"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}])
        );
    }

    #[tokio::test]
    async fn an_explicit_deny_wins_and_is_named() {
        let o = run(
            &[r#"{"Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}"#],
            &[r#"{"Statement":[{"Sid":"NoPulls","Effect":"Deny","Action":"ecr:BatchGetImage","Resource":"*"}]}"#],
        )
        .await;
        assert_eq!(o.code, RolePerms::MissingActions);
        assert_eq!(
            o.facts["missing_actions"],
            serde_json::json!(["ecr:BatchGetImage"])
        );
        assert_eq!(
            o.facts["denied_by"],
            serde_json::json!(["ecr:BatchGetImage (managed-0:NoPulls)"])
        );
        // an Allow cannot lift a Deny: no policy to add
        assert!(o.facts.get("policy_document").is_none(), "{:?}", o.facts);
    }

    #[tokio::test]
    async fn only_check_layer_missing_warns() {
        let o = run(
            &[
                TOKEN_STAR,
                r#"{"Statement":[{"Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":"*"}]}"#,
            ],
            &[],
        )
        .await;
        assert_eq!(o.code, RolePerms::CheckLayerMissing);
        let doc = o.facts["policy_document"].as_str().unwrap();
        assert!(doc.contains("ecr:BatchCheckLayerAvailability"), "{doc}");
        assert!(!doc.contains("GetAuthorizationToken"), "{doc}");
    }

    #[tokio::test]
    async fn a_token_allowed_only_on_repositories_never_works() {
        let o = run(
            &[r#"{"Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"],"Resource":"arn:aws:ecr:us-east-1:123456789012:repository/*"}]}"#],
            &[],
        )
        .await;
        assert_eq!(o.code, RolePerms::TokenScopedToRepository, "{:?}", o.facts);
        assert_eq!(
            o.facts["token_resources"],
            serde_json::json!(["arn:aws:ecr:us-east-1:123456789012:repository/*"])
        );
    }

    #[tokio::test]
    async fn conditions_are_not_evaluated_but_said() {
        let o = run(
            &[
                TOKEN_STAR,
                r#"{"Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]}"#,
            ],
            &[],
        )
        .await;
        assert_eq!(o.code, RolePerms::GrantConditional);
    }

    #[tokio::test]
    async fn sso_and_service_linked_roles_get_no_put_role_policy() {
        let sso = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_ReadOnly_0123456789abcdef";
        let aws = FakeAws {
            role: Ok(role(&[TOKEN_STAR], &[])),
            ..Default::default()
        };
        let o = run_with(aws, Some(sso), None).await;
        assert_eq!(o.code, RolePerms::MissingActions);
        assert_eq!(o.facts["sso_permission_set"], "ReadOnly");
        assert!(o.facts.get("policy_document").is_none());
        assert_eq!(
            o.facts["repository_arn"],
            "arn:aws:ecr:us-east-1:123456789012:repository/*"
        );
        let mut r = role(&[TOKEN_STAR], &[]);
        r.path = "/aws-service-role/lab.amazonaws.com/".into();
        let aws = FakeAws {
            role: Ok(r),
            ..Default::default()
        };
        let o = run_with(aws, Some(ROLE), None).await;
        assert_eq!(o.facts["service_linked"], true);
        assert!(o.facts.get("policy_document").is_none());
    }

    #[tokio::test]
    #[allow(clippy::result_large_err)]
    async fn unreadable_missing_and_absent_roles() {
        let err = |action: &str, code: &str, msg: &str| {
            Err(RoleReadError {
                action: action.into(),
                error: service_error(403, code, msg),
            })
        };
        let aws = FakeAws {
            role: err(
                "iam:GetRole",
                "AccessDenied",
                "User: arn:aws:iam::123456789012:user/admin is not authorized to perform: iam:GetRole",
            ),
            ..Default::default()
        };
        let o = run_with(aws, Some(ROLE), None).await;
        assert_eq!(o.code, RolePerms::CannotReadRole);
        assert_eq!(o.facts["failed_action"], "iam:GetRole");
        let aws = FakeAws {
            role: err("iam:GetRole", "NoSuchEntity", "Role puller not found"),
            ..Default::default()
        };
        let fake = Arc::new(aws);
        let mut cx = ctx(FakeAws::default(), &[]);
        let c = Arc::get_mut(&mut cx).unwrap();
        c.aws = fake.clone();
        c.opts.role_arn = Some(ROLE.into());
        c.set_identity(Identity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/admin".into(),
        });
        let o = permissions(cx).await;
        render("role.permissions", &o);
        assert_eq!(o.code, RolePerms::RoleNotFound);
        assert_eq!(*fake.role_requests.lock().unwrap(), ["puller"]);
        let o = run_with(FakeAws::default(), None, None).await;
        assert_eq!(o.code, RolePerms::NoRole);
    }

    /// Task metadata naming task definition app:7, of a task in eu-west-1.
    struct InTask;

    impl crate::probes::MetadataProbe for InTask {
        fn placement(&self) -> BoxFuture<'_, Result<Option<crate::probes::Placement>, String>> {
            async { Ok(None) }.boxed()
        }
        fn ecs_task(&self) -> BoxFuture<'_, Result<Option<crate::probes::EcsTask>, String>> {
            async {
                Ok(Some(crate::probes::EcsTask {
                    family: Some("app".into()),
                    revision: Some("7".into()),
                    // a task in another region than the run's --region (us-east-1)
                    task_arn: Some("arn:aws:ecs:eu-west-1:123456789012:task/c/abc".into()),
                    ..Default::default()
                }))
            }
            .boxed()
        }
    }

    /// In an ECS task (container credentials, task metadata), without --role-arn.
    async fn in_task(aws: FakeAws) -> (Finding<RolePerms>, Arc<FakeAws>) {
        let fake = Arc::new(FakeAws {
            creds: Ok(crate::checks::fake::creds(
                "container",
                "ASIAEXAMPLEEXAMPLE12",
            )),
            ..aws
        });
        let mut cx = ctx(
            FakeAws::default(),
            &[(
                "ECS_CONTAINER_METADATA_URI_V4",
                "http://169.254.170.2/v4/abc",
            )],
        );
        let c = Arc::get_mut(&mut cx).unwrap();
        c.aws = fake.clone();
        c.metadata = Arc::new(InTask);
        c.opts.image = Some(crate::validate::image("team/app:1").unwrap());
        c.set_identity(Identity {
            account: "123456789012".into(),
            arn: "arn:aws:sts::123456789012:assumed-role/task-role/abc".into(),
        });
        let o = permissions(cx).await;
        render("role.permissions", &o);
        (o, fake)
    }

    #[tokio::test]
    async fn in_an_ecs_task_the_execution_role_of_the_task_definition_is_inspected() {
        let (o, fake) = in_task(FakeAws {
            execution_role: Ok(Some(ROLE.into())),
            role: Ok(role(&[TOKEN_STAR, PULL_REPO], &[])),
            ..Default::default()
        })
        .await;
        assert_eq!(o.code, RolePerms::Ok, "{:?}", o.facts);
        // asked in the task's region
        assert_eq!(
            *fake.execution_role_requests.lock().unwrap(),
            ["app:7 eu-west-1"]
        );
        assert_eq!(*fake.role_requests.lock().unwrap(), ["puller"]);
        assert_eq!(o.facts["task_definition"], "app:7");
        assert!(render("role.permissions", &o).starts_with(&format!(
            "{ROLE} (the execution role of task definition app:7) may pull"
        )));
        // no execution role: on EC2 the instance's role pulls
        let (o, _) = in_task(FakeAws {
            execution_role: Ok(None),
            ..Default::default()
        })
        .await;
        assert_eq!(o.code, RolePerms::NoRole);
        assert!(render("role.permissions", &o).ends_with("task definition app:7 has none"));
        // refused: said, and the commands to read it elsewhere
        let (o, fake) = in_task(FakeAws {
            execution_role: Err(service_error(
                400,
                "AccessDeniedException",
                "not authorized to perform: ecs:DescribeTaskDefinition",
            )),
            ..Default::default()
        })
        .await;
        assert_eq!(o.code, RolePerms::NoRole);
        assert!(fake.role_requests.lock().unwrap().is_empty());
        assert!(render("role.permissions", &o)
            .ends_with("ecs:DescribeTaskDefinition of app:7 was refused to the task role"));
        // outside a task: no lookup at all
        let aws = FakeAws {
            execution_role: Ok(Some(ROLE.into())),
            ..Default::default()
        };
        let o = run_with(aws, None, None).await;
        assert_eq!(o.code, RolePerms::NoRole);
        assert!(o.facts.is_empty(), "{:?}", o.facts);
    }

    #[tokio::test]
    async fn a_role_of_another_account_is_not_looked_up_here() {
        // a role named like it in the caller's account would be another role
        let fake = Arc::new(FakeAws {
            role: Ok(role(&[TOKEN_STAR, PULL_REPO], &[])),
            ..Default::default()
        });
        let mut cx = ctx(FakeAws::default(), &[]);
        let c = Arc::get_mut(&mut cx).unwrap();
        c.aws = fake.clone();
        c.opts.role_arn = Some("arn:aws:iam::210987654321:role/puller".into());
        c.set_identity(Identity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/admin".into(),
        });
        let o = permissions(cx).await;
        assert_eq!(o.code, RolePerms::CannotReadRole);
        assert!(fake.role_requests.lock().unwrap().is_empty());
        let msg = render("role.permissions", &o);
        assert!(
            msg.contains("caller's own account 123456789012 only"),
            "{msg}"
        );
    }

    #[tokio::test]
    #[allow(clippy::result_large_err)]
    async fn the_simulator_cross_checks() {
        let sim = |pairs: &[(&str, &str)]| {
            Ok(pairs
                .iter()
                .map(|(a, d)| (a.to_string(), d.to_string()))
                .collect::<HashMap<_, _>>())
        };
        let all_allowed = [
            (TOKEN, "allowed"),
            ("ecr:BatchGetImage", "allowed"),
            ("ecr:GetDownloadUrlForLayer", "allowed"),
            (CHECK_LAYER, "allowed"),
        ];
        let aws = FakeAws {
            role: Ok(role(&[TOKEN_STAR], &[PULL_REPO])),
            simulation: sim(&all_allowed),
            ..Default::default()
        };
        let fake = Arc::new(aws);
        let mut cx = ctx(FakeAws::default(), &[]);
        let c = Arc::get_mut(&mut cx).unwrap();
        c.aws = fake.clone();
        c.opts.role_arn = Some(ROLE.into());
        c.opts.image = Some(crate::validate::image("team/app:1").unwrap());
        c.set_identity(Identity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/admin".into(),
        });
        let o = permissions(cx).await;
        assert_eq!(o.facts["simulation"], "agrees");
        let asked = fake.simulation_requests.lock().unwrap().clone();
        assert_eq!(asked.len(), 2);
        assert_eq!(
            asked[0],
            (ROLE.to_string(), vec![TOKEN.to_string()], "*".to_string())
        );
        assert_eq!(
            asked[1].2,
            "arn:aws:ecr:us-east-1:123456789012:repository/team/app"
        );
        // IAM says a Deny (e.g. a permissions boundary the evaluator does not read)
        let aws = FakeAws {
            role: Ok(role(&[TOKEN_STAR], &[PULL_REPO])),
            simulation: sim(&[
                (TOKEN, "allowed"),
                ("ecr:BatchGetImage", "explicitDeny"),
                ("ecr:GetDownloadUrlForLayer", "allowed"),
                (CHECK_LAYER, "allowed"),
            ]),
            ..Default::default()
        };
        let o = run_with(aws, Some(ROLE), Some("team/app:1")).await;
        assert_eq!(o.code, RolePerms::Ok);
        assert_eq!(o.facts["simulation"], "disagrees");
        assert_eq!(
            o.facts["simulation_disagreements"],
            serde_json::json!(["ecr:BatchGetImage"])
        );
        assert!(render("role.permissions", &o).contains("ecr:BatchGetImage"));
        // not allowed to simulate
        let aws = FakeAws {
            role: Ok(role(&[TOKEN_STAR], &[PULL_REPO])),
            simulation: Err(service_error(
                403,
                "AccessDenied",
                "not authorized to perform: iam:SimulatePrincipalPolicy",
            )),
            ..Default::default()
        };
        let o = run_with(aws, Some(ROLE), Some("team/app:1")).await;
        assert_eq!(o.facts["simulation"], "not-allowed");
    }

    #[test]
    fn permission_set_names() {
        assert_eq!(
            sso_permission_set("AWSReservedSSO_Admin_Access_0123abcd").as_deref(),
            Some("Admin_Access")
        );
        assert_eq!(sso_permission_set("puller"), None);
    }
}
