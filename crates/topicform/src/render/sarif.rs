//! `validate -o sarif`: the findings as SARIF 2.1.0 (OASIS), the format
//! GitHub code scanning reads to annotate a pull request at the lines a
//! rule points at. Policy violations carry their rule id; every other
//! validation finding is rule `spec`. A waived violation stays on record as
//! a `note` with an in-source suppression whose justification is the
//! waiver's reason: viewers that read suppressions show it as suppressed,
//! and GitHub code scanning (which does not read them on upload,
//! github/codeql-action#1230) shows a note, not an error that fails the
//! check.
//! `tests/policy.rs` validates the output against the published schema.

use std::sync::Arc;

use serde_json::{json, Value};
use topicform_core::policy::RuleId;
use topicform_core::spec::{Located, Severity};

/// The id of findings that are not a policy rule's (syntax, types, limits).
const SPEC_RULE: &str = "spec";

/// The SARIF log of `found`, the findings of validating the spec named
/// `name` (as the user gave it: a path relative to the repository root is
/// what code scanning can place) whose text is `source`.
pub fn validation_sarif(name: &str, source: &Arc<String>, found: &[Located]) -> String {
    let rules: Vec<Value> = std::iter::once(rule_descriptor(
        SPEC_RULE,
        "The spec is valid: YAML, keys, types, names, values, secrets and the cluster's limits.",
    ))
    .chain(RuleId::ALL.iter().map(|r| rule_descriptor(r.as_str(), r.summary())))
    .collect();
    let results: Vec<Value> = found.iter().map(|l| result(name, source, l)).collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "topicform",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://topicform.dev",
                "rules": rules,
            }},
            // marked-yaml counts columns in characters.
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&log).expect("SARIF serialises");
    s.push('\n');
    s
}

fn rule_descriptor(id: &str, summary: &str) -> Value {
    let help = match id {
        SPEC_RULE => "Fix the spec where the result points; `topicform validate` says how.".to_owned(),
        _ => format!(
            "{summary} Configured under `policy.{id}` (or a --policy file); a topic may waive it with `waivers: [{{ rule: {id}, reason: ... }}]`."
        ),
    };
    json!({
        "id": id,
        "name": id,
        "shortDescription": { "text": summary },
        "help": { "text": help },
        "defaultConfiguration": { "level": "error" },
    })
}

/// Index of `id` in the driver's rules (the spec rule first, then
/// [`RuleId::ALL`]).
fn rule_index(rule: Option<RuleId>) -> usize {
    rule.map_or(0, |r| 1 + RuleId::ALL.iter().position(|x| *x == r).expect("ALL lists every rule"))
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn result(spec_name: &str, spec_source: &Arc<String>, located: &Located) -> Value {
    let finding = &located.finding;
    let (name, source) = match &located.elsewhere {
        Some(document) => (document.name.as_str(), &document.text),
        None => (spec_name, spec_source),
    };
    let text = match &finding.help {
        Some(help) => format!("{}\nhelp: {help}", finding.message),
        None => finding.message.clone(),
    };
    let level = match finding.waived {
        Some(_) => "note",
        None => level(finding.severity),
    };
    let mut result = json!({
        "ruleId": finding.rule.map_or(SPEC_RULE, RuleId::as_str),
        "ruleIndex": rule_index(finding.rule),
        "level": level,
        "message": { "text": text },
        "locations": [{ "physicalLocation": physical_location(name, source, located) }],
    });
    if let Some(waived) = &finding.waived {
        result["suppressions"] = json!([{
            "kind": "inSource",
            "status": "accepted",
            "justification": waived.reason,
        }]);
    }
    result
}

fn physical_location(name: &str, source: &str, located: &Located) -> Value {
    let mut location = json!({ "artifactLocation": { "uri": file_uri(name) } });
    if let Some((line, column)) = located.line_col {
        let mut region = json!({ "startLine": line, "startColumn": column });
        // The span's characters, when it stays on its line.
        if let Some(text) = located.span.and_then(|(offset, len)| source.get(offset..offset + len)) {
            if !text.contains('\n') {
                region["endColumn"] = json!(column + text.chars().count());
            }
        }
        location["region"] = region;
    }
    location
}

/// A path as a URI reference: relative paths stay relative (code scanning
/// resolves them from the repository root), absolute ones become `file://`
/// URIs; characters outside RFC 3986's unreserved set and `/` are
/// percent-encoded.
fn file_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let encoded: String = path
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let encoded = encoded.strip_prefix("./").map(str::to_owned).unwrap_or(encoded);
    if path.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

#[cfg(test)]
mod tests {
    use super::file_uri;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(file_uri("deploy/topicform.yaml"), "deploy/topicform.yaml");
        assert_eq!(file_uri("./topicform.yaml"), "topicform.yaml");
        assert_eq!(file_uri("specs/team a/t.yaml"), "specs/team%20a/t.yaml");
        assert_eq!(file_uri("/work/repo/t.yaml"), "file:///work/repo/t.yaml");
        assert_eq!(file_uri("specs\\t.yaml"), "specs/t.yaml");
    }
}
