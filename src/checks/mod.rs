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
        // in an ECS task without --role-arn, task metadata and ecs:DescribeTaskDefinition;
        // GetRole with the policy lists, each policy, a managed policy's version; then the
        // simulation
        R::new(
            "role.permissions",
            &[Metadata, Api, Api, Api, Api, Api],
            role::permissions,
        ),
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
pub mod fake;

#[cfg(test)]
pub mod testkit;
