//! `ecr-doctor summarize` output: the fleet summary as a table, JSON or markdown.

use super::status_label;
use crate::summarize::FleetSummary;
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

fn word<'a>(s: &'a FleetSummary, key: &'a str) -> &'a str {
    s.words.get(key).map(String::as_str).unwrap_or(key)
}

fn headers(s: &FleetSummary) -> Vec<&str> {
    [
        "summary_col_status",
        "summary_col_check",
        "summary_col_code",
        "summary_col_count",
        "summary_col_hosts",
    ]
    .into_iter()
    .map(|k| word(s, k))
    .collect()
}

pub fn table(s: &FleetSummary, width: u16) -> String {
    let mut out = format!(
        "ecr-doctor {} · {}\n",
        s.tool.version,
        word(s, "summary_title")
    );
    if s.problems.is_empty() {
        out.push_str(&format!("\n{}\n", word(s, "summary_nothing_to_act_on")));
    } else {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width)
            .force_no_tty()
            .set_header(headers(s));
        for p in &s.problems {
            t.add_row(vec![
                status_label(p.status).to_string(),
                p.check.clone(),
                p.code.clone(),
                p.count.to_string(),
                p.hosts.join(", "),
            ]);
        }
        out.push_str(&t.to_string());
        out.push('\n');
    }
    if !s.unusable.is_empty() {
        out.push_str(&format!("\n{}\n", word(s, "summary_unusable_title")));
        for u in &s.unusable {
            out.push_str(&format!("  {}: {}\n", u.source, one_line(&u.message)));
        }
    }
    out.push_str(&format!("\n{}\n", word(s, "summary_totals")));
    out
}

pub fn json(s: &FleetSummary) -> String {
    let mut out = serde_json::to_string_pretty(s).unwrap_or_else(|e| {
        format!(
            "{{\"schema_version\":{},\"error\":\"{e}\"}}",
            super::SCHEMA_VERSION
        )
    });
    out.push('\n');
    out
}

pub fn markdown(s: &FleetSummary) -> String {
    let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
    let mut out = format!(
        "# {}\n\necr-doctor {}\n\n",
        word(s, "summary_title"),
        s.tool.version
    );
    if s.problems.is_empty() {
        out.push_str(&format!("{}\n", word(s, "summary_nothing_to_act_on")));
    } else {
        out.push_str(&format!(
            "| {} |\n|---|---|---|---|---|\n",
            headers(s).join(" | ")
        ));
        for p in &s.problems {
            out.push_str(&format!(
                "| {} | `{}` | `{}` | {} | {} |\n",
                status_label(p.status),
                p.check,
                cell(&p.code),
                p.count,
                cell(&p.hosts.join(", "))
            ));
        }
    }
    if !s.unusable.is_empty() {
        out.push_str(&format!("\n## {}\n\n", word(s, "summary_unusable_title")));
        for u in &s.unusable {
            out.push_str(&format!("- `{}`: {}\n", cell(&u.source), cell(&u.message)));
        }
    }
    out.push_str(&format!("\n{}\n", word(s, "summary_totals")));
    out
}

/// Parser errors are one line already; file names could hold a newline.
fn one_line(t: &str) -> String {
    t.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use crate::summarize::{summarize, tests::report, Input};

    fn sample() -> crate::summarize::FleetSummary {
        let lines = [
            report(Some("web-1"), &[("token.get", "fail", "access-denied")]),
            report(Some("web-2"), &[("token.get", "fail", "access-denied")]),
            report(Some("web-3"), &[("identity.caller", "pass", "ok")]),
        ]
        .join("\n");
        summarize(
            &crate::catalog::Catalog::embedded(),
            &[
                Input {
                    name: "a.jsonl".into(),
                    text: Ok(lines),
                },
                Input {
                    name: "b.json".into(),
                    text: Ok("{\"schema_version\": 1, \"che".into()),
                },
            ],
        )
    }

    #[test]
    fn table_has_rows_unusable_inputs_and_totals() {
        let t = super::table(&sample(), 110);
        let row = t.lines().find(|l| l.contains("token.get")).unwrap();
        for want in ["FAIL", "access-denied", " 2 ", "web-1, web-2"] {
            assert!(row.contains(want), "{want}: {row}");
        }
        assert!(
            !t.contains("web-3 "),
            "a host that passed is in no row:\n{t}"
        );
        assert!(t.contains("Not summarized"), "{t}");
        assert!(t.contains("  b.json: "), "{t}");
        assert!(
            t.contains(
                "hosts: 3 (2 failed or errored, 0 warned, 1 passed); inputs not summarized: 1"
            ),
            "{t}"
        );
    }

    #[test]
    fn markdown_and_json_agree() {
        let s = sample();
        let m = super::markdown(&s);
        assert!(
            m.contains("| FAIL | `token.get` | `access-denied` | 2 | web-1, web-2 |"),
            "{m}"
        );
        assert!(m.contains("- `b.json`: "), "{m}");
        let v: serde_json::Value = serde_json::from_str(&super::json(&s)).unwrap();
        assert_eq!(
            v["problems"][0]["hosts"],
            serde_json::json!(["web-1", "web-2"])
        );
        assert_eq!(v["problems"][0]["count"], 2);
        assert_eq!(v["unusable"][0]["reason"], "truncated");
        assert_eq!(v["totals"]["unusable"], 1);
        assert_eq!(v["hosts"][2]["status"], "pass");
    }
}
