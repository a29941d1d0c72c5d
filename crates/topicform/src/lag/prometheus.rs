//! A lag reading as Prometheus metrics, named and computed as
//! [kafka_exporter](https://github.com/danielqsj/kafka_exporter) (v1.9)
//! does, so the dashboards and alerts written for it work unchanged:
//!
//! | metric | labels |
//! |---|---|
//! | `kafka_consumergroup_current_offset` | consumergroup, topic, partition |
//! | `kafka_consumergroup_current_offset_sum` | consumergroup, topic |
//! | `kafka_consumergroup_lag` | consumergroup, topic, partition |
//! | `kafka_consumergroup_lag_sum` | consumergroup, topic |
//! | `kafka_topic_partitions` | topic |
//! | `kafka_topic_partition_current_offset` | topic, partition |
//!
//! As there, a topic a group never committed on is left out for that
//! group, and a partition it has not committed on (while it has on others
//! of the topic) reads -1 for offset and lag, so an alert can see it; the
//! sums leave the -1s out (kafka_exporter's offset sum adds them: a quirk
//! not copied). Added, under topicform's prefix: the lag of each group over
//! all its topics, whether the last reading succeeded, and when.
//!
//! Pure: a report in, the text format (0.0.4) out.

use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::LagReport;

/// The `Content-Type` of the text format; Prometheus 3 refuses a scrape
/// without a valid one.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupPartition {
    consumergroup: String,
    topic: String,
    partition: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupTopic {
    consumergroup: String,
    topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicPartition {
    topic: String,
    partition: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicLabel {
    topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupLabel {
    consumergroup: String,
}

/// How the last reading went, for the `topicform_lag_*` metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reading {
    /// Whether it succeeded (the report is then that reading's).
    pub ok: bool,
    /// Unix seconds of the last successful reading (0: none yet).
    pub last_success: i64,
    /// Readings that failed since the start.
    pub failures: i64,
}

/// The metrics of `report` (`None` when no reading succeeded yet, or the
/// last one failed: stale lag is worse than none for an alert) and `reading`.
pub fn render(report: Option<&LagReport>, reading: Reading) -> String {
    let mut registry = Registry::default();
    if let Some(report) = report {
        register_lag(&mut registry, report);
    }
    let up = Gauge::<i64>::default();
    up.set(i64::from(reading.ok));
    registry.register("topicform_lag_up", "1 if the last reading of the cluster succeeded, else 0", up);
    let last = Gauge::<i64>::default();
    last.set(reading.last_success);
    registry.register("topicform_lag_last_success_timestamp_seconds", "Unix time of the last successful reading", last);
    let failures = Gauge::<i64>::default();
    failures.set(reading.failures);
    registry.register("topicform_lag_failed_readings", "Readings that failed since the start", failures);
    let mut text = String::new();
    prometheus_text::encode(&mut text, &registry).expect("writing to a String cannot fail");
    text
}

fn register_lag(registry: &mut Registry, report: &LagReport) {
    let current = Family::<GroupPartition, Gauge>::default();
    let current_sum = Family::<GroupTopic, Gauge>::default();
    let lag = Family::<GroupPartition, Gauge>::default();
    let lag_sum = Family::<GroupTopic, Gauge>::default();
    let partitions = Family::<TopicLabel, Gauge>::default();
    let end = Family::<TopicPartition, Gauge>::default();
    let group_lag = Family::<GroupLabel, Gauge>::default();
    for group in &report.groups {
        group_lag.get_or_create(&GroupLabel { consumergroup: group.group.clone() }).set(group.lag);
        for p in &group.partitions {
            let topic_partition = TopicPartition { topic: p.topic.clone(), partition: p.partition.to_string() };
            end.get_or_create(&topic_partition).set(p.end);
            // Read once per topic, whichever group names it first.
            let count = group.partitions.iter().filter(|q| q.topic == p.topic).count();
            partitions.get_or_create(&TopicLabel { topic: p.topic.clone() }).set(count as i64);
            let committed_on_topic = group.partitions.iter().any(|q| q.topic == p.topic && q.committed.is_some());
            if !committed_on_topic {
                continue;
            }
            let labels = GroupPartition {
                consumergroup: group.group.clone(),
                topic: p.topic.clone(),
                partition: p.partition.to_string(),
            };
            current.get_or_create(&labels).set(p.committed.unwrap_or(-1));
            lag.get_or_create(&labels).set(p.lag.unwrap_or(-1));
            let sums = GroupTopic { consumergroup: group.group.clone(), topic: p.topic.clone() };
            current_sum.get_or_create(&sums).inc_by(p.committed.unwrap_or(0));
            lag_sum.get_or_create(&sums).inc_by(p.lag.unwrap_or(0));
        }
    }
    // HELP texts are kafka_exporter's (the crate appends a full stop).
    registry.register(
        "kafka_consumergroup_current_offset",
        "Current Offset of a ConsumerGroup at Topic/Partition",
        current,
    );
    registry.register(
        "kafka_consumergroup_current_offset_sum",
        "Current Offset of a ConsumerGroup at Topic for all partitions",
        current_sum,
    );
    registry.register("kafka_consumergroup_lag", "Current Approximate Lag of a ConsumerGroup at Topic/Partition", lag);
    registry.register(
        "kafka_consumergroup_lag_sum",
        "Current Approximate Lag of a ConsumerGroup at Topic for all partitions",
        lag_sum,
    );
    registry.register("kafka_topic_partitions", "Number of partitions for this Topic", partitions);
    registry.register("kafka_topic_partition_current_offset", "Current Offset of a Broker at Topic/Partition", end);
    registry.register(
        "topicform_consumergroup_lag",
        "Lag of a consumer group over all its topics and partitions (where it has committed)",
        group_lag,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lag::{GroupLag, PartitionLag};

    fn part(topic: &str, partition: i32, committed: Option<i64>, end: i64) -> PartitionLag {
        PartitionLag { topic: topic.into(), partition, committed, end, lag: committed.map(|c| end - c) }
    }

    fn report() -> LagReport {
        LagReport {
            format_version: 1,
            source: "environment test".into(),
            groups: vec![GroupLag {
                group: "billing".into(),
                lag: 7,
                partitions: vec![
                    part("orders", 0, Some(10), 15),
                    part("orders", 1, None, 4),
                    part("orders", 2, Some(3), 5),
                    part("audit", 0, None, 100),
                ],
                missing_topics: vec![],
            }],
        }
    }

    fn line<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
        text.lines().find(|l| l.starts_with(prefix))
    }

    #[test]
    fn the_names_labels_and_values_are_kafka_exporters() {
        let text = render(Some(&report()), Reading { ok: true, last_success: 1_700_000_000, failures: 0 });
        let has = |l: &str| assert!(text.lines().any(|x| x == l), "missing `{l}` in\n{text}");
        has(r#"kafka_consumergroup_lag{consumergroup="billing",topic="orders",partition="0"} 5"#);
        has(r#"kafka_consumergroup_current_offset{consumergroup="billing",topic="orders",partition="0"} 10"#);
        // Not committed here but on other partitions of the topic: -1.
        has(r#"kafka_consumergroup_lag{consumergroup="billing",topic="orders",partition="1"} -1"#);
        has(r#"kafka_consumergroup_current_offset{consumergroup="billing",topic="orders",partition="1"} -1"#);
        // The sums leave the -1 out.
        has(r#"kafka_consumergroup_lag_sum{consumergroup="billing",topic="orders"} 7"#);
        has(r#"kafka_consumergroup_current_offset_sum{consumergroup="billing",topic="orders"} 13"#);
        has(r#"kafka_topic_partition_current_offset{topic="audit",partition="0"} 100"#);
        has(r#"kafka_topic_partitions{topic="orders"} 3"#);
        has(r#"topicform_consumergroup_lag{consumergroup="billing"} 7"#);
        has("topicform_lag_up 1");
        has("# TYPE kafka_consumergroup_lag gauge");
        has("# HELP kafka_consumergroup_lag Current Approximate Lag of a ConsumerGroup at Topic/Partition.");
        // Never committed on the topic: no consumer-group series for it.
        assert!(line(&text, r#"kafka_consumergroup_lag{consumergroup="billing",topic="audit""#).is_none(), "{text}");
    }

    #[test]
    fn a_failed_reading_serves_no_stale_lag() {
        let text = render(None, Reading { ok: false, last_success: 5, failures: 2 });
        assert!(!text.contains("kafka_consumergroup_lag"), "{text}");
        assert!(text.lines().any(|l| l == "topicform_lag_up 0"), "{text}");
        assert!(text.lines().any(|l| l == "topicform_lag_failed_readings 2"), "{text}");
        assert!(text.lines().any(|l| l == "topicform_lag_last_success_timestamp_seconds 5"), "{text}");
    }
}
