#!/usr/bin/env bash
# ecr-doctor "VPC in a box": a network namespace that looks, to a process started in it,
# like an instance in a private subnet with ECR VPC endpoints (ecr.api, ecr.dkr, S3 gateway).
#
#   netlab.sh check                 can this machine do it? (root, ip netns, iptables); exit 1
#                                   with one line if not
#   netlab.sh install               apt packages (+ dig, GNU time, hyperfine, skopeo) + tests/lab/.venv (lab.sh install)
#   netlab.sh up NS [WORLD]         (re)create namespace NS in WORLD (default healthy);
#                                   NETLAB_VPC=1 also seeds moto's VPC worlds (ids in run/NS/moto.ready.json)
#   netlab.sh world NS WORLD        switch an up namespace to WORLD (iptables / restarts)
#   netlab.sh down NS               stop NS's servers (by recorded PID), delete NS, /etc/netns/NS
#   netlab.sh exec NS CMD...        run CMD inside NS with tests/lab/run/NS/env.sh applied
#   netlab.sh status NS             world + servers alive; exit 1 if not up
#
# Inside NS (nothing else is reachable: no default route, no other interface):
#   lo; interface vpce0 (dummy; veth pair inside NS if the kernel has no dummy driver) with 10.1.1.100 (the "instance"; 10.1.0.0/16 = the CIDR of moto_lab.py's "healthy" VPC world),
#   10.1.1.10 ecr.api endpoint, 10.1.1.11 ecr.dkr endpoint, 10.1.1.12 sts, 10.1.1.13 ec2,
#   198.18.0.10 S3 layer host (a "public" S3 address reached through the gateway endpoint),
#   198.18.0.20 public ECR address (public-names world; blackholed like a public IP without
#   a NAT), 198.18.0.30 public.ecr.aws and 198.18.0.31 api.ecr-public.us-east-1 (ECR
#   Public: public addresses, it has no VPC endpoint). All are /32 or the VPC /16 on a dummy
#   interface inside NS: never routed out.
#   dnsmasq on 127.0.0.1:53 (/etc/netns/NS/resolv.conf), moto_lab.py on 127.0.0.1:4566 (http)
#   + TLS on 10.1.1.10/.12/.13:443, 198.18.0.10:443 and 198.18.0.31:443, docker-registry on
#   10.1.1.11:443, net/public_front.py on 198.18.0.30:443. sts.eu-west-1 also resolves to
#   10.1.1.12 (ECR Public runs with --region eu-west-1 get their identity there).
# ECR Public stand-in (net/public_front.py, stdlib Python, as public.ecr.aws): GET /token/
#   with Basic AWS:<token.password> (what moto's ecr-public GetAuthorizationToken, lab
#   extension 40, hands out: LAB_TOKEN_PASSWORD) answers {"token": <random Bearer>} for the
#   scopes asked; /v2/... needs that Bearer (else 401 WWW-Authenticate: Bearer
#   realm="https://public.ecr.aws/token/",service="public.ecr.aws",scope=...; a repository
#   path needs repository:<repo>:pull in the token) and is forwarded to docker-registry with
#   its Basic credentials: same images (lab/app:1.0 = public.ecr.aws/lab/app:1.0), 307 to the
#   layer host passed through. No anonymous tokens (the real endpoint has them).
# Files: tests/lab/run/NS/{env.sh,lab.json,ca.pem,token.password,images.json,tls/,pids/,logs/}.
#   logs/operations.jsonl: every AWS operation moto was asked for (moto_lab.py extension 41).
# CA + certificates are cached in tests/lab/run/ca/ (shared by all namespaces).
#
# Worlds (each = healthy + one fault; `world` switches in 50-650 ms, see world_plan below):
#   healthy; registry-dropped / api-dropped / layer-dropped (iptables DROP on 10.1.1.11 /
#   10.1.1.10 / 198.18.0.10 port 443: connect hangs); registry-refused (REJECT tcp-reset);
#   public-names (dnsmasq answers ECR + S3 names with 198.18.0.20, which is DROPped: the
#   "private DNS not in effect" i/o timeout; sts/ec2 stay private); registry-nxdomain
#   (dnsmasq has no answer for the registry names: NXDOMAIN, Go's "no such host"); wrong-cert (registry
#   restarted with a self-signed cert for the right name); wrong-token (registry restarted
#   with an htpasswd whose password is not the token's: /v2/ answers 401; the public.ecr.aws
#   front restarted to expect another password: /token/ answers 401); corrupt-blob (the smaller
#   lab/app layer's S3 object overwritten with other bytes of the same length);
#   wrong-name-cert (registry restarted with a lab-CA certificate for another name,
#   registry.corp.example); faults (tests/lab/faults.py in place of the registry on 10.1.1.11:443,
#   with its layer side on 198.18.0.10:8443: images fault/<mode>:1.0 whose blob is truncated,
#   has wrong bytes, redirects to a layer host that hangs, redirects back, or is refused with
#   S3's 403 AccessDenied: see its header);
#   registry-500 (faults.py answering HTTP 500 to every /v2/ request).
# Client quirks: registry speaks HTTP/2 (ALPN h2), moto TLS only http/1.1; blob GET/HEAD ->
#   307, absolute Location https://<layer host>/docker/registry/v2/blobs/sha256/xx/<hex>/data
#   (no query string); send Accept for manifest types or the registry converts to schema 1.
# Cost: up ~3.5 s warm (+ ~7 s apt, ~31 s venv on a fresh machine); ~210 MiB RSS per NS
#   (moto ~180). Note: installing Debian's docker-registry on a systemd host also starts its
#   own service on :5000 (unused by the lab).
# Self-test: tests/lab/net/selftest.sh
set -euo pipefail

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NET_DIR="$LAB_DIR/net"
RUN="$LAB_DIR/run"
CA_DIR="$RUN/ca"
CA_VERSION=4   # bump when the certificate set changes (cached CA is then regenerated)
PY="$LAB_DIR/.venv/bin/python"
NETTOOL="$NET_DIR/nettool.py"

REGION=us-east-1
ACCOUNT=123456789012
REGISTRY_HOST="$ACCOUNT.dkr.ecr.$REGION.amazonaws.com"
API_HOST="api.ecr.$REGION.amazonaws.com"
STS_HOST="sts.$REGION.amazonaws.com"
EC2_HOST="ec2.$REGION.amazonaws.com"
BUCKET="prod-$REGION-starport-layer-bucket"
LAYER_HOST="$BUCKET.s3.$REGION.amazonaws.com"
IP_CLIENT=10.1.1.100 IP_API=10.1.1.10 IP_DKR=10.1.1.11 IP_STS=10.1.1.12 IP_EC2=10.1.1.13
IP_S3=198.18.0.10 IP_PUBLIC=198.18.0.20
# ECR Public: its registry (public_front.py) and its API (moto), at "public" addresses: ECR
# Public has no VPC endpoint.
ECR_PUBLIC_HOST=public.ecr.aws
ECR_PUBLIC_API_HOST="api.ecr-public.$REGION.amazonaws.com"
IP_ECR_PUBLIC=198.18.0.30 IP_ECR_PUBLIC_API=198.18.0.31
# STS of another region too: ECR Public runs ask with --region OTHER_REGION (the token still
# comes from us-east-1).
OTHER_REGION=eu-west-1
STS_OTHER_HOST="sts.$OTHER_REGION.amazonaws.com"
MOTO_PORT=4566
WORLDS="healthy registry-dropped registry-refused layer-dropped api-dropped public-names registry-nxdomain wrong-cert wrong-token corrupt-blob wrong-name-cert faults registry-500"
# faults.py's layer side: the S3 address, another port (moto keeps 443)
FAULTS_LAYER_PORT=8443

# Servers must never see a proxy or this machine's AWS settings.
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy NO_PROXY no_proxy \
      AWS_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN

die() { echo "netlab: $*" >&2; exit 1; }
say() { echo "netlab: $*" >&2; }

# shellcheck source=tests/lab/common.sh
. "$LAB_DIR/common.sh"
# bind9-dnsutils (dig), time (GNU time), hyperfine: the benchmarks (tests/bench); skopeo: a
# real registry client for the agreement test (tests/integration/skopeo.rs).
APT_PACKAGES="iproute2 iptables dnsmasq-base docker-registry apache2-utils openssl curl python3 python3-venv bind9-dnsutils time hyperfine skopeo"

cmd_install() {
    [ "$(id -u)" -eq 0 ] || die "needs root"
    mkdir -p "$RUN"
    (   # serialised: several `up` may run at once
        flock 8
        # shellcheck disable=SC2086
        apt_install $APT_PACKAGES
        "$LAB_DIR/lab.sh" install
    ) 8>"$RUN/.install.lock"
}

valid_ns() {
    [[ "${1:-}" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$ ]] || die "bad namespace name '${1:-}'"
}
valid_world() {
    local w
    for w in $WORLDS; do [ "$w" = "$1" ] && return 0; done
    die "unknown world '$1' (known: $WORLDS)"
}
ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }
nsx() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }

# ---------------------------------------------------------------- check
cmd_check() {
    [ "$(id -u)" -eq 0 ] || { echo "netlab: cannot run: needs root (uid $(id -u))"; exit 1; }
    command -v ip >/dev/null || { echo "netlab: cannot run: 'ip' (iproute2) missing"; exit 1; }
    local probe="netlab-check-$$" err
    if ! err="$(ip netns add "$probe" 2>&1)"; then
        echo "netlab: cannot run: 'ip netns add' failed: $err"; exit 1
    fi
    local kind=dummy
    if ! ip -n "$probe" link add vpce0 type dummy 2>/dev/null; then
        kind=veth
        if ! err="$(ip -n "$probe" link add vpce0 type veth peer name vpce0-peer 2>&1)"; then
            ip netns del "$probe"; echo "netlab: cannot run: neither dummy nor veth interfaces: $err"; exit 1
        fi
    fi
    if command -v iptables >/dev/null; then
        if ! err="$(ip netns exec "$probe" iptables -A INPUT -d 10.1.1.11 -p tcp --dport 443 -j DROP 2>&1)"; then
            ip netns del "$probe"; echo "netlab: cannot run: iptables in a namespace failed: $err"; exit 1
        fi
        ip netns del "$probe"
        echo "netlab: ok (root, ip netns, $kind interface, iptables)"
    else
        ip netns del "$probe"
        command -v apt-get >/dev/null ||
            { echo "netlab: cannot run: iptables missing and no apt-get to install it"; exit 1; }
        echo "netlab: ok (root, ip netns, $kind interface; iptables will be installed by 'up')"
    fi
}

# ---------------------------------------------------------------- CA (cached, shared)
# gen_leaf NAME CN SAN...: CA-signed EC P-256 server certificate NAME.pem/NAME.key.
gen_leaf() {
    local name="$1" cn="$2" san="" d
    shift 2
    for d in "$@"; do san="${san:+$san,}DNS:$d"; done
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$CA_DIR/$name.key" -out "$CA_DIR/$name.csr" -subj "/CN=$cn" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=serverAuth" "subjectAltName=$san" "subjectKeyIdentifier=hash" \
        "authorityKeyIdentifier=keyid" >"$CA_DIR/$name.ext"
    openssl x509 -req -in "$CA_DIR/$name.csr" -CA "$CA_DIR/ca.pem" -CAkey "$CA_DIR/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days 397 -extfile "$CA_DIR/$name.ext" \
        -out "$CA_DIR/$name.pem" 2>/dev/null
    rm -f "$CA_DIR/$name.csr" "$CA_DIR/$name.ext"
}
ensure_ca() {
    mkdir -p "$CA_DIR"
    (
        flock 9
        local ok=1 f
        [ "$(cat "$CA_DIR/version" 2>/dev/null)" = "$CA_VERSION" ] || ok=0
        for f in ca registry api wrong wrong-name public; do
            [ -s "$CA_DIR/$f.pem" ] && openssl x509 -checkend 86400 -noout -in "$CA_DIR/$f.pem" >/dev/null 2>&1 || ok=0
        done
        [ "$ok" = 1 ] && exit 0
        say "generating lab CA and certificates in $CA_DIR"
        openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$CA_DIR/ca.key" -out "$CA_DIR/ca.pem" -days 3650 \
            -subj "/O=ecr-doctor lab/CN=ecr-doctor lab CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -addext "subjectKeyIdentifier=hash" 2>/dev/null
        gen_leaf registry "*.dkr.ecr.$REGION.amazonaws.com" "*.dkr.ecr.$REGION.amazonaws.com"
        gen_leaf api "$API_HOST" "$API_HOST" "$STS_HOST" "$EC2_HOST" "$ECR_PUBLIC_API_HOST" "$STS_OTHER_HOST" \
            "*.s3.$REGION.amazonaws.com" "s3.$REGION.amazonaws.com" "*.s3.amazonaws.com" "s3.amazonaws.com"
        gen_leaf public "$ECR_PUBLIC_HOST" "$ECR_PUBLIC_HOST"
        # wrong-name-cert world: from the lab CA, but for another host's name.
        gen_leaf wrong-name registry.corp.example registry.corp.example
        # wrong-cert world: right name, but self-signed (not from the lab CA).
        openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$CA_DIR/wrong.key" -out "$CA_DIR/wrong.pem" -days 397 \
            -subj "/CN=*.dkr.ecr.$REGION.amazonaws.com" \
            -addext "subjectAltName=DNS:*.dkr.ecr.$REGION.amazonaws.com" \
            -addext "extendedKeyUsage=serverAuth" 2>/dev/null
        chmod 600 "$CA_DIR"/*.key
        echo "$CA_VERSION" >"$CA_DIR/version"
    ) 9>"$CA_DIR/.lock"
}

# ---------------------------------------------------------------- processes
# start_bg NS NAME CMD...: start CMD inside NS in the background, its own PID recorded.
# (`ip netns exec` and `env` exec, so $! is the server process itself.)
start_bg() {
    local ns="$1" name="$2" d="$RUN/$1"
    shift 2
    ip netns exec "$ns" "$@" </dev/null >>"$d/logs/$name.log" 2>&1 &
    echo $! >"$d/pids/$name.pid"
}
# pid_of NS NAME: print the live PID recorded for NAME (whose cmdline matches), else fail.
pid_of() {
    local f="$RUN/$1/pids/$2.pid" pid pat
    case "$2" in dnsmasq) pat=dnsmasq ;; moto) pat=moto_lab.py ;; registry) pat=docker-registry ;; public-front) pat=public_front.py ;; faults) pat=faults.py ;; *) pat="$2" ;; esac
    [ -f "$f" ] || return 1
    pid="$(cat "$f")"
    [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$pat" || return 1
    echo "$pid"
}
# alive PID: running and not a zombie (our servers are reparented to PID 1, which may
# reap them late).
alive() { local st; st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" && [ -n "$st" ] && [ "$st" != Z ]; }
stop_bg() {
    local ns="$1" name="$2" pid i
    if pid="$(pid_of "$ns" "$name")"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.05; done
        if alive "$pid"; then
            say "$name (pid $pid) ignored SIGTERM for 5 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$RUN/$ns/pids/$name.pid"
}
log_tail() { tail -n 15 "$RUN/$1/logs/$2.log" >&2 2>/dev/null || true; }

# ---------------------------------------------------------------- dnsmasq
# DNS modes: private (endpoint addresses, as with private DNS on the interface endpoints),
# public (every ECR/S3 name -> 198.18.0.20: private DNS not in effect) and no-registry
# (private, but the registry names have no record: NXDOMAIN).
start_dns() {
    local ns="$1" mode="$2" a_api a_dkr a_s3 dkr
    case "$mode" in
        private | no-registry) a_api=$IP_API a_dkr=$IP_DKR a_s3=$IP_S3 ;;
        public) a_api=$IP_PUBLIC a_dkr=$IP_PUBLIC a_s3=$IP_PUBLIC ;;
        *) die "dns mode $mode" ;;
    esac
    # the registry names: an address, or (no-registry) nothing, so --local=/amazonaws.com/
    # answers NXDOMAIN
    dkr=(--address=/dkr.ecr.$REGION.amazonaws.com/$a_dkr --local=/dkr.ecr.$REGION.amazonaws.com/)
    if [ "$mode" = no-registry ]; then dkr=(); fi
    # S3: every name under s3.REGION.amazonaws.com and s3.amazonaws.com (the layer host, its
    # legacy global form, path-style) -> the S3 address, as with a gateway endpoint.
    # --local=/#/: no upstream; unknown names NXDOMAIN (not REFUSED). --host-record gives
    # NODATA for AAAA; the wildcard --address alone would answer AAAA with NXDOMAIN, the
    # extra --local for the same domain makes that NODATA too.
    start_bg "$ns" dnsmasq dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
        --no-hosts --pid-file= --port=53 --listen-address=127.0.0.1 --bind-interfaces \
        --log-facility=- --local=/#/ --local=/amazonaws.com/ \
        "${dkr[@]}" \
        --host-record=$API_HOST,$a_api \
        --address=/s3.$REGION.amazonaws.com/$a_s3 --local=/s3.$REGION.amazonaws.com/ \
        --address=/s3.amazonaws.com/$a_s3 --local=/s3.amazonaws.com/ \
        --host-record=$STS_HOST,$IP_STS \
        --host-record=$EC2_HOST,$IP_EC2 \
        --host-record=$STS_OTHER_HOST,$IP_STS \
        --host-record=$ECR_PUBLIC_API_HOST,$IP_ECR_PUBLIC_API \
        --host-record=$ECR_PUBLIC_HOST,$IP_ECR_PUBLIC
    echo "$mode" >"$RUN/$ns/mode.dns"
    local i
    for ((i = 0; i < 50; i++)); do
        nsx "$ns" "$PY" "$NETTOOL" dns "$API_HOST" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    log_tail "$ns" dnsmasq
    die "dnsmasq in $ns did not answer"
}

# ---------------------------------------------------------------- registry
# Registry modes: lab (lab-CA cert), wrong (self-signed cert for the right name),
# wrong-name (lab-CA cert for another name) and other-token (below).
write_registry_config() {
    local ns="$1" mode="$2" d="$RUN/$1" cert key users="$d/htpasswd"
    case "$mode" in
        lab) cert="$d/tls/registry.pem" key="$d/tls/registry.key" ;;
        wrong) cert="$d/tls/wrong.pem" key="$d/tls/wrong.key" ;;
        wrong-name) cert="$d/tls/wrong-name.pem" key="$d/tls/wrong-name.key" ;;
        other-token)
            # the registry expects another password than the one ECR hands out (as a token
            # of another account or region would be refused)
            cert="$d/tls/registry.pem" key="$d/tls/registry.key" users="$d/htpasswd.other"
            [ -f "$users" ] || htpasswd -Bbn AWS "other-registry-$RANDOM$RANDOM" | grep -v '^$' >"$users"
            ;;
    esac
    cat >"$d/registry.yml" <<EOF
# generated by netlab.sh for namespace $ns (mode $mode)
version: 0.1
log:
  level: info
  formatter: text
storage:
  s3:
    accesskey: lab-registry
    secretkey: lab-registry
    region: $REGION
    regionendpoint: http://127.0.0.1:$MOTO_PORT
    bucket: $BUCKET
    secure: false
    v4auth: true
  redirect:
    disable: false
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
middleware:
  storage:
    - name: redirect
      options:
        baseurl: https://$LAYER_HOST
http:
  addr: $IP_DKR:443
  host: https://$REGISTRY_HOST
  secret: $(cat "$d/http.secret")
  tls:
    certificate: $cert
    key: $key
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  htpasswd:
    realm: https://$REGISTRY_HOST/
    path: $users
EOF
}
start_registry() {
    local ns="$1" mode="$2" i code
    write_registry_config "$ns" "$mode"
    # AWS_CA_BUNDLE makes the S3 driver panic (LoadCustomCABundleError).
    start_bg "$ns" registry env -u AWS_CA_BUNDLE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
        docker-registry serve "$RUN/$ns/registry.yml"
    echo "$mode" >"$RUN/$ns/mode.registry"
    for ((i = 0; i < 100; i++)); do
        # by address (--resolve): the registry-nxdomain world has no record for the name
        code="$(nsx "$ns" curl -s -k -o /dev/null -w '%{http_code}' --max-time 1 \
            --resolve "$REGISTRY_HOST:443:$IP_DKR" "https://$REGISTRY_HOST/v2/" 2>/dev/null || true)"
        [ "$code" = 401 ] && return 0
        pid_of "$ns" registry >/dev/null || break
        sleep 0.1
    done
    log_tail "$ns" registry
    die "registry in $ns not answering 401 on /v2/ (last: $code)"
}

# ---------------------------------------------------------------- faults.py
# Faults modes: registry (faults.py in place of the registry: layer faults by repository)
# and registry-500 (every /v2/ request answered HTTP 500).
start_faults() {
    local ns="$1" mode="$2" d="$RUN/$1" i code extra=()
    [ "$mode" = registry-500 ] && extra=(--v2-status 500)
    nsx "$ns" "$PY" "$LAB_DIR/faults.py" moto-images "http://127.0.0.1:$MOTO_PORT"
    start_bg "$ns" faults "$PY" "$LAB_DIR/faults.py" registry \
        --listen "$IP_DKR:443" --cert "$d/tls/registry.pem" --key "$d/tls/registry.key" \
        --registry-host "$REGISTRY_HOST" --layer-listen "$IP_S3:$FAULTS_LAYER_PORT" \
        --layer-cert "$d/tls/api.pem" --layer-key "$d/tls/api.key" --layer-host "$LAYER_HOST" \
        "${extra[@]}"
    echo "$mode" >"$d/mode.faults"
    for ((i = 0; i < 100; i++)); do
        code="$(nsx "$ns" curl -s --cacert "$d/ca.pem" -o /dev/null -w '%{http_code}' \
            --max-time 1 --resolve "$REGISTRY_HOST:443:$IP_DKR" \
            "https://$REGISTRY_HOST/v2/" 2>/dev/null || true)"
        case "$code" in 401 | 500) return 0 ;; esac
        pid_of "$ns" faults >/dev/null || break
        sleep 0.1
    done
    log_tail "$ns" faults
    die "faults.py in $ns not answering on /v2/ (last: $code)"
}

# ---------------------------------------------------------------- ECR Public front
# Front modes: lab (the realm takes the token's password) and other-token (it expects
# another password: the Basic login to the realm is refused, as a bad token would be).
start_front() {
    local ns="$1" mode="$2" d="$RUN/$1" pw i code
    case "$mode" in
        lab) pw="$d/token.password" ;;
        other-token)
            pw="$d/token.password.other"
            [ -f "$pw" ] || { "$PY" "$NETTOOL" password >"$pw"; chmod 600 "$pw"; }
            ;;
        *) die "front mode $mode" ;;
    esac
    start_bg "$ns" public-front "$PY" "$NET_DIR/public_front.py" "$IP_ECR_PUBLIC" 443 \
        "$d/tls/public.pem" "$d/tls/public.key" "$d/ca.pem" "$pw" \
        "https://$REGISTRY_HOST" "$d/token.password"
    echo "$mode" >"$d/mode.front"
    for ((i = 0; i < 100; i++)); do
        code="$(nsx "$ns" curl -s --cacert "$d/ca.pem" -o /dev/null -w '%{http_code}' \
            --max-time 1 "https://$ECR_PUBLIC_HOST/v2/" 2>/dev/null || true)"
        [ "$code" = 401 ] && return 0
        pid_of "$ns" public-front >/dev/null || break
        sleep 0.1
    done
    log_tail "$ns" public-front
    die "public.ecr.aws front in $ns not answering 401 on /v2/ (last: $code)"
}

# ---------------------------------------------------------------- worlds
# world_plan WORLD: sets DNS_MODE REG_MODE FRONT_MODE BLOB_MODE FAULTS_MODE and RULES
# (iptables INPUT rules in NS). FAULTS_MODE non-empty: faults.py instead of the registry.
world_plan() {
    DNS_MODE=private REG_MODE=lab FRONT_MODE=lab BLOB_MODE=ok FAULTS_MODE= RULES=()
    case "$1" in
        healthy) ;;
        registry-dropped) RULES=("-d $IP_DKR -p tcp --dport 443 -j DROP") ;;
        registry-refused) RULES=("-d $IP_DKR -p tcp --dport 443 -j REJECT --reject-with tcp-reset") ;;
        layer-dropped) RULES=("-d $IP_S3 -p tcp --dport 443 -j DROP") ;;
        api-dropped) RULES=("-d $IP_API -p tcp --dport 443 -j DROP") ;;
        public-names) DNS_MODE=public RULES=("-d $IP_PUBLIC -j DROP") ;;
        registry-nxdomain) DNS_MODE=no-registry ;;
        wrong-cert) REG_MODE=wrong ;;
        wrong-token) REG_MODE=other-token FRONT_MODE=other-token ;;
        corrupt-blob) BLOB_MODE=corrupt ;;
        wrong-name-cert) REG_MODE=wrong-name ;;
        faults) FAULTS_MODE=registry ;;
        registry-500) FAULTS_MODE=registry-500 ;;
        *) die "unknown world '$1'" ;;
    esac
}
apply_world() {
    local ns="$1" world="$2" d="$RUN/$1" r
    world_plan "$world"
    nsx "$ns" iptables -F INPUT
    for r in "${RULES[@]}"; do
        # shellcheck disable=SC2086
        nsx "$ns" iptables -A INPUT $r
    done
    if [ "$(cat "$d/mode.dns" 2>/dev/null)" != "$DNS_MODE" ] || ! pid_of "$ns" dnsmasq >/dev/null; then
        stop_bg "$ns" dnsmasq
        start_dns "$ns" "$DNS_MODE"
    fi
    if [ -n "$FAULTS_MODE" ]; then
        stop_bg "$ns" registry
        rm -f "$d/mode.registry"
        if [ "$(cat "$d/mode.faults" 2>/dev/null)" != "$FAULTS_MODE" ] || ! pid_of "$ns" faults >/dev/null; then
            stop_bg "$ns" faults
            start_faults "$ns" "$FAULTS_MODE"
        fi
    else
        stop_bg "$ns" faults
        rm -f "$d/mode.faults"
        if [ "$(cat "$d/mode.registry" 2>/dev/null)" != "$REG_MODE" ] || ! pid_of "$ns" registry >/dev/null; then
            stop_bg "$ns" registry
            start_registry "$ns" "$REG_MODE"
        fi
    fi
    if [ "$(cat "$d/mode.front" 2>/dev/null)" != "$FRONT_MODE" ] || ! pid_of "$ns" public-front >/dev/null; then
        stop_bg "$ns" public-front
        start_front "$ns" "$FRONT_MODE"
    fi
    if [ "$(cat "$d/mode.blob" 2>/dev/null || echo ok)" != "$BLOB_MODE" ]; then
        if [ "$BLOB_MODE" = corrupt ]; then
            nsx "$ns" "$PY" "$NETTOOL" blob "$d" corrupt
        else
            nsx "$ns" "$PY" "$NETTOOL" blob "$d" restore
        fi
        echo "$BLOB_MODE" >"$d/mode.blob"
    fi
    echo "$world" >"$d/world"
    "$PY" - "$d/lab.json" "$world" <<'EOF'
import json, os, sys
p, w = sys.argv[1], sys.argv[2]
d = json.load(open(p)); d["world"] = w
open(p + ".tmp", "w").write(json.dumps(d, indent=2) + "\n"); os.replace(p + ".tmp", p)
EOF
}

# ---------------------------------------------------------------- up / down
cmd_up() {
    local ns="${1:-}" world="${2:-healthy}" d t0 i
    valid_ns "$ns"
    valid_world "$world"
    t0=$(date +%s%N)
    cmd_install
    if ns_exists "$ns" || [ -d "$RUN/$ns" ]; then
        say "$ns exists: taking it down first"
        cmd_down "$ns"
    fi
    ensure_ca
    d="$RUN/$ns"
    mkdir -p "$d/pids" "$d/logs" "$d/blobs"
    # Per-namespace copies: a later CA regeneration does not break a running namespace.
    mkdir -p "$d/tls"
    cp "$CA_DIR/ca.pem" "$d/ca.pem"
    cp "$CA_DIR"/{registry,api,wrong,wrong-name,public}.{pem,key} "$d/tls/"

    # --- namespace and addresses
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # The endpoint addresses live on vpce0: a dummy interface, or (kernels without the dummy
    # driver) one end of a veth pair whose both ends stay inside NS. Either way nothing
    # leaves NS: no default route, no interface outside.
    if ip -n "$ns" link add vpce0 type dummy 2>/dev/null; then
        echo dummy >"$d/iface.kind"
    else
        ip -n "$ns" link add vpce0 type veth peer name vpce0-peer
        ip -n "$ns" link set vpce0-peer up
        echo veth >"$d/iface.kind"
    fi
    ip -n "$ns" addr add "$IP_CLIENT/16" dev vpce0
    for i in $IP_API $IP_DKR $IP_STS $IP_EC2; do ip -n "$ns" addr add "$i/32" dev vpce0; done
    ip -n "$ns" addr add "$IP_S3/32" dev vpce0
    ip -n "$ns" addr add "$IP_PUBLIC/32" dev vpce0
    ip -n "$ns" addr add "$IP_ECR_PUBLIC/32" dev vpce0
    ip -n "$ns" addr add "$IP_ECR_PUBLIC_API/32" dev vpce0
    ip -n "$ns" link set vpce0 up
    mkdir -p "/etc/netns/$ns"
    echo "nameserver 127.0.0.1" >"/etc/netns/$ns/resolv.conf"

    start_dns "$ns" private

    # --- moto: http on 127.0.0.1:4566, TLS on the API/S3 endpoint addresses (one process)
    "$PY" "$NETTOOL" password >"$d/token.password"
    chmod 600 "$d/token.password"
    start_bg "$ns" moto env -u AWS_CA_BUNDLE LAB_TOKEN_PASSWORD="$(cat "$d/token.password")" \
        "$PY" "$LAB_DIR/moto_lab.py" --port "$MOTO_PORT" --ready-file "$d/moto.ready.json" \
        --tls-cert "$d/tls/api.pem" --tls-key "$d/tls/api.key" \
        --tls-listen "$IP_API:443" --tls-listen "$IP_STS:443" --tls-listen "$IP_EC2:443" \
        --tls-listen "$IP_S3:443" --tls-listen "$IP_ECR_PUBLIC_API:443" ${NETLAB_VPC:+--vpc-worlds} \
        --operation-log "$d/logs/operations.jsonl"
    for ((i = 0; i < 600; i++)); do
        [ -f "$d/moto.ready.json" ] && break
        pid_of "$ns" moto >/dev/null || { log_tail "$ns" moto; die "moto_lab.py exited in $ns"; }
        sleep 0.1
    done
    [ -f "$d/moto.ready.json" ] || { log_tail "$ns" moto; die "moto not ready after 60 s"; }
    nsx "$ns" "$PY" "$NETTOOL" s3-setup "http://127.0.0.1:$MOTO_PORT" "$BUCKET"

    # --- registry: htpasswd for AWS:<token password>. bcrypt uses only the first 72 bytes
    # (htpasswd refuses passwords > 256), so hash that prefix; Go's bcrypt compare of the
    # full password then matches.
    head -c 32 /dev/urandom | base64 -w0 >"$d/http.secret"
    htpasswd -Bbn AWS "$(head -c 72 "$d/token.password")" | grep -v '^$' >"$d/htpasswd"
    start_registry "$ns" lab

    # --- image push (through the registry's HTTP API, by name, lab CA)
    nsx "$ns" "$PY" "$NETTOOL" push "$d"
    echo ok >"$d/mode.blob"

    # --- public.ecr.aws: the token flow in front of the same registry
    start_front "$ns" lab

    write_env "$ns"
    write_lab_json "$ns"
    apply_world "$ns" "$world"
    say "$ns up in world $world in $(( ($(date +%s%N) - t0) / 1000000 )) ms; env: $d/env.sh"
}

write_env() {
    local ns="$1" d="$RUN/$1" key secret
    key="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["users"]["lab-healthy"]["access_key_id"])' "$d/moto.ready.json")"
    secret="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["users"]["lab-healthy"]["secret_access_key"])' "$d/moto.ready.json")"
    cat >"$d/env.sh" <<EOF
# netlab.sh: environment for a client inside namespace $ns (source it after 'ip netns exec $ns').
# Real AWS host names over TLS (moto behind the endpoint addresses); no AWS_ENDPOINT_URL.
export AWS_REGION='$REGION'
export AWS_DEFAULT_REGION='$REGION'
export AWS_ACCESS_KEY_ID='$key'
export AWS_SECRET_ACCESS_KEY='$secret'
export AWS_CA_BUNDLE='$d/ca.pem'
export AWS_EC2_METADATA_DISABLED='true'
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_ECR AWS_ENDPOINT_URL_STS AWS_ENDPOINT_URL_EC2 AWS_ENDPOINT_URL_S3
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY http_proxy https_proxy all_proxy no_proxy
export NETLAB_NS='$ns'
export NETLAB_DIR='$d'
EOF
}

write_lab_json() {
    local ns="$1" d="$RUN/$1"
    "$PY" - "$d" "$ns" <<EOF
import json, os, sys
d, ns = sys.argv[1], sys.argv[2]
ready = json.load(open(os.path.join(d, "moto.ready.json")))
images = json.load(open(os.path.join(d, "images.json")))
pids = {}
for f in sorted(os.listdir(os.path.join(d, "pids"))):
    pids[f[:-4]] = int(open(os.path.join(d, "pids", f)).read())
lab = {
    "ns": ns,
    "world": "healthy",
    "region": "$REGION",
    "account": "$ACCOUNT",
    "registry": "$REGISTRY_HOST",
    "hosts": {"ecr.api": "$API_HOST", "ecr.dkr": "$REGISTRY_HOST", "s3_layer": "$LAYER_HOST",
              "sts": "$STS_HOST", "ec2": "$EC2_HOST", "ecr_public": "$ECR_PUBLIC_HOST",
              "ecr_public_api": "$ECR_PUBLIC_API_HOST", "sts_other_region": "$STS_OTHER_HOST"},
    "vpc_cidr": "10.1.0.0/16",
    "interface": {"name": "vpce0", "kind": open(os.path.join(d, "iface.kind")).read().strip()},
    "addresses": {"client": "$IP_CLIENT", "ecr.api": "$IP_API", "ecr.dkr": "$IP_DKR",
                  "sts": "$IP_STS", "ec2": "$IP_EC2", "s3_layer": "$IP_S3",
                  "public": "$IP_PUBLIC", "ecr_public": "$IP_ECR_PUBLIC",
                  "ecr_public_api": "$IP_ECR_PUBLIC_API"},
    "moto_endpoint": ready["endpoint"],
    "ca": os.path.join(d, "ca.pem"),
    "token_password_file": os.path.join(d, "token.password"),
    "env_file": os.path.join(d, "env.sh"),
    "user": "lab-healthy",
    "images": images,
    "pids": pids,
}
open(os.path.join(d, "lab.json"), "w").write(json.dumps(lab, indent=2) + "\n")
EOF
}

cmd_down() {
    local ns="${1:-}" name left
    valid_ns "$ns"
    for name in public-front faults registry moto dnsmasq; do stop_bg "$ns" "$name"; done
    if ns_exists "$ns"; then
        left="$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
        [ -z "$left" ] || say "warning: processes still in $ns (not started by netlab, left alone): $left"
        ip netns del "$ns"
    fi
    rm -rf "/etc/netns/$ns" "${RUN:?}/$ns"
    say "$ns down"
}

cmd_world() {
    local ns="${1:-}" world="${2:-}"
    valid_ns "$ns"
    valid_world "$world"
    if ! ns_exists "$ns" || [ ! -f "$RUN/$ns/lab.json" ] || ! pid_of "$ns" moto >/dev/null; then
        say "$ns is not up: running up"
        cmd_up "$ns" "$world"
        return
    fi
    apply_world "$ns" "$world"
    say "$ns now in world $world"
}

cmd_exec() {
    local ns="${1:-}"
    valid_ns "$ns"
    shift || true
    [ $# -gt 0 ] || die "usage: netlab.sh exec NS CMD..."
    [ -f "$RUN/$ns/env.sh" ] || die "$ns is not up"
    exec ip netns exec "$ns" bash -c '. "$0"; exec "$@"' "$RUN/$ns/env.sh" "$@"
}

cmd_status() {
    local ns="${1:-}" name rc=0 pid
    valid_ns "$ns"
    ns_exists "$ns" || { echo "$ns: not up"; return 1; }
    echo "$ns: world $(cat "$RUN/$ns/world" 2>/dev/null || echo '?')"
    local server=registry
    [ -f "$RUN/$ns/mode.faults" ] && server=faults   # faults.py stands in for the registry
    for name in dnsmasq moto $server public-front; do
        if pid="$(pid_of "$ns" "$name")"; then echo "  $name: pid $pid"; else echo "  $name: NOT running"; rc=1; fi
    done
    echo "  iptables: $(nsx "$ns" iptables -S INPUT | grep -c '^-A' || true) INPUT rule(s)"
    return $rc
}

case "${1:-}" in
    check) cmd_check ;;
    install) cmd_install ;;
    up) shift; cmd_up "$@" ;;
    down) shift; cmd_down "$@" ;;
    world) shift; cmd_world "$@" ;;
    exec) shift; cmd_exec "$@" ;;
    status) shift; cmd_status "$@" ;;
    *) echo "usage: $0 check | install | up NS [WORLD] | world NS WORLD | down NS | exec NS CMD... | status NS" >&2
       echo "worlds: $WORLDS" >&2; exit 2 ;;
esac
