//! The default output: a status table, then what to fix for each warning and failure.

use super::{context_line, status_label, summary_line, Report};
use crate::catalog::Severity;
use comfy_table::{
    presets::UTF8_FULL_CONDENSED, Attribute, Cell, Color, ContentArrangement, Table,
};
use unicode_width::UnicodeWidthStr;

/// The most a Result cell shows of a message, in terminal columns; the whole message, its fix
/// and commands are under "What to do" (and in the JSON report).
const RESULT_MAX: usize = 100;
/// Below this the Result column is not squeezed further (the table may then wrap).
const RESULT_MIN: usize = 12;

fn color_of(s: Severity) -> Color {
    match s {
        Severity::Pass => Color::Green,
        Severity::Warn => Color::Yellow,
        Severity::Fail => Color::Red,
        Severity::Skip => Color::DarkGrey,
        Severity::Error => Color::Magenta,
    }
}

/// The table, "What to do" and the summary, for a terminal `width` columns wide. Each row of the
/// table is one line; with `redact`, messages are masked before they are cut, so that a cut
/// never leaves half an identifier the masking would not recognise.
pub fn render(report: &Report, color: bool, width: u16, redact: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "ecr-doctor {} · {}\n",
        report.tool.version,
        context_line(report)
    ));
    out.push_str(&super::symptom::table(report, width, redact));
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
    let limit = result_limit(report, width);
    for c in &report.checks {
        let message = crate::redact::apply(&c.message, redact);
        let mut status = Cell::new(status_label(c.status));
        if color {
            status = status.fg(color_of(c.status)).add_attribute(Attribute::Bold);
        }
        table.add_row(vec![
            status,
            Cell::new(&c.id),
            Cell::new(one_line(&message, limit)),
        ]);
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
                let commands = match super::fix_view(report, r) {
                    super::FixView::Snippets(_, snippets) => {
                        for snippet in snippets {
                            out.push('\n');
                            for line in snippet.lines() {
                                out.push_str(format!("    {line}").trim_end());
                                out.push('\n');
                            }
                        }
                        &[][..]
                    }
                    super::FixView::Fallback(note, commands) => {
                        out.push_str(&format!("  {note}\n"));
                        commands
                    }
                    super::FixView::Commands(commands) => commands,
                };
                for cmd in commands {
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

/// The room for the Result text at a table `width`: what the borders (4), the cells' padding
/// (1 on each side) and the Status and Check columns leave, at most [`RESULT_MAX`].
fn result_limit(report: &Report, width: u16) -> usize {
    let status = report
        .checks
        .iter()
        .map(|c| text_width(status_label(c.status)))
        .chain([text_width("Status")])
        .max()
        .unwrap_or(0);
    let check = report
        .checks
        .iter()
        .map(|c| text_width(&c.id))
        .chain([text_width("Check")])
        .max()
        .unwrap_or(0);
    (width as usize)
        .saturating_sub(4 + 3 * 2 + status + check)
        .clamp(RESULT_MIN, RESULT_MAX)
}

/// Columns on a terminal, measured as the table measures them.
fn text_width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// The first line of `text`, control characters as spaces, cut to `limit` columns with `…`
/// (on a character boundary, counting wide characters as two columns).
fn one_line(text: &str, limit: usize) -> String {
    let line: String = text
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let line = line.trim_end();
    if text_width(line) <= limit {
        return line.to_string();
    }
    let mut out = String::new();
    for c in line.chars() {
        out.push(c);
        if text_width(&out) > limit.saturating_sub(1) {
            out.pop();
            break;
        }
    }
    let mut out = out.trim_end().to_string();
    out.push('…');
    out
}

/// Words of `text` in lines of at most `width` characters (a longer word stands alone).
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
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
    use crate::render::CheckEntry;

    #[test]
    fn plain_table_has_rows_fixes_and_summary() {
        let r = crate::render::tests::sample();
        let t = render(&r, false, 100, false);
        assert!(!t.contains('\x1b'), "no colour codes when colour is off");
        assert!(t.contains("PASS") && t.contains("FAIL") && t.contains("SKIP"));
        assert!(t.contains("What to do"));
        assert!(t.contains("$ aws iam put-user-policy --user-name me"));
        assert!(t.contains("1 passed, 0 warned, 1 failed, 1 skipped, 0 errors"));
        let coloured = render(&r, true, 100, false);
        assert!(coloured.contains("\x1b["));
    }

    /// The sample report with a long two-line message on the failing check.
    fn long_message() -> (Report, String) {
        let mut r = crate::render::tests::sample();
        let long = format!(
            "arn:aws:iam::123456789012:user/me may not call ecr:GetAuthorizationToken: {}\nsecond line",
            "HTTP 403 AccessDenied, é and 東京 ".repeat(8)
        );
        r.checks[1].message = long.clone();
        (r, long)
    }

    /// The table's lines: from its top border to its bottom border.
    fn table_lines(out: &str) -> Vec<&str> {
        out.lines()
            .skip_while(|l| !l.starts_with('┌'))
            .take_while(|l| !l.is_empty())
            .collect()
    }

    #[test]
    fn long_message_is_cut_and_kept_whole_under_what_to_do() {
        let (r, long) = long_message();
        for width in [80u16, 110, 200] {
            let t = render(&r, false, width, false);
            let rows = table_lines(&t);
            // header, separator, one line per check, and the two borders
            assert_eq!(rows.len(), 3 + r.checks.len() + 1, "width {width}:\n{t}");
            for row in &rows {
                assert!(
                    text_width(row) <= width as usize,
                    "width {width}: {} columns: {row}",
                    text_width(row)
                );
            }
            let row = rows.iter().find(|l| l.contains("token.get")).unwrap();
            assert!(row.contains('…'), "{row}");
            assert!(!row.contains("second line"));
            let cell = row.split('┆').nth(2).unwrap().trim_end_matches('│').trim();
            assert!(text_width(cell) <= 100, "{cell}");
            // borders and padding 10, Status 6, identity.caller 15: the rest, at most 100
            let limit = (width as usize - 31).min(100);
            assert!(text_width(cell) <= limit, "{cell}");
            assert!(text_width(cell) >= limit - 2, "{cell}");
            // the full message, both lines, and the fix under What to do
            let todo = &t[t.find("What to do").unwrap()..];
            assert!(todo.contains(&long), "{todo}");
            assert!(todo.contains("$ aws iam put-user-policy --user-name me"));
        }
    }

    #[test]
    fn every_check_of_the_catalog_is_one_row_at_80_and_110() {
        let (mut r, long) = long_message();
        let template = r.checks[1].clone();
        r.checks = crate::catalog::Catalog::embedded()
            .ids()
            .map(|id| CheckEntry {
                id: id.to_string(),
                ..template.clone()
            })
            .collect();
        assert!(r.checks.iter().any(|c| c.id.len() == 20), "the longest ids");
        for width in [80u16, 110] {
            let t = render(&r, false, width, false);
            let rows = table_lines(&t);
            assert_eq!(rows.len(), 3 + r.checks.len() + 1, "width {width}:\n{t}");
            assert!(rows.iter().all(|l| text_width(l) <= width as usize), "{t}");
            assert_eq!(t.matches(&long).count(), r.checks.len());
        }
    }

    #[test]
    fn cut_is_on_a_character_boundary_with_an_ellipsis() {
        assert_eq!(one_line("short", 10), "short");
        assert_eq!(one_line("first\nsecond", 10), "first");
        assert_eq!(one_line("a\tb", 10), "a b");
        assert_eq!(one_line("abcdefghijkl", 10), "abcdefghi…");
        assert_eq!(one_line("abcd efghijkl", 6), "abcd…");
        // é is two bytes, 東 two columns: never half a character, never past the limit
        assert_eq!(one_line("éééééééééééé", 5), "éééé…");
        assert_eq!(one_line("東京東京東京", 6), "東京…");
        assert_eq!(text_width(&one_line("東京東京東京", 6)), 5);
    }

    #[test]
    fn redaction_comes_before_the_cut() {
        let (r, _) = long_message();
        // cut in the middle of the account id, the masking would not see it
        let narrow = render(&r, false, 31 + 20, true);
        let row = table_lines(&narrow)
            .into_iter()
            .find(|l| l.contains("token.get"))
            .unwrap();
        assert!(row.contains("arn:<redacted>"), "{row}");
        assert!(!row.contains("1234"), "{row}");
    }

    #[test]
    fn wraps_words() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
    }
}
