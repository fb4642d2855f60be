#!/usr/bin/env bash
# Self-test of tests/lab/netlab.sh: brings up a namespace, walks every world, checks from
# inside the namespace (system resolver + lab CA only) what a client would see, then tears
# it down. Ends with "N passed, N failed"; exit status 1 if anything failed.
#
#   tests/lab/net/selftest.sh [WORLD...]      (default: every world)
# Environment: NETLAB_TEST_NS (default nlselftest), NETLAB_TEST_NS2 (second namespace for
# the "two at once" check, default nlselftest2; empty = skip), KEEP=1 (leave NS up).
set -uo pipefail

NET_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB_DIR="$(dirname "$NET_DIR")"
NETLAB="$LAB_DIR/netlab.sh"
PY="$LAB_DIR/.venv/bin/python"
NS="${NETLAB_TEST_NS:-nlselftest}"
NS2="${NETLAB_TEST_NS2-nlselftest2}"
D="$LAB_DIR/run/$NS"
REG=123456789012.dkr.ecr.us-east-1.amazonaws.com
API=api.ecr.us-east-1.amazonaws.com
LAYER=prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com
WORLDS=("$@")
[ ${#WORLDS[@]} -gt 0 ] || WORLDS=(healthy registry-dropped registry-refused layer-dropped api-dropped public-names wrong-cert wrong-token corrupt-blob)

PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "  ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "  FAIL $*"; }
# expect LABEL WANT GOT
expect() { if [ "$2" = "$3" ]; then ok "$1 = $3"; else bad "$1: want '$2', got '$3'"; fi; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

inns() { ip netns exec "$NS" "$@"; }                       # raw, no env.sh
inenv() { "$NETLAB" exec "$NS" "$@"; }                      # with env.sh
jq_() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$D/lab.json" "$1"; }

# curl_code URL [curl args]: "<exit>:<http_code>" with 2 s connect timeout, 5 s overall.
curl_code() {
    local url="$1" out rc
    shift
    out="$(inns curl -s -o /dev/null -w '%{http_code}' --connect-timeout 2 --max-time 5 \
        --cacert "$D/ca.pem" "$@" "$url")"
    rc=$?
    echo "$rc:$out"
}

dns_checks() { # dns_checks WORLD
    local w="$1" dkr=10.1.1.11 api=10.1.1.10 s3=198.18.0.10
    if [ "$w" = public-names ]; then dkr=198.18.0.20 api=198.18.0.20 s3=198.18.0.20; fi
    expect "dns A $REG" "NOERROR $dkr" "$(inns "$PY" "$NET_DIR/nettool.py" dns "$REG" A)"
    expect "dns AAAA $REG (NODATA)" "NOERROR -" "$(inns "$PY" "$NET_DIR/nettool.py" dns "$REG" AAAA)"
    expect "dns A $API" "NOERROR $api" "$(inns "$PY" "$NET_DIR/nettool.py" dns "$API" A)"
    expect "dns AAAA $API (NODATA)" "NOERROR -" "$(inns "$PY" "$NET_DIR/nettool.py" dns "$API" AAAA)"
    expect "dns A $LAYER" "NOERROR $s3" "$(inns "$PY" "$NET_DIR/nettool.py" dns "$LAYER" A)"
    expect "dns A sts" "NOERROR 10.1.1.12" "$(inns "$PY" "$NET_DIR/nettool.py" dns sts.us-east-1.amazonaws.com A)"
    expect "dns A ec2" "NOERROR 10.1.1.13" "$(inns "$PY" "$NET_DIR/nettool.py" dns ec2.us-east-1.amazonaws.com A)"
    expect "dns A unknown.amazonaws.com" "NXDOMAIN -" "$(inns "$PY" "$NET_DIR/nettool.py" dns nope.us-east-1.amazonaws.com A)"
    expect "dns A example.com" "NXDOMAIN -" "$(inns "$PY" "$NET_DIR/nettool.py" dns example.com A)"
    expect "system resolver (getent) $REG" "$dkr" "$(inns getent ahostsv4 "$REG" | awk 'NR==1{print $1}')"
}

registry_checks() { # registry_checks WORLD
    local w="$1" pw t0 el r
    pw="$(cat "$D/token.password")"
    t0=$(ms)
    r="$(curl_code "https://$REG/v2/")"
    el=$(( $(ms) - t0 ))
    case "$w" in
        registry-dropped|public-names)
            expect "GET /v2/ hangs (curl 28 connect timeout)" "28:000" "$r"
            if [ "$el" -ge 1900 ]; then ok "hang lasted ${el} ms (>= 2 s timeout)"; else bad "hang lasted only ${el} ms"; fi
            return ;;
        registry-refused)
            expect "GET /v2/ refused (curl 7)" "7:000" "$r"
            if [ "$el" -lt 1000 ]; then ok "refused in ${el} ms"; else bad "refused took ${el} ms"; fi
            return ;;
        wrong-cert)
            expect "GET /v2/ with lab CA: certificate rejected (curl 60)" "60:000" "$r"
            expect "GET /v2/ -k (cert ignored) still 401" "0:401" "$(curl_code "https://$REG/v2/" -k)"
            local iss
            iss="$(inns bash -c "openssl s_client -connect $REG:443 -servername $REG </dev/null 2>/dev/null | openssl x509 -noout -issuer")"
            case "$iss" in *"ecr-doctor lab CA"*) bad "issuer is the lab CA: $iss" ;; *) ok "issuer not the lab CA ($iss)" ;; esac
            return ;;
    esac
    expect "GET /v2/ without auth" "0:401" "$r"
    expect "GET /v2/ wrong password" "0:401" "$(curl_code "https://$REG/v2/" -u AWS:wrong)"
    if [ "$w" = wrong-token ]; then
        expect "GET /v2/ AWS:<token password> refused" "0:401" "$(curl_code "https://$REG/v2/" -u "AWS:$pw")"
        return
    fi
    expect "GET /v2/ AWS:<token password>" "0:200" "$(curl_code "https://$REG/v2/" -u "AWS:$pw")"

    local mdig hdr
    mdig="$(jq_ 'd["images"]["lab/app:1.0"]["digest"]')"
    hdr="$(inns curl -s --cacert "$D/ca.pem" -u "AWS:$pw" --max-time 5 \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        -D - -o "$D/selftest.manifest" "https://$REG/v2/lab/app/manifests/1.0")"
    expect "manifest lab/app:1.0 status" "200" "$(echo "$hdr" | awk 'NR==1{print $2}')"
    expect "manifest Docker-Content-Digest" "$mdig" "$(echo "$hdr" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')"
    expect "manifest sha256(body)" "$mdig" "sha256:$(sha256sum <"$D/selftest.manifest" | cut -d' ' -f1)"
    expect "manifest Content-Type" "application/vnd.docker.distribution.manifest.v2+json" \
        "$(echo "$hdr" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-type"{print $2}')"
    local ldig
    ldig="$(jq_ 'd["images"]["lab/multi:1.0"]["digest"]')"
    expect "manifest list lab/multi:1.0" "0:200 $ldig" "$(inns curl -s --cacert "$D/ca.pem" -u "AWS:$pw" --max-time 5 \
        -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' -o /dev/null \
        -w '%{exitcode}:%{http_code} %header{docker-content-digest}' "https://$REG/v2/lab/multi/manifests/1.0")"

    # Smaller layer (the one corrupt-blob changes): 307 to the layer host, then the bytes.
    local lay lsz code loc rc got
    lay="$(jq_ 'min(d["images"]["lab/app:1.0"]["layers"], key=lambda x: x["size"])["digest"]')"
    lsz="$(jq_ 'min(d["images"]["lab/app:1.0"]["layers"], key=lambda x: x["size"])["size"]')"
    read -r code loc < <(inns curl -s --cacert "$D/ca.pem" -u "AWS:$pw" --max-time 5 -o /dev/null \
        -w '%{http_code} %{redirect_url}\n' "https://$REG/v2/lab/app/blobs/$lay")
    expect "blob GET status" "307" "$code"
    expect "blob Location" "https://$LAYER/docker/registry/v2/blobs/sha256/${lay:7:2}/${lay:7}/data" "$loc"
    t0=$(ms)
    inns curl -s --cacert "$D/ca.pem" --connect-timeout 2 --max-time 5 -o "$D/selftest.blob" "$loc"
    rc=$?
    el=$(( $(ms) - t0 ))
    case "$w" in
        layer-dropped)
            expect "layer download hangs (curl 28)" 28 "$rc"
            if [ "$el" -ge 1900 ]; then ok "hang lasted ${el} ms"; else bad "hang lasted only ${el} ms"; fi ;;
        corrupt-blob)
            expect "layer download (curl exit)" 0 "$rc"
            expect "layer size unchanged" "$lsz" "$(stat -c %s "$D/selftest.blob")"
            got="sha256:$(sha256sum <"$D/selftest.blob" | cut -d' ' -f1)"
            if [ "$got" != "$lay" ]; then ok "layer sha256 does NOT match digest (corrupt)"; else bad "layer sha256 matches in corrupt-blob"; fi ;;
        *)
            expect "layer download (curl exit)" 0 "$rc"
            expect "layer sha256" "$lay" "sha256:$(sha256sum <"$D/selftest.blob" | cut -d' ' -f1)"
            # the larger layer too, following the redirect (curl drops -u on the other host)
            local big
            big="$(jq_ 'max(d["images"]["lab/app:1.0"]["layers"], key=lambda x: x["size"])["digest"]')"
            expect "large layer via -L sha256" "$big" "sha256:$(inns curl -sL --cacert "$D/ca.pem" -u "AWS:$pw" --max-time 5 \
                "https://$REG/v2/lab/app/blobs/$big" | sha256sum | cut -d' ' -f1)" ;;
    esac
    rm -f "$D/selftest.blob" "$D/selftest.manifest"
}

public_checks() { # public_checks WORLD: the public.ecr.aws stand-in (healthy, wrong-token)
    local w="$1" pw tok scoped lay code loc pub=public.ecr.aws
    case "$w" in healthy|wrong-token) ;; *) return ;; esac
    pw="$(cat "$D/token.password")"
    expect "dns A $pub" "NOERROR 198.18.0.30" "$(inns "$PY" "$NET_DIR/nettool.py" dns "$pub" A)"
    expect "dns A api.ecr-public" "NOERROR 198.18.0.31" "$(inns "$PY" "$NET_DIR/nettool.py" dns api.ecr-public.us-east-1.amazonaws.com A)"
    expect "public /v2/ without auth" "0:401" "$(curl_code "https://$pub/v2/")"
    expect "public /v2/ challenge" 'Bearer realm="https://public.ecr.aws/token/",service="public.ecr.aws",scope="aws"' \
        "$(inns curl -s --cacert "$D/ca.pem" --max-time 5 -o /dev/null -w '%header{www-authenticate}' "https://$pub/v2/")"
    expect "public /v2/ Basic (not Bearer)" "0:401" "$(curl_code "https://$pub/v2/" -u "AWS:$pw")"
    expect "public token wrong password" "0:401" "$(curl_code "https://$pub/token/" -u AWS:wrong)"
    # the ECR Public token of moto (lab extension 40) carries the lab password
    expect "boto3 ecr-public token" "lab" "$(inenv "$PY" -c '
import base64, os, boto3
t = boto3.client("ecr-public", region_name="us-east-1").get_authorization_token()["authorizationData"]
pw = base64.b64decode(t["authorizationToken"]).decode().split(":", 1)[1]
print("lab" if pw == open(os.environ["NETLAB_DIR"] + "/token.password").read().strip() else "other")' 2>&1)"
    if [ "$w" = wrong-token ]; then
        expect "public token with the token password (wrong-token: refused)" "0:401" \
            "$(curl_code "https://$pub/token/?service=$pub" -u "AWS:$pw")"
        return
    fi
    tok="$(inns curl -s --cacert "$D/ca.pem" --max-time 5 -u "AWS:$pw" "https://$pub/token/?service=$pub" |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
    scoped="$(inns curl -s --cacert "$D/ca.pem" --max-time 5 -u "AWS:$pw" \
        "https://$pub/token/?service=$pub&scope=repository%3Alab%2Fapp%3Apull" |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
    expect "public /v2/ Bearer" "0:200" "$(curl_code "https://$pub/v2/" -H "Authorization: Bearer $tok")"
    expect "public manifest, token without the scope" "0:401" "$(curl_code "https://$pub/v2/lab/app/manifests/1.0" -H "Authorization: Bearer $tok")"
    expect "public manifest, scoped token" "0:200 $(jq_ 'd["images"]["lab/app:1.0"]["digest"]')" \
        "$(inns curl -s --cacert "$D/ca.pem" --max-time 5 -H "Authorization: Bearer $scoped" \
            -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' -o /dev/null \
            -w '%{exitcode}:%{http_code} %header{docker-content-digest}' "https://$pub/v2/lab/app/manifests/1.0")"
    lay="$(jq_ 'min(d["images"]["lab/app:1.0"]["layers"], key=lambda x: x["size"])["digest"]')"
    read -r code loc < <(inns curl -s --cacert "$D/ca.pem" --max-time 5 -o /dev/null \
        -H "Authorization: Bearer $scoped" -w '%{http_code} %{redirect_url}\n' "https://$pub/v2/lab/app/blobs/$lay")
    expect "public blob status (307 passed through)" "307" "$code"
    expect "public blob Location" "https://$LAYER/docker/registry/v2/blobs/sha256/${lay:7:2}/${lay:7}/data" "$loc"
}

api_checks() { # api_checks WORLD: boto3 over the real names with AWS_CA_BUNDLE only
    local w="$1" out
    out="$(inenv "$PY" - <<'EOF' 2>&1
import base64, os, boto3
from botocore.config import Config
cfg = Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1, "mode": "standard"})
assert "AWS_ENDPOINT_URL" not in os.environ
res = []
try:
    res.append("sts=" + boto3.client("sts", config=cfg).get_caller_identity()["Arn"].split("/")[-1])
except Exception as e:
    res.append("sts=ERR:" + type(e).__name__)
try:
    ecr = boto3.client("ecr", config=cfg)
    t = ecr.get_authorization_token()["authorizationData"][0]
    pw = base64.b64decode(t["authorizationToken"]).decode().split(":", 1)[1]
    same = pw == open(os.environ["NETLAB_DIR"] + "/token.password").read().strip()
    res.append(f"ecr_token={'lab' if same else 'other'}")
except Exception as e:
    res.append("ecr_token=ERR:" + type(e).__name__)
try:
    boto3.client("ec2", config=cfg).describe_vpcs()
    res.append("ec2=ok")
except Exception as e:
    res.append("ec2=ERR:" + type(e).__name__)
print(" ".join(res))
EOF
)"
    case "$w" in
        api-dropped) expect "boto3 sts/ecr/ec2 over real names" "sts=lab-healthy ecr_token=ERR:ConnectTimeoutError ec2=ok" "$out" ;;
        public-names) expect "boto3 sts/ecr/ec2 over real names" "sts=lab-healthy ecr_token=ERR:ConnectTimeoutError ec2=ok" "$out" ;;
        *) expect "boto3 sts/ecr/ec2 over real names" "sts=lab-healthy ecr_token=lab ec2=ok" "$out" ;;
    esac
}

echo "== netlab check"
if "$NETLAB" check; then ok "netlab check"; else bad "netlab check"; echo "0 passed, 1 failed"; exit 1; fi

echo "== up $NS"
t0=$(ms)
if "$NETLAB" up "$NS" healthy >"$LAB_DIR/run/selftest-up.log" 2>&1; then
    ok "up in $(( $(ms) - t0 )) ms"
else
    bad "up failed:"; tail -n 20 "$LAB_DIR/run/selftest-up.log"; echo "$PASS passed, $FAIL failed"; exit 1
fi
rss=0
for f in "$D"/pids/*.pid; do
    r="$(ps -o rss= -p "$(cat "$f")" 2>/dev/null | tr -d ' ')"
    echo "  rss $(basename "$f" .pid): $((${r:-0} / 1024)) MiB"
    rss=$((rss + ${r:-0}))
done
echo "  rss total: $((rss / 1024)) MiB"

for w in "${WORLDS[@]}"; do
    echo "== world $w"
    t0=$(ms)
    if "$NETLAB" world "$NS" "$w" >/dev/null 2>"$LAB_DIR/run/selftest-world.log"; then
        ok "switched in $(( $(ms) - t0 )) ms"
    else
        bad "world $w: $(tail -n 3 "$LAB_DIR/run/selftest-world.log")"; continue
    fi
    expect "lab.json world" "$w" "$(jq_ 'd["world"]')"
    dns_checks "$w"
    registry_checks "$w"
    public_checks "$w"
    api_checks "$w"
done

if [ -n "$NS2" ]; then
    echo "== two namespaces at once ($NS + $NS2)"
    "$NETLAB" world "$NS" healthy >/dev/null 2>&1
    if "$NETLAB" up "$NS2" registry-dropped >/dev/null 2>"$LAB_DIR/run/selftest-up2.log"; then
        ok "up $NS2 while $NS is up"
        expect "$NS /v2/ (healthy)" "0:401" "$(curl_code "https://$REG/v2/")"
        expect "$NS2 /v2/ (registry-dropped)" "000:28" "$(ip netns exec "$NS2" curl -s -o /dev/null -w '%{http_code}' \
            --connect-timeout 2 --cacert "$LAB_DIR/run/$NS2/ca.pem" "https://$REG/v2/"; echo ":$?" )"
    else
        bad "up $NS2: $(tail -n 3 "$LAB_DIR/run/selftest-up2.log")"
    fi
    "$NETLAB" down "$NS2" >/dev/null 2>&1
fi

if [ "${KEEP:-0}" != 1 ]; then
    "$NETLAB" down "$NS" >/dev/null 2>&1
    if ip netns list | awk '{print $1}' | grep -qx "$NS" || [ -e "/etc/netns/$NS" ]; then bad "down left $NS behind"; else ok "down $NS"; fi
fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
