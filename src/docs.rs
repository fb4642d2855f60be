//! The check and error-code reference (docs/checks.md) and the code snapshot
//! (docs/codes.txt), generated from the catalog; the troubleshooting guide
//! (docs/troubleshooting.md) from its symptoms (`crate::symptom::troubleshooting`). A test fails when the checked-in files
//! differ; `UPDATE_DOCS=1 cargo test docs` rewrites them.

use crate::catalog::{Catalog, Severity};

pub fn reference(catalog: &Catalog) -> String {
    let none = serde_json::Map::new();
    let text = |key: &str| catalog.text(key, &none);
    let mut out = format!(
        "# {}\n\n<!-- generated from checks/*.toml by `UPDATE_DOCS=1 cargo test docs`; do not edit -->\n\n{}\n\n| Check | Title | Depends on |\n|---|---|---|\n",
        text("docs_title"),
        text("docs_intro")
    );
    for c in &catalog.checks {
        out.push_str(&format!(
            "| [`{}`](#{}) | {} | {} |\n",
            c.id,
            c.id.replace('.', ""),
            c.title,
            if c.depends_on.is_empty() {
                "—".to_string()
            } else {
                c.depends_on
                    .iter()
                    .map(|d| format!("`{d}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
    }
    for c in &catalog.checks {
        out.push('\n');
        out.push_str(&check_section(catalog, c, None));
    }
    out.push('\n');
    out.push_str(&engine_section(catalog, None));
    out
}

/// The reference of one check: its title, what it does, what it skips, and each code (or
/// only `only`) with its meaning, fix and commands. Markdown, as in docs/checks.md; also
/// what `--explain` prints.
pub fn check_section(
    catalog: &Catalog,
    c: &crate::catalog::CheckSpec,
    only: Option<&str>,
) -> String {
    let none = serde_json::Map::new();
    let text = |key: &str| catalog.text(key, &none);
    let mut out = format!("## {}\n\n**{}.** {}\n\n", c.id, c.title, c.description);
    let dependents = catalog.dependents(&c.id);
    if !dependents.is_empty() {
        let mut v = serde_json::Map::new();
        v.insert(
            "checks".into(),
            dependents
                .iter()
                .map(|d| format!("`{d}`"))
                .collect::<Vec<_>>()
                .into(),
        );
        out.push_str(&format!("{}\n\n", catalog.text("docs_skips", &v)));
    }
    if let Some(d) = &c.docs_url {
        out.push_str(&format!("{}: {d}\n\n", text("docs_aws")));
    }
    let mut codes: Vec<_> = c
        .codes
        .iter()
        .filter(|(name, _)| only.is_none_or(|o| o == name.as_str()))
        .collect();
    codes.sort_by_key(|(name, spec)| (spec.severity, name.to_string()));
    for (name, spec) in codes {
        code_entry(
            &mut out,
            &format!("`{}` / `{name}` — {}", c.id, spec.severity.as_str()),
            &spec.message,
            spec.remediation.as_deref(),
            &[
                ("sh", &spec.commands),
                ("hcl", &spec.terraform),
                ("yaml", &spec.cloudformation),
            ],
            spec.docs_url.as_deref(),
            &text,
        );
    }
    out
}

/// The codes the engine decides (or only `only`), with their meaning and fix.
pub fn engine_section(catalog: &Catalog, only: Option<&str>) -> String {
    let none = serde_json::Map::new();
    let text = |key: &str| catalog.text(key, &none);
    let mut out = format!(
        "## {}\n\n{}\n\n",
        text("docs_engine_title"),
        text("docs_engine_intro")
    );
    for code in <crate::engine::EngineCode as crate::engine::Code>::ALL {
        let name = crate::engine::Code::as_str(*code);
        if only.is_some_and(|o| o != name) {
            continue;
        }
        if let Some(spec) = catalog.engine.get(name) {
            code_entry(
                &mut out,
                &format!("`{name}` — {}", code.severity().as_str()),
                &spec.message,
                spec.remediation.as_deref(),
                &[],
                None,
                &text,
            );
        }
    }
    out
}

fn code_entry(
    out: &mut String,
    heading: &str,
    message: &str,
    remediation: Option<&str>,
    blocks: &[(&str, &Vec<String>)],
    docs_url: Option<&str>,
    text: &dyn Fn(&str) -> String,
) {
    out.push_str(&format!("### {heading}\n\n"));
    out.push_str(&format!("{}: {message}\n\n", text("docs_meaning")));
    if let Some(r) = remediation {
        out.push_str(&format!("{}: {r}\n\n", text("docs_fix")));
    }
    // the commands in one block; each Terraform or CloudFormation snippet in its own
    for (lang, templates) in blocks {
        let groups: Vec<Vec<&String>> = match *lang {
            "sh" => vec![templates.iter().collect()],
            _ => templates.iter().map(|t| vec![t]).collect(),
        };
        for group in groups.into_iter().filter(|g| !g.is_empty()) {
            out.push_str(&format!("```{lang}\n"));
            for t in group {
                out.push_str(t.trim().replace("{{", "{").replace("}}", "}").as_str());
                out.push('\n');
            }
            out.push_str("```\n\n");
        }
    }
    if let Some(d) = docs_url {
        out.push_str(&format!("{}: {d}\n\n", text("docs_see")));
    }
}

/// One line per check code: `id code severity`. Any change to ids or codes shows in review.
pub fn codes_snapshot(catalog: &Catalog) -> String {
    let mut out = String::new();
    for c in &catalog.checks {
        for (name, spec) in &c.codes {
            out.push_str(&format!("{} {} {}\n", c.id, name, spec.severity.as_str()));
        }
    }
    out
}

pub fn severities() -> [Severity; 5] {
    [
        Severity::Pass,
        Severity::Warn,
        Severity::Fail,
        Severity::Skip,
        Severity::Error,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn check_file(name: &str, want: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(name);
        if std::env::var("UPDATE_DOCS").is_ok_and(|v| v == "1") {
            std::fs::write(&path, want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/{name} is out of date with checks/*.toml: run `UPDATE_DOCS=1 cargo test docs` and commit it"
        );
    }

    #[test]
    fn docs_reference_is_current() {
        check_file("checks.md", &reference(&Catalog::embedded()));
    }

    #[test]
    fn docs_troubleshooting_is_current() {
        let cat = Catalog::embedded();
        check_file(
            "troubleshooting.md",
            &crate::symptom::troubleshooting(&crate::symptom::Symptoms::embedded(&cat)),
        );
    }

    #[test]
    fn docs_codes_snapshot_is_current() {
        check_file("codes.txt", &codes_snapshot(&Catalog::embedded()));
    }
}
