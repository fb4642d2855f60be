//! `net.ecr-api`, `net.ecr-dkr`, `net.s3`: TCP 443 to each address the host resolved to,
//! then a verified TLS handshake (through `HTTPS_PROXY` when it applies).

use super::dns::is_private;
use super::{Ctx, Target};
use crate::engine::Finding;
use crate::probes::net::ConnectFailure;
use futures::future::{BoxFuture, FutureExt};
use serde_json::Value;
use std::sync::Arc;

crate::codes! {
    pub enum Conn {
        Ok = "ok",
        ConnectTimeout = "connect-timeout",
        ConnectionRefused = "connection-refused",
        Unreachable = "unreachable",
        TlsFailed = "tls-failed",
    }
}

fn net(cx: Arc<Ctx>, host: Target) -> BoxFuture<'static, Finding<Conn>> {
    async move {
        // the registry host is always known once identity.caller passed
        let name = host.name(&cx).unwrap_or_default();
        let addrs = cx.dns_answer(&name);
        let r = cx.net.dial(name.clone(), addrs, 443).await;
        let address_kind = r.address.map(|a| {
            if is_private(a.ip()) {
                "private"
            } else {
                "public"
            }
        });
        let base = Finding::new(Conn::Ok)
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
                return match f {
                    ConnectFailure::Timeout => base
                        .with_code(Conn::ConnectTimeout)
                        .fact("timeout_ms", cx.opts.timeout.as_millis() as u64),
                    ConnectFailure::Refused => base.with_code(Conn::ConnectionRefused),
                    ConnectFailure::Unreachable(d) | ConnectFailure::Other(d) => {
                        base.with_code(Conn::Unreachable).fact("error", d)
                    }
                    ConnectFailure::Proxy(d) => base
                        .with_code(Conn::Unreachable)
                        .fact("error", d)
                        .fact("proxy_failed", true),
                };
            }
        };
        let base = base.fact("connect_ms", connect_ms);
        let mut f = match r.tls {
            Some(Ok((d, info))) => base
                .fact("tls_ms", d.as_millis() as u64)
                .fact("tls_version", info.version)
                .fact("cert_subject", info.subject)
                .fact("cert_issuer", info.issuer),
            Some(Err(f)) => base
                .with_code(Conn::TlsFailed)
                .fact("error", f.detail)
                .fact("cert_subject", f.subject)
                .fact("cert_issuer", f.issuer)
                .fact("wrong_name", f.wrong_name.then_some(true)),
            None => base
                .with_code(Conn::TlsFailed)
                .fact("error", "no-handshake"),
        };
        // an unknown certificate name is shown as such, never left as a placeholder
        for k in ["cert_subject", "cert_issuer"] {
            f.facts.entry(k).or_insert(Value::Null);
        }
        f
    }
    .boxed()
}

pub fn api(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Conn>> {
    net(cx, Target::Api)
}
pub fn dkr(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Conn>> {
    net(cx, Target::Registry)
}
pub fn s3(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Conn>> {
    net(cx, Target::Layers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::FakeNet;
    use crate::checks::testkit::{check, ctx, REG};
    use crate::probes::net::*;
    use std::time::Duration;

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
                Conn::ConnectTimeout,
            ),
            (
                report(Err(ConnectFailure::Refused), None),
                Conn::ConnectionRefused,
            ),
            (
                report(
                    Ok(Duration::from_millis(1)),
                    Some(Err(TlsFailure {
                        detail: "invalid peer certificate: UnknownIssuer".into(),
                        issuer: Some("CN=Corp Inspect CA".into()),
                        subject: Some("CN=*.dkr".into()),
                        wrong_name: false,
                    })),
                ),
                Conn::TlsFailed,
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
                Conn::Ok,
            ),
        ];
        for (r, want) in cases {
            let mut net = FakeNet::default();
            net.dial.insert(REG.into(), r);
            let o = check("net.ecr-dkr", dkr, ctx(net, None, None)).await;
            assert_eq!(o.code, want);
            if want == Conn::TlsFailed {
                assert_eq!(o.facts["cert_issuer"], "CN=Corp Inspect CA");
                assert!(!o.facts.contains_key("wrong_name"), "{:?}", o.facts);
            }
            if want == Conn::Ok {
                assert!(
                    o.facts["cert_issuer"].is_null(),
                    "unknown issuer is null data"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_certificate_for_another_name_says_so() {
        let mut net = FakeNet::default();
        net.dial.insert(
            REG.into(),
            DialReport {
                address: Some("10.0.1.11:443".parse().unwrap()),
                tried: vec!["10.0.1.11:443".parse().unwrap()],
                connect: Ok(Duration::from_millis(1)),
                tls: Some(Err(TlsFailure {
                    detail: "invalid peer certificate: certificate not valid for name".into(),
                    issuer: Some("CN=Corp CA".into()),
                    subject: Some("CN=registry.corp.example".into()),
                    wrong_name: true,
                })),
                via_proxy: None,
            },
        );
        let o = check("net.ecr-dkr", dkr, ctx(net, None, None)).await;
        assert_eq!(o.code, Conn::TlsFailed);
        assert_eq!(o.facts["wrong_name"], true);
        let cat = crate::catalog::Catalog::embedded();
        for id in ["net.ecr-api", "net.ecr-dkr", "net.s3"] {
            let fix = cat.get(id).unwrap().codes["tls-failed"]
                .remediation
                .clone()
                .unwrap();
            let text = crate::catalog::fill(&fix, &o.facts);
            assert!(
                text.contains("does not name") && text.contains("CN=registry.corp.example"),
                "{id}: {text}"
            );
        }
    }
}
