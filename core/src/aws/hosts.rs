//! ECR and S3 host names, VPC endpoint service names and the layer bucket, derived from a
//! region (and an account); and registry host names parsed back into their parts.

use super::partition::{partition_of, Partition};

/// `<account>.dkr.ecr.<region>.<suffix>`
pub fn registry_host(account: &str, region: &str) -> String {
    format!(
        "{account}.dkr.ecr.{region}.{}",
        partition_of(region).dns_suffix
    )
}

/// A registry host in one of its four forms: `<account>.dkr.ecr[-fips].<region>.<suffix>`,
/// or dual-stack `<account>.dkr-ecr[-fips].<region>.<dual-stack suffix>`. None when the
/// region's partition has no known dual-stack registry name.
pub fn registry_host_variant(
    account: &str,
    region: &str,
    fips: bool,
    dual_stack: bool,
) -> Option<String> {
    let p = partition_of(region);
    let (label, suffix) = if dual_stack {
        ("dkr-ecr", p.registry_dual_stack_suffix?)
    } else {
        ("dkr.ecr", p.dns_suffix)
    };
    let fips = if fips { "-fips" } else { "" };
    Some(format!("{account}.{label}{fips}.{region}.{suffix}"))
}

/// `api.ecr.<region>.<suffix>`
pub fn api_host(region: &str) -> String {
    format!("api.ecr.{region}.{}", partition_of(region).dns_suffix)
}

/// The ECR API host as the SDK builds it: `api.ecr[-fips].<region>.<suffix>`, dual-stack
/// `ecr[-fips].<region>.<dual-stack suffix>`. (Older endpoint lists also name the FIPS API
/// `ecr-fips.<region>.<suffix>`, and the plain API `ecr.<region>.<suffix>`.)
pub fn api_host_variant(region: &str, fips: bool, dual_stack: bool) -> String {
    let p = partition_of(region);
    let fips = if fips { "-fips" } else { "" };
    if dual_stack {
        format!("ecr{fips}.{region}.{}", p.dual_stack_dns_suffix)
    } else {
        format!("api.ecr{fips}.{region}.{}", p.dns_suffix)
    }
}

/// The ECS API host as aws-sdk-ecs builds it (its endpoint tests): `ecs[-fips].<region>.<suffix>`,
/// dual-stack `ecs[-fips].<region>.<dual-stack suffix>` (e.g. `ecs.us-east-1.api.aws`).
pub fn ecs_api_host(region: &str, fips: bool, dual_stack: bool) -> String {
    let p = partition_of(region);
    let fips = if fips { "-fips" } else { "" };
    let suffix = if dual_stack {
        p.dual_stack_dns_suffix
    } else {
        p.dns_suffix
    };
    format!("ecs{fips}.{region}.{suffix}")
}

/// The S3 bucket that serves every registry's layers in a region.
pub fn layer_bucket(region: &str) -> String {
    format!("prod-{region}-starport-layer-bucket")
}

/// `prod-<region>-starport-layer-bucket.s3.<region>.<suffix>`
pub fn layer_host(region: &str) -> String {
    format!(
        "{}.s3.{region}.{}",
        layer_bucket(region),
        partition_of(region).dns_suffix
    )
}

/// The wildcard domain covering every registry of a region: `.dkr.ecr.<region>.<suffix>`.
pub fn registry_domain(region: &str) -> String {
    format!(".dkr.ecr.{region}.{}", partition_of(region).dns_suffix)
}

/// VPC endpoint service name `com.amazonaws.<region>.<svc>` (`svc`: `ecr.api`, `ecr.dkr`,
/// `s3`, ...); ECR in China carries a `cn.` prefix, S3 does not.
pub fn service_name(region: &str, svc: &str) -> String {
    if partition_of(region).id == "aws-cn" && svc.starts_with("ecr") {
        format!("cn.com.amazonaws.{region}.{svc}")
    } else {
        format!("com.amazonaws.{region}.{svc}")
    }
}

/// The registry of ECR Public.
pub const ECR_PUBLIC_REGISTRY: &str = "public.ecr.aws";

/// The only region whose ECR Public API issues login tokens for `public.ecr.aws` (the API
/// also answers in us-west-2; the credential helper hard-codes us-east-1).
pub const ECR_PUBLIC_TOKEN_REGION: &str = "us-east-1";

/// Whether `host` is the ECR Public registry.
pub fn is_public_registry(host: &str) -> bool {
    host.eq_ignore_ascii_case(ECR_PUBLIC_REGISTRY)
}

/// The token endpoint (`realm`) of `public.ecr.aws`: it trades Basic `AWS:<password>` for a
/// Bearer token; `/v2/` refuses Basic auth.
pub const ECR_PUBLIC_REALM: &str = "https://public.ecr.aws/token/";

/// The ECR Public API host that issues tokens: `api.ecr-public.us-east-1.amazonaws.com`.
pub fn public_api_host() -> String {
    format!(
        "api.ecr-public.{ECR_PUBLIC_TOKEN_REGION}.{}",
        partition_of(ECR_PUBLIC_TOKEN_REGION).dns_suffix
    )
}

/// A private ECR registry host, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryHost {
    /// The host, lowercased.
    pub host: String,
    pub account: String,
    pub region: String,
    /// The partition id (`aws`, `aws-cn`, ...).
    pub partition: &'static str,
    pub fips: bool,
    pub dual_stack: bool,
}

/// Parses a private ECR registry host name (`<12 digits>.dkr.ecr[-fips].<region>.<suffix>`,
/// or the dual-stack `dkr-ecr[-fips].<region>.<dual-stack suffix>` form) whose suffix is the
/// one of its region's partition. Returns None for anything else.
pub fn parse_registry_host(host: &str) -> Option<RegistryHost> {
    let host = host.trim().to_ascii_lowercase();
    let (account, rest) = host.split_once('.')?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (rest, fips, dual_stack) = [
        ("dkr.ecr.", false, false),
        ("dkr.ecr-fips.", true, false),
        ("dkr-ecr.", false, true),
        ("dkr-ecr-fips.", true, true),
    ]
    .iter()
    .find_map(|(label, fips, dual)| rest.strip_prefix(label).map(|r| (r, *fips, *dual)))?;
    let (region, suffix) = rest.split_once('.')?;
    if !super::is_region(region) {
        return None;
    }
    let p: &Partition = partition_of(region);
    let expected = if dual_stack {
        p.registry_dual_stack_suffix?
    } else {
        p.dns_suffix
    };
    if suffix != expected {
        return None;
    }
    Some(RegistryHost {
        account: account.to_string(),
        region: region.to_string(),
        partition: p.id,
        fips,
        dual_stack,
        host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The endpoints aws-sdk-ecs 1.157's endpoint tests expect.
    #[test]
    fn ecs_api_hosts_are_the_sdks() {
        for (region, fips, dual, host) in [
            ("us-east-1", false, false, "ecs.us-east-1.amazonaws.com"),
            ("us-east-1", true, false, "ecs-fips.us-east-1.amazonaws.com"),
            ("us-east-1", false, true, "ecs.us-east-1.api.aws"),
            ("us-east-1", true, true, "ecs-fips.us-east-1.api.aws"),
            (
                "cn-north-1",
                false,
                false,
                "ecs.cn-north-1.amazonaws.com.cn",
            ),
        ] {
            assert_eq!(ecs_api_host(region, fips, dual), host);
        }
    }

    #[test]
    fn hosts_follow_the_partition() {
        for (region, registry, api, layer) in [
            (
                "us-east-1",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                "api.ecr.us-east-1.amazonaws.com",
                "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com",
            ),
            (
                "cn-north-1",
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "api.ecr.cn-north-1.amazonaws.com.cn",
                "prod-cn-north-1-starport-layer-bucket.s3.cn-north-1.amazonaws.com.cn",
            ),
            (
                "us-gov-west-1",
                "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
                "api.ecr.us-gov-west-1.amazonaws.com",
                "prod-us-gov-west-1-starport-layer-bucket.s3.us-gov-west-1.amazonaws.com",
            ),
            (
                "eusc-de-east-1",
                "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
                "api.ecr.eusc-de-east-1.amazonaws.eu",
                "prod-eusc-de-east-1-starport-layer-bucket.s3.eusc-de-east-1.amazonaws.eu",
            ),
            (
                "us-iso-east-1",
                "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
                "api.ecr.us-iso-east-1.c2s.ic.gov",
                "prod-us-iso-east-1-starport-layer-bucket.s3.us-iso-east-1.c2s.ic.gov",
            ),
            (
                "us-isob-east-1",
                "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
                "api.ecr.us-isob-east-1.sc2s.sgov.gov",
                "prod-us-isob-east-1-starport-layer-bucket.s3.us-isob-east-1.sc2s.sgov.gov",
            ),
            (
                "eu-isoe-west-1",
                "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
                "api.ecr.eu-isoe-west-1.cloud.adc-e.uk",
                "prod-eu-isoe-west-1-starport-layer-bucket.s3.eu-isoe-west-1.cloud.adc-e.uk",
            ),
            (
                "us-isof-south-1",
                "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
                "api.ecr.us-isof-south-1.csp.hci.ic.gov",
                "prod-us-isof-south-1-starport-layer-bucket.s3.us-isof-south-1.csp.hci.ic.gov",
            ),
        ] {
            assert_eq!(registry_host("123456789012", region), registry, "{region}");
            assert_eq!(api_host(region), api, "{region}");
            assert_eq!(api_host_variant(region, false, false), api, "{region}");
            assert_eq!(layer_host(region), layer, "{region}");
            assert_eq!(
                registry_domain(region),
                registry.trim_start_matches("123456789012"),
                "{region}"
            );
        }
        assert_eq!(
            layer_bucket("eu-west-1"),
            "prod-eu-west-1-starport-layer-bucket"
        );
    }

    #[test]
    fn api_host_variants() {
        for (region, fips, dual, host) in [
            (
                "us-east-1",
                true,
                false,
                "api.ecr-fips.us-east-1.amazonaws.com",
            ),
            ("us-east-1", false, true, "ecr.us-east-1.api.aws"),
            ("us-east-1", true, true, "ecr-fips.us-east-1.api.aws"),
            (
                "us-gov-west-1",
                true,
                true,
                "ecr-fips.us-gov-west-1.api.aws",
            ),
            (
                "cn-northwest-1",
                false,
                true,
                "ecr.cn-northwest-1.api.amazonwebservices.com.cn",
            ),
            (
                "cn-northwest-1",
                true,
                false,
                "api.ecr-fips.cn-northwest-1.amazonaws.com.cn",
            ),
            (
                "eusc-de-east-1",
                true,
                false,
                "api.ecr-fips.eusc-de-east-1.amazonaws.eu",
            ),
            (
                "us-iso-east-1",
                true,
                false,
                "api.ecr-fips.us-iso-east-1.c2s.ic.gov",
            ),
        ] {
            assert_eq!(api_host_variant(region, fips, dual), host);
        }
    }

    #[test]
    fn service_names() {
        assert_eq!(
            service_name("us-east-1", "ecr.dkr"),
            "com.amazonaws.us-east-1.ecr.dkr"
        );
        assert_eq!(
            service_name("cn-north-1", "ecr.api"),
            "cn.com.amazonaws.cn-north-1.ecr.api"
        );
        assert_eq!(
            service_name("cn-northwest-1", "ecr.dkr"),
            "cn.com.amazonaws.cn-northwest-1.ecr.dkr"
        );
        assert_eq!(
            service_name("cn-north-1", "s3"),
            "com.amazonaws.cn-north-1.s3"
        );
        assert_eq!(
            service_name("us-gov-west-1", "ecr.api"),
            "com.amazonaws.us-gov-west-1.ecr.api"
        );
    }

    #[test]
    fn parses_registry_hosts_of_every_form() {
        // host, region, partition, fips, dual_stack
        for (host, region, partition, fips, dual) in [
            (
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                "eu-west-1",
                "aws",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
                "us-east-1",
                "aws",
                true,
                false,
            ),
            (
                "123456789012.dkr-ecr.us-east-1.on.aws",
                "us-east-1",
                "aws",
                false,
                true,
            ),
            (
                "123456789012.dkr-ecr-fips.us-east-2.on.aws",
                "us-east-2",
                "aws",
                true,
                true,
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "cn-north-1",
                "aws-cn",
                false,
                false,
            ),
            (
                "123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn",
                "cn-northwest-1",
                "aws-cn",
                false,
                true,
            ),
            (
                "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
                "us-gov-west-1",
                "aws-us-gov",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com",
                "us-gov-east-1",
                "aws-us-gov",
                true,
                false,
            ),
            (
                "123456789012.dkr-ecr-fips.us-gov-west-1.on.aws",
                "us-gov-west-1",
                "aws-us-gov",
                true,
                true,
            ),
            (
                "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
                "eusc-de-east-1",
                "aws-eusc",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
                "us-iso-east-1",
                "aws-iso",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
                "us-isob-east-1",
                "aws-iso-b",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
                "eu-isoe-west-1",
                "aws-iso-e",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
                "us-isof-south-1",
                "aws-iso-f",
                false,
                false,
            ),
            (
                " 123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM ",
                "us-east-1",
                "aws",
                false,
                false,
            ),
        ] {
            let r = parse_registry_host(host).unwrap_or_else(|| panic!("{host}"));
            assert_eq!(r.host, host.trim().to_ascii_lowercase());
            assert_eq!(r.account, "123456789012", "{host}");
            assert_eq!(
                (r.region.as_str(), r.partition, r.fips, r.dual_stack),
                (region, partition, fips, dual),
                "{host}"
            );
            // and the host is the one the builder makes for those parts
            assert_eq!(
                registry_host_variant(&r.account, &r.region, fips, dual).as_deref(),
                Some(r.host.as_str())
            );
        }
    }

    #[test]
    fn ecr_public_names() {
        assert!(is_public_registry("public.ecr.aws"));
        assert!(is_public_registry("PUBLIC.ecr.aws"));
        assert!(!is_public_registry("public.ecr.aws.evil.example"));
        assert_eq!(public_api_host(), "api.ecr-public.us-east-1.amazonaws.com");
        assert_eq!(ECR_PUBLIC_TOKEN_REGION, "us-east-1");
    }

    #[test]
    fn rejects_what_is_not_a_private_registry() {
        for host in [
            "dkr.ecr.us-east-1.amazonaws.com",
            "12345.dkr.ecr.us-east-1.amazonaws.com",
            "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
            "12345678901a.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.nowhere.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.example.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
            "123456789012.ecr.us-east-1.amazonaws.com",
            "public.ecr.aws",
            "api.ecr.us-east-1.amazonaws.com",
            // a suffix of another partition than the region's
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com",
            "123456789012.dkr.ecr.us-iso-east-1.amazonaws.com",
            // the dual-stack label with a regular suffix, and the other way round
            "123456789012.dkr-ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.on.aws",
            // no dual-stack registry name is known there
            "123456789012.dkr-ecr.us-iso-east-1.on.aws",
            "",
        ] {
            assert_eq!(parse_registry_host(host), None, "{host}");
        }
        assert_eq!(
            registry_host_variant("123456789012", "us-iso-east-1", false, true),
            None
        );
    }
}
