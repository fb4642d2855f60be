#!/usr/bin/env bash
# Figures, not assertions: how long a run takes against the lab's namespace worlds, and how
# much memory it uses. Needs root (network namespaces). Prints one line per measurement.
#   scripts/bench.sh [RUNS]      (default 5 runs per world; binary: $BIN or the debug build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS="${1:-5}"
cargo build --locked --quiet
BIN="${BIN:-${CARGO_TARGET_DIR:-target}/debug/ecr-doctor}"
NS="ecrd-bench-$$"
trap 'tests/lab/netlab.sh down "$NS" >/dev/null 2>&1 || true' EXIT
NETLAB_VPC=1 tests/lab/netlab.sh up "$NS" healthy >/dev/null
read -r VPC SUBNET < <(tests/lab/.venv/bin/python -c 'import json,sys;w=json.load(open(sys.argv[1]))["vpc_worlds"]["healthy"];print(w["vpc_id"],w["subnet_id"])' "tests/lab/run/$NS/moto.ready.json")

measure() { # WORLD TIMEOUT: RUNS runs, prints min/median/max wall seconds and max RSS
    local world="$1" timeout="$2" i out times=() rss=0 r
    tests/lab/netlab.sh world "$NS" "$world" >/dev/null 2>&1
    for ((i = 0; i < RUNS; i++)); do
        out="$( { /usr/bin/time -f '%e %M' tests/lab/netlab.sh exec "$NS" "$BIN" --vpc "$VPC" --subnet "$SUBNET" \
            --image lab/app:1.0 --timeout "$timeout" --output json >/dev/null; } 2>&1 | tail -n 1)" || true
        times+=("${out% *}")
        r="${out#* }"; [ "$r" -gt "$rss" ] && rss="$r"
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v w="$world" -v t="$timeout" -v n="$RUNS" -v rss="$rss" \
        '{ a[NR] = $1 } END { printf "%-17s --timeout %-5s %d runs: min %.2f s, median %.2f s, max %.2f s; max RSS %.1f MiB\n", w, t, n, a[1], a[int((NR + 1) / 2)], a[NR], rss / 1024 }'
}

echo "binary: $BIN ($(du -h "$BIN" | cut -f1)); every run: 19 checks, --vpc, --image lab/app:1.0"
measure healthy 5s
measure public-names 2s     # every ECR and S3 name resolves to a blackholed public address
measure registry-dropped 2s
measure layer-dropped 2s
measure api-dropped 2s
measure public-names 500ms
