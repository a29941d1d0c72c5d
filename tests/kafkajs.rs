//! `env --client kafkajs` in use: a real kafkajs 2.2.4 client (the example
//! platform's library; deploy/tools/kafkajs.sh installs it from npm), set up
//! from `topicform env` and the module `topicform env --client kafkajs`
//! prints for an Event Hubs environment, round-trips a message through the
//! local SASL_SSL listener as Event Hubs' `$ConnectionString` PLAIN user.
//! Never skipped: without Node.js or kafkajs the test fails, saying how to
//! install them.

mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use support::{secure_broker, topicform, unique_prefix, Workspace};

/// kafkajs' node_modules directory, checked to hold the pinned version.
fn kafkajs_modules() -> PathBuf {
    let tools = std::env::var_os("TOPICFORM_TOOLS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/topicform/tools")
    });
    let modules = tools.join("kafkajs/node_modules");
    let manifest = std::fs::read_to_string(modules.join("kafkajs/package.json")).unwrap_or_else(|e| {
        panic!(
            "kafkajs is not installed at {} ({e}): run `bash deploy/tools/kafkajs.sh` (deploy/setup.sh --tools does, and deploy/test.sh runs that)",
            modules.display()
        )
    });
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest["version"], "2.2.4", "run `bash deploy/tools/kafkajs.sh` to install the pinned kafkajs");
    modules
}

#[test]
fn a_kafkajs_client_set_up_by_env_client_round_trips_over_sasl_ssl() {
    let modules = kafkajs_modules();
    let b = secure_broker();
    let ws = Workspace::new();
    let topic = format!("{}events", unique_prefix("kafkajs"));
    // One listener, two views: `admin` (Kafka, a PLAIN user) creates the
    // topic; `hubs` is an Event Hubs environment whose Kafka endpoint is
    // that listener, as the services see it.
    let spec = ws.spec(&format!(
        r#"version: 1
defaults: {{ partitions: 2, replicationFactor: 1 }}
environments:
  admin:
    cluster:
      type: kafka
      bootstrapServers: ["{sasl_ssl}"]
      tls: {{ caFile: "{ca}" }}
      sasl: {{ mechanism: PLAIN, username: {{ env: TF_USER }}, password: {{ env: TF_PASSWORD }} }}
  hubs:
    cluster:
      type: eventhubs
      namespace: etelios-test
      tier: premium
      subscriptionId: sub
      resourceGroup: rg
      bootstrapServers: ["{sasl_ssl}"]
      tls: {{ caFile: "{ca}" }}
      kafka: {{ mechanism: PLAIN, connectionString: {{ env: TF_CONNECTION_STRING }} }}
topics:
  {topic}: {{}}
"#,
        sasl_ssl = b.sasl_ssl,
        ca = b.ca.display()
    ));
    topicform()
        .args(["apply", "-e", "admin", "--auto-approve", "-f"])
        .arg(&spec)
        .env("TF_USER", &b.credentials["PLAIN_USER"])
        .env("TF_PASSWORD", &b.credentials["PLAIN_PASSWORD"])
        .assert()
        .success();

    let connection_string = &b.credentials["EVENTHUBS_CONNECTION_STRING"];
    let out = topicform().args(["env", "-e", "hubs", "--client", "kafkajs", "-f"]).arg(&spec).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let module = ws.file("kafkajs.config.js", &String::from_utf8(out.stdout).unwrap());
    let out = topicform()
        .args(["env", "-e", "hubs", "--format", "json", "--reveal-secrets", "-f"])
        .arg(&spec)
        .env("TF_CONNECTION_STRING", connection_string)
        .reveals(connection_string)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let vars: serde_json::Map<String, Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(vars["KAFKA_SASL_USERNAME"], "$ConnectionString");

    let mut node = Command::new("node");
    node.arg(support::repo().join("tests/kafkajs/roundtrip.js"))
        .env("NODE_PATH", &modules)
        .env("KAFKA_CLIENT_CONFIG", &module)
        .env("KAFKA_SSL_CA_LOCATION", &b.ca)
        .env("TOPIC", &topic)
        .env("GROUP", format!("{topic}-reader"));
    for (name, value) in &vars {
        node.env(name, value.as_str().unwrap());
    }
    let out = node.output().unwrap_or_else(|e| {
        panic!("cannot run node ({e}): install Node.js (deploy/setup.sh does: apt-get install nodejs npm)")
    });
    let stderr = support::secrets::redact(&String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the kafkajs round trip failed:\n{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(report["received"]["partition"], report["sent"]["partition"], "{report}");
    assert_eq!(report["received"]["offset"], report["sent"]["offset"], "{report}");
    // What kafkajs was given: the Event Hubs values, in kafkajs' names.
    assert_eq!(
        report["settings"],
        serde_json::json!({
            "client": { "requestTimeout": 60000 },
            "producer": { "metadataMaxAge": 180000 },
            "consumer": { "metadataMaxAge": 180000, "sessionTimeout": 30000 }
        })
    );
}
