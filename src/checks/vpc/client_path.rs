//! `vpc.client-path`: how this client itself leaves its subnet for the ECR API, the registry
//! and S3: through VPC endpoints, a NAT gateway or an internet gateway (which needs a public
//! IPv4 address on the client), whether its security groups let TCP 443 out to where it
//! must go, whether network ACLs let the connection and its return traffic through, and
//! (EC2, in a container) whether the IMDSv2 hop limit leaves the container out.
//!
//! The subnet alone decides the route codes; the security groups only the egress part.
//! Evaluation is apart from the check ([`analyse`]) so that it is unit-tested on snapshots.

use super::{context, net, route_table_of};
use crate::aws::service_name;
use crate::checks::{Ctx, VpcContext};
use crate::engine::{Code, Finding};
use crate::probes::{
    AclEntry, ClientHost, ClientQuery, EndpointInfo, ImdsToken, IngressRule, NetworkAclInfo,
    Placement, PublicIpv4, VpcSnapshot,
};
use futures::future::{BoxFuture, FutureExt};
use ipnet::Ipv4Net;
use std::sync::Arc;

crate::codes! {
    pub enum ClientPath {
        OkEndpoints = "ok-endpoints",
        OkNat = "ok-nat",
        OkPublicIp = "ok-public-ip",
        OkOtherRoute = "ok-other-route",
        NoRoute = "no-route",
        NoPublicIp = "no-public-ip",
        SgEgressBlocks443 = "sg-egress-blocks-443",
        NaclBlocks = "nacl-blocks",
        ImdsHopLimit = "imds-hop-limit",
        UnknownClient = "unknown-client",
        NoVpcContext = "no-vpc-context",
    }
}

impl ClientPath {
    /// The most serious finding decides the code (0 first); all are listed in `findings`.
    fn rank(self) -> u8 {
        match self {
            ClientPath::NoRoute => 0,
            ClientPath::NoPublicIp => 1,
            ClientPath::SgEgressBlocks443 => 2,
            ClientPath::NaclBlocks => 3,
            ClientPath::ImdsHopLimit => 4,
            // not findings: the pass codes name the path, the others end the check early
            ClientPath::OkEndpoints
            | ClientPath::OkNat
            | ClientPath::OkPublicIp
            | ClientPath::OkOtherRoute
            | ClientPath::UnknownClient
            | ClientPath::NoVpcContext => 5,
        }
    }
}

/// The client's ephemeral ports (Linux `ip_local_port_range`): return traffic comes back
/// to one of them.
pub const EPHEMERAL: (i32, i32) = (32768, 60999);

/// The three services a pull needs, by endpoint service suffix.
const SERVICES: [&str; 3] = ["ecr.api", "ecr.dkr", "s3"];

/// How one service is reached from the client's subnet.
#[derive(Debug, Clone, PartialEq)]
pub enum Path {
    /// An available interface endpoint with private DNS.
    Interface(EndpointInfo),
    /// The S3 gateway endpoint on the client's route table, with its prefix list.
    Gateway {
        endpoint: String,
        prefix_list: Option<String>,
    },
    Nat(String),
    Igw(String),
    /// A transit gateway, virtual private gateway, peering or appliance: not followed.
    Other(String),
    /// Nothing: no endpoint and no usable default route.
    None,
}

impl Path {
    /// The id that carries the traffic (`vpce-…`, `nat-…`, `igw-…`, …), `none` without one.
    pub fn via(&self) -> String {
        match self {
            Path::Interface(e) => e.id.clone(),
            Path::Gateway { endpoint, .. } => endpoint.clone(),
            Path::Nat(id) | Path::Igw(id) | Path::Other(id) => id.clone(),
            Path::None => "none".into(),
        }
    }
}

/// What is known about the client machine beyond the subnet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientFacts {
    pub private_ip: Option<String>,
    pub public_ipv4: PublicIpv4,
    /// `instance-metadata` or `network-interface`: where `public_ipv4` comes from.
    pub public_ip_evidence: Option<&'static str>,
    pub instance_id: Option<String>,
    pub network_interface: Option<String>,
    pub launch_type: Option<String>,
    /// `ECS_CONTAINER_METADATA_URI_V4`, `KUBERNETES_SERVICE_HOST` or `/.dockerenv`.
    pub container: Option<&'static str>,
    pub hop_limit: Option<i32>,
    pub token: ImdsToken,
}

/// The default route of the client's table, judged: where it leads and why it does not.
struct DefaultRoute {
    target: Option<String>,
    path: Path,
    nat_state: Option<String>,
    nat_connectivity: Option<String>,
    nat_subnet_internet: Option<bool>,
}

fn default_route(snap: &VpcSnapshot, subnet: &str) -> DefaultRoute {
    let table = route_table_of(snap, subnet);
    let target = table.and_then(|t| {
        t.routes
            .iter()
            .find(|r| r.destination == "0.0.0.0/0")
            .map(|r| r.target.clone())
    });
    let mut out = DefaultRoute {
        target: target.clone(),
        path: Path::None,
        nat_state: None,
        nat_connectivity: None,
        nat_subnet_internet: None,
    };
    let Some(t) = target else { return out };
    out.path = if t.starts_with("igw-") {
        Path::Igw(t)
    } else if t.starts_with("nat-") {
        match snap.nat_gateways.iter().find(|n| n.id == t) {
            // not described (unreadable): the route is taken at its word
            None => Path::Nat(t),
            Some(n) => {
                let internet =
                    default_route_target(snap, &n.subnet_id).is_some_and(|x| x.starts_with("igw-"));
                out.nat_state = Some(n.state.clone());
                out.nat_connectivity = Some(n.connectivity.clone());
                out.nat_subnet_internet = Some(internet);
                let usable = n.state.eq_ignore_ascii_case("available")
                    && !n.connectivity.eq_ignore_ascii_case("private")
                    && internet;
                if usable {
                    Path::Nat(t)
                } else {
                    Path::None
                }
            }
        }
    } else if t.is_empty() || t == "local" {
        Path::None
    } else {
        Path::Other(t)
    };
    out
}

fn default_route_target(snap: &VpcSnapshot, subnet: &str) -> Option<String> {
    route_table_of(snap, subnet)?
        .routes
        .iter()
        .find(|r| r.destination == "0.0.0.0/0")
        .map(|r| r.target.clone())
}

/// The path of each of [`SERVICES`] from `subnet`.
pub fn paths(snap: &VpcSnapshot, region: &str, subnet: &str) -> Vec<(&'static str, Path)> {
    let table = route_table_of(snap, subnet);
    let internet = default_route(snap, subnet).path;
    SERVICES
        .iter()
        .map(|svc| {
            let name = service_name(region, svc);
            let of: Vec<&EndpointInfo> = snap
                .endpoints
                .iter()
                .filter(|e| e.service_name == name && e.state.eq_ignore_ascii_case("available"))
                .collect();
            let gateway = (*svc == "s3")
                .then(|| {
                    of.iter().find(|e| {
                        e.kind.eq_ignore_ascii_case("Gateway")
                            && table.is_some_and(|t| e.route_table_ids.contains(&t.id))
                    })
                })
                .flatten();
            let path = if let Some(g) = gateway {
                Path::Gateway {
                    endpoint: g.id.clone(),
                    prefix_list: table.and_then(|t| {
                        t.routes
                            .iter()
                            .find(|r| r.target == g.id && r.destination.starts_with("pl-"))
                            .map(|r| r.destination.clone())
                    }),
                }
            } else if let Some(i) = of
                .iter()
                .find(|e| e.kind.eq_ignore_ascii_case("Interface") && e.private_dns)
            {
                Path::Interface((*i).clone())
            } else {
                internet.clone()
            };
            (*svc, path)
        })
        .collect()
}

// ------------------------------------------------------------------ addresses

const PRIVATE: [&str; 6] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "127.0.0.0/8",
];

/// Whether `n` holds any public address (it is not inside a private block).
pub fn has_public_part(n: &Ipv4Net) -> bool {
    !PRIVATE
        .iter()
        .filter_map(|p| p.parse::<Ipv4Net>().ok())
        .any(|p| p.contains(n))
}

/// Who is at the other end of a connection, for rule matching.
#[derive(Debug, Clone, PartialEq)]
pub enum Peer {
    /// Addresses inside the VPC (an endpoint's interface, the client).
    Net(Ipv4Net),
    /// Public addresses (S3, the ECR API and registry over the internet).
    Public,
}

impl Peer {
    fn cidr(&self) -> String {
        match self {
            Peer::Net(n) => n.to_string(),
            Peer::Public => "0.0.0.0/0".into(),
        }
    }
}

fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

// ------------------------------------------------------------------ network ACLs

/// The ACL that serves `subnet`: its association, else the VPC's default ACL.
pub fn acl_of<'a>(snap: &'a VpcSnapshot, subnet: &str) -> Option<&'a NetworkAclInfo> {
    snap.network_acls
        .iter()
        .find(|a| a.subnet_ids.iter().any(|s| s == subnet))
        .or_else(|| snap.network_acls.iter().find(|a| a.is_default))
}

/// Where an ACL stops traffic: the rule (None: the `*` rule) and the ports it stops.
#[derive(Debug, Clone, PartialEq)]
pub struct AclBlock {
    pub rule: Option<i32>,
    pub ports: (i32, i32),
}

fn is_tcp(protocol: &str) -> Option<bool> {
    match protocol {
        "-1" | "all" => Some(true),
        "6" | "tcp" => Some(false),
        _ => None,
    }
}

/// Rule-number order, first match decides, the `*` rule denies. A deny counts only when
/// its CIDR holds the whole peer, an allow when it overlaps it (a verdict that could be
/// wrong errs towards passing); for public peers a deny counts only on 0.0.0.0/0.
pub fn acl_evaluate(
    acl: &NetworkAclInfo,
    egress: bool,
    peer: &Peer,
    ports: (i32, i32),
) -> Option<AclBlock> {
    let mut entries: Vec<&AclEntry> = acl
        .entries
        .iter()
        .filter(|e| e.egress == egress && e.rule_number < 32767)
        .collect();
    entries.sort_by_key(|e| e.rule_number);
    let mut open: Vec<(i32, i32)> = vec![ports];
    for e in entries {
        let Some(all_ports) = is_tcp(&e.protocol) else {
            continue;
        };
        let Some(cidr) = e.cidr.as_deref().and_then(net) else {
            continue;
        };
        let applies = match (peer, e.allow) {
            (Peer::Net(p), true) => overlaps(&cidr, p),
            (Peer::Net(p), false) => cidr.contains(p),
            (Peer::Public, true) => has_public_part(&cidr),
            (Peer::Public, false) => cidr.prefix_len() == 0,
        };
        if !applies {
            continue;
        }
        let (lo, hi) = if all_ports {
            (0, 65535)
        } else {
            (e.from_port.unwrap_or(0), e.to_port.unwrap_or(65535))
        };
        let mut rest = Vec::new();
        for (a, b) in open {
            let (x, y) = (a.max(lo), b.min(hi));
            if x > y {
                rest.push((a, b));
                continue;
            }
            if !e.allow {
                return Some(AclBlock {
                    rule: Some(e.rule_number),
                    ports: (x, y),
                });
            }
            if a < x {
                rest.push((a, x - 1));
            }
            if y < b {
                rest.push((y + 1, b));
            }
        }
        open = rest;
        if open.is_empty() {
            return None;
        }
    }
    open.first().map(|&p| AclBlock {
        rule: None,
        ports: p,
    })
}

/// One ACL verdict against the client's traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct AclFinding {
    pub acl: String,
    pub subnet: String,
    /// `client` or `endpoint`: whose subnet the ACL serves.
    pub side: &'static str,
    pub egress: bool,
    pub peer: String,
    pub service: &'static str,
    pub block: AclBlock,
    /// A free rule number below the blocking rule, for an allow entry in front of it.
    pub free_rule: Option<i32>,
}

impl AclFinding {
    /// `acl-1 rule 100 egress tcp 443 0.0.0.0/0 (s3)`: data for a list fact.
    fn summary(&self) -> String {
        let rule = self.block.rule.map_or("*".to_string(), |r| r.to_string());
        let (a, b) = self.block.ports;
        let ports = if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        };
        format!(
            "{} rule {rule} {} tcp {ports} {} ({})",
            self.acl,
            if self.egress { "egress" } else { "ingress" },
            self.peer,
            self.service
        )
    }
}

fn free_rule_below(acl: &NetworkAclInfo, egress: bool, below: i32) -> Option<i32> {
    let used: Vec<i32> = acl
        .entries
        .iter()
        .filter(|e| e.egress == egress)
        .map(|e| e.rule_number)
        .collect();
    (1..below.min(32767)).rev().find(|n| !used.contains(n))
}

/// The ACL checks of the paths: on the client's subnet 443 out and the return traffic in on
/// the ephemeral ports; on an endpoint's subnet (another than the client's) 443 in and the
/// ephemeral ports out. Traffic inside one subnet is not evaluated.
pub fn acl_findings(
    snap: &VpcSnapshot,
    client_subnet: &str,
    client_peer: &Peer,
    paths: &[(&'static str, Path)],
) -> Vec<AclFinding> {
    let mut out = Vec::new();
    let Some(client_acl) = acl_of(snap, client_subnet) else {
        return out; // ACLs unreadable: not judged
    };
    let mut check = |acl: &NetworkAclInfo,
                     subnet: &str,
                     side: &'static str,
                     egress: bool,
                     peer: &Peer,
                     ports: (i32, i32),
                     service: &'static str| {
        if let Some(block) = acl_evaluate(acl, egress, peer, ports) {
            let free_rule = free_rule_below(acl, egress, block.rule.unwrap_or(32767));
            let f = AclFinding {
                acl: acl.id.clone(),
                subnet: subnet.to_string(),
                side,
                egress,
                peer: peer.cidr(),
                service,
                block,
                free_rule,
            };
            if !out.contains(&f) {
                out.push(f);
            }
        }
    };
    for (service, path) in paths {
        match path {
            Path::Interface(ep) => {
                for s in &ep.subnet_ids {
                    if s == client_subnet {
                        continue;
                    }
                    let Some(cidr) = snap
                        .subnets
                        .iter()
                        .find(|x| &x.id == s)
                        .and_then(|x| net(&x.cidr))
                    else {
                        continue;
                    };
                    // the interface's own addresses in that subnet, else the subnet
                    let ips: Vec<Ipv4Net> = snap
                        .endpoint_ips
                        .get(&ep.id)
                        .into_iter()
                        .flatten()
                        .filter_map(|ip| net(ip))
                        .filter(|ip| cidr.contains(ip))
                        .collect();
                    let peers: Vec<Peer> = if ips.is_empty() {
                        vec![Peer::Net(cidr)]
                    } else {
                        ips.into_iter().map(Peer::Net).collect()
                    };
                    for p in &peers {
                        check(
                            client_acl,
                            client_subnet,
                            "client",
                            true,
                            p,
                            (443, 443),
                            service,
                        );
                        check(
                            client_acl,
                            client_subnet,
                            "client",
                            false,
                            p,
                            EPHEMERAL,
                            service,
                        );
                    }
                    if let Some(ep_acl) = acl_of(snap, s) {
                        if ep_acl.id != client_acl.id || s != client_subnet {
                            check(
                                ep_acl,
                                s,
                                "endpoint",
                                false,
                                client_peer,
                                (443, 443),
                                service,
                            );
                            check(ep_acl, s, "endpoint", true, client_peer, EPHEMERAL, service);
                        }
                    }
                }
            }
            Path::Gateway { .. } | Path::Nat(_) | Path::Igw(_) | Path::Other(_) => {
                let p = Peer::Public;
                check(
                    client_acl,
                    client_subnet,
                    "client",
                    true,
                    &p,
                    (443, 443),
                    service,
                );
                check(
                    client_acl,
                    client_subnet,
                    "client",
                    false,
                    &p,
                    EPHEMERAL,
                    service,
                );
            }
            Path::None => {}
        }
    }
    out
}

// ------------------------------------------------------------------ security groups

fn allows_443(r: &IngressRule) -> bool {
    r.protocol == "-1"
        || ((r.protocol == "tcp" || r.protocol == "6")
            && r.from_port.unwrap_or(0) <= 443
            && r.to_port.unwrap_or(65535) >= 443)
}

/// Whether one egress rule lets TCP 443 reach the service by `path`.
fn rule_reaches(snap: &VpcSnapshot, r: &IngressRule, path: &Path) -> bool {
    if !allows_443(r) {
        return false;
    }
    let pl_cidrs = |pl: &String| -> Option<Vec<Ipv4Net>> {
        snap.prefix_lists
            .get(pl)
            .map(|c| c.iter().filter_map(|x| net(x)).collect())
    };
    match path {
        Path::Interface(ep) => {
            let mut targets: Vec<Ipv4Net> = snap
                .endpoint_ips
                .get(&ep.id)
                .into_iter()
                .flatten()
                .filter_map(|ip| net(ip))
                .collect();
            targets.extend(
                snap.subnets
                    .iter()
                    .filter(|s| ep.subnet_ids.contains(&s.id))
                    .filter_map(|s| net(&s.cidr)),
            );
            let covers = |c: &Ipv4Net| targets.iter().any(|t| c.contains(t));
            r.cidrs.iter().filter_map(|c| net(c)).any(|c| covers(&c))
                || r.groups.iter().any(|g| ep.group_ids.contains(g))
                || r.prefix_lists
                    .iter()
                    .any(|pl| pl_cidrs(pl).is_some_and(|cs| cs.iter().any(covers)))
        }
        Path::Gateway { prefix_list, .. } => {
            r.prefix_lists
                .iter()
                .any(|pl| Some(pl) == prefix_list.as_ref())
                || public_rule(snap, r)
        }
        Path::Nat(_) | Path::Igw(_) | Path::Other(_) => public_rule(snap, r),
        Path::None => true,
    }
}

/// A rule towards public addresses: a CIDR with a public part, or a prefix list that is
/// unknown or holds one (S3's own list among them).
fn public_rule(snap: &VpcSnapshot, r: &IngressRule) -> bool {
    r.cidrs
        .iter()
        .filter_map(|c| net(c))
        .any(|c| has_public_part(&c))
        || r.prefix_lists
            .iter()
            .any(|pl| match snap.prefix_lists.get(pl) {
                None => true,
                Some(cs) => cs
                    .iter()
                    .filter_map(|c| net(c))
                    .any(|c| has_public_part(&c)),
            })
}

/// The services whose path the client's groups give no TCP 443 egress to. `None` when a
/// group is not in the snapshot (its rules are unknown, so nothing is judged).
pub fn egress_blocked(
    snap: &VpcSnapshot,
    groups: &[String],
    paths: &[(&'static str, Path)],
) -> Option<Vec<&'static str>> {
    let mut rules = Vec::new();
    for g in groups {
        rules.extend(snap.security_group_egress.get(g)?.iter());
    }
    Some(
        paths
            .iter()
            .filter(|(_, p)| *p != Path::None && !rules.iter().any(|r| rule_reaches(snap, r, p)))
            .map(|(s, _)| *s)
            .collect(),
    )
}

/// The egress rules of `groups`, one per entry, as `sg-1 tcp/443 -> 10.0.0.0/16`.
fn egress_rules(snap: &VpcSnapshot, groups: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for g in groups {
        let rules = snap
            .security_group_egress
            .get(g)
            .cloned()
            .unwrap_or_default();
        for r in &rules {
            let ports = match (r.protocol.as_str(), r.from_port, r.to_port) {
                ("-1", _, _) => "all".to_string(),
                (p, Some(a), Some(b)) if a == b => format!("{p}/{a}"),
                (p, Some(a), Some(b)) => format!("{p}/{a}-{b}"),
                (p, _, _) => p.to_string(),
            };
            let to: Vec<String> = r
                .cidrs
                .iter()
                .chain(&r.prefix_lists)
                .chain(&r.groups)
                .cloned()
                .collect();
            out.push(format!("{g} {ports} -> {}", to.join(" ")));
        }
        if rules.is_empty() {
            out.push(format!("{g} none"));
        }
    }
    out
}

// ------------------------------------------------------------------ the verdict

/// Everything the check decides, from the snapshot and what is known of the client.
pub fn analyse(
    snap: &VpcSnapshot,
    vc: &VpcContext,
    region: &str,
    client: &ClientFacts,
) -> Finding<ClientPath> {
    let Some(subnet) = vc.subnet_id.clone() else {
        return Finding::new(ClientPath::UnknownClient)
            .fact("vpc_id", vc.vpc_id.clone())
            .fact("client_groups", vc.security_groups.clone());
    };
    let paths = paths(snap, region, &subnet);
    let route = default_route(snap, &subnet);
    let table = route_table_of(snap, &subnet).map(|t| t.id.clone());
    let via = |svc: &str| {
        paths
            .iter()
            .find(|(s, _)| *s == svc)
            .map(|(_, p)| p.via())
            .unwrap_or_default()
    };
    let of_kind = |f: fn(&Path) -> bool| -> Vec<&'static str> {
        paths
            .iter()
            .filter(|(_, p)| f(p))
            .map(|(s, _)| *s)
            .collect()
    };
    let mut base = Finding::new(ClientPath::OkEndpoints)
        .fact("vpc_id", vc.vpc_id.clone())
        .fact("subnet_id", subnet.clone())
        .fact("route_table", table.clone())
        .fact("api_via", via("ecr.api"))
        .fact("dkr_via", via("ecr.dkr"))
        .fact("s3_via", via("s3"))
        .fact("client_groups", vc.security_groups.clone())
        .fact("client_ip", client.private_ip.clone());
    let mut findings: Vec<Finding<ClientPath>> = Vec::new();

    // routes
    let none = of_kind(|p| *p == Path::None);
    if !none.is_empty() {
        let s3_gateway_cmd = none.contains(&"s3").then(|| service_name(region, "s3"));
        // an available public NAT gateway whose subnet reaches the internet, for a route
        let nat_for_cmd = snap
            .nat_gateways
            .iter()
            .find(|n| {
                n.state.eq_ignore_ascii_case("available")
                    && !n.connectivity.eq_ignore_ascii_case("private")
                    && default_route_target(snap, &n.subnet_id)
                        .is_some_and(|t| t.starts_with("igw-"))
            })
            .map(|n| n.id.clone());
        findings.push(
            Finding::new(ClientPath::NoRoute)
                .fact("services", none.clone())
                .fact("default_route", route.target.clone())
                .fact("nat_state", route.nat_state.clone())
                .fact("nat_connectivity", route.nat_connectivity.clone())
                .fact(
                    "nat_no_internet",
                    (route.nat_subnet_internet == Some(false)).then_some(true),
                )
                .fact("s3_service", s3_gateway_cmd)
                .fact("nat_for_cmd", nat_for_cmd)
                .fact(
                    "route_verb",
                    if route.target.is_some() {
                        "replace-route"
                    } else {
                        "create-route"
                    },
                ),
        );
    }
    let igw = of_kind(|p| matches!(p, Path::Igw(_)));
    if !igw.is_empty() {
        let gw = route.target.clone();
        match &client.public_ipv4 {
            PublicIpv4::Absent => findings.push(
                Finding::new(ClientPath::NoPublicIp)
                    .fact("services", igw.clone())
                    .fact("internet_gateway", gw)
                    .fact("evidence", client.public_ip_evidence)
                    .fact("instance_id", client.instance_id.clone())
                    .fact("network_interface", client.network_interface.clone())
                    .fact("launch_type", client.launch_type.clone())
                    .fact(
                        "s3_service",
                        igw.contains(&"s3").then(|| service_name(region, "s3")),
                    ),
            ),
            PublicIpv4::Present(ip) => {
                base = base.fact("public_ip", ip.clone());
            }
            PublicIpv4::Unknown => {}
        }
    }

    // security group egress (only with the client's groups)
    if !vc.security_groups.is_empty() {
        match egress_blocked(snap, &vc.security_groups, &paths) {
            Some(blocked) if !blocked.is_empty() => {
                let mut f = Finding::new(ClientPath::SgEgressBlocks443)
                    .fact("blocked_services", blocked.clone())
                    .fact("egress_rules", egress_rules(snap, &vc.security_groups))
                    .fact("group_for_cmd", vc.security_groups.first().cloned());
                for (svc, p) in paths.iter().filter(|(s, _)| blocked.contains(s)) {
                    let _ = svc;
                    f = match p {
                        Path::Interface(ep) => match ep.group_ids.first() {
                            Some(g) => f.fact("egress_to_group", g.clone()),
                            None => f.fact("egress_to_cidr", snap.cidrs.first().cloned()),
                        },
                        Path::Gateway {
                            prefix_list: Some(pl),
                            ..
                        } => f.fact("egress_to_prefix_list", pl.clone()),
                        _ => f.fact("egress_to_public", "0.0.0.0/0"),
                    };
                }
                findings.push(f);
            }
            Some(_) => {}
            None => base = base.fact("egress_unknown", true),
        }
    }

    // network ACLs
    let client_peer = client
        .private_ip
        .as_deref()
        .and_then(net)
        .filter(|ip| {
            vc.subnet_cidr
                .as_deref()
                .and_then(net)
                .is_none_or(|c| c.contains(ip))
        })
        .or_else(|| vc.subnet_cidr.as_deref().and_then(net))
        .map(Peer::Net);
    if let Some(cp) = client_peer {
        let acl = acl_findings(snap, &subnet, &cp, &paths);
        if let Some(first) = acl.first() {
            let (from, to) = match first.egress == (first.side == "client") {
                // towards the service: 443; back towards the client: its ephemeral ports
                true => (443, 443),
                false => EPHEMERAL,
            };
            findings.push(
                Finding::new(ClientPath::NaclBlocks)
                    .fact("acl_id", first.acl.clone())
                    .fact("acl_subnet", first.subnet.clone())
                    .fact("side", first.side)
                    .fact(
                        "acl_direction",
                        if first.egress { "egress" } else { "ingress" },
                    )
                    .fact(
                        "rule",
                        first.block.rule.map_or("*".to_string(), |r| r.to_string()),
                    )
                    .fact("blocked_ports", {
                        let (a, b) = first.block.ports;
                        if a == b {
                            a.to_string()
                        } else {
                            format!("{a}-{b}")
                        }
                    })
                    .fact("peer", first.peer.clone())
                    .fact("service", first.service)
                    .fact("port_from", from)
                    .fact("port_to", to)
                    .fact("new_rule", first.free_rule)
                    .fact(
                        "acl_findings",
                        acl.iter().map(AclFinding::summary).collect::<Vec<_>>(),
                    ),
            );
        }
    }

    // IMDSv2 from a container on EC2
    if let Some(container) = client.container {
        let evidence = match (client.hop_limit, client.token) {
            (Some(1), _) => Some("describe-instances"),
            (None, ImdsToken::PutTimedOut) => Some("token-timeout"),
            _ => None,
        };
        if let Some(evidence) = evidence {
            findings.push(
                Finding::new(ClientPath::ImdsHopLimit)
                    .fact("container", container)
                    .fact("evidence", evidence)
                    .fact("hop_limit", client.hop_limit)
                    .fact("instance_id", client.instance_id.clone()),
            );
        }
    }

    findings.sort_by_key(|f| f.code.rank());
    let all: Vec<&str> = findings.iter().map(|f| f.code.as_str()).collect();
    if let Some(first) = findings.first() {
        let all = all.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        return base
            .with_code(first.code)
            .facts_from(&first.facts)
            .fact("findings", all);
    }
    let nat = paths.iter().find_map(|(_, p)| match p {
        Path::Nat(id) => Some(id.clone()),
        _ => None,
    });
    let other = paths.iter().find_map(|(_, p)| match p {
        Path::Other(id) => Some(id.clone()),
        _ => None,
    });
    if !igw.is_empty() {
        base.with_code(ClientPath::OkPublicIp)
            .fact("internet_gateway", route.target.clone())
            .fact("internet_services", igw)
    } else if let Some(nat) = nat {
        base.with_code(ClientPath::OkNat)
            .fact("nat_gateway", nat)
            .fact("internet_services", of_kind(|p| matches!(p, Path::Nat(_))))
    } else if let Some(other) = other {
        base.with_code(ClientPath::OkOtherRoute)
            .fact("route_target", other)
            .fact(
                "internet_services",
                of_kind(|p| matches!(p, Path::Other(_))),
            )
    } else {
        base
    }
}

// ------------------------------------------------------------------ the check

/// The container this runs in, the usual way: ECS and Kubernetes set variables, Docker
/// leaves `/.dockerenv`.
pub fn container(cx: &Ctx) -> Option<&'static str> {
    if cx.env.var("ECS_CONTAINER_METADATA_URI_V4").is_some() {
        Some("ECS_CONTAINER_METADATA_URI_V4")
    } else if cx.env.var("KUBERNETES_SERVICE_HOST").is_some() {
        Some("KUBERNETES_SERVICE_HOST")
    } else if cx.env.path_exists("/.dockerenv") {
        Some("/.dockerenv")
    } else {
        None
    }
}

/// Metadata describes this machine: it counts only when it places it in the client's subnet.
fn same_client(p: &Placement, vc: &VpcContext) -> bool {
    p.vpc_id == vc.vpc_id
        && match (&p.subnet_id, &p.subnet_cidr) {
            (Some(s), _) => vc.subnet_id.as_ref() == Some(s),
            (None, Some(c)) => vc.subnet_cidr.as_ref() == Some(c),
            _ => false,
        }
}

pub fn check(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<ClientPath>> {
    async move {
        let Some((vc, snap)) = context(&cx).await else {
            return Finding::new(ClientPath::NoVpcContext);
        };
        if vc.subnet_id.is_none() {
            return analyse(&snap, &vc, cx.region(), &ClientFacts::default());
        }
        let mut client = ClientFacts {
            container: container(&cx),
            ..Default::default()
        };
        let placement = match cx.metadata.placement().await {
            Ok(Some(p)) if same_client(&p, &vc) => Some(p),
            _ => None,
        };
        if let Some(p) = &placement {
            client.private_ip = p.private_ip.clone();
            client.instance_id = p.instance_id.clone();
            client.launch_type = p.launch_type.clone();
            if p.public_ipv4 != PublicIpv4::Unknown {
                client.public_ipv4 = p.public_ipv4.clone();
                client.public_ip_evidence = Some("instance-metadata");
            }
            let q = ClientQuery {
                vpc_id: vc.vpc_id.clone(),
                mac: p.mac.clone(),
                private_ip: p.private_ip.clone(),
                instance_id: p.instance_id.clone(),
            };
            if let Ok(ClientHost {
                interface,
                metadata_options,
            }) = cx.aws.client_host(q).await
            {
                if let Some(i) = interface {
                    client.network_interface = Some(i.id.clone());
                    if client.public_ipv4 == PublicIpv4::Unknown {
                        client.public_ipv4 = match i.public_ip {
                            Some(ip) => PublicIpv4::Present(ip),
                            None => PublicIpv4::Absent,
                        };
                        client.public_ip_evidence = Some("network-interface");
                    }
                }
                client.hop_limit = metadata_options.and_then(|m| m.http_put_response_hop_limit);
            }
        }
        // in a container where instance metadata did not answer: is it the hop limit?
        let from_imds = placement
            .as_ref()
            .is_some_and(|p| p.source == "instance-metadata");
        if client.container.is_some() && !from_imds && client.launch_type.is_none() {
            client.token = cx.metadata.imds_token().await;
        }
        analyse(&snap, &vc, cx.region(), &client)
    }
    .boxed()
}

#[cfg(test)]
#[path = "client_path_tests.rs"]
mod tests;
