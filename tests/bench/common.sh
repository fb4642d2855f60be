# Shared by the benchmarks of tests/bench (sourced). Figures, never assertions: each script
# prints what it measured, one line per figure. Run them through scripts/bench.sh.
# Needs root for the namespace lab (tests/lab/netlab.sh); installs what it needs with
# tests/lab/netlab.sh install (Debian packages + the lab venv with the aws CLI).

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
NETLAB="$REPO/tests/lab/netlab.sh"
LABPY="$REPO/tests/lab/.venv/bin/python"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"

say() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

# bench_setup: root, installs, the release binary ($BIN overrides it).
bench_setup() {
    [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
    "$NETLAB" install >/dev/null
    if [ -z "${BIN:-}" ]; then
        cargo build --release --locked --quiet
        BIN="$TARGET/release/ecr-doctor"
    fi
    [ -x "$BIN" ] || die "no binary at $BIN"
}

# machine: one line saying where the figures come from.
machine() {
    printf 'machine: %s cores, %s, %s MiB memory; load: %s\n' "$(nproc)" \
        "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
        "$(awk '/^MemTotal/ { print int($2 / 1024) }' /proc/meminfo)" \
        "$(uptime | sed 's/.*load average: //')"
}

# ns_up NS WORLD: a namespace with moto's VPC worlds, taken down when the script exits.
# Sets VPC and SUBNET (moto's healthy VPC world: the namespace's addresses are in its CIDR).
BENCH_NS=()
bench_cleanup() {
    local ns
    for ns in "${BENCH_NS[@]}"; do "$NETLAB" down "$ns" >/dev/null 2>&1 || true; done
    rm -rf "$BENCH_HOME"
}
trap bench_cleanup EXIT
ns_up() {
    local ns="$1" world="$2"
    BENCH_NS+=("$ns")
    NETLAB_VPC=1 "$NETLAB" up "$ns" "$world" >/dev/null 2>&1 || die "netlab.sh up $ns $world failed"
    read -r VPC SUBNET < <("$LABPY" -c 'import json,sys;w=json.load(open(sys.argv[1]))["vpc_worlds"]["healthy"];print(w["vpc_id"],w["subnet_id"])' \
        "tests/lab/run/$ns/moto.ready.json")
}

# in_ns NS CMD...: CMD inside NS with the lab's client environment (tests/lab/run/NS/env.sh),
# an empty HOME and no AWS configuration files: the doctor, the aws CLI and curl all run so.
BENCH_HOME="$(mktemp -d /tmp/ecrd-bench-home.XXXXXX)"
in_ns() {
    local ns="$1"
    shift
    HOME="$BENCH_HOME" AWS_CONFIG_FILE="$BENCH_HOME/no-config" \
        AWS_SHARED_CREDENTIALS_FILE="$BENCH_HOME/no-credentials" "$NETLAB" exec "$ns" "$@"
}

# median: the median of the numbers on stdin (one a line; the lower middle of an even count).
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }

# now_ms: wall clock in milliseconds (fractional).
now_ms() { echo "$(date +%s%N)" | awk '{ printf "%.1f", $1 / 1e6 }'; }
