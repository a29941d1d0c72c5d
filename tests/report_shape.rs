//! One apply engine for every backend: the same plan applied to a real Kafka
//! broker and to the ARM contract server gives the same report, line for
//! line (creates; then partitions, a config change and a delete).
//!
//! Kafka side: the prune test broker (deleting "everything not in the spec"
//! on the shared broker would delete other tests' topics); test binaries run
//! one after another, so prune.rs is not using it meanwhile.

#[path = "support/arm.rs"]
mod arm;
mod support;

use std::path::Path;
use std::sync::Arc;

use arm::{ArmServer, Namespace};
use support::idp::Idp;
use support::{start_broker, topicform, Workspace};

/// Every topic on the Kafka side that is not in this spec is deleted first,
/// so both clusters hold exactly `anchor` when the comparison starts.
const ANCHOR: &str = "shape-anchor";

fn spec(broker: &str, server: &ArmServer, idp: &Idp, topics: &str) -> String {
    let ns = server.namespace();
    format!(
        "version: 1
defaults:
  partitions: 2
  replicationFactor: 1
  config: {{ retention.ms: 1d, cleanup.policy: delete }}
environments:
  kafka:
    prune: true
    cluster:
      type: kafka
      bootstrapServers: [{broker}]
  eventhubs:
    prune: true
    cluster:
      type: eventhubs
      namespace: {name}
      tier: premium
      subscriptionId: ${{AZURE_SUBSCRIPTION_ID}}
      resourceGroup: {rg}
      armEndpoint: {arm}
      authorityHost: {authority}
      management:
        credential: clientSecret
        clientSecret: {{ env: AZURE_CLIENT_SECRET }}
topics:
  {ANCHOR}: {{}}
{topics}",
        name = ns.name,
        rg = ns.resource_group,
        arm = server.url,
        authority = idp.authority_host,
    )
}

/// `apply --auto-approve --allow-delete` of `env`; its report (stdout).
fn apply(env: &str, spec: &Path, idp: &Idp, server: &ArmServer) -> String {
    let mut cmd = topicform();
    cmd.args(["apply", "--auto-approve", "--allow-delete", "-e", env, "-f"]).arg(spec);
    for (k, v) in idp.client_secret_env() {
        cmd.env(k, v);
    }
    let out = cmd.env("AZURE_SUBSCRIPTION_ID", server.namespace().subscription).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "apply -e {env} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn the_same_plan_gives_the_same_report_on_kafka_and_event_hubs() {
    let broker = start_broker("test-prune", support::test_port(100));
    let idp = Arc::new(Idp::start());
    let verifier = idp.clone();
    let server = ArmServer::start(
        Namespace::new("Premium", 1),
        Arc::new(move |t: &str| verifier.verify(t, "https://management.azure.com").map(|_| ())),
    );
    server.seed(ANCHOR, 2, 24, "Delete");
    let ws = Workspace::new();

    let clean = ws.file("clean.yaml", &spec(&broker, &server, &idp, ""));
    apply("kafka", &clean, &idp, &server);

    let v1 = ws.file("v1.yaml", &spec(&broker, &server, &idp, "  shape-a: {}\n  shape-b: {}\n  shape-c: {}\n"));
    let kafka = apply("kafka", &v1, &idp, &server);
    let eventhubs = apply("eventhubs", &v1, &idp, &server);
    assert_eq!(
        kafka,
        "✓ shape-a: create\n✓ shape-b: create\n✓ shape-c: create\nApply: 3 succeeded, 0 failed, 0 skipped.\n"
    );
    assert_eq!(eventhubs, kafka);

    let v2 = ws.file(
        "v2.yaml",
        &spec(&broker, &server, &idp, "  shape-a: { partitions: 4 }\n  shape-b: { config: { retention.ms: 2h } }\n"),
    );
    let kafka = apply("kafka", &v2, &idp, &server);
    let eventhubs = apply("eventhubs", &v2, &idp, &server);
    assert_eq!(
        kafka,
        "✓ shape-a: add partitions 2 → 4\n✓ shape-b: set retention.ms\n✓ shape-c: delete\nApply: 3 succeeded, 0 failed, 0 skipped.\n"
    );
    assert_eq!(eventhubs, kafka);
    assert!(server.hub("shape-c").is_none() && server.hub("shape-a").is_some());

    // Leave the prune broker as it was found: empty.
    let empty =
        ws.file("empty.yaml", &spec(&broker, &server, &idp, "").replace(&format!("  {ANCHOR}: {{}}\n"), "  {}\n"));
    apply("kafka", &empty, &idp, &server);
}
