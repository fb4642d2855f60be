//! VPC checks against moto's VPC worlds (tests/lab/moto_lab.py --vpc-worlds): each world
//! breaks one thing, and the doctor must name exactly that check, status and code.

use crate::harness::{doctor, pairs, Moto, Run};
use serde_json::Value;
use std::sync::OnceLock;

/// One lab for all VPC tests; it exits with the test process (--parent-pid).
fn lab() -> &'static Moto {
    static LAB: OnceLock<Moto> = OnceLock::new();
    LAB.get_or_init(|| {
        let pid = std::process::id().to_string();
        Moto::start(
            &[
                "--vpc-worlds",
                "--imds-port",
                "0",
                "--ecs-port",
                "0",
                "--parent-pid",
                &pid,
            ],
            &[],
        )
    })
}

fn world(name: &str) -> Value {
    let w = lab().ready["vpc_worlds"][name].clone();
    assert!(w.is_object(), "no VPC world {name}");
    w
}

/// Runs the VPC checks (and what they need) for a world, as the healthy lab user.
fn run_world(name: &str, extra: &[&str]) -> Run {
    let w = world(name);
    let mut args = vec![
        "--output",
        "json",
        "--only",
        "vpc.dns-attributes,vpc.endpoint.ecr-api,vpc.endpoint.ecr-dkr,vpc.endpoint.s3",
        "--vpc",
        w["vpc_id"].as_str().unwrap(),
        "--subnet",
        w["subnet_id"].as_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    doctor(&lab().env_as("lab-healthy"), &args)
}

fn expect(name: &str, want: &[&str]) -> Run {
    let r = run_world(name, &[]);
    assert_eq!(
        r.not_passing(),
        want,
        "world {name}: {}",
        world(name)["note"]
    );
    r
}

#[test]
fn healthy_world_passes() {
    let r = expect("healthy", &[]);
    let w = world("healthy");
    let lookup = r.entry("vpc.lookup");
    assert_eq!(lookup["facts"]["vpc_id"], w["vpc_id"]);
    assert_eq!(lookup["facts"]["availability_zone"], "us-east-1a");
    assert_eq!(r.json()["context"]["subnet"], w["subnet_id"]);
    assert_eq!(
        r.entry("vpc.endpoint.ecr-dkr")["facts"]["endpoint_id"],
        w["endpoints"]["ecr.dkr"]
    );
    // implicit (main route table) association counts; prefix-list and SG-reference rules count
    expect("s3-main-table", &[]);
    expect("sg-443-prefix-list", &[]);
    let sg = world("sg-443-by-reference");
    let r = run_world(
        "sg-443-by-reference",
        &["--security-group", sg["client_sg"].as_str().unwrap()],
    );
    assert!(r.not_passing().is_empty(), "{:?}", r.not_passing());
}

#[test]
fn dns_attribute_worlds() {
    let r = expect(
        "dns-hostnames-off",
        &["vpc.dns-attributes=fail/dns-hostnames-disabled"],
    );
    let cmd = r.entry("vpc.dns-attributes")["remediation"]["commands"][0]
        .as_str()
        .unwrap()
        .to_string();
    let vpc = world("dns-hostnames-off")["vpc_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        cmd.contains(&format!(
            "--vpc-id {vpc} --enable-dns-hostnames '{{\"Value\":true}}'"
        )),
        "{cmd}"
    );
    expect(
        "dns-support-off",
        &["vpc.dns-attributes=fail/dns-support-disabled"],
    );
    let r = expect(
        "custom-dns",
        &["vpc.dns-attributes=warn/custom-dns-servers"],
    );
    let e = r.entry("vpc.dns-attributes");
    assert_eq!(e["facts"]["vpc_resolver"], "10.4.0.2");
    // issue 9 item 8: a server inside the VPC forwards to the VPC resolver ...
    assert_eq!(e["facts"]["dns_servers_placement"], "in-vpc");
    let text = e["remediation"]["text"].as_str().unwrap();
    assert!(text.contains("to the VPC resolver 10.4.0.2"), "{text}");
    assert!(!text.contains("inbound endpoint"), "{text}");
    let cmds = e["remediation"]["commands"].to_string();
    assert!(cmds.contains("dig @10.4.0.53 "), "{cmds}");
    assert!(!cmds.contains("route53resolver"), "{cmds}");
    // ... one outside it (on premises) needs a Route 53 Resolver inbound endpoint
    let r = expect(
        "custom-dns-onprem",
        &["vpc.dns-attributes=warn/custom-dns-servers"],
    );
    let e = r.entry("vpc.dns-attributes");
    assert_eq!(e["facts"]["dns_servers_placement"], "outside-vpc");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("192.168.10.53 (outside the VPC)"));
    let text = e["remediation"]["text"].as_str().unwrap();
    assert!(
        text.contains("Route 53 Resolver inbound endpoint"),
        "{text}"
    );
    assert!(!text.contains("inside the VPC"), "{text}");
    let cmds = e["remediation"]["commands"].to_string();
    let vpc = world("custom-dns-onprem")["vpc_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        cmds.contains(&format!(
            "route53resolver list-resolver-endpoints --region us-east-1 --filters Name=HostVPCId,Values={vpc} Name=Direction,Values=INBOUND"
        )),
        "{cmds}"
    );
    assert!(!cmds.contains("dig @"), "{cmds}");
}

#[test]
fn missing_endpoint_worlds() {
    let r = expect(
        "no-endpoints",
        &[
            "vpc.endpoint.ecr-api=fail/missing",
            "vpc.endpoint.ecr-dkr=fail/missing",
            "vpc.endpoint.s3=fail/missing",
        ],
    );
    let w = world("no-endpoints");
    let cmd = r.entry("vpc.endpoint.ecr-dkr")["remediation"]["commands"][0]
        .as_str()
        .unwrap()
        .to_string();
    for part in [
        format!("--vpc-id {}", w["vpc_id"].as_str().unwrap()),
        "--service-name com.amazonaws.us-east-1.ecr.dkr".into(),
        format!("--subnet-ids {} ", w["subnet_id"].as_str().unwrap()),
        // a group of the VPC that admits 443 from the client, not the default group
        format!(
            "--security-group-ids {} ",
            w["endpoint_sg"].as_str().unwrap()
        ),
        "--private-dns-enabled".into(),
    ] {
        assert!(cmd.contains(&part), "{part} not in {cmd}");
    }
    let s3 = r.entry("vpc.endpoint.s3")["remediation"]["commands"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        s3.contains(&format!(
            "--route-table-ids {}",
            w["route_table_id"].as_str().unwrap()
        )),
        "{s3}"
    );
    let r = expect(
        "no-endpoints-nat",
        &[
            "vpc.endpoint.ecr-api=warn/missing-internet-route",
            "vpc.endpoint.ecr-dkr=warn/missing-internet-route",
            "vpc.endpoint.s3=warn/missing-internet-route",
        ],
    );
    let nat = world("no-endpoints-nat")["nat_gateway"].clone();
    assert_eq!(r.entry("vpc.endpoint.s3")["facts"]["internet_target"], nat);
    expect("api-missing", &["vpc.endpoint.ecr-api=fail/missing"]);
    expect("dkr-missing", &["vpc.endpoint.ecr-dkr=fail/missing"]);
    expect("s3-missing", &["vpc.endpoint.s3=fail/missing"]);
    expect(
        "s3-interface-only",
        &["vpc.endpoint.s3=warn/interface-only"],
    );
}

#[test]
fn endpoint_configuration_worlds() {
    let r = expect(
        "dkr-private-dns-off",
        &["vpc.endpoint.ecr-dkr=fail/private-dns-disabled"],
    );
    let ep = world("dkr-private-dns-off")["endpoints"]["ecr.dkr"]
        .as_str()
        .unwrap()
        .to_string();
    let cmd = r.entry("vpc.endpoint.ecr-dkr")["remediation"]["commands"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        cmd.contains(&format!("--vpc-endpoint-id {ep} --private-dns-enabled")),
        "{cmd}"
    );
    // issue 9 item 7: no internet route: the public API name is unreachable
    expect(
        "api-private-dns-off",
        &["vpc.endpoint.ecr-api=fail/private-dns-disabled"],
    );
    let r = expect(
        "api-private-dns-off-nat",
        &["vpc.endpoint.ecr-api=warn/private-dns-disabled-internet-route"],
    );
    assert_eq!(
        r.entry("vpc.endpoint.ecr-api")["facts"]["internet_target"],
        world("api-private-dns-off-nat")["nat_gateway"]
    );
    let r = expect(
        "endpoint-pending",
        &["vpc.endpoint.ecr-dkr=fail/not-available"],
    );
    assert_eq!(
        r.entry("vpc.endpoint.ecr-dkr")["facts"]["state"],
        "pendingAcceptance"
    );
    let r = expect(
        "az-not-covered",
        &[
            "vpc.endpoint.ecr-api=warn/az-not-covered",
            "vpc.endpoint.ecr-dkr=warn/az-not-covered",
        ],
    );
    assert_eq!(r.entry("vpc.endpoint.ecr-api")["facts"]["az"], "us-east-1b");
}

#[test]
fn security_group_worlds() {
    let both = [
        "vpc.endpoint.ecr-api=fail/security-group-blocks-443",
        "vpc.endpoint.ecr-dkr=fail/security-group-blocks-443",
    ];
    let r = expect("sg-blocks-443", &both);
    let w = world("sg-blocks-443");
    let cmd = r.entry("vpc.endpoint.ecr-dkr")["remediation"]["commands"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        cmd.contains(&format!(
            "--group-id {} --protocol tcp --port 443 --cidr {}",
            w["endpoint_sg"].as_str().unwrap(),
            w["subnet_cidr"].as_str().unwrap()
        )),
        "{cmd}"
    );
    expect("sg-443-other-cidr", &both);
    // a rule that names the client's group, when the client's group is not known
    expect("sg-443-by-reference", &both);
}

#[test]
fn policy_worlds() {
    let r = expect(
        "api-policy-denies",
        &["vpc.endpoint.ecr-api=fail/policy-denies"],
    );
    let denied = r.entry("vpc.endpoint.ecr-api")["facts"]["denied_actions"].clone();
    assert!(
        denied.to_string().contains("ecr:GetAuthorizationToken"),
        "{denied}"
    );
    let r = expect(
        "dkr-policy-denies",
        &["vpc.endpoint.ecr-dkr=fail/policy-denies"],
    );
    // the command keeps the policy's statement and adds the pull actions
    let cmds = r.entry("vpc.endpoint.ecr-dkr")["remediation"]["commands"].clone();
    let modify = cmds[1].as_str().unwrap();
    assert!(modify.contains("--policy-document '{"), "{modify}");
    for part in [
        r#""Sid":"OnlyDescribe""#,
        r#""Sid":"AllowEcrPull""#,
        "ecr:BatchGetImage",
    ] {
        assert!(modify.contains(part), "{part} not in {modify}");
    }
    let r = expect(
        "dkr-policy-explicit-deny",
        &["vpc.endpoint.ecr-dkr=fail/policy-denies"],
    );
    let e = r.entry("vpc.endpoint.ecr-dkr");
    assert_eq!(e["facts"]["denied_actions"][0], "ecr:BatchGetImage", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("(explicit Deny in "),
        "{e}"
    );
    expect(
        "s3-not-associated",
        &["vpc.endpoint.s3=fail/route-table-not-associated"],
    );
    let r = expect(
        "s3-policy-denies",
        &["vpc.endpoint.s3=fail/policy-denies-layer-bucket"],
    );
    // never one narrow statement in place of the whole policy: the other bucket stays
    let e = r.entry("vpc.endpoint.s3");
    let cmds = e["remediation"]["commands"].clone();
    let merged = cmds[0].as_str().unwrap();
    for part in [
        "arn:aws:s3:::some-other-bucket/*",
        "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*",
        r#""Principal":"*""#,
    ] {
        assert!(merged.contains(part), "{part} not in {merged}");
    }
    let policy = merged
        .split_once("--policy-document '")
        .unwrap()
        .1
        .trim_end_matches('\'');
    let doc: Value = serde_json::from_str(policy).expect("the merged policy is JSON");
    assert_eq!(doc["Statement"].as_array().unwrap().len(), 2);
    assert!(cmds[1].as_str().unwrap().ends_with("--reset-policy"));
    assert!(e["remediation"]["text"]
        .as_str()
        .unwrap()
        .contains("every S3 action on every bucket"));
    // ECR's presigned layer URLs are not the account's requests ...
    let r = expect(
        "s3-policy-principal-limited",
        &["vpc.endpoint.s3=fail/policy-denies-layer-bucket"],
    );
    let e = r.entry("vpc.endpoint.s3");
    assert_eq!(e["facts"]["limited_statements"][0], "LayersFromHere");
    assert!(e["remediation"]["text"]
        .as_str()
        .unwrap()
        .contains("presigned by ECR with its own credentials"));
    // ... but they do arrive through the endpoint, from the VPC
    expect("s3-policy-source-vpc", &[]);
}

/// A lab DNS server on loopback answering `records` (name, address), for --dns-server.
struct Dnsmasq {
    child: std::process::Child,
    pub server: String,
}

impl Dnsmasq {
    fn start(records: &[(&str, &str)]) -> Dnsmasq {
        // a port free for UDP may be taken for TCP (dnsmasq binds both, and exits when it
        // cannot): another port then, a few times
        for _ in 0..5 {
            if let Some(d) = Self::try_start(records) {
                return d;
            }
        }
        panic!("dnsmasq did not start on any of 5 ports");
    }

    fn try_start(records: &[(&str, &str)]) -> Option<Dnsmasq> {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = std::process::Command::new("dnsmasq");
        cmd.args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--pid-file",
            "--user=root",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--local=/amazonaws.com/",
        ])
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        for (name, ip) in records {
            cmd.arg(format!("--host-record={name},{ip}"));
        }
        let mut child = cmd.spawn().expect("dnsmasq (Debian dnsmasq-base)");
        // ready when it answers over TCP; gone when it could not bind
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if child.try_wait().ok().flatten().is_some() {
                return None;
            }
            assert!(start.elapsed().as_secs() < 10, "dnsmasq did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // a TCP answer from another program on that port: dnsmasq exits, try again
        std::thread::sleep(std::time::Duration::from_millis(50));
        if child.try_wait().ok().flatten().is_some() {
            return None;
        }
        Some(Dnsmasq {
            child,
            server: format!("127.0.0.1:{port}"),
        })
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 9 item 9: the answer must be an address of the endpoint's network interfaces (the
/// lab gives them addresses of their subnet, as AWS does: 10.1.1.10 and 10.1.1.11 in the
/// healthy world); another private address of the VPC, such as a record of a private
/// hosted zone left from an earlier endpoint, is not-endpoint-address.
#[test]
fn dns_answers_must_be_the_endpoint_interfaces() {
    let dns = Dnsmasq::start(&[
        ("api.ecr.us-east-1.amazonaws.com", "10.1.1.10"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "10.1.1.99"),
    ]);
    let w = world("healthy");
    let r = doctor(
        &lab().env_as("lab-healthy"),
        &[
            "--output",
            "json",
            "--only",
            "vpc.endpoint.ecr-api,vpc.endpoint.ecr-dkr,dns.ecr-api,dns.ecr-dkr",
            "--vpc",
            w["vpc_id"].as_str().unwrap(),
            "--subnet",
            w["subnet_id"].as_str().unwrap(),
            "--dns-server",
            &dns.server,
        ],
    );
    assert_eq!(
        r.check("dns.ecr-api"),
        ("pass".into(), Some("ok-endpoint".into()))
    );
    assert_eq!(
        r.entry("dns.ecr-api")["facts"]["endpoint_ips"],
        serde_json::json!(["10.1.1.10"])
    );
    assert_eq!(
        r.check("dns.ecr-dkr"),
        ("fail".into(), Some("not-endpoint-address".into())),
        "{}",
        r.entry("dns.ecr-dkr")
    );
    let e = r.entry("dns.ecr-dkr");
    assert_eq!(e["facts"]["endpoint_ips"], serde_json::json!(["10.1.1.11"]));
    assert_eq!(
        e["facts"]["other_addresses"],
        serde_json::json!(["10.1.1.99"])
    );
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("deleted and recreated"));
}

#[test]
fn lookup_failures() {
    let r = doctor(
        &lab().env_as("lab-healthy"),
        &["--output", "json", "--vpc", "vpc-0123456789abcdef0"],
    );
    assert_eq!(
        r.check("vpc.lookup"),
        ("fail".into(), Some("not-found".into()))
    );
    assert_eq!(
        r.check("vpc.endpoint.ecr-dkr"),
        ("skip".into(), Some("dependency-not-passed".into()))
    );
    let w = world("healthy");
    let other = world("dns-support-off");
    let r = doctor(
        &lab().env_as("lab-healthy"),
        &[
            "--output",
            "json",
            "--vpc",
            w["vpc_id"].as_str().unwrap(),
            "--subnet",
            other["subnet_id"].as_str().unwrap(),
        ],
    );
    assert_eq!(
        r.check("vpc.lookup"),
        ("fail".into(), Some("subnet-not-in-vpc".into()))
    );
    // a principal without ec2:Describe* permissions
    let enforcing = Moto::start(&["--enforce-auth", "--vpc-worlds"], &[]);
    let vpc = enforcing.ready["vpc_worlds"]["healthy"]["vpc_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = doctor(
        &enforcing.env_as("lab-no-ecr-token"),
        &["--output", "json", "--vpc", &vpc],
    );
    assert_eq!(
        r.check("vpc.lookup"),
        ("fail".into(), Some("access-denied".into()))
    );
    assert!(r.entry("vpc.lookup")["remediation"]["text"]
        .as_str()
        .unwrap()
        .contains("ec2:DescribeVpcEndpoints"));
}

#[test]
fn detects_the_vpc_from_instance_metadata() {
    let imds = lab().ready["imds"]["endpoint"]
        .as_str()
        .unwrap()
        .to_string();
    // an EC2 instance: no static keys, credentials and placement from IMDSv2
    let env = pairs(&[
        ("AWS_ENDPOINT_URL", &lab().endpoint()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds),
    ]);
    let r = doctor(&env, &["--output", "json"]);
    assert_eq!(
        r.entry("credentials.source")["facts"]["source"],
        "instance-metadata"
    );
    let lookup = r.entry("vpc.lookup");
    assert_eq!(lookup["status"], "pass", "{lookup}");
    assert_eq!(lookup["facts"]["detected_from"], "instance-metadata");
    assert!(lookup["message"]
        .as_str()
        .unwrap()
        .contains("from EC2 instance metadata"));
    assert_eq!(lookup["facts"]["vpc_id"], world("healthy")["vpc_id"]);
    assert_eq!(lookup["facts"]["subnet_id"], world("healthy")["subnet_id"]);
    assert_eq!(
        lookup["facts"]["client_security_groups"][0],
        world("healthy")["client_sg"]
    );
    assert!(r.not_passing().is_empty(), "{:?}", r.not_passing());
    let context = &r.json()["context"];
    assert_eq!(context["vpc"], world("healthy")["vpc_id"]);
    assert_eq!(context["vpc_source"], "instance-metadata");
    assert_eq!(context["availability_zone"], "us-east-1a");
    crate::harness::validate_schema(&r.stdout);
}

#[test]
fn detects_the_vpc_from_ecs_task_metadata() {
    let ecs = &lab().ready["ecs"];
    let env = pairs(&[
        ("AWS_ENDPOINT_URL", &lab().endpoint()),
        (
            "ECS_CONTAINER_METADATA_URI_V4",
            ecs["metadata_uri"].as_str().unwrap(),
        ),
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            ecs["credentials_uri"].as_str().unwrap(),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    let r = doctor(&env, &["--output", "json"]);
    assert_eq!(
        r.entry("credentials.source")["facts"]["source"],
        "container"
    );
    let lookup = r.entry("vpc.lookup");
    assert_eq!(
        lookup["facts"]["detected_from"], "task-metadata",
        "{lookup}"
    );
    // task metadata has the subnet CIDR, not its id: the doctor finds the subnet
    assert_eq!(lookup["facts"]["subnet_id"], world("healthy")["subnet_id"]);
    // the task role's credentials are not the execution role's, which pulls
    assert_eq!(
        r.not_passing(),
        ["credentials.source=warn/task-role-not-execution-role"]
    );
}

#[test]
fn role_arn_is_assumed_and_checked_as() {
    // a role whose trust policy lets the caller's account in (lab extension 20)
    let role = "arn:aws:iam::123456789012:role/lab-role-complete";
    let r = doctor(
        &lab().env_as("lab-healthy"),
        &[
            "--output",
            "json",
            "--role-arn",
            role,
            "--only",
            "token.get",
        ],
    );
    assert_eq!(
        r.check("credentials.source"),
        ("pass".into(), Some("ok-assumed-role".into()))
    );
    let facts = &r.entry("credentials.source")["facts"];
    assert_eq!(facts["role_arn"], role);
    assert_eq!(facts["base_source"], "environment");
    assert!(
        facts["access_key_id"].as_str().unwrap().starts_with("ASIA"),
        "{facts}"
    );
    assert_eq!(
        r.entry("identity.caller")["facts"]["arn"],
        "arn:aws:sts::123456789012:assumed-role/lab-role-complete/ecr-doctor"
    );
    assert_eq!(r.check("token.get").0, "pass");
    // the instance role trusts only ec2.amazonaws.com: AssumeRole is refused, the run goes
    // on with the caller's own credentials
    let instance_role = "arn:aws:iam::123456789012:role/lab-instance-role";
    let r = doctor(
        &lab().env_as("lab-healthy"),
        &[
            "--output",
            "json",
            "--role-arn",
            instance_role,
            "--only",
            "token.get",
        ],
    );
    assert_eq!(
        r.check("credentials.source"),
        ("warn".into(), Some("role-not-assumable".into()))
    );
    let msg = r.entry("credentials.source")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains(
            "sts:AssumeRole into arn:aws:iam::123456789012:role/lab-instance-role was refused"
        ),
        "{msg}"
    );
    assert_eq!(
        r.entry("identity.caller")["facts"]["arn"],
        "arn:aws:iam::123456789012:user/lab-healthy"
    );
    assert_eq!(r.check("token.get").0, "pass");
    // a caller without sts:AssumeRole (IAM enforced): refused too, never a dead run
    let enforcing = Moto::start(&["--enforce-auth"], &[]);
    let r = doctor(
        &enforcing.env_as("lab-no-ecr-token"),
        &[
            "--output",
            "json",
            "--role-arn",
            role,
            "--only",
            "token.get",
        ],
    );
    assert_eq!(
        r.check("credentials.source"),
        ("warn".into(), Some("role-not-assumable".into()))
    );
    assert_eq!(r.check("identity.caller").0, "pass");
    assert_eq!(
        r.check("token.get"),
        ("fail".into(), Some("access-denied".into()))
    );
}
