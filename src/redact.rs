//! Last line of defence for every output format: registered secrets are always replaced,
//! and with `--redact` account ids, ARNs, access key ids and IP addresses are masked too.

use regex::Regex;
use std::sync::{Mutex, OnceLock};

fn secrets() -> &'static Mutex<Vec<String>> {
    static S: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    S.get_or_init(|| Mutex::new(Vec::new()))
}

/// Remembers a secret so that [`apply`] removes it from any output. Short values are ignored
/// (they would mask ordinary words).
pub fn register_secret(value: &str) {
    let v = value.trim();
    if v.len() >= 8 {
        if let Ok(mut s) = secrets().lock() {
            if !s.iter().any(|x| x == v) {
                s.push(v.to_string());
            }
        }
    }
}

struct Patterns {
    arn: Regex,
    key_id: Regex,
    account: Regex,
    ipv4: Regex,
    ipv6: Regex,
    /// EC2's IP-based hostnames (`ip-10-0-1-25.ec2.internal`): an IPv4 address spelt with dashes.
    ip_name: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        arn: Regex::new(r"arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:[0-9]{0,12}:[^\s\x22'`,;|)\]}]*").unwrap(),
        key_id: Regex::new(r"\b(?:AKIA|ASIA|AROA|AIDA|ANPA|ANVA|AGPA|AIPA|APKA|ABIA|ACCA)[A-Z0-9]{12,}\b").unwrap(),
        account: Regex::new(r"\b[0-9]{12}\b").unwrap(),
        ipv4: Regex::new(r"\b(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}\b").unwrap(),
        ip_name: Regex::new(r"\bip-(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?:-(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}\b").unwrap(),
        ipv6: Regex::new(r"(?i)(?:\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|(?:\b[0-9a-f]{1,4})?(?::[0-9a-f]{1,4})*::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*\b)?)").unwrap(),
    })
}

/// Applies the redactions to a finished output.
pub fn apply(text: &str, redact_ids: bool) -> String {
    let mut out = text.to_string();
    if let Ok(s) = secrets().lock() {
        for secret in s.iter() {
            out = out.replace(secret.as_str(), "<secret>");
        }
    }
    if redact_ids {
        let p = patterns();
        out = p.arn.replace_all(&out, "arn:<redacted>").into_owned();
        out = p.key_id.replace_all(&out, "<access-key-id>").into_owned();
        out = p.account.replace_all(&out, "<account>").into_owned();
        out = p
            .ipv6
            .replace_all(&out, |c: &regex::Captures| {
                // a lone "::" (e.g. in Rust paths or ARNs already masked) is not an address
                if c[0].len() > 2 {
                    "<ip>".to_string()
                } else {
                    c[0].to_string()
                }
            })
            .into_owned();
        out = p.ipv4.replace_all(&out, "<ip>").into_owned();
        out = p.ip_name.replace_all(&out, "ip-<ip>").into_owned();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_identifiers() {
        let text = "arn:aws:sts::123456789012:assumed-role/puller/i-0abc key AKIAIOSFODNN7EXAMPLE \
                    registry 123456789012.dkr.ecr.us-east-1.amazonaws.com at 10.0.1.25 and fd00::1 \
                    on ip-10-0-1-25.ec2.internal \
                    time 2026-11-29T16:56:36Z took 12 ms";
        let out = apply(text, true);
        assert!(!out.contains("123456789012"), "{out}");
        assert!(!out.contains("AKIAIOSFODNN7EXAMPLE"), "{out}");
        assert!(!out.contains("10.0.1.25"), "{out}");
        assert!(!out.contains("fd00::1"), "{out}");
        assert!(out.contains("on ip-<ip>.ec2.internal"), "{out}");
        assert!(out.contains("arn:<redacted>"), "{out}");
        assert!(
            out.contains("<account>.dkr.ecr.us-east-1.amazonaws.com"),
            "{out}"
        );
        assert!(
            out.contains("2026-11-29T16:56:36Z"),
            "timestamps survive: {out}"
        );
        assert!(out.contains("took 12 ms"), "{out}");
        assert_eq!(apply(text, false), text);
    }

    #[test]
    fn secrets_are_always_removed() {
        register_secret("s3cr3t-value-that-must-not-leak");
        let out = apply("token=s3cr3t-value-that-must-not-leak;", false);
        assert_eq!(out, "token=<secret>;");
    }
}
