//! `registry.auth`: `GET /v2/` with the token, as `docker login` does; and the registry HTTP
//! pieces the image checks share.

use super::Ctx;
use crate::engine::Finding;
use crate::probes::net::{HttpFailure, HttpRequest, HttpResponse};
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

pub fn auth(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Auth>> {
    async move {
        let Some(registry) = cx.registry() else {
            return Finding::new(Auth::NoRegistry);
        };
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
    use super::*;
    use crate::checks::fake::FakeNet;
    use crate::checks::testkit::{check, ctx, resp, REG};

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
