//! `vpc.client-path` against the lab's VPC worlds and metadata stand-ins
//! (tests/lab/moto_lab.py --vpc-worlds --client-stand-ins): every code from a world, through
//! the built binary.

use crate::harness::{doctor, pairs, Moto, Run};
use serde_json::Value;
use std::sync::OnceLock;

const ID: &str = "vpc.client-path";

/// One lab for these tests (with the extra stand-ins); it exits with the test process.
fn lab() -> &'static Moto {
    static LAB: OnceLock<Moto> = OnceLock::new();
    LAB.get_or_init(|| {
        let pid = std::process::id().to_string();
        Moto::start(
            &["--vpc-worlds", "--client-stand-ins", "--parent-pid", &pid],
            &[],
        )
    })
}

fn world(name: &str) -> Value {
    let w = lab().ready["vpc_worlds"][name].clone();
    assert!(w.is_object(), "no VPC world {name}");
    w
}

fn client(name: &str) -> Value {
    let c = lab().ready["clients"][name].clone();
    assert!(c.is_object(), "no client stand-in {name}");
    c
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

/// The check for a world's client subnet given by flags (plus `extra`).
fn by_flags(name: &str, extra: &[&str]) -> Run {
    let w = world(name);
    let (vpc, subnet) = (s(&w["vpc_id"]), s(&w["subnet_id"]));
    let mut args = vec!["--output", "json", "--only", ID, "--vpc", &vpc];
    args.extend_from_slice(&["--subnet", &subnet]);
    args.extend_from_slice(extra);
    doctor(&lab().env_as("lab-healthy"), &args)
}

/// Status and code of the check, with the world's note when they differ.
fn expect(r: &Run, status: &str, code: &str, what: &str) -> Value {
    let e = r.entry(ID);
    assert_eq!(
        r.check(ID),
        (status.to_string(), Some(code.to_string())),
        "{what}: {e}"
    );
    e
}

fn commands(e: &Value) -> Vec<String> {
    e["remediation"]["commands"]
        .as_array()
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default()
}

#[test]
fn route_worlds_name_the_path_taken() {
    let w = world("healthy");
    let r = by_flags("healthy", &["--security-group", &s(&w["client_sg"])]);
    let e = expect(&r, "pass", "ok-endpoints", "healthy");
    assert_eq!(e["facts"]["dkr_via"], w["endpoints"]["ecr.dkr"]);
    assert_eq!(e["facts"]["s3_via"], w["endpoints"]["s3"]);
    assert!(!s(&e["message"]).contains("not checked"), "{e}");

    let e = expect(
        &by_flags("no-endpoints-nat", &[]),
        "pass",
        "ok-nat",
        "no-endpoints-nat",
    );
    assert_eq!(
        e["facts"]["nat_gateway"],
        world("no-endpoints-nat")["nat_gateway"]
    );
    // the subnet alone decides the route; egress is said to be unchecked
    assert!(
        s(&e["message"]).contains("security group egress not checked (pass --security-group)"),
        "{e}"
    );

    let w = world("no-endpoints");
    let e = expect(
        &by_flags("no-endpoints", &[]),
        "fail",
        "no-route",
        "no-endpoints",
    );
    assert_eq!(
        e["facts"]["services"],
        serde_json::json!(["ecr.api", "ecr.dkr", "s3"])
    );
    assert_eq!(
        commands(&e),
        vec![format!(
            "aws ec2 create-vpc-endpoint --region us-east-1 --vpc-id {} --vpc-endpoint-type Gateway --service-name com.amazonaws.us-east-1.s3 --route-table-ids {}",
            s(&w["vpc_id"]),
            s(&w["route_table_id"])
        )]
    );
    // one missing interface endpoint, no internet route: no way to that one service
    let e = expect(
        &by_flags("api-missing", &[]),
        "fail",
        "no-route",
        "api-missing",
    );
    assert_eq!(e["facts"]["services"], serde_json::json!(["ecr.api"]));

    let e = expect(
        &by_flags("transit-route", &[]),
        "pass",
        "ok-other-route",
        "transit-route",
    );
    assert!(s(&e["facts"]["route_target"]).starts_with("tgw-"), "{e}");

    // an internet gateway, the client's address unknown from here: pass, and said so
    let e = expect(
        &by_flags("igw-public", &[]),
        "pass",
        "ok-public-ip",
        "igw-public",
    );
    assert!(e["facts"]["public_ip"].is_null(), "{e}");
    assert!(s(&e["message"]).contains("could not be checked"), "{e}");
}

#[test]
fn unknown_subnet_is_skipped_naming_the_flags() {
    let vpc = s(&world("healthy")["vpc_id"]);
    let r = doctor(
        &lab().env_as("lab-healthy"),
        &["--output", "json", "--only", ID, "--vpc", &vpc],
    );
    let e = expect(&r, "skip", "unknown-client", "no --subnet");
    let msg = s(&e["message"]);
    assert!(
        msg.contains("--subnet") && msg.contains("--security-group"),
        "{msg}"
    );
}

/// The doctor on an EC2 instance of the lab: credentials and placement from its IMDS.
fn on_instance(name: &str, extra_env: &[(&str, &str)], args: &[&str]) -> Run {
    let c = client(name);
    let endpoint = s(&c["endpoint"]);
    let mut env = pairs(&[
        ("AWS_ENDPOINT_URL", &lab().endpoint()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint),
    ]);
    env.extend(pairs(extra_env));
    let mut a = vec!["--output", "json", "--only", ID];
    a.extend_from_slice(args);
    doctor(&env, &a)
}

#[test]
fn internet_gateway_and_the_clients_public_address() {
    let c = client("imds-public");
    let r = on_instance("imds-public", &[], &[]);
    let e = expect(&r, "pass", "ok-public-ip", "imds-public");
    assert_eq!(e["facts"]["public_ip"], c["public_ip"], "{e}");
    assert_eq!(
        r.entry("vpc.lookup")["facts"]["detected_from"],
        "instance-metadata"
    );

    // EC2 without a public address: IMDS has no public-ipv4
    let c = client("imds-no-public");
    let e = expect(
        &on_instance("imds-no-public", &[], &[]),
        "fail",
        "no-public-ip",
        "imds-no-public",
    );
    assert_eq!(e["facts"]["evidence"], "instance-metadata");
    let cmds = commands(&e);
    assert!(
        cmds.contains(&format!(
            "aws ec2 associate-address --region us-east-1 --instance-id {} --allocation-id $(aws ec2 allocate-address --region us-east-1 --domain vpc --query AllocationId --output text)",
            s(&c["instance_id"])
        )),
        "{cmds:?}"
    );

    // Fargate with assignPublicIp DISABLED: the task's ENI, found by its MAC, has no address
    let c = client("ecs-no-public");
    let env = pairs(&[
        ("AWS_ENDPOINT_URL", &lab().endpoint()),
        ("ECS_CONTAINER_METADATA_URI_V4", &s(&c["metadata_uri"])),
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            &s(&c["credentials_uri"]),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    let r = doctor(&env, &["--output", "json", "--only", ID]);
    let e = expect(&r, "fail", "no-public-ip", "ecs-no-public");
    assert_eq!(e["facts"]["evidence"], "network-interface");
    assert_eq!(e["facts"]["network_interface"], c["eni_id"]);
    assert_eq!(e["facts"]["launch_type"], "FARGATE");
    // no instance to give an Elastic IP to
    assert!(
        commands(&e)
            .iter()
            .all(|c| !c.contains("associate-address")),
        "{e}"
    );
}

#[test]
fn security_group_egress_world() {
    let w = world("client-egress-blocked");
    let r = by_flags(
        "client-egress-blocked",
        &["--security-group", &s(&w["client_sg"])],
    );
    let e = expect(&r, "fail", "sg-egress-blocks-443", "client-egress-blocked");
    assert_eq!(
        e["facts"]["blocked_services"],
        serde_json::json!(["ecr.api", "ecr.dkr", "s3"])
    );
    let cmds = commands(&e);
    assert!(
        cmds.contains(&format!(
            "aws ec2 authorize-security-group-egress --region us-east-1 --group-id {} --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{{GroupId={}}}]'",
            s(&w["client_sg"]),
            s(&w["endpoint_sg"])
        )),
        "{cmds:?}"
    );
    assert!(
        cmds.iter()
            .any(|c| c.contains("PrefixListIds=[{PrefixListId=pl-")),
        "{cmds:?}"
    );
    // the same world without the client's groups: egress is not judged
    let e = expect(
        &by_flags("client-egress-blocked", &[]),
        "pass",
        "ok-endpoints",
        "client-egress-blocked without --security-group",
    );
    assert!(s(&e["message"]).contains("egress not checked"), "{e}");
}

#[test]
fn network_acl_worlds() {
    let r = by_flags("nacl-blocks-443", &[]);
    let e = expect(&r, "fail", "nacl-blocks", "nacl-blocks-443");
    assert_eq!(e["facts"]["rule"], "90");
    assert_eq!(e["facts"]["side"], "client");
    assert_eq!(e["facts"]["acl_direction"], "egress");
    assert_eq!(e["facts"]["service"], "s3");
    let acl = s(&e["facts"]["acl_id"]);
    assert_eq!(
        commands(&e),
        vec![format!("aws ec2 create-network-acl-entry --region us-east-1 --network-acl-id {acl} --egress --rule-number 89 --protocol tcp --port-range From=443,To=443 --cidr-block 0.0.0.0/0 --rule-action allow")]
    );

    let w = world("nacl-endpoint-ephemeral");
    let e = expect(
        &by_flags("nacl-endpoint-ephemeral", &[]),
        "fail",
        "nacl-blocks",
        "nacl-endpoint-ephemeral",
    );
    assert_eq!(e["facts"]["side"], "endpoint");
    assert_eq!(e["facts"]["rule"], "*");
    assert_eq!(e["facts"]["blocked_ports"], "32768-60999");
    assert_eq!(e["facts"]["peer"], w["subnet_cidr"]);
    assert!(
        commands(&e)[0].contains(
            "--egress --rule-number 32766 --protocol tcp --port-range From=32768,To=60999"
        ),
        "{e}"
    );
}

#[test]
fn imds_hop_limit_in_a_container() {
    // DescribeInstances says HttpPutResponseHopLimit 1; a Kubernetes pod
    let c = client("imds-hop-limit-1");
    let r = on_instance(
        "imds-hop-limit-1",
        &[("KUBERNETES_SERVICE_HOST", "10.100.0.1")],
        &[],
    );
    let e = expect(&r, "warn", "imds-hop-limit", "imds-hop-limit-1");
    assert_eq!(e["facts"]["evidence"], "describe-instances");
    assert_eq!(
        commands(&e),
        vec![format!(
            "aws ec2 modify-instance-metadata-options --region us-east-1 --instance-id {} --http-put-response-hop-limit 2",
            s(&c["instance_id"])
        )]
    );
    // the lab's other instances have hop limit 2: nothing to say, container or not
    let r = on_instance(
        "imds-public",
        &[("KUBERNETES_SERVICE_HOST", "10.100.0.1")],
        &[],
    );
    assert_eq!(r.check(ID).0, "pass", "{}", r.entry(ID));

    // flags, in a container whose IMDSv2 token request is accepted and never answered
    let c = client("imds-token-hangs");
    let w = world("healthy");
    let mut env = lab().env_as("lab-healthy");
    env.extend(pairs(&[
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &s(&c["endpoint"])),
        ("KUBERNETES_SERVICE_HOST", "10.100.0.1"),
    ]));
    let (vpc, subnet) = (s(&w["vpc_id"]), s(&w["subnet_id"]));
    let r = doctor(
        &env,
        &[
            "--output",
            "json",
            "--only",
            ID,
            "--vpc",
            &vpc,
            "--subnet",
            &subnet,
            "--timeout",
            "2s",
        ],
    );
    let e = expect(&r, "warn", "imds-hop-limit", "imds-token-hangs");
    assert_eq!(e["facts"]["evidence"], "token-timeout");
    let cmds = commands(&e);
    assert!(
        cmds.iter().all(|c| !c.contains("--http-tokens")),
        "{cmds:?}"
    );
    assert!(
        cmds.last()
            .unwrap()
            .ends_with("--instance-id <instance-id> --http-put-response-hop-limit 2"),
        "{cmds:?}"
    );
}
