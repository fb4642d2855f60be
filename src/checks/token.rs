//! `token.get`: ecr:GetAuthorizationToken, decoded without ever showing it.

use super::{rfc3339, with_api_error, Ctx, Token};
pub use crate::aws::iam_target;
use crate::engine::Finding;
use crate::probes::sdk_error::ErrorClass;
use crate::probes::Secret;
use base64::Engine as _;
use futures::future::{BoxFuture, FutureExt};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

crate::codes! {
    pub enum TokenCode {
        Ok = "ok",
        AccessDenied = "access-denied",
        Expired = "expired",
        ExpiresSoon = "expires-soon",
        WrongRegistry = "wrong-registry",
        UnexpectedUser = "unexpected-user",
        MalformedToken = "malformed-token",
        InvalidCredentials = "invalid-credentials",
        ClockRejected = "clock-rejected",
        Unreachable = "unreachable",
        ApiError = "api-error",
        NoIdentity = "no-identity",
    }
}

use TokenCode as T;

/// Best effort: the `expiration` inside the (undocumented) password JSON.
fn password_expiration(password: &str) -> Option<SystemTime> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(password)
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    let secs = v.get("expiration")?.as_u64()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
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
        let target = crate::aws::parse_registry_host(&registry);
        let registry_id = target
            .as_ref()
            .map(|t| t.account.clone())
            .filter(|a| *a != identity.account);
        let data = match cx.aws.authorization_token(registry_id.clone()).await {
            Ok(d) => d,
            Err(e) => {
                let code = match e.class() {
                    ErrorClass::AccessDenied => T::AccessDenied,
                    ErrorClass::Unreachable => T::Unreachable,
                    ErrorClass::InvalidCredentials => T::InvalidCredentials,
                    ErrorClass::ClockRejected => T::ClockRejected,
                    ErrorClass::NotFound | ErrorClass::Other => T::ApiError,
                };
                let mut o =
                    with_api_error(Finding::new(code), &e).fact("arn", identity.arn.clone());
                if let Some((kind, name)) = iam_target(&identity.arn) {
                    o = o.fact("iam_kind", kind).fact("iam_name", name);
                }
                return o;
            }
        };
        let base = Finding::new(T::Ok)
            .fact("registry", registry.clone())
            .fact("registry_id", registry_id)
            .fact("proxy_endpoint", data.proxy_endpoint.clone())
            .fact("endpoint", data.exchange.endpoint.clone());
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(data.token.expose().trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return base.with_code(T::MalformedToken);
        };
        let password = Secret::new(password);
        if user != "AWS" {
            return base.with_code(T::UnexpectedUser).fact("user", user);
        }
        let expires_at = data
            .expires_at
            .or_else(|| password_expiration(password.expose()));
        let now = (cx.now)();
        let hours_left = expires_at.map(|e| match e.duration_since(now) {
            Ok(d) => d.as_secs_f64() / 3600.0,
            Err(past) => -past.duration().as_secs_f64() / 3600.0,
        });
        let base = base
            .fact("user", "AWS")
            .fact("expires_at", expires_at.map(rfc3339))
            .fact("hours_left", hours_left.map(|h| (h * 10.0).round() / 10.0));
        if let Some(pe) = &data.proxy_endpoint {
            if host_of(pe) != registry {
                return base.with_code(T::WrongRegistry);
            }
        }
        let code = match hours_left {
            Some(h) if h <= 0.0 => T::Expired,
            Some(h) if h < 1.0 => T::ExpiresSoon,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::{ctx, exchange, now, render, service_error, FakeAws};
    use crate::checks::{Identity, Options};
    use crate::probes::{ApiError, AuthorizationData};

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
