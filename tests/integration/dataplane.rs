//! The data plane, run inside the lab's network namespaces ("VPC in a box"): the doctor
//! uses its normal system resolver and port 443, against dnsmasq, moto over TLS and the
//! distribution registry with its S3 redirect. Needs root and `ip netns`; without them these
//! tests say so and pass vacuously, unless ECR_DOCTOR_REQUIRE_NETLAB=1 (CI) makes them fail.

use crate::harness::{
    clean_env, repo, run_of, skip_docker_unless_configured, validate_schema, Run,
};
use serde_json::Value;
use std::process::Command;

pub struct Netlab {
    pub ns: String,
    pub lab: Value,
    env: Vec<(String, String)>,
}

fn netlab() -> std::path::PathBuf {
    repo().join("tests/lab/netlab.sh")
}

impl Netlab {
    /// `None` (after saying why on stderr) when this machine cannot make namespaces.
    pub fn up(name: &str, world: &str) -> Option<Netlab> {
        Netlab::up_with(name, world, false)
    }

    /// With `vpc`, moto inside the namespace also holds the VPC worlds (see moto_lab.py).
    pub fn up_with(name: &str, world: &str, vpc: bool) -> Option<Netlab> {
        let check = Command::new(netlab())
            .arg("check")
            .output()
            .expect("run netlab.sh check");
        if !check.status.success() {
            let why = String::from_utf8_lossy(&check.stdout).to_string()
                + &String::from_utf8_lossy(&check.stderr);
            if std::env::var("ECR_DOCTOR_REQUIRE_NETLAB").is_ok_and(|v| v == "1") {
                panic!("the namespace lab cannot run here: {why}");
            }
            eprintln!(
                "SKIPPED {name}: the namespace lab cannot run here ({}); run as root to include it",
                why.trim()
            );
            return None;
        }
        let ns = format!("ecrd-{name}-{}", std::process::id() % 100000);
        let mut up = Command::new(netlab());
        up.args(["up", &ns, world]);
        if vpc {
            up.env("NETLAB_VPC", "1");
        }
        let out = up.output().expect("netlab.sh up");
        assert!(
            out.status.success(),
            "netlab.sh up {ns} {world} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = repo().join("tests/lab/run").join(&ns);
        let mut lab: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("lab.json")).unwrap()).unwrap();
        let moto: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("moto.ready.json")).unwrap())
                .unwrap();
        lab["vpc_worlds"] = moto["vpc_worlds"].clone();
        // the client environment exactly as env.sh sets it
        let dump = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}' && env -0",
                dir.join("env.sh").display()
            ))
            .env_clear()
            .output()
            .unwrap();
        let env = String::from_utf8_lossy(&dump.stdout)
            .split('\0')
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| k.starts_with("AWS_"))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Some(Netlab { ns, lab, env })
    }

    /// `--vpc <id> --subnet <id>` of one of moto's VPC worlds (with `up_with(.., true)`).
    pub fn vpc_args(&self, world: &str) -> [String; 4] {
        let w = &self.lab["vpc_worlds"][world];
        [
            "--vpc".into(),
            w["vpc_id"].as_str().unwrap().into(),
            "--subnet".into(),
            w["subnet_id"].as_str().unwrap().into(),
        ]
    }

    pub fn world(&self, world: &str) {
        let out = Command::new(netlab())
            .args(["world", &self.ns, world])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "netlab.sh world {world}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs the doctor inside the namespace with the lab's client environment.
    pub fn doctor(&self, args: &[&str]) -> Run {
        self.doctor_env(&[], args)
    }

    /// The same, with `extra` on top of the lab's environment.
    pub fn doctor_env(&self, extra: &[(String, String)], args: &[&str]) -> Run {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns, env!("CARGO_BIN_EXE_ecr-doctor")])
            .args(args);
        skip_docker_unless_configured(&mut cmd, extra);
        clean_env(&mut cmd, home.path());
        cmd.envs(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        run_of(
            cmd.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .output()
                .unwrap(),
        )
    }
}

impl Drop for Netlab {
    fn drop(&mut self) {
        let _ = Command::new(netlab()).args(["down", &self.ns]).output();
    }
}

const JSON: [&str; 2] = ["--output", "json"];

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = JSON.to_vec();
    a.extend_from_slice(extra);
    a
}

#[test]
fn healthy_world_pulls_a_layer_through_the_s3_redirect() {
    let Some(lab) = Netlab::up_with("ok", "healthy", true) else {
        return;
    };
    // the whole path, as on an instance of the VPC's private subnet
    let vpc = lab.vpc_args("healthy");
    let r = lab.doctor(&args(&[
        "--image",
        "lab/app:1.0",
        "--vpc",
        &vpc[1],
        "--subnet",
        &vpc[3],
    ]));
    assert_eq!(r.code, 0, "{:?}\n{}", r.not_passing(), r.stderr);
    validate_schema(&r.stdout);
    assert!(r.not_passing().is_empty(), "{:?}", r.not_passing());
    // every check of the path passed; role.permissions has no --role-arn to look at
    assert_eq!(
        r.check("role.permissions"),
        ("skip".into(), Some("no-role".into()))
    );
    assert_eq!(
        r.json()["summary"]["pass"],
        r.json()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["code"] != "skipped-by-user" && c["code"] != "no-role")
            .count(),
        "every check of the path passed (but those the harness skips)"
    );
    let dns = r.entry("dns.ecr-dkr");
    assert_eq!(dns["code"], "ok-endpoint");
    assert_eq!(dns["facts"]["addresses"][0], "10.1.1.11");
    assert_eq!(dns["facts"]["resolver"], "system", "{}", dns["facts"]);
    assert!(
        dns["message"]
            .as_str()
            .unwrap()
            .contains("system resolver ("),
        "{dns}"
    );
    let net = r.entry("net.ecr-dkr");
    assert!(net["facts"]["cert_issuer"]
        .as_str()
        .unwrap()
        .contains("ecr-doctor lab CA"));
    let layers = &lab.lab["images"]["lab/app:1.0"]["layers"];
    let smallest = layers
        .as_array()
        .unwrap()
        .iter()
        .min_by_key(|l| l["size"].as_u64())
        .unwrap();
    let dl = r.entry("image.layer-download");
    assert_eq!(dl["facts"]["digest"], smallest["digest"]);
    assert_eq!(dl["facts"]["bytes"], smallest["size"]);
    assert_eq!(
        dl["facts"]["redirect_host"],
        "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com"
    );
    assert_eq!(
        r.entry("image.manifest")["facts"]["digest"],
        lab.lab["images"]["lab/app:1.0"]["digest"]
    );

    // the same registry: a missing tag, a missing repository, a multi-platform index
    let r = lab.doctor(&args(&["--image", "lab/app:9.9"]));
    assert_eq!(
        r.not_passing(),
        [
            "image.manifest=fail/not-found",
            "image.layer-download=skip/dependency-not-passed"
        ]
    );
    let facts = &r.entry("image.manifest")["facts"];
    assert_eq!(facts["repository_exists"], true);
    assert_eq!(facts["close_tags"][0], "1.0");
    let r = lab.doctor(&args(&["--image", "lab/missing:1.0"]));
    assert_eq!(
        r.check("image.manifest"),
        ("fail".into(), Some("not-found".into()))
    );
    assert_eq!(
        r.entry("image.manifest")["facts"]["repository_exists"],
        false
    );
    let r = lab.doctor(&args(&["--image", "lab/multi:1.0"]));
    assert!(r.not_passing().is_empty(), "{:?}", r.not_passing());
    assert_eq!(
        r.entry("image.manifest")["facts"]["platform"],
        "linux/amd64"
    );
    let r = lab.doctor(&args(&[
        "--image",
        "lab/multi:1.0",
        "--platform",
        "linux/s390x",
    ]));
    assert_eq!(
        r.check("image.manifest"),
        ("fail".into(), Some("platform-not-found".into()))
    );
    // no --image: the image checks say so and the rest passes
    let r = lab.doctor(&JSON);
    assert_eq!(
        r.check("image.manifest"),
        ("skip".into(), Some("no-image".into()))
    );
    assert_eq!(r.code, 0);
}

#[test]
fn registry_blackholed_refused_and_wrong_certificate() {
    let Some(lab) = Netlab::up("reg", "registry-dropped") else {
        return;
    };
    let r = lab.doctor(&args(&["--image", "lab/app:1.0", "--timeout", "1s"]));
    assert_eq!(r.code, 1);
    assert_eq!(
        r.not_passing(),
        [
            "net.ecr-dkr=fail/connect-timeout",
            "registry.auth=skip/dependency-not-passed",
            "image.manifest=skip/dependency-not-passed",
            "image.layer-download=skip/dependency-not-passed"
        ]
    );
    assert_eq!(r.entry("net.ecr-dkr")["facts"]["address"], "10.1.1.11:443");

    lab.world("registry-refused");
    let r = lab.doctor(&args(&["--image", "lab/app:1.0"]));
    assert_eq!(
        r.check("net.ecr-dkr"),
        ("fail".into(), Some("connection-refused".into()))
    );

    lab.world("wrong-cert");
    let r = lab.doctor(&args(&["--image", "lab/app:1.0"]));
    assert_eq!(
        r.check("net.ecr-dkr"),
        ("fail".into(), Some("tls-failed".into()))
    );
    let facts = &r.entry("net.ecr-dkr")["facts"];
    assert!(
        !facts["cert_issuer"]
            .as_str()
            .unwrap()
            .contains("ecr-doctor lab CA"),
        "{facts}"
    );
    assert_eq!(
        r.check("net.ecr-api").0,
        "pass",
        "only the registry's certificate is wrong"
    );

    lab.world("wrong-token");
    let r = lab.doctor(&args(&["--image", "lab/app:1.0"]));
    assert_eq!(
        r.not_passing(),
        [
            "registry.auth=fail/unauthorized",
            "image.manifest=skip/dependency-not-passed",
            "image.layer-download=skip/dependency-not-passed"
        ]
    );
    let cmd = r.entry("registry.auth")["remediation"]["commands"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(cmd.contains("docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com"), "{cmd}");
}

#[test]
fn layer_host_blackholed_and_corrupt_blob() {
    let Some(lab) = Netlab::up("s3", "layer-dropped") else {
        return;
    };
    let r = lab.doctor(&args(&["--image", "lab/app:1.0", "--timeout", "1s"]));
    // the classic missing-S3-endpoint symptom: login and manifest work, the layer does not
    assert_eq!(r.check("registry.auth").0, "pass");
    assert_eq!(r.check("image.manifest").0, "pass");
    assert_eq!(
        r.not_passing(),
        [
            "net.s3=fail/connect-timeout",
            "image.layer-download=fail/redirect-unreachable"
        ]
    );
    let dl = r.entry("image.layer-download");
    assert_eq!(
        dl["facts"]["redirect_host"],
        "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com"
    );

    lab.world("corrupt-blob");
    let r = lab.doctor(&args(&["--image", "lab/app:1.0"]));
    assert_eq!(
        r.not_passing(),
        ["image.layer-download=fail/digest-mismatch"]
    );
    let facts = &r.entry("image.layer-download")["facts"];
    assert_ne!(facts["got_digest"], facts["digest"]);
}

#[test]
fn names_resolving_to_public_addresses() {
    let Some(lab) = Netlab::up_with("pub", "public-names", true) else {
        return;
    };
    // the VPC has interface endpoints with private DNS, yet the names resolve publicly
    let vpc = lab.vpc_args("healthy");
    let r = lab.doctor(&args(&[
        "--vpc",
        &vpc[1],
        "--subnet",
        &vpc[3],
        "--timeout",
        "1s",
    ]));
    for (id, code) in [
        ("dns.ecr-api", "resolves-public"),
        ("dns.ecr-dkr", "resolves-public"),
    ] {
        assert_eq!(r.check(id), ("fail".into(), Some(code.into())), "{id}");
    }
    assert!(r.entry("dns.ecr-dkr")["message"]
        .as_str()
        .unwrap()
        .contains("has private DNS"));
    assert_eq!(r.check("vpc.endpoint.ecr-dkr").0, "pass");
    // the S3 gateway endpoint does not change DNS: a public answer is expected there
    assert_eq!(r.check("dns.s3").0, "pass");

    let r = lab.doctor(&args(&["--image", "lab/app:1.0", "--timeout", "1s"]));
    assert_eq!(r.code, 1);
    for host in ["dns.ecr-api", "dns.ecr-dkr", "dns.s3"] {
        let e = r.entry(host);
        assert_eq!(e["facts"]["addresses"][0], "198.18.0.20", "{host}");
        assert_eq!(e["facts"]["address_kind"], "public", "{host}");
    }
    for id in ["net.ecr-api", "net.ecr-dkr", "net.s3"] {
        assert_eq!(
            r.check(id),
            ("fail".into(), Some("connect-timeout".into())),
            "{id}"
        );
    }
    assert_eq!(
        r.check("token.get"),
        ("fail".into(), Some("unreachable".into()))
    );
}

#[test]
fn dns_server_flag_and_an_https_proxy() {
    let Some(lab) = Netlab::up("px", "healthy") else {
        return;
    };
    // --dns-server: the lab's dnsmasq by address, then a server that never answers
    let r = lab.doctor(&args(&["--dns-server", "127.0.0.1:53"]));
    let dns = r.entry("dns.ecr-dkr");
    assert_eq!(dns["facts"]["resolver"], "flag");
    assert_eq!(dns["facts"]["dns_servers"][0], "127.0.0.1:53");
    assert!(
        dns["message"]
            .as_str()
            .unwrap()
            .contains("--dns-server 127.0.0.1:53"),
        "{dns}"
    );
    assert_eq!(r.check("dns.ecr-dkr").0, "pass");
    let r = lab.doctor(&args(&[
        "--dns-server",
        "10.1.1.99",
        "--timeout",
        "1s",
        "--registry",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    ]));
    for id in ["dns.ecr-api", "dns.ecr-dkr", "dns.s3"] {
        assert_eq!(r.check(id), ("fail".into(), Some("timeout".into())), "{id}");
    }
    // the AWS API calls resolve through --dns-server too: STS cannot be found either
    assert_eq!(
        r.check("identity.caller"),
        ("fail".into(), Some("unreachable".into()))
    );

    // a CONNECT proxy inside the namespace: every connection goes through it, and says so
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut proxy = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.ns, "python3"])
        .arg(repo().join("tests/lab/net/connect_proxy.py"))
        .args(["10.1.1.100", "3128"])
        .arg(log.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = [0u8; 6];
    std::io::Read::read_exact(proxy.stdout.as_mut().unwrap(), &mut ready).unwrap();
    let mut with_proxy = vec![(
        "HTTPS_PROXY".to_string(),
        "http://10.1.1.100:3128".to_string(),
    )];
    let r = lab.doctor_env(&with_proxy, &args(&["--image", "lab/app:1.0"]));
    let _ = proxy.kill();
    let _ = proxy.wait();
    assert_eq!(
        r.not_passing(),
        ["env.proxy=warn/ecr-through-proxy"],
        "{}",
        r.stderr
    );
    for id in ["net.ecr-api", "net.ecr-dkr", "net.s3"] {
        assert_eq!(
            r.entry(id)["facts"]["via_proxy"],
            "http://10.1.1.100:3128/",
            "{id}"
        );
    }
    let tunnels = std::fs::read_to_string(log.path()).unwrap();
    for host in [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
        "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com:443",
        "api.ecr.us-east-1.amazonaws.com:443",
    ] {
        assert!(
            tunnels.contains(&format!("CONNECT {host}")),
            "{host} did not go through the proxy:\n{tunnels}"
        );
    }
    // the proxy gone: connections through it fail, and the report names the proxy
    with_proxy.push((
        "NO_PROXY".into(),
        "sts.us-east-1.amazonaws.com,ec2.us-east-1.amazonaws.com".into(),
    ));
    let r = lab.doctor_env(&with_proxy, &args(&["--timeout", "1s"]));
    assert_eq!(
        r.check("net.ecr-dkr"),
        ("fail".into(), Some("unreachable".into()))
    );
    assert!(r.entry("net.ecr-dkr")["message"]
        .as_str()
        .unwrap()
        .contains("through the proxy"));
}
