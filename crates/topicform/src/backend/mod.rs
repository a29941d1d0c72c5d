//! Cluster backends behind one trait: reads and primitive writes. How a plan
//! is carried out (order, guards, batching, the report) is the apply engine's
//! ([`crate::apply`]), written once for every backend.

pub mod eventhubs;
pub mod kafka;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use topicform_core::plan::{Capabilities, ClusterState, Plan};
use topicform_core::spec::model::Cluster as ClusterSpec;
use topicform_core::spec::ResolvedEnvironment;

use crate::apply::{
    self, AccessChange, ApplyReport, ConfigAlteration, Interrupt, NewTopic, PartitionIncrease, Progress, Step,
    WriteResult,
};
use crate::Result;
use eventhubs::EventHubsBackend;
use kafka::KafkaBackend;

/// Which topics' configs a read needs.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Topics whose configs are read; `None` for every non-internal topic
    /// (export). Plans read only the spec's topics: another team's topics
    /// on a shared cluster cost nothing and cannot fail the plan.
    pub topics: Option<BTreeSet<String>>,
    /// Config keys whose effective (default) value is read too, so "equal to
    /// the broker default" is not reported as a change.
    pub config_keys: BTreeSet<String>,
    /// Read every grant too, ACLs or role assignments (an environment
    /// whose services name principals).
    pub grants: bool,
}

/// A cluster topicform can reconcile: what it can do, how to read it, and the
/// four primitive writes the apply engine composes.
///
/// Each write takes one batch (at most [`batch_size`](Self::batch_size)
/// items) and answers per topic; a failure of the whole request is reported
/// on each of its topics. Retries of what the protocol calls retriable are
/// the backend's business; ordering and guards are not.
pub trait Backend: Send + Sync {
    /// What this backend can change, so plans refuse what would fail.
    fn capabilities(&self) -> Capabilities;

    /// Items per write request.
    fn batch_size(&self) -> usize;

    /// Metadata records one write request may make the cluster create, if
    /// the cluster bounds them (see [`crate::apply::batches`]).
    fn records_per_request(&self) -> Option<usize> {
        None
    }

    /// Reads every topic with its partitions and replication, and the configs
    /// of the topics in `scope`: their overrides plus the effective value of
    /// each key in `scope.config_keys`.
    fn observe(&self, scope: &Scope) -> impl Future<Output = Result<ClusterState>> + Send;

    /// Checks `plan` against the live cluster just before the first write
    /// and refuses it whole when any change could not succeed (Event Hubs
    /// quotas). Nothing has been sent when this fails.
    fn prepare(&self, plan: &Plan) -> impl Future<Output = Result<()>> + Send;

    /// Asks the cluster whether it would accept these writes, changing
    /// nothing (Kafka's `validate_only`), and returns each topic it would
    /// refuse with its reason, so `plan` refuses what apply could only half
    /// do. A backend without such a request (ARM) refuses none here; its
    /// [`prepare`](Self::prepare) checks what it can before the first write.
    fn validate_writes(
        &self,
        _creates: &[NewTopic],
        _increases: &[PartitionIncrease],
        _alterations: &[ConfigAlteration],
    ) -> impl Future<Output = Vec<(String, String)>> + Send {
        async { Vec::new() }
    }

    fn create_topics(&self, batch: &[NewTopic]) -> impl Future<Output = Vec<WriteResult>> + Send;

    fn add_partitions(&self, batch: &[PartitionIncrease]) -> impl Future<Output = Vec<WriteResult>> + Send;

    /// Sets or removes only the keys named (never a whole-config replace).
    fn alter_configs(&self, batch: &[ConfigAlteration]) -> impl Future<Output = Vec<WriteResult>> + Send;

    fn delete_topics(&self, batch: &[String]) -> impl Future<Output = Vec<WriteResult>> + Send;

    /// Creates grants: ACLs, or role assignments (answers keyed by
    /// [`AccessChange::name`]). A backend without them fails each;
    /// validation keeps plans from asking it.
    fn grant(&self, batch: &[AccessChange]) -> impl Future<Output = Vec<WriteResult>> + Send {
        async { not_grantable(batch) }
    }

    /// Deletes exactly these grants.
    fn revoke(&self, batch: &[AccessChange]) -> impl Future<Output = Vec<WriteResult>> + Send {
        async { not_grantable(batch) }
    }

    /// Waits, within a bound, until reads show what `step` did, so the next
    /// plan sees it; `landed` has each topic the step changed with the
    /// partitions it now has (creates and increases; 0 otherwise). Not
    /// seeing it in time is only a warning.
    fn settle(&self, step: Step, landed: &BTreeMap<String, u32>) -> impl Future<Output = Result<()>> + Send;
}

/// Each answer of a backend asked for grants it cannot make: a Kafka
/// cluster asked for role assignments, say.
pub(crate) fn not_grantable(batch: &[AccessChange]) -> Vec<WriteResult> {
    batch.iter().map(|c| (c.name.clone(), Err(format!("this cluster type cannot hold a {}", c.grant.kind())))).collect()
}

/// The backend of one environment's cluster. An enum rather than
/// `dyn Backend` because the trait has async methods.
pub enum ConnectedBackend {
    Kafka(KafkaBackend),
    /// Azure Event Hubs, through Azure Resource Manager.
    EventHubs(Box<EventHubsBackend>),
}

impl ConnectedBackend {
    /// Prepares the clients for the cluster of `env` (they connect on first use).
    pub fn connect(env: &ResolvedEnvironment, timeout: Duration) -> Result<ConnectedBackend> {
        match &env.cluster {
            ClusterSpec::Kafka(k) => Ok(ConnectedBackend::Kafka(KafkaBackend::connect(&env.name, k, timeout)?)),
            ClusterSpec::Eventhubs(eh) => {
                Ok(ConnectedBackend::EventHubs(Box::new(EventHubsBackend::connect(&env.name, eh, timeout)?)))
            }
        }
    }

    pub fn capabilities(&self) -> Capabilities {
        match self {
            ConnectedBackend::Kafka(k) => k.capabilities(),
            ConnectedBackend::EventHubs(e) => e.capabilities(),
        }
    }

    pub async fn observe(&self, scope: &Scope) -> Result<ClusterState> {
        match self {
            ConnectedBackend::Kafka(k) => k.observe(scope).await,
            ConnectedBackend::EventHubs(e) => e.observe(scope).await,
        }
    }

    /// The topics of `plan` whose writes the cluster says it would refuse,
    /// with its reasons (nothing is changed).
    pub async fn refusals(&self, plan: &Plan) -> Vec<(String, String)> {
        match self {
            ConnectedBackend::Kafka(k) => apply::refusals(k, plan).await,
            ConnectedBackend::EventHubs(e) => apply::refusals(e.as_ref(), plan).await,
        }
    }

    /// Applies `plan` through the apply engine, sending no new batch once
    /// `interrupt` is raised.
    pub async fn apply(&self, plan: &Plan, progress: &dyn Progress, interrupt: &Interrupt) -> Result<ApplyReport> {
        match self {
            ConnectedBackend::Kafka(k) => apply::apply(k, plan, progress, interrupt).await,
            ConnectedBackend::EventHubs(e) => apply::apply(e.as_ref(), plan, progress, interrupt).await,
        }
    }
}
