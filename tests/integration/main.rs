//! The one integration-test binary: runs the built `ecr-doctor` against the lab
//! (tests/lab) and checks flags and exit codes; `cmd` runs the CLI cases of tests/cmd.

mod access;
mod cli;
mod client_path;
mod cmd;
mod dataplane;
mod docker;
mod faults;
mod fix;
mod fleet;
mod harness;
mod identity;
mod missing;
mod progress;
mod proof;
mod public;
mod role;
mod skopeo;
mod symptom;
mod vpc;
