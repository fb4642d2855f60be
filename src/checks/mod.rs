//! Check implementations, one module per family. A check reads probes and the shared board,
//! and returns an [`Outcome`]: a catalog code plus facts. It never prints.

pub mod credentials;
pub mod dataplane;
pub mod identity;
pub mod proxy;
pub mod token;
pub mod vpc;

use crate::engine::CheckFn;
use crate::probes::{AwsProbe, EnvProbe, MetadataProbe, Secret};
use crate::validate::ImageRef;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub region: String,
    pub registry: Option<String>,
    pub vpc: Option<String>,
    pub subnet: Option<String>,
    pub security_groups: Vec<String>,
    pub image: Option<ImageRef>,
    /// `os/arch` picked from an image index.
    pub platform: String,
    pub dns_server: Option<SocketAddr>,
    pub role_arn: Option<String>,
    pub timeout: Duration,
}

/// The caller as `identity.caller` found it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

/// The token as `token.get` found it.
#[derive(Debug, Clone)]
pub struct Token {
    pub registry: String,
    pub password: Secret,
    pub expires_at: Option<SystemTime>,
}

/// The VPC being checked and where the client sits in it, as `vpc.lookup` settled it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VpcContext {
    pub vpc_id: String,
    pub subnet_id: Option<String>,
    pub subnet_cidr: Option<String>,
    pub az: Option<String>,
    pub security_groups: Vec<String>,
    /// `--vpc`, `EC2 instance metadata` or `ECS task metadata`.
    pub source: String,
}

/// The manifest `image.manifest` fetched.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub repository: String,
    pub digest: String,
    /// `(digest, size)` of each layer.
    pub layers: Vec<(String, u64)>,
}

/// Results that later checks need and that must not (all) appear in facts.
#[derive(Debug, Default)]
pub struct Board {
    pub identity: OnceLock<Identity>,
    pub token: OnceLock<Token>,
    pub vpc: OnceLock<VpcContext>,
    /// Addresses each host resolved to, for the connection checks.
    pub dns: std::sync::Mutex<HashMap<String, Vec<std::net::IpAddr>>>,
    pub manifest: OnceLock<Manifest>,
}

pub struct Ctx {
    pub opts: Options,
    pub aws: Arc<dyn AwsProbe>,
    pub env: Arc<dyn EnvProbe>,
    pub metadata: Arc<dyn MetadataProbe>,
    pub net: Arc<dyn crate::probes::net::NetProbe>,
    pub now: fn() -> SystemTime,
    pub board: Board,
}

impl Ctx {
    pub fn region(&self) -> &str {
        &self.opts.region
    }

    /// The registry being diagnosed: `--registry`, the image's registry, or the caller's own.
    pub fn registry(&self) -> Option<String> {
        self.opts
            .registry
            .clone()
            .or_else(|| self.opts.image.as_ref().and_then(|i| i.registry.clone()))
            .or_else(|| {
                self.board
                    .identity
                    .get()
                    .map(|i| crate::aws::registry_host(&i.account, self.region()))
            })
    }
}

/// Every check implementation, by catalog id.
pub fn implementations() -> HashMap<String, CheckFn<Ctx>> {
    let list: [(&str, CheckFn<Ctx>); 19] = [
        ("credentials.source", credentials::source),
        ("identity.caller", identity::caller),
        ("identity.clock-skew", identity::clock_skew),
        ("token.get", token::get),
        ("env.proxy", proxy::check),
        ("vpc.lookup", vpc::lookup),
        ("vpc.dns-attributes", vpc::dns_attributes),
        ("vpc.endpoint.ecr-api", vpc::ecr_api),
        ("vpc.endpoint.ecr-dkr", vpc::ecr_dkr),
        ("vpc.endpoint.s3", vpc::s3),
        ("dns.ecr-api", dataplane::dns_api),
        ("dns.ecr-dkr", dataplane::dns_dkr),
        ("dns.s3", dataplane::dns_s3),
        ("net.ecr-api", dataplane::net_api),
        ("net.ecr-dkr", dataplane::net_dkr),
        ("net.s3", dataplane::net_s3),
        ("registry.auth", dataplane::registry_auth),
        ("image.manifest", dataplane::manifest),
        ("image.layer-download", dataplane::layer_download),
    ];
    list.into_iter()
        .map(|(id, f)| (id.to_string(), f))
        .collect()
}

/// RFC 3339 time, whole seconds, UTC.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
pub mod fake {
    //! A scripted [`AwsProbe`] and helpers for check unit tests.
    use super::*;
    use crate::catalog::{fill, unresolved, Catalog};
    use crate::engine::Outcome;
    use crate::probes::env::FixedEnv;
    use crate::probes::*;
    use futures::future::{BoxFuture, FutureExt};
    use serde_json::{Map, Value};
    use std::sync::Mutex;

    pub struct FakeAws {
        pub creds: Result<CredentialInfo, CredentialFailure>,
        pub identity: Result<CallerIdentity, ApiError>,
        pub token: Result<AuthorizationData, ApiError>,
        pub token_requests: Mutex<Vec<Option<String>>>,
        pub vpc: Result<VpcSnapshot, ApiError>,
    }

    pub struct FakeMetadata(pub Result<Option<Placement>, String>);

    /// Scripted network: answers by host / URL; anything unscripted fails.
    #[derive(Default)]
    pub struct FakeNet {
        pub dns: HashMap<String, crate::probes::net::DnsAnswer>,
        pub dial: HashMap<String, crate::probes::net::DialReport>,
        pub http: HashMap<
            String,
            Result<crate::probes::net::HttpResponse, crate::probes::net::HttpFailure>,
        >,
        pub requests: Mutex<Vec<crate::probes::net::HttpRequest>>,
    }

    impl crate::probes::net::NetProbe for FakeNet {
        fn resolver_label(&self) -> String {
            "fake resolver".into()
        }
        fn resolve(&self, host: String) -> BoxFuture<'_, crate::probes::net::DnsAnswer> {
            let r = self
                .dns
                .get(&host)
                .cloned()
                .unwrap_or(crate::probes::net::DnsAnswer {
                    result: Err(crate::probes::net::DnsFailure::NxDomain),
                    elapsed: Duration::ZERO,
                });
            async move { r }.boxed()
        }
        fn dial(
            &self,
            host: String,
            _addrs: Vec<std::net::IpAddr>,
            _port: u16,
        ) -> BoxFuture<'_, crate::probes::net::DialReport> {
            let r = self
                .dial
                .get(&host)
                .cloned()
                .unwrap_or(crate::probes::net::DialReport {
                    address: None,
                    tried: vec![],
                    connect: Err(crate::probes::net::ConnectFailure::Refused),
                    tls: None,
                    via_proxy: None,
                });
            async move { r }.boxed()
        }
        fn get(
            &self,
            req: crate::probes::net::HttpRequest,
        ) -> BoxFuture<'_, Result<crate::probes::net::HttpResponse, crate::probes::net::HttpFailure>>
        {
            let r = self.http.get(&req.url).cloned().unwrap_or(Err(
                crate::probes::net::HttpFailure::Connect(format!("unscripted {}", req.url)),
            ));
            self.requests.lock().unwrap().push(req);
            async move { r }.boxed()
        }
    }

    impl MetadataProbe for FakeMetadata {
        fn placement(&self) -> BoxFuture<'_, Result<Option<Placement>, String>> {
            let r = self.0.clone();
            async move { r }.boxed()
        }
    }

    pub fn creds(source: &str, key: &str) -> CredentialInfo {
        CredentialInfo {
            source: source.into(),
            provider_name: "EnvironmentVariable".into(),
            access_key_id: key.into(),
            has_session_token: key.starts_with("ASIA"),
            expiry: None,
            profile: None,
            tried: vec![],
            role_arn: None,
            base_source: None,
        }
    }

    pub fn exchange() -> Exchange {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        Exchange {
            endpoint: Some("sts.us-east-1.amazonaws.com".into()),
            status: Some(200),
            server_date: Some(t),
            sent_at: Some(t),
            received_at: Some(t + Duration::from_millis(200)),
        }
    }

    pub fn identity() -> CallerIdentity {
        CallerIdentity {
            account: "123456789012".into(),
            arn: "arn:aws:sts::123456789012:assumed-role/puller/i-0abc".into(),
            user_id: "AROAEXAMPLE:i-0abc".into(),
            exchange: exchange(),
        }
    }

    pub fn service_error(status: u16, code: &str, msg: &str) -> ApiError {
        ApiError {
            failure: ApiFailure::Service {
                status,
                code: (!code.is_empty()).then(|| code.to_string()),
                message: Some(msg.to_string()),
            },
            exchange: exchange(),
        }
    }

    impl Default for FakeAws {
        fn default() -> Self {
            FakeAws {
                creds: Ok(creds("environment", "ASIAEXAMPLEEXAMPLE12")),
                identity: Ok(identity()),
                token: Err(service_error(500, "NotScripted", "no token scripted")),
                token_requests: Mutex::new(vec![]),
                vpc: Err(service_error(
                    400,
                    "InvalidVpcID.NotFound",
                    "no VPC scripted",
                )),
            }
        }
    }

    impl AwsProbe for FakeAws {
        fn region(&self) -> &str {
            "us-east-1"
        }
        fn credentials(&self) -> BoxFuture<'_, Result<CredentialInfo, CredentialFailure>> {
            let r = self.creds.clone();
            async move { r }.boxed()
        }
        fn caller_identity(&self) -> BoxFuture<'_, Result<CallerIdentity, ApiError>> {
            let r = self.identity.clone();
            async move { r }.boxed()
        }
        fn authorization_token(
            &self,
            registry_id: Option<String>,
        ) -> BoxFuture<'_, Result<AuthorizationData, ApiError>> {
            self.token_requests.lock().unwrap().push(registry_id);
            let r = self.token.clone();
            async move { r }.boxed()
        }
        fn vpc_snapshot(&self, _vpc_id: String) -> BoxFuture<'_, Result<VpcSnapshot, ApiError>> {
            let r = self.vpc.clone();
            async move { r }.boxed()
        }
    }

    pub fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    pub fn ctx(aws: FakeAws, env: &[(&str, &str)]) -> Arc<Ctx> {
        ctx_with(aws, env, Ok(None))
    }

    pub fn ctx_with(
        aws: FakeAws,
        env: &[(&str, &str)],
        placement: Result<Option<Placement>, String>,
    ) -> Arc<Ctx> {
        ctx_full(aws, env, placement, FakeNet::default())
    }

    pub fn ctx_full(
        aws: FakeAws,
        env: &[(&str, &str)],
        placement: Result<Option<Placement>, String>,
        net: FakeNet,
    ) -> Arc<Ctx> {
        Arc::new(Ctx {
            opts: Options {
                region: "us-east-1".into(),
                timeout: Duration::from_secs(5),
                platform: "linux/amd64".into(),
                ..Default::default()
            },
            aws: Arc::new(aws),
            env: Arc::new(FixedEnv::with(env)),
            metadata: Arc::new(FakeMetadata(placement)),
            net: Arc::new(net),
            now,
            board: Board::default(),
        })
    }

    /// Checks that the outcome's code exists for `id` and that its message, remediation and
    /// commands fill completely from the facts plus the run context; returns the message.
    pub fn render(id: &str, o: &Outcome) -> String {
        let cat = Catalog::embedded();
        let spec = cat
            .get(id)
            .unwrap_or_else(|| panic!("no catalog entry {id}"));
        let code = spec
            .codes
            .get(&o.code)
            .unwrap_or_else(|| panic!("{id} has no code {}", o.code));
        let mut vars: Map<String, Value> = Map::new();
        for k in ["region", "account", "registry", "vpc", "subnet"] {
            vars.insert(k.into(), Value::String(format!("<{k}>")));
        }
        vars.extend(o.facts.clone());
        let missing = unresolved(&code.message, &vars);
        assert!(
            missing.is_empty(),
            "{id}/{}: message lacks {missing:?}",
            o.code
        );
        if let Some(r) = &code.remediation {
            let missing = unresolved(r, &vars);
            assert!(
                missing.is_empty(),
                "{id}/{}: remediation lacks {missing:?}",
                o.code
            );
        }
        fill(&code.message, &vars)
    }
}
