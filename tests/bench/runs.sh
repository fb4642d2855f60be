#!/usr/bin/env bash
# Run times and memory against the namespace worlds: RUNS runs per world, min/median/max
# wall seconds and the max RSS (the figures scripts/bench.sh printed before issue 11).
#   tests/bench/runs.sh [RUNS]      (default 5 runs per world; binary: $BIN or the release build)
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
set -euo pipefail
RUNS="${1:-5}"

bench_setup
NS="ecrd-bench-$$"
ns_up "$NS" healthy
machine

measure() { # WORLD TIMEOUT: RUNS runs, prints min/median/max wall seconds and max RSS
    local world="$1" timeout="$2" i out times=() rss=0 r
    "$NETLAB" world "$NS" "$world" >/dev/null 2>&1
    for ((i = 0; i < RUNS; i++)); do
        out="$( { in_ns "$NS" /usr/bin/time -f '%e %M' "$BIN" --vpc "$VPC" --subnet "$SUBNET" \
            --image lab/app:1.0 --timeout "$timeout" --output json >/dev/null; } 2>&1 | tail -n 1)" || true
        times+=("${out% *}")
        r="${out#* }"; [ "$r" -gt "$rss" ] && rss="$r"
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v w="$world" -v t="$timeout" -v n="$RUNS" -v rss="$rss" \
        '{ a[NR] = $1 } END { printf "%-17s --timeout %-5s %d runs: min %.2f s, median %.2f s, max %.2f s; max RSS %.1f MiB\n", w, t, n, a[1], a[int((NR + 1) / 2)], a[NR], rss / 1024 }'
}

echo "runs: binary $BIN ($(du -h "$BIN" | cut -f1)); every run: 19 checks, --vpc, --image lab/app:1.0"
measure healthy 5s
measure public-names 2s     # every ECR and S3 name resolves to a blackholed public address
measure registry-dropped 2s
measure layer-dropped 2s
measure api-dropped 2s
measure public-names 500ms
