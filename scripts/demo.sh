#!/usr/bin/env bash
# The demo: starts the lab and shows ecr-doctor diagnosing it. Installs what it needs and
# stops the lab at the end. As root it uses the network-namespace "VPC in a box" (the
# doctor runs with its normal resolver and port 443 inside a private subnet with ECR
# endpoints); otherwise only the moto part (credentials, identity, token, proxy, VPC reads).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tests/lab/lab.sh install
cargo build --locked --quiet
BIN="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug/ecr-doctor"
NS="ecrd-demo"
cleanup() {
    tests/lab/lab.sh stop >/dev/null 2>&1 || true
    [ "$(id -u)" = 0 ] && tests/lab/netlab.sh down "$NS" >/dev/null 2>&1 || true
}
trap cleanup EXIT
banner() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
world_ids() { # WORLD -> "vpc-id subnet-id" from a moto ready file
    tests/lab/.venv/bin/python -c 'import json,sys;w=json.load(open(sys.argv[1]))["vpc_worlds"][sys.argv[2]];print(w["vpc_id"],w["subnet_id"])' "$1" "$2"
}

if [ "$(id -u)" = 0 ] && tests/lab/netlab.sh check >/dev/null 2>&1; then
    tests/lab/netlab.sh install
    NETLAB_VPC=1 tests/lab/netlab.sh up "$NS" healthy >/dev/null 2>&1
    READY="tests/lab/run/$NS/moto.ready.json"
    read -r VPC SUBNET < <(world_ids "$READY" healthy)
    inside() { tests/lab/netlab.sh exec "$NS" "$BIN" "$@"; }

    banner "1. An instance in a private subnet with ECR endpoints: the whole path, from credentials to the last byte of a layer"
    echo "\$ ecr-doctor --vpc $VPC --subnet $SUBNET --image lab/app:1.0"
    inside --vpc "$VPC" --subnet "$SUBNET" --image lab/app:1.0 || true

    banner "2. The S3 path is blackholed: login and manifest work, the pull hangs on the first layer (--timeout 2s)"
    tests/lab/netlab.sh world "$NS" layer-dropped >/dev/null 2>&1
    echo "\$ ecr-doctor --vpc $VPC --subnet $SUBNET --image lab/app:1.0 --timeout 2s"
    start=$(date +%s.%N)
    inside --vpc "$VPC" --subnet "$SUBNET" --image lab/app:1.0 --timeout 2s || true
    printf '(wall time %.2f s)\n' "$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo 0)"

    banner "3. Private DNS is not in effect: every ECR name resolves to a public address"
    tests/lab/netlab.sh world "$NS" public-names >/dev/null 2>&1
    inside --vpc "$VPC" --subnet "$SUBNET" --only dns.ecr-api,dns.ecr-dkr,net.ecr-dkr --timeout 2s || true

    banner "4. Half-configured VPCs (the S3 endpoint on the wrong route table; the endpoint security group without 443)"
    tests/lab/netlab.sh world "$NS" healthy >/dev/null 2>&1
    for w in s3-not-associated sg-blocks-443; do
        read -r V S < <(world_ids "$READY" "$w")
        echo "\$ ecr-doctor --vpc $V --subnet $S --only vpc.endpoint.ecr-dkr,vpc.endpoint.s3"
        inside --vpc "$V" --subnet "$S" --only vpc.endpoint.ecr-dkr,vpc.endpoint.s3 || true
    done
else
    echo "demo: not root (or no network namespaces): showing the moto part only" >&2
fi

# the moto part runs on the host: the data-plane checks, which would resolve real names, are skipped
OFFLINE=(--skip dns.ecr-api,dns.ecr-dkr,dns.s3)
banner "5. A role without ecr:GetAuthorizationToken, a proxy without NO_PROXY, a clock 7 minutes behind"
eval "$(LAB_CLOCK_OFFSET=420 tests/lab/lab.sh start auth 2>/dev/null)"
read -r KEY SECRET < <(tests/lab/.venv/bin/python -c 'import json;u=json.load(open("tests/lab/run/moto.ready.json"))["users"]["lab-no-ecr-token"];print(u["access_key_id"],u["secret_access_key"])')
echo "\$ HTTPS_PROXY=http://proxy.corp:3128 NO_PROXY=127.0.0.1 ecr-doctor"
AWS_ACCESS_KEY_ID="$KEY" AWS_SECRET_ACCESS_KEY="$SECRET" HTTPS_PROXY=http://proxy.corp:3128 NO_PROXY=127.0.0.1 \
    "$BIN" "${OFFLINE[@]}" && rc=0 || rc=$?
echo "(exit status $rc)"

banner "6. Credentials that AWS does not know, as JSON for a ticket (ids redacted)"
echo "\$ AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE ecr-doctor --only identity.caller --output json --redact"
AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY \
    "$BIN" --only identity.caller --output json --redact || true
