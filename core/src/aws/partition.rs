//! AWS partitions and regions: which partition a region belongs to and the DNS suffixes its
//! endpoints use (from the SDK's `partitions.json`; the ECR dual-stack registry suffixes from
//! the ECR documentation and the credential helper).

/// One AWS partition.
#[derive(Debug, PartialEq, Eq)]
pub struct Partition {
    /// `aws`, `aws-cn`, `aws-us-gov`, ... as in ARNs.
    pub id: &'static str,
    /// The region name prefix of the partition (empty for `aws`, the fallback).
    region_prefix: &'static str,
    /// Suffix of the regular endpoints: `amazonaws.com`, `amazonaws.com.cn`, ...
    pub dns_suffix: &'static str,
    /// Suffix of the dual-stack API endpoints: `api.aws`, `api.amazonwebservices.com.cn`, ...
    pub dual_stack_dns_suffix: &'static str,
    /// Suffix of the dual-stack ECR registry hosts (`<account>.dkr-ecr.<region>.<suffix>`),
    /// where known.
    pub registry_dual_stack_suffix: Option<&'static str>,
}

/// Every partition; the more specific region prefixes first, `aws` last.
pub const PARTITIONS: &[Partition] = &[
    Partition {
        id: "aws-cn",
        region_prefix: "cn-",
        dns_suffix: "amazonaws.com.cn",
        dual_stack_dns_suffix: "api.amazonwebservices.com.cn",
        registry_dual_stack_suffix: Some("on.amazonwebservices.com.cn"),
    },
    Partition {
        id: "aws-us-gov",
        region_prefix: "us-gov-",
        dns_suffix: "amazonaws.com",
        dual_stack_dns_suffix: "api.aws",
        registry_dual_stack_suffix: Some("on.aws"),
    },
    Partition {
        id: "aws-eusc",
        region_prefix: "eusc-",
        dns_suffix: "amazonaws.eu",
        dual_stack_dns_suffix: "api.amazonwebservices.eu",
        registry_dual_stack_suffix: None,
    },
    Partition {
        id: "aws-iso",
        region_prefix: "us-iso-",
        dns_suffix: "c2s.ic.gov",
        dual_stack_dns_suffix: "api.aws.ic.gov",
        registry_dual_stack_suffix: None,
    },
    Partition {
        id: "aws-iso-b",
        region_prefix: "us-isob-",
        dns_suffix: "sc2s.sgov.gov",
        dual_stack_dns_suffix: "api.aws.scloud",
        registry_dual_stack_suffix: None,
    },
    Partition {
        id: "aws-iso-e",
        region_prefix: "eu-isoe-",
        dns_suffix: "cloud.adc-e.uk",
        dual_stack_dns_suffix: "api.cloud-aws.adc-e.uk",
        registry_dual_stack_suffix: None,
    },
    Partition {
        id: "aws-iso-f",
        region_prefix: "us-isof-",
        dns_suffix: "csp.hci.ic.gov",
        dual_stack_dns_suffix: "api.aws.hci.ic.gov",
        registry_dual_stack_suffix: None,
    },
    Partition {
        id: "aws",
        region_prefix: "",
        dns_suffix: "amazonaws.com",
        dual_stack_dns_suffix: "api.aws",
        registry_dual_stack_suffix: Some("on.aws"),
    },
];

/// The partition a region belongs to (`aws` for any region no other partition claims, as
/// the SDK does).
pub fn partition_of(region: &str) -> &'static Partition {
    PARTITIONS
        .iter()
        .find(|p| region.starts_with(p.region_prefix))
        .unwrap_or(&PARTITIONS[PARTITIONS.len() - 1])
}

/// The partition with this id (`aws-cn`, ...).
pub fn by_id(id: &str) -> Option<&'static Partition> {
    PARTITIONS.iter().find(|p| p.id == id)
}

/// `us-east-1`, `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`, `us-isob-east-1` ...:
/// lowercase words joined by `-`, ending in a number of one or two digits.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && {
            let last = parts[parts.len() - 1];
            !last.is_empty() && last.len() <= 2 && last.bytes().all(|b| b.is_ascii_digit())
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_map_to_their_partition() {
        for (region, id, suffix, dual) in [
            ("us-east-1", "aws", "amazonaws.com", "api.aws"),
            ("eu-west-1", "aws", "amazonaws.com", "api.aws"),
            ("ap-southeast-7", "aws", "amazonaws.com", "api.aws"),
            (
                "cn-north-1",
                "aws-cn",
                "amazonaws.com.cn",
                "api.amazonwebservices.com.cn",
            ),
            ("us-gov-west-1", "aws-us-gov", "amazonaws.com", "api.aws"),
            (
                "eusc-de-east-1",
                "aws-eusc",
                "amazonaws.eu",
                "api.amazonwebservices.eu",
            ),
            ("us-iso-east-1", "aws-iso", "c2s.ic.gov", "api.aws.ic.gov"),
            (
                "us-isob-east-1",
                "aws-iso-b",
                "sc2s.sgov.gov",
                "api.aws.scloud",
            ),
            (
                "eu-isoe-west-1",
                "aws-iso-e",
                "cloud.adc-e.uk",
                "api.cloud-aws.adc-e.uk",
            ),
            (
                "us-isof-south-1",
                "aws-iso-f",
                "csp.hci.ic.gov",
                "api.aws.hci.ic.gov",
            ),
        ] {
            let p = partition_of(region);
            assert_eq!(
                (p.id, p.dns_suffix, p.dual_stack_dns_suffix),
                (id, suffix, dual),
                "{region}"
            );
            assert_eq!(by_id(id), Some(p), "{id}");
        }
        assert_eq!(by_id("aws-moon"), None);
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "cn-north-1",
            "eusc-de-east-1",
            "ap-southeast-7",
            "us-isob-east-1",
            "eu-isoe-west-1",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "us-east",
            "US-EAST-1",
            "useast1",
            "us-east-123",
            "-east-1",
            "us--1",
            "",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
