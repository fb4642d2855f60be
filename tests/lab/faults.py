#!/usr/bin/env python3
"""ecr-doctor test lab: a fault-injecting stand-in for the AWS APIs and for the registry and
its layer host (stdlib only; run with tests/lab/.venv/bin/python or python3).

    faults.py api --ready-file PATH
    faults.py moto-images MOTO_URL
    faults.py registry --listen ADDR:PORT --cert PEM --key PEM --registry-host HOST
                       --layer-listen ADDR:PORT --layer-cert PEM --layer-key PEM
                       --layer-host HOST [--v2-status N]

`api`: plain HTTP on 127.0.0.1, one free port per mode (the doctor reaches it through
AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>), then atomically writes PATH as JSON
{"pid": <this process>, "modes": {MODE: "http://127.0.0.1:PORT", ...}}. Modes:
  hang             reads the request, never answers (holds the connection until the client
                   closes it)
  500              HTTP 500 InternalFailure / ServerException
  503              HTTP 503 ServiceUnavailable / ServiceUnavailableException
  429              HTTP 429 ThrottlingException "Rate exceeded"
  403-unparseable  HTTP 403 with an HTML body (a proxy's refusal page): no AWS error code
The bodies follow the caller's protocol: a request with X-Amz-Target (the JSON protocols,
here ECR) gets {"__type": CODE, "message": ...} as application/x-amz-json-1.1 with the
x-amzn-ErrorType header, as AWS JSON services answer; any other (the query protocol: STS,
EC2, IAM) gets <ErrorResponse><Error><Type>..</Type><Code>..</Code><Message>..</Message>
</Error><RequestId>..</RequestId></ErrorResponse> as text/xml. Every answer carries the
real clock's Date. "refused" (nothing listening) needs no server: the tests use a closed
loopback port.

`moto-images`: puts the images fault/MODE:1.0 (the manifest below) into the ECR of the
moto at MOTO_URL (boto3: run with the lab's venv), so ECR's API and the registry agree, as
for the lab's other images; repositories that exist are kept. netlab.sh runs it.

`registry`: HTTPS (HTTP/1.1) in the namespace lab (netlab.sh worlds `faults` and
`registry-500`), in place of the distribution registry on the registry address, with the
registry's certificate; and HTTPS on the layer address's port --layer-listen (the lab's S3
address on port 8443: moto keeps 443) with a certificate for the layer host, so a redirect
names the real layer host and its certificate is right. The registry side:
  GET /v2/           no Authorization: 401 with WWW-Authenticate: Basic realm; Basic AWS:*:
                     200 {} (the password is not checked); with --v2-status N: HTTP N and a
                     registry error body {"errors": [...]} whatever the Authorization
  GET /v2/fault/MODE/manifests/REF   (Basic AWS:* needed, as every /v2/ path) a Docker v2
                     manifest with one config and one layer (LAYER below, 65536 bytes);
                     an unknown MODE: 404 MANIFEST_UNKNOWN
  GET /v2/fault/MODE/tags/list       {"name", "tags": ["1.0"]}
  GET /v2/fault/MODE/blobs/DIGEST    307 to https://<layer-host>:<layer port>/MODE/DIGEST,
                     as ECR redirects a layer to S3
The layer side, by MODE (the repository's last segment):
  ok                 200 and the layer
  truncated          200 with Content-Length 65536, half of the bytes, then the connection
                     is closed (a blob cut mid-stream)
  wrong-bytes        200, 65536 bytes that are not the layer (its digest does not match)
  redirect-hang      the TLS handshake completes, the request is read, no answer ever (a
                     layer host that hangs)
  redirect-loop      307 back to the registry's blob URL (registry -> layer -> registry ...)
  forbidden          403 with S3's XML AccessDenied body (what S3 answers when the S3 gateway
                     endpoint's policy does not let the presigned layer request through)
Anything else: 404. Prints "ready" on stdout once both listeners are up; one line per request
on stderr (method, path, status; never a credential). Runs until killed; only ever reached
inside the lab's namespace or on loopback.
"""
from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import os
import re
import secrets
import socket
import ssl
import sys
import threading

LAYER = bytes((i * 7 + 3) % 251 for i in range(65536))
CONFIG = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
    "type": "layers", "diff_ids": []}}, separators=(",", ":")).encode()
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
LAYER_MODES = ("ok", "truncated", "wrong-bytes", "redirect-hang", "redirect-loop", "forbidden")
REPO = re.compile(r"^/v2/fault/([a-z0-9-]+)/(manifests|tags|blobs)/?(.*)$")


def sha(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def manifest() -> bytes:
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": len(CONFIG), "digest": sha(CONFIG)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(LAYER), "digest": sha(LAYER)}],
    }, separators=(",", ":")).encode()


class Base(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lab-faults"
    sys_version = ""
    timeout = 60

    def log_message(self, fmt, *args):
        pass

    def log_request(self, code="-", size="-"):
        print(f"{self.command} {self.path.split('?', 1)[0]} {code}", file=sys.stderr, flush=True)

    def read_body(self) -> bytes:
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = 0
        return self.rfile.read(n) if n > 0 else b""

    def answer(self, status: int, body: bytes, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def hang(self):
        """Never answer: wait until the client gives up and closes the connection."""
        self.close_connection = True
        try:
            self.connection.settimeout(600)
            while self.connection.recv(4096):
                pass
        except OSError:
            pass


# ------------------------------------------------------------------ api
API_ERRORS = {
    # mode: (status, query-protocol code, JSON-protocol code, message)
    "500": (500, "InternalFailure", "ServerException",
            "We encountered an internal error. Please try again."),
    "503": (503, "ServiceUnavailable", "ServiceUnavailableException",
            "Service is unavailable. Please try again later."),
    "429": (429, "Throttling", "ThrottlingException", "Rate exceeded"),
}
API_MODES = ("hang", "500", "503", "429", "403-unparseable")


def api_handler(mode: str):
    class Handler(Base):
        def do_POST(self):
            self.read_body()
            if mode == "hang":
                return self.hang()
            if mode == "403-unparseable":
                body = (b"<html><head><title>403 Forbidden</title></head><body>"
                        b"<h1>Forbidden</h1>Request blocked.</body></html>")
                return self.answer(403, body, [("Content-Type", "text/html")])
            status, query_code, json_code, message = API_ERRORS[mode]
            request_id = secrets.token_hex(16)
            if self.headers.get("X-Amz-Target"):
                body = json.dumps({"__type": json_code, "message": message}).encode()
                return self.answer(status, body, [
                    ("Content-Type", "application/x-amz-json-1.1"),
                    ("x-amzn-ErrorType", json_code), ("x-amzn-RequestId", request_id)])
            kind = "Sender" if status < 500 else "Receiver"
            body = (f"<ErrorResponse><Error><Type>{kind}</Type><Code>{query_code}</Code>"
                    f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
                    "</ErrorResponse>").encode()
            self.answer(status, body, [("Content-Type", "text/xml"),
                                       ("x-amzn-RequestId", request_id)])

        do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

    return Handler


class Threading(http.server.ThreadingHTTPServer):
    daemon_threads = True


def run_api(ready_file: str) -> None:
    modes = {}
    for mode in API_MODES:
        srv = Threading(("127.0.0.1", 0), api_handler(mode))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        modes[mode] = f"http://127.0.0.1:{srv.server_address[1]}"
    tmp = ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"pid": os.getpid(), "modes": modes}, f)
    os.replace(tmp, ready_file)
    threading.Event().wait()


# ------------------------------------------------------------------ registry
class TlsServer(Threading):
    """TLS handshakes in each connection's thread: a stalled client holds up no one."""

    tls: ssl.SSLContext

    def finish_request(self, request, client_address):
        request.settimeout(60)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except OSError:
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass


def registry_handler(a):
    host = a.registry_host
    layer_port = int(a.layer_listen.rsplit(":", 1)[1])

    class Handler(Base):
        def error(self, status: int, code: str, message: str, headers=()):
            body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
            self.answer(status, body, [("Content-Type", "application/json"), *headers])

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if not path.startswith("/v2/"):
                return self.error(404, "NOT_FOUND", "not found")
            if a.v2_status:
                return self.error(a.v2_status, "UNKNOWN", "internal server error")
            if not self.headers.get("Authorization", "").startswith("Basic "):
                return self.error(401, "UNAUTHORIZED", "authentication required",
                                  [("WWW-Authenticate", f'Basic realm="https://{host}/"')])
            if path == "/v2/":
                return self.answer(200, b"{}", [("Content-Type", "application/json")])
            m = REPO.match(path)
            if not m or m.group(1) not in LAYER_MODES:
                return self.error(404, "NAME_UNKNOWN", "repository name not known to registry")
            mode, kind, rest = m.groups()
            if kind == "tags":
                body = json.dumps({"name": f"fault/{mode}", "tags": ["1.0"]}).encode()
                return self.answer(200, body, [("Content-Type", "application/json")])
            if kind == "manifests":
                if rest not in ("1.0", sha(manifest())):
                    return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
                body = manifest()
                return self.answer(200, body, [("Content-Type", MANIFEST_TYPE),
                                               ("Docker-Content-Digest", sha(body))])
            if rest not in (sha(LAYER), sha(CONFIG)):
                return self.error(404, "BLOB_UNKNOWN", "blob unknown to registry")
            location = f"https://{a.layer_host}:{layer_port}/{mode}/{rest}"
            self.answer(307, b"", [("Location", location)])

        do_HEAD = do_GET

    return Handler


def layer_handler(a):
    class Handler(Base):
        def do_GET(self):
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            if len(parts) != 2 or parts[0] not in LAYER_MODES:
                return self.answer(404, b"not found", [("Content-Type", "text/plain")])
            mode, digest = parts
            data = LAYER if digest == sha(LAYER) else CONFIG
            octets = [("Content-Type", "application/octet-stream")]
            if mode == "ok":
                return self.answer(200, data, octets)
            if mode == "wrong-bytes":
                return self.answer(200, bytes(b ^ 0x5A for b in data), octets)
            if mode == "redirect-hang":
                return self.hang()
            if mode == "redirect-loop":
                back = f"https://{a.registry_host}/v2/fault/{mode}/blobs/{digest}"
                return self.answer(307, b"", [("Location", back)])
            if mode == "forbidden":
                denied = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                          b'<Message>Access Denied</Message><RequestId>LAB0FORBIDDEN000</RequestId>'
                          b'<HostId>lab</HostId></Error>')
                return self.answer(403, denied, [("Content-Type", "application/xml")])
            # truncated: announce the whole layer, send half, close
            self.close_connection = True
            self.send_response(200)
            for k, v in octets:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        do_HEAD = do_GET

    return Handler


def tls_server(listen: str, cert: str, key: str, handler) -> TlsServer:
    addr, port = listen.rsplit(":", 1)
    srv = TlsServer((addr, int(port)), handler)
    srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    srv.tls.load_cert_chain(cert, key)
    srv.tls.set_alpn_protocols(["http/1.1"])
    return srv


def run_registry(a) -> None:
    servers = [tls_server(a.listen, a.cert, a.key, registry_handler(a)),
               tls_server(a.layer_listen, a.layer_cert, a.layer_key, layer_handler(a))]
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


def put_moto_images(moto: str) -> None:
    import boto3

    ecr = boto3.client("ecr", endpoint_url=moto, region_name="us-east-1",
                       aws_access_key_id="lab-faults", aws_secret_access_key="lab-faults")
    body = manifest()
    for mode in LAYER_MODES:
        repo = f"fault/{mode}"
        try:
            ecr.create_repository(repositoryName=repo)
        except ecr.exceptions.RepositoryAlreadyExistsException:
            continue
        ecr.put_image(repositoryName=repo, imageManifest=body.decode(), imageTag="1.0",
                      imageManifestMediaType=MANIFEST_TYPE, imageDigest=sha(body))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="ecr-doctor lab: fault-injecting stand-ins")
    sub = ap.add_subparsers(dest="role", required=True)
    api = sub.add_parser("api", help="AWS API faults on loopback, one port per mode")
    api.add_argument("--ready-file", required=True)
    images = sub.add_parser("moto-images", help="the fault images in moto's ECR")
    images.add_argument("moto")
    reg = sub.add_parser("registry", help="registry and layer-host faults (namespace lab)")
    for flag in ("--listen", "--cert", "--key", "--registry-host", "--layer-listen",
                 "--layer-cert", "--layer-key", "--layer-host"):
        reg.add_argument(flag, required=True)
    reg.add_argument("--v2-status", type=int, default=0)
    a = ap.parse_args(argv)
    if a.role == "api":
        run_api(a.ready_file)
    elif a.role == "moto-images":
        put_moto_images(a.moto)
    else:
        run_registry(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
