#!/usr/bin/env python3
"""Self-test of the moto lab launcher (no cargo, loopback only).

    tests/lab/.venv/bin/python tests/lab/selftest.py [-v]

Starts moto_lab.py twice on port 0 (plain; --enforce-auth --clock-offset 400), checks
identity, the ECR token shape, IAM enforcement and the skewed Date header, prints the
raw HTTP status/body of the two denials (-v), stops both servers.
Ends with 'N passed, N failed'; exit status 1 if anything failed.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from email.utils import parsedate_to_datetime

for _var in ("NO_PROXY", "no_proxy"):
    os.environ[_var] = ",".join(x for x in (os.environ.get(_var, ""), "127.0.0.1", "localhost") if x)
os.environ.pop("AWS_CA_BUNDLE", None)
os.environ.pop("AWS_PROFILE", None)

import boto3  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCHER = os.path.join(HERE, "moto_lab.py")
VERBOSE = "-v" in sys.argv
TTL = 43200
UNKNOWN_KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

results = {"passed": 0, "failed": 0}


def check(name: str, ok: bool, detail: str = "") -> None:
    results["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}{(' -- ' + detail) if detail and (VERBOSE or not ok) else ''}")


class Lab:
    def __init__(self, *args: str, env_extra: dict | None = None):
        self.tmp = tempfile.mkdtemp(prefix="moto-lab-selftest-")
        self.ready = os.path.join(self.tmp, "ready.json")
        env = dict(os.environ)
        env.pop("LAB_TOKEN_TTL_SECONDS", None)
        env.update(env_extra or {})
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, LAUNCHER, "--port", "0", "--ready-file", self.ready, *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        while not os.path.exists(self.ready):
            if self.proc.poll() is not None:
                raise RuntimeError(f"launcher died: {self.proc.stderr.read().decode()}")
            if time.monotonic() - t0 > 30:
                raise RuntimeError("launcher not ready after 30 s")
            time.sleep(0.02)
        self.startup = time.monotonic() - t0
        with open(self.ready) as f:
            self.info = json.load(f)
        self.endpoint = self.info["endpoint"]

    def client(self, service: str, user: str | None = "lab-healthy", key=None):
        if key is None:
            u = self.info["users"][user]
            key = (u["access_key_id"], u["secret_access_key"])
        return boto3.session.Session().client(
            service, endpoint_url=self.endpoint, region_name=self.info["region"],
            aws_access_key_id=key[0], aws_secret_access_key=key[1],
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    def raw(self, service: str, key, headers: dict, body: bytes):
        """A SigV4-signed POST sent with urllib: the bytes a non-boto client sees."""
        req = AWSRequest(method="POST", url=self.endpoint + "/", data=body, headers=headers)
        SigV4Auth(Credentials(*key), service, self.info["region"]).add_auth(req)
        r = urllib.request.Request(self.endpoint + "/", data=body, method="POST",
                                   headers=dict(req.headers.items()))
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(r, timeout=10) as resp:
                return resp.status, dict(resp.headers.items()), resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers.items()), e.read().decode()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        out = self.proc.stdout.read().decode()
        check("launcher exits 0 on SIGTERM, stdout empty, ready file removed",
              rc == 0 and out == "" and not os.path.exists(self.ready), f"rc={rc} stdout={out!r}")


def check_common(lab: Lab, label: str) -> None:
    sts = lab.client("sts")
    ident = sts.get_caller_identity()
    check(f"[{label}] healthy GetCallerIdentity",
          ident["Account"] == "123456789012" and ident["Arn"].endswith(":user/lab-healthy"),
          ident["Arn"])
    ecr = lab.client("ecr")
    now = time.time()
    data = ecr.get_authorization_token()["authorizationData"]
    check(f"[{label}] one authorizationData entry", len(data) == 1)
    d = data[0]
    user, _, password = base64.b64decode(d["authorizationToken"]).decode().partition(":")
    check(f"[{label}] token decodes to AWS:<password>", user == "AWS" and len(password) > 100)
    doc = json.loads(base64.b64decode(password))
    check(f"[{label}] password JSON shape",
          set(doc) == {"payload", "datakey", "version", "type", "expiration"}
          and doc["version"] == "2" and doc["type"] == "DATA_KEY"
          and isinstance(doc["expiration"], int), json.dumps({k: v if k in ("version", "type", "expiration") else v[:16] + "..." for k, v in doc.items()}))
    check(f"[{label}] password expiration ~12 h ahead", abs(doc["expiration"] - (now + TTL)) < 60,
          f"{doc['expiration'] - now:.0f}s")
    exp = d["expiresAt"].timestamp()
    check(f"[{label}] expiresAt ~12 h ahead", abs(exp - (now + TTL)) < 60, f"{exp - now:.0f}s")
    check(f"[{label}] proxyEndpoint",
          d["proxyEndpoint"] == "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
          d["proxyEndpoint"])
    repos = [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    check(f"[{label}] repository lab/app exists", repos == ["lab/app"], str(repos))


def date_offset(lab: Lab) -> tuple[float, int]:
    req = urllib.request.Request(lab.endpoint + "/moto-api/data.json")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=10) as resp:
        dates = resp.headers.get_all("Date") or []
    return (parsedate_to_datetime(dates[0]).timestamp() - time.time()) if dates else float("nan"), len(dates)


def main() -> int:
    labs = []
    try:
        # ---- plain
        plain = Lab()
        labs.append(plain)
        check("[plain] startup < 3 s", plain.startup < 3, f"{plain.startup:.2f}s")
        check("[plain] real port reported", plain.info["port"] > 0
              and plain.endpoint == f"http://127.0.0.1:{plain.info['port']}")
        check_common(plain, "plain")
        off, n = date_offset(plain)
        check("[plain] exactly one Date header, offset ~0", n == 1 and abs(off) < 3, f"{off:.1f}s, {n} header(s)")
        try:
            plain.client("sts", key=UNKNOWN_KEY).get_caller_identity()
            check("[plain] unknown key accepted (no enforcement)", True)
        except ClientError as e:
            check("[plain] unknown key accepted (no enforcement)", False, str(e))

        # ---- enforced + skewed clock
        auth = Lab("--enforce-auth", "--clock-offset", "400")
        labs.append(auth)
        check("[auth] startup < 3 s", auth.startup < 3, f"{auth.startup:.2f}s")
        check_common(auth, "auth")
        off, n = date_offset(auth)
        check("[auth] exactly one Date header, offset ~400 s", n == 1 and abs(off - 400) < 3,
              f"{off:.1f}s, {n} header(s)")

        try:
            auth.client("sts", key=UNKNOWN_KEY).get_caller_identity()
            check("[auth] unknown key rejected by sts", False, "call succeeded")
        except ClientError as e:
            md = e.response["ResponseMetadata"]
            check("[auth] unknown key rejected by sts", md["HTTPStatusCode"] == 403,
                  f"boto3: status={md['HTTPStatusCode']} code={e.response['Error'].get('Code')} "
                  f"msg={e.response['Error'].get('Message')!r}")

        ident = auth.client("sts", "lab-no-ecr-token").get_caller_identity()
        check("[auth] lab-no-ecr-token can GetCallerIdentity",
              ident["Arn"].endswith(":user/lab-no-ecr-token"), ident["Arn"])
        try:
            auth.client("ecr", "lab-no-ecr-token").get_authorization_token()
            check("[auth] lab-no-ecr-token denied ecr:GetAuthorizationToken", False, "call succeeded")
        except ClientError as e:
            md = e.response["ResponseMetadata"]
            check("[auth] lab-no-ecr-token denied ecr:GetAuthorizationToken",
                  md["HTTPStatusCode"] in (400, 403),
                  f"boto3: status={md['HTTPStatusCode']} code={e.response['Error'].get('Code')} "
                  f"msg={e.response['Error'].get('Message')!r}")

        # raw bytes of the two denials, as a non-boto client (the Rust SDK) sees them
        st, hd, body = auth.raw("sts", UNKNOWN_KEY,
                                {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                                b"Action=GetCallerIdentity&Version=2011-06-15")
        check("[auth] raw sts denial", st == 403, f"HTTP {st} {hd.get('Content-Type')} body={body!r}")
        u = auth.info["users"]["lab-no-ecr-token"]
        st, hd, body = auth.raw("ecr", (u["access_key_id"], u["secret_access_key"]),
                                {"Content-Type": "application/x-amz-json-1.1",
                                 "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"},
                                b"{}")
        check("[auth] raw ecr denial", st in (400, 403), f"HTTP {st} {hd.get('Content-Type')} body={body!r}")

    finally:
        for lab in labs:
            lab.stop()

    # expired-token variant: LAB_TOKEN_TTL_SECONDS=-60 in the launcher's environment
    exp_lab = Lab(env_extra={"LAB_TOKEN_TTL_SECONDS": "-60"})
    try:
        d = exp_lab.client("ecr").get_authorization_token()["authorizationData"][0]
        doc = json.loads(base64.b64decode(base64.b64decode(d["authorizationToken"]).decode()[4:]))
        now = time.time()
        check("[ttl=-60] token already expired",
              abs(d["expiresAt"].timestamp() - (now - 60)) < 10 and abs(doc["expiration"] - (now - 60)) < 10,
              f"expiresAt-now={d['expiresAt'].timestamp() - now:.0f}s")
    finally:
        exp_lab.stop()

    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
