#!/usr/bin/env bash
# Fuzzes the code that reads untrusted text (fuzz/fuzz_targets: the token decoder, the
# docker-config reader, the image-reference and flag parsers, the policy evaluator) with
# cargo fuzz (libFuzzer, nightly), each target for SECONDS (default 60), and prints one line
# per target: executions, and crashes (a crash fails the script and its input is kept).
#
#   scripts/fuzz.sh [SECONDS]
#
# Installs what it needs: cargo-fuzz (pinned, from crates.io) under $ECR_DOCTOR_TOOLS
# (default /var/tmp/ecr-doctor-tools), and the fuzz build goes to
# $CARGO_TARGET_DIR/fuzz (default /var/tmp/ecr-doctor-target/fuzz). The corpus starts from
# fuzz/seeds in a temporary folder: nothing is written into the clone unless a crash is
# found (then under fuzz/artifacts/, as cargo fuzz does).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs="${1:-60}"
case "$secs" in '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got '$secs'" >&2; exit 2 ;; esac
tools="${ECR_DOCTOR_TOOLS:-/var/tmp/ecr-doctor-tools}"
target_dir="${CARGO_TARGET_DIR:-/var/tmp/ecr-doctor-target}/fuzz"
fuzz_version=0.13.2
if ! "$tools/bin/cargo-fuzz" --version 2>/dev/null | grep -q "$fuzz_version"; then
    echo "fuzz.sh: installing cargo-fuzz $fuzz_version under $tools" >&2
    cargo install cargo-fuzz --version "$fuzz_version" --locked --root "$tools" --quiet
fi
export PATH="$tools/bin:$PATH"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz.sh: needs the nightly toolchain (rustup toolchain install nightly)" >&2
    exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
printf '%-18s %8s %12s %8s\n' target seconds executions crashes
for t in $(cd fuzz && cargo +nightly fuzz list); do
    mkdir -p "$work/$t"
    cp fuzz/seeds/"$t"/* "$work/$t/" 2>/dev/null || true
    log="$work/$t.log"
    rc=0
    (cd fuzz && cargo +nightly fuzz run --target-dir "$target_dir" "$t" "$work/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10) \
        >"$log" 2>&1 || rc=$?
    execs="$(awk '/stat::number_of_executed_units:/ { print $2 }' "$log" | tail -1)"
    crashes=0
    if [ "$rc" != 0 ]; then
        crashes=1
        failed=1
        echo "fuzz.sh: $t failed (exit $rc); the end of its log:" >&2
        tail -40 "$log" >&2
    fi
    printf '%-18s %8s %12s %8s\n' "$t" "$secs" "${execs:-?}" "$crashes"
done
exit "$failed"
