//! `topicform env`: the broker environment contract of DESIGN section 5 in
//! every format, secrets as references unless revealed.

mod support;

use support::topicform;

const SPEC: &str = "tests/testdata/valid/profiles.yaml";
/// An Event Hubs-format connection string made up for the test.
const CONNECTION_STRING: &str =
    "Endpoint=sb://etelios-prod.servicebus.windows.net/;SharedAccessKeyName=test-send;SharedAccessKey=made-up-for-tests";

fn env(profile: &str, format: &str, extra: &[&str]) -> String {
    let mut cmd = topicform();
    cmd.args(["env", "-f", SPEC, "-e", profile, "--format", format])
        .args(extra)
        .env("TEST_EVENTHUBS_CONNECTION_STRING", CONNECTION_STRING)
        .env("TEST_KAFKA_USERNAME", "svc-orders");
    if extra.contains(&"--reveal-secrets") {
        // Asked for: the one output that may hold the secret (stdout only).
        cmd.reveals(CONNECTION_STRING);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn local_kafka_is_brokers_and_plaintext_only() {
    assert_eq!(env("local", "dotenv", &[]), "KAFKA_BROKERS=localhost:9092\nKAFKA_SECURITY_PROTOCOL=PLAINTEXT\n");
}

#[test]
fn event_hubs_plain_uses_the_connection_string_user_and_a_secret_password() {
    assert_eq!(
        env("eventhubs-plain", "dotenv", &[]),
        "KAFKA_BROKERS=etelios-prod.servicebus.windows.net:9093\n\
         KAFKA_SECURITY_PROTOCOL=SASL_SSL\n\
         KAFKA_SASL_MECHANISM=PLAIN\n\
         KAFKA_SASL_USERNAME='$ConnectionString'\n\
         KAFKA_SASL_PASSWORD=${TEST_EVENTHUBS_CONNECTION_STRING}\n"
    );
}

#[test]
fn event_hubs_oauthbearer_has_no_username_or_password() {
    assert_eq!(
        env("eventhubs-oauth", "dotenv", &[]),
        "KAFKA_BROKERS=etelios-prod.servicebus.windows.net:9093\nKAFKA_SECURITY_PROTOCOL=SASL_SSL\nKAFKA_SASL_MECHANISM=OAUTHBEARER\n"
    );
}

#[test]
fn every_format_of_every_profile_is_stable_and_secret_free() {
    for profile in ["local", "eventhubs-plain", "eventhubs-oauth", "staging-scram"] {
        for format in ["dotenv", "shell", "json", "k8s-secret", "helm-values"] {
            let text = env(profile, format, &[]);
            assert!(!text.contains("made-up-for-tests"), "{profile}/{format} leaked the secret:\n{text}");
            assert!(!text.contains("svc-orders"), "{profile}/{format} leaked the user name:\n{text}");
            insta::assert_snapshot!(format!("env_{profile}_{format}"), text);
        }
    }
}

#[test]
fn reveal_secrets_prints_values_only_when_asked() {
    let dotenv = env("eventhubs-plain", "dotenv", &["--reveal-secrets"]);
    assert!(dotenv.contains(&format!("KAFKA_SASL_PASSWORD='{CONNECTION_STRING}'")), "{dotenv}");
    let secret = env("eventhubs-plain", "k8s-secret", &["--reveal-secrets", "--secret-name", "orders-kafka"]);
    assert!(secret.contains("kind: Secret"), "{secret}");
    assert!(secret.contains(&format!("KAFKA_SASL_PASSWORD: {CONNECTION_STRING}")), "{secret}");
    assert!(secret.contains("name: orders-kafka"), "{secret}");
}

#[test]
fn reveal_fails_naming_the_missing_reference() {
    topicform()
        .args(["env", "-f", SPEC, "-e", "eventhubs-plain", "--reveal-secrets"])
        .env_remove("TEST_EVENTHUBS_CONNECTION_STRING")
        .assert()
        .code(1)
        .stderr(predicates::str::contains("cannot read secret { env: TEST_EVENTHUBS_CONNECTION_STRING }"));
}

/// `env --service` refuses rather than hand a service topicform's own
/// credentials, and names what to add.
#[test]
fn env_service_refuses_what_would_leak_topicforms_credentials() {
    let example = support::repo().join("examples/etelios/topicform.yaml");
    let run = |args: &[&str], spec: &std::path::Path| {
        let out = topicform()
            .args(["env", "-e", "staging"])
            .args(args)
            .arg("-f")
            .arg(spec)
            .env("KAFKA_USERNAME", "topicform-admin")
            .env("KAFKA_PASSWORD", "admin-password-never-shown")
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!text.contains("admin-password-never-shown") && !text.contains("topicform-admin"), "{text}");
        (out.status.code(), text)
    };
    let (code, text) = run(&["--service", "billing-service"], &example);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("no service `billing-service` in the spec"), "{text}");
    assert!(text.contains("this spec declares: auth-service, hr-service"), "{text}");

    let original = std::fs::read_to_string(&example).unwrap();
    let ws = support::Workspace::new();
    let no_password =
        ws.spec(&original.replace("    passwords: { staging: { env: AUTH_SERVICE_KAFKA_PASSWORD } }\n", ""));
    let (code, text) = run(&["--service", "auth-service"], &no_password);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("no password for this environment's SCRAM-SHA-512 user `auth-service`"), "{text}");

    let staging_principal = "principals: { staging: User:auth-service, prod:";
    assert!(original.contains(staging_principal), "the example's auth-service principals changed");
    let no_principal = ws.file("no-principal.yaml", &original.replace(staging_principal, "principals: { prod:"));
    let (code, text) = run(&["--service", "auth-service"], &no_principal);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("would get topicform's own SCRAM-SHA-512 credentials"), "{text}");

    // Its own principal must resolve; the other services' need not.
    let unset = ws.file(
        "unset-principal.yaml",
        &original.replace(staging_principal, "principals: { staging: \"User:${TF_TEST_AUTH_USER}\", prod:"),
    );
    let (code, text) = run(&["--service", "auth-service"], &unset);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("the principal of service `auth-service` here, `User:${TF_TEST_AUTH_USER}`, uses an environment variable that is not set: export TF_TEST_AUTH_USER"), "{text}");
    let (code, text) = run(&["--service", "hr-service"], &unset);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("KAFKA_SASL_USERNAME=hr-service"), "{text}");

    // Without a principal on a cluster without SASL, the group is all it adds.
    let (code, text) = {
        let out = topicform()
            .args(["env", "-e", "local", "--service", "analytics-service", "-f"])
            .arg(&example)
            .env_remove("KAFKA_BROKERS")
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        text,
        "KAFKA_BROKERS=localhost:9092\nKAFKA_SECURITY_PROTOCOL=PLAINTEXT\nKAFKA_GROUP_ID=analytics-service\n"
    );
}

// ---- env --client LIB ----------------------------------------------------------

fn client(profile: &str, library: &str) -> String {
    let out = topicform()
        .args(["env", "-f", SPEC, "-e", profile, "--client", library])
        .env("TEST_EVENTHUBS_CONNECTION_STRING", CONNECTION_STRING)
        .env("TEST_KAFKA_USERNAME", "svc-orders")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The `key=value` lines of a properties file, each with the comment above it.
fn properties(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && l.contains('='))
        .map(|(i, l)| {
            assert!(lines[i - 1].starts_with("# "), "`{l}` has no source comment above it");
            (l.to_string(), lines[i - 1].to_string())
        })
        .collect()
}

/// Microsoft's guide (apache-kafka-configurations, December 2025): the Java
/// client's recommended values, each with its source beside it.
#[test]
fn java_on_event_hubs_gets_the_guides_values_with_their_sources() {
    for profile in ["eventhubs-plain", "eventhubs-oauth"] {
        let text = client(profile, "java");
        let got = properties(&text);
        let keys: Vec<&str> = got.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            keys,
            [
                "metadata.max.age.ms=180000",
                "connections.max.idle.ms=180000",
                "request.timeout.ms=60000",
                "max.request.size=1000000",
                "session.timeout.ms=30000"
            ]
        );
        assert!(got.iter().all(|(_, source)| source.contains("Microsoft")), "{got:?}");
        assert!(got[3].1.contains("must be < 1046528"));
        assert!(text.contains("https://learn.microsoft.com/azure/event-hubs/apache-kafka-configurations"));
        assert!(text.contains("compression.type: none (the default) or gzip"));
    }
}

#[test]
fn librdkafka_and_confluent_kafka_go_get_librdkafkas_names() {
    for library in ["librdkafka", "confluent-kafka-go"] {
        let text = client("eventhubs-plain", library);
        let keys: Vec<String> = properties(&text).into_iter().map(|(l, _)| l).collect();
        assert_eq!(
            keys,
            [
                "socket.keepalive.enable=true",
                "metadata.max.age.ms=180000",
                "connections.max.idle.ms=180000",
                "request.timeout.ms=60000",
                "socket.timeout.ms=60000",
                "session.timeout.ms=30000"
            ],
            "{library}"
        );
    }
    assert!(client("eventhubs-plain", "confluent-kafka-go").contains("kafka.ConfigMap"));
}

#[test]
fn kafkajs_gets_a_module_of_its_own_option_names() {
    let text = client("eventhubs-oauth", "kafkajs");
    assert!(text.contains("module.exports = {\n  client: {\n    // Microsoft's request.timeout.ms: 60000, must be > 20000 (kafkajs' default is 30000)\n    requestTimeout: 60000,\n  },"), "{text}");
    assert_eq!(text.matches("metadataMaxAge: 180000,").count(), 2, "producer and consumer: {text}");
    assert!(text.contains("sessionTimeout: 30000,"));
    assert!(text.contains("kafkajs has no max.request.size: keep each send() or sendBatch() under 1046528 bytes"));
}

#[test]
fn apache_kafka_needs_nothing_extra() {
    let text = client("local", "java");
    assert!(properties(&text).is_empty(), "{text}");
    assert!(text.contains("Nothing extra: the library's defaults are made for Apache Kafka."));
    let module = client("local", "kafkajs");
    assert!(module.ends_with("module.exports = {\n  client: {},\n  producer: {},\n  consumer: {},\n};\n"), "{module}");
}

#[test]
fn client_settings_come_as_the_files_or_the_charts_values_only() {
    topicform()
        .args(["env", "-f", SPEC, "-e", "local", "--client", "java", "--format", "k8s-secret"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("--client and --format k8s-secret do not go together"));
    topicform()
        .args(["env", "-f", SPEC, "-e", "local", "--client", "java", "--service", "x"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("cannot be used with"));
    let out = topicform()
        .args(["env", "-f", SPEC, "-e", "local", "--client", "kafkajs", "--format", "helm-values"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "clientConfig:\n  library: kafkajs\n  file: kafkajs.config.js\n  content: |\n    // Kafka client settings"
        ),
        "{text}"
    );
}
