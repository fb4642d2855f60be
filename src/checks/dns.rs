//! `dns.ecr-api`, `dns.ecr-dkr`, `dns.s3`: each ECR host resolved with the system resolver
//! (or `--dns-server`); with an interface endpoint that has private DNS, the answer must be
//! the endpoint's address.

use super::{Ctx, Target};
use crate::engine::Finding;
use crate::probes::net::DnsFailure;
use futures::future::{BoxFuture, FutureExt};
use ipnet::IpNet;
use std::net::IpAddr;
use std::sync::Arc;

crate::codes! {
    pub enum Dns {
        Ok = "ok",
        OkEndpoint = "ok-endpoint",
        ResolvesPublic = "resolves-public",
        NotEndpointAddress = "not-endpoint-address",
        NxDomain = "nxdomain",
        NoAddress = "no-address",
        Timeout = "timeout",
        ResolverUnreachable = "resolver-unreachable",
        ServFail = "servfail",
        NoRegistry = "no-registry",
        NotForEcrPublic = "not-for-ecr-public",
    }
}

/// `dns.ecr-api` and `dns.ecr-dkr`: every code but the layer host's own.
pub const ECR_CODES: &[Dns] = &[
    Dns::Ok,
    Dns::OkEndpoint,
    Dns::ResolvesPublic,
    Dns::NotEndpointAddress,
    Dns::NxDomain,
    Dns::NoAddress,
    Dns::Timeout,
    Dns::ResolverUnreachable,
    Dns::ServFail,
    Dns::NoRegistry,
];

/// `dns.s3`: the S3 gateway endpoint does not change DNS, so no endpoint codes; and ECR
/// Public does not serve layers from the region's layer bucket.
pub const S3_CODES: &[Dns] = &[
    Dns::Ok,
    Dns::NxDomain,
    Dns::NoAddress,
    Dns::Timeout,
    Dns::ResolverUnreachable,
    Dns::ServFail,
    Dns::NoRegistry,
    Dns::NotForEcrPublic,
];

/// RFC 1918, carrier-grade NAT, link-local and unique-local addresses.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

fn in_any(ip: IpAddr, cidrs: &[String]) -> bool {
    cidrs
        .iter()
        .filter_map(|c| c.parse::<IpNet>().ok())
        .any(|n| n.contains(&ip))
}

/// The interface endpoint with private DNS whose name `host` should resolve to, with the
/// VPC's CIDRs and the endpoint's addresses.
async fn private_endpoint(cx: &Ctx, host: Target) -> Option<(String, Vec<String>, Vec<String>)> {
    if host == Target::Layers {
        return None; // the S3 gateway endpoint does not change DNS
    }
    let vc = cx.vpc()?;
    let snap = cx.aws.vpc_snapshot(vc.vpc_id.clone()).await.ok()?;
    let service = crate::aws::service_name(cx.region(), host.service());
    let ep = snap.endpoints.iter().find(|e| {
        e.service_name == service && e.kind.eq_ignore_ascii_case("Interface") && e.private_dns
    })?;
    Some((
        ep.id.clone(),
        snap.cidrs.clone(),
        snap.endpoint_ips.get(&ep.id).cloned().unwrap_or_default(),
    ))
}

fn dns(cx: Arc<Ctx>, host: Target) -> BoxFuture<'static, Finding<Dns>> {
    async move {
        if host == Target::Layers && cx.is_public() {
            // layers of public.ecr.aws come through its own redirects, which
            // image.layer-download follows; the region's layer bucket plays no part
            return Finding::new(Dns::NotForEcrPublic).fact("layer_host", host.name(&cx));
        }
        let Some(name) = host.name(&cx) else {
            return Finding::new(Dns::NoRegistry);
        };
        let answer = cx.net.resolve(name.clone()).await;
        let resolver = cx.net.resolver();
        let base = Finding::new(Dns::Ok)
            .fact("host", name.clone())
            .fact("resolver", resolver.kind)
            .fact("dns_servers", resolver.servers)
            .fact("elapsed_ms", answer.elapsed.as_millis() as u64);
        let addrs = match answer.result {
            Ok(a) => a,
            Err(f) => {
                return match f {
                    DnsFailure::NxDomain => base.with_code(Dns::NxDomain).fact("rcode", "NXDOMAIN"),
                    DnsFailure::NoData => base.with_code(Dns::NoAddress),
                    DnsFailure::Timeout => base.with_code(Dns::Timeout),
                    DnsFailure::Unreachable(d) => {
                        base.with_code(Dns::ResolverUnreachable).fact("error", d)
                    }
                    DnsFailure::ServFail(d) | DnsFailure::Other(d) => {
                        base.with_code(Dns::ServFail).fact("error", d)
                    }
                };
            }
        };
        cx.write_dns(&name, addrs.clone());
        let text: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
        let all_public = addrs.iter().all(|a| !is_private(*a));
        let kind = if all_public {
            "public"
        } else if addrs.iter().all(|a| is_private(*a)) {
            "private"
        } else {
            "mixed"
        };
        let base = base
            .fact("addresses", text.clone())
            .fact("address_kind", kind);
        if let Some((endpoint, cidrs, ips)) = private_endpoint(&cx, host).await {
            let base = base
                .fact("endpoint_id", endpoint)
                .fact("endpoint_ips", ips.clone());
            // every answer must be an address of the endpoint's network interfaces (when
            // they could be read; otherwise an address in the VPC is all that can be told)
            let expected = |a: &IpAddr| {
                if ips.is_empty() {
                    in_any(*a, &cidrs)
                } else {
                    ips.contains(&a.to_string())
                }
            };
            let others: Vec<String> = addrs
                .iter()
                .filter(|a| !expected(a))
                .map(|a| a.to_string())
                .collect();
            if others.is_empty() {
                return base.with_code(Dns::OkEndpoint);
            }
            if all_public {
                return base.with_code(Dns::ResolvesPublic);
            }
            let others_in_vpc = addrs.iter().any(|a| !expected(a) && in_any(*a, &cidrs));
            return base
                .with_code(Dns::NotEndpointAddress)
                .fact("other_addresses", others)
                .fact("others_in_vpc", others_in_vpc)
                .fact("vpc_cidrs", cidrs);
        }
        base
    }
    .boxed()
}

pub fn api(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Dns>> {
    dns(cx, Target::Api)
}
pub fn dkr(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Dns>> {
    dns(cx, Target::Registry)
}
pub fn s3(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Dns>> {
    dns(cx, Target::Layers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::FakeNet;
    use crate::checks::testkit::{answer, check, ctx, vpc_with_dkr_endpoint, REG};
    use crate::probes::net::DnsAnswer;
    use std::time::Duration;

    /// dns.ecr-dkr with the VPC's ecr.dkr endpoint (interface 10.0.1.11) answering `ips`.
    async fn dkr_answer(ips: &[&str]) -> Finding<Dns> {
        let mut net = FakeNet::default();
        net.dns.insert(REG.into(), answer(ips));
        check(
            "dns.ecr-dkr",
            dkr,
            ctx(net, Some(vpc_with_dkr_endpoint()), None),
        )
        .await
    }

    #[tokio::test]
    async fn dns_codes() {
        assert_eq!(dkr_answer(&["10.0.1.11"]).await.code, Dns::OkEndpoint);
        assert_eq!(dkr_answer(&["198.18.0.20"]).await.code, Dns::ResolvesPublic);
        assert_eq!(
            dkr_answer(&["192.168.5.5"]).await.code,
            Dns::NotEndpointAddress
        );
        // a private address in the VPC that no interface of the endpoint has (a private
        // hosted zone left from a deleted endpoint) is not the endpoint either
        let o = dkr_answer(&["10.0.1.99"]).await;
        assert_eq!(o.code, Dns::NotEndpointAddress);
        assert_eq!(o.facts["other_addresses"], serde_json::json!(["10.0.1.99"]));
        assert_eq!(o.facts["others_in_vpc"], true);
        let text = crate::checks::fake::render_outcome("dns.ecr-dkr", &o.clone().erase());
        assert!(text.contains("recreated"), "{text}");
        // ... also next to the right one
        let o = dkr_answer(&["10.0.1.11", "10.0.2.50"]).await;
        assert_eq!(o.code, Dns::NotEndpointAddress);
        assert_eq!(o.facts["other_addresses"], serde_json::json!(["10.0.2.50"]));
        // when the endpoint's interfaces could not be read, an address in the VPC is accepted
        let mut snap = vpc_with_dkr_endpoint();
        snap.endpoint_ips.clear();
        let mut net = FakeNet::default();
        net.dns.insert(REG.into(), answer(&["10.0.1.99"]));
        let o = check("dns.ecr-dkr", dkr, ctx(net, Some(snap), None)).await;
        assert_eq!(o.code, Dns::OkEndpoint);
        // public answers without a VPC endpoint are fine
        let mut net = FakeNet::default();
        net.dns.insert(REG.into(), answer(&["52.1.2.3"]));
        let o = check("dns.ecr-dkr", dkr, ctx(net, None, None)).await;
        assert_eq!(o.code, Dns::Ok);
        assert_eq!(o.facts["address_kind"], "public");
        let mut net = FakeNet::default();
        net.dns.insert(
            REG.into(),
            DnsAnswer {
                result: Err(DnsFailure::Timeout),
                elapsed: Duration::from_secs(1),
            },
        );
        assert_eq!(
            check("dns.ecr-dkr", dkr, ctx(net, None, None)).await.code,
            Dns::Timeout
        );
        // unscripted = NXDOMAIN
        assert_eq!(
            check("dns.ecr-api", api, ctx(FakeNet::default(), None, None))
                .await
                .code,
            Dns::NxDomain
        );
    }

    #[tokio::test]
    async fn ecr_public_has_no_layer_bucket_to_resolve() {
        let mut cx = ctx(FakeNet::default(), None, None);
        let c = Arc::get_mut(&mut cx).unwrap();
        c.opts.registry = Some("public.ecr.aws".into());
        let o = check("dns.s3", s3, cx.clone()).await;
        assert_eq!(o.code, Dns::NotForEcrPublic);
        // the ECR hosts are still resolved (here: unscripted, so NXDOMAIN)
        assert_eq!(check("dns.ecr-dkr", dkr, cx).await.code, Dns::NxDomain);
    }

    #[test]
    fn private_addresses() {
        for p in [
            "10.0.1.5",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(is_private(p.parse().unwrap()), "{p}");
        }
        for p in ["52.216.1.1", "198.18.0.10", "8.8.8.8", "2600:1f18::1"] {
            assert!(!is_private(p.parse().unwrap()), "{p}");
        }
    }
}
