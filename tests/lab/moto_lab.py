#!/usr/bin/env python3
"""ecr-doctor test lab: moto server launcher (run with tests/lab/.venv/bin/python).

    moto_lab.py --port N --ready-file PATH [--enforce-auth] [--clock-offset SECONDS]
                [--date-header-offset SECONDS] [--parent-pid PID] [--vpc-worlds] [--imds-port N] [--ecs-port N]
                [--request-log PATH] [--operation-log PATH]

Serves moto (all services, one WSGI app) on 127.0.0.1:N in this process (N=0 picks a
free port), seeds a small AWS world with boto3 against itself, optionally turns IAM
auth enforcement on, then atomically writes PATH as JSON:

    {"port": N, "endpoint": "http://127.0.0.1:N", "account": "123456789012",
     "region": "us-east-1", "enforce_auth": false, "clock_offset": 0.0,
     "date_header_offset": 0.0, "token_ttl_seconds": 43200, "pid": <this process>,
     "users": {"lab-healthy": {"access_key_id": ..., "secret_access_key": ...},
               "lab-no-pull": {...}, "lab-no-ecr-token": {...}}}

and serves until SIGTERM/SIGINT (exit 0; the ready file is removed on exit).
Nothing is printed on stdout; diagnostics go to stderr; request logs are off.

Optional parts (each adds one key to the ready file):
  --request-log PATH  lab extension 5: appends one JSON line per request that carries an
                    X-Amz-Target header (the JSON protocols: here ECR), before moto handles
                    it: {"target": <X-Amz-Target>, "body": <the JSON body, or its text when
                    it is not JSON, or null when empty>}. No key.
  --operation-log PATH  lab extension 41: appends one JSON line per request of any kind
                    (every AWS API operation a client calls, the seeding's too), before
                    anything else of the lab handles it. No key.
  --parent-pid PID  watchdog: polls every 0.5 s and exits like on SIGTERM (ready file
                    removed, exit 0) once PID is gone or a zombie. No key.
  --vpc-worlds      after the seeding above, creates one VPC per entry of VPC_WORLDS (below)
                    with boto3 against itself; "vpc_worlds": {NAME: {"vpc_id", "vpc_cidr",
                    "subnet_id", "subnet_cidr", "az", "route_table_id", "client_sg",
                    "endpoint_sg", "endpoints": {"ecr.api", "ecr.dkr", "s3", "s3-interface":
                    id or null}, "nat_gateway": id or null, "internet_gateway": the client
                    route's igw or null, "note": what is broken}}.
                    World number N (1-based position in VPC_WORLDS) owns 10.N.0.0/16.
  --imds-port N     IMDSv2 stand-in on 127.0.0.1:N (0 = free port) for an EC2 instance that
                    is run (RunInstances) in the `healthy` world's subnet with client-sg;
                    "imds": {"endpoint", "port", "world", "instance_id", "mac",
                    "private_ip", "role", "role_arn"}. Implies --vpc-worlds.
                    PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-seconds (1..21600,
                    else 400; echoed in the answer); a GET without a live token gets 401.
                    Serves meta-data/{instance-id, placement/*, mac, local-ipv4, hostname,
                    network/interfaces/macs/<mac>/*, iam/security-credentials/[<role>]} and
                    dynamic/instance-identity/document; directories list their entries.
  --ecs-port N      ECS task metadata v4 + container credentials stand-in on 127.0.0.1:N
                    for a Fargate task (an ENI 10.1.1.25 with client-sg in the `healthy`
                    world's subnet); "ecs": {"metadata_uri": ".../v4/abc", "credentials_uri":
                    ".../creds", "port", "world", "task_arn", "eni_id", "private_ip",
                    "role_arn"}. Implies --vpc-worlds. GET /v4/abc (container), /v4/abc/task
                    (task, Containers = [container]), /creds; anything else 404. The task
                    definition lab-app:1 (Fargate, task role lab-task-role, execution role
                    lab-exec-role) is registered in moto's ECS, for ecs:DescribeTaskDefinition.
  --client-stand-ins  more metadata stand-ins for vpc.client-path, each on a free port, one
                    per CLIENT_STAND_INS entry (implies --vpc-worlds); "clients": {NAME: {"kind":
                    "imds", "endpoint", "world", "instance_id", "mac", "private_ip", "public_ip"}
                    or {"kind": "ecs", "metadata_uri", "credentials_uri", "world", "task_arn",
                    "eni_id", "mac", "private_ip"}}. imds-public: an instance in igw-public with an
                    Elastic IP (IMDS serves public-ipv4); imds-no-public: one without (public-ipv4
                    is 404, as on EC2); ecs-no-public: a Fargate task ENI in igw-public without a
                    public address (assignPublicIp DISABLED; task metadata has no public address,
                    the doctor reads the ENI by its MACAddress); imds-hop-limit-1: an instance in
                    healthy with MetadataOptions HttpPutResponseHopLimit 1; imds-token-hangs: an
                    IMDS whose token PUT is read and never answered (what a container sees behind
                    hop limit 1).
  Every instance the lab runs has MetadataOptions HttpTokens required and
  HttpPutResponseHopLimit 2 unless said otherwise (the doctor may run in a container).
  IMDS and ECS credentials are real moto STS AssumeRole credentials (ASIA..., session
  token, 6 h) of lab-instance-role / lab-task-role, which carry lab-healthy's policy: moto
  rejects a user's AKIA key sent with any session token once auth is enforced.
  lab-healthy may also call ec2:GetManagedPrefixListEntries (to read prefix-list rules).

Environment:
    LAB_TOKEN_TTL_SECONDS  lifetime of ECR authorization tokens (default 43200 = 12 h);
                           read per request; negative values give an already-expired token.
    LAB_TOKEN_THROTTLED    opt-in (lab extension 7): when set and non-empty,
                           GetAuthorizationToken answers HTTP 400 ThrottlingException
                           "Rate exceeded", as ECR does past its per-account, per-region quota.
    LAB_TOKEN_PASSWORD     opt-in (used by netlab.sh): when set and non-empty, every ECR token
                           carries exactly this password, i.e. base64("AWS:" + it), so a lab
                           registry's htpasswd can accept it; expiresAt still follows the TTL.

TLS listeners (opt-in, used by netlab.sh): --tls-listen ADDR:PORT (repeatable) with
--tls-cert PEM --tls-key PEM serves the same WSGI app (same moto backends, same state) over
HTTPS on each ADDR:PORT too, e.g. on VPC endpoint addresses inside a network namespace, so
clients use the real AWS host names (moto routes by Host header). ALPN offers http/1.1
only; the TLS handshake runs in the request thread (a stalled client cannot block the
listener). Ready-file key "tls_listen": ["ADDR:PORT", ...] ([] without the flag).

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
    (RFC 7231 IMF-fixdate) on every response, offset 0 included. --date-header-offset S
    adds S more seconds to that header only, not to the lab's clock (extension 6): what a
    proxy rewriting Date looks like.
 3. Request logging off (handler subclass). Why: keep the lab quiet.
 4. VPC endpoint state (moto.ec2.models.vpcs.VPCEndPoint.state becomes a property). Why:
    moto reports every endpoint as "available". An endpoint tagged `lab:state=<value>` is
    reported with State <value> (DescribeVpcEndpoints, its vpc-endpoint-state filter, and
    CreateVpcEndpoint's answer); untagged endpoints keep moto's behaviour.
 5. Request log (WSGI middleware, only with --request-log). Why: tests assert what the
    doctor asked for, e.g. that GetAuthorizationToken for another account's registry
    carried registryIds = [that account]; moto's answer does not show it. The body is read
    once and handed on to moto unchanged.
 6. SigV4 time window (WSGI middleware, on once seeding is done). Why: STS and ECR refuse
    requests signed more than 15 minutes off their clock, moto checks no time. The lab's
    clock is now + --clock-offset; a request whose credential scope names sts or ecr and
    whose X-Amz-Date is more than 15 minutes before it is answered as AWS does: STS with
    HTTP 403 SignatureDoesNotMatch (XML) "Signature expired: <X-Amz-Date> is now earlier
    than <clock - 15 min> (<clock> - 15 min.)", ECR with HTTP 400 InvalidSignatureException
    (JSON) and the same message; more than 15 minutes after it: "Signature not yet
    current: <X-Amz-Date> is still later than <clock + 15 min> (<clock> + 15 min.)".
    Other services and unsigned requests pass unchanged; the seeding (signed with the real
    clock) runs before the window is switched on.
 7. Throttling (LAB_TOKEN_THROTTLED, above), in extension 1's replacement. Why: the doctor
    tells throttling apart from other ECR errors; moto never throttles.
 8. ECR across accounts (moto.ecr.responses.ECRResponse: the backend property and the
    pull-side actions are wrapped). Why: moto serves every request from the caller's own
    account and ignores `registryId`, and it never evaluates repository policies. Real ECR
    serves the registry `registryId` names, and lets another account read or pull only what
    the owner's repository policy allows it. The lab routes by `registryId`, and for a
    caller of another account answers GetRepositoryPolicy, BatchGetImage,
    BatchCheckLayerAvailability, DescribeImages and ListImages with AccessDeniedException
    unless the repository policy has an Allow for the action whose Principal is "*",
    {"AWS": "*"} or names the caller's account (bare, root or any ARN of it) and no such
    Deny (Action wildcards match; Condition blocks are not evaluated). A repository without
    a policy denies every other account (whether ECR answers that case with
    RepositoryPolicyNotFoundException instead is not verified; the lab does not claim it).
    The world is seeded in account 210987654321 (OTHER_ACCOUNT)'s moto backend directly:
    repositories `shared/granted` (pulls and GetRepositoryPolicy granted to
    123456789012), `shared/readable` (only GetRepositoryPolicy and DescribeRepositories
    granted), `shared/pull-only` (pulls granted, the policy not readable),
    `shared/no-check-layer` (all but ecr:BatchCheckLayerAvailability), `shared/conditional`
    (the pull granted under an aws:PrincipalOrgID condition), `shared/no-policy`, and the
    execution role `lab-other-exec-role` (trusts only ecs-tasks.amazonaws.com) for pulls
    from ACCOUNT's `lab/app`, which has no repository policy. Ready-file key "other_account": {"account", "repositories", "exec_role"}.
 9. VPC worlds for vpc.client-path (boto3 calls moto supports as AWS does: no patch): a
    client security group whose egress is narrowed (RevokeSecurityGroupEgress of the default
    allow-all, AuthorizeSecurityGroupEgress), network ACLs (CreateNetworkAcl[Entry],
    ReplaceNetworkAclEntry, ReplaceNetworkAclAssociation; moto gives each ACL the `*` rule
    32767), an internet gateway route, a transit gateway route, Elastic IPs on an instance.
    Metadata stand-ins (not moto): IMDS meta-data/public-ipv4 only when the instance has a
    public address; a token PUT that never answers (--client-stand-ins).
 10. Interface endpoint addresses (VPCBackend.create_vpc_endpoint is wrapped). Why: moto
    gives each interface endpoint network interface a random 10.x.y.z address, mostly
    outside its subnet; AWS assigns an address of the endpoint's subnet. The wrapper moves
    each new endpoint interface to the first free address of its subnet from host .10 up
    (so in world N the first endpoint gets 10.N.1.10, the next 10.N.1.11: the healthy
    world's ecr.api and ecr.dkr interfaces are 10.1.1.10 and 10.1.1.11, the addresses
    netlab.sh serves them on). Everything else of moto's endpoint is unchanged.
30. ECR pull-through cache rules and the registry policy (moto.ecr.responses.ECRResponse
    gains describe_pull_through_cache_rules; ECRBackend._validate_registry_policy_action is
    replaced). Why: moto 5.2 has no DescribePullThroughCacheRules (HTTP 500), and its
    PutRegistryPolicy accepts only ecr:CreateRepository and ecr:ReplicateImage, while ECR
    also accepts ecr:BatchImportUpstreamImage there (the actions ECR enforces in a registry
    policy: ReplicateImage, BatchImportUpstreamImage, CreateRepository). The rules are the
    lab's own table (CACHE_RULES, per account, seeded below; no Create/Delete calls):
    DescribePullThroughCacheRules answers the rules of the caller's account, filtered by
    `ecrRepositoryPrefixes` when given (an unknown prefix answers
    PullThroughCacheRuleNotFoundException, as ECR does), one page. For another account's
    `registryId` it answers AccessDeniedException: no resource policy can grant this action
    to another account (a registry policy holds only the three actions above), so the lab
    refuses it; the error text is the lab's. moto's IAM enforcement still runs first
    (call_action). GetRegistryPolicy and GetLifecyclePolicy are moto's own.
31. Missing-image world (seeded with boto3 against the lab): account ACCOUNT has the
    pull-through cache rules `ecr-public` -> public.ecr.aws (upstreamRegistry ecr-public)
    and `quay` -> quay.io (upstreamRegistry quay); no repository under either exists. Its
    registry policy (AWS's pull-through cache example) allows arn:aws:iam::ACCOUNT:root
    ecr:BatchImportUpstreamImage and ecr:CreateRepository on repository/ecr-public/* only,
    so pulls under `quay/` get no grant from it. Repository lab/app gets a lifecycle policy
    (LAB_APP_LIFECYCLE): rule 1 expires untagged images pushed more than 1 day ago; rule 2
    keeps the newest 3 images with a tag matching `0.*`. Ready-file key "missing_images":
    {"cache_rules": [{"prefix", "upstream"}], "registry_policy_prefixes": ["ecr-public"],
    "lifecycle_repositories": ["lab/app"]}.
20. Roles that pull, trust policies and the policy simulator (issue 8, role.permissions;
    seed_pull_roles, patch_assume_role_trust, patch_simulate_principal_policy). Why: moto's
    AssumeRole never reads the role's trust policy (it even assumes roles that do not
    exist), and IAM SimulatePrincipalPolicy is not implemented (HTTP 500).
    - Seeded roles in ACCOUNT (PULL_ROLES below; ready-file key "pull_roles": {name: arn}):
      lab-role-complete (pull actions, token on "*"), lab-role-missing (only the token),
      lab-role-wildcard (an attached customer-managed policy with ecr:Get*, ecr:BatchGet*,
      ecr:BatchCheck*), lab-role-no-check-layer (all but ecr:BatchCheckLayerAvailability),
      lab-role-denied (ecr:* inline plus an attached explicit Deny of ecr:BatchGetImage),
      lab-role-token-scoped (GetAuthorizationToken only on repository ARNs),
      lab-role-conditional (pull actions only under an aws:SourceVpce condition), lab-puller
      (lab-healthy's policy) -- all trusting arn:aws:iam::ACCOUNT:root, so they can be
      assumed; lab-exec-role (a task execution role: trusts only ecs-tasks.amazonaws.com,
      complete pull permissions), an IAM Identity Center role
      /aws-reserved/sso.amazonaws.com/AWSReservedSSO_LabReadOnly_0123456789abcdef and a
      service-linked role /aws-service-role/lab.amazonaws.com/AWSServiceRoleForLabPuller
      (both with only the token).
    - Trust policies (once seeding is done): sts:AssumeRole into a role of a seeded account
      is answered HTTP 403 AccessDenied "User: <caller> is not authorized to perform:
      sts:AssumeRole on resource: <role>", as AWS does, unless the role exists and its trust
      policy has an Allow for sts:AssumeRole (Action wildcards match) whose Principal is "*",
      {"AWS": "*"} or names the caller (its account id, the account root ARN, or the
      caller's user or role ARN) and no such Deny; Conditions are not evaluated; Service and
      Federated principals never match a user. Roles of accounts the lab did not seed keep
      moto's behaviour. AssumeRoleWithWebIdentity is unchanged.
    - SimulatePrincipalPolicy: for a role (PolicySourceArn), every ActionNames x ResourceArns
      (default "*") pair is evaluated with moto's own evaluator (moto.iam.access_control.
      IAMPolicy, a second implementation next to ecr-doctor's) over the role's inline and
      attached policies: explicitDeny if any denies, else allowed if any allows, else
      implicitDeny; no context keys (a conditional statement is moto's business). Other
      policy sources are answered 400 InvalidInput.
 40. ECR Public GetAuthorizationToken (EcrPublicTokenMiddleware, in front of moto). Why: moto
    has no ecr-public backend (HTTP 500). A request signed for the service `ecr-public`
    with `X-Amz-Target: SpencerFrontendService.GetAuthorizationToken` is answered as ECR
    Public does (awsJson1.1): one object, not a list, {"authorizationData":
    {"authorizationToken": base64("AWS:" + password), "expiresAt": <epoch s>}}, no
    proxyEndpoint; password = LAB_TOKEN_PASSWORD when set (as extension 1), else an
    ECR-shaped one; expiresAt = now + LAB_TOKEN_TTL_SECONDS. Opt-in LAB_PUBLIC_TOKEN_DENIED:
    HTTP 400 AccessDeniedException naming ecr-public:GetAuthorizationToken, as AWS answers a
    caller without the permission (the lab evaluates no IAM policy for it). The request log
    (extension 5) records every request's signing service and region ("service",
    "region" from the SigV4 credential scope), so tests can assert where a token was asked.
 41. Operation log (OperationLogMiddleware, outermost, only with --operation-log). Why: the
    doctor promises to be read-only; tests assert that every AWS operation it calls is a read
    or a credential exchange, and the request log (extension 5) sees only the JSON
    protocols. One line per request: {"service": the SigV4 credential scope's service (for an
    unsigned request: "s3" when the Host is an S3 name, else ""), "operation": X-Amz-Target's
    part after the dot (JSON protocols: ECR, ECR Public, SSO...), else the Action parameter of
    the query string or of a form-encoded body (query protocol: STS, IAM, EC2), else
    "<METHOD> <path>" (REST: S3), "key": the access key id that signed it (so tests can tell
    the doctor's calls from the lab's own: lab-seed, lab-registry, lab-netlab, lab-faults),
    or "" when unsigned}. The body is read once and handed on unchanged.
"""
from __future__ import annotations

import argparse
import base64
import calendar
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
                    "ec2:GetManagedPrefixListEntries",
                    "s3:GetObject",
                ],
                "Resource": "*",
            }
        ],
    },
    # may log in but not pull (repo.policy's same-account denial, with --enforce-auth)
    "lab-no-pull": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sts:GetCallerIdentity", "ecr:GetAuthorizationToken"],
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
OTHER_ACCOUNT = "210987654321"
OTHER_EXEC_ROLE = "lab-other-exec-role"
PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
# repository in OTHER_ACCOUNT -> actions its policy grants ACCOUNT (None: no policy)
OTHER_REPOSITORIES = {
    "shared/granted": PULL + ["ecr:GetRepositoryPolicy"],
    "shared/readable": ["ecr:GetRepositoryPolicy", "ecr:DescribeRepositories"],
    "shared/pull-only": PULL,
    "shared/no-policy": None,
    "shared/no-check-layer": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                              "ecr:GetRepositoryPolicy"],
    "shared/conditional": PULL + ["ecr:GetRepositoryPolicy"],
}
# repositories of OTHER_ACCOUNT whose grant holds only under a condition (the lab's
# evaluator ignores conditions, as it says above; the doctor must not claim they hold)
OTHER_CONDITIONS = {
    "shared/conditional": {"StringEquals": {"aws:PrincipalOrgID": "o-lab0example"}},
}


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
        if os.environ.get("LAB_TOKEN_THROTTLED"):  # lab extension 7
            from moto.core.exceptions import JsonRESTError

            raise JsonRESTError("ThrottlingException", "Rate exceeded")
        registry_ids = self._get_param("registryIds") or [self.current_account]
        expires = int(time.time()) + token_ttl()
        auth_data = []
        for registry_id in registry_ids:
            # LAB_TOKEN_PASSWORD: fixed password for netlab.sh's registry (opt-in).
            password = os.environ.get("LAB_TOKEN_PASSWORD") or make_ecr_password(expires)
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


def resource_policy_allows(policy: str | None, names_principal, action: str) -> bool:
    """Lab extensions 8 and 20: does a resource policy (a repository policy, a trust policy)
    let the principal that `names_principal(values of Principal.AWS)` recognises perform
    `action`? Principal "*" matches everyone; Action wildcards; Deny wins; no conditions."""
    import fnmatch

    if not policy:
        return False
    try:
        doc = json.loads(policy)
    except ValueError:
        return False
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]

    def listed(v):
        return v if isinstance(v, list) else [v]

    def names(st) -> bool:
        p = st.get("Principal")
        if p == "*":
            return True
        return names_principal(listed(p.get("AWS", [])) if isinstance(p, dict) else [])

    def has_action(st) -> bool:
        return any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in listed(st.get("Action", [])))

    matching = [st for st in statements if names(st) and has_action(st)]
    if any(st.get("Effect") == "Deny" for st in matching):
        return False
    return any(st.get("Effect") == "Allow" for st in matching)


def repository_policy_allows(policy: str | None, account: str, action: str) -> bool:
    """Lab extension 8: does `policy` let `account` perform `action`? Principal "*", {"AWS":
    "*"} or any value naming the account."""
    return resource_policy_allows(
        policy, lambda values: any(v == "*" or v == account or f":{account}:" in v for v in values),
        action)


def patch_ecr_cross_account() -> None:
    """Lab extension 8 (see the module docstring)."""
    from moto.core.exceptions import JsonRESTError
    from moto.ecr.models import ecr_backends
    from moto.ecr.responses import ECRResponse

    def backend(self):
        account = self._get_param("registryId") or self.current_account
        return ecr_backends[account][self.region]

    ECRResponse.ecr_backend = property(backend)
    gated = {
        "get_repository_policy": "ecr:GetRepositoryPolicy",
        "batch_get_image": "ecr:BatchGetImage",
        "batch_check_layer_availability": "ecr:BatchCheckLayerAvailability",
        "describe_images": "ecr:DescribeImages",
        "list_images": "ecr:ListImages",
    }
    for name, action in gated.items():
        original = getattr(ECRResponse, name)

        def gate(self, original=original, action=action):
            owner = self._get_param("registryId")
            if owner and owner != self.current_account:
                repo = ecr_backends[owner][self.region].repositories.get(
                    self._get_param("repositoryName"))
                if repo is not None and not repository_policy_allows(
                        repo.policy, self.current_account, action):
                    raise JsonRESTError(
                        "AccessDeniedException",
                        f"User: arn:aws:iam::{self.current_account}:root is not authorized to "
                        f"perform: {action} on resource: {repo.arn} because no resource-based "
                        f"policy allows the {action} action")
            return original(self)

        setattr(ECRResponse, name, gate)


def seed_other_account() -> dict:
    """Lab extension 8: OTHER_ACCOUNT's repositories and their policies, created in that
    account's moto backend directly (this process serves moto; MOTO_ACCOUNT_ID pins every
    request's own account to ACCOUNT)."""
    from moto.ecr.models import ecr_backends

    backend = ecr_backends[OTHER_ACCOUNT][REGION]
    for repo, actions in OTHER_REPOSITORIES.items():
        backend.create_repository(repo, None, {}, {}, "MUTABLE", [])
        if actions is not None:
            grant = {"Sid": "LabGrant", "Effect": "Allow",
                     "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": actions}
            if repo in OTHER_CONDITIONS:
                grant["Condition"] = OTHER_CONDITIONS[repo]
            backend.set_repository_policy(OTHER_ACCOUNT, repo, json.dumps({
                "Version": "2012-10-17", "Statement": [grant]}))
    # an ECS task execution role of OTHER_ACCOUNT (trusts ecs-tasks.amazonaws.com only),
    # for a pull from ACCOUNT's own repositories by another account's role
    from moto.iam.models import iam_backends

    role = iam_backends[OTHER_ACCOUNT]["aws"].create_role(
        OTHER_EXEC_ROLE, json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole"}]}), "/", None, "", [], None)
    return {"account": OTHER_ACCOUNT, "repositories": sorted(OTHER_REPOSITORIES),
            "exec_role": role.arn}


# Lab extension 30/31: pull-through cache rules by account (the lab's own table).
CACHE_RULES: dict[str, list[dict]] = {}
LAB_APP_LIFECYCLE = {"rules": [
    {"rulePriority": 1, "description": "Expire untagged images after 1 day",
     "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                   "countUnit": "days", "countNumber": 1},
     "action": {"type": "expire"}},
    {"rulePriority": 2, "description": "Keep the newest 3 pre-release images",
     "selection": {"tagStatus": "tagged", "tagPatternList": ["0.*"],
                   "countType": "imageCountMoreThan", "countNumber": 3},
     "action": {"type": "expire"}},
]}


def patch_ecr_pull_through_cache() -> None:
    """Lab extension 30 (see the module docstring)."""
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult
    from moto.ecr.models import ECRBackend
    from moto.ecr.responses import ECRResponse

    def describe_pull_through_cache_rules(self):
        registry = self._get_param("registryId") or self.current_account
        if registry != self.current_account:
            raise JsonRESTError(
                "AccessDeniedException",
                f"User: arn:aws:iam::{self.current_account}:root is not authorized to perform: "
                f"ecr:DescribePullThroughCacheRules on the registry of account {registry}")
        rules = CACHE_RULES.get(registry, [])
        wanted = self._get_param("ecrRepositoryPrefixes")
        if wanted:
            known = {r["ecrRepositoryPrefix"] for r in rules}
            for p in wanted:
                if p not in known:
                    raise JsonRESTError(
                        "PullThroughCacheRuleNotFoundException",
                        "The pull through cache rule with the given ECR repository prefix "
                        "was not found")
            rules = [r for r in rules if r["ecrRepositoryPrefix"] in wanted]
        return ActionResult({"pullThroughCacheRules": [dict(r, registryId=registry)
                                                       for r in rules]})

    ECRResponse.describe_pull_through_cache_rules = describe_pull_through_cache_rules

    def _validate_registry_policy_action(self, policy_text: str) -> None:
        from moto.iam.exceptions import MalformedPolicyDocument

        allowed = {"ecr:ReplicateImage", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"}
        for statement in json.loads(policy_text)["Statement"]:
            action = statement["Action"]
            if set([action] if isinstance(action, str) else action) - allowed:
                raise MalformedPolicyDocument()

    ECRBackend._validate_registry_policy_action = _validate_registry_policy_action


def seed_missing_images(endpoint: str) -> dict:
    """Lab extension 31 (see the module docstring)."""
    now = datetime.now(tz=timezone.utc)
    CACHE_RULES[ACCOUNT] = [
        {"ecrRepositoryPrefix": "ecr-public", "upstreamRegistryUrl": "public.ecr.aws",
         "upstreamRegistry": "ecr-public", "createdAt": now, "updatedAt": now},
        {"ecrRepositoryPrefix": "quay", "upstreamRegistryUrl": "quay.io",
         "upstreamRegistry": "quay", "createdAt": now, "updatedAt": now},
    ]
    ecr = boto_client("ecr", endpoint)
    ecr.put_registry_policy(policyText=_policy({
        "Sid": "PullThroughCacheFromReadOnlyRole", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
        "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/ecr-public/*"}))
    ecr.put_lifecycle_policy(repositoryName="lab/app",
                             lifecyclePolicyText=json.dumps(LAB_APP_LIFECYCLE))
    return {"cache_rules": [{"prefix": r["ecrRepositoryPrefix"],
                             "upstream": r["upstreamRegistryUrl"]}
                            for r in CACHE_RULES[ACCOUNT]],
            "registry_policy_prefixes": ["ecr-public"],
            "lifecycle_repositories": ["lab/app"]}


def patch_endpoint_state() -> None:
    """Lab extension 4: tag lab:state=<value> on a VPC endpoint sets its reported State."""
    from moto.ec2.models.vpcs import VPCEndPoint

    def _get(self):
        for tag in self.ec2_backend.tags.get(self.id, {}).items():
            if tag[0] == "lab:state":
                return tag[1]
        return self.__dict__.get("_lab_state", "available")

    def _set(self, value):
        self.__dict__["_lab_state"] = value

    VPCEndPoint.state = property(_get, _set)


def patch_endpoint_eni_addresses() -> None:
    """Lab extension 10: interface endpoint ENIs get addresses inside their subnets."""
    import ipaddress

    from moto.ec2.models.vpcs import VPCBackend

    original = VPCBackend.create_vpc_endpoint

    def create_vpc_endpoint(self, *args, **kwargs):
        endpoint = original(self, *args, **kwargs)
        for eni_id in endpoint.network_interface_ids or []:
            eni = self.get_network_interface(eni_id)
            net = ipaddress.IPv4Network(eni.subnet.cidr_block)
            used = {
                a.get("PrivateIpAddress")
                for other in self.enis.values()
                if other is not eni and other.subnet is not None
                and other.subnet.id == eni.subnet.id
                for a in (other.private_ip_addresses or [])
            }
            # AWS reserves the first four addresses and the last one of every subnet
            for host in range(10, net.num_addresses - 1):
                ip = str(net.network_address + host)
                if ip not in used:
                    break
            else:
                raise RuntimeError(f"lab: subnet {eni.subnet.id} is full")
            eni.private_ip_address = ip
            eni.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": ip}]
            if getattr(eni, "private_dns_name", None):
                from moto.ec2.utils import generate_dns_from_ip

                eni.private_dns_name = generate_dns_from_ip(ip)
                eni.private_ip_addresses[0]["PrivateDnsName"] = eni.private_dns_name
        return endpoint

    VPCBackend.create_vpc_endpoint = create_vpc_endpoint


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


SIGV4_WINDOW = 15 * 60


class SigV4WindowMiddleware:
    """Lab extension 6: STS and ECR refuse requests signed more than 15 minutes off."""

    def __init__(self, app, offset: float):
        self.app = app
        self.offset = offset
        self.on = False  # switched on once seeding is done

    @staticmethod
    def _stamp(t: float) -> str:
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))

    def __call__(self, environ, start_response):
        auth = environ.get("HTTP_AUTHORIZATION", "")
        amz_date = environ.get("HTTP_X_AMZ_DATE", "")
        service = ""
        if "Credential=" in auth:
            scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
            service = scope[3] if len(scope) > 3 else ""
        if not (self.on and service in ("sts", "ecr") and amz_date):
            return self.app(environ, start_response)
        try:
            signed = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            return self.app(environ, start_response)
        now = time.time() + self.offset
        if signed < now - SIGV4_WINDOW:
            message = (f"Signature expired: {amz_date} is now earlier than "
                       f"{self._stamp(now - SIGV4_WINDOW)} ({self._stamp(now)} - 15 min.)")
        elif signed > now + SIGV4_WINDOW:
            message = (f"Signature not yet current: {amz_date} is still later than "
                       f"{self._stamp(now + SIGV4_WINDOW)} ({self._stamp(now)} + 15 min.)")
        else:
            return self.app(environ, start_response)
        if service == "sts":
            status, ctype = "403 Forbidden", "text/xml"
            body = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                    "<Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>"
                    f"<Message>{message}</Message></Error>"
                    f"<RequestId>{secrets.token_hex(16)}</RequestId></ErrorResponse>")
        else:
            status, ctype = "400 Bad Request", "application/x-amz-json-1.1"
            body = json.dumps({"__type": "InvalidSignatureException", "message": message})
        data = body.encode()
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(data)))])
        return [data]


def sigv4_scope(environ) -> tuple[str, str]:
    """(service, region) of the SigV4 credential scope, or ("", "")."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" not in auth:
        return "", ""
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    return (scope[3] if len(scope) > 3 else "", scope[2] if len(scope) > 2 else "")


class EcrPublicTokenMiddleware:
    """Lab extension 40: ecr-public GetAuthorizationToken (moto has no ecr-public)."""

    TARGET = "SpencerFrontendService.GetAuthorizationToken"

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        service, _ = sigv4_scope(environ)
        if service != "ecr-public" or environ.get("HTTP_X_AMZ_TARGET") != self.TARGET:
            return self.app(environ, start_response)
        if os.environ.get("LAB_PUBLIC_TOKEN_DENIED"):
            status = "400 Bad Request"
            body = {
                "__type": "AccessDeniedException",
                "message": "User is not authorized to perform: "
                "ecr-public:GetAuthorizationToken on resource: *",
            }
        else:
            expires = int(time.time()) + token_ttl()
            password = os.environ.get("LAB_TOKEN_PASSWORD") or make_ecr_password(expires)
            token = base64.b64encode(f"AWS:{password}".encode("ascii")).decode()
            status = "200 OK"
            body = {"authorizationData": {"authorizationToken": token, "expiresAt": expires}}
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/x-amz-json-1.1"),
                                ("Content-Length", str(len(data)))])
        return [data]


class RequestLogMiddleware:
    """Lab extension 5: one JSON line per X-Amz-Target request, written before moto runs."""

    def __init__(self, app, path: str):
        self.app = app
        self.path = path
        self.lock = threading.Lock()
        open(path, "w").close()

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            import io

            try:
                n = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                n = 0
            raw = environ["wsgi.input"].read(n) if n > 0 else b""
            environ["wsgi.input"] = io.BytesIO(raw)
            text = raw.decode("utf-8", "replace")
            try:
                body = json.loads(text) if text else None
            except ValueError:
                body = text
            service, region = sigv4_scope(environ)
            line = json.dumps({"target": target, "body": body, "service": service,
                               "region": region}, separators=(",", ":"))
            with self.lock, open(self.path, "a") as f:
                f.write(line + "\n")
        return self.app(environ, start_response)


class OperationLogMiddleware:
    """Lab extension 41: one JSON line per request (service, operation, signing key)."""

    def __init__(self, app, path: str):
        self.app = app
        self.path = path
        self.lock = threading.Lock()
        open(path, "w").close()

    def __call__(self, environ, start_response):
        import io
        from urllib.parse import parse_qs

        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target.rsplit(".", 1)[-1] if target else ""
        if not operation:
            operation = (parse_qs(environ.get("QUERY_STRING", "")).get("Action") or [""])[0]
        if not operation and environ.get("CONTENT_TYPE", "").startswith(
                "application/x-www-form-urlencoded"):
            try:
                n = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                n = 0
            raw = environ["wsgi.input"].read(n) if n > 0 else b""
            environ["wsgi.input"] = io.BytesIO(raw)
            operation = (parse_qs(raw.decode("utf-8", "replace")).get("Action") or [""])[0]
        if not operation:
            operation = f'{environ.get("REQUEST_METHOD", "")} {environ.get("PATH_INFO", "")}'
        service, _ = sigv4_scope(environ)
        if not service:
            host = environ.get("HTTP_HOST", "").split(":")[0]
            service = "s3" if (".s3." in host or host.startswith("s3.")) else ""
        auth = environ.get("HTTP_AUTHORIZATION", "")
        key = auth.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in auth else ""
        line = json.dumps({"service": service, "operation": operation, "key": key},
                          separators=(",", ":"))
        with self.lock, open(self.path, "a") as f:
            f.write(line + "\n")
        return self.app(environ, start_response)


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


# --------------------------------------------------------------------------- VPC worlds
# (name, what is broken). World N = position + 1 owns 10.N.0.0/16, subnet 10.N.1.0/24.
VPC_WORLDS = [
    ("healthy", "nothing broken"),
    ("dns-hostnames-off", "VPC attribute enableDnsHostnames is false: endpoint private DNS inactive"),
    ("dns-support-off", "VPC attribute enableDnsSupport is false: no Amazon DNS, private DNS inactive"),
    ("custom-dns", "DHCP options domain-name-servers=10.N.0.53 (not AmazonProvidedDNS): "
                   "endpoint private names need conditional forwarding"),
    ("no-endpoints", "no ecr.api, ecr.dkr or s3 endpoint and no NAT/internet route: ECR unreachable"),
    ("no-endpoints-nat", "no endpoints, but 0.0.0.0/0 goes to a NAT gateway (public path; works)"),
    ("api-missing", "no ecr.api interface endpoint"),
    ("dkr-missing", "no ecr.dkr interface endpoint"),
    ("s3-missing", "no S3 gateway endpoint: layer downloads fail"),
    ("dkr-private-dns-off", "ecr.dkr endpoint has PrivateDnsEnabled=false (required for ecr.dkr)"),
    ("api-private-dns-off", "ecr.api endpoint has PrivateDnsEnabled=false: api.ecr resolves public "
                            "unless clients use the vpce endpoint URL"),
    ("sg-blocks-443", "endpoint-sg allows only TCP 80 from the VPC CIDR, not 443"),
    ("sg-443-other-cidr", "endpoint-sg allows 443 only from 192.168.0.0/24, not the client subnet"),
    ("sg-443-by-reference", "nothing if the client is in client-sg: endpoint-sg allows 443 only "
                            "from security group client-sg (reference rule, no CIDR)"),
    ("sg-443-prefix-list", "nothing: endpoint-sg allows 443 only from a customer-managed prefix "
                           "list whose one entry is the VPC CIDR"),
    ("api-policy-denies", "ecr.api endpoint policy allows only ecr:DescribeRepositories "
                          "(GetAuthorizationToken implicitly denied)"),
    ("dkr-policy-denies", "ecr.dkr endpoint policy allows only ecr:DescribeRepositories "
                          "(BatchGetImage etc. implicitly denied)"),
    ("dkr-policy-explicit-deny", "ecr.dkr endpoint policy: the allow statement plus an explicit "
                                 "Deny of ecr:BatchGetImage"),
    ("s3-not-associated", "S3 gateway endpoint is on a second route table that no subnet uses, "
                          "not on the client subnet's table"),
    ("s3-main-table", "nothing: the subnet has no explicit route-table association and the S3 "
                      "gateway endpoint is on the main route table (implicit association)"),
    ("s3-policy-denies", "S3 gateway endpoint policy allows s3:GetObject only on "
                         "arn:aws:s3:::some-other-bucket/*, not the starport layer bucket"),
    ("s3-interface-only", "no S3 gateway endpoint, only an S3 Interface endpoint "
                          "(not the form ECR documents)"),
    ("az-not-covered", "client subnet is in us-east-1b; the interface endpoints are only in a "
                       "us-east-1a subnet (S3 gateway still covers the client via the route table)"),
    ("endpoint-pending", "ecr.dkr endpoint State is pendingAcceptance (lab:state tag)"),
    ("igw-public", "no endpoints; the client subnet's default route goes to an internet gateway: "
                   "works only for a client with a public IPv4 address"),
    ("client-egress-blocked", "client-sg's only outbound rule is TCP 443 to 192.168.0.0/16: "
                              "not the endpoints, not the S3 prefix list"),
    ("nacl-blocks-443", "the client subnet's network ACL denies outbound TCP 443 to 0.0.0.0/0 "
                        "(rule 90) before allowing everything (rule 100): layers to S3 blocked"),
    ("nacl-endpoint-ephemeral", "the interface endpoints sit in their own subnet 10.N.3.0/24 whose "
                                "network ACL lets out only TCP 1024-32767: replies to the client's "
                                "Linux ephemeral ports (32768-60999) are dropped"),
    ("transit-route", "no endpoints; the client subnet's default route goes to a transit gateway "
                      "(not followed by the doctor)"),
    ("custom-dns-onprem", "DHCP options domain-name-servers=192.168.10.53, outside the VPC (on "
                          "premises): needs a Route 53 Resolver inbound endpoint"),
    ("api-private-dns-off-nat", "ecr.api endpoint has PrivateDnsEnabled=false, but 0.0.0.0/0 goes "
                                "to a NAT gateway: API calls work, bypassing the endpoint"),
    ("s3-policy-principal-limited", "S3 gateway endpoint policy allows the layer bucket only when "
                                    "aws:PrincipalAccount is this account: ECR's presigned layer "
                                    "URLs are not the account's requests"),
    ("s3-policy-source-vpc", "nothing: S3 gateway endpoint policy allows the layer bucket when "
                             "aws:SourceVpc is this VPC, which layer downloads through it are"),
]
ECR_PULL_ACTIONS = ["ecr:GetAuthorizationToken", "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
LAYER_BUCKET = f"prod-{REGION}-starport-layer-bucket"
LAB_AMI = "ami-0abcdef1234567890"
INSTANCE_ROLE = "lab-instance-role"
ECS_TASK_IP_HOST = 25   # the task ENI is 10.1.1.25 (healthy world)
INSTANCE_IP_HOST = 100  # the instance is 10.1.1.100 (healthy world), netlab.sh's client;
                        # .10 and .11 are the endpoint interfaces (lab extension 10)


def _policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(actions, resource="*", sid=None) -> dict:
    st = {"Effect": "Allow", "Principal": "*", "Action": actions, "Resource": resource}
    if sid:
        st = {"Sid": sid, **st}
    return st


def _tags(rtype: str, world: str, name: str, extra: dict | None = None) -> list:
    tags = [{"Key": "Name", "Value": f"lab-{world}-{name}"}, {"Key": "lab:world", "Value": world}]
    tags += [{"Key": k, "Value": v} for k, v in (extra or {}).items()]
    return [{"ResourceType": rtype, "Tags": tags}]


def build_vpc_world(ec2, n: int, name: str, note: str, amazon_dopt: str) -> dict:
    svc = f"com.amazonaws.{REGION}"
    vpc_cidr = f"10.{n}.0.0/16"
    vpc_id = ec2.create_vpc(CidrBlock=vpc_cidr, TagSpecifications=_tags("vpc", name, "vpc"))["Vpc"]["VpcId"]
    # enableDnsSupport starts true; moto starts enableDnsHostnames false (AWS: false too for
    # non-default VPCs). One attribute per call, as in AWS.
    if name != "dns-hostnames-off":
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    if name == "dns-support-off":
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": False})
    if name in ("custom-dns", "custom-dns-onprem"):
        server = f"10.{n}.0.53" if name == "custom-dns" else "192.168.10.53"
        dopt = ec2.create_dhcp_options(
            DhcpConfigurations=[{"Key": "domain-name-servers", "Values": [server]},
                                {"Key": "domain-name", "Values": ["corp.example.internal"]}],
            TagSpecifications=_tags("dhcp-options", name, "dhcp"))["DhcpOptions"]["DhcpOptionsId"]
    else:
        dopt = amazon_dopt
    ec2.associate_dhcp_options(DhcpOptionsId=dopt, VpcId=vpc_id)

    rt = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=_tags("route-table", name, "private-rt"))["RouteTable"]["RouteTableId"]

    def subnet(cidr, az, label):
        return ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az,
                                 TagSpecifications=_tags("subnet", name, label))["Subnet"]["SubnetId"]

    az, subnet_cidr = "us-east-1a", f"10.{n}.1.0/24"
    ep_subnet = client_subnet = subnet(subnet_cidr, az, "private-a")
    if name == "nacl-endpoint-ephemeral":  # the endpoints in a subnet of their own
        ep_subnet = subnet(f"10.{n}.3.0/24", az, "endpoints-a")
    if name == "az-not-covered":
        az, subnet_cidr = "us-east-1b", f"10.{n}.2.0/24"
        client_subnet = subnet(subnet_cidr, az, "private-b")
        ec2.associate_route_table(RouteTableId=rt, SubnetId=ep_subnet)
    if name == "s3-main-table":  # no explicit association: the subnet uses the main table
        rt = ec2.describe_route_tables(Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "association.main", "Values": ["true"]}])["RouteTables"][0]["RouteTableId"]
    else:
        ec2.associate_route_table(RouteTableId=rt, SubnetId=client_subnet)

    client_sg = ec2.create_security_group(GroupName="client-sg", Description="lab client", VpcId=vpc_id,
                                          TagSpecifications=_tags("security-group", name, "client-sg"))["GroupId"]
    endpoint_sg = ec2.create_security_group(GroupName="endpoint-sg", Description="lab endpoints", VpcId=vpc_id,
                                            TagSpecifications=_tags("security-group", name, "endpoint-sg"))["GroupId"]
    rule = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "IpRanges": [{"CidrIp": vpc_cidr, "Description": "HTTPS from the VPC"}]}
    if name == "sg-blocks-443":
        rule.update(FromPort=80, ToPort=80)
        rule["IpRanges"] = [{"CidrIp": vpc_cidr, "Description": "HTTP from the VPC"}]
    elif name == "sg-443-other-cidr":
        rule["IpRanges"] = [{"CidrIp": "192.168.0.0/24", "Description": "HTTPS from elsewhere"}]
    elif name == "sg-443-by-reference":
        del rule["IpRanges"]
        rule["UserIdGroupPairs"] = [{"GroupId": client_sg, "Description": "HTTPS from client-sg"}]
    elif name == "sg-443-prefix-list":
        pl = ec2.create_managed_prefix_list(
            PrefixListName=f"lab-{name}", MaxEntries=5, AddressFamily="IPv4",
            Entries=[{"Cidr": vpc_cidr, "Description": "the VPC"}],
            TagSpecifications=_tags("prefix-list", name, "pl"))["PrefixList"]["PrefixListId"]
        del rule["IpRanges"]
        rule["PrefixListIds"] = [{"PrefixListId": pl, "Description": "HTTPS from the prefix list"}]
    ec2.authorize_security_group_ingress(GroupId=endpoint_sg, IpPermissions=[rule])

    if name == "client-egress-blocked":  # lab extension 9 (client egress)
        ec2.revoke_security_group_egress(GroupId=client_sg, IpPermissions=[
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        ec2.authorize_security_group_egress(GroupId=client_sg, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": "192.168.0.0/16", "Description": "HTTPS to elsewhere"}]}])
    if name in ("nacl-blocks-443", "nacl-endpoint-ephemeral"):
        acl_subnet = client_subnet if name == "nacl-blocks-443" else ep_subnet
        acl = ec2.create_network_acl(VpcId=vpc_id, TagSpecifications=_tags("network-acl", name, "acl"))["NetworkAcl"]["NetworkAclId"]
        for egress in (True, False):
            ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="-1", RuleAction="allow",
                                         Egress=egress, CidrBlock="0.0.0.0/0")
        if name == "nacl-blocks-443":
            ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=90, Protocol="6", RuleAction="deny",
                                         Egress=True, CidrBlock="0.0.0.0/0", PortRange={"From": 443, "To": 443})
        else:  # outbound: only 1024-32767 (replace the allow-all egress entry)
            ec2.replace_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="6", RuleAction="allow",
                                          Egress=True, CidrBlock="0.0.0.0/0", PortRange={"From": 1024, "To": 32767})
        assoc = [a for a in ec2.describe_network_acls(Filters=[
            {"Name": "association.subnet-id", "Values": [acl_subnet]}])["NetworkAcls"][0]["Associations"]
            if a["SubnetId"] == acl_subnet][0]
        ec2.replace_network_acl_association(AssociationId=assoc["NetworkAclAssociationId"], NetworkAclId=acl)
    internet_gateway = None
    if name == "igw-public":
        igw = internet_gateway = ec2.create_internet_gateway(TagSpecifications=_tags("internet-gateway", name, "igw"))["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
        ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    if name == "transit-route":
        tgw = ec2.create_transit_gateway(TagSpecifications=_tags("transit-gateway", name, "tgw"))["TransitGateway"]["TransitGatewayId"]
        ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", TransitGatewayId=tgw)

    nat = None
    if name in ("no-endpoints-nat", "api-private-dns-off-nat"):
        igw = ec2.create_internet_gateway(TagSpecifications=_tags("internet-gateway", name, "igw"))["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
        public = subnet(f"10.{n}.0.0/24", "us-east-1a", "public-a")
        public_rt = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=_tags("route-table", name, "public-rt"))["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        ec2.associate_route_table(RouteTableId=public_rt, SubnetId=public)
        alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=alloc,
                                     TagSpecifications=_tags("natgateway", name, "nat"))["NatGateway"]["NatGatewayId"]
        ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)

    ecr_allow = _allow(ECR_PULL_ACTIONS, sid="AllowPull")
    only_describe = _policy(_allow(["ecr:DescribeRepositories"], sid="OnlyDescribe"))
    policies = {
        "ecr.api": only_describe if name == "api-policy-denies" else _policy(ecr_allow),
        "ecr.dkr": (only_describe if name == "dkr-policy-denies" else
                    _policy(ecr_allow, {"Sid": "DenyBatchGetImage", "Effect": "Deny", "Principal": "*",
                                        "Action": "ecr:BatchGetImage", "Resource": "*"})
                    if name == "dkr-policy-explicit-deny" else _policy(ecr_allow)),
        "s3": _policy(_allow(["s3:GetObject"],
                             ["arn:aws:s3:::some-other-bucket/*"] if name == "s3-policy-denies"
                             else [f"arn:aws:s3:::{LAYER_BUCKET}/*"],
                             sid="Access-to-specific-bucket-only")),
    }
    condition = {"s3-policy-principal-limited": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}},
                 "s3-policy-source-vpc": {"StringEquals": {"aws:SourceVpc": vpc_id}}}.get(name)
    if condition:
        st = _allow(["s3:GetObject"], [f"arn:aws:s3:::{LAYER_BUCKET}/*"], sid="LayersFromHere")
        policies["s3"] = _policy({**st, "Condition": condition})
    skip = {"no-endpoints": {"ecr.api", "ecr.dkr", "s3"}, "no-endpoints-nat": {"ecr.api", "ecr.dkr", "s3"},
            "igw-public": {"ecr.api", "ecr.dkr", "s3"}, "transit-route": {"ecr.api", "ecr.dkr", "s3"},
            "api-missing": {"ecr.api"}, "dkr-missing": {"ecr.dkr"}, "s3-missing": {"s3"},
            "s3-interface-only": {"s3"}}.get(name, set())
    endpoints = {"ecr.api": None, "ecr.dkr": None, "s3": None, "s3-interface": None}
    for key in ("ecr.api", "ecr.dkr"):
        if key in skip:
            continue
        extra = {"lab:state": "pendingAcceptance"} if (name, key) == ("endpoint-pending", "ecr.dkr") else None
        endpoints[key] = ec2.create_vpc_endpoint(
            VpcEndpointType="Interface", VpcId=vpc_id, ServiceName=f"{svc}.{key}",
            SubnetIds=[ep_subnet], SecurityGroupIds=[endpoint_sg],
            PrivateDnsEnabled=name not in (f"{key.split('.')[1]}-private-dns-off",
                                           f"{key.split('.')[1]}-private-dns-off-nat"),
            PolicyDocument=policies[key],
            TagSpecifications=_tags("vpc-endpoint", name, key, extra))["VpcEndpoint"]["VpcEndpointId"]
    if "s3" not in skip:
        s3_rt = rt
        if name == "s3-not-associated":
            s3_rt = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=_tags("route-table", name, "unused-rt"))["RouteTable"]["RouteTableId"]
        endpoints["s3"] = ec2.create_vpc_endpoint(
            VpcEndpointType="Gateway", VpcId=vpc_id, ServiceName=f"{svc}.s3", RouteTableIds=[s3_rt],
            PolicyDocument=policies["s3"],
            TagSpecifications=_tags("vpc-endpoint", name, "s3"))["VpcEndpoint"]["VpcEndpointId"]
    if name == "s3-interface-only":
        endpoints["s3-interface"] = ec2.create_vpc_endpoint(
            VpcEndpointType="Interface", VpcId=vpc_id, ServiceName=f"{svc}.s3",
            SubnetIds=[ep_subnet], SecurityGroupIds=[endpoint_sg], PrivateDnsEnabled=True,
            PolicyDocument=policies["s3"],
            TagSpecifications=_tags("vpc-endpoint", name, "s3-interface"))["VpcEndpoint"]["VpcEndpointId"]

    return {"name": name, "vpc_id": vpc_id, "vpc_cidr": vpc_cidr, "subnet_id": client_subnet,
            "subnet_cidr": subnet_cidr, "az": az, "route_table_id": rt,
            "client_sg": client_sg, "endpoint_sg": endpoint_sg, "endpoints": endpoints,
            "nat_gateway": nat, "internet_gateway": internet_gateway,
            "note": note.replace("10.N.", f"10.{n}.")}


def seed_vpc_worlds(endpoint: str) -> dict:
    ec2 = boto_client("ec2", endpoint)
    # AWS gives every new VPC the region's default set (moto: the literal "default").
    amazon_dopt = ec2.create_dhcp_options(DhcpConfigurations=[
        {"Key": "domain-name", "Values": ["ec2.internal"]},
        {"Key": "domain-name-servers", "Values": ["AmazonProvidedDNS"]}])["DhcpOptions"]["DhcpOptionsId"]
    return {name: build_vpc_world(ec2, n, name, note, amazon_dopt)
            for n, (name, note) in enumerate(VPC_WORLDS, start=1)}


def role_credentials(endpoint: str, role: str, service: str, session: str) -> dict:
    """Role with lab-healthy's permissions, assumed now for 6 h: temporary credentials that
    moto accepts also under --enforce-auth (it rejects a user key sent with a session token).
    The role is created on first use (several stand-ins share it)."""
    iam = boto_client("iam", endpoint)
    try:
        arn = iam.get_role(RoleName=role)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=role, MaxSessionDuration=43200,
                              AssumeRolePolicyDocument=json.dumps({
                                  "Version": "2012-10-17",
                                  "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"Service": service}}]}))["Role"]["Arn"]
        iam.put_role_policy(RoleName=role, PolicyName=f"{role}-inline",
                            PolicyDocument=json.dumps(USERS["lab-healthy"]))
    c = boto_client("sts", endpoint).assume_role(RoleArn=arn, RoleSessionName=session,
                                                 DurationSeconds=21600)["Credentials"]
    return {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
            "Token": c["SessionToken"], "Expiration": _iso(c["Expiration"].timestamp()),
            "LastUpdated": _iso(time.time()), "RoleArn": arn}


def seed_instance(endpoint: str, world: dict, name: str = "instance", host: int = INSTANCE_IP_HOST,
                  hop_limit: int = 2, public_ip: bool = False) -> dict:
    """An EC2 instance (for IMDS) in the world's subnet with client-sg and an instance profile.
    MetadataOptions HttpPutResponseHopLimit = hop_limit (2 by default, as for AMIs flagged
    ImdsSupport v2.0: the doctor may run in a container); public_ip: an Elastic IP."""
    iam = boto_client("iam", endpoint)
    try:
        prof = iam.get_instance_profile(InstanceProfileName=INSTANCE_ROLE)["InstanceProfile"]
        fresh = False
    except iam.exceptions.NoSuchEntityException:
        prof = iam.create_instance_profile(InstanceProfileName=INSTANCE_ROLE)["InstanceProfile"]
        fresh = True
    ec2 = boto_client("ec2", endpoint)
    base = world["subnet_cidr"].rsplit(".", 1)[0]
    inst = ec2.run_instances(
        ImageId=LAB_AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1,
        SubnetId=world["subnet_id"], SecurityGroupIds=[world["client_sg"]],
        PrivateIpAddress=f"{base}.{host}", IamInstanceProfile={"Arn": prof["Arn"]},
        MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled",
                         "HttpPutResponseHopLimit": hop_limit},
        TagSpecifications=_tags("instance", world.get("name", "healthy"), name))["Instances"][0]
    eni = inst["NetworkInterfaces"][0]
    creds = role_credentials(endpoint, INSTANCE_ROLE, "ec2.amazonaws.com", inst["InstanceId"])
    if fresh:
        iam.add_role_to_instance_profile(InstanceProfileName=INSTANCE_ROLE, RoleName=INSTANCE_ROLE)
    public = None
    if public_ip:
        alloc = ec2.allocate_address(Domain="vpc")
        ec2.associate_address(AllocationId=alloc["AllocationId"], InstanceId=inst["InstanceId"])
        public = alloc["PublicIp"]
    return {"instance_id": inst["InstanceId"], "mac": eni["MacAddress"], "public_ip": public,
            "private_ip": inst["PrivateIpAddress"], "role": INSTANCE_ROLE,
            "instance_profile_arn": prof["Arn"], "image_id": LAB_AMI, "instance_type": "t3.micro",
            "launch_time": inst["LaunchTime"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "world": world, "creds": creds}


def seed_task_eni(endpoint: str, world: dict, task_id: str = "0123456789abcdef0123456789abcdef") -> dict:
    """The ENI a Fargate task in awsvpc mode would have (client-sg, fixed IP), without a public
    address (assignPublicIp DISABLED)."""
    import uuid

    ec2 = boto_client("ec2", endpoint)
    base = world["subnet_cidr"].rsplit(".", 1)[0]
    eni = ec2.create_network_interface(
        SubnetId=world["subnet_id"], Groups=[world["client_sg"]],
        PrivateIpAddress=f"{base}.{ECS_TASK_IP_HOST}",
        Description=f"arn:aws:ecs:{REGION}:{ACCOUNT}:attachment/{uuid.uuid4()}",
        TagSpecifications=_tags("network-interface", "healthy", "task-eni"))["NetworkInterface"]
    creds = role_credentials(endpoint, "lab-task-role", "ecs-tasks.amazonaws.com", task_id)
    return {"eni_id": eni["NetworkInterfaceId"], "mac": eni["MacAddress"],
            "private_ip": eni["PrivateIpAddress"], "task_id": task_id, "creds": creds}


# --------------------------------------------------------------------------- metadata stand-ins
def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")




def make_imds_handler(inst: dict, token_hangs: bool = False):
    """IMDSv2 only: PUT /latest/api/token (TTL header 1..21600), GETs need the token.
    token_hangs: the PUT is read and never answered (what a container sees when the
    instance's HttpPutResponseHopLimit is 1), so no GET gets a token either."""
    from http.server import BaseHTTPRequestHandler

    w, mac = inst["world"], inst["mac"]
    net = f"network/interfaces/macs/{mac}/"
    ip = inst["private_ip"]
    hostname = f"ip-{ip.replace('.', '-')}.ec2.internal"
    identity = {
        "accountId": ACCOUNT, "architecture": "x86_64", "availabilityZone": w["az"],
        "billingProducts": None, "devpayProductCodes": None, "marketplaceProductCodes": None,
        "imageId": inst["image_id"], "instanceId": inst["instance_id"],
        "instanceType": inst["instance_type"], "kernelId": None, "pendingTime": inst["launch_time"],
        "privateIp": ip, "ramdiskId": None, "region": REGION, "version": "2017-09-30",
    }
    static = {
        "meta-data/ami-id": inst["image_id"],
        "meta-data/hostname": hostname,
        "meta-data/local-hostname": hostname,
        "meta-data/local-ipv4": ip,
        "meta-data/instance-id": inst["instance_id"],
        "meta-data/instance-type": inst["instance_type"],
        "meta-data/mac": mac,
        "meta-data/placement/availability-zone": w["az"],
        "meta-data/placement/region": REGION,
        "meta-data/iam/info": json.dumps({"Code": "Success", "LastUpdated": inst["launch_time"],
                                          "InstanceProfileArn": inst["instance_profile_arn"],
                                          "InstanceProfileId": "AIPA" + "LAB" * 5}, indent=2),
        "meta-data/" + net + "device-number": "0",
        "meta-data/" + net + "local-ipv4s": ip,
        "meta-data/" + net + "mac": mac,
        "meta-data/" + net + "owner-id": ACCOUNT,
        "meta-data/" + net + "security-group-ids": w["client_sg"],
        "meta-data/" + net + "security-groups": "client-sg",
        "meta-data/" + net + "subnet-id": w["subnet_id"],
        "meta-data/" + net + "subnet-ipv4-cidr-block": w["subnet_cidr"],
        "meta-data/" + net + "vpc-id": w["vpc_id"],
        "meta-data/" + net + "vpc-ipv4-cidr-block": w["vpc_cidr"],
        "meta-data/" + net + "vpc-ipv4-cidr-blocks": w["vpc_cidr"],
        "dynamic/instance-identity/document": json.dumps(identity, indent=2),
    }
    if inst.get("public_ip"):  # without one, IMDS has no public-ipv4 at all (404)
        static["meta-data/public-ipv4"] = inst["public_ip"]
        static["meta-data/" + net + "public-ipv4s"] = inst["public_ip"]
    dynamic = {f"meta-data/iam/security-credentials/{inst['role']}":
               lambda: json.dumps({"Code": "Success", "Type": "AWS-HMAC",
                                   **{k: v for k, v in inst["creds"].items() if k != "RoleArn"}}, indent=2),
               "meta-data/iam/security-credentials/": lambda: inst["role"]}
    tokens: dict[str, float] = {}
    lock = threading.Lock()

    def listing(prefix: str):
        names = set()
        for k in list(static) + list(dynamic):
            if k.startswith(prefix) and k != prefix:
                head, sep, _ = k[len(prefix):].partition("/")
                names.add(head + sep)
        return "\n".join(sorted(names)) if names else None

    class ImdsHandler(BaseHTTPRequestHandler):
        server_version = "EC2ws"
        protocol_version = "HTTP/1.1"

        def version_string(self):
            return self.server_version

        def log_message(self, *a):
            pass

        def _send(self, code: int, body: str = "", headers=()):
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def do_PUT(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            if self.path != "/latest/api/token":
                return self._send(404, "Not Found")
            if token_hangs:  # the answer never arrives; the connection closes after a minute
                time.sleep(60)
                self.close_connection = True
                return
            if self.headers.get("X-Forwarded-For"):
                return self._send(403, "Forbidden")
            raw = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            try:
                ttl = int(raw)
            except (TypeError, ValueError):
                return self._send(400, "Bad Request")
            if not 1 <= ttl <= 21600:
                return self._send(400, "Bad Request")
            token = "lab-imds-" + secrets.token_urlsafe(32)
            with lock:
                tokens[token] = time.time() + ttl
            self._send(200, token, [("X-aws-ec2-metadata-token-ttl-seconds", str(ttl))])

        def do_GET(self):
            token = self.headers.get("X-aws-ec2-metadata-token")
            with lock:
                exp = tokens.get(token or "")
            if exp is None or exp < time.time():
                return self._send(401, "Unauthorized")
            path = self.path.split("?", 1)[0]
            if not path.startswith("/latest/"):
                return self._send(404, "Not Found")
            rel = path[len("/latest/"):]
            ttl_hdr = [("X-aws-ec2-metadata-token-ttl-seconds", str(int(exp - time.time())))]
            if rel in static:
                return self._send(200, static[rel], ttl_hdr)
            if rel in dynamic:
                return self._send(200, dynamic[rel](), ttl_hdr)
            body = listing(rel if rel.endswith("/") or rel == "" else rel + "/")
            if body is not None:
                return self._send(200, body, ttl_hdr)
            self._send(404, "Not Found")

        do_HEAD = do_GET

    return ImdsHandler


def seed_task_definition(endpoint: str) -> str:
    """The task definition the ECS stand-ins run (lab-app:1, as their metadata says): Fargate,
    task role lab-task-role, execution role lab-exec-role. Plain moto ECS (no extension): the
    doctor reads its executionRoleArn with ecs:DescribeTaskDefinition. Registered once."""
    ecs = boto_client("ecs", endpoint)
    have = ecs.list_task_definitions(familyPrefix="lab-app")["taskDefinitionArns"]
    if have:
        return have[0]
    td = ecs.register_task_definition(
        family="lab-app", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512",
        taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/lab-task-role",
        executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/lab-exec-role",
        containerDefinitions=[{"name": "app", "essential": True,
                               "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/lab/app:latest"}],
    )["taskDefinition"]
    assert td["revision"] == 1, td["revision"]
    return td["taskDefinitionArn"]


def make_ecs_handler(task: dict, world: dict):
    """ECS task metadata v4 (GET /v4/abc, /v4/abc/task) and container credentials (GET /creds)."""
    from http.server import BaseHTTPRequestHandler

    n_base = world["subnet_cidr"].rsplit(".", 1)[0]
    vpc_base = world["vpc_cidr"].split("/")[0].rsplit(".", 2)[0]
    ip = task["private_ip"]
    cluster = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/lab"
    task_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/lab/{task['task_id']}"
    started = _iso(time.time() - 60)
    container = {
        "DockerId": f"{task['task_id']}-1234567890",
        "Name": "app",
        "DockerName": "app",
        "Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/lab/app:latest",
        "ImageID": "sha256:" + "0" * 64,
        "Labels": {
            "com.amazonaws.ecs.cluster": cluster,
            "com.amazonaws.ecs.container-name": "app",
            "com.amazonaws.ecs.task-arn": task_arn,
            "com.amazonaws.ecs.task-definition-family": "lab-app",
            "com.amazonaws.ecs.task-definition-version": "1",
        },
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "Limits": {"CPU": 2},
        "CreatedAt": started,
        "StartedAt": started,
        "Type": "NORMAL",
        "ContainerARN": f"arn:aws:ecs:{REGION}:{ACCOUNT}:container/lab/{task['task_id']}/"
                        "05966557-f16c-49cb-9352-24b3a0dcd0e1",
        "LogDriver": "awslogs",
        "LogOptions": {"awslogs-create-group": "true", "awslogs-group": "/ecs/lab-app",
                       "awslogs-region": REGION, "awslogs-stream": f"ecs/app/{task['task_id']}"},
        "Networks": [{
            "NetworkMode": "awsvpc",
            "IPv4Addresses": [ip],
            "AttachmentIndex": 0,
            "MACAddress": task["mac"],
            "IPv4SubnetCIDRBlock": world["subnet_cidr"],
            "DomainNameServers": [f"{vpc_base}.0.2"],
            "DomainNameSearchList": ["ec2.internal"],
            "PrivateDNSName": f"ip-{ip.replace('.', '-')}.ec2.internal",
            "SubnetGatewayIpv4Address": f"{n_base}.1/{world['subnet_cidr'].split('/')[1]}",
        }],
        "Snapshotter": "overlayfs",
    }
    task_doc = {
        "Cluster": cluster,
        "TaskARN": task_arn,
        "Family": "lab-app",
        "Revision": "1",
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "Limits": {"CPU": 0.25, "Memory": 512},
        "PullStartedAt": started,
        "PullStoppedAt": started,
        "AvailabilityZone": world["az"],
        "LaunchType": "FARGATE",
        "Containers": [container],
        "VPCID": world["vpc_id"],
        "ClockDrift": {"ClockErrorBound": 0.5, "ReferenceTimestamp": started,
                       "ClockSynchronizationStatus": "SYNCHRONIZED"},
        "EphemeralStorageMetrics": {"Utilized": 261, "Reserved": 20496},
    }
    routes = {"/v4/abc": lambda: container, "/v4/abc/task": lambda: task_doc,
              "/creds": lambda: {k: v for k, v in task["creds"].items() if k != "LastUpdated"}}

    class EcsHandler(BaseHTTPRequestHandler):
        server_version = "ecs-agent-lab"
        protocol_version = "HTTP/1.1"

        def version_string(self):
            return self.server_version

        def log_message(self, *a):
            pass

        def do_GET(self):
            path = self.path.split("?", 1)[0].rstrip("/")
            fn = routes.get(path)
            code, body = (200, json.dumps(fn(), indent=2)) if fn else (404, json.dumps({"error": "not found"}))
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return EcsHandler, task_arn


# (name, kind, world, options): the extra metadata stand-ins of --client-stand-ins.
CLIENT_STAND_INS = [
    ("imds-public", "imds", "igw-public", {"public_ip": True}),
    ("imds-no-public", "imds", "igw-public", {}),
    ("ecs-no-public", "ecs", "igw-public", {}),
    ("imds-hop-limit-1", "imds", "healthy", {"hop_limit": 1}),
    ("imds-token-hangs", "imds", "healthy", {"token_hangs": True}),
]


def start_client_stand_ins(endpoint: str, worlds: dict, side: list) -> dict:
    """--client-stand-ins: one metadata stand-in per CLIENT_STAND_INS entry, each for its own
    instance or task ENI (host addresses 11, 12, ... of the world's client subnet)."""
    out = {}
    for i, (name, kind, world_name, opts) in enumerate(CLIENT_STAND_INS):
        w = worlds[world_name]
        host = 11 + i
        if kind == "imds":
            inst = seed_instance(endpoint, w, name=name, host=host,
                                 hop_limit=opts.get("hop_limit", 2),
                                 public_ip=opts.get("public_ip", False))
            srv = serve_http(0, make_imds_handler(inst, opts.get("token_hangs", False)), name)
            p = srv.server_address[1]
            out[name] = {"kind": kind, "endpoint": f"http://127.0.0.1:{p}", "world": world_name,
                         "instance_id": inst["instance_id"], "mac": inst["mac"],
                         "private_ip": inst["private_ip"], "public_ip": inst["public_ip"]}
        else:
            task = seed_task_eni(endpoint, w, task_id=f"{host:032x}")
            seed_task_definition(endpoint)
            w_base = w["subnet_cidr"].rsplit(".", 1)[0]
            assert task["private_ip"].startswith(w_base)
            handler, task_arn = make_ecs_handler(task, w)
            srv = serve_http(0, handler, name)
            p = srv.server_address[1]
            out[name] = {"kind": kind, "metadata_uri": f"http://127.0.0.1:{p}/v4/abc",
                         "credentials_uri": f"http://127.0.0.1:{p}/creds", "world": world_name,
                         "task_arn": task_arn, "eni_id": task["eni_id"], "mac": task["mac"],
                         "private_ip": task["private_ip"]}
        side.append(srv)
    return out


def serve_http(port: int, handler, name: str):
    from http.server import ThreadingHTTPServer

    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=srv.serve_forever, args=(0.1,), name=name, daemon=True).start()
    return srv


def start_watchdog(pid: int, stop: threading.Event) -> None:
    """--parent-pid: set `stop` once PID is gone (or a zombie nobody reaped yet)."""
    def alive() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except (FileNotFoundError, IndexError):
            return os.path.exists("/proc") is False
        except OSError:
            return True

    def run():
        while not stop.is_set():
            if not alive():
                log.info("parent pid %d is gone; stopping", pid)
                stop.set()
                return
            stop.wait(0.5)

    threading.Thread(target=run, name="watchdog", daemon=True).start()


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


def start_tls_listeners(app, specs, cert: str, key: str) -> list:
    """Opt-in (netlab.sh): also serve `app` over HTTPS on each "ADDR:PORT" in specs."""
    import ssl
    from werkzeug.serving import make_server

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    servers = []
    for spec in specs:
        host, _, port = spec.rpartition(":")
        srv = make_server(host.strip("[]"), int(port), app, threaded=True,
                          request_handler=make_handler_class())
        # Handshake on first read in the request thread, not in accept() on the
        # serving thread; ssl_context set afterwards so werkzeug reports https.
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
        srv.ssl_context = ctx
        threading.Thread(target=srv.serve_forever, name=f"moto-tls-{spec}",
                         daemon=True).start()
        servers.append(srv)
    return servers


# --------------------------------------------------------------------------- main
# --------------------------------------------------------------------------- lab extension 20
def _repo_arn(name: str = "*") -> str:
    return f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}"


def _identity_allow(actions, resource="*") -> dict:
    """An identity-policy statement (no Principal, unlike _allow's endpoint statements)."""
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


_ACCOUNT_TRUST = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                  "Action": "sts:AssumeRole"}
_TOKEN = {"Effect": "Allow", "Action": ["sts:GetCallerIdentity", "ecr:GetAuthorizationToken"],
          "Resource": "*"}
_PULL3 = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
# name -> (path, trust statement, inline statements, attached managed policies {name: statements})
PULL_ROLES = {
    "lab-role-complete": ("/", _ACCOUNT_TRUST, [_TOKEN, _identity_allow(_PULL3, _repo_arn())], {}),
    "lab-role-missing": ("/", _ACCOUNT_TRUST, [_TOKEN], {}),
    "lab-role-wildcard": ("/", _ACCOUNT_TRUST, [], {"lab-ecr-wildcard": [
        _identity_allow(["sts:GetCallerIdentity", "ecr:Get*", "ecr:BatchGet*", "ecr:BatchCheck*"])]}),
    "lab-role-no-check-layer": ("/", _ACCOUNT_TRUST, [
        _TOKEN, _identity_allow(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], _repo_arn())], {}),
    "lab-role-denied": ("/", _ACCOUNT_TRUST, [_identity_allow(["sts:GetCallerIdentity", "ecr:*"])], {
        "lab-deny-pull": [{"Sid": "NoPulls", "Effect": "Deny", "Action": "ecr:BatchGetImage",
                           "Resource": "*"}]}),
    "lab-role-token-scoped": ("/", _ACCOUNT_TRUST, [
        _identity_allow(["ecr:GetAuthorizationToken"] + _PULL3, _repo_arn()),
        _identity_allow(["sts:GetCallerIdentity"])], {}),
    "lab-role-conditional": ("/", _ACCOUNT_TRUST, [_TOKEN, {
        "Effect": "Allow", "Action": _PULL3, "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}}}], {}),
    "lab-puller": ("/", _ACCOUNT_TRUST, USERS["lab-healthy"]["Statement"], {}),
    "lab-exec-role": ("/", {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                            "Action": "sts:AssumeRole"},
                      [_identity_allow(ECR_PULL_ACTIONS + ["logs:CreateLogStream", "logs:PutLogEvents"])],
                      {}),
    "AWSReservedSSO_LabReadOnly_0123456789abcdef": (
        "/aws-reserved/sso.amazonaws.com/",
        {"Effect": "Allow", "Principal": {"Federated":
                                          f"arn:aws:iam::{ACCOUNT}:saml-provider/AWSSSO_lab_DO_NOT_DELETE"},
         "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]},
        [_TOKEN], {}),
    "AWSServiceRoleForLabPuller": ("/aws-service-role/lab.amazonaws.com/",
                                   {"Effect": "Allow", "Principal": {"Service": "lab.amazonaws.com"},
                                    "Action": "sts:AssumeRole"}, [_TOKEN], {}),
}


def seed_pull_roles(endpoint: str) -> dict:
    """Lab extension 20: the roles of PULL_ROLES, through IAM like a user would create them."""
    iam = boto_client("iam", endpoint)
    out = {}
    for name, (path, trust, inline, attached) in PULL_ROLES.items():
        arn = iam.create_role(RoleName=name, Path=path,
                              AssumeRolePolicyDocument=_policy(trust))["Role"]["Arn"]
        if inline:
            iam.put_role_policy(RoleName=name, PolicyName=f"{name}-inline",
                                PolicyDocument=_policy(*inline))
        for pname, statements in attached.items():
            parn = iam.create_policy(PolicyName=pname,
                                     PolicyDocument=_policy(*statements))["Policy"]["Arn"]
            iam.attach_role_policy(RoleName=name, PolicyArn=parn)
        out[name] = arn
    return out


class TrustSwitch:
    """Lab extension 20: trust policies are evaluated only once the seeding is done (the
    seeding assumes service roles with its own keys)."""
    on = False


def trust_allows(trust: str, caller_arn: str, caller_account: str) -> bool:
    """Lab extension 20: does a role's trust policy let `caller_arn` call sts:AssumeRole?"""
    named = ("*", caller_account, f"arn:aws:iam::{caller_account}:root", caller_arn)
    return resource_policy_allows(
        trust, lambda values: any(v in named for v in values), "sts:AssumeRole")


def patch_assume_role_trust() -> None:
    """Lab extension 20 (see the module docstring)."""
    from moto.core.exceptions import AccessDeniedError
    from moto.iam.models import iam_backends
    from moto.sts.responses import TokenResponse

    original = TokenResponse.assume_role

    def assume_role(self):
        role_arn = self._get_param("RoleArn") or ""
        parts = role_arn.split(":")
        account = parts[4] if len(parts) > 5 else ""
        if TrustSwitch.on and account in (ACCOUNT, OTHER_ACCOUNT):
            _, caller_arn, caller_account = self.backend.get_caller_identity(
                self.get_access_key(), self.region)
            name = role_arn.rsplit("/", 1)[-1]
            role = next((r for r in iam_backends[account]["aws"].roles.values()
                         if r.name == name), None)
            if role is None or not trust_allows(role.assume_role_policy_document,
                                                caller_arn, caller_account):
                raise AccessDeniedError(caller_arn, f"sts:AssumeRole on resource: {role_arn}")
        return original(self)

    TokenResponse.assume_role = assume_role


def patch_simulate_principal_policy() -> None:
    """Lab extension 20 (see the module docstring)."""
    from moto.core.exceptions import _RESTError
    from moto.core.responses import ActionResult
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.iam.responses import IamResponse

    class InvalidInput(_RESTError):
        code = 400

    def simulate_principal_policy(self):
        source = self._get_param("PolicySourceArn") or ""
        actions = self._get_param("ActionNames", [])
        resources = self._get_param("ResourceArns", []) or ["*"]
        role = next((r for r in self.backend.roles.values() if r.arn == source), None)
        if role is None:
            raise InvalidInput("InvalidInput", f"lab: PolicySourceArn {source} is not a known role")
        policies = [IAMPolicy(doc) for doc in role.policies.values()]
        policies += [IAMPolicy(p) for p in role.managed_policies.values()]
        results = []
        for action in actions:
            for resource in resources:
                seen = [p.is_action_permitted(action, resource) for p in policies]
                if PermissionResult.DENIED in seen:
                    decision = "explicitDeny"
                elif PermissionResult.PERMITTED in seen:
                    decision = "allowed"
                else:
                    decision = "implicitDeny"
                results.append({"EvalActionName": action, "EvalResourceName": resource,
                                "EvalDecision": decision})
        return ActionResult({"EvaluationResults": results, "IsTruncated": False})

    IamResponse.simulate_principal_policy = simulate_principal_policy


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="ecr-doctor lab: moto with lab extensions")
    ap.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1 (0 = pick one)")
    ap.add_argument("--ready-file", required=True, help="JSON written once seeded and serving")
    ap.add_argument("--enforce-auth", action="store_true", help="evaluate IAM after seeding")
    ap.add_argument("--clock-offset", type=float, default=0.0,
                    help="seconds added to the lab's clock (Date header, SigV4 window)")
    ap.add_argument("--date-header-offset", type=float, default=0.0,
                    help="seconds added to the Date header only (a proxy rewriting Date)")
    ap.add_argument("--tls-listen", action="append", default=[], metavar="ADDR:PORT",
                    help="opt-in: also serve HTTPS here (repeatable; needs --tls-cert/--tls-key)")
    ap.add_argument("--tls-cert", help="PEM certificate (chain) for --tls-listen")
    ap.add_argument("--tls-key", help="PEM private key for --tls-listen")
    ap.add_argument("--parent-pid", type=int, help="exit (cleanly) once this process is gone")
    ap.add_argument("--request-log", metavar="PATH",
                    help="append one JSON line per X-Amz-Target request (target, body)")
    ap.add_argument("--operation-log", metavar="PATH",
                    help="append one JSON line per request (service, operation, signing key)")
    ap.add_argument("--vpc-worlds", action="store_true", help="seed the VPC worlds")
    ap.add_argument("--imds-port", type=int, help="IMDSv2 stand-in port (0 = pick one)")
    ap.add_argument("--ecs-port", type=int, help="ECS task metadata v4 stand-in port (0 = pick one)")
    ap.add_argument("--client-stand-ins", action="store_true",
                    help="more IMDS / ECS metadata stand-ins for vpc.client-path (free ports)")
    args = ap.parse_args(argv)
    if args.imds_port is not None or args.ecs_port is not None or args.client_stand_ins:
        args.vpc_worlds = True

    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="moto_lab: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    t0 = time.monotonic()

    os.environ.setdefault("MOTO_ACCOUNT_ID", ACCOUNT)
    from werkzeug.serving import make_server
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    patch_ecr_token()
    patch_ecr_cross_account()
    patch_endpoint_state()
    patch_endpoint_eni_addresses()
    patch_ecr_pull_through_cache()
    patch_assume_role_trust()
    patch_simulate_principal_policy()
    backend = EcrPublicTokenMiddleware(DomainDispatcherApplication(create_backend_app))
    window = SigV4WindowMiddleware(backend,
                                   args.clock_offset)
    app = ClockOffsetMiddleware(window, args.clock_offset + args.date_header_offset)
    if args.request_log:
        app = RequestLogMiddleware(app, args.request_log)
    if args.operation_log:
        app = OperationLogMiddleware(app, args.operation_log)
    server = make_server("127.0.0.1", args.port, app, threaded=True,
                         request_handler=make_handler_class())
    port = server.server_address[1]
    endpoint = f"http://127.0.0.1:{port}"
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    thread.start()
    if args.tls_listen:
        if not (args.tls_cert and args.tls_key):
            ap.error("--tls-listen needs --tls-cert and --tls-key")
        start_tls_listeners(app, args.tls_listen, args.tls_cert, args.tls_key)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    if args.parent_pid:
        start_watchdog(args.parent_pid, stop)

    extra, side = {}, []
    try:
        users = seed(endpoint)
        extra["other_account"] = seed_other_account()
        extra["missing_images"] = seed_missing_images(endpoint)
        extra["pull_roles"] = seed_pull_roles(endpoint)
        if args.vpc_worlds:
            t1 = time.monotonic()
            extra["vpc_worlds"] = worlds = seed_vpc_worlds(endpoint)
            log.info("%d VPC worlds seeded in %.2fs", len(worlds), time.monotonic() - t1)
        if args.imds_port is not None:
            inst = seed_instance(endpoint, worlds["healthy"])
            srv = serve_http(args.imds_port, make_imds_handler(inst), "imds")
            side.append(srv)
            p = srv.server_address[1]
            extra["imds"] = {"endpoint": f"http://127.0.0.1:{p}", "port": p, "world": "healthy",
                             "instance_id": inst["instance_id"], "mac": inst["mac"],
                             "private_ip": inst["private_ip"], "role": inst["role"],
                             "role_arn": inst["creds"]["RoleArn"]}
        if args.ecs_port is not None:
            task = seed_task_eni(endpoint, worlds["healthy"])
            seed_task_definition(endpoint)
            handler, task_arn = make_ecs_handler(task, worlds["healthy"])
            srv = serve_http(args.ecs_port, handler, "ecs")
            side.append(srv)
            p = srv.server_address[1]
            extra["ecs"] = {"metadata_uri": f"http://127.0.0.1:{p}/v4/abc",
                            "credentials_uri": f"http://127.0.0.1:{p}/creds", "port": p,
                            "world": "healthy", "task_arn": task_arn, "eni_id": task["eni_id"],
                            "private_ip": task["private_ip"],
                            "role_arn": task["creds"]["RoleArn"]}
        if args.client_stand_ins:
            extra["clients"] = start_client_stand_ins(endpoint, worlds, side)
        if args.enforce_auth:
            enable_auth(endpoint)
        TrustSwitch.on = True  # extension 20, after the seeding
        window.on = True  # extension 6, after the seeding signed with the real clock
    except Exception as e:  # noqa: BLE001
        log.error("seeding failed: %r", e)
        for srv in side:
            srv.shutdown()
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
            "date_header_offset": args.date_header_offset,
            "token_ttl_seconds": token_ttl(),
            "pid": os.getpid(),
            "users": users,
            "tls_listen": args.tls_listen,
            **extra,
        })
        log.info("ready on %s in %.2fs (enforce_auth=%s clock_offset=%s)",
                 endpoint, time.monotonic() - t0, args.enforce_auth, args.clock_offset)
    while not stop.wait(3600):
        pass
    for srv in side:
        srv.shutdown()
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
