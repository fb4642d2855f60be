#!/usr/bin/env python3
"""Push lab/big:1.0, one layer of SIZE bytes of random data (a tar.gz, as the lab seeds its
images: tests/lab/net/nettool.py), through the lab registry of the namespace this runs in,
and the same manifest into moto's ECR. Prints {"digest", "size", "layer_digest",
"layer_size"} as JSON.

    push_big.py RUNDIR SIZE      (run inside the namespace, with the lab venv's python)
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab", "net"))
import nettool  # noqa: E402


def main() -> None:
    rundir, size = sys.argv[1], int(sys.argv[2])
    password = open(os.path.join(rundir, "token.password")).read().strip()
    reg = nettool.Registry(os.path.join(rundir, "ca.pem"), password)
    with tempfile.TemporaryDirectory() as blobs:
        img = nettool.push_image(reg, blobs, "lab/big", "1.0", "amd64", [size])
    body = img.pop("_bytes")
    nettool.moto_put_image("lab/big", "1.0", nettool.DOCKER_MANIFEST, body, img["digest"])
    layer = img["layers"][0]
    print(json.dumps({"digest": img["digest"], "size": img["size"],
                      "layer_digest": layer["digest"], "layer_size": layer["size"]}))


if __name__ == "__main__":
    main()
