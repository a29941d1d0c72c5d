//! Apache Kafka backend: Admin API through librdkafka.
//!
//! Reads are one metadata request plus batched DescribeConfigs; writes are
//! batched CreateTopics, CreatePartitions, IncrementalAlterConfigs and
//! DeleteTopics, each retried with backoff on retriable errors. After
//! creating, growing or deleting topics, apply waits until metadata shows
//! the result, so the next plan sees what apply did.

mod connect;
mod native;
mod oauthbearer;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, ConfigSource, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::metadata::Metadata;
use rdkafka_sys::types::RDKafkaRespErr;

pub use connect::Connection;
pub use native::ConfigOp;
use native::{NewTopicSpec, Request};
pub use oauthbearer::{TokenSession, TokenSource};

use super::{ApplyReport, ChangeOutcome, Cluster, Progress, Scope};
use topicform_core::spec::is_internal_topic;

/// One step of apply: its progress label, the error that means "already
/// done" on a retry, and how each topic's change is described in the report.
struct Phase<'a> {
    name: &'static str,
    done_on_retry: Option<RDKafkaRespErr>,
    describe: &'a (dyn Fn(&str) -> String + Sync),
}

/// A topic's outcome: `Err` holds the broker's message.
type TopicResult = (String, std::result::Result<(), String>);
use crate::{Error, Result};
use topicform_core::plan::{Capabilities, Change, ClusterState, ObservedConfig, ObservedTopic, Plan};
use topicform_core::spec::model::KafkaCluster;

/// Topics per CreateTopics / DescribeConfigs / ... request. Large enough that
/// the example platform is one request, small enough that a 10,000-topic
/// cluster never builds a request near the broker's size limits.
const BATCH: usize = 1_000;
/// Attempts for a request that fails with a retriable error.
const ATTEMPTS: u32 = 5;

/// A Kafka cluster reached through librdkafka's admin client.
pub struct KafkaBackend {
    /// Declared before `admin` so it stops refreshing before the client goes.
    _oauth: Option<TokenSession>,
    admin: Arc<AdminClient<DefaultClientContext>>,
    bootstrap: String,
    timeout: Duration,
}

impl KafkaBackend {
    /// Connects lazily (librdkafka connects on first use) to `cluster`.
    pub fn connect(env: &str, cluster: &KafkaCluster, timeout: Duration) -> Result<Self> {
        let connection = Connection::from_kafka(env, cluster)?;
        let cfg = connection.client_config()?;
        tracing::debug!(environment = env, bootstrap = %cluster.bootstrap_servers.join(","), "creating the Kafka admin client");
        let admin = cfg.create::<AdminClient<DefaultClientContext>>().map_err(|e| Error::Kafka {
            operation: "creating the Kafka client".into(),
            message: describe_client_error(&e),
        })?;
        let oauth = connection.start_token_session(admin.inner().native_ptr(), timeout)?;
        Ok(KafkaBackend {
            _oauth: oauth,
            admin: Arc::new(admin),
            bootstrap: cluster.bootstrap_servers.join(","),
            timeout,
        })
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new().request_timeout(Some(self.timeout))
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

    /// Metadata in which the topics of `scope` carry no error. A topic
    /// created a moment ago may report "leader not available" for a while:
    /// retried; an error that persists on a topic the plan needs fails,
    /// naming it; on other topics it is only logged.
    async fn settled_metadata(&self, scope: &Scope) -> Result<Metadata> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let md = self.metadata().await?;
            if md.brokers().is_empty() {
                return Err(Error::Unreachable {
                    bootstrap: self.bootstrap.clone(),
                    message: "no brokers in metadata".into(),
                });
            }
            let needed =
                |name: &str| scope.topics.as_ref().is_none_or(|t| t.contains(name)) && !is_internal_topic(name);
            let broken: Vec<(String, String)> = md
                .topics()
                .iter()
                .filter_map(|t| t.error().map(|e| (t.name().to_owned(), format!("{:?}", RDKafkaErrorCode::from(e)))))
                .collect();
            let blocking: Vec<&(String, String)> = broken.iter().filter(|(n, _)| needed(n)).collect();
            if blocking.is_empty() {
                for (name, error) in &broken {
                    tracing::warn!(topic = %name, error = %error, "topic metadata has an error; not managed here, ignored");
                }
                return Ok(md);
            }
            if attempt >= ATTEMPTS {
                let list: Vec<String> = blocking.iter().map(|(n, e)| format!("`{n}`: {e}")).collect();
                return Err(Error::Kafka { operation: "reading topic metadata".into(), message: list.join(", ") });
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
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
            for (requested, result) in chunk.iter().zip(results) {
                let resource = result.map_err(|code| Error::Kafka {
                    operation: format!("DescribeConfigs of `{requested}`"),
                    message: code.to_string(),
                })?;
                // Results carry their topic; trust that over the position.
                let name = match &resource.specifier {
                    rdkafka::admin::OwnedResourceSpecifier::Topic(t) => t.clone(),
                    _ => requested.clone(),
                };
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
                out.insert(name, config);
            }
        }
        Ok(out)
    }

    /// Polls metadata until `ready` holds, for up to the timeout, so the
    /// next plan sees what apply did. Not seeing it in time is a warning:
    /// the change was accepted, metadata is only slow.
    async fn wait_until(&self, what: &str, pending: impl Fn(&Metadata) -> usize) -> Result<()> {
        // The broker answers CreateTopics long before it has created every
        // partition (about 300 topics a second on two cores), so the budget
        // is "no progress for the timeout", not a fixed deadline: 10,000
        // topics keep it waiting as long as metadata keeps catching up.
        let mut deadline = Instant::now() + self.timeout;
        let mut last = usize::MAX;
        let mut pause = Duration::from_millis(50);
        loop {
            let left = match self.metadata().await {
                Ok(md) => pending(&md),
                Err(e) => {
                    tracing::warn!("cannot confirm the {what} in metadata ({e}); the next plan will show the state");
                    return Ok(());
                }
            };
            if left == 0 {
                return Ok(());
            }
            if left < last {
                last = left;
                deadline = Instant::now() + self.timeout;
            }
            if Instant::now() >= deadline {
                tracing::warn!(
                    "{left} {what} are not visible in metadata after {} s without progress; the next plan may still show them",
                    self.timeout.as_secs()
                );
                return Ok(());
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// Sends `request` (one batch), retrying the whole request on retriable
    /// errors and, per topic, only the topics that failed retriably. On a
    /// retry, `done_on_retry` is the error that means an earlier attempt
    /// already succeeded (a create answered "already exists", a delete
    /// "unknown topic").
    async fn execute(&self, request: Request, done_on_retry: Option<RDKafkaRespErr>) -> Result<Vec<TopicResult>> {
        let mut pending = request;
        let mut done = Vec::with_capacity(pending.len());
        let mut attempt = 0;
        while !pending.is_empty() {
            attempt += 1;
            let (admin, timeout, batch) = (self.admin.clone(), self.timeout, pending.clone());
            let result = tokio::task::spawn_blocking(move || native::run(&admin, &batch, timeout))
                .await
                .expect("admin request task panicked");
            let outcomes = match result {
                Ok(outcomes) => outcomes,
                Err(e) if e.retriable && attempt < ATTEMPTS => {
                    tracing::warn!(operation = pending.name(), attempt, error = %e.message, "retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                // The request as a whole failed for good: every topic still
                // pending fails with that reason, and apply goes on with the
                // next batch and phase, so the report shows what did happen.
                Err(e) => {
                    let message = format!("{} failed: {}", pending.name(), e.message);
                    done.extend(pending.topics().into_iter().map(|t| (t, Err(message.clone()))));
                    break;
                }
            };
            let mut again = Vec::new();
            for (name, outcome) in outcomes {
                match outcome {
                    Ok(()) => done.push((name, Ok(()))),
                    Err(e) if attempt > 1 && Some(e.code) == done_on_retry => done.push((name, Ok(()))),
                    Err(e) if is_retriable(&e.code.into()) && attempt < ATTEMPTS => {
                        tracing::warn!(operation = pending.name(), topic = %name, error = %e.message, "retrying topic");
                        again.push(name);
                    }
                    Err(e) => done.push((name, Err(e.message))),
                }
            }
            if !again.is_empty() {
                tokio::time::sleep(backoff(attempt)).await;
            }
            pending = pending.only(&again);
        }
        Ok(done)
    }

    /// Sends `items` in batches of [`BATCH`], reporting each topic's outcome
    /// as `what(topic)` and returning the topics that succeeded.
    async fn execute_batched<T: Clone>(
        &self,
        phase: Phase<'_>,
        items: Vec<T>,
        make: impl Fn(Vec<T>) -> Request,
        report: &mut ApplyReport,
        progress: &dyn Progress,
    ) -> Result<BTreeSet<String>> {
        let mut succeeded = BTreeSet::new();
        if items.is_empty() {
            return Ok(succeeded);
        }
        progress.start(phase.name, items.len());
        tracing::info!(phase = phase.name, topics = items.len(), "applying");
        for chunk in items.chunks(BATCH) {
            for (topic, outcome) in self.execute(make(chunk.to_vec()), phase.done_on_retry).await? {
                if outcome.is_ok() {
                    succeeded.insert(topic.clone());
                }
                report.outcomes.push(ChangeOutcome { change: (phase.describe)(&topic), topic, error: outcome.err() });
            }
            progress.advance(chunk.len());
        }
        progress.finish();
        Ok(succeeded)
    }
}

/// Deletes go last so that a failed earlier change never leaves the cluster
/// with less than before; when any change failed, none is sent at all (the
/// next apply, after the failure is fixed, does them).
fn skip_deletes_after_failures(deletes: &mut Vec<String>, report: &mut ApplyReport) {
    let failed = report.failures().count();
    if failed == 0 {
        return;
    }
    for topic in deletes.drain(..) {
        report.outcomes.push(ChangeOutcome {
            topic,
            change: "delete".into(),
            error: Some(format!("skipped, not sent: {failed} earlier change(s) failed; fix them and apply again")),
        });
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

    async fn observe(&self, scope: &Scope) -> Result<ClusterState> {
        let md = self.settled_metadata(scope).await?;
        let cluster_id = self.cluster_id().await;
        let mut topics = BTreeMap::new();
        for t in md.topics() {
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
        let names: Vec<String> = topics
            .keys()
            .filter(|n| match &scope.topics {
                Some(wanted) => wanted.contains(*n),
                None => !is_internal_topic(n),
            })
            .cloned()
            .collect();
        let mut configs = self.describe_configs(&names, &scope.config_keys).await?;
        for (name, topic) in topics.iter_mut() {
            topic.config = configs.remove(name).unwrap_or_default();
        }
        Ok(ClusterState { cluster_id, broker_count: md.brokers().len(), topics })
    }

    async fn apply(&self, plan: &Plan, progress: &dyn Progress) -> Result<ApplyReport> {
        let mut report = ApplyReport::default();
        let mut creates = Vec::new();
        let mut grows = Vec::new();
        let mut grown_from: HashMap<String, u32> = HashMap::new();
        let mut alters = Vec::new();
        let mut deletes: Vec<String> = Vec::new();
        // Only what the plan changes; a refused topic never gets here (apply
        // stops first) and an internal topic is never touched, whatever the
        // plan says.
        for t in plan.changing() {
            if topicform_core::spec::is_internal_topic(&t.topic) {
                report.outcomes.push(ChangeOutcome {
                    topic: t.topic.clone(),
                    change: "any change".into(),
                    error: Some("internal topic: topicform never changes it".into()),
                });
                continue;
            }
            let mut ops = Vec::new();
            for c in &t.changes {
                match c {
                    Change::CreateTopic { partitions, replication_factor, config } => creates.push(NewTopicSpec {
                        name: t.topic.clone(),
                        partitions: *partitions,
                        replication_factor: *replication_factor,
                        config: config.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                    }),
                    Change::AddPartitions { from, to } => {
                        grows.push((t.topic.clone(), *to));
                        grown_from.insert(t.topic.clone(), *from);
                    }
                    Change::SetConfig { key, desired, .. } => ops.push(ConfigOp::Set(key.clone(), desired.clone())),
                    Change::DeleteConfig { key, .. } => ops.push(ConfigOp::Delete(key.clone())),
                    Change::DeleteTopic => deletes.push(t.topic.clone()),
                }
            }
            if !ops.is_empty() {
                alters.push((t.topic.clone(), ops));
            }
        }
        let partitions_of: HashMap<String, u32> = grows.iter().cloned().collect();
        let config_ops: HashMap<String, String> =
            alters.iter().map(|(t, ops)| (t.clone(), describe_ops(ops))).collect();

        // Creates first (nothing depends on them), deletes last (so a failed
        // earlier step never leaves the cluster with less than before).
        let created = self
            .execute_batched(
                Phase {
                    name: "creating topics",
                    done_on_retry: Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS),
                    describe: &|_| "create".into(),
                },
                creates,
                Request::CreateTopics,
                &mut report,
                progress,
            )
            .await?;
        if !created.is_empty() {
            self.wait_until("created topics", |md| {
                let present: BTreeSet<&str> =
                    md.topics().iter().filter(|t| !t.partitions().is_empty()).map(|t| t.name()).collect();
                created.iter().filter(|c| !present.contains(c.as_str())).count()
            })
            .await?;
        }
        let grown = self
            .execute_batched(
                Phase {
                    name: "adding partitions",
                    // A retry after a timeout finds the partitions already there.
                    done_on_retry: Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_INVALID_PARTITIONS),
                    describe: &|t| {
                        let (from, to) =
                            (grown_from.get(t).copied().unwrap_or(0), partitions_of.get(t).copied().unwrap_or(0));
                        format!("add partitions {from} → {to}")
                    },
                },
                grows,
                Request::CreatePartitions,
                &mut report,
                progress,
            )
            .await?;
        if !grown.is_empty() {
            self.wait_until("grown topics", |md| {
                let done = md
                    .topics()
                    .iter()
                    .filter(|t| grown.contains(t.name()))
                    .filter(|t| t.partitions().len() as u32 >= partitions_of.get(t.name()).copied().unwrap_or(0))
                    .count();
                grown.len().saturating_sub(done)
            })
            .await?;
        }
        self.execute_batched(
            Phase {
                name: "altering configs",
                done_on_retry: None,
                describe: &|t| config_ops.get(t).cloned().unwrap_or_default(),
            },
            alters,
            Request::AlterConfigs,
            &mut report,
            progress,
        )
        .await?;
        skip_deletes_after_failures(&mut deletes, &mut report);
        let deleted = self
            .execute_batched(
                Phase {
                    name: "deleting topics",
                    done_on_retry: Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART),
                    describe: &|_| "delete".into(),
                },
                deletes,
                Request::DeleteTopics,
                &mut report,
                progress,
            )
            .await?;
        if !deleted.is_empty() {
            self.wait_until("deleted topics", |md| md.topics().iter().filter(|t| deleted.contains(t.name())).count())
                .await?;
        }
        Ok(report)
    }
}

/// A client creation error without the rejected value, which may be a
/// password or a key.
pub(crate) fn describe_client_error(e: &KafkaError) -> String {
    match e {
        KafkaError::ClientConfig(_, description, key, _value) => {
            format!("librdkafka rejected setting `{key}`: {description}")
        }
        other => other.to_string(),
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

/// Whether an error code is worth retrying (one list for every admin call).
pub(crate) fn is_retriable(code: &RDKafkaErrorCode) -> bool {
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
