//! Checks every spec gets, whatever its environments' clusters: version,
//! names, every value as written, `${VAR}` references and the merged topics
//! of each checked environment.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::super::expand;
use super::super::finding::{Finding, Pointer, Seg};
use super::super::model::{Environment, Spec, TopicSettings};
use super::super::resolve::Effective;
use super::super::values;
use super::{is_internal_topic, UnsetVars, VarLookup};

static TOPIC_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z0-9._-]{1,249}$").unwrap());

/// What does not depend on an environment: the version, names, and every
/// value written in the spec.
pub(super) fn check_spec(spec: &Spec, out: &mut Vec<Finding>) {
    check_version(spec, out);
    check_topic_names(spec, out);
    check_override_names(spec, out);
    check_sources(spec, out);
    super::services::check(spec, out);
    for (base, settings) in written_settings(spec) {
        check_written_values(&base, &settings, out);
    }
}

fn check_version(spec: &Spec, out: &mut Vec<Finding>) {
    if spec.version != 1 {
        out.push(
            Finding::error(Pointer::value(["version"]), format!("unsupported spec version {}", spec.version))
                .help("this topicform reads spec version 1; write `version: 1`"),
        );
    }
}

fn check_topic_names(spec: &Spec, out: &mut Vec<Finding>) {
    let mut by_metric_name: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (name, topic) in &spec.topics {
        let at = Pointer::key(["topics", name.as_str()]);
        if !TOPIC_NAME.is_match(name) || name == "." || name == ".." {
            out.push(
                Finding::error(at.clone(), format!("invalid topic name `{name}`"))
                    .help("topic names are 1-249 characters of A-Z, a-z, 0-9, `.`, `_` and `-`, and not `.` or `..`"),
            );
        } else if is_internal_topic(name) {
            out.push(
                Finding::error(at.clone(), format!("`{name}` is an internal topic"))
                    .help("topics starting with `__` or `_confluent`, and `_schemas`, belong to Kafka and its tools; remove it from the spec"),
            );
        }
        by_metric_name.entry(name.replace('.', "_")).or_default().push(name);
        for (i, group) in topic.consumers.iter().enumerate() {
            if group.trim().is_empty() {
                let mut p = Pointer::value(["topics", name.as_str(), "consumers"]);
                p.path.push(Seg::Index(i));
                out.push(Finding::error(p, "empty consumer group name"));
            }
        }
    }
    for names in by_metric_name.values().filter(|n| n.len() > 1) {
        for name in &names[1..] {
            // An error, not a warning: Kafka refuses the second create, so
            // the spec could never be applied whole.
            out.push(
                Finding::error(
                    Pointer::key(["topics", *name]),
                    format!(
                        "topic `{name}` collides with `{}`: Kafka maps `.` and `_` to the same metric name and refuses to create both",
                        names[0]
                    ),
                )
                .help("rename one of them"),
            );
        }
    }
}

/// Every environment's topic overrides name topics of the spec. Where
/// topics are also contributed (`from:`), one the spec does not name may
/// be a contributed topic: a warning then, since only a run sees them.
fn check_override_names(spec: &Spec, out: &mut Vec<Finding>) {
    for (name, env) in &spec.environments {
        let contributed = env.from.is_some() || spec.from.is_some();
        for topic in env.topics.keys().filter(|t| !spec.topics.contains_key(*t)) {
            let at = Pointer::key(["environments", name.as_str(), "topics", topic.as_str()]);
            out.push(if contributed {
                Finding::warning(
                    at,
                    format!("environment `{name}` overrides `{topic}`, which the spec does not declare"),
                )
                .help("it applies only while a ConfigMap of `from:` contributes the topic; otherwise fix the name")
            } else {
                Finding::error(
                    at,
                    format!("environment `{name}` overrides `{topic}`, which is not a topic of the spec"),
                )
                .help("add it under the top-level `topics:` or fix the name")
            });
        }
    }
}

/// What Kubernetes accepts as a namespace name (an RFC 1123 label).
fn is_namespace(name: &str) -> bool {
    static NAMESPACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$").unwrap());
    NAMESPACE.is_match(name)
}

const NAMESPACE_HELP: &str =
    "lowercase letters, digits and `-`, at most 63, starting and ending with a letter or digit";

/// `from:` names namespaces Kubernetes accepts and a selector.
fn check_sources(spec: &Spec, out: &mut Vec<Finding>) {
    let top = spec.from.as_ref().map(|f| (vec!["from".to_owned()], f));
    let per_env = spec.environments.iter().filter_map(|(name, env)| {
        env.from.as_ref().map(|f| (vec!["environments".to_owned(), name.clone(), "from".to_owned()], f))
    });
    for (base, from) in top.into_iter().chain(per_env) {
        let at = |rest: &[&str]| {
            Pointer::value(base.iter().map(String::as_str).chain(["kubernetes"]).chain(rest.iter().copied()))
        };
        for (i, ns) in from.kubernetes.namespaces.iter().enumerate() {
            // One that refers to a `${VAR}` is checked once expanded, by
            // `check_variables` for each environment that reads it.
            if expand::without_variables(ns).is_some_and(|ns| !is_namespace(&ns)) {
                let mut p = at(&["namespaces"]);
                p.path.push(Seg::Index(i));
                out.push(Finding::error(p, format!("`{ns}` is not a Kubernetes namespace name")).help(NAMESPACE_HELP));
            }
        }
        if from.kubernetes.selector.as_deref().is_some_and(|s| s.trim().is_empty()) {
            out.push(
                Finding::error(at(&["selector"]), "empty label selector")
                    .help("leave `selector` out for the default, `topicform.dev/topics=true`"),
            );
        }
    }
}

/// Every set of topic settings written in the spec, with the path it lives
/// at: `defaults`, each topic, and each environment's `defaults` and topic
/// overrides.
fn written_settings(spec: &Spec) -> Vec<(Vec<String>, TopicSettings)> {
    let mut all = vec![(vec!["defaults".to_owned()], spec.defaults.clone())];
    for (name, t) in &spec.topics {
        all.push((vec!["topics".into(), name.clone()], t.settings()));
    }
    for (env_name, env) in &spec.environments {
        all.push((vec!["environments".into(), env_name.clone(), "defaults".into()], env.defaults.clone()));
        for (name, o) in &env.topics {
            all.push((vec!["environments".into(), env_name.clone(), "topics".into(), name.clone()], o.clone()));
        }
    }
    all
}

/// Checks values where they are written, so a value no checked environment
/// uses (or a spec without environments) is still refused. Config values
/// that refer to a `${VAR}` are checked by each environment, once expanded.
fn check_written_values(base: &[String], settings: &TopicSettings, out: &mut Vec<Finding>) {
    let at = |key: &str| Pointer::value(base.iter().map(String::as_str).chain([key]));
    // Counts the Kafka protocol can carry (INT32 and INT16), and at least one.
    if let Some(p) = settings.partitions.filter(|p| *p == 0 || *p > i32::MAX as u32) {
        out.push(Finding::error(at("partitions"), format!("partitions must be between 1 and {}, not {p}", i32::MAX)));
    }
    if let Some(r) = settings.replication_factor.filter(|r| *r == 0 || *r > i16::MAX as u16) {
        out.push(Finding::error(
            at("replicationFactor"),
            format!("replicationFactor must be between 1 and {}, not {r}", i16::MAX),
        ));
    }
    for (key, value) in &settings.config {
        let Some(value) = expand::without_variables(&value.0) else { continue };
        let at = Pointer::value(base.iter().map(String::as_str).chain(["config", key.as_str()]));
        out.extend(invalid_config_value(key, &value, at));
    }
}

/// An error when `value` is not a valid value of config `key`.
fn invalid_config_value(key: &str, value: &str, at: Pointer) -> Option<Finding> {
    let why = values::normalise(key, value).err()?;
    Some(Finding::error(at, format!("invalid value for `{key}`: {why}")))
}

/// The merged topics of environment `env_name`: each needs a partition
/// count, and its config values, `${VAR}` expanded, must be set and valid.
/// Findings the written values already gave are merged by `validate`.
pub(super) fn check_effective_topics(
    env_name: &str,
    topics: &[(&String, Effective)],
    unset: UnsetVars,
    out: &mut Vec<Finding>,
) {
    for (topic, eff) in topics {
        for (key, v) in &eff.config {
            if let Some(vars) = eff.unset_vars.get(key) {
                for var in vars {
                    out.push(unset_variable(v.at.clone(), var, env_name, unset));
                }
            } else {
                out.extend(invalid_config_value(key, &v.value, v.at.clone()));
            }
        }
        if eff.partitions.is_none() {
            out.push(
                Finding::error(
                    Pointer::key(["topics", topic.as_str()]),
                    format!("topic `{topic}` has no partition count in environment `{env_name}`"),
                )
                .help("set `partitions` on the topic or in `defaults`"),
            );
        }
    }
}

/// Unset variables in environment `name`'s `clusterId`, cluster block and
/// the namespaces it reads contributed topics from. The cluster's strings
/// are the ones resolution expands ([`expand::expand_cluster`]), so nothing
/// expanded goes unchecked; an expanded namespace must be a valid name.
pub(super) fn check_variables(
    spec: &Spec,
    name: &str,
    env: &Environment,
    vars: VarLookup,
    unset: UnsetVars,
    out: &mut Vec<Finding>,
) {
    let in_env = |path: &[&str]| Pointer::value(["environments", name].into_iter().chain(path.iter().copied()));
    if let Some(Err(missing)) = env.cluster_id.as_deref().map(|id| expand::expand(id, vars)) {
        out.extend(missing.iter().map(|var| unset_variable(in_env(&["clusterId"]), var, name, unset)));
    }
    let mut cluster = env.cluster.clone();
    for u in expand::expand_cluster(&mut cluster, vars) {
        let path: Vec<&str> = ["cluster"].into_iter().chain(u.path.iter().map(String::as_str)).collect();
        out.push(unset_variable(in_env(&path), &u.name, name, unset));
    }
    let from = match (&env.from, &spec.from) {
        (Some(own), _) => Some((in_env(&["from", "kubernetes", "namespaces"]), own)),
        (None, Some(shared)) => Some((Pointer::value(["from", "kubernetes", "namespaces"]), shared)),
        (None, None) => None,
    };
    if let Some((list, from)) = from {
        check_namespace_variables(name, &list, &from.kubernetes.namespaces, vars, unset, out);
    }
}

/// The namespaces environment `name` reads contributed topics from that
/// refer to a `${VAR}`, once expanded: no unset variable, and a valid name.
/// (`check_sources` checked the others where they are written.)
fn check_namespace_variables(
    name: &str,
    list: &Pointer,
    namespaces: &[String],
    vars: VarLookup,
    unset: UnsetVars,
    out: &mut Vec<Finding>,
) {
    for (i, ns) in namespaces.iter().enumerate() {
        if expand::without_variables(ns).is_some() {
            continue;
        }
        let mut at = list.clone();
        at.path.push(Seg::Index(i));
        match expand::expand(ns, vars) {
            Err(missing) => out.extend(missing.iter().map(|var| unset_variable(at.clone(), var, name, unset))),
            Ok(expanded) if !is_namespace(&expanded) => out.push(
                Finding::error(at, format!("`{expanded}` (from `{ns}`) is not a Kubernetes namespace name"))
                    .help(NAMESPACE_HELP),
            ),
            Ok(_) => {}
        }
    }
}

/// An unset `${VAR}`: a warning for `validate`, an error when the
/// environment is about to be used.
pub(super) fn unset_variable(at: Pointer, var: &str, env_name: &str, unset: UnsetVars) -> Finding {
    let message = format!("environment variable `{var}` is not set (used by environment `{env_name}`)");
    let finding = match unset {
        UnsetVars::Warn => Finding::warning(at, message),
        UnsetVars::Fail | UnsetVars::FailExceptPrincipals => Finding::error(at, message),
    };
    finding.help(format!("export {var}=... or write `${{{var}:-default}}`"))
}
