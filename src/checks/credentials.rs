//! `credentials.source`: which provider of the standard chain supplied credentials.

use super::{rfc3339, Ctx};
use crate::engine::Outcome;
use crate::probes::{CredentialFailure, EnvProbe};
use futures::future::{BoxFuture, FutureExt};
use std::sync::Arc;

/// CI systems recognised by their environment, first match wins.
const CI_SYSTEMS: &[(&str, &str)] = &[
    ("GITHUB_ACTIONS", "GitHub Actions"),
    ("GITLAB_CI", "GitLab CI"),
    ("JENKINS_URL", "Jenkins"),
    ("CIRCLECI", "CircleCI"),
    ("BUILDKITE", "Buildkite"),
    ("TF_BUILD", "Azure Pipelines"),
    ("BITBUCKET_BUILD_NUMBER", "Bitbucket Pipelines"),
    ("TEAMCITY_VERSION", "TeamCity"),
    ("TRAVIS", "Travis CI"),
    ("DRONE", "Drone"),
    ("CODEBUILD_BUILD_ID", "AWS CodeBuild"),
    ("CI", "a CI system (CI is set)"),
];

pub fn detect_ci(env: &dyn EnvProbe) -> Option<&'static str> {
    CI_SYSTEMS
        .iter()
        .find(|(var, _)| {
            env.var(var)
                .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "false" | "0"))
        })
        .map(|(_, name)| *name)
}

fn source_label(source: &str) -> &'static str {
    match source {
        "environment" => "environment variables",
        "profile" => "shared profile",
        "web-identity" => "web identity token",
        "container" => "ECS/EKS container credentials",
        "instance-metadata" => "EC2 instance metadata",
        "assume-role" => "the role given with --role-arn",
        _ => "unknown provider",
    }
}

pub fn source(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    async move {
        match cx.aws.credentials().await {
            Ok(info) => {
                let long_term = info.access_key_id.starts_with("AKIA");
                let ci = detect_ci(cx.env.as_ref());
                let code = if info.source == "environment" && long_term && ci.is_some() {
                    "static-keys-in-ci"
                } else if info.role_arn.is_some() {
                    "ok-assumed-role"
                } else {
                    "ok"
                };
                Outcome::new(code)
                    .fact("source", source_label(&info.source))
                    .fact("provider", info.provider_name)
                    .fact("profile", info.profile)
                    .fact("access_key_id", info.access_key_id)
                    .fact(
                        "key_kind",
                        if long_term {
                            "long-term access key"
                        } else {
                            "temporary credentials"
                        },
                    )
                    .fact(
                        "expires_at",
                        info.expiry
                            .map(rfc3339)
                            .unwrap_or_else(|| "no expiry".into()),
                    )
                    .fact("ci_system", ci)
                    .fact("tried", info.tried)
                    .fact("role_arn", info.role_arn)
                    .fact("base_source", info.base_source.as_deref().map(source_label))
            }
            Err(CredentialFailure::NotFound { tried }) => Outcome::new("no-credentials")
                .fact("tried_text", tried.join("; "))
                .fact("tried", tried),
            Err(CredentialFailure::ProviderFailed {
                source,
                detail,
                tried,
            }) => Outcome::new("provider-failed")
                .fact("source", source_label(&source))
                .fact("error", detail)
                .fact("tried", tried),
            Err(CredentialFailure::TimedOut { source, detail }) => Outcome::new("provider-timeout")
                .fact("source", source_label(&source))
                .fact("error", detail),
        }
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::{creds, ctx, render, FakeAws};

    async fn run(aws: FakeAws, env: &[(&str, &str)]) -> Outcome {
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
        assert_eq!(o.code, "ok");
        assert_eq!(o.facts["source"], "EC2 instance metadata");
        assert_eq!(o.facts["key_kind"], "temporary credentials");
    }

    #[tokio::test]
    async fn long_term_env_keys_in_ci_warn() {
        let aws = || FakeAws {
            creds: Ok(creds("environment", "AKIAEXAMPLEEXAMPLE12")),
            ..Default::default()
        };
        let o = run(aws(), &[("GITHUB_ACTIONS", "true")]).await;
        assert_eq!(o.code, "static-keys-in-ci");
        assert_eq!(o.facts["ci_system"], "GitHub Actions");
        // the same keys on a laptop are fine
        assert_eq!(run(aws(), &[]).await.code, "ok");
        // CI=false is not CI
        assert_eq!(run(aws(), &[("CI", "false")]).await.code, "ok");
        // temporary credentials from the environment in CI are what OIDC gives: fine
        let aws = FakeAws {
            creds: Ok(creds("environment", "ASIAEXAMPLEEXAMPLE12")),
            ..Default::default()
        };
        assert_eq!(run(aws, &[("GITLAB_CI", "true")]).await.code, "ok");
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
        assert_eq!(o.code, "ok-assumed-role");
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
                tried: vec![
                    "environment variables: not set".into(),
                    "EC2 instance metadata: disabled".into(),
                ],
            }),
            ..Default::default()
        };
        let o = run(aws, &[]).await;
        assert_eq!(o.code, "no-credentials");
        let msg = render("credentials.source", &o);
        assert!(
            msg.contains("environment variables: not set; EC2 instance metadata: disabled"),
            "{msg}"
        );
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
        assert_eq!(o.code, "provider-failed");
        assert!(render("credentials.source", &o).contains("SSO session has expired"));
    }
}
