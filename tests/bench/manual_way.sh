#!/usr/bin/env bash
# The manual way: the diagnosis ecr-doctor makes, done as people do it today, one command
# after the other with the aws CLI, dig and curl. Runs inside a lab namespace with the
# client's environment (AWS_REGION, keys, AWS_CA_BUNDLE), as the doctor does.
#   manual_way.sh VPC SUBNET REPO TAG     (aws: $AWS or the lab venv's)
# Prints one line, "manual: ok <aws ms> <data-plane ms>", or fails naming the step that did.
# The registry password lives in a shell variable and reaches curl through a config file
# descriptor: never on a command line, never printed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
AWS="${AWS:-$HERE/../lab/.venv/bin/aws}"
vpc="$1" subnet="$2" repo="$3" tag="$4"
region="${AWS_REGION:?}"
ms() { echo "$(date +%s%N)" | awk '{ printf "%.1f", $1 / 1e6 }'; }
fail() { echo "manual: failed at $*" >&2; exit 1; }
t0="$(ms)"

# --- the AWS side
"$AWS" sts get-caller-identity --output text >/dev/null || fail "sts get-caller-identity"
auth="$("$AWS" ecr get-authorization-token --output text \
    --query 'authorizationData[0].[authorizationToken,proxyEndpoint]')" || fail "ecr get-authorization-token"
token="${auth%%[[:space:]]*}"
registry="${auth##*://}"
"$AWS" ec2 describe-vpcs --vpc-ids "$vpc" --output text >/dev/null || fail "describe-vpcs"
for attr in enableDnsSupport enableDnsHostnames; do
    "$AWS" ec2 describe-vpc-attribute --vpc-id "$vpc" --attribute "$attr" --output text >/dev/null ||
        fail "describe-vpc-attribute $attr"
done
"$AWS" ec2 describe-vpc-endpoints --filters "Name=vpc-id,Values=$vpc" --output text >/dev/null ||
    fail "describe-vpc-endpoints"
"$AWS" ec2 describe-security-groups --filters "Name=vpc-id,Values=$vpc" --output text >/dev/null ||
    fail "describe-security-groups"
"$AWS" ec2 describe-route-tables --filters "Name=association.subnet-id,Values=$subnet" --output text >/dev/null ||
    fail "describe-route-tables"
t1="$(ms)"

# --- the data plane: the three names, the registry login, a manifest, its smallest layer
layer_host="prod-$region-starport-layer-bucket.s3.$region.amazonaws.com"
for h in "api.ecr.$region.amazonaws.com" "$registry" "$layer_host"; do
    [ -n "$(dig +short +time=2 +tries=1 "$h")" ] || fail "dig $h"
done
password="$(printf '%s' "$token" | base64 -d)"
password="${password#AWS:}"
creds() { printf 'user = "AWS:%s"\n' "$password"; }
curl_reg() { curl -sS --fail --max-time 60 --cacert "$AWS_CA_BUNDLE" -K <(creds) "$@"; }
curl_reg -o /dev/null "https://$registry/v2/" || fail "curl /v2/"
manifest="$(curl_reg -H 'Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' \
    "https://$registry/v2/$repo/manifests/$tag")" || fail "curl manifest"
digest="$(printf '%s' "$manifest" | python3 -c 'import json,sys; print(min(json.load(sys.stdin)["layers"], key=lambda l: l["size"])["digest"])')" ||
    fail "reading the manifest"
# -L: through the registry's redirect to the layer host (curl does not send the
# credentials to another host)
got="$(curl_reg -L "https://$registry/v2/$repo/blobs/$digest" | sha256sum)" || fail "curl layer"
[ "sha256:${got%% *}" = "$digest" ] || fail "layer digest"
t2="$(ms)"
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "manual: ok %.1f %.1f\n", b - a, c - b }'
