//! Unit tests of loading, merging and validation, without files or brokers.

use super::*;

const SPEC: &str = r#"
version: 1
defaults:
  partitions: 6
  replicationFactor: 3
  config: { retention.ms: 7d, cleanup.policy: delete }
environments:
  local:
    cluster: { type: kafka, bootstrapServers: ["localhost:9092"] }
    defaults: { partitions: 3, replicationFactor: 1, config: { segment.ms: 1h } }
    topics:
      audit.log: { partitions: 2, config: { retention.ms: "${AUDIT_RETENTION:-30d}" } }
topics:
  user.created: {}
  audit.log:
    partitions: 12
    config: { cleanup.policy: compact, retention.ms: 90d }
"#;

fn no_vars(_: &str) -> Option<String> {
    None
}

fn resolved(vars: VarLookup) -> ResolvedEnvironment {
    parse("t.yaml", SPEC).unwrap().resolve("local", vars).map_err(|f| format!("{f:?}")).unwrap().0
}

fn topic<'a>(env: &'a ResolvedEnvironment, name: &str) -> &'a DesiredTopic {
    env.topics.iter().find(|t| t.name == name).unwrap()
}

#[test]
fn layers_merge_in_order_and_configs_key_by_key() {
    let env = resolved(&no_vars);
    // defaults(6) <- env defaults(3): the env default wins for a plain topic.
    let user = topic(&env, "user.created");
    assert_eq!((user.partitions, user.replication_factor), (3, Some(1)));
    assert_eq!(user.config["retention.ms"], "604800000");
    assert_eq!(user.config["segment.ms"], "3600000");
    // topic(12) beats env defaults(3); env override(2) beats the topic.
    let audit = topic(&env, "audit.log");
    assert_eq!(audit.partitions, 2);
    // Config merges key by key: topic's compact, env override's retention
    // (its ${VAR} default), env defaults' segment.ms.
    assert_eq!(audit.config["cleanup.policy"], "compact");
    assert_eq!(audit.config["retention.ms"], "2592000000");
    assert_eq!(audit.config["segment.ms"], "3600000");
}

#[test]
fn config_values_expand_variables() {
    let env = resolved(&|name| (name == "AUDIT_RETENTION").then(|| "2d".to_owned()));
    assert_eq!(topic(&env, "audit.log").config["retention.ms"], "172800000");
}

#[test]
fn unset_variables_warn_in_validate_and_fail_when_used() {
    let spec = SPEC.replace("${AUDIT_RETENTION:-30d}", "${AUDIT_RETENTION}");
    let loaded = parse("t.yaml", &spec).unwrap();
    let warn = loaded.validate(&[], &no_vars, UnsetVars::Warn);
    assert_eq!(warn.len(), 1, "{warn:?}");
    assert_eq!(warn[0].finding.severity, Severity::Warning);
    assert_eq!(warn[0].line_col, Some((12, 59)));
    let failed = loaded.resolve("local", &no_vars).unwrap_err();
    assert!(failed.iter().any(|l| l.finding.is_error() && l.finding.message.contains("AUDIT_RETENTION")));
}

#[test]
fn the_same_finding_from_several_environments_is_reported_once() {
    let spec = SPEC.replace("retention.ms: 7d", "retention.ms: soon").replace(
        "topics:\n  user.created",
        "  other:\n    cluster: { type: kafka, bootstrapServers: [\"localhost:9093\"] }\ntopics:\n  user.created",
    );
    let loaded = parse("t.yaml", &spec).unwrap();
    let found = loaded.validate(&[], &no_vars, UnsetVars::Warn);
    let bad: Vec<_> = found.iter().filter(|l| l.finding.message.contains("`soon`")).collect();
    assert_eq!(bad.len(), 1, "{found:#?}");
}
