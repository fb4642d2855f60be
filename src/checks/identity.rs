//! `identity.caller` (sts:GetCallerIdentity) and `identity.clock-skew` (local clock against
//! the `Date` of that same AWS response).

use super::{rfc3339, with_api_error, Ctx, Identity};
use crate::engine::Finding;
use crate::probes::sdk_error::ErrorClass;
use futures::future::{BoxFuture, FutureExt};
use std::sync::Arc;
use std::time::Duration;

crate::codes! {
    pub enum Caller {
        Ok = "ok",
        InvalidCredentials = "invalid-credentials",
        AccessDenied = "access-denied",
        ClockRejected = "clock-rejected",
        Unreachable = "unreachable",
        ApiError = "api-error",
    }
}

crate::codes! {
    pub enum Skew {
        Ok = "ok",
        ClockSkew = "clock-skew",
        Over5Minutes = "clock-skew-over-5-minutes",
        NoServerDate = "no-server-date",
    }
}

pub fn caller(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Caller>> {
    async move {
        match cx.aws.caller_identity().await {
            Ok(id) => {
                cx.set_identity(Identity {
                    account: id.account.clone(),
                    arn: id.arn.clone(),
                });
                Finding::new(Caller::Ok)
                    .fact("account", id.account)
                    .fact("arn", id.arn)
                    .fact("user_id", id.user_id)
                    .fact("endpoint", id.exchange.endpoint)
            }
            Err(e) => {
                let code = match e.class() {
                    ErrorClass::Unreachable => Caller::Unreachable,
                    ErrorClass::InvalidCredentials => Caller::InvalidCredentials,
                    ErrorClass::ClockRejected => Caller::ClockRejected,
                    ErrorClass::AccessDenied => Caller::AccessDenied,
                    ErrorClass::NotFound | ErrorClass::Other => Caller::ApiError,
                };
                with_api_error(Finding::new(code), &e)
            }
        }
    }
    .boxed()
}

pub fn clock_skew(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Skew>> {
    async move {
        let exchange = match cx.aws.caller_identity().await {
            Ok(id) => id.exchange,
            Err(e) => e.exchange,
        };
        let (Some(server), Some(sent), Some(received)) =
            (exchange.server_date, exchange.sent_at, exchange.received_at)
        else {
            return Finding::new(Skew::NoServerDate)
                .fact_or_null("endpoint", exchange.endpoint)
                .fact(
                    "reason",
                    if exchange.received_at.is_some() {
                        "no-date-header"
                    } else {
                        "no-response"
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
            Skew::Over5Minutes
        } else if abs > 60.0 {
            Skew::ClockSkew
        } else {
            Skew::Ok
        };
        Finding::new(code)
            .fact("skew_seconds", skew.round() as i64)
            .fact("skew_abs_seconds", abs.round() as i64)
            .fact("direction", if skew >= 0.0 { "ahead" } else { "behind" })
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

    async fn caller_of(identity: Result<CallerIdentity, ApiError>) -> Finding<Caller> {
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
        assert_eq!(o.code, Caller::Ok);
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
        assert_eq!(o.code, Caller::InvalidCredentials);
        assert_eq!(o.facts["http_status"], 403);
        let o = caller_of(Err(service_error(403, "ExpiredToken", "expired"))).await;
        assert_eq!(o.code, Caller::InvalidCredentials);
        let o = caller_of(Err(service_error(
            403,
            "AccessDenied",
            "explicit deny in an SCP",
        )))
        .await;
        assert_eq!(o.code, Caller::AccessDenied);
        let o = caller_of(Err(service_error(400, "RequestExpired", "too old"))).await;
        assert_eq!(o.code, Caller::ClockRejected);
        let timeout = ApiError {
            failure: ApiFailure::Timeout {
                detail: "connect timed out".into(),
            },
            exchange: Default::default(),
        };
        assert_eq!(caller_of(Err(timeout)).await.code, Caller::Unreachable);
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
        assert_eq!(o.code, Caller::ApiError);
        let msg = render("identity.caller", &o);
        assert!(msg.contains("HTTP 502"), "{msg}");
    }

    async fn skew_of(server_offset_secs: i64) -> Finding<Skew> {
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
        assert_eq!(skew_of(0).await.code, Skew::Ok);
        assert_eq!(skew_of(-59).await.code, Skew::Ok);
        let o = skew_of(-120).await;
        assert_eq!(o.code, Skew::ClockSkew);
        assert_eq!(o.facts["direction"], "ahead");
        let o = skew_of(400).await;
        assert_eq!(o.code, Skew::Over5Minutes);
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
        assert_eq!(o.code, Skew::Over5Minutes);
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
        assert_eq!(o.code, Skew::NoServerDate);
        render("identity.clock-skew", &o);
    }
}
