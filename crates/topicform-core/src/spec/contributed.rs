//! Topics contributed from outside the spec file: each service's release
//! carries a ConfigMap whose `topics.yaml` declares the topics it owns
//! (`from: kubernetes` in the spec). Here they are parsed with locations
//! and merged with the spec's own topics; the caller fetches them.
//!
//! Who wins (Strimzi's rule for two KafkaTopics of one topic): the spec
//! file first, then contributions oldest first (creation time, then
//! name). The first declaration that sets anything (partitions,
//! replication, config) defines the topic; a later one that sets the same
//! or nothing (a consumer naming the topic it reads) merges its consumers;
//! a later one that sets something else is a [`Conflict`]: refused, both
//! owners named, and the topic stays as its first owner declared it.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::load::{parse_document, Document, ParseFailure};
use super::model::{Contribution, Spec, Topic};
use super::values;

/// One ConfigMap's topics, parsed, with its owner and age.
#[derive(Debug, Clone)]
pub struct Contributed {
    /// Who declared them: `ConfigMap NAMESPACE/NAME`.
    pub owner: String,
    /// When the owner was created (RFC 3339, UTC, as the API server writes
    /// `creationTimestamp`): the older owner wins a conflict.
    pub created: String,
    /// The declared topics.
    pub contribution: Contribution,
    pub(crate) document: Document,
}

impl Contributed {
    /// The document's text as read (literal secrets masked).
    pub fn text(&self) -> &str {
        &self.document.text.text
    }
}

/// Parses one ConfigMap's `topics.yaml`. `document` names it in findings
/// (`configmap/NAMESPACE/NAME/topics.yaml:LINE:COL`).
pub fn parse_contribution(
    owner: &str,
    created: &str,
    document: &str,
    text: &str,
) -> Result<Contributed, Box<ParseFailure>> {
    let (contribution, document) = parse_document::<Contribution>(document, text)?;
    Ok(Contributed { owner: owner.to_owned(), created: created.to_owned(), contribution, document })
}

/// The consumer groups each topic's contributions name (`consumers:`),
/// topic -> groups in declaration order, each once: what `lag` measures
/// besides the spec's own consumers.
pub fn contributed_consumers(contributions: &[Contributed]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in contributions {
        for (topic, declared) in &c.contribution.topics {
            let groups = out.entry(topic.clone()).or_default();
            for group in &declared.consumers {
                if !groups.contains(group) {
                    groups.push(group.clone());
                }
            }
        }
    }
    out
}

/// A declaration refused because an older owner declared the topic
/// differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    /// The topic.
    pub topic: String,
    /// The owner whose declaration stands (the spec file, or the older
    /// ConfigMap).
    pub kept: String,
    /// The owner whose declaration is refused.
    pub refused: String,
    /// Each setting they disagree on: `partitions: 6 (kept) vs 12`.
    pub differences: Vec<String>,
}

impl Conflict {
    /// One line for logs, Events and errors.
    pub fn describe(&self) -> String {
        format!(
            "{} declares `{}` differently from {} ({}); {}'s declaration is refused, {}'s stands",
            self.refused,
            self.topic,
            self.kept,
            self.differences.join(", "),
            self.refused,
            self.kept
        )
    }
}

/// The owner name of the spec file's own topics.
pub const SPEC_OWNER: &str = "the spec";

/// The spec's topics and the contributed ones, merged.
#[derive(Debug, Clone)]
pub(crate) struct Merged {
    /// The spec with each contributed topic added as its first owner
    /// declared it (its own consumers only, so findings point into the
    /// document that wrote them).
    pub spec: Spec,
    /// Contributed topic -> index of the contribution that defines it.
    pub defined_by: HashMap<String, usize>,
    /// Contributed topic -> its owner.
    pub owners: BTreeMap<String, String>,
    /// Consumers that compatible later declarations add.
    pub more_consumers: HashMap<String, Vec<String>>,
    /// Refused declarations.
    pub conflicts: Vec<Conflict>,
}

/// Merges `contributions` into `spec`'s topics; see the module docs.
pub(crate) fn merge(spec: &Spec, contributions: &[Contributed]) -> Merged {
    let mut merged = Merged {
        spec: spec.clone(),
        defined_by: HashMap::new(),
        owners: BTreeMap::new(),
        more_consumers: HashMap::new(),
        conflicts: Vec::new(),
    };
    let mut order: Vec<usize> = (0..contributions.len()).collect();
    order.sort_by(|a, b| {
        let (a, b) = (&contributions[*a], &contributions[*b]);
        (&a.created, &a.owner).cmp(&(&b.created, &b.owner))
    });
    for i in order {
        let contributed = &contributions[i];
        for (name, declared) in &contributed.contribution.topics {
            merged.add(name, declared, i, contributed);
        }
    }
    merged
}

impl Merged {
    fn add(&mut self, name: &str, declared: &Topic, index: usize, contributed: &Contributed) {
        let Some(existing) = self.spec.topics.get_mut(name) else {
            self.spec.topics.insert(name.to_owned(), declared.clone());
            self.defined_by.insert(name.to_owned(), index);
            self.owners.insert(name.to_owned(), contributed.owner.clone());
            return;
        };
        let kept = self.owners.get(name).cloned().unwrap_or_else(|| SPEC_OWNER.to_owned());
        if sets_nothing(declared) || same_settings(existing, declared) {
            let consumers = self.more_consumers.entry(name.to_owned()).or_default();
            consumers.extend(declared.consumers.iter().cloned());
            return;
        }
        if sets_nothing(existing) && self.owners.contains_key(name) {
            // The first owner only named the topic; this one defines it.
            // (A topic the spec file names stays the spec's.)
            let mut consumers = std::mem::take(&mut existing.consumers);
            consumers.extend(self.more_consumers.remove(name).unwrap_or_default());
            *existing = declared.clone();
            self.more_consumers.insert(name.to_owned(), consumers);
            self.defined_by.insert(name.to_owned(), index);
            self.owners.insert(name.to_owned(), contributed.owner.clone());
            return;
        }
        self.conflicts.push(Conflict {
            topic: name.to_owned(),
            kept,
            refused: contributed.owner.clone(),
            differences: differences(existing, declared),
        });
    }
}

fn sets_nothing(t: &Topic) -> bool {
    t.settings().is_empty()
}

fn same_settings(a: &Topic, b: &Topic) -> bool {
    differences(a, b).is_empty()
}

/// What `kept` and `refused` set differently, one `setting: kept vs refused`
/// each; config values compare as the broker would (`7d` = `604800000`).
fn differences(kept: &Topic, refused: &Topic) -> Vec<String> {
    let show = |v: Option<String>| v.unwrap_or_else(|| "unset".into());
    let mut out = Vec::new();
    if kept.partitions != refused.partitions {
        out.push(format!(
            "partitions: {} vs {}",
            show(kept.partitions.map(|p| p.to_string())),
            show(refused.partitions.map(|p| p.to_string()))
        ));
    }
    if kept.replication_factor != refused.replication_factor {
        out.push(format!(
            "replicationFactor: {} vs {}",
            show(kept.replication_factor.map(|r| r.to_string())),
            show(refused.replication_factor.map(|r| r.to_string()))
        ));
    }
    let keys: std::collections::BTreeSet<&String> = kept.config.keys().chain(refused.config.keys()).collect();
    for key in keys {
        let (a, b) = (kept.config.get(key).map(|v| v.0.clone()), refused.config.get(key).map(|v| v.0.clone()));
        let same = match (&a, &b) {
            (Some(a), Some(b)) => a == b || values::equivalent(key, a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            out.push(format!("config.{key}: {} vs {}", show(a), show(b)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contributed(owner: &str, created: &str, text: &str) -> Contributed {
        parse_contribution(owner, created, &format!("configmap/{owner}/topics.yaml"), text).unwrap()
    }

    fn spec(text: &str) -> Spec {
        super::super::parse("topicform.yaml", text).unwrap().spec
    }

    #[test]
    fn the_oldest_owner_wins_and_the_newer_is_refused_naming_both() {
        let base = spec("version: 1\ntopics:\n  audit.log: { partitions: 3 }\n");
        let newer = contributed("ConfigMap b/late", "2026-12-02T10:00:00Z", "topics:\n  orders: { partitions: 12 }\n");
        let older = contributed(
            "ConfigMap a/early",
            "2026-12-01T10:00:00Z",
            "topics:\n  orders: { partitions: 6, config: { retention.ms: 7d } }\n",
        );
        let merged = merge(&base, &[newer, older]);
        assert_eq!(merged.spec.topics["orders"].partitions, Some(6));
        assert_eq!(merged.owners["orders"], "ConfigMap a/early");
        assert_eq!(merged.defined_by["orders"], 1);
        assert_eq!(
            merged.conflicts,
            vec![Conflict {
                topic: "orders".into(),
                kept: "ConfigMap a/early".into(),
                refused: "ConfigMap b/late".into(),
                differences: vec!["partitions: 6 vs 12".into(), "config.retention.ms: 7d vs unset".into()],
            }]
        );
        assert!(merged.conflicts[0].describe().starts_with("ConfigMap b/late declares `orders` differently"));
    }

    #[test]
    fn the_spec_file_outranks_every_configmap() {
        let base = spec("version: 1\ntopics:\n  orders: { partitions: 3 }\n");
        let c = contributed("ConfigMap a/x", "2020-01-01T00:00:00Z", "topics:\n  orders: { partitions: 6 }\n");
        let merged = merge(&base, &[c]);
        assert_eq!(merged.spec.topics["orders"].partitions, Some(3));
        assert!(!merged.owners.contains_key("orders"));
        assert_eq!(merged.conflicts[0].kept, SPEC_OWNER);
    }

    #[test]
    fn equal_settings_and_consumer_only_declarations_merge_their_consumers() {
        let base = spec("version: 1\n");
        let a = contributed(
            "ConfigMap a/producer",
            "2026-01-01T00:00:00Z",
            "topics:\n  orders: { partitions: 6, config: { retention.ms: 7d }, consumers: [a] }\n",
        );
        let b = contributed(
            "ConfigMap b/same",
            "2026-01-02T00:00:00Z",
            "topics:\n  orders: { partitions: 6, config: { retention.ms: 604800000 }, consumers: [b] }\n",
        );
        let c = contributed("ConfigMap c/reader", "2026-01-03T00:00:00Z", "topics:\n  orders: { consumers: [c] }\n");
        let merged = merge(&base, &[c, b, a]);
        assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
        assert_eq!(merged.owners["orders"], "ConfigMap a/producer");
        assert_eq!(merged.spec.topics["orders"].consumers, ["a"]);
        assert_eq!(merged.more_consumers["orders"], ["b", "c"]);
    }

    #[test]
    fn a_reader_declared_first_does_not_own_what_a_producer_defines() {
        let base = spec("version: 1\n");
        let reader =
            contributed("ConfigMap r/reader", "2026-01-01T00:00:00Z", "topics:\n  orders: { consumers: [r] }\n");
        let producer =
            contributed("ConfigMap p/producer", "2026-01-02T00:00:00Z", "topics:\n  orders: { partitions: 6 }\n");
        let merged = merge(&base, &[reader, producer]);
        assert!(merged.conflicts.is_empty());
        assert_eq!(merged.owners["orders"], "ConfigMap p/producer");
        assert_eq!(merged.spec.topics["orders"].partitions, Some(6));
        assert_eq!(merged.more_consumers["orders"], ["r"]);
    }

    #[test]
    fn a_contribution_is_parsed_with_locations() {
        let failure = parse_contribution(
            "ConfigMap a/x",
            "2026-01-01T00:00:00Z",
            "configmap/a/x/topics.yaml",
            "topics:\n  orders:\n    partitons: 6\n",
        )
        .unwrap_err();
        assert_eq!(failure.name, "configmap/a/x/topics.yaml");
        assert_eq!(failure.problem.line_col, Some((3, 5)));
        assert!(failure.problem.finding.message.contains("unknown key `partitons`"));
    }
}
