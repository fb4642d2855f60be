//! Names of ECR hosts, derived from a region and an account (see shared ECR facts).

/// DNS suffix of the partition a region belongs to.
pub fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else if region.starts_with("eusc-") {
        "amazonaws.eu"
    } else {
        "amazonaws.com"
    }
}

/// `<account>.dkr.ecr.<region>.<suffix>`
pub fn registry_host(account: &str, region: &str) -> String {
    format!("{account}.dkr.ecr.{region}.{}", dns_suffix(region))
}

/// `api.ecr.<region>.<suffix>`
pub fn api_host(region: &str) -> String {
    format!("api.ecr.{region}.{}", dns_suffix(region))
}

/// `prod-<region>-starport-layer-bucket.s3.<region>.<suffix>`
pub fn layer_host(region: &str) -> String {
    format!(
        "prod-{region}-starport-layer-bucket.s3.{region}.{}",
        dns_suffix(region)
    )
}

/// The wildcard domain covering every registry of a region: `.dkr.ecr.<region>.<suffix>`.
pub fn registry_domain(region: &str) -> String {
    format!(".dkr.ecr.{region}.{}", dns_suffix(region))
}

/// A private ECR registry host, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryHost {
    pub host: String,
    pub account: String,
    pub region: String,
}

/// Parses a private ECR registry host name (`<12 digits>.dkr.ecr[-fips].<region>.<suffix>`,
/// or the dual-stack `dkr-ecr[-fips].<region>.on.aws` form). Returns None for anything else.
pub fn parse_registry_host(host: &str) -> Option<RegistryHost> {
    let host = host.trim().to_ascii_lowercase();
    let (account, rest) = host.split_once('.')?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = rest
        .strip_prefix("dkr.ecr.")
        .or_else(|| rest.strip_prefix("dkr.ecr-fips."))
        .or_else(|| rest.strip_prefix("dkr-ecr."))
        .or_else(|| rest.strip_prefix("dkr-ecr-fips."))?;
    let (region, suffix) = rest.split_once('.')?;
    let known_suffix = matches!(
        suffix,
        "amazonaws.com"
            | "amazonaws.com.cn"
            | "amazonaws.eu"
            | "on.aws"
            | "on.amazonwebservices.com.cn"
            | "c2s.ic.gov"
            | "sc2s.sgov.gov"
    );
    if !known_suffix || !crate::validate::is_region(region) {
        return None;
    }
    Some(RegistryHost {
        host: host.clone(),
        account: account.to_string(),
        region: region.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_follow_the_partition() {
        assert_eq!(
            registry_host("123456789012", "us-east-1"),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com"
        );
        assert_eq!(
            api_host("cn-north-1"),
            "api.ecr.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            layer_host("eu-west-1"),
            "prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            registry_domain("us-west-2"),
            ".dkr.ecr.us-west-2.amazonaws.com"
        );
    }

    #[test]
    fn parses_registry_hosts() {
        let r = parse_registry_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com").unwrap();
        assert_eq!(r.account, "123456789012");
        assert_eq!(r.region, "eu-west-1");
        assert!(parse_registry_host("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com").is_some());
        assert!(parse_registry_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn").is_some());
        assert!(parse_registry_host("dkr.ecr.us-east-1.amazonaws.com").is_none());
        assert!(parse_registry_host("12345.dkr.ecr.us-east-1.amazonaws.com").is_none());
        assert!(parse_registry_host("123456789012.dkr.ecr.nowhere.amazonaws.com").is_none());
        assert!(parse_registry_host("public.ecr.aws").is_none());
        assert!(parse_registry_host("123456789012.dkr.ecr.us-east-1.example.com").is_none());
    }
}
