//! Integration tests against a real Apache Kafka broker (KRaft), started by
//! the test setup itself. Each test works under its own topic prefix.

mod support;

use predicates::prelude::*;
use support::terminal::Terminal;
use support::{apply, broker, kafka_spec, plan_json, topic_plan, topicform, unique_prefix, Workspace};

fn topics(prefix: &str, lines: &[(&str, &str)]) -> String {
    lines.iter().map(|(name, body)| format!("  {prefix}{name}: {body}\n")).collect()
}

#[test]
fn apply_creates_topics_and_second_plan_is_in_sync() {
    let p = unique_prefix("create");
    let ws = Workspace::new();
    let spec = ws.spec(&kafka_spec(
        broker(),
        "",
        &topics(
            &p,
            &[
                ("a", "{ partitions: 3, config: { retention.ms: 2d } }"),
                ("b", "{}"),
                ("c", "{ config: { cleanup.policy: compact } }"),
            ],
        ),
    ));
    topicform()
        .args(["plan", "-e", "test", "--detailed-exitcode", "-f"])
        .arg(&spec)
        .assert()
        .code(2)
        .stdout(predicate::str::contains("+ create"));
    let report = apply(&spec, &[]);
    assert!(report.contains("Apply: 3 succeeded, 0 failed, 0 skipped."), "{report}");
    let plan = plan_json(&spec, &[]);
    let a = topic_plan(&plan, &format!("{p}a"));
    assert_eq!(a["action"], "unchanged", "{plan:#}");
    assert_eq!(topic_plan(&plan, &format!("{p}c"))["action"], "unchanged");
    topicform().args(["plan", "-e", "test", "--detailed-exitcode", "-f"]).arg(&spec).assert().code(0);
    // A second apply is a no-op.
    topicform()
        .args(["apply", "-e", "test", "-f"])
        .arg(&spec)
        .assert()
        .success()
        .stderr(predicate::str::contains("In sync"));
}

#[test]
fn update_adds_partitions_and_changes_only_named_configs() {
    let p = unique_prefix("update");
    let ws = Workspace::new();
    // `gone` is dropped from v2, so v2's plan always has an unmanaged topic.
    let v1 = kafka_spec(
        broker(),
        "",
        &topics(&p, &[("t", "{ partitions: 2, config: { retention.ms: 1d, segment.ms: 12h } }"), ("gone", "{}")]),
    );
    let spec = ws.spec(&v1);
    apply(&spec, &[]);

    // v2: more partitions, another retention, and segment.ms no longer mentioned.
    let spec =
        ws.spec(&kafka_spec(broker(), "", &topics(&p, &[("t", "{ partitions: 4, config: { retention.ms: 3d } }")])));
    let plan = plan_json(&spec, &[]);
    let t = topic_plan(&plan, &format!("{p}t"));
    assert_eq!(t["action"], "update");
    assert_eq!(t["changes"][0], serde_json::json!({"kind": "addPartitions", "from": 2, "to": 4}));
    assert_eq!(
        t["changes"][1],
        serde_json::json!({"kind": "setConfig", "key": "retention.ms", "current": "86400000", "desired": "259200000"})
    );
    assert_eq!(t["drift"], serde_json::json!([{"key": "segment.ms", "value": "43200000"}]));
    let text = topicform().args(["plan", "-e", "test", "-f"]).arg(&spec).output().unwrap();
    // Other tests' topics on the shared broker are "unmanaged" here: redact them.
    let shared = vec![
        (p.as_str(), "[prefix]-"),
        (r"cluster [A-Za-z0-9_-]{22}", "cluster [id]"),
        (r"(?m)^  unmanaged: .*$", "  unmanaged: [other tests' topics]"),
        (r"\d+ unmanaged", "[n] unmanaged"),
        (r"(?s)<details><summary>Unmanaged topics.*?</details>", "[unmanaged topics]"),
        (r"(?m)^(\| 0 \| 1 \| 0 \| 0 \| 0 \|) \d+ \|$", "$1 [n] |"),
    ];
    insta::with_settings!({filters => shared.clone()}, {
        insta::assert_snapshot!("plan_text_update", String::from_utf8_lossy(&text.stdout));
    });
    let md = topicform().args(["plan", "-e", "test", "-o", "markdown", "-f"]).arg(&spec).output().unwrap();
    insta::with_settings!({filters => shared}, {
        insta::assert_snapshot!("plan_markdown_update", String::from_utf8_lossy(&md.stdout));
    });

    // The JSON plan, minus what depends on the shared broker's other topics.
    let mut json = plan_json(&spec, &[]);
    for volatile in ["clusterId", "stateFingerprint", "unmanaged", "notes"] {
        json.as_object_mut().unwrap().shift_remove(volatile);
    }
    json["summary"].as_object_mut().unwrap().shift_remove("unmanaged");
    let json = serde_json::to_string_pretty(&json).unwrap().replace(p.as_str(), "[prefix]-");
    insta::assert_snapshot!("plan_json_update", json);

    apply(&spec, &[]);
    let plan = plan_json(&spec, &[]);
    let t = topic_plan(&plan, &format!("{p}t"));
    assert_eq!(t["action"], "unchanged", "{plan:#}");
    // IncrementalAlterConfigs left the unmentioned key alone: it is still drift.
    assert_eq!(t["drift"], serde_json::json!([{"key": "segment.ms", "value": "43200000"}]));

    // --prune-config removes it, and then the topic is clean.
    let plan = plan_json(&spec, &["--prune-config"]);
    assert_eq!(
        topic_plan(&plan, &format!("{p}t"))["changes"][0],
        serde_json::json!({"kind": "deleteConfig", "key": "segment.ms", "current": "43200000"})
    );
    apply(&spec, &["--prune-config"]);
    let plan = plan_json(&spec, &["--prune-config"]);
    let t = topic_plan(&plan, &format!("{p}t"));
    assert_eq!(t["action"], "unchanged");
    assert!(t.get("drift").is_none(), "{t:#}");
}

#[test]
fn refused_changes_stop_the_whole_apply() {
    let p = unique_prefix("refuse");
    let ws = Workspace::new();
    let spec = ws.spec(&kafka_spec(broker(), "", &topics(&p, &[("shrink", "{ partitions: 3 }"), ("rf", "{}")])));
    apply(&spec, &[]);

    // shrink: 3 → 1 partitions (refused); rf: 1 → 2 replicas (refused);
    // new: would be created, but a refusal elsewhere stops everything.
    let spec = ws.spec(&kafka_spec(
        broker(),
        "",
        &topics(&p, &[("shrink", "{ partitions: 1 }"), ("rf", "{ replicationFactor: 2 }"), ("new", "{}")]),
    ));
    topicform()
        .args(["plan", "-e", "test", "-f"])
        .arg(&spec)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("! refused"))
        .stdout(predicate::str::contains("partitions cannot decrease (3 on the cluster, 1 in the spec)"))
        .stdout(predicate::str::contains("kafka-reassign-partitions.sh"))
        .stderr(predicate::str::contains("2 change(s) refused; nothing was applied"));
    topicform()
        .args(["apply", "-e", "test", "--auto-approve", "-f"])
        .arg(&spec)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nothing was applied"));
    // With JSON logs (a Kubernetes Job's) no plan is printed: each refusal is
    // an error event naming the topic and the reason.
    let out = topicform()
        .args(["apply", "-e", "test", "--auto-approve", "--log-format", "json", "-f"])
        .arg(&spec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let refusals: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["fields"]["message"] == "refused")
        .collect();
    assert_eq!(refusals.len(), 2, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(refusals.iter().all(|e| e["level"] == "ERROR"), "{refusals:?}");
    let reason_of = |topic: &str| {
        let event = refusals.iter().find(|e| e["fields"]["topic"] == format!("{p}{topic}"));
        event.map(|e| e["fields"]["reason"].as_str().unwrap_or_default().to_owned()).unwrap_or_default()
    };
    assert!(
        reason_of("shrink").contains("partitions cannot decrease (3 on the cluster, 1 in the spec)"),
        "{refusals:?}"
    );
    assert!(reason_of("rf").contains("replication"), "{refusals:?}");
    // The cluster is untouched: `new` was not created, `shrink` still has 3.
    let back = ws.spec(&kafka_spec(
        broker(),
        "",
        &topics(&p, &[("shrink", "{ partitions: 3 }"), ("rf", "{}"), ("new", "{}")]),
    ));
    let plan = plan_json(&back, &[]);
    assert_eq!(topic_plan(&plan, &format!("{p}new"))["action"], "create");
    assert_eq!(topic_plan(&plan, &format!("{p}shrink"))["action"], "unchanged");
}

#[test]
fn replication_beyond_the_brokers_is_refused_at_plan_time() {
    let p = unique_prefix("rf3");
    let ws = Workspace::new();
    let spec = ws.spec(&kafka_spec(broker(), "", &topics(&p, &[("x", "{ replicationFactor: 3 }")])));
    topicform()
        .args(["plan", "-e", "test", "-f"])
        .arg(&spec)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("replication factor 3 needs at least 3 brokers, but the cluster has 1"));
}

#[test]
fn apply_without_a_terminal_needs_auto_approve_and_changes_nothing() {
    let p = unique_prefix("approve");
    let ws = Workspace::new();
    let spec = ws.spec(&kafka_spec(broker(), "", &topics(&p, &[("x", "{}")])));
    topicform()
        .args(["apply", "-e", "test", "-f"])
        .arg(&spec)
        .write_stdin("yes\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--auto-approve"));
    topicform()
        .args(["apply", "-e", "test", "--dry-run", "-f"])
        .arg(&spec)
        .assert()
        .success()
        .stderr(predicate::str::contains("Dry run"));
    assert_eq!(topic_plan(&plan_json(&spec, &[]), &format!("{p}x"))["action"], "create");
}

#[test]
fn saved_plan_applies_and_a_stale_one_is_refused() {
    let p = unique_prefix("saved");
    let ws = Workspace::new();
    let spec = ws.spec(&kafka_spec(broker(), "", &topics(&p, &[("a", "{}")])));
    let saved = ws.path("plan.json");
    topicform().args(["plan", "-e", "test", "-f"]).arg(&spec).arg("--out").arg(&saved).assert().success();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(json["formatVersion"], 1);
    topicform()
        .args(["apply", "-e", "test", "--auto-approve", "-f"])
        .arg(&spec)
        .arg("--plan")
        .arg(&saved)
        .assert()
        .success();
    // The plan described a cluster without `a`; now `a` exists: stale.
    topicform()
        .args(["apply", "-e", "test", "--auto-approve", "-f"])
        .arg(&spec)
        .arg("--plan")
        .arg(&saved)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is stale"));
}

#[test]
fn pinned_cluster_id_must_match() {
    let p = unique_prefix("pin");
    let ws = Workspace::new();
    let spec = ws.spec(&kafka_spec(broker(), "    clusterId: not-this-cluster\n", &topics(&p, &[("a", "{}")])));
    topicform()
        .args(["plan", "-e", "test", "-f"])
        .arg(&spec)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("pins cluster id `not-this-cluster`, but the brokers report"));
}

#[test]
fn export_round_trips_to_an_in_sync_plan() {
    let p = unique_prefix("export");
    let ws = Workspace::new();
    let spec = ws.spec(&kafka_spec(
        broker(),
        "",
        &topics(
            &p,
            &[
                ("a", "{ partitions: 2, config: { retention.ms: 36h } }"),
                ("b", "{ config: { cleanup.policy: compact } }"),
            ],
        ),
    ));
    apply(&spec, &[]);
    let out = topicform()
        .args(["export", "-e", "test", "--include"])
        .arg(format!("^{p}"))
        .arg("-f")
        .arg(&spec)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let exported = String::from_utf8(out.stdout).unwrap();
    assert!(exported.contains("retention.ms: 36h"), "{exported}");
    assert!(!exported.contains("__consumer_offsets"), "{exported}");
    let exported_spec = ws.file("exported.yaml", &exported);
    topicform().args(["validate", "-f"]).arg(&exported_spec).assert().success();
    let plan = plan_json(&exported_spec, &[]);
    assert_eq!(plan["summary"]["create"], 0, "{plan:#}");
    assert_eq!(plan["summary"]["update"], 0, "{plan:#}");
    assert_eq!(plan["summary"]["unchanged"], 2, "{plan:#}");
}

#[test]
fn example_platform_applies_to_local_and_is_then_in_sync() {
    let ws = Workspace::new();
    let example = std::fs::read_to_string(support::repo().join("examples/etelios/topicform.yaml")).unwrap();
    assert!(
        example.contains(r#"bootstrapServers: ["${KAFKA_BROKERS:-localhost:9092}"]"#),
        "the example's local environment moved"
    );
    // The services' KAFKA_BROKERS points the example at the test broker, as
    // the Helm Job's environment does in a cluster.
    let spec = ws.spec(&example);
    topicform()
        .args(["apply", "-e", "local", "--auto-approve", "-f"])
        .arg(&spec)
        .env("KAFKA_BROKERS", broker())
        .assert()
        .success();
    let out = topicform()
        .args(["plan", "-e", "local", "-o", "json", "--detailed-exitcode", "-f"])
        .env("KAFKA_BROKERS", broker())
        .arg(&spec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["summary"]["unchanged"], 35);
}

/// On a terminal, apply shows the plan and asks; only `yes` applies.
#[test]
fn apply_on_a_terminal_asks_and_only_yes_applies() {
    let p = unique_prefix("tty");
    let ws = Workspace::new();
    let spec = ws.spec(&kafka_spec(broker(), "", &topics(&p, &[("x", "{}")])));
    let run = |answer: &str| {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("topicform"));
        command.args(["apply", "-e", "test", "-f"]).arg(&spec).env("NO_COLOR", "1").env_remove("RUST_LOG");
        let mut terminal = Terminal::spawn(command, &spec.with_extension("terminal.out"));
        terminal.wait_for("Only 'yes' is accepted", std::time::Duration::from_secs(60));
        terminal.type_line(answer);
        terminal.wait(std::time::Duration::from_secs(90))
    };
    let (code, screen) = run("no");
    assert_eq!(code, Some(1), "{screen}");
    assert!(screen.contains("apply cancelled; nothing was changed"), "{screen}");
    assert_eq!(topic_plan(&plan_json(&spec, &[]), &format!("{p}x"))["action"], "create");

    let (code, screen) = run("yes");
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("Apply: 1 succeeded, 0 failed, 0 skipped."), "{screen}");
    assert_eq!(topic_plan(&plan_json(&spec, &[]), &format!("{p}x"))["action"], "unchanged");
}

/// What the broker would refuse is refused by `plan` (each write is sent
/// with `validate_only`), with the broker's own message, for creates and
/// for config changes alike: apply changes nothing rather than half the
/// spec. Fixing the spec converges.
#[test]
fn what_the_broker_would_refuse_is_refused_in_the_plan_with_its_message() {
    let p = unique_prefix("reject");
    let ws = Workspace::new();
    // Both pass validate (an unknown key is only a warning; 1000 is above
    // Kafka's documented floor for older brokers); this broker refuses both.
    let spec = ws.spec(&kafka_spec(
        broker(),
        "",
        &topics(
            &p,
            &[
                ("good", "{}"),
                ("seg", "{ config: { segment.bytes: 1000 } }"),
                ("typo", "{ config: { retention.msx: 1000 } }"),
            ],
        ),
    ));
    for command in [&["plan"][..], &["apply", "--auto-approve"]] {
        let out = topicform().args(command).args(["-e", "test", "-f"]).arg(&spec).output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let shown = if command[0] == "plan" { &stdout } else { &stderr };
        assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
        assert!(shown.contains(&format!("! refused {p}seg")), "{shown}");
        assert!(shown.contains("the cluster would refuse it: Broker: Configuration is invalid: Invalid value 1000 for configuration segment.bytes"), "{shown}");
        assert!(shown.contains("Unknown topic config name: retention.msx"), "{shown}");
        assert!(stderr.contains("2 change(s) refused; nothing was applied"), "{stderr}");
    }
    let plan = plan_json(&ws.spec(&kafka_spec(broker(), "", &topics(&p, &[("good", "{}")]))), &[]);
    assert_eq!(topic_plan(&plan, &format!("{p}good"))["action"], "create", "nothing was created");

    // Config changes of existing topics are asked about too
    // (IncrementalAlterConfigs with validate_only).
    let good = ws.spec(&kafka_spec(broker(), "", &topics(&p, &[("good", "{}")])));
    apply(&good, &[]);
    let spec = ws.spec(&kafka_spec(broker(), "", &topics(&p, &[("good", "{ config: { segment.bytes: 1000 } }")])));
    topicform()
        .args(["apply", "-e", "test", "--auto-approve", "-f"])
        .arg(&spec)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("! refused {p}good")))
        .stderr(predicate::str::contains("for configuration segment.bytes"));

    let spec = ws.spec(&kafka_spec(broker(), "", &topics(&p, &[("good", "{ config: { segment.bytes: 1048576 } }")])));
    apply(&spec, &[]);
    topicform().args(["plan", "-e", "test", "--detailed-exitcode", "-f"]).arg(&spec).assert().code(0);
}

/// `clientConfig` passes librdkafka properties through; an unknown one is
/// named by librdkafka before anything is sent.
#[test]
fn client_config_reaches_librdkafka() {
    let p = unique_prefix("clientcfg");
    let ws = Workspace::new();
    let tuned = ws.spec(&kafka_spec(
        broker(),
        "",
        &topics(&p, &[("t", "{}")]),
    ).replace(
        "      type: kafka\n",
        "      type: kafka\n      clientConfig: { socket.timeout.ms: 45000, client.rack: rack-a, request.timeout.ms: \"${TF_TIMEOUT_MS:-40000}\" }\n",
    ));
    apply(&tuned, &[]);
    let wrong = ws.file(
        "wrong.yaml",
        &kafka_spec(broker(), "", &topics(&p, &[("t", "{}")]))
            .replace("      type: kafka\n", "      type: kafka\n      clientConfig: { no.such.property: 1 }\n"),
    );
    topicform()
        .args(["plan", "-e", "test", "-f"])
        .arg(&wrong)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("No such configuration property: \"no.such.property\""));
}

/// A KRaft controller refuses one operation of more than 10,000 metadata
/// records ("Policy violation: Unable to perform excessively large batch
/// operation"); each new topic is one record, plus one per partition and per
/// config. 800 topics of 2 partitions and 10 configs are 10,400 records:
/// apply (and plan's validation) must cut them into requests the controller
/// takes, not refuse topics the cluster would create.
#[test]
fn a_create_over_the_controllers_records_per_request_is_split_not_refused() {
    let p = unique_prefix("records");
    let config = "{ partitions: 2, config: { cleanup.policy: delete, retention.ms: 2d, retention.bytes: 1073741824, \
                  segment.bytes: 104857600, segment.ms: 1d, max.message.bytes: 1048588, min.insync.replicas: 1, \
                  compression.type: producer, delete.retention.ms: 1d, min.cleanable.dirty.ratio: 0.5 } }";
    let topics: String = (0..800).map(|i| format!("  {p}{i:03}: {config}\n")).collect();
    let ws = Workspace::new();
    let spec = ws.spec(&kafka_spec(broker(), "", &topics));
    let report = apply(&spec, &["--timeout", "120"]);
    assert!(report.contains("Apply: 800 succeeded, 0 failed, 0 skipped."), "{report}");
    topicform().args(["plan", "-e", "test", "--detailed-exitcode", "-f"]).arg(&spec).assert().code(0);
}
