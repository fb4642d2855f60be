//! Fleets (docs/fleet.md): the deployment artefacts of deploy/ parse and say what the docs say,
//! every `ecr-doctor` command line in them and in docs/fleet.md is accepted by the doctor's
//! parser, and `ecr-doctor summarize` counts right over reports the lab produced from several
//! worlds (moto's VPC worlds, its IMDS and ECS metadata stand-ins, a user without the token
//! permission).

use crate::harness::{doctor, lab_python, pairs, repo, run_of, Moto, Run};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json_file(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// A YAML file as JSON, through the lab's Python (PyYAML, installed by tests/lab/lab.sh).
fn yaml_file(path: &str) -> Value {
    let out = Command::new(lab_python())
        .args([
            "-c",
            "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(repo().join(path))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{path} is not YAML: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

// ---- the command lines ----

/// Splits one shell command line into words: quotes and backslash escapes removed, `#`
/// comments dropped. Operators (`;`, `&&`, `||`, `|`, `>`, ...) are words of their own.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            '#' if !in_word => break,
            ';' | '|' | '&' | '>' | '<' | '(' | ')' => {
                if in_word {
                    // `2>`: a redirection, not a word
                    if c == '>' && word == "2" {
                        word.clear();
                    } else {
                        words.push(std::mem::take(&mut word));
                    }
                    in_word = false;
                }
                let mut op = c.to_string();
                while let Some(&n) = chars.peek() {
                    if matches!(n, '|' | '&' | '>') && (n == c || c == '>' && n == '&') {
                        op.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                words.push(op);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The `ecr-doctor` invocations of a shell line: each simple command whose first word is
/// `ecr-doctor` (at the start, or after `;`, `&&`, `||`, `|`, `(`, `$(`), up to its first
/// operator or redirection.
fn doctor_commands(line: &str) -> Vec<Vec<String>> {
    let words = shell_words(line);
    let ops = [";", "&&", "||", "|", "&", "(", ")"];
    let mut out = Vec::new();
    let mut at_start = true;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if at_start && (w == "ecr-doctor" || w == "$ecr-doctor") {
            let cmd: Vec<String> = words[i..]
                .iter()
                .take_while(|w| !ops.contains(&w.as_str()) && !w.starts_with(['>', '<']))
                .cloned()
                .collect();
            i += cmd.len();
            out.push(cmd);
            continue;
        }
        at_start = ops.contains(&w.as_str()) || w == "$" || w.ends_with("$(") || w == "do";
        i += 1;
    }
    out
}

/// The lines of the ```sh blocks of a markdown text, with `\`-continued lines joined.
fn sh_blocks(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    let mut pending = String::new();
    for line in md.lines() {
        if line.starts_with("```") {
            inside = line.trim() == "```sh";
            continue;
        }
        if !inside {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                pending.push_str(head);
                pending.push(' ');
            }
            None => {
                pending.push_str(line);
                out.push(std::mem::take(&mut pending));
            }
        }
    }
    out
}

/// `{{ Name }}` of an SSM document replaced by the parameter's default.
fn ssm_defaults(line: &str, params: &Value) -> String {
    let mut out = line.to_string();
    while let Some(start) = out.find("{{") {
        let end = out[start..].find("}}").expect("unclosed {{") + start;
        let name = out[start + 2..end].trim().to_string();
        let default = params[&name]["default"].as_str().unwrap_or_else(|| {
            // a required parameter: a value that its allowedPattern accepts
            assert!(
                params[&name].is_object(),
                "{{{{ {name} }}}} is no parameter"
            );
            "my-ecr-doctor-reports"
        });
        out.replace_range(start..end + 2, default);
    }
    out
}

/// Every `ecr-doctor` command line of deploy/ and docs/fleet.md, with where it is from.
fn command_lines() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let ssm = json_file("deploy/ssm-document.json");
    for step in ssm["mainSteps"].as_array().unwrap() {
        for line in step["inputs"]["runCommand"].as_array().unwrap() {
            for cmd in doctor_commands(&ssm_defaults(s(line), &ssm["parameters"])) {
                out.push(("deploy/ssm-document.json".to_string(), cmd));
            }
        }
    }
    let ds = yaml_file("deploy/daemonset.yaml");
    for c in ds["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
    {
        for part in c["command"].as_array().unwrap() {
            for cmd in doctor_commands(s(part)) {
                out.push(("deploy/daemonset.yaml".to_string(), cmd));
            }
        }
    }
    // the image's entrypoint is ecr-doctor: a task's command is its arguments
    let td = json_file("deploy/ecs-task-definition.json");
    for c in td["containerDefinitions"].as_array().unwrap() {
        let mut cmd = vec!["ecr-doctor".to_string()];
        cmd.extend(
            c["command"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| s(a).to_string()),
        );
        out.push(("deploy/ecs-task-definition.json".to_string(), cmd));
    }
    for line in sh_blocks(&read("docs/fleet.md")) {
        for cmd in doctor_commands(&line) {
            out.push(("docs/fleet.md".to_string(), cmd));
        }
    }
    out
}

#[test]
fn shell_words_and_commands() {
    assert_eq!(
        shell_words(r#"a 'b c' "d \"e\"" f\ g # h"#),
        ["a", "b c", "d \"e\"", "f g"]
    );
    assert_eq!(
        doctor_commands("ecr-doctor --output json; exec sleep infinity"),
        [["ecr-doctor", "--output", "json"]]
    );
    assert_eq!(
        doctor_commands("cat a | ecr-doctor summarize - > out 2>&1"),
        [["ecr-doctor", "summarize", "-"]]
    );
    assert_eq!(
        doctor_commands(
            r#"ecr-doctor --output json --image a:1 > "$work/report.json" || status=$?"#
        ),
        [["ecr-doctor", "--output", "json", "--image", "a:1"]]
    );
    // a name, not a command
    assert!(
        doctor_commands("aws ssm send-command --document-name ecr-doctor --targets x").is_empty()
    );
    assert!(
        doctor_commands("kubectl -n kube-system rollout status daemonset/ecr-doctor").is_empty()
    );
}

#[test]
fn every_command_line_is_accepted_by_the_parser() {
    let lines = command_lines();
    let catalog = ecr_doctor::catalog::Catalog::embedded();
    for from in [
        "deploy/ssm-document.json",
        "deploy/daemonset.yaml",
        "deploy/ecs-task-definition.json",
        "docs/fleet.md",
    ] {
        assert!(
            lines.iter().any(|(f, _)| f == from),
            "no ecr-doctor command line found in {from}"
        );
    }
    let shown: Vec<String> = lines.iter().map(|(_, c)| c.join(" ")).collect();
    for want in [
        "ecr-doctor --output json",
        "ecr-doctor summarize reports/*.json",
        "ecr-doctor summarize -",
        "ecr-doctor --output json --image team/app:1.4",
    ] {
        assert!(shown.iter().any(|c| c == want), "{want} not in {shown:#?}");
    }
    for (from, cmd) in &lines {
        let words = cmd.iter().map(Into::into);
        match ecr_doctor::cli::parse(words) {
            Ok(cli) => {
                ecr_doctor::engine::select(&catalog, &cli.only, &cli.skip)
                    .unwrap_or_else(|e| panic!("{from}: `{}`: {e}", cmd.join(" ")));
            }
            Err(code) => panic!("{from}: `{}` is refused (exit {code})", cmd.join(" ")),
        }
    }
}

// ---- the artefacts ----

#[test]
fn ssm_document_runs_the_doctor_and_uploads_to_s3() {
    let d = json_file("deploy/ssm-document.json");
    assert_eq!(d["schemaVersion"], "2.2");
    let params = d["parameters"].as_object().unwrap();
    for p in [
        "BinaryS3Uri",
        "Region",
        "ExtraArgs",
        "ReportBucket",
        "ReportPrefix",
    ] {
        assert_eq!(params[p]["type"], "String", "{p}");
        assert!(params[p]["allowedPattern"].is_string(), "{p}");
    }
    let steps = d["mainSteps"].as_array().unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0]["action"], "aws:runShellScript");
    let script: Vec<&str> = steps[0]["inputs"]["runCommand"]
        .as_array()
        .unwrap()
        .iter()
        .map(s)
        .collect();
    let text = script.join("\n");
    assert!(
        text.contains("ecr-doctor --output json {{ ExtraArgs }}"),
        "{text}"
    );
    assert!(
        text.contains("aws s3 cp --only-show-errors \"$work/report.json\" \"s3://{{ ReportBucket }}/{{ ReportPrefix }}$id.json\""),
        "{text}"
    );
    // every {{ parameter }} used is declared, and every declared one is used
    for p in params.keys() {
        assert!(text.contains(&format!("{{{{ {p} }}}}")), "{p} unused");
    }
    assert_eq!(
        ssm_defaults(&text, &d["parameters"]).matches("{{").count(),
        0
    );
    // the script is valid sh, once the parameters are filled
    let filled = ssm_defaults(&text, &d["parameters"]);
    let out = Command::new("sh")
        .args(["-n", "-c", &filled])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_patterns(params);
}

/// Each parameter's default (and a documented example) matches its allowedPattern, and shell
/// characters do not.
fn check_patterns(params: &serde_json::Map<String, Value>) {
    let mut cases: Vec<(String, String, bool)> = Vec::new();
    for (name, p) in params {
        if let Some(d) = p["default"].as_str() {
            cases.push((name.clone(), d.to_string(), true));
        }
    }
    for (name, value, ok) in [
        ("ExtraArgs", "--image team/app:1.4 --timeout 10s", true),
        (
            "ExtraArgs",
            "--role-arn arn:aws:iam::123456789012:role/puller",
            true,
        ),
        ("ExtraArgs", "--image x; rm -rf /", false),
        ("ExtraArgs", "$(id)", false),
        ("Region", "us-gov-west-1", true),
        ("Region", "us-east-1'", false),
        ("ReportBucket", "my-ecr-doctor-reports", true),
        ("ReportBucket", "a b", false),
        (
            "BinaryS3Uri",
            "s3://my-ecr-doctor-reports/bin/ecr-doctor",
            true,
        ),
        ("BinaryS3Uri", "https://example.com/x", false),
        ("ReportPrefix", "fleet/2026-12-04/", true),
        ("ReportPrefix", "../'", false),
    ] {
        cases.push((name.to_string(), value.to_string(), ok));
    }
    let input: Vec<Value> = cases
        .iter()
        .map(|(n, v, _)| serde_json::json!([s(&params[n]["allowedPattern"]), v]))
        .collect();
    let mut child = Command::new(lab_python())
        .args([
            "-c",
            "import json,re,sys; print(json.dumps([re.fullmatch(p, v) is not None for p, v in json.load(sys.stdin)]))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::from(input).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let got: Vec<bool> = serde_json::from_slice(&out.stdout).unwrap();
    for ((name, value, want), got) in cases.iter().zip(got) {
        assert_eq!(got, *want, "{name} = {value:?}");
    }
}

#[test]
fn daemonset_runs_once_per_node_with_the_nodes_network() {
    let d = yaml_file("deploy/daemonset.yaml");
    assert_eq!(d["apiVersion"], "apps/v1");
    assert_eq!(d["kind"], "DaemonSet");
    let labels = &d["spec"]["template"]["metadata"]["labels"];
    assert_eq!(&d["spec"]["selector"]["matchLabels"], labels);
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["dnsPolicy"], "Default");
    // tolerates every taint: an empty key with operator Exists
    assert!(pod["tolerations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["operator"] == "Exists" && t.get("key").is_none()));
    let c = &pod["containers"][0];
    let env = c["env"].as_array().unwrap();
    let node = env
        .iter()
        .find(|e| e["name"] == ecr_doctor::host::NODE_NAME_ENV)
        .expect("the node name variable");
    assert_eq!(node["valueFrom"]["fieldRef"]["fieldPath"], "spec.nodeName");
    assert!(c["resources"]["requests"]["cpu"].is_string());
    assert!(c["resources"]["limits"]["memory"].is_string());
    // once, then asleep so that the log stays
    let cmd = c["command"].as_array().unwrap();
    assert!(s(&cmd[2]).ends_with("; exec sleep infinity"), "{cmd:?}");
    // the docs' collection loop reads the pods by this label in this namespace
    let docs = read("docs/fleet.md");
    let label = format!(
        "app.kubernetes.io/name={}",
        s(&labels["app.kubernetes.io/name"])
    );
    assert!(docs.contains(&format!(
        "kubectl -n {} get pods -l {label} -o name",
        s(&d["metadata"]["namespace"])
    )));
}

#[test]
fn ecs_task_definition_is_awsvpc_for_fargate_and_ec2() {
    let d = json_file("deploy/ecs-task-definition.json");
    assert_eq!(d["networkMode"], "awsvpc");
    let compat: Vec<&str> = d["requiresCompatibilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(s)
        .collect();
    assert_eq!(compat, ["FARGATE", "EC2"]);
    // Fargate needs task-level cpu and memory
    assert!(d["cpu"].is_string() && d["memory"].is_string());
    for role in ["taskRoleArn", "executionRoleArn"] {
        assert!(s(&d[role]).starts_with("arn:aws:iam::"), "{role}");
    }
    let c = &d["containerDefinitions"][0];
    assert_eq!(c["logConfiguration"]["logDriver"], "awslogs");
    let opts = &c["logConfiguration"]["options"];
    for k in ["awslogs-group", "awslogs-region", "awslogs-stream-prefix"] {
        assert!(opts[k].is_string(), "{k}");
    }
    // the docs read the log stream <prefix>/<container>/<task id> of this group
    let docs = read("docs/fleet.md");
    assert!(docs.contains(&format!(
        "--log-group-name {} \\\n    --log-stream-name {}/{}/<task-id>",
        s(&opts["awslogs-group"]),
        s(&opts["awslogs-stream-prefix"]),
        s(&c["name"])
    )));
    assert!(docs.contains(&format!("--task-definition {}", s(&d["family"]))));
}

#[test]
fn dockerfile_copies_the_binary_the_release_build_produces() {
    let text = read("deploy/Dockerfile");
    let cargo: toml::Value = toml::from_str(&read("Cargo.toml")).unwrap();
    let bin = cargo["bin"][0]["name"].as_str().unwrap();
    let rust_version = cargo["package"]["rust-version"].as_str().unwrap();
    // instructions, continuation lines joined, comments dropped
    let mut instructions: Vec<(String, String)> = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let t = line.trim();
        if pending.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(head) => pending.push_str(head),
            None => {
                pending.push_str(t);
                let (op, rest) = pending.split_once(' ').unwrap_or((&pending, ""));
                instructions.push((op.to_string(), rest.trim().to_string()));
                pending.clear();
            }
        }
    }
    assert!(pending.is_empty(), "a continued last line");
    let known = [
        "FROM",
        "WORKDIR",
        "COPY",
        "RUN",
        "USER",
        "ENTRYPOINT",
        "CMD",
        "ENV",
        "ARG",
        "LABEL",
    ];
    let mut stages: BTreeMap<String, String> = BTreeMap::new(); // stage name -> WORKDIR
    let mut stage = String::new();
    let mut built = false;
    let mut copied_binary = None;
    let mut entrypoint = Value::Null;
    let mut cmd = Value::Null;
    for (op, rest) in &instructions {
        assert!(known.contains(&op.as_str()), "unknown instruction {op}");
        match op.as_str() {
            "FROM" => {
                let words: Vec<&str> = rest.split_whitespace().collect();
                stage = match words.as_slice() {
                    [image, as_, name] if as_.eq_ignore_ascii_case("as") => {
                        if image.starts_with("rust:") {
                            assert!(
                                image.starts_with(&format!("rust:{rust_version}-")),
                                "{image}: Cargo.toml wants rust {rust_version}"
                            );
                        }
                        name.to_string()
                    }
                    [_] => "final".to_string(),
                    _ => panic!("FROM {rest}"),
                };
                stages.insert(stage.clone(), "/".to_string());
            }
            "WORKDIR" => {
                stages.insert(stage.clone(), rest.clone());
            }
            "COPY" => {
                let words: Vec<&str> = rest.split_whitespace().collect();
                if let Some(from) = words[0].strip_prefix("--from=") {
                    let workdir = &stages[from];
                    assert_eq!(
                        words[1],
                        format!("{workdir}/target/release/{bin}"),
                        "COPY {rest}: the release build's binary"
                    );
                    copied_binary = Some(words[2].to_string());
                } else {
                    // the build's sources exist in the repository
                    for src in &words[..words.len() - 1] {
                        assert!(repo().join(src).exists(), "COPY {src}: no such path");
                    }
                }
            }
            "RUN" if rest.contains("cargo build") => {
                assert_eq!(rest, "cargo build --release --locked");
                built = true;
            }
            "ENTRYPOINT" => entrypoint = serde_json::from_str(rest).unwrap(),
            "CMD" => cmd = serde_json::from_str(rest).unwrap(),
            _ => {}
        }
    }
    assert!(built, "no cargo build --release");
    // what build.rs and the crate read is copied before the build
    for needed in ["Cargo.toml", "Cargo.lock", "build.rs", "src", "checks"] {
        assert!(
            instructions
                .iter()
                .any(|(op, rest)| op == "COPY" && rest.split_whitespace().any(|w| w == needed)),
            "{needed} is not copied"
        );
    }
    let installed = copied_binary.expect("COPY --from=<build stage> of the binary");
    assert_eq!(installed, format!("/usr/local/bin/{bin}"));
    assert_eq!(entrypoint, serde_json::json!([bin]));
    let mut words = vec![bin.to_string()];
    words.extend(cmd.as_array().unwrap().iter().map(|a| s(a).to_string()));
    assert!(ecr_doctor::cli::parse(words.iter().map(Into::into)).is_ok());
    // the docs build it from the repository root with this file
    assert!(read("docs/fleet.md").contains("docker build -f deploy/Dockerfile"));
}

// ---- summarize over the lab's worlds ----

fn summarize(args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecr-doctor"));
    cmd.arg("summarize")
        .args(args)
        .env_remove("COLUMNS")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    run_of(child.wait_with_output().unwrap())
}

/// One run of the doctor for the summary: its report's file name, environment, arguments.
type DoctorRun = (String, Vec<(String, String)>, Vec<String>);

const VPC_CHECKS: &str =
    "vpc.dns-attributes,vpc.endpoint.ecr-api,vpc.endpoint.ecr-dkr,vpc.endpoint.s3";

/// `check=status/code` rows, `name,name` hosts, of a summary in JSON, for comparing.
fn rows(summary: &Value) -> Vec<String> {
    summary["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let hosts: Vec<&str> = p["hosts"].as_array().unwrap().iter().map(s).collect();
            assert_eq!(p["count"], hosts.len());
            format!(
                "{}={}/{} {}",
                s(&p["check"]),
                s(&p["status"]),
                s(&p["code"]),
                hosts.join(",")
            )
        })
        .collect()
}

#[test]
fn summarize_counts_hosts_over_lab_worlds() {
    let pid = std::process::id().to_string();
    let lab = Moto::start(
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
    );
    let world = |name: &str| lab.ready["vpc_worlds"][name].clone();
    let dir = tempfile::tempdir().unwrap();
    // (file, environment, arguments): VPC worlds with a host named as a Kubernetes node each
    // (two nodes in the dkr-missing world), an EC2 instance (IMDS), an ECS task (task metadata)
    let mut runs: Vec<DoctorRun> = Vec::new();
    for (name, node) in [
        ("healthy", "node-healthy"),
        ("dns-hostnames-off", "node-dns-hostnames-off"),
        ("dns-support-off", "node-dns-support-off"),
        ("custom-dns", "node-custom-dns"),
        ("s3-main-table", "node-s3-main-table"),
        ("dkr-missing", "node-dkr-a"),
        ("dkr-missing", "node-dkr-b"),
    ] {
        let w = world(name);
        let mut env = lab.env_as("lab-healthy");
        env.push(("ECR_DOCTOR_NODE_NAME".into(), node.to_string()));
        let args = [
            "--output",
            "json",
            "--only",
            VPC_CHECKS,
            "--vpc",
            s(&w["vpc_id"]),
            "--subnet",
            s(&w["subnet_id"]),
        ];
        runs.push((
            format!("{node}.json"),
            env,
            args.map(str::to_string).to_vec(),
        ));
    }
    let only = ["--output", "json", "--only", VPC_CHECKS]
        .map(str::to_string)
        .to_vec();
    runs.push((
        "instance.json".into(),
        pairs(&[
            ("AWS_ENDPOINT_URL", &lab.endpoint()),
            (
                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                s(&lab.ready["imds"]["endpoint"]),
            ),
        ]),
        only.clone(),
    ));
    let ecs = &lab.ready["ecs"];
    runs.push((
        "task.json".into(),
        pairs(&[
            ("AWS_ENDPOINT_URL", &lab.endpoint()),
            ("ECS_CONTAINER_METADATA_URI_V4", s(&ecs["metadata_uri"])),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                s(&ecs["credentials_uri"]),
            ),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]),
        only.clone(),
    ));
    // the doctors run side by side
    let reports: Vec<(String, Run)> = std::thread::scope(|sc| {
        let handles: Vec<_> = runs
            .iter()
            .map(|(file, env, args)| {
                sc.spawn(move || {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    (file.clone(), doctor(env, &args))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut lines = String::new();
    for (file, run) in &reports {
        let v = run.json();
        std::fs::write(dir.path().join(file), &run.stdout).unwrap();
        lines.push_str(&serde_json::to_string(&v).unwrap());
        lines.push('\n');
    }
    let report = |file: &str| reports.iter().find(|(f, _)| f == file).unwrap().1.json();
    // the reports know their hosts
    let instance_id = s(&lab.ready["imds"]["instance_id"]).to_string();
    let task_arn = s(&ecs["task_arn"]).to_string();
    assert_eq!(
        report("instance.json")["context"]["host"]["instance_id"],
        instance_id.as_str()
    );
    assert_eq!(
        report("task.json")["context"]["host"]["ecs_task_arn"],
        task_arn.as_str()
    );
    assert_eq!(
        report("node-healthy.json")["context"]["host"]["kubernetes_node"],
        "node-healthy"
    );
    assert_eq!(
        report("node-healthy.json")["context"]["host"]["instance_id"],
        Value::Null,
        "--vpc: no metadata read"
    );
    for (_, run) in &reports {
        crate::harness::validate_schema(&run.stdout);
    }
    let files: Vec<String> = runs
        .iter()
        .map(|(f, _, _)| dir.path().join(f).display().to_string())
        .collect();
    let file_args: Vec<&str> = files.iter().map(String::as_str).collect();
    let r = summarize(&[&["--output", "json"], &file_args[..]].concat(), None);
    assert_eq!(r.code, 1, "a host failed: {}", r.stderr);
    let v = r.json();
    // failures first, the most widespread first; then warnings
    let want = [
        "vpc.endpoint.ecr-dkr=fail/missing node-dkr-a,node-dkr-b".to_string(),
        "vpc.dns-attributes=fail/dns-hostnames-disabled node-dns-hostnames-off".to_string(),
        "vpc.dns-attributes=fail/dns-support-disabled node-dns-support-off".to_string(),
        format!("credentials.source=warn/task-role-not-execution-role {task_arn}"),
        "vpc.dns-attributes=warn/custom-dns-servers node-custom-dns".to_string(),
    ];
    assert_eq!(rows(&v), want, "{}", r.stdout);
    assert_eq!(
        v["totals"],
        serde_json::json!({"reports": 9, "failing": 4, "warning": 2, "passing": 3, "unusable": 0})
    );
    let names: Vec<&str> = v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| s(&h["name"]))
        .collect();
    assert_eq!(
        names,
        [
            "node-healthy",
            "node-dns-hostnames-off",
            "node-dns-support-off",
            "node-custom-dns",
            "node-s3-main-table",
            "node-dkr-a",
            "node-dkr-b",
            instance_id.as_str(),
            task_arn.as_str(),
        ]
    );
    // the same counts, computed here from the reports themselves
    let mut counted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((_, run), name) in reports.iter().zip(&names) {
        for c in run.json()["checks"].as_array().unwrap() {
            if c["status"] != "pass" {
                counted
                    .entry(format!(
                        "{}={}/{}",
                        s(&c["id"]),
                        s(&c["status"]),
                        s(&c["code"])
                    ))
                    .or_default()
                    .push(name.to_string());
            }
        }
    }
    let mut from_summary: Vec<String> = rows(&v);
    from_summary.sort();
    let counted: Vec<String> = counted
        .into_iter()
        .map(|(k, hosts)| format!("{k} {}", hosts.join(",")))
        .collect();
    assert_eq!(from_summary, counted);

    // JSON lines on stdin: the same rows and hosts
    let r = summarize(&["--output", "json", "-"], Some(&lines));
    assert_eq!(r.code, 1);
    let stdin_v = r.json();
    assert_eq!(rows(&stdin_v), want);
    assert_eq!(stdin_v["totals"], v["totals"]);
    assert_eq!(stdin_v["hosts"][8]["source"], "stdin:9");

    // the table says the same, with the hosts named
    let r = summarize(&file_args, None);
    assert_eq!(r.code, 1);
    let row = r
        .stdout
        .lines()
        .find(|l| l.contains("vpc.endpoint.ecr-dkr"))
        .unwrap();
    for want in ["FAIL", "missing", " 2 ", "node-dkr-a, node-dkr-b"] {
        assert!(row.contains(want), "{want}: {row}");
    }
    assert!(
        r.stdout.contains(
            "hosts: 9 (4 failed or errored, 2 warned, 3 passed); inputs not summarized: 0"
        ),
        "{}",
        r.stdout
    );
    let r = summarize(&[&["--output", "markdown"], &file_args[..]].concat(), None);
    assert!(
        r.stdout
            .contains("| FAIL | `vpc.endpoint.ecr-dkr` | `missing` | 2 | node-dkr-a, node-dkr-b |"),
        "{}",
        r.stdout
    );

    // healthy hosts only: 0; a warning is 1 with --strict
    let healthy = [files[0].as_str(), files[4].as_str(), files[7].as_str()];
    assert_eq!(summarize(&healthy, None).code, 0);
    let with_warning = [files[0].as_str(), files[3].as_str()];
    assert_eq!(summarize(&with_warning, None).code, 0);
    assert_eq!(
        summarize(&[&["--strict"], &with_warning[..]].concat(), None).code,
        1
    );

    // inputs it cannot use are named, and make the exit status 1
    let healthy_text = &reports[0].1.stdout;
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &healthy_text[..healthy_text.len() / 2]).unwrap();
    let mut newer = report("node-healthy.json");
    newer["schema_version"] = 2.into();
    let newer_path = dir.path().join("newer.json");
    std::fs::write(&newer_path, newer.to_string()).unwrap();
    // a report of an ecr-doctor before context.host: named by its file
    let mut old = report("node-custom-dns.json");
    old["context"].as_object_mut().unwrap().remove("host");
    let old_path = dir.path().join("old.json");
    std::fs::write(&old_path, serde_json::to_string_pretty(&old).unwrap()).unwrap();
    let missing = dir.path().join("missing.json");
    let paths: Vec<String> = [
        &files[0],
        &cut.display().to_string(),
        &newer_path.display().to_string(),
        &old_path.display().to_string(),
        &missing.display().to_string(),
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let r = summarize(&[&["--output", "json"], &args[..]].concat(), None);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let v = r.json();
    let unusable: Vec<(String, String)> = v["unusable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (s(&u["source"]).to_string(), s(&u["reason"]).to_string()))
        .collect();
    assert_eq!(
        unusable,
        [
            (paths[1].clone(), "truncated".to_string()),
            (paths[2].clone(), "other-schema".to_string()),
            (paths[4].clone(), "unreadable".to_string()),
        ]
    );
    assert_eq!(v["unusable"][1]["schema_version"], 2);
    assert_eq!(
        rows(&v),
        [format!(
            "vpc.dns-attributes=warn/custom-dns-servers {}",
            paths[3]
        )]
    );
    let r = summarize(&args, None);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains(&format!("  {}: is a report of schema version 2", paths[2])),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("  {}: cannot be read: ", paths[4])),
        "{}",
        r.stdout
    );
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn summarize_bad_usage_is_one_line_and_exit_2() {
    for (args, want) in [
        (&["summarize"][..], "<FILE>"),
        (&["summarize", "--output", "xml", "a.json"][..], "--output"),
        (&["summarize", "-", "-"][..], "stdin"),
        (
            &["--region", "us-east-1", "summarize", "a.json"][..],
            "summarize",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ecr-doctor"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let r = run_of(out);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.starts_with("ecr-doctor: ") && r.stderr.contains(want),
            "{args:?}: {}",
            r.stderr
        );
    }
}
