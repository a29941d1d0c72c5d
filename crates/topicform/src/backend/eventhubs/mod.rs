//! Azure Event Hubs backend: topics are event hubs, managed through Azure
//! Resource Manager (REST, api-version 2024-01-01), because Event Hubs does
//! not reliably support the Kafka admin APIs. The Kafka endpoint stays what
//! services (and `topicform check`) use.
//!
//! Observe: `GET` the namespace (refusing a tier other than the spec's, a
//! namespace without Kafka or one that is not Active), then list every event
//! hub (following `nextLink`) and map each to a topic ([`mapping`]).
//!
//! Apply (the order and the rules are the apply engine's, [`crate::apply`]):
//! - [`Backend::prepare`] reads the namespace and its event hubs again,
//!   checks the whole plan against the live namespace's quotas and rules
//!   ([`limits`]; quotas at the apply's peak, since deletes run last) and
//!   builds every request body once; any problem fails here, before the
//!   first write. The bodies read are kept for the writes.
//! - Each write is a `PUT` of the full event hub (the fields topicform does
//!   not manage carried over from the last body read or sent), at most
//!   [`CONCURRENCY`] at a time; partitions and configs of one hub are two
//!   steps, the second built on the body the first sent. Deletes are
//!   `DELETE`.
//!
//! Kafka consumer groups (`consumers:`) are not ARM consumer groups: none are
//! created (README, "Event Hubs (ARM)").

pub mod arm;
pub mod limits;
pub mod mapping;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{stream, StreamExt};
use serde_json::Value;
use topicform_core::access::{Grant, RoleAssignment, RoleScope};
use topicform_core::plan::{Action, Capabilities, Change, ClusterState, ObservedTopic, Plan};

use self::arm::{ArmClient, Granted};
use self::limits::NamespaceLimits;
use self::mapping::Desired;
use super::{Backend, Scope};
use crate::apply::{AccessChange, ConfigAlteration, ConfigOp, NewTopic, PartitionIncrease, Step, WriteResult};
use crate::auth::ScopedCredential;
use crate::{Error, Result};
use topicform_core::spec::model::{EventHubsCluster, EventHubsTier};
use topicform_core::spec::tiers::TierLimits;

/// Event hub writes in flight at once: fast for thousands of hubs, gentle
/// with ARM's per-subscription write throttling.
pub(crate) const CONCURRENCY: usize = 8;
/// Role assignment writes in flight at once: they share the subscription's
/// write budget with the event hub writes.
pub(crate) const ROLE_CONCURRENCY: usize = 4;
/// The public cloud's ARM endpoint.
pub(crate) const DEFAULT_ARM_ENDPOINT: &str = "https://management.azure.com";

/// The token scope for an ARM endpoint: a sovereign cloud's own
/// (`https://management.usgovcloudapi.net/.default`, ...), else the public
/// cloud's, which local test servers and private links accept too.
pub(crate) fn arm_scope(base: &reqwest::Url) -> String {
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
    /// The event hubs as last read by `prepare` or sent by a write, so each
    /// PUT carries the fields topicform does not manage and builds on the
    /// step before it.
    live: Mutex<Live>,
}

#[derive(Default)]
struct Live {
    topics: BTreeMap<String, ObservedTopic>,
    bodies: BTreeMap<String, Value>,
    /// Hubs whose write failed in this apply: what they hold is unknown
    /// (the write may have landed), so their later steps are not sent.
    failed: std::collections::BTreeSet<String>,
}

impl EventHubsBackend {
    /// Prepares the ARM client for `cluster` (no request yet): the
    /// `management:` credential, `armEndpoint` and the per-request timeout.
    pub fn connect(env: &str, cluster: &EventHubsCluster, timeout: Duration) -> Result<Self> {
        let base =
            crate::auth::endpoint_url(cluster.arm_endpoint.as_deref().unwrap_or(DEFAULT_ARM_ENDPOINT), "armEndpoint")?;
        let tokens = ScopedCredential::new(crate::auth::Credential::for_management(cluster)?, arm_scope(&base));
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
    pub(crate) fn with_client(env: &str, cluster: &EventHubsCluster, arm: ArmClient) -> Self {
        EventHubsBackend { env: env.to_owned(), cluster: cluster.clone(), arm, live: Mutex::default() }
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
        let state = ClusterState { cluster_id: Some(ns.id.clone()), broker_count: 0, topics, grants: None };
        Ok((ns, state, bodies))
    }
}

impl Backend for EventHubsBackend {
    fn capabilities(&self) -> Capabilities {
        // observe refuses a namespace whose tier differs from the spec's, so
        // the spec's tier is the namespace's whenever a plan exists.
        Capabilities {
            can_add_partitions: TierLimits::of(self.cluster.tier).partition_increase,
            manages_replication: true,
            immutable_config_keys: vec!["cleanup.policy".into()],
        }
    }

    /// Writes are one request per event hub, [`CONCURRENCY`] in flight; a
    /// batch is what the engine reports progress for. Large, so that waiting
    /// for a batch's slowest request costs little of the concurrency.
    fn batch_size(&self) -> usize {
        CONCURRENCY * 16
    }

    async fn observe(&self, scope: &Scope) -> Result<ClusterState> {
        // One list answers everything: partitions and the mapped settings of
        // every event hub come with it.
        let (ns, mut state, _) = self.read().await?;
        if scope.grants {
            let assignments = self.arm.list_role_assignments().await?;
            state.grants = Some(assignments.into_iter().map(Grant::Role).collect());
        }
        tracing::debug!(namespace = %ns.id, hubs = state.topics.len(), tier = %ns.limits.tier, capacity = ns.limits.capacity, "read the namespace");
        Ok(state)
    }

    async fn prepare(&self, plan: &Plan) -> Result<()> {
        let (ns, state, bodies) = self.read().await?;
        let mut problems = ns.limits.check(plan, &state);
        for t in plan.changing() {
            if t.changes.iter().any(|c| matches!(c, Change::DeleteTopic)) {
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
            // Every body is built once here, so a value Event Hubs cannot
            // take refuses the plan before anything is sent.
            if let Err(e) = mapping::put_body(bodies.get(&t.topic), &Desired::from_changes(current, &t.changes)) {
                problems.push(format!("`{}`: {e}", t.topic));
            }
        }
        if !problems.is_empty() {
            return Err(Error::EventHubsLimits {
                env: self.env.clone(),
                namespace: self.cluster.namespace.clone(),
                problems: problems.iter().map(|p| format!("\n  - {p}")).collect(),
            });
        }
        *self.live.lock().expect("live event hubs") = Live { topics: state.topics, bodies, failed: Default::default() };
        Ok(())
    }

    async fn create_topics(&self, batch: &[NewTopic]) -> Vec<WriteResult> {
        self.put_each(batch.iter().map(|t| {
            (t.name.as_str(), |d: &mut Desired| {
                d.partitions = t.partitions;
                d.config = t.config.clone();
            })
        }))
        .await
    }

    async fn add_partitions(&self, batch: &[PartitionIncrease]) -> Vec<WriteResult> {
        self.put_each(batch.iter().map(|p| (p.topic.as_str(), |d: &mut Desired| d.partitions = p.to))).await
    }

    async fn alter_configs(&self, batch: &[ConfigAlteration]) -> Vec<WriteResult> {
        self.put_each(batch.iter().map(|a| {
            (a.topic.as_str(), |d: &mut Desired| {
                for op in &a.ops {
                    match op {
                        ConfigOp::Set(key, value) => d.config.insert(key.clone(), value.clone()),
                        // Back to the service default.
                        ConfigOp::Delete(key) => d.config.remove(key),
                    };
                }
            })
        }))
        .await
    }

    async fn delete_topics(&self, batch: &[String]) -> Vec<WriteResult> {
        stream::iter(batch.to_vec())
            .map(|name| async move {
                let result = self.arm.delete_eventhub(&name).await.map_err(|e| describe_error(&e));
                (name, result)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await
    }

    /// Grants data roles on event hubs, [`ROLE_CONCURRENCY`] at a time; a
    /// hub whose write failed in this apply gets none.
    async fn grant(&self, batch: &[AccessChange]) -> Vec<WriteResult> {
        self.each_role(batch, |role| async move {
            match self.arm.put_role_assignment(role).await? {
                Granted::Created => {}
                Granted::Already => tracing::info!(grant = %role, "already granted under another name; kept"),
            }
            Ok(())
        })
        .await
    }

    /// Revokes role assignments as read (their own names).
    async fn revoke(&self, batch: &[AccessChange]) -> Vec<WriteResult> {
        self.each_role(batch, |role| self.arm.delete_role_assignment(role)).await
    }

    /// ARM writes end when their long-running operation has (see
    /// [`ArmClient::put_eventhub`]); the next list shows them.
    async fn settle(&self, _step: Step, _landed: &BTreeMap<String, u32>) -> Result<()> {
        Ok(())
    }
}

impl EventHubsBackend {
    /// Runs `write` for each role assignment of `batch`, at most
    /// [`ROLE_CONCURRENCY`] at a time; anything else (an ACL) is refused.
    async fn each_role<'a, F, Fut>(&'a self, batch: &'a [AccessChange], write: F) -> Vec<WriteResult>
    where
        F: Fn(&'a RoleAssignment) -> Fut,
        Fut: std::future::Future<Output = Result<()>> + 'a,
    {
        let failed = self.live.lock().expect("live event hubs").failed.clone();
        // Built first, then run: a closure over `batch` inside the stream
        // trips the compiler's Send inference for async trait methods.
        let calls: Vec<_> = batch
            .iter()
            .map(|change| {
                let outcome = match &change.grant {
                    Grant::Role(role) => match &role.scope {
                        RoleScope::Hub(hub) if failed.contains(hub) => {
                            Err(format!("not sent: the write of event hub {hub} failed in this apply; apply again"))
                        }
                        _ => Ok(write(role)),
                    },
                    Grant::Acl(_) => Err("an Event Hubs namespace has no Kafka ACLs".to_owned()),
                };
                async move {
                    let result = match outcome {
                        Ok(call) => call.await.map_err(|e| describe_error(&e)),
                        Err(skipped) => Err(skipped),
                    };
                    (change.name.clone(), result)
                }
            })
            .collect();
        stream::iter(calls).buffer_unordered(ROLE_CONCURRENCY).collect().await
    }

    /// PUTs each event hub with `edit` applied to what it has now (as read
    /// by `prepare` or sent by an earlier step), at most [`CONCURRENCY`] at a
    /// time, and remembers each body sent.
    async fn put_each<'a>(&self, hubs: impl Iterator<Item = (&'a str, impl FnOnce(&mut Desired))>) -> Vec<WriteResult> {
        let requests: Vec<(String, std::result::Result<Value, String>)> = {
            let live = self.live.lock().expect("live event hubs");
            hubs.map(|(name, edit)| {
                let name = name.to_owned();
                if live.failed.contains(&name) {
                    let skipped =
                        "not sent: an earlier write of this event hub failed in this apply; apply again".into();
                    return (name, Err(skipped));
                }
                let mut desired = Desired::current(live.topics.get(&name));
                edit(&mut desired);
                let body = mapping::put_body(live.bodies.get(&name), &desired);
                (name, body)
            })
            .collect()
        };
        stream::iter(requests)
            .map(|(name, body)| async move {
                let result = match body {
                    Ok(body) => match self.arm.put_eventhub(&name, &body).await {
                        Ok(()) => {
                            self.remember(&name, body);
                            Ok(())
                        }
                        Err(e) => {
                            self.forget(&name);
                            Err(describe_error(&e))
                        }
                    },
                    Err(e) => Err(e),
                };
                (name, result)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await
    }

    /// Keeps the body just sent (and what it maps to) for the hub's next step.
    fn remember(&self, name: &str, mut body: Value) {
        body["name"] = Value::String(name.to_owned());
        let mut live = self.live.lock().expect("live event hubs");
        match mapping::observed_topic(&body) {
            Ok(topic) => {
                live.topics.insert(name.to_owned(), topic);
                live.bodies.insert(name.to_owned(), body);
            }
            // Never happens for a body put_body built; if it did, the next
            // step must not build on a half-known hub.
            Err(_) => {
                live.failed.insert(name.to_owned());
            }
        }
    }

    /// A write of `name` failed: its later steps are not sent.
    fn forget(&self, name: &str) {
        self.live.lock().expect("live event hubs").failed.insert(name.to_owned());
    }
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
}
