//! The one integration-test binary: runs the built `ecr-doctor` against the lab
//! (tests/lab) and checks flags and exit codes.

mod cli;
mod dataplane;
mod harness;
mod identity;
mod progress;
mod vpc;
