#!/usr/bin/env bash
# Starts the lab (moto on 127.0.0.1 with a realistic ECR token), then shows ecr-doctor
# diagnosing a healthy world and a broken one. Installs what it needs; stops the lab at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tests/lab/lab.sh install
cargo build --locked --quiet
BIN="${CARGO_TARGET_DIR:-target}/debug/ecr-doctor"
trap 'tests/lab/lab.sh stop >/dev/null 2>&1 || true' EXIT
banner() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

banner "1. A healthy machine: credentials, identity, clock, ECR token, proxy"
# shellcheck disable=SC1091
eval "$(tests/lab/lab.sh start default 2>/dev/null)"
echo "\$ ecr-doctor"
"$BIN" || true

banner "2. The same machine as JSON for a support ticket (first lines, ids redacted)"
echo "\$ ecr-doctor --output json --redact | head -20"
"$BIN" --output json --redact | head -20 || true

banner "3. A role without ecr:GetAuthorizationToken, a proxy without NO_PROXY, a clock 7 minutes behind"
eval "$(LAB_CLOCK_OFFSET=420 tests/lab/lab.sh start auth 2>/dev/null)"
read -r KEY SECRET < <(tests/lab/.venv/bin/python -c 'import json;u=json.load(open("tests/lab/run/moto.ready.json"))["users"]["lab-no-ecr-token"];print(u["access_key_id"],u["secret_access_key"])')
echo "\$ HTTPS_PROXY=http://proxy.corp:3128 NO_PROXY=127.0.0.1 ecr-doctor"
AWS_ACCESS_KEY_ID="$KEY" AWS_SECRET_ACCESS_KEY="$SECRET" HTTPS_PROXY=http://proxy.corp:3128 NO_PROXY=127.0.0.1 "$BIN" && rc=0 || rc=$?
echo "(exit status $rc)"

banner "4. Credentials that AWS does not know"
echo "\$ AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE ecr-doctor --only token.get"
AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY "$BIN" --only token.get || true
