//! `ecs:DescribeTaskDefinition`, the doctor's one ECS call: which execution role pulls a
//! task's images. Signed by hand with SigV4 (aws-sigv4, already built for the SDK) and sent
//! through the run's HTTP client (its CA bundle, resolver and proxy decision): aws-sdk-ecs is
//! about 250,000 lines of generated code, minutes of a cold build on two cores, for one
//! read-only call. The wire format is the SDK's: awsJson1_1, target
//! `AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition`, signing name `ecs`.

use super::sdk_error::sniff_error_body;
use super::{ApiError, ApiFailure, Exchange};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use std::time::SystemTime;

const TARGET: &str = "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// An answer larger than this is not a task definition the doctor reads.
const MAX_ANSWER: usize = 1 << 20;

/// The request, signed: method POST to `endpoint` (a base URL, e.g.
/// `https://ecs.us-east-1.amazonaws.com`).
pub fn signed_request(
    endpoint: &str,
    region: &str,
    creds: &Credentials,
    task_definition: &str,
    now: SystemTime,
) -> Result<http::Request<Vec<u8>>, String> {
    let url = format!("{}/", endpoint.trim_end_matches('/'));
    let body = serde_json::to_vec(&serde_json::json!({ "taskDefinition": task_definition }))
        .map_err(|e| e.to_string())?;
    let mut req = http::Request::builder()
        .method("POST")
        .uri(&url)
        .header("content-type", CONTENT_TYPE)
        .header("x-amz-target", TARGET)
        .body(body)
        .map_err(|e| format!("cannot build the ECS request: {e}"))?;
    let identity: Identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("ecs")
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("cannot sign the ECS request: {e}"))?
        .into();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let signable = SignableRequest::new(
        "POST",
        url.as_str(),
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(req.body()),
    )
    .map_err(|e| format!("cannot sign the ECS request: {e}"))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| format!("cannot sign the ECS request: {e}"))?
        .into_parts();
    instructions.apply_to_request_http1x(&mut req);
    Ok(req)
}

#[allow(clippy::result_large_err)] // ApiError, as every probe returns it
/// Reads the answer: `Ok(Some(arn))`, `Ok(None)` when the task definition has no execution
/// role, or the service's error.
pub fn read_answer(
    status: u16,
    body: &[u8],
    exchange: Exchange,
) -> Result<Option<String>, ApiError> {
    if (200..300).contains(&status) {
        let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| ApiError {
            failure: ApiFailure::Other {
                detail: format!("the ECS answer is not JSON: {e}"),
            },
            exchange: exchange.clone(),
        })?;
        return Ok(v
            .pointer("/taskDefinition/executionRoleArn")
            .and_then(|a| a.as_str())
            .filter(|a| !a.is_empty())
            .map(str::to_string));
    }
    let (code, message) = sniff_error_body(body);
    Err(ApiError {
        failure: ApiFailure::Service {
            status,
            code,
            message,
        },
        exchange,
    })
}

/// `ecs:DescribeTaskDefinition` of `task_definition` (`family:revision` or an ARN): its
/// execution role.
pub async fn execution_role(
    http: &reqwest::Client,
    endpoint: &str,
    region: &str,
    creds: &Credentials,
    task_definition: &str,
) -> Result<Option<String>, ApiError> {
    let other = |detail: String| ApiError {
        failure: ApiFailure::Other { detail },
        exchange: Exchange::default(),
    };
    let req = signed_request(endpoint, region, creds, task_definition, SystemTime::now())
        .map_err(other)?;
    let mut exchange = Exchange {
        endpoint: url::Url::parse(&req.uri().to_string()).ok().and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        }),
        sent_at: Some(SystemTime::now()),
        ..Exchange::default()
    };
    let req = reqwest::Request::try_from(req).map_err(|e| other(crate::errors::chain(&e)))?;
    let failed = |e: reqwest::Error, exchange: Exchange| {
        let detail = crate::errors::chain(&e);
        let failure = if e.is_timeout() || detail.contains("timed out") {
            ApiFailure::Timeout { detail }
        } else if e.is_connect() {
            ApiFailure::Unreachable { detail }
        } else {
            ApiFailure::Other { detail }
        };
        ApiError { failure, exchange }
    };
    let mut resp = match http.execute(req).await {
        Ok(r) => r,
        Err(e) => return Err(failed(e, exchange)),
    };
    exchange.received_at = Some(SystemTime::now());
    exchange.status = Some(resp.status().as_u16());
    exchange.server_date = resp
        .headers()
        .get("date")
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d).ok());
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) if body.len() + c.len() <= MAX_ANSWER => body.extend_from_slice(&c),
            Ok(Some(_)) => return Err(other("the ECS answer is larger than 1 MiB".into())),
            Ok(None) => break,
            Err(e) => return Err(failed(e, exchange)),
        }
    }
    read_answer(resp.status().as_u16(), &body, exchange)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::new(
            "ASIAEXAMPLE",
            "c2VjcmV0",
            Some("dG9rZW4=".into()),
            None,
            "test",
        )
    }

    #[test]
    fn the_request_is_the_sdks_awsjson_call_signed_for_ecs() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_764_806_400);
        let r = signed_request(
            "https://ecs.eu-west-1.amazonaws.com",
            "eu-west-1",
            &creds(),
            "app:7",
            t,
        )
        .unwrap();
        assert_eq!(r.method(), "POST");
        assert_eq!(r.uri(), "https://ecs.eu-west-1.amazonaws.com/");
        assert_eq!(r.headers()["x-amz-target"], TARGET);
        assert_eq!(r.headers()["content-type"], CONTENT_TYPE);
        assert_eq!(r.body(), br#"{"taskDefinition":"app:7"}"#);
        let auth = r.headers()["authorization"].to_str().unwrap();
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20251204/eu-west-1/ecs/aws4_request"
            ),
            "{auth}"
        );
        assert!(auth.contains("x-amz-target"), "{auth}");
        assert_eq!(r.headers()["x-amz-security-token"], "dG9rZW4=");
    }

    #[test]
    fn answers_name_the_role_or_its_absence_or_the_error() {
        let ok = br#"{"taskDefinition":{"family":"app","revision":7,"executionRoleArn":"arn:aws:iam::123456789012:role/ecsTaskExecutionRole"}}"#;
        assert_eq!(
            read_answer(200, ok, Exchange::default())
                .unwrap()
                .as_deref(),
            Some("arn:aws:iam::123456789012:role/ecsTaskExecutionRole")
        );
        let none = br#"{"taskDefinition":{"family":"app","revision":7}}"#;
        assert_eq!(read_answer(200, none, Exchange::default()).unwrap(), None);
        let denied = br#"{"__type":"AccessDeniedException","message":"User: arn:aws:sts::123456789012:assumed-role/task/x is not authorized to perform: ecs:DescribeTaskDefinition"}"#;
        let e = read_answer(400, denied, Exchange::default()).unwrap_err();
        assert_eq!(e.code(), Some("AccessDeniedException"));
        let e = read_answer(200, b"<html>", Exchange::default()).unwrap_err();
        assert!(matches!(e.failure, ApiFailure::Other { .. }));
    }
}
