#!/usr/bin/env bash
# Benchmarks: figures, never assertions (tests never time anything). Needs root: they run
# against the lab's network namespaces (tests/lab/netlab.sh), and install what they need
# (tests/lab/netlab.sh install: dig, curl, GNU time, hyperfine, skopeo; the lab venv with the
# aws CLI). They use the release build ($BIN overrides it). Never run in CI.
#   scripts/bench.sh manual       ecr-doctor vs the same diagnosis with the aws CLI, dig, curl   (~5 min)
#   scripts/bench.sh worst        every ECR/S3 address drops packets: --timeout 2s vs one aws CLI call (~3 min)
#   scripts/bench.sh footprint    binary size, --version start-up, peak RSS of a healthy run     (~1 min)
#   scripts/bench.sh throughput   a 200 MB layer: ecr-doctor's download-and-verify vs curl -L   (~3 min)
#   scripts/bench.sh runs [N]     run times and memory in each namespace world                  (~2 min)
#   scripts/bench.sh all          the five above, one after the other (~12 min + the release build)
#   scripts/bench.sh devloop      cold .ci/run of a fresh clone + warm rebuild (not in all: 10+ min, 6 GB)
#   scripts/bench.sh profiles [V] release-profile variants: size, start-up (not in all: ~15 min each)
# The figures and the machine they were measured on: docs/performance.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
what="${1:-all}"
[ $# -gt 0 ] && shift
case "$what" in
    manual | worst | footprint | throughput | runs | devloop | profiles) exec "tests/bench/$what.sh" "$@" ;;
    all)
        t0=$(date +%s)
        for b in footprint manual worst throughput runs; do
            echo "== $b"
            "tests/bench/$b.sh"
        done
        echo "== all: $(($(date +%s) - t0)) s"
        ;;
    [0-9]*) exec tests/bench/runs.sh "$what" ;; # the old `scripts/bench.sh RUNS`
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
