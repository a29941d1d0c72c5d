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
