//! SASL OAUTHBEARER against the real broker's SASL_SSL listener, with tokens
//! from the local Entra ID-compatible identity provider (tests/support/idp.rs)
//! that the broker verifies against the provider's JWKS: apply over every
//! token source, the example's Event Hubs environment passing `check
//! --roundtrip` through workload identity, and the failure classes.

mod support;

use std::path::PathBuf;

use support::idp::{Fault, Idp, CLIENT_ID, CLIENT_SECRET, MANAGED_IDENTITY_CLIENT_ID, TENANT};
use support::{kafka_spec, secure_broker, test_port, topicform, unique_prefix, Workspace};

/// The audience the test broker accepts for `type: kafka` OAUTHBEARER.
const KAFKA_SCOPE: &str = "api://topicform-test-kafka/.default";

fn idp() -> Idp {
    Idp::start_for_broker(&secure_broker().dir)
}

/// A `type: kafka` environment `test` on the SASL_SSL listener with `oauth`
/// (YAML flow mapping) and one topic.
fn oauth_spec(oauth: &str, topic: &str) -> String {
    let b = secure_broker();
    format!(
        "version: 1\ndefaults: {{ partitions: 1, replicationFactor: 1 }}\nenvironments:\n  test:\n    cluster:\n      type: kafka\n      bootstrapServers: [\"{}\"]\n      tls: {{ caFile: \"{}\" }}\n      sasl:\n        mechanism: OAUTHBEARER\n        oauth: {oauth}\ntopics:\n  {topic}: {{}}\n",
        b.sasl_ssl,
        b.ca.display()
    )
}

fn oidc_block(idp: &Idp) -> String {
    format!(
        "{{ tokenEndpoint: \"{}/{TENANT}/oauth2/v2.0/token\", clientId: \"{CLIENT_ID}\", clientSecret: {{ env: TF_OIDC_SECRET }}, scope: \"{KAFKA_SCOPE}\" }}",
        idp.authority_host
    )
}

/// Runs topicform with `envs`; returns (exit code, stdout, stderr) and
/// asserts no secret or token appears in either stream.
fn run(args: &[&str], spec: &PathBuf, envs: &[(String, String)]) -> (i32, String, String) {
    let mut cmd = topicform();
    cmd.args(args).arg("-f").arg(spec);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    for text in [&stdout, &stderr] {
        assert!(!text.contains(CLIENT_SECRET), "the client secret leaked:\n{text}");
        // Every JWT starts with base64url('{"'): no token may be printed.
        assert!(!text.contains("eyJ"), "a token leaked:\n{text}");
    }
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

/// Creates a fresh topic through the secure broker's PLAINTEXT listener.
fn plaintext_topic(ws: &Workspace, test: &str) -> String {
    let topic = format!("{}t", unique_prefix(test));
    let admin =
        ws.file("admin.yaml", &kafka_spec(&format!("localhost:{}", test_port(200)), "", &format!("  {topic}: {{}}\n")));
    support::apply(&admin, &[]);
    topic
}

fn secret_env() -> Vec<(String, String)> {
    vec![("TF_OIDC_SECRET".into(), CLIENT_SECRET.into())]
}

#[test]
fn apply_over_oauthbearer_with_oidc_client_credentials() {
    let idp = idp();
    let ws = Workspace::new();
    let spec = ws.spec(&oauth_spec(&oidc_block(&idp), &format!("{}t", unique_prefix("oidc"))));
    let (code, stdout, stderr) = run(&["apply", "-e", "test", "--auto-approve"], &spec, &secret_env());
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("Apply: 1 succeeded, 0 failed, 0 skipped."), "{stdout}");
    let (code, stdout, stderr) = run(&["plan", "-e", "test", "--detailed-exitcode"], &spec, &secret_env());
    assert_eq!(code, 0, "a second plan is in sync:\n{stdout}\n{stderr}");
    assert!(idp.tokens_issued() >= 2, "each run fetched its own token");
}

#[test]
fn apply_over_oauthbearer_with_entra_client_secret_and_managed_identity() {
    let idp = idp();
    let ws = Workspace::new();
    let topic = format!("{}t", unique_prefix("entra"));
    let entra = format!(
        "{{ credential: clientSecret, tenantId: \"{TENANT}\", clientId: \"{CLIENT_ID}\", clientSecret: {{ env: TF_OIDC_SECRET }}, authorityHost: \"{}\", scope: \"{KAFKA_SCOPE}\" }}",
        idp.authority_host
    );
    let spec = ws.spec(&oauth_spec(&entra, &topic));
    let (code, stdout, stderr) = run(&["apply", "-e", "test", "--auto-approve"], &spec, &secret_env());
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    // The same topic through a user-assigned managed identity (IMDS).
    let mi = ws
        .file("mi.yaml", &oauth_spec(&format!("{{ credential: managedIdentity, scope: \"{KAFKA_SCOPE}\" }}"), &topic));
    let (code, stdout, stderr) = run(&["plan", "-e", "test", "--detailed-exitcode"], &mi, &idp.managed_identity_env());
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

/// The Done-when of the secure-connections issue: the example's `prod`
/// environment (Event Hubs, OAUTHBEARER via workload identity), pointed at
/// the local SASL_SSL listener and identity provider, passes a round trip.
#[test]
fn example_event_hubs_environment_passes_check_roundtrip_with_workload_identity() {
    let b = secure_broker();
    let idp = idp();
    let ws = Workspace::new();
    // Topics on Event Hubs come from ARM; here the PLAINTEXT listener makes one.
    let topic = plaintext_topic(&ws, "ehoauth");

    let example = std::fs::read_to_string(support::repo().join("examples/etelios/topicform.yaml")).unwrap();
    let anchor = "      tier: premium\n";
    assert!(example.contains(anchor), "the example's prod environment changed shape");
    let pointed = example.replacen(
        anchor,
        &format!(
            "{anchor}      bootstrapServers: [\"{}\"]\n      authorityHost: \"{}\"\n      tls: {{ caFile: \"{}\" }}\n",
            b.sasl_ssl,
            idp.authority_host,
            b.ca.display()
        ),
        1,
    );
    let spec = ws.file("topicform.yaml", &pointed);
    // The kubelet rotates the projected token; topicform reads the file anew.
    idp.rotate_federated_token();
    let mut envs = idp.workload_identity_env();
    envs.push(("AZURE_SUBSCRIPTION_ID".into(), "00000000-0000-0000-0000-000000000000".into()));
    let (code, stdout, stderr) = run(&["check", "-e", "prod", "--roundtrip", &topic], &spec, &envs);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("✓ sasl       authenticated with OAUTHBEARER"), "{stdout}");
    assert!(stdout.contains("✓ roundtrip"), "{stdout}");

    // `lag` reads the groups the example names through the same endpoint and
    // identity (its topics are not on this broker: reported, not an error).
    let (code, stdout, stderr) = run(&["lag", "-e", "prod", "-o", "json"], &spec, &envs);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let groups: Vec<&str> = report["groups"].as_array().unwrap().iter().map(|g| g["group"].as_str().unwrap()).collect();
    assert!(groups.contains(&"notification-service") && groups.contains(&"analytics-service"), "{stdout}");
    assert!(report["groups"][0]["missingTopics"].as_array().is_some_and(|t| !t.is_empty()), "{stdout}");
}

#[test]
fn check_from_env_uses_the_pods_workload_identity() {
    let b = secure_broker();
    let idp = idp();
    let ws = Workspace::new();
    let unused = ws.spec("version: 1\n");
    let mut envs = idp.workload_identity_env();
    envs.extend([
        ("KAFKA_BROKERS".into(), b.sasl_ssl.clone()),
        ("KAFKA_SECURITY_PROTOCOL".into(), "SASL_SSL".into()),
        ("KAFKA_SASL_MECHANISM".into(), "OAUTHBEARER".into()),
        ("KAFKA_SASL_OAUTHBEARER_SCOPE".into(), KAFKA_SCOPE.into()),
        ("KAFKA_SSL_CA_LOCATION".into(), b.ca.display().to_string()),
    ]);
    let (code, stdout, stderr) = run(&["check", "--from-env"], &unused, &envs);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("authenticated with OAUTHBEARER"), "{stdout}");
}

#[test]
fn an_expired_token_is_named_and_nothing_is_tried() {
    let idp = idp();
    idp.set_fault(Fault::Expired);
    let ws = Workspace::new();
    let spec = ws.spec(&oauth_spec(&oidc_block(&idp), &format!("{}t", unique_prefix("expired"))));
    let (code, stdout, stderr) = run(&["plan", "-e", "test"], &spec, &secret_env());
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("already expired"), "{stderr}");
    let (code, stdout, _) = run(&["check", "-e", "test"], &spec, &secret_env());
    assert_eq!(code, 1);
    assert!(stdout.contains("✗ sasl") && stdout.contains("already expired"), "{stdout}");
}

#[test]
fn a_token_for_another_audience_is_refused_by_the_broker() {
    let idp = idp();
    idp.set_fault(Fault::WrongAudience);
    let ws = Workspace::new();
    let spec = ws.spec(&oauth_spec(&oidc_block(&idp), &format!("{}t", unique_prefix("aud"))));
    let (code, stdout, _) = run(&["check", "-e", "test", "--timeout", "10"], &spec, &secret_env());
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("✗ sasl"), "{stdout}");
    assert!(stdout.contains("the token was refused"), "{stdout}");
    let (code, _, stderr) = run(&["plan", "-e", "test", "--timeout", "10"], &spec, &secret_env());
    assert_eq!(code, 1, "{stderr}");
}

#[test]
fn a_wrong_client_secret_shows_the_identity_providers_reason_not_the_secret() {
    let idp = idp();
    let ws = Workspace::new();
    let spec = ws.spec(&oauth_spec(&oidc_block(&idp), &format!("{}t", unique_prefix("badsecret"))));
    let wrong = vec![("TF_OIDC_SECRET".to_owned(), "not-the-secret-value".to_owned())];
    let (code, stdout, stderr) = run(&["plan", "-e", "test"], &spec, &wrong);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("AADSTS7000215: Invalid client secret provided."), "{stderr}");
    assert!(!stderr.contains("Trace ID"), "Entra's trace noise is cut: {stderr}");
    assert!(!stderr.contains("not-the-secret-value"), "{stderr}");
}

#[test]
fn an_unreachable_identity_provider_is_named() {
    let ws = Workspace::new();
    // A port nothing listens on: the provider of a stopped test.
    let gone = { Idp::start().authority_host.clone() };
    let block = format!(
        "{{ tokenEndpoint: \"{gone}/{TENANT}/oauth2/v2.0/token\", clientId: \"{CLIENT_ID}\", clientSecret: {{ env: TF_OIDC_SECRET }}, scope: \"{KAFKA_SCOPE}\" }}"
    );
    let spec = ws.spec(&oauth_spec(&block, "unreachable"));
    let (code, _, stderr) = run(&["plan", "-e", "test"], &spec, &secret_env());
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("cannot reach"), "{stderr}");
}

#[test]
fn a_principal_denied_on_the_topic_fails_the_roundtrip_as_topic_authorization() {
    let idp = idp();
    let ws = Workspace::new();
    let topic = plaintext_topic(&ws, "acl");
    // The managed identity's tokens carry its client id as `sub`: the principal.
    support::kafka_tool(
        "org.apache.kafka.tools.AclCommand",
        &[
            "--bootstrap-server",
            &format!("localhost:{}", test_port(200)),
            "--add",
            "--deny-principal",
            &format!("User:{MANAGED_IDENTITY_CLIENT_ID}"),
            "--operation",
            "Write",
            "--operation",
            "Read",
            "--topic",
            &topic,
        ],
    );
    let spec = ws.spec(&oauth_spec(&format!("{{ credential: managedIdentity, scope: \"{KAFKA_SCOPE}\" }}"), &topic));
    let (code, stdout, stderr) =
        run(&["check", "-e", "test", "--roundtrip", &topic, "--timeout", "10"], &spec, &idp.managed_identity_env());
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("✓ sasl"), "authentication itself works: {stdout}");
    assert!(stdout.contains("✗ roundtrip"), "{stdout}");
    assert!(stdout.contains("topic authorization failed"), "{stdout}");
}

/// An identity provider whose error quotes the request body (client secret
/// included) is relayed with every secret masked: the provider's words
/// stay, the secret does not.
#[test]
fn a_provider_error_that_echoes_the_client_secret_is_relayed_scrubbed() {
    let idp = idp();
    idp.set_fault(Fault::EchoRequest);
    let ws = Workspace::new();
    let spec = ws.spec(&oauth_spec(&oidc_block(&idp), "echo"));
    for format in ["text", "json"] {
        // run() fails the test if the secret or a token appears.
        let (code, stdout, stderr) = run(&["plan", "-e", "test", "--log-format", format], &spec, &secret_env());
        assert_eq!(code, 1, "{stdout}\n{stderr}");
        assert!(stderr.contains("AADSTS7000215: Invalid client secret provided"), "{stderr}");
        assert!(stderr.contains("client_secret=***"), "the echo is shown, masked:\n{stderr}");
    }
}
