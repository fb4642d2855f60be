#!/usr/bin/env bash
# Worst case: the namespace world where every ECR and S3 name resolves to a public address
# that drops packets (public-names: "private DNS not in effect", no NAT). ecr-doctor with
# --timeout 2s, RUNS times: its wall time beside the bound (the timeout plus half a
# second). Then the aws CLI's time for one call (ecr get-authorization-token) in the same
# world with its defaults (60 s per connect attempt, with retries): that one measurement is
# cut at 2 minutes (`timeout 120`) and says so.
#   tests/bench/worst.sh [RUNS]     (default 5; binary: $BIN or the release build)
# Takes about 2.5 minutes (the aws CLI's capped call).
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
set -euo pipefail
RUNS="${1:-5}"
CAP=120

bench_setup
NS="ecrd-bw-$$"
ns_up "$NS" public-names
machine
echo "worst: world public-names (every ECR and S3 address drops packets), --vpc, --image lab/app:1.0"
times=()
for ((i = 1; i <= RUNS; i++)); do
    t0="$(now_ms)"
    rc=0
    in_ns "$NS" "$BIN" --vpc "$VPC" --subnet "$SUBNET" --image lab/app:1.0 --timeout 2s --output json >/dev/null || rc=$?
    t1="$(now_ms)"
    [ "$rc" = 1 ] || die "ecr-doctor exited $rc in public-names (expected 1: checks fail)"
    t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1000 }')"
    times+=("$t")
    echo "  run $i: ecr-doctor --timeout 2s: $t s"
done
med="$(printf '%s\n' "${times[@]}" | median)"
max="$(printf '%s\n' "${times[@]}" | sort -g | tail -n 1)"
awk -v m="$med" -v x="$max" 'BEGIN { printf "worst: ecr-doctor --timeout 2s: median %.2f s, max %.2f s (bound: 2.5 s; %s)\n", m, x, (x <= 2.5 ? "every run within it" : "OVER the bound") }'

t0="$(now_ms)"
rc=0
in_ns "$NS" timeout "$CAP" "$REPO/tests/lab/.venv/bin/aws" ecr get-authorization-token \
    --query 'length(authorizationData)' --output text >/dev/null 2>&1 || rc=$?
t1="$(now_ms)"
t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')"
if [ "$rc" = 124 ]; then
    echo "worst: aws ecr get-authorization-token (defaults: 60 s connect timeout, retries): still waiting after $t s, cut at the ${CAP} s cap"
else
    echo "worst: aws ecr get-authorization-token (defaults: 60 s connect timeout, retries): gave up after $t s (exit $rc)"
fi
awk -v m="$med" -v a="$t" -v capped="$([ "$rc" = 124 ] && echo 1 || echo 0)" 'BEGIN {
    printf "worst: ecr-doctor answers the whole diagnosis in %.2f s; one aws CLI call takes %s%.0f s (%s%.0fx)\n", m, (capped ? "more than " : ""), a, (capped ? "over " : ""), a / m }'
