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
    /// `ecs:DescribeTaskDefinition`: the execution role, and the `"<task definition> <region>"`
    /// asked.
    pub execution_role: Result<Option<String>, ApiError>,
    pub execution_role_requests: Mutex<Vec<String>>,
}

pub struct FakeMetadata(pub Result<Option<Placement>, String>);

/// Scripted network: answers by host / URL; anything unscripted fails.
#[derive(Default)]
pub struct FakeNet {
    pub dns: HashMap<String, crate::probes::net::DnsAnswer>,
    pub dial: HashMap<String, crate::probes::net::DialReport>,
    pub http:
        HashMap<String, Result<crate::probes::net::HttpResponse, crate::probes::net::HttpFailure>>,
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
            execution_role: Err(service_error(
                500,
                "NotScripted",
                "no task definition scripted",
            )),
            execution_role_requests: Mutex::new(vec![]),
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
    fn execution_role(
        &self,
        task_definition: String,
        region: String,
    ) -> BoxFuture<'_, Result<Option<String>, ApiError>> {
        self.execution_role_requests
            .lock()
            .unwrap()
            .push(format!("{task_definition} {region}"));
        let r = self.execution_role.clone();
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
