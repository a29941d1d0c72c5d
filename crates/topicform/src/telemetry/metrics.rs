//! The metrics of a run, recorded where its spans are. Names follow the
//! OpenTelemetry semantic conventions where one exists
//! (`http.client.request.duration` with `http.request.method`,
//! `http.response.status_code`, `server.address`, `error.type`;
//! `messaging.system` and `messaging.operation.name` on Kafka requests);
//! topicform's own are under `topicform.*`.
//!
//! | metric | kind, unit | attributes |
//! |---|---|---|
//! | `topicform.run.duration` | histogram, s | `topicform.command`, `error.type` on failure |
//! | `topicform.phase.duration` | histogram, s | `topicform.phase`, `error.type` on failure |
//! | `topicform.changes` | counter, {change} | `topicform.change.action`, `topicform.change.outcome` |
//! | `topicform.topics` | gauge, {topic} | `topicform.topic.state` (in_sync, drift, unmanaged, orphaned, refused, conflict) |
//! | `topicform.kafka.request.duration` | histogram, s | `messaging.system`, `messaging.operation.name`, `error.type` |
//! | `http.client.request.duration` | histogram, s | `http.request.method`, `http.response.status_code`, `server.address`, `topicform.api`, `error.type` |
//! | `topicform.throttling.duration` | histogram, s | `server.address`, `topicform.api` |
//!
//! Every run-level point also carries `topicform.environment` where the
//! command has one.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, MeterProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use topicform_core::plan::{Action, Change, Plan};

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// The instruments, when metrics are exported; `None` otherwise, so a run
/// without telemetry records nothing and builds no attribute.
pub fn metrics() -> Option<&'static Metrics> {
    METRICS.get()
}

pub(super) fn install(provider: &SdkMeterProvider) {
    let _ = METRICS.set(Metrics::new(&provider.meter("topicform")));
}

/// The action a change counts under, one per topic and kind: the apply
/// engine's steps (create, add_partitions, alter_config, delete).
fn action_of(change: &Change) -> &'static str {
    match change {
        Change::CreateTopic { .. } => "create",
        Change::AddPartitions { .. } => "add_partitions",
        Change::SetConfig { .. } | Change::DeleteConfig { .. } => "alter_config",
        Change::DeleteTopic => "delete",
    }
}

/// Durations of seconds to minutes: an admin request is milliseconds, an
/// ARM operation or a whole apply can be minutes.
const SECONDS_BUCKETS: [f64; 14] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// topicform's instruments.
pub struct Metrics {
    run_duration: Histogram<f64>,
    phase_duration: Histogram<f64>,
    changes: Counter<u64>,
    topics: Gauge<u64>,
    kafka_request_duration: Histogram<f64>,
    http_request_duration: Histogram<f64>,
    throttling: Histogram<f64>,
    /// `topicform.environment` of the run, once known.
    environment: OnceLock<String>,
}

fn seconds(meter: &Meter, name: &'static str, description: &'static str) -> Histogram<f64> {
    meter
        .f64_histogram(name)
        .with_unit("s")
        .with_description(description)
        .with_boundaries(SECONDS_BUCKETS.to_vec())
        .build()
}

/// `error.type` when `failed`: the conventions' fallback value.
fn outcome(attributes: &mut Vec<KeyValue>, error: Option<&str>) {
    if let Some(error) = error {
        attributes.push(KeyValue::new("error.type", error.to_owned()));
    }
}

impl Metrics {
    fn new(meter: &Meter) -> Metrics {
        Metrics {
            run_duration: seconds(meter, "topicform.run.duration", "Duration of a topicform command"),
            phase_duration: seconds(meter, "topicform.phase.duration", "Duration of one phase of a command"),
            changes: meter
                .u64_counter("topicform.changes")
                .with_unit("{change}")
                .with_description("Topic changes by action and outcome (planned, refused, applied, failed, not_sent)")
                .build(),
            topics: meter
                .u64_gauge("topicform.topics")
                .with_unit("{topic}")
                .with_description(
                    "Topics of the last plan by state (in_sync, drift, unmanaged, orphaned, refused, conflict)",
                )
                .build(),
            kafka_request_duration: seconds(
                meter,
                "topicform.kafka.request.duration",
                "Duration of a Kafka admin request, retries included",
            ),
            http_request_duration: seconds(
                meter,
                "http.client.request.duration",
                "Duration of an HTTP request to Azure Resource Manager or Entra ID",
            ),
            throttling: seconds(
                meter,
                "topicform.throttling.duration",
                "Time spent waiting because the server throttled (429 and Retry-After)",
            ),
            environment: OnceLock::new(),
        }
    }

    /// Names the environment every later run-level point carries.
    pub fn set_environment(&self, name: &str) {
        let _ = self.environment.set(name.to_owned());
    }

    fn with_environment(&self, mut attributes: Vec<KeyValue>) -> Vec<KeyValue> {
        if let Some(env) = self.environment.get() {
            attributes.push(KeyValue::new("topicform.environment", env.clone()));
        }
        attributes
    }

    pub fn run_duration(&self, command: &'static str, took: Duration, error: Option<&str>) {
        let mut attributes = vec![KeyValue::new("topicform.command", command)];
        outcome(&mut attributes, error);
        self.run_duration.record(took.as_secs_f64(), &self.with_environment(attributes));
    }

    pub fn phase_duration(&self, phase: &'static str, took: Duration, failed: bool) {
        let mut attributes = vec![KeyValue::new("topicform.phase", phase)];
        outcome(&mut attributes, failed.then_some("_OTHER"));
        self.phase_duration.record(took.as_secs_f64(), &self.with_environment(attributes));
    }

    /// `count` changes of `action` that ended as `outcome`.
    pub fn changes(&self, action: &'static str, outcome: &'static str, count: u64) {
        if count == 0 {
            return;
        }
        let attributes =
            vec![KeyValue::new("topicform.change.action", action), KeyValue::new("topicform.change.outcome", outcome)];
        self.changes.add(count, &self.with_environment(attributes));
    }

    /// What a plan found: its changes as `planned` / `refused` by action,
    /// and its topics by state.
    pub fn plan(&self, plan: &Plan) {
        for topic in &plan.topics {
            let outcome = if topic.action == Action::Refused { "refused" } else { "planned" };
            let mut actions: Vec<&'static str> = topic.changes.iter().map(action_of).collect();
            actions.dedup();
            if actions.is_empty() && topic.action == Action::Refused {
                // A refusal of something that is no change topicform makes
                // (a partition decrease, say).
                actions.push("other");
            }
            for action in actions {
                self.changes(action, outcome, 1);
            }
        }
        let s = &plan.summary;
        for (state, count) in [
            ("in_sync", s.unchanged),
            ("drift", s.create + s.update + s.delete),
            ("unmanaged", s.unmanaged),
            ("orphaned", plan.orphaned.len()),
            ("refused", s.refused),
            ("conflict", s.conflicts),
        ] {
            let attributes = vec![KeyValue::new("topicform.topic.state", state)];
            self.topics.record(count as u64, &self.with_environment(attributes));
        }
    }

    /// One Kafka admin request (`api`: CreateTopics, Metadata, ...).
    pub fn kafka_request(&self, api: &'static str, took: Duration, error: Option<&str>) {
        let mut attributes =
            vec![KeyValue::new("messaging.system", "kafka"), KeyValue::new("messaging.operation.name", api)];
        outcome(&mut attributes, error);
        self.kafka_request_duration.record(took.as_secs_f64(), &attributes);
    }

    /// One HTTP request to `api` (`arm`, `entra`) at `server`.
    pub fn http_request(
        &self,
        api: &'static str,
        method: &str,
        server: &str,
        status: Option<u16>,
        took: Duration,
        error: Option<&str>,
    ) {
        let mut attributes = vec![
            KeyValue::new("http.request.method", method.to_owned()),
            KeyValue::new("server.address", server.to_owned()),
            KeyValue::new("topicform.api", api),
        ];
        if let Some(status) = status {
            attributes.push(KeyValue::new("http.response.status_code", i64::from(status)));
        }
        outcome(&mut attributes, error);
        self.http_request_duration.record(took.as_secs_f64(), &attributes);
    }

    /// A wait the server asked for (429, Retry-After).
    pub fn throttled(&self, api: &'static str, server: &str, waited: Duration) {
        let attributes = vec![KeyValue::new("server.address", server.to_owned()), KeyValue::new("topicform.api", api)];
        self.throttling.record(waited.as_secs_f64(), &attributes);
    }
}
