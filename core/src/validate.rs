//! Validation of flag values. Each validator returns a one-line reason on failure.

use crate::aws;
use std::time::Duration;

/// A value as a usage error quotes it: on one line, control characters escaped, cut at
/// 100 characters.
pub fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(100).flat_map(char::escape_default).collect();
    if s.chars().count() > 100 {
        out.push('…');
    }
    out
}

fn is_hex(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn aws_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|rest| (rest.len() == 8 || rest.len() == 17) && is_hex(rest))
}

pub fn region(s: &str) -> Result<String, String> {
    if aws::is_region(s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{}' is not an AWS region (expected e.g. us-east-1)",
            shown(s)
        ))
    }
}

pub fn vpc_id(s: &str) -> Result<String, String> {
    if aws_id(s, "vpc-") {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{}' is not a VPC id (expected vpc- and 8 or 17 hex digits, e.g. vpc-0abc1234def567890)", shown(s)
        ))
    }
}

pub fn subnet_id(s: &str) -> Result<String, String> {
    if aws_id(s, "subnet-") {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{}' is not a subnet id (expected subnet- and 8 or 17 hex digits)",
            shown(s)
        ))
    }
}

pub fn security_group_id(s: &str) -> Result<String, String> {
    if aws_id(s, "sg-") {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{}' is not a security group id (expected sg- and 8 or 17 hex digits)",
            shown(s)
        ))
    }
}

/// A registry host; a leading `https://` and trailing `/` are tolerated.
pub fn registry(s: &str) -> Result<String, String> {
    let host = s
        .trim()
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_ascii_lowercase();
    if aws::is_public_registry(&host) {
        return Ok(aws::ECR_PUBLIC_REGISTRY.to_string());
    }
    match aws::parse_registry_host(&host) {
        Some(r) => Ok(r.host),
        None => Err(format!(
            "'{}' is not an ECR registry host (expected <12-digit account>.dkr.ecr.<region>.amazonaws.com, or public.ecr.aws)", shown(s)
        )),
    }
}

/// An image reference as the user typed it: `REPO[:TAG|@DIGEST]`, optionally prefixed with a
/// registry host (`<registry>/REPO:TAG`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub registry: Option<String>,
    pub repository: String,
    pub reference: String,
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sep = if self.reference.starts_with("sha256:") {
            '@'
        } else {
            ':'
        };
        write!(f, "{}{sep}{}", self.repository, self.reference)
    }
}

fn is_repo_component(c: &str) -> bool {
    // [a-z0-9]+(?:[._-][a-z0-9]+)*
    !c.is_empty()
        && c.split(['.', '_', '-']).all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

pub fn image(s: &str) -> Result<ImageRef, String> {
    let bad = |why: &str| {
        Err(format!(
            "'{}' is not an image reference: {why} (expected REPO[:TAG|@sha256:DIGEST], e.g. team/app:1.4)", shown(s)
        ))
    };
    let mut rest = s.trim();
    let mut registry = None;
    if let Some((first, tail)) = rest.split_once('/') {
        if aws::is_public_registry(first) {
            registry = Some(aws::ECR_PUBLIC_REGISTRY.to_string());
            rest = tail;
        } else if first.contains('.') {
            match aws::parse_registry_host(first) {
                Some(r) => registry = Some(r.host),
                None => return bad("the registry part is not an ECR registry host"),
            }
            rest = tail;
        }
    }
    let (repo, reference) = if let Some((r, d)) = rest.split_once('@') {
        let Some(hex) = d.strip_prefix("sha256:") else {
            return bad("a digest must start with sha256:");
        };
        if hex.len() != 64 || !is_hex(hex) {
            return bad("a sha256 digest has 64 lowercase hex digits");
        }
        (r, d.to_string())
    } else if let Some((r, t)) = rest.rsplit_once(':') {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !ok {
            return bad("a tag has up to 128 letters, digits, '.', '_' or '-'");
        }
        (r, t.to_string())
    } else {
        (rest, "latest".to_string())
    };
    if repo.is_empty() || repo.len() > 256 || !repo.split('/').all(is_repo_component) {
        return bad("a repository name is lowercase letters, digits and . _ - / separators");
    }
    Ok(ImageRef {
        registry,
        repository: repo.to_string(),
        reference,
    })
}

/// `IP[:PORT]` (IPv6 as `[::1]:53`).
pub fn dns_server(s: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(ip) = s.parse::<std::net::IpAddr>() {
        return Ok(std::net::SocketAddr::new(ip, 53));
    }
    s.parse::<std::net::SocketAddr>().map_err(|_| {
        format!("'{}' is not a DNS server address (expected IP or IP:PORT, e.g. 10.0.0.2 or 127.0.0.1:5353)", shown(s))
    })
}

pub fn role_arn(s: &str) -> Result<String, String> {
    let ok = aws::is_role_arn(s);
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{}' is not an IAM role ARN (expected arn:aws:iam::<12-digit account>:role/<name>)",
            shown(s)
        ))
    }
}

/// `linux/amd64`, `linux/arm64`, `windows/amd64`
pub fn platform(s: &str) -> Result<String, String> {
    let ok = s.split_once('/').is_some_and(|(os, arch)| {
        !os.is_empty()
            && !arch.is_empty()
            && os
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && arch
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'/')
    });
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{}' is not a platform (expected OS/ARCH, e.g. linux/amd64 or linux/arm64)",
            shown(s)
        ))
    }
}

/// `500ms`, `5s`, `1m`; between 1 ms and 10 minutes.
pub fn timeout(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|_| {
        format!(
            "'{}' is not a duration (expected e.g. 500ms, 5s or 1m)",
            shown(s)
        )
    })?;
    if d.is_zero() || d > Duration::from_secs(600) {
        return Err(format!(
            "'{}' is out of range (expected more than 0 and at most 10m)",
            shown(s)
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_stay_on_one_line() {
        for bad in [
            "team/app:1\r\nInjected: yes",
            "US-EAST-1\n",
            "\u{1b}[31mred",
        ] {
            for e in [image(bad), region(bad).map(|_| image("a").unwrap())] {
                let e = e.unwrap_err();
                assert!(!e.contains(['\n', '\r', '\u{1b}']), "{e:?}");
            }
        }
        let long = "x".repeat(5000);
        assert!(region(&long).unwrap_err().chars().count() < 200);
    }

    #[test]
    fn ids() {
        assert!(vpc_id("vpc-0abc1234def567890").is_ok());
        assert!(vpc_id("vpc-1a2b3c4d").is_ok());
        assert!(vpc_id("vpc_123").unwrap_err().contains("not a VPC id"));
        assert!(vpc_id("vpc-123").is_err());
        assert!(vpc_id("vpc-ZZZZZZZZ").is_err());
        assert!(subnet_id("subnet-1a2b3c4d").is_ok());
        assert!(subnet_id("sub-1a2b3c4d").is_err());
        assert!(security_group_id("sg-1a2b3c4d").is_ok());
        assert!(security_group_id("sg-xyz").is_err());
    }

    #[test]
    fn images() {
        let i = image("team/app:1.4").unwrap();
        assert_eq!(
            (i.repository.as_str(), i.reference.as_str()),
            ("team/app", "1.4")
        );
        assert_eq!(image("app").unwrap().reference, "latest");
        let d = format!("app@sha256:{}", "a".repeat(64));
        assert_eq!(
            image(&d).unwrap().reference,
            format!("sha256:{}", "a".repeat(64))
        );
        let full = image("123456789012.dkr.ecr.us-east-1.amazonaws.com/lab/app:v1").unwrap();
        assert_eq!(
            full.registry.as_deref(),
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com")
        );
        assert_eq!(full.to_string(), "lab/app:v1");
        assert!(image("App:1").is_err());
        assert!(image("app:").is_err());
        assert!(image("app@sha256:abc").is_err());
        assert!(image("docker.io/library/nginx").is_err());
        assert!(image("a//b").is_err());
    }

    #[test]
    fn registries() {
        assert_eq!(
            registry("https://123456789012.dkr.ecr.us-east-1.amazonaws.com/").unwrap(),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com"
        );
        assert_eq!(
            registry("https://Public.ecr.aws/").unwrap(),
            "public.ecr.aws"
        );
        let i = image("public.ecr.aws/nginx/nginx:1.27").unwrap();
        assert_eq!(i.registry.as_deref(), Some("public.ecr.aws"));
        assert_eq!(i.repository, "nginx/nginx");
        assert!(registry("docker.io").is_err());
    }

    #[test]
    fn misc() {
        assert_eq!(region("us-gov-west-1").unwrap(), "us-gov-west-1");
        assert!(region("useast1").unwrap_err().contains("not an AWS region"));
        assert_eq!(dns_server("10.0.0.2").unwrap().port(), 53);
        assert_eq!(dns_server("127.0.0.1:5353").unwrap().port(), 5353);
        assert_eq!(dns_server("[::1]:53").unwrap().port(), 53);
        assert!(dns_server("dns.example").is_err());
        assert!(role_arn("arn:aws:iam::123456789012:role/puller").is_ok());
        assert!(role_arn("arn:aws:iam::123456789012:user/me").is_err());
        assert!(role_arn("arn:aws:iam::1234:role/x").is_err());
        assert_eq!(timeout("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(timeout("5s").unwrap(), Duration::from_secs(5));
        assert!(timeout("0s").is_err());
        assert!(timeout("five").is_err());
        assert!(timeout("1h").is_err());
    }
}
