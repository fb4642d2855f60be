//! `identity.caller` (sts:GetCallerIdentity) and `identity.clock-skew` (local clock against
//! the `Date` of that same AWS response).

use super::{rfc3339, Ctx, Identity};
use crate::engine::Outcome;
use crate::probes::{ApiError, ApiFailure};
use futures::future::{BoxFuture, FutureExt};
use std::sync::Arc;
use std::time::Duration;

/// Error codes that mean the credentials themselves are not accepted.
pub const INVALID_CREDENTIAL_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "IncompleteSignature",
    "ExpiredToken",
    "ExpiredTokenException",
    "AuthFailure",
    "InvalidAccessKeyId",
    "InvalidToken",
];

/// Error codes that SigV4 uses when the request time is too far from AWS's.
pub const CLOCK_CODES: &[&str] = &[
    "RequestExpired",
    "RequestTimeTooSkewed",
    "RequestInTheFuture",
];

/// An outcome for a failed AWS call: the code, the error, its HTTP status and endpoint.
pub fn api_failure(code: &str, e: &ApiError) -> Outcome {
    Outcome::new(code)
        .fact("error", e.summary())
        .fact("http_status", e.status())
        .fact("endpoint", e.exchange.endpoint.clone())
}

/// Facts and a code for an API error common to every AWS call; `None` when the caller must
/// decide (access denied and other service errors).
pub fn common_failure(e: &ApiError) -> Option<Outcome> {
    let base = |code: &str| {
        let o = api_failure(code, e);
        if o.facts.contains_key("endpoint") {
            o
        } else {
            o.fact("endpoint", "its endpoint")
        }
    };
    match &e.failure {
        ApiFailure::Timeout { .. } | ApiFailure::Unreachable { .. } => Some(base("unreachable")),
        ApiFailure::Service { code: Some(c), .. }
            if INVALID_CREDENTIAL_CODES.contains(&c.as_str()) =>
        {
            Some(base("invalid-credentials"))
        }
        ApiFailure::Service { code: Some(c), .. } if CLOCK_CODES.contains(&c.as_str()) => {
            Some(base("clock-rejected"))
        }
        _ => None,
    }
}

pub fn is_access_denied(e: &ApiError) -> bool {
    match &e.failure {
        ApiFailure::Service { code, message, .. } => {
            code.as_deref().is_some_and(|c| c.contains("AccessDenied"))
                || message
                    .as_deref()
                    .is_some_and(|m| m.contains("is not authorized to perform"))
        }
        _ => false,
    }
}

pub fn caller(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    async move {
        match cx.aws.caller_identity().await {
            Ok(id) => {
                let _ = cx.board.identity.set(Identity {
                    account: id.account.clone(),
                    arn: id.arn.clone(),
                });
                Outcome::new("ok")
                    .fact("account", id.account)
                    .fact("arn", id.arn)
                    .fact("user_id", id.user_id)
                    .fact("endpoint", id.exchange.endpoint)
            }
            Err(e) => common_failure(&e).unwrap_or_else(|| {
                let code = if is_access_denied(&e) {
                    "access-denied"
                } else {
                    "api-error"
                };
                api_failure(code, &e)
            }),
        }
    }
    .boxed()
}

pub fn clock_skew(cx: Arc<Ctx>) -> BoxFuture<'static, Outcome> {
    async move {
        let exchange = match cx.aws.caller_identity().await {
            Ok(id) => id.exchange,
            Err(e) => e.exchange,
        };
        let (Some(server), Some(sent), Some(received)) =
            (exchange.server_date, exchange.sent_at, exchange.received_at)
        else {
            return Outcome::new("no-server-date")
                .fact("endpoint", exchange.endpoint)
                .fact(
                    "reason",
                    if exchange.received_at.is_some() {
                        "the response had no Date header"
                    } else {
                        "no response from AWS"
                    },
                );
        };
        // the local clock at the midpoint of the exchange; Date has whole seconds, truncated
        let local = sent + received.duration_since(sent).unwrap_or_default() / 2;
        let server = server + Duration::from_millis(500);
        let skew = match local.duration_since(server) {
            Ok(d) => d.as_secs_f64(),
            Err(e) => -e.duration().as_secs_f64(),
        };
        let abs = skew.abs();
        let code = if abs > 300.0 {
            "clock-skew-over-5-minutes"
        } else if abs > 60.0 {
            "clock-skew"
        } else {
            "ok"
        };
        Outcome::new(code)
            .fact("skew_seconds", skew.round() as i64)
            .fact("skew_abs_seconds", abs.round() as i64)
            .fact("direction", if skew >= 0.0 { "ahead of" } else { "behind" })
            .fact("local_time", rfc3339(local))
            .fact("aws_time", rfc3339(server))
            .fact("endpoint", exchange.endpoint)
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::{ctx, exchange, render, service_error, FakeAws};
    use crate::probes::{ApiError, ApiFailure, CallerIdentity};

    async fn caller_of(identity: Result<CallerIdentity, ApiError>) -> Outcome {
        let o = caller(ctx(
            FakeAws {
                identity,
                ..Default::default()
            },
            &[],
        ))
        .await;
        render("identity.caller", &o);
        o
    }

    #[tokio::test]
    async fn caller_facts_and_board() {
        let cx = ctx(FakeAws::default(), &[]);
        let o = caller(cx.clone()).await;
        assert_eq!(o.code, "ok");
        assert_eq!(o.facts["account"], "123456789012");
        assert_eq!(cx.board.identity.get().unwrap().account, "123456789012");
        assert_eq!(
            cx.registry().as_deref(),
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com")
        );
    }

    #[tokio::test]
    async fn caller_failures_map_to_codes() {
        let o = caller_of(Err(service_error(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )))
        .await;
        assert_eq!(o.code, "invalid-credentials");
        assert_eq!(o.facts["http_status"], 403);
        let o = caller_of(Err(service_error(403, "ExpiredToken", "expired"))).await;
        assert_eq!(o.code, "invalid-credentials");
        let o = caller_of(Err(service_error(
            403,
            "AccessDenied",
            "explicit deny in an SCP",
        )))
        .await;
        assert_eq!(o.code, "access-denied");
        let o = caller_of(Err(service_error(400, "RequestExpired", "too old"))).await;
        assert_eq!(o.code, "clock-rejected");
        let timeout = ApiError {
            failure: ApiFailure::Timeout {
                detail: "connect timed out".into(),
            },
            exchange: Default::default(),
        };
        assert_eq!(caller_of(Err(timeout)).await.code, "unreachable");
    }

    #[tokio::test]
    async fn unparseable_error_still_names_the_status() {
        let e = ApiError {
            failure: ApiFailure::Service {
                status: 502,
                code: None,
                message: None,
            },
            exchange: exchange(),
        };
        let o = caller_of(Err(e)).await;
        assert_eq!(o.code, "api-error");
        let msg = render("identity.caller", &o);
        assert!(msg.contains("HTTP 502"), "{msg}");
    }

    async fn skew_of(server_offset_secs: i64) -> Outcome {
        let mut id = crate::checks::fake::identity();
        let ex = &mut id.exchange;
        let base = ex.sent_at.unwrap();
        ex.server_date = Some(if server_offset_secs >= 0 {
            base + Duration::from_secs(server_offset_secs as u64)
        } else {
            base - Duration::from_secs((-server_offset_secs) as u64)
        });
        let o = clock_skew(ctx(
            FakeAws {
                identity: Ok(id),
                ..Default::default()
            },
            &[],
        ))
        .await;
        render("identity.clock-skew", &o);
        o
    }

    #[tokio::test]
    async fn skew_thresholds() {
        assert_eq!(skew_of(0).await.code, "ok");
        assert_eq!(skew_of(-59).await.code, "ok");
        let o = skew_of(-120).await;
        assert_eq!(o.code, "clock-skew");
        assert_eq!(o.facts["direction"], "ahead of");
        let o = skew_of(400).await;
        assert_eq!(o.code, "clock-skew-over-5-minutes");
        assert_eq!(o.facts["direction"], "behind");
        assert_eq!(o.facts["skew_abs_seconds"], 400);
    }

    #[tokio::test]
    async fn skew_read_from_failed_calls_too() {
        let mut e = service_error(403, "SignatureDoesNotMatch", "Signature expired");
        e.exchange.server_date = Some(e.exchange.sent_at.unwrap() + Duration::from_secs(900));
        let o = clock_skew(ctx(
            FakeAws {
                identity: Err(e),
                ..Default::default()
            },
            &[],
        ))
        .await;
        assert_eq!(o.code, "clock-skew-over-5-minutes");
        let mut e = service_error(403, "X", "y");
        e.exchange.server_date = None;
        let o = clock_skew(ctx(
            FakeAws {
                identity: Err(e),
                ..Default::default()
            },
            &[],
        ))
        .await;
        assert_eq!(o.code, "no-server-date");
        render("identity.clock-skew", &o);
    }
}
