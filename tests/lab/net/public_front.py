#!/usr/bin/env python3
"""The namespace lab's stand-in for public.ecr.aws (ECR Public's registry), stdlib only.

    public_front.py ADDR PORT CERT KEY CA REALM_PASSWORD_FILE UPSTREAM UPSTREAM_PASSWORD_FILE

HTTPS (HTTP/1.1) on ADDR:PORT with CERT/KEY, speaking the registry token flow as
public.ecr.aws does:
  GET /token/?service=public.ecr.aws[&scope=repository:<repo>:pull]
      Basic AWS:<password> where password is REALM_PASSWORD_FILE's content (what the lab's
      ECR Public GetAuthorizationToken hands out): 200 {"token": <random>} (the token holds
      the scopes asked); any other or no Authorization: 401 {"errors":[{"code":"DENIED"}]}
      (the real endpoint also hands out anonymous tokens; this one does not).
  GET|HEAD /v2/...
      needs Authorization: Bearer <a token of /token/>, else 401 with the challenge
      WWW-Authenticate: Bearer realm="https://public.ecr.aws/token/",service="public.ecr.aws",
      scope="aws" (/v2/) or scope="repository:<repo>:pull" (a repository path, which also
      needs that scope in the token). Then forwarded to UPSTREAM (https://host, the lab's
      distribution registry, verified with CA) with Basic AWS:<UPSTREAM_PASSWORD_FILE>;
      status, body and headers come back unchanged (a blob's 307 to the layer host too:
      redirects are never followed here). Upstream unreachable: 502.
Other methods: 405. Prints "ready" on stdout once listening; one line per request on stderr
(method, path, status; never a credential). Runs until killed; only ever reached inside
the lab's namespace.
"""
from __future__ import annotations

import base64
import hmac
import http.client
import http.server
import json
import re
import secrets
import ssl
import sys
import threading
import urllib.parse

SERVICE = "public.ecr.aws"
REALM = "https://public.ecr.aws/token/"
REPO_PATH = re.compile(r"^/v2/(.+?)/(manifests|blobs|tags)/")
# headers of the upstream answer that are not passed on (hop-by-hop, or recomputed)
DROP = {"connection", "keep-alive", "transfer-encoding", "content-length", "www-authenticate"}


class State:
    def __init__(self, realm_password: str, upstream: str, upstream_password: str, ca: str):
        self.realm_auth = "Basic " + base64.b64encode(f"AWS:{realm_password}".encode()).decode()
        self.upstream = urllib.parse.urlsplit(upstream)
        self.upstream_auth = ("Basic " +
                              base64.b64encode(f"AWS:{upstream_password}".encode()).decode())
        self.ctx = ssl.create_default_context(cafile=ca)
        self.tokens: dict[str, set[str]] = {}
        self.lock = threading.Lock()


def make_handler(st: State):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "public-front"
        sys_version = ""
        timeout = 30

        def log_message(self, fmt, *args):
            pass

        def log_request(self, code="-", size="-"):
            path = self.path.split("?", 1)[0]
            print(f"{self.command} {path} {code}", file=sys.stderr, flush=True)

        def answer(self, status: int, body: bytes, headers=()):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def error(self, status: int, code: str, message: str, challenge: str | None = None):
            body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
            h = [("Content-Type", "application/json")]
            if challenge:
                h.append(("WWW-Authenticate", challenge))
            self.answer(status, body, h)

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            if u.path == "/token/":
                return self.token(u.query)
            if u.path == "/v2/" or u.path.startswith("/v2/"):
                return self.registry(u)
            self.error(404, "NOT_FOUND", "not found")

        def do_HEAD(self):
            u = urllib.parse.urlsplit(self.path)
            if u.path.startswith("/v2/"):
                return self.registry(u)
            self.error(404, "NOT_FOUND", "not found")

        def refuse_method(self):
            self.error(405, "UNSUPPORTED", "method not allowed")

        do_POST = do_PUT = do_PATCH = do_DELETE = refuse_method

        def token(self, query: str):
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), st.realm_auth.encode()):
                return self.error(401, "DENIED", "Your authorization token is invalid.")
            q = urllib.parse.parse_qs(query)
            if q.get("service", [SERVICE]) != [SERVICE]:
                return self.error(400, "INVALID_REQUEST", "unknown service")
            token = secrets.token_urlsafe(48)
            with st.lock:
                st.tokens[token] = set(q.get("scope", []))
            self.answer(200, json.dumps({"token": token}).encode(),
                        [("Content-Type", "application/json")])

        def registry(self, u):
            m = REPO_PATH.match(u.path)
            scope = f"repository:{m.group(1)}:pull" if m else "aws"
            challenge = f'Bearer realm="{REALM}",service="{SERVICE}",scope="{scope}"'
            given = self.headers.get("Authorization", "")
            bearer = given[7:] if given.startswith("Bearer ") else None
            with st.lock:
                scopes = st.tokens.get(bearer) if bearer else None
            if scopes is None:
                return self.error(401, "UNAUTHORIZED", "authentication required", challenge)
            if m and scope not in scopes:
                return self.error(401, "DENIED", "requested access to the resource is denied",
                                  challenge)
            self.forward(u)

        def forward(self, u):
            headers = {"Authorization": st.upstream_auth}
            for k in ("Accept", "Range", "If-None-Match"):
                for v in self.headers.get_all(k) or []:
                    headers[k] = f"{headers[k]}, {v}" if k in headers else v
            path = u.path + (f"?{u.query}" if u.query else "")
            try:
                conn = http.client.HTTPSConnection(st.upstream.hostname, st.upstream.port or 443,
                                                   context=st.ctx, timeout=10)
                conn.request(self.command, path, headers=headers)
                r = conn.getresponse()
                body = r.read()
                conn.close()
            except OSError as e:
                return self.error(502, "UPSTREAM", type(e).__name__)
            passed = [(k, v) for k, v in r.getheaders() if k.lower() not in DROP]
            if r.status == 401:
                passed.append(("WWW-Authenticate",
                               f'Bearer realm="{REALM}",service="{SERVICE}",scope="aws"'))
            self.send_response(r.status)
            for k, v in passed:
                self.send_header(k, v)
            # a HEAD answer keeps the upstream's length (of the body a GET would get)
            length = r.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    return Handler


class Server(http.server.ThreadingHTTPServer):
    """TLS handshakes in each connection's thread: a client that connects and stalls (a TCP
    probe) holds up no one."""

    daemon_threads = True
    tls: ssl.SSLContext

    def finish_request(self, request, client_address):
        request.settimeout(30)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except OSError:
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            conn.close()


def main(argv: list[str]) -> None:
    if len(argv) != 8:
        sys.exit(__doc__)
    addr, port, cert, key, ca, realm_pw, upstream, upstream_pw = argv
    st = State(open(realm_pw).read().strip(), upstream, open(upstream_pw).read().strip(), ca)
    srv = Server((addr, int(port)), make_handler(st))
    srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    srv.tls.load_cert_chain(cert, key)
    srv.tls.set_alpn_protocols(["http/1.1"])
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
