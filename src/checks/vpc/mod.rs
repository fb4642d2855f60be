//! VPC checks: the VPC itself and its DNS attributes ([`lookup`]), and the three endpoints a
//! private subnet needs to pull from ECR ([`endpoints`]: ecr.api, ecr.dkr interface
//! endpoints; the S3 gateway endpoint), with security-group and policy evaluation apart.
//! Read-only: everything comes from one [`VpcSnapshot`] of `ec2:Describe*` calls.
//! [`client_path`]: the client's own way out of its subnet (routes, its egress rules, network
//! ACLs, the IMDS hop limit), with the client's interface from `AwsProbe::client_host`.

pub mod client_path;
pub mod endpoints;
pub mod lookup;
pub mod policy_eval;
pub mod security_groups;
#[cfg(test)]
mod tests;

use super::{Ctx, VpcContext};
use crate::probes::{RouteTableInfo, VpcSnapshot};
use ipnet::Ipv4Net;

/// The route table that serves `subnet`: its explicit association, else the main table.
pub fn route_table_of<'a>(snap: &'a VpcSnapshot, subnet: &str) -> Option<&'a RouteTableInfo> {
    snap.route_tables
        .iter()
        .find(|t| t.subnet_ids.iter().any(|s| s == subnet))
        .or_else(|| snap.route_tables.iter().find(|t| t.main))
}

/// The NAT or internet gateway that the client's default route goes to, if any.
pub fn internet_route(snap: &VpcSnapshot, vc: &VpcContext) -> Option<String> {
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

/// An IPv4 CIDR or a bare address.
pub fn net(s: &str) -> Option<Ipv4Net> {
    s.trim().parse::<Ipv4Net>().ok().or_else(|| {
        s.trim()
            .parse::<std::net::Ipv4Addr>()
            .ok()
            .map(Ipv4Net::from)
    })
}

/// The VPC and client placement, as `vpc.lookup` left them.
pub async fn context(cx: &Ctx) -> Option<(VpcContext, VpcSnapshot)> {
    let vc = cx.vpc()?.clone();
    let snap = cx.aws.vpc_snapshot(vc.vpc_id.clone()).await.ok()?;
    Some((vc, snap))
}
