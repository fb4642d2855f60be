//! `token.get`: ecr:GetAuthorizationToken, decoded without ever showing it.
//!
//! The token's life is reported as the earlier of its `expiresAt` and the expiry of the
//! credentials that got it (a token obtained with temporary credentials has been reported to
//! stop working with them), both kept as facts. A token is scoped to a region, not to an
//! account (`registryIds` is deprecated): `wrong-registry` compares regions only, and FIPS
//! or dual-stack registry hosts match the standard `proxyEndpoint` of their region.

use super::{rfc3339, with_api_error, Ctx, Token};
pub use crate::aws::iam_target;
use crate::engine::Finding;
use crate::probes::sdk_error::ErrorClass;
use crate::probes::Secret;
use crate::registry_auth::{self, hours_until, password_expiration};

use futures::future::{BoxFuture, FutureExt};
use std::sync::Arc;

crate::codes! {
    pub enum TokenCode {
        Ok = "ok",
        AccessDenied = "access-denied",
        Expired = "expired",
        ExpiresSoon = "expires-soon",
        ExpiresWithCredentials = "expires-with-credentials",
        OkRoleSession = "ok-role-session",
        Throttled = "throttled",
        WrongRegistry = "wrong-registry",
        UnexpectedUser = "unexpected-user",
        MalformedToken = "malformed-token",
        InvalidCredentials = "invalid-credentials",
        ClockRejected = "clock-rejected",
        Unreachable = "unreachable",
        ApiError = "api-error",
        NoIdentity = "no-identity",
        OkPublic = "ok-public",
        PublicAccessDenied = "public-access-denied",
        PublicUnreachable = "public-unreachable",
        PublicExpired = "public-expired",
        PublicExpiresSoon = "public-expires-soon",
    }
}

use TokenCode as T;

/// The password of a token (base64 of `AWS:<password>`), registered as a secret; `Err(None)`
/// when it is not base64 of `user:password`, `Err(Some(user))` when the user is not `AWS`.
fn password_of(token: &Secret) -> Result<Secret, Option<String>> {
    let (user, password) = registry_auth::decode_basic(token.expose()).ok_or(None)?;
    let password = Secret::new(password);
    if user != "AWS" {
        return Err(Some(user));
    }
    Ok(password)
}

fn host_of(endpoint: &str) -> String {
    endpoint
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_ascii_lowercase()
}

pub fn get(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<TokenCode>> {
    async move {
        let Some(identity) = cx.identity().cloned() else {
            return Finding::new(T::NoIdentity);
        };
        let registry = cx
            .registry()
            .unwrap_or_else(|| crate::aws::registry_host(&identity.account, cx.region()));
        if crate::aws::is_public_registry(&registry) {
            return public(&cx, identity, registry).await;
        }
        let target = crate::aws::parse_registry_host(&registry);
        let registry_id = target
            .as_ref()
            .map(|t| t.account.clone())
            .filter(|a| *a != identity.account);
        let data = match cx.aws.authorization_token(registry_id.clone()).await {
            Ok(d) => d,
            Err(e) => {
                let code = match e.class() {
                    _ if e.is_throttled() => T::Throttled,
                    ErrorClass::AccessDenied => T::AccessDenied,
                    ErrorClass::Unreachable => T::Unreachable,
                    ErrorClass::InvalidCredentials => T::InvalidCredentials,
                    ErrorClass::ClockRejected => T::ClockRejected,
                    ErrorClass::NotFound | ErrorClass::Other => T::ApiError,
                };
                let mut o =
                    with_api_error(Finding::new(code), &e).fact("arn", identity.arn.clone());
                if let Some((kind, name)) = iam_target(&identity.arn) {
                    o = o.fact("iam_kind", kind).fact("iam_name", name.clone());
                    // for the Terraform and CloudFormation forms, whose resources differ
                    o = o.fact(
                        if kind == "user" {
                            "iam_user"
                        } else {
                            "iam_role"
                        },
                        name,
                    );
                }
                // roles whose policies are not theirs to change: no put-role-policy then
                o = o
                    .fact(
                        "sso_permission_set",
                        crate::aws::sso_permission_set(&identity.arn),
                    )
                    .fact(
                        "service_linked",
                        (crate::aws::managed_role(&identity.arn) == Some("service-linked"))
                            .then_some(true),
                    );
                return o;
            }
        };
        let base = Finding::new(T::Ok)
            .fact("registry", registry.clone())
            .fact("registry_id", registry_id)
            .fact("proxy_endpoint", data.proxy_endpoint.clone())
            .fact("endpoint", data.exchange.endpoint.clone());
        let password = match password_of(&data.token) {
            Ok(p) => p,
            Err(None) => return base.with_code(T::MalformedToken),
            Err(Some(user)) => return base.with_code(T::UnexpectedUser).fact("user", user),
        };
        let token_expires_at = data
            .expires_at
            .or_else(|| password_expiration(password.expose()));
        // memoized: the credentials that signed the call
        let creds = cx.aws.credentials().await.ok();
        let credentials_expire_at = creds.as_ref().and_then(|c| c.expiry);
        let role_session = creds.as_ref().is_some_and(|c| c.role_arn.is_some());
        let limited_by_credentials =
            credentials_expire_at.is_some_and(|c| token_expires_at.is_none_or(|t| c <= t));
        let expires_at = if limited_by_credentials {
            credentials_expire_at
        } else {
            token_expires_at
        };
        let now = (cx.now)();
        let hours_left = expires_at.map(|e| hours_until(e, now));
        let token_hours_left = token_expires_at.map(|e| hours_until(e, now));
        let token_host = data.proxy_endpoint.as_deref().map(host_of);
        let token_region = token_host
            .as_deref()
            .and_then(crate::aws::parse_registry_host)
            .map(|t| t.region);
        let registry_region = target.as_ref().map(|t| t.region.clone());
        let base = base
            .fact("user", "AWS")
            .fact("expires_at", expires_at.map(rfc3339))
            .fact("hours_left", hours_left.map(|h| (h * 10.0).round() / 10.0))
            .fact("token_expires_at", token_expires_at.map(rfc3339))
            .fact("credentials_expire_at", credentials_expire_at.map(rfc3339))
            .fact("limited_by_credentials", limited_by_credentials)
            .fact("token_region", token_region.clone())
            .fact("registry_region", registry_region.clone());
        // a token serves every registry of its region: compare regions, never accounts
        // (FIPS and dual-stack hosts of the region get the standard proxyEndpoint)
        if let (Some(t), Some(r)) = (&token_region, &registry_region) {
            if t != r {
                return base.with_code(T::WrongRegistry);
            }
        }
        let code = match (token_hours_left, hours_left) {
            (Some(t), _) if t <= 0.0 => T::Expired,
            (_, Some(h)) if h < 1.0 && limited_by_credentials && role_session => T::OkRoleSession,
            (_, Some(h)) if h < 1.0 && limited_by_credentials => T::ExpiresWithCredentials,
            (_, Some(h)) if h < 1.0 => T::ExpiresSoon,
            _ => T::Ok,
        };
        if code != T::Expired {
            cx.set_token(Token {
                registry,
                password,
                expires_at,
            });
        }
        base.with_code(code)
    }
    .boxed()
}

/// ECR Public: `ecr-public:GetAuthorizationToken` in us-east-1, whatever `--region` says.
async fn public(
    cx: &Ctx,
    identity: crate::checks::Identity,
    registry: String,
) -> Finding<TokenCode> {
    let api_region = crate::aws::ECR_PUBLIC_TOKEN_REGION;
    let facts = |f: Finding<TokenCode>| {
        f.fact("registry", registry.clone())
            .fact("public", true)
            .fact("api_region", api_region)
            .fact("api_host", crate::aws::public_api_host())
            .fact("region_ignored", cx.region() != api_region)
    };
    let data = match cx.aws.public_authorization_token().await {
        Ok(d) => d,
        Err(e) => {
            let code = match e.class() {
                _ if e.is_throttled() => T::Throttled,
                ErrorClass::AccessDenied => T::PublicAccessDenied,
                ErrorClass::Unreachable => T::PublicUnreachable,
                ErrorClass::InvalidCredentials => T::InvalidCredentials,
                ErrorClass::ClockRejected => T::ClockRejected,
                ErrorClass::NotFound | ErrorClass::Other => T::ApiError,
            };
            let mut o =
                with_api_error(facts(Finding::new(code)), &e).fact("arn", identity.arn.clone());
            if let Some((kind, name)) = iam_target(&identity.arn) {
                o = o.fact("iam_kind", kind).fact("iam_name", name);
            }
            return o;
        }
    };
    let base = facts(Finding::new(T::OkPublic)).fact("endpoint", data.exchange.endpoint.clone());
    let password = match password_of(&data.token) {
        Ok(p) => p,
        Err(None) => return base.with_code(T::MalformedToken),
        Err(Some(user)) => return base.with_code(T::UnexpectedUser).fact("user", user),
    };
    let now = (cx.now)();
    let expires_at = data.expires_at;
    let hours_left = expires_at.map(|e| hours_until(e, now));
    let base = base
        .fact("user", "AWS")
        .fact("expires_at", expires_at.map(rfc3339))
        .fact("hours_left", hours_left.map(|h| (h * 10.0).round() / 10.0));
    let code = match hours_left {
        Some(h) if h <= 0.0 => T::PublicExpired,
        Some(h) if h < 1.0 => T::PublicExpiresSoon,
        _ => T::OkPublic,
    };
    if code != T::PublicExpired {
        cx.set_token(Token {
            registry,
            password,
            expires_at,
        });
    }
    base.with_code(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::{ctx, exchange, now, render, service_error, FakeAws};
    use crate::checks::{Identity, Options};
    use crate::probes::{ApiError, AuthorizationData};
    use base64::Engine as _;
    use std::time::Duration;

    #[allow(clippy::result_large_err)]
    fn token(user: &str, ttl: i64, proxy: &str) -> Result<AuthorizationData, ApiError> {
        let password = base64::engine::general_purpose::STANDARD.encode(
            r#"{"payload":"cGF5","datakey":"a2V5","version":"2","type":"DATA_KEY","expiration":1}"#,
        );
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let exp = if ttl >= 0 {
            now() + Duration::from_secs(ttl as u64)
        } else {
            now() - Duration::from_secs((-ttl) as u64)
        };
        Ok(AuthorizationData {
            token: Secret::new(token),
            expires_at: Some(exp),
            proxy_endpoint: Some(proxy.to_string()),
            exchange: exchange(),
        })
    }

    const OWN: &str = "https://123456789012.dkr.ecr.us-east-1.amazonaws.com";

    async fn run_with(aws: FakeAws, registry: Option<&str>) -> (Finding<TokenCode>, Arc<Ctx>) {
        let mut cx = ctx(aws, &[]);
        let c = Arc::get_mut(&mut cx).unwrap();
        c.opts = Options {
            registry: registry.map(str::to_string),
            ..c.opts.clone()
        };
        c.set_identity(Identity {
            account: "123456789012".into(),
            arn: "arn:aws:sts::123456789012:assumed-role/puller/i-0abc".into(),
        });
        let o = get(cx.clone()).await;
        render("token.get", &o);
        (o, cx)
    }

    async fn run(tok: Result<AuthorizationData, ApiError>) -> Finding<TokenCode> {
        run_with(
            FakeAws {
                token: tok,
                ..Default::default()
            },
            None,
        )
        .await
        .0
    }

    #[tokio::test]
    async fn healthy_token() {
        let (o, cx) = run_with(
            FakeAws {
                token: token("AWS", 12 * 3600, OWN),
                ..Default::default()
            },
            None,
        )
        .await;
        assert_eq!(o.code, T::Ok);
        assert_eq!(o.facts["hours_left"], 12.0);
        assert!(cx.token().is_some());
        // the token never appears in facts
        let facts = serde_json::to_string(&o.facts).unwrap();
        assert!(
            !facts.contains("DATA_KEY") && !facts.contains("eyJ"),
            "{facts}"
        );
    }

    #[tokio::test]
    async fn expiry() {
        assert_eq!(run(token("AWS", -60, OWN)).await.code, T::Expired);
        assert_eq!(run(token("AWS", 1800, OWN)).await.code, T::ExpiresSoon);
    }

    #[tokio::test]
    async fn wrong_user_and_registry() {
        assert_eq!(
            run(token("admin", 3600 * 12, OWN)).await.code,
            T::UnexpectedUser
        );
        let other = "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com";
        assert_eq!(
            run(token("AWS", 3600 * 12, other)).await.code,
            T::WrongRegistry
        );
        let mut bad = token("AWS", 10, OWN).unwrap();
        bad.token = Secret::new("not base64!");
        assert_eq!(run(Ok(bad)).await.code, T::MalformedToken);
    }

    #[tokio::test]
    async fn a_token_is_scoped_to_a_region_not_an_account() {
        // the answer names the caller's own registry; the registry is another account's in
        // the same region, or a FIPS or dual-stack host of the caller's: all the same region
        for registry in [
            "210987654321.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
            "123456789012.dkr-ecr.us-east-1.on.aws",
            "123456789012.dkr-ecr-fips.us-east-1.on.aws",
            "210987654321.dkr-ecr.us-east-1.on.aws",
        ] {
            let aws = FakeAws {
                token: token("AWS", 3600 * 12, OWN),
                ..Default::default()
            };
            let (o, cx) = run_with(aws, Some(registry)).await;
            assert_eq!(o.code, T::Ok, "{registry}");
            assert_eq!(o.facts["token_region"], "us-east-1");
            assert_eq!(o.facts["registry_region"], "us-east-1");
            assert_eq!(cx.token().unwrap().registry, registry);
        }
        // another region is wrong, whatever the account
        let aws = FakeAws {
            token: token("AWS", 3600 * 12, OWN),
            ..Default::default()
        };
        let (o, _) = run_with(aws, Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com")).await;
        assert_eq!(o.code, T::WrongRegistry);
        let msg = render("token.get", &o);
        assert!(
            msg.contains("us-east-1") && msg.contains("eu-west-1"),
            "{msg}"
        );
    }

    fn creds_expiring_in(secs: u64, role: bool) -> crate::probes::CredentialInfo {
        let mut c = crate::checks::fake::creds("environment", "ASIAEXAMPLEEXAMPLE12");
        c.expiry = Some(now() + Duration::from_secs(secs));
        if role {
            c.source = "assume-role".into();
            c.role_arn = Some("arn:aws:iam::123456789012:role/puller".into());
        }
        c
    }

    async fn run_creds(creds: crate::probes::CredentialInfo) -> Finding<TokenCode> {
        run_with(
            FakeAws {
                creds: Ok(creds),
                token: token("AWS", 12 * 3600, OWN),
                ..Default::default()
            },
            None,
        )
        .await
        .0
    }

    #[tokio::test]
    async fn the_effective_expiry_is_the_earlier_of_token_and_credentials() {
        // credentials for 6 hours: the token works 6 hours, its own expiresAt says 12
        let o = run_creds(creds_expiring_in(6 * 3600, false)).await;
        assert_eq!(o.code, T::Ok);
        assert_eq!(o.facts["hours_left"], 6.0);
        assert_eq!(o.facts["limited_by_credentials"], true);
        assert_eq!(o.facts["expires_at"], o.facts["credentials_expire_at"]);
        assert_eq!(
            o.facts["token_expires_at"],
            rfc3339(now() + Duration::from_secs(12 * 3600))
        );
        // 20 minutes left on the credentials: a warning that names them, not the clock
        let o = run_creds(creds_expiring_in(1200, false)).await;
        assert_eq!(o.code, T::ExpiresWithCredentials);
        assert_eq!(o.facts["hours_left"], 0.3);
        // the doctor's own --role-arn session (900 s): expected, a pass
        let o = run_creds(creds_expiring_in(900, true)).await;
        assert_eq!(o.code, T::OkRoleSession);
        let cat = crate::catalog::Catalog::embedded();
        let spec = cat.get("token.get").unwrap();
        for code in ["ok-role-session", "expires-with-credentials"] {
            let c = &spec.codes[code];
            let text = format!("{} {}", c.message, c.remediation.as_deref().unwrap_or(""));
            assert!(
                !text.contains("clock"),
                "{code} suggests a clock problem: {text}"
            );
        }
        // the token's own expiry is the shorter: expires-soon, as before
        let aws = FakeAws {
            creds: Ok(creds_expiring_in(6 * 3600, false)),
            token: token("AWS", 1800, OWN),
            ..Default::default()
        };
        let (o, _) = run_with(aws, None).await;
        assert_eq!(o.code, T::ExpiresSoon);
        assert_eq!(o.facts["limited_by_credentials"], false);
    }

    #[tokio::test]
    async fn throttling_names_the_quota_and_no_rate() {
        let o = run(Err(service_error(
            400,
            "ThrottlingException",
            "Rate exceeded",
        )))
        .await;
        assert_eq!(o.code, T::Throttled);
        let cat = crate::catalog::Catalog::embedded();
        let spec = cat.get("token.get").unwrap();
        let t = &spec.codes["throttled"];
        let text = format!("{} {}", t.message, t.remediation.as_deref().unwrap());
        assert!(text.contains("per-account, per-region quota"), "{text}");
        assert!(
            text.contains("Service Quotas") && text.contains("Cache the token"),
            "{text}"
        );
        // no rate anywhere: AWS's own pages disagree on it
        for (code, c) in &spec.codes {
            let all = format!(
                "{} {} {}",
                c.message,
                c.remediation.as_deref().unwrap_or(""),
                c.commands.join(" ")
            );
            assert!(
                !all.contains("per second") && !all.contains(" TPS") && !all.contains("/s "),
                "{code}: {all}"
            );
        }
    }

    #[tokio::test]
    async fn cross_account_registry_asks_for_that_registry() {
        let other = "210987654321.dkr.ecr.us-east-1.amazonaws.com";
        let aws = FakeAws {
            token: token("AWS", 3600 * 12, &format!("https://{other}")),
            ..Default::default()
        };
        let (o, cx) = run_with(aws, Some(other)).await;
        assert_eq!(o.code, T::Ok);
        assert_eq!(o.facts["registry_id"], "210987654321");
        let _ = cx;
    }

    #[tokio::test]
    async fn sso_and_service_linked_roles_get_no_role_policy_command() {
        use crate::catalog::Catalog;
        use crate::engine::CheckResult;
        use crate::render::{Context, Report};
        let cases = [
            (
                "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_PowerUser_0123456789abcdef/jane",
                "IAM Identity Center",
                "aws sso-admin list-permission-sets-provisioned-to-account",
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForECS/s",
                "service-linked role",
                "",
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/puller/i-0abc",
                "task execution role",
                "aws iam put-role-policy --role-name puller ",
            ),
        ];
        for (arn, words, command) in cases {
            let mut cx = ctx(
                FakeAws {
                    token: Err(service_error(
                        403,
                        "AccessDenied",
                        "not authorized to perform: ecr:GetAuthorizationToken",
                    )),
                    ..Default::default()
                },
                &[],
            );
            let c = Arc::get_mut(&mut cx).unwrap();
            c.set_identity(Identity {
                account: "123456789012".into(),
                arn: arn.into(),
            });
            let o = get(cx.clone()).await;
            assert_eq!(o.code, T::AccessDenied);
            let result = CheckResult {
                id: "token.get".into(),
                status: crate::catalog::Severity::Fail,
                code: "access-denied",
                engine: false,
                facts: o.facts.clone(),
                skipped_because: vec![],
                duration: Duration::ZERO,
            };
            let context = Context {
                account: Some("123456789012".into()),
                region: Some("us-east-1".into()),
                ..Default::default()
            };
            let r = Report::build(
                &Catalog::embedded(),
                &[result],
                context,
                String::new(),
                Duration::ZERO,
            );
            let rem = r.checks[0].remediation.clone().unwrap();
            assert!(rem.text.contains(words), "{arn}: {}", rem.text);
            let all = rem.commands.join("\n");
            if command.is_empty() {
                assert!(!all.contains("put-role-policy"), "{arn}: {all}");
                assert!(!all.contains("sso-admin"), "{arn}: {all}");
            } else {
                assert!(all.contains(command), "{arn}: {all}");
            }
            if arn.contains("AWSReserved") {
                assert!(!all.contains("put-role-policy"), "{arn}: {all}");
            }
        }
    }

    #[tokio::test]
    async fn access_denied_names_the_policy_target() {
        let e = service_error(
            403,
            "AccessDenied",
            "User: arn:aws:sts::123456789012:assumed-role/puller/i-0abc is not authorized to perform: ecr:GetAuthorizationToken",
        );
        let o = run(Err(e)).await;
        assert_eq!(o.code, T::AccessDenied);
        assert_eq!(o.facts["iam_kind"], "role");
        assert_eq!(o.facts["iam_name"], "puller");
        // a message-only denial (unparseable body) is still access-denied
        let e = service_error(
            403,
            "",
            "is not authorized to perform: ecr:GetAuthorizationToken",
        );
        assert_eq!(run(Err(e)).await.code, T::AccessDenied);
    }

    #[allow(clippy::result_large_err)]
    fn public_token(ttl: u64) -> Result<AuthorizationData, ApiError> {
        let token = base64::engine::general_purpose::STANDARD.encode("AWS:public-password-xyz");
        Ok(AuthorizationData {
            token: Secret::new(token),
            expires_at: Some(now() + Duration::from_secs(ttl)),
            proxy_endpoint: None,
            exchange: exchange(),
        })
    }

    async fn run_public(
        tok: Result<AuthorizationData, ApiError>,
        region: &str,
    ) -> (Finding<TokenCode>, Arc<Ctx>) {
        run_public_counted(tok, region, Default::default()).await
    }

    async fn run_public_counted(
        tok: Result<AuthorizationData, ApiError>,
        region: &str,
        asked: Arc<std::sync::Mutex<u32>>,
    ) -> (Finding<TokenCode>, Arc<Ctx>) {
        let aws = FakeAws {
            public_token: tok,
            public_token_requests: asked,
            // a private token would pass: only the public path gives ok-public
            token: token("AWS", 12 * 3600, OWN),
            ..Default::default()
        };
        let mut cx = ctx(aws, &[]);
        let c = Arc::get_mut(&mut cx).unwrap();
        c.opts.registry = Some("public.ecr.aws".into());
        c.opts.region = region.into();
        c.set_identity(Identity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/dev".into(),
        });
        let o = get(cx.clone()).await;
        render("token.get", &o);
        (o, cx)
    }

    #[tokio::test]
    async fn ecr_public_takes_its_token_from_us_east_1_whatever_the_region() {
        let asked = Arc::new(std::sync::Mutex::new(0));
        let (o, cx) = run_public_counted(public_token(12 * 3600), "eu-west-1", asked.clone()).await;
        assert_eq!(o.code, T::OkPublic);
        assert_eq!(*asked.lock().unwrap(), 1);
        assert_eq!(o.facts["api_region"], "us-east-1");
        assert_eq!(
            o.facts["api_host"],
            "api.ecr-public.us-east-1.amazonaws.com"
        );
        assert_eq!(o.facts["region_ignored"], true);
        assert_eq!(o.facts["hours_left"], 12.0);
        let t = cx.token().unwrap();
        assert_eq!(t.registry, "public.ecr.aws");
        assert_eq!(t.password.expose(), "public-password-xyz");
        let msg = render("token.get", &o);
        assert!(msg.contains("in us-east-1, not <region>"), "{msg}");
        let facts = serde_json::to_string(&o.facts).unwrap();
        assert!(!facts.contains("public-password-xyz"), "{facts}");
        // in us-east-1 there is nothing to point out
        let (o, _) = run_public(public_token(12 * 3600), "us-east-1").await;
        assert_eq!(o.facts["region_ignored"], false);
        assert!(!render("token.get", &o).contains(", not <region>"));
        // the fix names the only region that works
        let cat = crate::catalog::Catalog::embedded();
        let c = &cat.get("token.get").unwrap().codes["ok-public"];
        assert!(c.commands.contains(&"aws ecr-public get-login-password --region us-east-1 | docker login --username AWS --password-stdin public.ecr.aws".to_string()));
    }

    #[tokio::test]
    async fn ecr_public_denial_names_both_actions_and_expiry_is_checked() {
        let e = service_error(
            403,
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ecr-public:GetAuthorizationToken on resource: *",
        );
        let (o, cx) = run_public(Err(e), "eu-west-1").await;
        assert_eq!(o.code, T::PublicAccessDenied);
        assert!(cx.token().is_none());
        let msg = render("token.get", &o);
        assert!(
            msg.contains("ecr-public:GetAuthorizationToken")
                && msg.contains("sts:GetServiceBearerToken"),
            "{msg}"
        );
        let cat = crate::catalog::Catalog::embedded();
        let c = &cat.get("token.get").unwrap().codes["public-access-denied"];
        assert!(c.commands[0].contains(r#""sts:GetServiceBearerToken""#));
        let (o, _) = run_public(public_token(600), "us-east-1").await;
        assert_eq!(o.code, T::PublicExpiresSoon);
        let mut expired = public_token(0).unwrap();
        expired.expires_at = Some(now() - Duration::from_secs(60));
        let (o, cx) = run_public(Ok(expired), "us-east-1").await;
        assert_eq!(o.code, T::PublicExpired);
        assert!(cx.token().is_none());
        let e = crate::probes::ApiError {
            failure: crate::probes::ApiFailure::Unreachable {
                detail: "dns error".into(),
            },
            exchange: exchange(),
        };
        let (o, _) = run_public(Err(e), "eu-west-1").await;
        assert_eq!(o.code, T::PublicUnreachable);
    }

    #[test]
    fn iam_targets() {
        assert_eq!(
            iam_target("arn:aws:iam::123456789012:user/ci/deployer"),
            Some(("user", "deployer".into()))
        );
        assert_eq!(
            iam_target("arn:aws:sts::123456789012:assumed-role/puller/s"),
            Some(("role", "puller".into()))
        );
        assert_eq!(iam_target("arn:aws:iam::123456789012:root"), None);
    }
}
