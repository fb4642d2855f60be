//! The IAM policy evaluator: any document (invalid JSON, deeply nested, huge, odd types)
//! parses or is refused with a typed error, and any parsed policy answers every request.
#![no_main]
use ecr_doctor_core::policy::{self, Request};
use libfuzzer_sys::fuzz_target;

const ACTIONS: [&str; 4] = [
    "ecr:GetAuthorizationToken",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "s3:GetObject",
];
const RESOURCES: [&str; 3] = [
    "*",
    "arn:aws:ecr:us-east-1:123456789012:repository/team/app",
    "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/docker/layer",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // the first line may name the action to ask about, the rest is the document
    let (first, doc) = text.split_once('\n').unwrap_or(("", text));
    let Ok(p) = policy::parse(doc) else {
        return;
    };
    let context = [("aws:SourceVpce", "vpce-0123456789abcdef0")];
    for action in ACTIONS.iter().copied().chain(std::iter::once(first)) {
        for resource in RESOURCES {
            for principal in [None, Some("arn:aws:sts::123456789012:assumed-role/r/s")] {
                let req = Request {
                    action,
                    resource,
                    principal,
                    principal_account: None,
                    context: &context,
                    foreign_keys: &[],
                };
                let _ = p.evaluate(&req);
            }
        }
    }
});
