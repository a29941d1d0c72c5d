//! The broker environment contract (DESIGN section 5): the variables a
//! service needs to reach an environment's cluster. `topicform env` renders
//! them and the Helm charts inject the same set. Pure: secrets stay
//! references here.

use super::model::{Cluster, SaslMechanism, SecretRef};
use crate::access::ResolvedService;

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

/// Beyond section 5, with `env --service`: the service's consumer group.
pub const KAFKA_GROUP_ID: &str = "KAFKA_GROUP_ID";

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

/// The variables of one service (`topicform env --service`): the cluster's,
/// with the service's own SASL user and password in place of topicform's,
/// and its consumer group. `Err` says why the service cannot be given its
/// own: it would get topicform's credentials, which least privilege forbids.
pub fn service_env(cluster: &Cluster, service: &ResolvedService) -> Result<Vec<EnvVar>, String> {
    let mut vars = broker_env(cluster);
    let own_user = match cluster {
        Cluster::Kafka(k) => match &k.sasl {
            Some(sasl) if sasl.mechanism != SaslMechanism::OauthBearer => Some(sasl.mechanism),
            _ => None,
        },
        Cluster::Eventhubs(_) => None,
    };
    if let Some(mechanism) = own_user {
        if service.principal.is_empty() {
            return Err(format!(
                "service `{}` names no principal for this environment, so it would get topicform's own {} credentials: add its user under `principals:`",
                service.name,
                mechanism.as_str()
            ));
        }
        // Resolved for a command that grants nothing, a principal with an
        // unset variable stays as written.
        if let Some(var) = service.unset_vars.first() {
            return Err(format!(
                "the principal of service `{}` here, `{}`, uses an environment variable that is not set: export {var}",
                service.name, service.principal
            ));
        }
        let user = service.principal.split_once(':').map_or(service.principal.as_str(), |(_, name)| name);
        let password = service.password.as_ref().ok_or_else(|| {
            format!(
                "service `{}` has no password for this environment's {} user `{user}`: add it under `passwords:` as a secret reference",
                service.name,
                mechanism.as_str()
            )
        })?;
        vars.retain(|v| v.name != KAFKA_SASL_USERNAME && v.name != KAFKA_SASL_PASSWORD);
        vars.push(plain(KAFKA_SASL_USERNAME, user));
        vars.push(secret(KAFKA_SASL_PASSWORD, password));
    }
    vars.push(plain(KAFKA_GROUP_ID, service.group.clone()));
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::{KafkaCluster, Sasl};

    fn scram() -> Cluster {
        Cluster::Kafka(KafkaCluster {
            bootstrap_servers: vec!["kafka:9093".into()],
            tls: None,
            sasl: Some(Sasl {
                mechanism: SaslMechanism::ScramSha512,
                username: Some(SecretRef::Env("TOPICFORM_USER".into())),
                password: Some(SecretRef::Env("TOPICFORM_PASSWORD".into())),
                oauth: None,
            }),
            client_config: Default::default(),
        })
    }

    fn service(password: Option<SecretRef>) -> ResolvedService {
        ResolvedService {
            name: "auth-service".into(),
            principal: "User:auth".into(),
            group: "auth-service".into(),
            produces: vec![],
            consumes: vec![],
            password,
            unset_vars: Vec::new(),
        }
    }

    #[test]
    fn a_service_gets_its_own_user_and_group_never_topicforms_credentials() {
        let vars = service_env(&scram(), &service(Some(SecretRef::Env("AUTH_PASSWORD".into())))).unwrap();
        let names: Vec<(&str, &EnvValue)> = vars.iter().map(|v| (v.name, &v.value)).collect();
        assert_eq!(
            names,
            [
                (KAFKA_BROKERS, &EnvValue::Plain("kafka:9093".into())),
                (KAFKA_SECURITY_PROTOCOL, &EnvValue::Plain("SASL_PLAINTEXT".into())),
                (KAFKA_SASL_MECHANISM, &EnvValue::Plain("SCRAM-SHA-512".into())),
                (KAFKA_SASL_USERNAME, &EnvValue::Plain("auth".into())),
                (KAFKA_SASL_PASSWORD, &EnvValue::Secret(SecretRef::Env("AUTH_PASSWORD".into()))),
                (KAFKA_GROUP_ID, &EnvValue::Plain("auth-service".into())),
            ]
        );
    }

    #[test]
    fn a_sasl_service_without_a_password_is_refused() {
        let why = service_env(&scram(), &service(None)).unwrap_err();
        assert!(why.contains("no password for this environment's SCRAM-SHA-512 user `auth`"), "{why}");
    }
}
