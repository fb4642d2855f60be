//! `--output json`: the [`Report`](super::Report) as pretty JSON (schema in docs/report.schema.json).

use super::Report;

pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        format!(
            "{{\"schema_version\":{},\"error\":\"{e}\"}}",
            super::SCHEMA_VERSION
        )
    });
    s.push('\n');
    s
}

/// `--list-checks --output json`
pub fn render_catalog(catalog: &crate::catalog::Catalog) -> String {
    let checks: Vec<serde_json::Value> = catalog
        .checks
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id,
                "title": c.title,
                "description": c.description,
                "depends_on": c.depends_on,
                "codes": c.codes.iter().map(|(code, spec)| serde_json::json!({"code": code, "severity": spec.severity})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&serde_json::json!({
        "schema_version": super::SCHEMA_VERSION,
        "checks": checks,
    }))
    .unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn has_the_contract_keys() {
        let r = super::super::tests::sample();
        let v: serde_json::Value = serde_json::from_str(&super::render(&r)).unwrap();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["tool"]["name"], "ecr-doctor");
        for k in ["started_at", "duration_ms", "context", "summary", "checks"] {
            assert!(v.get(k).is_some(), "{k}");
        }
        let c = &v["checks"][1];
        for k in [
            "id",
            "title",
            "status",
            "code",
            "message",
            "remediation",
            "docs_url",
            "skipped_because",
            "duration_ms",
            "facts",
        ] {
            assert!(c.get(k).is_some(), "{k}");
        }
        assert_eq!(c["status"], "fail");
        assert!(c["remediation"]["commands"].is_array());
        assert_eq!(v["checks"][2]["skipped_because"][0], "token.get");
    }
}
