//! A real client agrees: in every namespace world, each image the lab names is pulled with
//! skopeo (containers/image, the library behind podman and CRI-O: `skopeo copy docker://..
//! dir:..`, which fetches the manifest and every blob and verifies their digests) inside the
//! same namespace, logged in with the token ECR hands out (`aws ecr get-authorization-token`,
//! or `aws ecr-public ...` for public.ecr.aws, asked in that world as a credential helper
//! would), trusting the lab CA. Its verdict is compared with the doctor's pull verdict
//! (registry.auth, image.manifest and image.layer-download all pass). The table of
//! agreements is printed; a disagreement fails the test unless its row says why.
//! Needs root, `ip netns` and skopeo (tests/lab/netlab.sh install); without them the test says
//! it is skipped, unless ECR_DOCTOR_REQUIRE_NETLAB=1 (CI) makes it fail.

use crate::dataplane::Netlab;
use crate::harness::{clean_env, repo};
use std::path::Path;
use std::process::Command;

const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const WORLDS: [&str; 9] = [
    "healthy",
    "registry-dropped",
    "registry-refused",
    "layer-dropped",
    "api-dropped",
    "public-names",
    "wrong-cert",
    "wrong-token",
    "corrupt-blob",
];

/// One pull: an image, the doctor's extra flags, and why the two may disagree (if they may).
struct Case {
    world: &'static str,
    image: String,
    doctor_flags: Vec<&'static str>,
    why: Option<&'static str>,
}

/// What the client does, inside the namespace with the lab's client environment: get the
/// token (a failure there is the client's verdict), write it to a docker-style auth file
/// (ECR's authorizationToken is already base64 of `AWS:<password>`; mode 0600, never printed
/// nor put on a command line), then `skopeo copy`.
const PULL: &str = r#"set -u
aws="$1" ref="$2" dir="$3"
registry="${ref%%/*}"
if [ "$registry" = public.ecr.aws ]; then set -- ecr-public get-authorization-token --region us-east-1 \
    --query authorizationData.authorizationToken
else set -- ecr get-authorization-token --query 'authorizationData[0].authorizationToken'; fi
token="$(AWS_MAX_ATTEMPTS=1 "$aws" "$@" --cli-connect-timeout 3 --cli-read-timeout 5 --output text 2>"$dir/aws.err")" ||
    { echo "no token: $(tail -n 1 "$dir/aws.err")" >&2; exit 3; }
umask 077
printf '{"auths":{"%s":{"auth":"%s"}}}' "$registry" "$token" >"$dir/auth.json"
exec skopeo --insecure-policy --command-timeout 8s copy --quiet --authfile "$dir/auth.json" \
    --src-cert-dir "$dir/certs" --override-os linux --override-arch amd64 "docker://$ref" "dir:$dir/image"
"#;

/// The doctor's pull verdict: `Ok(())` when its three pull checks pass, else the first that
/// does not, as `id=status/code`.
fn doctor_verdict(lab: &Netlab, case: &Case) -> Result<(), String> {
    let mut args = vec!["--output", "json", "--image", &case.image];
    // where packets are dropped, a short bound (as in dataplane.rs); elsewhere the default,
    // so that a busy machine does not turn a slow answer into a failure
    if case.world.ends_with("-dropped") || case.world == "public-names" || case.why.is_some() {
        args.extend(["--timeout", "1s"]);
    }
    if case.image.starts_with("public.ecr.aws/") {
        args.extend(["--registry", "public.ecr.aws"]);
    }
    args.extend(case.doctor_flags.iter().copied());
    let r = lab.doctor(&args);
    let pull = ["registry.auth", "image.manifest", "image.layer-download"];
    if pull.iter().all(|id| r.check(id).0 == "pass") {
        return Ok(());
    }
    // the first check that did not pass, not the skips it caused
    let not_passing = r.not_passing();
    Err(not_passing
        .iter()
        .find(|c| c.contains("=fail/") || c.contains("=error/"))
        .or(not_passing.first())
        .cloned()
        .unwrap_or_default())
}

/// skopeo's verdict, and the pulled image's manifest bytes when it succeeded.
fn skopeo_verdict(lab: &Netlab, case: &Case, dir: &Path) -> Result<Vec<u8>, String> {
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    std::fs::copy(
        lab.lab["ca"].as_str().unwrap(),
        dir.join("certs").join("ca.crt"),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(repo().join("tests/lab/netlab.sh"));
    clean_env(&mut cmd, home.path());
    let out = cmd
        .args(["exec", &lab.ns, "bash", "-c", PULL, "pull"])
        .arg(repo().join("tests/lab/.venv/bin/aws"))
        .arg(&case.image)
        .arg(dir)
        .output()
        .expect("run skopeo in the namespace");
    if out.status.success() {
        return Ok(std::fs::read(dir.join("image/manifest.json")).expect("skopeo's manifest"));
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or("").trim();
    let last = last.split("msg=").last().unwrap_or(last).trim_matches('"');
    // "initializing source docker://<the image>: " says nothing the table does not
    let last = match last.strip_prefix("initializing source ") {
        Some(rest) => rest.split_once(": ").map_or(rest, |(_, why)| why),
        None => last,
    };
    Err(format!(
        "exit {}: {}",
        out.status.code().unwrap_or(-1),
        last.chars().take(70).collect::<String>()
    ))
}

fn cases() -> Vec<Case> {
    let private = |tag: &str| format!("{REGISTRY}/lab/{tag}");
    let mut cases = Vec::new();
    for world in WORLDS {
        for image in [private("app:1.0"), "public.ecr.aws/lab/app:1.0".to_string()] {
            cases.push(Case {
                world,
                image,
                doctor_flags: vec![],
                why: None,
            });
        }
    }
    for image in [private("multi:1.0"), private("app:9.9")] {
        cases.push(Case {
            world: "healthy",
            image,
            doctor_flags: vec![],
            why: None,
        });
    }
    cases.push(Case {
        world: "healthy",
        image: private("app:1.0"),
        doctor_flags: vec!["--dns-server", "10.1.1.99"],
        why: Some("the doctor was pointed by --dns-server at a resolver that never answers; skopeo uses the namespace's"),
    });
    cases
}

fn short(v: &Result<impl Sized, String>) -> String {
    match v {
        Ok(_) => "pull ok".into(),
        Err(e) => format!("FAIL {e}"),
    }
}

#[test]
fn skopeo_and_the_doctor_agree_in_every_world() {
    let Some(lab) = Netlab::up("skopeo", "healthy") else {
        return;
    };
    let skopeo = Command::new("skopeo").arg("--version").output();
    if !skopeo.is_ok_and(|o| o.status.success()) {
        let why = "skopeo is not installed (tests/lab/netlab.sh install installs it)";
        if std::env::var("ECR_DOCTOR_REQUIRE_NETLAB").is_ok_and(|v| v == "1") {
            panic!("{why}");
        }
        eprintln!("SKIPPED skopeo agreement: {why}");
        return;
    }
    let cases = cases();
    let mut rows = Vec::new();
    for world in WORLDS {
        lab.world(world);
        let here: Vec<&Case> = cases.iter().filter(|c| c.world == world).collect();
        // the pulls of one world at once: each its own client directory
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = here
                .iter()
                .map(|case| {
                    let lab = &lab;
                    s.spawn(move || {
                        let dir = tempfile::tempdir().unwrap();
                        let doctor = doctor_verdict(lab, case);
                        let client = skopeo_verdict(lab, case, dir.path());
                        (doctor, client)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        rows.extend(here.into_iter().zip(results));
    }

    let mut table = format!(
        "{:<17} {:<52} {:<50} {:<78} agree\n",
        "world", "image", "ecr-doctor", "skopeo"
    );
    let mut wrong = Vec::new();
    let (mut both_pass, mut both_fail) = (0, 0);
    for (case, (doctor, client)) in &rows {
        let agree = doctor.is_ok() == client.is_ok();
        match (agree, doctor.is_ok(), case.why) {
            (true, true, None) => both_pass += 1,
            (true, false, None) => both_fail += 1,
            (false, _, None) => wrong.push(format!("{} {}", case.world, case.image)),
            // a documented disagreement must still be one, or its reason is stale
            (true, _, Some(_)) => wrong.push(format!(
                "{} {} (documented to disagree, yet agrees)",
                case.world, case.image
            )),
            (false, _, Some(_)) => {}
        }
        let image = format!(
            "{}{}",
            case.image.replace(REGISTRY, "<ecr>"),
            if case.doctor_flags.is_empty() {
                String::new()
            } else {
                format!(" (doctor: {})", case.doctor_flags.join(" "))
            }
        );
        table += &format!(
            "{:<17} {:<52} {:<50} {:<78} {}\n",
            case.world,
            image,
            short(doctor),
            short(client),
            match (agree, case.why) {
                (true, _) => "yes".to_string(),
                (false, Some(why)) => format!("no, documented: {why}"),
                (false, None) => "NO".to_string(),
            }
        );
    }
    // straight to stderr, not through the test harness's capture: the table is in every log
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("skopeo agreement ({} pulls):\n{table}", rows.len()).as_bytes(),
    );
    assert!(wrong.is_empty(), "disagreements: {wrong:?}\n{table}");
    // not vacuous: real pulls went through, real failures were seen by both
    assert!(both_pass >= 4 && both_fail >= 8, "{table}");

    // what skopeo pulled in the healthy world is the image the lab pushed
    let healthy = rows
        .iter()
        .find(|(c, _)| c.world == "healthy" && c.image == format!("{REGISTRY}/lab/app:1.0"))
        .unwrap();
    let manifest = healthy.1 .1.as_ref().unwrap();
    use sha2::Digest;
    assert_eq!(
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(manifest))),
        lab.lab["images"]["lab/app:1.0"]["digest"].as_str().unwrap()
    );
}
