//! Why an `--image` may be missing (`image.manifest` `not-found`): two hints, each added
//! only when it applies, as facts the catalog turns into words.
//!
//! - **Pull-through cache.** The repository name starts with the prefix of one of the
//!   registry's pull-through cache rules (`ecr:DescribePullThroughCacheRules`; ECR treats a
//!   prefix `p` as `p/`). An image that is not cached yet is imported by the pull itself,
//!   which needs `ecr:BatchImportUpstreamImage`, and `ecr:CreateRepository` when the
//!   repository does not exist yet. Either may come from the identity policy or from the
//!   registry's permissions policy (`ecr:GetRegistryPolicy`, evaluated here for the caller);
//!   `BatchImportUpstreamImage` also from the repository policy.
//! - **Lifecycle policy.** The repository has one (`ecr:GetLifecyclePolicy`): its rule that
//!   could have selected the reference is quoted (priority, description, selection, action).
//!
//! Every read that fails leaves its hint out and is named in `unread` (with the short
//! cause in `unread_errors`); the check's code stays `not-found`.

use super::Ctx;
use crate::engine::Finding;
use crate::policy::{self, Decision, Request};
use crate::probes::sdk_error::ErrorClass;
use crate::probes::{ApiError, PullThroughCacheRule};
use crate::validate::ImageRef;
use serde_json::Value;

/// What a pull through a pull-through cache rule needs beyond the pull actions.
pub const IMPORT: &str = "ecr:BatchImportUpstreamImage";
pub const CREATE: &str = "ecr:CreateRepository";

/// The rule serving `repository`: the longest prefix `p` with `repository` under `p/`.
pub fn matching_rule<'a>(
    rules: &'a [PullThroughCacheRule],
    repository: &str,
) -> Option<&'a PullThroughCacheRule> {
    rules
        .iter()
        .filter(|r| {
            let p = r.ecr_repository_prefix.trim_end_matches('/');
            !p.is_empty()
                && repository
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|r| r.ecr_repository_prefix.len())
}

/// The upstream image a repository of `rule` mirrors: `<upstream>/<upstream prefix>/<rest>`
/// (an upstream prefix `ROOT`, the API's default, means none), with the tag or digest.
pub fn upstream_image(rule: &PullThroughCacheRule, image: &ImageRef) -> String {
    let p = rule.ecr_repository_prefix.trim_end_matches('/');
    let rest = image
        .repository
        .strip_prefix(p)
        .map(|r| r.trim_start_matches('/'))
        .unwrap_or(&image.repository);
    let path = match rule.upstream_repository_prefix.as_deref() {
        Some(u) if !u.is_empty() && u != "ROOT" => format!("{}/{rest}", u.trim_end_matches('/')),
        _ => rest.to_string(),
    };
    let sep = if image.reference.starts_with("sha256:") {
        '@'
    } else {
        ':'
    };
    format!(
        "{}/{path}{sep}{}",
        rule.upstream_registry_url.trim_end_matches('/'),
        image.reference
    )
}

/// `*` glob (a lifecycle `tagPatternList` entry) against a tag.
fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Could `rule` (a lifecycle rule) select an image carrying `tag`? `untagged` rules never
/// do; `tagged` ones when a prefix or a pattern matches it.
fn selects_tag(rule: &Value, tag: &str) -> bool {
    let sel = &rule["selection"];
    match sel["tagStatus"].as_str() {
        Some("any") => true,
        Some("tagged") => {
            strings(&sel["tagPrefixList"])
                .iter()
                .any(|p| tag.starts_with(p.as_str()))
                || strings(&sel["tagPatternList"]).iter().any(|p| glob(p, tag))
        }
        _ => false,
    }
}

/// The lifecycle rule to quote for `reference`, and whether its selection names it. For a
/// tag: the first rule (by `rulePriority`) whose selection could take that tag, else the
/// first rule. For a digest (whose tags are unknown): the first `untagged` or `any` rule,
/// else the first rule. `None` when the text is not a policy with rules.
pub fn lifecycle_rule(text: &str, reference: &str) -> Option<(Value, usize, bool)> {
    let doc: Value = serde_json::from_str(text).ok()?;
    let mut rules: Vec<Value> = doc["rules"].as_array()?.clone();
    if rules.is_empty() {
        return None;
    }
    rules.sort_by_key(|r| r["rulePriority"].as_i64().unwrap_or(i64::MAX));
    let n = rules.len();
    if reference.starts_with("sha256:") {
        let pick = rules
            .iter()
            .find(|r| {
                matches!(
                    r["selection"]["tagStatus"].as_str(),
                    Some("untagged" | "any")
                )
            })
            .unwrap_or(&rules[0]);
        return Some((pick.clone(), n, true));
    }
    match rules.iter().find(|r| selects_tag(r, reference)) {
        Some(r) => Some((r.clone(), n, true)),
        None => Some((rules[0].clone(), n, false)),
    }
}

fn unread<K>(f: Finding<K>, reads: &[(&str, &ApiError)]) -> Finding<K> {
    if reads.is_empty() {
        return f;
    }
    f.fact(
        "unread",
        reads.iter().map(|(a, _)| a.to_string()).collect::<Vec<_>>(),
    )
    .fact(
        "unread_errors",
        reads
            .iter()
            .map(|(a, e)| format!("{a}: {}", e.summary()))
            .collect::<Vec<_>>(),
    )
}

/// The hints for a 404 of `image` in `registry`; `repository_exists` as the tag list told
/// (`None`: unknown).
pub async fn hints<K>(
    cx: &Ctx,
    f: Finding<K>,
    image: &ImageRef,
    registry: &str,
    repository_exists: Option<bool>,
) -> Finding<K> {
    let Some(identity) = cx.identity().cloned() else {
        return f;
    };
    let owner = crate::aws::parse_registry_host(registry)
        .map(|r| r.account)
        .unwrap_or_else(|| identity.account.clone());
    let repo_arn = crate::aws::arn::repository_arn(cx.region(), &owner, &image.repository);
    let f = f.fact("registry_account", owner.clone());

    // the pull-through cache rules then (own registry only) the registry policy, while
    // the lifecycle policy is read alongside
    let cache = async {
        let rules = match cx.aws.pull_through_cache_rules(owner.clone()).await {
            Ok(r) => r,
            Err(e) => return (None, None, Some(e)),
        };
        let Some(rule) = matching_rule(&rules, &image.repository).cloned() else {
            return (None, None, None);
        };
        let policy = if owner == identity.account {
            Some(cx.aws.registry_policy().await)
        } else {
            None
        };
        (Some(rule), policy, None)
    };
    let lifecycle = async {
        if repository_exists == Some(false) {
            return None;
        }
        Some(
            cx.aws
                .lifecycle_policy(owner.clone(), image.repository.clone())
                .await,
        )
    };
    let ((rule, policy, rules_error), lifecycle) = futures::join!(cache, lifecycle);

    let mut failed: Vec<(&str, ApiError)> = Vec::new();
    let mut f = f;
    if let Some(e) = rules_error {
        failed.push(("ecr:DescribePullThroughCacheRules", e));
    }
    if let Some(rule) = rule {
        let first_pull = repository_exists == Some(false);
        let mut needs = vec![IMPORT];
        if first_pull {
            needs.push(CREATE);
        }
        f = f
            .fact("cache_rule_prefix", rule.ecr_repository_prefix.clone())
            .fact("cache_upstream", rule.upstream_registry_url.clone())
            .fact("cache_upstream_registry", rule.upstream_registry.clone())
            .fact("cache_upstream_image", upstream_image(&rule, image))
            .fact("cache_needs", &needs)
            .fact("cache_first_pull", first_pull)
            .fact("cache_principal", identity.arn.clone());
        let state = match policy {
            None => "other-account",
            Some(Ok(None)) => "none",
            Some(Err(e)) => {
                failed.push(("ecr:GetRegistryPolicy", e));
                "unread"
            }
            Some(Ok(Some(doc))) => match policy::parse(&doc) {
                Err(e) => {
                    f = f.fact("cache_registry_policy_error", e.to_string());
                    "unparsed"
                }
                Ok(p) => {
                    let (mut grants, mut lacks, mut denies, mut conditional) =
                        (vec![], vec![], vec![], vec![]);
                    for action in &needs {
                        let req = Request {
                            action,
                            resource: &repo_arn,
                            principal: Some(&identity.arn),
                            principal_account: Some(&identity.account),
                            context: &[("aws:PrincipalAccount", &identity.account)],
                            foreign_keys: &[],
                        };
                        match p.evaluate(&req) {
                            Decision::Allowed => grants.push(*action),
                            Decision::ExplicitDeny { .. } => denies.push(*action),
                            Decision::ImplicitDeny => lacks.push(*action),
                            Decision::AllowedWithConditions { .. }
                            | Decision::DenyUnderConditions { .. } => conditional.push(*action),
                        }
                    }
                    let state = if !denies.is_empty() {
                        "denies"
                    } else if !lacks.is_empty() && !grants.is_empty() {
                        "partial"
                    } else if !lacks.is_empty() {
                        "lacks"
                    } else if !conditional.is_empty() {
                        "conditional"
                    } else {
                        "grants"
                    };
                    f = f
                        .fact("cache_registry_grants", grants)
                        .fact("cache_registry_lacks", lacks)
                        .fact("cache_registry_denies", denies)
                        .fact("cache_registry_conditional", conditional);
                    state
                }
            },
        };
        f = f.fact("cache_registry_policy", state);
    }
    match lifecycle {
        Some(Ok(Some(text))) => match lifecycle_rule(&text, &image.reference) {
            Some((rule, n, selects)) => {
                let sel = &rule["selection"];
                let s = |k: &str| sel[k].as_str().map(str::to_string);
                f = f
                    .fact("lifecycle_rules", n)
                    .fact("lifecycle_rule_priority", rule["rulePriority"].as_i64())
                    .fact(
                        "lifecycle_rule_description",
                        rule["description"]
                            .as_str()
                            .filter(|d| !d.is_empty())
                            .map(str::to_string),
                    )
                    .fact("lifecycle_tag_status", s("tagStatus"))
                    .fact("lifecycle_tag_prefixes", strings(&sel["tagPrefixList"]))
                    .fact("lifecycle_tag_patterns", strings(&sel["tagPatternList"]))
                    .fact("lifecycle_count_type", s("countType"))
                    .fact("lifecycle_count_number", sel["countNumber"].as_i64())
                    .fact("lifecycle_count_unit", s("countUnit"))
                    .fact(
                        "lifecycle_action",
                        rule["action"]["type"].as_str().unwrap_or("expire"),
                    )
                    .fact("lifecycle_unselected", !selects);
            }
            None => f = f.fact("lifecycle_policy_error", "no-rules"),
        },
        Some(Err(e)) if e.class() != ErrorClass::NotFound => {
            failed.push(("ecr:GetLifecyclePolicy", e));
        }
        _ => {}
    }
    let refs: Vec<(&str, &ApiError)> = failed.iter().map(|(a, e)| (*a, e)).collect();
    unread(f, &refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str, url: &str, up: Option<&str>) -> PullThroughCacheRule {
        PullThroughCacheRule {
            ecr_repository_prefix: prefix.into(),
            upstream_registry_url: url.into(),
            upstream_registry: None,
            upstream_repository_prefix: up.map(str::to_string),
        }
    }

    #[test]
    fn a_prefix_matches_whole_path_segments_and_the_longest_wins() {
        let rules = [
            rule("ecr-public", "public.ecr.aws", None),
            rule("ecr-public/team", "public.ecr.aws", None),
            rule("quay", "quay.io", None),
        ];
        let m = |r: &str| matching_rule(&rules, r).map(|r| r.ecr_repository_prefix.as_str());
        assert_eq!(m("ecr-public/library/nginx"), Some("ecr-public"));
        assert_eq!(m("ecr-public/team/app"), Some("ecr-public/team"));
        assert_eq!(m("ecr-publicity/app"), None);
        assert_eq!(m("ecr-public"), None);
        assert_eq!(m("lab/app"), None);
    }

    #[test]
    fn the_upstream_image_maps_the_prefixes() {
        let img = crate::validate::image("ecr-public/library/nginx:1.27").unwrap();
        assert_eq!(
            upstream_image(&rule("ecr-public", "public.ecr.aws", Some("ROOT")), &img),
            "public.ecr.aws/library/nginx:1.27"
        );
        let img = crate::validate::image("hub/library/nginx@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").unwrap();
        assert_eq!(
            upstream_image(&rule("hub", "registry-1.docker.io", None), &img),
            "registry-1.docker.io/library/nginx@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        );
        let img = crate::validate::image("mirror/app:1").unwrap();
        assert_eq!(
            upstream_image(
                &rule(
                    "mirror",
                    "210987654321.dkr.ecr.us-east-1.amazonaws.com",
                    Some("team")
                ),
                &img
            ),
            "210987654321.dkr.ecr.us-east-1.amazonaws.com/team/app:1"
        );
    }

    const POLICY: &str = r#"{"rules":[
        {"rulePriority":5,"description":"keep 3 release images","selection":{"tagStatus":"tagged","tagPatternList":["v*"],"countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}},
        {"rulePriority":1,"description":"drop untagged after a day","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}},
        {"rulePriority":9,"selection":{"tagStatus":"tagged","tagPrefixList":["dev-"],"countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"transition","targetStorageClass":"archive"}}
    ]}"#;

    #[test]
    fn the_quoted_rule_is_the_one_that_could_select_the_reference() {
        let (r, n, sel) = lifecycle_rule(POLICY, "v1.2").unwrap();
        assert_eq!((r["rulePriority"].as_i64(), n, sel), (Some(5), 3, true));
        let (r, _, sel) = lifecycle_rule(POLICY, "dev-7").unwrap();
        assert_eq!((r["rulePriority"].as_i64(), sel), (Some(9), true));
        // no rule names the tag: the first rule, flagged
        let (r, _, sel) = lifecycle_rule(POLICY, "latest").unwrap();
        assert_eq!((r["rulePriority"].as_i64(), sel), (Some(1), false));
        // a digest: the first untagged/any rule
        let (r, _, sel) = lifecycle_rule(POLICY, "sha256:abc").unwrap();
        assert_eq!((r["rulePriority"].as_i64(), sel), (Some(1), true));
        assert!(lifecycle_rule("{}", "x").is_none());
        assert!(lifecycle_rule("not json", "x").is_none());
    }

    #[test]
    fn tag_patterns_glob() {
        assert!(glob("v*", "v1"));
        assert!(glob("*test*1*", "my-test-21x"));
        assert!(!glob("prod*", "dev-prod"));
        assert!(glob("exact", "exact"));
        assert!(!glob("a*b", "ab-"));
    }
}

#[cfg(test)]
mod check_tests {
    //! The hints through `image.manifest` itself, with scripted probes.
    use super::*;
    use crate::checks::fake::{ctx_full, render, service_error, FakeAws, FakeNet};
    use crate::checks::image::{manifest, ManifestCode};
    use crate::checks::testkit::{resp, REG};
    use crate::checks::{Identity, Token};
    use crate::probes::Secret;
    use std::sync::Arc;

    const CALLER: &str = "arn:aws:iam::123456789012:user/puller";

    /// A registry that answers 404 for `repo:tag`, and for the tag list 200 (tags given)
    /// or 404 (no such repository).
    fn net(repo: &str, tag: &str, tags: Option<&[&str]>) -> FakeNet {
        let mut net = FakeNet::default();
        net.http.insert(
            format!("https://{REG}/v2/{repo}/manifests/{tag}"),
            resp(
                404,
                &[],
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
            ),
        );
        let list = match tags {
            Some(t) => resp(
                200,
                &[],
                serde_json::json!({"name": repo, "tags": t})
                    .to_string()
                    .as_bytes(),
            ),
            None => resp(
                404,
                &[],
                br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#,
            ),
        };
        net.http
            .insert(format!("https://{REG}/v2/{repo}/tags/list"), list);
        net
    }

    async fn run(aws: FakeAws, net: FakeNet, image: &str) -> (Finding<ManifestCode>, Arc<FakeAws>) {
        let fake = Arc::new(aws);
        let mut cx = ctx_full(FakeAws::default(), &[], Ok(None), net);
        let c = Arc::get_mut(&mut cx).unwrap();
        c.aws = fake.clone();
        c.opts.image = Some(crate::validate::image(image).unwrap());
        c.set_identity(Identity {
            account: "123456789012".into(),
            arn: CALLER.into(),
        });
        c.set_token(Token {
            registry: REG.into(),
            password: Secret::new("lab-password-123"),
            expires_at: None,
        });
        let o = manifest(cx).await;
        assert_eq!(o.code, ManifestCode::NotFound, "{:?}", o.facts);
        (o, fake)
    }

    /// What the hints asked the probe, in order.
    fn reads(fake: &FakeAws) -> Vec<String> {
        fake.hint_reads.lock().unwrap().clone()
    }

    fn cache_rules() -> Vec<PullThroughCacheRule> {
        vec![
            PullThroughCacheRule {
                ecr_repository_prefix: "ecr-public".into(),
                upstream_registry_url: "public.ecr.aws".into(),
                upstream_registry: Some("ecr-public".into()),
                upstream_repository_prefix: Some("ROOT".into()),
            },
            PullThroughCacheRule {
                ecr_repository_prefix: "quay".into(),
                upstream_registry_url: "quay.io".into(),
                ..Default::default()
            },
        ]
    }

    /// The registry policy statement of AWS's pull-through cache example, for `resource`.
    fn registry_policy(actions: &[&str], resource: &str) -> String {
        serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "PullThroughCache", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": actions, "Resource": resource}]})
        .to_string()
    }

    /// The cache rules, and a registry policy that grants both actions under `ecr-public/`
    /// only (AWS's pull-through cache example).
    fn ecr_public_grant() -> FakeAws {
        FakeAws {
            cache_rules: Ok(cache_rules()),
            registry_policy: Ok(Some(registry_policy(
                &[IMPORT, CREATE],
                "arn:aws:ecr:us-east-1:123456789012:repository/ecr-public/*",
            ))),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_new_repository_under_a_cache_rule_needs_import_and_create_and_a_path_upstream() {
        let aws = ecr_public_grant();
        let (o, cx) = run(
            aws,
            net("ecr-public/library/nginx", "1.27", None),
            "ecr-public/library/nginx:1.27",
        )
        .await;
        assert_eq!(o.facts["missing"], "repository");
        assert_eq!(o.facts["cache_rule_prefix"], "ecr-public");
        assert_eq!(o.facts["cache_upstream"], "public.ecr.aws");
        assert_eq!(
            o.facts["cache_upstream_image"],
            "public.ecr.aws/library/nginx:1.27"
        );
        assert_eq!(o.facts["cache_needs"], serde_json::json!([IMPORT, CREATE]));
        assert_eq!(o.facts["cache_first_pull"], true);
        assert_eq!(o.facts["cache_registry_policy"], "grants");
        assert_eq!(
            o.facts["cache_registry_grants"],
            serde_json::json!([IMPORT, CREATE])
        );
        assert!(!o.facts.contains_key("unread"));
        // no lifecycle read for a repository that does not exist
        assert_eq!(reads(&cx), ["rules 123456789012", "registry-policy"]);
        let msg = render("image.manifest", &o);
        assert!(
            msg.contains(
                "served by the pull-through cache rule ecr-public (upstream public.ecr.aws)"
            ),
            "{msg}"
        );
        let text = remediation(&o);
        assert!(text.contains("ecr:BatchImportUpstreamImage and, because ecr-public/library/nginx does not exist yet, ecr:CreateRepository"), "{text}");
        assert!(text.contains("NAT gateway"), "{text}");
        assert!(
            text.contains(&format!("the registry policy grants them to {CALLER}")),
            "{text}"
        );
        assert!(!text.contains("Lifecycle policy"), "{text}");
    }

    #[tokio::test]
    async fn a_registry_policy_scoped_to_another_prefix_grants_nothing_here() {
        let aws = ecr_public_grant();
        let (o, _) = run(
            aws,
            net("quay/prometheus/node-exporter", "v1", None),
            "quay/prometheus/node-exporter:v1",
        )
        .await;
        assert_eq!(o.facts["cache_rule_prefix"], "quay");
        assert_eq!(o.facts["cache_registry_policy"], "lacks");
        assert_eq!(
            o.facts["cache_registry_lacks"],
            serde_json::json!([IMPORT, CREATE])
        );
        assert!(remediation(&o).contains("does not grant them to"));
        // the repository exists (a cached tag), the tag is not cached: import only
        let aws = FakeAws {
            cache_rules: Ok(cache_rules()),
            registry_policy: Ok(Some(registry_policy(
                &[CREATE],
                "arn:aws:ecr:us-east-1:123456789012:repository/quay/*",
            ))),
            ..Default::default()
        };
        let (o, cx) = run(
            aws,
            net("quay/prometheus/node-exporter", "v2", Some(&["v1"])),
            "quay/prometheus/node-exporter:v2",
        )
        .await;
        assert_eq!(o.facts["cache_needs"], serde_json::json!([IMPORT]));
        assert_eq!(o.facts["cache_first_pull"], false);
        assert_eq!(o.facts["cache_registry_policy"], "lacks");
        assert!(!remediation(&o).contains("NAT gateway"));
        assert!(reads(&cx)
            .contains(&"lifecycle 123456789012 quay/prometheus/node-exporter".to_string()));
        // no registry policy at all; an explicit deny
        for (policy, state) in [
            (None, "none"),
            (
                Some(
                    serde_json::json!({"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Principal": "*", "Action": "ecr:*", "Resource": "*"},
                        {"Effect": "Deny", "Principal": {"AWS": CALLER}, "Action": IMPORT, "Resource": "*"}]})
                    .to_string(),
                ),
                "denies",
            ),
        ] {
            let aws = FakeAws {
                cache_rules: Ok(cache_rules()),
                registry_policy: Ok(policy),
                ..Default::default()
            };
            let (o, _) = run(
                aws,
                net("quay/a/b", "1", Some(&["0"])),
                "quay/a/b:1",
            )
            .await;
            assert_eq!(o.facts["cache_registry_policy"], state);
        }
    }

    #[tokio::test]
    async fn no_rule_no_lifecycle_policy_no_hint() {
        let (o, cx) = run(
            FakeAws {
                cache_rules: Ok(cache_rules()),
                ..Default::default()
            },
            net("lab/app", "9", Some(&["1.0"])),
            "lab/app:9",
        )
        .await;
        for k in ["cache_rule_prefix", "lifecycle_rule_priority", "unread"] {
            assert!(!o.facts.contains_key(k), "{k}: {:?}", o.facts);
        }
        assert_eq!(
            reads(&cx),
            ["rules 123456789012", "lifecycle 123456789012 lab/app"]
        );
        let text = remediation(&o);
        assert!(
            !text.contains("Pull-through") && !text.contains("Lifecycle"),
            "{text}"
        );
    }

    const LIFECYCLE: &str = r#"{"rules":[
        {"rulePriority":1,"description":"Expire untagged images after 1 day","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}},
        {"rulePriority":2,"description":"Keep the last 2 release images","selection":{"tagStatus":"tagged","tagPrefixList":["release-"],"countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}}]}"#;

    #[tokio::test]
    async fn a_lifecycle_rule_is_quoted_with_the_ecs_digest_note() {
        let aws = FakeAws {
            lifecycle_policy: Ok(Some(LIFECYCLE.into())),
            ..Default::default()
        };
        let (o, _) = run(
            aws,
            net("team/app", "release-3", Some(&["release-7", "release-8"])),
            "team/app:release-3",
        )
        .await;
        assert_eq!(o.facts["lifecycle_rules"], 2);
        assert_eq!(o.facts["lifecycle_rule_priority"], 2);
        assert_eq!(
            o.facts["lifecycle_rule_description"],
            "Keep the last 2 release images"
        );
        assert_eq!(o.facts["lifecycle_tag_status"], "tagged");
        assert_eq!(
            o.facts["lifecycle_tag_prefixes"],
            serde_json::json!(["release-"])
        );
        assert_eq!(o.facts["lifecycle_count_type"], "imageCountMoreThan");
        assert_eq!(o.facts["lifecycle_count_number"], 2);
        assert_eq!(o.facts["lifecycle_action"], "expire");
        let msg = render("image.manifest", &o);
        assert!(
            msg.contains("rule 2 of the repository's lifecycle policy may have removed it"),
            "{msg}"
        );
        let text = remediation(&o);
        assert!(text.contains("rule 2 of 2 (\"Keep the last 2 release images\") expires images with a tag starting with release- beyond the newest 2."), "{text}");
        assert!(text.contains("ECS pins digests"), "{text}");
        assert!(!text.contains("does not name"), "{text}");
        // a digest: the untagged rule
        let aws = FakeAws {
            lifecycle_policy: Ok(Some(LIFECYCLE.into())),
            ..Default::default()
        };
        let (o, _) = run(
            aws,
            net(
                "team/app",
                "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                Some(&["release-8"]),
            ),
            "team/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        )
        .await;
        let text = remediation(&o);
        assert!(text.contains("rule 1 of 2 (\"Expire untagged images after 1 day\") expires untagged images pushed more than 1 days ago."), "{text}");
    }

    #[tokio::test]
    async fn every_refused_read_is_named_and_its_hint_left_out() {
        let denied = service_error(400, "AccessDeniedException", "User: x is not authorized");
        // the rules cannot be read; the lifecycle policy cannot either
        let aws = FakeAws {
            cache_rules: Err(denied.clone()),
            lifecycle_policy: Err(denied.clone()),
            ..Default::default()
        };
        let (o, _) = run(
            aws,
            net("ecr-public/x", "1", Some(&["0"])),
            "ecr-public/x:1",
        )
        .await;
        assert_eq!(
            o.facts["unread"],
            serde_json::json!([
                "ecr:DescribePullThroughCacheRules",
                "ecr:GetLifecyclePolicy"
            ])
        );
        assert!(!o.facts.contains_key("cache_rule_prefix"));
        assert!(!o.facts.contains_key("lifecycle_rule_priority"));
        assert!(remediation(&o).contains("ecr-doctor could not read ecr:DescribePullThroughCacheRules, ecr:GetLifecyclePolicy (ecr:DescribePullThroughCacheRules: HTTP 400 AccessDeniedException"));
        // the rule is known, the registry policy is not: the rule is said, the grant not
        let aws = FakeAws {
            cache_rules: Ok(cache_rules()),
            registry_policy: Err(crate::probes::ApiError {
                failure: crate::probes::ApiFailure::Timeout {
                    detail: "operation timeout".into(),
                },
                exchange: Default::default(),
            }),
            ..Default::default()
        };
        let (o, _) = run(aws, net("ecr-public/x", "1", None), "ecr-public/x:1").await;
        assert_eq!(o.facts["cache_rule_prefix"], "ecr-public");
        assert_eq!(o.facts["cache_registry_policy"], "unread");
        assert_eq!(
            o.facts["unread"],
            serde_json::json!(["ecr:GetRegistryPolicy"])
        );
        assert!(!o.facts.contains_key("cache_registry_grants"));
        // a missing repository is no refusal
        let aws = FakeAws {
            lifecycle_policy: Err(service_error(
                400,
                "RepositoryNotFoundException",
                "The repository does not exist",
            )),
            ..Default::default()
        };
        let mut n = FakeNet::default();
        n.http.insert(
            format!("https://{REG}/v2/a/b/manifests/1"),
            resp(404, &[], b"{}"),
        );
        let (o, _) = run(aws, n, "a/b:1").await;
        assert_eq!(o.facts["missing"], "image");
        assert!(!o.facts.contains_key("unread"), "{:?}", o.facts);
    }

    #[tokio::test]
    async fn another_accounts_registry_policy_is_not_read() {
        let aws = FakeAws {
            cache_rules: Ok(cache_rules()),
            ..Default::default()
        };
        let other = "210987654321.dkr.ecr.us-east-1.amazonaws.com";
        let mut n = FakeNet::default();
        n.http.insert(
            format!("https://{other}/v2/ecr-public/x/manifests/1"),
            resp(404, &[], b"{}"),
        );
        n.http.insert(
            format!("https://{other}/v2/ecr-public/x/tags/list"),
            resp(404, &[], b"{}"),
        );
        let (o, cx) = run(aws, n, &format!("{other}/ecr-public/x:1")).await;
        assert_eq!(o.facts["cache_registry_policy"], "other-account");
        assert_eq!(o.facts["registry_account"], "210987654321");
        assert_eq!(reads(&cx), ["rules 210987654321"]);
        assert!(remediation(&o).contains("ask account 210987654321"));
    }

    /// The remediation as the report shows it (labels applied).
    fn remediation(o: &Finding<ManifestCode>) -> String {
        let cat = crate::catalog::Catalog::embedded();
        let spec = cat.get("image.manifest").unwrap();
        let code = &spec.codes["not-found"];
        let mut vars = o.facts.clone();
        vars.insert("region".into(), "us-east-1".into());
        let vars = cat.labelled(Some(spec), &vars);
        crate::catalog::fill(code.remediation.as_deref().unwrap(), &vars)
    }
}
