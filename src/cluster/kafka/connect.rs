//! librdkafka client settings for a `type: kafka` cluster block. Secrets are
//! read here, at the last moment, and only handed to librdkafka.

use rdkafka::ClientConfig;

use crate::secret;
use crate::spec::model::{KafkaCluster, SaslMechanism};
use crate::{Error, Result};

/// Client settings for an admin client of `cluster`.
pub fn client_config(env: &str, cluster: &KafkaCluster) -> Result<ClientConfig> {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", cluster.bootstrap_servers.join(","))
        .set("client.id", concat!("topicform/", env!("CARGO_PKG_VERSION")))
        // Fail fast on a wrong address instead of retrying for minutes.
        .set("socket.connection.setup.timeout.ms", "10000")
        .set("socket.keepalive.enable", "true")
        // librdkafka logs go through `log`; keep them off stderr unless asked.
        .set("log_level", "3")
        // Fails client creation if the bundled librdkafka lacks any of these,
        // so a mis-built binary says so instead of failing at handshake time.
        .set("builtin.features", "ssl,sasl_plain,sasl_scram,sasl_oauthbearer,zstd");
    let tls = cluster.tls.is_some();
    let protocol = match (tls, cluster.sasl.is_some()) {
        (false, false) => "plaintext",
        (true, false) => "ssl",
        (false, true) => "sasl_plaintext",
        (true, true) => "sasl_ssl",
    };
    cfg.set("security.protocol", protocol);
    if let Some(t) = &cluster.tls {
        if let Some(ca) = &t.ca_file {
            cfg.set("ssl.ca.location", ca);
        }
        if let Some(cert) = &t.cert_file {
            cfg.set("ssl.certificate.location", cert);
        }
        if let Some(key) = &t.key {
            cfg.set("ssl.key.pem", secret::read(key)?.expose());
        }
    }
    if let Some(sasl) = &cluster.sasl {
        match sasl.mechanism {
            SaslMechanism::OauthBearer => return Err(Error::Unsupported {
                env: env.to_owned(),
                kind: "Kafka OAUTHBEARER".into(),
                command: "this build".into(),
                help: "OAUTHBEARER token sources arrive with the secure-connections work; use PLAIN or SCRAM meanwhile"
                    .into(),
            }),
            mechanism => {
                cfg.set("sasl.mechanism", mechanism.as_str());
                if let Some(u) = &sasl.username {
                    cfg.set("sasl.username", secret::read(u)?.expose());
                }
                if let Some(p) = &sasl.password {
                    cfg.set("sasl.password", secret::read(p)?.expose());
                }
            }
        }
    }
    Ok(cfg)
}
