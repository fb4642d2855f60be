//! `env.proxy`: is ECR traffic sent to an HTTPS proxy (and so around the VPC endpoints)?

use super::Ctx;
use crate::aws;
use crate::engine::Finding;
use crate::probes::proxy::{mask, ProxySettings, ProxyVar};
use futures::future::{BoxFuture, FutureExt};
use std::sync::Arc;

crate::codes! {
    pub enum Proxy {
        Ok = "ok",
        Bypassed = "bypassed",
        EcrThroughProxy = "ecr-through-proxy",
    }
}

pub fn check(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Proxy>> {
    async move {
        // the decision every connection of the run follows (see probes::proxy)
        let settings = ProxySettings::from_env(cx.env.as_ref());
        let Some(ProxyVar {
            variable: proxy_var,
            value: proxy,
            url: Some(_),
        }) = settings.https.clone()
        else {
            return Finding::new(Proxy::Ok);
        };
        let no_proxy = settings.no_proxy.clone();
        let region = cx.region();
        let registry = cx
            .opts
            .registry
            .clone()
            .unwrap_or_else(|| format!("*{}", aws::registry_domain(region)));
        // a registry wildcard is checked with a stand-in account
        let registry_probe = registry.replace('*', "000000000000");
        let hosts = [
            (aws::api_host(region), aws::api_host(region)),
            (registry.clone(), aws::registry_domain(region)),
            (aws::layer_host(region), aws::layer_host(region)),
        ];
        let mut through = Vec::new();
        let mut add = Vec::new();
        for (host, entry) in &hosts {
            let probe = if host == &registry {
                &registry_probe
            } else {
                host
            };
            if settings.proxy_for("https", probe, 443).is_some() {
                through.push(host.clone());
                add.push(entry.clone());
            }
        }
        let base = Finding::new(Proxy::Ok)
            .fact("proxy", mask(&proxy))
            .fact("proxy_variable", proxy_var)
            .fact("no_proxy", no_proxy.clone());
        if through.is_empty() {
            return base.with_code(Proxy::Bypassed);
        }
        let suggested = no_proxy
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .chain(add)
            .collect::<Vec<_>>()
            .join(",");
        base.with_code(Proxy::EcrThroughProxy)
            .fact("hosts_through_proxy", through)
            .fact("suggested_no_proxy", suggested)
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::{ctx, render, FakeAws};

    async fn run(env: &[(&str, &str)]) -> Finding<Proxy> {
        let o = check(ctx(FakeAws::default(), env)).await;
        render("env.proxy", &o);
        o
    }

    #[tokio::test]
    async fn no_proxy_set_passes() {
        assert_eq!(run(&[]).await.code, Proxy::Ok);
        // an HTTP-only proxy does not carry HTTPS traffic
        assert_eq!(
            run(&[("HTTP_PROXY", "http://proxy:3128")]).await.code,
            Proxy::Ok
        );
    }

    #[tokio::test]
    async fn proxy_without_no_proxy_warns_with_a_fix() {
        let o = run(&[
            ("HTTPS_PROXY", "http://user:hunter2@proxy.corp:3128"),
            ("NO_PROXY", "localhost,127.0.0.1"),
        ])
        .await;
        assert_eq!(o.code, Proxy::EcrThroughProxy);
        assert_eq!(o.facts["hosts_through_proxy"].as_array().unwrap().len(), 3);
        assert_eq!(
            o.facts["suggested_no_proxy"],
            "localhost,127.0.0.1,api.ecr.us-east-1.amazonaws.com,.dkr.ecr.us-east-1.amazonaws.com,prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com"
        );
        let proxy = o.facts["proxy"].as_str().unwrap();
        assert!(!proxy.contains("hunter2"), "{proxy}");
    }

    #[tokio::test]
    async fn partial_no_proxy_names_only_the_missing_hosts() {
        let o = run(&[
            ("https_proxy", "http://proxy:3128"),
            (
                "no_proxy",
                ".dkr.ecr.us-east-1.amazonaws.com,api.ecr.us-east-1.amazonaws.com",
            ),
        ])
        .await;
        assert_eq!(o.code, Proxy::EcrThroughProxy);
        assert_eq!(
            o.facts["hosts_through_proxy"],
            serde_json::json!(["prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com"])
        );
        let o = run(&[
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("NO_PROXY", ".amazonaws.com"),
        ])
        .await;
        assert_eq!(o.code, Proxy::Bypassed);
    }
}
