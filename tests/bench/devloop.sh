#!/usr/bin/env bash
# Developer loop: (1) a cold `.ci/run` (CI=true, as CI runs it: fmt, clippy, every test) of a
# fresh clone of this checkout's HEAD with an empty cargo target directory and a venv made
# anew; (2) in that clone, the warm rebuild after touching one check (src/checks/dns.rs):
# `cargo test --no-run` (the library, the binary and every test binary), then the
# `cargo clippy --all-targets` that .ci/run would run next. Prints both times.
#   tests/bench/devloop.sh [cold|warm|all]     (default all; warm alone reuses the clone of
#                                               an earlier cold run if it is still there)
# Goals (issue 11): cold under 10 minutes on 2 cores, warm under 1 minute.
# The cold run takes 10+ minutes and ~6 GB of disk under /var/tmp; run it on an idle machine.
# Uncommitted changes are not in the clone.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
set -euo pipefail
WHAT="${1:-all}"
DIR="${DEVLOOP_DIR:-/var/tmp/ecr-doctor-devloop}"
CLONE="$DIR/clone"
export CARGO_TARGET_DIR="$DIR/target"
export CARGO_TERM_COLOR=never

[ "$(id -u)" -eq 0 ] || die "needs root (.ci/run runs the namespace tests as root)"
machine
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) / 1000 }'; }

if [ "$WHAT" = cold ] || [ "$WHAT" = all ]; then
    rm -rf "$DIR"
    mkdir -p "$DIR"
    git clone --quiet --no-hardlinks "$REPO" "$CLONE"
    echo "devloop: cold .ci/run of a fresh clone ($(git -C "$CLONE" rev-parse --short HEAD)), empty $CARGO_TARGET_DIR, new venv; log: $DIR/cold.log"
    t0="$(now_ms)"
    rc=0
    (cd "$CLONE" && CI=true bash .ci/run) >"$DIR/cold.log" 2>&1 || rc=$?
    t1="$(now_ms)"
    echo "devloop: cold .ci/run: $(secs "$t0" "$t1") s, exit $rc, $(grep -E '^tests: ' "$DIR/cold.log" | tail -n 1) (goal: under 600 s)"
fi
if [ "$WHAT" = warm ] || [ "$WHAT" = all ]; then
    [ -d "$CLONE/.git" ] || die "no clone at $CLONE: run the cold part first"
    touch "$CLONE/src/checks/dns.rs"
    t0="$(now_ms)"
    (cd "$CLONE" && cargo test --locked --no-run --quiet) >"$DIR/warm.log" 2>&1 || die "warm build failed: $DIR/warm.log"
    t1="$(now_ms)"
    (cd "$CLONE" && cargo clippy --locked --all-targets --quiet -- -D warnings) >>"$DIR/warm.log" 2>&1 || die "warm clippy failed: $DIR/warm.log"
    t2="$(now_ms)"
    echo "devloop: warm rebuild after touching src/checks/dns.rs: cargo test --no-run $(secs "$t0" "$t1") s, then cargo clippy --all-targets $(secs "$t1" "$t2") s (goal: under 60 s)"
fi
