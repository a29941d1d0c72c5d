//! The plan engine: desired topics + observed cluster → a list of actions.
//! Pure: no I/O, no async, no broker types. Everything a backend needs to
//! apply a change is in the plan, and everything a person needs to approve
//! it (current and new values, reasons for refusals) is too.

mod access;
mod state;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use access::{plan_access, AccessPlan, AccessSummary, GrantPlan, Unmanaged, UnmanagedGrant};
pub use state::{Capabilities, ClusterState, ObservedConfig, ObservedTopic};

use crate::spec::{is_internal_topic, values, Conflict, DesiredTopic, Located, ResolvedEnvironment};

/// Version of the JSON plan format. Bumped only on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// Flags that widen what a plan may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanOptions {
    /// Delete unmanaged topics (needs `prune: true` on the environment too).
    pub allow_delete: bool,
    /// Remove config keys set on a topic but absent from the spec.
    pub prune_config: bool,
}

/// A warning about the spec a plan was made from, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecWarning {
    /// `file:line:col` (just the file when the place is not in it).
    pub at: String,
    /// The policy rule, for a policy violation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The waiver's reason, when a waiver covers the violation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived: Option<String>,
}

impl SpecWarning {
    /// The warning of `located`, a finding in the spec named `spec_name`
    /// (or in the document it names itself).
    pub fn new(spec_name: &str, located: &Located) -> Self {
        let finding = &located.finding;
        SpecWarning {
            at: located.location(spec_name),
            rule: finding.rule.map(|r| r.as_str().to_owned()),
            message: finding.message.clone(),
            waived: finding.waived.as_ref().map(|w| w.reason.clone()),
        }
    }
}

/// What happens to one topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The topic is created.
    Create,
    /// Partitions are added and/or configs changed.
    Update,
    /// The topic is deleted.
    Delete,
    /// Nothing to do.
    Unchanged,
    /// The spec asks for something topicform will not do; see `reasons`.
    Refused,
}

/// One change to one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Change {
    /// Create the topic.
    #[serde(rename_all = "camelCase")]
    CreateTopic {
        partitions: u32,
        /// Replication factor (absent where service-managed).
        #[serde(skip_serializing_if = "Option::is_none")]
        replication_factor: Option<u16>,
        /// Configs to set at creation.
        config: BTreeMap<String, String>,
    },
    /// Grow the partition count.
    AddPartitions {
        /// Current count.
        from: u32,
        /// New count.
        to: u32,
    },
    /// Set a config key.
    SetConfig {
        key: String,
        /// Current effective value, if the broker reported one.
        #[serde(skip_serializing_if = "Option::is_none")]
        current: Option<String>,
        /// New value.
        desired: String,
    },
    /// Remove a topic-level config override (back to the broker default).
    DeleteConfig {
        key: String,
        /// Current override.
        current: String,
    },
    /// Delete the topic and its data.
    DeleteTopic,
}

/// A config override on the cluster that the spec does not mention and that
/// this plan leaves alone (no `--prune-config`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    pub key: String,
    /// Value on the cluster.
    pub value: String,
}

/// The plan for one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicPlan {
    /// Topic name.
    pub topic: String,
    /// Who contributed it (`ConfigMap NAMESPACE/NAME`); absent for the spec
    /// file's own topics and for deletions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What happens.
    pub action: Action,
    /// The changes, in the order they are applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// Why the topic is refused, one sentence each with the way out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Warnings about changes that are allowed but have consequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Unmanaged config overrides left in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<Drift>,
}

/// Counts by action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Topics to create.
    pub create: usize,
    /// Topics to update.
    pub update: usize,
    /// Topics to delete.
    pub delete: usize,
    /// Topics in sync.
    pub unchanged: usize,
    /// Topics refused.
    pub refused: usize,
    /// Topics on the cluster that the spec does not manage (left alone).
    pub unmanaged: usize,
    /// Contributed declarations refused (ResourceConflict).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub conflicts: usize,
    /// Topics on the cluster outside what the environment owns (`owns:`):
    /// another team's, never changed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub foreign: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A whole plan: what `plan` prints and `apply` executes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Always [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Environment name.
    pub environment: String,
    /// `kafka` or `eventhubs`.
    pub cluster_type: String,
    /// Cluster id the plan was made against.
    pub cluster_id: Option<String>,
    /// Fingerprint of the observed state of the plan's topics
    /// ([`ClusterState::fingerprint`]).
    pub state_fingerprint: String,
    /// Flags the plan was made with.
    pub options: PlanOptions,
    /// Counts by action.
    pub summary: Summary,
    /// Per-topic plans: spec order, then deletions.
    pub topics: Vec<TopicPlan>,
    /// Unmanaged topics left alone (not internal ones).
    pub unmanaged: Vec<String>,
    /// Topics outside what the environment owns: another team's, listed
    /// and never changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<String>,
    /// The environment's `owns:` entries (empty: it owns every topic); apply
    /// refuses a plan that would change a topic outside them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owns: Vec<String>,
    /// Topics on the cluster whose contributing owner no longer declares
    /// them (the release was uninstalled): topic -> that owner. Left alone
    /// like unmanaged ones, deleted only under the same opt-ins.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub orphaned: BTreeMap<String, String>,
    /// Contributed declarations refused because an older owner declared
    /// the topic differently.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// The ACLs of the environment's services (`services:` with a
    /// principal here); absent when none has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessPlan>,
    /// Plan-wide notes (e.g. how to delete unmanaged topics).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What validating the spec warned about (policy rules at severity
    /// warning, waived violations, unset variables): a pull request's plan
    /// comment shows them where the reviewer reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<SpecWarning>,
}

impl Plan {
    /// True when applying would change the cluster.
    pub fn has_changes(&self) -> bool {
        self.summary.create + self.summary.update + self.summary.delete > 0
            || self.access.as_ref().is_some_and(AccessPlan::has_changes)
    }

    /// True when any topic is refused (apply then changes nothing).
    pub fn has_refusals(&self) -> bool {
        self.summary.refused > 0
    }

    /// Which topics came from which owner, for the next run to tell an
    /// orphan from a topic nobody declared: every contributed topic, and
    /// every orphan still on the cluster.
    pub fn owners(&self) -> BTreeMap<String, String> {
        let contributed = self.topics.iter().filter_map(|t| Some((t.topic.clone(), t.owner.clone()?)));
        let orphans =
            self.orphaned.iter().filter(|(t, _)| self.unmanaged.contains(t)).map(|(t, o)| (t.clone(), o.clone()));
        contributed.chain(orphans).collect()
    }

    /// The fingerprint `observed` has for this plan's topics.
    pub fn fingerprint_of(&self, observed: &ClusterState) -> String {
        observed.fingerprint(self.topics.iter().map(|t| t.topic.as_str()))
    }

    /// Topic plans that change something.
    pub fn changing(&self) -> impl Iterator<Item = &TopicPlan> {
        self.topics.iter().filter(|t| matches!(t.action, Action::Create | Action::Update | Action::Delete))
    }

    /// Refuses the topics the cluster said it would refuse (a write sent
    /// with `validate_only`), each with the cluster's reason, so apply
    /// refuses the whole plan instead of applying part of it.
    pub fn refuse(&mut self, refusals: impl IntoIterator<Item = (String, String)>) {
        let mut refusals: BTreeMap<String, Vec<String>> =
            refusals.into_iter().fold(BTreeMap::new(), |mut by_topic, (topic, reason)| {
                by_topic.entry(topic).or_default().push(reason);
                by_topic
            });
        for t in &mut self.topics {
            if let Some(reasons) = refusals.remove(&t.topic) {
                t.action = Action::Refused;
                t.reasons.extend(reasons.into_iter().map(|r| format!("the cluster would refuse it: {r}")));
            }
        }
        self.summary = self.summary.recounted(&self.topics);
    }
}

impl Summary {
    /// This summary with the counts of `topics`' actions taken again; the
    /// counts of what is not a topic plan (unmanaged, foreign, conflicts)
    /// are kept.
    fn recounted(self, topics: &[TopicPlan]) -> Summary {
        let c = Summary::of(topics);
        Summary {
            create: c.create,
            update: c.update,
            delete: c.delete,
            unchanged: c.unchanged,
            refused: c.refused,
            ..self
        }
    }

    fn of(topics: &[TopicPlan]) -> Summary {
        let mut summary = Summary::default();
        for t in topics {
            match t.action {
                Action::Create => summary.create += 1,
                Action::Update => summary.update += 1,
                Action::Delete => summary.delete += 1,
                Action::Unchanged => summary.unchanged += 1,
                Action::Refused => summary.refused += 1,
            }
        }
        summary
    }
}

/// Computes the plan for `env` against `observed`.
pub fn plan(env: &ResolvedEnvironment, observed: &ClusterState, caps: &Capabilities, options: PlanOptions) -> Plan {
    let wanted: BTreeSet<&str> = env.topics.iter().map(|t| t.name.as_str()).collect();
    let metric_names = MetricNames::of(env, observed);
    let mut topics: Vec<TopicPlan> = env
        .topics
        .iter()
        .map(|d| match observed.topics.get(&d.name) {
            None => {
                let mut create = plan_create(d, observed, caps);
                if let Some(existing) = metric_names.collision(&d.name) {
                    create.action = Action::Refused;
                    create.reasons.push(format!(
                        "`{}` collides with `{existing}` on the cluster: Kafka maps `.` and `_` to the same metric name and refuses the create; rename the topic",
                        d.name
                    ));
                }
                create
            }
            Some(o) => plan_existing(d, o, caps, options),
        })
        .zip(&env.topics)
        .map(|(plan, d)| TopicPlan { owner: d.owner.clone(), ..plan })
        .collect();

    let mut unmanaged = Vec::new();
    let mut orphaned = BTreeMap::new();
    let mut notes = Vec::new();
    let mut foreign = Vec::new();
    for name in observed.topics.keys().filter(|n| !wanted.contains(n.as_str()) && !is_internal_topic(n)) {
        // Another team's, by the environment's own word: never a candidate
        // for deletion, whatever the flags.
        if !env.owns.contains(name) {
            foreign.push(name.clone());
            continue;
        }
        let former_owner = env.former_owners.get(name);
        if let Some(owner) = former_owner {
            orphaned.insert(name.clone(), owner.clone());
        }
        if env.prune && options.allow_delete {
            let mut warnings = vec!["deletes the topic and all its data".to_owned()];
            if let Some(owner) = former_owner {
                warnings.push(format!("orphaned: {owner}, which contributed it, no longer declares it"));
            }
            topics.push(TopicPlan {
                topic: name.clone(),
                owner: None,
                action: Action::Delete,
                changes: vec![Change::DeleteTopic],
                reasons: vec![],
                warnings,
                drift: vec![],
            });
        } else {
            unmanaged.push(name.clone());
        }
    }
    if !unmanaged.is_empty() {
        notes.push(if env.prune {
            format!("{} unmanaged topic(s) left alone; apply --allow-delete deletes them (environment `{}` has prune: true)", unmanaged.len(), env.name)
        } else {
            format!("{} unmanaged topic(s) left alone (set `prune: true` on the environment and pass --allow-delete to delete them)", unmanaged.len())
        });
    }
    if !foreign.is_empty() {
        notes.push(format!(
            "{} foreign topic(s) outside what environment `{}` owns ({}) are never changed",
            foreign.len(),
            env.name,
            env.owns.describe()
        ));
    }
    let acls_prunable = env.prune_acls && !env.services.is_empty();
    if options.allow_delete && !env.prune && !acls_prunable {
        notes.push(format!("--allow-delete has no effect: environment `{}` does not set `prune: true`", env.name));
    }

    let eventhubs = matches!(env.cluster, crate::spec::model::Cluster::Eventhubs(_));
    let access = (!env.services.is_empty()).then(|| {
        let desired =
            crate::access::desired_access(&env.services, &wanted.iter().copied().collect::<Vec<_>>(), eventhubs);
        plan_access(&desired, observed.grants.as_deref().unwrap_or_default(), env.prune_acls && options.allow_delete)
    });
    if let Some(access) = &access {
        notes.extend(access::notes(access, &env.name, env.prune_acls, crate::access::grant_kind(env.cluster.kind())));
    }

    let summary = Summary {
        unmanaged: unmanaged.len(),
        conflicts: env.conflicts.len(),
        foreign: foreign.len(),
        ..Summary::of(&topics)
    };
    let state_fingerprint = observed.fingerprint(topics.iter().map(|t| t.topic.as_str()));
    Plan {
        format_version: FORMAT_VERSION,
        environment: env.name.clone(),
        cluster_type: env.cluster.kind().to_owned(),
        cluster_id: observed.cluster_id.clone(),
        state_fingerprint,
        options,
        summary,
        topics,
        unmanaged,
        foreign,
        owns: env.owns.entries().to_vec(),
        orphaned,
        conflicts: env.conflicts.clone(),
        access,
        notes,
        warnings: Vec::new(),
    }
}

/// Kafka refuses a topic whose name equals an existing one once `.` is read
/// as `_` (their metrics would mix): `orders.v1` next to `orders_v1`.
struct MetricNames<'a> {
    /// Existing topics by metric name; empty where names do not collide
    /// (Event Hubs keeps `.` and `_` apart).
    existing: std::collections::HashMap<String, &'a str>,
}

impl<'a> MetricNames<'a> {
    fn of(env: &ResolvedEnvironment, observed: &'a ClusterState) -> MetricNames<'a> {
        let collide = matches!(env.cluster, crate::spec::model::Cluster::Kafka(_));
        let existing = observed
            .topics
            .keys()
            .filter(|_| collide)
            .filter(|name| name.contains(['.', '_']))
            .map(|name| (name.replace('.', "_"), name.as_str()))
            .collect();
        MetricNames { existing }
    }

    /// The existing topic `name` would collide with, if any.
    fn collision(&self, name: &str) -> Option<&'a str> {
        if !name.contains(['.', '_']) {
            return None;
        }
        self.existing.get(&name.replace('.', "_")).copied().filter(|existing| *existing != name)
    }
}

fn plan_create(d: &DesiredTopic, observed: &ClusterState, caps: &Capabilities) -> TopicPlan {
    let mut reasons = Vec::new();
    if let (Some(rf), false) = (d.replication_factor, caps.manages_replication) {
        if observed.broker_count > 0 && rf as usize > observed.broker_count {
            reasons.push(format!(
                "replication factor {rf} needs at least {rf} brokers, but the cluster has {}; lower `replicationFactor` for this environment",
                observed.broker_count
            ));
        }
    }
    let change = Change::CreateTopic {
        partitions: d.partitions,
        replication_factor: if caps.manages_replication { None } else { d.replication_factor },
        config: d.config.clone(),
    };
    TopicPlan {
        topic: d.name.clone(),
        owner: None,
        action: if reasons.is_empty() { Action::Create } else { Action::Refused },
        changes: vec![change],
        reasons,
        warnings: vec![],
        drift: vec![],
    }
}

fn plan_existing(d: &DesiredTopic, o: &ObservedTopic, caps: &Capabilities, options: PlanOptions) -> TopicPlan {
    let mut changes = Vec::new();
    let mut reasons = Vec::new();
    let mut warnings = Vec::new();
    let mut drift = Vec::new();

    if d.partitions < o.partitions {
        reasons.push(format!(
            "partitions cannot decrease ({} on the cluster, {} in the spec): Kafka cannot remove partitions without deleting the topic's data; set `partitions: {}` or move to a new topic",
            o.partitions, d.partitions, o.partitions
        ));
    } else if d.partitions > o.partitions {
        if caps.can_add_partitions {
            changes.push(Change::AddPartitions { from: o.partitions, to: d.partitions });
            warnings.push("adding partitions changes which partition a key maps to; per-key ordering is only kept for new messages".into());
        } else {
            reasons.push(format!(
                "partitions cannot be added to an existing topic on this tier ({} → {}); keep `partitions: {}`",
                o.partitions, d.partitions, o.partitions
            ));
        }
    }

    if !caps.manages_replication {
        if let (Some(want), Some(have)) = (d.replication_factor, o.replication_factor) {
            if want != have {
                reasons.push(format!(
                    "replication factor change ({have} → {want}) is not done by topicform: reassign the partitions with kafka-reassign-partitions.sh (Kafka docs, \"Increasing replication factor\"), then plan again"
                ));
            }
        }
    }

    for (key, want) in &d.config {
        let current = o.config.get(key);
        if current.is_some_and(|c| values::equivalent(key, &c.value, want)) {
            continue;
        }
        if caps.immutable_config_keys.iter().any(|k| k == key) {
            reasons.push(format!(
                "`{key}` cannot change after the topic is created ({} → {want}); keep the current value or move to a new topic",
                current.map(|c| c.value.as_str()).unwrap_or("unset")
            ));
            continue;
        }
        changes.push(Change::SetConfig {
            key: key.clone(),
            current: current.map(|c| c.value.clone()),
            desired: want.clone(),
        });
    }
    for (key, value) in o.overrides() {
        if d.config.contains_key(key) {
            continue;
        }
        if options.prune_config {
            // Removing an override is a change of the key like any other.
            if caps.immutable_config_keys.iter().any(|k| k == key) {
                reasons.push(format!(
                    "`{key}` cannot change after the topic is created, so its override ({value}) cannot be removed; add `{key}: {value}` to the spec or drop --prune-config"
                ));
                continue;
            }
            changes.push(Change::DeleteConfig { key: key.clone(), current: value.clone() });
        } else {
            drift.push(Drift { key: key.clone(), value: value.clone() });
        }
    }

    let action = if !reasons.is_empty() {
        Action::Refused
    } else if changes.is_empty() {
        Action::Unchanged
    } else {
        Action::Update
    };
    if action == Action::Unchanged {
        warnings.clear();
    }
    TopicPlan { topic: d.name.clone(), owner: None, action, changes, reasons, warnings, drift }
}

#[cfg(test)]
mod tests;
