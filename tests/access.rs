//! Least privilege from `services:` against a real broker with KRaft's
//! StandardAuthorizer (the secure test broker, instance `test-secure`):
//! after apply each service's SASL user can produce to its topics and
//! consume with its group, and is refused elsewhere, proven with real
//! clients; a removed `produces:` entry removes exactly its ACLs, and only
//! with the opt-in; ACLs topicform does not manage are reported and kept.
//!
//! One test function on purpose: the broker's two SASL users are the
//! services' principals, and topicform owns every ALLOW ACL of a principal
//! the spec names, so two tests planning them at once would see each
//! other's ACLs as stale.

mod support;

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use support::{plan_json, secure_broker, test_port, topicform, unique_prefix, Workspace};

/// A client of the secure broker's SASL_PLAINTEXT listener as `user`.
fn client(user: &str) -> ClientConfig {
    let b = secure_broker();
    let (mechanism, password) = match user {
        "tf-plain" => ("PLAIN", &b.credentials["PLAIN_PASSWORD"]),
        _ => ("SCRAM-SHA-512", &b.credentials["SCRAM_PASSWORD"]),
    };
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &b.sasl_plaintext)
        .set("security.protocol", "SASL_PLAINTEXT")
        .set("sasl.mechanism", mechanism)
        .set("sasl.username", user)
        .set("sasl.password", password);
    config
}

/// Produces one message to `topic` as `user`: the broker's answer.
fn produce_as(user: &str, topic: &str) -> Result<(), String> {
    let producer: FutureProducer = client(user).set("message.timeout.ms", "15000").create().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime
        .block_on(producer.send(FutureRecord::to(topic).key("k").payload("m"), Duration::from_secs(15)))
        .map(|_| ())
        .map_err(|(e, _)| e.to_string())
}

/// Reads one message of `topic` with `group` as `user`: the first message,
/// or the first error the broker answers with.
fn consume_as(user: &str, topic: &str, group: &str) -> Result<(), String> {
    let consumer: BaseConsumer = client(user)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(_)) => return Ok(()),
            Some(Err(e)) => return Err(e.to_string()),
            None => {}
        }
    }
    Err("no message and no error within 30 s".into())
}

fn spec(p: &str, orders_produce: &str) -> String {
    format!(
        r#"version: 1
defaults: {{ partitions: 1, replicationFactor: 1 }}
environments:
  test:
    cluster: {{ type: kafka, bootstrapServers: ["localhost:{port}"] }}
    # Stale ACLs only: other tests' topics on this broker are not ours.
    pruneAcls: true
topics:
  {p}orders: {{}}
  {p}payments: {{}}
  {p}audit: {{}}
services:
  orders:
    group: {p}orders
    produces: [{orders_produce}]
    consumes: [{p}payments]
    principals: {{ test: User:tf-plain }}
  payments:
    group: {p}payments
    produces: [{p}payments]
    consumes: [{p}orders]
    principals: {{ test: User:tf-scram }}
"#,
        port = test_port(200)
    )
}

fn run(file: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = topicform().args(args).args(["-e", "test", "-f"]).arg(file).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// An ALLOW ACL made with Kafka's own tool, as an administrator would.
fn allow_by_hand(principal: &str, operation: &str, topic: &str) {
    let bootstrap = format!("localhost:{}", test_port(200));
    let args = ["--bootstrap-server", &bootstrap, "--add", "--allow-principal", principal];
    support::kafka_tool(
        "org.apache.kafka.tools.AclCommand",
        &[&args[..], &["--operation", operation, "--topic", topic]].concat(),
    );
}

fn acl_names(plan: &serde_json::Value, action: &str) -> Vec<String> {
    plan["access"]["grants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == action)
        .map(|a| {
            format!("{} {} {}", a["acl"]["principal"], a["acl"]["operation"], a["acl"]["resourceName"]).replace('"', "")
        })
        .collect()
}

#[test]
fn services_get_exactly_their_access_and_lose_only_what_the_spec_drops_with_the_opt_in() {
    let b = secure_broker();
    let ws = Workspace::new();
    let p = unique_prefix("acl");
    let file = ws.spec(&spec(&p, &format!("{p}orders, {p}audit")));

    // The plan names every ACL it will create, and for which service.
    let (code, stdout, stderr) = run(&file, &["plan"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("+ create ACL User:tf-plain ALLOW WRITE on topic {p}orders (for orders)")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("+ create ACL User:tf-scram ALLOW READ on group {p}payments (for payments)")),
        "{stdout}"
    );
    let plan = plan_json(&file, &[]);
    assert_eq!(plan["access"]["summary"]["create"], 12, "{plan:#}");
    let (_, markdown, _) = run(&file, &["plan", "-o", "markdown"]);
    assert!(markdown.contains("**ACLs:** 12 to create, 0 to delete, 0 unchanged"), "{markdown}");
    assert!(
        markdown.contains(&format!("- ➕ `User:tf-scram ALLOW READ on group {p}payments` (for payments)")),
        "{markdown}"
    );

    // A saved plan whose grants changed on the cluster since is stale: one
    // of its ACLs is made by hand before it is applied.
    let saved = ws.path("plan.json");
    let (code, _, stderr) = run(&file, &["plan", "--out", saved.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    allow_by_hand("User:tf-plain", "Write", &format!("{p}orders"));
    let (code, stdout, stderr) = run(&file, &["apply", "--auto-approve", "--plan", saved.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("the ACLs it creates or deletes are no longer what the cluster needs"), "{stderr}");

    let (code, stdout, stderr) = run(&file, &["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("Apply: 14 succeeded, 0 failed, 0 skipped."), "3 topics and 11 ACLs: {stdout}");
    let (code, stdout, _) = run(&file, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "in sync after apply:\n{stdout}");

    // Real clients: each service as its own SASL user.
    produce_as("tf-plain", &format!("{p}orders")).expect("orders produces to its topic");
    produce_as("tf-scram", &format!("{p}payments")).expect("payments produces to its topic");
    let refused = produce_as("tf-plain", &format!("{p}payments")).expect_err("orders may not write payments' topic");
    assert!(refused.contains("authoriz"), "{refused}");
    consume_as("tf-scram", &format!("{p}orders"), &format!("{p}payments"))
        .expect("payments reads orders with its group");
    let refused = consume_as("tf-scram", &format!("{p}orders"), &format!("{p}orders"))
        .expect_err("payments may not use the orders group");
    assert!(refused.to_lowercase().contains("group authorization"), "{refused}");

    // `check --from-env`, as the orders service's pod runs it: it may
    // produce to its topic and is refused on payments' (the step passes);
    // naming its own topic as one it must not write fails the check.
    let check = |args: &[&str]| {
        let out = topicform()
            .args(["check", "--from-env", "--timeout", "15"])
            .args(args)
            .env("KAFKA_BROKERS", &b.sasl_plaintext)
            .env("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
            .env("KAFKA_SASL_MECHANISM", "PLAIN")
            .env("KAFKA_SASL_USERNAME", "tf-plain")
            .env("KAFKA_SASL_PASSWORD", &b.credentials["PLAIN_PASSWORD"])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, stdout) = check(&["--produce", &format!("{p}orders"), "--denied", &format!("{p}payments")]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains(&format!("✓ produce    produced one message to {p}orders")), "{stdout}");
    assert!(stdout.contains(&format!("✓ denied     producing to {p}payments was refused")), "{stdout}");
    let (code, stdout) = check(&["--roundtrip", &format!("{p}orders"), "--denied", &format!("{p}orders")]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("✗ roundtrip"), "a producer may not read its topic back: {stdout}");
    assert!(stdout.contains("READ and DESCRIBE to consume"), "the fix names the grants: {stdout}");
    assert!(stdout.contains(&format!("✗ denied     wrote one message to {p}orders")), "{stdout}");
    assert!(stdout.contains(&format!("this principal may write `{p}orders`")), "{stdout}");

    // An ACL of another principal: reported, never touched.
    allow_by_hand("User:someone-else", "Read", &format!("{p}orders"));

    // `orders` no longer produces audit: without the opt-in its two ACLs
    // are only reported.
    let file = ws.spec(&spec(&p, &format!("{p}orders")));
    let (code, stdout, _) = run(&file, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "nothing to do without --allow-delete:\n{stdout}");
    assert!(
        stdout.contains(&format!("unmanaged ACL: User:tf-plain ALLOW WRITE on topic {p}audit (not in the spec;")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "unmanaged ACL: User:someone-else ALLOW READ on topic {p}orders (no service's principal"
        )),
        "{stdout}"
    );
    let (code, stdout, stderr) = run(&file, &["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    // With it, exactly those two go; the other principal's stays.
    let plan = plan_json(&file, &["--allow-delete"]);
    // (An earlier run against a kept broker left ACLs of these principals
    // under other prefixes: stale too, and deleted too.)
    let mut deleted: Vec<String> = acl_names(&plan, "delete").into_iter().filter(|a| a.contains(&p)).collect();
    deleted.sort();
    assert_eq!(
        deleted,
        [format!("User:tf-plain describe {p}audit"), format!("User:tf-plain write {p}audit")],
        "{plan:#}"
    );
    assert_eq!(plan["summary"]["delete"], 0, "no topic is deleted: `prune` is not set");
    let (code, stdout, stderr) = run(&file, &["apply", "--auto-approve", "--allow-delete"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("✓ User:tf-plain ALLOW WRITE on topic {p}audit: delete ACL")), "{stdout}");
    assert!(stdout.contains(" 0 failed, 0 skipped."), "{stdout}");
    let plan = plan_json(&file, &["--allow-delete"]);
    assert_eq!(plan["access"]["summary"]["delete"], 0, "{plan:#}");
    assert_eq!(plan["access"]["summary"]["create"], 0, "{plan:#}");
    let unmanaged: Vec<&serde_json::Value> = plan["access"]["unmanaged"].as_array().unwrap().iter().collect();
    assert!(
        unmanaged.iter().any(|u| u["acl"]["principal"] == "User:someone-else" && u["why"] == "otherPrincipal"),
        "{plan:#}"
    );
    let _ = b;
}

#[test]
fn a_cluster_without_an_authorizer_is_named_when_services_have_principals() {
    let ws = Workspace::new();
    let p = unique_prefix("noauth");
    // The plain test broker has no authorizer.
    let text = spec(&p, &format!("{p}orders")).replace(&format!("localhost:{}", test_port(200)), support::broker());
    let file = ws.spec(&text);
    let (code, stdout, stderr) = run(&file, &["plan"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("the cluster has no authorizer"), "{stderr}");
    assert!(stderr.contains("StandardAuthorizer"), "{stderr}");
}
