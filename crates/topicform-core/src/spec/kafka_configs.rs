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

/// The known key closest to `key`, if it is a plausible typo of it. A key
/// far longer than any known one is no typo: skipped, so a huge key costs
/// nothing.
pub(crate) fn suggestion(key: &str) -> Option<&'static str> {
    const LONGEST_KEY: usize = 41;
    if key.len() > LONGEST_KEY + 3 {
        return None;
    }
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

/// The type and range Kafka 4.1 gives each topic config (LogConfig's
/// ConfigDef), for the keys whose values can be checked without a broker.
/// Only what Kafka documents is checked, never stricter: anything subtler
/// (a segment size below the broker's minimum) is left to the broker, which
/// `plan` asks with `validate_only`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ValueType {
    /// A 64-bit integer of at least `min`.
    Long {
        min: i64,
    },
    /// A 32-bit integer in `min..=max`.
    Int {
        min: i64,
        max: i64,
    },
    /// A decimal number in `min..=max`.
    Ratio {
        min: f64,
        max: f64,
    },
    Boolean,
    /// One of these values (case-sensitive, as Kafka reads them).
    OneOf(&'static [&'static str]),
    /// A comma-separated list of these values, at least one.
    ListOf(&'static [&'static str]),
}

fn value_type(key: &str) -> Option<ValueType> {
    use ValueType::*;
    const INT_MAX: i64 = i32::MAX as i64;
    Some(match key {
        "cleanup.policy" => ListOf(&["compact", "delete"]),
        "compression.type" => OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        "compression.gzip.level" => Int { min: -1, max: 9 },
        "compression.lz4.level" => Int { min: 1, max: 17 },
        "compression.zstd.level" => Int { min: -131_072, max: 22 },
        "message.timestamp.type" => OneOf(&["CreateTime", "LogAppendTime"]),
        "min.cleanable.dirty.ratio" => Ratio { min: 0.0, max: 1.0 },
        "min.insync.replicas" => Int { min: 1, max: INT_MAX },
        "max.message.bytes" | "index.interval.bytes" => Int { min: 0, max: INT_MAX },
        "segment.bytes" => Int { min: 14, max: INT_MAX },
        "segment.index.bytes" => Int { min: 4, max: INT_MAX },
        "retention.bytes" => Long { min: i64::MIN },
        "local.retention.bytes" | "local.retention.ms" => Long { min: -2 },
        "retention.ms" => Long { min: -1 },
        "flush.messages" | "max.compaction.lag.ms" | "segment.ms" => Long { min: 1 },
        "delete.retention.ms"
        | "file.delete.delay.ms"
        | "flush.ms"
        | "message.timestamp.after.max.ms"
        | "message.timestamp.before.max.ms"
        | "min.compaction.lag.ms"
        | "segment.jitter.ms" => Long { min: 0 },
        "preallocate"
        | "remote.log.copy.disable"
        | "remote.log.delete.on.disable"
        | "remote.storage.enable"
        | "unclean.leader.election.enable" => Boolean,
        _ => return None,
    })
}

/// Why `value` (already in normal form: durations in milliseconds) is not a
/// value Kafka accepts for topic config `key`; `Ok` for keys whose values
/// are not checked here.
pub(crate) fn check_value(key: &str, value: &str) -> Result<(), String> {
    let Some(kind) = value_type(key) else { return Ok(()) };
    let v = value.trim();
    let number = |min: i64, max: i64| match v.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(()),
        Ok(n) if n < min => Err(format!("`{n}` is below the minimum {min}")),
        Ok(n) => Err(format!("`{n}` is above the maximum {max}")),
        Err(_) => Err(format!("`{v}` is not a whole number")),
    };
    match kind {
        ValueType::Long { min } => number(min, i64::MAX),
        ValueType::Int { min, max } => number(min, max),
        ValueType::Ratio { min, max } => match v.parse::<f64>() {
            Ok(x) if (min..=max).contains(&x) => Ok(()),
            Ok(_) => Err(format!("`{v}` is not between {min} and {max}")),
            Err(_) => Err(format!("`{v}` is not a number")),
        },
        ValueType::Boolean => match v {
            "true" | "false" => Ok(()),
            _ => Err(format!("`{v}` is not `true` or `false`")),
        },
        ValueType::OneOf(allowed) => match allowed.contains(&v) {
            true => Ok(()),
            false => Err(format!("`{v}` is not one of {}", quoted(allowed))),
        },
        ValueType::ListOf(allowed) => match v.split(',').map(str::trim).find(|item| !allowed.contains(item)) {
            None => Ok(()),
            Some(item) => Err(format!("`{item}` is not one of {}", quoted(allowed))),
        },
    }
}

fn quoted(values: &[&str]) -> String {
    values.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
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
    fn values_kafka_would_refuse_are_named_offline() {
        for (key, bad, why) in [
            ("cleanup.policy", "foo", "`foo` is not one of `compact`, `delete`"),
            ("cleanup.policy", "compact,foo", "`foo` is not one of"),
            ("min.insync.replicas", "abc", "`abc` is not a whole number"),
            ("min.insync.replicas", "0", "below the minimum 1"),
            ("max.message.bytes", "3000000000", "above the maximum 2147483647"),
            ("compression.type", "LZ4", "`LZ4` is not one of"),
            ("min.cleanable.dirty.ratio", "1.5", "not between 0 and 1"),
            ("preallocate", "yes", "not `true` or `false`"),
            ("retention.ms", "-5", "below the minimum -1"),
        ] {
            let err = check_value(key, bad).unwrap_err();
            assert!(err.contains(why), "{key}: {bad}: {err}");
        }
        for (key, good) in [
            ("cleanup.policy", "compact,delete"),
            ("cleanup.policy", "delete"),
            ("min.insync.replicas", "2"),
            ("retention.ms", "-1"),
            ("retention.bytes", "-1"),
            ("min.cleanable.dirty.ratio", "0.5"),
            ("message.timestamp.type", "LogAppendTime"),
            ("unclean.leader.election.enable", "false"),
            ("some.plugin.key", "anything"),
        ] {
            assert_eq!(check_value(key, good), Ok(()), "{key}: {good}");
        }
    }

    #[test]
    fn every_known_key_with_a_type_is_a_known_key() {
        for key in TOPIC_CONFIG_KEYS {
            // Only the throttled-replica lists are free text.
            assert!(value_type(key).is_some() || key.ends_with("throttled.replicas"), "{key}");
        }
        assert!(suggestion(&"x".repeat(512 * 1024)).is_none());
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
