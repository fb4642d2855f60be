//! Check implementations, one small module per concern. A check reads probes and what
//! earlier checks handed on ([`Slot`]), and returns a [`Finding`] of its own code enum plus
//! facts (data, never sentences). It never prints.

pub mod conn;
pub mod credentials;
pub mod dns;
pub mod docker;
pub mod identity;
pub mod image;
pub mod missing;
pub mod proxy;
pub mod registry;
pub mod repo;
pub mod role;
pub mod token;
pub mod vpc;

use crate::engine::{Finding, Registration};
use crate::probes::{AwsProbe, EnvProbe, MetadataProbe, Secret};
use crate::validate::ImageRef;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
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
    /// `flag` (`--vpc`), `instance-metadata` or `task-metadata`.
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

/// What one check hands to later ones. A check declares in its catalog entry what it
/// `reads` and `writes`; a test proves that every read is written by a check it depends on
/// or runs after, and [`Ctx`] refuses (panics, which the engine reports as `crashed`) an
/// access the running check did not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Identity,
    Token,
    Vpc,
    Dns,
    Manifest,
}

impl Slot {
    pub const ALL: [Slot; 5] = [
        Slot::Identity,
        Slot::Token,
        Slot::Vpc,
        Slot::Dns,
        Slot::Manifest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Slot::Identity => "identity",
            Slot::Token => "token",
            Slot::Vpc => "vpc",
            Slot::Dns => "dns",
            Slot::Manifest => "manifest",
        }
    }
}

/// Results that later checks need and that must not (all) appear in facts. Read and
/// written only through [`Ctx`]'s accessors, which check the declarations.
#[derive(Debug, Default)]
pub struct Board {
    identity: OnceLock<Identity>,
    token: OnceLock<Token>,
    vpc: OnceLock<VpcContext>,
    /// Addresses each host resolved to, for the connection checks.
    dns: Mutex<HashMap<String, Vec<std::net::IpAddr>>>,
    manifest: OnceLock<Manifest>,
}

/// The host a data-plane check looks at.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Target {
    Api,
    Registry,
    Layers,
}

impl Target {
    pub fn name(self, cx: &Ctx) -> Option<String> {
        match self {
            Target::Api if cx.is_public() => Some(crate::aws::public_api_host()),
            Target::Api => Some(crate::aws::api_host(cx.region())),
            Target::Registry => cx.registry(),
            Target::Layers => Some(crate::aws::layer_host(cx.region())),
        }
    }

    /// The VPC endpoint service suffix for this host.
    pub fn service(self) -> &'static str {
        match self {
            Target::Api => "ecr.api",
            Target::Registry => "ecr.dkr",
            Target::Layers => "s3",
        }
    }
}

/// `check id -> (reads, writes)`, from the catalog.
pub type Declarations = HashMap<String, (Vec<String>, Vec<String>)>;

pub struct Ctx {
    pub opts: Options,
    pub aws: Arc<dyn AwsProbe>,
    pub env: Arc<dyn EnvProbe>,
    pub metadata: Arc<dyn MetadataProbe>,
    pub net: Arc<dyn crate::probes::net::NetProbe>,
    /// The docker client's configuration and credential helpers.
    pub docker: Arc<dyn crate::probes::docker::DockerProbe>,
    pub now: fn() -> SystemTime,
    pub board: Board,
    /// What each check declared it reads and writes; empty in unit tests, where checks run
    /// outside the engine.
    pub declared: Declarations,
}

impl Ctx {
    pub fn declarations(catalog: &crate::catalog::Catalog) -> Declarations {
        catalog
            .checks
            .iter()
            .map(|c| (c.id.clone(), (c.reads.clone(), c.writes.clone())))
            .collect()
    }

    fn declare(&self, slot: Slot, write: bool) {
        let Ok(id) = crate::engine::CURRENT_CHECK.try_with(|c| *c) else {
            return; // not run by the engine (unit tests, the CLI after the run)
        };
        let Some((reads, writes)) = self.declared.get(id) else {
            return;
        };
        let list = if write { writes } else { reads };
        if !list.iter().any(|s| s == slot.name()) {
            panic!(
                "{id} {} {} without declaring it in its catalog entry",
                if write { "writes" } else { "reads" },
                slot.name()
            );
        }
    }

    pub fn region(&self) -> &str {
        &self.opts.region
    }

    pub fn identity(&self) -> Option<&Identity> {
        self.declare(Slot::Identity, false);
        self.board.identity.get()
    }
    pub fn set_identity(&self, v: Identity) {
        self.declare(Slot::Identity, true);
        let _ = self.board.identity.set(v);
    }
    pub fn token(&self) -> Option<&Token> {
        self.declare(Slot::Token, false);
        self.board.token.get()
    }
    pub fn set_token(&self, v: Token) {
        self.declare(Slot::Token, true);
        let _ = self.board.token.set(v);
    }
    pub fn vpc(&self) -> Option<&VpcContext> {
        self.declare(Slot::Vpc, false);
        self.board.vpc.get()
    }
    pub fn set_vpc(&self, v: VpcContext) {
        self.declare(Slot::Vpc, true);
        let _ = self.board.vpc.set(v);
    }
    pub fn dns_answer(&self, host: &str) -> Vec<std::net::IpAddr> {
        self.declare(Slot::Dns, false);
        self.board
            .dns
            .lock()
            .ok()
            .and_then(|m| m.get(host).cloned())
            .unwrap_or_default()
    }
    pub fn write_dns(&self, host: &str, addrs: Vec<std::net::IpAddr>) {
        self.declare(Slot::Dns, true);
        if let Ok(mut m) = self.board.dns.lock() {
            m.insert(host.to_string(), addrs);
        }
    }
    pub fn manifest(&self) -> Option<&Manifest> {
        self.declare(Slot::Manifest, false);
        self.board.manifest.get()
    }
    pub fn set_manifest(&self, v: Manifest) {
        self.declare(Slot::Manifest, true);
        let _ = self.board.manifest.set(v);
    }

    /// Whether the registry under diagnosis is ECR Public (`public.ecr.aws`): only the flags
    /// can name it, so this never reads the identity.
    pub fn is_public(&self) -> bool {
        self.opts
            .registry
            .as_deref()
            .or_else(|| self.opts.image.as_ref().and_then(|i| i.registry.as_deref()))
            .is_some_and(crate::aws::is_public_registry)
    }

    /// The registry being diagnosed: `--registry`, the image's registry, or the caller's own
    /// (which reads the identity).
    pub fn registry(&self) -> Option<String> {
        self.opts
            .registry
            .clone()
            .or_else(|| self.opts.image.as_ref().and_then(|i| i.registry.clone()))
            .or_else(|| {
                self.identity()
                    .map(|i| crate::aws::registry_host(&i.account, self.region()))
            })
    }
}

/// `f` with the facts of a failed AWS call: its short cause (`error`), HTTP status, endpoint,
/// and the whole error chain (`error_detail`, for JSON readers).
pub fn with_api_error<K>(f: Finding<K>, e: &crate::probes::ApiError) -> Finding<K> {
    f.fact("error", e.summary())
        .fact("http_status", e.status())
        .fact_or_null("endpoint", e.exchange.endpoint.clone())
        .fact("error_detail", e.detail())
        .fact(
            "timed_out",
            matches!(e.failure, crate::probes::ApiFailure::Timeout { .. }).then_some(true),
        )
}

/// Every check implementation. The ids are the catalog's: a test proves both lists and every
/// check's codes agree, in both directions.
pub fn registrations() -> Vec<Registration<Ctx>> {
    use crate::budget::Op::*;
    use Registration as R;
    vec![
        // with --role-arn, AssumeRole after the chain; in an ECS task, its metadata
        R::new(
            "credentials.source",
            &[Credentials, Api, Metadata],
            credentials::source,
        ),
        R::new("identity.caller", &[Api, Api], identity::caller),
        R::new("identity.clock-skew", &[Api, Api], identity::clock_skew),
        R::new("token.get", &[Api, Api], token::get),
        // the repository policy, then possibly a real pull
        R::new("repo.policy", &[Api, Api], repo::policy),
        // GetRole with the policy lists, each policy, a managed policy's version; then
        // the simulation
        R::new("role.permissions", &[Api, Api, Api, Api], role::permissions),
        R::new("env.proxy", &[], proxy::check),
        // reading files, then at most one credential helper: its credential chain, then
        // ecr:GetAuthorizationToken
        R::new("docker.config", &[Credentials, Api], docker::config),
        // metadata, then the VPC snapshot's reads (some in sequence)
        R::new(
            "vpc.lookup",
            &[Metadata, Api, Api, Api],
            vpc::lookup::lookup,
        ),
        R::new(
            "vpc.dns-attributes",
            &[Api, Api],
            vpc::lookup::dns_attributes,
        ),
        R::new("vpc.endpoint.ecr-api", &[Api, Api], vpc::endpoints::ecr_api),
        R::subset(
            "vpc.endpoint.ecr-dkr",
            &[Api, Api],
            vpc::endpoints::ecr_dkr,
            vpc::endpoints::DKR_CODES,
        ),
        R::new("vpc.endpoint.s3", &[Api, Api], vpc::endpoints::s3),
        // metadata (placement, then the bare IMDSv2 token request), the client's interface
        // and instance
        R::new(
            "vpc.client-path",
            &[Metadata, Metadata, Metadata, Api, Api],
            vpc::client_path::check,
        ),
        R::subset("dns.ecr-api", &[Dns], dns::api, dns::ECR_CODES),
        R::subset("dns.ecr-dkr", &[Dns], dns::dkr, dns::ECR_CODES),
        R::subset("dns.s3", &[Dns], dns::s3, dns::S3_CODES),
        // TCP, the proxy's CONNECT when one applies, TLS
        R::new("net.ecr-api", &[Connect, Connect, Connect], conn::api),
        R::new("net.ecr-dkr", &[Connect, Connect, Connect], conn::dkr),
        R::new("net.s3", &[Connect, Connect, Connect], conn::s3),
        // ECR Public: /v2/ unauthenticated, its token endpoint, /v2/ with the Bearer token
        R::new("registry.auth", &[Http, Http, Http], registry::auth),
        // the manifest, then the tag list or the index's platform entry; on a 404 the
        // hints' reads: the pull-through cache rules then the registry policy, while the
        // lifecycle policy is read alongside
        // (ECR Public: first the token endpoint for a Bearer token)
        R::new(
            "image.manifest",
            &[Http, Http, Http, Api, Api],
            image::manifest,
        ),
        // the blob request, the redirect to S3, the body
        R::new(
            "image.layer-download",
            &[Http, Http, Http, Body],
            image::layer_download,
        ),
    ]
}

/// RFC 3339 time, whole seconds, UTC.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod contract {
    use super::*;
    use crate::catalog::Catalog;
    use std::collections::BTreeSet;

    #[test]
    fn every_catalog_check_has_an_implementation_and_back() {
        let cat = Catalog::embedded();
        let catalog: BTreeSet<&str> = cat.ids().collect();
        let regs = registrations();
        let implemented: BTreeSet<&str> = regs.iter().map(|r| r.id).collect();
        assert_eq!(catalog, implemented);
        assert_eq!(regs.len(), implemented.len(), "an id is registered twice");
    }

    #[test]
    fn every_code_enum_matches_its_catalog_entry_in_both_directions() {
        let cat = Catalog::embedded();
        for r in registrations() {
            let spec = cat.get(r.id).unwrap();
            let catalog: BTreeSet<&str> = spec.codes.keys().map(String::as_str).collect();
            let variants: BTreeSet<&str> = r.codes.iter().copied().collect();
            assert_eq!(
                variants.len(),
                r.codes.len(),
                "{}: a code enum has two variants with one name",
                r.id
            );
            let no_variant: Vec<_> = catalog.difference(&variants).collect();
            let no_entry: Vec<_> = variants.difference(&catalog).collect();
            assert!(
                no_variant.is_empty() && no_entry.is_empty(),
                "{}: catalog codes without a variant {no_variant:?}; variants without a catalog code {no_entry:?}",
                r.id
            );
        }
    }

    /// The checks `id` waits for, directly or through others (`depends_on` and `after`).
    fn waits_for<'a>(cat: &'a Catalog, id: &str) -> BTreeSet<&'a str> {
        let mut out = BTreeSet::new();
        let mut stack = vec![id.to_string()];
        while let Some(c) = stack.pop() {
            let spec = cat.get(&c).unwrap();
            for d in spec.depends_on.iter().chain(&spec.after) {
                if out.insert(cat.get(d).unwrap().id.as_str()) {
                    stack.push(d.clone());
                }
            }
        }
        out
    }

    #[test]
    fn every_read_is_written_by_a_check_it_waits_for() {
        let cat = Catalog::embedded();
        let names: Vec<&str> = Slot::ALL.iter().map(|s| s.name()).collect();
        for c in &cat.checks {
            for slot in c.reads.iter().chain(&c.writes) {
                assert!(
                    names.contains(&slot.as_str()),
                    "{}: unknown slot {slot}",
                    c.id
                );
            }
            let before = waits_for(&cat, &c.id);
            for slot in &c.reads {
                let writers: Vec<&str> = cat
                    .checks
                    .iter()
                    .filter(|w| w.writes.contains(slot))
                    .map(|w| w.id.as_str())
                    .collect();
                assert!(!writers.is_empty(), "nothing writes {slot}");
                assert!(
                    writers.iter().any(|w| before.contains(w)),
                    "{} reads {slot}, written by {writers:?}, none of which it depends on or runs after",
                    c.id
                );
            }
        }
    }

    #[tokio::test]
    async fn an_undeclared_read_is_refused() {
        let mut cx = fake::ctx(fake::FakeAws::default(), &[]);
        let c = Arc::get_mut(&mut cx).unwrap();
        c.declared = Ctx::declarations(&Catalog::embedded());
        // identity.caller writes identity but reads nothing
        let r = crate::engine::CURRENT_CHECK
            .scope("identity.caller", async {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cx.token().is_some()))
            })
            .await;
        assert!(r.is_err(), "reading the token must be refused");
        let ok = crate::engine::CURRENT_CHECK
            .scope("token.get", async { cx.identity().is_none() })
            .await;
        assert!(ok, "token.get declares its read of identity");
    }
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
        /// `ecr-public:GetAuthorizationToken` answer, and how many times it was asked.
        pub public_token: Result<AuthorizationData, ApiError>,
        pub public_token_requests: Arc<Mutex<u32>>,
        pub vpc: Result<VpcSnapshot, ApiError>,
        /// `ecr:GetRepositoryPolicy` answers, and the `(registry, repository)` asked.
        pub repo_policy: Result<Option<String>, ApiError>,
        pub policy_requests: Mutex<Vec<(String, String)>>,
        /// `ecr:BatchGetImage` answer.
        pub image: Result<bool, ApiError>,
        /// The client's interface and instance (`client_host`); none found by default.
        pub client: Result<ClientHost, ApiError>,
        /// `ecr:DescribePullThroughCacheRules`, `ecr:GetRegistryPolicy` and
        /// `ecr:GetLifecyclePolicy` answers, and the reads asked (`"rules <registry>"`,
        /// `"registry-policy"`, `"lifecycle <registry> <repository>"`).
        pub cache_rules: Result<Vec<PullThroughCacheRule>, ApiError>,
        pub registry_policy: Result<Option<String>, ApiError>,
        pub lifecycle_policy: Result<Option<String>, ApiError>,
        pub hint_reads: Mutex<Vec<String>>,
        /// The role's policies, and the role names asked.
        pub role: Result<RolePolicies, RoleReadError>,
        pub role_requests: Mutex<Vec<String>>,
        /// `iam:SimulatePrincipalPolicy`: decision by action (absent: implicitDeny), or the
        /// error; and the `(role, actions, resource)` asked.
        pub simulation: Result<HashMap<String, String>, ApiError>,
        pub simulation_requests: Mutex<Vec<(String, Vec<String>, String)>>,
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
        fn resolver(&self) -> crate::probes::net::ResolverInfo {
            crate::probes::net::ResolverInfo {
                kind: "system",
                servers: vec!["10.0.0.2".into()],
            }
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
            // a request with a Bearer token is answered by `"<url> bearer"` when scripted
            let bearer = req
                .headers
                .iter()
                .any(|(k, v)| k == "Authorization" && v.starts_with("Bearer "));
            let r = bearer
                .then(|| self.http.get(&format!("{} bearer", req.url)).cloned())
                .flatten()
                .or_else(|| self.http.get(&req.url).cloned())
                .unwrap_or(Err(crate::probes::net::HttpFailure::Connect(format!(
                    "unscripted {}",
                    req.url
                ))));
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
            assume_role_refused: None,
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
                public_token: Err(service_error(
                    500,
                    "NotScripted",
                    "no public token scripted",
                )),
                public_token_requests: Arc::new(Mutex::new(0)),
                vpc: Err(service_error(
                    400,
                    "InvalidVpcID.NotFound",
                    "no VPC scripted",
                )),
                repo_policy: Err(service_error(500, "NotScripted", "no policy scripted")),
                policy_requests: Mutex::new(vec![]),
                image: Err(service_error(500, "NotScripted", "no image scripted")),
                client: Ok(ClientHost::default()),
                cache_rules: Ok(vec![]),
                registry_policy: Ok(None),
                lifecycle_policy: Ok(None),
                hint_reads: Mutex::new(vec![]),
                role: Err(RoleReadError {
                    action: "iam:GetRole".into(),
                    error: service_error(500, "NotScripted", "no role scripted"),
                }),
                role_requests: Mutex::new(vec![]),
                simulation: Err(service_error(500, "NotScripted", "no simulation scripted")),
                simulation_requests: Mutex::new(vec![]),
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
        fn public_authorization_token(&self) -> BoxFuture<'_, Result<AuthorizationData, ApiError>> {
            *self.public_token_requests.lock().unwrap() += 1;
            let r = self.public_token.clone();
            async move { r }.boxed()
        }
        fn repository_policy(
            &self,
            registry_id: String,
            repository: String,
        ) -> BoxFuture<'_, Result<Option<String>, ApiError>> {
            self.policy_requests
                .lock()
                .unwrap()
                .push((registry_id, repository));
            let r = self.repo_policy.clone();
            async move { r }.boxed()
        }
        fn batch_get_image(
            &self,
            _registry_id: String,
            _repository: String,
            _reference: String,
        ) -> BoxFuture<'_, Result<bool, ApiError>> {
            let r = self.image.clone();
            async move { r }.boxed()
        }
        fn pull_through_cache_rules(
            &self,
            registry_id: String,
        ) -> BoxFuture<'_, Result<Vec<PullThroughCacheRule>, ApiError>> {
            self.hint_reads
                .lock()
                .unwrap()
                .push(format!("rules {registry_id}"));
            let r = self.cache_rules.clone();
            async move { r }.boxed()
        }
        fn registry_policy(&self) -> BoxFuture<'_, Result<Option<String>, ApiError>> {
            self.hint_reads
                .lock()
                .unwrap()
                .push("registry-policy".into());
            let r = self.registry_policy.clone();
            async move { r }.boxed()
        }
        fn lifecycle_policy(
            &self,
            registry_id: String,
            repository: String,
        ) -> BoxFuture<'_, Result<Option<String>, ApiError>> {
            self.hint_reads
                .lock()
                .unwrap()
                .push(format!("lifecycle {registry_id} {repository}"));
            let r = self.lifecycle_policy.clone();
            async move { r }.boxed()
        }
        fn vpc_snapshot(&self, _vpc_id: String) -> BoxFuture<'_, Result<VpcSnapshot, ApiError>> {
            let r = self.vpc.clone();
            async move { r }.boxed()
        }
        fn client_host(&self, _q: ClientQuery) -> BoxFuture<'_, Result<ClientHost, ApiError>> {
            let r = self.client.clone();
            async move { r }.boxed()
        }
        fn role_policies(
            &self,
            role_name: String,
        ) -> BoxFuture<'_, Result<RolePolicies, RoleReadError>> {
            self.role_requests.lock().unwrap().push(role_name);
            let r = self.role.clone();
            async move { r }.boxed()
        }
        fn simulate_role(
            &self,
            role_arn: String,
            actions: Vec<String>,
            resource: String,
        ) -> BoxFuture<'_, Result<Vec<SimulatedDecision>, ApiError>> {
            let r = self.simulation.clone().map(|by_action| {
                actions
                    .iter()
                    .map(|a| SimulatedDecision {
                        action: a.clone(),
                        resource: resource.clone(),
                        decision: by_action
                            .get(a)
                            .cloned()
                            .unwrap_or_else(|| "implicitDeny".into()),
                    })
                    .collect()
            });
            self.simulation_requests
                .lock()
                .unwrap()
                .push((role_arn, actions, resource));
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
            docker: Arc::new(crate::probes::docker::fake::FakeDocker::default()),
            now,
            board: Board::default(),
            declared: Declarations::default(),
        })
    }

    /// Checks that the finding's code exists for `id` and that its message, remediation and
    /// commands fill completely from the facts plus the run context; returns the message.
    pub fn render<K: crate::engine::Code>(id: &str, o: &crate::engine::Finding<K>) -> String {
        render_outcome(id, &o.clone().erase())
    }

    /// [`render`] for an erased finding.
    pub fn render_outcome(id: &str, o: &Outcome) -> String {
        let cat = Catalog::embedded();
        let spec = cat
            .get(id)
            .unwrap_or_else(|| panic!("no catalog entry {id}"));
        let code = spec
            .codes
            .get(o.code)
            .unwrap_or_else(|| panic!("{id} has no code {}", o.code));
        let mut vars: Map<String, Value> = Map::new();
        for k in [
            "region",
            "account",
            "registry",
            "vpc",
            "subnet",
            "partition",
            "ecr_api_service",
            "sts_service",
            "ec2_service",
            "s3_service",
        ] {
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
        let vars = cat.labelled(Some(spec), &vars);
        fill(&code.message, &vars)
    }
}

#[cfg(test)]
pub mod testkit {
    //! Shared pieces of the data-plane check tests.
    use super::fake::{ctx_full, render, FakeAws, FakeNet};
    use super::*;
    use crate::engine::{Code, Finding};
    use crate::probes::net::*;
    use crate::probes::{EndpointInfo, Secret, VpcSnapshot};
    use futures::future::BoxFuture;
    use sha2::Digest as _;

    pub const REG: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    pub fn answer(ips: &[&str]) -> DnsAnswer {
        DnsAnswer {
            result: Ok(ips.iter().map(|i| i.parse().unwrap()).collect()),
            elapsed: Duration::from_millis(3),
        }
    }

    pub fn resp(
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<HttpResponse, HttpFailure> {
        Ok(HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            body: body.to_vec(),
            bytes: body.len() as u64,
            sha256: hex::encode(sha2::Sha256::digest(body)),
            content_length: Some(body.len() as u64),
            complete: true,
            body_error: None,
            elapsed: Duration::from_millis(10),
            remote: None,
        })
    }

    pub fn ctx(net: FakeNet, vpc: Option<VpcSnapshot>, image: Option<&str>) -> Arc<Ctx> {
        let aws = FakeAws {
            vpc: vpc
                .clone()
                .ok_or_else(|| super::fake::service_error(400, "X", "y")),
            ..Default::default()
        };
        let cx = ctx_full(aws, &[], Ok(None), net);
        let mut cx = cx;
        let c = Arc::get_mut(&mut cx).unwrap();
        c.opts.image = image.map(|i| crate::validate::image(i).unwrap());
        c.set_identity(Identity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/u".into(),
        });
        c.set_token(Token {
            registry: REG.into(),
            password: Secret::new("lab-password-123"),
            expires_at: None,
        });
        if let Some(v) = vpc {
            c.set_vpc(VpcContext {
                vpc_id: v.vpc_id.clone(),
                ..Default::default()
            });
        }
        cx
    }

    pub fn vpc_with_dkr_endpoint() -> VpcSnapshot {
        let mut s = VpcSnapshot {
            vpc_id: "vpc-1a2b3c4d".into(),
            cidrs: vec!["10.0.0.0/16".into()],
            ..Default::default()
        };
        s.endpoints.push(EndpointInfo {
            id: "vpce-dkr".into(),
            service_name: "com.amazonaws.us-east-1.ecr.dkr".into(),
            kind: "Interface".into(),
            state: "available".into(),
            private_dns: true,
            ..Default::default()
        });
        s.endpoint_ips
            .insert("vpce-dkr".into(), vec!["10.0.1.11".into()]);
        s
    }

    /// Runs one check and proves its message fills from its facts.
    pub async fn check<K: Code>(
        id: &str,
        f: fn(Arc<Ctx>) -> BoxFuture<'static, Finding<K>>,
        cx: Arc<Ctx>,
    ) -> Finding<K> {
        let o = f(cx).await;
        render(id, &o);
        o
    }
}
