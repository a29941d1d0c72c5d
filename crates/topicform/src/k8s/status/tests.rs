//! What a run says in its status and Event; writing them is tested against
//! the real kube-apiserver (tests/kubernetes.rs).

use topicform_core::plan::{Action, Plan, PlanOptions, Summary, TopicPlan};

use super::*;
use crate::apply::{ApplyReport, Outcome, Status};

fn topic(name: &str, action: Action, reasons: &[&str]) -> TopicPlan {
    TopicPlan {
        owner: None,
        topic: name.into(),
        action,
        changes: vec![],
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
        warnings: vec![],
        drift: vec![],
    }
}

fn plan(topics: Vec<TopicPlan>) -> Plan {
    let count = |a: Action| topics.iter().filter(|t| t.action == a).count();
    let summary = Summary {
        create: count(Action::Create),
        update: count(Action::Update),
        delete: count(Action::Delete),
        unchanged: count(Action::Unchanged),
        refused: count(Action::Refused),
        unmanaged: 0,
        conflicts: 0,
        foreign: 0,
    };
    Plan {
        format_version: 1,
        environment: "dev".into(),
        cluster_type: "kafka".into(),
        cluster_id: Some("abc".into()),
        state_fingerprint: String::new(),
        options: PlanOptions::default(),
        summary,
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

fn report(outcomes: &[(&str, Status)]) -> ApplyReport {
    ApplyReport {
        outcomes: outcomes
            .iter()
            .map(|(t, s)| Outcome { topic: (*t).into(), change: "create".into(), status: s.clone() })
            .collect(),
        interrupted: None,
    }
}

#[test]
fn an_apply_says_what_it_changed() {
    let p = plan(vec![
        topic("a", Action::Create, &[]),
        topic("b", Action::Create, &[]),
        topic("c", Action::Update, &[]),
        topic("d", Action::Unchanged, &[]),
    ]);
    let outcome =
        RunOutcome::applied(&p, &report(&[("a", Status::Applied), ("b", Status::Applied), ("c", Status::Applied)]));
    assert_eq!(outcome.reason, Reason::Applied);
    assert!(outcome.reason.is_ready());
    assert_eq!(outcome.message, "2 created, 1 updated");
    assert_eq!(outcome.cluster_id.as_deref(), Some("abc"));
    assert_eq!(
        outcome.plan.as_deref(),
        Some("2 to create, 1 to update, 0 to delete, 1 unchanged, 0 refused, 0 unmanaged")
    );
}

#[test]
fn a_failed_change_is_a_kafka_error_naming_the_topic() {
    let p = plan(vec![topic("a", Action::Create, &[]), topic("b", Action::Create, &[])]);
    let failed = Status::Failed { error: "Broker: Policy violation".into() };
    let outcome = RunOutcome::applied(&p, &report(&[("a", Status::Applied), ("b", failed)]));
    assert_eq!(outcome.reason, Reason::KafkaError);
    assert!(!outcome.reason.is_ready());
    assert_eq!(outcome.message, "1 of 2 change(s) failed: b (create): Broker: Policy violation");
}

#[test]
fn a_plan_is_in_sync_drift_or_refused() {
    let in_sync = RunOutcome::planned(&plan(vec![topic("a", Action::Unchanged, &[])]));
    assert_eq!((in_sync.reason, in_sync.message.as_str()), (Reason::InSync, "in sync: 1 topic(s)"));

    let drift = RunOutcome::planned(&plan(vec![topic("a", Action::Create, &[]), topic("b", Action::Update, &[])]));
    assert_eq!((drift.reason, drift.message.as_str()), (Reason::Drift, "2 change(s) not applied: create a; update b"));

    let refused = RunOutcome::planned(&plan(vec![
        topic("orders.placed", Action::Refused, &["partitions cannot decrease (6 → 3)"]),
        topic("b", Action::Create, &[]),
    ]));
    assert_eq!(refused.reason, Reason::Refused);
    assert_eq!(refused.message, "1 refused: orders.placed: partitions cannot decrease (6 → 3)");
}

#[test]
fn long_lists_are_cut_after_five_names() {
    let many: Vec<TopicPlan> = (0..8).map(|i| topic(&format!("t{i}"), Action::Create, &[])).collect();
    let drift = RunOutcome::planned(&plan(many));
    assert!(drift.message.ends_with("create t4; and 3 more"), "{}", drift.message);
}

#[test]
fn status_targets_parse() {
    assert_eq!("auto".parse(), Ok(StatusChoice::Auto));
    assert_eq!("none".parse(), Ok(StatusChoice::None));
    assert_eq!("kubernetes".parse(), Ok(StatusChoice::Kubernetes { namespace: None }));
    assert_eq!("kubernetes:platform".parse(), Ok(StatusChoice::Kubernetes { namespace: Some("platform".into()) }));
    assert!("kubernetes:platform/x".parse::<StatusChoice>().unwrap_err().contains("namespace only"));
    assert!("kubernetes:Bad".parse::<StatusChoice>().unwrap_err().contains("not a Kubernetes namespace"));
    assert!("configmap".parse::<StatusChoice>().is_err());
}

#[test]
fn labels_and_notes_fit_what_the_api_accepts() {
    assert_eq!(label_value("prod"), "prod");
    assert_eq!(label_value("_eu west/1_"), "eu-west-1");
    assert_eq!(label_value(&"x".repeat(80)).len(), 63);
    let cut = truncate(&"é".repeat(600), 1000);
    assert!(cut.len() <= 1000 && cut.ends_with("..."), "{}", cut.len());
    assert_eq!(truncate("short", 1000), "short");
    assert_eq!(object_name("dev"), "topicform-status-dev");
    assert!(digest("version: 1\n").starts_with("sha256:"));
}

#[test]
fn a_refused_contribution_is_a_resource_conflict_after_the_rest_and_owners_are_kept() {
    let mut p = plan(vec![
        TopicPlan { owner: Some("ConfigMap shop/a".into()), ..topic("a", Action::Create, &[]) },
        topic("b", Action::Unchanged, &[]),
    ]);
    p.conflicts.push(Conflict {
        topic: "a".into(),
        kept: "ConfigMap shop/a".into(),
        refused: "ConfigMap shop/b".into(),
        differences: vec!["partitions: 3 vs 6".into()],
    });
    let report = report(&[("a", Status::Applied)]);
    let outcome = RunOutcome::applied(&p, &report);
    assert_eq!(outcome.reason, Reason::ResourceConflict);
    assert!(!outcome.reason.is_ready());
    assert!(
        outcome.message.starts_with("1 declaration(s) refused: ConfigMap shop/b declares `a` differently")
            && outcome.message.ends_with("; otherwise 1 created"),
        "{}",
        outcome.message
    );
    assert_eq!(outcome.owners.unwrap()["a"], "ConfigMap shop/a");
    // A refusal or a failure says more than the conflict.
    p.topics[1] = topic("b", Action::Refused, &["partitions cannot decrease"]);
    p.summary.refused = 1;
    assert_eq!(RunOutcome::planned(&p).reason, Reason::Refused);
}

#[test]
fn an_apply_that_only_grants_says_so() {
    use topicform_core::access::{Acl, Grant, Operation, PatternType, ResourceType};
    use topicform_core::plan::{AccessPlan, AccessSummary, GrantPlan};
    let mut p = plan(vec![topic("a", Action::Unchanged, &[])]);
    let acl = Grant::Acl(Acl::allow("User:orders", Operation::Write, (ResourceType::Topic, PatternType::Literal, "a")));
    p.access = Some(AccessPlan {
        summary: AccessSummary { create: 1, ..Default::default() },
        grants: vec![GrantPlan { service: Some("orders".into()), action: Action::Create, grant: acl.clone() }],
        unmanaged: vec![],
    });
    let outcome = RunOutcome::applied(&p, &report(&[(&acl.to_string(), Status::Applied)]));
    assert_eq!(outcome.reason, Reason::Applied);
    assert_eq!(outcome.message, "1 ACL(s) created");
}
