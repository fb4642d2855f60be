#!/usr/bin/env python3
"""Helpers for tests/lab/netlab.sh (run with tests/lab/.venv/bin/python, inside the namespace).

    nettool.py password                      print an ECR-shaped registry password (12 h)
    nettool.py s3-setup MOTO BUCKET          create BUCKET on moto (http) + public-read policy
    nettool.py push RUNDIR                   push lab/app:1.0 and lab/multi:1.0 through the
                                             registry's HTTP API; writes RUNDIR/images.json and
                                             keeps every blob in RUNDIR/blobs/<hex>
    nettool.py blob RUNDIR corrupt|restore   overwrite the smaller lab/app layer's S3 object
                                             with other bytes of the same length / put it back
    nettool.py dns NAME [TYPE]               one raw DNS query to the system resolver's first
                                             nameserver; prints "RCODE addr,addr" (NODATA =
                                             "NOERROR -")

Everything talks only to loopback or to the namespace's own addresses, by name through the
system resolver (the point of the lab), with the lab CA (RUNDIR/ca.pem) for TLS.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import io
import json
import os
import random
import secrets
import socket
import ssl
import struct
import sys
import tarfile
import time
import urllib.parse

REGION = "us-east-1"
ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
BUCKET = f"prod-{REGION}-starport-layer-bucket"
MOTO = "http://127.0.0.1:4566"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def die(msg: str) -> None:
    print(f"nettool: {msg}", file=sys.stderr)
    sys.exit(1)


def sha(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


# ------------------------------------------------------------------ password
def ecr_password(ttl: int = 43200) -> str:
    doc = {
        "payload": base64.b64encode(secrets.token_bytes(256)).decode(),
        "datakey": base64.b64encode(secrets.token_bytes(184)).decode(),
        "version": "2",
        "type": "DATA_KEY",
        "expiration": int(time.time()) + ttl,
    }
    return base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


# ------------------------------------------------------------------ s3 (moto, plain http)
def s3_client():
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=MOTO, region_name=REGION,
        aws_access_key_id="lab-netlab", aws_secret_access_key="lab-netlab",
        config=Config(retries={"max_attempts": 2}, s3={"addressing_style": "path"}),
    )


def s3_setup(bucket: str) -> None:
    s3 = s3_client()
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    # The registry's redirect middleware drops the presigned query string, so the layer
    # host must serve anonymous GETs (as ECR's minimal S3 gateway-endpoint policy allows).
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "LabPublicRead", "Effect": "Allow", "Principal": "*",
                       "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}],
    }))


def blob_key(digest: str) -> str:
    hexd = digest.split(":", 1)[1]
    return f"docker/registry/v2/blobs/sha256/{hexd[:2]}/{hexd}/data"


# ------------------------------------------------------------------ registry client
class Registry:
    def __init__(self, ca: str, password: str):
        self.ctx = ssl.create_default_context(cafile=ca)
        self.auth = "Basic " + base64.b64encode(f"AWS:{password}".encode()).decode()

    def req(self, method: str, url: str, body: bytes | None = None, headers=None):
        u = urllib.parse.urlsplit(url if "://" in url else f"https://{REGISTRY}{url}")
        conn = http.client.HTTPSConnection(u.hostname, u.port or 443, context=self.ctx,
                                           timeout=30)
        h = {"Authorization": self.auth}
        h.update(headers or {})
        path = u.path + (f"?{u.query}" if u.query else "")
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, r.headers, data

    def push_blob(self, repo: str, data: bytes) -> dict:
        d = sha(data)
        st, _, _ = self.req("HEAD", f"/v2/{repo}/blobs/{d}")
        if st in (200, 307):
            return {"digest": d, "size": len(data)}
        st, h, body = self.req("POST", f"/v2/{repo}/blobs/uploads/")
        if st != 202:
            die(f"POST upload {repo}: {st} {body[:200]!r}")
        loc = h["Location"]
        sep = "&" if "?" in loc else "?"
        st, h, body = self.req("PUT", f"{loc}{sep}digest={urllib.parse.quote(d)}", data,
                               {"Content-Type": "application/octet-stream",
                                "Content-Length": str(len(data))})
        if st != 201:
            die(f"PUT blob {repo} {d}: {st} {body[:200]!r}")
        return {"digest": d, "size": len(data)}

    def put_manifest(self, repo: str, ref: str, media_type: str, body: bytes) -> str:
        st, h, resp = self.req("PUT", f"/v2/{repo}/manifests/{ref}", body,
                               {"Content-Type": media_type})
        if st != 201:
            die(f"PUT manifest {repo}:{ref}: {st} {resp[:300]!r}")
        d = sha(body)
        if h.get("Docker-Content-Digest") != d:
            die(f"registry digest {h.get('Docker-Content-Digest')} != {d}")
        return d


def make_layer(name: str, nbytes: int) -> bytes:
    """tar.gz with one file of random (incompressible) bytes; mtime fixed."""
    payload = os.urandom(nbytes)
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        ti = tarfile.TarInfo(name)
        ti.size = len(payload)
        ti.mtime = 1700000000
        ti.mode = 0o644
        tf.addfile(ti, io.BytesIO(payload))
    return gzip.compress(tbuf.getvalue(), mtime=0)


def make_config(arch: str, layers: list[bytes]) -> bytes:
    diff_ids = [sha(gzip.decompress(x)) for x in layers]
    cfg = {
        "architecture": arch,
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/app"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "ecr-doctor netlab"}
                    for _ in layers],
    }
    return json.dumps(cfg, separators=(",", ":")).encode()


def push_image(reg: Registry, blobdir: str, repo: str, tag: str | None, arch: str,
               sizes: list[int]) -> dict:
    layers = [make_layer(f"data/{arch}-{i}.bin", n) for i, n in enumerate(sizes)]
    config = make_config(arch, layers)
    out_layers = []
    for lb in layers:
        info = reg.push_blob(repo, lb)
        info.update({"media_type": DOCKER_LAYER, "s3_key": blob_key(info["digest"])})
        out_layers.append(info)
        with open(os.path.join(blobdir, info["digest"].split(":")[1]), "wb") as f:
            f.write(lb)
    cinfo = reg.push_blob(repo, config)
    cinfo["media_type"] = DOCKER_CONFIG
    with open(os.path.join(blobdir, cinfo["digest"].split(":")[1]), "wb") as f:
        f.write(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": cinfo["size"], "digest": cinfo["digest"]},
        "layers": [{"mediaType": DOCKER_LAYER, "size": x["size"], "digest": x["digest"]}
                   for x in out_layers],
    }
    mbytes = json.dumps(manifest, indent=3).encode()
    digest = reg.put_manifest(repo, tag or sha(mbytes), DOCKER_MANIFEST, mbytes)
    return {"repository": repo, "tag": tag, "media_type": DOCKER_MANIFEST, "digest": digest,
            "size": len(mbytes), "platform": {"os": "linux", "architecture": arch},
            "config": cinfo, "layers": out_layers, "_bytes": mbytes}


def moto_put_image(repo: str, tag: str, media_type: str, body: bytes, digest: str) -> None:
    """Same image in moto's ECR (DescribeImages/BatchGetImage agree with the registry)."""
    import boto3

    ecr = boto3.client("ecr", endpoint_url=MOTO, region_name=REGION,
                       aws_access_key_id="lab-netlab", aws_secret_access_key="lab-netlab")
    try:
        ecr.create_repository(repositoryName=repo)
    except ecr.exceptions.RepositoryAlreadyExistsException:
        pass
    ecr.put_image(repositoryName=repo, imageManifest=body.decode(), imageTag=tag,
                  imageManifestMediaType=media_type, imageDigest=digest)


def cmd_push(rundir: str) -> None:
    password = open(os.path.join(rundir, "token.password")).read().strip()
    reg = Registry(os.path.join(rundir, "ca.pem"), password)
    blobdir = os.path.join(rundir, "blobs")
    os.makedirs(blobdir, exist_ok=True)
    images = {}

    app = push_image(reg, blobdir, "lab/app", "1.0", "amd64", [2 * 1024, 40 * 1024])
    body = app.pop("_bytes")
    moto_put_image("lab/app", "1.0", DOCKER_MANIFEST, body, app["digest"])
    app["ref"] = f"{REGISTRY}/lab/app:1.0"
    app["ref_by_digest"] = f"{REGISTRY}/lab/app@{app['digest']}"
    images["lab/app:1.0"] = app

    plats = []
    for arch, n in (("amd64", 3 * 1024), ("arm64", 5 * 1024)):
        m = push_image(reg, blobdir, "lab/multi", None, arch, [n])
        m.pop("_bytes")
        plats.append(m)
    lst = {
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST,
        "manifests": [{"mediaType": DOCKER_MANIFEST, "size": m["size"], "digest": m["digest"],
                       "platform": {"architecture": m["platform"]["architecture"],
                                    "os": "linux"}} for m in plats],
    }
    lbytes = json.dumps(lst, indent=3).encode()
    ldigest = reg.put_manifest("lab/multi", "1.0", DOCKER_LIST, lbytes)
    moto_put_image("lab/multi", "1.0", DOCKER_LIST, lbytes, ldigest)
    images["lab/multi:1.0"] = {
        "repository": "lab/multi", "tag": "1.0", "media_type": DOCKER_LIST,
        "digest": ldigest, "size": len(lbytes), "ref": f"{REGISTRY}/lab/multi:1.0",
        "ref_by_digest": f"{REGISTRY}/lab/multi@{ldigest}", "manifests": plats,
    }
    with open(os.path.join(rundir, "images.json"), "w") as f:
        json.dump(images, f, indent=2)
        f.write("\n")


def cmd_blob(rundir: str, mode: str) -> None:
    images = json.load(open(os.path.join(rundir, "images.json")))
    layer = min(images["lab/app:1.0"]["layers"], key=lambda x: x["size"])
    hexd = layer["digest"].split(":")[1]
    orig = open(os.path.join(rundir, "blobs", hexd), "rb").read()
    if mode == "corrupt":
        data = bytes(b ^ 0x5A for b in orig)  # same length, different bytes
    elif mode == "restore":
        data = orig
    else:
        die(f"blob mode {mode!r}")
    s3_client().put_object(Bucket=BUCKET, Key=layer["s3_key"], Body=data)


# ------------------------------------------------------------------ dns
def dns_query(name: str, qtype: str = "A") -> tuple[str, list[str]]:
    server = "127.0.0.1"
    try:
        for line in open("/etc/resolv.conf"):
            p = line.split()
            if len(p) >= 2 and p[0] == "nameserver":
                server = p[1]
                break
    except OSError:
        pass
    t = {"A": 1, "AAAA": 28}[qtype]
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(x)]) + x.encode() for x in name.rstrip(".").split(".")) + b"\0"
    q += struct.pack(">HH", t, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(q, (server, 53))
    data, _ = s.recvfrom(4096)
    _, flags, _, an, _, _ = struct.unpack(">HHHHHH", data[:12])
    i = 12
    while data[i]:
        i += data[i] + 1
    i += 5
    addrs = []
    for _ in range(an):
        if data[i] & 0xC0 == 0xC0:
            i += 2
        else:
            while data[i]:
                i += data[i] + 1
            i += 1
        rt, _, _, rl = struct.unpack(">HHIH", data[i:i + 10])
        i += 10
        rd = data[i:i + rl]
        i += rl
        if rt == 1:
            addrs.append(socket.inet_ntop(socket.AF_INET, rd))
        elif rt == 28:
            addrs.append(socket.inet_ntop(socket.AF_INET6, rd))
    rc = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}.get(flags & 0xF,
                                                                         str(flags & 0xF))
    return rc, addrs


def main(argv: list[str]) -> None:
    if not argv:
        die("usage: see the module docstring")
    cmd, args = argv[0], argv[1:]
    if cmd == "password":
        print(ecr_password())
    elif cmd == "s3-setup":
        global MOTO
        MOTO = args[0]
        s3_setup(args[1])
    elif cmd == "push":
        cmd_push(args[0])
    elif cmd == "blob":
        cmd_blob(args[0], args[1])
    elif cmd == "dns":
        rc, addrs = dns_query(args[0], args[1] if len(args) > 1 else "A")
        print(rc, ",".join(addrs) or "-")
    else:
        die(f"unknown command {cmd!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
