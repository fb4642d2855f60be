//! ecr-doctor's pure parts: no I/O, no AWS SDK. Everything here takes text and returns
//! data, so the fuzz targets (fuzz/) build this crate alone.
//!
//! `aws` (AWS names: partitions, hosts, service names, ARNs), `validate` (flag values and
//! image references), `policy` (the IAM policy evaluator), `oci` (manifests and indexes),
//! `registry_auth` (ECR tokens, docker `auth` values and docker configuration files).

pub mod aws;
pub mod oci;
pub mod policy;
pub mod registry_auth;
pub mod validate;
