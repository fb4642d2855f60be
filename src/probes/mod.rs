//! The only code that talks to the world. Checks see these traits, so they are unit-tested
//! with fakes and no network.

pub mod aws;
pub mod docker;
pub mod ec2;
pub mod ecs;
pub mod env;
pub mod metadata;
pub mod net;
pub mod proxy;
pub mod sdk_error;
pub mod sdk_http;

use futures::future::BoxFuture;
use std::time::SystemTime;

/// A secret value (ECR token, password). Its Debug never shows it, and every secret is
/// registered with [`crate::redact`] so that no output format can ever print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        let value = value.into();
        crate::redact::register_secret(&value);
        Secret(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Which provider of the standard chain supplied credentials, and what they are (never the
/// secret parts).
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialInfo {
    /// One of: environment, profile, web-identity, container, instance-metadata.
    pub source: String,
    /// The SDK's name for the provider that produced the credentials (e.g. `SSO`,
    /// `ProfileFile`, `AssumeRoleProvider`, `IMDSv2`).
    pub provider_name: String,
    pub access_key_id: String,
    pub has_session_token: bool,
    pub expiry: Option<SystemTime>,
    /// Profile used by the profile provider.
    pub profile: Option<String>,
    /// Providers tried before this one (`environment`, `profile`, ...).
    pub tried: Vec<String>,
    /// With `--role-arn`: the role assumed, and the source of the credentials that assumed it.
    pub role_arn: Option<String>,
    pub base_source: Option<String>,
    /// With `--role-arn`: why sts:AssumeRole was refused (its one-line error), when it was.
    /// The credentials are then the chain's own.
    pub assume_role_refused: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CredentialFailure {
    /// No provider had credentials; `tried` lists them, `reasons` why each said no (the
    /// SDK's words, `provider: reason`), `profile` the profile looked at.
    NotFound {
        tried: Vec<String>,
        reasons: Vec<String>,
        profile: String,
    },
    /// A provider was configured but failed (SSO session expired, bad profile...); `detail`
    /// is the whole error chain.
    ProviderFailed {
        source: String,
        detail: String,
        tried: Vec<String>,
    },
    /// A provider did not answer within `bound`.
    TimedOut {
        source: String,
        bound: std::time::Duration,
    },
}

/// What an API call's HTTP exchange showed, success or not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exchange {
    /// Host the request went to (as the SDK resolved the endpoint).
    pub endpoint: Option<String>,
    pub status: Option<u16>,
    /// The server's `Date` header.
    pub server_date: Option<SystemTime>,
    /// Local clock when the request was sent and the response headers arrived.
    pub sent_at: Option<SystemTime>,
    pub received_at: Option<SystemTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// The service answered with an error. `code`/`message` come from the SDK or, when it
    /// could not parse the body, from the raw body.
    Service {
        status: u16,
        code: Option<String>,
        message: Option<String>,
    },
    /// No answer within the time bound.
    Timeout { detail: String },
    /// Could not connect (DNS, refused, TLS...).
    Unreachable { detail: String },
    /// Anything else (e.g. a response that could not be read).
    Other { detail: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub failure: ApiFailure,
    pub exchange: Exchange,
}

impl ApiError {
    pub fn code(&self) -> Option<&str> {
        match &self.failure {
            ApiFailure::Service { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match &self.failure {
            ApiFailure::Service { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// One line for a report: `HTTP 403 AccessDenied: <message>`, or the transport error's
    /// short cause.
    pub fn summary(&self) -> String {
        match &self.failure {
            ApiFailure::Service {
                status,
                code,
                message,
            } => {
                let mut s = format!("HTTP {status}");
                if let Some(c) = code {
                    s.push_str(&format!(" {c}"));
                }
                if let Some(m) = message.as_deref().filter(|m| !m.is_empty()) {
                    s.push_str(&format!(": {m}"));
                }
                crate::errors::shorten(&s)
            }
            ApiFailure::Timeout { detail }
            | ApiFailure::Unreachable { detail }
            | ApiFailure::Other { detail } => crate::errors::short_of_chain(detail),
        }
    }

    /// The whole error, for `facts.error_detail`; `None` when the summary says it all.
    pub fn detail(&self) -> Option<String> {
        match &self.failure {
            ApiFailure::Service { .. } => None,
            ApiFailure::Timeout { detail }
            | ApiFailure::Unreachable { detail }
            | ApiFailure::Other { detail } => {
                (crate::errors::short_of_chain(detail) != *detail).then(|| detail.clone())
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
    pub exchange: Exchange,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationData {
    /// base64 of `AWS:<password>`.
    pub token: Secret,
    pub expires_at: Option<SystemTime>,
    pub proxy_endpoint: Option<String>,
    pub exchange: Exchange,
}

/// A role's permission policies as IAM returns them (`iam:GetRole`, `ListRolePolicies`,
/// `GetRolePolicy`, `ListAttachedRolePolicies`, `GetPolicy`, `GetPolicyVersion`), documents
/// URL-decoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RolePolicies {
    pub arn: String,
    /// `/`, `/aws-service-role/<service>/`, `/aws-reserved/sso.amazonaws.com/`, ...
    pub path: String,
    pub permissions_boundary: Option<String>,
    /// `(policy name, document)` of each inline policy.
    pub inline: Vec<(String, String)>,
    /// `(policy ARN, document of its default version)` of each attached managed policy.
    pub attached: Vec<(String, String)>,
}

/// Reading a role failed: the IAM action that failed (`iam:GetRole`...) and its error.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleReadError {
    pub action: String,
    pub error: ApiError,
}

/// One answer of `iam:SimulatePrincipalPolicy`: `allowed`, `explicitDeny` or `implicitDeny`.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedDecision {
    pub action: String,
    pub resource: String,
    pub decision: String,
}

/// AWS API calls. Implementations memoise `credentials` and `caller_identity`, so that
/// several checks can read the same answer.
pub trait AwsProbe: Send + Sync {
    fn region(&self) -> &str;
    fn credentials(&self) -> BoxFuture<'_, Result<CredentialInfo, CredentialFailure>>;
    fn caller_identity(&self) -> BoxFuture<'_, Result<CallerIdentity, ApiError>>;
    /// `ecr:GetAuthorizationToken`; `registry_id` only for another account's registry.
    fn authorization_token(
        &self,
        registry_id: Option<String>,
    ) -> BoxFuture<'_, Result<AuthorizationData, ApiError>>;
    /// `ecr-public:GetAuthorizationToken`, always in us-east-1 (the only region whose token
    /// logs in to `public.ecr.aws`), whatever the probe's region. Its answer has no
    /// `proxyEndpoint`.
    fn public_authorization_token(&self) -> BoxFuture<'_, Result<AuthorizationData, ApiError>>;
    /// `ecr:GetRepositoryPolicy` of `repository` in the registry of account `registry_id`:
    /// the policy text, `None` when the repository has none.
    fn repository_policy(
        &self,
        registry_id: String,
        repository: String,
    ) -> BoxFuture<'_, Result<Option<String>, ApiError>>;
    /// `ecr:BatchGetImage` of one image by tag or digest, as a pull asks for its manifest
    /// (read-only): whether the image was found.
    fn batch_get_image(
        &self,
        registry_id: String,
        repository: String,
        reference: String,
    ) -> BoxFuture<'_, Result<bool, ApiError>>;
    /// `ecr:DescribePullThroughCacheRules` of the registry of account `registry_id`: its
    /// rules, up to 1000 (one call, the API's largest page).
    fn pull_through_cache_rules(
        &self,
        registry_id: String,
    ) -> BoxFuture<'_, Result<Vec<PullThroughCacheRule>, ApiError>>;
    /// `ecr:GetRegistryPolicy` of the caller's own registry: the policy text, `None` when
    /// the registry has none.
    fn registry_policy(&self) -> BoxFuture<'_, Result<Option<String>, ApiError>>;
    /// `ecr:GetLifecyclePolicy` of `repository` in the registry of account `registry_id`:
    /// the policy text, `None` when the repository has none.
    fn lifecycle_policy(
        &self,
        registry_id: String,
        repository: String,
    ) -> BoxFuture<'_, Result<Option<String>, ApiError>>;
    /// `ecs:DescribeTaskDefinition` of `task_definition` (`family:revision`) in `region` (the
    /// task's, which `--region` may not be): the task's execution role ARN, `None` when it has
    /// none. Probes that cannot look answer `Ok(None)`.
    fn execution_role(
        &self,
        task_definition: String,
        region: String,
    ) -> BoxFuture<'_, Result<Option<String>, ApiError>> {
        let _ = (task_definition, region);
        Box::pin(async { Ok(None) })
    }
    /// Reads one VPC and what is in it (memoised).
    fn vpc_snapshot(&self, vpc_id: String) -> BoxFuture<'_, Result<VpcSnapshot, ApiError>>;
    /// The client's own network interface and instance in `q.vpc_id` (read-only:
    /// `ec2:DescribeNetworkInterfaces` by MAC or private address, `ec2:DescribeInstances`
    /// for the instance's `MetadataOptions`). Probes that cannot look answer `Ok` with
    /// nothing found.
    fn client_host(&self, q: ClientQuery) -> BoxFuture<'_, Result<ClientHost, ApiError>> {
        let _ = q;
        Box::pin(async { Ok(ClientHost::default()) })
    }
    /// The permission policies of the role `role_name`, read with the caller's own
    /// credentials (the chain's, not an assumed `--role-arn`'s).
    fn role_policies(
        &self,
        role_name: String,
    ) -> BoxFuture<'_, Result<RolePolicies, RoleReadError>>;
    /// `iam:SimulatePrincipalPolicy` of `actions` on `resource` for the role `role_arn`, with
    /// the caller's own credentials.
    fn simulate_role(
        &self,
        role_arn: String,
        actions: Vec<String>,
        resource: String,
    ) -> BoxFuture<'_, Result<Vec<SimulatedDecision>, ApiError>>;
}

/// One pull-through cache rule, as `ecr:DescribePullThroughCacheRules` lists it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PullThroughCacheRule {
    /// Repositories named `<prefix>/...` are served through the rule (ECR appends the `/`).
    pub ecr_repository_prefix: String,
    pub upstream_registry_url: String,
    /// `ecr-public`, `docker-hub`, `quay`, ... when the API says.
    pub upstream_registry: Option<String>,
    /// The upstream's repository prefix; `ROOT` (or none) means no prefix.
    pub upstream_repository_prefix: Option<String>,
}

/// What identifies the client machine in its VPC (from metadata), for [`AwsProbe::client_host`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientQuery {
    pub vpc_id: String,
    pub mac: Option<String>,
    pub private_ip: Option<String>,
    pub instance_id: Option<String>,
}

/// The client's network interface and instance, as EC2 describes them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientHost {
    pub interface: Option<ClientInterface>,
    /// `MetadataOptions` of the instance, when its id was known.
    pub metadata_options: Option<InstanceMetadataOptions>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientInterface {
    pub id: String,
    pub subnet_id: String,
    pub private_ip: Option<String>,
    pub groups: Vec<String>,
    /// The public IPv4 address associated with the interface, if any.
    pub public_ip: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceMetadataOptions {
    pub instance_id: String,
    pub http_put_response_hop_limit: Option<i32>,
    /// `optional` or `required`.
    pub http_tokens: Option<String>,
    /// `enabled` or `disabled`.
    pub http_endpoint: Option<String>,
}

/// The process environment, and whether a file exists.
pub trait EnvProbe: Send + Sync {
    fn var(&self, name: &str) -> Option<String>;
    /// Whether `path` exists (e.g. `/.dockerenv`). Probes that do not look at files say no.
    fn path_exists(&self, path: &str) -> bool {
        let _ = path;
        false
    }
}

/// Everything the VPC checks need about one VPC, read with `ec2:Describe*` calls only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VpcSnapshot {
    pub vpc_id: String,
    pub cidrs: Vec<String>,
    pub dns_support: bool,
    pub dns_hostnames: bool,
    /// `domain-name-servers` of the VPC's DHCP options (empty: none associated).
    pub dns_servers: Vec<String>,
    pub subnets: Vec<SubnetInfo>,
    pub endpoints: Vec<EndpointInfo>,
    pub route_tables: Vec<RouteTableInfo>,
    pub security_groups: Vec<SecurityGroupInfo>,
    /// CIDRs of the managed prefix lists that security group rules reference.
    pub prefix_lists: std::collections::BTreeMap<String, Vec<String>>,
    /// Private IPs of each interface endpoint's network interfaces, by endpoint id.
    pub endpoint_ips: std::collections::BTreeMap<String, Vec<String>>,
    /// The network ACLs of the VPC with their entries and subnet associations.
    pub network_acls: Vec<NetworkAclInfo>,
    /// The NAT gateways of the VPC.
    pub nat_gateways: Vec<NatGatewayInfo>,
    /// The outbound rules of each security group, by group id (`cidrs`, `prefix_lists`,
    /// `groups` are destinations).
    pub security_group_egress: std::collections::BTreeMap<String, Vec<IngressRule>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkAclInfo {
    pub id: String,
    /// The VPC's default ACL serves every subnet not associated with another.
    pub is_default: bool,
    pub subnet_ids: Vec<String>,
    pub entries: Vec<AclEntry>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AclEntry {
    /// 1..=32766, and 32767 for the `*` rule.
    pub rule_number: i32,
    pub egress: bool,
    /// `-1` (all), `6` (tcp), `17` (udp), ... as EC2 gives it.
    pub protocol: String,
    pub allow: bool,
    /// IPv4 CIDR (None for an IPv6 entry).
    pub cidr: Option<String>,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NatGatewayInfo {
    pub id: String,
    /// `pending`, `available`, `failed`, `deleting`, `deleted`.
    pub state: String,
    pub subnet_id: String,
    /// `public` or `private`.
    pub connectivity: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubnetInfo {
    pub id: String,
    pub cidr: String,
    pub az: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndpointInfo {
    pub id: String,
    pub service_name: String,
    /// `Interface`, `Gateway` or `GatewayLoadBalancer`.
    pub kind: String,
    pub state: String,
    pub private_dns: bool,
    pub subnet_ids: Vec<String>,
    pub group_ids: Vec<String>,
    pub route_table_ids: Vec<String>,
    pub policy: Option<String>,
    pub network_interface_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteTableInfo {
    pub id: String,
    pub main: bool,
    pub subnet_ids: Vec<String>,
    pub routes: Vec<RouteInfo>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteInfo {
    /// Destination CIDR or prefix list id.
    pub destination: String,
    /// `local`, `igw-...`, `nat-...`, `vpce-...`, `tgw-...`, ...
    pub target: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecurityGroupInfo {
    pub id: String,
    pub name: String,
    pub ingress: Vec<IngressRule>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngressRule {
    /// `tcp`, `udp`, `icmp` or `-1` (all).
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub cidrs: Vec<String>,
    pub prefix_lists: Vec<String>,
    pub groups: Vec<String>,
}

/// Where this machine sits, as instance or task metadata says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placement {
    /// `EC2 instance metadata` or `ECS task metadata`.
    pub source: String,
    pub vpc_id: String,
    pub subnet_id: Option<String>,
    pub subnet_cidr: Option<String>,
    pub az: Option<String>,
    pub security_groups: Vec<String>,
    pub private_ip: Option<String>,
    /// EC2: `meta-data/instance-id`.
    pub instance_id: Option<String>,
    /// The MAC of the interface (EC2 `meta-data/mac`; ECS `Networks[].MACAddress`).
    pub mac: Option<String>,
    /// EC2: `meta-data/public-ipv4` (absent when the instance has none). Task metadata
    /// carries no public address: `Unknown` there.
    pub public_ipv4: PublicIpv4,
    /// ECS: the task's launch type (`FARGATE`, `EC2`).
    pub launch_type: Option<String>,
}

/// Whether the client has a public IPv4 address, as far as metadata says.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum PublicIpv4 {
    #[default]
    Unknown,
    Absent,
    Present(String),
}

/// What a bare IMDSv2 token request (PUT `/latest/api/token`) showed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ImdsToken {
    /// Not asked (instance metadata disabled, or a probe that does not look).
    #[default]
    NotAsked,
    /// A token came back.
    Answered,
    /// Nothing accepted the connection: not an EC2 instance (or IMDS turned off).
    Unreachable,
    /// The connection was accepted but the answer never came: on EC2, the PUT response's
    /// hop limit (1) is used up before it reaches a container.
    PutTimedOut,
    /// Some other answer or error.
    Other,
}

/// The ECS task this runs in, as task metadata v4 (`<uri>/task`) says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EcsTask {
    pub task_arn: Option<String>,
    pub cluster: Option<String>,
    pub family: Option<String>,
    pub revision: Option<String>,
    /// `FARGATE` or `EC2`.
    pub launch_type: Option<String>,
}

/// Instance and task metadata.
pub trait MetadataProbe: Send + Sync {
    /// `Ok(None)` when this is neither an EC2 instance nor an ECS task (or metadata is off).
    fn placement(&self) -> BoxFuture<'_, Result<Option<Placement>, String>>;
    /// One IMDSv2 token request on its own, to tell a hop-limit timeout from no IMDS.
    fn imds_token(&self) -> BoxFuture<'_, ImdsToken> {
        Box::pin(async { ImdsToken::NotAsked })
    }
    /// The ECS task (task metadata v4); `Ok(None)` outside ECS.
    fn ecs_task(&self) -> BoxFuture<'_, Result<Option<EcsTask>, String>> {
        Box::pin(async { Ok(None) })
    }
}
