//! The `--symptom` section, at the top of the table and of the markdown report. Its words were
//! filled from the catalog when the report was built ([`crate::symptom::assess`]).

use super::table::wrap;
use super::Report;
use unicode_width::UnicodeWidthChar;

/// The first line of the pasted text, control characters as spaces, cut to `limit` columns.
fn first_line(text: &str, limit: usize) -> String {
    let line: String = text
        .trim()
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = String::new();
    let mut width = 0;
    for c in line.trim_end().chars() {
        let w = c.width().unwrap_or(0);
        if width + w > limit.saturating_sub(1) {
            out.push('…');
            return out;
        }
        width += w;
        out.push(c);
    }
    out
}

/// The section for the table, `width` columns wide; empty without `--symptom`. With
/// `redact`, the pasted text is masked before it is cut (a cut identifier would escape).
pub fn table(report: &Report, width: u16, redact: bool) -> String {
    let Some(s) = &report.symptom else {
        return String::new();
    };
    let width = (width as usize).max(40);
    let mut out = format!("\n{}\n", s.heading);
    let label = format!("  {}: ", s.pasted_label);
    let text = crate::redact::apply(&s.text, redact);
    out.push_str(&format!(
        "{label}{}\n",
        first_line(&text, width.saturating_sub(label.chars().count()))
    ));
    for l in &s.lines {
        for (i, w) in wrap(l, width.saturating_sub(4)).into_iter().enumerate() {
            out.push_str(if i == 0 { "  " } else { "    " });
            out.push_str(&w);
            out.push('\n');
        }
    }
    out.push('\n');
    out
}

/// The section for markdown: the pasted text in a block (at most 2000 characters), then the
/// lines as a list; empty without `--symptom`.
pub fn markdown(report: &Report) -> String {
    let Some(s) = &report.symptom else {
        return String::new();
    };
    let mut text: String = s.text.trim().chars().take(2000).collect();
    if text.len() < s.text.trim().len() {
        text.push('…');
    }
    // a fence longer than any run of backticks in the text
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let mut out = format!(
        "## {}\n\n{}:\n\n{fence}text\n{text}\n{fence}\n\n",
        s.heading, s.pasted_label
    );
    for l in &s.lines {
        out.push_str(&format!("- {l}\n"));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_on_characters_and_fences_backticks() {
        assert_eq!(first_line("abc\ndef", 10), "abc");
        assert_eq!(first_line("abcdefghijkl", 6), "abcde…");
        assert_eq!(first_line("東京東京", 4), "東…");
        let mut r = crate::render::tests::sample();
        assert_eq!(table(&r, 100, false), "");
        assert_eq!(markdown(&r), "");
        let cat = crate::catalog::Catalog::embedded();
        let symptoms = crate::symptom::Symptoms::embedded(&cat);
        let p = crate::symptom::take(
            "```no basic auth credentials``` for 123456789012.dkr.ecr.us-east-1.amazonaws.com",
            &mut None,
            &mut None,
            None,
        );
        r.symptom = Some(crate::symptom::assess(&symptoms, &p, &r));
        let m = markdown(&r);
        assert!(
            m.starts_with("## Symptom\n\nPasted:\n\n````text\n```no basic"),
            "{m}"
        );
        assert!(m.contains("- Matches: no basic auth credentials"), "{m}");
        let t = table(&r, 60, true);
        assert!(
            t.contains("Pasted: ```no basic auth credentials``` for <account>"),
            "{t}"
        );
        assert!(t.lines().all(|l| l.chars().count() <= 60), "{t}");
    }
}
