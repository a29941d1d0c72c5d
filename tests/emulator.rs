//! `export --format eventhubs-emulator`: the Azure Event Hubs emulator's
//! Config.json, checked against the emulator's own schema and documented
//! limits (tests/testdata/emulator/, with its source). The emulator needs
//! Docker and cannot run here.

mod support;

use predicates::prelude::*;
use serde_json::Value;
use support::topicform;

/// The emulator's schema, its name pattern read as .NET reads it: in
/// `[\w-\.\/]` a `-` after a class escape is a literal there, while
/// ECMA-262's unicode mode and Rust's regex refuse the class, so it is
/// written `[\w\-.\/]` (the same four kinds of character) before compiling.
fn emulator_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(support::repo().join("tests/testdata/emulator/Config-schema.json")).unwrap();
    let dotnet_class = r"[\\w-\\.\\/]";
    assert_eq!(text.matches(dotnet_class).count(), 2, "the emulator's name patterns changed");
    let text = text.replace(dotnet_class, r"[\\w\\-.\\/]");
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("the emulator's schema compiles")
}

fn problems(config: &Value) -> Vec<String> {
    emulator_schema().iter_errors(config).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn the_schema_accepts_microsofts_sample_and_refuses_what_the_emulator_would() {
    let sample = std::fs::read_to_string(support::repo().join("tests/testdata/emulator/Config.sample.json")).unwrap();
    let sample: Value = serde_json::from_str(&sample).unwrap();
    assert_eq!(problems(&sample), Vec::<String>::new());
    // The checks the export relies on: 11 event hubs, 33 partitions, a
    // string partition count (the pre-1.2.4 form), a name ending in `-`.
    let mut bad = sample.clone();
    let hub = bad["UserConfig"]["NamespaceConfig"][0]["Entities"][0].clone();
    bad["UserConfig"]["NamespaceConfig"][0]["Entities"] = Value::Array(vec![hub; 11]);
    assert_eq!(problems(&bad).len(), 1, "{:?}", problems(&bad));
    let mut bad = sample.clone();
    bad["UserConfig"]["NamespaceConfig"][0]["Entities"][0]["PartitionCount"] = 33.into();
    assert_eq!(problems(&bad).len(), 1);
    bad["UserConfig"]["NamespaceConfig"][0]["Entities"][0]["PartitionCount"] = "2".into();
    assert_eq!(problems(&bad).len(), 1);
    let mut bad = sample;
    bad["UserConfig"]["NamespaceConfig"][0]["Entities"][0]["Name"] = "orders-".into();
    assert_eq!(problems(&bad).len(), 1);
}

#[test]
fn the_examples_topics_export_within_every_limit_once_narrowed() {
    let example = "examples/etelios/topicform.yaml";
    // All 35 do not fit in 10 event hubs: refused, nothing written.
    topicform()
        .args(["export", "-e", "local", "--format", "eventhubs-emulator", "-f", example])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("35 topics selected, and the emulator holds at most 10 event hubs"));
    // The user and employee streams a developer of those services needs.
    let out = topicform()
        .args([
            "export",
            "-e",
            "local",
            "--format",
            "eventhubs-emulator",
            "--include",
            r"^(user|employee)\.",
            "-f",
            example,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(problems(&config), Vec::<String>::new(), "{config:#}");
    let hubs = config["UserConfig"]["NamespaceConfig"][0]["Entities"].as_array().unwrap();
    assert_eq!(hubs.len(), 9);
    let login = hubs.iter().find(|h| h["Name"] == "user.login").unwrap();
    assert_eq!(login["PartitionCount"], 12, "the environment's own partition count");
    let groups: Vec<&str> =
        login["ConsumerGroups"].as_array().unwrap().iter().map(|g| g["Name"].as_str().unwrap()).collect();
    assert_eq!(groups, ["notification-service", "analytics-service"]);
    assert!(hubs
        .iter()
        .all(|h| h["ConsumerGroups"].as_array().is_none_or(|g| g.iter().all(|g| g["Name"] != "$Default"))));
}

#[test]
fn prods_partition_counts_are_refused_by_name() {
    // prod gives attendance.checkin 32 partitions (allowed) and nothing
    // more; a spec with 48 names the topic and the limit.
    let ws = support::Workspace::new();
    let spec = ws.spec(
        "version: 1
defaults: { partitions: 48, replicationFactor: 1 }
environments:
  dev:
    cluster: { type: kafka, bootstrapServers: [\"localhost:9092\"] }
topics:
  orders.placed: {}
",
    );
    topicform()
        .args(["export", "-e", "dev", "--format", "eventhubs-emulator", "-f"])
        .arg(&spec)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`orders.placed`: 48 partitions, and the emulator allows at most 32"));
}

/// The emulator's Kafka endpoint as Microsoft documents it: SASL_PLAINTEXT,
/// PLAIN, the user `$ConnectionString` and its fixed connection string.
/// deploy/local/secure.sh gives its SASL_PLAINTEXT listener that user, so
/// the environment the README shows for the emulator is run, verbatim but
/// for the port, through `check` and `lag`.
#[test]
fn the_readmes_emulator_environment_works_for_check_and_lag() {
    const EMULATOR_CONNECTION_STRING: &str = "Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;";
    let readme = std::fs::read_to_string(support::repo().join("README.md")).unwrap();
    let start =
        readme.find("```yaml\n  emulator:\n").expect("the README shows the emulator environment") + "```yaml\n".len();
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    assert!(block.contains("Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;"));
    let b = support::secure_broker();
    let environment = block.replace("localhost:9092", &b.sasl_plaintext);
    assert_ne!(environment, block, "the README's block names the emulator's port 9092");
    let topic = format!("{}heartbeats", support::unique_prefix("emulator"));
    let ws = support::Workspace::new();
    let spec = ws.spec(&format!(
        "version: 1\ndefaults: {{ partitions: 2, replicationFactor: 1 }}\nenvironments:\n  admin:\n    cluster: {{ type: kafka, bootstrapServers: [\"localhost:{}\"] }}\n{environment}topics:\n  {topic}: {{ consumers: [{topic}-reader] }}\n",
        support::test_port(200)
    ));
    // The emulator makes its event hubs from Config.json; here the plain
    // listener of the same broker creates the topic.
    topicform().args(["apply", "-e", "admin", "--auto-approve", "-f"]).arg(&spec).assert().success();
    let emulator_env = [
        ("EVENTHUBS_EMULATOR_USER", "$ConnectionString"),
        ("EVENTHUBS_EMULATOR_CONNECTION_STRING", EMULATOR_CONNECTION_STRING),
    ];
    topicform()
        .args(["check", "-e", "emulator", "--roundtrip", &topic, "-f"])
        .arg(&spec)
        .envs(emulator_env)
        .assert()
        .success()
        .stdout(predicate::str::contains("authenticated with PLAIN"))
        .stdout(predicate::str::contains("✓ roundtrip  produced to"));
    let out =
        topicform().args(["lag", "-e", "emulator", "-o", "json", "-f"]).arg(&spec).envs(emulator_env).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let group = &report["groups"][0];
    assert_eq!(group["group"], format!("{topic}-reader"), "{report:#}");
    let ends: i64 = group["partitions"].as_array().unwrap().iter().map(|p| p["end"].as_i64().unwrap()).sum();
    assert_eq!(ends, 1, "the round trip's one message: {report:#}");
}
