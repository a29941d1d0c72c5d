//! What a backend observed on the cluster: plain data, no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One config entry of a topic as the broker reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedConfig {
    /// The value (as the broker writes it: durations in ms).
    pub value: String,
    /// True when set on the topic itself; false for broker or built-in
    /// defaults, which are never drift.
    pub is_override: bool,
}

/// A topic as it exists on the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedTopic {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: u32,
    /// Replicas of each partition (the largest, if they differ); `None`
    /// where the service manages replication.
    pub replication_factor: Option<u16>,
    /// Config entries: every override, plus the default of each key the
    /// spec mentions.
    pub config: BTreeMap<String, ObservedConfig>,
}

impl ObservedTopic {
    /// Keys set on the topic itself, with their values.
    pub fn overrides(&self) -> impl Iterator<Item = (&String, &String)> {
        self.config.iter().filter(|(_, c)| c.is_override).map(|(k, c)| (k, &c.value))
    }
}

/// Everything plan needs to know about a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterState {
    /// Cluster id as the brokers report it.
    pub cluster_id: Option<String>,
    /// Number of brokers (bounds the replication factor of new topics).
    pub broker_count: usize,
    /// Every topic, internal ones included, by name.
    pub topics: BTreeMap<String, ObservedTopic>,
    /// Every ACL (Kafka) or role assignment (Event Hubs), when read: only
    /// for an environment whose services name principals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<crate::access::Grant>>,
}

impl ClusterState {
    /// A digest of what a plan over `topics` depends on: the cluster id and,
    /// for each of those topics, whether it exists, its partitions,
    /// replication and config overrides. A saved plan whose fingerprint
    /// differs from the cluster's is stale. Topics the plan does not touch
    /// are left out, so unrelated activity on a shared cluster does not
    /// invalidate it.
    pub(crate) fn fingerprint<'a>(&self, topics: impl IntoIterator<Item = &'a str>) -> String {
        let mut names: Vec<&str> = topics.into_iter().collect();
        names.sort_unstable();
        names.dedup();
        let mut h = Sha256::new();
        h.update(self.cluster_id.as_deref().unwrap_or("").as_bytes());
        for name in names {
            h.update([0]);
            h.update(name.as_bytes());
            let Some(t) = self.topics.get(name) else {
                h.update([3]);
                continue;
            };
            h.update(t.partitions.to_be_bytes());
            h.update(t.replication_factor.unwrap_or(0).to_be_bytes());
            for (k, v) in t.overrides() {
                h.update([1]);
                h.update(k.as_bytes());
                h.update([2]);
                h.update(v.as_bytes());
            }
        }
        hex::encode(h.finalize())
    }
}

/// What a backend can and cannot do, so the plan refuses what would fail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Partitions can be added to an existing topic.
    pub can_add_partitions: bool,
    /// Replication is the service's business (Event Hubs): never compared.
    pub manages_replication: bool,
    /// Config keys that cannot change after creation.
    pub immutable_config_keys: Vec<String>,
}

impl Capabilities {
    /// Apache Kafka: partitions grow, replication is the user's, configs mutable.
    pub fn kafka() -> Self {
        Capabilities { can_add_partitions: true, manages_replication: false, immutable_config_keys: Vec::new() }
    }
}
