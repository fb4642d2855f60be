//! `--output markdown`: for pasting into tickets and pull requests.

use super::{context_line, status_label, summary_line, Report};

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn render(report: &Report) -> String {
    let mut out = format!(
        "# ecr-doctor report\n\necr-doctor {} · {}\n\n",
        report.tool.version,
        context_line(report)
    );
    out.push_str(&super::symptom::markdown(report));
    out.push_str("| Status | Check | Result |\n|---|---|---|\n");
    for c in &report.checks {
        out.push_str(&format!(
            "| {} | `{}` | {} |\n",
            status_label(c.status),
            c.id,
            cell(&c.message)
        ));
    }
    let todo = super::to_act_on(report);
    if !todo.is_empty() {
        out.push_str(&format!("\n## {}\n", super::word(report, "what_to_do")));
        for c in todo {
            let code = format!(" (`{}`)", c.code);
            out.push_str(&format!(
                "\n### {} `{}`{code}\n\n{}\n",
                status_label(c.status),
                c.id,
                c.message
            ));
            if let Some(r) = &c.remediation {
                out.push_str(&format!("\n{}\n", r.text));
                let (lang, blocks): (&str, Vec<&String>) = match super::fix_view(report, r) {
                    super::FixView::Snippets(f, snippets) => (
                        match f {
                            crate::catalog::FixFormat::Terraform => "hcl",
                            _ => "yaml",
                        },
                        snippets.iter().collect(),
                    ),
                    super::FixView::Fallback(note, commands) => {
                        out.push_str(&format!("\n{note}\n"));
                        ("sh", commands.iter().collect())
                    }
                    super::FixView::Commands(commands) => ("sh", commands.iter().collect()),
                };
                if lang == "sh" && !blocks.is_empty() {
                    out.push_str("\n```sh\n");
                    for cmd in blocks {
                        out.push_str(cmd);
                        out.push('\n');
                    }
                    out.push_str("```\n");
                } else {
                    // one block per snippet: each is complete on its own
                    for snippet in blocks {
                        out.push_str(&format!("\n```{lang}\n{snippet}\n```\n"));
                    }
                }
            }
            if let Some(d) = &c.docs_url {
                out.push_str(&format!("\nDocs: {d}\n"));
            }
        }
    }
    out.push_str(&format!("\n{}\n", summary_line(report)));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn markdown_has_table_and_code_blocks() {
        let m = super::render(&crate::render::tests::sample());
        assert!(m.starts_with("# ecr-doctor report"));
        assert!(m.contains("| FAIL | `token.get` |"));
        assert!(m.contains("```sh\naws iam put-user-policy"));
    }
}
