#!/usr/bin/env bash
# Every test of ecr-doctor: formatting, lints, the docs reference, unit tests and the
# integration tests that run the real binary against the lab (tests/lab): moto on loopback,
# and, as root, the network-namespace "VPC in a box" (dnsmasq, TLS, the distribution registry).
# Installs what it needs: the lab's Python venv (moto) and the Debian packages of the
# namespace lab. Set CARGO_TARGET_DIR to reuse a build directory outside the clone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tests/lab/lab.sh install
if [ "$(id -u)" = 0 ]; then
    tests/lab/netlab.sh install
    # in CI the namespace tests must run, not skip
    if [ "${CI:-}" = true ]; then export ECR_DOCTOR_REQUIRE_NETLAB=1; fi
else
    echo "test.sh: not root: the network-namespace tests will say they are skipped" >&2
fi
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --locked 2>&1 | tee "$log"
# the fuzz targets of the untrusted-text readers, briefly (scripts/fuzz.sh SECONDS for longer)
scripts/fuzz.sh "${ECR_DOCTOR_FUZZ_SECONDS:-10}" 2>&1 | tee -a "$log"
# one closing line for the whole run
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
