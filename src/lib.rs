//! ecr-doctor: diagnoses why a machine cannot log in to or pull from Amazon ECR.
//!
//! Layout: `aws` (AWS names: partitions, hosts, ARNs), `catalog` (the embedded `checks/*.toml`), `engine` (runs the check graph),
//! `checks` (one module per family; never prints), `probes` (the only code that talks
//! to the world), `render` (table, JSON, markdown), `cli` (flags and exit codes).

pub mod aws;
pub mod budget;
pub mod catalog;
pub mod checks;
pub mod cli;
pub mod docs;
pub mod engine;
pub mod errors;
pub mod oci;
pub mod policy;
pub mod probes;
pub mod redact;
pub mod render;
pub mod symptom;
pub mod validate;
