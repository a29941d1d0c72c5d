//! `${VAR}` and `${VAR:-default}` expansion in non-secret strings.
//! `$${` writes a literal `${`. The variable lookup is passed in, so this
//! stays pure and testable.

/// Expands every `${...}` in `text`. Returns the names of unset variables
/// (without a default) as the error, all of them at once.
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Vec<String>> {
    let mut out = String::with_capacity(text.len());
    let mut unset = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(stripped) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = stripped;
            continue;
        }
        let Some(body_and_rest) = after.strip_prefix("${") else {
            out.push('$');
            rest = &after[1..];
            continue;
        };
        let Some(end) = body_and_rest.find('}') else {
            out.push_str(after);
            rest = "";
            break;
        };
        let body = &body_and_rest[..end];
        let (name, default) = match body.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (body, None),
        };
        match (lookup(name).filter(|v| !v.is_empty()), default) {
            (Some(value), _) => out.push_str(&value),
            (None, Some(d)) => out.push_str(d),
            (None, None) => unset.push(name.to_owned()),
        }
        rest = &body_and_rest[end + 1..];
    }
    out.push_str(rest);
    if unset.is_empty() {
        Ok(out)
    } else {
        Err(unset)
    }
}

/// Names of the variables `text` refers to without a default.
pub fn required_vars(text: &str) -> Vec<String> {
    match expand(text, &|_| None) {
        Ok(_) => Vec::new(),
        Err(names) => names,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SUB" => Some("1234".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_set_variables_and_defaults() {
        assert_eq!(expand("sub-${SUB}", &env), Ok("sub-1234".into()));
        assert_eq!(expand("${NOPE:-fallback}", &env), Ok("fallback".into()));
        assert_eq!(expand("${EMPTY:-fallback}", &env), Ok("fallback".into()));
        assert_eq!(expand("cost $5 and $${literal}", &env), Ok("cost $5 and ${literal}".into()));
    }

    #[test]
    fn reports_every_unset_variable() {
        assert_eq!(expand("${A}-${SUB}-${B}", &env), Err(vec!["A".into(), "B".into()]));
        assert_eq!(required_vars("${A}/${B:-x}"), vec!["A".to_string()]);
    }
}
