//! Topic-level config keys of Apache Kafka 4.x, for a friendly warning on
//! typos before the broker rejects them at apply time. A warning, not an
//! error: brokers and plugins may add keys this list does not know.

/// Every topic config Kafka 4.1 documents.
pub(crate) const TOPIC_CONFIG_KEYS: &[&str] = &[
    "cleanup.policy",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.type",
    "compression.zstd.level",
    "delete.retention.ms",
    "file.delete.delay.ms",
    "flush.messages",
    "flush.ms",
    "follower.replication.throttled.replicas",
    "index.interval.bytes",
    "leader.replication.throttled.replicas",
    "local.retention.bytes",
    "local.retention.ms",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.timestamp.after.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "preallocate",
    "remote.log.copy.disable",
    "remote.log.delete.on.disable",
    "remote.storage.enable",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.index.bytes",
    "segment.jitter.ms",
    "segment.ms",
    "unclean.leader.election.enable",
];

/// The known key closest to `key`, if it is a plausible typo of it.
pub(crate) fn suggestion(key: &str) -> Option<&'static str> {
    TOPIC_CONFIG_KEYS.iter().map(|k| (edit_distance(key, k), *k)).filter(|(d, _)| *d <= 3).min().map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Which part of the spec (or topicform itself) owns a librdkafka client
/// property, so `clientConfig` cannot override it: security settings would
/// otherwise bypass what `tls` and `sasl` guarantee (verified host names,
/// secrets only from references). `None`: free to set.
pub fn client_property_owner(key: &str) -> Option<&'static str> {
    let k = key.trim().to_ascii_lowercase();
    if k == "security.protocol" {
        Some("`tls` and `sasl` (the security protocol follows from them)")
    } else if k.starts_with("ssl.") || k.starts_with("ssl_") || k == "enable.ssl.certificate.verification" {
        Some("`tls` (host name verification stays on)")
    } else if k.starts_with("sasl.") || k.contains("oauthbearer") {
        Some("`sasl`")
    } else if k == "bootstrap.servers" || k == "metadata.broker.list" {
        Some("`bootstrapServers`")
    } else if matches!(k.as_str(), "builtin.features" | "group.id" | "enable.auto.commit" | "enable.auto.offset.store")
    {
        Some("topicform (its clients never join or commit for a group)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_the_nearest_key() {
        assert_eq!(suggestion("retention.msx"), Some("retention.ms"));
        assert_eq!(suggestion("retension.ms"), Some("retention.ms"));
        assert_eq!(suggestion("cleanup.polcy"), Some("cleanup.policy"));
        assert_eq!(suggestion("something.else.entirely"), None);
    }

    #[test]
    fn client_config_may_tune_but_not_secure() {
        for key in [
            "security.protocol",
            "ssl.ca.location",
            "SSL.Endpoint.Identification.Algorithm",
            "sasl.password",
            "enable.sasl.oauthbearer.unsecure.jwt",
            "bootstrap.servers",
            "group.id",
        ] {
            assert!(super::client_property_owner(key).is_some(), "{key}");
        }
        for key in ["socket.timeout.ms", "client.rack", "request.timeout.ms", "debug"] {
            assert!(super::client_property_owner(key).is_none(), "{key}");
        }
    }
}
