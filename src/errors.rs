//! Errors, reduced for people: one function gives any error chain's short cause (one line),
//! one its full chain (for `facts.error_detail` in JSON only). The classification of AWS
//! API errors is in `probes::sdk_error`.

/// Longest short cause, in characters.
const SHORT: usize = 160;

/// Every error of the chain, outermost first, each on one line, without Debug dumps.
fn links(e: &dyn std::error::Error) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = cur {
        let line = one_line(&err.to_string());
        // wrappers often repeat their source's text: keep each piece once
        if !line.is_empty() && !out.iter().any(|o| o.contains(&line)) {
            out.push(line);
        }
        cur = err.source();
    }
    out
}

/// The whole chain, `outer: inner: root`, for `facts.error_detail`.
pub fn chain(e: &dyn std::error::Error) -> String {
    links(e).join(": ")
}

/// One line for a report: the outermost error and the root cause, cut to 160 characters.
pub fn short_cause(e: &dyn std::error::Error) -> String {
    let l = links(e);
    let text = match (l.first(), l.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}: {b}"),
        (Some(a), _) => a.clone(),
        _ => String::new(),
    };
    shorten(&text)
}

/// The short cause of a chain already joined by [`chain`]: its first and last links.
pub fn short_of_chain(chain: &str) -> String {
    let parts: Vec<&str> = chain.split(": ").collect();
    match (parts.first(), parts.last()) {
        (Some(a), Some(b)) if parts.len() > 2 => shorten(&format!("{a}: {b}")),
        _ => shorten(chain),
    }
}

/// Whitespace folded to single spaces; a trailing `(Debug { .. })` dump cut off; at most
/// 160 characters.
pub fn shorten(s: &str) -> String {
    let s = one_line(s);
    // the SDK's DisplayErrorContext appends the Debug form in parentheses
    let s = match s.find(" (") {
        Some(i)
            if s[i + 2..].starts_with(|c: char| c.is_ascii_uppercase())
                && s.ends_with(')')
                && s[i..].contains(" { ") =>
        {
            s[..i].to_string()
        }
        _ => s,
    };
    if s.chars().count() <= SHORT {
        return s;
    }
    let mut cut: String = s.chars().take(SHORT - 1).collect();
    cut.push('…');
    cut
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn short_cause_is_outer_and_root_on_one_line() {
        let e = E(
            "dispatch failure",
            Some(Box::new(E(
                "io error",
                Some(Box::new(E("Connection refused\n (os error 111)", None))),
            ))),
        );
        assert_eq!(
            short_cause(&e),
            "dispatch failure: Connection refused (os error 111)"
        );
        assert_eq!(
            chain(&e),
            "dispatch failure: io error: Connection refused (os error 111)"
        );
        let long = E(Box::leak("x".repeat(500).into_boxed_str()), None);
        let s = short_cause(&long);
        assert_eq!(s.chars().count(), 160);
        assert!(s.ends_with('…'));
    }

    #[test]
    fn debug_dumps_are_cut() {
        let s = shorten("failed to load token (ProviderError(ProviderError { source: FailedToLoadToken { headers: {} } }))");
        assert_eq!(s, "failed to load token");
        assert_eq!(shorten("HTTP 403 (Forbidden)"), "HTTP 403 (Forbidden)");
    }
}
