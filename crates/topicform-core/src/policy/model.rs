//! The policy as written: one optional block per rule, each with its own
//! severity and scope. The block's key is the rule id that findings, SARIF
//! and waivers use, so there is one name for each rule everywhere.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::finding::{Finding, Pointer, Seg, Severity};
use crate::spec::ownership;
use crate::spec::values::parse_duration_ms;

/// The built-in rules, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RuleId {
    /// Topic names match a pattern.
    TopicName,
    /// Partition counts within bounds.
    Partitions,
    /// A minimum replication factor, written in the spec.
    ReplicationFactor,
    /// `min.insync.replicas` below the replication factor (and at least a
    /// minimum), so a broker can be lost without stopping `acks=all`
    /// producers.
    MinInsyncReplicas,
    /// Config keys every topic sets, none may set, or the only ones allowed.
    ConfigKeys,
    /// `retention.ms` within bounds.
    Retention,
    /// Every topic says what it carries.
    Description,
    /// Every topic names who reads it.
    Consumers,
}

impl RuleId {
    /// Every rule, in the order the docs and SARIF list them.
    pub const ALL: [RuleId; 8] = [
        RuleId::TopicName,
        RuleId::Partitions,
        RuleId::ReplicationFactor,
        RuleId::MinInsyncReplicas,
        RuleId::ConfigKeys,
        RuleId::Retention,
        RuleId::Description,
        RuleId::Consumers,
    ];

    /// The id as written in `policy:` and waivers.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::TopicName => "topicName",
            RuleId::Partitions => "partitions",
            RuleId::ReplicationFactor => "replicationFactor",
            RuleId::MinInsyncReplicas => "minInsyncReplicas",
            RuleId::ConfigKeys => "configKeys",
            RuleId::Retention => "retention",
            RuleId::Description => "description",
            RuleId::Consumers => "consumers",
        }
    }

    /// One sentence on what the rule asks, for SARIF's rule list and docs.
    pub fn summary(self) -> &'static str {
        match self {
            RuleId::TopicName => "Topic names match the policy's pattern.",
            RuleId::Partitions => "Partition counts stay within the policy's bounds.",
            RuleId::ReplicationFactor => "Topics set a replication factor of at least the policy's minimum.",
            RuleId::MinInsyncReplicas => {
                "min.insync.replicas is below the replication factor (one broker may fail without stopping acks=all producers) and at least the policy's minimum."
            }
            RuleId::ConfigKeys => "Topics set the required config keys, none of the forbidden ones, and only allowed ones.",
            RuleId::Retention => "retention.ms is set and within the policy's bounds.",
            RuleId::Description => "Every topic has a description.",
            RuleId::Consumers => "Every topic names at least one consumer group (consumers:, or a service that consumes it).",
        }
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rules every topic must satisfy. Each rule is off unless its block is
/// present; `description: {}` turns a rule without settings on.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "topicform policy", extend("$id" = "https://topicform.dev/schema/policy.schema.json"))]
pub struct Policy {
    /// Topic names match a regular expression (the whole name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_name: Option<TopicNameRule>,
    /// Partition counts within bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<BoundsRule>,
    /// A replication factor of at least `min`, written in the spec (the
    /// broker's default cannot be checked offline). Kafka only: Event Hubs
    /// replicates itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_factor: Option<MinimumRule>,
    /// `min.insync.replicas` (Kafka's default is 1) below the replication
    /// factor, and at least `min` when given. Kafka only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_insync_replicas: Option<MinInsyncRule>,
    /// Config keys: `required` on every topic, `forbidden` on all, and when
    /// `allowed` is given, no other key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_keys: Option<ConfigKeysRule>,
    /// `retention.ms` set and within bounds (durations: `1h`, `7d`, or
    /// milliseconds). `-1` (infinite) passes only with `allowInfinite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionRule>,
    /// Every topic has a `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<PresenceRule>,
    /// Every topic names a consumer group in `consumers:`, or a service of
    /// `services:` consumes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumers: Option<PresenceRule>,
}

/// Where a rule applies and how bad breaking it is; every rule has these.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// Error (fails validate, plan, apply) or warning.
    pub severity: Severity,
    /// Environments it applies in; empty: all.
    pub environments: &'a [String],
    /// Topics it applies to (names, or prefixes ending in `*`); empty: all.
    pub topics: &'a [String],
}

impl Scope<'_> {
    /// Whether the rule applies to `topic` in environment `env`.
    pub fn covers(&self, env: &str, topic: &str) -> bool {
        (self.environments.is_empty() || self.environments.iter().any(|e| e == env))
            && ownership::Ownership::new(self.topics).contains(topic)
    }
}

fn error() -> Severity {
    Severity::Error
}

fn is_error(s: &Severity) -> bool {
    *s == Severity::Error
}

/// Declares a rule block: its own settings, then the scope fields every
/// block has (`severity`, `environments`, `topics`) and [`scope`]. serde's
/// `flatten` cannot deny unknown keys, so the shared fields are spliced in
/// here rather than flattened from one struct.
///
/// [`scope`]: TopicNameRule::scope
macro_rules! rule_block {
    ($(#[$doc:meta])* $name:ident { $($(#[$field_meta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)*
            /// `error` (the default) fails validate, plan and apply; `warning` is reported only.
            #[serde(default = "error", skip_serializing_if = "is_error")]
            pub severity: Severity,
            /// Only in these environments (default: all).
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub environments: Vec<String>,
            /// Only for these topics: names, or prefixes ending in `*` (default: all).
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub topics: Vec<String>,
        }

        impl $name {
            /// Severity and scope.
            pub fn scope(&self) -> Scope<'_> {
                Scope { severity: self.severity, environments: &self.environments, topics: &self.topics }
            }
        }
    };
}

rule_block! {
    /// `topicName:`.
    TopicNameRule {
        /// A regular expression (Rust `regex` syntax) the whole name must
        /// match, e.g. `^(user|employee)\.[a-z]+(\.[a-z]+)*$`.
        pattern: String,
    }
}

rule_block! {
    /// `partitions:`.
    BoundsRule {
        /// At least this many.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        min: Option<u32>,
        /// At most this many.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        max: Option<u32>,
    }
}

rule_block! {
    /// `replicationFactor:`.
    MinimumRule {
        /// At least this many.
        #[schemars(range(min = 1))]
        min: u32,
    }
}

rule_block! {
    /// `minInsyncReplicas:`.
    MinInsyncRule {
        /// Also at least this many (2 keeps an acknowledged write on two brokers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        min: Option<u32>,
    }
}

rule_block! {
    /// `configKeys:`.
    ConfigKeysRule {
        /// Keys every topic must set (in `defaults` or on the topic).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        required: Vec<String>,
        /// Keys no topic may set.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        forbidden: Vec<String>,
        /// When given, the only keys a topic may set.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        allowed: Vec<String>,
    }
}

rule_block! {
    /// `retention:`.
    RetentionRule {
        /// At least this long (`1h`, `7d`, or milliseconds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<String>,
        /// At most this long (`1h`, `7d`, or milliseconds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<String>,
        /// Whether `-1` (keep forever) is allowed; it never satisfies `max`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        allow_infinite: bool,
    }
}

rule_block! {
    /// `description:` and `consumers:`: the topic has one.
    PresenceRule {}
}

/// A topic's exemption from one policy rule: explicit, with a reason, and
/// reported on every run (as a warning naming it) until it expires.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Waiver {
    /// The rule waived (`partitions`, `topicName`, ...).
    pub rule: RuleId,
    /// Why, and who agreed: shown with the waived violation and in SARIF.
    #[schemars(length(min = 1))]
    pub reason: String,
    /// The last day (`YYYY-MM-DD`, UTC) the waiver holds; after it the
    /// violation counts again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    pub expires: Option<String>,
}

impl Policy {
    /// Whether no rule is on.
    pub fn is_empty(&self) -> bool {
        *self == Policy::default()
    }

    /// What is wrong with the rules themselves, at paths under `base`
    /// (`["policy"]` in a spec, empty in a shared file).
    pub fn problems(&self, base: &[&str]) -> Vec<Finding> {
        let at = |keys: &[&str]| Pointer::value(base.iter().chain(keys).copied());
        let mut out = Vec::new();
        if let Some(rule) = &self.topic_name {
            if let Err(e) = regex::Regex::new(&rule.pattern) {
                out.push(
                    Finding::error(
                        at(&["topicName", "pattern"]),
                        format!("`{}` is not a regular expression", rule.pattern),
                    )
                    .help(e.to_string()),
                );
            }
        }
        if let Some(BoundsRule { min: Some(min), max: Some(max), .. }) = &self.partitions {
            if min > max {
                out.push(Finding::error(
                    at(&["partitions", "min"]),
                    format!("the minimum of {min} partitions is above the maximum of {max}"),
                ));
            }
        }
        if let Some(rule) = &self.retention {
            let mut bounds = Vec::new();
            for (key, value) in [("min", &rule.min), ("max", &rule.max)] {
                if let Some(text) = value {
                    match parse_duration_ms(text) {
                        Ok(-1) => out.push(
                            Finding::error(at(&["retention", key]), "a bound cannot be -1 (infinite)")
                                .help("leave `max` out for no upper bound; `allowInfinite: true` allows -1"),
                        ),
                        Ok(ms) => bounds.push(ms),
                        Err(why) => out.push(Finding::error(at(&["retention", key]), why)),
                    }
                }
            }
            // Both bounds written and valid.
            if let [min, max] = bounds[..] {
                if min > max {
                    out.push(Finding::error(at(&["retention", "min"]), "the minimum retention is above the maximum"));
                }
            }
        }
        out.extend(self.invalid_topic_selectors(base));
        out
    }

    /// Warnings where a rule's `environments:` names environments `spec`
    /// does not have: in a spec's own `policy:` (`base` = `["policy"]`)
    /// each such name (a typo turns the rule off there); in a shared file
    /// only a rule none of whose environments this spec has (other specs
    /// sharing the file may have the rest).
    pub fn unknown_environments(&self, base: &[&str], spec: &crate::spec::model::Spec) -> Vec<Finding> {
        let shared = base.is_empty();
        let mut out = Vec::new();
        for (rule, scope) in self.scopes() {
            let unknown: Vec<(usize, &String)> =
                scope.environments.iter().enumerate().filter(|(_, e)| !spec.environments.contains_key(*e)).collect();
            if unknown.is_empty() || (shared && unknown.len() < scope.environments.len()) {
                continue;
            }
            let known = spec.environments.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
            for (i, name) in unknown {
                let mut at = Pointer::value(base.iter().copied().chain([rule.as_str(), "environments"]));
                at.path.push(Seg::Index(i));
                out.push(
                    Finding::warning(
                        at,
                        format!("rule `{rule}` names environment `{name}`, which the spec does not have, so it checks nothing there"),
                    )
                    .help(format!("the spec's environments: {known}")),
                );
            }
        }
        out
    }

    /// `topics:` entries with a `*` that is not at their end.
    fn invalid_topic_selectors(&self, base: &[&str]) -> Vec<Finding> {
        let mut out = Vec::new();
        for (rule, scope) in self.scopes() {
            for (i, entry) in scope.topics.iter().enumerate() {
                if let Some(why) = ownership::invalid_entry(entry) {
                    let mut at = Pointer::value(base.iter().copied().chain([rule.as_str(), "topics"]));
                    at.path.push(Seg::Index(i));
                    out.push(Finding::error(at, why));
                }
            }
        }
        out
    }

    /// The rules that are on, with their scopes.
    pub fn scopes(&self) -> Vec<(RuleId, Scope<'_>)> {
        [
            (RuleId::TopicName, self.topic_name.as_ref().map(TopicNameRule::scope)),
            (RuleId::Partitions, self.partitions.as_ref().map(BoundsRule::scope)),
            (RuleId::ReplicationFactor, self.replication_factor.as_ref().map(MinimumRule::scope)),
            (RuleId::MinInsyncReplicas, self.min_insync_replicas.as_ref().map(MinInsyncRule::scope)),
            (RuleId::ConfigKeys, self.config_keys.as_ref().map(ConfigKeysRule::scope)),
            (RuleId::Retention, self.retention.as_ref().map(RetentionRule::scope)),
            (RuleId::Description, self.description.as_ref().map(PresenceRule::scope)),
            (RuleId::Consumers, self.consumers.as_ref().map(PresenceRule::scope)),
        ]
        .into_iter()
        .filter_map(|(id, scope)| scope.map(|s| (id, s)))
        .collect()
    }
}
