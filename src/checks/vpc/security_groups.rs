//! Security-group evaluation: does an endpoint's group admit TCP 443 from the client?

use super::net;
use crate::checks::VpcContext;
use crate::probes::VpcSnapshot;
use ipnet::Ipv4Net;

/// What the client's traffic comes from, for security group rules.
pub struct ClientSource {
    /// The subnet CIDR when known, else the VPC's first CIDR.
    pub cidr: Option<Ipv4Net>,
    /// `subnet` or `vpc`: which CIDR `cidr` is (a catalog label).
    pub kind: &'static str,
    pub groups: Vec<String>,
}

pub fn client_source(snap: &VpcSnapshot, vc: &VpcContext) -> ClientSource {
    let (cidr, kind) = match vc.subnet_cidr.as_deref().and_then(net) {
        Some(c) => (Some(c), "subnet"),
        None => (snap.cidrs.first().and_then(|c| net(c)), "vpc"),
    };
    ClientSource {
        cidr,
        kind,
        groups: vc.security_groups.clone(),
    }
}

/// Whether any of `groups` lets TCP 443 in from the client.
pub fn groups_allow_443(snap: &VpcSnapshot, groups: &[String], client: &ClientSource) -> bool {
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

/// The inbound rules of `groups`, one per entry, as `sg-1 tcp/443 <- 10.0.0.0/16`
/// (`all` for every protocol, `none` for a group without inbound rules).
pub fn rules(snap: &VpcSnapshot, groups: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for g in snap
        .security_groups
        .iter()
        .filter(|g| groups.contains(&g.id))
    {
        for r in &g.ingress {
            let ports = match (r.protocol.as_str(), r.from_port, r.to_port) {
                ("-1", _, _) => "all".to_string(),
                (p, Some(a), Some(b)) if a == b => format!("{p}/{a}"),
                (p, Some(a), Some(b)) => format!("{p}/{a}-{b}"),
                (p, _, _) => p.to_string(),
            };
            let from: Vec<String> = r
                .cidrs
                .iter()
                .chain(r.prefix_lists.iter())
                .chain(r.groups.iter())
                .cloned()
                .collect();
            out.push(format!("{} {ports} <- {}", g.id, from.join(" ")));
        }
        if g.ingress.is_empty() {
            out.push(format!("{} none", g.id));
        }
    }
    out
}
