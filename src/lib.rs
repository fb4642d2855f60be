//! ecr-doctor: diagnoses why a machine cannot log in to or pull from Amazon ECR.
//!
//! Layout: `aws` (AWS names: partitions, hosts, ARNs), `catalog` (the embedded `checks/*.toml`), `engine` (runs the check graph),
//! `checks` (one module per family; never prints), `probes` (the only code that talks
//! to the world), `render` (table, JSON, markdown), `cli` (flags and exit codes).

// the pure parts (AWS naming, flag validation, the policy evaluator, OCI manifests,
// registry credentials as text) live in the crate ecr-doctor-core, which the fuzz
// targets build alone; they keep their paths here
pub use ecr_doctor_core::{aws, oci, policy, registry_auth, validate};

pub mod budget;
pub mod catalog;
pub mod checks;
pub mod cli;
pub mod docs;
pub mod engine;
pub mod errors;
pub mod explain;
pub mod host;
pub mod probes;
pub mod redact;
pub mod render;
pub mod summarize;
pub mod symptom;
