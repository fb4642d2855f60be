#!/usr/bin/env bash
# Every test of ecr-doctor: formatting, lints, the docs reference, unit tests and the
# integration tests that run the real binary against the lab (tests/lab).
# Installs what it needs: the lab's Python venv (moto) and, for later lab parts, Debian packages.
# Set CARGO_TARGET_DIR to reuse a build directory outside the clone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tests/lab/lab.sh install
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
