//! `env.proxy`: is ECR traffic sent to an HTTPS proxy (and so around the VPC endpoints)?

use super::Ctx;
use crate::aws;
use crate::engine::Outcome;
use crate::probes::EnvProbe;
use futures::future::{BoxFuture, FutureExt};
use std::sync::Arc;

/// Whether `host` is excluded from proxying by a NO_PROXY value (curl's rules: `*`, exact
/// names, `.suffix` and bare `suffix` both match subdomains, `*.suffix` too; ports ignored).
pub fn bypassed(no_proxy: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.to_ascii_lowercase();
            let entry = entry
                .rsplit_once(':')
                .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
                .map(|(h, _)| h.to_string())
                .unwrap_or(entry);
            let suffix = entry.trim_start_matches('*').trim_start_matches('.');
            !suffix.is_empty() && (host == suffix || host.ends_with(&format!(".{suffix}")))
        })
}

/// A proxy URL with any password hidden.
fn mask(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// The HTTPS proxy in effect: which variable set it, its URL, and NO_PROXY.
pub struct ProxySettings {
    pub variable: String,
    pub proxy: String,
    pub no_proxy: String,
}

/// HTTPS_PROXY (or ALL_PROXY, either case) and NO_PROXY, as HTTPS clients read them.
pub fn proxy_settings(env: &dyn EnvProbe) -> Option<ProxySettings> {
    let first = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| env.var(n).map(|v| (n.to_string(), v)))
    };
    let (variable, proxy) = first(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])?;
    let no_proxy = first(&["NO_PROXY", "no_proxy"])
        .map(|(_, v)| v)
        .unwrap_or_default();
    Some(ProxySettings {
        variable,
        proxy,
        no_proxy,
    })
}

pub fn check(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    async move {
        let Some(ProxySettings {
            variable: proxy_var,
            proxy,
            no_proxy,
        }) = proxy_settings(cx.env.as_ref())
        else {
            return Outcome::new("ok");
        };
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
            if !bypassed(&no_proxy, probe) {
                through.push(host.clone());
                add.push(entry.clone());
            }
        }
        let base = Outcome::new("ok")
            .fact("proxy", mask(&proxy))
            .fact("proxy_variable", proxy_var)
            .fact(
                "no_proxy",
                if no_proxy.is_empty() {
                    "(not set)".to_string()
                } else {
                    no_proxy.clone()
                },
            );
        if through.is_empty() {
            return Outcome {
                code: "bypassed".into(),
                ..base
            };
        }
        let suggested = no_proxy
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .chain(add)
            .collect::<Vec<_>>()
            .join(",");
        Outcome {
            code: "ecr-through-proxy".into(),
            ..base
        }
        .fact("hosts_through_proxy", through)
        .fact("suggested_no_proxy", suggested)
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::{ctx, render, FakeAws};

    #[test]
    fn no_proxy_rules() {
        let h = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
        assert!(bypassed("*", h));
        assert!(bypassed(".dkr.ecr.us-east-1.amazonaws.com", h));
        assert!(bypassed("amazonaws.com", h));
        assert!(bypassed("localhost, .amazonaws.com", h));
        assert!(bypassed("*.amazonaws.com", h));
        assert!(bypassed(&format!("{h}:443"), h));
        assert!(!bypassed("", h));
        assert!(!bypassed("dkr.ecr.us-west-2.amazonaws.com", h));
        assert!(!bypassed("zonaws.com", h));
        assert!(!bypassed("10.0.0.0/8,169.254.169.254", h));
    }

    async fn run(env: &[(&str, &str)]) -> Outcome {
        let o = check(ctx(FakeAws::default(), env)).await;
        render("env.proxy", &o);
        o
    }

    #[tokio::test]
    async fn no_proxy_set_passes() {
        assert_eq!(run(&[]).await.code, "ok");
        // an HTTP-only proxy does not carry HTTPS traffic
        assert_eq!(run(&[("HTTP_PROXY", "http://proxy:3128")]).await.code, "ok");
    }

    #[tokio::test]
    async fn proxy_without_no_proxy_warns_with_a_fix() {
        let o = run(&[
            ("HTTPS_PROXY", "http://user:hunter2@proxy.corp:3128"),
            ("NO_PROXY", "localhost,127.0.0.1"),
        ])
        .await;
        assert_eq!(o.code, "ecr-through-proxy");
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
        assert_eq!(o.code, "ecr-through-proxy");
        assert_eq!(
            o.facts["hosts_through_proxy"],
            serde_json::json!(["prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com"])
        );
        let o = run(&[
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("NO_PROXY", ".amazonaws.com"),
        ])
        .await;
        assert_eq!(o.code, "bypassed");
    }
}
