//! Ownership scopes: what an environment's spec owns on a shared cluster
//! (`owns:`). Topics outside it are another team's (foreign): listed, never
//! deleted or changed, whatever the flags. Pure.
//!
//! An entry is a topic name or a prefix ending in `*`, as in `produces:`.
//! With only those two forms, whether two scopes overlap is decidable
//! exactly: two prefixes overlap when one starts with the other, a name and
//! a prefix when the name starts with it, two names when they are equal.

use serde::{Deserialize, Serialize};

/// The topics an environment owns; empty owns every topic (no `owns:`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    entries: Vec<String>,
}

impl Ownership {
    /// The scope of `owns:` entries (already validated).
    pub fn new(entries: &[String]) -> Ownership {
        Ownership { entries: entries.to_vec() }
    }

    /// True when the environment declares no scope, and so owns everything.
    pub fn is_everything(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, as written.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Whether `topic` is inside the scope.
    pub fn contains(&self, topic: &str) -> bool {
        self.is_everything() || self.entries.iter().any(|e| entry_matches(e, topic))
    }

    /// A pair of entries (this scope's, the other's) that some topic name
    /// matches both of, if any; a scope that owns everything overlaps
    /// every other (`*` stands for it).
    pub fn overlap(&self, other: &Ownership) -> Option<(String, String)> {
        let everything = ["*".to_owned()];
        let mine = if self.is_everything() { &everything[..] } else { &self.entries[..] };
        let theirs = if other.is_everything() { &everything[..] } else { &other.entries[..] };
        mine.iter()
            .flat_map(|a| theirs.iter().map(move |b| (a, b)))
            .find(|(a, b)| entries_overlap(a, b))
            .map(|(a, b)| (a.clone(), b.clone()))
    }

    /// `owns: [orders.*, billing.invoices]`, for messages.
    pub fn describe(&self) -> String {
        format!("owns: [{}]", self.entries.join(", "))
    }
}

fn entry_matches(entry: &str, topic: &str) -> bool {
    match entry.strip_suffix('*') {
        Some(prefix) => topic.starts_with(prefix),
        None => entry == topic,
    }
}

fn entries_overlap(a: &str, b: &str) -> bool {
    match (a.strip_suffix('*'), b.strip_suffix('*')) {
        (Some(p), Some(q)) => p.starts_with(q) || q.starts_with(p),
        (Some(_), None) => entry_matches(a, b),
        (None, Some(_)) => entry_matches(b, a),
        (None, None) => a == b,
    }
}

/// Why `entry` is not an `owns:` entry, if it is not: a `*` anywhere but at
/// the end, or nothing before it is left to Kafka's topic rules.
pub fn invalid_entry(entry: &str) -> Option<String> {
    let body = entry.strip_suffix('*').unwrap_or(entry);
    if body.contains('*') {
        return Some(format!("`{entry}`: `*` may only end an entry (a prefix), as in `orders.*`"));
    }
    if let Some(c) = body.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Some(format!("`{entry}`: `{c}` cannot be part of a topic name (letters, digits, `.`, `_`, `-`)"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(entries: &[&str]) -> Ownership {
        Ownership::new(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn names_and_prefixes_decide_what_is_owned() {
        let s = scope(&["orders.*", "billing.invoices"]);
        assert!(s.contains("orders.placed") && s.contains("billing.invoices"));
        assert!(!s.contains("billing.invoices.v2") && !s.contains("payments.done") && !s.contains("order"));
        assert!(scope(&[]).contains("anything"));
    }

    #[test]
    fn overlaps_are_found_exactly() {
        assert_eq!(
            scope(&["orders.*"]).overlap(&scope(&["orders.eu.*"])),
            Some(("orders.*".into(), "orders.eu.*".into()))
        );
        assert_eq!(
            scope(&["orders.placed"]).overlap(&scope(&["orders.*"])),
            Some(("orders.placed".into(), "orders.*".into()))
        );
        assert_eq!(scope(&["orders.*"]).overlap(&scope(&["payments.*", "order"])), None);
        assert_eq!(scope(&["a"]).overlap(&scope(&["a"])), Some(("a".into(), "a".into())));
        assert_eq!(scope(&[]).overlap(&scope(&["x.*"])), Some(("*".into(), "x.*".into())));
    }

    #[test]
    fn a_star_inside_an_entry_is_refused() {
        assert!(
            invalid_entry("orders.*").is_none() && invalid_entry("orders").is_none() && invalid_entry("*").is_none()
        );
        assert!(invalid_entry("*.audit").unwrap().contains("may only end an entry"));
        assert!(invalid_entry("orders/x").unwrap().contains("`/` cannot be part of a topic name"));
    }
}
