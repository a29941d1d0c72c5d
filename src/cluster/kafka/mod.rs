//! Apache Kafka backend: Admin API through librdkafka.
//!
//! Reads are one metadata request plus batched DescribeConfigs; writes are
//! batched CreateTopics, CreatePartitions, IncrementalAlterConfigs and
//! DeleteTopics, each retried with backoff on retriable errors. After
//! creating, growing or deleting topics, apply waits until metadata shows
//! the result, so the next plan sees what apply did.

mod alter_configs;
mod connect;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigSource, NewPartitions, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::metadata::Metadata;

pub use alter_configs::ConfigOp;
pub use connect::read_secret;

use super::{ApplyReport, ChangeOutcome, Cluster, Progress};
use crate::plan::{Capabilities, Change, ClusterState, ObservedConfig, ObservedTopic, Plan};
use crate::spec::model::KafkaCluster;
use crate::{Error, Result};

/// Topics per CreateTopics / DescribeConfigs / ... request. Large enough that
/// the example platform is one request, small enough that a 10,000-topic
/// cluster never builds a request near the broker's size limits.
const BATCH: usize = 1_000;
/// Attempts for a request that fails with a retriable error.
const ATTEMPTS: u32 = 5;

/// A Kafka cluster reached through librdkafka's admin client.
pub struct KafkaBackend {
    admin: Arc<AdminClient<DefaultClientContext>>,
    bootstrap: String,
    timeout: Duration,
}

impl KafkaBackend {
    /// Connects lazily (librdkafka connects on first use) to `cluster`.
    pub fn connect(env: &str, cluster: &KafkaCluster, timeout: Duration) -> Result<Self> {
        let cfg = connect::client_config(env, cluster)?;
        let admin = cfg
            .create::<AdminClient<DefaultClientContext>>()
            .map_err(|e| Error::Kafka { operation: "creating the Kafka client".into(), message: e.to_string() })?;
        Ok(KafkaBackend { admin: Arc::new(admin), bootstrap: cluster.bootstrap_servers.join(","), timeout })
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new().request_timeout(Some(self.timeout)).operation_timeout(Some(self.timeout))
    }

    /// One metadata request for all topics.
    async fn metadata(&self) -> Result<Metadata> {
        let admin = self.admin.clone();
        let timeout = self.timeout;
        let result = tokio::task::spawn_blocking(move || admin.inner().fetch_metadata(None, timeout))
            .await
            .expect("metadata task panicked");
        result.map_err(|e| Error::Unreachable { bootstrap: self.bootstrap.clone(), message: describe_kafka_error(&e) })
    }

    async fn cluster_id(&self) -> Option<String> {
        let admin = self.admin.clone();
        let timeout = self.timeout;
        tokio::task::spawn_blocking(move || admin.inner().fetch_cluster_id(timeout)).await.ok().flatten()
    }

    /// Describes configs of `topics` in batches, keeping overrides and the
    /// effective value of `keys`.
    async fn describe_configs(
        &self,
        topics: &[String],
        keys: &BTreeSet<String>,
    ) -> Result<HashMap<String, BTreeMap<String, ObservedConfig>>> {
        let mut out = HashMap::with_capacity(topics.len());
        for chunk in topics.chunks(BATCH) {
            let specs: Vec<ResourceSpecifier> = chunk.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
            let results = retry("DescribeConfigs", || self.admin.describe_configs(&specs, &self.options())).await?;
            for (name, result) in chunk.iter().zip(results) {
                let resource = result.map_err(|code| Error::Kafka {
                    operation: format!("DescribeConfigs of `{name}`"),
                    message: code.to_string(),
                })?;
                let config = resource
                    .entries
                    .into_iter()
                    .filter_map(|e| {
                        let is_override = matches!(e.source, ConfigSource::DynamicTopic);
                        let value = e.value?;
                        (!e.is_sensitive && (is_override || keys.contains(&e.name)))
                            .then_some((e.name, ObservedConfig { value, is_override }))
                    })
                    .collect();
                out.insert(name.clone(), config);
            }
        }
        Ok(out)
    }

    /// Polls metadata until `ready` holds for it, for up to the timeout.
    async fn wait_for_metadata(&self, ready: impl Fn(&Metadata) -> bool) -> Result<bool> {
        let deadline = Instant::now() + self.timeout;
        let mut pause = Duration::from_millis(50);
        loop {
            if ready(&self.metadata().await?) {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    async fn create_topics(&self, plan: &Plan, report: &mut ApplyReport, progress: &dyn Progress) -> Result<()> {
        let creates: Vec<NewTopic> = plan
            .topics
            .iter()
            .flat_map(|t| t.changes.iter().map(move |c| (t, c)))
            .filter_map(|(t, c)| match c {
                Change::CreateTopic { partitions, replication_factor, config } => {
                    let mut nt = NewTopic::new(
                        &t.topic,
                        *partitions as i32,
                        TopicReplication::Fixed(replication_factor.map_or(-1, i32::from)),
                    );
                    for (k, v) in config {
                        nt = nt.set(k, v);
                    }
                    Some(nt)
                }
                _ => None,
            })
            .collect();
        if creates.is_empty() {
            return Ok(());
        }
        progress.start("creating topics", creates.len());
        let mut created = Vec::new();
        for chunk in creates.chunks(BATCH) {
            let results = retry_per_topic(
                "CreateTopics",
                Some(RDKafkaErrorCode::TopicAlreadyExists),
                chunk,
                |batch| self.admin.create_topics(batch, &self.options()),
                |t| t.name,
            )
            .await?;
            for (name, outcome) in results {
                if outcome.is_ok() {
                    created.push(name.clone());
                }
                report.outcomes.push(ChangeOutcome { topic: name, change: "create".into(), error: outcome.err() });
            }
            progress.advance(chunk.len());
        }
        progress.finish();
        let wanted: BTreeSet<&str> = created.iter().map(String::as_str).collect();
        let visible = self
            .wait_for_metadata(|md| {
                let present: BTreeSet<&str> =
                    md.topics().iter().filter(|t| !t.partitions().is_empty()).map(|t| t.name()).collect();
                wanted.is_subset(&present)
            })
            .await?;
        if !visible {
            tracing::warn!(
                "created topics are not all visible in metadata yet; the next plan may show them as pending"
            );
        }
        Ok(())
    }

    async fn add_partitions(&self, plan: &Plan, report: &mut ApplyReport, progress: &dyn Progress) -> Result<()> {
        let grows: Vec<(&str, u32, u32)> = plan
            .topics
            .iter()
            .flat_map(|t| t.changes.iter().map(move |c| (t, c)))
            .filter_map(|(t, c)| match c {
                Change::AddPartitions { from, to } => Some((t.topic.as_str(), *from, *to)),
                _ => None,
            })
            .collect();
        if grows.is_empty() {
            return Ok(());
        }
        progress.start("adding partitions", grows.len());
        let requests: Vec<NewPartitions> =
            grows.iter().map(|(name, _, to)| NewPartitions::new(name, *to as usize)).collect();
        let counts: HashMap<&str, (u32, u32)> = grows.iter().map(|(name, f, t)| (*name, (*f, *t))).collect();
        let mut grown = HashMap::new();
        for chunk in requests.chunks(BATCH) {
            let results = retry_per_topic(
                "CreatePartitions",
                None,
                chunk,
                |batch| self.admin.create_partitions(batch, &self.options()),
                |p| p.topic_name,
            )
            .await?;
            for (name, outcome) in results {
                let (from, to) = counts[name.as_str()];
                if outcome.is_ok() {
                    grown.insert(name.clone(), to as usize);
                }
                report.outcomes.push(ChangeOutcome {
                    topic: name,
                    change: format!("add partitions {from} → {to}"),
                    error: outcome.err(),
                });
            }
            progress.advance(chunk.len());
        }
        progress.finish();
        self.wait_for_metadata(|md| {
            md.topics().iter().filter(|t| grown.get(t.name()).is_some_and(|want| t.partitions().len() >= *want)).count()
                == grown.len()
        })
        .await?;
        Ok(())
    }

    async fn alter_configs(&self, plan: &Plan, report: &mut ApplyReport, progress: &dyn Progress) -> Result<()> {
        let ops: Vec<(String, Vec<ConfigOp>)> = plan
            .topics
            .iter()
            .filter_map(|t| {
                let ops: Vec<ConfigOp> = t
                    .changes
                    .iter()
                    .filter_map(|c| match c {
                        Change::SetConfig { key, desired, .. } => Some(ConfigOp::Set(key.clone(), desired.clone())),
                        Change::DeleteConfig { key, .. } => Some(ConfigOp::Delete(key.clone())),
                        _ => None,
                    })
                    .collect();
                (!ops.is_empty()).then(|| (t.topic.clone(), ops))
            })
            .collect();
        if ops.is_empty() {
            return Ok(());
        }
        progress.start("altering configs", ops.len());
        for chunk in ops.chunks(BATCH) {
            let mut pending: Vec<(String, Vec<ConfigOp>)> = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                attempt += 1;
                let admin = self.admin.clone();
                let timeout = self.timeout;
                let batch = pending.clone();
                let result = tokio::task::spawn_blocking(move || {
                    alter_configs::incremental_alter_topic_configs(&admin, &batch, timeout)
                })
                .await
                .expect("alter configs task panicked");
                match result {
                    Ok(results) => {
                        for (name, outcome) in results {
                            let keys = pending
                                .iter()
                                .find(|(t, _)| *t == name)
                                .map(|(_, o)| describe_ops(o))
                                .unwrap_or_default();
                            report.outcomes.push(ChangeOutcome { topic: name, change: keys, error: outcome.err() });
                        }
                        pending.clear();
                    }
                    Err(e) if e.retriable && attempt < ATTEMPTS => {
                        tracing::warn!(attempt, error = %e.message, "IncrementalAlterConfigs failed; retrying");
                        tokio::time::sleep(backoff(attempt)).await;
                    }
                    Err(e) => {
                        return Err(Error::Kafka { operation: "IncrementalAlterConfigs".into(), message: e.message })
                    }
                }
            }
            progress.advance(chunk.len());
        }
        progress.finish();
        Ok(())
    }

    async fn delete_topics(&self, plan: &Plan, report: &mut ApplyReport, progress: &dyn Progress) -> Result<()> {
        let names: Vec<&str> = plan
            .topics
            .iter()
            .filter(|t| t.changes.iter().any(|c| matches!(c, Change::DeleteTopic)))
            .map(|t| t.topic.as_str())
            .collect();
        if names.is_empty() {
            return Ok(());
        }
        progress.start("deleting topics", names.len());
        let mut deleted = BTreeSet::new();
        for chunk in names.chunks(BATCH) {
            let results = retry_per_topic(
                "DeleteTopics",
                Some(RDKafkaErrorCode::UnknownTopicOrPartition),
                chunk,
                |batch| {
                    let names: Vec<&str> = batch.into_iter().copied().collect();
                    self.admin.delete_topics(&names, &self.options())
                },
                |n| n,
            )
            .await?;
            for (name, outcome) in results {
                if outcome.is_ok() {
                    deleted.insert(name.clone());
                }
                report.outcomes.push(ChangeOutcome { topic: name, change: "delete".into(), error: outcome.err() });
            }
            progress.advance(chunk.len());
        }
        progress.finish();
        self.wait_for_metadata(|md| md.topics().iter().all(|t| !deleted.contains(t.name()))).await?;
        Ok(())
    }
}

fn describe_ops(ops: &[ConfigOp]) -> String {
    let parts: Vec<String> = ops
        .iter()
        .map(|o| match o {
            ConfigOp::Set(k, _) => format!("set {k}"),
            ConfigOp::Delete(k) => format!("delete {k}"),
        })
        .collect();
    parts.join(", ")
}

impl Cluster for KafkaBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities::kafka()
    }

    async fn observe(&self, config_keys: &BTreeSet<String>) -> Result<ClusterState> {
        let md = self.metadata().await?;
        if md.brokers().is_empty() {
            return Err(Error::Unreachable {
                bootstrap: self.bootstrap.clone(),
                message: "no brokers in metadata".into(),
            });
        }
        let cluster_id = self.cluster_id().await;
        let mut topics = BTreeMap::new();
        for t in md.topics() {
            if let Some(err) = t.error() {
                tracing::warn!(topic = t.name(), error = ?err, "topic metadata has an error");
            }
            let rf = t.partitions().iter().map(|p| p.replicas().len()).max().unwrap_or(0);
            topics.insert(
                t.name().to_owned(),
                ObservedTopic {
                    name: t.name().to_owned(),
                    partitions: t.partitions().len() as u32,
                    replication_factor: Some(rf as u16),
                    config: BTreeMap::new(),
                },
            );
        }
        let names: Vec<String> = topics.keys().cloned().collect();
        let mut configs = self.describe_configs(&names, config_keys).await?;
        for (name, topic) in topics.iter_mut() {
            topic.config = configs.remove(name).unwrap_or_default();
        }
        Ok(ClusterState { cluster_id, broker_count: md.brokers().len(), topics })
    }

    async fn apply(&self, plan: &Plan, progress: &dyn Progress) -> Result<ApplyReport> {
        let mut report = ApplyReport::default();
        // Creates first (nothing depends on them), deletes last (so a
        // failed earlier step never leaves the cluster with less than before).
        self.create_topics(plan, &mut report, progress).await?;
        self.add_partitions(plan, &mut report, progress).await?;
        self.alter_configs(plan, &mut report, progress).await?;
        self.delete_topics(plan, &mut report, progress).await?;
        Ok(report)
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200 * 2u64.pow(attempt.min(6)))
}

fn describe_kafka_error(e: &KafkaError) -> String {
    match e {
        KafkaError::MetadataFetch(code) => code.to_string(),
        other => other.to_string(),
    }
}

fn is_retriable(code: &RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        code,
        RequestTimedOut
            | OperationTimedOut
            | BrokerTransportFailure
            | AllBrokersDown
            | NotController
            | NetworkException
            | LeaderNotAvailable
            | NotLeaderForPartition
            | ThrottlingQuotaExceeded
            | CoordinatorNotAvailable
    )
}

/// Retries a whole admin request on retriable errors.
async fn retry<T, F, Fut>(operation: &str, mut call: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = rdkafka::error::KafkaResult<T>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Ok(v) => return Ok(v),
            Err(KafkaError::AdminOp(code)) if is_retriable(&code) && attempt < ATTEMPTS => {
                tracing::warn!(operation, attempt, error = %code, "retrying");
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(e) => return Err(Error::Kafka { operation: operation.to_owned(), message: describe_kafka_error(&e) }),
        }
    }
}

/// Runs a per-topic admin request, retrying only the topics that failed with
/// a retriable error. On a retry, `done_if` names the error that means an
/// earlier attempt already succeeded (a create answered "already exists", a
/// delete "unknown topic").
async fn retry_per_topic<'a, R, F, Fut>(
    operation: &str,
    done_if: Option<RDKafkaErrorCode>,
    items: &'a [R],
    mut call: F,
    name_of: impl Fn(&'a R) -> &'a str,
) -> Result<Vec<(String, Result<(), String>)>>
where
    F: FnMut(Vec<&'a R>) -> Fut,
    Fut: std::future::Future<Output = rdkafka::error::KafkaResult<Vec<rdkafka::admin::TopicResult>>>,
{
    let mut pending: Vec<&R> = items.iter().collect();
    let mut done = Vec::with_capacity(items.len());
    let mut attempt = 0;
    while !pending.is_empty() {
        attempt += 1;
        let results = retry(operation, || call(pending.clone())).await?;
        let mut again = Vec::new();
        for result in results {
            match result {
                Ok(name) => done.push((name, Ok(()))),
                Err((name, code)) if attempt > 1 && Some(code) == done_if => done.push((name, Ok(()))),
                Err((name, code)) if is_retriable(&code) && attempt < ATTEMPTS => {
                    tracing::warn!(operation, topic = %name, error = %code, "retrying topic");
                    if let Some(item) = pending.iter().find(|i| name_of(i) == name) {
                        again.push(*item);
                    }
                }
                Err((name, code)) => done.push((name, Err(code.to_string()))),
            }
        }
        if !again.is_empty() {
            tokio::time::sleep(backoff(attempt)).await;
        }
        pending = again;
    }
    Ok(done)
}
