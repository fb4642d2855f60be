#!/usr/bin/env bash
# Footprint: the release binary's size, its `--version` start-up time (hyperfine, without a
# shell; a loop of 200 runs if hyperfine is missing) and the peak RSS of a full healthy run
# (GNU time -v: 19 checks, --vpc, --image lab/app:1.0, in the namespace lab).
#   tests/bench/footprint.sh [RUNS]     (default 5 healthy runs; binary: $BIN or the release build)
# Goals (issue 11): under 15 MB, under 5 ms, under 25 MiB.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
set -euo pipefail
RUNS="${1:-5}"

bench_setup
machine
bytes="$(stat -c %s "$BIN")"
awk -v b="$bytes" -v f="$BIN" 'BEGIN { printf "footprint: binary %s: %d bytes = %.1f MB = %.1f MiB (goal: under 15 MB)\n", f, b, b / 1e6, b / 1048576 }'

# start-up: --version, no network, no AWS configuration read
if command -v hyperfine >/dev/null; then
    json="$(mktemp)"
    hyperfine -N --warmup 20 --runs 300 --export-json "$json" "$BIN --version" >/dev/null 2>&1
    "$LABPY" - "$json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("footprint: --version start-up (hyperfine -N, 300 runs): mean %.2f ms ± %.2f, median %.2f ms, min %.2f ms (goal: under 5 ms)"
      % (r["mean"] * 1e3, r["stddev"] * 1e3, r["median"] * 1e3, r["min"] * 1e3))
EOF
    rm -f "$json"
else
    t0="$(now_ms)"
    for ((i = 0; i < 200; i++)); do "$BIN" --version >/dev/null; done
    t1="$(now_ms)"
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "footprint: --version start-up (loop of 200, no hyperfine): mean %.2f ms (goal: under 5 ms)\n", (b - a) / 200 }'
fi

# peak RSS of a full healthy run
NS="ecrd-bf-$$"
ns_up "$NS" healthy
rss=()
for ((i = 1; i <= RUNS; i++)); do
    out="$(in_ns "$NS" /usr/bin/time -v "$BIN" --vpc "$VPC" --subnet "$SUBNET" --image lab/app:1.0 \
        --output json 2>&1 >/dev/null)" || die "ecr-doctor failed in the healthy world"
    rss+=("$(awk -F': ' '/Maximum resident set size/ { print $2 }' <<<"$out")")
done
printf '%s\n' "${rss[@]}" | sort -n | awk -v n="$RUNS" '{ a[NR] = $1 } END {
    printf "footprint: peak RSS of a full healthy run (/usr/bin/time -v, %d runs): median %.1f MiB, max %.1f MiB (goal: under 25 MiB)\n", n, a[int((NR + 1) / 2)] / 1024, a[NR] / 1024 }'
