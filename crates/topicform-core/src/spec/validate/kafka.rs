//! Checks of a `type: kafka` environment: the connection block, that every
//! topic has a replication factor, and that config keys are Kafka's.

use std::sync::LazyLock;

use regex::Regex;

use super::super::finding::{Finding, Pointer};
use super::super::kafka_configs;
use super::super::model::{AzureCredentialKind, KafkaCluster, Sasl, SaslMechanism};
use super::super::resolve::Effective;
use super::super::values;

static HOST_PORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\[[0-9A-Fa-f:.]+\]|[^:\s/]+):[0-9]{1,5}$").unwrap());

/// Checks environment `env_name`, whose cluster is `k`, and its merged topics.
pub(super) fn check(
    env_name: &str,
    k: &KafkaCluster,
    topics: &[(&String, Effective)],
    env_path: &dyn Fn(&[&str]) -> Pointer,
    out: &mut Vec<Finding>,
) {
    check_connection(k, env_path, out);
    check_replication_factors(env_name, topics, out);
    check_partition_counts(topics, out);
    check_config_keys(topics, out);
    check_config_values(topics, out);
}

fn check_connection(k: &KafkaCluster, env_path: &dyn Fn(&[&str]) -> Pointer, out: &mut Vec<Finding>) {
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
        check_oauth(sasl, env_path, out);
    }
    for key in k.client_config.keys() {
        if let Some(owner) = kafka_configs::client_property_owner(key) {
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
fn check_oauth(sasl: &Sasl, env_path: &dyn Fn(&[&str]) -> Pointer, out: &mut Vec<Finding>) {
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

/// Kafka needs a replication factor for every topic (Event Hubs manages its own).
fn check_replication_factors(env_name: &str, topics: &[(&String, Effective)], out: &mut Vec<Finding>) {
    for (topic, _) in topics.iter().filter(|(_, eff)| eff.replication_factor.is_none()) {
        out.push(
            Finding::error(
                Pointer::key(["topics", topic.as_str()]),
                format!("topic `{topic}` has no replication factor in environment `{env_name}`"),
            )
            .help("set `replicationFactor` on the topic or in `defaults`"),
        );
    }
}

/// librdkafka, through which topicform creates and grows topics, encodes
/// at most this many partitions per topic (`rd_kafka_NewTopic_new`).
const MOST_PARTITIONS: u32 = 100_000;

fn check_partition_counts(topics: &[(&String, Effective)], out: &mut Vec<Finding>) {
    for (topic, eff) in topics {
        if let Some(p) = eff.partitions.as_ref().filter(|p| p.value > MOST_PARTITIONS) {
            out.push(
                Finding::error(p.at.clone(), format!("topic `{topic}`: {} partitions is more than {MOST_PARTITIONS}", p.value))
                    .help("the Kafka client library topicform uses sends at most 100,000 partitions per topic; far fewer is usual (partitions cost broker memory and file handles)"),
            );
        }
    }
}

/// Refuses values Kafka would refuse (types, ranges, enums), where they are
/// written, so a typo fails `validate` instead of half an apply. `${VAR}`
/// values are checked once expanded; one with an unset variable is reported
/// as that.
fn check_config_values(topics: &[(&String, Effective)], out: &mut Vec<Finding>) {
    for (_, eff) in topics {
        for (key, v) in eff.config.iter().filter(|(key, _)| !eff.unset_vars.contains_key(*key)) {
            let Ok(normal) = values::normalise(key, &v.value) else { continue };
            if let Err(why) = kafka_configs::check_value(key, &normal) {
                out.push(Finding::error(v.at.clone(), format!("invalid value for `{key}`: {why}")));
            }
        }
    }
}

/// Warns about unknown keys at the place they are written (repeats are
/// merged by `validate`), with the nearest known key when it looks like a typo.
fn check_config_keys(topics: &[(&String, Effective)], out: &mut Vec<Finding>) {
    for (_, eff) in topics {
        for (key, v) in &eff.config {
            if kafka_configs::TOPIC_CONFIG_KEYS.contains(&key.as_str()) {
                continue;
            }
            let at = Pointer { at_key: true, ..v.at.clone() };
            let finding = Finding::warning(at, format!("`{key}` is not a Kafka topic config"));
            out.push(match kafka_configs::suggestion(key) {
                Some(near) => {
                    finding.help(format!("did you mean `{near}`? The broker will reject unknown keys at apply"))
                }
                None => finding.help("the broker will reject it at apply unless a plugin defines it"),
            });
        }
    }
}
