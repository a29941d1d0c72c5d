//! `env --client LIB`: the settings a service's Kafka library needs for an
//! environment, beyond the broker variables (section 5). Apache Kafka needs
//! nothing extra: the libraries' defaults are made for it. The Event Hubs
//! Kafka endpoint does: it closes connections idle for 240 s, refuses
//! requests over 1,046,528 bytes and wants longer request timeouts, values
//! the libraries do not default to. Each setting carries its source, and
//! the renderers print it as a comment beside the value.
//!
//! Sources (researched in docs/plans/eventhubs-client-settings.md):
//! Microsoft's "Apache Kafka client configurations for Azure Event Hubs"
//! (the December 2025 revision) for Java and librdkafka; librdkafka's own
//! CONFIGURATION.md for the consumer's `socket.timeout.ms`; kafkajs 2.2.4's
//! documentation for the names it gives the same properties. Microsoft
//! gives no kafkajs values: those lines say which Microsoft value they
//! carry over.

use super::model::Cluster;

/// The libraries `env --client` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Library {
    /// The Apache Kafka Java client (`client.properties`).
    Java,
    /// librdkafka: node-rdkafka, confluent-kafka-python/-dotnet, kcat.
    Librdkafka,
    /// confluent-kafka-go: librdkafka underneath, the same keys.
    ConfluentKafkaGo,
    /// kafkajs (the example platform's Node.js services).
    Kafkajs,
}

impl Library {
    /// The name `--client` takes.
    pub fn name(self) -> &'static str {
        match self {
            Library::Java => "java",
            Library::Librdkafka => "librdkafka",
            Library::ConfluentKafkaGo => "confluent-kafka-go",
            Library::Kafkajs => "kafkajs",
        }
    }

    /// The file name a service mounts the settings as.
    pub fn file_name(self) -> &'static str {
        match self {
            Library::Java => "client.properties",
            Library::Librdkafka | Library::ConfluentKafkaGo => "librdkafka.properties",
            Library::Kafkajs => "kafkajs.config.js",
        }
    }
}

/// Which client object a setting belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Every client (kafkajs: `new Kafka({...})`).
    Client,
    /// Producers only.
    Producer,
    /// Consumers only.
    Consumer,
    /// Producers and consumers, set on each (kafkajs has no shared place
    /// for it).
    ProducerAndConsumer,
}

/// A value: the libraries' configs are numbers and booleans here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A number (milliseconds, bytes).
    Int(u64),
    /// A switch.
    Bool(bool),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// One setting, with where its value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The library's own name for it.
    pub key: &'static str,
    /// The value.
    pub value: Value,
    /// Which client it goes on.
    pub role: Role,
    /// Why this value: the source, and the constraint it meets.
    pub source: &'static str,
}

/// What a library needs for one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    /// The library.
    pub library: Library,
    /// Whether the environment is the Event Hubs Kafka endpoint.
    pub event_hubs: bool,
    /// The settings, in the order they are printed.
    pub settings: Vec<Setting>,
    /// What cannot be set but must be known (comments only).
    pub notes: Vec<&'static str>,
}

/// Microsoft's page the Java and librdkafka values are taken from.
pub const MICROSOFT_GUIDE: &str = "https://learn.microsoft.com/azure/event-hubs/apache-kafka-configurations";

/// The host suffixes of Event Hubs namespaces: Azure's public cloud, Azure
/// China and Azure Government.
const EVENT_HUBS_HOSTS: [&str; 3] =
    [".servicebus.windows.net", ".servicebus.chinacloudapi.cn", ".servicebus.usgovcloudapi.net"];

/// Whether `cluster` is reached through the Event Hubs Kafka endpoint: an
/// Event Hubs environment, or a Kafka one whose every bootstrap server is
/// an Event Hubs namespace (`*.servicebus.windows.net` and the sovereign
/// clouds' equivalents).
pub fn is_event_hubs(cluster: &Cluster) -> bool {
    match cluster {
        Cluster::Eventhubs(_) => true,
        Cluster::Kafka(k) => {
            !k.bootstrap_servers.is_empty()
                && k.bootstrap_servers.iter().all(|s| {
                    let host = s.rsplit_once(':').map_or(s.as_str(), |(h, _)| h);
                    let host = host.to_ascii_lowercase();
                    EVENT_HUBS_HOSTS.iter().any(|suffix| host.ends_with(suffix))
                })
        }
    }
}

/// The settings `library` needs for `cluster`.
pub fn client_settings(library: Library, cluster: &Cluster) -> ClientSettings {
    let event_hubs = is_event_hubs(cluster);
    let (settings, notes) = match (event_hubs, library) {
        (false, _) => (Vec::new(), Vec::new()),
        (true, Library::Java) => (java(), JAVA_NOTES.to_vec()),
        (true, Library::Librdkafka | Library::ConfluentKafkaGo) => (librdkafka(), LIBRDKAFKA_NOTES.to_vec()),
        (true, Library::Kafkajs) => (kafkajs(), KAFKAJS_NOTES.to_vec()),
    };
    ClientSettings { library, event_hubs, settings, notes }
}

const IDLE: &str =
    "Microsoft: 180000, must be < 240000 (Azure closes connections idle for 240 s; sends on them show as expired batches)";
const METADATA: &str = "Microsoft: 180000, must be < 240000 (Azure closes idle connections after 240 s)";
const REQUEST_TIMEOUT: &str = "Microsoft: 60000, must be > 20000 for producers (Event Hubs enforces a 20 s minimum); its troubleshooting guide asks every client for at least 60000";
const SESSION: &str = "Microsoft: 30000 (6000-300000; raise it if groups rebalance often)";

fn java() -> Vec<Setting> {
    vec![
        Setting { key: "metadata.max.age.ms", value: Value::Int(180_000), role: Role::Client, source: METADATA },
        Setting { key: "connections.max.idle.ms", value: Value::Int(180_000), role: Role::Client, source: IDLE },
        Setting { key: "request.timeout.ms", value: Value::Int(60_000), role: Role::Client, source: REQUEST_TIMEOUT },
        Setting {
            key: "max.request.size",
            value: Value::Int(1_000_000),
            role: Role::Producer,
            source: "Microsoft: 1000000, must be < 1046528 (larger requests close the connection; Java's default 1048576 is over it)",
        },
        Setting { key: "session.timeout.ms", value: Value::Int(30_000), role: Role::Consumer, source: SESSION },
    ]
}

const JAVA_NOTES: &[&str] = &[
    "compression.type: none (the default) or gzip; Event Hubs does not support snappy, lz4 or zstd.",
    "Keep heartbeat.interval.ms (3000) and max.poll.interval.ms (300000) at their defaults (Microsoft).",
    "Transactions are not supported by Event Hubs.",
];

fn librdkafka() -> Vec<Setting> {
    vec![
        Setting {
            key: "socket.keepalive.enable",
            value: Value::Bool(true),
            role: Role::Client,
            source: "Microsoft: true, required to keep Azure from closing idle connections (librdkafka's default is false)",
        },
        Setting { key: "metadata.max.age.ms", value: Value::Int(180_000), role: Role::Client, source: METADATA },
        Setting {
            key: "connections.max.idle.ms",
            value: Value::Int(180_000),
            role: Role::Client,
            source: "Microsoft's Java value (< 240000); librdkafka sets 230000 itself only when the bootstrap contains \"azure\", which *.servicebus.windows.net does not",
        },
        Setting {
            key: "request.timeout.ms",
            value: Value::Int(60_000),
            role: Role::Producer,
            source: "Microsoft: 60000, must be > 20000 (a producer property in librdkafka)",
        },
        Setting {
            key: "socket.timeout.ms",
            value: Value::Int(60_000),
            role: Role::Consumer,
            source: "the consumer side of Microsoft's request.timeout.ms 60000 (librdkafka's consumers time requests out with socket.timeout.ms; Microsoft's .NET sample sets it so)",
        },
        Setting { key: "session.timeout.ms", value: Value::Int(30_000), role: Role::Consumer, source: SESSION },
    ]
}

const LIBRDKAFKA_NOTES: &[&str] = &[
    "compression.codec: none (the default) or gzip; Event Hubs does not support snappy, lz4 or zstd.",
    "message.max.bytes stays at librdkafka's 1000000: under Event Hubs' 1046528-byte request limit.",
    "Keep heartbeat.interval.ms, max.poll.interval.ms and retries at their defaults (Microsoft).",
    "A consumer logs that the producer-only request.timeout.ms is ignored (and a producer the consumer-only keys): one file serves both.",
];

fn kafkajs() -> Vec<Setting> {
    vec![
        Setting {
            key: "requestTimeout",
            value: Value::Int(60_000),
            role: Role::Client,
            source: "Microsoft's request.timeout.ms: 60000, must be > 20000 (kafkajs' default is 30000)",
        },
        Setting {
            key: "metadataMaxAge",
            value: Value::Int(180_000),
            role: Role::ProducerAndConsumer,
            source: "Microsoft's metadata.max.age.ms: 180000, must be < 240000 (kafkajs' default is 300000)",
        },
        Setting {
            key: "sessionTimeout",
            value: Value::Int(30_000),
            role: Role::Consumer,
            source: "Microsoft's session.timeout.ms: 30000 (also kafkajs' default; set so a change of default cannot move it)",
        },
    ]
}

const KAFKAJS_NOTES: &[&str] = &[
    "Microsoft gives no kafkajs values; these carry its Java/librdkafka values over to kafkajs' names.",
    "kafkajs has no connections.max.idle.ms (kafkajs issue #1725): TCP keep-alive, on by default (first probe after 60 s), keeps connections from idling out.",
    "kafkajs has no max.request.size: keep each send() or sendBatch() under 1046528 bytes, or Event Hubs closes the connection.",
    "compression: CompressionTypes.None or CompressionTypes.GZIP only.",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::Cluster;

    fn kafka(bootstrap: &[&str]) -> Cluster {
        serde_json::from_value(serde_json::json!({ "type": "kafka", "bootstrapServers": bootstrap })).unwrap()
    }

    #[test]
    fn apache_kafka_needs_nothing_extra() {
        for library in [Library::Java, Library::Librdkafka, Library::ConfluentKafkaGo, Library::Kafkajs] {
            let s = client_settings(library, &kafka(&["localhost:9092"]));
            assert!(!s.event_hubs && s.settings.is_empty() && s.notes.is_empty());
        }
    }

    #[test]
    fn a_kafka_environment_at_an_event_hubs_namespace_gets_the_settings() {
        assert!(is_event_hubs(&kafka(&["etelios-prod.servicebus.windows.net:9093"])));
        assert!(is_event_hubs(&kafka(&["NS.ServiceBus.Windows.Net:9093"])));
        assert!(!is_event_hubs(&kafka(&["ns.servicebus.windows.net:9093", "localhost:9092"])));
        assert!(!is_event_hubs(&kafka(&["servicebus.windows.net.example.com:9093"])));
        assert!(is_event_hubs(&kafka(&["ns.servicebus.chinacloudapi.cn:9093"])));
        assert!(is_event_hubs(&kafka(&["ns.servicebus.usgovcloudapi.net:9093"])));
    }

    /// The guide's constraints hold for every value printed.
    #[test]
    fn every_event_hubs_value_meets_the_guides_constraints() {
        let eh: Cluster = serde_json::from_value(serde_json::json!({
            "type": "eventhubs", "namespace": "ns", "tier": "standard", "subscriptionId": "s", "resourceGroup": "g"
        }))
        .unwrap();
        for library in [Library::Java, Library::Librdkafka, Library::ConfluentKafkaGo, Library::Kafkajs] {
            let s = client_settings(library, &eh);
            assert!(s.event_hubs && !s.settings.is_empty(), "{library:?}");
            for setting in &s.settings {
                let Value::Int(n) = setting.value else { continue };
                match setting.key {
                    "metadata.max.age.ms" | "connections.max.idle.ms" | "metadataMaxAge" => assert!(n < 240_000),
                    "request.timeout.ms" | "socket.timeout.ms" | "requestTimeout" => assert!(n >= 60_000),
                    "max.request.size" => assert!(n < 1_046_528),
                    "session.timeout.ms" | "sessionTimeout" => assert!((6_000..=300_000).contains(&n)),
                    other => panic!("{other} has no constraint checked here"),
                }
            }
        }
    }
}
