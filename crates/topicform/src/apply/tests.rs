//! The engine's rules, against a backend that records what it is asked and
//! answers from a script. What the real backends do with the primitives is
//! tested against a real broker and the ARM contract server (tests/).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use topicform_core::plan::{
    Action, Capabilities, ClusterState, ObservedConfig, ObservedTopic, Plan, PlanOptions, Summary, TopicPlan,
};

use super::*;
use crate::backend::Scope;

/// Records every call; fails the topics in `failing`, forgets to answer
/// for the topics in `silent`; `observe` shows `observed`. With
/// `interrupt_on_write`, the first write raises SIGTERM (and with `hang`,
/// never answers).
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
    failing: BTreeSet<String>,
    silent: BTreeSet<String>,
    refuse_in_prepare: bool,
    batch: usize,
    observed: ClusterState,
    interrupt_on_write: Option<Interrupt>,
    hang: bool,
}

impl Recorder {
    async fn answer(&self, call: &str, topics: Vec<String>) -> Vec<WriteResult> {
        self.calls.lock().unwrap().push(format!("{call} {}", topics.join(",")));
        if let Some(interrupt) = &self.interrupt_on_write {
            interrupt.raise(Signal::Terminate);
            if self.hang {
                std::future::pending::<()>().await;
            }
        }
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
    async fn observe(&self, scope: &Scope) -> Result<ClusterState> {
        let topics: Vec<&String> = scope.topics.iter().flatten().collect();
        let keys: Vec<&String> = scope.config_keys.iter().collect();
        self.calls.lock().unwrap().push(format!(
            "observe {} keys {}",
            topics.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(","),
            keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")
        ));
        Ok(self.observed.clone())
    }
    async fn prepare(&self, _: &Plan) -> Result<()> {
        self.calls.lock().unwrap().push("prepare".into());
        if self.refuse_in_prepare {
            return Err(Error::EventHubsLimits { env: "e".into(), namespace: "n".into(), problems: "x".into() });
        }
        Ok(())
    }
    async fn create_topics(&self, batch: &[NewTopic]) -> Vec<WriteResult> {
        self.answer("create", batch.iter().map(|t| t.name.clone()).collect()).await
    }
    async fn add_partitions(&self, batch: &[PartitionIncrease]) -> Vec<WriteResult> {
        self.answer("partitions", batch.iter().map(|p| p.topic.clone()).collect()).await
    }
    async fn alter_configs(&self, batch: &[ConfigAlteration]) -> Vec<WriteResult> {
        self.answer("configs", batch.iter().map(|a| a.topic.clone()).collect()).await
    }
    async fn delete_topics(&self, batch: &[String]) -> Vec<WriteResult> {
        self.answer("delete", batch.to_vec()).await
    }
    async fn settle(&self, step: Step, landed: &BTreeMap<String, u32>) -> Result<()> {
        let topics: Vec<String> = landed.iter().map(|(t, p)| format!("{t}={p}")).collect();
        self.calls.lock().unwrap().push(format!("settle {} {}", step.label(), topics.join(",")));
        Ok(())
    }
}

fn topic(name: &str, action: Action, changes: Vec<Change>) -> TopicPlan {
    TopicPlan { topic: name.into(), owner: None, action, changes, reasons: vec![], warnings: vec![], drift: vec![] }
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
        foreign: vec![],
        owns: vec![],
        orphaned: Default::default(),
        conflicts: vec![],
        access: None,
        notes: vec![],
        warnings: vec![],
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
    apply(backend, plan, &NoProgress, &Interrupt::default()).await
}

fn observed(name: &str, partitions: u32, config: &[(&str, &str, bool)]) -> ObservedTopic {
    ObservedTopic {
        name: name.into(),
        partitions,
        replication_factor: Some(1),
        config: config
            .iter()
            .map(|(k, v, is_override)| ((*k).into(), ObservedConfig { value: (*v).into(), is_override: *is_override }))
            .collect(),
    }
}

fn state(topics: Vec<ObservedTopic>) -> ClusterState {
    ClusterState {
        cluster_id: None,
        broker_count: 1,
        topics: topics.into_iter().map(|t| (t.name.clone(), t)).collect(),
        grants: None,
    }
}

#[tokio::test(start_paused = true)]
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

#[tokio::test(start_paused = true)]
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

#[tokio::test(start_paused = true)]
async fn a_topic_without_an_answer_is_a_failure_not_a_success() {
    let backend = Recorder { batch: 10, silent: ["new.c".to_owned()].into(), ..Recorder::default() };
    let report = run(&backend, &every_kind()).await.unwrap();
    let c = report.outcomes.iter().find(|o| o.topic == "new.c").unwrap();
    assert!(matches!(&c.status, Status::Failed { error } if error.contains("no answer")), "{c:?}");
    assert_eq!(report.skipped(), 1, "the delete waits for a clean apply");
}

#[tokio::test(start_paused = true)]
async fn an_internal_topic_in_a_plan_refuses_it_before_anything_is_sent() {
    let mut p = every_kind();
    p.topics.push(topic("__consumer_offsets", Action::Delete, vec![Change::DeleteTopic]));
    let backend = Recorder { batch: 10, ..Recorder::default() };
    let err = run(&backend, &p).await.unwrap_err().to_string();
    assert!(err.contains("`__consumer_offsets`") && err.contains("nothing was changed"), "{err}");
    assert!(backend.calls().is_empty(), "{:?}", backend.calls());
}

#[tokio::test(start_paused = true)]
async fn a_plan_changing_a_topic_outside_what_it_owns_is_refused_before_anything_is_sent() {
    let mut p = plan(vec![
        topic("orders.old", Action::Delete, vec![Change::DeleteTopic]),
        topic("payments.done", Action::Delete, vec![Change::DeleteTopic]),
    ]);
    p.owns = vec!["orders.*".into()];
    let backend = Recorder { batch: 10, ..Recorder::default() };
    let err = run(&backend, &p).await.unwrap_err().to_string();
    assert!(err.contains("`payments.done` outside what the environment owns (owns: [orders.*])"), "{err}");
    assert!(!err.contains("orders.old"), "{err}");
    assert!(backend.calls().is_empty(), "{:?}", backend.calls());
}

#[tokio::test(start_paused = true)]
async fn a_refusal_in_prepare_sends_nothing() {
    let backend = Recorder { batch: 10, refuse_in_prepare: true, ..Recorder::default() };
    assert!(run(&backend, &every_kind()).await.is_err());
    assert_eq!(backend.calls(), ["prepare"]);
}

#[tokio::test(start_paused = true)]
async fn a_plan_without_changes_sends_nothing_but_prepare() {
    let backend = Recorder { batch: 10, ..Recorder::default() };
    let report = run(&backend, &plan(vec![topic("same", Action::Unchanged, vec![])])).await.unwrap();
    assert!(report.outcomes.is_empty());
    assert_eq!(backend.calls(), ["prepare"]);
}

#[tokio::test(start_paused = true)]
async fn a_refused_write_whose_effect_is_already_there_counts_as_applied() {
    // An interrupted earlier apply created `new.b` and set retention.ms on
    // `grown` after this plan was made; segment.ms is still overridden.
    let backend = Recorder {
        batch: 10,
        failing: ["new.b".to_owned(), "grown".to_owned()].into(),
        observed: state(vec![
            observed("new.b", 3, &[]),
            observed("grown", 6, &[("retention.ms", "1000", true), ("segment.ms", "1", true)]),
        ]),
        ..Recorder::default()
    };
    let report = run(&backend, &every_kind()).await.unwrap();
    let status = |topic: &str, change: &str| {
        report.outcomes.iter().find(|o| o.topic == topic && o.change.starts_with(change)).unwrap().status.clone()
    };
    assert_eq!(status("new.b", "create"), Status::Applied);
    assert_eq!(status("grown", "add partitions"), Status::Applied);
    assert!(matches!(status("grown", "set"), Status::Failed { .. }), "segment.ms is still set");
    assert!(backend.calls().contains(&"observe new.b keys ".to_owned()), "{:?}", backend.calls());
    assert!(
        backend.calls().contains(&"observe grown keys retention.ms,segment.ms".to_owned()),
        "{:?}",
        backend.calls()
    );
    assert_eq!(report.skipped(), 1, "one change really failed, so the delete waits");
}

#[tokio::test(start_paused = true)]
async fn a_refused_create_of_a_topic_that_differs_stays_a_failure() {
    let backend = Recorder {
        batch: 10,
        failing: ["new.a".to_owned()].into(),
        observed: state(vec![observed("new.a", 1, &[])]),
        ..Recorder::default()
    };
    let report = run(&backend, &every_kind()).await.unwrap();
    let a = report.outcomes.iter().find(|o| o.topic == "new.a").unwrap();
    assert_eq!(a.status, Status::Failed { error: "broker says no to new.a".into() });
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_stops_new_batches_and_reports_the_rest_as_not_sent() {
    let interrupt = Interrupt::default();
    let backend = Recorder { batch: 2, interrupt_on_write: Some(interrupt.clone()), ..Recorder::default() };
    let report = apply(&backend, &every_kind(), &NoProgress, &interrupt).await.unwrap();
    assert_eq!(backend.calls(), ["prepare", "create new.a,new.b"], "nothing after the batch in flight");
    let lines: Vec<(String, Status)> = report.outcomes.iter().map(|o| (o.topic.clone(), o.status.clone())).collect();
    let unsent = || Status::Skipped { reason: "not sent: interrupted by SIGTERM".into() };
    assert_eq!(
        lines,
        [
            ("new.a".into(), Status::Applied),
            ("new.b".into(), Status::Applied),
            ("new.c".into(), unsent()),
            ("grown".into(), unsent()),
            ("grown".into(), unsent()),
            ("old".into(), unsent()),
        ]
    );
    assert_eq!(report.interrupted.as_deref(), Some("SIGTERM"));
}

#[tokio::test(start_paused = true)]
async fn a_batch_in_flight_gets_a_bounded_grace_after_an_interrupt() {
    let interrupt = Interrupt::default();
    let backend = Recorder { batch: 2, interrupt_on_write: Some(interrupt.clone()), hang: true, ..Recorder::default() };
    let started = tokio::time::Instant::now();
    let report = apply(&backend, &every_kind(), &NoProgress, &interrupt).await.unwrap();
    assert_eq!(started.elapsed(), IN_FLIGHT_GRACE);
    let a = report.outcomes.iter().find(|o| o.topic == "new.a").unwrap();
    assert!(
        matches!(&a.status, Status::Failed { error } if error.contains("no answer within 10 s of SIGTERM")),
        "{a:?}"
    );
    assert_eq!((report.failed(), report.skipped()), (2, 4));
}

#[test]
fn a_second_raise_keeps_the_first_signal() {
    let interrupt = Interrupt::default();
    assert!(interrupt.raise(Signal::Interrupt));
    assert!(!interrupt.raise(Signal::Terminate));
    assert_eq!(interrupt.signal(), Some(Signal::Interrupt));
    assert_eq!((Signal::Interrupt.exit_code(), Signal::Terminate.exit_code()), (130, 143));
}

#[test]
fn batches_are_cut_by_count_and_by_the_records_a_request_creates() {
    let topic = |name: &str, partitions: u32| NewTopic {
        name: name.into(),
        partitions,
        replication_factor: None,
        config: [("retention.ms".to_owned(), "1".to_owned())].into(),
    };
    // 1 + partitions + 1 config records each: 12, 12, 102, 12.
    let items = vec![topic("a", 10), topic("b", 10), topic("c", 100), topic("d", 10)];
    let names = |batches: Vec<&[NewTopic]>| -> Vec<Vec<String>> {
        batches.iter().map(|b| b.iter().map(|t| t.name.clone()).collect()).collect()
    };
    assert_eq!(names(super::batches(&items, 1_000, None)), [vec!["a", "b", "c", "d"]]);
    assert_eq!(names(super::batches(&items, 3, None)), [vec!["a", "b", "c"], vec!["d"]]);
    assert_eq!(names(super::batches(&items, 1_000, Some(30))), [vec!["a", "b"], vec!["c"], vec!["d"]]);
    // One item over the bound goes alone (the cluster then says why).
    assert_eq!(names(super::batches(&items, 1_000, Some(12))), [vec!["a"], vec!["b"], vec!["c"], vec!["d"]]);
    assert!(super::batches::<NewTopic>(&[], 10, Some(5)).is_empty());
}
