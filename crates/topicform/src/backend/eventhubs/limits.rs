//! Quotas of the live namespace, checked against a whole plan before the
//! first write, so an apply never stops half-way on a limit topicform could
//! have known. Pure.
//!
//! `validate` already checks the spec offline against the tier named in it
//! (`spec::tiers`); this checks the namespace as it is: its real tier and
//! capacity (processing / capacity units), and the event hubs already in it,
//! including the ones this spec does not manage.

use topicform_core::plan::{Change, ClusterState, Plan};
use topicform_core::spec::model::EventHubsTier;
use topicform_core::spec::tiers::TierLimits;

use super::mapping::Cleanup;

/// Limits of one live namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NamespaceLimits {
    /// The namespace's tier (from its SKU).
    pub tier: EventHubsTier,
    /// `sku.capacity`: throughput units (standard), processing units
    /// (premium) or capacity units (dedicated).
    pub capacity: u32,
    /// Event hubs the namespace may hold.
    pub max_hubs: u64,
    /// Partitions one event hub may have.
    pub max_partitions_per_hub: u32,
    /// Partitions all event hubs of the namespace may have together, where
    /// the tier has such a quota (premium 200 per PU, dedicated 2000 per CU).
    pub max_partitions_total: Option<u64>,
    /// Whether partitions can be added after an event hub is created.
    pub partition_increase: bool,
    /// Longest retention, in hours.
    pub max_retention_hours: i64,
}

impl NamespaceLimits {
    /// The limits of a namespace of `tier` with `capacity` units.
    pub fn new(tier: EventHubsTier, capacity: u32) -> NamespaceLimits {
        let t = TierLimits::of(tier);
        // The same table `validate` uses offline (spec/tiers.rs): hubs scale
        // with premium processing units only (dedicated: 1,000 per namespace),
        // partitions per namespace with premium PUs and dedicated CUs.
        let max_hubs = u64::from(t.max_hubs(capacity));
        let max_partitions_total = t.max_namespace_partitions(capacity);
        NamespaceLimits {
            tier,
            capacity: capacity.max(1),
            max_hubs,
            max_partitions_per_hub: t.max_partitions,
            max_partitions_total,
            partition_increase: t.partition_increase,
            max_retention_hours: t.max_retention_hours,
        }
    }

    fn units(&self) -> &'static str {
        match self.tier {
            EventHubsTier::Premium => "processing unit(s)",
            EventHubsTier::Dedicated => "capacity unit(s)",
            _ => "throughput unit(s)",
        }
    }

    /// Everything in `plan` that the namespace would refuse, given what is
    /// on it now (`state`: every event hub, managed or not). Empty when the
    /// whole plan fits.
    ///
    /// The namespace quotas are checked at the apply's peak: apply writes
    /// every event hub before it deletes any (and deletes nothing if a write
    /// failed), so the plan's deletes make no room for its creates.
    pub fn check(&self, plan: &Plan, state: &ClusterState) -> Vec<String> {
        let mut problems = Vec::new();
        let hubs_before = state.topics.len() as u64;
        let partitions_before: u64 = state.topics.values().map(|t| u64::from(t.partitions)).sum();
        let (mut hubs, mut partitions) = (hubs_before, partitions_before);
        let mut deletes = 0u64;
        for t in plan.changing() {
            let current = state.topics.get(&t.topic);
            for c in &t.changes {
                match c {
                    Change::CreateTopic { partitions: p, config, .. } => {
                        hubs += 1;
                        partitions += u64::from(*p);
                        if *p > self.max_partitions_per_hub {
                            problems.push(format!(
                                "`{}`: {p} partitions exceed the {} tier's {} per event hub",
                                t.topic, self.tier, self.max_partitions_per_hub
                            ));
                        }
                        self.check_config(&t.topic, config.iter(), &mut problems);
                    }
                    Change::AddPartitions { from, to } => {
                        partitions += u64::from(to.saturating_sub(*from));
                        if !self.partition_increase {
                            problems.push(format!(
                                "`{}`: partitions cannot be added on the {} tier ({from} → {to})",
                                t.topic, self.tier
                            ));
                        } else if *to > self.max_partitions_per_hub {
                            problems.push(format!(
                                "`{}`: {to} partitions exceed the {} tier's {} per event hub",
                                t.topic, self.tier, self.max_partitions_per_hub
                            ));
                        }
                    }
                    Change::SetConfig { key, desired, .. } => {
                        if key == "cleanup.policy"
                            && current.is_some_and(|c| {
                                c.config.get(key).map(|v| Cleanup::from_spec(&v.value)).unwrap_or(Cleanup::Delete)
                                    != Cleanup::from_spec(desired)
                            })
                        {
                            problems.push(format!(
                                "`{}`: cleanup.policy cannot change after an event hub is created",
                                t.topic
                            ));
                        }
                        self.check_config(&t.topic, std::iter::once((key, desired)), &mut problems);
                    }
                    Change::DeleteConfig { key, current } => {
                        if key == "cleanup.policy" && Cleanup::from_spec(current) == Cleanup::Compact {
                            problems.push(format!(
                                "`{}`: removing cleanup.policy would turn a compacted event hub into a deleting one, and cleanup.policy cannot change after an event hub is created",
                                t.topic
                            ));
                        }
                    }
                    // Runs after every write: no room for this plan's creates.
                    Change::DeleteTopic => deletes += 1,
                }
            }
        }
        let hint = |raise: &str| {
            if deletes > 0 {
                format!(
                    "apply deletes only after all writes, so this plan's {deletes} delete(s) make no room: delete first with a separate apply, or {raise}"
                )
            } else {
                format!("{raise}, or delete event hubs first with a separate apply")
            }
        };
        if hubs > self.max_hubs && hubs > hubs_before {
            let raise = match self.tier {
                EventHubsTier::Premium | EventHubsTier::Dedicated => "raise the namespace's capacity",
                _ => "use another namespace (the tier's event hub limit does not grow with throughput units)",
            };
            problems.push(format!(
                "the namespace would hold {hubs} event hubs ({hubs_before} now) during the apply, more than the {} tier allows with {} {}: {}; {}",
                self.tier,
                self.capacity,
                self.units(),
                self.max_hubs,
                hint(raise)
            ));
        }
        if let Some(max) = self.max_partitions_total {
            if partitions > max && partitions > partitions_before {
                problems.push(format!(
                    "the namespace would hold {partitions} partitions ({partitions_before} now) during the apply, more than the {} tier allows with {} {}: {max}; {}",
                    self.tier,
                    self.capacity,
                    self.units(),
                    hint("raise the namespace's capacity")
                ));
            }
        }
        problems
    }

    fn check_config<'a>(
        &self,
        topic: &str,
        config: impl Iterator<Item = (&'a String, &'a String)>,
        problems: &mut Vec<String>,
    ) {
        for (key, value) in config {
            if key != "retention.ms" {
                continue;
            }
            if let Ok(ms) = topicform_core::spec::values::parse_duration_ms(value) {
                if ms > 0 && ms / 3_600_000 > self.max_retention_hours {
                    problems.push(format!(
                        "`{topic}`: retention of {}h exceeds the {} tier's {}h",
                        ms / 3_600_000,
                        self.tier,
                        self.max_retention_hours
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use topicform_core::plan::{Action, ObservedConfig, ObservedTopic, PlanOptions, Summary, TopicPlan};

    fn state(hubs: &[(&str, u32)]) -> ClusterState {
        ClusterState {
            cluster_id: None,
            broker_count: 0,
            topics: hubs
                .iter()
                .map(|(n, p)| {
                    let config = BTreeMap::from([(
                        "cleanup.policy".to_owned(),
                        ObservedConfig { value: "delete".into(), is_override: false },
                    )]);
                    (
                        n.to_string(),
                        ObservedTopic { name: n.to_string(), partitions: *p, replication_factor: None, config },
                    )
                })
                .collect(),
            grants: None,
        }
    }

    fn plan(topics: Vec<(&str, Action, Vec<Change>)>) -> Plan {
        Plan {
            format_version: 1,
            environment: "e".into(),
            cluster_type: "eventhubs".into(),
            cluster_id: None,
            state_fingerprint: String::new(),
            options: PlanOptions::default(),
            summary: Summary::default(),
            topics: topics
                .into_iter()
                .map(|(t, action, changes)| TopicPlan {
                    owner: None,
                    topic: t.into(),
                    action,
                    changes,
                    reasons: vec![],
                    warnings: vec![],
                    drift: vec![],
                })
                .collect(),
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

    fn create(p: u32) -> Change {
        Change::CreateTopic { partitions: p, replication_factor: None, config: BTreeMap::new() }
    }

    #[test]
    fn quotas_scale_with_capacity() {
        let l = NamespaceLimits::new(EventHubsTier::Premium, 2);
        assert_eq!((l.max_hubs, l.max_partitions_total), (200, Some(400)));
        // Dedicated: partitions scale with CUs, event hubs do not (1,000).
        let l = NamespaceLimits::new(EventHubsTier::Dedicated, 3);
        assert_eq!((l.max_hubs, l.max_partitions_total), (1000, Some(6000)));
        let l = NamespaceLimits::new(EventHubsTier::Standard, 20);
        assert_eq!((l.max_hubs, l.max_partitions_total), (10, None));
    }

    #[test]
    fn hubs_count_unmanaged_ones_and_deletes_make_no_room() {
        let l = NamespaceLimits::new(EventHubsTier::Standard, 1);
        let s = state(&[("a", 1), ("b", 1), ("c", 1), ("d", 1), ("e", 1), ("f", 1), ("g", 1), ("h", 1), ("i", 1)]);
        let p = plan(vec![("x", Action::Create, vec![create(1)]), ("y", Action::Create, vec![create(1)])]);
        let problems = l.check(&p, &s);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("11 event hubs (9 now)"), "{problems:?}");
        // Deletes run after every write: the peak still has 11.
        let p = plan(vec![
            ("x", Action::Create, vec![create(1)]),
            ("y", Action::Create, vec![create(1)]),
            ("a", Action::Delete, vec![Change::DeleteTopic]),
        ]);
        let problems = l.check(&p, &s);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("11 event hubs (9 now)"), "{problems:?}");
        assert!(problems[0].contains("1 delete(s) make no room: delete first with a separate apply"), "{problems:?}");
        // One create fits at the peak.
        let p = plan(vec![("x", Action::Create, vec![create(1)]), ("a", Action::Delete, vec![Change::DeleteTopic])]);
        assert!(l.check(&p, &s).is_empty());
        // Deletes alone never trip a quota, even on a namespace already over it.
        let p = plan(vec![("a", Action::Delete, vec![Change::DeleteTopic])]);
        let names: Vec<String> = (0..12).map(|i| format!("h{i}")).collect();
        let full: Vec<(&str, u32)> = names.iter().map(|n| (n.as_str(), 1)).chain([("a", 1)]).collect();
        assert!(l.check(&p, &state(&full)).is_empty());
    }

    #[test]
    fn replacing_a_hub_at_the_partition_quota_is_refused() {
        let l = NamespaceLimits::new(EventHubsTier::Premium, 1);
        let s = state(&[("a", 100), ("b", 100)]);
        let p = plan(vec![("a", Action::Delete, vec![Change::DeleteTopic]), ("c", Action::Create, vec![create(4)])]);
        let problems = l.check(&p, &s);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("204 partitions (200 now)"), "{problems:?}");
        assert!(problems[0].contains("or raise the namespace's capacity"), "{problems:?}");
    }

    #[test]
    fn partitions_per_namespace() {
        let l = NamespaceLimits::new(EventHubsTier::Premium, 1);
        let s = state(&[("a", 100), ("b", 90)]);
        let p = plan(vec![("c", Action::Create, vec![create(6)]), ("a", Action::Unchanged, vec![])]);
        assert!(l.check(&p, &s).is_empty());
        let p = plan(vec![("c", Action::Create, vec![create(12)])]);
        let problems = l.check(&p, &s);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("202 partitions (190 now)"), "{problems:?}");
        assert!(problems[0].contains("1 processing unit(s): 200"), "{problems:?}");
    }

    #[test]
    fn tier_rules() {
        let std = NamespaceLimits::new(EventHubsTier::Standard, 1);
        let s = state(&[("a", 2)]);
        let grow = plan(vec![("a", Action::Update, vec![Change::AddPartitions { from: 2, to: 4 }])]);
        assert!(std.check(&grow, &s)[0].contains("cannot be added on the standard tier"));
        assert!(NamespaceLimits::new(EventHubsTier::Premium, 1).check(&grow, &s).is_empty());
        let cleanup = plan(vec![(
            "a",
            Action::Update,
            vec![Change::SetConfig {
                key: "cleanup.policy".into(),
                current: Some("delete".into()),
                desired: "compact".into(),
            }],
        )]);
        assert!(std.check(&cleanup, &s)[0].contains("cannot change"));
        let long = plan(vec![(
            "n",
            Action::Create,
            vec![Change::CreateTopic {
                partitions: 40,
                replication_factor: None,
                config: BTreeMap::from([("retention.ms".into(), "691200000".into())]),
            }],
        )]);
        let problems = std.check(&long, &s);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[1].contains("192h exceeds the standard tier's 168h"), "{problems:?}");
    }
}
