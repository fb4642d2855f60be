//! `image.manifest` `not-found` explained (issue 8, "Missing images explained"): the
//! pull-through cache and lifecycle policy hints, through the built binary in the namespace
//! lab, whose registry answers the 404s and whose moto holds the rules, the registry policy
//! and the lifecycle policy (moto_lab.py extensions 30 and 31).

use crate::dataplane::Netlab;
use crate::harness::{validate_schema, Run};
use serde_json::{json, Value};

const IMPORT: &str = "ecr:BatchImportUpstreamImage";
const CREATE: &str = "ecr:CreateRepository";

fn manifest(lab: &Netlab, image: &str) -> (Run, Value) {
    manifest_env(lab, &[], image)
}

fn manifest_env(lab: &Netlab, env: &[(String, String)], image: &str) -> (Run, Value) {
    let r = lab.doctor_env(env, &["--output", "json", "--image", image]);
    assert_eq!(
        r.check("image.manifest"),
        ("fail".into(), Some("not-found".into())),
        "{image}: {}",
        r.stderr
    );
    let e = r.entry("image.manifest");
    (r, e)
}

fn text(e: &Value) -> String {
    e["remediation"]["text"].as_str().unwrap().to_string()
}

const HINT_FACTS: [&str; 4] = [
    "cache_rule_prefix",
    "cache_registry_policy",
    "lifecycle_rule_priority",
    "unread",
];

#[test]
fn missing_images_explained_by_cache_rules_and_a_lifecycle_policy() {
    let Some(lab) = Netlab::up("miss", "healthy") else {
        return;
    };
    // under the `ecr-public` rule, no such repository yet: import + create, both granted
    // by the registry policy (scoped to repository/ecr-public/*), and the path upstream
    let (r, e) = manifest(&lab, "ecr-public/library/nginx:1.27");
    validate_schema(&r.stdout);
    let f = &e["facts"];
    assert_eq!(f["missing"], "repository");
    assert_eq!(f["registry_account"], "123456789012");
    assert_eq!(f["cache_rule_prefix"], "ecr-public");
    assert_eq!(f["cache_upstream"], "public.ecr.aws");
    assert_eq!(f["cache_upstream_registry"], "ecr-public");
    assert_eq!(
        f["cache_upstream_image"],
        "public.ecr.aws/library/nginx:1.27"
    );
    assert_eq!(f["cache_needs"], json!([IMPORT, CREATE]));
    assert_eq!(f["cache_first_pull"], true);
    assert_eq!(f["cache_registry_policy"], "grants");
    assert_eq!(f["cache_registry_grants"], json!([IMPORT, CREATE]));
    assert_eq!(
        f["cache_principal"],
        "arn:aws:iam::123456789012:user/lab-healthy"
    );
    assert!(f.get("unread").is_none(), "{f}");
    assert!(f.get("lifecycle_rule_priority").is_none(), "{f}");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains(
            "ecr-public/library/nginx is served by the pull-through cache rule ecr-public (upstream public.ecr.aws)"
        ),
        "{msg}"
    );
    let t = text(&e);
    assert!(t.contains("ecr:BatchImportUpstreamImage and, because ecr-public/library/nginx does not exist yet, ecr:CreateRepository"), "{t}");
    assert!(
        t.contains("the registry policy grants them to arn:aws:iam::123456789012:user/lab-healthy"),
        "{t}"
    );
    assert!(t.contains("NAT gateway"), "{t}");
    let cmds = e["remediation"]["commands"].to_string();
    assert!(
        cmds.contains("describe-pull-through-cache-rules --region us-east-1 --registry-id 123456789012 --ecr-repository-prefixes ecr-public"),
        "{cmds}"
    );

    // under the `quay` rule: the registry policy grants nothing there
    let (_, e) = manifest(&lab, "quay/prometheus/node-exporter:v1.8.0");
    let f = &e["facts"];
    assert_eq!(f["cache_rule_prefix"], "quay");
    assert_eq!(
        f["cache_upstream_image"],
        "quay.io/prometheus/node-exporter:v1.8.0"
    );
    assert_eq!(f["cache_registry_policy"], "lacks");
    assert_eq!(f["cache_registry_lacks"], json!([IMPORT, CREATE]));
    assert!(text(&e).contains(
        "unless the identity policy allows ecr:BatchImportUpstreamImage, ecr:CreateRepository"
    ));

    // lab/app has a lifecycle policy: the rule that could take tag 0.9 is quoted
    let (_, e) = manifest(&lab, "lab/app:0.9");
    let f = &e["facts"];
    assert_eq!(f["missing"], "tag");
    assert_eq!(f["lifecycle_rules"], 2);
    assert_eq!(f["lifecycle_rule_priority"], 2);
    assert_eq!(
        f["lifecycle_rule_description"],
        "Keep the newest 3 pre-release images"
    );
    assert_eq!(f["lifecycle_tag_status"], "tagged");
    assert_eq!(f["lifecycle_tag_patterns"], json!(["0.*"]));
    assert_eq!(f["lifecycle_count_type"], "imageCountMoreThan");
    assert_eq!(f["lifecycle_count_number"], 3);
    assert_eq!(f["lifecycle_action"], "expire");
    assert!(f.get("cache_rule_prefix").is_none(), "{f}");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("rule 2 of the repository's lifecycle policy may have removed it"));
    let t = text(&e);
    assert!(t.contains("rule 2 of 2 (\"Keep the newest 3 pre-release images\") expires images with a tag matching 0.* beyond the newest 3."), "{t}");
    assert!(t.contains("ECS pins digests"), "{t}");

    // a digest ECS pinned, gone: the untagged rule
    let gone = format!("lab/app@sha256:{}", "0".repeat(64));
    let (_, e) = manifest(&lab, &gone);
    let f = &e["facts"];
    assert_eq!(f["lifecycle_rule_priority"], 1);
    assert_eq!(f["lifecycle_tag_status"], "untagged");
    assert_eq!(f["lifecycle_count_type"], "sinceImagePushed");
    assert_eq!(f["lifecycle_count_unit"], "days");
    assert!(text(&e).contains("expires untagged images pushed more than 1 days ago"));

    // no rule, no lifecycle policy: no hint at all
    let (_, e) = manifest(&lab, "lab/multi:2.0");
    for k in HINT_FACTS {
        assert!(e["facts"].get(k).is_none(), "{k}: {}", e["facts"]);
    }

    // another account's registry (the lab's registry serves every account's host name):
    // its pull-through cache rules cannot be read from here, which is said, not guessed
    let (r, e) = manifest(
        &lab,
        "210987654321.dkr.ecr.us-east-1.amazonaws.com/ecr-public/library/nginx:1.27",
    );
    assert_eq!(r.check("registry.auth").0, "pass", "{}", r.stderr);
    let f = &e["facts"];
    assert_eq!(f["registry_account"], "210987654321");
    assert_eq!(
        f["unread"],
        json!(["ecr:DescribePullThroughCacheRules"]),
        "{f}"
    );
    let why = f["unread_errors"][0].as_str().unwrap();
    assert!(
        why.starts_with("ecr:DescribePullThroughCacheRules: HTTP 400 AccessDeniedException"),
        "{why}"
    );
    for k in [
        "cache_rule_prefix",
        "cache_registry_policy",
        "lifecycle_rule_priority",
    ] {
        assert!(f.get(k).is_none(), "{k}: {f}");
    }
    let t = text(&e);
    assert!(
        t.contains("ecr-doctor could not read ecr:DescribePullThroughCacheRules (ecr:DescribePullThroughCacheRules: HTTP 400 AccessDeniedException"),
        "{t}"
    );
}
