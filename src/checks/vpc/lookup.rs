//! `vpc.lookup` (the VPC from `--vpc` or metadata, and the client's subnet in it) and
//! `vpc.dns-attributes` (`enableDnsSupport`, `enableDnsHostnames`, DHCP DNS servers).

use super::{context, net};
use crate::checks::{with_api_error, Ctx, VpcContext};
use crate::engine::Finding;
use crate::probes::sdk_error::ErrorClass;
use futures::future::{BoxFuture, FutureExt};
use std::sync::Arc;

crate::codes! {
    pub enum Lookup {
        Ok = "ok",
        NoVpc = "no-vpc",
        NotFound = "not-found",
        AccessDenied = "access-denied",
        SubnetNotInVpc = "subnet-not-in-vpc",
        InvalidCredentials = "invalid-credentials",
        ClockRejected = "clock-rejected",
        Unreachable = "unreachable",
        ApiError = "api-error",
    }
}

crate::codes! {
    pub enum DnsAttributes {
        Ok = "ok",
        DnsSupportDisabled = "dns-support-disabled",
        DnsHostnamesDisabled = "dns-hostnames-disabled",
        CustomDnsServers = "custom-dns-servers",
        NoVpcContext = "no-vpc-context",
    }
}

pub fn lookup(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Lookup>> {
    async move {
        let mut vc = match &cx.opts.vpc {
            Some(v) => VpcContext {
                vpc_id: v.clone(),
                subnet_id: cx.opts.subnet.clone(),
                subnet_cidr: None,
                az: None,
                security_groups: cx.opts.security_groups.clone(),
                source: "flag".into(),
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
                Ok(None) => return Finding::new(Lookup::NoVpc).fact("why", "no-metadata"),
                Err(e) => {
                    return Finding::new(Lookup::NoVpc)
                        .fact("why", "metadata-error")
                        .fact("error", crate::errors::shorten(&e))
                }
            },
        };
        let snap = match cx.aws.vpc_snapshot(vc.vpc_id.clone()).await {
            Ok(s) => s,
            Err(e) => {
                let code = match e.class() {
                    ErrorClass::NotFound => Lookup::NotFound,
                    ErrorClass::AccessDenied => Lookup::AccessDenied,
                    ErrorClass::Unreachable => Lookup::Unreachable,
                    ErrorClass::InvalidCredentials => Lookup::InvalidCredentials,
                    ErrorClass::ClockRejected => Lookup::ClockRejected,
                    ErrorClass::Other => Lookup::ApiError,
                };
                return with_api_error(Finding::new(code), &e)
                    .fact("vpc_id", vc.vpc_id.clone())
                    .fact("detected_from", vc.source.clone());
            }
        };
        // complete the client's subnet from whichever half we know
        let subnet = match (&vc.subnet_id, &vc.subnet_cidr) {
            (Some(id), _) => match snap.subnets.iter().find(|s| &s.id == id) {
                Some(s) => Some(s.clone()),
                None => {
                    return Finding::new(Lookup::SubnetNotInVpc)
                        .fact("vpc_id", vc.vpc_id.clone())
                        .fact("subnet_id", id.clone())
                        .fact(
                            "subnets",
                            snap.subnets
                                .iter()
                                .map(|s| s.id.clone())
                                .collect::<Vec<_>>(),
                        )
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
        cx.set_vpc(vc.clone());
        Finding::new(Lookup::Ok)
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
    }
    .boxed()
}

pub fn dns_attributes(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<DnsAttributes>> {
    async move {
        let Some((vc, snap)) = context(&cx).await else {
            return Finding::new(DnsAttributes::NoVpcContext);
        };
        let base = Finding::new(DnsAttributes::Ok)
            .fact("vpc_id", vc.vpc_id.clone())
            .fact("dns_support", snap.dns_support)
            .fact("dns_hostnames", snap.dns_hostnames)
            // the primary CIDR (first, see probes::ec2): the VPC's CidrBlock in a template
            .fact("vpc_cidr", snap.cidrs.first().cloned());
        if !snap.dns_support {
            return base.with_code(DnsAttributes::DnsSupportDisabled);
        }
        if !snap.dns_hostnames {
            return base.with_code(DnsAttributes::DnsHostnamesDisabled);
        }
        // the VPC resolver: the base of the VPC's first CIDR plus two (also 169.254.169.253)
        let resolver = snap.cidrs.first().and_then(|c| net(c)).map(|n| {
            let base = u32::from(n.network());
            std::net::Ipv4Addr::from(base + 2).to_string()
        });
        let custom: Vec<String> = snap
            .dns_servers
            .iter()
            .filter(|s| {
                !s.eq_ignore_ascii_case("AmazonProvidedDNS")
                    && s.as_str() != "169.254.169.253"
                    && Some(s.as_str()) != resolver.as_deref()
            })
            .cloned()
            .collect();
        if !custom.is_empty() {
            // servers in the VPC may forward to its resolver; servers outside it (on
            // premises) need a Route 53 Resolver inbound endpoint
            let in_vpc = |s: &String| {
                net(s).is_some_and(|a| {
                    snap.cidrs
                        .iter()
                        .filter_map(|c| net(c))
                        .any(|c| c.contains(&a))
                })
            };
            let (inside, outside): (Vec<String>, Vec<String>) =
                custom.iter().cloned().partition(|s| in_vpc(s));
            let placement = match (inside.is_empty(), outside.is_empty()) {
                (false, true) => "in-vpc",
                (true, false) => "outside-vpc",
                _ => "both",
            };
            let mut f = base
                .with_code(DnsAttributes::CustomDnsServers)
                .fact("dns_servers", custom)
                .fact("dns_servers_placement", placement)
                .fact("servers_in_vpc", inside.clone())
                .fact("servers_outside_vpc", outside.clone())
                .fact_or_null("vpc_resolver", resolver)
                .fact("api_host", crate::aws::api_host(cx.region()));
            if let Some(first) = inside.first() {
                f = f.fact("first_server_in_vpc", first.clone());
            }
            if !outside.is_empty() {
                f = f.fact("inbound_endpoint_vpc", vc.vpc_id.clone());
            }
            return f;
        }
        base
    }
    .boxed()
}
