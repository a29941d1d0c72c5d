//! Azure Event Hubs backend: topics are event hubs, managed through Azure
//! Resource Manager (REST, api-version 2024-01-01), because Event Hubs does
//! not reliably support the Kafka admin APIs. The Kafka endpoint stays what
//! services (and `topicform check`) use.
//!
//! Observe: `GET` the namespace (refusing a tier other than the spec's, a
//! namespace without Kafka or one that is not Active), then list every event
//! hub (following `nextLink`) and map each to a topic ([`mapping`]).
//!
//! Apply, in order:
//! 1. read the namespace and its event hubs again;
//! 2. check the whole plan against the live namespace's quotas and rules
//!    ([`limits`]; quotas at the apply's peak, since deletes run last) and
//!    build every request body; any problem fails here, before the first
//!    write;
//! 3. `PUT` every created or updated event hub (the full body, with the
//!    fields topicform does not manage carried over), at most
//!    [`CONCURRENCY`] at a time;
//! 4. `DELETE` the event hubs the plan deletes (last, so a failed write never
//!    leaves the namespace with less than before), and only if every write
//!    succeeded: otherwise the deletes are reported as skipped, not sent.
//!
//! Kafka consumer groups (`consumers:`) are not ARM consumer groups: none are
//! created (README, "Event Hubs (ARM)").

pub mod arm;
pub mod limits;
pub mod mapping;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{stream, StreamExt};
use serde_json::Value;

use self::arm::{ArmClient, TokenSource};
use self::limits::NamespaceLimits;
use self::mapping::Desired;
use super::{ApplyReport, ChangeOutcome, Cluster, Progress, Scope};
use crate::secret::SecretString;
use crate::{Error, Result};
use topicform_core::plan::{Action, Capabilities, Change, ClusterState, Plan};
use topicform_core::spec::model::{EventHubsCluster, EventHubsTier};
use topicform_core::spec::tiers::TierLimits;

/// Event hub writes in flight at once: fast for thousands of hubs, gentle
/// with ARM's per-subscription write throttling.
pub const CONCURRENCY: usize = 8;
/// The public cloud's ARM endpoint.
pub const DEFAULT_ARM_ENDPOINT: &str = "https://management.azure.com";

/// The `management:` credential with the token scope of the ARM endpoint.
struct ArmTokens {
    credential: crate::auth::Credential,
    scope: String,
}

impl TokenSource for ArmTokens {
    fn token(&self) -> BoxFuture<'_, Result<SecretString>> {
        Box::pin(async move { Ok(self.credential.token(&self.scope).await?.token) })
    }

    fn fresh_token(&self) -> BoxFuture<'_, Result<SecretString>> {
        Box::pin(async move { Ok(self.credential.fetch(&self.scope).await?.token) })
    }
}

/// The token scope for an ARM endpoint: a sovereign cloud's own
/// (`https://management.usgovcloudapi.net/.default`, ...), else the public
/// cloud's, which local test servers and private links accept too.
pub fn arm_scope(base: &reqwest::Url) -> String {
    match base.host_str() {
        Some(host) if base.scheme() == "https" && host.starts_with("management.") => format!("https://{host}/.default"),
        _ => crate::auth::ARM_SCOPE.to_owned(),
    }
}

/// What the namespace GET says.
#[derive(Debug, Clone)]
struct Namespace {
    id: String,
    limits: NamespaceLimits,
}

/// An Event Hubs namespace reached through ARM.
pub struct EventHubsBackend {
    env: String,
    cluster: EventHubsCluster,
    arm: ArmClient,
}

impl EventHubsBackend {
    /// Prepares the ARM client for `cluster` (no request yet): the
    /// `management:` credential, `armEndpoint` and the per-request timeout.
    pub fn connect(env: &str, cluster: &EventHubsCluster, timeout: Duration) -> Result<Self> {
        let base =
            crate::auth::endpoint_url(cluster.arm_endpoint.as_deref().unwrap_or(DEFAULT_ARM_ENDPOINT), "armEndpoint")?;
        let tokens =
            ArmTokens { credential: crate::auth::Credential::for_management(cluster)?, scope: arm_scope(&base) };
        let http = crate::auth::http_client_with_ca(cluster.tls.as_ref().and_then(|t| t.ca_file.as_deref()))?;
        tracing::debug!(environment = env, arm = %base, namespace = %cluster.namespace, "Event Hubs through ARM");
        let arm = ArmClient::new(
            http,
            base,
            &cluster.subscription_id,
            &cluster.resource_group,
            &cluster.namespace,
            Arc::new(tokens),
            timeout,
        );
        Ok(Self::with_client(env, cluster, arm))
    }

    /// A backend over an existing client (tests choose tokens and timing).
    pub fn with_client(env: &str, cluster: &EventHubsCluster, arm: ArmClient) -> Self {
        EventHubsBackend { env: env.to_owned(), cluster: cluster.clone(), arm }
    }

    /// Reads the namespace and refuses one this spec must not touch.
    async fn namespace(&self) -> Result<Namespace> {
        let ns = self.arm.get_namespace().await?;
        let refuse = |problem: String, help: &str| Error::NamespaceRefused {
            env: self.env.clone(),
            namespace: self.cluster.namespace.clone(),
            problem,
            help: help.to_owned(),
        };
        let props = &ns["properties"];
        let sku_tier = ns["sku"]["tier"].as_str().or(ns["sku"]["name"].as_str()).unwrap_or("");
        // A namespace on a dedicated cluster names it in clusterArmId; its
        // SKU still reads Standard or Premium.
        let on_cluster = props["clusterArmId"].as_str().is_some_and(|c| !c.is_empty());
        let tier = match sku_tier.to_ascii_lowercase().as_str() {
            _ if on_cluster => EventHubsTier::Dedicated,
            "basic" => EventHubsTier::Basic,
            "standard" => EventHubsTier::Standard,
            "premium" => EventHubsTier::Premium,
            other => {
                return Err(refuse(
                    format!("its SKU tier `{other}` is not one topicform knows"),
                    "check that the environment points at an Event Hubs namespace",
                ))
            }
        };
        if tier != self.cluster.tier {
            return Err(refuse(
                format!("it is a {tier} namespace, but the spec says `tier: {}`", self.cluster.tier),
                "set `tier:` to the namespace's real tier (limits and partition rules depend on it), or point the environment at the right namespace",
            ));
        }
        if props["kafkaEnabled"].as_bool() == Some(false) || tier == EventHubsTier::Basic {
            return Err(refuse(
                "its Kafka endpoint is disabled (kafkaEnabled: false)".into(),
                "Event Hubs Basic tier has no Kafka endpoint; use standard or higher, where Kafka is enabled",
            ));
        }
        let status = props["status"].as_str().unwrap_or("Active");
        if !status.eq_ignore_ascii_case("Active") {
            return Err(refuse(
                format!("its status is `{status}`, not Active"),
                "wait until the namespace is Active (Azure portal or `az eventhubs namespace show`) and run again",
            ));
        }
        // A dedicated cluster's capacity units are on the cluster resource;
        // the spec's `capacity` stands for them.
        let capacity = match tier {
            EventHubsTier::Dedicated => self.cluster.capacity.unwrap_or(1),
            _ => ns["sku"]["capacity"].as_u64().map(|c| c as u32).unwrap_or(1),
        };
        if let Some(spec) = self.cluster.capacity.filter(|c| *c != capacity && tier == EventHubsTier::Premium) {
            tracing::info!(
                spec,
                live = capacity,
                "the namespace's processing units differ from the spec's `capacity`; its quotas follow the namespace"
            );
        }
        let id = ns["id"].as_str().map(str::to_owned).unwrap_or_else(|| self.arm.namespace_id());
        Ok(Namespace { id, limits: NamespaceLimits::new(tier, capacity) })
    }

    /// The namespace and every event hub in it (full ARM bodies by name).
    async fn read(&self) -> Result<(Namespace, ClusterState, BTreeMap<String, Value>)> {
        let ns = self.namespace().await?;
        let hubs = self.arm.list_eventhubs().await?;
        let mut topics = BTreeMap::new();
        let mut bodies = BTreeMap::new();
        for hub in hubs {
            let topic = mapping::observed_topic(&hub).map_err(|message| Error::Arm {
                operation: "listing event hubs".into(),
                resource: format!("{}/eventhubs", ns.id),
                detail: format!("unexpected answer: {message}"),
                help: "the ARM endpoint does not answer like Azure Resource Manager; check armEndpoint".into(),
            })?;
            bodies.insert(topic.name.clone(), hub);
            topics.insert(topic.name.clone(), topic);
        }
        let state = ClusterState { cluster_id: Some(ns.id.clone()), broker_count: 0, topics };
        Ok((ns, state, bodies))
    }
}

/// One write of apply.
struct Write {
    topic: String,
    change: String,
    body: Option<Value>,
}

impl Cluster for EventHubsBackend {
    fn capabilities(&self) -> Capabilities {
        // observe refuses a namespace whose tier differs from the spec's, so
        // the spec's tier is the namespace's whenever a plan exists.
        Capabilities {
            can_add_partitions: TierLimits::of(self.cluster.tier).partition_increase,
            manages_replication: true,
            immutable_config_keys: vec!["cleanup.policy".into()],
        }
    }

    async fn observe(&self, _scope: &Scope) -> Result<ClusterState> {
        // One list answers everything: partitions and the mapped settings of
        // every event hub come with it.
        let (ns, state, _) = self.read().await?;
        tracing::debug!(namespace = %ns.id, hubs = state.topics.len(), tier = %ns.limits.tier, capacity = ns.limits.capacity, "read the namespace");
        Ok(state)
    }

    async fn apply(&self, plan: &Plan, progress: &dyn Progress) -> Result<ApplyReport> {
        let (ns, state, bodies) = self.read().await?;
        let mut problems = ns.limits.check(plan, &state);
        let mut writes = Vec::new();
        let mut deletes = Vec::new();
        for t in plan.changing() {
            // Never reached through a plan (event hub names start with a
            // letter or digit); kept so apply cannot touch one whatever a
            // plan says, like the Kafka backend.
            if topicform_core::spec::is_internal_topic(&t.topic) {
                problems.push(format!("`{}`: an internal topic; topicform never changes it", t.topic));
                continue;
            }
            if t.changes.iter().any(|c| matches!(c, Change::DeleteTopic)) {
                deletes.push(Write { topic: t.topic.clone(), change: "delete".into(), body: None });
                continue;
            }
            let current = state.topics.get(&t.topic);
            if t.action == Action::Create && current.is_some() {
                problems.push(format!(
                    "`{}`: an event hub of this name appeared since the plan was made; plan again",
                    t.topic
                ));
                continue;
            }
            if t.action == Action::Update && current.is_none() {
                problems.push(format!("`{}`: the event hub was deleted since the plan was made; plan again", t.topic));
                continue;
            }
            let desired = Desired::from_changes(current, &t.changes);
            match mapping::put_body(bodies.get(&t.topic), &desired) {
                Ok(body) => {
                    writes.push(Write { topic: t.topic.clone(), change: describe(&t.changes), body: Some(body) })
                }
                Err(e) => problems.push(format!("`{}`: {e}", t.topic)),
            }
        }
        if !problems.is_empty() {
            return Err(Error::EventHubsLimits {
                env: self.env.clone(),
                namespace: self.cluster.namespace.clone(),
                problems: problems.iter().map(|p| format!("\n  - {p}")).collect(),
            });
        }

        let mut report = ApplyReport::default();
        for (phase, batch) in [("writing event hubs", writes), ("deleting event hubs", deletes)] {
            if batch.is_empty() {
                continue;
            }
            let failed = report.failures().count();
            if failed > 0 {
                // Deletes only ever run after every write succeeded: a
                // namespace whose writes failed keeps what it had.
                tracing::warn!(phase, hubs = batch.len(), failed, "skipped: writes failed");
                report.outcomes.extend(batch.into_iter().map(|w| ChangeOutcome {
                    topic: w.topic,
                    change: w.change,
                    error: Some(format!(
                        "skipped, not sent: {failed} event hub write(s) of this apply failed, and deletes run only after every write succeeded; fix the failure above and apply again"
                    )),
                }));
                continue;
            }
            tracing::info!(phase, hubs = batch.len(), "applying");
            progress.start(phase, batch.len());
            let order: BTreeMap<String, usize> = batch.iter().enumerate().map(|(i, w)| (w.topic.clone(), i)).collect();
            let mut outcomes: Vec<ChangeOutcome> = stream::iter(batch)
                .map(|w| async move {
                    let result = match &w.body {
                        Some(body) => self.arm.put_eventhub(&w.topic, body).await,
                        None => self.arm.delete_eventhub(&w.topic).await,
                    };
                    ChangeOutcome { topic: w.topic, change: w.change, error: result.err().map(|e| describe_error(&e)) }
                })
                .buffer_unordered(CONCURRENCY)
                .inspect(|_| progress.advance(1))
                .collect()
                .await;
            progress.finish();
            outcomes.sort_by_key(|o| order.get(&o.topic).copied().unwrap_or(usize::MAX));
            report.outcomes.extend(outcomes);
        }
        Ok(report)
    }
}

/// What a PUT does, in the report: `create`, `add partitions 3 → 6, set retention.ms`.
fn describe(changes: &[Change]) -> String {
    let parts: Vec<String> = changes
        .iter()
        .map(|c| match c {
            Change::CreateTopic { .. } => "create".into(),
            Change::AddPartitions { from, to } => format!("add partitions {from} → {to}"),
            Change::SetConfig { key, .. } => format!("set {key}"),
            Change::DeleteConfig { key, .. } => format!("reset {key} to the default"),
            Change::DeleteTopic => "delete".into(),
        })
        .collect();
    parts.join(", ")
}

/// An error as one report line: the message and its help.
fn describe_error(e: &Error) -> String {
    use miette::Diagnostic;
    match e.help() {
        Some(help) => format!("{e} ({help})"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sovereign_clouds_get_their_own_token_scope() {
        let scope = |u: &str| arm_scope(&reqwest::Url::parse(u).unwrap());
        assert_eq!(scope("https://management.azure.com"), "https://management.azure.com/.default");
        assert_eq!(scope("https://management.usgovcloudapi.net/"), "https://management.usgovcloudapi.net/.default");
        assert_eq!(scope("https://management.chinacloudapi.cn"), "https://management.chinacloudapi.cn/.default");
        assert_eq!(scope("http://127.0.0.1:8080"), crate::auth::ARM_SCOPE);
    }

    #[test]
    fn report_lines_name_each_change() {
        let changes = vec![
            Change::AddPartitions { from: 3, to: 6 },
            Change::SetConfig { key: "retention.ms".into(), current: None, desired: "1".into() },
            Change::DeleteConfig { key: "delete.retention.ms".into(), current: "1".into() },
        ];
        assert_eq!(
            describe(&changes),
            "add partitions 3 → 6, set retention.ms, reset delete.retention.ms to the default"
        );
    }
}
