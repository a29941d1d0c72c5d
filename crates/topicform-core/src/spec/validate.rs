//! Offline checks of a spec: everything that can be known without a cluster.
//! Pure: variables come in through a lookup function, findings go out with
//! YAML paths.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::expand;
use super::finding::{Finding, Pointer};
use super::model::{
    AzureCredentialKind, Cluster, Environment, EventHubsCluster, EventHubsTier, KafkaCluster, Sasl, SaslMechanism, Spec,
};
use super::resolve::{effective, Effective};
use super::tiers::{TierLimits, MAPPED_CONFIG_KEYS};
use super::values;

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
}

static TOPIC_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z0-9._-]{1,249}$").unwrap());
static HOST_PORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\[[0-9A-Fa-f:.]+\]|[^:\s/]+):[0-9]{1,5}$").unwrap());
static NAMESPACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$").unwrap());

/// True for topics Kafka and its ecosystem own (`__consumer_offsets`,
/// `_schemas`, `_confluent-*`). topicform never touches them.
pub fn is_internal_topic(name: &str) -> bool {
    name.starts_with("__") || name == "_schemas" || name.starts_with("_confluent")
}

/// Checks the whole spec, and each environment in `envs` (all when empty).
pub fn validate(spec: &Spec, envs: &[&str], vars: VarLookup, unset: UnsetVars) -> Vec<Finding> {
    let mut out = Vec::new();
    check_version(spec, &mut out);
    check_topic_names(spec, &mut out);
    check_config_values(spec, &mut out);
    for (name, env) in &spec.environments {
        if envs.is_empty() || envs.contains(&name.as_str()) {
            check_environment(spec, name, env, vars, unset, &mut out);
        }
    }
    // The same finding from several environments (a key in `defaults`) once.
    let mut seen = Vec::new();
    out.retain(|f| {
        let key = (f.severity, f.message.clone(), f.at.clone());
        let fresh = !seen.contains(&key);
        if fresh {
            seen.push(key);
        }
        fresh
    });
    out
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
                p.path.push(super::finding::Seg::Index(i));
                out.push(Finding::error(p, "empty consumer group name"));
            }
        }
    }
    for names in by_metric_name.values().filter(|n| n.len() > 1) {
        for name in &names[1..] {
            out.push(
                Finding::warning(
                    Pointer::key(["topics", *name]),
                    format!(
                        "topic `{name}` collides with `{}` in Kafka metrics (`.` and `_` map to the same name)",
                        names[0]
                    ),
                )
                .help("rename one of them; metrics and quotas of the two topics will mix"),
            );
        }
    }
}

/// Every config map in the spec, with the path it lives at.
fn config_maps(spec: &Spec) -> Vec<(Vec<String>, &indexmap::IndexMap<String, super::model::ConfigValue>)> {
    let mut maps = vec![(vec!["defaults".to_owned()], &spec.defaults.config)];
    for (name, t) in &spec.topics {
        maps.push((vec!["topics".into(), name.clone()], &t.config));
    }
    for (env_name, env) in &spec.environments {
        maps.push((vec!["environments".into(), env_name.clone(), "defaults".into()], &env.defaults.config));
        for (name, o) in &env.topics {
            maps.push((vec!["environments".into(), env_name.clone(), "topics".into(), name.clone()], &o.config));
        }
    }
    maps
}

fn check_config_values(spec: &Spec, out: &mut Vec<Finding>) {
    for (base, map) in config_maps(spec) {
        for (key, value) in map {
            // Values with `${VAR}` are checked per environment, once expanded.
            if value.0.contains("${") {
                continue;
            }
            if let Err(why) = values::normalise(key, &value.0) {
                let mut path = base.clone();
                path.extend(["config".to_owned(), key.clone()]);
                out.push(Finding::error(Pointer::value(path), format!("invalid value for `{key}`: {why}")));
            }
        }
    }
}

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
    check_variables(name, env, vars, unset, out);
    for topic in env.topics.keys() {
        if !spec.topics.contains_key(topic) {
            out.push(
                Finding::error(
                    Pointer::key(["environments", name, "topics", topic.as_str()]),
                    format!("environment `{name}` overrides `{topic}`, which is not a topic of the spec"),
                )
                .help("add it under the top-level `topics:` or fix the name"),
            );
        }
    }
    let service_managed_rf = matches!(env.cluster, Cluster::Eventhubs(_));
    let effective: Vec<(&String, Effective)> =
        spec.topics.keys().map(|t| (t, effective(spec, name, env, t, vars))).collect();
    for (topic, eff) in &effective {
        check_counts(eff, out);
        check_effective_config(name, eff, unset, out);
        if eff.partitions.is_none() {
            out.push(
                Finding::error(
                    Pointer::key(["topics", topic.as_str()]),
                    format!("topic `{topic}` has no partition count in environment `{name}`"),
                )
                .help("set `partitions` on the topic or in `defaults`"),
            );
        }
        if eff.replication_factor.is_none() && !service_managed_rf {
            out.push(
                Finding::error(
                    Pointer::key(["topics", topic.as_str()]),
                    format!("topic `{topic}` has no replication factor in environment `{name}`"),
                )
                .help("set `replicationFactor` on the topic or in `defaults`"),
            );
        }
    }
    match &env.cluster {
        Cluster::Kafka(k) => {
            check_kafka(k, &env_path, out);
            check_kafka_config_keys(&effective, out);
        }
        Cluster::Eventhubs(eh) => check_eventhubs(name, eh, &effective, &env_path, out),
    }
}

/// Config values as an environment sees them (`${VAR}` expanded): a value
/// still holding `${` names an unset variable; others must normalise. The
/// same finding from the spec-wide check is merged by `validate`.
fn check_effective_config(env_name: &str, eff: &Effective, unset: UnsetVars, out: &mut Vec<Finding>) {
    for (key, v) in &eff.config {
        if v.value.contains("${") {
            for var in expand::required_vars(&v.value) {
                out.push(unset_variable(v.at.clone(), &var, env_name, unset));
            }
        } else if let Err(why) = values::normalise(key, &v.value) {
            out.push(Finding::error(v.at.clone(), format!("invalid value for `{key}`: {why}")));
        }
    }
}

/// Partition and replica counts the Kafka protocol can carry (INT32 and
/// INT16), and at least one.
fn check_counts(eff: &Effective, out: &mut Vec<Finding>) {
    if let Some(p) = &eff.partitions {
        if p.value == 0 || p.value > i32::MAX as u32 {
            out.push(Finding::error(
                p.at.clone(),
                format!("partitions must be between 1 and {}, not {}", i32::MAX, p.value),
            ));
        }
    }
    if let Some(r) = &eff.replication_factor {
        if r.value == 0 || r.value > i16::MAX as u16 {
            out.push(Finding::error(
                r.at.clone(),
                format!("replicationFactor must be between 1 and {}, not {}", i16::MAX, r.value),
            ));
        }
    }
}

/// Warns about unknown keys at the place they are written (repeats are
/// merged by `validate`), with the nearest known key when it looks like a typo.
fn check_kafka_config_keys(topics: &[(&String, Effective)], out: &mut Vec<Finding>) {
    for (_, eff) in topics {
        for (key, v) in &eff.config {
            if super::kafka_configs::TOPIC_CONFIG_KEYS.contains(&key.as_str()) {
                continue;
            }
            let at = Pointer { at_key: true, ..v.at.clone() };
            let finding = Finding::warning(at, format!("`{key}` is not a Kafka topic config"));
            out.push(match super::kafka_configs::suggestion(key) {
                Some(near) => {
                    finding.help(format!("did you mean `{near}`? The broker will reject unknown keys at apply"))
                }
                None => finding.help("the broker will reject it at apply unless a plugin defines it"),
            });
        }
    }
}

/// Non-secret strings of an environment that may hold `${VAR}`, with paths.
pub fn expandable_strings(env: &Environment) -> Vec<(Vec<&'static str>, &String)> {
    let mut out: Vec<(Vec<&'static str>, &String)> = Vec::new();
    if let Some(id) = &env.cluster_id {
        out.push((vec!["clusterId"], id));
    }
    match &env.cluster {
        Cluster::Kafka(k) => {
            for s in &k.bootstrap_servers {
                out.push((vec!["cluster", "bootstrapServers"], s));
            }
            if let Some(tls) = &k.tls {
                out.extend(tls.ca_file.iter().map(|s| (vec!["cluster", "tls", "caFile"], s)));
                out.extend(tls.cert_file.iter().map(|s| (vec!["cluster", "tls", "certFile"], s)));
            }
        }
        Cluster::Eventhubs(eh) => {
            out.push((vec!["cluster", "namespace"], &eh.namespace));
            out.push((vec!["cluster", "subscriptionId"], &eh.subscription_id));
            out.push((vec!["cluster", "resourceGroup"], &eh.resource_group));
            out.extend(eh.arm_endpoint.iter().map(|s| (vec!["cluster", "armEndpoint"], s)));
            out.extend(eh.authority_host.iter().map(|s| (vec!["cluster", "authorityHost"], s)));
            for s in eh.bootstrap_servers.iter().flatten() {
                out.push((vec!["cluster", "bootstrapServers"], s));
            }
            if let Some(m) = &eh.management {
                out.extend(m.tenant_id.iter().map(|s| (vec!["cluster", "management", "tenantId"], s)));
                out.extend(m.client_id.iter().map(|s| (vec!["cluster", "management", "clientId"], s)));
            }
        }
    }
    out
}

/// An unset `${VAR}`: a warning for `validate`, an error when the
/// environment is about to be used.
fn unset_variable(at: Pointer, var: &str, env_name: &str, unset: UnsetVars) -> Finding {
    let message = format!("environment variable `{var}` is not set (used by environment `{env_name}`)");
    let finding = match unset {
        UnsetVars::Warn => Finding::warning(at, message),
        UnsetVars::Fail => Finding::error(at, message),
    };
    finding.help(format!("export {var}=... or write `${{{var}:-default}}`"))
}

fn check_variables(name: &str, env: &Environment, vars: VarLookup, unset: UnsetVars, out: &mut Vec<Finding>) {
    for (rest, text) in expandable_strings(env) {
        if let Err(missing) = expand::expand(text, vars) {
            let mut path = vec!["environments", name];
            path.extend(rest);
            for var in missing {
                out.push(unset_variable(Pointer::value(path.clone()), &var, name, unset));
            }
        }
    }
}

fn check_kafka(k: &KafkaCluster, env_path: &dyn Fn(&[&str]) -> Pointer, out: &mut Vec<Finding>) {
    if k.bootstrap_servers.is_empty() {
        out.push(
            Finding::error(env_path(&["cluster", "bootstrapServers"]), "no bootstrap servers")
                .help("list at least one `host:port`"),
        );
    }
    for s in &k.bootstrap_servers {
        if !s.contains("${") && !HOST_PORT.is_match(s) {
            out.push(
                Finding::error(env_path(&["cluster", "bootstrapServers"]), format!("`{s}` is not `host:port`"))
                    .help("write e.g. `localhost:9092`, without a scheme"),
            );
        }
    }
    if let Some(sasl) = &k.sasl {
        let needs_password =
            matches!(sasl.mechanism, SaslMechanism::Plain | SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512);
        if needs_password && (sasl.username.is_none() || sasl.password.is_none()) {
            out.push(
                Finding::error(
                    env_path(&["cluster", "sasl"]),
                    format!("SASL {} needs `username` and `password`", sasl.mechanism.as_str()),
                )
                .help("write `username: { env: NAME }` and `password: { env: NAME }`"),
            );
        }
        check_kafka_oauth(sasl, env_path, out);
    }
    for key in k.client_config.keys() {
        if let Some(owner) = super::kafka_configs::client_property_owner(key) {
            out.push(
                Finding::error(
                    env_path(&["cluster", "clientConfig", key.as_str()]),
                    format!("`{key}` cannot be set in clientConfig: it comes from {owner}"),
                )
                .help("remove it from clientConfig; set TLS with `tls:` and authentication with `sasl:`"),
            );
        }
    }
}

/// OAUTHBEARER on `type: kafka` needs a token source: an OIDC token
/// endpoint with client id and secret, or an Entra ID credential; and only
/// OAUTHBEARER takes an `oauth` block.
fn check_kafka_oauth(sasl: &Sasl, env_path: &dyn Fn(&[&str]) -> Pointer, out: &mut Vec<Finding>) {
    let oauth = match (&sasl.oauth, sasl.mechanism) {
        (None, SaslMechanism::OauthBearer) => {
            out.push(
                Finding::error(env_path(&["cluster", "sasl"]), "SASL OAUTHBEARER needs an `oauth` block")
                    .help("write `oauth: { tokenEndpoint: https://..., clientId: ..., clientSecret: { env: NAME }, scope: ... }` or `oauth: { credential: workloadIdentity, scope: ... }`"),
            );
            return;
        }
        (Some(_), m) if m != SaslMechanism::OauthBearer => {
            out.push(
                Finding::error(
                    env_path(&["cluster", "sasl", "oauth"]),
                    format!("`oauth` applies to OAUTHBEARER, not {}", m.as_str()),
                )
                .help("remove `oauth`, or set `mechanism: OAUTHBEARER`"),
            );
            return;
        }
        (Some(o), _) => o,
        (None, _) => return,
    };
    let path = || env_path(&["cluster", "sasl", "oauth"]);
    match (&oauth.token_endpoint, oauth.credential) {
        (Some(_), Some(_)) => out.push(
            Finding::error(path(), "`tokenEndpoint` and `credential` exclude each other")
                .help("use tokenEndpoint for a generic OIDC provider, credential for Entra ID"),
        ),
        (None, None) => out.push(
            Finding::error(path(), "names no token source")
                .help("set `tokenEndpoint` (OIDC client credentials) or `credential` (Entra ID)"),
        ),
        (Some(_), None) if oauth.client_id.is_none() || oauth.client_secret.is_none() => out.push(
            Finding::error(path(), "an OIDC `tokenEndpoint` needs `clientId` and `clientSecret`")
                .help("write `clientId: NAME` and `clientSecret: { env: NAME }`"),
        ),
        (None, Some(AzureCredentialKind::ClientSecret)) if oauth.client_secret.is_none() => out.push(
            Finding::error(path(), "credential `clientSecret` needs `clientSecret`")
                .help("write `clientSecret: { env: AZURE_CLIENT_SECRET }`"),
        ),
        _ => {}
    }
    if oauth.credential.is_some() && oauth.scope.is_none() {
        out.push(
            Finding::error(path(), "an Entra ID credential for Kafka needs a `scope`")
                .help("write the broker's application scope, e.g. `scope: api://kafka/.default`"),
        );
    }
}

fn check_eventhubs(
    env_name: &str,
    eh: &EventHubsCluster,
    topics: &[(&String, Effective)],
    env_path: &dyn Fn(&[&str]) -> Pointer,
    out: &mut Vec<Finding>,
) {
    let limits = TierLimits::of(eh.tier);
    let tier = eh.tier;
    if !eh.namespace.contains("${") && !NAMESPACE.is_match(&eh.namespace) {
        out.push(
            Finding::error(env_path(&["cluster", "namespace"]), format!("`{}` is not a valid Event Hubs namespace name", eh.namespace))
                .help("6-50 characters: letters, digits and hyphens, starting with a letter and ending with a letter or digit"),
        );
    }
    if !limits.kafka_endpoint {
        out.push(
            Finding::error(env_path(&["cluster", "tier"]), "Event Hubs Basic tier has no Kafka endpoint")
                .help("use standard or higher"),
        );
    }
    let capacity = eh.capacity.unwrap_or(1);
    let max_hubs = limits.max_hubs(capacity);
    if topics.len() as u64 > max_hubs as u64 {
        let scale = if limits.hubs_scale_with_capacity {
            format!(" with {capacity} processing unit(s)")
        } else {
            String::new()
        };
        out.push(
            Finding::error(
                env_path(&["cluster", "tier"]),
                format!(
                    "{} topics exceed the {tier} tier's limit of {max_hubs} event hubs per namespace{scale} (environment `{env_name}`)",
                    topics.len()
                ),
            )
            .help(match tier {
                EventHubsTier::Basic | EventHubsTier::Standard => "use premium (100 event hubs per processing unit) or split the topics across namespaces",
                _ => "raise `capacity` or split the topics across namespaces",
            }),
        );
    }
    if let Some(max) = limits.max_namespace_partitions(capacity) {
        let total: u64 = topics.iter().filter_map(|(_, eff)| eff.partitions.as_ref()).map(|p| u64::from(p.value)).sum();
        if total > max {
            out.push(
                Finding::error(
                    env_path(&["cluster", "capacity"]),
                    format!(
                        "{total} partitions exceed the {tier} tier's {max} partitions per namespace with {capacity} unit(s) (environment `{env_name}`)"
                    ),
                )
                .help(format!(
                    "set `capacity: {}` or fewer partitions",
                    total.div_ceil(u64::from(limits.partitions_per_unit.unwrap_or(1)))
                )),
            );
        }
    }
    check_eventhubs_auth(eh, env_path, out);
    for (topic, eff) in topics {
        check_eventhubs_topic(topic, eff, eh.tier, &limits, out);
    }
}

fn check_eventhubs_auth(eh: &EventHubsCluster, env_path: &dyn Fn(&[&str]) -> Pointer, out: &mut Vec<Finding>) {
    if let Some(k) = &eh.kafka {
        match k.mechanism {
            SaslMechanism::Plain if k.connection_string.is_none() => out.push(
                Finding::error(env_path(&["cluster", "kafka"]), "Event Hubs PLAIN needs a `connectionString`")
                    .help("write `connectionString: { env: EVENTHUBS_CONNECTION_STRING }`"),
            ),
            SaslMechanism::OauthBearer if k.credential.is_none() => out.push(
                Finding::error(env_path(&["cluster", "kafka"]), "Event Hubs OAUTHBEARER needs a `credential`")
                    .help("write `credential: workloadIdentity` (or managedIdentity, clientSecret, azureCli)"),
            ),
            SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512 => out.push(
                Finding::error(env_path(&["cluster", "kafka", "mechanism"]), "Event Hubs does not support SCRAM")
                    .help("use PLAIN with a connection string or OAUTHBEARER with Entra ID"),
            ),
            _ => {}
        }
    }
    if let Some(m) = &eh.management {
        if m.credential == AzureCredentialKind::ClientSecret && m.client_secret.is_none() {
            out.push(
                Finding::error(env_path(&["cluster", "management"]), "credential `clientSecret` needs `clientSecret`")
                    .help("write `clientSecret: { env: AZURE_CLIENT_SECRET }`"),
            );
        }
    }
}

fn check_eventhubs_topic(
    topic: &str,
    eff: &Effective,
    tier: EventHubsTier,
    limits: &TierLimits,
    out: &mut Vec<Finding>,
) {
    let starts_ok = topic.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    let ends_ok = topic.chars().last().is_some_and(|c| c.is_ascii_alphanumeric());
    if !(starts_ok && ends_ok) {
        out.push(
            Finding::error(Pointer::key(["topics", topic]), format!("`{topic}` is not a valid event hub name"))
                .help("on Event Hubs a topic name starts and ends with a letter or digit"),
        );
    }
    if let Some(p) = &eff.partitions {
        if p.value > limits.max_partitions {
            out.push(
                Finding::error(
                    p.at.clone(),
                    format!(
                        "{} partitions exceed the {tier} tier's limit of {} for `{topic}`",
                        p.value, limits.max_partitions
                    ),
                )
                .help(if tier == EventHubsTier::Dedicated {
                    "lower the partition count"
                } else {
                    "lower the partition count or use a higher tier"
                }),
            );
        }
    }
    let compact = eff.config.get("cleanup.policy").is_some_and(|v| {
        values::normalise("cleanup.policy", &v.value).is_ok_and(|n| n.split(',').any(|p| p == "compact"))
    });
    for (key, v) in &eff.config {
        if !MAPPED_CONFIG_KEYS.contains(&key.as_str()) {
            out.push(
                Finding::error(v.at.clone(), format!("config `{key}` of `{topic}` has no Event Hubs equivalent"))
                    .help("Event Hubs maps only retention.ms, cleanup.policy and delete.retention.ms; move other keys to a Kafka environment's overrides"),
            );
            continue;
        }
        match key.as_str() {
            "cleanup.policy" => {
                let norm = values::normalise(key, &v.value).unwrap_or_default();
                if norm != "delete" && norm != "compact" {
                    out.push(
                        Finding::error(
                            v.at.clone(),
                            format!("cleanup.policy `{}` is not available on Event Hubs", v.value),
                        )
                        .help("use `delete` or `compact`"),
                    );
                } else if norm == "compact" && !limits.compaction {
                    out.push(
                        Finding::error(v.at.clone(), format!("the {tier} tier has no log compaction"))
                            .help("use standard or higher"),
                    );
                }
            }
            "retention.ms" | "delete.retention.ms" => check_hours(topic, key, v, compact, tier, limits, out),
            _ => {}
        }
    }
}

fn check_hours(
    topic: &str,
    key: &str,
    v: &super::resolve::Sourced<String>,
    compact: bool,
    tier: EventHubsTier,
    limits: &TierLimits,
    out: &mut Vec<Finding>,
) {
    let Ok(ms) = values::parse_duration_ms(&v.value) else {
        return;
    };
    if ms == -1 {
        if key == "retention.ms" && !compact {
            out.push(
                Finding::error(
                    v.at.clone(),
                    format!("infinite retention of `{topic}` needs `cleanup.policy: compact` on Event Hubs"),
                )
                .help(format!("set a retention of at most {}h", limits.max_retention_hours)),
            );
        }
        return;
    }
    if ms % 3_600_000 != 0 || ms == 0 {
        out.push(
            Finding::error(v.at.clone(), format!("{key} `{}` of `{topic}` is not a whole number of hours", v.value))
                .help("Event Hubs keeps retention in hours: write e.g. `36h` or `7d`"),
        );
        return;
    }
    let hours = ms / 3_600_000;
    if key == "retention.ms" && hours > limits.max_retention_hours {
        out.push(
            Finding::error(
                v.at.clone(),
                format!(
                    "retention of `{topic}` ({hours}h) exceeds the {tier} tier's maximum of {}h",
                    limits.max_retention_hours
                ),
            )
            .help("shorten the retention or use a higher tier"),
        );
    }
}
