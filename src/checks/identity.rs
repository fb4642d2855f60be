//! `identity.caller` (sts:GetCallerIdentity) and `identity.clock-skew` (local clock against
//! the `Date` of that same AWS response).
//!
//! SigV4 tolerance differs by service: STS and ECR accept requests signed up to 15 minutes
//! off (`Signature expired: ... (... - 15 min.)`), ECS and Secrets Manager refuse at 5
//! minutes. So the skew warns from 1 and from 5 minutes, and fails only past 15 minutes; and
//! never when STS accepted the very request whose answer gave the measurement (the Date must
//! then be wrong, e.g. rewritten by a proxy): that is [`Skew::Contradicted`].

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
        Throttled = "throttled",
        ApiError = "api-error",
    }
}

crate::codes! {
    pub enum Skew {
        Ok = "ok",
        ClockSkew = "clock-skew",
        Over5Minutes = "clock-skew-over-5-minutes",
        Over15Minutes = "clock-skew-over-15-minutes",
        Contradicted = "clock-skew-contradicted",
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
                    _ if e.is_throttled() => Caller::Throttled,
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
        // identity.caller and token.get ran before (catalog `after`): their slots are set
        // only when STS, then ECR, accepted a request signed with this clock
        let sts_accepted = cx.identity().is_some();
        let ecr_accepted = cx.token().is_some();
        let code = if abs > 900.0 && sts_accepted {
            Skew::Contradicted
        } else if abs > 900.0 {
            Skew::Over15Minutes
        } else if abs > 300.0 {
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
            .fact("sts_accepted", sts_accepted)
            .fact("ecr_accepted", ecr_accepted)
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::{ctx, exchange, render, service_error, FakeAws};
    use crate::engine::Code as _;
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
    async fn access_denied_shows_what_answered_and_blames_no_policy() {
        let o = caller_of(Err(service_error(
            403,
            "AccessDenied",
            "Access denied by the corporate proxy",
        )))
        .await;
        assert_eq!(o.code, Caller::AccessDenied);
        let msg = render("identity.caller", &o);
        assert!(
            msg.contains("by sts.us-east-1.amazonaws.com") && msg.contains("HTTP 403"),
            "{msg}"
        );
        let cat = crate::catalog::Catalog::embedded();
        let spec = cat.get("identity.caller").unwrap();
        let fix = spec.codes["access-denied"].remediation.clone().unwrap();
        // no identity policy can deny GetCallerIdentity (STS API reference)
        assert!(fix.contains("No IAM policy can deny"), "{fix}");
        assert!(!fix.contains("service control policy"), "{fix}");
        for part in [
            "not STS",
            "AWS_ENDPOINT_URL_STS",
            "{endpoint}",
            "{http_status}",
        ] {
            assert!(fix.contains(part), "{part} missing: {fix}");
        }
        // an opt-in region the account has not enabled answers InvalidClientTokenId
        let fix = spec.codes["invalid-credentials"]
            .remediation
            .clone()
            .unwrap();
        assert!(fix.contains("opt-in region"), "{fix}");
        assert!(!fix.contains("deactivated"), "{fix}");
    }

    #[tokio::test]
    async fn throttling_is_named_as_such() {
        for (status, code) in [(400, "Throttling"), (429, "ThrottlingException")] {
            let o = caller_of(Err(service_error(status, code, "Rate exceeded"))).await;
            assert_eq!(o.code, Caller::Throttled, "{status} {code}");
            let msg = render("identity.caller", &o);
            assert!(msg.contains("Rate exceeded"), "{msg}");
        }
        let cat = crate::catalog::Catalog::embedded();
        let fix = cat.get("identity.caller").unwrap().codes["throttled"]
            .remediation
            .clone()
            .unwrap();
        assert!(fix.contains("backoff") && fix.contains("regional"), "{fix}");
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

    /// The skew check against a server `server_offset_secs` ahead; `accepted` says whether
    /// identity.caller (STS) and token.get (ECR) passed before it.
    async fn skew_with(server_offset_secs: i64, accepted: (bool, bool)) -> Finding<Skew> {
        let mut id = crate::checks::fake::identity();
        let ex = &mut id.exchange;
        let base = ex.sent_at.unwrap();
        ex.server_date = Some(if server_offset_secs >= 0 {
            base + Duration::from_secs(server_offset_secs as u64)
        } else {
            base - Duration::from_secs((-server_offset_secs) as u64)
        });
        let mut cx = ctx(
            FakeAws {
                identity: Ok(id),
                ..Default::default()
            },
            &[],
        );
        let c = Arc::get_mut(&mut cx).unwrap();
        if accepted.0 {
            c.set_identity(Identity {
                account: "123456789012".into(),
                arn: "arn:aws:iam::123456789012:user/u".into(),
            });
        }
        if accepted.1 {
            c.set_token(crate::checks::Token {
                registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
                password: crate::probes::Secret::new("p"),
                expires_at: None,
            });
        }
        let o = clock_skew(cx).await;
        render("identity.clock-skew", &o);
        o
    }

    async fn skew_of(server_offset_secs: i64) -> Finding<Skew> {
        skew_with(server_offset_secs, (false, false)).await
    }

    fn severity(code: Skew) -> &'static str {
        let cat = crate::catalog::Catalog::embedded();
        cat.get("identity.clock-skew").unwrap().codes[code.as_str()]
            .severity
            .as_str()
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
        assert_eq!(skew_of(-899).await.code, Skew::Over5Minutes);
        assert_eq!(skew_of(-1000).await.code, Skew::Over15Minutes);
        assert_eq!(skew_of(1000).await.code, Skew::Over15Minutes);
    }

    #[test]
    fn only_past_15_minutes_is_a_failure() {
        // STS and ECR accept SigV4 up to 15 minutes off; ECS and Secrets Manager refuse at 5
        assert_eq!(severity(Skew::ClockSkew), "warn");
        assert_eq!(severity(Skew::Over5Minutes), "warn");
        assert_eq!(severity(Skew::Over15Minutes), "fail");
        assert_eq!(severity(Skew::Contradicted), "warn");
        let cat = crate::catalog::Catalog::embedded();
        let spec = cat.get("identity.clock-skew").unwrap();
        let five = &spec.codes["clock-skew-over-5-minutes"];
        let text = format!("{} {}", five.message, five.remediation.as_deref().unwrap());
        for service in ["ECS", "Secrets Manager", "15 minutes"] {
            assert!(text.contains(service), "{service} not named: {text}");
        }
        assert!(
            spec.after.contains(&"identity.caller".to_string())
                && spec.after.contains(&"token.get".to_string()),
            "the skew must know whether STS and ECR accepted the clock"
        );
    }

    #[tokio::test]
    async fn never_a_failure_when_aws_accepted_the_clock() {
        // STS (and ECR) accepted requests signed with this clock: a Date 16+ minutes off
        // contradicts that (a proxy rewriting Date), a warning, not a failure
        let o = skew_with(-1000, (true, true)).await;
        assert_eq!(o.code, Skew::Contradicted);
        assert_eq!(o.facts["sts_accepted"], true);
        assert_eq!(o.facts["ecr_accepted"], true);
        let msg = render("identity.clock-skew", &o);
        assert!(msg.contains("STS and ECR accepted"), "{msg}");
        let o = skew_with(1000, (true, false)).await;
        assert_eq!(o.code, Skew::Contradicted);
        let msg = render("identity.clock-skew", &o);
        assert!(
            msg.contains("STS accepted") && !msg.contains("ECR"),
            "{msg}"
        );
        // below 15 minutes the thresholds stand whatever passed
        assert_eq!(skew_with(400, (true, true)).await.code, Skew::Over5Minutes);
        assert_eq!(skew_with(0, (true, true)).await.code, Skew::Ok);
        // STS refused (no identity): the measurement stands
        assert_eq!(
            skew_with(1000, (false, false)).await.code,
            Skew::Over15Minutes
        );
    }

    #[tokio::test]
    async fn skew_read_from_failed_calls_too() {
        let mut e = service_error(403, "SignatureDoesNotMatch", "Signature expired");
        e.exchange.server_date = Some(e.exchange.sent_at.unwrap() + Duration::from_secs(600));
        let o = clock_skew(ctx(
            FakeAws {
                identity: Err(e),
                ..Default::default()
            },
            &[],
        ))
        .await;
        assert_eq!(o.code, Skew::Over5Minutes);
        // STS refused a request signed 16+ minutes off: a failure
        let mut e = service_error(403, "SignatureDoesNotMatch", "Signature expired");
        e.exchange.server_date = Some(e.exchange.sent_at.unwrap() + Duration::from_secs(1000));
        let o = clock_skew(ctx(
            FakeAws {
                identity: Err(e),
                ..Default::default()
            },
            &[],
        ))
        .await;
        assert_eq!(o.code, Skew::Over15Minutes);
        render("identity.clock-skew", &o);
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
