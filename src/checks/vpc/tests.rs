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
        ..Default::default()
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
async fn endpoint_checks_do_not_apply_to_ecr_public() {
    // even a VPC without any endpoint: ECR Public has no endpoint service to look for
    let mut snap = healthy();
    snap.endpoints.clear();
    for id in [
        "vpc.endpoint.ecr-api",
        "vpc.endpoint.ecr-dkr",
        "vpc.endpoint.s3",
    ] {
        let mut cx = with_vpc(snap.clone());
        Arc::get_mut(&mut cx).unwrap().opts.registry = Some("public.ecr.aws".into());
        let o = run(id, cx).await;
        assert_eq!(o.code, "ecr-public", "{id}");
        let cat = crate::catalog::Catalog::embedded();
        let c = &cat.get(id).unwrap().codes["ecr-public"];
        assert_eq!(c.severity, crate::catalog::Severity::Skip);
        assert!(
            c.skip_reason
                .as_deref()
                .unwrap()
                .contains("no VPC endpoint"),
            "{id}"
        );
    }
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
    // requests through the endpoint come from it and from its VPC
    let mut s = healthy();
    s.endpoints[1].policy = Some(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-dkr","aws:SourceVpc":"vpc-1a2b3c4d"}}}]}"#.into());
    assert_eq!(code("vpc.endpoint.ecr-dkr", s.clone()).await, "ok");
    s.endpoints[1].policy = Some(
        s.endpoints[1]
            .policy
            .clone()
            .unwrap()
            .replace("vpce-dkr", "vpce-other"),
    );
    assert_eq!(code("vpc.endpoint.ecr-dkr", s).await, "policy-denies");
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

// ---------------------------------------------------------------------------------------
// Issue 9: facts, commands, policies and hosts.

use crate::catalog::{fill, unresolved, Catalog};
use serde_json::{json, Map, Value};

/// The words of an outcome as the report shows them: message, remediation text and the
/// commands that fill completely, with the run context of `region` (and its partition).
fn words(id: &str, o: &Outcome, region: &str) -> (String, String, Vec<String>) {
    let cat = Catalog::embedded();
    let spec = cat.get(id).unwrap();
    let code = &spec.codes[o.code];
    let mut vars: Map<String, Value> = Map::new();
    vars.insert("region".into(), region.into());
    vars.insert(
        "partition".into(),
        crate::aws::partition_of(region).id.into(),
    );
    for k in ["account", "registry", "vpc", "subnet"] {
        vars.insert(k.into(), format!("<{k}>").into());
    }
    vars.extend(o.facts.clone());
    let vars = cat.labelled(Some(spec), &vars);
    let commands = code
        .commands
        .iter()
        .filter(|c| unresolved(c, &vars).is_empty())
        .map(|c| fill(c, &vars))
        .collect();
    (
        fill(&code.message, &vars),
        code.remediation
            .as_deref()
            .map(|r| fill(r, &vars))
            .unwrap_or_default(),
        commands,
    )
}

fn code_words(id: &str, code: &str, facts: Value, region: &str) -> (String, String, Vec<String>) {
    let o = Outcome {
        code: Box::leak(code.to_string().into_boxed_str()),
        facts: facts.as_object().unwrap().clone(),
    };
    words(id, &o, region)
}

/// Item 6: a gateway endpoint has no security group and no private DNS; the causes of an S3
/// connect timeout are the prefix-list route, the client's SG egress and a network ACL.
#[test]
fn s3_texts_name_the_gateway_endpoints_real_causes() {
    let facts = json!({"host": "h", "address": "52.216.1.1:443", "address_kind": "public",
                       "timeout_ms": 3000, "tried": [], "via_proxy": null});
    let (_, text, cmds) = code_words("net.s3", "connect-timeout", facts, "us-east-1");
    for part in [
        "no security group and no private DNS",
        "prefix list",
        "security group does not allow TCP 443 out",
        "network ACL",
    ] {
        assert!(text.contains(part), "{part:?} not in {text}");
    }
    assert!(!text.contains("private DNS is not in effect"), "{text}");
    assert!(!text.contains("endpoint's security group"), "{text}");
    assert!(cmds.iter().any(|c| c.contains("describe-route-tables")));
    let spec = Catalog::embedded();
    let d = &spec.get("dns.s3").unwrap().description;
    assert!(!d.contains("interface endpoint with private DNS"), "{d}");
    assert!(d.contains("no private DNS"), "{d}");
}

/// Item 8: custom DHCP DNS servers inside the VPC forward to the VPC resolver; outside it
/// they need a Route 53 Resolver inbound endpoint. The resolver itself is not custom.
#[tokio::test]
async fn custom_dns_servers_inside_or_outside_the_vpc() {
    let run_dns = |servers: &[&str]| {
        let mut s = healthy();
        s.dns_servers = servers.iter().map(|x| x.to_string()).collect();
        run("vpc.dns-attributes", with_vpc(s))
    };
    let o = run_dns(&["10.0.0.53"]).await;
    assert_eq!(o.code, "custom-dns-servers");
    assert_eq!(o.facts["dns_servers_placement"], "in-vpc");
    let (msg, text, cmds) = words("vpc.dns-attributes", &o, "us-east-1");
    assert!(msg.contains("(inside the VPC)"), "{msg}");
    assert!(
        text.contains("to the VPC resolver 10.0.0.2 or 169.254.169.253"),
        "{text}"
    );
    assert!(!text.contains("inbound endpoint"), "{text}");
    assert_eq!(
        cmds,
        ["dig @10.0.0.53 +short api.ecr.us-east-1.amazonaws.com"]
    );
    let o = run_dns(&["192.168.10.53", "192.168.10.54"]).await;
    assert_eq!(o.facts["dns_servers_placement"], "outside-vpc");
    let (_, text, cmds) = words("vpc.dns-attributes", &o, "us-east-1");
    assert!(
        text.contains("Route 53 Resolver inbound endpoint"),
        "{text}"
    );
    assert!(text.contains("never to 10.0.0.2"), "{text}");
    assert_eq!(cmds.len(), 1, "{cmds:?}");
    assert!(cmds[0].contains("list-resolver-endpoints") && cmds[0].contains("vpc-1a2b3c4d"));
    let o = run_dns(&["10.0.0.53", "192.168.10.53"]).await;
    assert_eq!(o.facts["dns_servers_placement"], "both");
    assert_eq!(words("vpc.dns-attributes", &o, "us-east-1").2.len(), 2);
    // the VPC resolver by either address is the Amazon-provided one
    for amazon in [["10.0.0.2"], ["169.254.169.253"]] {
        assert_eq!(run_dns(&amazon).await.code, "ok", "{amazon:?}");
    }
}

fn modify_policy(cmds: &[String]) -> Value {
    let c = cmds
        .iter()
        .find(|c| c.contains("--policy-document '"))
        .expect("a modify-vpc-endpoint --policy-document command");
    let doc = c
        .split_once("--policy-document '")
        .unwrap()
        .1
        .trim_end_matches('\'');
    serde_json::from_str(doc).unwrap()
}

/// Commands: an endpoint policy is never replaced by one narrow statement; the existing
/// document is printed with the needed statement merged in. An explicit Deny gets no
/// modify command (an Allow does not override it). The S3 gateway may be reset, saying
/// what that opens.
#[tokio::test]
async fn policy_commands_keep_the_existing_statements() {
    let mut s = healthy();
    s.endpoints[2].policy = Some(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Access-to-specific-bucket-only","Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::team-artifacts","arn:aws:s3:::team-artifacts/*"]}]}"#.into(),
    );
    let o = run("vpc.endpoint.s3", with_vpc(s)).await;
    assert_eq!(o.code, "policy-denies-layer-bucket");
    let (_, text, cmds) = words("vpc.endpoint.s3", &o, "us-east-1");
    let doc = modify_policy(&cmds);
    let st = doc["Statement"].as_array().unwrap();
    assert_eq!(st.len(), 2, "{doc}");
    assert_eq!(st[0]["Resource"][1], "arn:aws:s3:::team-artifacts/*");
    assert_eq!(
        st[1]["Sid"], "Access-to-specific-bucket-only2",
        "Sids stay unique"
    );
    assert_eq!(st[1]["Principal"], "*");
    assert_eq!(
        st[1]["Resource"][0],
        "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*"
    );
    assert!(cmds.iter().any(|c| c.ends_with("--reset-policy")));
    assert!(text.contains("every S3 action on every bucket"), "{text}");
    // the merged document also holds what it had, and a quote cannot end the shell string
    let mut s = healthy();
    s.endpoints[1].policy = Some(
        r#"{"Statement":{"Sid":"Bob's","Effect":"Allow","Principal":"*","Action":"ecr:DescribeRepositories","Resource":"*"}}"#.into(),
    );
    let o = run("vpc.endpoint.ecr-dkr", with_vpc(s)).await;
    assert_eq!(o.code, "policy-denies");
    let (_, _, cmds) = words("vpc.endpoint.ecr-dkr", &o, "us-east-1");
    let c = cmds
        .iter()
        .find(|c| c.contains("--policy-document"))
        .unwrap();
    assert_eq!(c.matches('\'').count(), 2, "{c}");
    let doc = modify_policy(&cmds);
    assert_eq!(doc["Statement"][0]["Sid"], "Bob's");
    assert_eq!(doc["Statement"][1]["Sid"], "AllowEcrPull");
    assert_eq!(doc["Statement"][1]["Action"].as_array().unwrap().len(), 4);
    // an explicit Deny: no modify command, the statement is named
    let mut s = healthy();
    s.endpoints[1].policy = Some(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*"},{"Sid":"NoPulls","Effect":"Deny","Principal":"*","Action":"ecr:BatchGetImage","Resource":"*"}]}"#.into(),
    );
    let o = run("vpc.endpoint.ecr-dkr", with_vpc(s)).await;
    let (_, text, cmds) = words("vpc.endpoint.ecr-dkr", &o, "us-east-1");
    assert!(
        !cmds.iter().any(|c| c.contains("modify-vpc-endpoint")),
        "{cmds:?}"
    );
    assert!(text.contains("Deny statements NoPulls"), "{text}");
}

/// Commands: create-vpc-endpoint names at most one subnet per availability zone and a
/// security group that admits 443 from the client, or the commands that create one.
#[tokio::test]
async fn create_endpoint_commands_one_subnet_per_zone_and_a_group_that_admits_443() {
    let mut s = healthy();
    s.endpoints.retain(|e| e.id == "vpce-s3");
    s.subnets.push(SubnetInfo {
        id: "subnet-aaaa3333".into(),
        cidr: "10.0.3.0/24".into(),
        az: "us-east-1a".into(),
    });
    // the client's subnet is unknown: one subnet per zone
    let o = run("vpc.endpoint.ecr-dkr", with_flags(s.clone(), None, &[])).await;
    assert_eq!(o.code, "missing");
    assert_eq!(
        o.facts["subnets_for_cmd"],
        "subnet-aaaa1111 subnet-bbbb2222"
    );
    assert_eq!(o.facts["security_group_for_cmd"], "sg-endpoint1");
    let (_, _, cmds) = words("vpc.endpoint.ecr-dkr", &o, "us-east-1");
    assert_eq!(cmds.len(), 1, "{cmds:?}");
    assert!(cmds[0].contains("--security-group-ids sg-endpoint1 "));
    // no group admits 443 from the client (the default group admits its members only)
    s.security_groups[0].ingress.clear();
    let o = run("vpc.endpoint.ecr-dkr", with_vpc(s)).await;
    assert_eq!(o.facts["subnets_for_cmd"], "subnet-aaaa1111");
    assert_eq!(o.facts["new_group_cidr"], "10.0.1.0/24");
    let (_, text, cmds) = words("vpc.endpoint.ecr-dkr", &o, "us-east-1");
    assert!(
        text.contains("default group admits only its own members"),
        "{text}"
    );
    assert_eq!(cmds.len(), 3, "{cmds:?}");
    assert!(cmds[0].starts_with(
        "GROUP_ID=$(aws ec2 create-security-group --region us-east-1 --vpc-id vpc-1a2b3c4d "
    ));
    assert!(
        cmds[1].contains("--group-id \"$GROUP_ID\" --protocol tcp --port 443 --cidr 10.0.1.0/24")
    );
    assert!(cmds[2].contains("--subnet-ids subnet-aaaa1111 --security-group-ids \"$GROUP_ID\" "));
}

async fn layer_code(policy: &str) -> Outcome {
    let mut s = healthy();
    s.endpoints[2].policy = Some(policy.into());
    run("vpc.endpoint.s3", with_vpc(s)).await
}

/// Policies: ECR presigns layer URLs with its own credentials and AWS owns the bucket, so
/// an Allow limited to the caller's account, role or organisation (by Principal or by
/// condition), or to the customer's resources, does not let layers through;
/// aws:SourceVpce / aws:SourceVpc conditions match the request through the endpoint.
#[tokio::test]
async fn layer_bucket_policy_is_evaluated_for_ecrs_presigned_urls() {
    let layer = "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*";
    let allow = |extra: &str| {
        format!(
            r#"{{"Statement":[{{"Sid":"Layers","Effect":"Allow","Action":"s3:GetObject","Resource":"{layer}",{extra}}}]}}"#
        )
    };
    for (what, extra) in [
        (
            "caller's role",
            r#""Principal":{"AWS":"arn:aws:iam::123456789012:role/puller"}"#,
        ),
        ("caller's account", r#""Principal":{"AWS":"123456789012"}"#),
        (
            "PrincipalAccount",
            r#""Principal":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"123456789012"}}"#,
        ),
        (
            "PrincipalOrgID",
            r#""Principal":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}"#,
        ),
        (
            "PrincipalArn",
            r#""Principal":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:role/*"}}"#,
        ),
        (
            "userid",
            r#""Principal":"*","Condition":{"StringLike":{"aws:userid":"AROAEXAMPLE:*"}}"#,
        ),
        (
            "ResourceAccount",
            r#""Principal":"*","Condition":{"StringEquals":{"aws:ResourceAccount":"123456789012"}}"#,
        ),
        (
            "ResourceOrgID",
            r#""Principal":"*","Condition":{"StringEquals":{"aws:ResourceOrgID":"o-abc123"}}"#,
        ),
        (
            "another endpoint",
            r#""Principal":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-other"}}"#,
        ),
    ] {
        let o = layer_code(&allow(extra)).await;
        assert_eq!(o.code, "policy-denies-layer-bucket", "{what}");
        assert_eq!(o.facts["limited_statements"], json!(["Layers"]), "{what}");
        let (msg, _, cmds) = words("vpc.endpoint.s3", &o, "us-east-1");
        assert!(msg.contains("Layers allow only your own"), "{what}: {msg}");
        assert!(
            modify_policy(&cmds)["Statement"][1]["Principal"] == "*",
            "{what}"
        );
    }
    for (what, extra) in [
        (
            "this endpoint",
            r#""Principal":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-s3"}}"#,
        ),
        (
            "this VPC",
            r#""Principal":"*","Condition":{"StringEquals":{"aws:SourceVpc":["vpc-other","vpc-1a2b3c4d"]}}"#,
        ),
        (
            "not another VPC",
            r#""Principal":"*","Condition":{"StringNotEquals":{"aws:SourceVpc":"vpc-other"}}"#,
        ),
    ] {
        assert_eq!(layer_code(&allow(extra)).await.code, "ok", "{what}");
    }
    // a Deny for every principal outside the organisation hits ECR's requests too
    let o = layer_code(&format!(
        r#"{{"Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"{layer}"}},{{"Sid":"OrgOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{{"StringNotEquals":{{"aws:PrincipalOrgID":"o-abc123"}}}}}}]}}"#
    ))
    .await;
    assert_eq!(o.code, "policy-denies-layer-bucket");
    assert_eq!(o.facts["deny_statements"], json!(["OrgOnly"]));
    // conditions the doctor cannot know stay conditional
    let o = layer_code(&allow(
        r#""Principal":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
    ))
    .await;
    assert_eq!(o.code, "policy-conditional");
}

/// Hosts: FIPS and dual-stack registries do not go through ECR's VPC endpoints; the advice
/// says so (containers-roadmap#1002).
#[tokio::test]
async fn fips_and_dual_stack_registries_are_not_carried_by_the_endpoints() {
    for (host, variant) in [
        ("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", "fips"),
        ("123456789012.dkr-ecr.us-east-1.on.aws", "dual-stack"),
        (
            "123456789012.dkr-ecr-fips.us-east-1.on.aws",
            "fips-dual-stack",
        ),
    ] {
        let mut s = healthy();
        s.endpoints.retain(|e| e.id != "vpce-dkr");
        let mut cx = with_vpc(s);
        Arc::get_mut(&mut cx).unwrap().opts.registry = Some(host.into());
        let o = run("vpc.endpoint.ecr-dkr", cx).await;
        assert_eq!(o.code, "missing");
        assert_eq!(o.facts["registry_variant"], variant);
        let mut v = o.facts.clone();
        v.insert("registry".into(), host.into());
        let o = Outcome { facts: v, ..o };
        let (_, text, _) = words("vpc.endpoint.ecr-dkr", &o, "us-east-1");
        assert!(text.contains(host), "{text}");
        assert!(text.contains("PrivateLink does not carry dual-stack ECR traffic"));
        assert!(text.contains("no FIPS ECR endpoint services"));
        assert!(text.contains("containers-roadmap/issues/1002"));
    }
    let o = run("vpc.endpoint.ecr-dkr", with_vpc(healthy())).await;
    assert!(o.facts.get("registry_variant").is_none_or(Value::is_null));
}

/// Partitions: service names and ARNs follow the region's partition.
#[tokio::test]
async fn names_and_arns_follow_the_partition() {
    let mut s = healthy();
    for e in &mut s.endpoints {
        e.service_name = e.service_name.replace("us-east-1", "cn-north-1");
        if e.service_name.contains(".ecr.") {
            e.service_name = format!("cn.{}", e.service_name);
        }
    }
    s.endpoints[2].policy = Some(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws-cn:s3:::other/*"}]}"#.into(),
    );
    let mut cx = with_vpc(s);
    Arc::get_mut(&mut cx).unwrap().opts.region = "cn-north-1".into();
    let o = run("vpc.endpoint.ecr-dkr", cx.clone()).await;
    assert_eq!(o.code, "ok", "the cn.com.amazonaws ECR service is found");
    assert_eq!(
        o.facts["service_name"],
        "cn.com.amazonaws.cn-north-1.ecr.dkr"
    );
    let o = run("vpc.endpoint.s3", cx).await;
    assert_eq!(o.code, "policy-denies-layer-bucket");
    assert_eq!(o.facts["service_name"], "com.amazonaws.cn-north-1.s3");
    let (msg, _, cmds) = words("vpc.endpoint.s3", &o, "cn-north-1");
    assert!(
        msg.contains("arn:aws-cn:s3:::prod-cn-north-1-starport-layer-bucket/*"),
        "{msg}"
    );
    assert_eq!(
        modify_policy(&cmds)["Statement"][1]["Resource"][0],
        "arn:aws-cn:s3:::prod-cn-north-1-starport-layer-bucket/*"
    );
    let (_, _, cmds) = code_words(
        "vpc.lookup",
        "access-denied",
        json!({"vpc_id": "vpc-1", "error": "denied"}),
        "us-gov-west-1",
    );
    assert!(cmds[0].ends_with("arn:aws-us-gov:iam::aws:policy/AmazonEC2ReadOnlyAccess"));
}

/// Commands across the catalog: no hard-coded `arn:aws:`, the IMDS hop limit alone,
/// update-access-key with --user-name, get-repository-policy with --registry-id, and no
/// put-role-policy for IAM Identity Center or service-linked roles.
#[test]
fn catalog_commands_follow_the_rules() {
    let cat = Catalog::embedded();
    for c in &cat.checks {
        for (code, spec) in &c.codes {
            let texts = spec
                .commands
                .iter()
                .chain(spec.remediation.iter())
                .chain(std::iter::once(&spec.message));
            for t in texts {
                assert!(!t.contains("arn:aws:"), "{}/{code}: {t}", c.id);
                if t.contains("modify-instance-metadata-options") {
                    assert!(t.contains("--http-put-response-hop-limit 2"), "{t}");
                    assert!(!t.contains("--http-tokens"), "{}/{code}: {t}", c.id);
                }
                if t.contains("update-access-key") {
                    assert!(t.contains("--user-name "), "{}/{code}: {t}", c.id);
                }
                if t.contains("get-repository-policy") {
                    assert!(t.contains("--registry-id "), "{}/{code}: {t}", c.id);
                }
            }
        }
    }
    // put-*-policy needs iam_kind/iam_name, which only editable users and roles have
    let sso = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Pullers_0123456789abcdef/me";
    let mut facts = json!({"arn": sso, "error": "denied"});
    if let Some((kind, name)) = crate::aws::iam_target(sso) {
        facts["iam_kind"] = kind.into();
        facts["iam_name"] = name.into();
    }
    let (_, _, cmds) = code_words("token.get", "access-denied", facts.clone(), "us-east-1");
    assert!(
        !cmds.iter().any(|c| c.contains("put-role-policy")),
        "{cmds:?}"
    );
    facts["sso_permission_set"] = crate::aws::sso_permission_set(sso).unwrap().into();
    let (_, fix, cmds) = code_words("token.get", "access-denied", facts, "us-east-1");
    assert!(
        cmds[0].contains("sso-admin list-permission-sets-provisioned-to-account"),
        "{cmds:?}"
    );
    assert!(fix.contains("permission set Pullers"), "{fix}");
    let slr = "arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForECS/ecs";
    assert_eq!(crate::aws::iam_target(slr), None);
}

/// The policy evaluator's errors are data; their words come from the catalog.
#[tokio::test]
async fn unreadable_policies_are_explained_in_catalog_words() {
    let mut s = healthy();
    s.endpoints[1].policy =
        Some(r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":5}}"#.into());
    let o = run("vpc.endpoint.ecr-dkr", with_vpc(s)).await;
    assert_eq!(o.code, "policy-denies");
    assert_eq!(o.facts["policy_error"], "wrong-type");
    assert_eq!(o.facts["policy_error_path"], "Statement[0].Action");
    let (msg, _, _) = words("vpc.endpoint.ecr-dkr", &o, "us-east-1");
    assert!(
        msg.contains("(the policy could not be read: Statement[0].Action has the wrong type; a string or an array of strings expected, a number found)"),
        "{msg}"
    );
    let mut s = healthy();
    s.endpoints[2].policy = Some("{\"Statement\": [".into());
    let o = run("vpc.endpoint.s3", with_vpc(s)).await;
    assert_eq!(o.facts["policy_error"], "not-json");
    let (msg, _, _) = words("vpc.endpoint.s3", &o, "us-east-1");
    assert!(
        msg.contains("could not be read: it is not valid JSON ("),
        "{msg}"
    );
}
