//! The one integration-test binary: runs the built `ecr-doctor` against the lab
//! (tests/lab) and checks flags and exit codes; `cmd` runs the CLI cases of tests/cmd.

mod access;
mod cli;
mod cmd;
mod dataplane;
mod harness;
mod identity;
mod progress;
mod role;
mod vpc;
