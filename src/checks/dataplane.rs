//! Data-plane checks, run from this machine: DNS of the three ECR hosts, TCP and TLS to
//! each, the registry login with the token, a manifest, and the smallest layer downloaded
//! through the registry's redirect to S3 with its digest verified.

use super::{Ctx, Manifest};
use crate::aws;
use crate::engine::Outcome;
use crate::probes::net::{ConnectFailure, DnsFailure, HttpFailure, HttpRequest, HttpResponse};
use futures::future::{BoxFuture, FutureExt};
use ipnet::IpNet;
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Host {
    Api,
    Registry,
    Layers,
}

impl Host {
    fn name(self, cx: &Ctx) -> Option<String> {
        match self {
            Host::Api => Some(aws::api_host(cx.region())),
            Host::Registry => cx.registry(),
            Host::Layers => Some(aws::layer_host(cx.region())),
        }
    }
    fn service(self) -> &'static str {
        match self {
            Host::Api => "ecr.api",
            Host::Registry => "ecr.dkr",
            Host::Layers => "s3",
        }
    }
}

/// RFC 1918, carrier-grade NAT, link-local and unique-local addresses.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

fn in_any(ip: IpAddr, cidrs: &[String]) -> bool {
    cidrs
        .iter()
        .filter_map(|c| c.parse::<IpNet>().ok())
        .any(|n| n.contains(&ip))
}

/// The interface endpoint with private DNS whose name `host` should resolve to, with the
/// VPC's CIDRs and the endpoint's addresses.
async fn private_endpoint(cx: &Ctx, host: Host) -> Option<(String, Vec<String>, Vec<String>)> {
    if host == Host::Layers {
        return None; // the S3 gateway endpoint does not change DNS
    }
    let vc = cx.board.vpc.get()?;
    let snap = cx.aws.vpc_snapshot(vc.vpc_id.clone()).await.ok()?;
    let service = aws::service_name(cx.region(), host.service());
    let ep = snap.endpoints.iter().find(|e| {
        e.service_name == service && e.kind.eq_ignore_ascii_case("Interface") && e.private_dns
    })?;
    Some((
        ep.id.clone(),
        snap.cidrs.clone(),
        snap.endpoint_ips.get(&ep.id).cloned().unwrap_or_default(),
    ))
}

fn dns(cx: Arc<Ctx>, host: Host) -> BoxFuture<'static, Outcome> {
    async move {
        let Some(name) = host.name(&cx) else {
            return Outcome::new("no-registry");
        };
        let answer = cx.net.resolve(name.clone()).await;
        let base = Outcome::new("ok")
            .fact("host", name.clone())
            .fact("resolver", cx.net.resolver_label())
            .fact("elapsed_ms", answer.elapsed.as_millis() as u64);
        let addrs = match answer.result {
            Ok(a) => a,
            Err(f) => {
                let (code, detail) = match f {
                    DnsFailure::NxDomain => ("nxdomain", "NXDOMAIN".to_string()),
                    DnsFailure::NoData => ("no-address", "no A or AAAA record".to_string()),
                    DnsFailure::Timeout => ("timeout", "no answer in time".to_string()),
                    DnsFailure::ServFail(d) => ("servfail", d),
                    DnsFailure::Other(d) => ("servfail", d),
                };
                return Outcome {
                    code: code.into(),
                    ..base
                }
                .fact("error", detail);
            }
        };
        if let Ok(mut m) = cx.board.dns.lock() {
            m.insert(name.clone(), addrs.clone());
        }
        let text: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
        let all_public = addrs.iter().all(|a| !is_private(*a));
        let kind = if all_public {
            "public"
        } else if addrs.iter().all(|a| is_private(*a)) {
            "private"
        } else {
            "mixed"
        };
        let base = base
            .fact("addresses", text.clone())
            .fact("address_kind", kind);
        if let Some((endpoint, cidrs, ips)) = private_endpoint(&cx, host).await {
            let base = base
                .fact("endpoint_id", endpoint)
                .fact("endpoint_ips", ips.clone());
            let in_vpc = |a: &IpAddr| in_any(*a, &cidrs) || ips.contains(&a.to_string());
            if !addrs.iter().any(in_vpc) {
                return if all_public {
                    Outcome {
                        code: "resolves-public".into(),
                        ..base
                    }
                } else {
                    Outcome {
                        code: "not-endpoint-address".into(),
                        ..base
                    }
                    .fact("vpc_cidrs", cidrs)
                };
            }
            return Outcome {
                code: "ok-endpoint".into(),
                ..base
            };
        }
        base
    }
    .boxed()
}

pub fn dns_api(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    dns(cx, Host::Api)
}
pub fn dns_dkr(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    dns(cx, Host::Registry)
}
pub fn dns_s3(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    dns(cx, Host::Layers)
}

fn net(cx: Arc<Ctx>, host: Host) -> BoxFuture<'static, Outcome> {
    async move {
        let Some(name) = host.name(&cx) else {
            return Outcome::new("no-registry");
        };
        let addrs = cx
            .board
            .dns
            .lock()
            .ok()
            .and_then(|m| m.get(&name).cloned())
            .unwrap_or_default();
        let r = cx.net.dial(name.clone(), addrs, 443).await;
        let address_kind = r.address.map(|a| {
            if is_private(a.ip()) {
                "private"
            } else {
                "public"
            }
        });
        let base = Outcome::new("ok")
            .fact("host", name.clone())
            .fact("address", r.address.map(|a| a.to_string()))
            .fact("address_kind", address_kind)
            .fact(
                "tried",
                r.tried.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            )
            .fact("via_proxy", r.via_proxy.clone());
        let connect_ms = match &r.connect {
            Ok(d) => d.as_millis() as u64,
            Err(f) => {
                let (code, detail) = match f {
                    ConnectFailure::Timeout => (
                        "connect-timeout",
                        format!("no answer within {:?}", cx.opts.timeout),
                    ),
                    ConnectFailure::Refused => {
                        ("connection-refused", "connection refused".to_string())
                    }
                    ConnectFailure::Unreachable(d) => ("unreachable", d.clone()),
                    ConnectFailure::Proxy(d) => ("unreachable", format!("through the proxy: {d}")),
                    ConnectFailure::Other(d) => ("unreachable", d.clone()),
                };
                return Outcome {
                    code: code.into(),
                    ..base
                }
                .fact("error", detail);
            }
        };
        let base = base.fact("connect_ms", connect_ms);
        match r.tls {
            Some(Ok((d, info))) => base
                .fact("tls_ms", d.as_millis() as u64)
                .fact("tls_version", info.version)
                .fact(
                    "cert_subject",
                    info.subject.unwrap_or_else(|| "unknown".into()),
                )
                .fact(
                    "cert_issuer",
                    info.issuer.unwrap_or_else(|| "unknown".into()),
                ),
            Some(Err(f)) => Outcome {
                code: "tls-failed".into(),
                ..base
            }
            .fact("error", f.detail)
            .fact("cert_subject", f.subject.unwrap_or_else(|| "none".into()))
            .fact(
                "cert_issuer",
                f.issuer.unwrap_or_else(|| "none shown".into()),
            ),
            None => Outcome {
                code: "tls-failed".into(),
                ..base
            }
            .fact("error", "no TLS handshake"),
        }
    }
    .boxed()
}

pub fn net_api(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    net(cx, Host::Api)
}
pub fn net_dkr(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    net(cx, Host::Registry)
}
pub fn net_s3(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    net(cx, Host::Layers)
}

fn http_failure(o: Outcome, f: &HttpFailure) -> Outcome {
    Outcome {
        code: "request-failed".into(),
        ..o
    }
    .fact("error", f.detail().to_string())
}

/// The registry's error text (`{"errors":[{"code","message"}]}`), if any.
fn registry_error(resp: &HttpResponse) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(&resp.body).ok()?;
    let e = v["errors"].get(0)?;
    Some(format!(
        "{}: {}",
        e["code"].as_str().unwrap_or("?"),
        e["message"].as_str().unwrap_or("")
    ))
}

fn auth_request(cx: &Ctx, url: String, accept: Option<&str>) -> Option<HttpRequest> {
    let token = cx.board.token.get()?;
    Some(HttpRequest {
        url,
        headers: accept
            .map(|a| vec![("Accept".to_string(), a.to_string())])
            .unwrap_or_default(),
        basic_auth: Some(("AWS".to_string(), token.password.clone())),
        keep: 4 << 20,
    })
}

pub fn registry_auth(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    async move {
        let Some(registry) = cx.registry() else {
            return Outcome::new("no-registry");
        };
        let Some(req) = auth_request(&cx, format!("https://{registry}/v2/"), None) else {
            return Outcome::new("no-token");
        };
        let base = Outcome::new("ok").fact("registry", registry.clone());
        match cx.net.get(req).await {
            Err(f) => http_failure(base, &f),
            Ok(resp) => {
                let base = base
                    .fact("http_status", resp.status)
                    .fact("elapsed_ms", resp.elapsed.as_millis() as u64)
                    .fact(
                        "api_version",
                        resp.header("Docker-Distribution-Api-Version")
                            .map(str::to_string),
                    )
                    .fact("registry_error", registry_error(&resp));
                match resp.status {
                    200 => base,
                    401 => Outcome {
                        code: "unauthorized".into(),
                        ..base
                    },
                    403 => Outcome {
                        code: "forbidden".into(),
                        ..base
                    },
                    _ => Outcome {
                        code: "unexpected-status".into(),
                        ..base
                    },
                }
            }
        }
    }
    .boxed()
}

pub const MANIFEST_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json";

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
];
const MANIFEST_TYPES: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
];

fn media_type(resp: &HttpResponse, doc: &serde_json::Value) -> String {
    doc["mediaType"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            resp.header("Content-Type")
                .map(|c| c.split(';').next().unwrap_or("").trim().to_string())
        })
        .unwrap_or_default()
}

/// Tags of the repository closest to `wanted` (shared prefix, then length difference).
pub fn close_tags(tags: &[String], wanted: &str, n: usize) -> Vec<String> {
    let mut scored: Vec<(usize, usize, &String)> = tags
        .iter()
        .map(|t| {
            let prefix = t
                .chars()
                .zip(wanted.chars())
                .take_while(|(a, b)| a == b)
                .count();
            (usize::MAX - prefix, t.len().abs_diff(wanted.len()), t)
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(n)
        .map(|(_, _, t)| t.clone())
        .collect()
}

pub fn manifest(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    async move {
        let Some(image) = cx.opts.image.clone() else {
            return Outcome::new("no-image");
        };
        let Some(registry) = cx.registry() else {
            return Outcome::new("no-registry");
        };
        let repo = image.repository.clone();
        let url = |reference: &str| format!("https://{registry}/v2/{repo}/manifests/{reference}");
        let Some(req) = auth_request(&cx, url(&image.reference), Some(MANIFEST_ACCEPT)) else {
            return Outcome::new("no-token");
        };
        let base = Outcome::new("ok")
            .fact("image", image.to_string())
            .fact("repository", repo.clone());
        let resp = match cx.net.get(req).await {
            Ok(r) => r,
            Err(f) => return http_failure(base, &f),
        };
        let base = base
            .fact("http_status", resp.status)
            .fact("registry_error", registry_error(&resp));
        match resp.status {
            200 => {}
            404 => {
                // does the repository exist? then the tag is what is missing
                let tags_req =
                    auth_request(&cx, format!("https://{registry}/v2/{repo}/tags/list"), None);
                let mut o = Outcome {
                    code: "not-found".into(),
                    ..base
                };
                if let Some(t) = tags_req {
                    if let Ok(tr) = cx.net.get(t).await {
                        let v: serde_json::Value =
                            serde_json::from_slice(&tr.body).unwrap_or_default();
                        let tags: Vec<String> = v["tags"]
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|t| t.as_str().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default();
                        o = if tr.status == 200 {
                            o.fact("repository_exists", true)
                                .fact(
                                    "missing",
                                    format!("the tag or digest {} in {repo}", image.reference),
                                )
                                .fact(
                                    "close_tags",
                                    if tags.is_empty() {
                                        vec!["(no tags)".to_string()]
                                    } else {
                                        close_tags(&tags, &image.reference, 3)
                                    },
                                )
                        } else {
                            o.fact("repository_exists", false)
                                .fact("missing", format!("the repository {repo}"))
                        };
                    }
                }
                if !o.facts.contains_key("missing") {
                    o = o.fact("missing", format!("{repo}:{}", image.reference));
                }
                return o;
            }
            401 | 403 => {
                return Outcome {
                    code: "access-denied".into(),
                    ..base
                }
            }
            406 | 415 => {
                return Outcome {
                    code: "unsupported-media-type".into(),
                    ..base
                }
            }
            _ => {
                return Outcome {
                    code: "unexpected-status".into(),
                    ..base
                }
            }
        }
        let mut doc: serde_json::Value = match serde_json::from_slice(&resp.body) {
            Ok(v) => v,
            Err(e) => {
                return Outcome {
                    code: "unsupported-media-type".into(),
                    ..base
                }
                .fact("media_type", format!("not JSON: {e}"))
            }
        };
        let mut mt = media_type(&resp, &doc);
        let mut digest = resp
            .header("Docker-Content-Digest")
            .map(str::to_string)
            .unwrap_or_else(|| format!("sha256:{}", resp.sha256));
        let mut base = base.fact("top_media_type", mt.clone());
        if INDEX_TYPES.contains(&mt.as_str()) {
            let (os, arch) = cx
                .opts
                .platform
                .split_once('/')
                .unwrap_or(("linux", "amd64"));
            let entries = doc["manifests"].as_array().cloned().unwrap_or_default();
            let platforms: Vec<String> = entries
                .iter()
                .map(|m| {
                    format!(
                        "{}/{}",
                        m["platform"]["os"].as_str().unwrap_or("?"),
                        m["platform"]["architecture"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            let Some(pick) = entries
                .iter()
                .find(|m| m["platform"]["os"] == os && m["platform"]["architecture"] == arch)
            else {
                return Outcome {
                    code: "platform-not-found".into(),
                    ..base
                }
                .fact("platform", cx.opts.platform.clone())
                .fact("platforms", platforms);
            };
            let d = pick["digest"].as_str().unwrap_or_default().to_string();
            let Some(req) = auth_request(&cx, url(&d), Some(MANIFEST_ACCEPT)) else {
                return Outcome::new("no-token");
            };
            let r2 = match cx.net.get(req).await {
                Ok(r) if r.status == 200 => r,
                Ok(r) => {
                    return Outcome {
                        code: "unexpected-status".into(),
                        ..base
                    }
                    .fact("http_status", r.status)
                }
                Err(f) => return http_failure(base, &f),
            };
            doc = serde_json::from_slice(&r2.body).unwrap_or_default();
            mt = media_type(&r2, &doc);
            digest = d;
            base = base
                .fact("platform", cx.opts.platform.clone())
                .fact("platforms", platforms);
        }
        if !MANIFEST_TYPES.contains(&mt.as_str()) {
            return Outcome {
                code: "unsupported-media-type".into(),
                ..base
            }
            .fact("media_type", mt);
        }
        let layers: Vec<(String, u64)> = doc["layers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| {
                        Some((
                            l["digest"].as_str()?.to_string(),
                            l["size"].as_u64().unwrap_or(0),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let total: u64 = layers.iter().map(|l| l.1).sum();
        let _ = cx.board.manifest.set(Manifest {
            repository: repo.clone(),
            digest: digest.clone(),
            layers: layers.clone(),
        });
        base.fact("media_type", mt)
            .fact("digest", digest)
            .fact("layers", layers.len())
            .fact("total_bytes", total)
    }
    .boxed()
}

pub fn layer_download(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    async move {
        let Some(m) = cx.board.manifest.get().cloned() else {
            return Outcome::new("no-layers");
        };
        let Some(registry) = cx.registry() else {
            return Outcome::new("no-registry");
        };
        let Some((digest, size)) = m.layers.iter().min_by_key(|l| l.1).cloned() else {
            return Outcome::new("no-layers");
        };
        let Some(req) = auth_request(
            &cx,
            format!("https://{registry}/v2/{}/blobs/{digest}", m.repository),
            None,
        ) else {
            return Outcome::new("no-token");
        };
        let base = Outcome::new("ok")
            .fact("digest", digest.clone())
            .fact("size", size)
            .fact("repository", m.repository.clone());
        let first = match cx.net.get(HttpRequest { keep: 0, ..req }).await {
            Ok(r) => r,
            Err(f) => return http_failure(base, &f),
        };
        let (resp, redirect_host) = if matches!(first.status, 301 | 302 | 303 | 307 | 308) {
            let Some(location) = first.header("Location").map(str::to_string) else {
                return Outcome {
                    code: "unexpected-status".into(),
                    ..base
                }
                .fact("http_status", first.status);
            };
            let target = url::Url::parse(&format!("https://{registry}/"))
                .and_then(|b| b.join(&location))
                .map(|u| u.to_string())
                .unwrap_or(location);
            let host = url::Url::parse(&target)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default();
            let base = base.clone().fact("redirect_host", host.clone());
            // the presigned URL carries its own authorisation: no registry credentials to S3
            match cx
                .net
                .get(HttpRequest {
                    url: target,
                    keep: 0,
                    ..Default::default()
                })
                .await
            {
                Ok(r) => (r, Some(host)),
                Err(f) => {
                    return Outcome {
                        code: "redirect-unreachable".into(),
                        ..base
                    }
                    .fact("error", f.detail().to_string());
                }
            }
        } else {
            (first, None)
        };
        let base = base
            .fact("redirect_host", redirect_host.clone())
            .fact("http_status", resp.status)
            .fact("bytes", resp.bytes)
            .fact("elapsed_ms", resp.elapsed.as_millis() as u64);
        match resp.status {
            200 => {}
            403 if redirect_host.is_some() => {
                return Outcome {
                    code: "s3-forbidden".into(),
                    ..base
                }
            }
            _ => {
                return Outcome {
                    code: "unexpected-status".into(),
                    ..base
                }
            }
        }
        if !resp.complete || resp.bytes < size {
            return Outcome {
                code: "truncated".into(),
                ..base
            }
            .fact(
                "error",
                resp.body_error
                    .unwrap_or_else(|| format!("{} of {size} bytes", resp.bytes)),
            );
        }
        let got = format!("sha256:{}", resp.sha256);
        if got != digest {
            return Outcome {
                code: "digest-mismatch".into(),
                ..base
            }
            .fact("got_digest", got);
        }
        let secs = resp.elapsed.as_secs_f64().max(0.000_001);
        base.fact(
            "throughput_mib_s",
            ((resp.bytes as f64 / 1048576.0 / secs) * 100.0).round() / 100.0,
        )
        .fact(
            "served_by",
            if redirect_host.is_some() {
                "S3 through the registry's redirect"
            } else {
                "the registry itself"
            },
        )
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::{ctx_full, render, FakeAws, FakeNet};
    use crate::checks::{Identity, Token, VpcContext};
    use crate::probes::net::*;
    use crate::probes::{EndpointInfo, Secret, VpcSnapshot};
    use sha2::Digest as _;
    use std::time::Duration;

    const REG: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    fn answer(ips: &[&str]) -> DnsAnswer {
        DnsAnswer {
            result: Ok(ips.iter().map(|i| i.parse().unwrap()).collect()),
            elapsed: Duration::from_millis(3),
        }
    }

    fn resp(
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<HttpResponse, HttpFailure> {
        Ok(HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            body: body.to_vec(),
            bytes: body.len() as u64,
            sha256: hex::encode(sha2::Sha256::digest(body)),
            content_length: Some(body.len() as u64),
            complete: true,
            body_error: None,
            elapsed: Duration::from_millis(10),
            remote: None,
        })
    }

    fn ctx(net: FakeNet, vpc: Option<VpcSnapshot>, image: Option<&str>) -> Arc<Ctx> {
        let aws = FakeAws {
            vpc: vpc
                .clone()
                .ok_or_else(|| crate::checks::fake::service_error(400, "X", "y")),
            ..Default::default()
        };
        let mut cx = ctx_full(aws, &[], Ok(None), net);
        let c = Arc::get_mut(&mut cx).unwrap();
        c.opts.image = image.map(|i| crate::validate::image(i).unwrap());
        c.board
            .identity
            .set(Identity {
                account: "123456789012".into(),
                arn: "arn:aws:iam::123456789012:user/u".into(),
            })
            .unwrap();
        c.board
            .token
            .set(Token {
                registry: REG.into(),
                password: Secret::new("lab-password-123"),
                expires_at: None,
            })
            .unwrap();
        if let Some(v) = vpc {
            c.board
                .vpc
                .set(VpcContext {
                    vpc_id: v.vpc_id.clone(),
                    ..Default::default()
                })
                .unwrap();
        }
        cx
    }

    fn vpc_with_dkr_endpoint() -> VpcSnapshot {
        let mut s = VpcSnapshot {
            vpc_id: "vpc-1a2b3c4d".into(),
            cidrs: vec!["10.0.0.0/16".into()],
            ..Default::default()
        };
        s.endpoints.push(EndpointInfo {
            id: "vpce-dkr".into(),
            service_name: "com.amazonaws.us-east-1.ecr.dkr".into(),
            kind: "Interface".into(),
            state: "available".into(),
            private_dns: true,
            ..Default::default()
        });
        s.endpoint_ips
            .insert("vpce-dkr".into(), vec!["10.0.1.11".into()]);
        s
    }

    async fn check(id: &str, f: crate::engine::CheckFn<Ctx>, cx: Arc<Ctx>) -> Outcome {
        let o = f(cx).await;
        render(id, &o);
        o
    }

    #[tokio::test]
    async fn dns_codes() {
        let mut net = FakeNet::default();
        net.dns.insert(REG.into(), answer(&["10.0.1.11"]));
        let o = check(
            "dns.ecr-dkr",
            dns_dkr,
            ctx(net, Some(vpc_with_dkr_endpoint()), None),
        )
        .await;
        assert_eq!(o.code, "ok-endpoint");
        let mut net = FakeNet::default();
        net.dns.insert(REG.into(), answer(&["198.18.0.20"]));
        let o = check(
            "dns.ecr-dkr",
            dns_dkr,
            ctx(net, Some(vpc_with_dkr_endpoint()), None),
        )
        .await;
        assert_eq!(o.code, "resolves-public");
        let mut net = FakeNet::default();
        net.dns.insert(REG.into(), answer(&["192.168.5.5"]));
        let o = check(
            "dns.ecr-dkr",
            dns_dkr,
            ctx(net, Some(vpc_with_dkr_endpoint()), None),
        )
        .await;
        assert_eq!(o.code, "not-endpoint-address");
        // public answers without a VPC endpoint are fine
        let mut net = FakeNet::default();
        net.dns.insert(REG.into(), answer(&["52.1.2.3"]));
        let o = check("dns.ecr-dkr", dns_dkr, ctx(net, None, None)).await;
        assert_eq!(o.code, "ok");
        assert_eq!(o.facts["address_kind"], "public");
        let mut net = FakeNet::default();
        net.dns.insert(
            REG.into(),
            DnsAnswer {
                result: Err(DnsFailure::Timeout),
                elapsed: Duration::from_secs(1),
            },
        );
        assert_eq!(
            check("dns.ecr-dkr", dns_dkr, ctx(net, None, None))
                .await
                .code,
            "timeout"
        );
        // unscripted = NXDOMAIN
        assert_eq!(
            check("dns.ecr-api", dns_api, ctx(FakeNet::default(), None, None))
                .await
                .code,
            "nxdomain"
        );
    }

    #[tokio::test]
    async fn net_codes() {
        let report =
            |connect: Result<Duration, ConnectFailure>,
             tls: Option<Result<(Duration, TlsInfo), TlsFailure>>| DialReport {
                address: Some("10.0.1.11:443".parse().unwrap()),
                tried: vec!["10.0.1.11:443".parse().unwrap()],
                connect,
                tls,
                via_proxy: None,
            };
        let cases = [
            (
                report(Err(ConnectFailure::Timeout), None),
                "connect-timeout",
            ),
            (
                report(Err(ConnectFailure::Refused), None),
                "connection-refused",
            ),
            (
                report(
                    Ok(Duration::from_millis(1)),
                    Some(Err(TlsFailure {
                        detail: "invalid peer certificate: UnknownIssuer".into(),
                        issuer: Some("CN=Corp Inspect CA".into()),
                        subject: Some("CN=*.dkr".into()),
                    })),
                ),
                "tls-failed",
            ),
            (
                report(
                    Ok(Duration::from_millis(1)),
                    Some(Ok((
                        Duration::from_millis(2),
                        TlsInfo {
                            version: "TLSv1_3".into(),
                            ..Default::default()
                        },
                    ))),
                ),
                "ok",
            ),
        ];
        for (r, want) in cases {
            let mut net = FakeNet::default();
            net.dial.insert(REG.into(), r);
            let o = check("net.ecr-dkr", net_dkr, ctx(net, None, None)).await;
            assert_eq!(o.code, want);
            if want == "tls-failed" {
                assert_eq!(o.facts["cert_issuer"], "CN=Corp Inspect CA");
            }
        }
    }

    #[tokio::test]
    async fn registry_auth_codes() {
        for (status, want) in [
            (200, "ok"),
            (401, "unauthorized"),
            (403, "forbidden"),
            (502, "unexpected-status"),
        ] {
            let mut net = FakeNet::default();
            net.http.insert(format!("https://{REG}/v2/"), resp(status, &[], br#"{"errors":[{"code":"DENIED","message":"Your authorization token has expired."}]}"#));
            let cx = ctx(net, None, None);
            let o = check("registry.auth", registry_auth, cx.clone()).await;
            assert_eq!(o.code, want);
        }
    }

    fn manifest_json(layers: &[(&str, u64)]) -> String {
        let l: Vec<String> = layers.iter().map(|(d, s)| format!(r#"{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{d}","size":{s}}}"#)).collect();
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"digest":"sha256:c","size":1}},"layers":[{}]}}"#,
            l.join(",")
        )
    }

    #[tokio::test]
    async fn manifest_and_layer_download() {
        let small = b"small layer bytes";
        let small_digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(small)));
        let mut net = FakeNet::default();
        net.http.insert(
            format!("https://{REG}/v2/lab/app/manifests/1.0"),
            resp(
                200,
                &[(
                    "Content-Type",
                    "application/vnd.docker.distribution.manifest.v2+json",
                )],
                manifest_json(&[("sha256:big", 40_000), (&small_digest, small.len() as u64)])
                    .as_bytes(),
            ),
        );
        let layer_host = "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com";
        net.http.insert(
            format!("https://{REG}/v2/lab/app/blobs/{small_digest}"),
            resp(
                307,
                &[(
                    "Location",
                    &format!("https://{layer_host}/docker/registry/v2/blobs/x/data"),
                )],
                b"",
            ),
        );
        net.http.insert(
            format!("https://{layer_host}/docker/registry/v2/blobs/x/data"),
            resp(200, &[], small),
        );
        let cx = ctx(net, None, Some("lab/app:1.0"));
        let o = check("image.manifest", manifest, cx.clone()).await;
        assert_eq!(o.code, "ok", "{:?}", o.facts);
        assert_eq!(o.facts["layers"], 2);
        let o = check("image.layer-download", layer_download, cx.clone()).await;
        assert_eq!(o.code, "ok", "{:?}", o.facts);
        assert_eq!(o.facts["redirect_host"], layer_host);
        assert_eq!(o.facts["digest"], small_digest.as_str());
    }

    #[tokio::test]
    async fn layer_failures() {
        let small = b"small layer bytes";
        let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(small)));
        let layer = "https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/d";
        let setup = |s3: Result<HttpResponse, HttpFailure>| {
            let mut net = FakeNet::default();
            net.http.insert(
                format!("https://{REG}/v2/lab/app/manifests/1.0"),
                resp(
                    200,
                    &[],
                    manifest_json(&[(&digest, small.len() as u64)]).as_bytes(),
                ),
            );
            net.http.insert(
                format!("https://{REG}/v2/lab/app/blobs/{digest}"),
                resp(307, &[("Location", layer)], b""),
            );
            net.http.insert(layer.into(), s3);
            ctx(net, None, Some("lab/app:1.0"))
        };
        let run = |cx: Arc<Ctx>| async move {
            assert_eq!(
                check("image.manifest", manifest, cx.clone()).await.code,
                "ok"
            );
            check("image.layer-download", layer_download, cx).await.code
        };
        assert_eq!(
            run(setup(Err(HttpFailure::Timeout("no answer".into())))).await,
            "redirect-unreachable"
        );
        assert_eq!(
            run(setup(resp(
                403,
                &[],
                b"<Error><Code>AccessDenied</Code></Error>"
            )))
            .await,
            "s3-forbidden"
        );
        assert_eq!(
            run(setup(resp(200, &[], b"SMALL LAYER BYTES"))).await,
            "digest-mismatch"
        );
        let mut short = resp(200, &[], b"small").unwrap();
        short.complete = false;
        short.body_error = Some("connection reset".into());
        assert_eq!(run(setup(Ok(short))).await, "truncated");
    }

    #[tokio::test]
    async fn schema1_and_refusals() {
        let mut net = FakeNet::default();
        let schema1 = br#"{"schemaVersion":1,"name":"lab/app","tag":"old","fsLayers":[]}"#;
        net.http.insert(
            format!("https://{REG}/v2/lab/app/manifests/old"),
            resp(
                200,
                &[(
                    "Content-Type",
                    "application/vnd.docker.distribution.manifest.v1+prettyjws",
                )],
                schema1,
            ),
        );
        net.http.insert(
            format!("https://{REG}/v2/lab/app/manifests/secret"),
            resp(403, &[], br#"{"errors":[{"code":"DENIED","message":"User: arn:aws:iam::1:user/u is not authorized to perform: ecr:BatchGetImage"}]}"#),
        );
        let o = check(
            "image.manifest",
            manifest,
            ctx(net, None, Some("lab/app:old")),
        )
        .await;
        assert_eq!(o.code, "unsupported-media-type");
        assert_eq!(
            o.facts["media_type"],
            "application/vnd.docker.distribution.manifest.v1+prettyjws"
        );
        let mut net = FakeNet::default();
        net.http.insert(
            format!("https://{REG}/v2/lab/app/manifests/secret"),
            resp(403, &[], br#"{"errors":[{"code":"DENIED","message":"not authorized to perform: ecr:BatchGetImage"}]}"#),
        );
        let o = check(
            "image.manifest",
            manifest,
            ctx(net, None, Some("lab/app:secret")),
        )
        .await;
        assert_eq!(o.code, "access-denied");
        assert!(o.facts["registry_error"]
            .as_str()
            .unwrap()
            .starts_with("DENIED: "));
    }

    #[tokio::test]
    async fn manifest_not_found_suggests_tags_and_indexes_pick_the_platform() {
        let mut net = FakeNet::default();
        net.http.insert(
            format!("https://{REG}/v2/lab/app/manifests/1.2"),
            resp(
                404,
                &[],
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
            ),
        );
        net.http.insert(
            format!("https://{REG}/v2/lab/app/tags/list"),
            resp(
                200,
                &[],
                br#"{"name":"lab/app","tags":["1.0","1.1","latest"]}"#,
            ),
        );
        let o = check(
            "image.manifest",
            manifest,
            ctx(net, None, Some("lab/app:1.2")),
        )
        .await;
        assert_eq!(o.code, "not-found");
        assert_eq!(
            o.facts["close_tags"],
            serde_json::json!(["1.0", "1.1", "latest"])
        );
        assert_eq!(o.facts["repository_exists"], true);

        let index = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"sha256:arm","platform":{"os":"linux","architecture":"arm64"}},{"digest":"sha256:amd","platform":{"os":"linux","architecture":"amd64"}}]}"#;
        let mut net = FakeNet::default();
        net.http.insert(
            format!("https://{REG}/v2/lab/multi/manifests/1.0"),
            resp(200, &[], index.as_bytes()),
        );
        net.http.insert(
            format!("https://{REG}/v2/lab/multi/manifests/sha256:amd"),
            resp(200, &[], manifest_json(&[("sha256:l", 10)]).as_bytes()),
        );
        let o = check(
            "image.manifest",
            manifest,
            ctx(net, None, Some("lab/multi:1.0")),
        )
        .await;
        assert_eq!(o.code, "ok", "{:?}", o.facts);
        assert_eq!(o.facts["digest"], "sha256:amd");
        let mut net = FakeNet::default();
        net.http.insert(
            format!("https://{REG}/v2/lab/multi/manifests/1.0"),
            resp(200, &[], index.replace("amd64", "s390x").as_bytes()),
        );
        let o = check(
            "image.manifest",
            manifest,
            ctx(net, None, Some("lab/multi:1.0")),
        )
        .await;
        assert_eq!(o.code, "platform-not-found");
    }

    #[test]
    fn private_addresses() {
        for p in [
            "10.0.1.5",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(is_private(p.parse().unwrap()), "{p}");
        }
        for p in ["52.216.1.1", "198.18.0.10", "8.8.8.8", "2600:1f18::1"] {
            assert!(!is_private(p.parse().unwrap()), "{p}");
        }
    }

    #[test]
    fn suggests_close_tags() {
        let tags: Vec<String> = ["1.0", "1.1", "2.0", "latest", "1.0-rc1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(close_tags(&tags, "1.2", 2), vec!["1.0", "1.1"]);
        assert_eq!(close_tags(&tags, "lates", 1), vec!["latest"]);
    }
}
