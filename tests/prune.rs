//! Deleting unmanaged topics needs `prune: true` AND `--allow-delete`. This
//! runs on a broker instance of its own, because deleting "everything not in
//! the spec" on the shared test broker would delete other tests' topics.

mod support;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use support::{apply, kafka_spec, plan_json, start_broker, topic_plan, topicform, Workspace};

/// Both tests prune the same broker: one at a time.
static BROKER_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Creates topics behind topicform's back (it refuses internal names).
fn create_directly(broker: &str, names: &[&str]) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", broker).create().expect("admin client");
    let topics: Vec<NewTopic> = names.iter().map(|n| NewTopic::new(n, 1, TopicReplication::Fixed(1))).collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let results = rt.block_on(admin.create_topics(&topics, &AdminOptions::new())).expect("create topics");
    for r in results {
        match r {
            Ok(_) | Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err(e) => panic!("creating {e:?}"),
        }
    }
}

#[test]
fn unmanaged_topics_are_deleted_only_with_prune_and_allow_delete() {
    let _one_at_a_time = BROKER_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let broker = start_broker("test-prune", support::test_port(100));
    create_directly(&broker, &["_schemas", "__probe-internal"]);
    let ws = Workspace::new();
    let both = ws.spec(&kafka_spec(&broker, "", "  keep: {}\n  old: {}\n"));
    apply(&both, &[]);

    let without_prune = ws.file("a.yaml", &kafka_spec(&broker, "", "  keep: {}\n"));
    let plan = plan_json(&without_prune, &["--allow-delete"]);
    assert_eq!(plan["summary"]["delete"], 0);
    assert!(plan["unmanaged"].as_array().unwrap().contains(&"old".into()));

    let with_prune = ws.file("b.yaml", &kafka_spec(&broker, "    prune: true\n", "  keep: {}\n"));
    let plan = plan_json(&with_prune, &[]);
    assert_eq!(plan["summary"]["delete"], 0, "prune alone must not delete: {plan:#}");

    let plan = plan_json(&with_prune, &["--allow-delete"]);
    assert_eq!(topic_plan(&plan, "old")["action"], "delete");

    // A plan saved with --allow-delete needs --allow-delete again to apply.
    let saved = ws.path("delete-plan.json");
    topicform()
        .args(["plan", "-e", "test", "--allow-delete", "-f"])
        .arg(&with_prune)
        .arg("--out")
        .arg(&saved)
        .assert()
        .success();
    topicform()
        .args(["apply", "-e", "test", "--auto-approve", "-f"])
        .arg(&with_prune)
        .arg("--plan")
        .arg(&saved)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("was made with --allow-delete"));
    // An edited plan file cannot smuggle in a delete of a kept topic.
    let text = std::fs::read_to_string(&saved).unwrap().replace("\"topic\": \"old\"", "\"topic\": \"keep\"");
    let edited = ws.file("edited.json", &text);
    topicform()
        .args(["apply", "-e", "test", "--auto-approve", "--allow-delete", "-f"])
        .arg(&with_prune)
        .arg("--plan")
        .arg(&edited)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("is stale"));

    apply(&with_prune, &["--allow-delete"]);
    let plan = plan_json(&with_prune, &["--allow-delete"]);
    assert_eq!(plan["summary"]["delete"], 0, "{plan:#}");
    assert!(plan["topics"].as_array().unwrap().iter().all(|t| t["topic"] != "old"));
    // Internal topics are never listed, let alone deleted.
    assert!(plan["unmanaged"].as_array().unwrap().is_empty(), "{plan:#}");
    let all = support::plan_json(&both, &[]);
    assert!(!all.to_string().contains("_schemas") && !all.to_string().contains("__probe-internal"), "{all:#}");
    assert_eq!(topic_plan(&all, "old")["action"], "create", "old was deleted: {all:#}");
}

/// A topic with `retention.ms` overridden, created behind topicform's back.
fn create_with_retention(broker: &str, name: &str, retention_ms: &str) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", broker).create().expect("admin client");
    let topic = NewTopic::new(name, 1, TopicReplication::Fixed(1)).set("retention.ms", retention_ms);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for r in rt.block_on(admin.create_topics([&topic], &AdminOptions::new())).expect("create topics") {
        match r {
            Ok(_) | Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err(e) => panic!("creating {e:?}"),
        }
    }
}

/// Each topic's `retention.ms` override, read back from the broker.
fn retention_overrides(broker: &str, names: &[&str]) -> Vec<Option<String>> {
    use rdkafka::admin::{ConfigSource, ResourceSpecifier};
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", broker).create().expect("admin client");
    let specs: Vec<ResourceSpecifier> = names.iter().map(|n| ResourceSpecifier::Topic(n)).collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let results = rt.block_on(admin.describe_configs(&specs, &AdminOptions::new())).expect("describe configs");
    results
        .into_iter()
        .map(|r| {
            let resource = r.expect("the topic exists");
            let entry = resource.get("retention.ms");
            entry.filter(|e| e.source == ConfigSource::DynamicTopic).and_then(|e| e.value.clone())
        })
        .collect()
}

#[test]
fn foreign_topics_survive_apply_with_allow_delete_and_prune_config() {
    let _one_at_a_time = BROKER_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let broker = start_broker("test-prune", support::test_port(100));
    // Team B's topic, and a stale one of team A's, both made elsewhere;
    // team A's kept topic carries an override its spec does not name.
    create_with_retention(&broker, "team-b.ledger", "3600000");
    create_with_retention(&broker, "team-a.kept", "7200000");
    create_directly(&broker, &["team-a.stale"]);
    let ws = Workspace::new();
    let team_a = ws.spec(&kafka_spec(&broker, "    prune: true\n    owns: [\"team-a.*\"]\n", "  team-a.kept: {}\n"));

    let plan = plan_json(&team_a, &["--allow-delete", "--prune-config"]);
    assert_eq!(plan["foreign"].as_array().unwrap().iter().filter(|t| *t == "team-b.ledger").count(), 1, "{plan:#}");
    assert!(plan["topics"].as_array().unwrap().iter().all(|t| t["topic"] != "team-b.ledger"), "{plan:#}");
    assert_eq!(topic_plan(&plan, "team-a.stale")["action"], "delete");

    let text = topicform()
        .args(["plan", "-e", "test", "--allow-delete", "--prune-config", "-f"])
        .arg(&team_a)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    // (`keep`, the other test's topic on this broker, is outside the scope too.)
    let foreign = text.lines().find(|l| l.contains("foreign (another team's, never changed):")).unwrap_or_default();
    assert!(foreign.contains("team-b.ledger") && !foreign.contains("team-a."), "{text}");
    assert!(text.contains(" foreign."), "the summary counts them: {text}");

    let out = apply(&team_a, &["--allow-delete", "--prune-config"]);
    assert!(out.contains("Apply: 2 succeeded, 0 failed"), "{out}");
    assert_eq!(
        retention_overrides(&broker, &["team-b.ledger", "team-a.kept"]),
        [Some("3600000".to_owned()), None],
        "team B's topic and its override stay; team A's own override is pruned"
    );
    // team-a.stale is gone, and team B's topic is still there to plan against.
    let everything = ws.file(
        "all.yaml",
        &kafka_spec(&broker, "", "  team-a.stale: {}\n  team-b.ledger: { config: { retention.ms: 1h } }\n"),
    );
    let again = plan_json(&everything, &[]);
    assert_eq!(topic_plan(&again, "team-a.stale")["action"], "create", "{again:#}");
    assert_eq!(topic_plan(&again, "team-b.ledger")["action"], "unchanged", "{again:#}");
}
