//! The broker environment contract (DESIGN section 5): the variables a
//! service needs to reach an environment's cluster. `topicform env` renders
//! them and the Helm charts inject the same set. Pure: secrets stay
//! references here.

use super::model::{Cluster, SaslMechanism, SecretRef};

/// Bootstrap servers, `host:port,host:port`.
pub const KAFKA_BROKERS: &str = "KAFKA_BROKERS";
/// `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
pub const KAFKA_SECURITY_PROTOCOL: &str = "KAFKA_SECURITY_PROTOCOL";
/// `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` or `OAUTHBEARER`.
pub const KAFKA_SASL_MECHANISM: &str = "KAFKA_SASL_MECHANISM";
/// SASL user name (`$ConnectionString` on Event Hubs PLAIN).
pub const KAFKA_SASL_USERNAME: &str = "KAFKA_SASL_USERNAME";
/// SASL password (the connection string on Event Hubs PLAIN).
pub const KAFKA_SASL_PASSWORD: &str = "KAFKA_SASL_PASSWORD";
/// Optional, beyond section 5: the OAUTHBEARER scope for `check --from-env`
/// against a non-Event Hubs broker (Event Hubs derives it from the host).
pub const KAFKA_SASL_OAUTHBEARER_SCOPE: &str = "KAFKA_SASL_OAUTHBEARER_SCOPE";

/// The user name Event Hubs expects with a connection string as password.
pub const EVENT_HUBS_PLAIN_USERNAME: &str = "$ConnectionString";

/// A variable's value: text, or a secret kept as a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    /// Not secret; rendered as is.
    Plain(String),
    /// Secret; rendered as a reference unless revealed.
    Secret(SecretRef),
}

/// One variable of the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// Variable name, one of the `KAFKA_*` constants.
    pub name: &'static str,
    /// Its value.
    pub value: EnvValue,
}

fn plain(name: &'static str, value: impl Into<String>) -> EnvVar {
    EnvVar { name, value: EnvValue::Plain(value.into()) }
}

fn secret(name: &'static str, reference: &SecretRef) -> EnvVar {
    EnvVar { name, value: EnvValue::Secret(reference.clone()) }
}

/// The variables for `cluster` (already `${VAR}`-expanded), in contract
/// order. Variables the table leaves unset are absent.
pub fn broker_env(cluster: &Cluster) -> Vec<EnvVar> {
    match cluster {
        Cluster::Kafka(k) => {
            let protocol = match (k.tls.is_some(), k.sasl.is_some()) {
                (false, false) => "PLAINTEXT",
                (true, false) => "SSL",
                (false, true) => "SASL_PLAINTEXT",
                (true, true) => "SASL_SSL",
            };
            let mut vars =
                vec![plain(KAFKA_BROKERS, k.bootstrap_servers.join(",")), plain(KAFKA_SECURITY_PROTOCOL, protocol)];
            if let Some(sasl) = &k.sasl {
                vars.push(plain(KAFKA_SASL_MECHANISM, sasl.mechanism.as_str()));
                if sasl.mechanism != SaslMechanism::OauthBearer {
                    vars.extend(sasl.username.iter().map(|u| secret(KAFKA_SASL_USERNAME, u)));
                    vars.extend(sasl.password.iter().map(|p| secret(KAFKA_SASL_PASSWORD, p)));
                }
            }
            vars
        }
        Cluster::Eventhubs(eh) => {
            let mechanism = eh.kafka.as_ref().map_or(SaslMechanism::OauthBearer, |k| k.mechanism);
            let mut vars = vec![
                plain(KAFKA_BROKERS, eh.kafka_bootstrap().join(",")),
                plain(KAFKA_SECURITY_PROTOCOL, "SASL_SSL"),
                plain(KAFKA_SASL_MECHANISM, mechanism.as_str()),
            ];
            if mechanism == SaslMechanism::Plain {
                vars.push(plain(KAFKA_SASL_USERNAME, EVENT_HUBS_PLAIN_USERNAME));
                if let Some(cs) = eh.kafka.as_ref().and_then(|k| k.connection_string.as_ref()) {
                    vars.push(secret(KAFKA_SASL_PASSWORD, cs));
                }
            }
            vars
        }
    }
}
