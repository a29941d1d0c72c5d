//! `topicform check`: every step against the real test broker, and each
//! failure class it can produce without TLS/SASL listeners.

mod support;

use predicates::prelude::*;
use support::{apply, broker, kafka_spec, topicform, unique_prefix, Workspace};

#[test]
fn a_reachable_broker_passes_every_step_including_a_roundtrip() {
    let p = unique_prefix("check");
    let ws = Workspace::new();
    let spec = ws.spec(&kafka_spec(broker(), "", &format!("  {p}rt: {{}}\n")));
    apply(&spec, &[]);
    let out = topicform()
        .args(["check", "-e", "test", "-o", "json", "--roundtrip"])
        .arg(format!("{p}rt"))
        .arg("-f")
        .arg(&spec)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let status: Vec<(&str, &str)> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        status,
        [
            ("dns", "ok"),
            ("tcp", "ok"),
            ("tls", "skipped"),
            ("sasl", "skipped"),
            ("metadata", "ok"),
            ("roundtrip", "ok")
        ]
    );
    assert_eq!(report["cluster"]["controllerId"], 1);
    assert!(report["cluster"]["clusterId"].as_str().is_some_and(|id| id.len() == 22), "{report:#}");

    // The same check from the service's point of view: its KAFKA_* variables.
    topicform()
        .args(["check", "--from-env", "--roundtrip"])
        .arg(format!("{p}rt"))
        .env("KAFKA_BROKERS", broker())
        .env("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
        .assert()
        .success()
        .stdout(predicate::str::contains("OK: a service with this configuration can connect."));
}

fn from_env_fails(vars: &[(&str, &str)], step: &str, cause: &str) {
    let mut cmd = topicform();
    cmd.args(["check", "--from-env", "--timeout", "5"]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let line = stdout.lines().find(|l| l.contains("✗")).unwrap_or_else(|| panic!("no failed step:\n{stdout}"));
    assert!(line.contains(step), "expected step {step}: {line}");
    assert!(stdout.contains(cause), "expected cause `{cause}`:\n{stdout}");
    assert!(stderr.contains(&format!("check failed at step `{step}`")), "{stderr}");
}

#[test]
fn unknown_host_fails_at_dns() {
    from_env_fails(&[("KAFKA_BROKERS", "no-such-broker.invalid:9092")], "dns", "does not resolve (unknown host)");
}

#[test]
fn closed_port_fails_at_tcp() {
    from_env_fails(&[("KAFKA_BROKERS", "127.0.0.1:1")], "tcp", "nothing listens on 127.0.0.1:1");
}

#[test]
fn tls_against_a_plaintext_listener_names_the_mismatch() {
    from_env_fails(
        &[("KAFKA_BROKERS", broker()), ("KAFKA_SECURITY_PROTOCOL", "SSL")],
        "tls",
        "the port does not speak TLS",
    );
}

#[test]
fn event_hubs_on_port_9092_is_caught_before_connecting() {
    from_env_fails(
        &[
            ("KAFKA_BROKERS", "etelios-prod.servicebus.windows.net:9092"),
            ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            ("KAFKA_SASL_MECHANISM", "PLAIN"),
        ],
        "preflight",
        "listens on port 9093 only",
    );
}

#[test]
fn missing_roundtrip_topic_is_named() {
    let out = topicform()
        .args(["check", "--from-env", "--roundtrip", "surely-not-a-topic"])
        .env("KAFKA_BROKERS", broker())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("the topic `surely-not-a-topic` does not exist"));
}

#[test]
fn bad_variables_are_input_errors() {
    topicform()
        .args(["check", "--from-env"])
        .env_remove("KAFKA_BROKERS")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("KAFKA_BROKERS is not set"));
    topicform()
        .args(["check", "--from-env"])
        .env("KAFKA_BROKERS", "localhost:9092")
        .env("KAFKA_SECURITY_PROTOCOL", "TLS")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`TLS` is not a Kafka security protocol"));
}

#[test]
fn the_password_never_appears_in_a_failed_check() {
    let out = topicform()
        .args(["check", "--from-env", "--timeout", "3", "-o", "json"])
        .env("KAFKA_BROKERS", broker())
        .env("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
        .env("KAFKA_SASL_MECHANISM", "PLAIN")
        .env("KAFKA_SASL_USERNAME", "svc")
        .env("KAFKA_SASL_PASSWORD", "pw-that-must-not-leak")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains("pw-that-must-not-leak"), "{all}");
}
