//! The spec's data model (version 1), exactly as written in `topicform.yaml`.
//!
//! These types deserialise the YAML and generate the JSON Schema
//! (`topicform schema`), so the schema can never disagree with the loader.
//! Every struct denies unknown keys: a typo is an error, not a silent default.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

use crate::policy::{Policy, Waiver};

/// A whole `topicform.yaml` file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "topicform spec", extend("$id" = "https://topicform.dev/schema/topicform.schema.json"))]
pub struct Spec {
    /// Spec format version. Only `1` exists.
    pub version: u32,
    /// Settings every topic gets in every environment unless overridden.
    #[serde(default, skip_serializing_if = "TopicSettings::is_empty")]
    pub defaults: TopicSettings,
    /// Named environments (`local`, `staging`, `prod`, ...), each with the
    /// cluster it reconciles and its own overrides.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub environments: IndexMap<String, Environment>,
    /// The managed topics, by name.
    #[serde(default)]
    pub topics: IndexMap<String, Topic>,
    /// Where else topics are declared: ConfigMaps that services' releases
    /// carry. Their topics merge with these, under the same `defaults` and
    /// environment overrides. An environment's own `from:` replaces this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<TopicSources>,
    /// The platform's services: what each produces and consumes, with which
    /// consumer group, as whom in each environment. topicform grants each
    /// principal exactly that (Kafka ACLs) and reports any other access.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub services: IndexMap<String, Service>,
    /// Rules every topic must satisfy (names, partitions, replication,
    /// configs, retention, descriptions, consumers), checked by `validate`
    /// and before `plan`, `apply` and the controller change anything. A
    /// shared file with the same keys can be given with `--policy FILE`.
    #[serde(default, skip_serializing_if = "Policy::is_empty")]
    pub policy: Policy,
}

/// One service of the platform and the access it needs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Service {
    /// What the service does; documentation only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its consumer group (`group.id`). Default: the service name, as the
    /// seed platform's `getConsumerGroup` has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Topics it writes: names of the spec's topics, or prefixes ending in
    /// `*` (`orders.*`: every topic whose name starts with `orders.`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub produces: Vec<String>,
    /// Topics it reads with its group: names of the spec's topics. Each
    /// topic's `consumers:` then includes the group, written or not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumes: Vec<String>,
    /// Who the service is, by environment name. On Kafka a principal as the
    /// broker's authorizer names it: `User:NAME` for a SASL user or an
    /// OAUTHBEARER subject, `User:CN=...` for an mTLS certificate's subject.
    /// `${VAR}` is expanded. An environment without one grants the service
    /// nothing and reads no ACLs for it.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub principals: IndexMap<String, String>,
    /// The SASL password of the service's own user, by environment name, as
    /// a secret reference: what `topicform env --service` gives the service
    /// on a PLAIN or SCRAM cluster (its user name is its principal's).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub passwords: IndexMap<String, SecretRef>,
}

impl Spec {
    /// The consumer groups of `topic`: its own `consumers:`, then the group
    /// of each service that consumes it, each once.
    pub fn consumers_of(&self, topic: &str) -> Vec<String> {
        let declared = self.topics.get(topic).map(|t| t.consumers.iter().cloned()).into_iter().flatten();
        let by_services = self
            .services
            .iter()
            .filter(|(_, s)| !s.consumes.is_empty() && super::ownership::Ownership::new(&s.consumes).contains(topic))
            .map(|(name, s)| s.group(name).to_owned());
        let mut groups: Vec<String> = Vec::new();
        for group in declared.chain(by_services) {
            if !groups.contains(&group) {
                groups.push(group);
            }
        }
        groups
    }
}

impl Service {
    /// The service's consumer group: `group`, else its name.
    pub fn group<'a>(&'a self, name: &'a str) -> &'a str {
        self.group.as_deref().unwrap_or(name)
    }
}

/// Places outside the spec file that declare topics.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TopicSources {
    /// ConfigMaps selected by label, each with a `topics.yaml` key holding
    /// `topics:` as this file writes them (the service chart's `topics:`
    /// value renders one).
    pub kubernetes: KubernetesSource,
}

/// Which ConfigMaps contribute topics.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesSource {
    /// Namespaces to read. Default: topicform's own (the pod's, or the
    /// kubeconfig context's). `${VAR}` is expanded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Label selector, as `kubectl get -l` takes it. Default
    /// `topicform.dev/topics=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
}

impl KubernetesSource {
    /// The label the service chart puts on its topics ConfigMap.
    pub const DEFAULT_SELECTOR: &'static str = "topicform.dev/topics=true";
    /// The ConfigMap key that holds the topics.
    pub const DATA_KEY: &'static str = "topics.yaml";

    /// The selector, or the default.
    pub fn selector(&self) -> &str {
        self.selector.as_deref().unwrap_or(Self::DEFAULT_SELECTOR)
    }
}

/// What one ConfigMap contributes (its `topics.yaml`): topics, written as
/// under the spec's own `topics:`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Contribution {
    /// The contributed topics, by name.
    #[serde(default)]
    pub topics: IndexMap<String, Topic>,
}

/// Partitions, replication and configs: the settings that merge from
/// `defaults` through environment defaults, the topic and the environment's
/// topic override.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TopicSettings {
    /// Number of partitions. Can grow on an existing topic, never shrink.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub partitions: Option<u32>,
    /// Replicas per partition. Ignored on Event Hubs (service-managed). A
    /// change on an existing topic is refused (needs a partition reassignment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub replication_factor: Option<u16>,
    /// Topic configs (`retention.ms`, `cleanup.policy`, ...). Keys ending in
    /// `.ms` accept durations such as `500ms`, `15m`, `36h`, `7d`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub config: IndexMap<String, ConfigValue>,
}

impl TopicSettings {
    /// True when nothing is set (used to keep exported specs short).
    pub fn is_empty(&self) -> bool {
        self.partitions.is_none() && self.replication_factor.is_none() && self.config.is_empty()
    }
}

/// One topic of the spec.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Topic {
    /// What the topic carries; documentation only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Number of partitions (over the defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub partitions: Option<u32>,
    /// Replicas per partition (over the defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub replication_factor: Option<u16>,
    /// Topic configs, merged key by key over the defaults.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub config: IndexMap<String, ConfigValue>,
    /// Consumer groups that read the topic (documentation and `lag`). On
    /// Event Hubs these are Kafka consumer groups, never ARM consumer groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumers: Vec<String>,
    /// Policy rules this topic is exempt from, each with its reason (and
    /// optionally a last day). A waived violation is still reported, as a
    /// warning naming the waiver.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<Waiver>,
}

/// One environment: a cluster plus its overrides.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Environment {
    /// The cluster this environment reconciles.
    pub cluster: Cluster,
    /// Settings for every topic in this environment (over the top-level
    /// `defaults`, under each topic's own settings).
    #[serde(default, skip_serializing_if = "TopicSettings::is_empty")]
    pub defaults: TopicSettings,
    /// Per-topic overrides for this environment (the last word).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub topics: IndexMap<String, TopicSettings>,
    /// Allow `apply --allow-delete` to delete topics that are on the cluster
    /// but not in the spec. Off by default: unmanaged topics are only listed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prune: bool,
    /// Allow `apply --allow-delete` to delete ACLs of the services'
    /// principals that the spec no longer asks for (a removed `produces:`
    /// entry). Separate from `prune`, so revoking access never needs the
    /// switch that deletes topics. Off by default: such ACLs are only listed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prune_acls: bool,
    /// What this environment's spec owns on a shared cluster: topic names,
    /// or prefixes ending in `*`. Topics on the cluster outside it belong to
    /// another team (foreign): listed, never deleted or changed, whatever
    /// the flags; and every topic of this environment must be inside it.
    /// Default: every topic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owns: Vec<String>,
    /// Pin the Kafka cluster id; plan and apply refuse any other cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// How `apply` keeps other applies off this cluster, as `--lock` takes
    /// it (`auto`, `none`, `kafka[:GROUP]`, `kubernetes[:NAMESPACE[/NAME]]`);
    /// `--lock` on the command line wins. Default `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^(auto|none|kafka(:.+)?|kubernetes(:[a-z0-9]([-a-z0-9]*[a-z0-9])?(/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)?)?)$"
    ))]
    pub lock: Option<String>,
    /// Where else this environment's topics are declared; replaces the
    /// top-level `from:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<TopicSources>,
}

/// Where the topics live.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Cluster {
    /// Apache Kafka (or anything speaking its Admin API).
    Kafka(KafkaCluster),
    /// Azure Event Hubs: topics through Azure Resource Manager, clients
    /// through the Kafka endpoint.
    Eventhubs(EventHubsCluster),
}

impl Cluster {
    /// `kafka` or `eventhubs`, as written in the spec.
    pub fn kind(&self) -> &'static str {
        match self {
            Cluster::Kafka(_) => "kafka",
            Cluster::Eventhubs(_) => "eventhubs",
        }
    }
}

impl Topic {
    /// This topic's own partitions, replication and configs.
    pub fn settings(&self) -> TopicSettings {
        TopicSettings {
            partitions: self.partitions,
            replication_factor: self.replication_factor,
            config: self.config.clone(),
        }
    }
}

/// Connection to an Apache Kafka cluster.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KafkaCluster {
    /// `host:port` of one or more brokers. `${VAR}` is expanded.
    #[schemars(length(min = 1))]
    pub bootstrap_servers: Vec<String>,
    /// TLS settings; presence turns TLS on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// SASL authentication; presence turns SASL on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<Sasl>,
    /// Extra librdkafka client properties for what the spec does not model
    /// (e.g. `socket.timeout.ms`, `client.rack`). Security settings are
    /// refused here: they come from `tls` and `sasl`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub client_config: IndexMap<String, ConfigValue>,
}

/// TLS trust and client identity.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Tls {
    /// PEM file of the CA(s) to trust in addition to the system store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// PEM client certificate for mutual TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// PEM private key for mutual TLS (a secret reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<SecretRef>,
}

/// SASL mechanism and credentials.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sasl {
    /// The SASL mechanism.
    pub mechanism: SaslMechanism,
    /// User name (PLAIN and SCRAM), as a secret reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<SecretRef>,
    /// Password (PLAIN and SCRAM), as a secret reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
    /// Where OAUTHBEARER tokens come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthBearer>,
}

/// The token source of SASL OAUTHBEARER on a `type: kafka` cluster: a
/// generic OIDC token endpoint (client credentials), or an Entra ID
/// credential (e.g. Kafka behind Entra ID, or tests).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OAuthBearer {
    /// OIDC token endpoint (client credentials grant). `${VAR}` is expanded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// Entra ID credential kind, instead of `tokenEndpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<AzureCredentialKind>,
    /// Scope to request, e.g. `api://kafka/.default`. `${VAR}` is expanded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Client id (Entra ID default: `AZURE_CLIENT_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Client secret, as a secret reference (OIDC, and Entra `clientSecret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretRef>,
    /// Entra ID tenant (default `AZURE_TENANT_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Entra ID authority host (default `AZURE_AUTHORITY_HOST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_host: Option<String>,
}

/// SASL mechanisms topicform speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum SaslMechanism {
    /// User name and password in clear over the (TLS) connection.
    #[serde(rename = "PLAIN")]
    Plain,
    /// Salted challenge-response, SHA-256.
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    /// Salted challenge-response, SHA-512.
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
    /// OAuth 2 bearer tokens (Entra ID and OIDC).
    #[serde(rename = "OAUTHBEARER")]
    OauthBearer,
}

impl SaslMechanism {
    /// The name librdkafka and the Kafka protocol use.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
            SaslMechanism::OauthBearer => "OAUTHBEARER",
        }
    }
}

/// An Azure Event Hubs namespace.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EventHubsCluster {
    /// Namespace name; the Kafka endpoint is `<namespace>.servicebus.windows.net:9093`.
    pub namespace: String,
    /// Pricing tier; decides the limits `validate` checks.
    pub tier: EventHubsTier,
    /// Premium processing units or dedicated capacity units (default 1);
    /// scales the event hubs per namespace limit.
    // Inside the internally tagged `Cluster` enum serde buffers values as
    // text, so numbers need a lenient parser.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_u32")]
    #[schemars(range(min = 1))]
    pub capacity: Option<u32>,
    /// Azure subscription id. `${VAR}` is expanded.
    pub subscription_id: String,
    /// Resource group of the namespace.
    pub resource_group: String,
    /// How topicform gets an Azure Resource Manager token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management: Option<AzureManagement>,
    /// How services (and `check`) connect to the Kafka endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<EventHubsKafka>,
    /// ARM endpoint (sovereign clouds, local test servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm_endpoint: Option<String>,
    /// Entra ID authority host (else `AZURE_AUTHORITY_HOST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_host: Option<String>,
    /// Override of the derived Kafka bootstrap (private endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_servers: Option<Vec<String>>,
    /// Extra TLS trust, e.g. a TLS-inspecting proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
}

/// Event Hubs pricing tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventHubsTier {
    /// No Kafka endpoint.
    Basic,
    /// Shared capacity, 10 event hubs, 32 partitions.
    Standard,
    /// Processing units, 100 event hubs per PU.
    Premium,
    /// Dedicated cluster.
    Dedicated,
}

impl fmt::Display for EventHubsTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventHubsTier::Basic => "basic",
            EventHubsTier::Standard => "standard",
            EventHubsTier::Premium => "premium",
            EventHubsTier::Dedicated => "dedicated",
        })
    }
}

/// Entra ID credential kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AzureCredentialKind {
    /// AKS workload identity (federated token file).
    WorkloadIdentity,
    /// Managed identity through IMDS.
    ManagedIdentity,
    /// App registration with a client secret.
    ClientSecret,
    /// The developer's `az login`.
    AzureCli,
}

/// How topicform authenticates to Azure Resource Manager.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzureManagement {
    /// Credential kind.
    pub credential: AzureCredentialKind,
    /// Tenant id (default `AZURE_TENANT_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Client id (default `AZURE_CLIENT_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Client secret for `clientSecret`, as a secret reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretRef>,
}

/// How clients authenticate to the Event Hubs Kafka endpoint.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EventHubsKafka {
    /// `PLAIN` (connection string) or `OAUTHBEARER` (Entra ID).
    pub mechanism: SaslMechanism,
    /// Entra ID credential kind for `OAUTHBEARER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<AzureCredentialKind>,
    /// Connection string for `PLAIN`, as a secret reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_string: Option<SecretRef>,
}

/// A reference to a secret: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(description = "A secret reference: `{ env: NAME }` or `{ file: PATH }`. Literal secrets are rejected.")]
pub enum SecretRef {
    /// Read from this environment variable.
    #[schemars(rename = "env")]
    Env(String),
    /// Read from this file (e.g. a mounted Kubernetes Secret).
    #[schemars(rename = "file")]
    File(String),
}

impl std::fmt::Display for SecretRef {
    /// How a reference is named in messages: `{ env: NAME }`, never the value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "{{ env: {name} }}"),
            SecretRef::File(path) => write!(f, "{{ file: {path} }}"),
        }
    }
}

impl Serialize for SecretRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        match self {
            SecretRef::Env(name) => m.serialize_entry("env", name)?,
            SecretRef::File(path) => m.serialize_entry("file", path)?,
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> de::Visitor<'de> for Visit {
            type Value = SecretRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a secret reference `{ env: NAME }` or `{ file: PATH }`")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretRef, E> {
                Err(E::custom(
                    "a literal secret is not allowed here; write `{ env: NAME }` or `{ file: PATH }` \
                     so the value never lands in the spec or its history",
                ))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<SecretRef, A::Error> {
                let key: String = map.next_key()?.ok_or_else(|| {
                    de::Error::custom("empty secret reference; write `{ env: NAME }` or `{ file: PATH }`")
                })?;
                let value: String = map.next_value()?;
                let secret = match key.as_str() {
                    "env" => SecretRef::Env(value),
                    "file" => SecretRef::File(value),
                    // The key is not repeated: someone may have written the
                    // secret itself where the key goes.
                    _ => {
                        return Err(de::Error::custom(
                            "a secret reference takes the key `env` or `file`, and this one has another \
                             (not shown: it may be the secret); write `{ env: NAME }` or `{ file: PATH }`",
                        ))
                    }
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom("a secret reference has exactly one key, `env` or `file`"));
                }
                Ok(secret)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A topic config value as written: string, number or boolean in YAML, kept
/// as its text (Kafka configs are strings on the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigValue(pub String);

impl Serialize for ConfigValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Numbers stay numbers in exported YAML/JSON, for readability.
        match self.0.parse::<i64>() {
            Ok(n) if n.to_string() == self.0 => s.serialize_i64(n),
            _ => s.serialize_str(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for ConfigValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> de::Visitor<'de> for Visit {
            type Value = ConfigValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a config value (string, number or boolean)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
        }
        d.deserialize_any(Visit)
    }
}

impl JsonSchema for ConfigValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ConfigValue".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A topic config value. Keys ending in `.ms` accept durations: 500ms, 30s, 15m, 36h, 7d, 2w, or -1.",
            "type": ["string", "integer", "boolean"]
        })
    }
}

impl From<&str> for ConfigValue {
    fn from(s: &str) -> Self {
        ConfigValue(s.to_owned())
    }
}

/// Accepts `4` or `"4"`: values inside internally tagged enums reach serde as
/// strings with the YAML loader used here.
fn lenient_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    struct Visit;
    impl de::Visitor<'_> for Visit {
        type Value = Option<u32>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a positive integer")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            u32::try_from(v).map(Some).map_err(|_| E::custom("number too large"))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            u32::try_from(v).map(Some).map_err(|_| E::custom("expected a positive integer"))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            v.trim().parse().map(Some).map_err(|_| E::custom(format!("expected a positive integer, found `{v}`")))
        }
    }
    d.deserialize_any(Visit)
}
