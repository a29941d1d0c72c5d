//! The Event Hubs backend end to end: the real `topicform` binary against the
//! local ARM contract server (tests/support/arm.rs), with tokens from the
//! test identity provider (tests/support/idp.rs) validated by the server
//! with the ARM audience.

#[path = "support/arm.rs"]
mod arm;
mod support;

use std::sync::Arc;

use arm::{ArmServer, Fault, Namespace, Schema};
use predicates::prelude::*;
use serde_json::{json, Value};
use support::idp::{Fault as IdpFault, Idp};
use support::{topic_plan, topicform, Workspace};

const ARM_AUDIENCE: &str = "https://management.azure.com";

/// An identity provider and an ARM server that accepts only its ARM tokens.
fn setup(ns: Namespace) -> (Arc<Idp>, ArmServer) {
    let idp = Arc::new(Idp::start());
    let server = ArmServer::start(ns, validator(&idp, ARM_AUDIENCE));
    (idp, server)
}

/// Accepts the identity provider's tokens for `audience` only.
fn validator(idp: &Arc<Idp>, audience: &'static str) -> arm::TokenValidator {
    let idp = idp.clone();
    Arc::new(move |t: &str| idp.verify(t, audience).map(|_| ()))
}

fn spec(server: &ArmServer, idp: &Idp, tier: &str, env_extra: &str, topics: &str) -> String {
    let ns = server.namespace();
    format!(
        "version: 1
defaults:
  partitions: 2
  replicationFactor: 3
  config: {{ retention.ms: 1d, cleanup.policy: delete }}
environments:
  test:
    cluster:
      type: eventhubs
      namespace: {name}
      tier: {tier}
      subscriptionId: ${{AZURE_SUBSCRIPTION_ID}}
      resourceGroup: {rg}
      armEndpoint: {arm}
      authorityHost: {authority}
      management:
        credential: clientSecret
        clientSecret: {{ env: AZURE_CLIENT_SECRET }}
{env_extra}topics:
{topics}",
        name = ns.name,
        rg = ns.resource_group,
        arm = server.url,
        authority = idp.authority_host,
    )
}

/// `topicform ARGS -e test -f SPEC` with the client-secret variables set.
fn run(idp: &Idp, server: &ArmServer, spec: &std::path::Path, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = topicform();
    cmd.args(args).args(["-e", "test", "-f"]).arg(spec);
    for (k, v) in idp.client_secret_env() {
        cmd.env(k, v);
    }
    cmd.env("AZURE_SUBSCRIPTION_ID", server.namespace().subscription).env_remove("AZURE_FEDERATED_TOKEN_FILE");
    cmd.assert()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn output(a: &assert_cmd::assert::Assert) -> String {
    let o = a.get_output();
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn plan(idp: &Idp, server: &ArmServer, spec: &std::path::Path) -> Value {
    let a = run(idp, server, spec, &["plan", "-o", "json"]);
    let out = a.get_output();
    assert!(out.status.success(), "plan failed: {}", output(&a));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn apply(idp: &Idp, server: &ArmServer, spec: &std::path::Path, extra: &[&str]) -> String {
    let mut args = vec!["apply", "--auto-approve"];
    args.extend_from_slice(extra);
    let a = run(idp, server, spec, &args);
    assert!(a.get_output().status.success(), "apply failed: {}", output(&a));
    stdout(&a)
}

fn in_sync(idp: &Idp, server: &ArmServer, spec: &std::path::Path) {
    let a = run(idp, server, spec, &["plan", "--detailed-exitcode"]);
    assert_eq!(a.get_output().status.code(), Some(0), "second plan is not in sync: {}", output(&a));
}

fn props(server: &ArmServer, hub: &str) -> Value {
    server.hub(hub).unwrap_or_else(|| panic!("no event hub {hub}: {:?}", server.hub_names()))["properties"].clone()
}

#[test]
fn standard_namespace_plan_apply_export_and_second_plan_in_sync() {
    let (idp, server) = setup(Namespace::new("Standard", 1));
    let ws = Workspace::new();
    let path = ws.spec(&spec(
        &server,
        &idp,
        "standard",
        "",
        "  user.created:
    consumers: [notification-service, analytics-service]
  user.login: { partitions: 12, config: { retention.ms: 3d } }
  audit.log: { partitions: 4, config: { cleanup.policy: compact, retention.ms: -1, delete.retention.ms: 2h } }
",
    ));
    let a = run(&idp, &server, &path, &["plan", "--detailed-exitcode"]);
    assert_eq!(a.get_output().status.code(), Some(2), "{}", output(&a));
    assert!(stdout(&a).contains("+ create"), "{}", output(&a));
    assert!(
        stdout(&a).contains("(12 partitions, replication managed by the service)"),
        "replication is shown as service-managed, never as an error: {}",
        output(&a)
    );
    assert_eq!(server.writes(), 0, "plan never writes");

    let report = apply(&idp, &server, &path, &[]);
    assert!(report.contains("3 succeeded, 0 failed"), "{report}");
    let login = props(&server, "user.login");
    assert_eq!(login["partitionCount"], 12);
    assert_eq!(login["retentionDescription"], json!({"cleanupPolicy": "Delete", "retentionTimeInHours": 72}));
    let audit = props(&server, "audit.log");
    assert_eq!(audit["retentionDescription"]["cleanupPolicy"], "Compact");
    assert_eq!(audit["retentionDescription"]["tombstoneRetentionTimeInHours"], 2);
    assert_eq!(props(&server, "user.created")["retentionDescription"]["retentionTimeInHours"], 24);
    // Kafka consumer groups are not ARM consumer groups.
    assert_eq!(server.consumer_group_writes(), 0);

    in_sync(&idp, &server, &path);
    let p = plan(&idp, &server, &path);
    assert_eq!(topic_plan(&p, "audit.log")["action"], "unchanged", "{p:#}");
    assert_eq!(p["clusterType"], "eventhubs");

    // A second apply changes nothing.
    let writes = server.writes();
    run(&idp, &server, &path, &["apply", "--auto-approve"]).success().stderr(predicate::str::contains("In sync"));
    assert_eq!(server.writes(), writes);

    // export -> a spec that plans in sync against the same namespace.
    let a = run(&idp, &server, &path, &["export"]);
    assert!(a.get_output().status.success(), "{}", output(&a));
    let exported = stdout(&a);
    assert!(exported.contains("user.login:"), "{exported}");
    assert!(exported.contains("cleanup.policy: compact"), "{exported}");
    assert!(!exported.contains("replicationFactor"), "replication is service-managed: {exported}");
    let again = ws.file("exported.yaml", &exported);
    in_sync(&idp, &server, &again);
}

#[test]
fn premium_grows_partitions_and_keeps_fields_topicform_does_not_manage() {
    let (idp, server) = setup(Namespace::new("Premium", 1));
    // Microsoft's GET example, with capture and user metadata set outside topicform.
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string(arm::reference_dir().join("examples/EventHubs/EHEventHubGet.json")).unwrap(),
    )
    .unwrap();
    let mut hub = example["responses"]["200"]["body"].clone();
    hub["name"] = json!("orders");
    hub["properties"]["userMetadata"] = json!("owner: sales");
    hub["properties"]["retentionDescription"] = json!({"cleanupPolicy": "Delete", "retentionTimeInHours": 96});
    server.set_hub("orders", hub);
    let ws = Workspace::new();
    let path =
        ws.spec(&spec(&server, &idp, "premium", "", "  orders: { partitions: 8, config: { retention.ms: 30d } }\n"));
    let p = plan(&idp, &server, &path);
    let t = topic_plan(&p, "orders");
    assert_eq!(t["action"], "update", "{p:#}");
    assert_eq!(t["changes"][0], json!({"kind": "addPartitions", "from": 4, "to": 8}));
    apply(&idp, &server, &path, &[]);
    let props = props(&server, "orders");
    assert_eq!(props["partitionCount"], 8);
    assert_eq!(props["retentionDescription"]["retentionTimeInHours"], 720);
    assert_eq!(props["userMetadata"], "owner: sales");
    assert_eq!(props["captureDescription"]["destination"]["properties"]["blobContainer"], "container");
    in_sync(&idp, &server, &path);
}

#[test]
fn refusals_on_standard_change_nothing() {
    let (idp, server) = setup(Namespace::new("Standard", 1));
    server.seed("grow", 2, 24, "Delete");
    server.seed("shrink", 4, 24, "Delete");
    server.seed("policy", 2, 24, "Delete");
    let ws = Workspace::new();
    let path = ws.spec(&spec(
        &server,
        &idp,
        "standard",
        "",
        "  grow: { partitions: 4 }\n  shrink: { partitions: 2 }\n  policy: { config: { cleanup.policy: compact } }\n",
    ));
    let a = run(&idp, &server, &path, &["plan", "-o", "json"]);
    assert_eq!(a.get_output().status.code(), Some(1), "{}", output(&a));
    let p: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    for (topic, needle) in
        [("grow", "cannot be added"), ("shrink", "cannot decrease"), ("policy", "cannot change after")]
    {
        let t = topic_plan(&p, topic);
        assert_eq!(t["action"], "refused", "{p:#}");
        assert!(t["reasons"].to_string().contains(needle), "{topic}: {t:#}");
    }
    let a = run(&idp, &server, &path, &["apply", "--auto-approve"]);
    assert_eq!(a.get_output().status.code(), Some(1));
    assert_eq!(server.writes(), 0, "{:?}", server.requests());
}

#[test]
fn over_quota_plans_are_refused_before_any_write() {
    // Hubs: a standard namespace holds 10; 9 unmanaged ones are there already.
    let (idp, server) = setup(Namespace::new("Standard", 1));
    for i in 0..9 {
        server.seed(&format!("other-{i}"), 1, 24, "Delete");
    }
    let ws = Workspace::new();
    let path = ws.spec(&spec(&server, &idp, "standard", "", "  a: {}\n  b: {}\n"));
    let a = run(&idp, &server, &path, &["apply", "--auto-approve"]);
    assert_eq!(a.get_output().status.code(), Some(1), "{}", output(&a));
    let text = output(&a);
    assert!(text.contains("nothing was changed") && text.contains("11 event hubs (9 now)"), "{text}");
    assert_eq!(server.writes(), 0);

    // Partitions: premium with 1 PU holds 200; 190 are used.
    let (idp, server) = setup(Namespace::new("Premium", 1));
    server.seed("big-a", 100, 24, "Delete");
    server.seed("big-b", 90, 24, "Delete");
    let path =
        ws.spec(&spec(&server, &idp, "premium", "", "  small: { partitions: 4 }\n  large: { partitions: 12 }\n"));
    let a = run(&idp, &server, &path, &["apply", "--auto-approve"]);
    assert_eq!(a.get_output().status.code(), Some(1), "{}", output(&a));
    assert!(output(&a).contains("206 partitions (190 now)"), "{}", output(&a));
    assert_eq!(server.writes(), 0, "the fitting topic was not written either");
}

#[test]
fn faults_are_retried_and_long_running_operations_polled() {
    let (idp, server) = setup(Namespace::new("Premium", 1));
    server.seed("stale", 1, 24, "Delete");
    server.seed("grow", 2, 24, "Delete");
    server.inject("GET", Fault::Throttle { retry_after: 1 }, 1);
    server.inject("PUT", Fault::Throttle { retry_after: 1 }, 1);
    server.inject("PUT", Fault::ServerError, 2);
    server.inject("PUT", Fault::Conflict, 1);
    server.inject("PUT", Fault::AsyncOperation { polls: 2 }, 2);
    server.inject("PUT", Fault::AsyncLocation { polls: 1 }, 1);
    server.inject("DELETE", Fault::AsyncOperation { polls: 1 }, 1);
    let ws = Workspace::new();
    let topics: String = (0..6).map(|i| format!("  t{i}: {{ partitions: 3 }}\n")).collect();
    let path = ws.spec(&spec(
        &server,
        &idp,
        "premium",
        "    prune: true\n",
        &format!("{topics}  grow: {{ partitions: 5 }}\n"),
    ));
    let report = apply(&idp, &server, &path, &["--allow-delete"]);
    assert!(report.contains("8 succeeded, 0 failed"), "{report}");
    assert!(server.hub("stale").is_none());
    assert_eq!(props(&server, "grow")["partitionCount"], 5);
    for i in 0..6 {
        assert_eq!(props(&server, &format!("t{i}"))["partitionCount"], 3);
    }
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    for code in [429, 500, 409, 201, 202] {
        assert!(statuses.contains(&code), "no {code} answered: {statuses:?}");
    }
    assert!(server.requests().iter().any(|r| r.path.contains("/operationStatuses/")));
    assert!(server.requests().iter().any(|r| r.path.contains("/operationResults/")));
    in_sync(&idp, &server, &path);
}

#[test]
fn a_failed_long_running_operation_is_reported_with_its_request_id() {
    let (idp, server) = setup(Namespace::new("Standard", 1));
    server.inject("PUT", Fault::AsyncFailed, 1);
    let ws = Workspace::new();
    let path = ws.spec(&spec(&server, &idp, "standard", "", "  one: {}\n"));
    let a = run(&idp, &server, &path, &["apply", "--auto-approve"]);
    assert_eq!(a.get_output().status.code(), Some(1));
    let text = output(&a);
    assert!(text.contains("ended Failed") && text.contains("InternalServerError"), "{text}");
    assert!(text.contains("x-ms-request-id"), "{text}");
}

#[test]
fn namespaces_that_do_not_match_the_spec_are_refused() {
    let ws = Workspace::new();
    // Tier mismatch.
    let (idp, server) = setup(Namespace::new("Standard", 1));
    let path = ws.spec(&spec(&server, &idp, "premium", "", "  a: {}\n"));
    let a = run(&idp, &server, &path, &["plan"]);
    assert_eq!(a.get_output().status.code(), Some(1));
    assert!(output(&a).contains("it is a standard namespace, but the spec says `tier: premium`"), "{}", output(&a));
    // Kafka disabled.
    server.update_namespace(|n| n.kafka_enabled = false);
    let path = ws.spec(&spec(&server, &idp, "standard", "", "  a: {}\n"));
    let a = run(&idp, &server, &path, &["apply", "--auto-approve"]);
    assert_eq!(a.get_output().status.code(), Some(1));
    assert!(output(&a).contains("Kafka endpoint is disabled"), "{}", output(&a));
    // Not active.
    server.update_namespace(|n| {
        n.kafka_enabled = true;
        n.status = "Creating".into();
    });
    let a = run(&idp, &server, &path, &["plan"]);
    assert_eq!(a.get_output().status.code(), Some(1));
    assert!(output(&a).contains("status is `Creating`"), "{}", output(&a));
    // Wrong resource group: ARM's 404, named.
    server.update_namespace(|n| n.status = "Active".into());
    let wrong =
        spec(&server, &idp, "standard", "", "  a: {}\n").replace(&server.namespace().resource_group, "rg-elsewhere");
    let path = ws.spec(&wrong);
    let a = run(&idp, &server, &path, &["plan"]);
    assert_eq!(a.get_output().status.code(), Some(1));
    let text = output(&a);
    assert!(
        text.contains("HTTP 404") && text.contains("ResourceGroupNotFound") && text.contains("resourceGroup"),
        "{text}"
    );
    assert_eq!(server.writes(), 0);
}

#[test]
fn pagination_past_a_thousand_event_hubs() {
    let (idp, server) = setup(Namespace::new("Premium", 11));
    server.set_page_size(100);
    for i in 0..1005 {
        server.seed(&format!("hub-{i:04}"), 1, 24, "Delete");
    }
    let ws = Workspace::new();
    let path =
        ws.spec(&spec(&server, &idp, "premium", "", "  hub-1004: { partitions: 1 }\n  new-one: { partitions: 1 }\n"));
    let p = plan(&idp, &server, &path);
    assert_eq!(topic_plan(&p, "hub-1004")["action"], "unchanged", "{:#}", p["summary"]);
    assert_eq!(p["summary"]["unmanaged"], 1004);
    assert_eq!(p["summary"]["create"], 1);
    let pages = server.requests().iter().filter(|r| r.path.ends_with("/eventhubs")).count();
    assert_eq!(pages, 11, "1005 hubs in pages of 100");
    let a = run(&idp, &server, &path, &["export", "--include", "^hub-100[0-4]$"]);
    assert!(a.get_output().status.success(), "{}", output(&a));
    assert_eq!(stdout(&a).matches("  hub-100").count(), 5, "{}", stdout(&a));
}

#[test]
fn rejected_tokens_fail_clearly_and_secrets_never_show() {
    let idp = Arc::new(Idp::start());
    // A server for another audience: every token topicform brings is wrong.
    let server =
        ArmServer::start(Namespace::new("Standard", 1), validator(&idp, "https://management.core.usgovcloudapi.net"));
    let ws = Workspace::new();
    let path = ws.spec(&spec(&server, &idp, "standard", "", "  a: {}\n"));
    let a = run(&idp, &server, &path, &["plan", "--log-level", "debug"]);
    assert_eq!(a.get_output().status.code(), Some(1));
    let text = output(&a);
    assert!(text.contains("HTTP 401") && text.contains("InvalidAuthenticationToken"), "{text}");
    assert!(text.contains("management:"), "the help names what to check: {text}");
    let secret = idp.client_secret_env().into_iter().find(|(k, _)| k == "AZURE_CLIENT_SECRET").unwrap().1;
    assert!(!text.contains(&secret), "the client secret leaked: {text}");
    assert!(!text.contains("eyJ"), "a token leaked: {text}");

    // An expired token: the provider issues it, the server's verification refuses it.
    let (idp2, server) = setup(Namespace::new("Standard", 1));
    idp2.set_fault(IdpFault::Expired);
    let path = ws.spec(&spec(&server, &idp2, "standard", "", "  a: {}\n"));
    let a = run(&idp2, &server, &path, &["apply", "--auto-approve"]);
    assert_eq!(a.get_output().status.code(), Some(1));
    assert!(output(&a).contains("HTTP 401") && output(&a).contains("expired"), "{}", output(&a));
    assert_eq!(server.writes(), 0);

    // A successful apply with debug logs shows neither either.
    let (idp, server) = setup(Namespace::new("Standard", 1));
    let path = ws.spec(&spec(&server, &idp, "standard", "", "  a: {}\n"));
    let a = run(&idp, &server, &path, &["apply", "--auto-approve", "--log-level", "debug"]);
    assert!(a.get_output().status.success(), "{}", output(&a));
    let text = output(&a);
    assert!(!text.contains(&secret) && !text.contains("eyJ"), "{text}");
}

/// The example's services, as their variables spell them.
const SERVICES: [&str; 5] = ["AUTH", "HR", "NOTIFICATION", "ANALYTICS", "INVENTORY"];

#[test]
fn the_example_platform_prod_environment_plans_and_applies() {
    // examples/etelios/topicform.yaml, prod: premium, workload identity. Its
    // 312 partitions need 2 processing units (200 partitions per PU).
    let idp = Arc::new(Idp::start());
    let mut ns = Namespace::new("Premium", 2);
    ns.name = "etelios-prod".into();
    ns.resource_group = "rg-etelios-prod".into();
    let server = ArmServer::start(ns, validator(&idp, ARM_AUDIENCE));
    let example = std::fs::read_to_string(support::repo().join("examples/etelios/topicform.yaml")).unwrap();
    let anchor = "      resourceGroup: rg-etelios-prod\n";
    assert!(example.contains(anchor), "the example's prod cluster block changed");
    let local = example.replace(
        anchor,
        &format!("{anchor}      armEndpoint: {}\n      authorityHost: {}\n", server.url, idp.authority_host),
    );
    let ws = Workspace::new();
    let path = ws.spec(&local);
    let prod = |args: &[&str]| {
        let mut cmd = topicform();
        cmd.args(args).args(["-e", "prod", "-f"]).arg(&path);
        for (k, v) in idp.workload_identity_env() {
            cmd.env(k, v);
        }
        cmd.env("AZURE_SUBSCRIPTION_ID", server.namespace().subscription).env_remove("AZURE_CLIENT_SECRET");
        // The services' object ids, as CI exports them from Terraform.
        for (i, svc) in SERVICES.iter().enumerate() {
            cmd.env(format!("{svc}_SERVICE_PRINCIPAL_ID"), format!("00000000-0000-4000-8000-00000000000{i}"));
        }
        cmd.assert()
    };
    let a = prod(&["plan", "--detailed-exitcode"]);
    assert_eq!(a.get_output().status.code(), Some(2), "{}", output(&a));
    // auth-service sends to the 5 user.* hubs, hr-service to the 4
    // employee.* ones; the consumers receive 2 + 3 + 1.
    assert!(
        stdout(&a).contains("role assignments: 15 to create, 0 to delete, 0 unchanged, 0 unmanaged"),
        "{}",
        output(&a)
    );
    let a = prod(&["apply", "--auto-approve"]);
    assert!(a.get_output().status.success(), "{}", output(&a));
    assert!(stdout(&a).contains("50 succeeded, 0 failed"), "{}", output(&a));
    let grants = server.roles();
    assert_eq!(grants.len(), 15, "{grants:#?}");
    let auth = "00000000-0000-4000-8000-000000000000";
    let hubs_of = |who: &str| {
        grants
            .values()
            .filter(|(_, _, p)| p == who)
            .map(|(s, ..)| s.rsplit('/').next().unwrap().to_owned())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(
        hubs_of(auth),
        ["user.created", "user.deleted", "user.login", "user.logout", "user.updated"].map(String::from).into()
    );
    assert_eq!(props(&server, "audit.log")["partitionCount"], 32);
    assert_eq!(props(&server, "user.login")["partitionCount"], 24);
    assert_eq!(server.consumer_group_writes(), 0);
    let a = prod(&["plan", "--detailed-exitcode"]);
    assert_eq!(a.get_output().status.code(), Some(0), "{}", output(&a));
}

#[test]
fn the_contract_server_validates_against_microsofts_definitions() {
    let schema = Schema::load();
    let read = |rel: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(arm::reference_dir().join(rel)).unwrap()).unwrap()
    };
    // Microsoft's own create request passes.
    let create = read("examples/EventHubs/EHEventHubCreate.json");
    let body = &create["parameters"]["parameters"];
    assert_eq!(schema.validate_definition("eventhubs.json", "Eventhub", body), Vec::<String>::new());
    // A property from a later preview is not in this api-version.
    let compact = read("examples/EventHubs/EHEventHubWithCompactPolicyCreate.json");
    let problems = schema.validate_definition("eventhubs.json", "Eventhub", &compact["parameters"]["parameters"]);
    assert!(problems.iter().any(|p| p.contains("minCompactionLagInMins is not defined")), "{problems:?}");
    // Read-only properties, enums and minimums.
    let bad = json!({"properties": {"partitionCount": 0, "partitionIds": ["0"], "retentionDescription": {"cleanupPolicy": "DeleteCompact"}}});
    let problems = schema.validate_definition("eventhubs.json", "Eventhub", &bad).join("\n");
    assert!(problems.contains("partitionCount 0 is below the minimum 1"), "{problems}");
    assert!(problems.contains("partitionIds is read-only"), "{problems}");
    assert!(problems.contains("`DeleteCompact` is not one of"), "{problems}");
    let problems = schema.validate_definition("eventhubs.json", "Eventhub", &json!({"id": "x", "properties": {}}));
    assert_eq!(problems, vec!["$.id is read-only".to_owned()]);
}

#[test]
fn saved_plans_are_checked_and_prune_config_resets_unmanaged_settings() {
    let (idp, server) = setup(Namespace::new("Premium", 1));
    server.set_hub(
        "kept",
        json!({"name": "kept", "properties": {"partitionCount": 2, "retentionDescription":
            {"cleanupPolicy": "Delete", "retentionTimeInHours": 24, "tombstoneRetentionTimeInHours": 48}}}),
    );
    let ws = Workspace::new();
    let path = ws.spec(&spec(&server, &idp, "premium", "", "  kept: {}\n  fresh: {}\n"));
    let p = plan(&idp, &server, &path);
    assert_eq!(topic_plan(&p, "kept")["drift"], json!([{"key": "delete.retention.ms", "value": "172800000"}]), "{p:#}");

    // A saved plan applies as made...
    let saved = ws.path("plan.json");
    run(&idp, &server, &path, &["plan", "--out", saved.to_str().unwrap()]).success();
    let report = apply(&idp, &server, &path, &["--plan", saved.to_str().unwrap()]);
    assert!(report.contains("1 succeeded"), "{report}");
    // ...and is refused once what it changes moved on the namespace.
    let path = ws.spec(&spec(&server, &idp, "premium", "", "  kept: {}\n  fresh: { partitions: 3 }\n"));
    run(&idp, &server, &path, &["plan", "--out", saved.to_str().unwrap()]).success();
    server.seed("fresh", 4, 24, "Delete");
    let a = run(&idp, &server, &path, &["apply", "--auto-approve", "--plan", saved.to_str().unwrap()]);
    assert_eq!(a.get_output().status.code(), Some(1));
    assert!(output(&a).contains("changed on the cluster since the plan was made"), "{}", output(&a));

    // --prune-config takes the tombstone retention back to the default.
    let path = ws.spec(&spec(&server, &idp, "premium", "", "  kept: {}\n  fresh: { partitions: 4 }\n"));
    apply(&idp, &server, &path, &["--prune-config"]);
    assert!(props(&server, "kept")["retentionDescription"].get("tombstoneRetentionTimeInHours").is_none());
    let a = run(&idp, &server, &path, &["plan", "--detailed-exitcode", "--prune-config"]);
    assert_eq!(a.get_output().status.code(), Some(0), "{}", output(&a));
}

/// Tokens minted by the identity provider, for direct client calls.
struct Minted(Arc<Idp>);

impl topicform::auth::TokenProvider for Minted {
    fn token(&self) -> futures::future::BoxFuture<'_, topicform::Result<topicform::auth::AccessToken>> {
        let token = self.0.mint(ARM_AUDIENCE, std::time::Duration::from_secs(600));
        Box::pin(async move {
            Ok(topicform::auth::AccessToken::valid_for_an_hour(topicform::secret::SecretString::new(token)))
        })
    }
}

fn client(idp: &Arc<Idp>, server: &ArmServer) -> topicform::backend::eventhubs::arm::ArmClient {
    let ns = server.namespace();
    topicform::backend::eventhubs::arm::ArmClient::new(
        reqwest::Client::new(),
        reqwest::Url::parse(&server.url).unwrap(),
        &ns.subscription,
        &ns.resource_group,
        &ns.name,
        Arc::new(Minted(idp.clone())),
        std::time::Duration::from_secs(10),
    )
}

#[tokio::test]
async fn the_contract_server_enforces_section_6_on_its_own() {
    // Whatever topicform plans, the server refuses what Azure would.
    let (idp, server) = setup(Namespace::new("Standard", 1));
    server.seed("hub", 2, 24, "Delete");
    let arm = client(&idp, &server);
    let put = |partitions: u32, cleanup: &str, hours: i64| json!({"properties": {"partitionCount": partitions, "retentionDescription": {"cleanupPolicy": cleanup, "retentionTimeInHours": hours}}});
    for (body, needle) in [
        (put(4, "Delete", 24), "cannot be changed on the standard tier"),
        (put(1, "Delete", 24), "cannot be decreased"),
        (put(2, "Compact", 24), "cleanupPolicy of event hub 'hub' cannot be changed"),
        (put(2, "Delete", 169), "allows 1 to 168 hours"),
        (put(33, "Delete", 24), "allows 1 to 32 partitions"),
        (json!({"properties": {"partitionCount": 2, "partitionIds": ["0", "1"]}}), "partitionIds is read-only"),
    ] {
        let err = arm.put_eventhub("hub", &body).await.unwrap_err().to_string();
        assert!(err.contains("HTTP 400") && err.contains(needle), "{needle}: {err}");
    }
    for i in 0..9 {
        arm.put_eventhub(&format!("more-{i}"), &put(1, "Delete", 24)).await.unwrap();
    }
    let err = arm.put_eventhub("one-too-many", &put(1, "Delete", 24)).await.unwrap_err().to_string();
    assert!(err.contains("QuotaExceeded"), "{err}");
    assert_eq!(arm.list_eventhubs().await.unwrap().len(), 10);
    arm.delete_eventhub("more-0").await.unwrap();
    arm.delete_eventhub("more-0").await.unwrap(); // already gone: still success
    assert_eq!(arm.list_eventhubs().await.unwrap().len(), 9);
    // Consumer groups: the server implements them, topicform never writes one.
    let groups = reqwest::Client::new()
        .get(format!(
            "{}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.EventHub/namespaces/{}/eventhubs/hub/consumergroups?api-version=2024-01-01",
            server.url,
            server.namespace().subscription,
            server.namespace().resource_group,
            server.namespace().name
        ))
        .bearer_auth(idp.mint(ARM_AUDIENCE, std::time::Duration::from_secs(60)))
        .send()
        .await
        .unwrap();
    let groups: Value = groups.json().await.unwrap();
    assert_eq!(groups["value"][0]["name"], "$Default");
    // Premium: 100 partitions per event hub, and increases are allowed.
    let (idp, server) = setup(Namespace::new("Premium", 1));
    server.seed("hub", 2, 24, "Delete");
    let arm = client(&idp, &server);
    arm.put_eventhub("hub", &put(100, "Delete", 2160)).await.unwrap();
    let err = arm.put_eventhub("hub", &put(101, "Delete", 2160)).await.unwrap_err().to_string();
    assert!(err.contains("allows 1 to 100 partitions"), "{err}");
}

#[test]
fn a_token_rejected_once_is_replaced_and_the_request_retried() {
    let idp = Arc::new(Idp::start());
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (check, count) = (idp.clone(), seen.clone());
    // The first request is refused as if its token had been revoked.
    let server = ArmServer::start(
        Namespace::new("Standard", 1),
        Arc::new(move |t: &str| {
            if count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                return Err("the token was revoked".into());
            }
            check.verify(t, ARM_AUDIENCE).map(|_| ())
        }),
    );
    let ws = Workspace::new();
    let path = ws.spec(&spec(&server, &idp, "standard", "", "  a: {}\n"));
    let before = idp.tokens_issued();
    apply(&idp, &server, &path, &[]);
    assert!(server.hub("a").is_some());
    assert_eq!(server.requests()[0].status, 401);
    assert_eq!(idp.tokens_issued() - before, 2, "one token, then one fresh token after the 401");
}

#[test]
fn replacing_a_hub_at_the_quota_is_refused_before_any_write() {
    // Standard holds 10 event hubs, and has 10. The plan deletes `a` and
    // creates `b`, but apply writes before it deletes: `b`'s PUT would hit
    // ARM's quota. Refused up front, nothing sent.
    let (idp, server) = setup(Namespace::new("Standard", 1));
    server.seed("a", 1, 24, "Delete");
    for i in 0..9 {
        server.seed(&format!("other-{i}"), 1, 24, "Delete");
    }
    let ws = Workspace::new();
    let topics: String = (0..9).map(|i| format!("  other-{i}: {{ partitions: 1 }}\n")).collect();
    let path = ws.spec(&spec(&server, &idp, "standard", "    prune: true\n", &format!("{topics}  b: {{}}\n")));
    let a = run(&idp, &server, &path, &["plan", "-o", "json", "--allow-delete"]);
    let p: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(topic_plan(&p, "a")["action"], "delete", "{p:#}");
    assert_eq!(topic_plan(&p, "b")["action"], "create", "{p:#}");
    let a = run(&idp, &server, &path, &["apply", "--auto-approve", "--allow-delete"]);
    assert_eq!(a.get_output().status.code(), Some(1), "{}", output(&a));
    let text = output(&a);
    assert!(text.contains("11 event hubs (10 now)"), "{text}");
    assert!(text.contains("delete first with a separate apply"), "{text}");
    assert_eq!(server.writes(), 0, "{:?}", server.requests());
    assert!(server.hub("a").is_some());
}

/// A hub whose partitions and configs both change gets two PUTs, the second
/// built on the first; when the first fails, what the hub holds is unknown,
/// so the second is not sent (it could ask for the old partition count).
#[test]
fn a_hubs_later_write_is_not_sent_after_its_first_failed() {
    let (idp, server) = setup(Namespace::new("Premium", 1));
    server.seed("grow", 2, 24, "Delete");
    server.inject("PUT", Fault::Refuse, 1);
    let ws = Workspace::new();
    let path =
        ws.spec(&spec(&server, &idp, "premium", "", "  grow: { partitions: 4, config: { retention.ms: 2d } }\n"));
    let a = run(&idp, &server, &path, &["apply", "--auto-approve"]);
    assert_eq!(a.get_output().status.code(), Some(1), "{}", output(&a));
    let text = output(&a);
    assert!(text.contains("grow: add partitions 2 → 4 failed"), "{text}");
    assert!(
        text.contains("grow: set retention.ms failed: not sent: an earlier write of this event hub failed"),
        "{text}"
    );
    assert_eq!(server.writes(), 1, "{:?}", server.requests());
    // The next apply does both, in two writes.
    let report = apply(&idp, &server, &path, &[]);
    assert!(report.contains("Apply: 2 succeeded, 0 failed, 0 skipped."), "{report}");
    assert_eq!(props(&server, "grow")["partitionCount"], 4);
    assert_eq!(props(&server, "grow")["retentionDescription"]["retentionTimeInHours"], 48);
    in_sync(&idp, &server, &path);
}

#[test]
fn deletes_are_skipped_when_a_write_failed() {
    let (idp, server) = setup(Namespace::new("Premium", 1));
    server.seed("stale", 1, 24, "Delete");
    server.inject("PUT", Fault::Refuse, 1);
    let ws = Workspace::new();
    let path = ws.spec(&spec(&server, &idp, "premium", "    prune: true\n", "  fresh: {}\n"));
    let a = run(&idp, &server, &path, &["apply", "--auto-approve", "--allow-delete"]);
    assert!(!a.get_output().status.success(), "{}", output(&a));
    let text = output(&a);
    assert!(text.contains("fresh: create failed") && text.contains("BadRequest"), "{text}");
    // Skipped, not failed: the report says the delete was never sent.
    assert!(text.contains("stale: delete skipped: not sent: 1 earlier change(s) failed"), "{text}");
    assert!(text.contains("Apply: 0 succeeded, 1 failed, 1 skipped."), "{text}");
    assert!(server.requests().iter().all(|r| r.method != "DELETE"), "{:?}", server.requests());
    assert!(server.hub("stale").is_some());
    // Once the write goes through, the delete follows.
    let report = apply(&idp, &server, &path, &["--allow-delete"]);
    assert!(report.contains("2 succeeded, 0 failed"), "{report}");
    assert!(server.hub("stale").is_none());
}

#[test]
fn a_next_link_loop_is_an_error_not_a_hang() {
    let (idp, server) = setup(Namespace::new("Standard", 1));
    server.seed("a", 1, 24, "Delete");
    server.set_next_link_loop(true);
    let ws = Workspace::new();
    let path = ws.spec(&spec(&server, &idp, "standard", "", "  a: { partitions: 1 }\n"));
    let a = run(&idp, &server, &path, &["plan"]);
    assert_eq!(a.get_output().status.code(), Some(1), "{}", output(&a));
    let text = output(&a);
    assert!(text.contains("nextLink already followed") && text.contains("/eventhubs?…"), "{text}");
    assert!(!text.contains("skiptoken"), "{text}");
    let pages = server.requests().iter().filter(|r| r.path.ends_with("/eventhubs")).count();
    assert_eq!(pages, 2, "{:?}", server.requests());
}

#[tokio::test]
async fn paging_stops_after_the_most_pages() {
    let (idp, server) = setup(Namespace::new("Standard", 1));
    server.set_page_size(1);
    for i in 0..5 {
        server.seed(&format!("hub-{i}"), 1, 24, "Delete");
    }
    let timing = topicform::backend::eventhubs::arm::Timing { max_pages: 3, ..Default::default() };
    let err = client(&idp, &server).with_timing(timing).list_eventhubs().await.unwrap_err().to_string();
    assert!(err.contains("still returning a nextLink after 3 pages (3 items so far)"), "{err}");
    assert_eq!(client(&idp, &server).list_eventhubs().await.unwrap().len(), 5);
}

#[test]
fn operations_are_followed_on_the_event_hub_when_status_links_are_forbidden() {
    // A custom role with only namespaces/read and namespaces/eventhubs/*
    // cannot read .../providers/Microsoft.EventHub/locations/...
    let (idp, server) = setup(Namespace::new("Premium", 1));
    server.seed("stale", 1, 24, "Delete");
    server.set_forbid_operation_status(true);
    server.inject("PUT", Fault::AsyncOperation { polls: 1 }, 1);
    server.inject("PUT", Fault::AsyncLocation { polls: 1 }, 1);
    server.inject("DELETE", Fault::AsyncOperation { polls: 1 }, 1);
    let ws = Workspace::new();
    let path = ws.spec(&spec(
        &server,
        &idp,
        "premium",
        "    prune: true\n",
        "  a: { partitions: 3 }\n  b: { partitions: 3 }\n",
    ));
    let report = apply(&idp, &server, &path, &["--allow-delete"]);
    assert!(report.contains("3 succeeded, 0 failed"), "{report}");
    let requests = server.requests();
    let forbidden: Vec<&str> = requests.iter().filter(|r| r.status == 403).map(|r| r.path.as_str()).collect();
    assert!(forbidden.iter().any(|p| p.contains("/operationStatuses/")), "{requests:?}");
    assert!(forbidden.iter().any(|p| p.contains("/operationResults/")), "{requests:?}");
    for hub in ["a", "b", "stale"] {
        assert!(
            requests.iter().any(|r| r.method == "GET" && r.path.ends_with(&format!("/eventhubs/{hub}"))),
            "{hub} was not polled: {requests:?}"
        );
    }
    assert!(server.hub("stale").is_none());
    assert_eq!(props(&server, "a")["partitionCount"], 3);
    in_sync(&idp, &server, &path);
}

/// An ARM 401 whose message quotes the bearer token is relayed with the
/// token masked.
#[test]
fn an_arm_error_that_echoes_the_bearer_token_is_relayed_scrubbed() {
    let idp = Arc::new(Idp::start());
    let server = ArmServer::start(
        Namespace::new("Standard", 1),
        Arc::new(|token: &str| Err(format!("the token {token} is not valid for this resource"))),
    );
    let ws = Workspace::new();
    let path = ws.spec(&spec(&server, &idp, "standard", "", "  one: {}\n"));
    // The wrapper fails the test on any token (`eyJ`) in the output.
    let a = run(&idp, &server, &path, &["plan"]);
    assert_eq!(a.get_output().status.code(), Some(1));
    let text = output(&a);
    assert!(text.contains("InvalidAuthenticationToken"), "{text}");
    assert!(text.contains("the token *** is not valid for this resource"), "{text}");
}

// ------------------------------------------------------------ data roles
// Issue 15: the services' rights as role assignments on each event hub.

const ORDERS_ID: &str = "0a3c5e7f-1111-4222-8333-444455556666";
const PAYMENTS_ID: &str = "7B1D9E20-AAAA-4BBB-8CCC-DDDDEEEEFFFF";
const OTHER_ID: &str = "99999999-0000-4000-8000-000000000001";
const SENDER: &str = "2b629674-e913-4c01-ae53-ef4638d8f975";
const RECEIVER: &str = "a638d3c7-ab3a-418d-83e6-5f17a39d4fde";
const OWNER: &str = "f526a384-b230-433a-b45c-95f59c4a2dec";

/// Three hubs; `orders` produces `orders_produces` and consumes
/// payments.done, `payments` produces payments.done and consumes
/// orders.placed (its principal written in upper case).
fn services_spec(server: &ArmServer, idp: &Idp, env_extra: &str, orders_produces: &str) -> String {
    spec(
        server,
        idp,
        "standard",
        env_extra,
        &format!(
            "  orders.placed: {{}}
  orders.cancelled: {{}}
  payments.done: {{}}
services:
  orders:
    produces: [{orders_produces}]
    consumes: [payments.done]
    principals: {{ test: {ORDERS_ID} }}
  payments:
    produces: [payments.done]
    consumes: [orders.placed]
    principals: {{ test: {PAYMENTS_ID} }}
"
        ),
    )
}

/// The role writes the server saw (PUT or DELETE of an assignment).
fn role_writes(server: &ArmServer) -> Vec<(String, u16)> {
    server
        .requests()
        .iter()
        .filter(|r| (r.method == "PUT" || r.method == "DELETE") && r.path.contains("/roleAssignments/"))
        .map(|r| (r.method.clone(), r.status))
        .collect()
}

/// Each (scope, role, principal) the server holds, principals lowercase.
fn held(server: &ArmServer) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = server
        .roles()
        .into_values()
        .map(|(scope, role, principal)| (scope.to_ascii_lowercase(), role, principal.to_ascii_lowercase()))
        .collect();
    v.sort();
    v
}

#[test]
fn data_roles_are_granted_per_event_hub_adopted_when_present_and_idempotent() {
    use topicform::backend::eventhubs::arm::assignment_name;
    use topicform_core::access::DataRole;

    let (idp, server) = setup(Namespace::new("Standard", 1));
    let ns_id = server.namespace_id();
    let hub = |h: &str| format!("{ns_id}/eventhubs/{h}");
    for h in ["orders.placed", "orders.cancelled", "payments.done"] {
        server.seed(h, 2, 24, "Delete");
    }
    // Granted by hand earlier under another name: adopted, not re-granted.
    server.seed_role(&hub("orders.placed"), RECEIVER, &PAYMENTS_ID.to_ascii_lowercase(), None);
    // Never topicform's, whatever the flags: another principal, another
    // role, a wider scope (warned about), a narrower one, a condition; and
    // a subscription-wide grant of someone else, not even reported.
    server.seed_role(&hub("orders.placed"), RECEIVER, OTHER_ID, None);
    server.seed_role(&hub("orders.placed"), OWNER, ORDERS_ID, None);
    server.seed_role(&ns_id, SENDER, PAYMENTS_ID, None);
    server.seed_role(&format!("{}/consumergroups/audit", hub("payments.done")), RECEIVER, ORDERS_ID, None);
    server.seed_role(&hub("payments.done"), SENDER, ORDERS_ID, Some("@Resource[x] StringEquals 'y'"));
    let subscription = ns_id.split("/resourceGroups").next().unwrap().to_owned();
    server.seed_role(&subscription, OWNER, OTHER_ID, None);

    let ws = Workspace::new();
    let path = ws.spec(&services_spec(&server, &idp, "    pruneAcls: true\n", "orders.*"));
    let p = plan(&idp, &server, &path);
    assert_eq!(p["access"]["summary"], json!({"create": 4, "delete": 0, "unchanged": 1, "unmanaged": 5}), "{p:#}");
    let whys: Vec<&str> =
        p["access"]["unmanaged"].as_array().unwrap().iter().map(|u| u["why"].as_str().unwrap()).collect();
    for why in ["otherPrincipal", "otherRole", "notOnHub", "conditional"] {
        assert!(whys.contains(&why), "{why} missing: {whys:?}");
    }
    let text = stdout(&run(&idp, &server, &path, &["plan"]));
    let want = format!("+ create role assignment Azure Event Hubs Data Sender for {ORDERS_ID} on event hub orders.cancelled (for orders)");
    assert!(text.contains(&want), "{text}");
    assert!(
        text.contains(
            "warning: 1 Data Sender/Receiver assignment(s) of the services' principals cover the whole namespace"
        ),
        "{text}"
    );
    assert!(text.contains("role assignments: 4 to create, 0 to delete, 1 unchanged, 5 unmanaged"), "{text}");

    // Every PUT passed the server's check against Microsoft's definition
    // (a refused body fails the apply), at hub scope with the derived name.
    let before = held(&server);
    server.clear_log();
    apply(&idp, &server, &path, &["--allow-delete"]);
    assert_eq!(role_writes(&server), vec![("PUT".to_owned(), 201); 4]);
    let roles = server.roles();
    for (h, role, principal) in [
        ("orders.placed", DataRole::Sender, ORDERS_ID),
        ("orders.cancelled", DataRole::Sender, ORDERS_ID),
        ("payments.done", DataRole::Receiver, ORDERS_ID),
        ("payments.done", DataRole::Sender, &PAYMENTS_ID.to_ascii_lowercase()),
    ] {
        let name = assignment_name(&hub(h), &role, principal);
        let (scope, guid, who) = roles.get(&name).unwrap_or_else(|| panic!("no {name} for {h}: {roles:#?}"));
        assert_eq!(
            (scope.to_ascii_lowercase(), guid.as_str(), who.as_str()),
            (hub(h).to_ascii_lowercase(), role.guid(), principal)
        );
    }
    let after = held(&server);
    assert!(before.iter().all(|b| after.contains(b)), "an assignment topicform does not manage went away");

    // Again: in sync, and not one write.
    in_sync(&idp, &server, &path);
    server.clear_log();
    apply(&idp, &server, &path, &["--allow-delete"]);
    assert_eq!(role_writes(&server), vec![]);
    assert!(server.requests().iter().all(|r| !r.path.contains("/roleAssignments/") || r.method == "GET"));
}

#[test]
fn a_dropped_produces_entry_is_revoked_only_with_both_opt_ins() {
    let (idp, server) = setup(Namespace::new("Standard", 1));
    let ws = Workspace::new();
    let full = ws.spec(&services_spec(&server, &idp, "", "orders.*"));
    apply(&idp, &server, &full, &[]);
    let granted = held(&server);
    assert_eq!(granted.len(), 5, "{granted:#?}");

    // orders no longer produces orders.cancelled.
    let narrower = services_spec(&server, &idp, "", "orders.placed");
    let path = ws.spec(&narrower);
    let p = plan(&idp, &server, &path);
    assert_eq!(p["access"]["summary"]["unmanaged"], 1, "{p:#}");
    assert_eq!(p["access"]["unmanaged"][0]["why"], "notInSpec");
    apply(&idp, &server, &path, &["--allow-delete"]);
    assert_eq!(held(&server), granted, "without pruneAcls nothing is revoked");

    let path = ws.spec(&narrower.replacen(
        "        clientSecret: { env: AZURE_CLIENT_SECRET }\n",
        "        clientSecret: { env: AZURE_CLIENT_SECRET }\n    pruneAcls: true\n",
        1,
    ));
    apply(&idp, &server, &path, &[]);
    assert_eq!(held(&server), granted, "without --allow-delete nothing is revoked");
    server.clear_log();
    let out = apply(&idp, &server, &path, &["--allow-delete"]);
    assert_eq!(role_writes(&server), vec![("DELETE".to_owned(), 200)], "{out}");
    let left = held(&server);
    assert_eq!(left.len(), 4);
    assert!(left.iter().all(|(scope, ..)| !scope.ends_with("/eventhubs/orders.cancelled")), "{left:#?}");
    in_sync(&idp, &server, &path);
}

#[test]
fn a_grant_made_meanwhile_is_already_granted_and_a_forbidden_one_names_the_permission() {
    let (idp, server) = setup(Namespace::new("Standard", 1));
    let ws = Workspace::new();
    // Hubs first, so the next apply is only grants (one spec file per
    // workspace: each `spec` rewrites it).
    let topics_only = ws.spec(services_spec(&server, &idp, "", "orders.*").split("services:").next().unwrap());
    apply(&idp, &server, &topics_only, &[]);
    let path = ws.spec(&services_spec(&server, &idp, "", "orders.*"));

    // Someone grants the first one between plan and PUT: answered 409
    // RoleAssignmentExists, which is the grant, not retried.
    server.inject("PUT role", Fault::RoleAssignmentExists, 1);
    server.clear_log();
    apply(&idp, &server, &path, &[]);
    let puts = role_writes(&server);
    assert_eq!(puts.len(), 5, "one PUT per grant, none retried: {puts:?}");
    assert_eq!(puts.iter().filter(|(_, status)| *status == 409).count(), 1);

    // An identity without the permission (or refused by its condition).
    server.inject("GET role", Fault::Forbidden, 1);
    let a = run(&idp, &server, &path, &["plan"]);
    let out = output(&a);
    assert_eq!(a.get_output().status.code(), Some(1), "{out}");
    assert!(out.contains("HTTP 403"), "{out}");
    assert!(out.contains("topicform.manage_data_roles = true"), "{out}");
}

#[test]
fn role_assignment_bodies_follow_microsofts_definition() {
    let schema = Schema::load();
    let spec = "authorization/2022-04-01/authorization-RoleAssignmentsCalls.json";
    let read = |rel: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(arm::reference_dir().join(rel)).unwrap()).unwrap()
    };
    // Microsoft's own create request passes.
    let example = read("authorization/2022-04-01/examples/RoleAssignments_CreateForResource.json");
    assert_eq!(
        schema.validate_definition(spec, "RoleAssignmentCreateParameters", &example["parameters"]["parameters"]),
        Vec::<String>::new()
    );
    // What topicform sends passes; `scope` is read-only, principalId required,
    // principalType an enum.
    let ours = json!({"properties": {"roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/2b629674-e913-4c01-ae53-ef4638d8f975", "principalId": ORDERS_ID, "principalType": "ServicePrincipal", "description": "x"}});
    assert_eq!(schema.validate_definition(spec, "RoleAssignmentCreateParameters", &ours), Vec::<String>::new());
    let bad = json!({"properties": {"roleDefinitionId": "r", "principalType": "Robot", "scope": "/"}});
    let problems = schema.validate_definition(spec, "RoleAssignmentCreateParameters", &bad).join("\n");
    assert!(problems.contains("principalId is required"), "{problems}");
    assert!(problems.contains("scope is read-only"), "{problems}");
    assert!(problems.contains("`Robot` is not one of"), "{problems}");
}
