//! Shared pieces of the data-plane check tests.
use super::fake::{ctx_full, render, FakeAws, FakeNet};
use super::*;
use crate::engine::{Code, Finding};
use crate::probes::net::*;
use crate::probes::{EndpointInfo, Secret, VpcSnapshot};
use futures::future::BoxFuture;
use sha2::Digest as _;

pub const REG: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

pub fn answer(ips: &[&str]) -> DnsAnswer {
    DnsAnswer {
        result: Ok(ips.iter().map(|i| i.parse().unwrap()).collect()),
        elapsed: Duration::from_millis(3),
    }
}

pub fn resp(
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

pub fn ctx(net: FakeNet, vpc: Option<VpcSnapshot>, image: Option<&str>) -> Arc<Ctx> {
    let aws = FakeAws {
        vpc: vpc
            .clone()
            .ok_or_else(|| super::fake::service_error(400, "X", "y")),
        ..Default::default()
    };
    let cx = ctx_full(aws, &[], Ok(None), net);
    let mut cx = cx;
    let c = Arc::get_mut(&mut cx).unwrap();
    c.opts.image = image.map(|i| crate::validate::image(i).unwrap());
    c.set_identity(Identity {
        account: "123456789012".into(),
        arn: "arn:aws:iam::123456789012:user/u".into(),
    });
    c.set_token(Token {
        registry: REG.into(),
        password: Secret::new("lab-password-123"),
        expires_at: None,
    });
    if let Some(v) = vpc {
        c.set_vpc(VpcContext {
            vpc_id: v.vpc_id.clone(),
            ..Default::default()
        });
    }
    cx
}

pub fn vpc_with_dkr_endpoint() -> VpcSnapshot {
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

/// Runs one check and proves its message fills from its facts.
pub async fn check<K: Code>(
    id: &str,
    f: fn(Arc<Ctx>) -> BoxFuture<'static, Finding<K>>,
    cx: Arc<Ctx>,
) -> Finding<K> {
    let o = f(cx).await;
    render(id, &o);
    o
}
