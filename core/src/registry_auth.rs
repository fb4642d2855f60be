//! Registry credentials as text: ECR's authorization token and docker's `auth` values
//! (base64 of `user:password`), the `expiration` inside ECR's password, and the docker
//! client configuration file (`config.json`, or `DOCKER_AUTH_CONFIG`). Pure: the caller
//! registers every secret it gets from here with the output scrubber.

use base64::Engine as _;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// `base64(user:password)` into (user, password); None when it is not base64 of UTF-8
/// text with a `:`. ECR's authorization token and docker's `auth` values have this form.
pub fn decode_basic(value: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Best effort: the `expiration` (epoch seconds) inside ECR's password, which is base64
/// of an undocumented JSON object. None for anything else.
pub fn password_expiration(password: &str) -> Option<SystemTime> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(password.trim())
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    let secs = v.get("expiration")?.as_u64()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Hours from `now` to `t`; negative when `t` is past.
pub fn hours_until(t: SystemTime, now: SystemTime) -> f64 {
    match t.duration_since(now) {
        Ok(d) => d.as_secs_f64() / 3600.0,
        Err(past) => -past.duration().as_secs_f64() / 3600.0,
    }
}

/// The parts of a docker client configuration that decide how it logs in to a registry.
#[derive(Debug, Default, Deserialize)]
pub struct DockerConfig {
    #[serde(default)]
    pub auths: Option<BTreeMap<String, AuthEntry>>,
    #[serde(default, rename = "credHelpers")]
    pub cred_helpers: Option<BTreeMap<String, String>>,
    #[serde(default, rename = "credsStore")]
    pub creds_store: Option<String>,
}

/// One `auths` entry, as docker stores it.
#[derive(Debug, Default, Deserialize)]
pub struct AuthEntry {
    #[serde(default)]
    pub auth: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub identitytoken: Option<String>,
}

impl DockerConfig {
    pub fn auths(&self) -> impl Iterator<Item = (&String, &AuthEntry)> {
        self.auths.iter().flatten()
    }
    pub fn helpers(&self) -> impl Iterator<Item = (&String, &String)> {
        self.cred_helpers.iter().flatten()
    }
    /// Every secret value of the file (`auth`, `password`, `identitytoken`), trimmed.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.auths().flat_map(|(_, e)| {
            [&e.auth, &e.password, &e.identitytoken]
                .into_iter()
                .flatten()
                .map(|s| s.trim())
        })
    }
    /// The `auths` entry docker uses for `host`: the exact key, else a key whose host
    /// part is `host` (`https://host`, written by older logins, or with a path).
    pub fn auth_entry_for(&self, host: &str) -> Option<(&String, &AuthEntry)> {
        self.auths()
            .find(|(k, _)| k.as_str() == host)
            .or_else(|| self.auths().find(|(k, _)| hostname_of(k) == host))
    }
}

/// Why a configuration cannot be used: a position (1-based) and a kind, never its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// `syntax`, `eof`, `type` (a field of the wrong type), `auth` (an `auth` that is not
    /// base64 of `user:password`, which docker refuses), `read` (the file cannot be read).
    pub kind: &'static str,
    pub read_error: Option<String>,
}

/// A docker configuration file's text as docker loads it. On success the caller must
/// register [`DockerConfig::secrets`] before anything of it can reach an output.
pub fn parse_docker_config(text: &str) -> Result<DockerConfig, Unusable> {
    // docker accepts an empty file
    if text.trim().is_empty() {
        return Ok(DockerConfig::default());
    }
    let cfg: DockerConfig = serde_json::from_str(text).map_err(|e| {
        use serde_json::error::Category;
        Unusable {
            line: Some(e.line()),
            column: Some(e.column()),
            kind: match e.classify() {
                Category::Eof => "eof",
                Category::Data => "type",
                Category::Syntax | Category::Io => "syntax",
            },
            read_error: None,
        }
    })?;
    // docker decodes every `auth` when it loads the file and refuses the file if one is not
    // base64 of `user:password`
    if cfg.auths().any(|(_, e)| {
        e.auth
            .as_deref()
            .filter(|a| !a.trim().is_empty())
            .is_some_and(|a| decode_basic(a).is_none())
    }) {
        return Err(Unusable {
            line: None,
            column: None,
            kind: "auth",
            read_error: None,
        });
    }
    Ok(cfg)
}

/// docker's `ConvertToHostname`: the key without its scheme and path.
pub fn hostname_of(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn basic_values_split_at_the_first_colon() {
        assert_eq!(
            decode_basic(&b64("AWS:pa:ss")),
            Some(("AWS".into(), "pa:ss".into()))
        );
        assert_eq!(decode_basic(&format!(" {}\n", b64("u:p"))).unwrap().0, "u");
        assert_eq!(decode_basic(&b64("no-colon")), None);
        assert_eq!(decode_basic("%%%"), None);
        assert_eq!(
            decode_basic(&base64::engine::general_purpose::STANDARD.encode([0xff, b':'])),
            None
        );
    }

    #[test]
    fn expiration_is_read_from_the_password_json_or_not_at_all() {
        let p = b64(r#"{"payload":"x","expiration":1700000000}"#);
        assert_eq!(
            password_expiration(&p),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(password_expiration(&b64(r#"{"expiration":-1}"#)), None);
        assert_eq!(
            password_expiration(&b64(&format!(r#"{{"expiration":{}}}"#, u64::MAX))),
            None
        );
        assert_eq!(password_expiration("plain"), None);
    }

    #[test]
    fn hours_are_signed() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(36_000);
        let later = now + Duration::from_secs(5400);
        assert_eq!(hours_until(later, now), 1.5);
        assert_eq!(hours_until(now, later), -1.5);
    }

    #[test]
    fn docker_configs_and_their_failures() {
        assert!(parse_docker_config("  \n").unwrap().auths.is_none());
        let cfg = parse_docker_config(&format!(
            r#"{{"auths":{{"https://h.example/v1/":{{"auth":"{}"}}}},"credHelpers":{{"a":"ecr-login"}}}}"#,
            b64("AWS:secret")
        ))
        .unwrap();
        assert_eq!(
            cfg.auth_entry_for("h.example").unwrap().0,
            "https://h.example/v1/"
        );
        assert_eq!(cfg.helpers().count(), 1);
        assert_eq!(cfg.secrets().count(), 1);
        let e = parse_docker_config("{\n  \"auths\": {,").unwrap_err();
        assert_eq!((e.line, e.kind), (Some(2), "syntax"));
        assert_eq!(
            parse_docker_config("{\"auths\": {").unwrap_err().kind,
            "eof"
        );
        assert_eq!(
            parse_docker_config("{\"auths\": 3}").unwrap_err().kind,
            "type"
        );
        assert_eq!(
            parse_docker_config(r#"{"auths":{"h":{"auth":"bm9jb2xvbg=="}}}"#)
                .unwrap_err()
                .kind,
            "auth"
        );
    }
}
