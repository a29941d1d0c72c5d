//! The workflows behind the subcommands, independent of clap and of output:
//! load → resolve → connect → observe → plan → (confirm) → apply, and export.
//! The CLI decides what to print; these functions decide what happens.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use regex::Regex;

use crate::backend::{ConnectedBackend, Scope};
use crate::telemetry;
use crate::{Error, Result};
use topicform_core::plan::{self, ClusterState, Plan, PlanOptions};
use topicform_core::policy::LoadedPolicy;
use topicform_core::spec::model::{ConfigValue, Environment, Spec, Topic, TopicSettings};
use topicform_core::spec::{
    is_internal_topic, values, Contributed, LoadedSpec, Located, ResolvedEnvironment, VarLookup,
};

/// Reads and parses the spec at `path`; its waivers are judged on today's
/// date (UTC).
pub fn load_spec(path: &Path) -> Result<LoadedSpec> {
    load_spec_with_policies(path, &[])
}

/// [`load_spec`], checked against the shared policy files `policies` as
/// well as its own `policy:` (validate, plan, apply, the controller).
pub fn load_spec_with_policies(path: &Path, policies: &[PathBuf]) -> Result<LoadedSpec> {
    try_load_spec(path, policies)?.map_err(Error::from)
}

/// A spec or policy file that was read but does not load (YAML, keys,
/// types, a rule that cannot work), with the located reasons: what
/// `validate -o sarif` reports as results rather than only as an error.
#[derive(Debug)]
pub struct Unloadable {
    /// The file's name as the user gave it.
    pub name: String,
    /// Its text.
    pub source: Arc<String>,
    /// Why it does not load; at least one is an error.
    pub found: Vec<Located>,
}

impl From<Box<topicform_core::spec::ParseFailure>> for Unloadable {
    fn from(f: Box<topicform_core::spec::ParseFailure>) -> Self {
        Unloadable { name: f.name, source: f.source, found: vec![f.problem] }
    }
}

impl From<Unloadable> for Error {
    fn from(u: Unloadable) -> Self {
        Error::invalid_spec(&u.name, &u.source, &u.found)
    }
}

/// [`load_spec_with_policies`] that keeps a file that does not load apart
/// from one that cannot be read (the outer error).
pub fn try_load_spec(path: &Path, policies: &[PathBuf]) -> Result<std::result::Result<LoadedSpec, Unloadable>> {
    let bytes = std::fs::read(path).map_err(|source| Error::ReadSpec { path: path.to_owned(), source })?;
    let text = utf8(bytes).map_err(|problem| Error::SpecEncoding { path: path.display().to_string(), problem })?;
    let loaded = match topicform_core::spec::parse(&path.display().to_string(), &text) {
        Ok(loaded) => loaded,
        Err(f) => return Ok(Err(f.into())),
    };
    let mut shared = Vec::with_capacity(policies.len());
    for path in policies {
        match load_policy(path)? {
            Ok(policy) => shared.push(policy),
            Err(unloadable) => return Ok(Err(unloadable)),
        }
    }
    Ok(Ok(loaded.with_policies(shared, today())))
}

/// Reads a shared policy file; a rule that cannot work (a pattern that
/// does not compile) is an error at its place.
fn load_policy(path: &Path) -> Result<std::result::Result<LoadedPolicy, Unloadable>> {
    let read_error = |problem: String| Error::ReadPolicy { path: path.to_owned(), problem };
    let bytes = std::fs::read(path).map_err(|e| read_error(e.to_string()))?;
    let text = utf8(bytes).map_err(read_error)?;
    let name = path.display().to_string();
    let policy = match topicform_core::policy::parse_policy(&name, &text) {
        Ok(policy) => policy,
        Err(f) => return Ok(Err(f.into())),
    };
    let problems = policy.problems();
    if problems.iter().any(|l| l.finding.is_error()) {
        return Ok(Err(Unloadable { name, source: policy.source().text.clone(), found: problems }));
    }
    Ok(Ok(policy))
}

/// Today in UTC: the day a waiver's `expires` is compared with.
pub fn today() -> jiff::civil::Date {
    jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date()
}

/// The spec's text, or where and why it is not UTF-8: a UTF-16 or UTF-32
/// file (as some Windows editors save) by its byte order mark, any other
/// invalid byte by its offset, line and column.
fn utf8(bytes: Vec<u8>) -> std::result::Result<String, String> {
    for (bom, encoding) in [
        (&[0x00, 0x00, 0xFE, 0xFF][..], "UTF-32 (big-endian)"),
        (&[0xFF, 0xFE, 0x00, 0x00][..], "UTF-32 (little-endian)"),
        (&[0xFE, 0xFF][..], "UTF-16 (big-endian)"),
        (&[0xFF, 0xFE][..], "UTF-16 (little-endian)"),
    ] {
        if bytes.starts_with(bom) {
            return Err(format!("it is {encoding} (byte order mark at byte 0)"));
        }
    }
    let mut text = String::from_utf8(bytes).map_err(|e| {
        let (bytes, e) = (e.as_bytes(), e.utf8_error());
        let valid = &bytes[..e.valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&valid[line_start..]).chars().count() + 1;
        format!("byte {} (line {line}, column {column}) is not valid UTF-8", e.valid_up_to())
    })?;
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

/// Picks and resolves one environment for a command that grants nothing
/// (`env`, `check`, `lag`, `export`): the services' principals may use
/// unset variables (warnings). Returns it with its warnings.
pub fn resolve_env_without_access(
    loaded: &LoadedSpec,
    env: Option<&str>,
    vars: VarLookup,
) -> Result<(ResolvedEnvironment, Vec<Located>)> {
    let name = environment_name(loaded, env)?;
    loaded.resolve_without_access(name, vars).map_err(|found| Error::invalid_spec(&loaded.name, &loaded.source, &found))
}

/// Picks and resolves one environment for a command that grants (plan,
/// apply, the controller), with the topics ConfigMaps contribute merged in.
pub fn resolve_env_with(
    loaded: &LoadedSpec,
    env: Option<&str>,
    vars: VarLookup,
    contributed: &[Contributed],
) -> Result<(ResolvedEnvironment, Vec<Located>)> {
    let name = environment_name(loaded, env)?;
    loaded
        .resolve_with(name, vars, contributed)
        .map_err(|found| Error::invalid_spec(&loaded.name, &loaded.source, &found))
}

/// Resolves environment `env` for plan, apply and the controller: where
/// the spec reads topics from Kubernetes (`from:`), the ConfigMaps' topics
/// are fetched and merged in. Returns the contributions too (their owners'
/// objects, for Events).
pub async fn resolve_contributed(
    loaded: &LoadedSpec,
    env: Option<&str>,
    vars: VarLookup<'_>,
    timeout: std::time::Duration,
) -> Result<(ResolvedEnvironment, Vec<Located>, Option<crate::k8s::contributions::Contributions>)> {
    let name = environment_name(loaded, env)?;
    let contributions = match loaded.kubernetes_source(name, vars) {
        Some(source) => Some(crate::k8s::contributions::fetch(&source, timeout).await?),
        None => None,
    };
    let documents = contributions.as_ref().map_or(&[][..], |c| c.documents.as_slice());
    let (env, warnings) = resolve_env_with(loaded, Some(name), vars, documents)?;
    Ok((env, warnings, contributions))
}

/// The environment `env` names, refused when the spec has no such one.
pub fn environment_name<'a>(loaded: &LoadedSpec, env: Option<&'a str>) -> Result<&'a str> {
    let known = loaded.environment_names().join(", ");
    let name = env.ok_or_else(|| Error::NoEnvironment { known: known.clone() })?;
    if !loaded.spec.environments.contains_key(name) {
        return Err(Error::UnknownEnvironment { name: name.to_owned(), file: loaded.name.clone(), known });
    }
    Ok(name)
}

/// Refuses a cluster whose id differs from the environment's pin.
pub fn check_cluster_id(env: &ResolvedEnvironment, state: &ClusterState) -> Result<()> {
    match (&env.cluster_id, &state.cluster_id) {
        (Some(expected), actual) if Some(expected) != actual.as_ref() => Err(Error::ClusterIdMismatch {
            env: env.name.clone(),
            expected: expected.clone(),
            actual: actual.clone().unwrap_or_else(|| "(none)".into()),
        }),
        _ => Ok(()),
    }
}

/// Observes the cluster and plans `env` against it.
pub async fn make_plan(
    backend: &ConnectedBackend,
    env: &ResolvedEnvironment,
    options: PlanOptions,
) -> Result<(Plan, ClusterState)> {
    let scope = Scope {
        topics: Some(env.topics.iter().map(|t| t.name.clone()).collect()),
        config_keys: env.config_keys(),
        grants: !env.services.is_empty(),
    };
    let state = telemetry::phase("observe", backend.observe(&scope)).await?;
    tracing::info!(
        environment = %env.name,
        cluster_id = state.cluster_id.as_deref().unwrap_or(""),
        brokers = state.broker_count,
        topics = state.topics.len(),
        "observed the cluster"
    );
    check_cluster_id(env, &state)?;
    let plan = telemetry::phase("plan", async {
        let mut plan = plan::plan(env, &state, &backend.capabilities(), options);
        // What the cluster itself would refuse (a config value only the
        // broker knows is wrong, a partition count over its limit) is
        // refused here, before apply could make half the changes.
        plan.refuse(backend.refusals(&plan).await);
        Ok::<_, Error>(plan)
    })
    .await?;
    if let Some(m) = telemetry::metrics() {
        m.plan(&plan);
    }
    let s = &plan.summary;
    tracing::info!(
        create = s.create,
        update = s.update,
        delete = s.delete,
        unchanged = s.unchanged,
        refused = s.refused,
        unmanaged = s.unmanaged,
        "planned"
    );
    Ok((plan, state))
}

/// Each refused topic's reasons as error events, so JSON logs (a Job's, the
/// controller's) say which topic and why, not only how many.
pub fn log_refusals(plan: &Plan) {
    for topic in plan.topics.iter().filter(|t| t.action == plan::Action::Refused) {
        for reason in &topic.reasons {
            tracing::error!(topic = %topic.topic, reason = %reason, "refused");
        }
    }
}

/// Each refused contributed declaration as an error event, both owners named.
pub fn log_conflicts(conflicts: &[topicform_core::spec::Conflict]) {
    for c in conflicts {
        tracing::error!(topic = %c.topic, kept = %c.kept, refused = %c.refused, "ResourceConflict: {}", c.describe());
    }
}

/// Reads a plan written by `plan --out` (before connecting: a file that is
/// not a plan is refused at once).
pub fn read_plan(path: &Path) -> Result<Plan> {
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::ReadPlan { path: shown.clone(), reason: e.to_string() })?;
    let plan: Plan =
        serde_json::from_str(&text).map_err(|e| Error::ReadPlan { path: shown.clone(), reason: e.to_string() })?;
    if plan.format_version != plan::FORMAT_VERSION {
        return Err(Error::ReadPlan {
            path: shown,
            reason: format!("format version {} is not {}", plan.format_version, plan::FORMAT_VERSION),
        });
    }
    Ok(plan)
}

/// Proves that `saved` (read from `path` by [`read_plan`]) is still exactly
/// what `plan` would say now: same environment and cluster, the flags it was made
/// with given again, the same observed state of its topics, and the same
/// actions when re-planned. The re-computed plan is what gets applied, so an
/// edited plan file can never smuggle in a refused change or a delete.
pub async fn saved_plan(
    path: &Path,
    saved: Plan,
    backend: &ConnectedBackend,
    env: &ResolvedEnvironment,
    flags: PlanOptions,
) -> Result<Plan> {
    let stale = |reason: String| Error::StalePlan { path: path.display().to_string(), reason };
    if saved.environment != env.name {
        return Err(stale(format!("it was made for environment `{}`, not `{}`", saved.environment, env.name)));
    }
    for (needed, given, flag) in [
        (saved.options.allow_delete, flags.allow_delete, "--allow-delete"),
        (saved.options.prune_config, flags.prune_config, "--prune-config"),
    ] {
        if needed && !given {
            return Err(Error::PlanNeedsFlag { path: path.display().to_string(), flag: flag.into() });
        }
    }
    let (fresh, state) = make_plan(backend, env, saved.options).await?;
    if saved.cluster_id != state.cluster_id {
        return Err(stale(format!(
            "it was made against cluster {}, this is {}",
            saved.cluster_id.as_deref().unwrap_or("(unknown)"),
            state.cluster_id.as_deref().unwrap_or("(unknown)")
        )));
    }
    if saved.state_fingerprint != saved.fingerprint_of(&state) {
        return Err(stale("the topics it changes were changed on the cluster since the plan was made".into()));
    }
    if fresh.topics != saved.topics {
        return Err(stale(
            "planning the spec again gives different changes (the spec or the plan file changed)".into(),
        ));
    }
    // Grants are not in the fingerprint: any change of the grants the plan
    // makes or revokes makes it stale (others' grants may come and go).
    let acl_changes = |p: &Plan| {
        p.access.as_ref().map(|a| {
            a.grants
                .iter()
                .filter(|g| g.action != plan::Action::Unchanged)
                .map(|g| (g.action, g.grant.clone()))
                .collect::<Vec<_>>()
        })
    };
    if acl_changes(&fresh) != acl_changes(&saved) {
        return Err(stale("the ACLs it creates or deletes are no longer what the cluster needs".into()));
    }
    Ok(fresh)
}

/// Filters for `export`.
#[derive(Debug, Default)]
pub struct ExportFilter {
    /// Only topics matching this.
    pub include: Option<Regex>,
    /// Not topics matching this.
    pub exclude: Option<Regex>,
}

impl ExportFilter {
    /// Whether `topic` is exported.
    pub fn keeps(&self, topic: &str) -> bool {
        self.include.as_ref().is_none_or(|r| r.is_match(topic))
            && self.exclude.as_ref().is_none_or(|r| !r.is_match(topic))
    }
}

/// Writes a spec for the cluster's topics: partitions, replication and the
/// configs set on each topic (broker defaults left out). The most common
/// partition count and replication factor become `defaults`, so the spec
/// lists only what differs. Planning the result against the same cluster is
/// in sync.
pub fn export(env_name: &str, env: &Environment, state: &ClusterState, filter: &ExportFilter) -> Spec {
    let selected: Vec<_> =
        state.topics.values().filter(|t| !is_internal_topic(&t.name)).filter(|t| filter.keeps(&t.name)).collect();
    let partitions = most_common(selected.iter().map(|t| t.partitions));
    let replication = most_common(selected.iter().filter_map(|t| t.replication_factor));
    let mut topics = IndexMap::new();
    for t in selected {
        let config = t
            .overrides()
            .map(|(k, v)| {
                let shown = match (values::is_duration_key(k), v.parse::<i64>()) {
                    (true, Ok(ms)) => values::format_duration_ms(ms),
                    _ => v.clone(),
                };
                (k.clone(), ConfigValue(shown))
            })
            .collect();
        topics.insert(
            t.name.clone(),
            Topic {
                description: None,
                partitions: (Some(t.partitions) != partitions).then_some(t.partitions),
                replication_factor: t.replication_factor.filter(|rf| Some(*rf) != replication),
                config,
                consumers: vec![],
                waivers: vec![],
            },
        );
    }
    let mut exported_env = env.clone();
    exported_env.defaults = TopicSettings::default();
    exported_env.topics = IndexMap::new();
    // The cluster's topics as one standalone spec: contributed ones too.
    exported_env.from = None;
    Spec {
        version: 1,
        defaults: TopicSettings { partitions, replication_factor: replication, config: IndexMap::new() },
        environments: IndexMap::from([(env_name.to_owned(), exported_env)]),
        topics,
        from: None,
        services: Default::default(),
        policy: Default::default(),
    }
}

fn most_common<T: Ord + Copy>(items: impl Iterator<Item = T>) -> Option<T> {
    let mut counts = std::collections::BTreeMap::new();
    for i in items {
        *counts.entry(i).or_insert(0usize) += 1;
    }
    counts.into_iter().max_by_key(|(value, n)| (*n, std::cmp::Reverse(*value))).map(|(v, _)| v)
}
