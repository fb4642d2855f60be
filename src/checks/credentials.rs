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
                let code = if info.source == "environment" && long_term && ci.is_some() {
                    Source::StaticKeysInCi
                } else if info.role_arn.is_some() {
                    Source::OkAssumedRole
                } else {
                    Source::Ok
                };
                Finding::new(code)
                    .fact("source", info.source)
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
}
