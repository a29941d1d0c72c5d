//! Effective topics of one environment: `defaults` ← environment `defaults`
//! ← topic ← environment `topics.<name>`, config maps merged key by key.
//! Each effective value remembers where it came from, so a limit violation
//! points at the line that set it.

use std::collections::BTreeMap;

use indexmap::IndexMap;

use super::finding::Pointer;
use super::model::{Cluster, Environment, Spec, TopicSettings};
use super::values;
use crate::access::ResolvedService;

/// A value and the place in the spec that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub at: Pointer,
}

/// Merged settings of one topic in one environment, before normalisation.
#[derive(Debug, Clone, Default)]
pub(crate) struct Effective {
    /// Partition count, if any layer set one.
    pub partitions: Option<Sourced<u32>>,
    /// Replication factor, if any layer set one.
    pub replication_factor: Option<Sourced<u16>>,
    /// Config keys in spec order, values `${VAR}`-expanded.
    pub config: IndexMap<String, Sourced<String>>,
    /// Config keys whose value refers to a variable with neither a value nor
    /// a default, with those variables; their value is kept as written.
    /// Kept apart because the expanded text cannot tell: `$${X}` expands to
    /// `${X}`, and an unterminated `${X` stays as it is.
    pub unset_vars: BTreeMap<String, Vec<String>>,
}

/// The layers that make up a topic's settings in an environment, lowest first,
/// with the path each one lives at.
fn layers<'a>(spec: &'a Spec, env_name: &str, env: &'a Environment, topic: &str) -> Vec<(TopicSettings, Vec<String>)> {
    let mut out = vec![
        (spec.defaults.clone(), vec!["defaults".to_owned()]),
        (env.defaults.clone(), vec!["environments".into(), env_name.into(), "defaults".into()]),
    ];
    if let Some(t) = spec.topics.get(topic) {
        out.push((t.settings(), vec!["topics".into(), topic.into()]));
    }
    if let Some(o) = env.topics.get(topic) {
        out.push((o.clone(), vec!["environments".into(), env_name.into(), "topics".into(), topic.into()]));
    }
    out
}

fn child(base: &[String], key: &str) -> Pointer {
    let mut path = base.to_vec();
    path.push(key.to_owned());
    Pointer::value(path)
}

/// Merges the layers of `topic` in environment `env_name`. Config values
/// get `${VAR}` expanded; one with an unset variable keeps its text (and
/// validation names the variable).
pub(crate) fn effective(
    spec: &Spec,
    env_name: &str,
    env: &Environment,
    topic: &str,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Effective {
    let mut eff = Effective::default();
    for (layer, base) in layers(spec, env_name, env, topic) {
        if let Some(p) = layer.partitions {
            eff.partitions = Some(Sourced { value: p, at: child(&base, "partitions") });
        }
        if let Some(rf) = layer.replication_factor {
            eff.replication_factor = Some(Sourced { value: rf, at: child(&base, "replicationFactor") });
        }
        for (k, v) in &layer.config {
            let mut path = base.clone();
            path.extend(["config".to_owned(), k.clone()]);
            let value = match super::expand::expand(&v.0, vars) {
                Ok(expanded) => {
                    eff.unset_vars.remove(k);
                    expanded
                }
                Err(unset) => {
                    eff.unset_vars.insert(k.clone(), unset);
                    v.0.clone()
                }
            };
            eff.config.insert(k.clone(), Sourced { value, at: Pointer::value(path) });
        }
    }
    eff
}

/// A topic as the cluster should have it, values normalised.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredTopic {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: u32,
    /// Replication factor; `None` where the service manages it (Event Hubs).
    pub replication_factor: Option<u16>,
    /// Normalised config values (durations in ms).
    pub config: BTreeMap<String, String>,
    /// Who contributed the topic (`ConfigMap NAMESPACE/NAME`); `None` for
    /// the spec file's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// One environment, ready to plan: variables expanded, topics merged.
#[derive(Debug, Clone)]
pub struct ResolvedEnvironment {
    /// Environment name.
    pub name: String,
    /// Cluster block with `${VAR}` expanded.
    pub cluster: Cluster,
    /// Whether unmanaged topics may be deleted (with `--allow-delete`).
    pub prune: bool,
    /// Whether stale ACLs of the services' principals may be deleted (with
    /// `--allow-delete`).
    pub prune_acls: bool,
    /// What the environment owns (`owns:`); everything when not set.
    pub owns: super::ownership::Ownership,
    /// Pinned cluster id, if any.
    pub cluster_id: Option<String>,
    /// The environment's `lock:`, if it names one.
    pub lock: Option<super::lock::LockChoice>,
    /// Desired topics: the spec's in its order, then contributed ones.
    pub topics: Vec<DesiredTopic>,
    /// Contributed declarations refused because an older owner declared
    /// the topic differently.
    pub conflicts: Vec<super::contributed::Conflict>,
    /// Topic -> the owner that contributed it, as the last run recorded
    /// (the status object): a topic on the cluster whose owner no longer
    /// declares it is orphaned. Empty unless the caller fills it in.
    pub former_owners: BTreeMap<String, String>,
    /// The services with a principal in this environment, whose ACLs the
    /// plan manages.
    pub services: Vec<crate::access::ResolvedService>,
}

impl ResolvedEnvironment {
    /// Config keys the spec mentions for any topic: the backend reports the
    /// broker's default for these, so "equal to the default" is not drift.
    pub fn config_keys(&self) -> std::collections::BTreeSet<String> {
        self.topics.iter().flat_map(|t| t.config.keys().cloned()).collect()
    }
}

/// Builds a desired topic from merged settings. Validation has already
/// checked that partitions exist and values normalise; anything missing here
/// is reported as `Err` with the reason.
pub(crate) fn desired_topic(
    name: &str,
    eff: &Effective,
    service_managed_replication: bool,
) -> Result<DesiredTopic, String> {
    let partitions =
        eff.partitions.as_ref().map(|p| p.value).ok_or_else(|| format!("topic `{name}` has no partition count"))?;
    let replication_factor = if service_managed_replication {
        None
    } else {
        Some(
            eff.replication_factor
                .as_ref()
                .map(|r| r.value)
                .ok_or_else(|| format!("topic `{name}` has no replication factor"))?,
        )
    };
    let mut config = BTreeMap::new();
    for (k, v) in &eff.config {
        config.insert(k.clone(), values::normalise(k, &v.value)?);
    }
    Ok(DesiredTopic { name: name.to_owned(), partitions, replication_factor, config, owner: None })
}

/// The services with a principal in `env_name`, principals expanded (an
/// unset variable was already refused by validation).
pub(crate) fn services(spec: &Spec, env_name: &str, vars: &dyn Fn(&str) -> Option<String>) -> Vec<ResolvedService> {
    spec.services
        .iter()
        .filter_map(|(name, s)| {
            let written = s.principals.get(env_name)?;
            let (principal, unset_vars) = match super::expand::expand(written, vars) {
                Ok(expanded) => (expanded, Vec::new()),
                Err(unset) => (written.clone(), unset),
            };
            Some(ResolvedService {
                name: name.clone(),
                principal,
                unset_vars,
                group: s.group(name).to_owned(),
                produces: s.produces.clone(),
                consumes: s.consumes.clone(),
                password: s.passwords.get(env_name).cloned(),
            })
        })
        .collect()
}
