//! `vpc.client-path` against scripted snapshots: routes, egress rules, network ACLs, the
//! IMDS hop limit, and what the check reads from metadata.

use super::*;
use crate::catalog::{fill, unresolved, Catalog};
use crate::checks::fake::{ctx_with, render, FakeAws};
use crate::probes::*;
use serde_json::Value;

const ID: &str = "vpc.client-path";

fn subnet(id: &str, cidr: &str) -> SubnetInfo {
    SubnetInfo {
        id: id.into(),
        cidr: cidr.into(),
        az: "us-east-1a".into(),
    }
}

fn route(d: &str, t: &str) -> RouteInfo {
    RouteInfo {
        destination: d.into(),
        target: t.into(),
    }
}

fn entry(
    n: i32,
    egress: bool,
    proto: &str,
    allow: bool,
    cidr: &str,
    ports: Option<(i32, i32)>,
) -> AclEntry {
    AclEntry {
        rule_number: n,
        egress,
        protocol: proto.into(),
        allow,
        cidr: Some(cidr.into()),
        from_port: ports.map(|p| p.0),
        to_port: ports.map(|p| p.1),
    }
}

fn allow_all_acl(id: &str, default: bool, subnets: &[&str]) -> NetworkAclInfo {
    NetworkAclInfo {
        id: id.into(),
        is_default: default,
        subnet_ids: subnets.iter().map(|s| s.to_string()).collect(),
        entries: vec![
            entry(100, true, "-1", true, "0.0.0.0/0", None),
            entry(32767, true, "-1", false, "0.0.0.0/0", None),
            entry(100, false, "-1", true, "0.0.0.0/0", None),
            entry(32767, false, "-1", false, "0.0.0.0/0", None),
        ],
    }
}

fn egress(
    protocol: &str,
    ports: Option<(i32, i32)>,
    cidrs: &[&str],
    pls: &[&str],
    groups: &[&str],
) -> IngressRule {
    IngressRule {
        protocol: protocol.into(),
        from_port: ports.map(|p| p.0),
        to_port: ports.map(|p| p.1),
        cidrs: cidrs.iter().map(|s| s.to_string()).collect(),
        prefix_lists: pls.iter().map(|s| s.to_string()).collect(),
        groups: groups.iter().map(|s| s.to_string()).collect(),
    }
}

/// Client in subnet-c (10.0.1.0/24); the interface endpoints in subnet-e (10.0.2.0/24) with
/// sg-ep; the S3 gateway on the client's table; a public subnet-p routed to igw-1 with an
/// available NAT gateway; default ACL allowing everything; sg-client egress to anywhere.
fn snap() -> VpcSnapshot {
    let iface = |id: &str, svc: &str| EndpointInfo {
        id: id.into(),
        service_name: format!("com.amazonaws.us-east-1.{svc}"),
        kind: "Interface".into(),
        state: "available".into(),
        private_dns: true,
        subnet_ids: vec!["subnet-e".into()],
        group_ids: vec!["sg-ep".into()],
        ..Default::default()
    };
    let mut s = VpcSnapshot {
        vpc_id: "vpc-1".into(),
        cidrs: vec!["10.0.0.0/16".into()],
        subnets: vec![
            subnet("subnet-c", "10.0.1.0/24"),
            subnet("subnet-e", "10.0.2.0/24"),
            subnet("subnet-p", "10.0.0.0/24"),
        ],
        endpoints: vec![
            iface("vpce-api", "ecr.api"),
            iface("vpce-dkr", "ecr.dkr"),
            EndpointInfo {
                id: "vpce-s3".into(),
                service_name: "com.amazonaws.us-east-1.s3".into(),
                kind: "Gateway".into(),
                state: "available".into(),
                route_table_ids: vec!["rtb-c".into()],
                ..Default::default()
            },
        ],
        route_tables: vec![
            RouteTableInfo {
                id: "rtb-main".into(),
                main: true,
                subnet_ids: vec![],
                routes: vec![route("10.0.0.0/16", "local")],
            },
            RouteTableInfo {
                id: "rtb-c".into(),
                main: false,
                subnet_ids: vec!["subnet-c".into()],
                routes: vec![route("10.0.0.0/16", "local"), route("pl-s3", "vpce-s3")],
            },
            RouteTableInfo {
                id: "rtb-p".into(),
                main: false,
                subnet_ids: vec!["subnet-p".into()],
                routes: vec![route("10.0.0.0/16", "local"), route("0.0.0.0/0", "igw-1")],
            },
        ],
        network_acls: vec![allow_all_acl("acl-default", true, &["subnet-p"])],
        nat_gateways: vec![NatGatewayInfo {
            id: "nat-1".into(),
            state: "available".into(),
            subnet_id: "subnet-p".into(),
            connectivity: "public".into(),
        }],
        ..Default::default()
    };
    s.endpoint_ips
        .insert("vpce-api".into(), vec!["10.0.2.10".into()]);
    s.endpoint_ips
        .insert("vpce-dkr".into(), vec!["10.0.2.11".into()]);
    s.security_group_egress.insert(
        "sg-client".into(),
        vec![egress("-1", None, &["0.0.0.0/0"], &[], &[])],
    );
    s.security_group_egress.insert("sg-ep".into(), vec![]);
    s
}

/// No endpoints; the client's default route goes to `target` (none when empty).
fn without_endpoints(target: &str) -> VpcSnapshot {
    let mut s = snap();
    s.endpoints.clear();
    let t = s.route_tables.iter_mut().find(|t| t.id == "rtb-c").unwrap();
    t.routes.retain(|r| r.target == "local");
    if !target.is_empty() {
        t.routes.push(route("0.0.0.0/0", target));
    }
    s
}

fn vc(groups: &[&str]) -> VpcContext {
    VpcContext {
        vpc_id: "vpc-1".into(),
        subnet_id: Some("subnet-c".into()),
        subnet_cidr: Some("10.0.1.0/24".into()),
        az: Some("us-east-1a".into()),
        security_groups: groups.iter().map(|s| s.to_string()).collect(),
        source: "flag".into(),
    }
}

fn run(s: &VpcSnapshot, groups: &[&str], client: &ClientFacts) -> Finding<ClientPath> {
    let f = analyse(s, &vc(groups), "us-east-1", client);
    render(ID, &f);
    f
}

fn code(f: &Finding<ClientPath>) -> &'static str {
    f.code.as_str()
}

fn facts(f: &Finding<ClientPath>, k: &str) -> Value {
    f.facts.get(k).cloned().unwrap_or(Value::Null)
}

/// The commands of a finding as the report shows them (unfillable ones left out).
fn commands(f: &Finding<ClientPath>) -> Vec<String> {
    let cat = Catalog::embedded();
    let spec = cat.get(ID).unwrap();
    let mut vars = f.facts.clone();
    vars.insert("region".into(), "us-east-1".into());
    let vars = cat.labelled(Some(spec), &vars);
    spec.codes[f.code.as_str()]
        .commands
        .iter()
        .filter(|c| unresolved(c, &vars).is_empty())
        .map(|c| fill(c, &vars))
        .filter(|c| !c.trim().is_empty())
        .collect()
}

#[test]
fn endpoints_are_the_path_and_egress_is_checked_only_with_groups() {
    let f = run(&snap(), &["sg-client"], &ClientFacts::default());
    assert_eq!(code(&f), "ok-endpoints");
    assert_eq!(facts(&f, "api_via"), "vpce-api");
    assert_eq!(facts(&f, "s3_via"), "vpce-s3");
    let msg = render(ID, &f);
    assert!(!msg.contains("not checked"), "{msg}");
    let f = run(&snap(), &[], &ClientFacts::default());
    assert_eq!(code(&f), "ok-endpoints");
    assert!(render(ID, &f).contains("security group egress not checked (pass --security-group)"));
    // a group the snapshot does not have: nothing judged, and said so
    let f = run(&snap(), &["sg-elsewhere"], &ClientFacts::default());
    assert_eq!(code(&f), "ok-endpoints");
    assert!(render(ID, &f).contains("egress not checked"));
}

#[test]
fn unknown_subnet_skips_and_names_the_flags() {
    let mut v = vc(&[]);
    v.subnet_id = None;
    let f = analyse(&snap(), &v, "us-east-1", &ClientFacts::default());
    assert_eq!(code(&f), "unknown-client");
    let msg = render(ID, &f);
    assert!(
        msg.contains("--subnet") && msg.contains("--security-group"),
        "{msg}"
    );
}

#[test]
fn nat_gateway_path_and_when_it_is_no_path() {
    let f = run(
        &without_endpoints("nat-1"),
        &["sg-client"],
        &ClientFacts::default(),
    );
    assert_eq!(code(&f), "ok-nat");
    assert_eq!(facts(&f, "nat_gateway"), "nat-1");
    assert_eq!(
        facts(&f, "internet_services"),
        serde_json::json!(["ecr.api", "ecr.dkr", "s3"])
    );
    // a failed NAT gateway, a private one, one whose subnet has no internet gateway route
    for (state, conn, igw) in [
        ("failed", "public", true),
        ("available", "private", true),
        ("available", "public", false),
    ] {
        let mut s = without_endpoints("nat-1");
        s.nat_gateways[0].state = state.into();
        s.nat_gateways[0].connectivity = conn.into();
        if !igw {
            s.route_tables[2].routes.retain(|r| r.target == "local");
        }
        let f = run(&s, &[], &ClientFacts::default());
        assert_eq!(code(&f), "no-route", "{state} {conn} {igw}");
        assert_eq!(facts(&f, "default_route"), "nat-1");
        assert_eq!(facts(&f, "nat_state"), state);
        let msg = render(ID, &f);
        assert!(msg.contains("nat-1"), "{msg}");
    }
}

#[test]
fn no_route_names_the_services_and_gives_working_commands() {
    let f = run(&without_endpoints(""), &[], &ClientFacts::default());
    assert_eq!(code(&f), "no-route");
    assert_eq!(
        facts(&f, "services"),
        serde_json::json!(["ecr.api", "ecr.dkr", "s3"])
    );
    let cmds = commands(&f);
    assert!(cmds.contains(&"aws ec2 create-vpc-endpoint --region us-east-1 --vpc-id vpc-1 --vpc-endpoint-type Gateway --service-name com.amazonaws.us-east-1.s3 --route-table-ids rtb-c".to_string()), "{cmds:?}");
    assert!(cmds.contains(&"aws ec2 create-route --region us-east-1 --route-table-id rtb-c --destination-cidr-block 0.0.0.0/0 --nat-gateway-id nat-1".to_string()), "{cmds:?}");
    // only the API missing: the registry and S3 still have endpoints
    let mut s = snap();
    s.endpoints.retain(|e| e.id != "vpce-api");
    let f = run(&s, &[], &ClientFacts::default());
    assert_eq!(code(&f), "no-route");
    assert_eq!(facts(&f, "services"), serde_json::json!(["ecr.api"]));
    assert!(commands(&f)
        .iter()
        .all(|c| !c.contains("--vpc-endpoint-type Gateway")));
    // an endpoint without private DNS does not carry the public name
    let mut s = snap();
    s.endpoints[0].private_dns = false;
    assert_eq!(code(&run(&s, &[], &ClientFacts::default())), "no-route");
    // a transit gateway: not followed, not failed
    let f = run(
        &without_endpoints("tgw-1"),
        &["sg-client"],
        &ClientFacts::default(),
    );
    assert_eq!(code(&f), "ok-other-route");
    assert_eq!(facts(&f, "route_target"), "tgw-1");
}

#[test]
fn internet_gateway_needs_a_public_address() {
    let s = without_endpoints("igw-1");
    let present = ClientFacts {
        public_ipv4: PublicIpv4::Present("54.1.2.3".into()),
        public_ip_evidence: Some("instance-metadata"),
        ..Default::default()
    };
    let f = run(&s, &[], &present);
    assert_eq!(code(&f), "ok-public-ip");
    assert!(render(ID, &f).contains("with public IPv4 54.1.2.3 on the client"));
    let unknown = run(&s, &[], &ClientFacts::default());
    assert_eq!(code(&unknown), "ok-public-ip");
    assert!(render(ID, &unknown).contains("could not be checked"));
    let fargate = ClientFacts {
        public_ipv4: PublicIpv4::Absent,
        public_ip_evidence: Some("network-interface"),
        network_interface: Some("eni-1".into()),
        launch_type: Some("FARGATE".into()),
        ..Default::default()
    };
    let f = run(&s, &[], &fargate);
    assert_eq!(code(&f), "no-public-ip");
    let msg = render(ID, &f);
    assert!(
        msg.contains("network interface eni-1 has no public IPv4 address"),
        "{msg}"
    );
    // no instance: no associate-address; the S3 gateway endpoint is offered
    let cmds = commands(&f);
    assert!(
        cmds.iter().all(|c| !c.contains("associate-address")),
        "{cmds:?}"
    );
    assert!(cmds
        .iter()
        .any(|c| c.contains("--service-name com.amazonaws.us-east-1.s3")));
    let ec2 = ClientFacts {
        public_ipv4: PublicIpv4::Absent,
        public_ip_evidence: Some("instance-metadata"),
        instance_id: Some("i-0abc".into()),
        ..Default::default()
    };
    let f = run(&s, &[], &ec2);
    assert_eq!(code(&f), "no-public-ip");
    assert!(commands(&f)
        .iter()
        .any(|c| c.contains("associate-address --region us-east-1 --instance-id i-0abc")));
    // the registry and the API through endpoints, only S3 over the internet gateway
    let mut s = snap();
    s.endpoints.retain(|e| e.id != "vpce-s3");
    s.route_tables[1].routes.retain(|r| r.target == "local");
    s.route_tables[1].routes.push(route("0.0.0.0/0", "igw-1"));
    let f = run(&s, &[], &ec2);
    assert_eq!(code(&f), "no-public-ip");
    assert_eq!(facts(&f, "services"), serde_json::json!(["s3"]));
}

#[test]
fn egress_rules_must_reach_every_path() {
    let mut s = snap();
    let only = |s: &mut VpcSnapshot, rules: Vec<IngressRule>| {
        s.security_group_egress.insert("sg-client".into(), rules);
    };
    only(
        &mut s,
        vec![egress(
            "tcp",
            Some((443, 443)),
            &["192.168.0.0/16"],
            &[],
            &[],
        )],
    );
    let f = run(&s, &["sg-client"], &ClientFacts::default());
    assert_eq!(code(&f), "sg-egress-blocks-443");
    assert_eq!(
        facts(&f, "blocked_services"),
        serde_json::json!(["ecr.api", "ecr.dkr", "s3"])
    );
    let cmds = commands(&f);
    assert!(cmds.contains(&"aws ec2 authorize-security-group-egress --region us-east-1 --group-id sg-client --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=sg-ep}]'".to_string()), "{cmds:?}");
    assert!(cmds.contains(&"aws ec2 authorize-security-group-egress --region us-east-1 --group-id sg-client --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,PrefixListIds=[{PrefixListId=pl-s3}]'".to_string()), "{cmds:?}");
    assert!(render(ID, &f).contains("sg-client, ") || render(ID, &f).contains("(sg-client)"));
    // the endpoint group and the S3 prefix list: everything reached
    only(
        &mut s,
        vec![egress("tcp", Some((443, 443)), &[], &["pl-s3"], &["sg-ep"])],
    );
    assert_eq!(
        code(&run(&s, &["sg-client"], &ClientFacts::default())),
        "ok-endpoints"
    );
    // the VPC CIDR covers the endpoints, S3 still needs its prefix list or the internet
    only(
        &mut s,
        vec![egress("tcp", Some((443, 443)), &["10.0.0.0/16"], &[], &[])],
    );
    let f = run(&s, &["sg-client"], &ClientFacts::default());
    assert_eq!(facts(&f, "blocked_services"), serde_json::json!(["s3"]));
    // port 80 only: nothing
    only(
        &mut s,
        vec![egress("tcp", Some((80, 80)), &["0.0.0.0/0"], &[], &[])],
    );
    assert_eq!(
        code(&run(&s, &["sg-client"], &ClientFacts::default())),
        "sg-egress-blocks-443"
    );
    // a range holding 443 to anywhere
    only(
        &mut s,
        vec![egress("tcp", Some((0, 65535)), &["0.0.0.0/0"], &[], &[])],
    );
    assert_eq!(
        code(&run(&s, &["sg-client"], &ClientFacts::default())),
        "ok-endpoints"
    );
    // over a NAT gateway, the VPC CIDR is not enough
    let mut n = without_endpoints("nat-1");
    n.security_group_egress.insert(
        "sg-client".into(),
        vec![egress("tcp", Some((443, 443)), &["10.0.0.0/16"], &[], &[])],
    );
    let f = run(&n, &["sg-client"], &ClientFacts::default());
    assert_eq!(code(&f), "sg-egress-blocks-443");
    assert!(commands(&f)
        .iter()
        .any(|c| c.contains("IpRanges=[{CidrIp=0.0.0.0/0}]")));
}

#[test]
fn acl_rules_in_number_order_and_the_star_rule() {
    let mut acl = allow_all_acl("acl-1", false, &["subnet-c"]);
    let p = Peer::Public;
    assert_eq!(acl_evaluate(&acl, true, &p, (443, 443)), None);
    // a deny before the allow wins; after it, it does not
    acl.entries
        .push(entry(90, true, "6", false, "0.0.0.0/0", Some((443, 443))));
    assert_eq!(
        acl_evaluate(&acl, true, &p, (443, 443)),
        Some(AclBlock {
            rule: Some(90),
            ports: (443, 443)
        })
    );
    acl.entries.last_mut().unwrap().rule_number = 200;
    assert_eq!(acl_evaluate(&acl, true, &p, (443, 443)), None);
    // a deny of some public range does not prove S3 is blocked
    let acl = NetworkAclInfo {
        id: "acl-2".into(),
        entries: vec![
            entry(50, true, "6", false, "52.0.0.0/8", Some((443, 443))),
            entry(100, true, "6", true, "0.0.0.0/0", Some((443, 443))),
        ],
        ..Default::default()
    };
    assert_eq!(acl_evaluate(&acl, true, &p, (443, 443)), None);
    // nothing matches: the * rule
    let none = NetworkAclInfo {
        id: "acl-3".into(),
        ..Default::default()
    };
    assert_eq!(
        acl_evaluate(&none, false, &p, EPHEMERAL),
        Some(AclBlock {
            rule: None,
            ports: EPHEMERAL
        })
    );
}

#[test]
fn ephemeral_ports_are_judged_by_the_linux_range() {
    let inbound = |from: i32, to: i32| NetworkAclInfo {
        id: "acl-1".into(),
        entries: vec![entry(100, false, "6", true, "0.0.0.0/0", Some((from, to)))],
        ..Default::default()
    };
    let p = Peer::Public;
    assert_eq!(
        acl_evaluate(&inbound(1024, 65535), false, &p, EPHEMERAL),
        None
    );
    assert_eq!(
        acl_evaluate(&inbound(32768, 65535), false, &p, EPHEMERAL),
        None
    );
    // the range Windows and NAT gateways use leaves half of Linux's out
    assert_eq!(
        acl_evaluate(&inbound(49152, 65535), false, &p, EPHEMERAL),
        Some(AclBlock {
            rule: None,
            ports: (32768, 49151)
        })
    );
    assert_eq!(
        acl_evaluate(&inbound(1024, 32767), false, &p, EPHEMERAL),
        Some(AclBlock {
            rule: None,
            ports: EPHEMERAL
        })
    );
}

#[test]
fn acl_findings_on_both_subnets_and_none_inside_one() {
    // the client's subnet may not send 443 anywhere
    let mut s = snap();
    let mut acl = allow_all_acl("acl-c", false, &["subnet-c"]);
    acl.entries
        .push(entry(90, true, "6", false, "0.0.0.0/0", Some((443, 443))));
    s.network_acls.push(acl);
    let f = run(&s, &[], &ClientFacts::default());
    assert_eq!(code(&f), "nacl-blocks");
    assert_eq!(facts(&f, "acl_id"), "acl-c");
    assert_eq!(facts(&f, "rule"), "90");
    assert_eq!(facts(&f, "acl_direction"), "egress");
    assert_eq!(facts(&f, "side"), "client");
    let msg = render(ID, &f);
    assert!(msg.contains("rule 90 denies egress TCP 443"), "{msg}");
    let cmds = commands(&f);
    assert_eq!(
        cmds,
        vec!["aws ec2 create-network-acl-entry --region us-east-1 --network-acl-id acl-c --egress --rule-number 89 --protocol tcp --port-range From=443,To=443 --cidr-block 10.0.2.10/32 --rule-action allow".to_string()]
    );
    let all = facts(&f, "acl_findings").to_string();
    assert!(all.contains("(s3)") && all.contains("(ecr.api)"), "{all}");
    // the endpoints' subnet: 443 in from the client, ephemeral ports out to it
    let mut s = snap();
    s.network_acls.push(NetworkAclInfo {
        id: "acl-e".into(),
        subnet_ids: vec!["subnet-e".into()],
        entries: vec![
            entry(100, false, "6", true, "10.0.0.0/16", Some((443, 443))),
            entry(100, true, "6", true, "10.0.0.0/16", Some((1024, 32767))),
        ],
        ..Default::default()
    });
    let client = ClientFacts {
        private_ip: Some("10.0.1.25".into()),
        ..Default::default()
    };
    let f = run(&s, &[], &client);
    assert_eq!(code(&f), "nacl-blocks");
    assert_eq!(facts(&f, "side"), "endpoint");
    assert_eq!(facts(&f, "acl_direction"), "egress");
    assert_eq!(facts(&f, "rule"), "*");
    assert_eq!(facts(&f, "blocked_ports"), "32768-60999");
    assert_eq!(facts(&f, "peer"), "10.0.1.25/32");
    assert!(commands(&f)[0].contains("--egress --rule-number 32766 --protocol tcp --port-range From=32768,To=60999 --cidr-block 10.0.1.25/32"));
    // endpoints in the client's own subnet: traffic between them is not filtered
    let mut s = snap();
    for e in s.endpoints.iter_mut() {
        e.subnet_ids = vec!["subnet-c".into()];
    }
    s.network_acls.push(NetworkAclInfo {
        id: "acl-c".into(),
        subnet_ids: vec!["subnet-c".into()],
        ..Default::default()
    });
    let paths = paths(&s, "us-east-1", "subnet-c");
    let only_interfaces: Vec<_> = paths.into_iter().filter(|(svc, _)| *svc != "s3").collect();
    let cp = Peer::Net("10.0.1.25/32".parse().unwrap());
    assert!(acl_findings(&s, "subnet-c", &cp, &only_interfaces).is_empty());
}

#[test]
fn precedence_and_every_finding_listed() {
    let mut s = without_endpoints("");
    s.security_group_egress.insert("sg-client".into(), vec![]);
    s.endpoints = snap()
        .endpoints
        .into_iter()
        .filter(|e| e.id == "vpce-dkr")
        .collect();
    let f = run(
        &s,
        &["sg-client"],
        &ClientFacts {
            container: Some("/.dockerenv"),
            hop_limit: Some(1),
            ..Default::default()
        },
    );
    assert_eq!(code(&f), "no-route");
    assert_eq!(
        facts(&f, "findings"),
        serde_json::json!(["no-route", "sg-egress-blocks-443", "imds-hop-limit"])
    );
}

#[test]
fn hop_limit_one_in_a_container_on_ec2() {
    let c = |container, hop_limit, token| ClientFacts {
        container,
        hop_limit,
        token,
        instance_id: hop_limit.map(|_| "i-0abc".to_string()),
        ..Default::default()
    };
    let f = run(
        &snap(),
        &[],
        &c(
            Some("KUBERNETES_SERVICE_HOST"),
            Some(1),
            ImdsToken::Answered,
        ),
    );
    assert_eq!(code(&f), "imds-hop-limit");
    assert_eq!(facts(&f, "evidence"), "describe-instances");
    let msg = render(ID, &f);
    assert!(
        msg.contains("a Kubernetes pod")
            && msg.contains("HttpPutResponseHopLimit is 1 on instance i-0abc"),
        "{msg}"
    );
    let cmds = commands(&f);
    assert_eq!(cmds, vec!["aws ec2 modify-instance-metadata-options --region us-east-1 --instance-id i-0abc --http-put-response-hop-limit 2".to_string()]);
    assert!(cmds.iter().all(|c| !c.contains("--http-tokens")));
    // inferred from the token request that never came back: no instance id
    let f = run(
        &snap(),
        &[],
        &c(Some("/.dockerenv"), None, ImdsToken::PutTimedOut),
    );
    assert_eq!(code(&f), "imds-hop-limit");
    assert_eq!(facts(&f, "evidence"), "token-timeout");
    let cmds = commands(&f);
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    assert!(cmds[1].ends_with("--instance-id <instance-id> --http-put-response-hop-limit 2"));
    // hop limit 2, no container, or no IMDS at all: nothing to say
    for facts in [
        c(Some("/.dockerenv"), Some(2), ImdsToken::Answered),
        c(None, Some(1), ImdsToken::Answered),
        c(Some("/.dockerenv"), None, ImdsToken::Unreachable),
    ] {
        assert_eq!(
            code(&run(&snap(), &[], &facts)),
            "ok-endpoints",
            "{facts:?}"
        );
    }
}

// ------------------------------------------------------------------ the check itself

struct Env {
    vars: Vec<(&'static str, &'static str)>,
    files: Vec<&'static str>,
}

impl EnvProbe for Env {
    fn var(&self, name: &str) -> Option<String> {
        self.vars
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
    fn path_exists(&self, path: &str) -> bool {
        self.files.contains(&path)
    }
}

struct Meta {
    placement: Option<Placement>,
    token: ImdsToken,
    asked: std::sync::Mutex<u32>,
}

impl MetadataProbe for Meta {
    fn placement(&self) -> BoxFuture<'_, Result<Option<Placement>, String>> {
        let p = self.placement.clone();
        async move { Ok(p) }.boxed()
    }
    fn imds_token(&self) -> BoxFuture<'_, ImdsToken> {
        *self.asked.lock().unwrap() += 1;
        let t = self.token;
        async move { t }.boxed()
    }
}

fn ctx(s: VpcSnapshot, host: ClientHost, env: Env, meta: Meta, groups: &[&str]) -> Arc<Ctx> {
    let mut cx = ctx_with(
        FakeAws {
            vpc: Ok(s),
            client: Ok(host),
            ..Default::default()
        },
        &[],
        Ok(None),
    );
    let c = Arc::get_mut(&mut cx).unwrap();
    c.env = Arc::new(env);
    c.metadata = Arc::new(meta);
    c.set_vpc(vc(groups));
    cx
}

fn ec2_placement(public: PublicIpv4) -> Placement {
    Placement {
        source: "instance-metadata".into(),
        vpc_id: "vpc-1".into(),
        subnet_id: Some("subnet-c".into()),
        subnet_cidr: Some("10.0.1.0/24".into()),
        private_ip: Some("10.0.1.10".into()),
        instance_id: Some("i-0abc".into()),
        mac: Some("02:00:00:00:00:01".into()),
        public_ipv4: public,
        ..Default::default()
    }
}

#[tokio::test]
async fn the_check_reads_metadata_only_for_this_client() {
    let host = ClientHost {
        metadata_options: Some(InstanceMetadataOptions {
            instance_id: "i-0abc".into(),
            http_put_response_hop_limit: Some(1),
            ..Default::default()
        }),
        ..Default::default()
    };
    let meta = |p: Option<Placement>| Meta {
        placement: p,
        token: ImdsToken::Answered,
        asked: Default::default(),
    };
    let docker = || Env {
        vars: vec![],
        files: vec!["/.dockerenv"],
    };
    // EC2 in this subnet, in a container, hop limit 1
    let cx = ctx(
        snap(),
        host.clone(),
        docker(),
        meta(Some(ec2_placement(PublicIpv4::Absent))),
        &[],
    );
    let f = check(cx).await;
    render(ID, &f);
    assert_eq!(code(&f), "imds-hop-limit");
    assert_eq!(facts(&f, "container"), "/.dockerenv");
    // the same machine, not in a container
    let cx = ctx(
        snap(),
        host.clone(),
        Env {
            vars: vec![],
            files: vec![],
        },
        meta(Some(ec2_placement(PublicIpv4::Absent))),
        &[],
    );
    assert_eq!(code(&check(cx).await), "ok-endpoints");
    // metadata of a machine in another subnet says nothing about the client given by flags
    let mut elsewhere = ec2_placement(PublicIpv4::Absent);
    elsewhere.subnet_id = Some("subnet-p".into());
    let cx = ctx(
        without_endpoints("igw-1"),
        host.clone(),
        docker(),
        meta(Some(elsewhere)),
        &[],
    );
    let f = check(cx).await;
    assert_eq!(code(&f), "ok-public-ip");
    assert!(!f.facts.contains_key("public_ip"));
    // on the client: IMDS says no public address
    let cx = ctx(
        without_endpoints("igw-1"),
        ClientHost::default(),
        docker(),
        meta(Some(ec2_placement(PublicIpv4::Absent))),
        &[],
    );
    let f = check(cx).await;
    assert_eq!(code(&f), "no-public-ip");
    assert_eq!(facts(&f, "evidence"), "instance-metadata");
}

#[tokio::test]
async fn a_fargate_task_is_judged_by_its_interface() {
    let task = Placement {
        source: "task-metadata".into(),
        vpc_id: "vpc-1".into(),
        subnet_cidr: Some("10.0.1.0/24".into()),
        private_ip: Some("10.0.1.25".into()),
        mac: Some("02:00:00:00:00:02".into()),
        launch_type: Some("FARGATE".into()),
        ..Default::default()
    };
    let eni = |public: Option<&str>| ClientHost {
        interface: Some(ClientInterface {
            id: "eni-task".into(),
            subnet_id: "subnet-c".into(),
            public_ip: public.map(str::to_string),
            ..Default::default()
        }),
        ..Default::default()
    };
    let env = || Env {
        vars: vec![("ECS_CONTAINER_METADATA_URI_V4", "http://169.254.170.2/v4/x")],
        files: vec![],
    };
    let meta = || Meta {
        placement: Some(task.clone()),
        token: ImdsToken::PutTimedOut,
        asked: Default::default(),
    };
    let m = meta();
    let cx = ctx(without_endpoints("igw-1"), eni(None), env(), meta(), &[]);
    let f = check(cx).await;
    assert_eq!(code(&f), "no-public-ip", "{:?}", f.facts);
    assert_eq!(facts(&f, "network_interface"), "eni-task");
    // Fargate has no instance metadata: the token is not asked for
    let cx = ctx(
        without_endpoints("igw-1"),
        eni(Some("3.4.5.6")),
        env(),
        m,
        &[],
    );
    let f = check(cx.clone()).await;
    assert_eq!(code(&f), "ok-public-ip");
    assert_eq!(facts(&f, "public_ip"), "3.4.5.6");
}

#[tokio::test]
async fn flags_in_a_container_whose_token_request_hangs() {
    let meta = Meta {
        placement: None,
        token: ImdsToken::PutTimedOut,
        asked: Default::default(),
    };
    let env = Env {
        vars: vec![("KUBERNETES_SERVICE_HOST", "10.100.0.1")],
        files: vec![],
    };
    let cx = ctx(snap(), ClientHost::default(), env, meta, &["sg-client"]);
    let f = check(cx).await;
    assert_eq!(code(&f), "imds-hop-limit");
    assert_eq!(facts(&f, "evidence"), "token-timeout");
    assert!(!f.facts.contains_key("instance_id"));
}
