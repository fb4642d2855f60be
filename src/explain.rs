//! `--explain CHECK[/CODE]`: the reference of one check, one of its codes, or an engine
//! code, from the same catalog and generator as docs/checks.md.

use crate::catalog::Catalog;
use crate::docs;

/// The reference page for `query`, or a one-line usage error.
pub fn explain(catalog: &Catalog, query: &str) -> Result<String, String> {
    let query = query.trim();
    let (id, code) = match query.split_once('/') {
        Some((id, code)) => (id, Some(code)),
        None => (query, None),
    };
    if let Some(c) = catalog.checks.iter().find(|c| c.id == id) {
        if let Some(code) = code {
            if !c.codes.contains_key(code) {
                if catalog.engine.contains_key(code) {
                    return Ok(docs::engine_section(catalog, Some(code)));
                }
                let codes: Vec<&str> = c.codes.keys().map(String::as_str).collect();
                return Err(format!(
                    "check {id} has no code '{}' (its codes: {})",
                    crate::validate::shown(code),
                    codes.join(", ")
                ));
            }
        }
        return Ok(docs::check_section(catalog, c, code));
    }
    // an engine code ends any check: `--explain timed-out` (or `token.get/timed-out`)
    if code.is_none() && catalog.engine.contains_key(id) {
        return Ok(docs::engine_section(catalog, Some(id)));
    }
    Err(format!(
        "'{}' is neither a check nor an engine code; --list-checks lists the checks",
        crate::validate::shown(query)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_a_code_and_an_engine_code() {
        let cat = Catalog::embedded();
        let page = explain(&cat, "token.get").unwrap();
        assert!(page.starts_with("## token.get\n"), "{page}");
        assert!(page.contains("`token.get` / `expired` — fail"));
        assert!(page.contains("`token.get` / `ok` — pass"));
        // what it skips, the fix and the commands, as in docs/checks.md
        assert!(page.contains("registry.auth"), "{page}");
        let one = explain(&cat, "token.get/expired").unwrap();
        assert!(one.contains("`token.get` / `expired`"));
        assert!(!one.contains("`token.get` / `ok`"));
        assert!(one.contains("```sh\n"), "{one}");
        // every section of docs/checks.md is what --explain prints
        let reference = docs::reference(&cat);
        for c in &cat.checks {
            assert!(
                reference.contains(&explain(&cat, &c.id).unwrap()),
                "{}",
                c.id
            );
        }
        let e = explain(&cat, "timed-out").unwrap();
        assert!(e.contains("`timed-out` — error"), "{e}");
        assert!(!e.contains("`crashed`"));
        assert_eq!(explain(&cat, "token.get/timed-out").unwrap(), e);
    }

    #[test]
    fn unknown_names_say_what_exists() {
        let cat = Catalog::embedded();
        let e = explain(&cat, "token.gett").unwrap_err();
        assert!(e.contains("--list-checks lists the checks"), "{e}");
        let e = explain(&cat, "token.get/nope").unwrap_err();
        assert!(e.starts_with("check token.get has no code 'nope'"), "{e}");
        assert!(e.contains("expired"), "{e}");
        assert!(!explain(&cat, "nope/timed-out").unwrap_err().is_empty());
        assert!(!explain(&cat, "a\nb").unwrap_err().contains('\n'));
    }
}
