//! CLI tests that need no broker: validation corpus, schema, help, exit codes.

mod support;

use std::fs;

use predicates::prelude::*;
use support::{repo, topicform, Workspace};

/// Every file in tests/testdata/invalid starts with `# expect: LINE:COL message`;
/// validate must fail with exactly that location and message on one line.
#[test]
fn invalid_corpus_reports_file_line_col_and_message() {
    let dir = repo().join("tests/testdata/invalid");
    let mut files: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus shrank: {files:?}");
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        let expect =
            text.lines().next().unwrap().strip_prefix("# expect: ").expect("first line is `# expect: L:C message`");
        let (loc, message) = expect.split_once(' ').unwrap();
        let rel = file.strip_prefix(repo()).unwrap().display().to_string();
        let out = topicform().args(["validate", "-f", &rel]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{rel}: exit code\n{stderr}");
        let line = stderr
            .lines()
            .find(|l| l.contains(&format!("{rel}:{loc}: ")))
            .unwrap_or_else(|| panic!("{rel}: no `{rel}:{loc}: ` in\n{stderr}"));
        assert!(line.contains(message), "{rel}: `{message}` not in `{line}`");
        assert!(out.stdout.is_empty(), "{rel}: validate printed on stdout");
    }
}

#[test]
fn literal_secrets_are_never_echoed_even_next_to_other_errors() {
    // literal_secret.yaml's password.
    support::secrets::register("hunter2-literal-secret");
    for (file, message) in [
        ("tests/testdata/invalid/literal_secret.yaml", "literal secret"),
        ("tests/testdata/invalid/secret_next_to_error.yaml", "unknown variant `PLAN`"),
    ] {
        let out = topicform().args(["validate", "-f", file]).output().unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(all.contains(message), "{all}");
        assert!(!all.contains("hunter2"), "the secret leaked:\n{all}");
    }
}

#[test]
fn example_spec_validates_and_names_unset_variables_as_warnings() {
    topicform()
        .args(["validate", "--all", "-f", "examples/etelios/topicform.yaml"])
        .env_remove("AZURE_SUBSCRIPTION_ID")
        .assert()
        .success()
        .stderr(predicate::str::contains("AZURE_SUBSCRIPTION_ID` is not set"))
        .stderr(predicate::str::contains("308:53: environment variable `AUTH_SERVICE_PRINCIPAL_ID` is not set"))
        .stderr(predicate::str::contains(
            "valid (35 topics, 5 services; environments: local, staging, prod; 6 warning(s))",
        ));
    with_principal_ids(topicform().args(["validate", "-f", "examples/etelios/topicform.yaml"]))
        .env("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000000")
        .assert()
        .success()
        .stderr(predicate::str::contains("warning").not());
}

/// The example's services' object ids on prod, as CI exports them.
fn with_principal_ids(cmd: &mut support::Topicform) -> &mut support::Topicform {
    for (i, svc) in ["AUTH", "HR", "NOTIFICATION", "ANALYTICS", "INVENTORY"].iter().enumerate() {
        cmd.env(format!("{svc}_SERVICE_PRINCIPAL_ID"), format!("00000000-0000-4000-8000-00000000000{i}"));
    }
    cmd
}

#[test]
fn only_commands_that_grant_need_the_services_principal_variables() {
    let example = "examples/etelios/topicform.yaml";
    // `env` for the environment grants nothing: the variables only warn.
    topicform()
        .args(["env", "-e", "prod", "-f", example])
        .env("AZURE_SUBSCRIPTION_ID", "sub")
        .assert()
        .success()
        .stdout(predicate::str::contains("KAFKA_BROKERS=etelios-prod.servicebus.windows.net:9093"))
        .stderr(predicate::str::contains("AUTH_SERVICE_PRINCIPAL_ID` is not set"));
    // `plan` would grant: an error naming each, before any request.
    topicform()
        .args(["plan", "-e", "prod", "-f", example])
        .env("AZURE_SUBSCRIPTION_ID", "sub")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("5 error(s) in the spec"))
        .stderr(predicate::str::contains("308:53: environment variable `AUTH_SERVICE_PRINCIPAL_ID` is not set"));
}

#[test]
fn the_examples_services_and_topic_consumers_are_cross_checked_with_both_places_named() {
    let example = std::fs::read_to_string("examples/etelios/topicform.yaml").unwrap();
    let line_of = |text: &str, needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let broken = example.replace("    consumers: [analytics-service]\n", "    consumers: [billing-service]\n");
    assert_ne!(broken, example);
    let ws = support::Workspace::new();
    let file = ws.spec(&broken);
    let out = topicform().args(["validate", "-f"]).arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let consumes = line_of(&broken, "consumes: [user.created, user.updated, user.login]");
    let consumers = line_of(&broken, "consumers: [billing-service]");
    assert!(
        stderr.contains("service `analytics-service` consumes `user.updated` with group `analytics-service`, but the topic's consumers leave that group out"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("topicform.yaml:{consumes}:")), "the service's line {consumes}: {stderr}");
    assert!(
        stderr.contains(&format!("the other side is at {}:{consumers}:", file.display())),
        "the topic's line {consumers}: {stderr}"
    );
}

#[test]
fn standard_tier_example_fails_on_hubs_per_namespace() {
    topicform()
        .args(["validate", "-f", "examples/etelios/topicform.standard-tier.yaml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("35 topics exceed the standard tier's limit of 10 event hubs per namespace"));
}

#[test]
fn schema_in_repo_is_current() {
    let out = topicform().arg("schema").output().unwrap();
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let kept = fs::read_to_string(repo().join("schema/topicform.schema.json")).unwrap_or_default();
    assert!(
        generated == kept,
        "schema/topicform.schema.json is stale; regenerate it with `cargo run -q -- schema > schema/topicform.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(schema["additionalProperties"], false, "the spec's root must deny unknown keys");

    let out = topicform().args(["schema", "--policy"]).output().unwrap();
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let kept = fs::read_to_string(repo().join("schema/policy.schema.json")).unwrap_or_default();
    assert!(
        generated == kept,
        "schema/policy.schema.json is stale; regenerate it with `cargo run -q -- schema --policy > schema/policy.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(schema["additionalProperties"], false, "a policy file must deny unknown keys");
}

#[test]
fn help_texts_are_stable() {
    for args in [
        vec!["--help"],
        vec!["plan", "--help"],
        vec!["apply", "--help"],
        vec!["validate", "--help"],
        vec!["export", "--help"],
    ] {
        let out = topicform().args(&args).output().unwrap();
        assert!(out.status.success());
        let name = format!("help_{}", args.join("_").replace("--", ""));
        insta::assert_snapshot!(name, String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn version_and_completions() {
    topicform().arg("--version").assert().success().stdout(predicate::str::starts_with("topicform "));
    for shell in ["bash", "zsh", "fish"] {
        topicform().args(["completions", shell]).assert().success().stdout(predicate::str::contains("topicform"));
    }
}

#[test]
fn missing_environment_lists_the_defined_ones() {
    topicform()
        .args(["plan", "-f", "examples/etelios/topicform.yaml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no environment given"))
        .stderr(predicate::str::contains("local, staging, prod"));
    topicform()
        .args(["plan", "-f", "examples/etelios/topicform.yaml"])
        .env("TOPICFORM_ENV", "qa")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("environment `qa` is not defined"));
}

#[test]
fn unset_variable_fails_plan_with_its_name() {
    topicform()
        .args(["plan", "-e", "prod", "-f", "examples/etelios/topicform.yaml"])
        .env_remove("AZURE_SUBSCRIPTION_ID")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("environment variable `AZURE_SUBSCRIPTION_ID` is not set"));
}

#[test]
fn unset_variables_in_oauth_token_endpoint_and_scope_are_located() {
    let file = "tests/testdata/valid/unset_oauth_variables.yaml";
    let at = |loc: &str, var: &str| format!("{file}:{loc}: environment variable `{var}` is not set");
    topicform()
        .args(["validate", "-f", file])
        .env_remove("TF_TEST_IDP_URL")
        .env_remove("TF_TEST_KAFKA_SCOPE")
        .assert()
        .success()
        .stderr(predicate::str::contains(at("13:26", "TF_TEST_IDP_URL")))
        .stderr(predicate::str::contains(at("16:18", "TF_TEST_KAFKA_SCOPE")))
        .stderr(predicate::str::contains("2 warning(s)"));
    // plan fails before connecting (the broker address is unreachable).
    topicform()
        .args(["plan", "-e", "oidc", "--timeout", "2", "-f", file])
        .env_remove("TF_TEST_IDP_URL")
        .env_remove("TF_TEST_KAFKA_SCOPE")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(at("13:26", "TF_TEST_IDP_URL")))
        .stderr(predicate::str::contains(at("16:18", "TF_TEST_KAFKA_SCOPE")))
        .stderr(predicate::str::contains("cannot use the Kafka cluster").not());
}

#[test]
fn event_hubs_plan_without_workload_identity_names_what_is_missing() {
    // The ARM backend itself is tested against the contract server in tests/eventhubs.rs.
    with_principal_ids(topicform().args(["plan", "-e", "prod", "-f", "examples/etelios/topicform.yaml"]))
        .env("AZURE_SUBSCRIPTION_ID", "sub")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("workloadIdentity").and(predicate::str::contains("AZURE_FEDERATED_TOKEN_FILE")),
        );
}

#[test]
fn missing_spec_file_says_what_to_pass() {
    topicform()
        .args(["validate", "-f", "does-not-exist.yaml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot read spec does-not-exist.yaml"))
        .stderr(predicate::str::contains("-f FILE"));
}

#[test]
fn unreadable_saved_plan_is_refused_before_connecting() {
    let ws = Workspace::new();
    let spec = ws.spec(&support::kafka_spec("127.0.0.1:1", "", "  a: {}\n"));
    let plan = ws.file("plan.json", "{\"formatVersion\": 99}");
    topicform()
        .args(["apply", "-e", "test", "--auto-approve", "-f"])
        .arg(&spec)
        .arg("--plan")
        .arg(&plan)
        .args(["--timeout", "2"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot read plan"))
        .stderr(predicate::str::contains("missing field"));
}

#[test]
fn unreachable_broker_fails_clearly_and_at_once_in_every_command() {
    let ws = Workspace::new();
    let spec = ws.spec(&support::kafka_spec("127.0.0.1:1", "", "  a: {}\n"));
    // Nothing listens: the TCP step of `check` says so in milliseconds,
    // whatever --timeout allows.
    for command in [&["plan"][..], &["apply", "--auto-approve"], &["export"], &["lag", "--group", "g"]] {
        let started = std::time::Instant::now();
        topicform()
            .args(command)
            .args(["-e", "test", "--timeout", "30", "-f"])
            .arg(&spec)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(
                "cannot use the Kafka cluster at 127.0.0.1:1: nothing listens on 127.0.0.1:1 (tcp: 127.0.0.1:1: connection refused)",
            ))
            .stderr(predicate::str::contains("help: start the broker, or correct the port"));
        assert!(started.elapsed().as_secs() < 5, "{command:?} took {:?}", started.elapsed());
    }
}

#[test]
fn secrets_from_env_never_appear_in_errors() {
    let ws = Workspace::new();
    let env = "    cluster:\n      type: kafka\n      bootstrapServers: [127.0.0.1:1]\n      tls: {}\n      sasl:\n        mechanism: PLAIN\n        username: { env: TF_TEST_USER }\n        password: { env: TF_TEST_PASSWORD }\n";
    let spec = ws.spec(&format!(
        "version: 1\ndefaults: {{ partitions: 1, replicationFactor: 1 }}\nenvironments:\n  test:\n{env}topics:\n  a: {{}}\n"
    ));
    let out = topicform()
        .args(["plan", "-e", "test", "--timeout", "2", "--log-level", "trace", "-f"])
        .arg(&spec)
        .env("TF_TEST_USER", "svc-user")
        .env("TF_TEST_PASSWORD", "s3cr3t-pa55word-value")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains("s3cr3t-pa55word-value"), "password leaked:\n{all}");
}

#[test]
fn unknown_kafka_config_key_is_one_warning_with_a_suggestion() {
    let out = topicform().args(["validate", "-f", "tests/testdata/valid/typo_warning.yaml"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("is not a Kafka topic config").count(), 1, "{stderr}");
    assert!(
        stderr.contains("tests/testdata/valid/typo_warning.yaml:7:13: `retention.msx` is not a Kafka topic config"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `retention.ms`?"), "{stderr}");
}

#[test]
fn json_logs_are_json_lines() {
    let ws = Workspace::new();
    let spec = ws.spec(&support::kafka_spec("127.0.0.1:1", "", "  a: {}\n"));
    let out = topicform()
        .args(["plan", "-e", "test", "--timeout", "2", "--log-format", "json", "--log-level", "debug", "-f"])
        .arg(&spec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Every line is JSON: the log events, then the error itself.
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{stderr}")))
        .collect();
    assert!(lines.iter().any(|v| v["level"] == "DEBUG" && v.get("timestamp").is_some()), "{stderr}");
    let error = lines.last().unwrap();
    assert!(error["message"].as_str().unwrap().contains("cannot use the Kafka cluster"), "{stderr}");
    assert_eq!(error["code"], "topicform::kafka::unreachable");
}

#[test]
fn usage_errors_exit_1_not_2() {
    // 2 means "changes pending" to CI; a typo must never look like that.
    topicform().args(["plan", "-o", "yaml"]).assert().code(1).stderr(predicate::str::contains("invalid value 'yaml'"));
    topicform().args(["plan", "--timeout", "abc"]).assert().code(1);
    topicform().arg("--help").assert().code(0);
    // --all wins over TOPICFORM_ENV instead of conflicting with it.
    topicform()
        .args(["validate", "--all", "-f", "tests/testdata/valid/profiles.yaml"])
        .env("TOPICFORM_ENV", "local")
        .assert()
        .success()
        .stderr(predicate::str::contains("environments: local, eventhubs-plain, eventhubs-oauth, staging-scram"));
}

#[test]
fn json_log_format_keeps_stderr_json_even_with_warnings() {
    let out = topicform()
        .args(["validate", "--log-format", "json", "-f", "tests/testdata/valid/typo_warning.yaml"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{stderr}"));
    }
    assert!(stderr.contains("retention.msx"), "{stderr}");
}

#[test]
fn two_specs_owning_the_same_topics_on_one_cluster_are_refused_naming_both() {
    let ws = Workspace::new();
    let spec = |owns: &str, cluster: &str, topic: &str| {
        format!(
            "version: 1
defaults: {{ partitions: 1, replicationFactor: 1 }}
environments:
  prod:
    cluster: {{ type: kafka, bootstrapServers: [\"kafka:9092\"] }}
    clusterId: {cluster}
    owns: [{owns}]
topics:
  {topic}: {{}}
"
        )
    };
    let orders = ws.file("orders.yaml", &spec("\"orders.*\"", "abc", "orders.placed"));
    let eu = ws.file("eu.yaml", &spec("\"orders.eu.*\"", "abc", "orders.eu.placed"));
    topicform()
        .args(["validate", "-f"])
        .arg(&orders)
        .arg("--against")
        .arg(&eu)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("orders.yaml:7:11: environment `prod` and environment `prod` of "))
        .stderr(predicate::str::contains("eu.yaml both reconcile cluster `abc`, and both own `orders.eu.*`"))
        .stderr(predicate::str::contains("eu.yaml:7:11)"));
    // Disjoint scopes, or another cluster: nothing to say.
    let payments = ws.file("payments.yaml", &spec("\"payments.*\"", "abc", "payments.done"));
    let elsewhere = ws.file("elsewhere.yaml", &spec("\"orders.eu.*\"", "xyz", "orders.eu.placed"));
    topicform()
        .args(["validate", "-f"])
        .arg(&orders)
        .args(["--against"])
        .arg(&payments)
        .arg("--against")
        .arg(&elsewhere)
        .assert()
        .success();
}
