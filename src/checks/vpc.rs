//! VPC checks: the VPC itself, its DNS attributes, and the three endpoints a private subnet
//! needs to pull from ECR (ecr.api, ecr.dkr interface endpoints; the S3 gateway endpoint).
//! Read-only: everything comes from one [`VpcSnapshot`] of `ec2:Describe*` calls.

use super::identity::{common_failure, is_access_denied};
use super::{Ctx, VpcContext};
use crate::aws::{self, layer_bucket, service_name};
use crate::engine::Outcome;
use crate::policy::{self, Decision, Request};
use crate::probes::{EndpointInfo, RouteTableInfo, VpcSnapshot};
use futures::future::{BoxFuture, FutureExt};
use ipnet::Ipv4Net;
use std::sync::Arc;

/// The route table that serves `subnet`: its explicit association, else the main table.
pub fn route_table_of<'a>(snap: &'a VpcSnapshot, subnet: &str) -> Option<&'a RouteTableInfo> {
    snap.route_tables
        .iter()
        .find(|t| t.subnet_ids.iter().any(|s| s == subnet))
        .or_else(|| snap.route_tables.iter().find(|t| t.main))
}

/// The NAT or internet gateway that the client's default route goes to, if any.
fn internet_route(snap: &VpcSnapshot, vc: &VpcContext) -> Option<String> {
    let table = match &vc.subnet_id {
        Some(s) => route_table_of(snap, s),
        None => snap.route_tables.iter().find(|t| t.main),
    }?;
    table
        .routes
        .iter()
        .find(|r| {
            r.destination == "0.0.0.0/0"
                && (r.target.starts_with("nat-") || r.target.starts_with("igw-"))
        })
        .map(|r| r.target.clone())
}

fn net(s: &str) -> Option<Ipv4Net> {
    s.trim().parse::<Ipv4Net>().ok().or_else(|| {
        s.trim()
            .parse::<std::net::Ipv4Addr>()
            .ok()
            .map(Ipv4Net::from)
    })
}

/// What the client's traffic comes from, for security group rules.
struct ClientSource {
    /// The subnet CIDR when known, else the VPC's first CIDR.
    cidr: Option<Ipv4Net>,
    label: String,
    groups: Vec<String>,
}

fn client_source(snap: &VpcSnapshot, vc: &VpcContext) -> ClientSource {
    let (cidr, label) = match vc.subnet_cidr.as_deref().and_then(net) {
        Some(c) => (Some(c), format!("the client subnet {c}")),
        None => {
            let c = snap.cidrs.first().and_then(|c| net(c));
            (
                c,
                format!(
                    "the VPC CIDR {}",
                    snap.cidrs.first().cloned().unwrap_or_default()
                ),
            )
        }
    };
    let label = if vc.security_groups.is_empty() {
        label
    } else {
        format!(
            "{label} or security group {}",
            vc.security_groups.join(", ")
        )
    };
    ClientSource {
        cidr,
        label,
        groups: vc.security_groups.clone(),
    }
}

/// Whether any of `groups` lets TCP 443 in from the client.
fn groups_allow_443(snap: &VpcSnapshot, groups: &[String], client: &ClientSource) -> bool {
    let covers = |c: &str| match (net(c), client.cidr) {
        (Some(rule), Some(src)) => rule.contains(&src),
        _ => false,
    };
    snap.security_groups
        .iter()
        .filter(|g| groups.contains(&g.id))
        .flat_map(|g| g.ingress.iter())
        .filter(|r| {
            r.protocol == "-1"
                || ((r.protocol == "tcp" || r.protocol == "6")
                    && r.from_port.unwrap_or(0) <= 443
                    && r.to_port.unwrap_or(65535) >= 443)
        })
        .any(|r| {
            r.cidrs.iter().any(|c| covers(c))
                || r.prefix_lists.iter().any(|pl| {
                    snap.prefix_lists
                        .get(pl)
                        .is_some_and(|cidrs| cidrs.iter().any(|c| covers(c)))
                })
                || r.groups.iter().any(|g| client.groups.contains(g))
        })
}

fn rules_text(snap: &VpcSnapshot, groups: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for g in snap
        .security_groups
        .iter()
        .filter(|g| groups.contains(&g.id))
    {
        for r in &g.ingress {
            let ports = match (r.protocol.as_str(), r.from_port, r.to_port) {
                ("-1", _, _) => "all traffic".to_string(),
                (p, Some(a), Some(b)) if a == b => format!("{p} {a}"),
                (p, Some(a), Some(b)) => format!("{p} {a}-{b}"),
                (p, _, _) => p.to_string(),
            };
            let from: Vec<String> = r
                .cidrs
                .iter()
                .chain(r.prefix_lists.iter())
                .chain(r.groups.iter())
                .cloned()
                .collect();
            out.push(format!("{}: {ports} from {}", g.id, from.join(" ")));
        }
        if g.ingress.is_empty() {
            out.push(format!("{}: no inbound rules", g.id));
        }
    }
    out
}

enum PolicyVerdict {
    Allowed,
    Conditional(Vec<String>),
    Denied(Vec<String>),
    Unreadable(String),
}

/// Evaluates an endpoint policy (None = the default full-access policy) for each
/// `(action, resource)`.
fn evaluate(policy_doc: Option<&str>, requests: &[(&str, String)], cx: &Ctx) -> PolicyVerdict {
    let Some(doc) = policy_doc else {
        return PolicyVerdict::Allowed;
    };
    let p = match policy::parse(doc) {
        Ok(p) => p,
        Err(e) => return PolicyVerdict::Unreadable(e.to_string()),
    };
    let identity = cx.board.identity.get();
    let mut denied = Vec::new();
    let mut conditional = Vec::new();
    for (action, resource) in requests {
        let req = Request {
            action,
            resource,
            principal: identity.map(|i| i.arn.as_str()),
            principal_account: identity.map(|i| i.account.as_str()),
        };
        match p.evaluate(&req) {
            Decision::Allowed => {}
            Decision::AllowedWithConditions { conditions, .. } => {
                conditional.push(format!("{action} (only if {})", conditions.join(", ")))
            }
            Decision::ExplicitDeny { statement } => {
                denied.push(format!("{action} (denied by statement {statement})"))
            }
            Decision::DenyUnderConditions { conditions, .. } => {
                conditional.push(format!("{action} (denied if {})", conditions.join(", ")))
            }
            Decision::ImplicitDeny => denied.push(format!("{action} (no statement allows it)")),
        }
    }
    if !denied.is_empty() {
        PolicyVerdict::Denied(denied)
    } else if !conditional.is_empty() {
        PolicyVerdict::Conditional(conditional)
    } else {
        PolicyVerdict::Allowed
    }
}

/// The VPC and client placement, as `vpc.lookup` left them.
async fn context(cx: &Ctx) -> Option<(VpcContext, VpcSnapshot)> {
    let vc = cx.board.vpc.get()?.clone();
    let snap = cx.aws.vpc_snapshot(vc.vpc_id.clone()).await.ok()?;
    Some((vc, snap))
}

pub fn lookup(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    async move {
        let mut vc = match &cx.opts.vpc {
            Some(v) => VpcContext {
                vpc_id: v.clone(),
                subnet_id: cx.opts.subnet.clone(),
                subnet_cidr: None,
                az: None,
                security_groups: cx.opts.security_groups.clone(),
                source: "--vpc".into(),
            },
            None => match cx.metadata.placement().await {
                Ok(Some(p)) => VpcContext {
                    vpc_id: p.vpc_id,
                    subnet_id: cx.opts.subnet.clone().or(p.subnet_id),
                    subnet_cidr: p.subnet_cidr,
                    az: p.az,
                    security_groups: if cx.opts.security_groups.is_empty() {
                        p.security_groups
                    } else {
                        cx.opts.security_groups.clone()
                    },
                    source: p.source,
                },
                Ok(None) => {
                    return Outcome::new("no-vpc").fact(
                        "why",
                        "no --vpc given, and neither EC2 instance metadata nor ECS task metadata answered",
                    )
                }
                Err(e) => return Outcome::new("no-vpc").fact("why", format!("metadata could not be read: {e}")),
            },
        };
        let snap = match cx.aws.vpc_snapshot(vc.vpc_id.clone()).await {
            Ok(s) => s,
            Err(e) => {
                let base = |code: &str| {
                    Outcome::new(code)
                        .fact("vpc_id", vc.vpc_id.clone())
                        .fact("error", e.summary())
                        .fact("detected_from", vc.source.clone())
                };
                return match e.code() {
                    Some(c) if c.contains("NotFound") || c.contains("Malformed") => base("not-found"),
                    Some(c) if c.contains("UnauthorizedOperation") => base("access-denied"),
                    _ if is_access_denied(&e) => base("access-denied"),
                    _ => common_failure(&e)
                        .map(|o| o.fact("vpc_id", vc.vpc_id.clone()))
                        .unwrap_or_else(|| base("api-error")),
                };
            }
        };
        // complete the client's subnet from whichever half we know
        let subnet = match (&vc.subnet_id, &vc.subnet_cidr) {
            (Some(id), _) => match snap.subnets.iter().find(|s| &s.id == id) {
                Some(s) => Some(s.clone()),
                None => {
                    return Outcome::new("subnet-not-in-vpc")
                        .fact("vpc_id", vc.vpc_id.clone())
                        .fact("subnet_id", id.clone())
                        .fact("subnets", snap.subnets.iter().map(|s| s.id.clone()).collect::<Vec<_>>())
                }
            },
            (None, Some(cidr)) => snap.subnets.iter().find(|s| &s.cidr == cidr).cloned(),
            _ => None,
        };
        if let Some(s) = &subnet {
            vc.subnet_id = Some(s.id.clone());
            vc.subnet_cidr = Some(s.cidr.clone());
            vc.az = Some(s.az.clone());
        }
        let _ = cx.board.vpc.set(vc.clone());
        Outcome::new("ok")
            .fact("vpc_id", vc.vpc_id.clone())
            .fact("cidrs", snap.cidrs.clone())
            .fact("detected_from", vc.source.clone())
            .fact("subnet_id", vc.subnet_id.clone())
            .fact("subnet_cidr", vc.subnet_cidr.clone())
            .fact("availability_zone", vc.az.clone())
            .fact("client_security_groups", vc.security_groups.clone())
            .fact(
                "endpoints",
                snap.endpoints
                    .iter()
                    .map(|e| format!("{} {} ({})", e.id, e.service_name, e.state))
                    .collect::<Vec<_>>(),
            )
            .fact("client", match &vc.subnet_id {
                Some(s) => format!("subnet {s}"),
                None => "no subnet given".to_string(),
            })
    }
    .boxed()
}

pub fn dns_attributes(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    async move {
        let Some((vc, snap)) = context(&cx).await else {
            return Outcome::new("no-vpc-context");
        };
        let base = Outcome::new("ok")
            .fact("vpc_id", vc.vpc_id.clone())
            .fact("dns_support", snap.dns_support)
            .fact("dns_hostnames", snap.dns_hostnames);
        if !snap.dns_support {
            return Outcome {
                code: "dns-support-disabled".into(),
                ..base
            };
        }
        if !snap.dns_hostnames {
            return Outcome {
                code: "dns-hostnames-disabled".into(),
                ..base
            };
        }
        let custom: Vec<String> = snap
            .dns_servers
            .iter()
            .filter(|s| !s.eq_ignore_ascii_case("AmazonProvidedDNS"))
            .cloned()
            .collect();
        if !custom.is_empty() {
            let resolver = snap
                .cidrs
                .first()
                .and_then(|c| net(c))
                .map(|n| {
                    let base = u32::from(n.network());
                    std::net::Ipv4Addr::from(base + 2).to_string()
                })
                .unwrap_or_else(|| "the VPC resolver (base + 2)".into());
            return Outcome {
                code: "custom-dns-servers".into(),
                ..base
            }
            .fact("dns_servers", custom)
            .fact("vpc_resolver", resolver);
        }
        base
    }
    .boxed()
}

fn internet_or_missing(snap: &VpcSnapshot, vc: &VpcContext) -> Outcome {
    match internet_route(snap, vc) {
        Some(target) => Outcome::new("missing-internet-route").fact("internet_target", target),
        None => Outcome::new("missing"),
    }
}

/// Subnets and a security group to name in a create-vpc-endpoint command.
fn create_args(snap: &VpcSnapshot, vc: &VpcContext) -> (String, Option<String>) {
    let subnets = match &vc.subnet_id {
        Some(s) => s.clone(),
        None => snap
            .subnets
            .iter()
            .map(|s| s.id.clone())
            .collect::<Vec<_>>()
            .join(" "),
    };
    let group = snap
        .endpoints
        .iter()
        .filter(|e| e.kind == "Interface")
        .find_map(|e| e.group_ids.first().cloned())
        .or_else(|| vc.security_groups.first().cloned())
        .or_else(|| {
            snap.security_groups
                .iter()
                .find(|g| g.name == "default")
                .map(|g| g.id.clone())
        });
    (subnets, group)
}

fn interface_endpoint(
    cx: Arc<Ctx>,
    svc: &'static str,
    private_dns_fatal: bool,
) -> BoxFuture<'static, Outcome> {
    async move {
        let Some((vc, snap)) = context(&cx).await else {
            return Outcome::new("no-vpc-context");
        };
        let region = cx.region().to_string();
        let service = service_name(&region, svc);
        let (subnets_cmd, group_cmd) = create_args(&snap, &vc);
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
            return internet_or_missing(&snap, &vc)
                .fact("vpc_id", vc.vpc_id.clone())
                .fact("service_name", service)
                .fact("subnets_for_cmd", subnets_cmd)
                .fact("security_group_for_cmd", group_cmd);
        };
        let client = client_source(&snap, &vc);
        let account = cx
            .registry()
            .and_then(|r| aws::parse_registry_host(&r).map(|r| r.account))
            .or_else(|| cx.board.identity.get().map(|i| i.account.clone()))
            .unwrap_or_else(|| "*".into());
        let repo = cx
            .opts
            .image
            .as_ref()
            .map(|i| i.repository.clone())
            .unwrap_or_else(|| "example".into());
        let repo_arn = aws::arn::repository_arn(&region, &account, &repo);
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
        let base = Outcome::new("ok")
            .fact("endpoint_id", ep.id.clone())
            .fact("service_name", service.clone())
            .fact("vpc_id", vc.vpc_id.clone())
            .fact("state", ep.state.clone())
            .fact("private_dns", ep.private_dns)
            .fact("endpoint_subnets", ep.subnet_ids.clone())
            .fact("endpoint_azs", endpoint_azs.clone())
            .fact("endpoint_groups", ep.group_ids.clone())
            .fact("client_source", client.label.clone())
            .fact("client_cidr", client.cidr.map(|c| c.to_string()))
            .fact("repository_arn", repo_arn.clone());
        if !ep.state.eq_ignore_ascii_case("available") {
            return Outcome {
                code: "not-available".into(),
                ..base
            };
        }
        let mut findings: Vec<Outcome> = Vec::new();
        if !ep.private_dns {
            findings.push(Outcome::new("private-dns-disabled"));
        }
        if !groups_allow_443(&snap, &ep.group_ids, &client) {
            findings.push(
                Outcome::new("security-group-blocks-443")
                    .fact("rules", rules_text(&snap, &ep.group_ids))
                    .fact("group_for_cmd", ep.group_ids.first().cloned()),
            );
        }
        let requests = [
            ("ecr:GetAuthorizationToken", "*".to_string()),
            ("ecr:BatchGetImage", repo_arn.clone()),
            ("ecr:GetDownloadUrlForLayer", repo_arn.clone()),
            ("ecr:BatchCheckLayerAvailability", repo_arn.clone()),
        ];
        match evaluate(ep.policy.as_deref(), &requests, &cx) {
            PolicyVerdict::Allowed => {}
            PolicyVerdict::Denied(d) => {
                findings.push(Outcome::new("policy-denies").fact("denied_actions", d))
            }
            PolicyVerdict::Unreadable(e) => findings.push(Outcome::new("policy-denies").fact(
                "denied_actions",
                vec![format!("the policy could not be read: {e}")],
            )),
            PolicyVerdict::Conditional(c) => {
                findings.push(Outcome::new("policy-conditional").fact("conditional_actions", c))
            }
        }
        if let Some(az) = &vc.az {
            if !endpoint_azs.is_empty() && !endpoint_azs.contains(az) {
                findings.push(Outcome::new("az-not-covered").fact("az", az.clone()));
            }
        }
        // the most serious finding decides the code; all are listed
        let rank = |code: &str| match code {
            "private-dns-disabled" if private_dns_fatal => 0,
            "security-group-blocks-443" => 1,
            "policy-denies" => 2,
            "private-dns-disabled" => 3,
            "policy-conditional" => 4,
            _ => 5,
        };
        findings.sort_by_key(|f| rank(&f.code));
        let all: Vec<String> = findings.iter().map(|f| f.code.clone()).collect();
        match findings.into_iter().next() {
            None => base,
            Some(first) => Outcome {
                code: first.code.clone(),
                ..base
            }
            .facts_from(&first.facts)
            .fact("findings", all),
        }
    }
    .boxed()
}

pub fn ecr_api(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    interface_endpoint(cx, "ecr.api", false)
}

pub fn ecr_dkr(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    interface_endpoint(cx, "ecr.dkr", true)
}

pub fn s3(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    async move {
        let Some((vc, snap)) = context(&cx).await else {
            return Outcome::new("no-vpc-context");
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
                Some(i) => Outcome::new("interface-only").fact("endpoint_id", i.id.clone()),
                None => internet_or_missing(&snap, &vc),
            };
            return o
                .fact("vpc_id", vc.vpc_id.clone())
                .fact("service_name", service)
                .fact("route_table", table_for_cmd);
        };
        let bucket = layer_bucket(&region);
        let base = Outcome::new("ok")
            .fact("endpoint_id", ep.id.clone())
            .fact("service_name", service.clone())
            .fact("vpc_id", vc.vpc_id.clone())
            .fact("state", ep.state.clone())
            .fact("route_tables_with_endpoint", ep.route_table_ids.clone())
            .fact("route_table", table_for_cmd.clone())
            .fact("layer_bucket", bucket.clone());
        if !ep.state.eq_ignore_ascii_case("available") {
            return Outcome {
                code: "not-available".into(),
                ..base
            };
        }
        if let (Some(subnet), Some(t)) = (&vc.subnet_id, client_table) {
            if !ep.route_table_ids.contains(&t.id) {
                return Outcome {
                    code: "route-table-not-associated".into(),
                    ..base
                }
                .fact("subnet_id", subnet.clone())
                .fact(
                    "association",
                    if t.subnet_ids.contains(subnet) {
                        "explicit"
                    } else {
                        "main route table"
                    },
                );
            }
        }
        let object = aws::arn::s3_object_arn(
            &region,
            &bucket,
            "docker/registry/v2/blobs/sha256/layer/data",
        );
        match evaluate(ep.policy.as_deref(), &[("s3:GetObject", object)], &cx) {
            PolicyVerdict::Allowed => {}
            PolicyVerdict::Denied(d) => {
                return Outcome {
                    code: "policy-denies-layer-bucket".into(),
                    ..base
                }
                .fact("denied_actions", d)
            }
            PolicyVerdict::Unreadable(e) => {
                return Outcome {
                    code: "policy-denies-layer-bucket".into(),
                    ..base
                }
                .fact(
                    "denied_actions",
                    vec![format!("the policy could not be read: {e}")],
                )
            }
            PolicyVerdict::Conditional(c) => {
                return Outcome {
                    code: "policy-conditional".into(),
                    ..base
                }
                .fact("conditional_actions", c)
            }
        }
        if vc.subnet_id.is_none() {
            return Outcome {
                code: "ok-no-subnet".into(),
                ..base
            };
        }
        base
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::{ctx_with, render, FakeAws};
    use crate::checks::Identity;
    use crate::probes::*;

    const ECR_POLICY: &str = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":["ecr:GetAuthorizationToken","ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"],"Resource":"*"}]}"#;
    const S3_POLICY: &str = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*"]}]}"#;

    fn iface(id: &str, svc: &str) -> EndpointInfo {
        EndpointInfo {
            id: id.into(),
            service_name: format!("com.amazonaws.us-east-1.{svc}"),
            kind: "Interface".into(),
            state: "available".into(),
            private_dns: true,
            subnet_ids: vec!["subnet-aaaa1111".into()],
            group_ids: vec!["sg-endpoint1".into()],
            route_table_ids: vec![],
            policy: Some(ECR_POLICY.into()),
            network_interface_ids: vec![],
        }
    }

    fn healthy() -> VpcSnapshot {
        VpcSnapshot {
            vpc_id: "vpc-1a2b3c4d".into(),
            cidrs: vec!["10.0.0.0/16".into()],
            dns_support: true,
            dns_hostnames: true,
            dns_servers: vec!["AmazonProvidedDNS".into()],
            subnets: vec![
                SubnetInfo {
                    id: "subnet-aaaa1111".into(),
                    cidr: "10.0.1.0/24".into(),
                    az: "us-east-1a".into(),
                },
                SubnetInfo {
                    id: "subnet-bbbb2222".into(),
                    cidr: "10.0.2.0/24".into(),
                    az: "us-east-1b".into(),
                },
            ],
            endpoints: vec![
                iface("vpce-api", "ecr.api"),
                iface("vpce-dkr", "ecr.dkr"),
                EndpointInfo {
                    id: "vpce-s3".into(),
                    service_name: "com.amazonaws.us-east-1.s3".into(),
                    kind: "Gateway".into(),
                    state: "available".into(),
                    route_table_ids: vec!["rtb-private".into()],
                    policy: Some(S3_POLICY.into()),
                    ..Default::default()
                },
            ],
            route_tables: vec![
                RouteTableInfo {
                    id: "rtb-main".into(),
                    main: true,
                    subnet_ids: vec![],
                    routes: vec![RouteInfo {
                        destination: "10.0.0.0/16".into(),
                        target: "local".into(),
                    }],
                },
                RouteTableInfo {
                    id: "rtb-private".into(),
                    main: false,
                    subnet_ids: vec!["subnet-aaaa1111".into(), "subnet-bbbb2222".into()],
                    routes: vec![RouteInfo {
                        destination: "10.0.0.0/16".into(),
                        target: "local".into(),
                    }],
                },
            ],
            security_groups: vec![
                SecurityGroupInfo {
                    id: "sg-endpoint1".into(),
                    name: "endpoint-sg".into(),
                    ingress: vec![IngressRule {
                        protocol: "tcp".into(),
                        from_port: Some(443),
                        to_port: Some(443),
                        cidrs: vec!["10.0.0.0/16".into()],
                        ..Default::default()
                    }],
                },
                SecurityGroupInfo {
                    id: "sg-client1".into(),
                    name: "client".into(),
                    ingress: vec![],
                },
                SecurityGroupInfo {
                    id: "sg-default".into(),
                    name: "default".into(),
                    ingress: vec![],
                },
            ],
            prefix_lists: Default::default(),
            endpoint_ips: Default::default(),
        }
    }

    fn with_vpc(snap: VpcSnapshot) -> Arc<Ctx> {
        with_flags(snap, Some("subnet-aaaa1111"), &[])
    }

    fn with_flags(snap: VpcSnapshot, subnet: Option<&str>, groups: &[&str]) -> Arc<Ctx> {
        let mut cx = ctx_with(
            FakeAws {
                vpc: Ok(snap),
                ..Default::default()
            },
            &[],
            Ok(None),
        );
        let c = Arc::get_mut(&mut cx).unwrap();
        c.opts.vpc = Some("vpc-1a2b3c4d".into());
        c.opts.subnet = subnet.map(str::to_string);
        c.opts.security_groups = groups.iter().map(|s| s.to_string()).collect();
        c.board
            .identity
            .set(Identity {
                account: "123456789012".into(),
                arn: "arn:aws:sts::123456789012:assumed-role/puller/i-1".into(),
            })
            .unwrap();
        cx
    }

    async fn run(id: &str, cx: Arc<Ctx>) -> Outcome {
        let lookup_out = lookup(cx.clone()).await;
        render("vpc.lookup", &lookup_out);
        let f = match id {
            "vpc.lookup" => return lookup_out,
            "vpc.dns-attributes" => super::dns_attributes,
            "vpc.endpoint.ecr-api" => ecr_api,
            "vpc.endpoint.ecr-dkr" => ecr_dkr,
            _ => s3,
        };
        let o = f(cx).await;
        render(id, &o);
        o
    }

    async fn code(id: &str, snap: VpcSnapshot) -> String {
        run(id, with_vpc(snap)).await.code
    }

    #[tokio::test]
    async fn healthy_vpc_passes_everything() {
        for id in [
            "vpc.lookup",
            "vpc.dns-attributes",
            "vpc.endpoint.ecr-api",
            "vpc.endpoint.ecr-dkr",
            "vpc.endpoint.s3",
        ] {
            assert_eq!(code(id, healthy()).await, "ok", "{id}");
        }
        let o = run("vpc.lookup", with_vpc(healthy())).await;
        assert_eq!(o.facts["availability_zone"], "us-east-1a");
        assert_eq!(o.facts["subnet_cidr"], "10.0.1.0/24");
    }

    #[tokio::test]
    async fn lookup_failures() {
        let cx = ctx_with(FakeAws::default(), &[], Ok(None));
        let o = lookup(cx).await;
        assert_eq!(o.code, "no-vpc");
        render("vpc.lookup", &o);
        let o = run(
            "vpc.lookup",
            with_flags(healthy(), Some("subnet-ffff9999"), &[]),
        )
        .await;
        assert_eq!(o.code, "subnet-not-in-vpc");
        let mut cx = ctx_with(
            FakeAws {
                vpc: Err(crate::checks::fake::service_error(
                    403,
                    "UnauthorizedOperation",
                    "You are not authorized to perform this operation.",
                )),
                ..Default::default()
            },
            &[],
            Ok(None),
        );
        Arc::get_mut(&mut cx).unwrap().opts.vpc = Some("vpc-1a2b3c4d".into());
        let o = lookup(cx).await;
        assert_eq!(o.code, "access-denied");
        render("vpc.lookup", &o);
    }

    #[tokio::test]
    async fn detects_placement_from_metadata() {
        // ECS gives the VPC and the subnet CIDR but no subnet id
        let placement = Placement {
            source: "ECS task metadata".into(),
            vpc_id: "vpc-1a2b3c4d".into(),
            subnet_cidr: Some("10.0.2.0/24".into()),
            az: Some("us-east-1b".into()),
            ..Default::default()
        };
        let cx = ctx_with(
            FakeAws {
                vpc: Ok(healthy()),
                ..Default::default()
            },
            &[],
            Ok(Some(placement)),
        );
        let o = lookup(cx.clone()).await;
        assert_eq!(o.code, "ok");
        assert_eq!(o.facts["detected_from"], "ECS task metadata");
        assert_eq!(o.facts["subnet_id"], "subnet-bbbb2222");
        assert_eq!(
            cx.board.vpc.get().unwrap().az.as_deref(),
            Some("us-east-1b")
        );
    }

    #[tokio::test]
    async fn dns_attribute_codes() {
        let mut s = healthy();
        s.dns_hostnames = false;
        assert_eq!(
            code("vpc.dns-attributes", s).await,
            "dns-hostnames-disabled"
        );
        let mut s = healthy();
        s.dns_support = false;
        assert_eq!(code("vpc.dns-attributes", s).await, "dns-support-disabled");
        let mut s = healthy();
        s.dns_servers = vec!["10.0.0.53".into()];
        let o = run("vpc.dns-attributes", with_vpc(s)).await;
        assert_eq!(o.code, "custom-dns-servers");
        assert_eq!(o.facts["vpc_resolver"], "10.0.0.2");
    }

    #[tokio::test]
    async fn missing_endpoints_and_internet_routes() {
        let mut s = healthy();
        s.endpoints.retain(|e| e.id != "vpce-dkr");
        let o = run("vpc.endpoint.ecr-dkr", with_vpc(s.clone())).await;
        assert_eq!(o.code, "missing");
        assert_eq!(o.facts["subnets_for_cmd"], "subnet-aaaa1111");
        assert_eq!(o.facts["security_group_for_cmd"], "sg-endpoint1");
        s.route_tables[1].routes.push(RouteInfo {
            destination: "0.0.0.0/0".into(),
            target: "nat-0abc".into(),
        });
        let o = run("vpc.endpoint.ecr-dkr", with_vpc(s)).await;
        assert_eq!(o.code, "missing-internet-route");
        assert_eq!(o.facts["internet_target"], "nat-0abc");
    }

    #[tokio::test]
    async fn private_dns_is_fatal_only_for_dkr() {
        let mut s = healthy();
        for e in &mut s.endpoints {
            e.private_dns = false;
        }
        assert_eq!(
            code("vpc.endpoint.ecr-dkr", s.clone()).await,
            "private-dns-disabled"
        );
        assert_eq!(
            code("vpc.endpoint.ecr-api", s).await,
            "private-dns-disabled"
        );
        let cat = crate::catalog::Catalog::embedded();
        let sev = |id: &str| cat.get(id).unwrap().codes["private-dns-disabled"].severity;
        assert_eq!(sev("vpc.endpoint.ecr-dkr"), crate::catalog::Severity::Fail);
        assert_eq!(sev("vpc.endpoint.ecr-api"), crate::catalog::Severity::Warn);
    }

    #[tokio::test]
    async fn state_not_available() {
        let mut s = healthy();
        s.endpoints[1].state = "pendingAcceptance".into();
        let o = run("vpc.endpoint.ecr-dkr", with_vpc(s)).await;
        assert_eq!(o.code, "not-available");
        assert_eq!(o.facts["state"], "pendingAcceptance");
    }

    fn sg_rule(
        protocol: &str,
        from: i32,
        to: i32,
        cidrs: &[&str],
        pls: &[&str],
        groups: &[&str],
    ) -> IngressRule {
        IngressRule {
            protocol: protocol.into(),
            from_port: Some(from),
            to_port: Some(to),
            cidrs: cidrs.iter().map(|s| s.to_string()).collect(),
            prefix_lists: pls.iter().map(|s| s.to_string()).collect(),
            groups: groups.iter().map(|s| s.to_string()).collect(),
        }
    }

    async fn sg_code(rule: IngressRule, subnet: Option<&str>, groups: &[&str]) -> String {
        let mut s = healthy();
        s.security_groups[0].ingress = vec![rule];
        s.prefix_lists
            .insert("pl-vpc".into(), vec!["10.0.0.0/16".into()]);
        run("vpc.endpoint.ecr-api", with_flags(s, subnet, groups))
            .await
            .code
    }

    #[tokio::test]
    async fn security_group_rules() {
        let blocked = "security-group-blocks-443";
        let subnet = Some("subnet-aaaa1111");
        #[rustfmt::skip]
        let cases: [(IngressRule, Option<&str>, &[&str], &str); 9] = [
            (sg_rule("tcp", 80, 80, &["10.0.0.0/16"], &[], &[]), subnet, &[], blocked),
            (sg_rule("tcp", 443, 443, &["192.168.0.0/24"], &[], &[]), subnet, &[], blocked),
            (sg_rule("tcp", 0, 65535, &["10.0.1.0/24"], &[], &[]), subnet, &[], "ok"),
            // a rule for the client subnet only is not proven for the whole VPC when no subnet is known
            (sg_rule("tcp", 443, 443, &["10.0.1.0/24"], &[], &[]), None, &[], blocked),
            (sg_rule("-1", 0, 0, &["0.0.0.0/0"], &[], &[]), None, &[], "ok"),
            (sg_rule("tcp", 443, 443, &[], &["pl-vpc"], &[]), subnet, &[], "ok"),
            (sg_rule("tcp", 443, 443, &[], &[], &["sg-client1"]), subnet, &["sg-client1"], "ok"),
            (sg_rule("tcp", 443, 443, &[], &[], &["sg-client1"]), subnet, &[], blocked),
            (sg_rule("udp", 443, 443, &["10.0.0.0/16"], &[], &[]), subnet, &[], blocked),
        ];
        for (i, (rule, subnet, groups, want)) in cases.into_iter().enumerate() {
            assert_eq!(sg_code(rule, subnet, groups).await, want, "case {i}");
        }
    }

    #[tokio::test]
    async fn endpoint_policies() {
        let mut s = healthy();
        s.endpoints[1].policy = Some(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:DescribeRepositories","Resource":"*"}]}"#.into());
        let o = run("vpc.endpoint.ecr-dkr", with_vpc(s)).await;
        assert_eq!(o.code, "policy-denies");
        assert_eq!(o.facts["denied_actions"].as_array().unwrap().len(), 4);
        let mut s = healthy();
        s.endpoints[1].policy = Some(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"ecr:BatchGetImage","Resource":"*"}]}"#.into(),
        );
        let o = run("vpc.endpoint.ecr-dkr", with_vpc(s)).await;
        assert_eq!(o.code, "policy-denies", "{:?}", o.facts);
        assert!(o.facts["denied_actions"][0]
            .as_str()
            .unwrap()
            .starts_with("ecr:BatchGetImage (denied"));
        let mut s = healthy();
        s.endpoints[1].policy = Some(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-123"}}}]}"#.into());
        assert_eq!(code("vpc.endpoint.ecr-dkr", s).await, "policy-conditional");
        // no policy document = the default full access
        let mut s = healthy();
        s.endpoints[1].policy = None;
        assert_eq!(code("vpc.endpoint.ecr-dkr", s).await, "ok");
    }

    #[tokio::test]
    async fn az_coverage_and_worst_finding_wins() {
        let o = run(
            "vpc.endpoint.ecr-api",
            with_flags(healthy(), Some("subnet-bbbb2222"), &[]),
        )
        .await;
        assert_eq!(o.code, "az-not-covered");
        assert_eq!(o.facts["az"], "us-east-1b");
        let mut s = healthy();
        s.endpoints[0].private_dns = false;
        s.security_groups[0].ingress.clear();
        let o = run(
            "vpc.endpoint.ecr-api",
            with_flags(s, Some("subnet-bbbb2222"), &[]),
        )
        .await;
        assert_eq!(o.code, "security-group-blocks-443");
        assert_eq!(
            o.facts["findings"],
            serde_json::json!([
                "security-group-blocks-443",
                "private-dns-disabled",
                "az-not-covered"
            ])
        );
    }

    #[tokio::test]
    async fn s3_gateway() {
        let mut s = healthy();
        s.endpoints[2].route_table_ids = vec!["rtb-main".into()];
        let o = run("vpc.endpoint.s3", with_vpc(s)).await;
        assert_eq!(o.code, "route-table-not-associated");
        assert_eq!(o.facts["route_table"], "rtb-private");
        // a subnet without explicit association uses the main table
        let mut s = healthy();
        s.route_tables[1].subnet_ids.clear();
        s.endpoints[2].route_table_ids = vec!["rtb-main".into()];
        assert_eq!(code("vpc.endpoint.s3", s).await, "ok");
        let mut s = healthy();
        s.endpoints[2].policy = Some(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::some-other-bucket/*"}]}"#.into());
        assert_eq!(
            code("vpc.endpoint.s3", s).await,
            "policy-denies-layer-bucket"
        );
        let mut s = healthy();
        s.endpoints[2].kind = "Interface".into();
        assert_eq!(code("vpc.endpoint.s3", s).await, "interface-only");
        let mut s = healthy();
        s.endpoints.remove(2);
        let o = run("vpc.endpoint.s3", with_vpc(s)).await;
        assert_eq!(o.code, "missing");
        assert_eq!(o.facts["route_table"], "rtb-private");
        let o = run("vpc.endpoint.s3", with_flags(healthy(), None, &[])).await;
        assert_eq!(o.code, "ok-no-subnet");
    }
}
