//! `vpc.endpoint.ecr-api`, `vpc.endpoint.ecr-dkr` (interface endpoints: state, private DNS,
//! security groups on 443, policy, AZ coverage) and `vpc.endpoint.s3` (the gateway endpoint
//! on the client's route table, its policy on the layer bucket).

use super::policy_eval::{
    ecr_pull_statement, evaluate, evaluate_layer_download, layer_bucket_statement, policy_finding,
    PolicyVerdict,
};
use super::security_groups::{client_source, groups_allow_443, rules, ClientSource};
use super::{context, internet_route, route_table_of};
use crate::aws::arn::{repository_arn, s3_object_arn};
use crate::aws::{layer_bucket, parse_registry_host, service_name};
use crate::checks::{Ctx, VpcContext};
use crate::engine::Finding;
use crate::probes::{EndpointInfo, VpcSnapshot};
use futures::future::{BoxFuture, FutureExt};
use std::sync::Arc;

crate::codes! {
    /// The codes of both interface endpoint checks.
    pub enum Interface {
        Ok = "ok",
        Missing = "missing",
        MissingInternetRoute = "missing-internet-route",
        NotAvailable = "not-available",
        PrivateDnsDisabled = "private-dns-disabled",
        PrivateDnsDisabledInternetRoute = "private-dns-disabled-internet-route",
        SecurityGroupBlocks443 = "security-group-blocks-443",
        PolicyDenies = "policy-denies",
        PolicyConditional = "policy-conditional",
        AzNotCovered = "az-not-covered",
        NoVpcContext = "no-vpc-context",
        EcrPublic = "ecr-public",
    }
}

crate::codes! {
    pub enum Gateway {
        Ok = "ok",
        OkNoSubnet = "ok-no-subnet",
        Missing = "missing",
        MissingInternetRoute = "missing-internet-route",
        InterfaceOnly = "interface-only",
        NotAvailable = "not-available",
        RouteTableNotAssociated = "route-table-not-associated",
        PolicyDeniesLayerBucket = "policy-denies-layer-bucket",
        PolicyConditional = "policy-conditional",
        NoVpcContext = "no-vpc-context",
        EcrPublic = "ecr-public",
    }
}

/// `vpc.endpoint.ecr-dkr`: private DNS is required there whatever the routes.
pub const DKR_CODES: &[Interface] = &[
    Interface::Ok,
    Interface::Missing,
    Interface::MissingInternetRoute,
    Interface::NotAvailable,
    Interface::PrivateDnsDisabled,
    Interface::SecurityGroupBlocks443,
    Interface::PolicyDenies,
    Interface::PolicyConditional,
    Interface::AzNotCovered,
    Interface::NoVpcContext,
    Interface::EcrPublic,
];

impl Interface {
    /// The most serious finding decides the code (0 first); all are listed.
    fn rank(self) -> u8 {
        match self {
            Interface::PrivateDnsDisabled => 0,
            Interface::SecurityGroupBlocks443 => 1,
            Interface::PolicyDenies => 2,
            Interface::PrivateDnsDisabledInternetRoute => 3,
            Interface::PolicyConditional => 4,
            Interface::AzNotCovered => 5,
            // not findings of an existing endpoint
            Interface::Ok
            | Interface::Missing
            | Interface::MissingInternetRoute
            | Interface::NotAvailable
            | Interface::NoVpcContext
            | Interface::EcrPublic => 6,
        }
    }
}

/// No endpoint: is there a NAT or internet gateway to reach the service instead?
fn internet_or_missing<K>(
    snap: &VpcSnapshot,
    vc: &VpcContext,
    missing: K,
    internet: K,
) -> Finding<K> {
    match internet_route(snap, vc) {
        Some(target) => Finding::new(internet).fact("internet_target", target),
        None => Finding::new(missing),
    }
}

/// Subnets and a security group to name in a create-vpc-endpoint command: the client's
/// subnet, else one subnet per availability zone (two in one zone fail with
/// `DuplicateSubnetsInSameZone`); a group of the VPC that admits TCP 443 from the client
/// (an interface endpoint's first), else none (the commands then create one).
fn create_args(snap: &VpcSnapshot, vc: &VpcContext, client: &ClientSource) -> CreateArgs {
    let subnets = match &vc.subnet_id {
        Some(s) => vec![s.clone()],
        None => {
            let mut all: Vec<_> = snap.subnets.iter().collect();
            all.sort_by(|a, b| (&a.az, &a.id).cmp(&(&b.az, &b.id)));
            let mut zones: Vec<&str> = Vec::new();
            let mut out = Vec::new();
            for s in all {
                if !zones.contains(&s.az.as_str()) {
                    zones.push(&s.az);
                    out.push(s.id.clone());
                }
            }
            out
        }
    };
    let admits = |g: &String| groups_allow_443(snap, std::slice::from_ref(g), client);
    let group = snap
        .endpoints
        .iter()
        .filter(|e| e.kind.eq_ignore_ascii_case("Interface"))
        .flat_map(|e| e.group_ids.iter())
        .chain(snap.security_groups.iter().map(|g| &g.id))
        .find(|g| admits(g))
        .cloned();
    CreateArgs { subnets, group }
}

struct CreateArgs {
    subnets: Vec<String>,
    group: Option<String>,
}

impl CreateArgs {
    /// `subnets_for_cmd` (space-separated ids), and `security_group_for_cmd`: a group id,
    /// or `new` (a label: the group the commands create) with `new_group_cidr`. For the
    /// Terraform and CloudFormation forms: `create_subnet_ids` (a list) and `endpoint_group`
    /// (only when the group exists).
    fn facts<K: crate::engine::Code>(self, f: Finding<K>, client: &ClientSource) -> Finding<K> {
        let f = f
            .fact("subnets_for_cmd", self.subnets.join(" "))
            .fact("create_subnet_ids", self.subnets);
        match self.group {
            Some(g) => f
                .fact("security_group_for_cmd", g.clone())
                .fact("endpoint_group", g),
            None => match client.cidr {
                Some(c) => f
                    .fact("security_group_for_cmd", "new")
                    .fact("new_group_cidr", c.to_string()),
                None => f,
            },
        }
    }
}

/// `fips`, `dual-stack` or `fips-dual-stack` for a registry host that the ECR endpoint
/// services do not serve (PrivateLink carries neither), else None.
fn registry_variant(cx: &Ctx) -> Option<&'static str> {
    let r = parse_registry_host(&cx.registry()?)?;
    match (r.fips, r.dual_stack) {
        (true, true) => Some("fips-dual-stack"),
        (true, false) => Some("fips"),
        (false, true) => Some("dual-stack"),
        (false, false) => None,
    }
}

fn interface_endpoint(
    cx: Arc<Ctx>,
    svc: &'static str,
    private_dns_required: bool,
) -> BoxFuture<'static, Finding<Interface>> {
    async move {
        if cx.is_public() {
            return Finding::new(Interface::EcrPublic);
        }
        let Some((vc, snap)) = context(&cx).await else {
            return Finding::new(Interface::NoVpcContext);
        };
        let region = cx.region().to_string();
        let service = service_name(&region, svc);
        let client = client_source(&snap, &vc);
        let variant = registry_variant(&cx);
        let candidates: Vec<&EndpointInfo> = snap
            .endpoints
            .iter()
            .filter(|e| e.service_name == service && e.kind.eq_ignore_ascii_case("Interface"))
            .collect();
        let Some(ep) = candidates
            .iter()
            .find(|e| e.state.eq_ignore_ascii_case("available"))
            .or(candidates.first())
        else {
            let f = internet_or_missing(
                &snap,
                &vc,
                Interface::Missing,
                Interface::MissingInternetRoute,
            )
            .fact("vpc_id", vc.vpc_id.clone())
            .fact("service_name", service)
            .fact("registry_variant", variant);
            return create_args(&snap, &vc, &client).facts(f, &client);
        };
        let account = cx
            .registry()
            .and_then(|r| crate::aws::parse_registry_host(&r).map(|r| r.account))
            .or_else(|| cx.identity().map(|i| i.account.clone()))
            .unwrap_or_else(|| "*".into());
        let repo = cx
            .opts
            .image
            .as_ref()
            .map(|i| i.repository.clone())
            .unwrap_or_else(|| "example".into());
        let repo_arn = repository_arn(&region, &account, &repo);
        let endpoint_azs: Vec<String> = ep
            .subnet_ids
            .iter()
            .filter_map(|id| {
                snap.subnets
                    .iter()
                    .find(|s| &s.id == id)
                    .map(|s| s.az.clone())
            })
            .collect();
        let base = Finding::new(Interface::Ok)
            .fact("endpoint_id", ep.id.clone())
            .fact("service_name", service.clone())
            .fact("vpc_id", vc.vpc_id.clone())
            .fact("state", ep.state.clone())
            .fact("private_dns", ep.private_dns)
            .fact("endpoint_subnets", ep.subnet_ids.clone())
            .fact("endpoint_azs", endpoint_azs.clone())
            .fact("endpoint_groups", ep.group_ids.clone())
            .fact("client_source", client.kind)
            .fact("client_cidr", client.cidr.map(|c| c.to_string()))
            .fact("client_groups", client.groups.clone())
            .fact("repository_arn", repo_arn.clone())
            .fact("registry_variant", variant);
        if !ep.state.eq_ignore_ascii_case("available") {
            return base.with_code(Interface::NotAvailable);
        }
        let mut findings: Vec<Finding<Interface>> = Vec::new();
        if !ep.private_dns {
            // without private DNS the public name answers: fatal unless the subnet can reach it
            findings.push(match internet_route(&snap, &vc) {
                Some(target) if !private_dns_required => {
                    Finding::new(Interface::PrivateDnsDisabledInternetRoute)
                        .fact("internet_target", target)
                }
                _ => Finding::new(Interface::PrivateDnsDisabled),
            });
        }
        if !groups_allow_443(&snap, &ep.group_ids, &client) {
            findings.push(
                Finding::new(Interface::SecurityGroupBlocks443)
                    .fact("rules", rules(&snap, &ep.group_ids))
                    .fact("group_for_cmd", ep.group_ids.first().cloned()),
            );
        }
        let requests = [
            ("ecr:GetAuthorizationToken", "*".to_string()),
            ("ecr:BatchGetImage", repo_arn.clone()),
            ("ecr:GetDownloadUrlForLayer", repo_arn.clone()),
            ("ecr:BatchCheckLayerAvailability", repo_arn.clone()),
        ];
        let verdict = evaluate(ep.policy.as_deref(), &requests, &cx, &ep.id, &vc.vpc_id);
        let needed = match &verdict {
            PolicyVerdict::Denied { actions, .. } => ecr_pull_statement(actions),
            _ => serde_json::Value::Null,
        };
        findings.extend(policy_finding(
            verdict,
            ep.policy.as_deref(),
            needed,
            Interface::PolicyDenies,
            Interface::PolicyConditional,
        ));
        if let Some(az) = &vc.az {
            if !endpoint_azs.is_empty() && !endpoint_azs.contains(az) {
                findings.push(Finding::new(Interface::AzNotCovered).fact("az", az.clone()));
            }
        }
        findings.sort_by_key(|f| f.code.rank());
        let all: Vec<&str> = findings
            .iter()
            .map(|f| crate::engine::Code::as_str(f.code))
            .collect();
        let all: Vec<String> = all.into_iter().map(str::to_string).collect();
        match findings.into_iter().next() {
            None => base,
            Some(first) => base
                .with_code(first.code)
                .facts_from(&first.facts)
                .fact("findings", all),
        }
    }
    .boxed()
}

pub fn ecr_api(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Interface>> {
    interface_endpoint(cx, "ecr.api", false)
}

pub fn ecr_dkr(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Interface>> {
    interface_endpoint(cx, "ecr.dkr", true)
}

pub fn s3(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Gateway>> {
    async move {
        if cx.is_public() {
            return Finding::new(Gateway::EcrPublic);
        }
        let Some((vc, snap)) = context(&cx).await else {
            return Finding::new(Gateway::NoVpcContext);
        };
        let region = cx.region().to_string();
        let service = service_name(&region, "s3");
        let client_table = vc
            .subnet_id
            .as_deref()
            .and_then(|s| route_table_of(&snap, s));
        let table_for_cmd = client_table.map(|t| t.id.clone()).or_else(|| {
            snap.route_tables
                .iter()
                .find(|t| t.main)
                .map(|t| t.id.clone())
        });
        let of_service: Vec<&EndpointInfo> = snap
            .endpoints
            .iter()
            .filter(|e| e.service_name == service)
            .collect();
        let gateway = of_service
            .iter()
            .filter(|e| e.kind.eq_ignore_ascii_case("Gateway"))
            .max_by_key(|e| {
                (
                    client_table.is_some_and(|t| e.route_table_ids.contains(&t.id)),
                    e.state.eq_ignore_ascii_case("available"),
                )
            });
        let Some(ep) = gateway else {
            let interface = of_service
                .iter()
                .find(|e| e.kind.eq_ignore_ascii_case("Interface"));
            let o = match interface {
                Some(i) => Finding::new(Gateway::InterfaceOnly).fact("endpoint_id", i.id.clone()),
                None => {
                    internet_or_missing(&snap, &vc, Gateway::Missing, Gateway::MissingInternetRoute)
                }
            };
            return o
                .fact("vpc_id", vc.vpc_id.clone())
                .fact("service_name", service)
                .fact("route_table", table_for_cmd);
        };
        let bucket = layer_bucket(&region);
        let base = Finding::new(Gateway::Ok)
            .fact("endpoint_id", ep.id.clone())
            .fact("service_name", service.clone())
            .fact("vpc_id", vc.vpc_id.clone())
            .fact("state", ep.state.clone())
            .fact("route_tables_with_endpoint", ep.route_table_ids.clone())
            .fact("route_table", table_for_cmd.clone())
            .fact("layer_bucket", bucket.clone())
            .fact("layer_objects_arn", s3_object_arn(&region, &bucket, "*"));
        if !ep.state.eq_ignore_ascii_case("available") {
            return base.with_code(Gateway::NotAvailable);
        }
        if let (Some(subnet), Some(t)) = (&vc.subnet_id, client_table) {
            if !ep.route_table_ids.contains(&t.id) {
                // the endpoint's route tables once the client's is added (CloudFormation has
                // no association resource: RouteTableIds of the endpoint holds them all)
                let mut with_client = ep.route_table_ids.clone();
                with_client.push(t.id.clone());
                return base
                    .with_code(Gateway::RouteTableNotAssociated)
                    .fact("route_tables_with_client", with_client)
                    .fact("subnet_id", subnet.clone())
                    .fact(
                        "association",
                        if t.subnet_ids.contains(subnet) {
                            "explicit"
                        } else {
                            "main"
                        },
                    );
            }
        }
        let object = s3_object_arn(
            &region,
            &bucket,
            "docker/registry/v2/blobs/sha256/layer/data",
        );
        // ECR presigns layer URLs with its own credentials: evaluated for that requester
        if let Some(f) = policy_finding(
            evaluate_layer_download(ep.policy.as_deref(), &object, &ep.id, &vc.vpc_id),
            ep.policy.as_deref(),
            layer_bucket_statement(&s3_object_arn(&region, &bucket, "*")),
            Gateway::PolicyDeniesLayerBucket,
            Gateway::PolicyConditional,
        ) {
            return base.with_code(f.code).facts_from(&f.facts);
        }
        if vc.subnet_id.is_none() {
            return base.with_code(Gateway::OkNoSubnet);
        }
        base
    }
    .boxed()
}
