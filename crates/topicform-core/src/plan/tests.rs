//! Unit tests of the pure plan engine: every action and refusal, without a
//! broker.

use std::collections::BTreeMap;

use super::*;
use crate::spec::model::{Cluster, KafkaCluster};

fn env(topics: Vec<DesiredTopic>, prune: bool) -> ResolvedEnvironment {
    ResolvedEnvironment {
        name: "test".into(),
        cluster: Cluster::Kafka(KafkaCluster {
            bootstrap_servers: vec!["localhost:9092".into()],
            tls: None,
            sasl: None,
            client_config: Default::default(),
        }),
        prune,
        prune_acls: false,
        owns: Default::default(),
        cluster_id: None,
        lock: None,
        topics,
        conflicts: vec![],
        former_owners: Default::default(),
        services: Vec::new(),
    }
}

fn desired(name: &str, partitions: u32, rf: u16, config: &[(&str, &str)]) -> DesiredTopic {
    DesiredTopic {
        name: name.into(),
        partitions,
        replication_factor: Some(rf),
        config: config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        owner: None,
    }
}

fn observed(name: &str, partitions: u32, rf: u16, config: &[(&str, &str, bool)]) -> ObservedTopic {
    ObservedTopic {
        name: name.into(),
        partitions,
        replication_factor: Some(rf),
        config: config
            .iter()
            .map(|(k, v, o)| (k.to_string(), ObservedConfig { value: v.to_string(), is_override: *o }))
            .collect(),
    }
}

fn state(topics: Vec<ObservedTopic>) -> ClusterState {
    ClusterState {
        cluster_id: Some("c1".into()),
        broker_count: 3,
        topics: topics.into_iter().map(|t| (t.name.clone(), t)).collect::<BTreeMap<_, _>>(),
        grants: None,
    }
}

fn plan_of(e: &ResolvedEnvironment, s: &ClusterState, o: PlanOptions) -> Plan {
    plan(e, s, &Capabilities::kafka(), o)
}

#[test]
fn missing_topic_is_created_with_its_configs() {
    let e = env(vec![desired("a", 3, 2, &[("retention.ms", "86400000")])], false);
    let p = plan_of(&e, &state(vec![]), PlanOptions::default());
    assert_eq!(p.summary.create, 1);
    assert_eq!(
        p.topics[0].changes,
        vec![Change::CreateTopic {
            partitions: 3,
            replication_factor: Some(2),
            config: BTreeMap::from([("retention.ms".into(), "86400000".into())]),
        }]
    );
    assert!(p.has_changes());
}

#[test]
fn identical_topic_is_unchanged_and_defaults_are_not_drift() {
    let e = env(vec![desired("a", 3, 2, &[("cleanup.policy", "delete")])], false);
    // The broker reports cleanup.policy=delete as its default, plus other defaults.
    let s =
        state(vec![observed("a", 3, 2, &[("cleanup.policy", "delete", false), ("segment.ms", "604800000", false)])]);
    let p = plan_of(&e, &s, PlanOptions::default());
    assert_eq!(p.topics[0].action, Action::Unchanged);
    assert!(p.topics[0].drift.is_empty());
    assert!(!p.has_changes());
}

#[test]
fn values_compare_after_normalisation() {
    let e =
        env(vec![desired("a", 3, 2, &[("retention.ms", "604800000"), ("cleanup.policy", "compact,delete")])], false);
    let s = state(vec![observed(
        "a",
        3,
        2,
        &[("retention.ms", "604800000", true), ("cleanup.policy", "delete,compact", true)],
    )]);
    assert_eq!(plan_of(&e, &s, PlanOptions::default()).topics[0].action, Action::Unchanged);
}

#[test]
fn partitions_grow_and_configs_change_in_one_update() {
    let e = env(vec![desired("a", 6, 2, &[("retention.ms", "3600000")])], false);
    let s = state(vec![observed("a", 3, 2, &[("retention.ms", "604800000", false)])]);
    let p = plan_of(&e, &s, PlanOptions::default());
    let t = &p.topics[0];
    assert_eq!(t.action, Action::Update);
    assert_eq!(
        t.changes,
        vec![
            Change::AddPartitions { from: 3, to: 6 },
            Change::SetConfig {
                key: "retention.ms".into(),
                current: Some("604800000".into()),
                desired: "3600000".into()
            },
        ]
    );
    assert!(t.warnings[0].contains("partition a key maps to"));
}

#[test]
fn partition_decrease_is_refused_with_the_way_out() {
    let e = env(vec![desired("a", 3, 2, &[])], false);
    let p = plan_of(&e, &state(vec![observed("a", 6, 2, &[])]), PlanOptions::default());
    assert_eq!(p.topics[0].action, Action::Refused);
    assert!(p.topics[0].reasons[0].contains("partitions cannot decrease (6 on the cluster, 3 in the spec)"));
    assert!(p.has_refusals());
}

#[test]
fn replication_change_is_refused_naming_the_manual_procedure() {
    let e = env(vec![desired("a", 3, 3, &[])], false);
    let p = plan_of(&e, &state(vec![observed("a", 3, 1, &[])]), PlanOptions::default());
    assert_eq!(p.topics[0].action, Action::Refused);
    assert!(p.topics[0].reasons[0].contains("kafka-reassign-partitions.sh"));
}

#[test]
fn create_with_more_replicas_than_brokers_is_refused() {
    let e = env(vec![desired("a", 3, 5, &[])], false);
    let p = plan_of(&e, &state(vec![]), PlanOptions::default());
    assert_eq!(p.topics[0].action, Action::Refused);
    assert!(p.topics[0].reasons[0].contains("needs at least 5 brokers, but the cluster has 3"));
}

#[test]
fn unmanaged_override_is_drift_unless_pruned() {
    let e = env(vec![desired("a", 3, 2, &[])], false);
    let s = state(vec![observed("a", 3, 2, &[("segment.bytes", "1048576", true)])]);
    let kept = plan_of(&e, &s, PlanOptions::default());
    assert_eq!(kept.topics[0].action, Action::Unchanged);
    assert_eq!(kept.topics[0].drift, vec![Drift { key: "segment.bytes".into(), value: "1048576".into() }]);

    let pruned = plan_of(&e, &s, PlanOptions { prune_config: true, ..Default::default() });
    assert_eq!(pruned.topics[0].action, Action::Update);
    assert_eq!(
        pruned.topics[0].changes,
        vec![Change::DeleteConfig { key: "segment.bytes".into(), current: "1048576".into() }]
    );
}

#[test]
fn unmanaged_topics_are_deleted_only_with_prune_and_allow_delete() {
    let s = state(vec![observed("old", 1, 1, &[])]);
    let cases = [(false, false, 0), (true, false, 0), (false, true, 0), (true, true, 1)];
    for (prune, allow_delete, deletes) in cases {
        let p = plan_of(&env(vec![], prune), &s, PlanOptions { allow_delete, ..Default::default() });
        assert_eq!(p.summary.delete, deletes, "prune={prune} allow_delete={allow_delete}");
        assert_eq!(p.unmanaged.len(), 1 - deletes, "prune={prune} allow_delete={allow_delete}");
    }
    let not_pruned = plan_of(&env(vec![], false), &s, PlanOptions { allow_delete: true, ..Default::default() });
    assert!(not_pruned.notes.iter().any(|n| n.contains("has no effect")));
}

#[test]
fn foreign_topics_are_listed_and_never_deleted_whatever_the_flags() {
    use crate::spec::ownership::Ownership;
    let s = state(vec![observed("orders.old", 1, 1, &[]), observed("payments.done", 1, 1, &[])]);
    let mut e = env(vec![desired("orders.placed", 1, 1, &[])], true);
    e.owns = Ownership::new(&["orders.*".to_owned()]);
    let p = plan_of(&e, &s, PlanOptions { allow_delete: true, prune_config: true });
    let deleted: Vec<&str> = p.topics.iter().filter(|t| t.action == Action::Delete).map(|t| t.topic.as_str()).collect();
    assert_eq!(deleted, ["orders.old"], "inside the scope, prune still works");
    assert_eq!(p.foreign, ["payments.done"]);
    assert_eq!((p.summary.foreign, p.summary.unmanaged), (1, 0));
    assert_eq!(p.owns, ["orders.*"]);
    assert!(
        p.notes.iter().any(
            |n| n == "1 foreign topic(s) outside what environment `test` owns (owns: [orders.*]) are never changed"
        ),
        "{:?}",
        p.notes
    );
}

#[test]
fn internal_topics_are_never_listed_or_deleted() {
    let s = state(vec![
        observed("__consumer_offsets", 50, 1, &[]),
        observed("_schemas", 1, 1, &[]),
        observed("_confluent-metrics", 1, 1, &[]),
    ]);
    let p = plan_of(&env(vec![], true), &s, PlanOptions { allow_delete: true, prune_config: true });
    assert!(p.topics.is_empty());
    assert!(p.unmanaged.is_empty());
}

#[test]
fn immutable_keys_and_fixed_partitions_are_refused_where_the_backend_says_so() {
    let caps = Capabilities {
        can_add_partitions: false,
        manages_replication: true,
        immutable_config_keys: vec!["cleanup.policy".into()],
    };
    let mut d = desired("a", 4, 3, &[("cleanup.policy", "compact")]);
    d.replication_factor = None;
    let mut o = observed("a", 2, 0, &[("cleanup.policy", "delete", true)]);
    o.replication_factor = None;
    let p = plan(&env(vec![d], false), &state(vec![o]), &caps, PlanOptions::default());
    assert_eq!(p.topics[0].action, Action::Refused);
    assert_eq!(p.topics[0].reasons.len(), 2);
}

#[test]
fn fingerprint_changes_with_the_cluster_but_not_with_defaults() {
    let a = state(vec![observed("a", 3, 1, &[("retention.ms", "1", false)])]);
    let b = state(vec![observed("a", 3, 1, &[("retention.ms", "2", false)])]);
    let c = state(vec![observed("a", 4, 1, &[])]);
    let d = state(vec![observed("a", 3, 1, &[("retention.ms", "1", true)])]);
    let fp = |s: &ClusterState| s.fingerprint(["a", "missing"]);
    assert_eq!(fp(&a), fp(&b));
    assert_ne!(fp(&a), fp(&c));
    assert_ne!(fp(&a), fp(&d));
    // Topics outside the plan do not matter; a topic appearing does.
    let mut e = a.clone();
    e.topics.insert("other".into(), observed("other", 1, 1, &[]));
    assert_eq!(fp(&a), fp(&e));
    e.topics.insert("missing".into(), observed("missing", 1, 1, &[]));
    assert_ne!(fp(&a), fp(&e));
}

#[test]
fn plan_json_round_trips_with_format_version() {
    let e = env(vec![desired("a", 3, 2, &[("retention.ms", "1000")])], false);
    let p = plan_of(&e, &state(vec![observed("b", 1, 1, &[])]), PlanOptions::default());
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.starts_with("{\"formatVersion\":1"));
    assert_eq!(serde_json::from_str::<Plan>(&json).unwrap(), p);
}

#[test]
fn a_create_that_collides_with_an_existing_topic_on_dot_and_underscore_is_refused() {
    let e = env(vec![desired("orders_v1", 1, 1, &[]), desired("orders-v2", 1, 1, &[])], false);
    let s = state(vec![observed("orders.v1", 1, 1, &[]), observed("orders_v2", 1, 1, &[])]);
    let p = plan_of(&e, &s, PlanOptions::default());
    let collided = &p.topics[0];
    assert_eq!(collided.action, Action::Refused);
    assert!(collided.reasons[0].contains("`orders_v1` collides with `orders.v1` on the cluster"), "{collided:?}");
    assert_eq!(p.topics[1].action, Action::Create, "`-` is not `_`");
    assert_eq!(p.summary.refused, 1);
}

#[test]
fn what_the_cluster_would_refuse_refuses_the_topic_and_recounts() {
    let e = env(vec![desired("a", 1, 1, &[]), desired("b", 1, 1, &[("segment.bytes", "100")])], false);
    let mut p = plan_of(&e, &state(vec![]), PlanOptions::default());
    assert_eq!((p.summary.create, p.summary.refused), (2, 0));
    p.refuse([("b".to_owned(), "Value must be at least 1048576".to_owned())]);
    assert_eq!(p.topics[1].action, Action::Refused);
    assert_eq!(p.topics[1].reasons, ["the cluster would refuse it: Value must be at least 1048576"]);
    assert_eq!((p.summary.create, p.summary.refused), (1, 1));
    assert!(p.has_refusals());
}

#[test]
fn pruning_an_override_of_an_immutable_key_is_refused_not_planned() {
    let caps = Capabilities {
        can_add_partitions: false,
        manages_replication: true,
        immutable_config_keys: vec!["cleanup.policy".into()],
    };
    let e = env(vec![desired("a", 1, 1, &[])], false);
    let s = state(vec![observed("a", 1, 1, &[("cleanup.policy", "compact", true)])]);
    let p = plan(&e, &s, &caps, PlanOptions { prune_config: true, ..PlanOptions::default() });
    assert_eq!(p.topics[0].action, Action::Refused, "{:?}", p.topics[0]);
    assert!(p.topics[0].reasons[0].contains("its override (compact) cannot be removed"), "{:?}", p.topics[0]);
    assert!(p.topics[0].changes.is_empty());
}

#[test]
fn contributed_topics_carry_their_owner_and_an_orphan_is_left_alone_unless_pruned() {
    let mut e =
        env(vec![DesiredTopic { owner: Some("ConfigMap shop/orders".into()), ..desired("orders", 3, 1, &[]) }], false);
    e.former_owners.insert("payments".into(), "ConfigMap shop/payments".into());
    let s = state(vec![observed("payments", 3, 1, &[]), observed("legacy", 1, 1, &[])]);
    let p = plan_of(&e, &s, PlanOptions::default());
    assert_eq!(p.topics[0].owner.as_deref(), Some("ConfigMap shop/orders"));
    assert_eq!(p.unmanaged, ["legacy", "payments"]);
    assert_eq!(p.orphaned, BTreeMap::from([("payments".to_owned(), "ConfigMap shop/payments".to_owned())]));
    // Remembered: the contributed topic, and the orphan while it exists.
    assert_eq!(
        p.owners(),
        BTreeMap::from([
            ("orders".to_owned(), "ConfigMap shop/orders".to_owned()),
            ("payments".to_owned(), "ConfigMap shop/payments".to_owned())
        ])
    );
    // The same opt-ins as any unmanaged topic delete it.
    e.prune = true;
    let p = plan_of(&e, &s, PlanOptions { allow_delete: true, ..Default::default() });
    let delete = p.topics.iter().find(|t| t.topic == "payments").unwrap();
    assert_eq!(delete.action, Action::Delete);
    assert!(delete.warnings.iter().any(|w| w.contains("orphaned: ConfigMap shop/payments")), "{:?}", delete.warnings);
    assert!(!p.owners().contains_key("payments"), "deleted: forgotten");
}

#[test]
fn conflicts_are_listed_and_counted() {
    let mut e = env(vec![desired("orders", 3, 1, &[])], false);
    e.conflicts.push(Conflict {
        topic: "orders".into(),
        kept: "ConfigMap a/one".into(),
        refused: "ConfigMap b/two".into(),
        differences: vec!["partitions: 3 vs 6".into()],
    });
    let p = plan_of(&e, &state(vec![]), PlanOptions::default());
    assert_eq!(p.summary.conflicts, 1);
    assert_eq!(p.conflicts, e.conflicts);
    assert!(p.conflicts[0].describe().starts_with("ConfigMap b/two declares `orders` differently"));
}
