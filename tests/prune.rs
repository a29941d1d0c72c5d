//! Deleting unmanaged topics needs `prune: true` AND `--allow-delete`. This
//! runs on a broker instance of its own, because deleting "everything not in
//! the spec" on the shared test broker would delete other tests' topics.

mod support;

use support::{apply, kafka_spec, plan_json, start_broker, topic_plan, Workspace};

#[test]
fn unmanaged_topics_are_deleted_only_with_prune_and_allow_delete() {
    let broker = start_broker("test-prune", support::test_port(100));
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
    apply(&with_prune, &["--allow-delete"]);
    let plan = plan_json(&with_prune, &["--allow-delete"]);
    assert_eq!(plan["summary"]["delete"], 0, "{plan:#}");
    assert!(plan["topics"].as_array().unwrap().iter().all(|t| t["topic"] != "old"));
    // Internal topics (__consumer_offsets may exist) are never deleted.
    assert!(plan["unmanaged"].as_array().unwrap().is_empty(), "{plan:#}");
}
