#!/usr/bin/env bash
# ecr-doctor test lab: offline AWS stand-ins on 127.0.0.1.
#
#   lab.sh install          venv at tests/lab/.venv with moto[server] 5.2, boto3, jsonschema, PyYAML,
#                           cfn-lint (lints the CloudFormation of --fix-format) and the aws CLI v1
#                           (awscli 1.46: the benchmarks' manual way) (idempotent)
#   lab.sh start [WORLD]    install, start moto_lab.py in the background, wait until seeded,
#                           print `export ...` lines (also written to tests/lab/run/env.sh)
#                           usage: eval "$(tests/lab/lab.sh start)"
#   lab.sh stop             stop the lab (by recorded PID)
#   lab.sh status           exit 0 and print the endpoint if running, else exit 1
# AWS_DEFAULT_REGION is exported too (boto3/aws-cli read only that one; the Rust SDK reads AWS_REGION first).
#
# Worlds: default (no auth enforcement), auth (IAM evaluated: unknown keys rejected,
# lab-no-ecr-token denied ecr:GetAuthorizationToken),
# vpc (default + the VPC worlds + IMDSv2 and ECS metadata stand-ins; the printed env is an
# EC2 instance's in the `healthy` VPC world: AWS_EC2_METADATA_SERVICE_ENDPOINT set, no
# static keys, so credentials come from IMDS), vpc-ecs (same lab; the printed env is a
# Fargate task's: ECS_CONTAINER_METADATA_URI_V4 + AWS_CONTAINER_CREDENTIALS_FULL_URI,
# no static keys, IMDS disabled). Ids of everything are in tests/lab/run/moto.ready.json.
# Environment: LAB_PORT (default 4566; 0 = any free port), LAB_CLOCK_OFFSET (seconds added
# to the server's Date header, default 0), LAB_ENFORCE_AUTH=1 (same as world `auth`),
# LAB_TOKEN_TTL_SECONDS (ECR token lifetime, default 43200; negative = expired),
# LAB_VPC=1 (add the VPC worlds to any world), LAB_IMDS_PORT / LAB_ECS_PORT (start the
# IMDS / ECS stand-in on that port, 0 = any; worlds vpc* default both to 0). Only worlds
# vpc and vpc-ecs change the printed env; otherwise read ports from the ready file.
set -euo pipefail

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$LAB_DIR/.venv"
PY="$VENV/bin/python"
RUN="$LAB_DIR/run"
STAMP="$VENV/.installed-v4"
MOTO_PID="$RUN/moto.pid"
MOTO_READY="$RUN/moto.ready.json"
MOTO_LOG="$RUN/moto.log"
ENV_FILE="$RUN/env.sh"

die() { echo "lab.sh: $*" >&2; exit 1; }
say() { echo "lab.sh: $*" >&2; }

# shellcheck source=tests/lab/common.sh
. "$LAB_DIR/common.sh"

cmd_install() {
    if [ -f "$STAMP" ] && [ -x "$PY" ]; then
        return 0
    fi
    say "creating venv $VENV"
    [ -x "$PY" ] || python3 -m venv "$VENV" >&2
    "$PY" -m pip install -q --disable-pip-version-check 'moto[server]==5.2.*' boto3 jsonschema pyyaml 'cfn-lint==1.58.0' 'awscli==1.46.*' >&2
    touch "$STAMP"
}

# pid_alive PIDFILE: true if the PID in PIDFILE is a live moto_lab.py process.
pid_alive() {
    local f="$1" pid
    [ -f "$f" ] || return 1
    pid="$(cat "$f")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "moto_lab.py"
}

# world_args WORLD: extra moto_lab.py arguments for a world (later parts add worlds here).
world_args() {
    case "$1" in
        default) ;;
        auth) echo "--enforce-auth" ;;
        vpc | vpc-ecs) echo "--vpc-worlds" ;;
        *) die "unknown world '$1' (known: default, auth, vpc, vpc-ecs)" ;;
    esac
}

json_get() { # json_get FILE PYTHON-EXPR-ON-d
    "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

cmd_start() {
    local world="${1:-default}" port="${LAB_PORT:-4566}" args
    args="$(world_args "$world")"
    if [ "${LAB_ENFORCE_AUTH:-0}" = "1" ]; then args="$args --enforce-auth"; fi
    if [ -n "${LAB_CLOCK_OFFSET:-}" ]; then args="$args --clock-offset ${LAB_CLOCK_OFFSET}"; fi
    if [ "${LAB_VPC:-0}" = "1" ]; then args="$args --vpc-worlds"; fi
    local imds_port="${LAB_IMDS_PORT:-}" ecs_port="${LAB_ECS_PORT:-}"
    case "$world" in vpc | vpc-ecs) imds_port="${imds_port:-0}" ecs_port="${ecs_port:-0}" ;; esac
    if [ -n "$imds_port" ]; then args="$args --imds-port $imds_port"; fi
    if [ -n "$ecs_port" ]; then args="$args --ecs-port $ecs_port"; fi
    cmd_install
    mkdir -p "$RUN"
    if pid_alive "$MOTO_PID"; then
        say "lab already running (pid $(cat "$MOTO_PID")); restarting"
        cmd_stop
    fi
    rm -f "$MOTO_READY" "$MOTO_PID" "$ENV_FILE"
    : >"$MOTO_LOG"
    # The python process itself is the background job, so $! is its own PID.
    # shellcheck disable=SC2086
    "$PY" "$LAB_DIR/moto_lab.py" --port "$port" --ready-file "$MOTO_READY" $args \
        </dev/null >>"$MOTO_LOG" 2>&1 &
    echo $! >"$MOTO_PID"
    local pid i
    pid="$(cat "$MOTO_PID")"
    for ((i = 0; i < 300; i++)); do
        [ -f "$MOTO_READY" ] && break
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$MOTO_LOG" >&2 || true
            rm -f "$MOTO_PID"
            die "moto_lab.py exited before it was ready (log: $MOTO_LOG)"
        fi
        sleep 0.1
    done
    [ -f "$MOTO_READY" ] || { tail -n 20 "$MOTO_LOG" >&2; cmd_stop; die "moto not ready after 30 s"; }
    echo "$world" >"$RUN/world"

    local endpoint key secret
    endpoint="$(json_get "$MOTO_READY" 'd["endpoint"]')"
    key="$(json_get "$MOTO_READY" 'd["users"]["lab-healthy"]["access_key_id"]')"
    secret="$(json_get "$MOTO_READY" 'd["users"]["lab-healthy"]["secret_access_key"]')"
    {
        echo "export AWS_ENDPOINT_URL='$endpoint'"
        echo "export AWS_REGION='us-east-1'"
        echo "export AWS_DEFAULT_REGION='us-east-1'"
        case "$world" in
            vpc)
                echo "export AWS_EC2_METADATA_SERVICE_ENDPOINT='$(json_get "$MOTO_READY" 'd["imds"]["endpoint"]')'"
                echo "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED"
                echo "unset ECS_CONTAINER_METADATA_URI_V4 AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
                ;;
            vpc-ecs)
                echo "export ECS_CONTAINER_METADATA_URI_V4='$(json_get "$MOTO_READY" 'd["ecs"]["metadata_uri"]')'"
                echo "export AWS_CONTAINER_CREDENTIALS_FULL_URI='$(json_get "$MOTO_READY" 'd["ecs"]["credentials_uri"]')'"
                echo "export AWS_EC2_METADATA_DISABLED='true'"
                echo "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_AUTHORIZATION_TOKEN"
                ;;
            *)
                echo "export AWS_ACCESS_KEY_ID='$key'"
                echo "export AWS_SECRET_ACCESS_KEY='$secret'"
                echo "export AWS_EC2_METADATA_DISABLED='true'"
                ;;
        esac
        echo "unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN"
    } >"$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
    cat "$ENV_FILE"
    say "moto ready at $endpoint (world $world, pid $pid)"
}

cmd_stop() {
    if pid_alive "$MOTO_PID"; then
        local pid i
        pid="$(cat "$MOTO_PID")"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "pid $pid ignored SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        say "stopped moto (pid $pid)"
    fi
    rm -f "$MOTO_PID" "$MOTO_READY" "$ENV_FILE" "$RUN/world"
}

cmd_status() {
    if pid_alive "$MOTO_PID" && [ -f "$MOTO_READY" ]; then
        echo "moto: running pid $(cat "$MOTO_PID") at $(json_get "$MOTO_READY" 'd["endpoint"]') world $(cat "$RUN/world" 2>/dev/null || echo '?')"
        json_get "$MOTO_READY" '"\n".join(x for x in ["imds: " + d["imds"]["endpoint"] if "imds" in d else "", "ecs: " + d["ecs"]["metadata_uri"] if "ecs" in d else "", "vpc worlds: %d" % len(d["vpc_worlds"]) if "vpc_worlds" in d else ""] if x)' | sed '/^$/d'
        return 0
    fi
    echo "moto: not running"
    return 1
}

case "${1:-}" in
    install) cmd_install ;;
    start) shift; cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: $0 install | start [WORLD] | stop | status" >&2; exit 2 ;;
esac
