//! Connections over TLS and SASL against a real broker with SSL and
//! SASL_SSL listeners (CA, certificates and users generated for the run):
//! plan/apply over each mechanism, the Event Hubs PLAIN `$ConnectionString`
//! path, and the failure classes `check` names.

mod support;

use predicates::prelude::*;
use support::{secure_broker, topicform, unique_prefix, Workspace};

fn spec(cluster: &str, topic: &str) -> String {
    format!("version: 1\ndefaults: {{ partitions: 1, replicationFactor: 1 }}\nenvironments:\n  test:\n    cluster:\n{cluster}topics:\n  {topic}: {{}}\n")
}

fn kafka_cluster(bootstrap: &str, ca: &std::path::Path, sasl: &str) -> String {
    format!(
        "      type: kafka\n      bootstrapServers: [\"{bootstrap}\"]\n      tls: {{ caFile: \"{}\" }}\n{sasl}",
        ca.display()
    )
}

fn sasl(mechanism: &str) -> String {
    format!("      sasl:\n        mechanism: {mechanism}\n        username: {{ env: TF_USER }}\n        password: {{ env: TF_PASSWORD }}\n")
}

/// Applies, then plans with --detailed-exitcode: created, then in sync.
fn apply_then_in_sync(spec: &std::path::Path, user: &str, password: &str) {
    topicform()
        .args(["apply", "-e", "test", "--auto-approve", "-f"])
        .arg(spec)
        .env("TF_USER", user)
        .env("TF_PASSWORD", password)
        .assert()
        .success()
        .stdout(predicate::str::contains("Apply: 1 succeeded, 0 failed, 0 skipped."));
    topicform()
        .args(["plan", "-e", "test", "--detailed-exitcode", "-f"])
        .arg(spec)
        .env("TF_USER", user)
        .env("TF_PASSWORD", password)
        .assert()
        .code(0);
}

#[test]
fn apply_over_ssl() {
    let b = secure_broker();
    let ws = Workspace::new();
    let p = unique_prefix("ssl");
    let file = ws.spec(&spec(&kafka_cluster(&b.ssl, &b.ca, ""), &format!("{p}t")));
    apply_then_in_sync(&file, "", "");
}

#[test]
fn apply_over_sasl_ssl_plain_and_scram() {
    let b = secure_broker();
    for (mechanism, user, password) in [
        ("PLAIN", "tf-plain", b.credentials["PLAIN_PASSWORD"].as_str()),
        ("SCRAM-SHA-256", "tf-scram", b.credentials["SCRAM_PASSWORD"].as_str()),
        ("SCRAM-SHA-512", "tf-scram", b.credentials["SCRAM_PASSWORD"].as_str()),
    ] {
        let ws = Workspace::new();
        let p = unique_prefix(&mechanism.to_ascii_lowercase());
        let file = ws.spec(&spec(&kafka_cluster(&b.sasl_ssl, &b.ca, &sasl(mechanism)), &format!("{p}t")));
        apply_then_in_sync(&file, user, password);
    }
}

#[test]
fn event_hubs_plain_connection_string_passes_check_with_a_roundtrip() {
    let b = secure_broker();
    let ws = Workspace::new();
    let p = unique_prefix("eh");
    // Create the topic over SCRAM first (topics on Event Hubs come from ARM).
    let topic = format!("{p}t");
    let admin = ws.file("admin.yaml", &spec(&kafka_cluster(&b.sasl_ssl, &b.ca, &sasl("SCRAM-SHA-512")), &topic));
    apply_then_in_sync(&admin, "tf-scram", &b.credentials["SCRAM_PASSWORD"]);

    let eh = format!(
        "      type: eventhubs\n      namespace: etelios-test\n      tier: premium\n      subscriptionId: sub\n      resourceGroup: rg\n      bootstrapServers: [\"{}\"]\n      tls: {{ caFile: \"{}\" }}\n      kafka:\n        mechanism: PLAIN\n        connectionString: {{ env: TF_CONNECTION_STRING }}\n",
        b.sasl_ssl,
        b.ca.display()
    );
    let file = ws.file("eh.yaml", &spec(&eh, &topic));
    let connection_string = &b.credentials["EVENTHUBS_CONNECTION_STRING"];
    let out = topicform()
        .args(["check", "-e", "test", "--roundtrip", &topic, "-f"])
        .arg(&file)
        .env("TF_CONNECTION_STRING", connection_string)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("✓ sasl       authenticated with PLAIN"), "{stdout}");
    assert!(stdout.contains("✓ roundtrip"), "{stdout}");
    assert!(!stdout.contains(connection_string.as_str()), "the connection string leaked:\n{stdout}");
}

#[test]
fn an_untrusted_ca_is_named_by_check_and_fails_plan() {
    let b = secure_broker();
    let ws = Workspace::new();
    let file = ws.spec(&spec(&kafka_cluster(&b.ssl, &b.other_ca, ""), "x"));
    topicform()
        .args(["check", "-e", "test", "-f"])
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("✗ tls"))
        .stdout(predicate::str::contains("(untrusted CA)"));
    topicform().args(["plan", "-e", "test", "--timeout", "5", "-f"]).arg(&file).assert().code(1);
}

#[test]
fn a_wrong_password_is_named_by_check_and_never_printed() {
    let b = secure_broker();
    let ws = Workspace::new();
    let file = ws.spec(&spec(&kafka_cluster(&b.sasl_ssl, &b.ca, &sasl("PLAIN")), "x"));
    let wrong = "wrong-password-that-must-not-leak";
    let out = topicform()
        .args(["check", "-e", "test", "-f"])
        .arg(&file)
        .env("TF_USER", "tf-plain")
        .env("TF_PASSWORD", wrong)
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("✗ sasl") && all.contains("authentication failed"), "{all}");
    assert!(!all.contains(wrong), "{all}");
    let out = topicform()
        .args(["plan", "-e", "test", "--timeout", "5", "--log-level", "debug", "-f"])
        .arg(&file)
        .env("TF_USER", "tf-plain")
        .env("TF_PASSWORD", wrong)
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(!all.contains(wrong), "{all}");
}

#[test]
fn tls_verifies_the_broker_by_ip_address_too() {
    let b = secure_broker();
    let port = b.ssl.rsplit_once(':').unwrap().1;
    topicform()
        .args(["check", "--from-env"])
        .env("KAFKA_BROKERS", format!("127.0.0.1:{port}"))
        .env("KAFKA_SECURITY_PROTOCOL", "SSL")
        .env("KAFKA_SSL_CA_LOCATION", &b.ca)
        .assert()
        .success()
        .stdout(predicate::str::contains("✓ tls"));
}

#[test]
fn a_certificate_for_another_host_is_named_by_check_and_fails_plan() {
    let b = secure_broker();
    let ws = Workspace::new();
    let file = ws.spec(&spec(&kafka_cluster(&b.wrong_host, &b.ca, ""), "wrong-host"));
    let out = topicform().args(["check", "-e", "test", "-f"]).arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✗ tls"), "{stdout}");
    assert!(stdout.contains("host name mismatch"), "{stdout}");
    topicform().args(["plan", "-e", "test", "--timeout", "10", "-f"]).arg(&file).assert().code(1);
}

#[test]
fn apply_over_sasl_plaintext() {
    let b = secure_broker();
    for (mechanism, user, password) in [
        ("PLAIN", "tf-plain", b.credentials["PLAIN_PASSWORD"].as_str()),
        ("SCRAM-SHA-512", "tf-scram", b.credentials["SCRAM_PASSWORD"].as_str()),
    ] {
        let ws = Workspace::new();
        let p = unique_prefix("saslplain");
        // No `tls:` block: SASL_PLAINTEXT.
        let cluster =
            format!("      type: kafka\n      bootstrapServers: [\"{}\"]\n{}", b.sasl_plaintext, sasl(mechanism));
        let file = ws.spec(&spec(&cluster, &format!("{p}t")));
        apply_then_in_sync(&file, user, password);
    }
}

/// Mutual TLS: the listener requires a client certificate; with `certFile`
/// and `key` apply works, without them the handshake is refused.
#[test]
fn mutual_tls_sends_the_client_certificate() {
    let b = secure_broker();
    let ws = Workspace::new();
    let p = unique_prefix("mtls");
    let with_cert = format!(
        "      type: kafka\n      bootstrapServers: [\"{}\"]\n      tls: {{ caFile: \"{}\", certFile: \"{}\", key: {{ file: \"{}\" }} }}\n",
        b.mtls,
        b.ca.display(),
        b.dir.join("client.pem").display(),
        b.dir.join("client.key").display()
    );
    let file = ws.spec(&spec(&with_cert, &format!("{p}t")));
    apply_then_in_sync(&file, "", "");

    let without = ws.file("nocert.yaml", &spec(&kafka_cluster(&b.mtls, &b.ca, ""), &format!("{p}t")));
    topicform().args(["plan", "-e", "test", "--timeout", "10", "-f"]).arg(&without).assert().code(1);
}
