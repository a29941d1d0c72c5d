//! Each rule fires at the line that set the value and stays quiet when the
//! spec satisfies it; waivers, scopes and the policy's own problems.

use super::*;
use crate::spec::{parse, Located, Severity, UnsetVars};

fn no_vars(_: &str) -> Option<String> {
    None
}

/// A spec whose `prod` environment satisfies every rule of `POLICY`, with
/// `{topics}` appended under `topics:` and `{policy}` as the policy.
fn spec(policy: &str, topics: &str) -> String {
    format!(
        r#"version: 1
defaults:
  partitions: 6
  replicationFactor: 3
  config: {{ retention.ms: 7d }}
environments:
  prod:
    cluster: {{ type: kafka, bootstrapServers: ["kafka:9092"] }}
    defaults: {{ config: {{ min.insync.replicas: "2" }} }}
  hubs:
    cluster: {{ type: eventhubs, namespace: ns-orders, tier: standard, subscriptionId: s, resourceGroup: g }}
policy:
{policy}
topics:
  user.created:
    description: A user signed up.
    consumers: [mailer]
{topics}"#
    )
}

const POLICY: &str = r#"  topicName: { pattern: '(user|employee)\.[a-z]+' }
  partitions: { min: 3, max: 48 }
  replicationFactor: { min: 3, environments: [prod] }
  minInsyncReplicas: { min: 2, environments: [prod] }
  configKeys: { required: [retention.ms], forbidden: [unclean.leader.election.enable] }
  retention: { min: 1h, max: 30d }
  description: {}
  consumers: { severity: warning }"#;

/// Validation's findings of `text` that a policy rule made.
fn violations_of(text: &str) -> Vec<Located> {
    let loaded = parse("t.yaml", text).unwrap_or_else(|f| panic!("{:?}", f.problem));
    loaded.validate(&[], &no_vars, UnsetVars::Warn).into_iter().filter(|l| l.finding.rule.is_some()).collect()
}

/// (rule, line, column, severity) of each violation, for compact asserts.
fn summary(found: &[Located]) -> Vec<(RuleId, usize, usize, Severity)> {
    let mut out: Vec<_> = found
        .iter()
        .map(|l| {
            let (line, col) = l.line_col.expect("every violation is located");
            (l.finding.rule.unwrap(), line, col, l.finding.severity)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_spec_that_satisfies_every_rule_has_no_violation() {
    let found = violations_of(&spec(POLICY, ""));
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn each_rule_fires_at_the_line_that_set_the_value() {
    let topics = r#"  orders:
    partitions: 1
    replicationFactor: 2
    config: { unclean.leader.election.enable: "true", retention.ms: 90d, min.insync.replicas: "2" }
"#;
    let text = spec(POLICY, topics);
    let found = violations_of(&text);
    // Line 25 is `orders:`, 26 its partitions, 27 its replication, 28 its
    // config flow mapping (values at columns 47, 69 and 95).
    assert_eq!(
        summary(&found),
        vec![
            (RuleId::TopicName, 25, 3, Severity::Error),
            (RuleId::Partitions, 26, 17, Severity::Error),
            (RuleId::ReplicationFactor, 27, 24, Severity::Error),
            (RuleId::MinInsyncReplicas, 28, 95, Severity::Error),
            (RuleId::ConfigKeys, 28, 47, Severity::Error),
            (RuleId::Retention, 28, 69, Severity::Error),
            (RuleId::Description, 25, 3, Severity::Error),
            (RuleId::Consumers, 25, 3, Severity::Warning),
        ],
        "{found:#?}"
    );
    let message = |rule| found.iter().find(|l| l.finding.rule == Some(rule)).unwrap().finding.message.clone();
    assert_eq!(
        message(RuleId::TopicName),
        r"topic `orders` does not match the naming pattern `(user|employee)\.[a-z]+`"
    );
    assert_eq!(
        message(RuleId::Partitions),
        "topic `orders` has 1 partition(s) in environments `prod`, `hubs`, below the policy's minimum of 3"
    );
    assert_eq!(
        message(RuleId::MinInsyncReplicas),
        "topic `orders` has min.insync.replicas 2 and replication factor 2 in environment `prod`: with acks=all, one broker down stops every producer"
    );
    assert_eq!(
        message(RuleId::Retention),
        "topic `orders` has retention `90d` in environments `prod`, `hubs`, above the policy's maximum of 30d"
    );
}

#[test]
fn the_help_says_how_to_fix_and_how_to_waive() {
    let found = violations_of(&spec(POLICY, "  user.orders: { partitions: 100, description: d, consumers: [c] }\n"));
    let [v] = &found[..] else { panic!("{found:#?}") };
    assert!(v.finding.message.contains("above the policy's maximum of 48"), "{v:?}");
    let help = v.finding.help.as_deref().unwrap();
    assert!(help.contains("at most 48") && help.contains("topics.user.orders.waivers"), "{help}");
}

#[test]
fn a_default_that_breaks_a_rule_is_reported_once_at_the_default() {
    let text =
        spec(POLICY, "  user.deleted: { description: d, consumers: [c] }\n").replace("partitions: 6", "partitions: 1");
    let found = violations_of(&text);
    let partitions: Vec<_> = found.iter().filter(|l| l.finding.rule == Some(RuleId::Partitions)).collect();
    // Two topics and two environments use it: one finding.
    assert_eq!(partitions.len(), 1, "{found:#?}");
    assert_eq!(partitions[0].line_col, Some((3, 15)));
    assert_eq!(
        partitions[0].finding.message,
        "the default at `defaults.partitions` gives 1 partition(s) in environments `prod`, `hubs`, below the policy's minimum of 3"
    );
    assert!(partitions[0].finding.help.as_deref().unwrap().contains("the value is a default"));
}

#[test]
fn unset_values_the_policy_bounds_are_violations() {
    let text = spec(POLICY, "")
        .replace("  replicationFactor: 3\n", "")
        .replace("config: { retention.ms: 7d }", "config: {}")
        .replace("    defaults: { config: { min.insync.replicas: \"2\" } }\n", "");
    let found = violations_of(&text);
    let rules: Vec<RuleId> = summary(&found).into_iter().map(|(r, ..)| r).collect();
    // The replication factor is unknown; misr's Kafka default of 1 is below
    // the minimum; configKeys requires retention.ms and retention bounds it.
    assert_eq!(
        rules,
        [RuleId::ReplicationFactor, RuleId::MinInsyncReplicas, RuleId::ConfigKeys, RuleId::Retention],
        "{found:#?}"
    );
    let misr = found.iter().find(|l| l.finding.rule == Some(RuleId::MinInsyncReplicas)).unwrap();
    assert!(misr.finding.message.contains("(Kafka's default: the spec sets none)"), "{misr:?}");
}

#[test]
fn replication_one_with_the_default_min_insync_is_a_violation() {
    let text = spec("  minInsyncReplicas: {}", "")
        .replace("replicationFactor: 3", "replicationFactor: 1")
        .replace("min.insync.replicas: \"2\"", "segment.ms: 1h");
    let found = violations_of(&text);
    let [v] = &found[..] else { panic!("{found:#?}") };
    assert_eq!(v.line_col, Some((4, 22)), "points at the replication factor: {v:?}");
    assert!(v.finding.help.as_deref().unwrap().starts_with("raise `replicationFactor` (1 has no spare replica)"));
}

#[test]
fn config_keys_outside_the_allowed_list_are_named() {
    let found = violations_of(&spec("  configKeys: { allowed: [retention.ms, cleanup.policy] }", ""));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].finding.message,
        "the default at `environments.prod.defaults.config.min.insync.replicas` sets `min.insync.replicas` in environment `prod`; the policy allows only retention.ms, cleanup.policy"
    );
}

#[test]
fn infinite_retention_needs_allow_infinite() {
    let topic = "  user.kept: { config: { retention.ms: -1 }, description: d, consumers: [c] }\n";
    let found = violations_of(&spec("  retention: { max: 30d }", topic));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].finding.message,
        "topic `user.kept` has retention `-1 (infinite)` in environments `prod`, `hubs`, which the policy does not allow"
    );
    assert!(violations_of(&spec("  retention: { max: 30d, allowInfinite: true }", topic)).is_empty());
}

#[test]
fn scopes_limit_rules_to_environments_and_topics() {
    let topic = "  user.tiny: { partitions: 1, description: d, consumers: [c] }\n";
    let messages = |policy: &str| -> Vec<String> {
        violations_of(&spec(policy, topic)).into_iter().map(|l| l.finding.message).collect()
    };
    let both = "topic `user.tiny` has 1 partition(s) in environments `prod`, `hubs`, below the policy's minimum of 3";
    assert_eq!(messages("  partitions: { min: 3 }"), [both]);
    assert_eq!(messages("  partitions: { min: 3, topics: [\"user.*\"] }"), [both]);
    assert_eq!(
        messages("  partitions: { min: 3, environments: [prod] }"),
        ["topic `user.tiny` has 1 partition(s) in environment `prod`, below the policy's minimum of 3"]
    );
    assert!(messages("  partitions: { min: 3, topics: [\"orders.*\"] }").is_empty());
}

#[test]
fn event_hubs_environments_skip_the_replication_rules() {
    let text = spec("  replicationFactor: { min: 5 }\n  minInsyncReplicas: { min: 3 }", "");
    let found = violations_of(&text);
    assert!(!found.is_empty(), "{found:#?}");
    assert!(
        found
            .iter()
            .all(|l| l.finding.message.contains("in environment `prod`") && !l.finding.message.contains("`hubs`")),
        "{found:#?}"
    );
}

#[test]
fn a_waiver_turns_the_violation_into_a_warning_that_names_it() {
    let topic = r#"  user.legacy:
    partitions: 1
    description: d
    consumers: [c]
    waivers:
      - { rule: partitions, reason: "Ordered by user id; PLAT-123 approved by the platform team", expires: 2027-06-30 }
"#;
    let text = spec("  partitions: { min: 3 }", topic);
    let found = violations_of(&text);
    let [v] = &found[..] else { panic!("{found:#?}") };
    assert_eq!(v.finding.severity, Severity::Warning);
    assert_eq!(
        v.finding.message,
        "waived: topic `user.legacy` has 1 partition(s) in environments `prod`, `hubs`, below the policy's minimum of 3"
    );
    assert_eq!(
        v.finding.help.as_deref(),
        Some("waived until 2027-06-30 by `topics.user.legacy.waivers[0]`: Ordered by user id; PLAT-123 approved by the platform team")
    );
    let waived = v.finding.waived.as_ref().unwrap();
    assert_eq!((waived.severity, waived.expires.as_deref()), (Severity::Error, Some("2027-06-30")));

    // After its last day it covers nothing, and says so.
    let mut loaded = parse("t.yaml", &text).unwrap();
    loaded.today = Some(jiff::civil::date(2027, 7, 1));
    let found = loaded.validate(&["prod"], &no_vars, UnsetVars::Warn);
    let [v] = &found[..] else { panic!("{found:#?}") };
    assert!(v.finding.is_error() && v.finding.waived.is_none());
    assert!(v
        .finding
        .help
        .as_deref()
        .unwrap()
        .starts_with("the waiver at `topics.user.legacy.waivers[0]` expired on 2027-06-30"));
    // On its last day it still holds.
    loaded.today = Some(jiff::civil::date(2027, 6, 30));
    assert!(!loaded.validate(&["prod"], &no_vars, UnsetVars::Warn)[0].finding.is_error());
}

#[test]
fn a_waiver_does_not_cover_a_default_or_another_rule() {
    let topic = "  user.x: { description: d, consumers: [c], waivers: [{ rule: partitions, reason: r }] }\n";
    let text = spec("  partitions: { min: 8 }", topic);
    let found = violations_of(&text);
    assert!(!found.is_empty() && found.iter().all(|l| l.finding.is_error()), "{found:#?}");
    let text = spec("  topicName: { pattern: 'order\\..*' }", topic);
    let about_x: Vec<_> = violations_of(&text).into_iter().filter(|l| l.finding.message.contains("user.x")).collect();
    assert!(!about_x.is_empty() && about_x.iter().all(|l| l.finding.is_error()), "{about_x:#?}");
}

#[test]
fn malformed_waivers_are_errors_at_their_place() {
    let topic = r#"  user.x:
    description: d
    consumers: [c]
    waivers:
      - { rule: partitions, reason: " " }
      - { rule: partitions, reason: r, expires: 2027-02-30 }
"#;
    let found =
        parse("t.yaml", &spec("  partitions: { min: 1 }", topic)).unwrap().validate(&[], &no_vars, UnsetVars::Warn);
    let errors: Vec<_> = found
        .iter()
        .filter(|l| l.finding.is_error())
        .map(|l| (l.line_col.unwrap(), l.finding.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            ((22, 37), "a waiver needs a reason"),
            ((23, 17), "topic `user.x` waives `partitions` twice; keep one waiver per rule"),
            ((23, 49), "`2027-02-30` is not a day"),
        ],
        "{found:#?}"
    );
    let unknown = parse("t.yaml", &spec("", "  user.y: { waivers: [{ rule: partitionz, reason: r }] }\n")).unwrap_err();
    assert!(unknown.problem.finding.message.contains("partitionz"), "{:?}", unknown.problem);
}

#[test]
fn the_policys_own_mistakes_are_errors_at_their_place() {
    let policy = r#"  topicName: { pattern: '(unclosed' }
  partitions: { min: 10, max: 2 }
  retention: { min: 2 parsecs, max: -1 }
  description: { topics: ["a*b"] }"#;
    let found = parse("t.yaml", &spec(policy, "")).unwrap().validate(&[], &no_vars, UnsetVars::Warn);
    // The rules still check what they can (the defaults' 6 partitions are
    // below 10); the policy's own mistakes are these:
    let errors: Vec<_> = found
        .iter()
        .filter(|l| l.finding.is_error() && l.finding.rule.is_none())
        .map(|l| (l.line_col.unwrap(), l.finding.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            ((13, 25), "`(unclosed` is not a regular expression"),
            ((14, 22), "the minimum of 10 partitions is above the maximum of 2"),
            ((15, 21), "`2 parsecs` is not a duration; write milliseconds or a number with a unit: 500ms, 30s, 15m, 36h, 7d, 2w"),
            ((15, 37), "a bound cannot be -1 (infinite)"),
            ((16, 27), "`a*b`: `*` may only end an entry (a prefix), as in `orders.*`"),
        ],
        "{found:#?}"
    );
}

#[test]
fn plan_and_apply_refuse_an_error_and_the_read_only_commands_do_not() {
    let text = spec(POLICY, "  orders: { description: d, consumers: [c] }\n");
    let loaded = parse("t.yaml", &text).unwrap();
    let refused = loaded.resolve("prod", &no_vars).unwrap_err();
    assert!(
        refused.iter().any(|l| l.finding.rule == Some(RuleId::TopicName) && l.line_col == Some((25, 3))),
        "{refused:#?}"
    );
    let (_, warnings) = loaded.resolve_without_access("prod", &no_vars).expect("env, check, lag and export still work");
    assert!(warnings.iter().all(|l| l.finding.rule.is_none()));
}

#[test]
fn a_shared_policy_file_applies_with_the_specs_own() {
    let shared = parse_policy("policy.yaml", "partitions: { min: 12 }\ntopicName: { pattern: '[' }\n").unwrap();
    let problems = shared.problems();
    assert_eq!(problems.len(), 1);
    assert_eq!(
        (problems[0].line_col, problems[0].elsewhere.as_ref().unwrap().name.as_str()),
        (Some((2, 23)), "policy.yaml")
    );
    let shared = parse_policy("policy.yaml", "partitions: { min: 12, environments: [prod] }\n").unwrap();
    let loaded =
        parse("t.yaml", &spec(POLICY, "")).unwrap().with_policies(vec![shared], jiff::civil::date(2026, 12, 3));
    let found: Vec<_> =
        loaded.validate(&[], &no_vars, UnsetVars::Warn).into_iter().filter(|l| l.finding.rule.is_some()).collect();
    let [v] = &found[..] else { panic!("{found:#?}") };
    assert_eq!(v.finding.message, "the default at `defaults.partitions` gives 6 partition(s) in environment `prod`, below the policy's minimum of 12");
    let unknown = parse_policy("policy.yaml", "partitions: { minimum: 3 }\n").unwrap_err();
    assert_eq!(unknown.problem.line_col, Some((1, 15)), "{:?}", unknown.problem);
}

#[test]
fn an_environment_a_rule_names_but_the_spec_lacks_is_a_warning() {
    let found = parse("t.yaml", &spec("  partitions: { min: 3, environments: [prod, prdo] }", "")).unwrap().validate(
        &[],
        &no_vars,
        UnsetVars::Warn,
    );
    let [w] = &found[..] else { panic!("{found:#?}") };
    assert_eq!(w.finding.severity, Severity::Warning);
    assert_eq!(w.line_col, Some((13, 46)));
    assert_eq!(
        w.finding.message,
        "rule `partitions` names environment `prdo`, which the spec does not have, so it checks nothing there"
    );
    // A shared file names the environments of every spec sharing it: only a
    // rule that checks nothing in this spec is reported.
    let shared = |text: &str| {
        let loaded = parse("t.yaml", &spec("", ""))
            .unwrap()
            .with_policies(vec![parse_policy("p.yaml", text).unwrap()], jiff::civil::date(2026, 12, 3));
        loaded.validate(&[], &no_vars, UnsetVars::Warn)
    };
    assert!(shared("partitions: { min: 3, environments: [prod, qa] }\n").is_empty());
    let found = shared("partitions: { min: 3, environments: [qa] }\n");
    let [w] = &found[..] else { panic!("{found:#?}") };
    assert_eq!((w.line_col, w.elsewhere.as_ref().unwrap().name.as_str()), (Some((1, 38)), "p.yaml"));
}

#[test]
fn the_same_rule_in_the_spec_and_a_shared_file_is_reported_once() {
    let topic = "  user.tiny: { partitions: 1, description: d, consumers: [c] }\n";
    let loaded = parse("t.yaml", &spec("  partitions: { min: 3 }", topic)).unwrap().with_policies(
        vec![parse_policy("p.yaml", "partitions: { min: 3 }\n").unwrap()],
        jiff::civil::date(2026, 12, 3),
    );
    let found = loaded.validate(&[], &no_vars, UnsetVars::Warn);
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[test]
fn min_insync_points_at_the_topics_own_replication_factor() {
    // min.insync.replicas 2 comes from prod's defaults; the topic's own
    // replication factor of 2 is what breaks the rule there.
    let topic = "  user.thin: { replicationFactor: 2, description: d, consumers: [c] }\n";
    let found = violations_of(&spec("  minInsyncReplicas: {}", topic));
    let [v] = &found[..] else { panic!("{found:#?}") };
    assert_eq!(v.line_col, Some((18, 35)), "{v:#?}");
    assert!(
        v.finding.message.starts_with("topic `user.thin` has replication factor")
            || v.finding.message.starts_with("topic `user.thin` has min.insync.replicas 2"),
        "{v:#?}"
    );
    assert!(v.finding.help.as_deref().unwrap().contains("topics.user.thin.waivers"));
}

#[test]
fn contributed_topics_cannot_waive_and_their_readers_count() {
    use crate::spec::parse_contribution;
    let loaded =
        parse("t.yaml", &spec("  consumers: {}\n  partitions: { min: 3 }", "  user.placed: { description: d }\n"))
            .unwrap();
    let refused = loaded.resolve("prod", &no_vars).unwrap_err();
    assert!(refused.iter().any(|l| l.finding.rule == Some(RuleId::Consumers)), "{refused:#?}");
    // A release that only reads the topic names its group: that counts.
    let reader = parse_contribution(
        "ConfigMap shop/billing-topics",
        "2026-01-01T00:00:00Z",
        "configmap/shop/billing-topics/topics.yaml",
        "topics:\n  user.placed: { consumers: [billing-service] }\n",
    )
    .unwrap();
    loaded.resolve_with("prod", &no_vars, std::slice::from_ref(&reader)).expect("the release's reader counts");
    // A release cannot waive the platform's rules for its own topic.
    let lax = parse_contribution(
        "ConfigMap shop/lax-topics",
        "2026-01-02T00:00:00Z",
        "configmap/shop/lax-topics/topics.yaml",
        "topics:\n  user.lax:\n    partitions: 1\n    description: d\n    consumers: [c]\n    waivers: [{ rule: partitions, reason: ours }]\n",
    )
    .unwrap();
    let refused = loaded.resolve_with("prod", &no_vars, &[reader, lax]).unwrap_err();
    let errors: Vec<_> = refused.iter().filter(|l| l.finding.is_error()).collect();
    assert!(
        errors.iter().any(|l| l.finding.message
            == "topic `user.lax` carries waivers, and a contributed topic cannot waive a policy rule"
            && l.elsewhere.as_ref().unwrap().name.contains("lax-topics")),
        "{refused:#?}"
    );
    assert!(
        errors.iter().any(|l| l.finding.rule == Some(RuleId::Partitions) && l.finding.waived.is_none()),
        "the violation stands: {refused:#?}"
    );
}
