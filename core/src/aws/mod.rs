//! Everything the doctor knows about AWS names: partitions and their DNS suffixes, region
//! names, ECR registry/API and S3 layer host names (regular, FIPS and dual-stack), VPC
//! endpoint service names, the layer bucket and ARNs. Pure functions; this module uses
//! nothing else of the crate.

pub mod arn;
pub mod hosts;
pub mod partition;

pub use arn::{
    iam_target, is_account_id, is_role_arn, managed_policy_arn, managed_role, sso_permission_set,
    Arn,
};
pub use hosts::{
    api_host, api_host_variant, ecs_api_host, is_public_registry, layer_bucket, layer_host,
    parse_registry_host, public_api_host, registry_domain, registry_host, registry_host_variant,
    service_name, RegistryHost, ECR_PUBLIC_REALM, ECR_PUBLIC_REGISTRY, ECR_PUBLIC_TOKEN_REGION,
};
pub use partition::{is_region, partition_of, Partition};
