//! What each rule checks. A rule looks at a topic's effective settings in
//! one environment (defaults, environment defaults, the topic, the
//! environment's override) and points at the layer that set the value, so
//! the fix is on the line shown.
//!
//! A value set in `defaults` breaks the rule for every topic that uses it;
//! it is reported once, at the default, and is not waivable per topic (the
//! default is what to fix). A value set on the topic is reported for that
//! topic, and a waiver on the topic can cover it.

use regex::Regex;

use super::model::{Policy, RuleId, Scope};
use super::Subjects;
use crate::spec::finding::{Finding, Pointer, Seg};
use crate::spec::model::{Cluster, Environment};
use crate::spec::ownership::Ownership;
use crate::spec::resolve::{effective, Effective, Sourced};
use crate::spec::values::parse_duration_ms;
use crate::spec::VarLookup;

/// One violation: the finding, and the topic it is about when it is about
/// one topic (what a waiver on that topic can cover).
pub(super) struct Violation {
    pub topic: Option<String>,
    /// The environment checked; messages carry [`IN_ENV`] where it goes.
    pub env: String,
    pub finding: Finding,
}

/// Where a message names its environment(s): the merge of the same finding
/// from several environments replaces it with "in environment(s) `…`".
pub(super) const IN_ENV: &str = "\u{1}in-environments\u{1}";

/// The topic and environment a rule looks at.
struct Subject<'a> {
    subjects: &'a Subjects<'a>,
    env: &'a str,
    topic: &'a str,
    eff: &'a Effective,
}

impl Subject<'_> {
    /// A violation of `rule` at `at`: about this topic when `at` is the
    /// topic's own value (or its name), else about the shared default.
    fn violation(&self, rule: RuleId, scope: &Scope, at: Pointer, message: String, help: String) -> Violation {
        let own = is_topic_level(&at, self.topic);
        let help = if own {
            format!("{help}; or waive `{rule}` for this topic with a reason (`topics.{}.waivers`)", self.topic)
        } else {
            format!("{help}; the value is a default, so fix it there or set the topic's own")
        };
        let mut finding = Finding::error(at, message).help(help);
        finding.severity = scope.severity;
        finding.rule = Some(rule);
        Violation { topic: own.then(|| self.topic.to_owned()), env: self.env.to_owned(), finding }
    }

    /// "topic `orders` has" for the topic's own value, "`defaults` give
    /// `orders`" for a shared one: the message then reads true for every
    /// topic the default reaches, and is reported once.
    fn whose(&self, at: &Pointer) -> String {
        if is_topic_level(at, self.topic) {
            format!("topic `{}` has", self.topic)
        } else {
            format!("the default at `{}` gives", dotted(at))
        }
    }
}

/// Whether `at` is under `topics.NAME` or `environments.ENV.topics.NAME`.
fn is_topic_level(at: &Pointer, topic: &str) -> bool {
    let key = |s: &Seg, k: &str| matches!(s, Seg::Key(x) if x == k);
    match at.path.as_slice() {
        [t, name, ..] if key(t, "topics") => key(name, topic),
        [e, _, t, name, ..] if key(e, "environments") && key(t, "topics") => key(name, topic),
        _ => false,
    }
}

/// `environments.prod.defaults.partitions`, for messages.
fn dotted(at: &Pointer) -> String {
    at.path.iter().map(ToString::to_string).collect::<Vec<_>>().join(".")
}

/// Compiled once per environment rather than per topic.
struct Compiled {
    name_pattern: Option<Regex>,
    retention_ms: (Option<i64>, Option<i64>),
}

impl Compiled {
    fn new(policy: &Policy) -> Compiled {
        // A pattern that does not compile is the policy's own error
        // (`Policy::problems`); the rule then checks nothing.
        let name_pattern = policy.topic_name.as_ref().and_then(|r| Regex::new(&format!("^(?:{})$", r.pattern)).ok());
        let bound = |b: &Option<String>| b.as_deref().and_then(|t| parse_duration_ms(t).ok()).filter(|ms| *ms >= 0);
        let retention_ms = policy.retention.as_ref().map_or((None, None), |r| (bound(&r.min), bound(&r.max)));
        Compiled { name_pattern, retention_ms }
    }
}

/// Every violation of `policy` by the topics of environment `env_name`.
pub(super) fn check_environment(
    subjects: &Subjects,
    policy: &Policy,
    env_name: &str,
    env: &Environment,
    vars: VarLookup,
    out: &mut Vec<Violation>,
) {
    let rules = policy.scopes();
    if rules.is_empty() {
        return;
    }
    let kafka = matches!(env.cluster, Cluster::Kafka(_));
    let compiled = Compiled::new(policy);
    let spec = subjects.spec;
    for topic in spec.topics.keys() {
        let eff = effective(spec, env_name, env, topic, vars);
        let subject = Subject { subjects, env: env_name, topic, eff: &eff };
        for (rule, scope) in &rules {
            if !scope.covers(env_name, topic) {
                continue;
            }
            match rule {
                RuleId::TopicName => topic_name(&subject, policy, scope, &compiled, out),
                RuleId::Partitions => partitions(&subject, policy, scope, out),
                RuleId::ReplicationFactor if kafka => replication_factor(&subject, policy, scope, out),
                RuleId::MinInsyncReplicas if kafka => min_insync_replicas(&subject, policy, scope, out),
                RuleId::ConfigKeys => config_keys(&subject, policy, scope, out),
                RuleId::Retention => retention(&subject, policy, scope, &compiled, out),
                RuleId::Description => description(&subject, scope, out),
                RuleId::Consumers => consumers(&subject, scope, out),
                // Event Hubs replicates every event hub itself.
                RuleId::ReplicationFactor | RuleId::MinInsyncReplicas => {}
            }
        }
    }
}

fn topic_key(topic: &str) -> Pointer {
    Pointer::key(["topics", topic])
}

fn topic_name(s: &Subject, policy: &Policy, scope: &Scope, compiled: &Compiled, out: &mut Vec<Violation>) {
    let (Some(pattern), Some(rule)) = (&compiled.name_pattern, &policy.topic_name) else { return };
    if !pattern.is_match(s.topic) {
        let written = &rule.pattern;
        out.push(s.violation(
            RuleId::TopicName,
            scope,
            topic_key(s.topic),
            format!("topic `{}` does not match the naming pattern `{written}`", s.topic),
            "rename it (Kafka cannot rename a topic: that is a new topic and a move of its data)".into(),
        ));
    }
}

fn partitions(s: &Subject, policy: &Policy, scope: &Scope, out: &mut Vec<Violation>) {
    let (Some(rule), Some(Sourced { value, at })) = (&policy.partitions, &s.eff.partitions) else { return };
    let whose = s.whose(at);
    if let Some(min) = rule.min.filter(|min| value < min) {
        out.push(s.violation(
            RuleId::Partitions,
            scope,
            at.clone(),
            format!("{whose} {value} partition(s) {IN_ENV}, below the policy's minimum of {min}"),
            format!("set `partitions` to at least {min}"),
        ));
    }
    if let Some(max) = rule.max.filter(|max| value > max) {
        out.push(s.violation(
            RuleId::Partitions,
            scope,
            at.clone(),
            format!("{whose} {value} partition(s) {IN_ENV}, above the policy's maximum of {max}"),
            format!(
                "set `partitions` to at most {max} (an existing topic's partitions cannot shrink: that is a new topic)"
            ),
        ));
    }
}

fn replication_factor(s: &Subject, policy: &Policy, scope: &Scope, out: &mut Vec<Violation>) {
    let Some(rule) = &policy.replication_factor else { return };
    match &s.eff.replication_factor {
        None => out.push(s.violation(
            RuleId::ReplicationFactor,
            scope,
            topic_key(s.topic),
            format!(
                "topic `{}` sets no replication factor {IN_ENV}; the policy needs at least {} and the broker's default cannot be checked offline",
                s.topic, rule.min
            ),
            format!("set `replicationFactor: {}` on the topic or in `defaults`", rule.min),
        )),
        Some(Sourced { value, at }) if u32::from(*value) < rule.min => out.push(s.violation(
            RuleId::ReplicationFactor,
            scope,
            at.clone(),
            format!("{} replication factor {value} {IN_ENV}, below the policy's minimum of {}", s.whose(at), rule.min),
            format!("set `replicationFactor` to at least {} (apply then reassigns the partitions)", rule.min),
        )),
        Some(_) => {}
    }
}

/// Kafka's default `min.insync.replicas`, when neither the spec nor (as
/// far as the spec says) the broker sets one.
const KAFKA_DEFAULT_MIN_INSYNC: u32 = 1;

fn min_insync_replicas(s: &Subject, policy: &Policy, scope: &Scope, out: &mut Vec<Violation>) {
    let Some(rule) = &policy.min_insync_replicas else { return };
    let written = s.eff.config.get("min.insync.replicas");
    // A value that is not a number is validation's error already.
    let (misr, at) = match written {
        Some(Sourced { value, at }) => match value.trim().parse::<u32>() {
            Ok(n) => (n, at.clone()),
            Err(_) => return,
        },
        None => (KAFKA_DEFAULT_MIN_INSYNC, topic_key(s.topic)),
    };
    let how = if written.is_some() { String::new() } else { " (Kafka's default: the spec sets none)".into() };
    if let Some(Sourced { value: rf, at: rf_at }) = &s.eff.replication_factor {
        let rf = u32::from(*rf);
        if misr >= rf {
            let fix = if rf == 1 {
                "raise `replicationFactor` (1 has no spare replica)".to_owned()
            } else {
                format!("set `min.insync.replicas` to {} or raise `replicationFactor`", rf - 1)
            };
            // The topic's own value of the two, so the finding names the
            // topic (and its waiver can cover it); else the written one.
            let own = |p: &Pointer| is_topic_level(p, s.topic);
            let at = match written {
                Some(_) if own(&at) || !own(rf_at) => at.clone(),
                _ => rf_at.clone(),
            };
            out.push(s.violation(
                RuleId::MinInsyncReplicas,
                scope,
                at.clone(),
                format!(
                    "{} min.insync.replicas {misr}{how} and replication factor {rf} {IN_ENV}: with acks=all, one broker down stops every producer",
                    s.whose(&at)
                ),
                fix,
            ));
        }
    }
    if let Some(min) = rule.min.filter(|min| misr < *min) {
        out.push(s.violation(
            RuleId::MinInsyncReplicas,
            scope,
            at.clone(),
            format!("{} min.insync.replicas {misr}{how} {IN_ENV}, below the policy's minimum of {min}", s.whose(&at)),
            format!("set `config.min.insync.replicas` to at least {min}"),
        ));
    }
}

fn config_keys(s: &Subject, policy: &Policy, scope: &Scope, out: &mut Vec<Violation>) {
    let Some(rule) = &policy.config_keys else { return };
    for key in rule.required.iter().filter(|k| !s.eff.config.contains_key(k.as_str())) {
        out.push(s.violation(
            RuleId::ConfigKeys,
            scope,
            topic_key(s.topic),
            format!("topic `{}` does not set `{key}` {IN_ENV}; the policy requires it", s.topic),
            format!("set `config: {{ {key}: ... }}` on the topic or in `defaults`"),
        ));
    }
    for (key, Sourced { at, .. }) in &s.eff.config {
        let reason = if rule.forbidden.contains(key) {
            "the policy forbids it".to_owned()
        } else if !rule.allowed.is_empty() && !rule.allowed.contains(key) {
            format!("the policy allows only {}", rule.allowed.join(", "))
        } else {
            continue;
        };
        let who = match is_topic_level(at, s.topic) {
            true => format!("topic `{}` sets", s.topic),
            false => format!("the default at `{}` sets", dotted(at)),
        };
        out.push(s.violation(
            RuleId::ConfigKeys,
            scope,
            at.clone(),
            format!("{who} `{key}` {IN_ENV}; {reason}"),
            format!("remove `{key}`"),
        ));
    }
}

fn retention(s: &Subject, policy: &Policy, scope: &Scope, compiled: &Compiled, out: &mut Vec<Violation>) {
    let Some(rule) = &policy.retention else { return };
    let Some(Sourced { value, at }) = s.eff.config.get("retention.ms") else {
        out.push(s.violation(
            RuleId::Retention,
            scope,
            topic_key(s.topic),
            format!(
                "topic `{}` sets no `retention.ms` {IN_ENV}; the policy bounds it and the cluster's default cannot be checked offline",
                s.topic
            ),
            "set `config: { retention.ms: ... }` on the topic or in `defaults`".into(),
        ));
        return;
    };
    // A value that is not a duration is validation's error already.
    let Ok(ms) = parse_duration_ms(value) else { return };
    let whose = s.whose(at);
    let (min, max) = compiled.retention_ms;
    let problem = match ms {
        -1 if !rule.allow_infinite => Some("which the policy does not allow".to_owned()),
        -1 => None,
        ms if min.is_some_and(|min| ms < min) => {
            Some(format!("below the policy's minimum of {}", rule.min.as_deref().unwrap_or("")))
        }
        ms if max.is_some_and(|max| ms > max) => {
            Some(format!("above the policy's maximum of {}", rule.max.as_deref().unwrap_or("")))
        }
        _ => None,
    };
    if let Some(problem) = problem {
        let value = if ms == -1 { "-1 (infinite)" } else { value.as_str() };
        out.push(s.violation(
            RuleId::Retention,
            scope,
            at.clone(),
            format!("{whose} retention `{value}` {IN_ENV}, {problem}"),
            "set `retention.ms` within the policy's bounds".into(),
        ));
    }
}

fn description(s: &Subject, scope: &Scope, out: &mut Vec<Violation>) {
    let written = s.subjects.spec.topics.get(s.topic).and_then(|t| t.description.as_deref());
    if written.is_none_or(|d| d.trim().is_empty()) {
        out.push(s.violation(
            RuleId::Description,
            scope,
            topic_key(s.topic),
            format!("topic `{}` has no description", s.topic),
            "say what the topic carries in `description:`".into(),
        ));
    }
}

fn consumers(s: &Subject, scope: &Scope, out: &mut Vec<Violation>) {
    let spec = s.subjects.spec;
    let named = spec.topics.get(s.topic).is_some_and(|t| !t.consumers.is_empty())
        || s.subjects.more_consumers.get(s.topic).is_some_and(|groups| !groups.is_empty());
    let consumed =
        spec.services.values().any(|svc| !svc.consumes.is_empty() && Ownership::new(&svc.consumes).contains(s.topic));
    if !named && !consumed {
        out.push(s.violation(
            RuleId::Consumers,
            scope,
            topic_key(s.topic),
            format!("topic `{}` names no consumer group, and no service consumes it", s.topic),
            "list the groups that read it in `consumers:` (or the service in `services.NAME.consumes`)".into(),
        ));
    }
}
