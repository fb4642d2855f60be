#!/usr/bin/env bash
# Layer throughput: a 200 MB layer (lab/big:1.0, pushed into the namespace's registry the way
# the lab seeds its images: tests/bench/push_big.py) downloaded and verified by ecr-doctor
# (image.layer-download: through the registry's 307 to the layer host, SHA-256 while it
# streams) against `curl -L` of the same blob to /dev/null, alternately, RUNS times each.
# The doctor's figure is its own (facts bytes / elapsed_ms of the layer GET); curl's is its
# speed_download over the whole -L transfer. Also the doctor's peak RSS while it streams the
# 200 MB (no whole-layer buffering: it stays far below the layer's size).
#   tests/bench/throughput.sh [RUNS] [SIZE]     (default 5 runs, 200000000 bytes)
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
set -euo pipefail

if [ "${1:-}" = --inside ]; then # --inside RUNS BIN DIGEST: the loop, in the namespace
    runs="$2" bin="$3" digest="$4"
    registry="123456789012.dkr.ecr.$AWS_REGION.amazonaws.com"
    token="$("$REPO/tests/lab/.venv/bin/aws" ecr get-authorization-token --output text \
        --query 'authorizationData[0].authorizationToken')"
    password="$(printf '%s' "$token" | base64 -d)"
    password="${password#AWS:}"
    creds() { printf 'user = "AWS:%s"\n' "$password"; }
    for ((i = 1; i <= runs; i++)); do
        out="$(/usr/bin/time -f 'RSS %M' "$bin" --image lab/big:1.0 --only image.layer-download \
            --timeout 60s --output json 2>&1 >"$BENCH_HOME/report.json")" || die "ecr-doctor failed: $out"
        "$LABPY" - "$BENCH_HOME/report.json" "$digest" "${out##*RSS }" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
c = next(c for c in r["checks"] if c["id"] == "image.layer-download")
f = c["facts"]
assert c["status"] == "pass" and f["digest"] == sys.argv[2], (c["status"], c.get("code"))
print("doctor %d %.3f %s" % (f["bytes"], f["elapsed_ms"] / 1000, sys.argv[3]))
EOF
        curl -sS --fail -L --max-time 300 --cacert "$AWS_CA_BUNDLE" -K <(creds) -o /dev/null \
            -w 'curl %{size_download} %{time_total}\n' "https://$registry/v2/lab/big/blobs/$digest" ||
            die "curl failed"
    done
    exit 0
fi

RUNS="${1:-5}"
SIZE="${2:-200000000}"
bench_setup
NS="ecrd-bt-$$"
ns_up "$NS" healthy
machine
t0="$(now_ms)"
pushed="$(in_ns "$NS" "$LABPY" "$REPO/tests/bench/push_big.py" "$REPO/tests/lab/run/$NS" "$SIZE")" ||
    die "pushing lab/big:1.0 failed"
t1="$(now_ms)"
read -r digest lsize < <("$LABPY" -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["layer_digest"], d["layer_size"])' "$pushed")
awk -v s="$lsize" -v a="$t0" -v b="$t1" 'BEGIN { printf "throughput: lab/big:1.0 pushed, one layer of %d bytes (%.1f MiB), in %.0f s\n", s, s / 1048576, (b - a) / 1000 }'
# one untimed round: moto's first read of the object, the page cache
in_ns "$NS" "$REPO/tests/bench/throughput.sh" --inside 1 "$BIN" "$digest" >/dev/null
log="$(mktemp)"
in_ns "$NS" "$REPO/tests/bench/throughput.sh" --inside "$RUNS" "$BIN" "$digest" >"$log"
awk '$1 == "doctor" { printf "  ecr-doctor: %d bytes in %.3f s = %7.1f MiB/s (peak RSS %.1f MiB)\n", $2, $3, $2 / $3 / 1048576, $4 / 1024 }
     $1 == "curl"   { printf "  curl -L:    %d bytes in %.3f s = %7.1f MiB/s\n", $2, $3, $2 / $3 / 1048576 }' "$log"
d="$(awk '$1 == "doctor" { print $2 / $3 / 1048576 }' "$log" | median)"
c="$(awk '$1 == "curl" { print $2 / $3 / 1048576 }' "$log" | median)"
r="$(awk '$1 == "doctor" { print $4 / 1024 }' "$log" | sort -g | tail -n 1)"
rm -f "$log"
awk -v d="$d" -v c="$c" -v r="$r" 'BEGIN { printf "throughput: median ecr-doctor %.1f MiB/s (download and SHA-256), median curl -L %.1f MiB/s: %.2fx curl (goal: at least 0.95x); doctor peak RSS %.1f MiB\n", d, c, d / c, r }'
