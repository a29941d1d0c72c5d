//! Checks of a `type: eventhubs` environment against its tier: namespace
//! name, authentication, event hubs and partitions per namespace, and each
//! topic's name, partitions and configs (DESIGN section 6).

use std::sync::LazyLock;

use regex::Regex;

use super::super::finding::{Finding, Pointer};
use super::super::model::{AzureCredentialKind, EventHubsCluster, EventHubsTier, SaslMechanism};
use super::super::resolve::{Effective, Sourced};
use super::super::tiers::{TierLimits, MAPPED_CONFIG_KEYS};
use super::super::values;

static NAMESPACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$").unwrap());

/// Checks environment `env_name`, whose cluster is `eh`, and its merged topics.
pub(super) fn check(
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
    check_auth(eh, env_path, out);
    for (topic, eff) in topics {
        check_topic(topic, eff, eh.tier, &limits, out);
    }
}

/// Event Hubs speaks PLAIN (with a connection string) and OAUTHBEARER (with
/// an Entra ID credential); ARM's `clientSecret` credential needs its secret.
fn check_auth(eh: &EventHubsCluster, env_path: &dyn Fn(&[&str]) -> Pointer, out: &mut Vec<Finding>) {
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

/// One topic against the tier: event hub name, partitions, and config keys
/// and values Event Hubs can hold.
fn check_topic(topic: &str, eff: &Effective, tier: EventHubsTier, limits: &TierLimits, out: &mut Vec<Finding>) {
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

/// Retention in whole hours within the tier's maximum; infinite only when
/// compacted.
fn check_hours(
    topic: &str,
    key: &str,
    v: &Sourced<String>,
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
