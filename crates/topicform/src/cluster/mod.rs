//! Cluster backends behind one trait. This is the only module that talks to
//! brokers; everything else works on [`ClusterState`] and [`Plan`].

pub mod eventhubs;
pub mod kafka;

use std::collections::BTreeSet;
use std::future::Future;

use serde::Serialize;

use crate::Result;
use topicform_core::plan::{Capabilities, ClusterState, Plan};

/// Outcome of one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeOutcome {
    /// Topic.
    pub topic: String,
    /// What was done, e.g. `create`, `add partitions 3 → 6`, `set retention.ms`.
    pub change: String,
    /// The broker's error, if it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Everything apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// One entry per change attempted.
    pub outcomes: Vec<ChangeOutcome>,
}

impl ApplyReport {
    /// Changes that failed.
    pub fn failures(&self) -> impl Iterator<Item = &ChangeOutcome> {
        self.outcomes.iter().filter(|o| o.error.is_some())
    }
}

/// Reports progress of long operations (a bar on a TTY, nothing otherwise).
pub trait Progress: Send + Sync {
    /// A phase with `total` steps begins.
    fn start(&self, phase: &str, total: usize);
    /// `n` more steps are done.
    fn advance(&self, n: usize);
    /// The phase is over.
    fn finish(&self);
}

/// Progress that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: usize) {}
    fn advance(&self, _: usize) {}
    fn finish(&self) {}
}

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
}

/// A cluster topicform can reconcile.
pub trait Cluster: Send + Sync {
    /// What this backend can change, so plans refuse what would fail.
    fn capabilities(&self) -> Capabilities;

    /// Reads every topic with its partitions and replication, and the configs
    /// of the topics in `scope`: their overrides plus the effective value of
    /// each key in `scope.config_keys`.
    fn observe(&self, scope: &Scope) -> impl Future<Output = Result<ClusterState>> + Send;

    /// Applies every change of `plan` (which has no refusals), batched, and
    /// reports each outcome. Returns `Err` only when nothing could be tried.
    fn apply(&self, plan: &Plan, progress: &dyn Progress) -> impl Future<Output = Result<ApplyReport>> + Send;
}
