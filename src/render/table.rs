//! The default output: a status table, then what to fix for each warning and failure.

use super::{context_line, status_label, summary_line, Report};
use crate::catalog::Severity;
use comfy_table::{
    presets::UTF8_FULL_CONDENSED, Attribute, Cell, Color, ContentArrangement, Table,
};

fn color_of(s: Severity) -> Color {
    match s {
        Severity::Pass => Color::Green,
        Severity::Warn => Color::Yellow,
        Severity::Fail => Color::Red,
        Severity::Skip => Color::DarkGrey,
        Severity::Error => Color::Magenta,
    }
}

pub fn render(report: &Report, color: bool, width: u16) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "ecr-doctor {} · {}\n",
        report.tool.version,
        context_line(report)
    ));
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width)
        .set_header(vec!["Status", "Check", "Result"]);
    if !color {
        table.force_no_tty();
    } else {
        table.enforce_styling();
    }
    for c in &report.checks {
        let mut status = Cell::new(status_label(c.status));
        if color {
            status = status.fg(color_of(c.status)).add_attribute(Attribute::Bold);
        }
        table.add_row(vec![status, Cell::new(&c.id), Cell::new(&c.message)]);
    }
    out.push_str(&table.to_string());
    out.push('\n');
    let todo = super::to_act_on(report);
    if !todo.is_empty() {
        out.push_str(&format!("\n{}\n", super::word(report, "what_to_do")));
        for c in todo {
            let label = status_label(c.status);
            let label = if color {
                let code = match c.status {
                    Severity::Warn => "33",
                    Severity::Fail => "31",
                    _ => "35",
                };
                format!("\x1b[1;{code}m{label}\x1b[0m")
            } else {
                label.to_string()
            };
            let code = format!(" [{}]", c.code);
            out.push_str(&format!("\n{label} {}{code}: {}\n", c.id, c.message));
            if let Some(r) = &c.remediation {
                for line in wrap(&r.text, width.saturating_sub(4).max(40) as usize) {
                    out.push_str(&format!("  {line}\n"));
                }
                for cmd in &r.commands {
                    out.push_str(&format!("  $ {cmd}\n"));
                }
            }
            if let Some(d) = &c.docs_url {
                out.push_str(&format!("  docs: {d}\n"));
            }
        }
    }
    out.push_str(&format!("\n{}\n", summary_line(report)));
    out
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_table_has_rows_fixes_and_summary() {
        let r = crate::render::tests::sample();
        let t = render(&r, false, 100);
        assert!(!t.contains('\x1b'), "no colour codes when colour is off");
        assert!(t.contains("PASS") && t.contains("FAIL") && t.contains("SKIP"));
        assert!(t.contains("What to do"));
        assert!(t.contains("$ aws iam put-user-policy --user-name me"));
        assert!(t.contains("1 passed, 0 warned, 1 failed, 1 skipped, 0 errors"));
        let coloured = render(&r, true, 100);
        assert!(coloured.contains("\x1b["));
    }

    #[test]
    fn wraps_words() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
    }
}
