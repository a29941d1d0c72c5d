//! Properties of the plan engine over random specs, clusters, backends and
//! flags (issue 11):
//!
//! - applying a plan and planning again finds nothing left to do (a plan
//!   with a refusal is applied not at all, as apply refuses it whole; taken
//!   topic by topic, every topic whose changes are carried out is in sync);
//! - a plan never decreases partitions, never changes the replication of an
//!   existing topic, never touches an internal topic, never deletes a topic
//!   unless both opt-ins (`prune: true` on the environment and
//!   `--allow-delete`) are on, removes config overrides only with
//!   `--prune-config`, and never sets a key the backend cannot change.
//!
//! Desired topics come from `resolve`, after validation has refused internal
//! names, so the desired side draws from ordinary names (and the last
//! property checks that refusal); the cluster side holds internal topics too.

use std::collections::BTreeMap;

use proptest::bool::weighted;
use proptest::prelude::*;
use proptest::sample::select;
use topicform_core::plan::{
    self, Action, Capabilities, Change, ClusterState, ObservedConfig, ObservedTopic, Plan, PlanOptions, TopicPlan,
};
use topicform_core::spec::model::{Cluster, KafkaCluster};
use topicform_core::spec::{self, is_internal_topic, DesiredTopic, ResolvedEnvironment};

/// Names a spec may hold. Few, so the spec and the cluster overlap often.
const MANAGED: [&str; 5] = ["orders", "payments", "audit.log", "user_events", "metrics"];
/// Names only the cluster holds: `audit_log` collides with `audit.log` in
/// Kafka's metric names, so creating `audit.log` next to it is refused.
const UNMANAGED: [&str; 2] = ["audit_log", "legacy"];
/// Names only Kafka and its tools create.
const INTERNAL: [&str; 4] = ["__consumer_offsets", "__transaction_state", "_schemas", "_confluent-metrics"];
/// Config keys, each with the values a spec holds after normalisation.
const CONFIG: [(&str, &[&str]); 4] = [
    ("retention.ms", &["-1", "60000", "604800000"]),
    ("cleanup.policy", &["compact", "compact,delete", "delete"]),
    ("min.insync.replicas", &["1", "2"]),
    ("segment.bytes", &["1048576", "1073741824"]),
];
/// Values a broker may report that are spelled differently from the spec's
/// normal form but mean the same (plans compare normalised values).
const BROKER_SPELLINGS: [(&str, &str); 1] = [("cleanup.policy", "delete,compact")];

/// One random situation: what the spec wants, what the cluster has, what the
/// backend can do, and the flags of the command.
#[derive(Debug, Clone)]
struct Scenario {
    env: ResolvedEnvironment,
    observed: ClusterState,
    caps: Capabilities,
    options: PlanOptions,
}

/// Mostly Kafka-like, so that most plans do something besides refuse.
fn capabilities() -> impl Strategy<Value = Capabilities> {
    let immutable = proptest::collection::vec(weighted(0.15), CONFIG.len());
    (weighted(0.8), weighted(0.3), immutable).prop_map(|(can_add_partitions, manages_replication, immutable)| {
        Capabilities {
            can_add_partitions,
            manages_replication,
            immutable_config_keys: CONFIG
                .iter()
                .zip(immutable)
                .filter(|(_, immutable)| *immutable)
                .map(|((key, _), _)| key.to_string())
                .collect(),
        }
    })
}

/// For each config key: absent, or one of its values.
fn desired_config() -> impl Strategy<Value = BTreeMap<String, String>> {
    let per_key = CONFIG.map(|(key, values)| proptest::option::of(select(values)).prop_map(move |v| (key, v)));
    per_key.prop_map(|entries| {
        entries.into_iter().filter_map(|(key, value)| Some((key.to_owned(), value?.to_owned()))).collect()
    })
}

/// For each config key: absent, or a value (the spec's or a broker spelling)
/// that is a topic override or the broker's default.
fn observed_config() -> impl Strategy<Value = BTreeMap<String, ObservedConfig>> {
    let per_key = CONFIG.map(|(key, values)| {
        let spellings = BROKER_SPELLINGS.iter().filter(move |(k, _)| *k == key).map(|(_, v)| *v);
        let reported: Vec<&str> = values.iter().copied().chain(spellings).collect();
        proptest::option::of((select(reported), any::<bool>())).prop_map(move |v| (key, v))
    });
    per_key.prop_map(|entries| {
        entries
            .into_iter()
            .filter_map(|(key, entry)| {
                let (value, is_override) = entry?;
                Some((key.to_owned(), ObservedConfig { value: value.to_owned(), is_override }))
            })
            .collect()
    })
}

/// Partitions, replication factor, configs: small ranges, the same on both
/// sides, so equal, larger and smaller all come up often.
fn topic_settings<C: Strategy>(config: C) -> impl Strategy<Value = (u32, u16, C::Value)> {
    (1u32..=4, 1u16..=2, config)
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let desired = proptest::collection::vec(proptest::option::of(topic_settings(desired_config())), MANAGED.len());
    let observed = proptest::collection::vec(
        proptest::option::of(topic_settings(observed_config())),
        MANAGED.len() + UNMANAGED.len() + INTERNAL.len(),
    );
    (capabilities(), desired, observed, any::<bool>(), 0usize..=3, any::<bool>(), any::<bool>()).prop_map(
        |(caps, desired, observed, prune, broker_count, allow_delete, prune_config)| {
            // Where the service manages replication, neither side has a factor.
            let rf = |rf: u16| (!caps.manages_replication).then_some(rf);
            let topics = MANAGED
                .iter()
                .zip(desired)
                .filter_map(|(name, settings)| {
                    let (partitions, replication_factor, config) = settings?;
                    Some(DesiredTopic {
                        name: name.to_string(),
                        partitions,
                        replication_factor: rf(replication_factor),
                        config,
                        owner: None,
                    })
                })
                .collect();
            let observed = MANAGED
                .iter()
                .chain(UNMANAGED.iter())
                .chain(INTERNAL.iter())
                .zip(observed)
                .filter_map(|(name, settings)| {
                    let (partitions, replication_factor, config) = settings?;
                    let topic = ObservedTopic {
                        name: name.to_string(),
                        partitions,
                        replication_factor: rf(replication_factor),
                        config,
                    };
                    Some((name.to_string(), topic))
                })
                .collect();
            Scenario {
                env: environment(topics, prune),
                observed: ClusterState {
                    cluster_id: Some("cluster".into()),
                    broker_count,
                    topics: observed,
                    grants: None,
                },
                options: PlanOptions { allow_delete, prune_config },
                caps,
            }
        },
    )
}

fn environment(topics: Vec<DesiredTopic>, prune: bool) -> ResolvedEnvironment {
    ResolvedEnvironment {
        name: "prop".into(),
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

impl Scenario {
    fn plan(&self, observed: &ClusterState) -> Plan {
        plan::plan(&self.env, observed, &self.caps, self.options)
    }
}

/// The cluster after apply: nothing changes when any topic is refused (apply
/// refuses the whole plan), else every change is carried out.
fn apply(plan: &Plan, observed: &ClusterState) -> ClusterState {
    if plan.has_refusals() {
        return observed.clone();
    }
    apply_unrefused(plan, observed)
}

/// The cluster after a backend carried out the changes of every topic the
/// plan does not refuse, as the backends' primitives do: a topic as created,
/// partitions grown, overrides set or removed, topics deleted.
fn apply_unrefused(plan: &Plan, observed: &ClusterState) -> ClusterState {
    let mut after = observed.clone();
    for topic in plan.topics.iter().filter(|t| t.action != Action::Refused) {
        for change in &topic.changes {
            apply_change(&mut after, &topic.topic, change);
        }
    }
    after
}

/// A topic a plan changes (rather than creates): it must exist.
fn existing<'a>(cluster: &'a mut ClusterState, name: &str) -> &'a mut ObservedTopic {
    cluster.topics.get_mut(name).unwrap_or_else(|| panic!("a plan changes `{name}`, which does not exist"))
}

fn apply_change(cluster: &mut ClusterState, name: &str, change: &Change) {
    match change {
        Change::CreateTopic { partitions, replication_factor, config } => {
            let config = config
                .iter()
                .map(|(k, v)| (k.clone(), ObservedConfig { value: v.clone(), is_override: true }))
                .collect();
            let topic = ObservedTopic {
                name: name.to_owned(),
                partitions: *partitions,
                replication_factor: *replication_factor,
                config,
            };
            assert!(cluster.topics.insert(name.to_owned(), topic).is_none(), "a plan creates `{name}`, which exists");
        }
        Change::AddPartitions { to, .. } => existing(cluster, name).partitions = *to,
        Change::SetConfig { key, desired, .. } => {
            existing(cluster, name)
                .config
                .insert(key.clone(), ObservedConfig { value: desired.clone(), is_override: true });
        }
        Change::DeleteConfig { key, .. } => {
            existing(cluster, name).config.remove(key);
        }
        Change::DeleteTopic => {
            cluster.topics.remove(name);
        }
    }
}

fn refused(plan: &Plan) -> Vec<&TopicPlan> {
    plan.topics.iter().filter(|t| t.action == Action::Refused).collect()
}

/// Every change of the plan with the topic it changes.
fn changes(plan: &Plan) -> impl Iterator<Item = (&TopicPlan, &Change)> {
    plan.topics.iter().flat_map(|t| t.changes.iter().map(move |c| (t, c)))
}

/// Changes of topics that are not refused: what apply would carry out.
fn applied_changes(plan: &Plan) -> impl Iterator<Item = (&TopicPlan, &Change)> {
    changes(plan).filter(|(t, _)| t.action != Action::Refused)
}

proptest! {
    // 600 random situations per property: creates, updates, deletes and
    // refusals come up hundreds of times each (collisions ~80, topics
    // already in sync ~15), and all properties together take about 4 s of
    // CPU in a debug build.
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// plan(observe(apply(plan))) has nothing left to do. A plan with a
    /// refusal is refused whole, so the cluster and the next plan stay as
    /// they were; the next property takes such plans topic by topic.
    #[test]
    fn planning_after_apply_finds_nothing_to_do(s in scenario()) {
        let first = s.plan(&s.observed);
        let second = s.plan(&apply(&first, &s.observed));
        if first.has_refusals() {
            prop_assert_eq!(second.topics, first.topics);
            return Ok(());
        }
        prop_assert!(!second.has_changes(), "left to do after apply: {:#?}", second.changing().collect::<Vec<_>>());
        prop_assert!(!second.has_refusals(), "refused after apply: {:#?}", refused(&second));
        prop_assert_eq!(second.summary.unchanged, s.env.topics.len());
        prop_assert_eq!(&second.unmanaged, &first.unmanaged);
    }

    /// The same per topic, and so also where the plan refuses some topics:
    /// a topic whose changes are carried out is in sync on the next plan.
    /// Deleted topics are gone. A refused topic may plan differently next
    /// time only because of another topic's change (a create refused for
    /// colliding with `audit_log` is allowed once `audit_log` is deleted).
    #[test]
    fn every_topic_applied_is_in_sync_on_the_next_plan(s in scenario()) {
        let first = s.plan(&s.observed);
        let second = s.plan(&apply_unrefused(&first, &s.observed));
        let refused_first: Vec<&str> = refused(&first).iter().map(|t| t.topic.as_str()).collect();
        for topic in second.topics.iter().filter(|t| !refused_first.contains(&t.topic.as_str())) {
            prop_assert_eq!(topic.action, Action::Unchanged, "{:#?}", topic);
        }
        prop_assert_eq!(second.topics.len(), s.env.topics.len(), "deleted topics are gone");
    }

    #[test]
    fn partitions_never_decrease(s in scenario()) {
        let plan = s.plan(&s.observed);
        for (topic, change) in changes(&plan) {
            if let Change::AddPartitions { from, to } = change {
                prop_assert!(to > from, "{}: {} -> {}", topic.topic, from, to);
                prop_assert_eq!(*from, s.observed.topics[&topic.topic].partitions);
                prop_assert!(s.caps.can_add_partitions);
            }
        }
        for topic in plan.topics.iter().filter(|t| t.action != Action::Refused) {
            let desired = s.env.topics.iter().find(|d| d.name == topic.topic);
            if let (Some(d), Some(o)) = (desired, s.observed.topics.get(&topic.topic)) {
                prop_assert!(d.partitions >= o.partitions, "{} not refused: {:?}", topic.topic, topic);
            }
        }
    }

    /// The replication factor is only ever set by a create, never on a topic
    /// that exists; a different factor on an existing topic is refused.
    #[test]
    fn replication_of_an_existing_topic_never_changes(s in scenario()) {
        let plan = s.plan(&s.observed);
        for (topic, change) in applied_changes(&plan) {
            if matches!(change, Change::CreateTopic { .. }) {
                prop_assert!(!s.observed.topics.contains_key(&topic.topic), "creates existing `{}`", topic.topic);
            }
        }
        for d in &s.env.topics {
            let Some(o) = s.observed.topics.get(&d.name) else { continue };
            if !s.caps.manages_replication && d.replication_factor != o.replication_factor {
                let topic = plan.topics.iter().find(|t| t.topic == d.name).expect("every desired topic is planned");
                prop_assert_eq!(topic.action, Action::Refused);
            }
        }
    }

    #[test]
    fn internal_topics_are_never_touched_or_listed(s in scenario()) {
        let plan = s.plan(&s.observed);
        prop_assert!(plan.topics.iter().all(|t| !is_internal_topic(&t.topic)), "{:?}", plan.topics);
        prop_assert!(plan.unmanaged.iter().all(|t| !is_internal_topic(t)), "{:?}", plan.unmanaged);
    }

    #[test]
    fn topics_are_deleted_only_with_both_opt_ins(s in scenario()) {
        let plan = s.plan(&s.observed);
        for (topic, change) in changes(&plan) {
            if *change == Change::DeleteTopic || topic.action == Action::Delete {
                prop_assert!(s.env.prune && s.options.allow_delete, "deletes `{}`", topic.topic);
                prop_assert!(s.env.topics.iter().all(|d| d.name != topic.topic), "deletes managed `{}`", topic.topic);
                prop_assert!(s.observed.topics.contains_key(&topic.topic));
            }
        }
        prop_assert_eq!(plan.summary.delete > 0, plan.topics.iter().any(|t| t.action == Action::Delete));
    }

    #[test]
    fn overrides_are_removed_only_with_prune_config(s in scenario()) {
        let plan = s.plan(&s.observed);
        for (topic, change) in changes(&plan) {
            if let Change::DeleteConfig { key, .. } = change {
                prop_assert!(s.options.prune_config, "removes `{}` from `{}`", key, topic.topic);
                let desired = s.env.topics.iter().find(|d| d.name == topic.topic).expect("a managed topic");
                prop_assert!(!desired.config.contains_key(key), "removes `{}`, which the spec sets", key);
            }
        }
    }

    /// Where a key cannot change after creation (Event Hubs), a different
    /// value in the spec is refused, never set, and so is removing its
    /// override with `--prune-config`.
    #[test]
    fn immutable_keys_never_change_on_an_existing_topic(s in scenario()) {
        let plan = s.plan(&s.observed);
        for (topic, change) in applied_changes(&plan) {
            if let Change::SetConfig { key, .. } | Change::DeleteConfig { key, .. } = change {
                prop_assert!(!s.caps.immutable_config_keys.contains(key), "changes `{}` of `{}`", key, topic.topic);
            }
        }
    }

    /// Desired topics come only from `resolve`: a spec naming an internal
    /// topic never gets that far, so no plan is ever asked to create one.
    #[test]
    fn a_spec_naming_an_internal_topic_does_not_resolve(name in internal_name()) {
        prop_assert!(is_internal_topic(&name));
        if let Ok(loaded) = spec::parse("prop.yaml", &spec_with_topic(&name)) {
            prop_assert!(loaded.resolve("local", &|_| None).is_err(), "`{}` resolved", name);
        }
    }
}

fn internal_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "__[a-z0-9._-]{0,20}",
        "_confluent[a-z0-9._-]{0,20}",
        Just("_schemas".to_owned()),
        select(INTERNAL.to_vec()).prop_map(str::to_owned),
    ]
}

fn spec_with_topic(name: &str) -> String {
    format!(
        "version: 1\ndefaults: {{ partitions: 1, replicationFactor: 1 }}\nenvironments:\n  local:\n    cluster: {{ type: kafka, bootstrapServers: [localhost:9092] }}\ntopics:\n  \"{name}\": {{}}\n"
    )
}

/// The template of the property above resolves with an ordinary name, so
/// that property fails for the internal name, not for the template.
#[test]
fn the_internal_name_template_resolves_with_an_ordinary_name() {
    let loaded = spec::parse("prop.yaml", &spec_with_topic("orders")).expect("the template parses");
    let (env, _) = loaded.resolve("local", &|_| None).expect("the template resolves");
    assert_eq!(env.topics[0].name, "orders");
}
