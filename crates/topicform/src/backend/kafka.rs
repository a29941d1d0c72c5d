//! Apache Kafka backend: Admin API through librdkafka.
//!
//! Reads are one metadata request plus batched DescribeConfigs; the writes
//! are CreateTopics, CreatePartitions, IncrementalAlterConfigs and
//! DeleteTopics through librdkafka's C API ([`crate::kafka::admin`]), each
//! retried with backoff on retriable errors. [`Backend::settle`] waits until
//! metadata shows what a step did, so the next plan sees it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, ConfigSource, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::metadata::Metadata;
use topicform_core::access::{Acl, Grant};
use topicform_core::plan::{Capabilities, ClusterState, ObservedConfig, ObservedTopic, Plan};
use topicform_core::spec::is_internal_topic;
use topicform_core::spec::model::KafkaCluster;

use super::{self as backend, Backend, Scope};
use crate::apply::{batches, AccessChange, ConfigAlteration, NewTopic, PartitionIncrease, Step, WriteResult};
use crate::kafka::acls;
use crate::kafka::admin::{self, Mode, Request};
use crate::kafka::{describe_error, is_retriable, retry, Client, Connection, Retry};
use crate::telemetry::request;
use crate::{Error, Result};

/// Topics per CreateTopics / DescribeConfigs / ... request. Large enough that
/// the example platform is one request, small enough that a 10,000-topic
/// cluster never builds a request near the broker's size limits.
const BATCH: usize = 1_000;

/// Metadata records per write request. A KRaft controller refuses an
/// operation of more than 10,000 records (QuorumController's
/// MAX_RECORDS_PER_USER_OP: "Policy violation: Unable to perform excessively
/// large batch operation"), and creating a topic is one record per partition
/// and per config besides its own: 1,000 topics of 10 partitions would be
/// refused whole. Half the bound leaves room for what the controller adds.
const RECORDS_PER_REQUEST: usize = 5_000;

/// A Kafka cluster reached through librdkafka's admin client.
pub struct KafkaBackend {
    admin: Arc<Client<AdminClient<DefaultClientContext>>>,
    /// For the `check`-style explanation of a connection failure (boxed:
    /// it is large and read only on failure).
    connection: Box<Connection>,
    timeout: Duration,
}

impl KafkaBackend {
    /// Connects lazily (librdkafka connects on first use) to `cluster`.
    pub fn connect(env: &str, cluster: &KafkaCluster, timeout: Duration) -> Result<Self> {
        let connection = Connection::from_kafka(env, cluster)?;
        tracing::debug!(environment = env, bootstrap = %cluster.bootstrap_servers.join(","), "creating the Kafka admin client");
        let admin = Client::create(&connection, &connection.client_config()?, DefaultClientContext, timeout)?;
        Ok(KafkaBackend { admin: Arc::new(admin), connection: Box::new(connection), timeout })
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new().request_timeout(Some(self.timeout))
    }

    /// One metadata request for all topics. A failure is explained the way
    /// `check` explains it (DNS, TCP, TLS, SASL, or a slow cluster).
    async fn metadata(&self) -> Result<Metadata> {
        let admin = self.admin.clone();
        let timeout = self.timeout;
        let result = request::kafka("Metadata", 0, async move {
            tokio::task::spawn_blocking(move || admin.inner().fetch_metadata(None, timeout))
                .await
                .expect("metadata task panicked")
        })
        .await;
        match result {
            Ok(md) => Ok(md),
            Err(e) => Err(crate::check::explain_failure(&self.connection, describe_error(&e), timeout).await),
        }
    }

    /// Metadata in which the topics of `scope` carry no error. A topic
    /// created a moment ago may report "leader not available" for a while:
    /// retried; an error that persists on a topic the plan needs fails,
    /// naming it; on other topics it is only logged.
    async fn settled_metadata(&self, scope: &Scope) -> Result<Metadata> {
        let mut policy = Retry::within(self.timeout);
        loop {
            let md = self.metadata().await?;
            if md.brokers().is_empty() {
                return Err(crate::check::explain_failure(
                    &self.connection,
                    "no brokers in metadata".into(),
                    self.timeout,
                )
                .await);
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
            let Some(pause) = policy.next_pause() else {
                let list: Vec<String> = blocking.iter().map(|(n, e)| format!("`{n}`: {e}")).collect();
                return Err(Error::Kafka { operation: "reading topic metadata".into(), message: list.join(", ") });
            };
            tokio::time::sleep(pause).await;
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
            let describe =
                retry("DescribeConfigs", self.timeout, || self.admin.describe_configs(&specs, &self.options()));
            let results = request::kafka("DescribeConfigs", chunk.len(), describe).await?;
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

    /// Every ACL on the cluster. One without an authorizer has none to
    /// read, and its services' principals cannot be granted anything: an
    /// error. librdkafka (2.12.1) drops DescribeAcls's error code and
    /// answers such a cluster with an empty list, so the authorizer is read
    /// from `broker`'s configuration first.
    async fn describe_acls(&self, broker: i32) -> Result<Vec<Acl>> {
        self.require_authorizer(broker).await?;
        let (admin, timeout) = (self.admin.clone(), self.timeout);
        let mut policy = Retry::within(timeout);
        loop {
            let admin = admin.clone();
            let read = request::kafka("DescribeAcls", 0, async move {
                tokio::task::spawn_blocking(move || acls::describe_all(&admin, timeout))
                    .await
                    .expect("DescribeAcls task panicked")
            })
            .await;
            let e = match read {
                Ok(acls) => return Ok(acls),
                Err(e) => e,
            };
            if e.retriable {
                if let Some(pause) = policy.next_pause() {
                    tracing::warn!(operation = "DescribeAcls", error = %e.message, "retrying");
                    tokio::time::sleep(pause).await;
                    continue;
                }
            }
            return Err(Error::Kafka { operation: "reading ACLs (DescribeAcls)".into(), message: e.message });
        }
    }

    /// Fails with [`Error::NoAuthorizer`] when `broker` runs without an
    /// authorizer (`authorizer.class.name` empty). A principal that may not
    /// read broker configs gets a warning and the benefit of the doubt.
    async fn require_authorizer(&self, broker: i32) -> Result<()> {
        let specs = [ResourceSpecifier::Broker(broker)];
        let describe = retry("DescribeConfigs", self.timeout, || self.admin.describe_configs(&specs, &self.options()));
        let answer = request::kafka("DescribeConfigs", 0, describe).await?;
        let entries = match answer.into_iter().next() {
            Some(Ok(resource)) => resource.entries,
            Some(Err(code)) => {
                tracing::warn!(broker, error = %code, "cannot read the broker's authorizer; assuming one is configured");
                return Ok(());
            }
            None => return Ok(()),
        };
        let configured = entries
            .iter()
            .find(|e| e.name == "authorizer.class.name")
            .and_then(|e| e.value.as_deref())
            .is_some_and(|v| !v.trim().is_empty());
        if configured {
            return Ok(());
        }
        Err(Error::NoAuthorizer { message: format!("broker {broker} has no `authorizer.class.name`") })
    }

    /// Creates or deletes one batch of ACLs, retrying the request while the
    /// protocol calls its failure retriable (both are idempotent).
    async fn write_acls(&self, api: &'static str, batch: &[AccessChange], write: acls::AclWrite) -> Vec<WriteResult> {
        let wanted: Vec<Acl> = batch
            .iter()
            .filter_map(|c| match &c.grant {
                Grant::Acl(acl) => Some(acl.clone()),
                Grant::Role(_) => None,
            })
            .collect();
        if wanted.len() < batch.len() {
            return backend::not_grantable(batch);
        }
        let mut policy = Retry::within(self.timeout);
        loop {
            let (admin, timeout, wanted) = (self.admin.clone(), self.timeout, wanted.clone());
            let sent = request::kafka(api, batch.len(), async move {
                tokio::task::spawn_blocking(move || write(&admin, &wanted, timeout))
                    .await
                    .expect("ACL request task panicked")
            })
            .await;
            match sent {
                Ok(outcomes) => {
                    return outcomes.into_iter().map(|(acl, outcome)| (acl.to_string(), outcome)).collect();
                }
                Err(e) if e.retriable => {
                    if let Some(pause) = policy.next_pause() {
                        tracing::warn!(operation = api, error = %e.message, "retrying");
                        tokio::time::sleep(pause).await;
                        continue;
                    }
                    return batch
                        .iter()
                        .map(|c| (c.name.clone(), Err(format!("{api} failed: {}", e.message))))
                        .collect();
                }
                Err(e) => {
                    return batch
                        .iter()
                        .map(|c| (c.name.clone(), Err(format!("{api} failed: {}", e.message))))
                        .collect();
                }
            }
        }
    }

    /// One admin request on a blocking thread (librdkafka's C API blocks).
    async fn send(&self, request: Request, mode: Mode) -> Result<Vec<admin::TopicOutcome>, admin::RequestError> {
        let (admin, timeout) = (self.admin.clone(), self.timeout);
        let (api, topics) = (request.name(), request.len());
        request::kafka(api, topics, async move {
            tokio::task::spawn_blocking(move || admin::run(&admin, &request, mode, timeout))
                .await
                .expect("admin request task panicked")
        })
        .await
    }

    /// Sends `request` with `validate_only` and returns the topics the broker
    /// would refuse. Only definite refusals count: an answer the protocol
    /// calls retriable, a request that failed as a whole, or "already
    /// exists" (an interrupted earlier apply's create landed since the
    /// cluster was read; apply re-reads it) refuse nothing.
    async fn validate(&self, request: Request) -> Vec<(String, String)> {
        let name = request.name();
        let outcomes = match self.send(request, Mode::ValidateOnly).await {
            Ok(outcomes) => outcomes,
            Err(e) => {
                tracing::warn!(operation = name, error = %e.message, "the cluster could not validate these changes; apply may still refuse some");
                return Vec::new();
            }
        };
        use rdkafka_sys::types::RDKafkaRespErr::*;
        let mut unasked = 0;
        let refusals = outcomes
            .into_iter()
            .filter_map(|(topic, outcome)| match outcome {
                Err(e) if is_retriable(&e.code.into()) => None,
                // Already so: a late request or lagging metadata got there
                // first; apply re-reads such topics.
                Err(e)
                    if matches!(
                        e.code,
                        RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS | RD_KAFKA_RESP_ERR_INVALID_PARTITIONS
                    ) =>
                {
                    None
                }
                // A read-only principal (a pull request's `plan`) may not
                // even ask: that is not the cluster refusing the change.
                Err(e)
                    if matches!(
                        e.code,
                        RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED | RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED
                    ) =>
                {
                    unasked += 1;
                    None
                }
                Err(e) => Some((topic, e.message)),
                Ok(()) => None,
            })
            .collect();
        if unasked > 0 {
            tracing::warn!(
                operation = name,
                topics = unasked,
                "not allowed to validate these changes; apply may still refuse some"
            );
        }
        refusals
    }

    /// Sends `request` (one batch), retrying the whole request on retriable
    /// errors and, per topic, only the topics that failed retriably. A retry
    /// that finds its first attempt landed ("already exists") is refused like
    /// any write whose effect is there: the apply engine re-reads such topics.
    async fn execute(&self, request: Request) -> Vec<WriteResult> {
        let mut pending = request;
        let mut done = Vec::with_capacity(pending.len());
        let mut policy = Retry::within(self.timeout);
        while !pending.is_empty() {
            let outcomes = match self.send(pending.clone(), Mode::Apply).await {
                Ok(outcomes) => outcomes,
                Err(e) if e.retriable => {
                    if let Some(pause) = policy.next_pause() {
                        tracing::warn!(operation = pending.name(), attempt = policy.attempts() - 1, error = %e.message, "retrying");
                        tokio::time::sleep(pause).await;
                        continue;
                    }
                    let message = format!("{} failed: {}", pending.name(), e.message);
                    done.extend(pending.topics().into_iter().map(|t| (t, Err(message.clone()))));
                    break;
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
            let mut retriable = Vec::new();
            for (name, outcome) in outcomes {
                match outcome {
                    Ok(()) => done.push((name, Ok(()))),
                    Err(e) if is_retriable(&e.code.into()) => retriable.push((name, e.message)),
                    Err(e) => done.push((name, Err(e.message))),
                }
            }
            if retriable.is_empty() {
                break;
            }
            let Some(pause) = policy.next_pause() else {
                done.extend(retriable.into_iter().map(|(name, message)| (name, Err(message))));
                break;
            };
            for (name, message) in &retriable {
                tracing::warn!(operation = pending.name(), topic = %name, error = %message, "retrying topic");
            }
            tokio::time::sleep(pause).await;
            let again: Vec<String> = retriable.into_iter().map(|(name, _)| name).collect();
            pending = pending.only(&again);
        }
        done
    }
}

impl Backend for KafkaBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities::kafka()
    }

    fn batch_size(&self) -> usize {
        BATCH
    }

    fn records_per_request(&self) -> Option<usize> {
        Some(RECORDS_PER_REQUEST)
    }

    async fn observe(&self, scope: &Scope) -> Result<ClusterState> {
        // Nothing listening is said in milliseconds, not after --timeout.
        crate::check::refuse_unreachable(&self.connection, self.timeout).await?;
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
        let grants = match (scope.grants, md.brokers().first()) {
            (true, Some(broker)) => Some(self.describe_acls(broker.id()).await?.into_iter().map(Grant::Acl).collect()),
            _ => None,
        };
        Ok(ClusterState { cluster_id, broker_count: md.brokers().len(), topics, grants })
    }

    async fn prepare(&self, _plan: &Plan) -> Result<()> {
        Ok(())
    }

    async fn validate_writes(
        &self,
        creates: &[NewTopic],
        increases: &[PartitionIncrease],
        alterations: &[ConfigAlteration],
    ) -> Vec<(String, String)> {
        let mut refusals = Vec::new();
        // Cut as apply cuts them: a validation of one request too large for
        // the controller would refuse changes apply can make.
        let limit = Some(RECORDS_PER_REQUEST);
        let requests = batches(creates, BATCH, limit)
            .into_iter()
            .map(|c| Request::CreateTopics(c.to_vec()))
            .chain(
                batches(increases, BATCH, limit)
                    .into_iter()
                    .map(|c| Request::CreatePartitions(c.iter().map(|p| (p.topic.clone(), p.to)).collect())),
            )
            .chain(
                batches(alterations, BATCH, limit)
                    .into_iter()
                    .map(|c| Request::AlterConfigs(c.iter().map(|a| (a.topic.clone(), a.ops.clone())).collect())),
            );
        for request in requests {
            refusals.extend(self.validate(request).await);
        }
        refusals
    }

    async fn create_topics(&self, batch: &[NewTopic]) -> Vec<WriteResult> {
        self.execute(Request::CreateTopics(batch.to_vec())).await
    }

    async fn add_partitions(&self, batch: &[PartitionIncrease]) -> Vec<WriteResult> {
        let request = Request::CreatePartitions(batch.iter().map(|p| (p.topic.clone(), p.to)).collect());
        self.execute(request).await
    }

    async fn alter_configs(&self, batch: &[ConfigAlteration]) -> Vec<WriteResult> {
        let request = Request::AlterConfigs(batch.iter().map(|a| (a.topic.clone(), a.ops.clone())).collect());
        self.execute(request).await
    }

    async fn delete_topics(&self, batch: &[String]) -> Vec<WriteResult> {
        self.execute(Request::DeleteTopics(batch.to_vec())).await
    }

    async fn grant(&self, batch: &[AccessChange]) -> Vec<WriteResult> {
        self.write_acls("CreateAcls", batch, acls::create).await
    }

    async fn revoke(&self, batch: &[AccessChange]) -> Vec<WriteResult> {
        self.write_acls("DeleteAcls", batch, acls::delete).await
    }

    async fn settle(&self, step: Step, landed: &BTreeMap<String, u32>) -> Result<()> {
        match step {
            Step::Create => {
                self.wait_until("created topics", |md| {
                    let present: BTreeSet<&str> =
                        md.topics().iter().filter(|t| !t.partitions().is_empty()).map(|t| t.name()).collect();
                    landed.keys().filter(|c| !present.contains(c.as_str())).count()
                })
                .await
            }
            Step::AddPartitions => {
                self.wait_until("grown topics", |md| {
                    let grown = md
                        .topics()
                        .iter()
                        .filter(|t| landed.get(t.name()).is_some_and(|to| t.partitions().len() as u32 >= *to))
                        .count();
                    landed.len().saturating_sub(grown)
                })
                .await
            }
            // DescribeConfigs reads the controller's answer at once.
            // ACLs are the controller's at once (no metadata to wait for).
            Step::AlterConfigs | Step::Grant | Step::Revoke => Ok(()),
            Step::Delete => {
                self.wait_until("deleted topics", |md| {
                    md.topics().iter().filter(|t| landed.contains_key(t.name())).count()
                })
                .await
            }
        }
    }
}
