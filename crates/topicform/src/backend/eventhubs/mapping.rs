//! Spec topic <-> ARM event hub, both directions (DESIGN section 6). Pure:
//! JSON in, JSON out, no I/O.
//!
//! | spec | ARM `properties` |
//! |---|---|
//! | `partitions` | `partitionCount` |
//! | `retention.ms` | `retentionDescription.retentionTimeInHours` (whole hours; `-1` = infinite, compact only) |
//! | `cleanup.policy` | `retentionDescription.cleanupPolicy` `Delete` / `Compact` (immutable) |
//! | `delete.retention.ms` | `retentionDescription.tombstoneRetentionTimeInHours` |
//! | `replicationFactor` | not applicable: the service replicates |
//!
//! Fields topicform does not manage (`captureDescription`, `userMetadata`,
//! `status`, ...) are carried over from the event hub's current body, so a
//! PUT (a full replacement in ARM) never drops them.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use topicform_core::plan::{Change, ObservedConfig, ObservedTopic};
use topicform_core::spec::values;

/// Retention (and tombstone retention) an event hub gets when none is given,
/// and the value that is therefore not an override: one day.
pub(crate) const DEFAULT_HOURS: i64 = 24;
const HOUR_MS: i64 = 3_600_000;
/// Properties ARM marks `readOnly` in `eventhubs.json`: never sent back.
const READ_ONLY: [&str; 3] = ["partitionIds", "createdAt", "updatedAt"];

/// `cleanup.policy` as ARM names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cleanup {
    /// `Delete`: events expire after the retention time.
    Delete,
    /// `Compact`: the latest event per key is kept.
    Compact,
}

impl Cleanup {
    /// From ARM's `cleanupPolicy` (absent = `Delete`).
    pub(crate) fn from_arm(value: Option<&str>) -> Cleanup {
        match value {
            Some(v) if v.eq_ignore_ascii_case("compact") => Cleanup::Compact,
            _ => Cleanup::Delete,
        }
    }

    /// From the spec's normalised `cleanup.policy`.
    pub(crate) fn from_spec(value: &str) -> Cleanup {
        if values::normalise("cleanup.policy", value).is_ok_and(|v| v == "compact") {
            Cleanup::Compact
        } else {
            Cleanup::Delete
        }
    }

    /// ARM's spelling.
    pub fn arm(self) -> &'static str {
        match self {
            Cleanup::Delete => "Delete",
            Cleanup::Compact => "Compact",
        }
    }

    /// The spec's spelling.
    pub fn spec(self) -> &'static str {
        match self {
            Cleanup::Delete => "delete",
            Cleanup::Compact => "compact",
        }
    }
}

/// ARM -> spec: an event hub as an observed topic. `hub` is one element of
/// the list or GET response (`{ name, properties: {...} }`).
pub(crate) fn observed_topic(hub: &Value) -> Result<ObservedTopic, String> {
    let name = hub["name"].as_str().ok_or("an event hub without `name`")?.to_owned();
    let props = &hub["properties"];
    let partitions = props["partitionCount"]
        .as_u64()
        .or_else(|| props["partitionIds"].as_array().map(|a| a.len() as u64))
        .ok_or_else(|| format!("event hub `{name}` has no `partitionCount`"))?;
    let retention = &props["retentionDescription"];
    let cleanup = Cleanup::from_arm(retention["cleanupPolicy"].as_str());
    let mut config = BTreeMap::new();
    config.insert(
        "cleanup.policy".to_owned(),
        ObservedConfig { value: cleanup.spec().to_owned(), is_override: cleanup == Cleanup::Compact },
    );
    // ARM answers Long.MaxValue for the retention of a compacted event hub
    // (eventhubs.json: "If cleanupPolicy is Compact the returned value of
    // this property is Long.MaxValue"): infinite, and the service's value,
    // not the user's.
    let hours =
        retention["retentionTimeInHours"].as_i64().or_else(|| props["messageRetentionInDays"].as_i64().map(|d| d * 24));
    match (cleanup, hours) {
        (Cleanup::Compact, h) if h.is_none_or(|h| !(0..i64::MAX / HOUR_MS).contains(&h)) => {
            config.insert("retention.ms".into(), ObservedConfig { value: "-1".into(), is_override: false });
        }
        (_, Some(h)) => {
            config.insert(
                "retention.ms".into(),
                ObservedConfig { value: (h * HOUR_MS).to_string(), is_override: h != DEFAULT_HOURS },
            );
        }
        (_, None) => {}
    }
    // Tombstone retention matters for compacted hubs only, but is kept as
    // set whatever the policy, so it reads back as written.
    if let Some(h) = retention["tombstoneRetentionTimeInHours"].as_i64().filter(|h| *h > 0) {
        config.insert(
            "delete.retention.ms".into(),
            ObservedConfig { value: (h * HOUR_MS).to_string(), is_override: h != DEFAULT_HOURS },
        );
    }
    Ok(ObservedTopic { name, partitions: partitions as u32, replication_factor: None, config })
}

/// What one event hub should become: partitions and the mapped configs
/// (normalised spec values, durations in ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Desired {
    /// Partition count.
    pub partitions: u32,
    /// `retention.ms`, `cleanup.policy`, `delete.retention.ms` as set.
    pub config: BTreeMap<String, String>,
}

impl Desired {
    /// What the event hub holds now (`None`: a new one, defaults).
    pub fn current(current: Option<&ObservedTopic>) -> Desired {
        Desired {
            partitions: current.map(|c| c.partitions).unwrap_or(1),
            config: current
                .map(|c| c.config.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect())
                .unwrap_or_default(),
        }
    }

    /// The desired state of a topic from its plan changes, starting from
    /// what the cluster has (`current`, `None` for a create).
    pub fn from_changes(current: Option<&ObservedTopic>, changes: &[Change]) -> Desired {
        let mut d = Desired::current(current);
        for c in changes {
            match c {
                Change::CreateTopic { partitions, config, .. } => {
                    d.partitions = *partitions;
                    d.config = config.clone();
                }
                Change::AddPartitions { to, .. } => d.partitions = *to,
                Change::SetConfig { key, desired, .. } => {
                    d.config.insert(key.clone(), desired.clone());
                }
                // Back to the service default.
                Change::DeleteConfig { key, .. } => {
                    d.config.remove(key);
                }
                Change::DeleteTopic => {}
            }
        }
        d
    }

    fn cleanup(&self) -> Cleanup {
        self.config.get("cleanup.policy").map(|v| Cleanup::from_spec(v)).unwrap_or(Cleanup::Delete)
    }

    fn hours(&self, key: &str) -> Result<Option<i64>, String> {
        let Some(v) = self.config.get(key) else { return Ok(None) };
        let ms = values::parse_duration_ms(v)?;
        if ms == -1 {
            return Ok(Some(-1));
        }
        if ms <= 0 || ms % HOUR_MS != 0 {
            return Err(format!("{key} `{v}` is not a whole number of hours (Event Hubs keeps retention in hours)"));
        }
        Ok(Some(ms / HOUR_MS))
    }
}

/// Spec -> ARM: the body of `PUT .../eventhubs/{name}`. `current` is the
/// event hub's body from a GET (`None` for a create): its `properties` are
/// kept, minus the read-only ones, and the managed ones replaced.
pub(crate) fn put_body(current: Option<&Value>, desired: &Desired) -> Result<Value, String> {
    let mut props: Map<String, Value> = current.and_then(|c| c["properties"].as_object()).cloned().unwrap_or_default();
    for key in READ_ONLY {
        props.remove(key);
    }
    props.insert("partitionCount".into(), json!(desired.partitions));
    let cleanup = desired.cleanup();
    let mut retention: Map<String, Value> =
        props.get("retentionDescription").and_then(Value::as_object).cloned().unwrap_or_default();
    retention.insert("cleanupPolicy".into(), json!(cleanup.arm()));
    match (cleanup, desired.hours("retention.ms")?) {
        (Cleanup::Delete, Some(-1)) => {
            return Err("infinite retention (`retention.ms: -1`) needs `cleanup.policy: compact` on Event Hubs".into())
        }
        // Compacted: a finite retention is sent as written (Microsoft's
        // compact example does the same); infinite is the service's own
        // value (Long.MaxValue), so nothing is sent.
        (Cleanup::Compact, Some(h)) if h > 0 => {
            retention.insert("retentionTimeInHours".into(), json!(h));
        }
        (Cleanup::Compact, _) => {
            retention.remove("retentionTimeInHours");
        }
        (Cleanup::Delete, Some(h)) => {
            retention.insert("retentionTimeInHours".into(), json!(h));
        }
        (Cleanup::Delete, None) => {
            retention.insert("retentionTimeInHours".into(), json!(DEFAULT_HOURS));
        }
    }
    match (cleanup, desired.hours("delete.retention.ms")?) {
        (_, Some(h)) if h > 0 => {
            retention.insert("tombstoneRetentionTimeInHours".into(), json!(h));
        }
        (Cleanup::Compact, _) => {
            retention.insert("tombstoneRetentionTimeInHours".into(), json!(DEFAULT_HOURS));
        }
        (Cleanup::Delete, _) => {
            retention.remove("tombstoneRetentionTimeInHours");
        }
    }
    props.insert("retentionDescription".into(), Value::Object(retention));
    // `messageRetentionInDays` is the older, day-granular view of the same
    // setting; with `retentionDescription` present the service derives it,
    // and sending a stale copy could contradict the new retention.
    props.remove("messageRetentionInDays");
    Ok(json!({ "properties": props }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(props: Value) -> Value {
        json!({ "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns/eventhubs/h", "name": "h", "type": "Microsoft.EventHub/Namespaces/EventHubs", "properties": props })
    }

    fn cfg(t: &ObservedTopic, key: &str) -> Option<(String, bool)> {
        t.config.get(key).map(|c| (c.value.clone(), c.is_override))
    }

    #[test]
    fn delete_policy_maps_hours_to_ms() {
        let t = observed_topic(&hub(json!({
            "partitionCount": 4,
            "retentionDescription": { "cleanupPolicy": "Delete", "retentionTimeInHours": 168 }
        })))
        .unwrap();
        assert_eq!(t.name, "h");
        assert_eq!(t.partitions, 4);
        assert_eq!(t.replication_factor, None);
        assert_eq!(cfg(&t, "retention.ms"), Some(("604800000".into(), true)));
        assert_eq!(cfg(&t, "cleanup.policy"), Some(("delete".into(), false)));
        assert_eq!(cfg(&t, "delete.retention.ms"), None);
        // Set on a deleting hub, tombstone retention reads back as written.
        let t = observed_topic(&hub(json!({
            "partitionCount": 1,
            "retentionDescription": { "cleanupPolicy": "Delete", "retentionTimeInHours": 24, "tombstoneRetentionTimeInHours": 48 }
        })))
        .unwrap();
        assert_eq!(cfg(&t, "delete.retention.ms"), Some(("172800000".into(), true)));
    }

    #[test]
    fn default_retention_is_not_an_override_and_days_are_a_fallback() {
        let t = observed_topic(&hub(json!({ "partitionCount": 2, "messageRetentionInDays": 1 }))).unwrap();
        assert_eq!(cfg(&t, "retention.ms"), Some(("86400000".into(), false)));
        let t = observed_topic(&hub(json!({ "partitionIds": ["0", "1", "2"], "messageRetentionInDays": 3 }))).unwrap();
        assert_eq!(t.partitions, 3);
        assert_eq!(cfg(&t, "retention.ms"), Some(("259200000".into(), true)));
    }

    #[test]
    fn compact_reports_infinite_retention_and_tombstones() {
        // The definition says ARM answers Long.MaxValue for a compacted
        // hub's retention: infinite, and not the user's setting.
        let max = observed_topic(&hub(json!({
            "partitionCount": 1,
            "retentionDescription": { "cleanupPolicy": "Compact", "retentionTimeInHours": i64::MAX, "tombstoneRetentionTimeInHours": 1 }
        })))
        .unwrap();
        assert_eq!(cfg(&max, "retention.ms"), Some(("-1".into(), false)));
        assert_eq!(cfg(&max, "cleanup.policy"), Some(("compact".into(), true)));
        assert_eq!(cfg(&max, "delete.retention.ms"), Some(("3600000".into(), true)));
    }

    #[test]
    fn missing_partitions_is_an_error() {
        assert!(observed_topic(&hub(json!({}))).unwrap_err().contains("partitionCount"));
        assert!(observed_topic(&json!({})).is_err());
    }

    #[test]
    fn create_body_sets_managed_fields_only() {
        let d = Desired::from_changes(
            None,
            &[Change::CreateTopic {
                partitions: 6,
                replication_factor: None,
                config: BTreeMap::from([
                    ("retention.ms".into(), "259200000".into()),
                    ("cleanup.policy".into(), "delete".into()),
                ]),
            }],
        );
        assert_eq!(
            put_body(None, &d).unwrap(),
            json!({ "properties": { "partitionCount": 6, "retentionDescription": { "cleanupPolicy": "Delete", "retentionTimeInHours": 72 } } })
        );
    }

    #[test]
    fn compact_create_sends_tombstones_not_retention() {
        let d = Desired {
            partitions: 1,
            config: BTreeMap::from([
                ("cleanup.policy".into(), "compact".into()),
                ("retention.ms".into(), "-1".into()),
                ("delete.retention.ms".into(), "7200000".into()),
            ]),
        };
        assert_eq!(
            put_body(None, &d).unwrap()["properties"]["retentionDescription"],
            json!({ "cleanupPolicy": "Compact", "tombstoneRetentionTimeInHours": 2 })
        );
    }

    #[test]
    fn update_keeps_unmanaged_fields_and_drops_read_only_ones() {
        let current = hub(json!({
            "messageRetentionInDays": 4,
            "partitionCount": 4,
            "status": "Active",
            "userMetadata": "owner: team-a",
            "createdAt": "2017-06-28T02:45:55.877Z",
            "updatedAt": "2017-06-28T02:46:05.877Z",
            "partitionIds": ["0", "1", "2", "3"],
            "captureDescription": { "enabled": true, "encoding": "Avro", "intervalInSeconds": 120 },
            "retentionDescription": { "cleanupPolicy": "Delete", "retentionTimeInHours": 96 }
        }));
        let observed = observed_topic(&current).unwrap();
        let d = Desired::from_changes(
            Some(&observed),
            &[
                Change::AddPartitions { from: 4, to: 8 },
                Change::SetConfig { key: "retention.ms".into(), current: None, desired: "172800000".into() },
            ],
        );
        let body = put_body(Some(&current), &d).unwrap();
        assert_eq!(
            body,
            json!({ "properties": {
                "partitionCount": 8,
                "status": "Active",
                "userMetadata": "owner: team-a",
                "captureDescription": { "enabled": true, "encoding": "Avro", "intervalInSeconds": 120 },
                "retentionDescription": { "cleanupPolicy": "Delete", "retentionTimeInHours": 48 }
            } })
        );
    }

    #[test]
    fn deleting_a_config_goes_back_to_the_default() {
        let observed = observed_topic(&hub(json!({
            "partitionCount": 2,
            "retentionDescription": { "cleanupPolicy": "Delete", "retentionTimeInHours": 72 }
        })))
        .unwrap();
        let d = Desired::from_changes(
            Some(&observed),
            &[Change::DeleteConfig { key: "retention.ms".into(), current: "259200000".into() }],
        );
        assert_eq!(
            put_body(None, &d).unwrap()["properties"]["retentionDescription"]["retentionTimeInHours"],
            json!(24)
        );
    }

    #[test]
    fn round_trip_is_stable() {
        let d = Desired {
            partitions: 3,
            config: BTreeMap::from([("retention.ms".into(), "3d".into()), ("cleanup.policy".into(), "delete".into())]),
        };
        let mut body = put_body(None, &d).unwrap();
        body["name"] = json!("x");
        let t = observed_topic(&body).unwrap();
        assert_eq!(t.partitions, 3);
        assert!(values::equivalent("retention.ms", &t.config["retention.ms"].value, "3d"));
    }

    #[test]
    fn bad_hours_are_refused() {
        let d = Desired { partitions: 1, config: BTreeMap::from([("retention.ms".into(), "90m".into())]) };
        assert!(put_body(None, &d).unwrap_err().contains("whole number of hours"));
        let d = Desired { partitions: 1, config: BTreeMap::from([("retention.ms".into(), "-1".into())]) };
        assert!(put_body(None, &d).unwrap_err().contains("compact"));
    }
}
