//! An SDK error as an [`ApiError`]: what the STS, ECR and EC2 calls of the AWS probe all
//! report. (How a check reads the error codes is the checks' business.)

use super::{ApiError, ApiFailure, Exchange};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Turns any SDK error into an [`ApiError`]. When the SDK could not parse the error body
/// (e.g. an XML body where JSON was expected), the code and message are read from the raw
/// body, and the HTTP status is always kept.
pub fn classify<E>(err: &SdkError<E, HttpResponse>, exchange: Exchange) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = crate::errors::chain(err);
    let from_raw = |raw: &HttpResponse, code: Option<&str>, message: Option<&str>| {
        let (bc, bm) = sniff_error_body(raw.body().bytes().unwrap_or_default());
        ApiFailure::Service {
            status: raw.status().as_u16(),
            code: code.map(str::to_string).or(bc),
            message: message.map(str::to_string).or(bm),
        }
    };
    let failure = match err {
        SdkError::ServiceError(se) => from_raw(se.raw(), se.err().code(), se.err().message()),
        SdkError::ResponseError(re) => from_raw(re.raw(), None, None),
        SdkError::TimeoutError(_) => ApiFailure::Timeout { detail },
        SdkError::DispatchFailure(df) if df.is_timeout() => ApiFailure::Timeout { detail },
        SdkError::DispatchFailure(_) => ApiFailure::Unreachable { detail },
        _ => ApiFailure::Other { detail },
    };
    ApiError { failure, exchange }
}

/// Reads an AWS error code and message from an XML (`<Code>`, `<Message>`) or JSON
/// (`__type`, `code`, `message`) error body.
pub fn sniff_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(body);
    let xml = |tag: &str| {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&close)? + start;
        Some(text[start..end].trim().to_string()).filter(|s| !s.is_empty())
    };
    if let (Some(c), m) = (xml("Code"), xml("Message")) {
        return (Some(c), m);
    }
    if let Ok(serde_json::Value::Object(o)) = serde_json::from_str::<serde_json::Value>(&text) {
        let get = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| o.get(*k).and_then(|v| v.as_str()).map(str::to_string))
        };
        let code = get(&["__type", "code", "Code"])
            .map(|c| {
                c.rsplit('#')
                    .next()
                    .unwrap_or(&c)
                    .split(':')
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .filter(|c| !c.is_empty());
        return (code, get(&["message", "Message"]));
    }
    (None, xml("Message"))
}

/// What an AWS API error means for the doctor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// No answer, or no connection.
    Unreachable,
    /// The credentials are not accepted (unknown key, bad signature, expired session).
    InvalidCredentials,
    /// The request's time is too far from AWS's.
    ClockRejected,
    /// An IAM refusal.
    AccessDenied,
    /// The named resource does not exist.
    NotFound,
    /// Anything else.
    Other,
}

/// Error codes that mean the credentials themselves are not accepted.
const INVALID_CREDENTIAL_CODES: &[&str] = &[
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
const CLOCK_CODES: &[&str] = &[
    "RequestExpired",
    "RequestTimeTooSkewed",
    "RequestInTheFuture",
];

/// The messages SigV4 gives, under SignatureDoesNotMatch (STS) or InvalidSignatureException
/// (ECR), when the request's time is outside the service's window:
/// `Signature expired: <t> is now earlier than <t> (<t> - 15 min.)`.
const CLOCK_MESSAGES: &[&str] = &["Signature expired", "Signature not yet current"];

/// Error codes of throttling (ECR: ThrottlingException; the troubleshooting guide also
/// names ThrottleException and HTTP 429).
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "ThrottleException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

impl ApiError {
    /// Whether the service refused the call for its request rate.
    pub fn is_throttled(&self) -> bool {
        match &self.failure {
            ApiFailure::Service { status, code, .. } => {
                *status == 429 || THROTTLING_CODES.contains(&code.as_deref().unwrap_or(""))
            }
            _ => false,
        }
    }

    /// What this error means for the doctor: the one classification every check uses.
    pub fn class(&self) -> ErrorClass {
        match &self.failure {
            ApiFailure::Timeout { .. } | ApiFailure::Unreachable { .. } => ErrorClass::Unreachable,
            ApiFailure::Service { code, message, .. } => {
                let code = code.as_deref().unwrap_or("");
                let clock_message = message
                    .as_deref()
                    .is_some_and(|m| CLOCK_MESSAGES.iter().any(|c| m.starts_with(c)));
                if clock_message {
                    ErrorClass::ClockRejected
                } else if INVALID_CREDENTIAL_CODES.contains(&code) {
                    ErrorClass::InvalidCredentials
                } else if CLOCK_CODES.contains(&code) {
                    ErrorClass::ClockRejected
                } else if code.contains("AccessDenied")
                    || code.contains("UnauthorizedOperation")
                    || message
                        .as_deref()
                        .is_some_and(|m| m.contains("is not authorized to perform"))
                {
                    ErrorClass::AccessDenied
                } else if code.contains("NotFound") || code.contains("Malformed") {
                    ErrorClass::NotFound
                } else {
                    ErrorClass::Other
                }
            }
            ApiFailure::Other { .. } => ErrorClass::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_xml_and_json_error_bodies() {
        let xml = br#"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>"#;
        let (c, m) = sniff_error_body(xml);
        assert_eq!(c.as_deref(), Some("InvalidClientTokenId"));
        assert!(m.unwrap().contains("security token"));
        let json =
            br#"{"__type":"com.amazonaws.ecr#AccessDeniedException","message":"not authorized"}"#;
        let (c, m) = sniff_error_body(json);
        assert_eq!(c.as_deref(), Some("AccessDeniedException"));
        assert_eq!(m.as_deref(), Some("not authorized"));
        assert_eq!(sniff_error_body(b"<html>oops</html>"), (None, None));
    }

    fn service(code: &str, msg: &str) -> ApiError {
        ApiError {
            failure: ApiFailure::Service {
                status: 403,
                code: (!code.is_empty()).then(|| code.into()),
                message: Some(msg.into()),
            },
            exchange: Exchange::default(),
        }
    }

    #[test]
    fn classification() {
        use ErrorClass::*;
        for (code, msg, want) in [
            ("InvalidClientTokenId", "", InvalidCredentials),
            ("ExpiredToken", "", InvalidCredentials),
            ("SignatureDoesNotMatch", "", InvalidCredentials),
            ("RequestExpired", "", ClockRejected),
            // STS and ECR give a skewed clock under signature codes, told by the message
            (
                "SignatureDoesNotMatch",
                "Signature expired: 20260101T000000Z is now earlier than 20260101T001500Z (20260101T003000Z - 15 min.)",
                ClockRejected,
            ),
            (
                "InvalidSignatureException",
                "Signature not yet current: 20260101T003100Z is still later than 20260101T003000Z (20260101T001500Z + 15 min.)",
                ClockRejected,
            ),
            (
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
                InvalidCredentials,
            ),
            ("AccessDeniedException", "", AccessDenied),
            ("UnauthorizedOperation", "", AccessDenied),
            (
                "",
                "User: x is not authorized to perform: ecr:GetAuthorizationToken",
                AccessDenied,
            ),
            ("InvalidVpcID.NotFound", "", NotFound),
            ("ThrottlingException", "Rate exceeded", Other),
        ] {
            assert_eq!(service(code, msg).class(), want, "{code} {msg}");
        }
        let t = ApiError {
            failure: ApiFailure::Timeout { detail: "x".into() },
            exchange: Exchange::default(),
        };
        assert_eq!(t.class(), Unreachable);
        assert!(!t.is_throttled());
    }

    #[test]
    fn throttling() {
        assert!(service("ThrottlingException", "Rate exceeded").is_throttled());
        assert!(!service("AccessDeniedException", "").is_throttled());
        let mut e = service("", "Too Many Requests");
        if let ApiFailure::Service { status, .. } = &mut e.failure {
            *status = 429;
        }
        assert!(e.is_throttled());
    }
}
