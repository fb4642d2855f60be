//! Endpoint policies evaluated for the pull requests (with [`crate::policy`]).

use crate::checks::Ctx;
use crate::policy::{self, Decision, Request};

/// What a policy decides for a set of requests. Lists hold data: action names, statement
/// ids, condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyVerdict {
    Allowed,
    /// Allowed, or denied, only under these conditions.
    Conditional {
        actions: Vec<String>,
        conditions: Vec<String>,
    },
    /// These actions are not allowed; `statements` are the explicit Deny statements.
    Denied {
        actions: Vec<String>,
        statements: Vec<String>,
    },
    /// The document could not be read.
    Unreadable(String),
}

/// Evaluates an endpoint policy (None = the default full-access policy) for each
/// `(action, resource)`, as the caller.
pub fn evaluate(policy_doc: Option<&str>, requests: &[(&str, String)], cx: &Ctx) -> PolicyVerdict {
    let Some(doc) = policy_doc else {
        return PolicyVerdict::Allowed;
    };
    let p = match policy::parse(doc) {
        Ok(p) => p,
        Err(e) => return PolicyVerdict::Unreadable(e.to_string()),
    };
    let identity = cx.identity();
    let mut denied = Vec::new();
    let mut statements = Vec::new();
    let mut conditional = Vec::new();
    let mut conditions = Vec::new();
    for (action, resource) in requests {
        let req = Request {
            action,
            resource,
            principal: identity.map(|i| i.arn.as_str()),
            principal_account: identity.map(|i| i.account.as_str()),
        };
        match p.evaluate(&req) {
            Decision::Allowed => {}
            Decision::AllowedWithConditions { conditions: c, .. }
            | Decision::DenyUnderConditions { conditions: c, .. } => {
                conditional.push(action.to_string());
                for k in c {
                    if !conditions.contains(&k) {
                        conditions.push(k);
                    }
                }
            }
            Decision::ExplicitDeny { statement } => {
                denied.push(action.to_string());
                if !statements.contains(&statement) {
                    statements.push(statement);
                }
            }
            Decision::ImplicitDeny => denied.push(action.to_string()),
        }
    }
    if !denied.is_empty() {
        PolicyVerdict::Denied {
            actions: denied,
            statements,
        }
    } else if !conditional.is_empty() {
        PolicyVerdict::Conditional {
            actions: conditional,
            conditions,
        }
    } else {
        PolicyVerdict::Allowed
    }
}
