//! `registry.auth`: `GET /v2/` with the token, as `docker login` does; and the registry HTTP
//! pieces the image checks share. Private registries take the token as Basic auth;
//! `public.ecr.aws` refuses Basic on `/v2/`: its 401 names a token endpoint (`realm`) that
//! trades Basic `AWS:<password>` for a Bearer token, which the requests then carry.

use super::Ctx;
use crate::engine::Finding;
use crate::probes::net::{HttpFailure, HttpRequest, HttpResponse};
use crate::probes::Secret;
use futures::future::{BoxFuture, FutureExt};
use std::sync::Arc;

crate::codes! {
    pub enum Auth {
        Ok = "ok",
        Unauthorized = "unauthorized",
        Forbidden = "forbidden",
        UnexpectedStatus = "unexpected-status",
        RequestFailed = "request-failed",
        NoToken = "no-token",
        NoRegistry = "no-registry",
        OkBearer = "ok-bearer",
        BearerRefused = "bearer-refused",
        NoBearerChallenge = "no-bearer-challenge",
    }
}

/// `base` under `code`, with the failure's short cause (and its whole chain apart).
pub fn request_failed<K>(base: Finding<K>, code: K, f: &HttpFailure) -> Finding<K> {
    let short = crate::errors::short_of_chain(f.detail());
    let detail = (short != f.detail()).then(|| f.detail().to_string());
    base.with_code(code)
        .fact("error", short)
        .fact("error_detail", detail)
}

/// The registry's error (`{"errors":[{"code","message"}]}`) as `CODE: message`, if any.
pub fn registry_error(resp: &HttpResponse) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(&resp.body).ok()?;
    let e = v["errors"].get(0)?;
    Some(format!(
        "{}: {}",
        e["code"].as_str().unwrap_or("?"),
        e["message"].as_str().unwrap_or("")
    ))
}

/// A GET to the registry with the token as Basic auth; `None` without a token.
pub fn auth_request(cx: &Ctx, url: String, accept: Option<&str>) -> Option<HttpRequest> {
    let token = cx.token()?;
    Some(HttpRequest {
        url,
        headers: accept
            .map(|a| vec![("Accept".to_string(), a.to_string())])
            .unwrap_or_default(),
        basic_auth: Some(("AWS".to_string(), token.password.clone())),
        keep: 4 << 20,
    })
}

/// A `WWW-Authenticate: Bearer realm="…",service="…"` challenge.
#[derive(Debug, Clone, PartialEq)]
pub struct Challenge {
    pub realm: String,
    pub service: Option<String>,
}

/// The Bearer challenge of a 401, if it has one.
pub fn bearer_challenge(resp: &HttpResponse) -> Option<Challenge> {
    let h = resp.header("WWW-Authenticate")?.trim();
    let (scheme, params) = h.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut realm = None;
    let mut service = None;
    for part in params.split(',') {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "realm" => realm = Some(v),
            "service" => service = Some(v),
            _ => {}
        }
    }
    Some(Challenge {
        realm: realm?,
        service,
    })
}

/// Why the token endpoint gave no Bearer token.
#[derive(Debug, Clone, PartialEq)]
pub enum BearerFailure {
    Request(HttpFailure),
    /// It answered with this status (and the registry's error, if any).
    Status(u16, Option<String>),
    /// It answered 200 without a `token` (or `access_token`).
    NoToken,
}

/// GET the realm with Basic `AWS:<password>` (as `docker login` does), for `scope`
/// (`repository:<name>:pull`) when given: the Bearer token, registered as a secret.
pub async fn bearer_token(
    cx: &Ctx,
    challenge: &Challenge,
    scope: Option<&str>,
) -> Result<Option<Secret>, BearerFailure> {
    let Some(token) = cx.token() else {
        return Ok(None);
    };
    let mut url = url::Url::parse(&challenge.realm)
        .map_err(|e| BearerFailure::Request(HttpFailure::Other(e.to_string())))?;
    {
        let mut q = url.query_pairs_mut();
        if let Some(s) = &challenge.service {
            q.append_pair("service", s);
        }
        if let Some(s) = scope {
            q.append_pair("scope", s);
        }
    }
    let req = HttpRequest {
        url: url.to_string(),
        headers: vec![],
        basic_auth: Some(("AWS".to_string(), token.password.clone())),
        keep: 1 << 20,
    };
    let resp = cx.net.get(req).await.map_err(BearerFailure::Request)?;
    if resp.status != 200 {
        return Err(BearerFailure::Status(resp.status, registry_error(&resp)));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&resp.body).map_err(|_| BearerFailure::NoToken)?;
    let t = v["token"]
        .as_str()
        .or_else(|| v["access_token"].as_str())
        .filter(|t| !t.is_empty())
        .ok_or(BearerFailure::NoToken)?;
    Ok(Some(Secret::new(t)))
}

/// A GET that carries a Bearer token.
pub fn bearer_request(url: String, accept: Option<&str>, bearer: &Secret) -> HttpRequest {
    let mut headers = vec![(
        "Authorization".to_string(),
        format!("Bearer {}", bearer.expose()),
    )];
    if let Some(a) = accept {
        headers.push(("Accept".to_string(), a.to_string()));
    }
    HttpRequest {
        url,
        headers,
        basic_auth: None,
        keep: 4 << 20,
    }
}

/// How the image checks authenticate: Basic `AWS:<password>` for a private registry; for
/// ECR Public, a Bearer token for `repository:<repo>:pull` from its token endpoint.
pub enum RegistryAuth {
    Basic,
    Bearer(Secret),
}

/// The image checks' credentials for `repository`; `Ok(None)` without a token.
pub async fn registry_auth(
    cx: &Ctx,
    repository: &str,
) -> Result<Option<RegistryAuth>, BearerFailure> {
    if cx.token().is_none() {
        return Ok(None);
    }
    if !cx.is_public() {
        return Ok(Some(RegistryAuth::Basic));
    }
    let challenge = Challenge {
        realm: crate::aws::ECR_PUBLIC_REALM.to_string(),
        service: Some(crate::aws::ECR_PUBLIC_REGISTRY.to_string()),
    };
    let scope = format!("repository:{repository}:pull");
    Ok(bearer_token(cx, &challenge, Some(&scope))
        .await?
        .map(RegistryAuth::Bearer))
}

/// A GET to the registry with `auth`; `None` without a token.
pub fn request(
    cx: &Ctx,
    auth: &RegistryAuth,
    url: String,
    accept: Option<&str>,
) -> Option<HttpRequest> {
    match auth {
        RegistryAuth::Basic => auth_request(cx, url, accept),
        RegistryAuth::Bearer(b) => Some(bearer_request(url, accept, b)),
    }
}

fn with_response(base: Finding<Auth>, resp: &HttpResponse) -> Finding<Auth> {
    base.fact("http_status", resp.status)
        .fact("elapsed_ms", resp.elapsed.as_millis() as u64)
        .fact(
            "api_version",
            resp.header("Docker-Distribution-Api-Version")
                .map(str::to_string),
        )
        .fact_or_null("registry_error", registry_error(resp))
}

/// ECR Public: `/v2/` without credentials must answer 401 with a Bearer challenge; its realm
/// trades the token for a Bearer token, and `/v2/` with it answers 200.
async fn public_auth(cx: &Ctx, registry: String) -> Finding<Auth> {
    if cx.token().is_none() {
        return Finding::new(Auth::NoToken);
    }
    let url = format!("https://{registry}/v2/");
    let base = Finding::new(Auth::OkBearer).fact("registry", registry.clone());
    let plain = HttpRequest {
        url: url.clone(),
        headers: vec![],
        basic_auth: None,
        keep: 1 << 20,
    };
    let first = match cx.net.get(plain).await {
        Ok(r) => r,
        Err(f) => return request_failed(base, Auth::RequestFailed, &f),
    };
    let Some(challenge) = bearer_challenge(&first) else {
        return with_response(base, &first).with_code(if first.status == 200 {
            Auth::Ok
        } else {
            Auth::NoBearerChallenge
        });
    };
    let base = base
        .fact("realm", challenge.realm.clone())
        .fact("service", challenge.service.clone());
    let bearer = match bearer_token(cx, &challenge, None).await {
        Ok(Some(b)) => b,
        Ok(None) => return base.with_code(Auth::NoToken),
        Err(BearerFailure::Request(f)) => return request_failed(base, Auth::RequestFailed, &f),
        Err(BearerFailure::Status(status, err)) => {
            return base
                .with_code(Auth::BearerRefused)
                .fact("realm_status", status)
                .fact("registry_error", err)
        }
        Err(BearerFailure::NoToken) => {
            return base
                .with_code(Auth::BearerRefused)
                .fact("realm_status", 200)
                .fact("realm_answer", "no-token")
        }
    };
    match cx.net.get(bearer_request(url, None, &bearer)).await {
        Err(f) => request_failed(base, Auth::RequestFailed, &f),
        Ok(resp) => {
            let base = with_response(base, &resp);
            match resp.status {
                200 => base,
                401 => base.with_code(Auth::Unauthorized),
                403 => base.with_code(Auth::Forbidden),
                _ => base.with_code(Auth::UnexpectedStatus),
            }
        }
    }
}

pub fn auth(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Auth>> {
    async move {
        let Some(registry) = cx.registry() else {
            return Finding::new(Auth::NoRegistry);
        };
        if cx.is_public() {
            return public_auth(&cx, registry).await;
        }
        let Some(req) = auth_request(&cx, format!("https://{registry}/v2/"), None) else {
            return Finding::new(Auth::NoToken);
        };
        let base = Finding::new(Auth::Ok).fact("registry", registry.clone());
        match cx.net.get(req).await {
            Err(f) => request_failed(base, Auth::RequestFailed, &f),
            Ok(resp) => {
                let base = base
                    .fact("http_status", resp.status)
                    .fact("elapsed_ms", resp.elapsed.as_millis() as u64)
                    .fact(
                        "api_version",
                        resp.header("Docker-Distribution-Api-Version")
                            .map(str::to_string),
                    )
                    .fact("registry_error", registry_error(&resp));
                match resp.status {
                    200 => base,
                    401 => base.with_code(Auth::Unauthorized),
                    403 => base.with_code(Auth::Forbidden),
                    _ => base.with_code(Auth::UnexpectedStatus),
                }
            }
        }
    }
    .boxed()
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_login_command_follows_the_registry_kind() {
        use crate::catalog::{Catalog, Severity};
        use crate::engine::CheckResult;
        use crate::render::{Context, Report};
        for (facts, want, not) in [
            (
                serde_json::json!({"registry": "public.ecr.aws", "http_status": 401, "realm": "https://public.ecr.aws/token/"}),
                "aws ecr-public get-login-password --region us-east-1",
                "aws ecr get-login-password",
            ),
            (
                serde_json::json!({"registry": REG, "http_status": 401}),
                "aws ecr get-login-password --region eu-west-1",
                "ecr-public",
            ),
        ] {
            let result = CheckResult {
                id: "registry.auth".into(),
                status: Severity::Fail,
                code: "unauthorized",
                engine: false,
                facts: facts.as_object().unwrap().clone(),
                skipped_because: vec![],
                duration: std::time::Duration::ZERO,
            };
            let context = Context {
                region: Some("eu-west-1".into()),
                registry: facts["registry"].as_str().map(str::to_string),
                ..Default::default()
            };
            let r = Report::build(
                &Catalog::embedded(),
                &[result],
                context,
                String::new(),
                std::time::Duration::ZERO,
            );
            let cmds = r.checks[0].remediation.clone().unwrap().commands;
            assert_eq!(cmds.len(), 1, "{cmds:?}");
            assert!(cmds[0].contains(want), "{cmds:?}");
            assert!(!cmds[0].contains(not), "{cmds:?}");
        }
    }

    use super::*;
    use crate::checks::fake::FakeNet;
    use crate::checks::testkit::{check, ctx, resp, REG};

    const CHALLENGE: &str =
        r#"Bearer realm="https://public.ecr.aws/token/",service="public.ecr.aws""#;
    const REALM: &str = "https://public.ecr.aws/token/?service=public.ecr.aws";

    fn public_ctx(net: FakeNet) -> Arc<Ctx> {
        let mut cx = ctx(net, None, None);
        Arc::get_mut(&mut cx).unwrap().opts.registry = Some("public.ecr.aws".into());
        cx
    }

    #[test]
    fn parses_the_bearer_challenge() {
        let r = resp(401, &[("WWW-Authenticate", CHALLENGE)], b"");
        let c = bearer_challenge(&r.unwrap()).unwrap();
        assert_eq!(c.realm, "https://public.ecr.aws/token/");
        assert_eq!(c.service.as_deref(), Some("public.ecr.aws"));
        let basic = resp(401, &[("WWW-Authenticate", r#"Basic realm="x""#)], b"");
        assert_eq!(bearer_challenge(&basic.unwrap()), None);
    }

    #[tokio::test]
    async fn ecr_public_logs_in_through_its_token_endpoint() {
        let mut net = FakeNet::default();
        // /v2/ without credentials: the challenge; /v2/ with the Bearer: 200 (the fake
        // answers by URL, so both are one entry: the requests prove the order)
        net.http.insert(
            "https://public.ecr.aws/v2/".into(),
            resp(401, &[("WWW-Authenticate", CHALLENGE)], b""),
        );
        net.http.insert(
            REALM.into(),
            resp(200, &[], br#"{"token":"bearer-secret-123"}"#),
        );
        let net = Arc::new(net);
        let cx = public_ctx(FakeNet::default());
        let mut cx = cx;
        Arc::get_mut(&mut cx).unwrap().net = net.clone();
        let o = check("registry.auth", auth, cx).await;
        // no answer scripted for the Bearer request: /v2/ answers it 401 too
        assert_eq!(o.code, Auth::Unauthorized);
        let reqs = net.requests.lock().unwrap().clone();
        assert_eq!(reqs.len(), 3);
        assert!(reqs[0].basic_auth.is_none() && reqs[0].headers.is_empty());
        assert_eq!(reqs[1].url, REALM);
        let (user, pass) = reqs[1].basic_auth.clone().unwrap();
        assert_eq!((user.as_str(), pass.expose()), ("AWS", "lab-password-123"));
        assert!(reqs[2].basic_auth.is_none(), "Basic sent to /v2/");
        assert!(reqs[2]
            .headers
            .contains(&("Authorization".into(), "Bearer bearer-secret-123".into())));
        assert!(!crate::redact::apply("x bearer-secret-123 y", false).contains("bearer-secret-123"));
        // with the Bearer, /v2/ answers 200
        let mut net = FakeNet::default();
        net.http.insert(
            "https://public.ecr.aws/v2/".into(),
            resp(401, &[("WWW-Authenticate", CHALLENGE)], b""),
        );
        net.http.insert(
            "https://public.ecr.aws/v2/ bearer".into(),
            resp(
                200,
                &[("Docker-Distribution-Api-Version", "registry/2.0")],
                b"{}",
            ),
        );
        net.http.insert(
            REALM.into(),
            resp(200, &[], br#"{"token":"bearer-secret-123"}"#),
        );
        let o = check("registry.auth", auth, public_ctx(net)).await;
        assert_eq!(o.code, Auth::OkBearer);
        assert_eq!(o.facts["realm"], "https://public.ecr.aws/token/");
        let msg = crate::checks::fake::render("registry.auth", &o);
        assert!(msg.contains("Bearer"), "{msg}");
    }

    #[tokio::test]
    async fn ecr_public_codes() {
        // the token endpoint refuses
        let mut net = FakeNet::default();
        net.http.insert(
            "https://public.ecr.aws/v2/".into(),
            resp(401, &[("WWW-Authenticate", CHALLENGE)], b""),
        );
        net.http.insert(
            REALM.into(),
            resp(
                401,
                &[],
                br#"{"errors":[{"code":"DENIED","message":"bad token"}]}"#,
            ),
        );
        let o = check("registry.auth", auth, public_ctx(net)).await;
        assert_eq!(o.code, Auth::BearerRefused);
        assert_eq!(o.facts["realm_status"], 401);
        // something else answers for the name
        let mut net = FakeNet::default();
        net.http
            .insert("https://public.ecr.aws/v2/".into(), resp(302, &[], b""));
        let o = check("registry.auth", auth, public_ctx(net)).await;
        assert_eq!(o.code, Auth::NoBearerChallenge);
    }

    #[tokio::test]
    async fn registry_auth_codes() {
        for (status, want) in [
            (200, Auth::Ok),
            (401, Auth::Unauthorized),
            (403, Auth::Forbidden),
            (502, Auth::UnexpectedStatus),
        ] {
            let mut net = FakeNet::default();
            net.http.insert(format!("https://{REG}/v2/"), resp(status, &[], br#"{"errors":[{"code":"DENIED","message":"Your authorization token has expired."}]}"#));
            let cx = ctx(net, None, None);
            let o = check("registry.auth", auth, cx.clone()).await;
            assert_eq!(o.code, want);
        }
    }
}
