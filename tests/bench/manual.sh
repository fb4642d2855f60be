#!/usr/bin/env bash
# Against the manual way: ecr-doctor and the same diagnosis by hand (tests/bench/manual_way.sh:
# the aws CLI's 8 calls, dig of the three hosts, curl of /v2/, the manifest and the layer),
# alternately, RUNS times each, in the same healthy namespace world with the same
# environment. Prints every run, the medians and the ratio.
#   tests/bench/manual.sh [RUNS]     (default 7; binary: $BIN or the release build)
# The timing happens inside the namespace (the loop below runs there), so `ip netns exec`
# costs neither side anything.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
set -euo pipefail
RUNS="${1:-7}"

if [ "${1:-}" = --inside ]; then # --inside RUNS BIN VPC SUBNET: the loop, in the namespace
    runs="$2" bin="$3" vpc="$4" subnet="$5"
    for ((i = 1; i <= runs; i++)); do
        t0="$(now_ms)"
        rc=0
        "$bin" --vpc "$vpc" --subnet "$subnet" --image lab/app:1.0 --output json >/dev/null || rc=$?
        t1="$(now_ms)"
        [ "$rc" = 0 ] || die "run $i: ecr-doctor exited $rc in the healthy world"
        echo "doctor $i $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
        t0="$(now_ms)"
        out="$(tests/bench/manual_way.sh "$vpc" "$subnet" lab/app 1.0)" || die "run $i: the manual way failed"
        t1="$(now_ms)"
        echo "manual $i $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') ${out#manual: ok }"
    done
    exit 0
fi

bench_setup
NS="ecrd-bm-$$"
ns_up "$NS" healthy
machine
echo "manual: ecr-doctor ($BIN) vs the manual way (aws CLI $("$REPO/tests/lab/.venv/bin/aws" --version 2>&1 | cut -d' ' -f1 | cut -d/ -f2), dig, curl), healthy world, $RUNS runs each, alternately"
# one untimed round first: page cache, moto's first requests
in_ns "$NS" "$REPO/tests/bench/manual.sh" --inside 1 "$BIN" "$VPC" "$SUBNET" >/dev/null
log="$(mktemp)"
in_ns "$NS" "$REPO/tests/bench/manual.sh" --inside "$RUNS" "$BIN" "$VPC" "$SUBNET" | tee "$log" |
    awk '$1 == "doctor" { printf "  run %s: ecr-doctor %8.1f ms", $2, $3 } $1 == "manual" { printf "   manual %8.1f ms (aws CLI %.1f ms, dig+curl %.1f ms)\n", $3, $4, $5 }'
d="$(awk '$1 == "doctor" { print $3 }' "$log" | median)"
m="$(awk '$1 == "manual" { print $3 }' "$log" | median)"
ma="$(awk '$1 == "manual" { print $4 }' "$log" | median)"
rm -f "$log"
awk -v d="$d" -v m="$m" -v ma="$ma" 'BEGIN {
    printf "manual: median ecr-doctor %.1f ms, median manual way %.1f ms (its aws CLI calls alone %.1f ms): ecr-doctor %.0fx faster (goal: 100x)\n", d, m, ma, m / d }'
