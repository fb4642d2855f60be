#!/usr/bin/env python3
"""ecr-doctor test lab: moto server launcher (run with tests/lab/.venv/bin/python).

    moto_lab.py --port N --ready-file PATH [--enforce-auth] [--clock-offset SECONDS]

Serves moto (all services, one WSGI app) on 127.0.0.1:N in this process (N=0 picks a
free port), seeds a small AWS world with boto3 against itself, optionally turns IAM
auth enforcement on, then atomically writes PATH as JSON:

    {"port": N, "endpoint": "http://127.0.0.1:N", "account": "123456789012",
     "region": "us-east-1", "enforce_auth": false, "clock_offset": 0.0,
     "token_ttl_seconds": 43200, "pid": <this process>,
     "users": {"lab-healthy": {"access_key_id": ..., "secret_access_key": ...},
               "lab-no-ecr-token": {...}}}

and serves until SIGTERM/SIGINT (exit 0; the ready file is removed on exit).
Nothing is printed on stdout; diagnostics go to stderr; request logs are off.

Environment:
    LAB_TOKEN_TTL_SECONDS  lifetime of ECR authorization tokens (default 43200 = 12 h);
                           read per request; negative values give an already-expired token.

Lab extensions (what and why):
 1. ECR GetAuthorizationToken (moto.ecr.responses.ECRResponse.get_authorization_token is
    replaced). Why: moto returns base64("AWS:<registryId>-auth-token") with expiresAt
    hard-coded to 2015-01-01, i.e. always expired and not shaped like the real thing.
    The replacement returns base64("AWS:" + password), password = base64 of the JSON
    {"payload", "datakey", "version": "2", "type": "DATA_KEY", "expiration": <epoch s>}
    as seen from real ECR, expiresAt = now + LAB_TOKEN_TTL_SECONDS, and the realistic
    proxyEndpoint https://<registryId>.dkr.ecr.<region>.amazonaws.com. Only the response
    method is replaced: moto's IAM enforcement still runs before it (in call_action).
 2. Date header (WSGI middleware + request handler subclass). Why: the doctor checks
    clock skew against the server's Date header. Python's http.server (under werkzeug)
    always adds a Date from the real clock in send_response(); the handler subclass
    drops that one, and the middleware sets exactly one Date = now + --clock-offset
    (RFC 7231 IMF-fixdate) on every response, offset 0 included.
 3. Request logging off (handler subclass). Why: keep the lab quiet.
"""
from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import secrets
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from email.utils import formatdate

# All lab traffic goes to loopback: never let a proxy from the environment see it.
for _var in ("NO_PROXY", "no_proxy"):
    _cur = os.environ.get(_var, "")
    os.environ[_var] = ",".join(x for x in (_cur, "127.0.0.1", "localhost") if x)

ACCOUNT = "123456789012"
REGION = "us-east-1"
DEFAULT_TOKEN_TTL = 43200

log = logging.getLogger("moto_lab")

USERS = {
    "lab-healthy": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "sts:GetCallerIdentity",
                    "ecr:*",
                    "ec2:Describe*",
                    "s3:GetObject",
                ],
                "Resource": "*",
            }
        ],
    },
    "lab-no-ecr-token": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "sts:GetCallerIdentity",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                "Resource": "*",
            }
        ],
    },
}
REPOSITORIES = ["lab/app"]


# --------------------------------------------------------------------------- patches
def token_ttl() -> int:
    raw = os.environ.get("LAB_TOKEN_TTL_SECONDS", "").strip()
    return int(raw) if raw else DEFAULT_TOKEN_TTL


def make_ecr_password(expiration: int) -> str:
    doc = {
        "payload": base64.b64encode(secrets.token_bytes(256)).decode(),
        "datakey": base64.b64encode(secrets.token_bytes(184)).decode(),
        "version": "2",
        "type": "DATA_KEY",
        "expiration": expiration,
    }
    return base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def patch_ecr_token() -> None:
    from moto.core.responses import ActionResult
    from moto.ecr.responses import ECRResponse

    def get_authorization_token(self):  # lab extension 1
        registry_ids = self._get_param("registryIds") or [self.current_account]
        expires = int(time.time()) + token_ttl()
        auth_data = []
        for registry_id in registry_ids:
            password = make_ecr_password(expires)
            token = base64.b64encode(f"AWS:{password}".encode("ascii")).decode()
            auth_data.append(
                {
                    "authorizationToken": token,
                    "expiresAt": datetime.fromtimestamp(expires, tz=timezone.utc),
                    "proxyEndpoint": f"https://{registry_id}.dkr.ecr.{self.region}.amazonaws.com",
                }
            )
        return ActionResult({"authorizationData": auth_data})

    ECRResponse.get_authorization_token = get_authorization_token


class ClockOffsetMiddleware:
    """Lab extension 2: exactly one Date header = now + offset on every response."""

    def __init__(self, app, offset: float):
        self.app = app
        self.offset = offset

    def __call__(self, environ, start_response):
        def _start(status, headers, exc_info=None):
            headers = [(k, v) for (k, v) in headers if k.lower() != "date"]
            headers.append(("Date", formatdate(time.time() + self.offset, usegmt=True)))
            return start_response(status, headers, exc_info)

        return self.app(environ, _start)


def make_handler_class():
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class LabRequestHandler(MotoRequestHandler):
        def send_response(self, code, message=None):
            # http.server's version also sends Server and (real-clock) Date; the
            # middleware supplies Date, so send only status + Server (extension 2).
            self.log_request(code)
            self.send_response_only(code, message)
            self.send_header("Server", self.version_string())

        def log_request(self, code="-", size="-"):  # extension 3
            pass

    return LabRequestHandler


# --------------------------------------------------------------------------- seeding
def boto_client(service: str, endpoint: str, key: str = "lab-seed", secret: str = "lab-seed"):
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def seed(endpoint: str) -> dict:
    iam = boto_client("iam", endpoint)
    users = {}
    for name, policy in USERS.items():
        iam.create_user(UserName=name)
        iam.put_user_policy(
            UserName=name, PolicyName=f"{name}-inline", PolicyDocument=json.dumps(policy)
        )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        users[name] = {
            "access_key_id": key["AccessKeyId"],
            "secret_access_key": key["SecretAccessKey"],
        }
    ecr = boto_client("ecr", endpoint)
    for repo in REPOSITORIES:
        ecr.create_repository(repositoryName=repo)
    return users


def enable_auth(endpoint: str) -> None:
    """Same call a client would make: POST /moto-api/reset-auth, body '0'."""
    import urllib.request

    req = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=10) as resp:
        body = json.loads(resp.read())
    if body.get("status") != "ok":
        raise RuntimeError(f"reset-auth failed: {body}")
    from moto import settings

    if settings.INITIAL_NO_AUTH_ACTION_COUNT != 0:
        raise RuntimeError("reset-auth did not take effect in this process")


def write_ready(path: str, data: dict) -> None:
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ready-", dir=d)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="ecr-doctor lab: moto with lab extensions")
    ap.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1 (0 = pick one)")
    ap.add_argument("--ready-file", required=True, help="JSON written once seeded and serving")
    ap.add_argument("--enforce-auth", action="store_true", help="evaluate IAM after seeding")
    ap.add_argument("--clock-offset", type=float, default=0.0,
                    help="seconds added to the Date response header")
    args = ap.parse_args(argv)

    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="moto_lab: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    t0 = time.monotonic()

    os.environ.setdefault("MOTO_ACCOUNT_ID", ACCOUNT)
    from werkzeug.serving import make_server
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    patch_ecr_token()
    app = ClockOffsetMiddleware(DomainDispatcherApplication(create_backend_app),
                                args.clock_offset)
    server = make_server("127.0.0.1", args.port, app, threaded=True,
                         request_handler=make_handler_class())
    port = server.server_address[1]
    endpoint = f"http://127.0.0.1:{port}"
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    thread.start()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    try:
        users = seed(endpoint)
        if args.enforce_auth:
            enable_auth(endpoint)
    except Exception as e:  # noqa: BLE001
        log.error("seeding failed: %s", e)
        server.shutdown()
        return 1

    if not stop.is_set():
        write_ready(args.ready_file, {
            "port": port,
            "endpoint": endpoint,
            "account": ACCOUNT,
            "region": REGION,
            "enforce_auth": args.enforce_auth,
            "clock_offset": args.clock_offset,
            "token_ttl_seconds": token_ttl(),
            "pid": os.getpid(),
            "users": users,
        })
        log.info("ready on %s in %.2fs (enforce_auth=%s clock_offset=%s)",
                 endpoint, time.monotonic() - t0, args.enforce_auth, args.clock_offset)
    while not stop.wait(3600):
        pass
    server.shutdown()
    thread.join(5)
    try:
        os.unlink(args.ready_file)
    except FileNotFoundError:
        pass
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
