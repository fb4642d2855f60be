//! `credentials.source`: which provider of the standard chain supplied credentials.

use super::{rfc3339, Ctx};
use crate::engine::Finding;
use crate::probes::{CredentialFailure, EnvProbe};
use futures::future::{BoxFuture, FutureExt};
use std::sync::Arc;

crate::codes! {
    pub enum Source {
        Ok = "ok",
        OkAssumedRole = "ok-assumed-role",
        StaticKeysInCi = "static-keys-in-ci",
        NoCredentials = "no-credentials",
        ProviderFailed = "provider-failed",
        ProviderTimeout = "provider-timeout",
        RoleNotAssumable = "role-not-assumable",
        TaskRoleNotExecutionRole = "task-role-not-execution-role",
        PodRoleNotNodeRole = "pod-role-not-node-role",
        OkGithubOidc = "ok-github-oidc",
    }
}

/// Who really pulls images where these credentials come from, when it is not them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Puller {
    /// An ECS task: its task role signs, its execution role pulls.
    EcsTask,
    /// A Kubernetes pod with IRSA (`irsa`) or Pod Identity (`pod-identity`) credentials: the
    /// node's role pulls, through the kubelet.
    EksPod(&'static str),
    /// GitHub Actions with OIDC web identity: the recommended way, and the same role pulls.
    GithubOidc,
}

fn puller(env: &dyn EnvProbe, source: &str) -> Option<Puller> {
    let kubernetes = env.var("KUBERNETES_SERVICE_HOST").is_some();
    let ecs = env.var("ECS_CONTAINER_METADATA_URI_V4").is_some()
        || env.var("ECS_CONTAINER_METADATA_URI").is_some();
    match source {
        "web-identity" if kubernetes => Some(Puller::EksPod("irsa")),
        "container" if kubernetes => Some(Puller::EksPod("pod-identity")),
        "container" if ecs => Some(Puller::EcsTask),
        "web-identity"
            if env
                .var("GITHUB_ACTIONS")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")) =>
        {
            Some(Puller::GithubOidc)
        }
        _ => None,
    }
}

/// What the task definition says of the role that pulls, for `role.permissions` when no
/// `--role-arn` names it.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskExecutionRole {
    /// Not an ECS task's credentials (or in Kubernetes): nothing to look up.
    NotInTask,
    /// Task metadata did not name the task definition.
    NoTaskDefinition,
    /// `ecs:DescribeTaskDefinition` named it.
    Found {
        task_definition: String,
        arn: String,
    },
    /// The task definition has no execution role.
    NoneDefined { task_definition: String },
    /// The task definition could not be read: refused (`denied`), or another error.
    Unreadable {
        task_definition: String,
        denied: bool,
        error: String,
    },
}

/// In an ECS task (the credentials come from the task role), the execution role that pulls
/// its images: from task metadata (the task definition) and `ecs:DescribeTaskDefinition` in
/// the task's region, with the task role's credentials.
pub async fn task_execution_role(cx: &Ctx) -> TaskExecutionRole {
    let Ok(info) = cx.aws.credentials().await else {
        return TaskExecutionRole::NotInTask;
    };
    if puller(cx.env.as_ref(), &info.source) != Some(Puller::EcsTask) {
        return TaskExecutionRole::NotInTask;
    }
    let task = match cx.metadata.ecs_task().await {
        Ok(Some(t)) => t,
        _ => return TaskExecutionRole::NoTaskDefinition,
    };
    let Some(td) = task
        .family
        .as_ref()
        .zip(task.revision.as_ref())
        .map(|(fam, rev)| format!("{fam}:{rev}"))
    else {
        return TaskExecutionRole::NoTaskDefinition;
    };
    // the task's region, from its ARN: --region may name another
    let region = task
        .task_arn
        .as_deref()
        .and_then(crate::aws::Arn::parse)
        .map(|a| a.region.to_string())
        .filter(|r| crate::aws::is_region(r))
        .unwrap_or_else(|| cx.region().to_string());
    match cx.aws.execution_role(td.clone(), region).await {
        Ok(Some(arn)) => TaskExecutionRole::Found {
            task_definition: td,
            arn,
        },
        Ok(None) => TaskExecutionRole::NoneDefined {
            task_definition: td,
        },
        Err(e) => TaskExecutionRole::Unreadable {
            task_definition: td,
            denied: e.class() == crate::probes::sdk_error::ErrorClass::AccessDenied,
            error: e.summary(),
        },
    }
}

/// Environment variables that CI systems set, first match wins (their names are labelled
/// in the catalog).
const CI_VARIABLES: &[&str] = &[
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "JENKINS_URL",
    "CIRCLECI",
    "BUILDKITE",
    "TF_BUILD",
    "BITBUCKET_BUILD_NUMBER",
    "TEAMCITY_VERSION",
    "TRAVIS",
    "DRONE",
    "CODEBUILD_BUILD_ID",
    "CI",
];

/// The variable that shows this is a CI system, if any.
pub fn detect_ci(env: &dyn EnvProbe) -> Option<&'static str> {
    CI_VARIABLES.iter().copied().find(|var| {
        env.var(var)
            .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "false" | "0"))
    })
}

pub fn source(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Source>> {
    async move {
        match cx.aws.credentials().await {
            Ok(info) => {
                let long_term = info.access_key_id.starts_with("AKIA");
                let ci = detect_ci(cx.env.as_ref());
                let who = if cx.opts.role_arn.is_some() {
                    None // the user named the role that pulls
                } else {
                    puller(cx.env.as_ref(), &info.source)
                };
                let code = if info.assume_role_refused.is_some() {
                    Source::RoleNotAssumable
                } else if info.source == "environment" && long_term && ci.is_some() {
                    Source::StaticKeysInCi
                } else if info.role_arn.is_some() {
                    Source::OkAssumedRole
                } else {
                    match who {
                        Some(Puller::EcsTask) => Source::TaskRoleNotExecutionRole,
                        Some(Puller::EksPod(_)) => Source::PodRoleNotNodeRole,
                        Some(Puller::GithubOidc) => Source::OkGithubOidc,
                        None => Source::Ok,
                    }
                };
                let mut f = Finding::new(code);
                match (code, who) {
                    (Source::RoleNotAssumable, _) => {
                        let role = cx.opts.role_arn.clone().unwrap_or_default();
                        f = f
                            .fact(
                                "role_name",
                                crate::aws::iam_target(&role).map(|(_, name)| name),
                            )
                            .fact("error", info.assume_role_refused.clone())
                            .fact("role_arn", role);
                    }
                    (Source::TaskRoleNotExecutionRole, _) => {
                        f = match cx.metadata.ecs_task().await {
                            Ok(Some(task)) => f
                                .fact(
                                    "task_definition",
                                    task.family
                                        .as_ref()
                                        .zip(task.revision.as_ref())
                                        .map(|(fam, rev)| format!("{fam}:{rev}")),
                                )
                                .fact("task_arn", task.task_arn)
                                .fact("cluster", task.cluster)
                                .fact("launch_type", task.launch_type),
                            Ok(None) => f,
                            Err(e) => f.fact("metadata_error", e),
                        };
                    }
                    (Source::PodRoleNotNodeRole, Some(Puller::EksPod(kind))) => {
                        f = f.fact("pod_credentials", kind).fact(
                            "pod_role_arn",
                            (kind == "irsa")
                                .then(|| cx.env.var("AWS_ROLE_ARN"))
                                .flatten(),
                        );
                    }
                    (Source::OkGithubOidc, _) => {
                        f = f
                            .fact("ci_system", "GITHUB_ACTIONS")
                            .fact("web_identity_role", cx.env.var("AWS_ROLE_ARN"))
                            .fact("recommended_practice", "oidc");
                    }
                    _ => {}
                }
                f.fact("source", info.source)
                    .fact("provider", info.provider_name)
                    .fact("profile", info.profile)
                    .fact("access_key_id", info.access_key_id)
                    .fact(
                        "key_kind",
                        if long_term { "long-term" } else { "temporary" },
                    )
                    .fact(
                        "expires_at",
                        info.expiry.map(rfc3339).unwrap_or_else(|| "none".into()),
                    )
                    .fact("ci_system", ci)
                    .fact("tried", info.tried)
                    .fact("role_arn", info.role_arn)
                    .fact("base_source", info.base_source)
            }
            Err(CredentialFailure::NotFound {
                tried,
                reasons,
                profile,
            }) => Finding::new(Source::NoCredentials)
                .fact("tried", tried)
                .fact("profile", profile)
                .fact("error_detail", reasons.join("; ")),
            Err(CredentialFailure::ProviderFailed {
                source,
                detail,
                tried,
            }) => Finding::new(Source::ProviderFailed)
                .fact(
                    "role_arn",
                    cx.opts.role_arn.clone().filter(|_| source == "assume-role"),
                )
                .fact("source", source)
                .fact("error", crate::errors::short_of_chain(&detail))
                .fact("error_detail", detail)
                .fact("tried", tried),
            Err(CredentialFailure::TimedOut { source, bound }) => {
                Finding::new(Source::ProviderTimeout)
                    .fact("source", source)
                    .fact("bound_ms", bound.as_millis() as u64)
            }
        }
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::{creds, ctx, render, FakeAws};

    async fn run(aws: FakeAws, env: &[(&str, &str)]) -> Finding<Source> {
        let o = source(ctx(aws, env)).await;
        render("credentials.source", &o);
        o
    }

    #[tokio::test]
    async fn reports_the_provider() {
        let aws = FakeAws {
            creds: Ok(creds("instance-metadata", "ASIAEXAMPLEEXAMPLE12")),
            ..Default::default()
        };
        let o = run(aws, &[]).await;
        assert_eq!(o.code, Source::Ok);
        assert_eq!(o.facts["source"], "instance-metadata");
        assert_eq!(o.facts["key_kind"], "temporary");
        let msg = render("credentials.source", &o);
        assert!(
            msg.contains("EC2 instance metadata (temporary credentials"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn long_term_env_keys_in_ci_warn() {
        let aws = || FakeAws {
            creds: Ok(creds("environment", "AKIAEXAMPLEEXAMPLE12")),
            ..Default::default()
        };
        let o = run(aws(), &[("GITHUB_ACTIONS", "true")]).await;
        assert_eq!(o.code, Source::StaticKeysInCi);
        assert_eq!(o.facts["ci_system"], "GITHUB_ACTIONS");
        assert!(render("credentials.source", &o).contains("inside GitHub Actions"));
        // the same keys on a laptop are fine
        assert_eq!(run(aws(), &[]).await.code, Source::Ok);
        // CI=false is not CI
        assert_eq!(run(aws(), &[("CI", "false")]).await.code, Source::Ok);
        // temporary credentials from the environment in CI are what OIDC gives: fine
        let aws = FakeAws {
            creds: Ok(creds("environment", "ASIAEXAMPLEEXAMPLE12")),
            ..Default::default()
        };
        assert_eq!(run(aws, &[("GITLAB_CI", "true")]).await.code, Source::Ok);
    }

    #[tokio::test]
    async fn assumed_role_names_both_sources() {
        let mut c = creds("assume-role", "ASIAEXAMPLEEXAMPLE12");
        c.role_arn = Some("arn:aws:iam::210987654321:role/puller".into());
        c.base_source = Some("profile".into());
        let o = run(
            FakeAws {
                creds: Ok(c),
                ..Default::default()
            },
            &[],
        )
        .await;
        assert_eq!(o.code, Source::OkAssumedRole);
        let msg = render("credentials.source", &o);
        assert!(
            msg.contains("arn:aws:iam::210987654321:role/puller") && msg.contains("shared profile"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn no_credentials_lists_what_was_tried() {
        let aws = FakeAws {
            creds: Err(CredentialFailure::NotFound {
                tried: vec!["environment".into(), "instance-metadata".into()],
                reasons: vec!["environment: not set".into()],
                profile: "default".into(),
            }),
            ..Default::default()
        };
        let o = run(aws, &[]).await;
        assert_eq!(o.code, Source::NoCredentials);
        let msg = render("credentials.source", &o);
        assert!(
            msg.contains("environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), EC2 instance metadata (IMDSv2)"),
            "{msg}"
        );
        assert!(
            !msg.contains("not set"),
            "the SDK's reasons stay in error_detail: {msg}"
        );
        assert_eq!(o.facts["error_detail"], "environment: not set");
    }

    #[tokio::test]
    async fn provider_failures_are_reported() {
        let aws = FakeAws {
            creds: Err(CredentialFailure::ProviderFailed {
                source: "profile".into(),
                detail: "the SSO session has expired".into(),
                tried: vec![],
            }),
            ..Default::default()
        };
        let o = run(aws, &[]).await;
        assert_eq!(o.code, Source::ProviderFailed);
        assert!(render("credentials.source", &o).contains("SSO session has expired"));
    }

    #[tokio::test]
    async fn a_refused_role_warns_and_names_it() {
        let mut c = creds("environment", "AKIAEXAMPLEEXAMPLE12");
        c.assume_role_refused = Some("HTTP 403 AccessDenied: User: arn:aws:iam::123456789012:user/me is not authorized to perform: sts:AssumeRole".into());
        let mut cx = ctx(
            FakeAws {
                creds: Ok(c),
                ..Default::default()
            },
            &[],
        );
        Arc::get_mut(&mut cx).unwrap().opts.role_arn =
            Some("arn:aws:iam::123456789012:role/service/exec-role".into());
        let o = source(cx).await;
        assert_eq!(o.code, Source::RoleNotAssumable);
        assert_eq!(o.facts["role_name"], "exec-role");
        let msg = render("credentials.source", &o);
        assert!(
            msg.contains(
                "sts:AssumeRole into arn:aws:iam::123456789012:role/service/exec-role was refused"
            ),
            "{msg}"
        );
    }

    struct Task(Result<Option<crate::probes::EcsTask>, String>);

    impl crate::probes::MetadataProbe for Task {
        fn placement(&self) -> BoxFuture<'_, Result<Option<crate::probes::Placement>, String>> {
            async { Ok(None) }.boxed()
        }
        fn ecs_task(&self) -> BoxFuture<'_, Result<Option<crate::probes::EcsTask>, String>> {
            let r = self.0.clone();
            async move { r }.boxed()
        }
    }

    #[tokio::test]
    async fn in_an_ecs_task_the_execution_role_pulls() {
        let env = [(
            "ECS_CONTAINER_METADATA_URI_V4",
            "http://169.254.170.2/v4/abc",
        )];
        let aws = || FakeAws {
            creds: Ok(creds("container", "ASIAEXAMPLEEXAMPLE12")),
            ..Default::default()
        };
        let mut cx = ctx(aws(), &env);
        Arc::get_mut(&mut cx).unwrap().metadata =
            Arc::new(Task(Ok(Some(crate::probes::EcsTask {
                family: Some("app".into()),
                revision: Some("7".into()),
                launch_type: Some("FARGATE".into()),
                ..Default::default()
            }))));
        let o = source(cx).await;
        assert_eq!(o.code, Source::TaskRoleNotExecutionRole);
        assert_eq!(o.facts["task_definition"], "app:7");
        assert!(render("credentials.source", &o).contains("(FARGATE) with task definition app:7"));
        // metadata unreadable: still the warning, without the task definition
        let mut cx = ctx(aws(), &env);
        Arc::get_mut(&mut cx).unwrap().metadata = Arc::new(Task(Err("HTTP 404".into())));
        let o = source(cx).await;
        assert_eq!(o.code, Source::TaskRoleNotExecutionRole);
        assert!(o.facts.get("task_definition").is_none());
        // the user named the role that pulls: nothing to say
        let mut cx = ctx(aws(), &env);
        Arc::get_mut(&mut cx).unwrap().opts.role_arn =
            Some("arn:aws:iam::123456789012:role/exec".into());
        assert_eq!(source(cx).await.code, Source::Ok);
        // container credentials outside ECS and Kubernetes
        assert_eq!(run(aws(), &[]).await.code, Source::Ok);
    }

    #[tokio::test]
    async fn in_a_pod_the_node_role_pulls_and_github_oidc_passes() {
        let web = || FakeAws {
            creds: Ok(creds("web-identity", "ASIAEXAMPLEEXAMPLE12")),
            ..Default::default()
        };
        let o = run(
            web(),
            &[
                ("KUBERNETES_SERVICE_HOST", "10.100.0.1"),
                ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/pod"),
            ],
        )
        .await;
        assert_eq!(o.code, Source::PodRoleNotNodeRole);
        assert_eq!(o.facts["pod_credentials"], "irsa");
        assert!(render("credentials.source", &o).contains("IRSA"));
        let o = run(
            FakeAws {
                creds: Ok(creds("container", "ASIAEXAMPLEEXAMPLE12")),
                ..Default::default()
            },
            &[("KUBERNETES_SERVICE_HOST", "10.100.0.1")],
        )
        .await;
        assert_eq!(o.code, Source::PodRoleNotNodeRole);
        assert_eq!(o.facts["pod_credentials"], "pod-identity");
        let o = run(
            web(),
            &[
                ("GITHUB_ACTIONS", "true"),
                ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ci"),
            ],
        )
        .await;
        assert_eq!(o.code, Source::OkGithubOidc);
        assert_eq!(o.facts["recommended_practice"], "oidc");
        assert!(render("credentials.source", &o).contains("arn:aws:iam::123456789012:role/ci"));
        // web identity elsewhere is plain
        assert_eq!(run(web(), &[]).await.code, Source::Ok);
    }
}
