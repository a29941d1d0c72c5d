//! How clients connect: a [`Connection`] from a spec environment or from a
//! service's `KAFKA_*` variables, and the librdkafka settings for it. Secrets
//! are read here, at the last moment, and only handed to librdkafka.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka_sys::types::RDKafka;

use super::oauthbearer::TokenSession;
use crate::auth::{self, Credential, ScopedCredential};
use crate::secret::{self, SecretString};
use crate::{Error, Result};
use topicform_core::spec::broker_env;
use topicform_core::spec::model::{Cluster, EventHubsTier, KafkaCluster, SaslMechanism};

/// Where and how a client connects, from a spec environment or from a
/// service's `KAFKA_*` variables. Secrets are read when this is built.
#[derive(Debug, Clone)]
pub struct Connection {
    /// What the target is called in the report (`environment local`, `KAFKA_* variables`).
    pub source: String,
    /// `host:port` of the bootstrap brokers.
    pub brokers: Vec<String>,
    /// Whether the connection uses TLS.
    pub tls: bool,
    /// Extra CA file to trust (besides the system store).
    pub ca_file: Option<String>,
    /// Client certificate for mutual TLS.
    pub cert_file: Option<String>,
    /// Client private key (PEM) for mutual TLS.
    pub key: Option<SecretString>,
    /// SASL mechanism, if any.
    pub mechanism: Option<SaslMechanism>,
    /// SASL user name.
    pub username: Option<SecretString>,
    /// SASL password.
    pub password: Option<SecretString>,
    /// The Event Hubs tier when the target is an Event Hubs namespace.
    pub event_hubs_tier: Option<EventHubsTier>,
    /// OAUTHBEARER token source, when the mechanism is OAUTHBEARER.
    pub oauth: Option<ScopedCredential>,
    /// The spec's `clientConfig` (validated: no security settings).
    pub extra: Vec<(String, String)>,
}

impl Connection {
    /// The security protocol name.
    pub fn protocol(&self) -> &'static str {
        match (self.tls, self.mechanism.is_some()) {
            (false, false) => "PLAINTEXT",
            (true, false) => "SSL",
            (false, true) => "SASL_PLAINTEXT",
            (true, true) => "SASL_SSL",
        }
    }

    /// True when the brokers are an Event Hubs namespace.
    pub(crate) fn is_event_hubs(&self) -> bool {
        self.event_hubs_tier.is_some() || self.brokers.iter().any(|b| b.contains(".servicebus."))
    }

    /// The connection to a `type: kafka` cluster; secrets are read now.
    pub(crate) fn from_kafka(env_name: &str, k: &KafkaCluster) -> Result<Connection> {
        let sasl = k.sasl.as_ref();
        let ca_file = k.tls.as_ref().and_then(|t| t.ca_file.as_deref());
        let oauth = match sasl.filter(|s| s.mechanism == SaslMechanism::OauthBearer).and_then(|s| s.oauth.as_ref()) {
            Some(o) => Some(ScopedCredential::new(
                Credential::for_kafka_oauth(o, ca_file)?,
                o.scope.clone().unwrap_or_default(),
            )),
            None => None,
        };
        Ok(Connection {
            source: format!("environment `{env_name}`"),
            brokers: k.bootstrap_servers.clone(),
            tls: k.tls.is_some(),
            ca_file: k.tls.as_ref().and_then(|t| t.ca_file.clone()),
            cert_file: k.tls.as_ref().and_then(|t| t.cert_file.clone()),
            key: k.tls.as_ref().and_then(|t| t.key.as_ref()).map(secret::read).transpose()?,
            mechanism: sasl.map(|s| s.mechanism),
            username: sasl.and_then(|s| s.username.as_ref()).map(secret::read_not_scrubbed).transpose()?,
            password: sasl.and_then(|s| s.password.as_ref()).map(secret::read).transpose()?,
            event_hubs_tier: None,
            oauth,
            extra: k.client_config.iter().map(|(key, v)| (key.clone(), v.0.clone())).collect(),
        })
    }

    /// The target of a spec environment's cluster; secrets are read now.
    pub fn from_cluster(env_name: &str, cluster: &Cluster) -> Result<Connection> {
        let source = format!("environment `{env_name}`");
        match cluster {
            Cluster::Kafka(k) => Self::from_kafka(env_name, k),
            Cluster::Eventhubs(eh) => {
                let mechanism = eh.kafka.as_ref().map_or(SaslMechanism::OauthBearer, |k| k.mechanism);
                let plain = mechanism == SaslMechanism::Plain;
                let password = match eh.kafka.as_ref().and_then(|k| k.connection_string.as_ref()) {
                    Some(cs) if plain => {
                        let value = secret::read(cs)?;
                        check_connection_string(value.expose(), &eh.namespace)
                            .map_err(|reason| Error::Secret { reference: cs.to_string(), reason })?;
                        Some(value)
                    }
                    _ => None,
                };
                let oauth = if mechanism == SaslMechanism::OauthBearer {
                    Some(ScopedCredential::new(
                        Credential::for_event_hubs_kafka(eh)?,
                        auth::event_hubs_scope(&eh.namespace),
                    ))
                } else {
                    None
                };
                Ok(Connection {
                    source,
                    brokers: eh.kafka_bootstrap(),
                    tls: true,
                    ca_file: eh.tls.as_ref().and_then(|t| t.ca_file.clone()),
                    cert_file: None,
                    key: None,
                    mechanism: Some(mechanism),
                    username: plain.then(|| SecretString::well_known(broker_env::EVENT_HUBS_PLAIN_USERNAME)),
                    password,
                    event_hubs_tier: Some(eh.tier),
                    oauth,
                    extra: Vec::new(),
                })
            }
        }
    }

    /// The target a service sees through the DESIGN section 5 variables
    /// (plus `KAFKA_SSL_CA_LOCATION` for an extra CA), read by `lookup`.
    pub fn from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Connection> {
        let brokers =
            lookup(broker_env::KAFKA_BROKERS).filter(|b| !b.trim().is_empty()).ok_or_else(|| Error::CheckInput {
                message: "KAFKA_BROKERS is not set".into(),
                help: "set the variables of `topicform env`, or check a spec environment with -e ENV".into(),
            })?;
        let protocol =
            lookup(broker_env::KAFKA_SECURITY_PROTOCOL).unwrap_or_else(|| "PLAINTEXT".into()).to_ascii_uppercase();
        let (tls, sasl) = match protocol.as_str() {
            "PLAINTEXT" => (false, false),
            "SSL" => (true, false),
            "SASL_PLAINTEXT" => (false, true),
            "SASL_SSL" => (true, true),
            other => {
                return Err(Error::CheckInput {
                    message: format!("KAFKA_SECURITY_PROTOCOL `{other}` is not a Kafka security protocol"),
                    help: "use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL".into(),
                })
            }
        };
        let mechanism = if sasl {
            let name = lookup(broker_env::KAFKA_SASL_MECHANISM).unwrap_or_default();
            Some(match name.to_ascii_uppercase().as_str() {
                "PLAIN" => SaslMechanism::Plain,
                "SCRAM-SHA-256" => SaslMechanism::ScramSha256,
                "SCRAM-SHA-512" => SaslMechanism::ScramSha512,
                "OAUTHBEARER" => SaslMechanism::OauthBearer,
                _ => {
                    return Err(Error::CheckInput {
                        message: format!("KAFKA_SASL_MECHANISM `{name}` is not supported with {protocol}"),
                        help: "use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER".into(),
                    })
                }
            })
        } else {
            None
        };
        let brokers: Vec<String> = brokers.split(',').map(|b| b.trim().to_owned()).filter(|b| !b.is_empty()).collect();
        let ca_file = lookup("KAFKA_SSL_CA_LOCATION");
        let oauth = if mechanism == Some(SaslMechanism::OauthBearer) {
            Some(ScopedCredential::new(
                Credential::from_azure_env(ca_file.as_deref())?,
                oauthbearer_scope_from_env(lookup, &brokers)?,
            ))
        } else {
            None
        };
        Ok(Connection {
            source: "the KAFKA_* variables".into(),
            brokers,
            tls,
            ca_file,
            cert_file: None,
            key: None,
            mechanism,
            username: lookup(broker_env::KAFKA_SASL_USERNAME).map(SecretString::not_scrubbed),
            password: lookup(broker_env::KAFKA_SASL_PASSWORD).map(SecretString::new),
            event_hubs_tier: None,
            oauth,
            extra: Vec::new(),
        })
    }

    /// Starts refreshing OAUTHBEARER tokens on a client just created from
    /// [`client_config`](Self::client_config); `None` for other mechanisms.
    /// Keep the session alive while the client is used, and drop it first.
    pub(crate) fn start_token_session(&self, rk: *mut RDKafka, timeout: Duration) -> Result<Option<TokenSession>> {
        match &self.oauth {
            Some(source) => TokenSession::start(rk, source.clone(), timeout).map(Some),
            None => Ok(None),
        }
    }
}

/// The scope a pod's OAUTHBEARER client asks for: `KAFKA_SASL_OAUTHBEARER_SCOPE`
/// when set, else the Event Hubs namespace of the first broker.
fn oauthbearer_scope_from_env(lookup: &dyn Fn(&str) -> Option<String>, brokers: &[String]) -> Result<String> {
    if let Some(scope) = lookup(broker_env::KAFKA_SASL_OAUTHBEARER_SCOPE).filter(|s| !s.trim().is_empty()) {
        return Ok(scope);
    }
    let host = brokers.first().map(|b| b.rsplit_once(':').map_or(b.as_str(), |(h, _)| h)).unwrap_or_default();
    match host.split_once(".servicebus.") {
        // The namespace's own host is the audience, in every cloud
        // (servicebus.windows.net, .usgovcloudapi.net, .chinacloudapi.cn);
        // a private endpoint's `privatelink.` label is not part of it.
        Some((namespace, suffix)) => {
            let suffix = suffix.strip_prefix("privatelink.").unwrap_or(suffix);
            let namespace = namespace.strip_suffix(".privatelink").unwrap_or(namespace);
            Ok(format!("https://{namespace}.servicebus.{suffix}/.default"))
        }
        None => Err(Error::CheckInput {
            message: format!("OAUTHBEARER to `{host}` needs a scope"),
            help: format!(
                "set {} (Event Hubs derives it from <namespace>.servicebus.windows.net)",
                broker_env::KAFKA_SASL_OAUTHBEARER_SCOPE
            ),
        }),
    }
}

impl Connection {
    /// librdkafka settings for a client of this connection.
    pub(crate) fn client_config(&self) -> Result<ClientConfig> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", self.brokers.join(","))
            .set("client.id", concat!("topicform/", env!("CARGO_PKG_VERSION")))
            // Fail fast on a wrong address instead of retrying for minutes.
            .set("socket.connection.setup.timeout.ms", "10000")
            .set("socket.keepalive.enable", "true")
            // librdkafka logs go through `log`; keep them off stderr unless asked.
            .set("log_level", "3")
            // Fails client creation if the bundled librdkafka lacks any of these,
            // so a mis-built binary says so instead of failing at handshake time.
            .set("builtin.features", "ssl,sasl_plain,sasl_scram,sasl_oauthbearer,zstd")
            .set("security.protocol", self.protocol().to_ascii_lowercase());
        if self.is_event_hubs() {
            // Microsoft's recommended client settings for the Kafka endpoint.
            cfg.set("metadata.max.age.ms", "180000").set("request.timeout.ms", "60000");
        }
        // The spec's clientConfig may tune anything but security (validation
        // refused those keys; this guards a Connection built another way).
        for (key, value) in &self.extra {
            if let Some(owner) = topicform_core::spec::kafka_configs::client_property_owner(key) {
                return Err(Error::Kafka {
                    operation: "building the client settings".into(),
                    message: format!("`{key}` cannot be set in clientConfig: it comes from {owner}"),
                });
            }
            cfg.set(key, value);
        }
        if let Some(ca) = &self.ca_file {
            cfg.set("ssl.ca.location", ca);
        }
        if let Some(cert) = &self.cert_file {
            cfg.set("ssl.certificate.location", cert);
        }
        if let Some(key) = &self.key {
            cfg.set("ssl.key.pem", key.expose());
        }
        match self.mechanism {
            None => {}
            // Tokens are set on the handle by a TokenSession, not by a
            // refresh callback (see oauthbearer.rs).
            Some(SaslMechanism::OauthBearer) => {
                cfg.set("sasl.mechanism", "OAUTHBEARER");
            }
            Some(mechanism) => {
                cfg.set("sasl.mechanism", mechanism.as_str());
                if let Some(u) = &self.username {
                    cfg.set("sasl.username", u.expose());
                }
                if let Some(p) = &self.password {
                    cfg.set("sasl.password", p.expose());
                }
            }
        }
        Ok(cfg)
    }
}

/// Checks an Event Hubs connection string's shape without ever echoing it:
/// `Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=...;SharedAccessKey=...`,
/// for this environment's namespace and not scoped to one event hub.
pub(crate) fn check_connection_string(value: &str, namespace: &str) -> std::result::Result<(), String> {
    let mut endpoint = None;
    let (mut key_name, mut key, mut entity) = (false, false, false);
    for part in value.trim().split(';').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or("it is not a list of Key=Value pairs separated by `;`")?;
        match k.trim() {
            "Endpoint" => endpoint = Some(v.trim().to_owned()),
            "SharedAccessKeyName" => key_name = !v.trim().is_empty(),
            "SharedAccessKey" => key = !v.trim().is_empty(),
            "EntityPath" => entity = true,
            _ => {}
        }
    }
    let endpoint =
        endpoint.ok_or("it has no `Endpoint=sb://...`; copy the whole connection string of a namespace policy")?;
    if !(key_name && key) {
        return Err("it lacks `SharedAccessKeyName` or `SharedAccessKey`; copy the whole connection string of a namespace policy".into());
    }
    if entity {
        return Err(
            "it is scoped to one event hub (`EntityPath`); use a namespace-level policy's connection string".into()
        );
    }
    let host = endpoint
        .strip_prefix("sb://")
        .ok_or("its Endpoint does not start with `sb://`")?
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let expected = namespace.to_ascii_lowercase();
    if host.split('.').next() != Some(expected.as_str()) {
        return Err(format!(
            "it belongs to namespace `{}`, not `{namespace}`",
            host.split('.').next().unwrap_or_default()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check_connection_string, oauthbearer_scope_from_env};

    #[test]
    fn a_pods_oauthbearer_scope_is_its_namespace_host_in_any_cloud() {
        let none = |_: &str| None;
        let scope = |broker: &str| oauthbearer_scope_from_env(&none, &[broker.to_owned()]).unwrap();
        assert_eq!(scope("ns1.servicebus.windows.net:9093"), "https://ns1.servicebus.windows.net/.default");
        assert_eq!(scope("ns1.servicebus.usgovcloudapi.net:9093"), "https://ns1.servicebus.usgovcloudapi.net/.default");
        assert_eq!(scope("ns1.privatelink.servicebus.windows.net:9093"), "https://ns1.servicebus.windows.net/.default");
        let set = |k: &str| (k == "KAFKA_SASL_OAUTHBEARER_SCOPE").then(|| "api://kafka/.default".to_owned());
        assert_eq!(oauthbearer_scope_from_env(&set, &["kafka:9093".into()]).unwrap(), "api://kafka/.default");
        let err = oauthbearer_scope_from_env(&none, &["kafka:9093".into()]).unwrap_err().to_string();
        assert!(err.contains("needs a scope"), "{err}");
    }

    const GOOD: &str =
        "Endpoint=sb://etelios-prod.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=abc=";

    #[test]
    fn accepts_a_namespace_connection_string() {
        assert_eq!(check_connection_string(GOOD, "etelios-prod"), Ok(()));
    }

    #[test]
    fn names_what_is_wrong_without_echoing_the_value() {
        let cases = [
            ("not a connection string", "Key=Value"),
            ("SharedAccessKeyName=a;SharedAccessKey=b", "no `Endpoint"),
            ("Endpoint=sb://etelios-prod.servicebus.windows.net/;SharedAccessKeyName=a", "lacks"),
            (&format!("{GOOD};EntityPath=orders"), "scoped to one event hub"),
            (
                "Endpoint=sb://other.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=b",
                "namespace `other`",
            ),
        ];
        for (value, expected) in cases {
            let err = check_connection_string(value, "etelios-prod").unwrap_err();
            assert!(err.contains(expected), "{value}: {err}");
            assert!(!err.contains("SharedAccessKey=b") && !err.contains("abc="), "{err}");
        }
    }
}
