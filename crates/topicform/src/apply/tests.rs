//! The engine's rules, against a backend that records what it is asked and
//! answers from a script. What the real backends do with the primitives is
//! tested against a real broker and the ARM contract server (tests/).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use topicform_core::plan::{Action, Capabilities, ClusterState, Plan, PlanOptions, Summary, TopicPlan};

use super::*;
use crate::backend::Scope;

/// Records every call; fails the topics in `failing`, forgets to answer
/// for the topics in `silent`.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
    failing: BTreeSet<String>,
    silent: BTreeSet<String>,
    refuse_in_prepare: bool,
    batch: usize,
}

impl Recorder {
    fn answer(&self, call: &str, topics: Vec<String>) -> Vec<WriteResult> {
        self.calls.lock().unwrap().push(format!("{call} {}", topics.join(",")));
        topics
            .into_iter()
            .filter(|t| !self.silent.contains(t))
            .map(|t| {
                let result = if self.failing.contains(&t) { Err(format!("broker says no to {t}")) } else { Ok(()) };
                (t, result)
            })
            .collect()
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl Backend for Recorder {
    fn capabilities(&self) -> Capabilities {
        Capabilities::kafka()
    }
    fn batch_size(&self) -> usize {
        self.batch
    }
    async fn observe(&self, _: &Scope) -> Result<ClusterState> {
        unreachable!("apply never reads through the engine")
    }
    async fn prepare(&self, _: &Plan) -> Result<()> {
        self.calls.lock().unwrap().push("prepare".into());
        if self.refuse_in_prepare {
            return Err(Error::EventHubsLimits { env: "e".into(), namespace: "n".into(), problems: "x".into() });
        }
        Ok(())
    }
    async fn create_topics(&self, batch: &[NewTopic]) -> Vec<WriteResult> {
        self.answer("create", batch.iter().map(|t| t.name.clone()).collect())
    }
    async fn add_partitions(&self, batch: &[PartitionIncrease]) -> Vec<WriteResult> {
        self.answer("partitions", batch.iter().map(|p| p.topic.clone()).collect())
    }
    async fn alter_configs(&self, batch: &[ConfigAlteration]) -> Vec<WriteResult> {
        self.answer("configs", batch.iter().map(|a| a.topic.clone()).collect())
    }
    async fn delete_topics(&self, batch: &[String]) -> Vec<WriteResult> {
        self.answer("delete", batch.to_vec())
    }
    async fn settle(&self, step: Step, landed: &BTreeMap<String, u32>) -> Result<()> {
        let topics: Vec<String> = landed.iter().map(|(t, p)| format!("{t}={p}")).collect();
        self.calls.lock().unwrap().push(format!("settle {} {}", step.label(), topics.join(",")));
        Ok(())
    }
}

fn topic(name: &str, action: Action, changes: Vec<Change>) -> TopicPlan {
    TopicPlan { topic: name.into(), action, changes, reasons: vec![], warnings: vec![], drift: vec![] }
}

fn create(name: &str) -> TopicPlan {
    topic(
        name,
        Action::Create,
        vec![Change::CreateTopic { partitions: 3, replication_factor: Some(1), config: BTreeMap::new() }],
    )
}

fn plan(topics: Vec<TopicPlan>) -> Plan {
    Plan {
        format_version: 1,
        environment: "test".into(),
        cluster_type: "kafka".into(),
        cluster_id: None,
        state_fingerprint: String::new(),
        options: PlanOptions { allow_delete: true, prune_config: true },
        summary: Summary::default(),
        topics,
        unmanaged: vec![],
        notes: vec![],
    }
}

/// One topic of each kind of change, and one that changes nothing.
fn every_kind() -> Plan {
    plan(vec![
        topic(
            "grown",
            Action::Update,
            vec![
                Change::AddPartitions { from: 3, to: 6 },
                Change::SetConfig { key: "retention.ms".into(), current: None, desired: "1000".into() },
                Change::DeleteConfig { key: "segment.ms".into(), current: "1".into() },
            ],
        ),
        create("new.a"),
        create("new.b"),
        create("new.c"),
        topic("old", Action::Delete, vec![Change::DeleteTopic]),
        topic("same", Action::Unchanged, vec![]),
    ])
}

async fn run(backend: &Recorder, plan: &Plan) -> Result<ApplyReport> {
    apply(backend, plan, &NoProgress).await
}

#[tokio::test]
async fn steps_run_in_order_in_batches_and_deletes_last() {
    let backend = Recorder { batch: 2, ..Recorder::default() };
    let report = run(&backend, &every_kind()).await.unwrap();
    assert_eq!(
        backend.calls(),
        [
            "prepare",
            "create new.a,new.b",
            "create new.c",
            "settle creating topics new.a=3,new.b=3,new.c=3",
            "partitions grown",
            "settle adding partitions grown=6",
            "configs grown",
            "settle altering configs grown=0",
            "delete old",
            "settle deleting topics old=0",
        ]
    );
    let lines: Vec<(String, String, Status)> =
        report.outcomes.iter().map(|o| (o.topic.clone(), o.change.clone(), o.status.clone())).collect();
    assert_eq!(
        lines,
        [
            ("new.a".into(), "create".into(), Status::Applied),
            ("new.b".into(), "create".into(), Status::Applied),
            ("new.c".into(), "create".into(), Status::Applied),
            ("grown".into(), "add partitions 3 → 6".into(), Status::Applied),
            ("grown".into(), "set retention.ms, reset segment.ms to the default".into(), Status::Applied),
            ("old".into(), "delete".into(), Status::Applied),
        ]
    );
    assert!(report.is_complete());
}

#[tokio::test]
async fn a_failed_change_skips_every_delete_and_says_so() {
    let backend = Recorder { batch: 10, failing: ["new.b".to_owned()].into(), ..Recorder::default() };
    let report = run(&backend, &every_kind()).await.unwrap();
    assert!(!backend.calls().iter().any(|c| c.starts_with("delete")), "{:?}", backend.calls());
    let old = report.outcomes.iter().find(|o| o.topic == "old").unwrap();
    assert_eq!(old.change, "delete");
    assert!(
        matches!(&old.status, Status::Skipped { reason } if reason.contains("1 earlier change(s) failed")),
        "{old:?}"
    );
    let failed = report.outcomes.iter().find(|o| o.topic == "new.b").unwrap();
    assert_eq!(failed.status, Status::Failed { error: "broker says no to new.b".into() });
    assert_eq!((report.applied(), report.failed(), report.skipped()), (4, 1, 1));
    // Only what landed is waited for.
    assert!(backend.calls().contains(&"settle creating topics new.a=3,new.c=3".to_owned()), "{:?}", backend.calls());
}

#[tokio::test]
async fn a_topic_without_an_answer_is_a_failure_not_a_success() {
    let backend = Recorder { batch: 10, silent: ["new.c".to_owned()].into(), ..Recorder::default() };
    let report = run(&backend, &every_kind()).await.unwrap();
    let c = report.outcomes.iter().find(|o| o.topic == "new.c").unwrap();
    assert!(matches!(&c.status, Status::Failed { error } if error.contains("no answer")), "{c:?}");
    assert_eq!(report.skipped(), 1, "the delete waits for a clean apply");
}

#[tokio::test]
async fn an_internal_topic_in_a_plan_refuses_it_before_anything_is_sent() {
    let mut p = every_kind();
    p.topics.push(topic("__consumer_offsets", Action::Delete, vec![Change::DeleteTopic]));
    let backend = Recorder { batch: 10, ..Recorder::default() };
    let err = run(&backend, &p).await.unwrap_err().to_string();
    assert!(err.contains("`__consumer_offsets`") && err.contains("nothing was changed"), "{err}");
    assert!(backend.calls().is_empty(), "{:?}", backend.calls());
}

#[tokio::test]
async fn a_refusal_in_prepare_sends_nothing() {
    let backend = Recorder { batch: 10, refuse_in_prepare: true, ..Recorder::default() };
    assert!(run(&backend, &every_kind()).await.is_err());
    assert_eq!(backend.calls(), ["prepare"]);
}

#[tokio::test]
async fn a_plan_without_changes_sends_nothing_but_prepare() {
    let backend = Recorder { batch: 10, ..Recorder::default() };
    let report = run(&backend, &plan(vec![topic("same", Action::Unchanged, vec![])])).await.unwrap();
    assert!(report.outcomes.is_empty());
    assert_eq!(backend.calls(), ["prepare"]);
}
