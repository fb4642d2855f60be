//! The VPC checks against scripted VPC snapshots.

use super::endpoints::{ecr_api, ecr_dkr, s3};
use super::lookup::{dns_attributes, lookup};
use super::*;
use crate::checks::fake::{ctx_with, render, render_outcome, FakeAws};
use crate::checks::Identity;
use crate::engine::{Code, Finding, Outcome};
use crate::probes::*;
use futures::future::BoxFuture;
use std::sync::Arc;

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
    c.set_identity(Identity {
        account: "123456789012".into(),
        arn: "arn:aws:sts::123456789012:assumed-role/puller/i-1".into(),
    });
    cx
}

async fn one<K: Code>(
    id: &str,
    f: fn(Arc<Ctx>) -> BoxFuture<'static, Finding<K>>,
    cx: Arc<Ctx>,
) -> Outcome {
    let o = f(cx).await;
    render(id, &o);
    o.erase()
}

/// Runs `vpc.lookup`, then the check `id` (the lookup's outcome for `vpc.lookup`).
async fn run(id: &str, cx: Arc<Ctx>) -> Outcome {
    let lookup_out = one("vpc.lookup", lookup, cx.clone()).await;
    match id {
        "vpc.lookup" => lookup_out,
        "vpc.dns-attributes" => one(id, dns_attributes, cx).await,
        "vpc.endpoint.ecr-api" => one(id, ecr_api, cx).await,
        "vpc.endpoint.ecr-dkr" => one(id, ecr_dkr, cx).await,
        _ => one(id, s3, cx).await,
    }
}

async fn code(id: &str, snap: VpcSnapshot) -> &'static str {
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
    let o = lookup(cx).await.erase();
    assert_eq!(o.code, "no-vpc");
    render_outcome("vpc.lookup", &o);
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
    let o = lookup(cx).await.erase();
    assert_eq!(o.code, "access-denied");
    render_outcome("vpc.lookup", &o);
}

#[tokio::test]
async fn detects_placement_from_metadata() {
    // ECS gives the VPC and the subnet CIDR but no subnet id
    let placement = Placement {
        source: "task-metadata".into(),
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
    let o = lookup(cx.clone()).await.erase();
    assert_eq!(o.code, "ok");
    assert_eq!(o.facts["detected_from"], "task-metadata");
    assert_eq!(o.facts["subnet_id"], "subnet-bbbb2222");
    assert_eq!(cx.vpc().unwrap().az.as_deref(), Some("us-east-1b"));
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

/// Issue 9 item 7: ecr.api without private DNS fails when the subnet has no internet route
/// (the ECS agent, the kubelet and the credential helper use the public name); with one it
/// is a warn under its own code. ecr.dkr without private DNS always fails.
#[tokio::test]
async fn private_dns_off_fails_unless_the_api_is_reachable_over_the_internet() {
    let mut s = healthy();
    for e in &mut s.endpoints {
        e.private_dns = false;
    }
    assert_eq!(
        code("vpc.endpoint.ecr-dkr", s.clone()).await,
        "private-dns-disabled"
    );
    assert_eq!(
        code("vpc.endpoint.ecr-api", s.clone()).await,
        "private-dns-disabled"
    );
    let cat = crate::catalog::Catalog::embedded();
    let sev = |id: &str, code: &str| cat.get(id).unwrap().codes[code].severity;
    assert_eq!(
        sev("vpc.endpoint.ecr-dkr", "private-dns-disabled"),
        crate::catalog::Severity::Fail
    );
    assert_eq!(
        sev("vpc.endpoint.ecr-api", "private-dns-disabled"),
        crate::catalog::Severity::Fail
    );
    assert_eq!(
        sev(
            "vpc.endpoint.ecr-api",
            "private-dns-disabled-internet-route"
        ),
        crate::catalog::Severity::Warn
    );
    s.route_tables[1].routes.push(RouteInfo {
        destination: "0.0.0.0/0".into(),
        target: "nat-0abc".into(),
    });
    let o = run("vpc.endpoint.ecr-api", with_vpc(s.clone())).await;
    assert_eq!(o.code, "private-dns-disabled-internet-route");
    assert_eq!(o.facts["internet_target"], "nat-0abc");
    assert_eq!(
        code("vpc.endpoint.ecr-dkr", s).await,
        "private-dns-disabled"
    );
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

async fn sg_code(rule: IngressRule, subnet: Option<&str>, groups: &[&str]) -> &'static str {
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
    assert_eq!(
        o.facts["denied_actions"],
        serde_json::json!(["ecr:BatchGetImage"])
    );
    assert_eq!(
        o.facts["deny_statements"],
        serde_json::json!(["Statement[1]"])
    );
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
    s.route_tables[1].routes.push(RouteInfo {
        destination: "0.0.0.0/0".into(),
        target: "nat-0abc".into(),
    });
    let o = run(
        "vpc.endpoint.ecr-api",
        with_flags(s.clone(), Some("subnet-bbbb2222"), &[]),
    )
    .await;
    assert_eq!(o.code, "security-group-blocks-443");
    assert_eq!(
        o.facts["findings"],
        serde_json::json!([
            "security-group-blocks-443",
            "private-dns-disabled-internet-route",
            "az-not-covered"
        ])
    );
    // without the internet route, private DNS off is the worst
    s.route_tables[1].routes.pop();
    let o = run(
        "vpc.endpoint.ecr-api",
        with_flags(s, Some("subnet-bbbb2222"), &[]),
    )
    .await;
    assert_eq!(o.code, "private-dns-disabled");
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
