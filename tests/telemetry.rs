//! Telemetry end to end: the real binary exports OTLP over HTTP to a real
//! OpenTelemetry Collector (tests/support/collector.rs; built from the Go
//! module proxy by deploy/tools/otelcol.sh), which writes what it received
//! to files read back here. Kafka is the test broker; Event Hubs the ARM
//! contract server with tokens from the test identity provider.

#[path = "support/arm.rs"]
mod arm;
#[path = "support/collector.rs"]
mod collector;
mod support;

use std::collections::BTreeSet;
use std::io::Read;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use collector::{free_port, Collector, Point, Span};
use support::{broker, kafka_spec, topicform, unique_prefix, Workspace};

/// The W3C trace context a CI system would pass (sampled).
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn otel_env(collector: &Collector, test: &str) -> Vec<(String, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), collector.endpoint.clone()),
        ("OTEL_SERVICE_NAME".into(), format!("topicform-{test}")),
        ("OTEL_RESOURCE_ATTRIBUTES".into(), "deployment.environment.name=ci,service.name=overridden".into()),
    ]
}

fn named<'s>(spans: &'s [Span], name: &str) -> Vec<&'s Span> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn one<'s>(spans: &'s [Span], name: &str) -> &'s Span {
    let found = named(spans, name);
    assert_eq!(found.len(), 1, "one `{name}` span expected: {spans:#?}");
    found[0]
}

fn children<'s>(spans: &'s [Span], parent: &Span) -> Vec<&'s Span> {
    spans.iter().filter(|s| s.parent_span_id == parent.span_id).collect()
}

fn point<'p>(points: &'p [Point], name: &str, attributes: &[(&str, &str)]) -> Option<&'p Point> {
    points.iter().rev().find(|p| {
        p.name == name && attributes.iter().all(|(k, v)| p.attributes.get(*k).map(String::as_str) == Some(*v))
    })
}

#[test]
fn apply_is_one_trace_with_its_phases_batches_and_requests_under_the_callers_traceparent() {
    let collector = Collector::start(None);
    let p = unique_prefix("otel");
    let ws = Workspace::new();
    let topics: String = (0..3).map(|i| format!("  {p}t{i}: {{ partitions: 2 }}\n")).collect();
    let spec = ws.spec(&kafka_spec(broker(), "", &topics));
    let started = Instant::now();
    let out = topicform()
        .args(["apply", "-e", "test", "--auto-approve", "--lock", "none", "-f"])
        .arg(&spec)
        .envs(otel_env(&collector, "apply"))
        .env("TRACEPARENT", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("telemetry"), "no telemetry warning when it works");

    let spans = collector.wait_for_spans(Duration::from_secs(10), |s| s.iter().any(|s| s.name == "topicform apply"));
    // One trace, the caller's: every span has its id; the root's parent is
    // the caller's span.
    let traces: BTreeSet<&str> = spans.iter().map(|s| s.trace_id.as_str()).collect();
    assert_eq!(traces, BTreeSet::from([TRACE_ID]), "{spans:#?}");
    let root = one(&spans, "topicform apply");
    assert_eq!(root.parent_span_id, CALLER_SPAN);
    assert_eq!(root.status_code, 1, "ok: {root:#?}");
    assert_eq!(root.attributes["topicform.command"], "apply");
    assert_eq!(root.attributes["topicform.environment"], "test");
    // OTEL_SERVICE_NAME wins over OTEL_RESOURCE_ATTRIBUTES' service.name;
    // the other resource attributes stay.
    assert_eq!(root.resource["service.name"], "topicform-apply");
    assert_eq!(root.resource["deployment.environment.name"], "ci");
    assert_eq!(root.resource["service.version"], env!("CARGO_PKG_VERSION"));

    // The phases, in order, children of the root.
    let phases: Vec<&str> = children(&spans, root).iter().map(|s| s.name.as_str()).collect();
    for phase in ["load", "lock", "connect", "observe", "plan", "apply"] {
        assert!(phases.contains(&phase), "phase `{phase}` missing under the root: {phases:?}");
    }
    // Reading the cluster: Metadata and DescribeConfigs, client spans with
    // the messaging attributes; plan asked the broker to validate.
    let observe = one(&spans, "observe");
    let reads: Vec<&str> = children(&spans, observe).iter().map(|s| s.name.as_str()).collect();
    assert!(reads.contains(&"Metadata"), "{reads:?}");
    let metadata = children(&spans, observe).into_iter().find(|s| s.name == "Metadata").unwrap();
    assert_eq!(metadata.kind, 3, "client");
    assert_eq!(metadata.attributes["messaging.system"], "kafka");
    assert_eq!(metadata.attributes["messaging.operation.name"], "Metadata");
    let plan = one(&spans, "plan");
    assert!(children(&spans, plan).iter().any(|s| s.name == "CreateTopics"), "validate-only request under plan");
    // Apply: one create batch of three topics, its CreateTopics request.
    let apply = one(&spans, "apply");
    let batch = one(&spans, "apply create batch");
    assert_eq!(batch.parent_span_id, apply.span_id);
    assert_eq!(batch.attributes["topicform.batch.size"], "3");
    assert_eq!(batch.attributes["topicform.batch.failed"], "0");
    let create = children(&spans, batch);
    assert!(create.iter().any(|s| s.name == "CreateTopics" && s.attributes["topicform.topics"] == "3"), "{create:#?}");
    assert!(took < Duration::from_secs(30), "{took:?}");

    // The run's metrics arrive with it (exported at exit).
    let points =
        collector.wait_for_points(Duration::from_secs(10), |p| p.iter().any(|p| p.name == "topicform.run.duration"));
    let applied = point(
        &points,
        "topicform.changes",
        &[("topicform.change.action", "create"), ("topicform.change.outcome", "applied")],
    )
    .unwrap_or_else(|| panic!("no applied creates: {points:#?}"));
    assert_eq!(applied.value, 3.0);
    assert_eq!(applied.attributes["topicform.environment"], "test");
    let planned = point(
        &points,
        "topicform.changes",
        &[("topicform.change.action", "create"), ("topicform.change.outcome", "planned")],
    )
    .expect("planned creates");
    assert_eq!(planned.value, 3.0);
    assert!(point(&points, "topicform.topics", &[("topicform.topic.state", "drift")]).is_some_and(|p| p.value == 3.0));
    assert!(point(&points, "topicform.phase.duration", &[("topicform.phase", "observe")]).is_some());
    assert!(point(
        &points,
        "topicform.kafka.request.duration",
        &[("messaging.system", "kafka"), ("messaging.operation.name", "CreateTopics")]
    )
    .is_some());
    let run = point(&points, "topicform.run.duration", &[("topicform.command", "apply")]).expect("run duration");
    assert!(!run.attributes.contains_key("error.type"), "{run:#?}");

    // A refused apply (partition decrease) is a trace whose root says why.
    let shrink: String = (0..3).map(|i| format!("  {p}t{i}: {{ partitions: 1 }}\n")).collect();
    let shrunk = ws.file("shrink.yaml", &kafka_spec(broker(), "", &shrink));
    let out = topicform()
        .args(["apply", "-e", "test", "--auto-approve", "--lock", "none", "-f"])
        .arg(&shrunk)
        .envs(otel_env(&collector, "refused"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let spans = collector.wait_for_spans(Duration::from_secs(10), |s| {
        s.iter().any(|s| s.name == "topicform apply" && s.resource["service.name"] == "topicform-refused")
    });
    let refused = spans
        .iter()
        .find(|s| s.name == "topicform apply" && s.resource["service.name"] == "topicform-refused")
        .unwrap();
    assert_eq!(refused.status_code, 2, "error: {refused:#?}");
    assert!(refused.status_message.contains("refused"), "{refused:#?}");
    assert_ne!(refused.trace_id, TRACE_ID, "without TRACEPARENT a trace of its own");
    let points = collector.wait_for_points(Duration::from_secs(10), |p| {
        point(p, "topicform.changes", &[("topicform.change.outcome", "refused")]).is_some()
    });
    assert!(
        point(&points, "topicform.run.duration", &[("topicform.command", "apply"), ("error.type", "_OTHER")]).is_some()
    );
}

#[test]
fn event_hubs_traces_arm_calls_throttling_and_token_fetches_without_any_secret() {
    let collector = Collector::start(None);
    let idp = Arc::new(support::idp::Idp::start());
    let validator_idp = idp.clone();
    let server = arm::ArmServer::start(
        arm::Namespace::new("Standard", 1),
        Arc::new(move |t: &str| validator_idp.verify(t, "https://management.azure.com").map(|_| ())),
    );
    // The first PUT is throttled: 429 with Retry-After: 1.
    server.inject("PUT", arm::Fault::Throttle { retry_after: 1 }, 1);
    let ns = server.namespace();
    let ws = Workspace::new();
    let spec = ws.spec(&format!(
        "version: 1\ndefaults: {{ partitions: 2 }}\nenvironments:\n  test:\n    cluster:\n      type: eventhubs\n      namespace: {}\n      tier: standard\n      subscriptionId: {}\n      resourceGroup: {}\n      armEndpoint: {}\n      authorityHost: {}\n      management:\n        credential: clientSecret\n        clientSecret: {{ env: AZURE_CLIENT_SECRET }}\ntopics:\n  traced.hub: {{}}\n",
        ns.name, ns.subscription, ns.resource_group, server.url, idp.authority_host
    ));
    let secret_env = idp.client_secret_env();
    let out = topicform()
        .args(["apply", "-e", "test", "--auto-approve", "--lock", "none", "-f"])
        .arg(&spec)
        .envs(secret_env.clone())
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .envs(otel_env(&collector, "eventhubs"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let spans = collector.wait_for_spans(Duration::from_secs(10), |s| s.iter().any(|s| s.name == "topicform apply"));

    // The token fetch: which credential, which audience, the POST to the
    // token endpoint and its status; nothing of the token.
    let token = named(&spans, "token");
    assert!(!token.is_empty(), "{spans:#?}");
    assert_eq!(token[0].attributes["topicform.credential"], "clientSecret");
    assert!(token[0].attributes["topicform.token.scope"].starts_with("https://management.azure.com"));
    let posts = children(&spans, token[0]);
    assert!(posts.iter().any(|s| s.name == "POST" && s.attributes["http.response.status_code"] == "200"), "{posts:#?}");

    // ARM: the throttled PUT is an error attempt with 429, then a retry
    // wait, then the resent PUT that succeeded.
    let http: Vec<&Span> =
        spans.iter().filter(|s| s.attributes.get("topicform.api").map(String::as_str) == Some("arm")).collect();
    let puts: Vec<&&Span> = http.iter().filter(|s| s.name == "PUT").collect();
    assert!(puts.iter().any(|s| s.attributes["http.response.status_code"] == "429" && s.status_code == 2), "{puts:#?}");
    assert!(
        puts.iter().any(|s| s.attributes["http.response.status_code"].starts_with('2')
            && s.attributes.get("http.request.resend_count").map(String::as_str) == Some("1")),
        "{puts:#?}"
    );
    let wait = one(&spans, "retry wait");
    assert_eq!(wait.attributes["http.response.status_code"], "429");
    assert!(http.iter().all(|s| s.kind == 3 && s.attributes.contains_key("server.address")));
    let points = collector
        .wait_for_points(Duration::from_secs(10), |p| p.iter().any(|p| p.name == "topicform.throttling.duration"));
    assert!(point(
        &points,
        "http.client.request.duration",
        &[("http.request.method", "PUT"), ("http.response.status_code", "429"), ("error.type", "429")]
    )
    .is_some());
    assert!(point(&points, "http.client.request.duration", &[("topicform.api", "entra")]).is_some());

    // No secret, token or assertion anywhere in what was exported.
    let exported = collector.exported_text();
    for (name, value) in &secret_env {
        if name == "AZURE_CLIENT_SECRET" {
            assert!(!exported.contains(value.as_str()), "the client secret was exported");
        }
    }
    assert!(!exported.contains("eyJ"), "a JWT (token) was exported");
    assert!(!exported.to_lowercase().contains("bearer"), "an Authorization header was exported");
}

/// Runs `plan --detailed-exitcode` on a spec with one topic to create, with
/// `env`; returns (exit code, stderr, how long it took).
fn plan_with(env: &[(&str, String)]) -> (Option<i32>, String, Duration) {
    let p = unique_prefix("otel-off");
    let ws = Workspace::new();
    let spec = ws.spec(&kafka_spec(broker(), "", &format!("  {p}t: {{}}\n")));
    let started = Instant::now();
    let out = topicform()
        .args(["plan", "-e", "test", "--detailed-exitcode", "-f"])
        .arg(&spec)
        .envs(env.iter().map(|(k, v)| (*k, v.clone())))
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned(), started.elapsed())
}

#[test]
fn a_collector_that_is_down_or_hangs_costs_at_most_the_bound_and_never_the_exit_code() {
    let (code, stderr, baseline) = plan_with(&[]);
    assert_eq!(code, Some(2), "{stderr}");

    // Nothing listens: the export fails at once (no retries), one warning.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let (code, stderr, took) = plan_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", closed)]);
    assert_eq!(code, Some(2), "exit code unchanged: {stderr}");
    assert!(
        stderr.contains("telemetry was not exported") && stderr.contains("the command's result is unaffected"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("telemetry was not exported").count(), 1, "one warning: {stderr}");
    assert!(took < baseline + Duration::from_secs(3), "a refused connection costs little: {took:?} vs {baseline:?}");

    // A collector that accepts and never answers: the exit waits for the
    // bound (5 s), not the exporter's 10 s timeout, and not forever.
    let hung = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", hung.local_addr().unwrap());
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = hung.accept() {
            let mut buf = [0u8; 1024];
            let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
            let _ = stream.read(&mut buf);
            held.push(stream);
            if held.len() >= 4 {
                break;
            }
        }
        std::thread::sleep(Duration::from_secs(15));
    });
    let (code, stderr, took) = plan_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)]);
    assert_eq!(code, Some(2), "exit code unchanged: {stderr}");
    assert!(stderr.contains("gave up after 5 s"), "{stderr}");
    assert!(took < baseline + Duration::from_secs(8), "bounded: {took:?} vs {baseline:?}");
    drop(holder);
}

#[test]
fn telemetry_is_off_unless_configured_and_refuses_what_it_cannot_send() {
    let collector = Collector::start(None);
    let endpoint = collector.endpoint.clone();
    // OTEL_SDK_DISABLED wins: nothing is sent, nothing is said.
    let (code, stderr, _) =
        plan_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.clone()), ("OTEL_SDK_DISABLED", "true".into())]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stderr.contains("telemetry"), "{stderr}");
    // gRPC is not built in: one warning, the run unchanged, nothing sent
    // (HTTP to a gRPC port would only fail there).
    let (code, stderr, _) =
        plan_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.clone()), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into())]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported"), "{stderr}");
    // A run that is configured does arrive, so the two above prove something.
    let (code, stderr, _) =
        plan_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint), ("OTEL_SERVICE_NAME", "topicform-on".into())]);
    assert_eq!(code, Some(2), "{stderr}");
    let spans = collector.wait_for_spans(Duration::from_secs(10), |s| s.iter().any(|s| s.name == "topicform plan"));
    let services: BTreeSet<&str> = spans.iter().map(|s| s.resource["service.name"].as_str()).collect();
    assert_eq!(services, BTreeSet::from(["topicform-on"]), "only the configured run exported");
}

#[test]
fn lag_serve_is_scraped_by_a_real_prometheus_receiver_with_kafka_exporters_names() {
    let p = unique_prefix("lagserve");
    let (orders, group) = (format!("{p}orders"), format!("{p}billing"));
    let ws = Workspace::new();
    let spec = ws.spec(&kafka_spec(broker(), "", &format!("  {orders}: {{ partitions: 2, consumers: [{group}] }}\n")));
    support::apply(&spec, &[]);
    support::produce(&orders, 0, 5);
    support::produce(&orders, 1, 2);
    support::commit(&group, &orders, 0, 1);

    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let collector = Collector::start(Some(&address));
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("topicform"));
    command.args(["lag", "-e", "test", "--serve", &address, "--interval", "1", "-f"]).arg(&spec).env("NO_COLOR", "1");
    let server = support::terminal::Terminal::spawn(command, &ws.path("lag-serve.out"));
    // Served directly: the text format with the content type Prometheus 3 requires.
    let deadline = Instant::now() + Duration::from_secs(30);
    let body = loop {
        match reqwest::blocking::get(format!("http://{address}/metrics")) {
            Ok(r) if r.status().is_success() => {
                assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
                let text = r.text().unwrap();
                if text.contains("kafka_consumergroup_lag{") {
                    break text;
                }
            }
            _ => {}
        }
        assert!(Instant::now() < deadline, "no lag served: {}", server.output());
        std::thread::sleep(Duration::from_millis(200));
    };
    let series =
        |labels: &str| format!("kafka_consumergroup_lag{{consumergroup=\"{group}\",topic=\"{orders}\",{labels}}}");
    assert!(body.lines().any(|l| l == format!("{} 4", series("partition=\"0\""))), "{body}");
    assert!(body.lines().any(|l| l == format!("{} -1", series("partition=\"1\""))), "not committed there: {body}");
    assert!(body.contains("topicform_lag_up 1"), "{body}");

    // Scraped by the collector's Prometheus receiver: the same series.
    let points = collector.wait_for_points(Duration::from_secs(30), |points| {
        point(points, "kafka_consumergroup_lag", &[("consumergroup", &group), ("partition", "0")]).is_some()
    });
    let lag =
        point(&points, "kafka_consumergroup_lag", &[("consumergroup", &group), ("topic", &orders), ("partition", "0")])
            .unwrap();
    assert_eq!(lag.value, 4.0);
    assert_eq!(lag.resource["service.name"], "topicform-lag", "the scrape job");
    let sum = point(&points, "kafka_consumergroup_lag_sum", &[("consumergroup", &group), ("topic", &orders)]).unwrap();
    assert_eq!(sum.value, 4.0, "the -1 is left out of the sum");
    let end =
        point(&points, "kafka_topic_partition_current_offset", &[("topic", &orders), ("partition", "0")]).unwrap();
    assert_eq!(end.value, 5.0);

    // The next reading sees a new commit.
    support::commit(&group, &orders, 0, 5);
    collector.wait_for_points(Duration::from_secs(30), |points| {
        point(points, "kafka_consumergroup_lag", &[("consumergroup", &group), ("topic", &orders), ("partition", "0")])
            .is_some_and(|p| p.value == 0.0)
    });
    // SIGTERM stops serving; exit 0.
    server.signal(libc::SIGTERM);
    let (code, output) = server.wait(Duration::from_secs(10));
    assert_eq!(code, Some(0), "{output}");
}

#[test]
fn the_example_lag_alerts_are_rules_prometheus_itself_accepts() {
    let rules = support::repo().join("examples/monitoring/prometheusrule.yaml");
    let check = |file: &std::path::Path| {
        std::process::Command::new(collector::binary()).arg("check-rules").arg(file).output().unwrap()
    };
    let out = check(&rules);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 groups, 3 rules: ok"));
    // The check is Prometheus's parser: a broken expression fails, named.
    let ws = Workspace::new();
    let text = std::fs::read_to_string(&rules).unwrap();
    let broken = ws.file(
        "broken.yaml",
        &text.replace(
            "sum by (consumergroup) (kafka_consumergroup_lag_sum) > 1000",
            "sum by (consumergroup (kafka_consumergroup_lag_sum) > 1000",
        ),
    );
    let out = check(&broken);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("KafkaConsumerGroupLagHigh"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The alerts read the exporter's names.
    for name in ["kafka_consumergroup_lag_sum", "topicform_lag_up"] {
        assert!(text.contains(name), "{name}");
    }
}
