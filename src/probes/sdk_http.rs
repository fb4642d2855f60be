//! The one HTTP client of every AWS SDK call: rustls with aws-lc, the system roots plus the
//! `AWS_CA_BUNDLE` certificates, the run's resolver with `--dns-server`, and for each request
//! the proxy that the run's proxy decision ([`ProxySettings`]) names for its URL.
//!
//! The SDK's `ProxyConfig` cannot take a decision of ours, so there is one connector without
//! a proxy and one per proxy of the decision (each sending everything to that proxy), and
//! every request is routed to one of them by [`ProxySettings::proxy_for_url`].

use super::proxy::{mask, ProxySettings};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder as HttpBuilder, Connector};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;
use std::sync::Arc;
use url::Url;

pub fn http_client(
    ca_bundle: Option<&[u8]>,
    dns: Option<super::net::SharedResolver>,
    proxy: &ProxySettings,
) -> Result<SharedHttpClient, String> {
    let mut trust = TrustStore::default();
    if let Some(pem) = ca_bundle {
        trust = trust.with_pem_certificate(pem.to_vec());
    }
    let ctx = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let client = |proxy_config: ProxyConfig| {
        let ctx = ctx.clone();
        let dns = dns.clone();
        HttpBuilder::new().build_with_connector_fn(move |settings, components| {
            let mut b = Connector::builder();
            b.set_connector_settings(settings.cloned());
            if let Some(c) = components {
                b.set_sleep_impl(c.sleep_impl());
            }
            let b = b
                .proxy_config(proxy_config.clone())
                .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(ctx.clone());
            match &dns {
                Some(resolver) => b.build_with_resolver(resolver.clone()),
                None => b.build(),
            }
        })
    };
    let mut via = Vec::new();
    for url in proxy.proxies() {
        let config = ProxyConfig::all(url.as_str())
            .map_err(|e| format!("proxy {}: {e}", mask(url.as_str())))?;
        via.push((url.clone(), client(config)));
    }
    let direct = client(ProxyConfig::disabled());
    if via.is_empty() {
        return Ok(direct);
    }
    Ok(SharedHttpClient::new(ProxyRouting {
        proxy: Arc::new(proxy.clone()),
        direct,
        via,
    }))
}

/// Hands out connectors that route each request by the proxy decision.
#[derive(Debug)]
struct ProxyRouting {
    proxy: Arc<ProxySettings>,
    direct: SharedHttpClient,
    via: Vec<(Url, SharedHttpClient)>,
}

impl HttpClient for ProxyRouting {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Routed {
            proxy: self.proxy.clone(),
            direct: self.direct.http_connector(settings, components),
            via: self
                .via
                .iter()
                .map(|(u, c)| (u.clone(), c.http_connector(settings, components)))
                .collect(),
        })
    }

    fn validate_base_client_config(
        &self,
        runtime_components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.direct
            .validate_base_client_config(runtime_components, cfg)
    }

    fn validate_final_config(
        &self,
        runtime_components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.direct.validate_final_config(runtime_components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.direct.connector_metadata()
    }
}

/// One connector per route; each request goes to the one the decision names.
#[derive(Debug)]
struct Routed {
    proxy: Arc<ProxySettings>,
    direct: SharedHttpConnector,
    via: Vec<(Url, SharedHttpConnector)>,
}

impl Routed {
    fn route(&self, uri: &str) -> &SharedHttpConnector {
        Url::parse(uri)
            .ok()
            .and_then(|u| {
                let p = self.proxy.proxy_for_url(&u)?;
                self.via.iter().find(|(v, _)| v == p).map(|(_, c)| c)
            })
            .unwrap_or(&self.direct)
    }
}

impl HttpConnector for Routed {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        self.route(request.uri()).call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::env::FixedEnv;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    /// Answers every request with its own status code, to tell the routes apart.
    #[derive(Debug)]
    struct Answer(u16);

    impl HttpConnector for Answer {
        fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
            let status = StatusCode::try_from(self.0).expect("a valid status");
            HttpConnectorFuture::ready(Ok(HttpResponse::new(status, SdkBody::empty())))
        }
    }

    fn routed(proxy: ProxySettings) -> Routed {
        let via = proxy
            .proxies()
            .into_iter()
            .enumerate()
            .map(|(i, u)| (u.clone(), SharedHttpConnector::new(Answer(201 + i as u16))))
            .collect();
        Routed {
            proxy: Arc::new(proxy),
            direct: SharedHttpConnector::new(Answer(200)),
            via,
        }
    }

    async fn route_of(r: &Routed, url: &str) -> u16 {
        let req = HttpRequest::get(url).expect("a valid URL");
        r.call(req).await.expect("an answer").status().as_u16()
    }

    /// The SDK's requests take the route the decision names: for the ECR hosts and the
    /// endpoints of STS, EC2 and instance metadata, under several settings.
    #[tokio::test]
    async fn sdk_requests_follow_the_proxy_decision() {
        let urls = [
            "https://api.ecr.us-east-1.amazonaws.com/",
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/",
            "https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/x",
            "https://sts.us-east-1.amazonaws.com/",
            "https://ec2.us-east-1.amazonaws.com/",
            "http://169.254.169.254/latest/api/token",
            "http://127.0.0.1:5000/",
        ];
        let envs: &[&[(&str, &str)]] = &[
            &[],
            &[("HTTPS_PROXY", "http://proxy.corp:3128")],
            &[
                ("HTTPS_PROXY", "http://proxy.corp:3128"),
                (
                    "NO_PROXY",
                    ".dkr.ecr.us-east-1.amazonaws.com,sts.us-east-1.amazonaws.com",
                ),
            ],
            &[
                ("HTTPS_PROXY", "http://user:pw@proxy.corp:3128"),
                ("HTTP_PROXY", "http://plain:8080"),
                ("NO_PROXY", "169.254.169.254,127.0.0.0/8"),
            ],
            &[
                ("ALL_PROXY", "proxy.corp:3128"),
                ("no_proxy", "amazonaws.com"),
            ],
            &[("HTTPS_PROXY", "http://proxy.corp:3128"), ("NO_PROXY", "*")],
        ];
        for env in envs {
            let settings = ProxySettings::from_env(&FixedEnv::with(env));
            let r = routed(settings.clone());
            for url in urls {
                let want = match settings.proxy_for_url(&Url::parse(url).unwrap()) {
                    None => 200,
                    Some(p) => {
                        201 + settings.proxies().iter().position(|v| *v == p).unwrap() as u16
                    }
                };
                assert_eq!(route_of(&r, url).await, want, "{url} with {env:?}");
            }
        }
        // spot checks of what the decision says
        let s = ProxySettings::from_env(&FixedEnv::with(&[(
            "HTTPS_PROXY",
            "http://proxy.corp:3128",
        )]));
        let r = routed(s);
        assert_eq!(route_of(&r, urls[0]).await, 201);
        assert_eq!(
            route_of(&r, urls[5]).await,
            200,
            "HTTPS_PROXY is not for http://"
        );
    }

    #[test]
    fn builds_with_and_without_proxies() {
        let none = ProxySettings::default();
        assert!(http_client(None, None, &none).is_ok());
        let two = ProxySettings::from_env(&FixedEnv::with(&[
            ("HTTPS_PROXY", "http://user:pw@proxy.corp:3128"),
            ("HTTP_PROXY", "https://plain:8443"),
        ]));
        assert!(http_client(None, None, &two).is_ok());
    }
}
