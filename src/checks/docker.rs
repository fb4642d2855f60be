//! `docker.config`: how the docker CLI on this machine would authenticate to the registry
//! under diagnosis. Reads its configuration (never writes it) and follows docker's order:
//! `DOCKER_AUTH_CONFIG` (docker CLI 28.3.0 and later, docker/cli#6008), then
//! `credHelpers[host]` (an exact key: a wildcard key never matches, credential helper issue
//! #214), then `credsStore`, then `auths` (a stored `docker login`, under the bare host or
//! `https://host`). Every secret it decodes is registered with the output scrubber and
//! never becomes a fact.

use super::{rfc3339, Ctx};
use crate::engine::Finding;
use crate::probes::docker::{valid_helper_name, ConfigReadError, HelperFailure, CONFIG_READ_LIMIT};
use crate::probes::Secret;
use crate::registry_auth::{
    self, hostname_of, password_expiration, AuthEntry, DockerConfig, Unusable,
};
use futures::future::{BoxFuture, FutureExt};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

crate::codes! {
    pub enum DockerCode {
        OkStoredToken = "ok-stored-token",
        OkHelper = "ok-helper",
        NoAuthConfigured = "no-auth-configured",
        HelperNotFound = "helper-not-found",
        HelperFailed = "helper-failed",
        StoredTokenExpired = "stored-token-expired",
        StoredTokenExpiresSoon = "stored-token-expires-soon",
        StoredAuthOtherRegistry = "stored-auth-other-registry",
        StoredAuthNotEcr = "stored-auth-not-ecr",
        UnparseableConfig = "unparseable-config",
        ConfigTooLarge = "config-too-large",
        KeychainNotInspectable = "keychain-not-inspectable",
        NoRegistry = "no-registry",
        AnonymousPull = "anonymous-pull",
    }
}

use DockerCode as D;

/// The environment variable recent docker CLIs read before the configuration file.
pub const AUTH_CONFIG_ENV: &str = "DOCKER_AUTH_CONFIG";

/// The one helper the doctor runs: it only asks ECR for a token with the AWS credentials of
/// this environment, never prompts, and with `AWS_ECR_DISABLE_CACHE` writes nothing but
/// its own log line. Other helpers are keychains (`desktop`, `osxkeychain`, `wincred`,
/// `pass`, `secretservice`) whose `get` may open an unlock or PIN dialog and prints the
/// secret, or programs the doctor knows nothing about: a read-only doctor does not run
/// them.
pub const ECR_LOGIN: &str = "ecr-login";

/// The part of docker's `config.json` that decides authentication. Unknown fields are
/// ignored, as docker does; a field of the wrong type makes docker ignore the whole file
/// (it warns "Error loading config file" and goes on with an empty configuration).
/// A docker configuration's text as docker loads it, its secrets registered with the
/// output scrubber.
fn parse(text: &str) -> Result<DockerConfig, Unusable> {
    let cfg = registry_auth::parse_docker_config(text)?;
    for s in cfg.secrets() {
        let _ = Secret::new(s);
    }
    Ok(cfg)
}

/// `base64(user:password)` into its parts, the password registered as a secret.
fn decode_auth(auth: &str) -> Option<(String, Secret)> {
    registry_auth::decode_basic(auth).map(|(user, password)| (user, Secret::new(password)))
}

/// Hours from `now` to `t`, one decimal; negative when `t` is past.
fn hours_until(t: SystemTime, now: SystemTime) -> f64 {
    (registry_auth::hours_until(t, now) * 10.0).round() / 10.0
}

/// The configuration file docker reads: `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`.
fn config_path(cx: &Ctx) -> PathBuf {
    match (cx.env.var("DOCKER_CONFIG"), cx.env.var("HOME")) {
        (Some(dir), _) => PathBuf::from(dir).join("config.json"),
        (None, Some(home)) => PathBuf::from(home).join(".docker").join("config.json"),
        (None, None) => PathBuf::from("~/.docker/config.json"),
    }
}

/// The credential helper's own directory: `AWS_ECR_CACHE_DIR`, else `~/.ecr`.
fn ecr_login_dir(cx: &Ctx) -> PathBuf {
    match (cx.env.var("AWS_ECR_CACHE_DIR"), cx.env.var("HOME")) {
        (Some(dir), _) => PathBuf::from(dir),
        (None, Some(home)) => PathBuf::from(home).join(".ecr"),
        (None, None) => PathBuf::from("~/.ecr"),
    }
}

fn unusable(base: Finding<DockerCode>, source: &str, u: Unusable) -> Finding<DockerCode> {
    let (bad_file, bad_env) = if source == AUTH_CONFIG_ENV {
        (None, Some(source))
    } else {
        (Some(source), None)
    };
    base.with_code(D::UnparseableConfig)
        .fact("config_source", source)
        .fact("bad_file", bad_file)
        .fact("bad_env", bad_env)
        .fact("line", u.line)
        .fact("column", u.column)
        .fact("error_kind", u.kind)
        .fact("read_error", u.read_error)
}

/// A stored login (`auths` of the file, or of `DOCKER_AUTH_CONFIG`) judged as docker would
/// send it to ECR.
fn stored(
    base: Finding<DockerCode>,
    key: &str,
    entry: &AuthEntry,
    now: SystemTime,
) -> Finding<DockerCode> {
    let key_form = if key.starts_with("https://") {
        "https"
    } else if key.contains("://") || key.contains('/') {
        "other"
    } else {
        "bare"
    };
    let base = base.fact("auth_key", key).fact("key_form", key_form);
    let login = match (&entry.auth, &entry.username, &entry.password) {
        (Some(a), _, _) if !a.trim().is_empty() => decode_auth(a),
        (_, Some(u), Some(p)) => Some((u.clone(), Secret::new(p.clone()))),
        _ => None,
    };
    let Some((user, password)) = login else {
        // an identity token (OAuth) or an empty entry: nothing ECR accepts
        return base
            .with_code(D::StoredAuthNotEcr)
            .fact("stored_kind", "no-password");
    };
    if user != "AWS" {
        return base
            .with_code(D::StoredAuthNotEcr)
            .fact("stored_kind", "other-user")
            .fact("user", user);
    }
    let expires_at = password_expiration(password.expose());
    let Some(exp) = expires_at else {
        return base.with_code(D::OkStoredToken);
    };
    let hours = hours_until(exp, now);
    let base = base.fact("expires_at", rfc3339(exp));
    if hours <= 0.0 {
        base.with_code(D::StoredTokenExpired)
            .fact("hours_ago", -hours)
            .fact(
                "days_ago",
                (hours <= -48.0).then(|| (-hours / 2.4).round() / 10.0),
            )
    } else if hours < 1.0 {
        base.with_code(D::StoredTokenExpiresSoon)
            .fact("hours_left", hours)
    } else {
        base.with_code(D::OkStoredToken).fact("hours_left", hours)
    }
}

pub fn config(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<DockerCode>> {
    async move {
        let path = config_path(&cx);
        let path_text = path.display().to_string();
        let mut base = Finding::new(D::NoAuthConfigured).fact("config_file", path_text.clone());

        // DOCKER_AUTH_CONFIG: read first by docker CLI 28.3.0 and later, ignored before
        let env_cfg = match cx.env.var(AUTH_CONFIG_ENV) {
            None => None,
            Some(text) => match parse(&text) {
                Ok(c) => Some(c),
                Err(u) => return unusable(base, AUTH_CONFIG_ENV, u),
            },
        };
        let file_cfg = match cx.docker.read_config(&path) {
            Ok(None) => None,
            Ok(Some(text)) => match parse(&text) {
                Ok(c) => Some(c),
                Err(u) => return unusable(base, &path_text, u),
            },
            Err(ConfigReadError::TooLarge) => {
                return base
                    .with_code(D::ConfigTooLarge)
                    .fact("config_source", path_text.clone())
                    .fact("limit_mib", CONFIG_READ_LIMIT / (1024 * 1024))
            }
            Err(ConfigReadError::Io(e)) => {
                let u = Unusable {
                    line: None,
                    column: None,
                    kind: "read",
                    read_error: Some(e),
                };
                return unusable(base, &path_text, u);
            }
        };
        base = base.fact("config_found", file_cfg.is_some());
        let Some(host) = cx.registry() else {
            return base.with_code(D::NoRegistry);
        };
        let target = crate::aws::parse_registry_host(&host);
        base = base
            .fact("registry", host.clone())
            .fact("registry_region", target.as_ref().map(|t| t.region.clone()));
        let now = (cx.now)();
        let cfg = file_cfg.unwrap_or_default();

        // credHelpers keys that look meant for this registry but never match it
        let ignored: Vec<String> = cfg
            .helpers()
            .map(|(k, _)| k)
            .filter(|k| k.as_str() != host && (k.contains('*') || hostname_of(k) == host))
            .cloned()
            .collect();
        base = base.fact("ignored_helper_keys", ignored);

        if let Some(env) = &env_cfg {
            match env.auth_entry_for(&host) {
                Some((key, entry)) => {
                    let base = base
                        .fact("config_source", AUTH_CONFIG_ENV)
                        .fact("auth_config_env", "used");
                    return stored(base, key, entry, now);
                }
                None => base = base.fact("auth_config_env", "no-entry"),
            }
        }

        let helper = cfg
            .helpers()
            .find(|(k, _)| k.as_str() == host)
            .map(|(_, h)| (h.clone(), "credHelpers"))
            .or_else(|| {
                cfg.creds_store
                    .clone()
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| (s, "credsStore"))
            });
        if let Some((name, source)) = helper {
            let base = base
                .fact("helper", name.clone())
                .fact("helper_source", source);
            if !valid_helper_name(&name) || cx.docker.helper_on_path(&name).is_none() {
                return base.with_code(D::HelperNotFound);
            }
            if name != ECR_LOGIN {
                // warn, not pass: docker will send whatever the keychain holds for this
                // registry, and for ECR that is most often a 12-hour token from an earlier
                // `docker login`, expired or not; the doctor cannot tell, so it says so
                return base.with_code(D::KeychainNotInspectable);
            }
            let dir = ecr_login_dir(&cx);
            let base = base
                .fact(
                    "ecr_log",
                    dir.join("log").join("ecr-login.log").display().to_string(),
                )
                .fact("ecr_cache", dir.join("cache.json").display().to_string());
            let budget = crate::budget::Budget::new(cx.opts.timeout);
            let bound =
                budget.op(crate::budget::Op::Credentials) + budget.op(crate::budget::Op::Api);
            let env = vec![("AWS_ECR_DISABLE_CACHE".to_string(), "true".to_string())];
            return match cx.docker.run_helper(name, host.clone(), env, bound).await {
                Ok(a) if a.username == "AWS" && !a.secret.expose().is_empty() => {
                    let exp = password_expiration(a.secret.expose());
                    base.with_code(D::OkHelper)
                        .fact("expires_at", exp.map(rfc3339))
                        .fact("hours_left", exp.map(|e| hours_until(e, now)))
                }
                Ok(a) => base
                    .with_code(D::HelperFailed)
                    .fact("failure", "unexpected-user")
                    .fact("user", a.username),
                Err(HelperFailure::Exit { status, message }) => base
                    .with_code(D::HelperFailed)
                    .fact("failure", "exit")
                    .fact("exit_status", status)
                    .fact("helper_error", (!message.is_empty()).then_some(message)),
                Err(HelperFailure::Timeout(b)) => base
                    .with_code(D::HelperFailed)
                    .fact("failure", "timeout")
                    .fact("bound_seconds", b.as_secs()),
                Err(HelperFailure::Spawn(e)) => base
                    .with_code(D::HelperFailed)
                    .fact("failure", "spawn")
                    .fact("helper_error", e),
                Err(HelperFailure::BadAnswer) => base
                    .with_code(D::HelperFailed)
                    .fact("failure", "bad-answer"),
            };
        }

        if let Some((key, entry)) = cfg.auth_entry_for(&host) {
            let base = base.fact("config_source", path_text);
            return stored(base, key, entry, now);
        }

        // logins and helpers for other ECR registries (another account or region)
        let mut others: Vec<String> = env_cfg
            .iter()
            .flat_map(|c| c.auths().map(|(k, _)| k))
            .chain(cfg.auths().map(|(k, _)| k))
            .chain(cfg.helpers().map(|(k, _)| k))
            .map(|k| hostname_of(k).to_ascii_lowercase())
            .filter(|h| *h != host && crate::aws::parse_registry_host(h).is_some())
            .collect();
        others.sort();
        others.dedup();
        if crate::aws::is_public_registry(&host) {
            // public.ecr.aws serves pulls without a login: docker pulls anonymously, under
            // the per-source-IP rate limit of unauthenticated pulls
            return base
                .with_code(D::AnonymousPull)
                .fact("anonymous", true)
                .fact("other_registries", (!others.is_empty()).then_some(others));
        }
        if !others.is_empty() {
            return base
                .with_code(D::StoredAuthOtherRegistry)
                .fact("other_registries", others);
        }
        base.with_code(D::NoAuthConfigured)
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::{ctx, now, render, FakeAws};
    use crate::probes::docker::fake::FakeDocker;
    use crate::probes::docker::HelperAnswer;
    use base64::Engine as _;
    use serde_json::json;
    use std::time::Duration;

    const REG: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    const HOME: &str = "/home/dev";
    const FILE: &str = "/home/dev/.docker/config.json";

    /// An ECR-shaped `auth`: base64 of `AWS:` + base64 of the password JSON.
    fn ecr_auth(expires_in: i64) -> String {
        let exp = (now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + expires_in)
            .to_string();
        let password = base64::engine::general_purpose::STANDARD.encode(format!(
            r#"{{"payload":"c2VjcmV0LXBheWxvYWQ=","datakey":"a2V5","version":"2","type":"DATA_KEY","expiration":{exp}}}"#
        ));
        base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"))
    }

    async fn run_with(
        docker: FakeDocker,
        env: &[(&str, &str)],
        registry: Option<&str>,
    ) -> (Finding<DockerCode>, Arc<FakeDocker>) {
        let mut env = env.to_vec();
        env.push(("HOME", HOME));
        let mut cx = ctx(FakeAws::default(), &env);
        let docker = Arc::new(docker);
        let c = Arc::get_mut(&mut cx).unwrap();
        c.docker = docker.clone();
        c.opts.registry = registry.map(str::to_string);
        let o = config(cx).await;
        render("docker.config", &o);
        // no decoded secret ever becomes a fact
        let facts = serde_json::to_string(&o.facts).unwrap();
        for leak in ["QVdTOi", "DATA_KEY", "c2VjcmV0", "helper-secret"] {
            assert!(!facts.contains(leak), "{leak} in {facts}");
        }
        (o, docker)
    }

    async fn run(config: serde_json::Value) -> Finding<DockerCode> {
        run_with(file(&config.to_string()), &[], Some(REG)).await.0
    }

    fn file(text: &str) -> FakeDocker {
        let mut d = FakeDocker::default();
        d.files.insert(PathBuf::from(FILE), Ok(text.to_string()));
        d
    }

    fn helper_ok(d: &mut FakeDocker, name: &str, expires_in: i64) {
        d.helpers.push(name.to_string());
        let auth = ecr_auth(expires_in);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .unwrap();
        let password = String::from_utf8(raw).unwrap()[4..].to_string();
        d.answers.insert(
            name.to_string(),
            Ok(HelperAnswer {
                username: "AWS".into(),
                secret: Secret::new(password),
            }),
        );
    }

    #[tokio::test]
    async fn docker_order_helper_then_store_then_auths() {
        // credHelpers[host] beats credsStore and a stored login
        let cfg = json!({
            "credHelpers": {REG: "ecr-login"},
            "credsStore": "desktop",
            "auths": {REG: {"auth": ecr_auth(-3600)}},
        });
        let mut d = file(&cfg.to_string());
        helper_ok(&mut d, "ecr-login", 12 * 3600);
        d.helpers.push("desktop".into());
        let (o, d) = run_with(d, &[], Some(REG)).await;
        assert_eq!(o.code, D::OkHelper);
        assert_eq!(o.facts["helper_source"], "credHelpers");
        assert_eq!(o.facts["hours_left"], 12.0);
        assert_eq!(o.facts["ecr_log"], "/home/dev/.ecr/log/ecr-login.log");
        assert_eq!(o.facts["ecr_cache"], "/home/dev/.ecr/cache.json");
        let runs = d.runs.lock().unwrap().clone();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].0, "ecr-login");
        assert_eq!(runs[0].1, REG, "the registry goes to the helper");
        assert!(
            runs[0]
                .2
                .contains(&("AWS_ECR_DISABLE_CACHE".into(), "true".into())),
            "{:?}",
            runs[0].2
        );

        // credsStore beats a stored login; a keychain is never run
        let cfg = json!({"credsStore": "desktop", "auths": {REG: {"auth": ecr_auth(-3600)}}});
        let mut d = file(&cfg.to_string());
        d.helpers.push("desktop".into());
        let (o, d) = run_with(d, &[], Some(REG)).await;
        assert_eq!(o.code, D::KeychainNotInspectable);
        assert_eq!(o.facts["helper"], "desktop");
        assert_eq!(o.facts["helper_source"], "credsStore");
        assert!(d.runs.lock().unwrap().is_empty(), "a keychain helper ran");

        // with neither, the stored login is what docker sends
        let o = run(json!({"auths": {REG: {"auth": ecr_auth(-3600)}}})).await;
        assert_eq!(o.code, D::StoredTokenExpired);
        assert_eq!(o.facts["hours_ago"], 1.0);
        assert_eq!(o.facts["config_source"], FILE);
    }

    #[tokio::test]
    async fn credhelpers_keys_match_exactly_and_a_wildcard_never() {
        for key in ["*.dkr.ecr.*.amazonaws.com", &format!("https://{REG}")] {
            let mut d = file(&json!({"credHelpers": {key: "ecr-login"}}).to_string());
            helper_ok(&mut d, "ecr-login", 12 * 3600);
            let (o, d) = run_with(d, &[], Some(REG)).await;
            assert_eq!(o.code, D::NoAuthConfigured, "{key}");
            assert_eq!(o.facts["ignored_helper_keys"], json!([key]));
            assert!(d.runs.lock().unwrap().is_empty());
            assert!(render("docker.config", &o).contains("never match"), "{key}");
        }
        // the wildcard does not hide a stale stored login either
        let o = run(json!({
            "credHelpers": {"*.dkr.ecr.*.amazonaws.com": "ecr-login"},
            "auths": {REG: {"auth": ecr_auth(-7200)}},
        }))
        .await;
        assert_eq!(o.code, D::StoredTokenExpired);
        assert!(render("docker.config", &o).contains("*.dkr.ecr.*.amazonaws.com never match"));
    }

    #[tokio::test]
    async fn stored_logins_under_the_bare_or_https_key() {
        let o = run(json!({"auths": {REG: {"auth": ecr_auth(6 * 3600)}}})).await;
        assert_eq!(o.code, D::OkStoredToken);
        assert_eq!(o.facts["key_form"], "bare");
        assert_eq!(o.facts["hours_left"], 6.0);
        let https = format!("https://{REG}");
        let o = run(json!({"auths": {&https: {"auth": ecr_auth(6 * 3600)}}})).await;
        assert_eq!(o.code, D::OkStoredToken);
        assert_eq!(o.facts["auth_key"], https);
        assert_eq!(o.facts["key_form"], "https");
        assert!(render("docker.config", &o).contains("older logins"));
        // the bare key wins over the https:// one
        let o =
            run(json!({"auths": {&https: {"auth": ecr_auth(-60)}, REG: {"auth": ecr_auth(7200)}}}))
                .await;
        assert_eq!(o.code, D::OkStoredToken);
        assert_eq!(o.facts["auth_key"], REG);
        // username/password fields work as auth does
        let o =
            run(json!({"auths": {REG: {"username": "admin", "password": "hunter2-secret"}}})).await;
        assert_eq!(o.code, D::StoredAuthNotEcr);
        assert_eq!(o.facts["user"], "admin");
        // an identity token is nothing ECR takes
        let o = run(json!({"auths": {REG: {"identitytoken": "oauth-refresh-token"}}})).await;
        assert_eq!(o.code, D::StoredAuthNotEcr);
        assert_eq!(o.facts["stored_kind"], "no-password");
    }

    #[tokio::test]
    async fn expiry_is_decoded_from_the_password() {
        let o = run(json!({"auths": {REG: {"auth": ecr_auth(-13 * 3600 - 720)}}})).await;
        assert_eq!(o.code, D::StoredTokenExpired);
        assert_eq!(o.facts["hours_ago"], 13.2);
        assert_eq!(
            o.facts["expires_at"],
            rfc3339(now() - Duration::from_secs(13 * 3600 + 720))
        );
        let msg = render("docker.config", &o);
        assert!(msg.contains("expired 13.2 hours ago"), "{msg}");
        assert!(msg.contains("No credential helper matches"), "{msg}");
        let o = run(json!({"auths": {REG: {"auth": ecr_auth(-30 * 24 * 3600)}}})).await;
        assert_eq!(o.facts["days_ago"], 30.0);
        assert!(render("docker.config", &o).contains("720.0 hours ago (30.0 days)"));
        let o = run(json!({"auths": {REG: {"auth": ecr_auth(1200)}}})).await;
        assert_eq!(o.code, D::StoredTokenExpiresSoon);
        assert_eq!(o.facts["hours_left"], 0.3);
        // an AWS login whose password is not the usual JSON: docker sends it; expiry unknown
        let opaque = base64::engine::general_purpose::STANDARD.encode("AWS:opaque-password-1");
        let o = run(json!({"auths": {REG: {"auth": opaque}}})).await;
        assert_eq!(o.code, D::OkStoredToken);
        assert!(render("docker.config", &o).contains("expiry cannot be read"));
    }

    #[tokio::test]
    async fn logins_for_other_registries_are_named() {
        let other_region = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
        let other_account = "210987654321.dkr.ecr.us-east-1.amazonaws.com";
        let o = run(json!({
            "auths": {
                format!("https://{other_region}"): {"auth": ecr_auth(3600 * 5)},
                "https://index.docker.io/v1/": {"auth": base64::engine::general_purpose::STANDARD.encode("me:hub-password-1")},
            },
            "credHelpers": {other_account: "ecr-login"},
        }))
        .await;
        assert_eq!(o.code, D::StoredAuthOtherRegistry);
        assert_eq!(
            o.facts["other_registries"],
            json!([other_region, other_account])
        );
        // only non-ECR entries: nothing for ECR at all
        let o = run(json!({"auths": {"ghcr.io": {"auth": base64::engine::general_purpose::STANDARD.encode("me:gh-password-1")}}})).await;
        assert_eq!(o.code, D::NoAuthConfigured);
        assert_eq!(o.facts["config_found"], true);
    }

    #[tokio::test]
    async fn ecr_public_without_login_or_helper_pulls_anonymously() {
        let public = Some("public.ecr.aws");
        // no configuration at all
        let (o, _) = run_with(FakeDocker::default(), &[], public).await;
        assert_eq!(o.code, D::AnonymousPull);
        assert_eq!(o.facts["anonymous"], true);
        let msg = render("docker.config", &o);
        assert!(msg.contains("anonymously"), "{msg}");
        // logins for private registries only: still anonymous for public.ecr.aws
        let docker = file(&json!({"auths": {REG: {"auth": ecr_auth(3600 * 5)}}}).to_string());
        let (o, _) = run_with(docker, &[], public).await;
        assert_eq!(o.code, D::AnonymousPull);
        assert_eq!(o.facts["other_registries"], json!([REG]));
        // a stored login for public.ecr.aws: not anonymous
        let docker =
            file(&json!({"auths": {"public.ecr.aws": {"auth": ecr_auth(3600 * 5)}}}).to_string());
        let (o, _) = run_with(docker, &[], public).await;
        assert_eq!(o.code, D::OkStoredToken);
        // the rate limit shows as toomanyrequests; the fix logs in from us-east-1
        let cat = crate::catalog::Catalog::embedded();
        let c = &cat.get("docker.config").unwrap().codes["anonymous-pull"];
        assert_eq!(c.severity, crate::catalog::Severity::Warn);
        assert!(c
            .remediation
            .as_deref()
            .unwrap()
            .contains("toomanyrequests: Rate exceeded"));
        assert!(c.commands[0].contains("--region us-east-1"));
    }

    #[tokio::test]
    async fn hostile_files_are_refused_or_read_never_a_crash() {
        // deeper than serde_json's recursion limit (128): a syntax error, not a stack overflow
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let (o, _) = run_with(file(&format!(r#"{{"auths": {deep}}}"#)), &[], Some(REG)).await;
        assert_eq!(o.code, D::UnparseableConfig);
        // larger than the reading limit: not read at all
        let huge = format!(r#"{{"auths": {{}}, "x": "{}"}}"#, "a".repeat(5 << 20));
        let (o, _) = run_with(file(&huge), &[], Some(REG)).await;
        assert_eq!(o.code, D::ConfigTooLarge);
        assert_eq!(o.facts["limit_mib"], 4);
        let msg = render("docker.config", &o);
        assert!(msg.contains("larger than 4 MiB"), "{msg}");
        // invalid UTF-8 reaches the parser replaced (as the probe reads it), and entries for
        // registries that are not ECR do not count as an ECR login
        let text = String::from_utf8_lossy(
            b"{\"auths\": {\"index.docker.io\": {\"auth\": \"bWU6cHc=\"}}, \"k\": \"\xff\xfe\"}",
        )
        .into_owned();
        let (o, _) = run_with(file(&text), &[], Some(REG)).await;
        assert_eq!(o.code, D::NoAuthConfigured, "{:?}", o.facts);
    }

    #[test]
    fn the_system_probe_reads_a_bounded_file() {
        use crate::probes::docker::{DockerProbe, SystemDocker};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        assert_eq!(SystemDocker.read_config(&path), Ok(None));
        std::fs::write(&path, b"{\"auths\": {}}").unwrap();
        assert_eq!(
            SystemDocker.read_config(&path),
            Ok(Some("{\"auths\": {}}".into()))
        );
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(CONFIG_READ_LIMIT + 1).unwrap();
        assert_eq!(
            SystemDocker.read_config(&path),
            Err(ConfigReadError::TooLarge)
        );
        // a directory where the file should be
        assert!(matches!(
            SystemDocker.read_config(dir.path()),
            Err(ConfigReadError::Io(_))
        ));
    }

    #[tokio::test]
    async fn parse_errors_name_the_position_never_the_contents() {
        let text =
            "{\n  \"auths\": {\n    \"x\": {\"auth\": \"c2VjcmV0LXRleHQ=\"}\n    \"y\": 1\n}";
        let (o, _) = run_with(file(text), &[], Some(REG)).await;
        assert_eq!(o.code, D::UnparseableConfig);
        assert_eq!(o.facts["line"], 4);
        assert_eq!(o.facts["column"], 5);
        assert_eq!(o.facts["error_kind"], "syntax");
        assert_eq!(o.facts["bad_file"], FILE);
        let msg = render("docker.config", &o);
        assert!(
            msg.contains(FILE) && msg.contains("line 4, column 5"),
            "{msg}"
        );
        assert!(
            !msg.contains("c2VjcmV0") && !msg.contains("auth\""),
            "{msg}"
        );
        // a field of the wrong type: docker ignores the file; serde's words (which quote the
        // value) are not kept
        let (o, _) = run_with(
            file(r#"{"credsStore": ["s3cr3t-store-name"]}"#),
            &[],
            Some(REG),
        )
        .await;
        assert_eq!(o.code, D::UnparseableConfig);
        assert_eq!(o.facts["error_kind"], "type");
        assert!(!serde_json::to_string(&o.facts).unwrap().contains("s3cr3t"));
        // an auth docker cannot decode makes it refuse the file
        let (o, _) = run_with(
            file(r#"{"auths": {"h": {"auth": "not base64!"}}}"#),
            &[],
            Some(REG),
        )
        .await;
        assert_eq!(o.facts["error_kind"], "auth");
        // unreadable
        let mut d = FakeDocker::default();
        d.files.insert(
            PathBuf::from(FILE),
            Err("Permission denied (os error 13)".into()),
        );
        let (o, _) = run_with(d, &[], Some(REG)).await;
        assert_eq!(o.code, D::UnparseableConfig);
        assert_eq!(o.facts["error_kind"], "read");
        // an empty file is an empty configuration, as for docker
        let (o, _) = run_with(file("\n"), &[], Some(REG)).await;
        assert_eq!(o.code, D::NoAuthConfigured);
    }

    #[tokio::test]
    async fn docker_config_dir_and_missing_file() {
        let mut d = FakeDocker::default();
        d.files.insert(
            PathBuf::from("/etc/ci/docker/config.json"),
            Ok(json!({"auths": {REG: {"auth": ecr_auth(7200)}}}).to_string()),
        );
        let (o, _) = run_with(d, &[("DOCKER_CONFIG", "/etc/ci/docker")], Some(REG)).await;
        assert_eq!(o.code, D::OkStoredToken);
        assert_eq!(o.facts["config_source"], "/etc/ci/docker/config.json");
        let (o, _) = run_with(FakeDocker::default(), &[], Some(REG)).await;
        assert_eq!(o.code, D::NoAuthConfigured);
        assert_eq!(o.facts["config_found"], false);
        assert!(render("docker.config", &o).contains("there is no such file"));
    }

    #[tokio::test]
    async fn docker_auth_config_comes_first_for_recent_clis() {
        let env_cfg = json!({"auths": {REG: {"auth": ecr_auth(-600)}}}).to_string();
        let mut d = file(&json!({"credHelpers": {REG: "ecr-login"}}).to_string());
        helper_ok(&mut d, "ecr-login", 12 * 3600);
        let (o, d) = run_with(d, &[("DOCKER_AUTH_CONFIG", &env_cfg)], Some(REG)).await;
        assert_eq!(o.code, D::StoredTokenExpired);
        assert_eq!(o.facts["config_source"], "DOCKER_AUTH_CONFIG");
        assert!(d.runs.lock().unwrap().is_empty());
        assert!(render("docker.config", &o).contains("28.3.0 and later"));
        // set, but nothing for this registry: the file decides, and the report says so
        let env_cfg = json!({"auths": {"ghcr.io": {"auth": "bWU6eW91"}}}).to_string();
        let mut d = file(&json!({"credHelpers": {REG: "ecr-login"}}).to_string());
        helper_ok(&mut d, "ecr-login", 12 * 3600);
        let (o, _) = run_with(d, &[("DOCKER_AUTH_CONFIG", &env_cfg)], Some(REG)).await;
        assert_eq!(o.code, D::OkHelper);
        assert_eq!(o.facts["auth_config_env"], "no-entry");
        // not JSON
        let (o, _) = run_with(
            FakeDocker::default(),
            &[("DOCKER_AUTH_CONFIG", "{oops")],
            Some(REG),
        )
        .await;
        assert_eq!(o.code, D::UnparseableConfig);
        assert_eq!(o.facts["bad_env"], "DOCKER_AUTH_CONFIG");
        assert_eq!(
            (o.facts["line"].clone(), o.facts["column"].clone()),
            (json!(1), json!(2))
        );
    }

    #[tokio::test]
    async fn helpers_missing_failing_or_refusing() {
        // not on PATH (a path-like name is never looked up)
        for name in ["ecr-login", "../../bin/sh"] {
            let d = file(&json!({"credHelpers": {REG: name}}).to_string());
            let (o, d) = run_with(d, &[], Some(REG)).await;
            assert_eq!(o.code, D::HelperNotFound, "{name}");
            assert!(d.runs.lock().unwrap().is_empty());
        }
        let fails = [
            (
                Err(HelperFailure::Exit {
                    status: Some(1),
                    message: "credentials not found in native keychain".into(),
                }),
                "exit",
            ),
            (
                Err(HelperFailure::Timeout(Duration::from_secs(20))),
                "timeout",
            ),
            (Err(HelperFailure::BadAnswer), "bad-answer"),
            (
                Ok(HelperAnswer {
                    username: "admin".into(),
                    secret: Secret::new("helper-secret-9"),
                }),
                "unexpected-user",
            ),
        ];
        for (answer, failure) in fails {
            let mut d = file(&json!({"credsStore": "ecr-login"}).to_string());
            d.helpers.push("ecr-login".into());
            d.answers.insert("ecr-login".into(), answer);
            let (o, _) = run_with(d, &[("AWS_ECR_CACHE_DIR", "/var/cache/ecr")], Some(REG)).await;
            assert_eq!(o.code, D::HelperFailed, "{failure}");
            assert_eq!(o.facts["failure"], failure);
            assert_eq!(o.facts["ecr_log"], "/var/cache/ecr/log/ecr-login.log");
        }
    }

    #[tokio::test]
    async fn without_a_registry_it_says_so_but_still_reads_the_file() {
        let (o, _) = run_with(file("{}"), &[], None).await;
        assert_eq!(o.code, D::NoRegistry);
        let (o, _) = run_with(file("{"), &[], None).await;
        assert_eq!(o.code, D::UnparseableConfig);
        assert_eq!(o.facts["error_kind"], "eof");
    }

    #[test]
    fn hostnames_as_docker_converts_them() {
        assert_eq!(hostname_of(REG), REG);
        assert_eq!(hostname_of(&format!("https://{REG}")), REG);
        assert_eq!(hostname_of(&format!("http://{REG}/v2/")), REG);
        assert_eq!(
            hostname_of("https://index.docker.io/v1/"),
            "index.docker.io"
        );
    }
}
