//! Offline checks of a spec: everything that can be known without a cluster.
//! Pure: variables come in through a lookup function, findings go out with
//! YAML paths.
//!
//! Split by concern:
//! - [`common`]: what every spec holds. Values are checked where they are
//!   written (`defaults`, `topics`, every environment's `defaults` and topic
//!   overrides), whether or not an environment is checked or uses them; each
//!   checked environment adds its `${VAR}` references and merged topics.
//! - [`kafka`]: a `type: kafka` environment: connection, authentication,
//!   replication factors, topic config keys.
//! - [`eventhubs`]: a `type: eventhubs` environment: namespace,
//!   authentication, and the tier's limits.
//! - [`services`]: `services:`, their principals per environment, and their
//!   agreement with the topics' `consumers:`.

mod common;
mod eventhubs;
mod kafka;
mod services;

use common::unset_variable;

use super::finding::{Finding, Pointer};
use super::model::{Cluster, Environment, Spec};
use super::resolve::{effective, Effective};

/// A variable lookup (`std::env::var` in the CLI, a map in tests).
pub type VarLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// How strictly unset `${VAR}` references are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsetVars {
    /// `validate`: name them as warnings, so CI can validate every
    /// environment without production variables.
    Warn,
    /// `plan`, `apply`, ...: the environment is about to be used.
    Fail,
    /// `env`, `check`, `lag`, `export`: the environment is used but grants
    /// nothing, so a variable only the services' principals use may be
    /// unset (a warning; a service pod need not know every other
    /// service's principal).
    FailExceptPrincipals,
}

/// True for topics Kafka and its ecosystem own (`__consumer_offsets`,
/// `_schemas`, `_confluent-*`). topicform never touches them.
pub fn is_internal_topic(name: &str) -> bool {
    name.starts_with("__") || name == "_schemas" || name.starts_with("_confluent")
}

/// Checks the whole spec, every value written in it, and each environment
/// in `envs` (all when empty).
pub fn validate(spec: &Spec, envs: &[&str], vars: VarLookup, unset: UnsetVars) -> Vec<Finding> {
    let mut out = Vec::new();
    common::check_spec(spec, &mut out);
    out.extend(crate::policy::spec_problems(spec));
    for (name, env) in &spec.environments {
        if envs.is_empty() || envs.contains(&name.as_str()) {
            check_environment(spec, name, env, vars, unset, &mut out);
        }
    }
    // The same finding from several environments (a key in `defaults`), or
    // from the written value and an environment's merged one, once.
    // A set, not a list: 20,000 warnings made the list quadratic (75 s).
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert((f.severity, f.message.clone(), f.at.clone())));
    out
}

/// `owns:` entries are names or prefixes, and every topic of the
/// environment is inside them (a topic outside would be the spec's and
/// another team's at once).
fn check_ownership(
    name: &str,
    env: &Environment,
    topics: &[(&String, Effective)],
    env_path: &dyn Fn(&[&str]) -> Pointer,
    out: &mut Vec<Finding>,
) {
    let mut valid = true;
    for (i, entry) in env.owns.iter().enumerate() {
        if let Some(why) = super::ownership::invalid_entry(entry) {
            valid = false;
            let mut at = env_path(&["owns"]);
            at.path.push(super::finding::Seg::Index(i));
            out.push(Finding::error(at, why));
        }
    }
    let scope = super::ownership::Ownership::new(&env.owns);
    if !valid || scope.is_everything() {
        return;
    }
    for (topic, _) in topics.iter().filter(|(t, _)| !scope.contains(t)) {
        out.push(
            Finding::error(
                Pointer::key(["topics", topic.as_str()]),
                format!("topic `{topic}` is outside what environment `{name}` owns ({})", scope.describe()),
            )
            .help(
                "add the topic (or a prefix of it) to the environment's `owns:`, or leave it to the team that owns it",
            ),
        );
    }
}

/// The checks of one environment: the common ones, then its cluster type's.
fn check_environment(
    spec: &Spec,
    name: &str,
    env: &Environment,
    vars: VarLookup,
    unset: UnsetVars,
    out: &mut Vec<Finding>,
) {
    let env_path = |rest: &[&str]| {
        let mut p = vec!["environments", name];
        p.extend_from_slice(rest);
        Pointer::value(p)
    };
    common::check_variables(spec, name, env, vars, unset, out);
    let principals_unset = if unset == UnsetVars::FailExceptPrincipals { UnsetVars::Warn } else { unset };
    services::check_principals(spec, name, &env.cluster, vars, principals_unset, out);
    if let Some(Err(why)) = env.lock.as_deref().map(str::parse::<super::lock::LockChoice>) {
        out.push(Finding::error(env_path(&["lock"]), why));
    }
    let topics: Vec<(&String, Effective)> =
        spec.topics.keys().map(|t| (t, effective(spec, name, env, t, vars))).collect();
    common::check_effective_topics(name, &topics, unset, out);
    check_ownership(name, env, &topics, &env_path, out);
    match &env.cluster {
        Cluster::Kafka(k) => kafka::check(name, k, &topics, &env_path, out),
        Cluster::Eventhubs(eh) => eventhubs::check(name, eh, &topics, &env_path, out),
    }
}
