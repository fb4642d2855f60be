//! The check and error-code reference (docs/checks.md) and the code snapshot
//! (docs/codes.txt), generated from the catalog. A test fails when the checked-in files
//! differ; `UPDATE_DOCS=1 cargo test docs` rewrites them.

use crate::catalog::{Catalog, Severity};

pub fn reference(catalog: &Catalog) -> String {
    let mut out = String::from(
        "# Check and code reference\n\n<!-- generated from checks/*.toml by `UPDATE_DOCS=1 cargo test docs`; do not edit -->\n\n\
         Every row of a report is one check; every check ends with one code. A check whose \
         dependency did not pass (or warn) is `skip`, naming that dependency in `skipped_because`. \
         Placeholders in braces are filled from the check's facts and the run's context.\n\n| Check | Title | Depends on |\n|---|---|---|\n",
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
        out.push_str(&format!(
            "\n## {}\n\n**{}.** {}\n\n",
            c.id, c.title, c.description
        ));
        let dependents = catalog.dependents(&c.id);
        if !dependents.is_empty() {
            out.push_str(&format!(
                "When this check does not pass or warn, these are skipped: {}.\n\n",
                dependents
                    .iter()
                    .map(|d| format!("`{d}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(d) = &c.docs_url {
            out.push_str(&format!("AWS documentation: {d}\n\n"));
        }
        let mut codes: Vec<_> = c.codes.iter().collect();
        codes.sort_by_key(|(name, spec)| (spec.severity, name.to_string()));
        for (name, spec) in codes {
            out.push_str(&format!(
                "### `{}` / `{name}` — {}\n\n",
                c.id,
                spec.severity.as_str()
            ));
            out.push_str(&format!("Meaning: {}\n\n", spec.message));
            if let Some(r) = &spec.remediation {
                out.push_str(&format!("How to fix: {r}\n\n"));
            }
            if !spec.commands.is_empty() {
                out.push_str("```sh\n");
                for cmd in &spec.commands {
                    out.push_str(&cmd.replace("{{", "{").replace("}}", "}"));
                    out.push('\n');
                }
                out.push_str("```\n\n");
            }
            if let Some(d) = &spec.docs_url {
                out.push_str(&format!("See: {d}\n\n"));
            }
        }
    }
    out
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
    fn docs_codes_snapshot_is_current() {
        check_file("codes.txt", &codes_snapshot(&Catalog::embedded()));
    }

    #[test]
    fn every_catalog_id_has_an_implementation_and_back() {
        let cat = Catalog::embedded();
        let impls = crate::checks::implementations();
        for id in cat.ids() {
            assert!(
                impls.contains_key(id),
                "catalog id {id} has no implementation"
            );
        }
        for id in impls.keys() {
            assert!(
                cat.get(id).is_some(),
                "implementation {id} has no catalog entry"
            );
        }
    }

    #[test]
    fn every_code_a_check_returns_is_in_the_catalog() {
        // every Outcome::new("...") literal in a check module must be a code of one of that
        // module's checks
        let cat = Catalog::embedded();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/checks");
        let families: &[(&str, &[&str])] = &[
            ("credentials.rs", &["credentials.source"]),
            ("identity.rs", &["identity.caller", "identity.clock-skew"]),
            ("token.rs", &["token.get"]),
            ("proxy.rs", &["env.proxy"]),
            (
                "dataplane.rs",
                &[
                    "dns.ecr-api",
                    "dns.ecr-dkr",
                    "dns.s3",
                    "net.ecr-api",
                    "net.ecr-dkr",
                    "net.s3",
                    "registry.auth",
                    "image.manifest",
                    "image.layer-download",
                ],
            ),
            (
                "vpc.rs",
                &[
                    "vpc.lookup",
                    "vpc.dns-attributes",
                    "vpc.endpoint.ecr-api",
                    "vpc.endpoint.ecr-dkr",
                    "vpc.endpoint.s3",
                ],
            ),
        ];
        for (file, ids) in families {
            let src = std::fs::read_to_string(dir.join(file)).unwrap();
            let src = src.split("#[cfg(test)]").next().unwrap();
            let mut found = 0;
            for pat in [
                "Outcome::new(\"",
                "code: \"",
                "=> \"",
                "Some(base(\"",
                "api_failure(\"",
            ] {
                for part in src.split(pat).skip(1) {
                    let code = part.split('"').next().unwrap();
                    if code.is_empty()
                        || !code
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())
                    {
                        continue;
                    }
                    if !code.contains('-') && !["ok", "bypassed", "expired"].contains(&code) {
                        continue;
                    }
                    found += 1;
                    assert!(
                        ids.iter()
                            .any(|id| cat.get(id).unwrap().codes.contains_key(code)),
                        "{file} returns code {code:?}, which none of {ids:?} defines"
                    );
                }
            }
            assert!(found > 0, "no codes found in {file}");
        }
    }
}
