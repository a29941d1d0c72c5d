//! The apply engine: one implementation of how a plan is carried out, for
//! every backend.
//!
//! A backend knows how to read a cluster and how to send four primitive
//! writes (create topics, add partitions, alter configs incrementally, delete
//! topics); this module owns everything else, so that the rules hold the
//! same way on Kafka and Event Hubs:
//!
//! 1. **Guards before the first write.** A plan that touches an internal
//!    topic is refused whole (plans never do; an edited plan must not either),
//!    and the backend's own [`Backend::prepare`] may refuse the plan against
//!    the live cluster (Event Hubs quotas) — nothing is sent then.
//! 2. **Order.** Creates, then partition increases, then config changes, then
//!    deletes. Deletes run last and only when every earlier change
//!    succeeded; otherwise they are reported as [`Status::Skipped`], so a
//!    failed apply never leaves the cluster with less than before.
//! 3. **Batches** of the backend's [`Backend::batch_size`], with progress per
//!    batch. A topic a backend returns no result for counts as failed:
//!    a missing answer never passes as success.
//! 4. **A refusal that means "already so" is no failure.** A write the
//!    cluster refuses is re-observed before it is reported: when the topic
//!    already is what the write asked for (an interrupted earlier apply's
//!    request landed after this run planned), it counts as applied.
//! 5. **Interruption.** Once a stop is asked for ([`Interrupt`]), no new
//!    batch is sent; the batch in flight gets [`IN_FLIGHT_GRACE`] to answer,
//!    and everything not sent is reported as skipped.
//! 6. **One report**, worded here (`StepItem::change`), with the same shape for the
//!    same plan whichever backend applied it.

mod interrupt;
mod report;

use std::collections::BTreeMap;
use std::time::Duration;

use tracing::Instrument;

pub use interrupt::{Interrupt, Signal};
pub use report::{ApplyReport, Outcome, Status};
use topicform_core::access::Grant;
use topicform_core::plan::{Change, ObservedTopic, Plan};
use topicform_core::spec::{is_internal_topic, values};

use crate::backend::{Backend, Scope};
use crate::{Error, Result};

/// How long the batch in flight may take to answer once a stop was asked
/// for. CI runners and Kubernetes give 10 to 30 s between SIGTERM and
/// SIGKILL; 10 s leaves time to print the report.
pub const IN_FLIGHT_GRACE: Duration = Duration::from_secs(10);

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    pub name: String,
    pub partitions: u32,
    /// `None` where the service manages replication (Event Hubs) or the
    /// broker's default applies.
    pub replication_factor: Option<u16>,
    pub config: BTreeMap<String, String>,
}

/// A partition increase of one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionIncrease {
    pub topic: String,
    pub from: u32,
    pub to: u32,
}

/// The incremental config changes of one topic: only the keys named change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigAlteration {
    pub topic: String,
    pub ops: Vec<ConfigOp>,
}

/// One incremental operation on one config key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOp {
    /// Set `key` to `value`.
    Set(String, String),
    /// Remove the topic-level override of `key` (back to the default).
    Delete(String),
}

/// What a backend answers for one topic of a batch: `Err` holds the
/// cluster's own message.
pub(crate) type WriteResult = (String, std::result::Result<(), String>);

/// A grant (an ACL or a role assignment) to create or delete, named as
/// plans name it (the engine keys each write's answer by that name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessChange {
    pub name: String,
    pub grant: Grant,
    /// Deleted rather than created.
    pub delete: bool,
}

impl AccessChange {
    fn new(grant: &Grant, delete: bool) -> Self {
        AccessChange { name: grant.to_string(), grant: grant.clone(), delete }
    }
}

/// The primitive writes, in the order apply runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create,
    AddPartitions,
    AlterConfigs,
    /// Grants of the services' access (ACLs or role assignments), once
    /// their topics exist.
    Grant,
    Delete,
    /// Revoked grants, last: like deletes, only when all else succeeded.
    Revoke,
}

impl Step {
    /// The progress label.
    pub fn label(self) -> &'static str {
        match self {
            Step::Create => "creating topics",
            Step::AddPartitions => "adding partitions",
            Step::AlterConfigs => "altering configs",
            Step::Grant => "granting access",
            Step::Delete => "deleting topics",
            Step::Revoke => "revoking access",
        }
    }

    /// The name in traces and metrics (`topicform.change.action`).
    pub fn action(self) -> &'static str {
        match self {
            Step::Create => "create",
            Step::AddPartitions => "add_partitions",
            Step::AlterConfigs => "alter_config",
            Step::Grant => "grant",
            Step::Delete => "delete",
            Step::Revoke => "revoke",
        }
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

/// The plan's changes sorted into the four steps.
#[derive(Debug, Default)]
struct Writes {
    creates: Vec<NewTopic>,
    increases: Vec<PartitionIncrease>,
    alterations: Vec<ConfigAlteration>,
    deletes: Vec<String>,
    grants: Vec<AccessChange>,
    revokes: Vec<AccessChange>,
}

impl Writes {
    fn of(plan: &Plan) -> Writes {
        let mut w = Writes::default();
        for t in plan.changing() {
            let mut ops = Vec::new();
            for c in &t.changes {
                match c {
                    Change::CreateTopic { partitions, replication_factor, config } => w.creates.push(NewTopic {
                        name: t.topic.clone(),
                        partitions: *partitions,
                        replication_factor: *replication_factor,
                        config: config.clone(),
                    }),
                    Change::AddPartitions { from, to } => {
                        w.increases.push(PartitionIncrease { topic: t.topic.clone(), from: *from, to: *to })
                    }
                    Change::SetConfig { key, desired, .. } => ops.push(ConfigOp::Set(key.clone(), desired.clone())),
                    Change::DeleteConfig { key, .. } => ops.push(ConfigOp::Delete(key.clone())),
                    Change::DeleteTopic => w.deletes.push(t.topic.clone()),
                }
            }
            if !ops.is_empty() {
                w.alterations.push(ConfigAlteration { topic: t.topic.clone(), ops });
            }
        }
        if let Some(access) = &plan.access {
            w.grants = access.creates().map(|g| AccessChange::new(g, false)).collect();
            w.revokes = access.deletes().map(|g| AccessChange::new(g, true)).collect();
        }
        w
    }
}

/// Applies every change of `plan` (which has no refusals) through `backend`
/// and reports each outcome. `Err` means nothing was sent: a guard or the
/// backend's preparation refused the plan. Once `interrupt` is raised no new
/// batch is sent (the report says so in [`ApplyReport::interrupted`]).
pub async fn apply<B: Backend>(
    backend: &B,
    plan: &Plan,
    progress: &dyn Progress,
    interrupt: &Interrupt,
) -> Result<ApplyReport> {
    refuse_internal_topics(plan)?;
    refuse_foreign_topics(plan)?;
    backend.prepare(plan).await?;
    let writes = Writes::of(plan);
    let batch_size = backend.batch_size().max(1);
    let mut report = ApplyReport::default();

    let mut run = Runner { backend, progress, interrupt, batch_size, report: &mut report };
    run.step(Step::Create, writes.creates, |b, batch| Box::pin(b.create_topics(batch))).await;
    run.step(Step::AddPartitions, writes.increases, |b, batch| Box::pin(b.add_partitions(batch))).await;
    run.step(Step::AlterConfigs, writes.alterations, |b, batch| Box::pin(b.alter_configs(batch))).await;
    run.step(Step::Grant, writes.grants, |b, batch| Box::pin(b.grant(batch))).await;
    let failed = run.report.failed();
    if failed > 0 && interrupt.signal().is_none() {
        skip_deletes(Step::Delete, writes.deletes, failed, run.report);
        skip_deletes(Step::Revoke, writes.revokes, failed, run.report);
    } else {
        run.step(Step::Delete, writes.deletes, |b, batch| Box::pin(b.delete_topics(batch))).await;
        run.step(Step::Revoke, writes.revokes, |b, batch| Box::pin(b.revoke(batch))).await;
    }
    report.interrupted = interrupt.signal().map(|s| s.name().to_owned());
    Ok(report)
}

/// The topics of `plan` whose writes the cluster would refuse, each with the
/// cluster's reason, asked without changing anything. Deletes are not asked
/// about: they are checked by the plan's own rules.
pub async fn refusals<B: Backend>(backend: &B, plan: &Plan) -> Vec<(String, String)> {
    let writes = Writes::of(plan);
    if writes.creates.is_empty() && writes.increases.is_empty() && writes.alterations.is_empty() {
        return Vec::new();
    }
    backend.validate_writes(&writes.creates, &writes.increases, &writes.alterations).await
}

/// Refuses, before anything is sent, a plan that would touch a topic Kafka
/// or its ecosystem owns. Plans never contain one; an edited plan file or a
/// future bug must not get one through either.
/// A plan (a saved file, say) that changes a topic outside the
/// environment's `owns:`: plans never do, so it was edited.
fn refuse_foreign_topics(plan: &Plan) -> Result<()> {
    let owns = topicform_core::spec::ownership::Ownership::new(&plan.owns);
    let foreign: Vec<String> =
        plan.changing().filter(|t| !owns.contains(&t.topic)).map(|t| format!("`{}`", t.topic)).collect();
    if foreign.is_empty() {
        return Ok(());
    }
    Err(Error::ForeignTopics { topics: foreign.join(", "), owns: owns.describe() })
}

fn refuse_internal_topics(plan: &Plan) -> Result<()> {
    let internal: Vec<String> =
        plan.changing().filter(|t| is_internal_topic(&t.topic)).map(|t| format!("`{}`", t.topic)).collect();
    if internal.is_empty() {
        return Ok(());
    }
    Err(Error::InternalTopics { topics: internal.join(", ") })
}

fn skip_deletes<T: StepItem>(step: Step, deletes: Vec<T>, failed: usize, report: &mut ApplyReport) {
    if !deletes.is_empty() {
        tracing::warn!(step = step.label(), items = deletes.len(), failed, "deletes skipped: earlier changes failed");
    }
    if let Some(m) = crate::telemetry::metrics() {
        m.changes(step.action(), "not_sent", deletes.len() as u64);
    }
    let reason = format!("not sent: {failed} earlier change(s) failed; fix them and apply again");
    for item in deletes {
        let (topic, change) = (item.topic().to_owned(), item.change());
        report.outcomes.push(Outcome { topic, change, status: Status::Skipped { reason: reason.clone() } });
    }
}

type Pending<'a> = futures::future::BoxFuture<'a, Vec<WriteResult>>;

/// Runs one step in batches and records each topic's outcome.
struct Runner<'r, B> {
    backend: &'r B,
    progress: &'r dyn Progress,
    interrupt: &'r Interrupt,
    batch_size: usize,
    report: &'r mut ApplyReport,
}

impl<B: Backend> Runner<'_, B> {
    async fn step<T: StepItem>(
        &mut self,
        step: Step,
        items: Vec<T>,
        send: impl for<'a> Fn(&'a B, &'a [T]) -> Pending<'a>,
    ) {
        if items.is_empty() {
            return;
        }
        if let Some(signal) = self.interrupt.signal() {
            self.record_unsent(step, &items, signal);
            return;
        }
        tracing::info!(step = step.label(), topics = items.len(), "applying");
        self.progress.start(step.label(), items.len());
        let mut answered: Vec<(T, Status)> = Vec::with_capacity(items.len());
        let mut batches = batches(&items, self.batch_size, self.backend.records_per_request()).into_iter();
        for batch in batches.by_ref() {
            let span = batch_span(step, batch.len());
            let answers = tokio::select! {
                answers = send(self.backend, batch).instrument(span.clone()) => Some(answers),
                _ = self.interrupt.grace_expired(IN_FLIGHT_GRACE) => None,
            };
            let Some(answers) = answers else {
                let signal = self.interrupt.signal().map_or("a stop", |s| s.name());
                let error = format!(
                    "no answer within {} s of {signal}; the next plan shows whether it landed",
                    IN_FLIGHT_GRACE.as_secs()
                );
                answered.extend(batch.iter().map(|item| (item.clone(), Status::Failed { error: error.clone() })));
                break;
            };
            let answers = statuses(batch, answers);
            let failed = answers.iter().filter(|(_, status)| *status != Status::Applied).count();
            span.record("topicform.batch.failed", failed);
            if failed > 0 {
                crate::telemetry::mark_failed(&span, &format!("{failed} of {} refused or failed", batch.len()));
            }
            answered.extend(answers);
            self.progress.advance(batch.len());
            if self.interrupt.signal().is_some() {
                break;
            }
        }
        self.progress.finish();
        if self.interrupt.signal().is_none() {
            // A stop asked for meanwhile ends the re-reading: the refusals
            // then stand as the cluster gave them.
            tokio::select! {
                _ = self.recheck_refusals(&mut answered) => {}
                _ = self.interrupt.grace_expired(Duration::ZERO) => {}
            }
        }
        let landed: BTreeMap<String, u32> = answered
            .iter()
            .filter(|(_, status)| *status == Status::Applied)
            .map(|(item, _)| (item.topic().to_owned(), item.partitions()))
            .collect();
        count_outcomes(step, answered.iter().map(|(_, status)| status));
        for (item, status) in answered {
            self.report.outcomes.push(Outcome { topic: item.topic().to_owned(), change: item.change(), status });
        }
        let unsent: Vec<T> = batches.flatten().cloned().collect();
        if let Some(signal) = self.interrupt.signal() {
            self.record_unsent(step, &unsent, signal);
        }
        if !landed.is_empty() && self.interrupt.signal().is_none() {
            // What was sent is in the report; not seeing it yet is no reason
            // to lose that report, nor to keep a stopping apply waiting.
            tokio::select! {
                settled = self.backend.settle(step, &landed) => if let Err(e) = settled {
                    tracing::warn!(step = step.label(), error = %e, "cannot confirm the changes yet; the next plan will show the state");
                },
                _ = self.interrupt.grace_expired(Duration::ZERO) => {}
            }
        }
    }

    /// Re-reads the topics whose write the cluster refused: a write whose
    /// effect is already there (an interrupted earlier apply's request
    /// landed after this run planned, or a retry's first attempt did land)
    /// counts as applied. A broker under load publishes what its controller
    /// did seconds later (over ten seconds for a thousand topics on two busy
    /// cores, seen in CI), so the read is repeated after 2, 4, 8 and 16 s
    /// for what is not there yet: at most 30 s, spent only on refusals that
    /// may be false. A read that fails changes nothing.
    async fn recheck_refusals<T: StepItem>(&self, answered: &mut [(T, Status)]) {
        for pause in [0, 2, 4, 8, 16].map(Duration::from_secs) {
            let refused: Vec<&T> = answered
                .iter()
                .filter(|(item, s)| matches!(s, Status::Failed { .. }) && item.rereadable())
                .map(|(item, _)| item)
                .collect();
            if refused.is_empty() {
                return;
            }
            tokio::time::sleep(pause).await;
            let scope = Scope {
                topics: Some(refused.iter().map(|i| i.topic().to_owned()).collect()),
                config_keys: refused.iter().flat_map(|i| i.config_keys()).collect(),
                grants: false,
            };
            let observed = match self.backend.observe(&scope).await {
                Ok(state) => state,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot re-read the refused topics; their errors stand");
                    return;
                }
            };
            for (item, status) in answered.iter_mut().filter(|(item, _)| item.rereadable()) {
                if let Status::Failed { error } = status {
                    if item.in_place(observed.topics.get(item.topic())) {
                        tracing::info!(
                            topic = item.topic(),
                            change = %item.change(),
                            refusal = %error,
                            "the cluster refused the write but already is as asked; counted as applied"
                        );
                        *status = Status::Applied;
                    }
                }
            }
        }
    }

    fn record_unsent<T: StepItem>(&mut self, step: Step, items: &[T], signal: Signal) {
        if let Some(m) = crate::telemetry::metrics() {
            m.changes(step.action(), "not_sent", items.len() as u64);
        }
        let reason = format!("not sent: interrupted by {}", signal.name());
        for item in items {
            self.report.outcomes.push(Outcome {
                topic: item.topic().to_owned(),
                change: item.change(),
                status: Status::Skipped { reason: reason.clone() },
            });
        }
    }
}

/// `items` cut into contiguous requests of at most `size` items and, where
/// the cluster bounds them, at most `records` metadata records
/// ([`StepItem::records`]). An item over the bound on its own goes alone:
/// the cluster then refuses it, naming why.
pub(crate) fn batches<T: StepItem>(items: &[T], size: usize, records: Option<usize>) -> Vec<&[T]> {
    let (size, limit) = (size.max(1), records.unwrap_or(usize::MAX));
    let mut out = Vec::new();
    let (mut start, mut weight) = (0, 0);
    for (i, item) in items.iter().enumerate() {
        let w = item.records();
        if i > start && (i - start == size || weight + w > limit) {
            out.push(&items[start..i]);
            (start, weight) = (i, 0);
        }
        weight += w;
    }
    if start < items.len() {
        out.push(&items[start..]);
    }
    out
}

/// The span of one write request: its step, its size, how many of its
/// topics the cluster refused.
fn batch_span(step: Step, size: usize) -> tracing::Span {
    tracing::info_span!(
        "batch",
        otel.name = format!("apply {} batch", step.action()),
        topicform.change.action = step.action(),
        topicform.batch.size = size,
        topicform.batch.failed = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        otel.status_description = tracing::field::Empty,
    )
}

/// Counts a step's answered changes by outcome (applied, failed).
fn count_outcomes<'s>(step: Step, statuses: impl Iterator<Item = &'s Status>) {
    let Some(m) = crate::telemetry::metrics() else { return };
    let (mut applied, mut failed) = (0, 0);
    for status in statuses {
        match status {
            Status::Applied => applied += 1,
            _ => failed += 1,
        }
    }
    m.changes(step.action(), "applied", applied);
    m.changes(step.action(), "failed", failed);
}

/// Each item of `batch` with the backend's answer for it; an item without
/// an answer failed (a missing answer never passes as success).
fn statuses<T: StepItem>(batch: &[T], answers: Vec<WriteResult>) -> Vec<(T, Status)> {
    let mut answers: BTreeMap<String, std::result::Result<(), String>> = answers.into_iter().collect();
    batch
        .iter()
        .map(|item| {
            let status = match answers.remove(item.topic()) {
                Some(Ok(())) => Status::Applied,
                Some(Err(error)) => Status::Failed { error },
                None => Status::Failed { error: "the cluster gave no answer for this topic".into() },
            };
            (item.clone(), status)
        })
        .collect()
}

/// What the engine needs of one write, whatever its step.
pub(crate) trait StepItem: Clone {
    fn topic(&self) -> &str;
    /// Metadata records the write makes the cluster create (a KRaft
    /// controller refuses a request of more than 10,000: "excessively large
    /// batch operation"): a new topic's own record, one per partition and
    /// one per config; one per added partition; one per config operation.
    fn records(&self) -> usize {
        1
    }
    /// The report's words for this write: `create`, `add partitions 3 → 6`,
    /// `set a, reset b to the default`, `delete`.
    fn change(&self) -> String;
    /// Partitions the topic has once the write landed (0: unchanged).
    fn partitions(&self) -> u32 {
        0
    }
    /// Config keys whose value [`in_place`](Self::in_place) compares.
    fn config_keys(&self) -> Vec<String> {
        Vec::new()
    }
    /// Whether `observed` (`None`: no such topic) already is what this write
    /// asks for.
    fn in_place(&self, observed: Option<&ObservedTopic>) -> bool;
    /// Whether a refusal is worth re-reading the topic for (a topic write);
    /// an ACL write is idempotent on the cluster, so its refusal stands.
    fn rereadable(&self) -> bool {
        true
    }
}

/// Whether `topic` has `key` set to a value equivalent to `value`.
fn has_value(topic: &ObservedTopic, key: &str, value: &str) -> bool {
    topic.config.get(key).is_some_and(|c| values::equivalent(key, &c.value, value))
}

impl StepItem for NewTopic {
    fn topic(&self) -> &str {
        &self.name
    }
    fn records(&self) -> usize {
        1 + self.partitions as usize + self.config.len()
    }
    fn change(&self) -> String {
        "create".into()
    }
    fn partitions(&self) -> u32 {
        self.partitions
    }
    fn config_keys(&self) -> Vec<String> {
        self.config.keys().cloned().collect()
    }
    fn in_place(&self, observed: Option<&ObservedTopic>) -> bool {
        observed.is_some_and(|t| {
            t.partitions == self.partitions
                && (self.replication_factor.is_none() || t.replication_factor == self.replication_factor)
                && self.config.iter().all(|(k, v)| has_value(t, k, v))
        })
    }
}

impl StepItem for PartitionIncrease {
    fn topic(&self) -> &str {
        &self.topic
    }
    fn records(&self) -> usize {
        self.to.saturating_sub(self.from).max(1) as usize
    }
    fn change(&self) -> String {
        format!("add partitions {} → {}", self.from, self.to)
    }
    fn partitions(&self) -> u32 {
        self.to
    }
    fn in_place(&self, observed: Option<&ObservedTopic>) -> bool {
        observed.is_some_and(|t| t.partitions == self.to)
    }
}

impl StepItem for ConfigAlteration {
    fn topic(&self) -> &str {
        &self.topic
    }
    fn records(&self) -> usize {
        self.ops.len().max(1)
    }
    fn change(&self) -> String {
        let parts: Vec<String> = self
            .ops
            .iter()
            .map(|o| match o {
                ConfigOp::Set(k, _) => format!("set {k}"),
                ConfigOp::Delete(k) => format!("reset {k} to the default"),
            })
            .collect();
        parts.join(", ")
    }
    fn config_keys(&self) -> Vec<String> {
        self.ops
            .iter()
            .map(|o| match o {
                ConfigOp::Set(k, _) | ConfigOp::Delete(k) => k.clone(),
            })
            .collect()
    }
    fn in_place(&self, observed: Option<&ObservedTopic>) -> bool {
        observed.is_some_and(|t| {
            self.ops.iter().all(|o| match o {
                ConfigOp::Set(k, v) => has_value(t, k, v),
                ConfigOp::Delete(k) => t.config.get(k).is_none_or(|c| !c.is_override),
            })
        })
    }
}

/// A grant to create or delete.
impl StepItem for AccessChange {
    fn topic(&self) -> &str {
        &self.name
    }
    fn change(&self) -> String {
        format!("{} {}", if self.delete { "delete" } else { "create" }, self.grant.kind())
    }
    fn in_place(&self, _: Option<&ObservedTopic>) -> bool {
        false
    }
    fn rereadable(&self) -> bool {
        false
    }
}

/// A topic to delete.
impl StepItem for String {
    fn topic(&self) -> &str {
        self
    }
    fn change(&self) -> String {
        "delete".into()
    }
    fn in_place(&self, observed: Option<&ObservedTopic>) -> bool {
        observed.is_none()
    }
}

#[cfg(test)]
mod tests;
