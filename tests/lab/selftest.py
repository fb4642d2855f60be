#!/usr/bin/env python3
"""Self-test of the moto lab launcher (no cargo, loopback only).

    tests/lab/.venv/bin/python tests/lab/selftest.py [-v]

Starts moto_lab.py twice on port 0 (plain; --enforce-auth --clock-offset 400), checks
identity, the ECR token shape, IAM enforcement and the skewed Date header, prints the
raw HTTP status/body of the two denials (-v), stops both servers.
A third (LAB_TOKEN_TTL_SECONDS=-60) runs with --parent-pid of a `sleep` that is killed
and left a zombie: the watchdog must stop it cleanly. A fourth runs with --enforce-auth
--vpc-worlds --imds-port 0 --ecs-port 0: every VPC world's key property through boto3
Describe* calls, the IMDSv2 token flow (401 without a token), identity document and role
credentials, the ECS task metadata v4 and credentials JSON.
Ends with 'N passed, N failed'; exit status 1 if anything failed.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
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
    def __init__(self, *args: str, env_extra: dict | None = None, wait: bool = True):
        self.tmp = tempfile.mkdtemp(prefix="moto-lab-selftest-")
        self.ready = os.path.join(self.tmp, "ready.json")
        env = dict(os.environ)
        env.pop("LAB_TOKEN_TTL_SECONDS", None)
        env.update(env_extra or {})
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, LAUNCHER, "--port", "0", "--ready-file", self.ready, *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        t0 = self.t0
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
        shutil.rmtree(self.tmp, ignore_errors=True)


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


# --------------------------------------------------------------------------- VPC worlds
def _rules(perms: list) -> list:
    out = []
    for p in perms:
        key = (p["IpProtocol"], p.get("FromPort"), p.get("ToPort"))
        out += [(*key, "cidr", r["CidrIp"]) for r in p.get("IpRanges", [])]
        out += [(*key, "sg", g["GroupId"]) for g in p.get("UserIdGroupPairs", [])]
        out += [(*key, "pl", x["PrefixListId"]) for x in p.get("PrefixListIds", [])]
    return sorted(out)


def observe_world(ec2, w: dict) -> dict:
    """What the Describe* calls say about one world, in the terms the expectations use."""
    vpc_id = w["vpc_id"]
    vf = [{"Name": "vpc-id", "Values": [vpc_id]}]
    vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    dns = []
    if vpc.get("DhcpOptionsId", "default") != "default":
        conf = ec2.describe_dhcp_options(DhcpOptionsIds=[vpc["DhcpOptionsId"]])["DhcpOptions"][0]
        dns = [v["Value"] for c in conf["DhcpConfigurations"] if c["Key"] == "domain-name-servers"
               for v in c["Values"]]
    subnet = ec2.describe_subnets(SubnetIds=[w["subnet_id"]])["Subnets"][0]
    explicit = ec2.describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": [w["subnet_id"]]}])["RouteTables"]
    main_rt = ec2.describe_route_tables(
        Filters=vf + [{"Name": "association.main", "Values": ["true"]}])["RouteTables"][0]
    eff = explicit[0] if explicit else main_rt
    eps = {}
    for e in ec2.describe_vpc_endpoints(Filters=vf)["VpcEndpoints"]:
        key = e["ServiceName"].rsplit(".", 2)[-2:] if "ecr" in e["ServiceName"] else ["s3"]
        key = ".".join(key) + ("-interface" if key == ["s3"] and e["VpcEndpointType"] == "Interface" else "")
        pol = json.loads(e["PolicyDocument"])
        eps[key] = {
            "id": e["VpcEndpointId"], "type": e["VpcEndpointType"], "state": e["State"],
            "private_dns": e.get("PrivateDnsEnabled"),
            "subnets": sorted(e.get("SubnetIds", [])), "groups": sorted(g["GroupId"] for g in e.get("Groups", [])),
            "route_tables": sorted(e.get("RouteTableIds", [])),
            "policy": [(st["Effect"], tuple(sorted([st["Action"]] if isinstance(st["Action"], str) else st["Action"])),
                        tuple([st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]))
                       for st in pol["Statement"]],
        }
    sg = ec2.describe_security_groups(GroupIds=[w["endpoint_sg"]])["SecurityGroups"][0]
    default = [r for r in eff["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    return {
        "dns_support": ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")["EnableDnsSupport"]["Value"],
        "dns_hostnames": ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"],
        "dns_servers": dns,
        "subnet": (subnet["CidrBlock"], subnet["AvailabilityZone"]),
        "explicit_rt": explicit[0]["RouteTableId"] if explicit else None,
        "effective_rt": eff["RouteTableId"],
        "default_route": (default[0].get("NatGatewayId") or default[0].get("GatewayId")) if default else None,
        "endpoints": eps,
        "sg_ingress": _rules(sg["IpPermissions"]),
    }


def expect_world(name: str, w: dict) -> dict:
    """The healthy baseline with exactly the one thing each world breaks."""
    pull = ("Allow", tuple(sorted(["ecr:GetAuthorizationToken", "ecr:BatchGetImage",
                                   "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"])), ("*",))
    only_describe = [("Allow", ("ecr:DescribeRepositories",), ("*",))]
    s3_pol = [("Allow", ("s3:GetObject",), ("arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*",))]
    rt = w["route_table_id"]

    def iface(key, pol):
        return {"id": w["endpoints"][key], "type": "Interface", "state": "available", "private_dns": True,
                "subnets": "<endpoint subnet>", "groups": [w["endpoint_sg"]], "route_tables": [], "policy": pol}
    eps = {"ecr.api": iface("ecr.api", [pull]), "ecr.dkr": iface("ecr.dkr", [pull]),
           "s3": {"id": w["endpoints"]["s3"], "type": "Gateway", "state": "available", "private_dns": True,
                  "subnets": [], "groups": [], "route_tables": [rt], "policy": s3_pol}}
    exp = {"dns_support": True, "dns_hostnames": True, "dns_servers": ["AmazonProvidedDNS"],
           "subnet": (w["subnet_cidr"], "us-east-1a"), "explicit_rt": rt, "effective_rt": rt,
           "default_route": None, "endpoints": eps,
           "sg_ingress": [("tcp", 443, 443, "cidr", w["vpc_cidr"])]}
    n = int(w["vpc_cidr"].split(".")[1])
    if name == "dns-hostnames-off":
        exp["dns_hostnames"] = False
    elif name == "dns-support-off":
        exp["dns_support"] = False
    elif name == "custom-dns":
        exp["dns_servers"] = [f"10.{n}.0.53"]
    elif name == "custom-dns-onprem":
        exp["dns_servers"] = ["192.168.10.53"]
    elif name == "api-private-dns-off-nat":
        eps["ecr.api"]["private_dns"] = False
        exp["default_route"] = w["nat_gateway"]
    elif name in ("igw-public", "transit-route"):
        # no endpoints; the default route to an internet gateway (a transit gateway's route
        # carries TransitGatewayId, which this comparison does not read)
        exp["endpoints"] = {}
        if name == "igw-public":
            exp["default_route"] = w["internet_gateway"]
    elif name in ("no-endpoints", "no-endpoints-nat"):
        exp["endpoints"] = {}
        if name == "no-endpoints-nat":
            exp["default_route"] = w["nat_gateway"]
    elif name in ("api-missing", "dkr-missing", "s3-missing"):
        del eps[{"api-missing": "ecr.api", "dkr-missing": "ecr.dkr", "s3-missing": "s3"}[name]]
    elif name in ("dkr-private-dns-off", "api-private-dns-off"):
        eps["ecr." + name.split("-")[0]]["private_dns"] = False
    elif name == "sg-blocks-443":
        exp["sg_ingress"] = [("tcp", 80, 80, "cidr", w["vpc_cidr"])]
    elif name == "sg-443-other-cidr":
        exp["sg_ingress"] = [("tcp", 443, 443, "cidr", "192.168.0.0/24")]
    elif name == "sg-443-by-reference":
        exp["sg_ingress"] = [("tcp", 443, 443, "sg", w["client_sg"])]
    elif name == "sg-443-prefix-list":
        exp["sg_ingress"] = [("tcp", 443, 443, "pl", "<customer prefix list>")]
    elif name in ("api-policy-denies", "dkr-policy-denies"):
        eps["ecr." + name.split("-")[0]]["policy"] = only_describe
    elif name == "dkr-policy-explicit-deny":
        eps["ecr.dkr"]["policy"] = [pull, ("Deny", ("ecr:BatchGetImage",), ("*",))]
    elif name == "s3-not-associated":
        eps["s3"]["route_tables"] = ["<another table>"]
    elif name == "s3-main-table":
        exp["explicit_rt"] = None
    elif name == "s3-policy-denies":
        eps["s3"]["policy"] = [("Allow", ("s3:GetObject",), ("arn:aws:s3:::some-other-bucket/*",))]
    elif name == "s3-interface-only":
        del eps["s3"]
        eps["s3-interface"] = iface("s3-interface", s3_pol)
    elif name == "az-not-covered":
        exp["subnet"] = (w["subnet_cidr"], "us-east-1b")
    elif name == "endpoint-pending":
        eps["ecr.dkr"]["state"] = "pendingAcceptance"
    return exp


def check_vpc_worlds(lab: Lab) -> None:
    worlds = lab.info.get("vpc_worlds", {})
    check("[vpc] 33 worlds in the ready file", len(worlds) == 33, str(sorted(worlds)))
    ec2 = lab.client("ec2")
    cidrs = set()
    for name, w in worlds.items():
        obs = observe_world(ec2, w)
        exp = expect_world(name, w)
        ep_subnets = {e["subnets"][0] for e in obs["endpoints"].values() if e["subnets"]}
        for key, e in exp["endpoints"].items():   # fill in placeholders from what was observed
            if e["subnets"] == "<endpoint subnet>":
                e["subnets"] = sorted(ep_subnets)[:1]
            if e["route_tables"] == ["<another table>"]:
                got = obs["endpoints"].get(key, {}).get("route_tables", [])
                e["route_tables"] = got if got and got != [w["route_table_id"]] else ["<another table>"]
        if exp["sg_ingress"] and exp["sg_ingress"][0][3:] == ("pl", "<customer prefix list>"):
            pl = obs["sg_ingress"][0][4] if obs["sg_ingress"] else ""
            entries = ec2.get_managed_prefix_list_entries(PrefixListId=pl)["Entries"] if pl else []
            if [x["Cidr"] for x in entries] == [w["vpc_cidr"]]:
                exp["sg_ingress"] = [("tcp", 443, 443, "pl", pl)]
        diff = {k: (obs[k], exp[k]) for k in exp if obs[k] != exp[k]}
        check(f"[vpc] {name}: {w['note']}", not diff, f"observed vs expected: {diff}")
        cidrs.add(w["vpc_cidr"])
    check("[vpc] distinct VPC CIDRs", len(cidrs) == len(worlds))
    # lab extension 6: endpoint interfaces have addresses of their subnet, from host .10 up
    import ipaddress
    bad = []
    for name, w in worlds.items():
        eps = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [w["vpc_id"]]}])["VpcEndpoints"]
        for e in eps:
            for ni in (ec2.describe_network_interfaces(NetworkInterfaceIds=e["NetworkInterfaceIds"])["NetworkInterfaces"]
                       if e.get("NetworkInterfaceIds") else []):
                cidr = ec2.describe_subnets(SubnetIds=[ni["SubnetId"]])["Subnets"][0]["CidrBlock"]
                if ipaddress.ip_address(ni["PrivateIpAddress"]) not in ipaddress.ip_network(cidr):
                    bad.append((name, e["ServiceName"], ni["PrivateIpAddress"], cidr))
    healthy = worlds.get("healthy", {}).get("endpoints", {})
    ips = {}
    for key in ("ecr.api", "ecr.dkr"):
        e = ec2.describe_vpc_endpoints(VpcEndpointIds=[healthy[key]])["VpcEndpoints"][0] if healthy.get(key) else {}
        ids = e.get("NetworkInterfaceIds") or []
        ips[key] = [n["PrivateIpAddress"] for n in
                    ec2.describe_network_interfaces(NetworkInterfaceIds=ids)["NetworkInterfaces"]] if ids else []
    check("[vpc] endpoint interfaces are in their subnets", not bad, str(bad))
    check("[vpc] healthy: ecr.api 10.1.1.10, ecr.dkr 10.1.1.11 (netlab.sh's addresses)",
          ips == {"ecr.api": ["10.1.1.10"], "ecr.dkr": ["10.1.1.11"]}, str(ips))
    if not worlds:
        return
    # a few properties the table above does not express
    w = worlds["az-not-covered"]
    ep_subnet = ec2.describe_vpc_endpoints(VpcEndpointIds=[w["endpoints"]["ecr.dkr"]])["VpcEndpoints"][0]["SubnetIds"]
    azs = [s["AvailabilityZone"] for s in ec2.describe_subnets(SubnetIds=ep_subnet)["Subnets"]]
    check("[vpc] az-not-covered: interface endpoints only in us-east-1a", azs == ["us-east-1a"]
          and w["subnet_id"] not in ep_subnet, f"{azs}")
    w = worlds["s3-not-associated"]
    rt = ec2.describe_vpc_endpoints(VpcEndpointIds=[w["endpoints"]["s3"]])["VpcEndpoints"][0]["RouteTableIds"]
    assoc = ec2.describe_route_tables(RouteTableIds=rt)["RouteTables"][0]["Associations"]
    check("[vpc] s3-not-associated: the S3 table has no association", assoc == [], str(assoc))
    w = worlds["no-endpoints-nat"]
    nat = ec2.describe_nat_gateways(NatGatewayIds=[w["nat_gateway"]])["NatGateways"][0]
    pub = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [nat["SubnetId"]]}])["RouteTables"]
    igw = [r.get("GatewayId", "") for t in pub for r in t["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    check("[vpc] no-endpoints-nat: NAT available in a public subnet routed to an igw",
          nat["State"] == "available" and igw and igw[0].startswith("igw-"), f"{nat['State']} {igw}")
    pend = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-endpoint-state", "Values": ["pendingAcceptance"]}])["VpcEndpoints"]
    check("[vpc] vpc-endpoint-state filter sees the lab:state tag",
          [e["VpcEndpointId"] for e in pend] == [worlds["endpoint-pending"]["endpoints"]["ecr.dkr"]])


# --------------------------------------------------------------------------- metadata
def http(method: str, url: str, headers: dict | None = None):
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=b"" if method == "PUT" else None)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=5) as resp:
            return resp.status, dict(resp.headers.items()), resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read().decode()


def temp_client(lab: Lab, service: str, creds: dict):
    return boto3.session.Session().client(
        service, endpoint_url=lab.endpoint, region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["Token"], config=Config(retries={"max_attempts": 1}))


def check_expiration(label: str, creds: dict) -> None:
    exp = creds.get("Expiration", "")
    try:
        left = datetime.strptime(exp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp() - time.time()
    except ValueError:
        left = -1
    check(f"{label} Expiration ISO 8601 Z, ~6 h ahead", abs(left - 21600) < 120, f"{exp} ({left:.0f}s)")


def check_imds(lab: Lab) -> None:
    info, w = lab.info["imds"], lab.info["vpc_worlds"]["healthy"]
    base = info["endpoint"] + "/latest"
    st, _, _ = http("GET", base + "/meta-data/instance-id")
    check("[imds] GET without token -> 401", st == 401, str(st))
    st, _, _ = http("GET", base + "/meta-data/instance-id", {"X-aws-ec2-metadata-token": "bogus"})
    check("[imds] GET with an unknown token -> 401", st == 401, str(st))
    st, _, _ = http("PUT", base + "/api/token")
    check("[imds] PUT token without TTL header -> 400", st == 400, str(st))
    st, hd, token = http("PUT", base + "/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
    check("[imds] PUT token -> 200, TTL header echoed", st == 200 and len(token) > 20
          and hd.get("X-aws-ec2-metadata-token-ttl-seconds") == "21600", f"{st} {hd}")
    tok = {"X-aws-ec2-metadata-token": token}

    def get(path):
        return http("GET", base + path, tok)[2]
    mac = get("/meta-data/mac")
    net = f"/meta-data/network/interfaces/macs/{mac}/"
    want = {
        "/meta-data/instance-id": info["instance_id"],
        "/meta-data/placement/availability-zone": "us-east-1a",
        "/meta-data/placement/region": "us-east-1",
        "/meta-data/mac": info["mac"],
        net + "vpc-id": w["vpc_id"], net + "subnet-id": w["subnet_id"],
        net + "security-group-ids": w["client_sg"], net + "subnet-ipv4-cidr-block": w["subnet_cidr"],
        net + "vpc-ipv4-cidr-blocks": w["vpc_cidr"], net + "local-ipv4s": info["private_ip"],
        "/meta-data/iam/security-credentials/": info["role"],
    }
    got = {k: get(k) for k in want}
    bad = {k: (got[k], v) for k, v in want.items() if got[k] != v}
    check("[imds] meta-data paths (placement, mac, network/interfaces/macs/<mac>/*, iam role)",
          not bad, str(bad))
    creds = json.loads(get(f"/meta-data/iam/security-credentials/{info['role']}"))
    check("[imds] role credentials JSON shape",
          creds.get("Code") == "Success" and creds.get("Type") == "AWS-HMAC"
          and {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "LastUpdated"} <= set(creds),
          json.dumps({k: v[:24] for k, v in creds.items()}))
    check_expiration("[imds]", creds)
    arn = temp_client(lab, "sts", creds).get_caller_identity()["Arn"]
    check("[imds] credentials accepted by enforced moto (assumed role)",
          arn == f"arn:aws:sts::123456789012:assumed-role/{info['role']}/{info['instance_id']}", arn)
    doc = json.loads(get("/dynamic/instance-identity/document"))
    check("[imds] identity document", doc.get("region") == "us-east-1" and doc.get("accountId") == "123456789012"
          and doc.get("instanceId") == info["instance_id"] and doc.get("availabilityZone") == "us-east-1a"
          and doc.get("privateIp") == info["private_ip"], json.dumps(doc))
    inst = lab.client("ec2").describe_instances(InstanceIds=[info["instance_id"]])["Reservations"][0]["Instances"][0]
    check("[imds] the instance exists in moto (subnet, client-sg, private IP)",
          inst["SubnetId"] == w["subnet_id"] and [g["GroupId"] for g in inst["SecurityGroups"]] == [w["client_sg"]]
          and inst["PrivateIpAddress"] == info["private_ip"], str(inst["SecurityGroups"]))


def check_ecs(lab: Lab) -> None:
    info, w = lab.info["ecs"], lab.info["vpc_worlds"]["healthy"]
    n = w["vpc_cidr"].split(".")[1]
    st, _, body = http("GET", info["metadata_uri"])
    c = json.loads(body) if st == 200 else {}
    nets = c.get("Networks") or [{}]
    check("[ecs] container metadata Networks[0]",
          nets[0].get("NetworkMode") == "awsvpc" and nets[0].get("IPv4Addresses") == [f"10.{n}.1.25"]
          and nets[0].get("IPv4SubnetCIDRBlock") == f"10.{n}.1.0/24"
          and nets[0].get("DomainNameServers") == [f"10.{n}.0.2"]
          and nets[0].get("PrivateDNSName") == f"ip-10-{n}-1-25.ec2.internal", json.dumps(nets))
    st, _, body = http("GET", info["metadata_uri"] + "/task")
    t = json.loads(body) if st == 200 else {}
    check("[ecs] task metadata (Cluster, TaskARN, AZ, VPCID, FARGATE, Containers, ClockDrift)",
          t.get("Cluster", "").startswith("arn:aws:ecs:us-east-1:123456789012:cluster/")
          and t.get("TaskARN") == info["task_arn"] and t.get("AvailabilityZone") == "us-east-1a"
          and t.get("VPCID") == w["vpc_id"] and t.get("LaunchType") == "FARGATE"
          and t.get("Containers") == [c] and "ClockErrorBound" in t.get("ClockDrift", {}),
          json.dumps({k: v for k, v in t.items() if k != "Containers"}))
    st, _, _ = http("GET", info["metadata_uri"] + "/nope")
    check("[ecs] unknown path -> 404", st == 404, str(st))
    st, _, body = http("GET", info["credentials_uri"])
    creds = json.loads(body) if st == 200 else {}
    check("[ecs] credentials JSON shape",
          {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn"} <= set(creds), body[:200])
    check_expiration("[ecs]", creds)
    task_id = info["task_arn"].rsplit("/", 1)[1]
    arn = temp_client(lab, "sts", creds).get_caller_identity()["Arn"]
    check("[ecs] credentials accepted by enforced moto (assumed role)",
          arn == f"arn:aws:sts::123456789012:assumed-role/lab-task-role/{task_id}", arn)
    eni = lab.client("ec2").describe_network_interfaces(
        Filters=[{"Name": "addresses.private-ip-address", "Values": [info["private_ip"]]}])["NetworkInterfaces"]
    check("[ecs] task ENI findable by IP, in client-sg",
          len(eni) == 1 and [g["GroupId"] for g in eni[0]["Groups"]] == [w["client_sg"]]
          and eni[0]["SubnetId"] == w["subnet_id"], str(eni[:1]))


def check_watchdog(lab: Lab, parent: subprocess.Popen) -> None:
    parent.kill()   # not reaped yet: a zombie, like a dead test binary nobody waited for
    if lab.proc.poll() is not None:
        parent.wait()
        check("[watchdog] lab alive until its parent died", False, f"rc={lab.proc.returncode}")
        return
    t0 = time.monotonic()
    try:
        rc = lab.proc.wait(5)
    except subprocess.TimeoutExpired:
        lab.proc.kill()
        rc = lab.proc.wait()
        rc = f"still running after 5 s (rc {rc} after SIGKILL)"
    took = time.monotonic() - t0
    parent.wait()
    check("[watchdog] --parent-pid: exits 0 within ~1 s of the parent's death (a zombie), "
          "ready file removed", rc == 0 and took < 2 and not os.path.exists(lab.ready),
          f"rc={rc} after {took:.2f}s")
    shutil.rmtree(lab.tmp, ignore_errors=True)


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

    # expired-token variant: LAB_TOKEN_TTL_SECONDS=-60 in the launcher's environment;
    # it also has a --parent-pid whose death (the watchdog) ends it instead of SIGTERM
    sleeper = subprocess.Popen(["sleep", "60"])
    exp_lab = Lab("--parent-pid", str(sleeper.pid), env_extra={"LAB_TOKEN_TTL_SECONDS": "-60"})
    try:
        d = exp_lab.client("ecr").get_authorization_token()["authorizationData"][0]
        doc = json.loads(base64.b64decode(base64.b64decode(d["authorizationToken"]).decode()[4:]))
        now = time.time()
        check("[ttl=-60] token already expired",
              abs(d["expiresAt"].timestamp() - (now - 60)) < 10 and abs(doc["expiration"] - (now - 60)) < 10,
              f"expiresAt-now={d['expiresAt'].timestamp() - now:.0f}s")
        check("[watchdog] still serving while the parent lives", exp_lab.proc.poll() is None)
    finally:
        check_watchdog(exp_lab, sleeper)

    vpc = Lab("--enforce-auth", "--vpc-worlds", "--imds-port", "0", "--ecs-port", "0", wait=False)
    try:
        vpc.wait_ready()
        check("[vpc] startup (24 worlds + imds + ecs, enforced) < 10 s", vpc.startup < 10,
              f"{vpc.startup:.2f}s")
        for part in (check_vpc_worlds, check_imds, check_ecs):
            try:
                part(vpc)
            except Exception as e:  # noqa: BLE001
                check(f"{part.__name__} ran", False, repr(e))
    finally:
        vpc.stop()

    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
