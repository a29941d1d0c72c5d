//! `lag`: how far each consumer group is behind, per partition: the end of
//! the partition (high watermark) minus the group's committed offset. Read
//! through the Kafka protocol, so it works for Apache Kafka and for the Event
//! Hubs Kafka endpoint alike, the way a service connects. Nothing is joined
//! or committed: the group's members are never disturbed.
//!
//! The ends of all partitions are read at once, in one ListOffsets request
//! per leader broker (librdkafka's offsets-for-times with "latest"), not one
//! request per partition: 10,000 partitions cost a handful of round trips,
//! which matters most through a cloud endpoint. [`prometheus`] renders a
//! reading as kafka_exporter's metrics, [`serve`] keeps reading and serves it.

pub mod prometheus;
pub mod serve;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, DefaultConsumerContext};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde::Serialize;

use crate::kafka::{describe_error, retry_blocking, Client, Connection};
use crate::telemetry::request;
use crate::{Error, Result};
use topicform_core::spec::{ResolvedEnvironment, Spec};

/// Version of the JSON output.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// Lag of every group asked for.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LagReport {
    /// Output format version.
    pub format_version: u32,
    /// What was read (`environment prod`).
    pub source: String,
    /// One entry per group, in name order.
    pub groups: Vec<GroupLag>,
}

/// One consumer group.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupLag {
    /// Group id.
    pub group: String,
    /// Sum of the partitions' lag where the group has committed.
    pub lag: i64,
    /// Partitions of the group's topics.
    pub partitions: Vec<PartitionLag>,
    /// Topics the group should consume that the cluster does not have.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_topics: Vec<String>,
}

/// One partition of one topic, for one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionLag {
    pub topic: String,
    /// Partition id.
    pub partition: i32,
    /// Committed offset; `None` when the group never committed here.
    pub committed: Option<i64>,
    /// High watermark (the offset the next message gets).
    pub end: i64,
    /// `end - committed`; `None` without a committed offset.
    pub lag: Option<i64>,
}

/// The groups to measure and the topics each reads: the consumers of the
/// environment's topics (their `consumers:` and the services consuming them), or the groups named on the command line
/// (with the topics the spec gives them, else every topic of the
/// environment). Pure.
pub fn groups_to_measure(
    spec: &Spec,
    env: &ResolvedEnvironment,
    contributed: &BTreeMap<String, Vec<String>>,
    only: &[String],
) -> BTreeMap<String, Vec<String>> {
    let mut by_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for topic in &env.topics {
        let mut groups = spec.consumers_of(&topic.name);
        for group in contributed.get(&topic.name).into_iter().flatten() {
            if !groups.contains(group) {
                groups.push(group.clone());
            }
        }
        for group in groups {
            by_group.entry(group).or_default().push(topic.name.clone());
        }
    }
    if only.is_empty() {
        return by_group;
    }
    let every_topic: Vec<String> = env.topics.iter().map(|t| t.name.clone()).collect();
    only.iter().map(|g| (g.clone(), by_group.get(g).cloned().unwrap_or_else(|| every_topic.clone()))).collect()
}

/// What `lag` measures in environment `env` (resolved from `loaded`):
/// [`groups_to_measure`] of the spec's topics and, where the spec reads
/// topics from Kubernetes (`from:`), of the ConfigMaps' topics and the
/// groups they name too. Read at each call, so `lag --serve` follows
/// releases as they come and go; without `from:` nothing is read again.
pub async fn current_groups(
    loaded: &topicform_core::spec::LoadedSpec,
    env: &ResolvedEnvironment,
    vars: topicform_core::spec::VarLookup<'_>,
    only: &[String],
    timeout: Duration,
) -> Result<BTreeMap<String, Vec<String>>> {
    let Some(source) = loaded.kubernetes_source(&env.name, vars) else {
        return Ok(groups_to_measure(&loaded.spec, env, &BTreeMap::new(), only));
    };
    let documents = crate::k8s::contributions::fetch(&source, timeout).await?.documents;
    let (merged, _) = loaded
        .resolve_without_access_with(&env.name, vars, &documents)
        .map_err(|found| Error::invalid_spec(&loaded.name, &loaded.source, &found))?;
    let contributed = topicform_core::spec::contributed_consumers(&documents);
    Ok(groups_to_measure(&loaded.spec, &merged, &contributed, only))
}

/// Reads the end of every partition of the groups' topics and each group's
/// committed offsets.
pub async fn measure(
    connection: &Connection,
    groups: BTreeMap<String, Vec<String>>,
    timeout: Duration,
) -> Result<LagReport> {
    crate::check::refuse_unreachable(connection, timeout).await?;
    let target = connection.clone();
    let measured = tokio::task::spawn_blocking(move || measure_blocking(&target, &groups, timeout))
        .await
        .expect("lag task panicked");
    match measured {
        // Worded the way `check` words it, cause and fix included.
        Err(Error::Unreachable { detail, .. }) => Err(crate::check::explain_failure(connection, detail, timeout).await),
        other => other,
    }
}

fn measure_blocking(
    connection: &Connection,
    groups: &BTreeMap<String, Vec<String>>,
    timeout: Duration,
) -> Result<LagReport> {
    let base = connection.client_config()?;
    // Explained by `measure` once out of the blocking task.
    let unreachable = |e: rdkafka::error::KafkaError| Error::Unreachable {
        bootstrap: connection.brokers.join(","),
        step: "metadata".into(),
        detail: describe_error(&e),
        cause: String::new(),
        fix: String::new(),
    };
    let probe = consumer(connection, &base, "topicform-lag", timeout)?;
    let metadata = request::kafka_blocking("Metadata", 0, || {
        retry_blocking("Metadata", timeout, || probe.fetch_metadata(None, timeout))
    })
    .map_err(unreachable)?;
    let partitions: BTreeMap<&str, Vec<i32>> = metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .map(|t| (t.name(), t.partitions().iter().map(|p| p.id()).collect()))
        .collect();
    let wanted: BTreeSet<(String, i32)> = groups
        .values()
        .flatten()
        .filter_map(|topic| partitions.get(topic.as_str()).map(|ids| (topic, ids)))
        .flat_map(|(topic, ids)| ids.iter().map(move |p| (topic.clone(), *p)))
        .collect();
    let ends = end_offsets(&probe, &wanted, timeout).map_err(unreachable)?;
    let mut report =
        LagReport { format_version: FORMAT_VERSION, source: connection.source.clone(), groups: Vec::new() };
    for (group, topics) in groups {
        let mut tpl = TopicPartitionList::new();
        let mut missing = Vec::new();
        for topic in topics {
            match partitions.get(topic.as_str()) {
                Some(ids) => ids.iter().for_each(|p| {
                    tpl.add_partition(topic, *p);
                }),
                None => missing.push(topic.clone()),
            }
        }
        let committed = committed_offsets(&base, connection, group, &tpl, timeout)?;
        let lags: Vec<PartitionLag> = tpl
            .elements()
            .iter()
            .map(|elem| {
                let key = (elem.topic().to_owned(), elem.partition());
                let end = ends.get(&key).copied().unwrap_or_default();
                let done = committed.get(&key).copied();
                PartitionLag {
                    topic: key.0,
                    partition: key.1,
                    committed: done,
                    end,
                    lag: done.map(|c| (end - c).max(0)),
                }
            })
            .collect();
        report.groups.push(GroupLag {
            group: group.clone(),
            lag: lags.iter().filter_map(|p| p.lag).sum(),
            partitions: lags,
            missing_topics: missing,
        });
    }
    Ok(report)
}

/// The end (high watermark) of every partition in `wanted`, read in one
/// ListOffsets request per leader: offsets-for-times with the timestamp
/// "latest" (-1), which the protocol answers with the end offset.
fn end_offsets(
    probe: &Client<BaseConsumer>,
    wanted: &BTreeSet<(String, i32)>,
    timeout: Duration,
) -> rdkafka::error::KafkaResult<BTreeMap<(String, i32), i64>> {
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut tpl = TopicPartitionList::with_capacity(wanted.len());
    for (topic, partition) in wanted {
        tpl.add_partition_offset(topic, *partition, Offset::End)?;
    }
    let answered = request::kafka_blocking("ListOffsets", wanted.len(), || {
        retry_blocking("ListOffsets", timeout, || probe.offsets_for_times(tpl.clone(), timeout))
    })?;
    let mut ends = BTreeMap::new();
    for elem in answered.elements() {
        elem.error()?;
        match elem.offset() {
            Offset::Offset(end) => ends.insert((elem.topic().to_owned(), elem.partition()), end),
            // "No offset": an empty partition whose log starts at 0.
            _ => ends.insert((elem.topic().to_owned(), elem.partition()), 0),
        };
    }
    Ok(ends)
}

/// A consumer that never joins its group nor commits.
fn consumer(
    connection: &Connection,
    base: &ClientConfig,
    group: &str,
    timeout: Duration,
) -> Result<Client<BaseConsumer>> {
    let mut cfg = base.clone();
    cfg.set("group.id", group).set("enable.auto.commit", "false").set("enable.auto.offset.store", "false");
    Ok(Client::create(connection, &cfg, DefaultConsumerContext, timeout)?)
}

/// The group's committed offsets (OffsetFetch), as the group's own id but
/// without joining it.
fn committed_offsets(
    base: &ClientConfig,
    connection: &Connection,
    group: &str,
    tpl: &TopicPartitionList,
    timeout: Duration,
) -> Result<BTreeMap<(String, i32), i64>> {
    if tpl.count() == 0 {
        return Ok(BTreeMap::new());
    }
    let c = consumer(connection, base, group, timeout)?;
    // Right after a broker starts, the group coordinator answers
    // NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS for a while.
    let offsets = request::kafka_blocking("OffsetFetch", tpl.count(), || {
        retry_blocking("OffsetFetch", timeout, || c.committed_offsets(tpl.clone(), timeout))
    })
    .map_err(|e| Error::Kafka {
        operation: format!("reading the committed offsets of group `{group}`"),
        message: e.to_string(),
    })?;
    Ok(offsets
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(n) => Some(((e.topic().to_owned(), e.partition()), n)),
            _ => None,
        })
        .collect())
}

/// The report as text: one block per group, one line per partition.
pub fn render_text(report: &LagReport) -> String {
    use std::fmt::Write;
    let mut out = format!("Consumer lag in {}\n", report.source);
    if report.groups.is_empty() {
        out.push_str("\nNo consumer groups: name them in the spec's `consumers:` or pass --group.\n");
    }
    for g in &report.groups {
        let _ = writeln!(out, "\ngroup {}: lag {}", g.group, g.lag);
        let width = g.partitions.iter().map(|p| p.topic.len()).max().unwrap_or(5).max(5);
        if !g.partitions.is_empty() {
            let _ = writeln!(
                out,
                "  {:width$}  {:>9}  {:>12}  {:>12}  {:>10}",
                "TOPIC", "PARTITION", "COMMITTED", "END", "LAG"
            );
        }
        for p in &g.partitions {
            let dash = || "-".to_owned();
            let _ = writeln!(
                out,
                "  {:width$}  {:>9}  {:>12}  {:>12}  {:>10}",
                p.topic,
                p.partition,
                p.committed.map_or_else(dash, |c| c.to_string()),
                p.end,
                p.lag.map_or_else(dash, |l| l.to_string())
            );
        }
        for t in &g.missing_topics {
            let _ = writeln!(out, "  {t}: no such topic on the cluster");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_and_spec() -> (Spec, ResolvedEnvironment) {
        let text = "version: 1\ndefaults: { partitions: 1, replicationFactor: 1 }\nenvironments:\n  e:\n    cluster: { type: kafka, bootstrapServers: [\"k:9092\"] }\ntopics:\n  a: { consumers: [g1, g2] }\n  b: { consumers: [g2] }\n  c: {}\n";
        let loaded = topicform_core::spec::parse("t.yaml", text).map_err(|_| "parse").unwrap();
        let (env, _) = loaded.resolve("e", &|_| None).map_err(|_| "resolve").unwrap();
        (loaded.spec, env)
    }

    #[test]
    fn groups_come_from_consumers_or_the_command_line() {
        let (spec, env) = env_and_spec();
        let all = groups_to_measure(&spec, &env, &BTreeMap::new(), &[]);
        assert_eq!(all["g1"], vec!["a"]);
        assert_eq!(all["g2"], vec!["a", "b"]);
        let only = groups_to_measure(&spec, &env, &BTreeMap::new(), &["g2".into(), "adhoc".into()]);
        assert_eq!(only.len(), 2);
        assert_eq!(only["adhoc"], vec!["a", "b", "c"], "an unnamed group is measured on every topic");
    }
}
